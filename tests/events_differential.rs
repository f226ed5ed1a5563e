//! Differential test of every event type: the same config (`fixtures/events/all_events.conf`)
//! under the pinned reference supervisord and ours, a listener built on the reference's
//! `supervisor.childutils` subscribed to `EVENT` recording every (header line, payload)
//! it receives, the same RPC-driven steps on both, and the recordings compared.
//!
//! Serials, poolserials, `len`, pids, tick times and temp paths are masked before the
//! comparison and checked on their own (serial = poolserial = position, `len` = payload
//! characters, `when` a multiple of 5). Events of different processes interleave by
//! timing, so the recordings are compared per stream: the state events of each process,
//! the log/communication events of each (process, event name), and the global events
//! (groups, supervisor state, remote communication) in order. Ticks are checked on
//! their own; everything after SUPERVISOR_STATE_CHANGE_STOPPING races the listener's own
//! shutdown and is left out.
//!
//! A second test compares the minute and hour ticks under a faked wall clock.

mod events_harness;
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use events_harness::{mask_number_after, run_each, Daemon, EventDaemon, Record};
use supervisor::rpc::xmlrpc::Value;

const RECORD: &str = "events.jsonl";
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

const GROUPS_IN_PRIORITY_ORDER: &[&str] = &[
    "rec",
    "backoffer",
    "comm",
    "crasher",
    "failer",
    "herd",
    "keeper",
    "talker",
];

/// Waits until, for each `(eventname, payload fragment)`, the recording holds at least
/// that many matching events (a fragment repeated n times means n events).
fn wait_for(d: &EventDaemon, what: &str, wanted: &[(&str, &str)]) {
    d.wait_records(RECORD, what, STEP_TIMEOUT, |records| {
        wanted.iter().all(|&(name, fragment)| {
            let needed = wanted.iter().filter(|&&w| w == (name, fragment)).count();
            records
                .iter()
                .filter(|r| r.name() == name && r.payload.contains(fragment))
                .count()
                >= needed
        })
    });
}

fn start(d: &EventDaemon, name: &str) {
    d.rpc(
        "supervisor.startProcess",
        &[Value::string(name), Value::Bool(false)],
    );
}

/// The scenario: every kind of event, one step at a time; returns the recording made
/// until the daemon exited.
fn scenario(daemon: Daemon) -> Run {
    let mut d = EventDaemon::start(daemon, "all_events.conf", &[]);
    wait_for(
        &d,
        "rec and keeper RUNNING",
        &[
            ("PROCESS_STATE_RUNNING", "processname:rec "),
            ("PROCESS_STATE_RUNNING", "processname:keeper "),
        ],
    );

    start(&d, "talker");
    wait_for(
        &d,
        "talker's output events and its exit",
        &[
            ("PROCESS_LOG_STDOUT", "processname:talker "),
            ("PROCESS_LOG_STDOUT", "processname:talker "),
            ("PROCESS_LOG_STDERR", "processname:talker "),
            ("PROCESS_LOG_STDERR", "processname:talker "),
            ("PROCESS_STATE_EXITED", "processname:talker "),
        ],
    );

    start(&d, "comm");
    wait_for(
        &d,
        "comm's communication events and its exit",
        &[
            ("PROCESS_COMMUNICATION_STDOUT", "processname:comm "),
            ("PROCESS_COMMUNICATION_STDERR", "processname:comm "),
            ("PROCESS_COMMUNICATION_STDERR", "processname:comm "),
            ("PROCESS_LOG_STDOUT", "processname:comm "),
            ("PROCESS_LOG_STDOUT", "processname:comm "),
            ("PROCESS_LOG_STDERR", "processname:comm "),
            ("PROCESS_LOG_STDERR", "processname:comm "),
            ("PROCESS_STATE_EXITED", "processname:comm "),
        ],
    );

    start(&d, "crasher");
    wait_for(
        &d,
        "crasher EXITED",
        &[("PROCESS_STATE_EXITED", "processname:crasher ")],
    );

    start(&d, "failer");
    wait_for(
        &d,
        "failer FATAL",
        &[("PROCESS_STATE_FATAL", "processname:failer ")],
    );

    start(&d, "backoffer");
    d.wait_state("backoffer", "BACKOFF", STEP_TIMEOUT);
    d.rpc("supervisor.stopProcess", &[Value::string("backoffer")]);
    wait_for(
        &d,
        "backoffer STOPPED",
        &[("PROCESS_STATE_STOPPED", "processname:backoffer ")],
    );

    d.rpc("supervisor.startProcessGroup", &[Value::string("herd")]);
    wait_for(
        &d,
        "herd RUNNING",
        &[
            ("PROCESS_STATE_RUNNING", "processname:worker_0 "),
            ("PROCESS_STATE_RUNNING", "processname:worker_1 "),
        ],
    );
    d.rpc("supervisor.stopProcessGroup", &[Value::string("herd")]);
    wait_for(
        &d,
        "herd STOPPED",
        &[
            ("PROCESS_STATE_STOPPED", "processname:worker_0 "),
            ("PROCESS_STATE_STOPPED", "processname:worker_1 "),
        ],
    );
    d.rpc("supervisor.removeProcessGroup", &[Value::string("herd")]);
    wait_for(
        &d,
        "herd removed",
        &[("PROCESS_GROUP_REMOVED", "groupname:herd\n")],
    );
    d.rpc("supervisor.addProcessGroup", &[Value::string("herd")]);
    wait_for(
        &d,
        "herd added again",
        &[
            ("PROCESS_GROUP_ADDED", "groupname:herd\n"),
            ("PROCESS_GROUP_ADDED", "groupname:herd\n"),
        ],
    );

    d.rpc(
        "supervisor.sendRemoteCommEvent",
        &[
            Value::string("tÿpe"),
            Value::string("dätä ✓ — non-ASCII\nsecond line"),
        ],
    );
    d.rpc(
        "supervisor.sendRemoteCommEvent",
        &[Value::string("empty"), Value::string("")],
    );
    wait_for(
        &d,
        "both remote communication events",
        &[
            ("REMOTE_COMMUNICATION", "type:tÿpe\n"),
            ("REMOTE_COMMUNICATION", "type:empty\n"),
        ],
    );

    wait_for(&d, "a TICK_5", &[("TICK_5", "when:")]);

    d.rpc("supervisor.shutdown", &[]);
    d.wait_exit(STEP_TIMEOUT);
    Run {
        daemon,
        records: d.records(RECORD),
        diagnostics: d.diagnostics(),
        dir: d.dir().display().to_string(),
    }
}

