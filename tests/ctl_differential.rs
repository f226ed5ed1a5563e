//! Differential tests: our `supervisorctl` against the pinned reference `supervisorctl`,
//! both talking to the same kind of daemon, on the same scripted command lists.
//!
//! Each scenario starts two fresh daemons from one fixture (one per client), runs the
//! same steps through each client, normalizes stdout (pids, uptimes, dates, temp paths,
//! ports, the file/line tail of generic error lines) and compares the transcripts,
//! exit statuses included. The daemon is a parameter: the reference now, ours once its
//! RPC server is merged.

mod ctl_daemon;
mod support;

use ctl_daemon::{settled, start_daemon, write_config, Daemon, RunningDaemon};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Which client runs the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctl {
    Reference,
    Ours,
}

impl Ctl {
    fn binary(self) -> PathBuf {
        match self {
            Ctl::Reference => support::reference_venv().join("bin/supervisorctl"),
            Ctl::Ours => PathBuf::from(env!("CARGO_BIN_EXE_supervisorctl")),
        }
    }
}

/// One step of a scenario. In arguments, `{dir}` is the scenario's directory and
/// `{port}` its TCP port.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// `supervisorctl -c <conf> <args…>`; stdout and exit status are compared.
    Run(&'static [&'static str]),
    /// `supervisorctl <args…>` without `-c`.
    RunBare(&'static [&'static str]),
    /// `supervisorctl -c <conf>` with this text on stdin (the shell without a terminal).
    Shell(&'static str),
    /// Wait until these processes are in these states and nothing is in transition.
    Settle(&'static [(&'static str, &'static str)]),
    /// Replace the configuration file with another fixture.
    Config(&'static str),
    /// Wait until the daemon has exited.
    Gone,
}

struct Scenario {
    name: &'static str,
    fixture: &'static str,
    steps: &'static [Step],
}

use Step::*;

const UNIX_SETTLED: &[(&str, &str)] = &[
    ("echoer", "RUNNING"),
    ("exits0", "EXITED"),
    ("exits5", "EXITED"),
    ("grp:ga", "RUNNING"),
    ("missing", "FATAL"),
    ("quick", "FATAL"),
    ("w:w_00", "RUNNING"),
    ("w:w_01", "RUNNING"),
];

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "read-only commands",
        fixture: "unix.conf",
        steps: &[
            Settle(UNIX_SETTLED),
            Run(&["status"]),
            Run(&["status", "echoer"]),
            Run(&["status", "grp:*"]),
            Run(&["status", "w:w_00", "w:w_01"]),
            Run(&["status", "nosuch", "grp:*", "x:*"]),
            Run(&["status", "nosuch"]),
            Run(&["status", "all"]),
            Run(&["avail"]),
            Run(&["avail", "x"]),
            Run(&["pid"]),
            Run(&["pid", "all"]),
            Run(&["pid", "echoer"]),
            Run(&["pid", "sleeper"]),
            Run(&["pid", "nosuch"]),
            Run(&["version"]),
            Run(&["version", "x"]),
            Run(&["help"]),
            Run(&["help", "status"]),
            Run(&["help", "start"]),
            Run(&["help", "tail"]),
            Run(&["help", "maintail"]),
            Run(&["help", "help"]),
            Run(&["help", "nosuch"]),
            Run(&["help", "EOF"]),
            Run(&["tail", "echoer"]),
            Run(&["tail", "echoer", "stderr"]),
            Run(&["tail", "-5", "echoer"]),
            Run(&["tail", "-x", "echoer"]),
            Run(&["tail"]),
            Run(&["tail", "a", "b", "c", "d"]),
            Run(&["tail", "echoer", "bogus"]),
            Run(&["tail", "-5"]),
            Run(&["tail", "nosuch"]),
            Run(&["tail", "nolog"]),
            Run(&["tail", "-f", "nosuch"]),
            Run(&["maintail", "a", "b"]),
            Run(&["maintail", "bad"]),
            Run(&["maintail", "-x"]),
            Run(&["maintail", "-1"]),
            Run(&["reread"]),
            Run(&["reread", "x"]),
            Run(&["fg"]),
            Run(&["fg", "a", "b"]),
            Run(&["fg", "nosuch"]),
            Run(&["fg", "sleeper"]),
            Run(&["bogus", "command"]),
            Run(&["quit"]),
            Run(&["open", "foo"]),
            Run(&["open", "unix://{dir}/supervisor.sock"]),
            Run(&["-s", "unix://{dir}/none.sock", "status"]),
            Run(&["-s", "unix://{dir}/none.sock", "stop", "x"]),
            Run(&["-s", "unix://{dir}/none.sock", "avail"]),
            Run(&["-s", "unix://{dir}/none.sock", "shutdown"]),
            Run(&["-s", "tcp://x:1", "avail"]),
            Run(&["-s", "foo", "status"]),
            Run(&["-x"]),
            Run(&["-h"]),
            Shell("help\nstatus grp:*\nfoo\n?pid\n\nversion\n"),
        ],
    },
    Scenario {
        name: "process control",
        fixture: "unix.conf",
        steps: &[
            Settle(UNIX_SETTLED),
            Run(&["start"]),
            Run(&["start", "nosuch"]),
            Run(&["start", "nosuch:*"]),
            Run(&["start", "missing"]),
            Run(&["start", "quick"]),
            Run(&["start", "echoer"]),
            Run(&["start", "sleeper"]),
            Run(&["start", "grp:*"]),
            Run(&["stop"]),
            Run(&["stop", "sleeper"]),
            Run(&["stop", "sleeper"]),
            Run(&["stop", "nosuch:*"]),
            Run(&["stop", "grp:gb"]),
            Run(&["stop", "grp:*"]),
            Run(&["stop", "nosuch", "exits0"]),
            Run(&["restart"]),
            Run(&["restart", "echoer"]),
            Run(&["signal"]),
            Run(&["signal", "HUP"]),
            Run(&["signal", "BOGUS", "echoer"]),
            Run(&["signal", "USR1", "sleeper"]),
            Run(&["signal", "HUP", "nosuch:*"]),
            Run(&["signal", "WINCH", "echoer", "w:*"]),
            Run(&["signal", "WINCH", "all"]),
            Run(&["clear"]),
            Run(&["clear", "echoer"]),
            Run(&["clear", "nosuch"]),
            Run(&["clear", "grp:*"]),
            Run(&["clear", "all"]),
            Run(&["pid", "grp:ga"]),
            Run(&["status"]),
        ],
    },
    Scenario {
        name: "configuration changes and shutdown",
        fixture: "unix.conf",
        steps: &[
            Settle(UNIX_SETTLED),
            Run(&["add"]),
            Run(&["add", "echoer"]),
            Run(&["add", "nosuch"]),
            Run(&["remove", "echoer"]),
            Run(&["remove", "nosuch"]),
            Run(&["update", "nosuch"]),
            Run(&["update"]),
            Config("unix_changed.conf"),
            Run(&["reread"]),
            Run(&["avail"]),
            Run(&["remove", "exits5"]),
            Run(&["add", "newprog"]),
            Run(&["update", "sleeper", "bogus"]),
            Run(&["update", "all"]),
            Settle(&[("newprog", "RUNNING")]),
            Run(&["status"]),
            Run(&["reload", "x"]),
            Run(&["shutdown", "x"]),
            Run(&["shutdown"]),
            Gone,
            Run(&["status"]),
            Run(&["shutdown"]),
            Run(&["maintail"]),
        ],
    },
    Scenario {
        name: "basic auth over TCP",
        fixture: "inet_auth.conf",
        steps: &[
            Settle(&[("talker", "RUNNING")]),
            Run(&["status"]),
            Run(&["avail"]),
            Run(&["-u", "user", "-p", "123", "status"]),
            Run(&["-u", "user", "-p", "wrong", "version"]),
            Run(&["-u", "user", "avail"]),
            Run(&["-u", "user", "-p", "123", "tail", "talker"]),
            Run(&["-u", "user", "-p", "123", "tail", "-f", "nosuch"]),
            Run(&["-u", "user", "-p", "123", "start", "idle"]),
            Run(&["-u", "user", "-p", "123", "pid", "idle"]),
            Run(&["-u", "user", "-p", "123", "stop", "idle"]),
            Run(&["-u", "user", "-p", "123", "pid", "idle"]),
            RunBare(&[
                "-s",
                "http://127.0.0.1:{port}",
                "-u",
                "user",
                "-p",
                "123",
                "version",
            ]),
        ],
    },
    Scenario {
        name: "TCP without auth",
        fixture: "inet_open.conf",
        steps: &[
            Settle(&[("talker", "RUNNING")]),
            Run(&["status"]),
            Run(&["start", "w:*"]),
            Run(&["status", "w:*"]),
            Run(&["stop", "w:w_2"]),
            Run(&["status", "w:w_2", "w:w_9"]),
            RunBare(&["-s", "http://127.0.0.1:{port}", "pid", "talker"]),
            Run(&["reload"]),
            Settle(&[("talker", "RUNNING")]),
            Run(&["status"]),
            RunBare(&["-s", "http://127.0.0.1:1", "status"]),
            RunBare(&["-s", "http://127.0.0.1:1", "shutdown"]),
        ],
    },
];

