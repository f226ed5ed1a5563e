//! The listener protocol's error paths, on the pinned reference and on ours: rejected
//! events come back first with the same serial, protocol violations put the listener
//! in UNKNOWN, an event in flight when its listener dies goes to the next instance,
//! and a slow listener's small buffer overflows oldest-first.
//!
//! Events are REMOTE_COMMUNICATION only (sent by the test), so every serial is known.
//! Each scenario runs on both daemons at once; the listener's recordings are checked
//! against the spec on both, and the protocol lines of both activity logs (listener
//! states, sends, rejections, rebuffering, overflow) are compared line by line.

mod events_harness;
mod support;

use std::time::Duration;

use events_harness::{run_each, Daemon, EventDaemon, Record};
use supervisor::rpc::xmlrpc::Value;

const RECORD: &str = "events.jsonl";
const TIMEOUT: Duration = Duration::from_secs(20);

struct Pool {
    name: &'static str,
    numprocs: u32,
    buffer_size: u32,
    /// The listener script and its arguments; `@DIR@` is the daemon's temp dir.
    script: String,
}

fn start(daemon: Daemon, pool: &Pool) -> EventDaemon {
    EventDaemon::start(
        daemon,
        "protocol.conf",
        &[
            ("@POOL@", pool.name),
            ("@NUMPROCS@", &pool.numprocs.to_string()),
            ("@BUFFER_SIZE@", &pool.buffer_size.to_string()),
            ("@SCRIPT@", &pool.script),
        ],
    )
}

fn send(d: &EventDaemon, data: &str) {
    d.rpc(
        "supervisor.sendRemoteCommEvent",
        &[Value::string("test"), Value::string(data)],
    );
}

fn release(d: &EventDaemon) {
    support::write_file(d.dir(), "release", "");
}

/// Waits until the listener has recorded `count` events.
fn wait_count(d: &EventDaemon, count: usize) -> Vec<Record> {
    d.wait_records(RECORD, &format!("{count} recorded events"), TIMEOUT, |r| {
        r.len() >= count
    })
}

/// (serial, poolserial, data, result) of each record.
fn summary(records: &[Record]) -> Vec<(String, String, String, String)> {
    records
        .iter()
        .map(|r| {
            (
                r.header("serial").to_string(),
                r.header("poolserial").to_string(),
                r.payload
                    .strip_prefix("type:test\n")
                    .unwrap_or("?")
                    .to_string(),
                r.result.clone(),
            )
        })
        .collect()
}

fn expected(rows: &[(u32, &str, &str)]) -> Vec<(String, String, String, String)> {
    rows.iter()
        .map(|&(serial, data, result)| {
            (
                serial.to_string(),
                serial.to_string(),
                data.to_string(),
                result.to_string(),
            )
        })
        .collect()
}

/// The activity-log lines about the pool's listener protocol, timestamps removed:
/// `<listener>: …` lines (states, results, warnings), sends, EPIPEs, rebuffering,
/// overflow.
/// The listener's raw stdout echo is left out: how its writes split into reads is
/// timing.
fn protocol_lines(d: &EventDaemon, pool: &str) -> Vec<String> {
    let own = format!(" {pool}_");
    d.log_lines()
        .into_iter()
        .filter(|l| {
            let body = l.get(4..).unwrap_or("");
            (body.starts_with(&own) && !body.contains(" output:"))
                || l.contains(" sent to listener ")
                || l.contains("epipe occurred while sending event ")
                || l.contains("rebuffering event ")
                || l.contains(" event buffer overflowed")
        })
        .collect()
}

/// What a scenario returns per daemon: its protocol lines and its diagnostics.
type Outcome = (Vec<String>, String);

/// Fails with both logs when the two daemons' protocol lines differ.
fn assert_same_lines(runs: &[Outcome]) {
    let (reference, ours) = (&runs[0], &runs[1]);
    assert_eq!(
        reference.0, ours.0,
        "protocol lines differ (left: reference, right: ours)\n{}\n{}",
        reference.1, ours.1
    );
}

