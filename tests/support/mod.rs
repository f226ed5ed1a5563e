//! Shared helpers for the integration tests: the pinned reference implementation,
//! temporary directories and deadline-bound polling.
//!
//! Owns test plumbing only; it knows nothing about what a test asserts. Include it from
//! a test file with `mod support;` (or `#[path = "support/mod.rs"] mod support;`).
//!
//! The reference is Python supervisor, pinned to [`REFERENCE_REQUIREMENT`], installed
//! with pip into a virtualenv under `target/` the first time a test asks for it. Tests
//! never skip when it cannot be installed: they fail and show pip's output.

// Each test binary compiles its own copy of this module and uses only some helpers.
#![allow(dead_code)]

use std::fmt::Debug;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The pip requirement that pins the reference implementation.
pub const REFERENCE_REQUIREMENT: &str = "supervisor==4.3.0";

/// The Python interpreter used to create the reference virtualenv, unless the
/// `REFERENCE_PYTHON` environment variable names another one.
pub const DEFAULT_BASE_PYTHON: &str = "python3";

/// Written inside a pinned virtualenv once pip has succeeded; holds the pins, so a
/// virtualenv of other pins is rebuilt instead of trusted.
const COMPLETE_MARKER: &str = "pins-complete";

/// The package root (`CARGO_MANIFEST_DIR`).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `<package root>/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    manifest_dir().join("fixtures")
}

/// The virtualenv holding the pinned reference (`<package root>/target/reference-venv`),
/// created on first use.
///
/// Safe when several test binaries and threads ask at once: threads of one binary share
/// one answer, and binaries take an exclusive `flock` on
/// `target/reference-venv.lock` while they check, and if needed build, the virtualenv.
/// A virtualenv left half-built by an interrupted run has no completion marker and is
/// rebuilt from scratch.
///
/// Panics with the failing command and its output when the virtualenv cannot be
/// created or pip cannot install the reference.
pub fn reference_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| pinned_venv("reference-venv", &[REFERENCE_REQUIREMENT]))
        .clone()
}

/// The reference virtualenv's Python interpreter (created on first use).
pub fn reference_python() -> PathBuf {
    reference_venv().join("bin").join("python")
}

/// The virtualenv `target/<name>` holding exactly `requirements` (pip pins), built on
/// first use under an exclusive `flock` on `target/<name>.lock`; one without a marker
/// naming these pins (half-built, or of other pins) is rebuilt from scratch.
pub fn pinned_venv(name: &str, requirements: &[&str]) -> PathBuf {
    let target = manifest_dir().join("target");
    fs::create_dir_all(&target)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", target.display()));
    let venv = target.join(name);
    let _lock = FileLock::exclusive(&target.join(format!("{name}.lock")));
    let pins = requirements.join(" ");
    let marker = venv.join(COMPLETE_MARKER);
    if fs::read_to_string(&marker).is_ok_and(|found| found.trim() == pins) {
        return venv;
    }
    if venv.exists() {
        fs::remove_dir_all(&venv)
            .unwrap_or_else(|e| panic!("cannot remove the incomplete {}: {e}", venv.display()));
    }
    let base_python =
        std::env::var("REFERENCE_PYTHON").unwrap_or_else(|_| DEFAULT_BASE_PYTHON.to_string());
    let mut create = Command::new(&base_python);
    create.arg("-m").arg("venv").arg(&venv);
    run_setup_step(&mut create, &format!("create the virtualenv {name}"));
    let mut install = Command::new(venv.join("bin").join("python"));
    install
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
        ])
        .args(requirements);
    run_setup_step(&mut install, &format!("install {pins} with pip"));
    fs::write(&marker, &pins).unwrap_or_else(|e| panic!("cannot write {}: {e}", marker.display()));
    venv
}

fn run_setup_step(command: &mut Command, purpose: &str) {
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot {purpose}: running {command:?} failed: {e}\n\
             (set REFERENCE_PYTHON to a Python 3 interpreter that has the venv module)"
        )
    });
    if !output.status.success() {
        panic!(
            "cannot {purpose}: {command:?} exited with {}\n{}",
            output.status,
            describe_output(&output)
        );
    }
}

/// A command's stdout and stderr, labelled, for failure messages.
pub fn describe_output(output: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout).trim_end(),
        String::from_utf8_lossy(&output.stderr).trim_end()
    )
}

/// An exclusive advisory lock on a file, released when dropped (the descriptor closes).
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until this process holds the exclusive lock on `path` (created if
    /// missing); released when the returned value is dropped.
    pub fn exclusive(path: &Path) -> FileLock {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("cannot open lock file {}: {e}", path.display()));
        loop {
            // SAFETY: flock only reads the descriptor, which `file` keeps open.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                panic!("cannot lock {}: {err}", path.display());
            }
        }
        FileLock { _file: file }
    }
}

/// A fresh temporary directory (under the system temp dir, whose short path keeps unix
/// socket paths under their 108-byte limit), removed when the value is dropped.
pub fn temp_dir(label: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("supervisor-test-{label}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory for {label}: {e}"))
}

/// Writes `contents` to `dir/name` (creating parent directories) and returns the path.
pub fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    let mut file =
        File::create(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    file.write_all(contents.as_bytes())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// Calls `probe` until it returns `Ok(value)` and returns that value.
///
/// `probe` returns `Err(observation)` while the condition does not hold yet. If
/// `timeout` passes first, panics with `what` (the condition awaited, e.g.
/// `"program cat RUNNING"`) and the last observation, so a failure shows what the test
/// saw instead of only that it waited. The probe is retried every 10 ms (a poll
/// interval, not a guess of how long anything takes).
pub fn poll_until<T, O: Debug>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<T, O>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(value) => return value,
            Err(observation) => {
                if Instant::now() >= deadline {
                    panic!(
                        "timed out after {timeout:?} waiting for {what}; last observation:\n\
                         {observation:#?}"
                    );
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `command` with stdin closed, collecting stdout and stderr, and kills it if it
/// is still running after `timeout`.
///
/// Returns the output, or a description of what went wrong (it could not start, or it
/// timed out, with whatever it had printed by then).
pub fn run_with_timeout(command: &mut Command, timeout: Duration) -> Result<Output, String> {
    use std::io::Read;
    use std::process::Stdio;

    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    let mut stdout = child.stdout.take().expect("stdout was piped above");
    let mut stderr = child.stderr.take().expect("stderr was piped above");
    // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
    let stdout_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).map(|_| buf)
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                // The child may exit between try_wait and kill; either way it ends.
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!(
                    "{command:?} still running after {timeout:?}; killed"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => break Err(format!("cannot wait for {command:?}: {e}")),
        }
    };
    let stdout = stdout_reader
        .join()
        .map_err(|_| "stdout reader panicked".to_string())?
        .map_err(|e| format!("cannot read stdout of {command:?}: {e}"))?;
    let stderr = stderr_reader
        .join()
        .map_err(|_| "stderr reader panicked".to_string())?
        .map_err(|e| format!("cannot read stderr of {command:?}: {e}"))?;
    match status {
        Ok(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        Err(why) => Err(format!(
            "{why}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )),
    }
}