fn expand(arg: &str, running: &RunningDaemon) -> String {
    arg.replace("{dir}", &running.dir.path().display().to_string())
        .replace("{port}", &running.port.to_string())
}

/// Runs every step with `ctl` against a fresh `daemon`; returns the transcript.
fn transcript(scenario: &Scenario, daemon: Daemon, ctl: Ctl) -> String {
    let running = start_daemon(daemon, scenario.fixture);
    let mut out = String::new();
    for step in scenario.steps {
        match *step {
            Run(args) | RunBare(args) => {
                let mut command = Command::new(ctl.binary());
                // The reference warns on stdout when it cannot print Unicode.
                command.env("PYTHONIOENCODING", "utf-8");
                if matches!(step, Run(_)) {
                    command.arg("-c").arg(running.config());
                }
                let args: Vec<String> = args.iter().map(|a| expand(a, &running)).collect();
                let output = command
                    .args(&args)
                    .current_dir(running.dir.path())
                    .stdin(Stdio::null())
                    .output()
                    .expect("run supervisorctl");
                let shown = format!("$ supervisorctl {}\n", args.join(" "));
                out.push_str(&normalize(&shown, &running));
                let stdout = String::from_utf8_lossy(&output.stdout)
                    .replace(&ctl.binary().display().to_string(), "<PROG>");
                out.push_str(&normalize(&stdout, &running));
                out.push_str(&format!("[exit {:?}]\n", output.status.code()));
            }
            Shell(input) => {
                let mut child = Command::new(ctl.binary())
                    .env("PYTHONIOENCODING", "utf-8")
                    .arg("-c")
                    .arg(running.config())
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("run supervisorctl");
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(input.as_bytes()).expect("feed the shell");
                }
                let output = child.wait_with_output().expect("shell output");
                out.push_str(&format!("$ supervisorctl <<< {input:?}\n"));
                out.push_str(&normalize(
                    &String::from_utf8_lossy(&output.stdout),
                    &running,
                ));
                out.push_str(&format!("[exit {:?}]\n", output.status.code()));
            }
            Settle(expected) => {
                support::poll_until(
                    Duration::from_secs(30),
                    &format!("{expected:?} in {}", scenario.name),
                    || settled(&running, expected),
                );
            }
            Config(name) => write_config(running.dir.path(), name, running.port),
            Gone => {
                let child_done = || -> Result<(), String> {
                    Err(format!("still running; log:\n{}", running.log()))
                };
                let pid = running.child.id();
                support::poll_until(Duration::from_secs(30), "the daemon to exit", || {
                    let alive = Path::new(&format!("/proc/{pid}")).exists()
                        && !fs::read_to_string(format!("/proc/{pid}/stat"))
                            .unwrap_or_default()
                            .contains(") Z ");
                    if alive {
                        child_done()
                    } else {
                        Ok(())
                    }
                });
            }
        }
    }
    out
}