struct Run {
    daemon: Daemon,
    records: Vec<Record>,
    diagnostics: String,
    dir: String,
}

/// Checks what the masking hides: header token order, serials, `len`, results.
fn check_envelopes(label: &str, records: &[Record]) -> Result<(), String> {
    for (position, r) in records.iter().enumerate() {
        let expected = format!(
            "ver:3.0 server:supervisor serial:{position} pool:rec poolserial:{position} \
             eventname:{} len:{}\n",
            r.name(),
            r.payload.chars().count()
        );
        if r.line != expected {
            return Err(format!(
                "{label}: event #{position} has header line {:?}, expected {expected:?}",
                r.line
            ));
        }
        if r.result != "OK" {
            return Err(format!("{label}: event #{position} answered {}", r.result));
        }
    }
    let non_ascii = records
        .iter()
        .filter(|r| r.payload.len() != r.payload.chars().count())
        .count();
    if non_ascii < 3 {
        return Err(format!(
            "{label}: expected non-ASCII payloads (len in characters), saw {non_ascii}"
        ));
    }
    Ok(())
}

/// Groups first (priority order), then SUPERVISOR_STATE_CHANGE_RUNNING, then the rest.
fn check_startup(label: &str, records: &[Record]) -> Result<(), String> {
    let head: Vec<String> = records
        .iter()
        .take(GROUPS_IN_PRIORITY_ORDER.len() + 1)
        .map(|r| format!("{} {}", r.name(), r.payload.trim_end()))
        .collect();
    let mut expected: Vec<String> = GROUPS_IN_PRIORITY_ORDER
        .iter()
        .map(|g| format!("PROCESS_GROUP_ADDED groupname:{g}"))
        .collect();
    expected.push("SUPERVISOR_STATE_CHANGE_RUNNING ".to_string());
    if head != expected {
        return Err(format!(
            "{label}: startup events\n{head:#?}\nexpected\n{expected:#?}"
        ));
    }
    Ok(())
}

/// Every concrete event type but PROCESS_STATE_UNKNOWN (a lost child) and the hourly
/// and minutely ticks.
const EVERY_TYPE: &[&str] = &[
    "PROCESS_STATE_STARTING",
    "PROCESS_STATE_RUNNING",
    "PROCESS_STATE_BACKOFF",
    "PROCESS_STATE_STOPPING",
    "PROCESS_STATE_EXITED",
    "PROCESS_STATE_STOPPED",
    "PROCESS_STATE_FATAL",
    "PROCESS_LOG_STDOUT",
    "PROCESS_LOG_STDERR",
    "PROCESS_COMMUNICATION_STDOUT",
    "PROCESS_COMMUNICATION_STDERR",
    "REMOTE_COMMUNICATION",
    "SUPERVISOR_STATE_CHANGE_RUNNING",
    "SUPERVISOR_STATE_CHANGE_STOPPING",
    "PROCESS_GROUP_ADDED",
    "PROCESS_GROUP_REMOVED",
    "TICK_5",
];

fn check_coverage(label: &str, records: &[Record]) -> Result<(), String> {
    let missing: Vec<&str> = EVERY_TYPE
        .iter()
        .copied()
        .filter(|&name| !records.iter().any(|r| r.name() == name))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{label}: no event of type {missing:?}"))
    }
}

