//! Helpers shared by integration tests: the pinned reference installation and polling
//! with a deadline.

#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The pinned reference version.
pub const REFERENCE_VERSION: &str = "4.3.0";

/// A virtualenv with `supervisor==4.3.0`, created once under
/// `<CARGO_MANIFEST_DIR>/target/reference-venv`. Concurrent test binaries wait on a
/// lock file; a failed install panics with pip's output.
pub fn reference_venv() -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    fs::create_dir_all(&target).expect("create target/");
    let venv = target.join("reference-venv");
    let marker = venv.join(format!(".supervisor-{REFERENCE_VERSION}-installed"));
    let lock = File::create(target.join("reference-venv.lock")).expect("create the lock file");
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .expect("lock the reference venv");
    if marker.exists() {
        return venv;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--disable-pip-version-check", "--quiet"])
        .arg(format!("supervisor=={REFERENCE_VERSION}")));
    fs::write(&marker, b"").expect("write the install marker");
    venv
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Calls `probe` until it returns `Ok`, at most until `timeout`; on timeout panics with
/// `what` and the last `Err` (what was last seen).
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
