//! The process state machine seen from outside: every row of the transition table
//! (processes.md §3, §3.1, §3.2) and the spawn errors (config.md §7, processes.md §4–5),
//! observed through the activity log and `getAllProcessInfo` of our daemon (or of the
//! reference with `ENGINE_IMPL=reference`, which checks the tests themselves).

#[allow(dead_code)]
mod engine_support;

use std::fs;

use engine_support::{spawned_pids, with, Daemon, Impl, LogLine, Setup};
use serde_json::json;

fn ours(programs: &[&str], fixture: &str) -> Daemon {
    Setup::sections(Impl::under_test(), fixture, programs).start()
}

/// Seconds from the `exited:` record `i` to the `spawned:` record `i + 1` of `name`.
fn retry_delays(lines: &[LogLine], name: &str) -> Vec<f64> {
    let spawns = with(lines, &format!("spawned: '{name}' with pid"));
    let exits = with(lines, &format!("exited: {name} ("));
    exits
        .iter()
        .zip(spawns.iter().skip(1))
        .map(|(e, s)| s.at - e.at)
        .collect()
}

#[test]
fn exit_before_startsecs_backs_off_one_two_three_seconds_then_fatal() {
    let d = ours(&["too_quick"], "states.conf");
    d.wait_line("gave up: too_quick entered FATAL state, too many start retries too quickly");
    let lines = d.lines();
    let log = engine_support::render(&lines);
    assert_eq!(
        spawned_pids(&lines, "too_quick").len(),
        4,
        "startretries=3 → 4 spawns\n{log}"
    );
    let exits = with(&lines, "exited: too_quick (");
    assert_eq!(exits.len(), 4, "{log}");
    for e in &exits {
        assert_eq!(
            e.msg, "exited: too_quick (exit status 0; not expected)",
            "{log}"
        );
        assert_eq!(e.level, "WARN", "{log}");
    }
    assert!(
        with(&lines, "success: too_quick").is_empty(),
        "never RUNNING\n{log}"
    );
    let delays = retry_delays(&lines, "too_quick");
    assert_eq!(delays.len(), 3, "{log}");
    for (i, delay) in delays.iter().enumerate() {
        let want = (i + 1) as f64;
        assert!(
            *delay >= want - 0.05 && *delay < want + 1.5,
            "retry {} waited {delay:.3}s, want {want}s\n{log}",
            i + 1
        );
    }
    let info = d.wait_state("too_quick", "FATAL");
    assert_eq!(
        info.description,
        "Exited too quickly (process log may have details)"
    );
    assert_eq!(
        info.spawnerr,
        "Exited too quickly (process log may have details)"
    );
}

/// `/bin/false` exits while its pipes close: nothing but SIGCHLD says it is gone.
#[test]
fn an_instant_exit_is_a_failure_not_a_success() {
    let d = Daemon::start("[program:instant]\ncommand=/bin/false\nstartretries=0\n");
    d.wait_line("gave up: instant entered FATAL state");
    let lines = d.lines();
    let log = engine_support::render(&lines);
    assert!(with(&lines, "success: instant").is_empty(), "{log}");
    assert_eq!(
        with(&lines, "exited: instant (")[0].msg,
        "exited: instant (exit status 1; not expected)",
        "{log}"
    );
}

#[test]
fn startretries_zero_is_fatal_after_the_first_failure() {
    let d = ours(&["no_retry"], "states.conf");
    d.wait_line("gave up: no_retry entered FATAL state");
    let lines = d.lines();
    assert_eq!(
        spawned_pids(&lines, "no_retry").len(),
        1,
        "{}",
        engine_support::render(&lines)
    );
    d.wait_state("no_retry", "FATAL");
}

#[test]
fn running_shorter_than_startsecs_is_a_failure() {
    let d = ours(&["short_run"], "states.conf");
    d.wait_line("gave up: short_run entered FATAL state");
    let lines = d.lines();
    let log = engine_support::render(&lines);
    assert!(with(&lines, "success: short_run").is_empty(), "{log}");
    let exit = with(&lines, "exited: short_run (");
    assert_eq!(exit.len(), 1, "{log}");
    assert_eq!(
        exit[0].msg,
        "exited: short_run (exit status 0; not expected)"
    );
    assert_eq!(exit[0].level, "WARN");
}

#[test]
fn reaching_running_resets_the_retry_counter() {
    let d = ours(&["resets"], "states.conf");
    d.wait_line("gave up: resets entered FATAL state");
    let lines = d.lines();
    let log = engine_support::render(&lines);
    // run 1 fails; run 2 is RUNNING then exits 1 (unexpected: restarted at once);
    // runs 3 and 4 fail with a fresh counter, so run 4 exists and is the last.
    assert_eq!(spawned_pids(&lines, "resets").len(), 4, "{log}");
    assert_eq!(
        with(&lines, "success: resets entered RUNNING state").len(),
        1,
        "{log}"
    );
    let exits: Vec<&str> = with(&lines, "exited: resets (")
        .iter()
        .map(|l| l.msg.as_str())
        .collect();
    assert_eq!(
        exits,
        vec!["exited: resets (exit status 1; not expected)"; 4],
        "{log}"
    );
    let delays = retry_delays(&lines, "resets");
    assert!(
        delays[2] >= 0.95 && delays[2] < 2.2,
        "after the reset the first retry waits 1 s, waited {:.3}\n{log}",
        delays[2]
    );
}

