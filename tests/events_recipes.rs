//! Listeners people actually deploy, on the pinned reference and on ours: superlance's
//! `memmon` restarting a program over its memory limit, and the container watchdog
//! that takes supervisord down when a program goes FATAL (by SIGTERM to the pid in
//! the pidfile, by SIGTERM to its parent, and by `supervisor.shutdown()` over RPC).

mod events_harness;
mod support;

use std::fs::{self, File};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use events_harness::{run_each, Daemon, EventDaemon};

const TIMEOUT: Duration = Duration::from_secs(30);

/// superlance, pinned, next to the pinned reference it runs with.
const SUPERLANCE_REQUIREMENTS: [&str; 2] = [support::REFERENCE_REQUIREMENT, "superlance==2.0.0"];
const SUPERLANCE_MARKER: &str = "superlance-complete";

/// A virtualenv under `target/` with superlance and the pinned supervisor, built on
/// first use under an exclusive `flock` (several test binaries may ask at once); a
/// half-built one (no marker naming these exact pins) is rebuilt. Panics with pip's
/// output when it cannot be built.
fn superlance_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let target = support::manifest_dir().join("target");
        fs::create_dir_all(&target)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", target.display()));
        let venv = target.join("superlance-venv");
        let _lock = lock(&target.join("superlance-venv.lock"));
        let pins = SUPERLANCE_REQUIREMENTS.join(" ");
        let complete = fs::read_to_string(venv.join(SUPERLANCE_MARKER))
            .is_ok_and(|marker| marker.trim() == pins);
        if !complete {
            if venv.exists() {
                fs::remove_dir_all(&venv)
                    .unwrap_or_else(|e| panic!("cannot remove {}: {e}", venv.display()));
            }
            let base = std::env::var("REFERENCE_PYTHON")
                .unwrap_or_else(|_| support::DEFAULT_BASE_PYTHON.to_string());
            setup(Command::new(base).arg("-m").arg("venv").arg(&venv));
            setup(
                Command::new(venv.join("bin/python"))
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--disable-pip-version-check",
                        "--quiet",
                    ])
                    .args(SUPERLANCE_REQUIREMENTS),
            );
            fs::write(venv.join(SUPERLANCE_MARKER), &pins)
                .unwrap_or_else(|e| panic!("cannot mark {} complete: {e}", venv.display()));
        }
        venv
    })
    .clone()
}

fn setup(command: &mut Command) {
    let output = support::run_with_timeout(command, Duration::from_secs(600))
        .unwrap_or_else(|why| panic!("cannot build the superlance venv: {why}"));
    assert!(
        output.status.success(),
        "cannot build the superlance venv: {command:?} exited with {}\n{}",
        output.status,
        support::describe_output(&output)
    );
}

/// An exclusive `flock` on `path`, held while the returned file is open.
fn lock(path: &Path) -> File {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    loop {
        // SAFETY: flock only reads the descriptor, which `file` keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return file;
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::Interrupted,
            "cannot lock {}: {err}",
            path.display()
        );
    }
}

#[test]
fn memmon_restarts_a_program_over_its_memory_limit() {
    let superlance = superlance_venv().display().to_string();
    run_each(&Daemon::BOTH, |daemon| {
        let d = EventDaemon::start(daemon, "memmon.conf", &[("@SUPERLANCE@", &superlance)]);
        d.wait_state("hog", "RUNNING", TIMEOUT);
        let first = d.poll(TIMEOUT, "the hog's pid", || match d.process_pid("hog") {
            Ok(pid) if pid > 0 => Ok(pid),
            other => Err(other),
        });
        // memmon acts on the next TICK_5: stopProcess, then startProcess.
        d.poll(TIMEOUT, "the hog restarted by memmon", || {
            match (d.state("hog"), d.process_pid("hog")) {
                (Ok(state), Ok(pid)) if state == "RUNNING" && pid > 0 && pid != first => Ok(()),
                other => Err(other),
            }
        });
        let memmon_log = fs::read_to_string(d.path("memmon.err")).unwrap_or_default();
        assert!(
            memmon_log.contains("Restarting hog:hog"),
            "{}: memmon's own log does not tell the restart\n{}",
            daemon.label(),
            d.diagnostics()
        );
    });
}

/// The watchdog sees broken go FATAL and shuts supervisord down; the daemon stops
/// every process and exits 0.
fn fatal_stops_the_daemon(mode: &str, by_signal: bool) {
    run_each(&Daemon::BOTH, |daemon| {
        let mut d = EventDaemon::start(daemon, "fatal.conf", &[("@MODE@", mode)]);
        let status = d.wait_exit(TIMEOUT);
        let diagnostics = d.diagnostics();
        assert!(
            status.success(),
            "{}: exit status {status}\n{diagnostics}",
            daemon.label()
        );
        let watchdog = fs::read_to_string(d.path("watchdog.err")).unwrap_or_default();
        assert!(
            watchdog.contains("FATAL seen: processname:broken groupname:broken from_state:BACKOFF"),
            "{}: the watchdog did not see the FATAL event\n{diagnostics}",
            daemon.label()
        );
        let lines = d.log_lines();
        let mut wanted = vec![
            "INFO gave up: broken entered FATAL state, too many start retries too quickly",
            "WARN stopped: bystander (terminated by SIGTERM)",
        ];
        if by_signal {
            wanted.push("WARN received SIGTERM indicating exit request");
        }
        for line in wanted {
            assert!(
                lines.iter().any(|l| l == line),
                "{}: no {line:?} in the log\n{diagnostics}",
                daemon.label()
            );
        }
    });
}

#[test]
fn a_listener_killing_supervisord_by_its_pidfile_on_fatal_stops_it() {
    fatal_stops_the_daemon("sigterm-pidfile @DIR@/supervisord.pid", true);
}

#[test]
fn a_listener_killing_its_parent_on_fatal_stops_supervisord() {
    fatal_stops_the_daemon("sigterm-parent", true);
}

#[test]
fn a_listener_calling_shutdown_over_rpc_on_fatal_stops_supervisord() {
    fatal_stops_the_daemon("rpc-shutdown", false);
}