fn rejected_event_scenario() -> Vec<Outcome> {
    let pool = Pool {
        name: "picky",
        numprocs: 1,
        buffer_size: 10,
        script: "listener.py @DIR@/events.jsonl --hold @DIR@/release --fail-first".to_string(),
    };
    run_each(&Daemon::BOTH, |daemon| {
        let d = start(daemon, &pool);
        send(&d, "first");
        wait_count(&d, 1);
        send(&d, "second");
        release(&d);
        let records = wait_count(&d, 3);
        assert_eq!(
            summary(&records),
            expected(&[
                (0, "first", "FAIL"),
                (0, "first", "OK"),
                (1, "second", "OK")
            ]),
            "{}",
            d.diagnostics()
        );
        wait_settled(&d, "picky_0", 3);
        d.wait_log_line("the rejection warning", TIMEOUT, |l| {
            l == "WARN picky_0: event was rejected"
        });
        d.wait_log_line("the rebuffering line", TIMEOUT, |l| {
            l == "DEBG rebuffering event 0 for pool picky (buf size=1, max=10)"
        });
        (protocol_lines(&d, "picky"), d.diagnostics())
    })
}

/// The rejected event comes back first with its serial; the protocol lines match the
/// reference's, including `rebuffering event <serial> …` for the event a dispatch round
/// could not place (event 1 while the listener is busy with the re-sent event 0).
#[test]
fn a_rejected_event_comes_back_first_with_its_serial() {
    assert_same_lines(&rejected_event_scenario());
}

/// Waits until `listener` has answered `results` events (processed or rejected) and
/// said READY after the last one, so that no protocol line is still to come.
fn wait_settled(d: &EventDaemon, listener: &str, results: usize) {
    let answered = [
        format!("DEBG {listener}: event was processed"),
        format!("WARN {listener}: event was rejected"),
    ];
    let ready = format!("DEBG {listener}: ACKNOWLEDGED -> READY");
    d.poll(
        TIMEOUT,
        &format!("{results} answers from {listener}, then READY"),
        || {
            let lines = d.log_lines();
            let seen = (
                lines.iter().filter(|l| answered.contains(l)).count(),
                lines.iter().filter(|l| **l == ready).count(),
            );
            if seen == (results, results + 1) {
                Ok(())
            } else {
                Err(seen)
            }
        },
    );
}

#[test]
fn a_rejected_event_rebuffered_into_a_full_buffer_drops_the_oldest() {
    let pool = Pool {
        name: "full",
        numprocs: 1,
        buffer_size: 2,
        script: "listener.py @DIR@/events.jsonl --hold @DIR@/release --fail-first".to_string(),
    };
    let runs = run_each(&Daemon::BOTH, |daemon| {
        let d = start(daemon, &pool);
        send(&d, "a");
        wait_count(&d, 1);
        send(&d, "b");
        send(&d, "c");
        release(&d);
        let records = wait_count(&d, 3);
        assert_eq!(
            summary(&records),
            expected(&[(0, "a", "FAIL"), (0, "a", "OK"), (2, "c", "OK")]),
            "{}",
            d.diagnostics()
        );
        d.wait_log_line("the overflow line", TIMEOUT, |l| {
            l == "ERRO pool full event buffer overflowed, discarding event 1"
        });
        wait_settled(&d, "full_0", 3);
        (protocol_lines(&d, "full"), d.diagnostics())
    });
    assert_same_lines(&runs);
}

#[test]
fn a_slow_listener_overflows_its_buffer_oldest_first() {
    let pool = Pool {
        name: "slow",
        numprocs: 1,
        buffer_size: 3,
        script: "listener.py @DIR@/events.jsonl --hold @DIR@/release".to_string(),
    };
    let runs = run_each(&Daemon::BOTH, |daemon| {
        let d = start(daemon, &pool);
        send(&d, "event 0");
        wait_count(&d, 1);
        for i in 1..10 {
            send(&d, &format!("event {i}"));
        }
        let discarded: Vec<String> = (1..=6)
            .map(|s| format!("ERRO pool slow event buffer overflowed, discarding event {s}"))
            .collect();
        let seen = d.poll(TIMEOUT, "six overflow lines", || {
            let seen: Vec<String> = d
                .log_lines()
                .into_iter()
                .filter(|l| l.contains("overflowed"))
                .collect();
            if seen.len() >= discarded.len() {
                Ok(seen)
            } else {
                Err(seen)
            }
        });
        assert_eq!(seen, discarded, "{}", d.diagnostics());
        release(&d);
        let records = wait_count(&d, 4);
        assert_eq!(
            summary(&records),
            expected(&[
                (0, "event 0", "OK"),
                (7, "event 7", "OK"),
                (8, "event 8", "OK"),
                (9, "event 9", "OK"),
            ]),
            "{}",
            d.diagnostics()
        );
        wait_settled(&d, "slow_0", 4);
        (protocol_lines(&d, "slow"), d.diagnostics())
    });
    assert_same_lines(&runs);
}