#[test]
fn startsecs_zero_fast_exit_is_running_then_exited() {
    let d = ours(&["zero_secs"], "states.conf");
    let exit = d.wait_line("exited: zero_secs (");
    assert_eq!(exit.msg, "exited: zero_secs (exit status 3; not expected)");
    assert_eq!(exit.level, "WARN");
    let info = d.wait_state("zero_secs", "EXITED");
    assert_eq!(info.exitstatus, 3);
    let lines = d.lines();
    assert_eq!(
        spawned_pids(&lines, "zero_secs").len(),
        1,
        "autorestart=false"
    );
    assert!(
        with(&lines, "gave up: zero_secs").is_empty(),
        "never BACKOFF/FATAL"
    );
}

#[test]
fn autostart_false_waits_for_a_manual_start() {
    let d = ours(&["manual", "no_retry"], "states.conf");
    // no_retry's FATAL proves the first transition pass has run.
    d.wait_line("gave up: no_retry");
    let info = d.wait_state("manual", "STOPPED");
    assert_eq!(info.description, "Not started");
    assert_eq!(d.count("spawned: 'manual'"), 0, "{}", d.dump());
    assert_eq!(
        d.call("supervisor.startProcess", &[json!("manual"), json!(true)]),
        json!(true)
    );
    d.wait_line("success: manual entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)");
    let info = d.wait_state("manual", "RUNNING");
    assert!(engine_support::alive(info.pid));
}

#[test]
fn autorestart_true_false_unexpected_follow_exitcodes() {
    let d = Setup::from_fixture(Impl::under_test(), "autorestart.conf").start();
    // `always` restarting three times gives every other program time to have restarted.
    d.wait_count("spawned: 'always'", 4);
    d.wait_count("spawned: 'unexp_unexpected'", 3);
    d.wait_count("spawned: 'unexp_signal'", 3);
    let lines = d.lines();
    let log = engine_support::render(&lines);
    let first_exit = |name: &str| -> LogLine {
        with(&lines, &format!("exited: {name} ("))
            .first()
            .map(|l| (*l).clone())
            .unwrap_or_else(|| panic!("no exit of {name}\n{log}"))
    };
    let expect = [
        ("always", "INFO", "exit status 0; expected", true),
        ("never", "WARN", "exit status 1; not expected", false),
        ("unexp_expected", "INFO", "exit status 2; expected", false),
        (
            "unexp_unexpected",
            "WARN",
            "exit status 3; not expected",
            true,
        ),
        (
            "unexp_signal",
            "WARN",
            "terminated by SIGKILL; not expected",
            true,
        ),
        ("default_codes", "INFO", "exit status 0; expected", false),
    ];
    for (name, level, text, restarts) in expect {
        let exit = first_exit(name);
        assert_eq!(exit.msg, format!("exited: {name} ({text})"), "{log}");
        assert_eq!(exit.level, level, "{name}\n{log}");
        let spawns = spawned_pids(&lines, name).len();
        if restarts {
            assert!(spawns >= 2, "{name} must restart\n{log}");
        } else {
            assert_eq!(spawns, 1, "{name} must not restart\n{log}");
        }
    }
    for name in ["never", "unexp_expected", "default_codes"] {
        d.wait_state(name, "EXITED");
    }
}

#[test]
fn stopping_a_backoff_process_is_immediate_and_keeps_the_retry_count() {
    let d = Setup::new(
        Impl::under_test(),
        "[program:flappy]\ncommand={fx}/quick_exit.sh 1\nstartretries=3\n",
    )
    .start();
    // After the second failure flappy waits 2 s in BACKOFF.
    d.wait_count("exited: flappy (", 2);
    let info = d.info("flappy");
    assert_eq!(info.state, "BACKOFF", "{}", d.dump());
    assert_eq!(
        d.call("supervisor.stopProcess", &[json!("flappy"), json!(true)]),
        json!(true)
    );
    d.wait_line("Attempted to kill flappy, which is in BACKOFF state.");
    d.wait_state("flappy", "STOPPED");
    assert_eq!(
        d.count("killing flappy"),
        0,
        "no signal is sent\n{}",
        d.dump()
    );
    assert_eq!(
        d.call("supervisor.startProcess", &[json!("flappy"), json!(false)]),
        json!(true)
    );
    d.wait_line("gave up: flappy entered FATAL state");
    let lines = d.lines();
    let log = engine_support::render(&lines);
    // The count was 2 at the stop: the manual start is try 3, one retry (after 3 s) is
    // left, then FATAL. A reset counter would allow four more spawns.
    assert_eq!(spawned_pids(&lines, "flappy").len(), 4, "{log}");
    let delays = retry_delays(&lines, "flappy");
    assert!(
        delays[3 - 1] >= 2.95,
        "the last retry waits 3 s, not {:.3}\n{log}",
        delays[2]
    );
}

