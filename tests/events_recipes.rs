//! Listeners people actually deploy, on the pinned reference and on ours: superlance's
//! `memmon` restarting a program over its memory limit, and the container watchdog
//! that takes supervisord down when a program goes FATAL (by SIGTERM to the pid in
//! the pidfile, by SIGTERM to its parent, and by `supervisor.shutdown()` over RPC).

mod events_harness;
mod support;

use std::fs;
use std::time::Duration;

use events_harness::{run_each, tools_venv, Daemon, EventDaemon};

const TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn memmon_restarts_a_program_over_its_memory_limit() {
    let tools = tools_venv().display().to_string();
    run_each(&Daemon::BOTH, |daemon| {
        let d = EventDaemon::start(daemon, "memmon.conf", &[("@TOOLS@", &tools)]);
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
        d.poll(TIMEOUT, "memmon's own report of the restart", || {
            let memmon_log = fs::read_to_string(d.path("memmon.err")).unwrap_or_default();
            if memmon_log.contains("Restarting hog:hog") {
                Ok(())
            } else {
                Err(memmon_log)
            }
        });
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