/// Masks what legitimately differs between two runs.
fn normalize(text: &str, running: &RunningDaemon) -> String {
    let text = text
        .replace(&running.dir.path().display().to_string(), "<DIR>")
        .replace(&format!(":{}", running.port), ":<PORT>");
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        out.push_str(&normalize_line(body));
        out.push_str(end);
    }
    out
}

fn normalize_line(line: &str) -> String {
    if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) && line != "0" {
        return "<PID>".to_string();
    }
    if line.starts_with("error: <class ") {
        if let Some(at) = line.rfind(": file: ") {
            return format!("{}: file: <FILE> line: <LINE>", &line[..at]);
        }
    }
    let mut line = mask_after(line, "pid ", |c| c.is_ascii_digit(), "<PID>");
    if let Some(at) = line.find(", uptime ") {
        line.truncate(at);
        line.push_str(", uptime <UPTIME>");
    }
    mask_dates(&line)
}

/// Replaces the run of `keep` characters after each `marker` with `mask`.
fn mask_after(line: &str, marker: &str, keep: fn(char) -> bool, mask: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let run = after.find(|c: char| !keep(c)).unwrap_or(after.len());
        out.push_str(&rest[..at + marker.len()]);
        if run > 0 {
            out.push_str(mask);
        }
        rest = &after[run..];
    }
    out.push_str(rest);
    out
}