/// A violation: the listener script's mode, whether an event must be sent to
/// provoke it, and the log line that ends its consequences.
struct Violation {
    mode: &'static str,
    needs_event: bool,
    last_line: &'static str,
}

const UNKNOWN_WARNING: &str = "WARN bad_0: has entered the UNKNOWN state and will no longer \
     receive events, this usually indicates the process violated the eventlistener protocol";

fn violation(violation: &Violation) {
    let pool = Pool {
        name: "bad",
        numprocs: 1,
        buffer_size: 10,
        script: format!("violator.py {}", violation.mode),
    };
    let runs = run_each(&Daemon::BOTH, |daemon| {
        let d = start(daemon, &pool);
        if violation.needs_event {
            send(&d, "provocation");
        }
        d.wait_log_line(violation.last_line, TIMEOUT, |l| l == violation.last_line);
        assert!(
            d.log_lines().iter().any(|l| l == UNKNOWN_WARNING),
            "{}: no UNKNOWN warning\n{}",
            daemon.label(),
            d.diagnostics()
        );
        // UNKNOWN is a listener state: the process itself keeps running.
        assert_eq!(d.state("bad:bad_0"), Ok("RUNNING".to_string()));
        (protocol_lines(&d, "bad"), d.diagnostics())
    });
    assert_same_lines(&runs);
}

#[test]
fn garbage_instead_of_ready_makes_the_listener_unknown() {
    violation(&Violation {
        mode: "garbage",
        needs_event: false,
        last_line: UNKNOWN_WARNING,
    });
}

#[test]
fn a_byte_after_ready_makes_the_listener_unknown() {
    violation(&Violation {
        mode: "ready-then-byte",
        needs_event: false,
        last_line: UNKNOWN_WARNING,
    });
}

#[test]
fn a_bad_result_line_makes_the_listener_unknown_and_rebuffers_the_event() {
    violation(&Violation {
        mode: "bad-result",
        needs_event: true,
        last_line: "DEBG rebuffering event 0 for pool bad (buf size=0, max=10)",
    });
}

/// The first listener instance to receive an event records it and hangs (BUSY); the
/// test kills it; the event must reach another instance, same serial.
fn killed_while_busy(numprocs: u32) {
    let pool = Pool {
        name: "fragile",
        numprocs,
        buffer_size: 10,
        script: "listener.py @DIR@/events.jsonl --hang-once @DIR@/hung".to_string(),
    };
    run_each(&Daemon::BOTH, |daemon| {
        let d = start(daemon, &pool);
        send(&d, "in flight");
        let hung = wait_count(&d, 1)[0].clone();
        assert_eq!(hung.result, "HANG", "{}", d.diagnostics());
        let pid = libc::pid_t::try_from(hung.pid).expect("a pid");
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        let records = wait_count(&d, 2);
        let again = &records[1];
        assert_ne!(again.pid, hung.pid, "{}", d.diagnostics());
        assert_eq!(
            summary(&records),
            expected(&[(0, "in flight", "HANG"), (0, "in flight", "OK")]),
            "{}",
            d.diagnostics()
        );
        d.wait_log_line("the in-flight event rebuffered", TIMEOUT, |l| {
            l.starts_with("DEBG rebuffering event 0 for pool fragile (buf size=0, max=10)")
        });
    });
}

#[test]
fn an_event_in_flight_when_its_listener_is_killed_goes_to_the_restarted_listener() {
    killed_while_busy(1);
}

#[test]
fn an_event_in_flight_when_its_listener_is_killed_goes_to_another_instance() {
    killed_while_busy(2);
}

fn start_early(daemon: Daemon, startsecs: &str, buffer_size: &str) -> EventDaemon {
    EventDaemon::start(
        daemon,
        "startup.conf",
        &[("@STARTSECS@", startsecs), ("@BUFFER_SIZE@", buffer_size)],
    )
}

/// `(eventname, payload)` of each record, pids masked.
fn named(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            let payload = events_harness::mask_number_after(&r.payload, "pid:", "<pid>");
            format!("{} {} {payload:?}", r.header("serial"), r.name())
        })
        .collect()
}