// ---------------------------------------------------------------- spawn errors

fn spawn_error(name: &str, message: &str) {
    let d = Setup::sections(Impl::under_test(), "spawn_errors.conf", &[name])
        .file("notexec.sh", "#!/bin/sh\nexit 0\n", 0o644)
        .start();
    let message = message.replace("{dir}", d.path().to_str().expect("utf-8"));
    d.wait_line(&format!("gave up: {name} entered FATAL state"));
    let lines = d.lines();
    let log = engine_support::render(&lines);
    let errs = with(&lines, "spawnerr: ");
    assert_eq!(errs.len(), 2, "startretries=1 → two attempts\n{log}");
    for e in errs {
        assert_eq!(e.msg, format!("spawnerr: {message}"), "{log}");
        assert_eq!(e.level, "INFO", "{log}");
    }
    assert!(spawned_pids(&lines, name).is_empty(), "{log}");
    let info = d.wait_state(name, "FATAL");
    assert_eq!(info.description, message);
    assert_eq!(info.spawnerr, message);
}

#[test]
fn spawn_error_command_not_found() {
    spawn_error(
        "missing",
        "can't find command 'no_such_command_engine_test'",
    );
}

#[test]
fn spawn_error_command_not_executable() {
    spawn_error("notexec", "command at '{dir}/notexec.sh' is not executable");
}

#[test]
fn spawn_error_command_is_a_directory() {
    spawn_error("isdir", "command at '/tmp' is a directory");
}

#[test]
fn missing_directory_fails_in_the_child_with_127() {
    let d = ours(&["badcwd"], "spawn_errors.conf");
    d.wait_line("gave up: badcwd entered FATAL state");
    let lines = d.lines();
    let log = engine_support::render(&lines);
    assert_eq!(spawned_pids(&lines, "badcwd").len(), 2, "{log}");
    let exits: Vec<&str> = with(&lines, "exited: badcwd (")
        .iter()
        .map(|l| l.msg.as_str())
        .collect();
    assert_eq!(
        exits,
        vec!["exited: badcwd (exit status 127; not expected)"; 2],
        "{log}"
    );
    let info = d.wait_state("badcwd", "FATAL");
    assert_eq!(
        info.description,
        "Exited too quickly (process log may have details)"
    );
    let err = fs::read_to_string(d.path().join("badcwd.err")).unwrap_or_default();
    let once = "supervisor: couldn't chdir to /nonexistent/engine: ENOENT\n\
                supervisor: child process was not spawned\n";
    assert_eq!(err, once.repeat(2), "stderr log\n{log}");
}

#[test]
fn unknown_user_is_a_config_error() {
    let mut d = Setup::new(
        Impl::under_test(),
        "[program:x]\ncommand=/bin/sleep 300\nuser=nosuchuser_engine\n",
    )
    .start();
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(2), "{}", d.dump());
    let stderr = fs::read_to_string(d.path().join("daemon.stderr")).unwrap_or_default();
    assert!(
        stderr.contains("Invalid user name nosuchuser_engine"),
        "{stderr}"
    );
    assert!(d.tagged_pids().is_empty(), "nothing was started");
    assert_eq!(d.count("spawned:"), 0);
}

#[test]
fn a_binary_that_vanishes_between_starts_is_a_spawn_error() {
    let d = Setup::new(
        Impl::under_test(),
        "[program:vanish]\ncommand=%(here)s/vanish.sh\nstartsecs=1\nstartretries=1\nautorestart=true\n",
    )
    .file("vanish.sh", "#!/bin/sh\nsleep 3\n", 0o755)
    .start();
    let script = d.path().join("vanish.sh");
    d.wait_line("success: vanish entered RUNNING state");
    fs::remove_file(&script).expect("remove vanish.sh");
    d.wait_line("exited: vanish (exit status 0; expected)");
    d.wait_line("gave up: vanish entered FATAL state");
    let message = format!("can't find command '{}'", script.display());
    assert_eq!(d.count(&format!("spawnerr: {message}")), 2, "{}", d.dump());
    let info = d.wait_state("vanish", "FATAL");
    assert_eq!(info.description, message);
    fs::write(&script, "#!/bin/sh\nsleep 3\n").expect("restore vanish.sh");
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    assert_eq!(
        d.call("supervisor.startProcess", &[json!("vanish"), json!(true)]),
        json!(true)
    );
    d.wait_state("vanish", "RUNNING");
}