/// Ticks carry `when:<t>` with `t` a multiple of their period, increasing per period;
/// a TICK_60 (when the run crosses a minute) comes right after the TICK_5 of the same
/// `when`, as the reference emits them in one go.
fn check_ticks(label: &str, records: &[Record]) -> Result<(), String> {
    let mut last: BTreeMap<i64, i64> = BTreeMap::new();
    for (position, r) in records.iter().enumerate() {
        let Some(period) = r.name().strip_prefix("TICK_") else {
            continue;
        };
        let period: i64 = period.parse().unwrap_or(0);
        let when: i64 = r
            .payload
            .strip_prefix("when:")
            .and_then(|t| t.parse().ok())
            .unwrap_or(-1);
        let previous = last.insert(period, when).unwrap_or(0);
        let follows_tick5 = period == 5
            || position
                .checked_sub(1)
                .map(|p| &records[p])
                .is_some_and(|p| p.name() == "TICK_5" && p.payload == r.payload);
        if ![5, 60, 3600].contains(&period)
            || when <= 0
            || when % period != 0
            || when <= previous
            || !follows_tick5
        {
            return Err(format!(
                "{label}: event #{position} {} {:?} (previous when of that period: {previous})",
                r.name(),
                r.payload
            ));
        }
    }
    Ok(())
}

/// The stream an event belongs to, for the per-stream comparison.
fn stream_of(r: &Record) -> String {
    let process = r
        .payload
        .split_whitespace()
        .find_map(|t| t.strip_prefix("processname:"))
        .unwrap_or("");
    let name = r.name();
    if name.starts_with("PROCESS_STATE_") {
        format!("state of {process}")
    } else if name.starts_with("PROCESS_LOG_") || name.starts_with("PROCESS_COMMUNICATION_") {
        format!("{name} of {process}")
    } else {
        "global".to_string()
    }
}

/// Pids (not `pid:0`) and the temp dir masked.
fn masked(r: &Record, dir: &str) -> String {
    let payload = r.payload.replace(dir, "<dir>").replace("pid:0", "pid:ZERO");
    let payload = mask_number_after(&payload, "pid:", "<pid>").replace("pid:ZERO", "pid:0");
    format!("{} {payload:?}", r.name())
}

fn streams(records: &[Record], dir: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records {
        if r.name().starts_with("TICK_") {
            continue;
        }
        map.entry(stream_of(r)).or_default().push(masked(r, dir));
        if r.name() == "SUPERVISOR_STATE_CHANGE_STOPPING" {
            break;
        }
    }
    map
}

#[test]
fn every_event_type_matches_the_reference() {
    let runs = run_each(&Daemon::BOTH, scenario);
    let mut failures = Vec::new();
    let mut per_daemon = Vec::new();
    for run in &runs {
        let (label, records) = (run.daemon.label(), &run.records);
        for check in [check_envelopes, check_startup, check_ticks, check_coverage] {
            if let Err(why) = check(label, records) {
                failures.push(why);
            }
        }
        per_daemon.push(streams(records, &run.dir));
    }
    let (reference, ours) = (&per_daemon[0], &per_daemon[1]);
    let keys: std::collections::BTreeSet<&String> = reference.keys().chain(ours.keys()).collect();
    for key in keys {
        let (want, got) = (reference.get(key), ours.get(key));
        if want != got {
            failures.push(format!(
                "stream {key:?} differs\n  reference: {want:#?}\n  ours:      {got:#?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\n{}",
        failures.join("\n\n"),
        runs.iter()
            .map(|run| run.diagnostics.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// TICK_60 and TICK_3600 without waiting for them: both daemons run under
/// libfaketime with a wall clock that starts at 2030-01-01 00:59:50 UTC (monotonic
/// time untouched), so the second boundary after start-up is a full hour, ten seconds
/// later (a margin for a slow start-up), and everything is deterministic — serials
/// and `when` included.
#[test]
fn minute_and_hour_ticks_match_the_reference() {
    const BEFORE: &str = "when:1893459595"; // 2030-01-01 00:59:55 UTC
    const HOUR: &str = "when:1893459600"; // 2030-01-01 01:00:00 UTC
    let faketime = events_harness::libfaketime().display().to_string();
    let env = [
        ("LD_PRELOAD", faketime.as_str()),
        ("FAKETIME", "@2030-01-01 00:59:50"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ("TZ", "UTC"),
    ];
    let runs = run_each(&Daemon::BOTH, |daemon| {
        let d = EventDaemon::start_with_env(daemon, "ticks.conf", &[], &env);
        let records = d.wait_records(RECORD, "the hourly tick", STEP_TIMEOUT, |records| {
            records.iter().any(|r| r.name() == "TICK_3600")
        });
        let seen: Vec<String> = records
            .iter()
            .map(|r| format!("{}{}", r.line, r.payload))
            .collect();
        (seen, d.diagnostics())
    });
    let expected: Vec<String> = [
        ("TICK_5", BEFORE),
        ("TICK_5", HOUR),
        ("TICK_60", HOUR),
        ("TICK_3600", HOUR),
    ]
    .iter()
    .enumerate()
    .map(|(serial, (name, when))| {
        format!(
            "ver:3.0 server:supervisor serial:{serial} pool:ticks poolserial:{serial} \
             eventname:{name} len:{}\n{when}",
            when.len()
        )
    })
    .collect();
    for (seen, diagnostics) in &runs {
        assert_eq!(seen, &expected, "{diagnostics}");
    }
}