/// Masks stop times like `Nov 28 01:54 AM`.
fn mask_dates(line: &str) -> String {
    const SHAPE: &str = "Aaa 00 00:00 PM";
    let chars: Vec<char> = line.chars().collect();
    let shape: Vec<char> = SHAPE.chars().collect();
    let fits = |start: usize| {
        shape.iter().enumerate().all(|(i, s)| {
            let Some(&c) = chars.get(start + i) else {
                return false;
            };
            match s {
                'A' => c.is_ascii_uppercase(),
                'a' => c.is_ascii_lowercase(),
                '0' => c.is_ascii_digit(),
                'P' => c == 'A' || c == 'P',
                'M' => c == 'M',
                other => c == *other,
            }
        })
    };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if fits(i) {
            out.push_str("<DATE>");
            i += shape.len();
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn count_invocations() -> usize {
    SCENARIOS
        .iter()
        .flat_map(|s| s.steps)
        .filter(|s| matches!(s, Run(_) | RunBare(_) | Shell(_)))
        .count()
}

/// Runs every scenario with both clients against `daemon` and compares transcripts.
fn run_scenarios(daemon: Daemon) {
    support::reference_venv();
    assert!(count_invocations() >= 60, "{}", count_invocations());
    let mut failures = Vec::new();
    std::thread::scope(|scope| {
        let runs: Vec<_> = SCENARIOS
            .iter()
            .map(|scenario| {
                let reference = scope.spawn(move || transcript(scenario, daemon, Ctl::Reference));
                let ours = scope.spawn(move || transcript(scenario, daemon, Ctl::Ours));
                (scenario, reference, ours)
            })
            .collect();
        for (scenario, reference, ours) in runs {
            let reference = reference.join().expect("reference run");
            let ours = ours.join().expect("our run");
            if reference != ours {
                failures.push(first_difference(scenario.name, &reference, &ours));
            }
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn first_difference(name: &str, reference: &str, ours: &str) -> String {
    let reference_lines: Vec<&str> = reference.lines().collect();
    let our_lines: Vec<&str> = ours.lines().collect();
    let at = reference_lines
        .iter()
        .zip(&our_lines)
        .position(|(a, b)| a != b)
        .unwrap_or(reference_lines.len().min(our_lines.len()));
    let from = at.saturating_sub(6);
    format!(
        "scenario {name:?} differs at line {}:\n--- reference\n{}\n--- ours\n{}",
        at + 1,
        reference_lines[from..(at + 6).min(reference_lines.len())].join("\n"),
        our_lines[from..(at + 6).min(our_lines.len())].join("\n"),
    )
}

#[test]
fn same_output_as_the_reference_client_against_the_reference_daemon() {
    run_scenarios(Daemon::Reference);
}

#[test]
fn same_output_as_the_reference_client_against_our_daemon() {
    run_scenarios(Daemon::Ours);
}

#[test]
fn normalization_masks_only_what_varies() {
    let cases = [
        ("echoer   RUNNING   pid 1188, uptime 0:00:02", "echoer   RUNNING   pid <PID>, uptime <UPTIME>"),
        ("exits0   EXITED    Nov 28 01:54 AM", "exits0   EXITED    <DATE>"),
        ("31871", "<PID>"),
        ("0", "0"),
        (
            "error: <class 'ValueError'>, Unknown protocol for serverurl tcp://x:1: file: /a/xmlrpc.py line: 505",
            "error: <class 'ValueError'>, Unknown protocol for serverurl tcp://x:1: file: <FILE> line: <LINE>",
        ),
        ("grp:gb   STOPPED   Not started", "grp:gb   STOPPED   Not started"),
    ];
    for (line, want) in cases {
        assert_eq!(normalize_line(line), want);
    }
}