/// Groups are added (serials 0–3), the supervisor runs (4), the listener starts (5)
/// and, a second later, runs (6): with room for 3, events 0–3 are discarded before
/// anything can be delivered, since a STARTING listener gets nothing.
#[test]
fn start_up_events_overflow_a_small_buffer_before_the_listener_runs() {
    run_each(&Daemon::BOTH, |daemon| {
        let d = start_early(daemon, "1", "3");
        let records = wait_count(&d, 3);
        assert_eq!(
            named(&records),
            [
                "4 SUPERVISOR_STATE_CHANGE_RUNNING \"\"",
                "5 PROCESS_STATE_STARTING \"processname:early groupname:early \
                 from_state:STOPPED tries:0\"",
                "6 PROCESS_STATE_RUNNING \"processname:early groupname:early \
                 from_state:STARTING pid:<pid>\"",
            ],
            "{}",
            d.diagnostics()
        );
        let discarded: Vec<String> = (0..4)
            .map(|s| format!("ERRO pool early event buffer overflowed, discarding event {s}"))
            .collect();
        let seen: Vec<String> = d
            .log_lines()
            .into_iter()
            .filter(|l| l.contains("overflowed"))
            .collect();
        assert_eq!(seen, discarded, "{}", d.diagnostics());
    });
}

/// Serials belong to the supervisord process and go on across a restart (the
/// reference keeps its global counter); poolserials belong to the pool, which a
/// restart builds anew. Here the reference's first event after the restart is serial
/// 10 (5–9: the listener starting, running, SUPERVISOR_STATE_CHANGE_STOPPING, the
/// listener stopping, stopped).
#[test]
fn serials_go_on_across_a_restart_and_poolserials_start_over() {
    let runs = run_each(&Daemon::BOTH, |daemon| {
        let d = start_early(daemon, "0", "10");
        wait_count(&d, 4);
        d.rpc("supervisor.restart", &[]);
        let records = d.wait_records(RECORD, "the listener after the restart", TIMEOUT, |r| {
            r.iter()
                .filter(|r| r.name() == "SUPERVISOR_STATE_CHANGE_RUNNING")
                .count()
                >= 2
        });
        // Whether the old listener still got SUPERVISOR_STATE_CHANGE_STOPPING (or
        // events about itself stopping) before it was stopped is timing.
        let kept: Vec<String> = records
            .iter()
            .filter(|r| {
                matches!(
                    r.name(),
                    "PROCESS_GROUP_ADDED" | "SUPERVISOR_STATE_CHANGE_RUNNING"
                )
            })
            .map(|r| {
                let instance = if r.pid == records[0].pid {
                    "first listener"
                } else {
                    "second listener"
                };
                format!("{instance}: {}{}", r.line, r.payload)
            })
            .collect();
        (kept, d.diagnostics())
    });
    let (reference, ours) = (&runs[0], &runs[1]);
    assert_eq!(
        reference.0, ours.0,
        "left: reference, right: ours\n{}\n{}",
        reference.1, ours.1
    );
}

/// Both listeners READY, the first one's stdin closed: each event is tried on it first
/// (pool order), fails with EPIPE, and goes to the second.
#[test]
fn an_epipe_sends_the_event_to_the_next_listener() {
    let pool = Pool {
        name: "ep",
        numprocs: 2,
        buffer_size: 10,
        script: "listener.py @DIR@/events.jsonl --deaf ep_0".to_string(),
    };
    run_each(&Daemon::BOTH, |daemon| {
        let d = start(daemon, &pool);
        for listener in ["ep_0", "ep_1"] {
            let ready = format!("DEBG {listener}: ACKNOWLEDGED -> READY");
            d.wait_log_line(&ready, TIMEOUT, |l| l == ready);
        }
        send(&d, "one");
        send(&d, "two");
        let records = wait_count(&d, 2);
        assert_eq!(
            summary(&records),
            expected(&[(0, "one", "OK"), (1, "two", "OK")]),
            "{}",
            d.diagnostics()
        );
        let lines = protocol_lines(&d, "ep");
        let epipe = "DEBG epipe occurred while sending event 0 to listener ep_0, \
                     listener state unchanged";
        let at = lines.iter().position(|l| l == epipe);
        assert!(
            at.is_some_and(|at| lines[at + 1..]
                .iter()
                .any(|l| l == "DEBG event 0 sent to listener ep_1")),
            "{}: no EPIPE on ep_0 followed by the send to ep_1 in {lines:#?}\n{}",
            daemon.label(),
            d.diagnostics()
        );
    });
}
