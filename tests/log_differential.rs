//! Child log files, differential against the reference: AUTO names and their cleanup
//! at start, rotation boundaries with a slow writer, `/dev/stdout`, and
//! `redirect_stderr`. Both daemons run the same configuration (at `loglevel=info`, so
//! our stdout path is the splice one); file names (random parts masked), sizes and
//! contents must agree.

#[allow(dead_code)]
mod engine_support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use engine_support::{Daemon, Impl, Setup};

/// The `[supervisord]` lines both daemons get on top of the harness's.
const GLOBAL: &str = "identifier=ident\nloglevel=info\n";

fn start_both(programs: &str, prepare: fn(&Path)) -> [Daemon; 2] {
    [Impl::Reference, Impl::Ours].map(|which| {
        Setup::new(which, programs)
            .global(GLOBAL)
            .before(prepare)
            .start()
    })
}

/// File names in the daemon's directory, AUTO random parts replaced by `XXXXXXXX`.
fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .map(|name| match name.split_once("---ident-") {
            Some((head, tail)) if tail.len() >= 12 && tail[8..].starts_with(".log") => {
                format!("{head}---ident-XXXXXXXX{}", &tail[8..])
            }
            _ => name,
        })
        .collect()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The AUTO log of `process`/`channel` in `dir` (exactly one must exist).
fn auto_log(dir: &Path, process: &str, channel: &str) -> std::path::PathBuf {
    let prefix = format!("{process}-{channel}---ident-");
    let found: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "AUTO logs for {process} {channel}: {found:?}"
    );
    found[0].clone()
}

fn stale_auto_logs(dir: &Path) {
    for name in [
        "old-stdout---ident-abcdefgh.log",
        "old-stdout---ident-abcdefgh.log.3",
        "old-stderr---other-abcdefgh.log",
        "unrelated.txt",
    ] {
        fs::write(dir.join(name), "stale\n").unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn auto_logs_are_named_filled_and_cleaned_like_the_reference() {
    let programs = "[program:auto]\n\
                    command=sh -c 'echo hello; echo oops >&2; exec sleep 600'\n";
    let daemons = start_both(programs, stale_auto_logs);
    let mut seen = Vec::new();
    for d in &daemons {
        d.wait_state("auto", "RUNNING");
        let (out, err) = (
            auto_log(d.path(), "auto", "stdout"),
            auto_log(d.path(), "auto", "stderr"),
        );
        d.poll("both AUTO logs written", || {
            let texts = (read(&out), read(&err));
            (texts == ("hello\n".to_string(), "oops\n".to_string())).then_some(())
        });
        seen.push(names(d.path()));
    }
    let interesting = |set: &BTreeSet<String>| -> BTreeSet<String> {
        set.iter()
            .filter(|n| n.contains("---") || n.ends_with(".txt"))
            .cloned()
            .collect()
    };
    assert_eq!(
        interesting(&seen[0]),
        interesting(&seen[1]),
        "reference vs ours"
    );
    assert!(
        seen[1].contains("old-stderr---other-abcdefgh.log"),
        "{:?}",
        seen[1]
    );
    assert!(
        !seen[1].contains("old-stdout---ident-abcdefgh.log"),
        "{:?}",
        seen[1]
    );
}

/// Twelve 1000-byte lines on each channel, 0.3 s apart, then idle.
const SLOW_WRITER: &str = "import sys, time
for i in range(12):
    for stream in (sys.stdout, sys.stderr):
        stream.write(str(i % 10) * 999 + '\\n')
        stream.flush()
    time.sleep(0.3)
time.sleep(600)
";

#[test]
fn rotation_boundaries_with_a_slow_writer_match_the_reference() {
    // Twelve 1000-byte lines on each channel, 0.3 s apart: longer than our stdout
    // coalescing window, so every write reaches the file on its own, as in the
    // reference; rotation happens after a write that brings the file to ≥ 2500 bytes.
    let programs = "[program:slow]\n\
                    command=python3 %(here)s/slow_writer.py\n\
                    stdout_logfile=%(here)s/slow.out\n\
                    stdout_logfile_maxbytes=2500\n\
                    stdout_logfile_backups=2\n\
                    stderr_logfile=%(here)s/slow.err\n\
                    stderr_logfile_maxbytes=2500\n\
                    stderr_logfile_backups=2\n";
    let daemons = start_both(programs, |dir| {
        fs::write(dir.join("slow_writer.py"), SLOW_WRITER).unwrap_or_else(|e| panic!("{e}"));
    });
    let mut listings = Vec::new();
    for d in &daemons {
        // The twelfth write brings the file to 3000 bytes and rotates it: its lines
        // end up at the end of `.1`.
        let done = |name: &str| {
            let path = d.path().join(format!("{name}.1"));
            fs::read_to_string(&path).is_ok_and(|t| t.ends_with(&format!("{}\n", "1".repeat(999))))
        };
        d.poll("the twelfth line rotated into .1 on both channels", || {
            (done("slow.out") && done("slow.err")).then_some(())
        });
        let mut listing = Vec::new();
        for base in ["slow.out", "slow.err"] {
            for suffix in ["", ".1", ".2", ".3"] {
                let path = d.path().join(format!("{base}{suffix}"));
                let text = fs::read_to_string(&path).ok();
                listing.push((
                    format!("{base}{suffix}"),
                    text.map(|t| (t.len(), t.chars().next())),
                ));
            }
        }
        listings.push(listing);
    }
    assert_eq!(
        listings[0], listings[1],
        "reference vs ours: (file, (size, first digit))"
    );
}

#[test]
fn dev_stdout_and_redirect_stderr_match_the_reference() {
    let programs = "[program:console]\n\
                    command=sh -c 'echo to-the-console; exec sleep 600'\n\
                    stdout_logfile=/dev/stdout\n\
                    stdout_logfile_maxbytes=0\n\
                    stderr_logfile=NONE\n\
                    [program:merged]\n\
                    command=sh -c 'echo out; echo err >&2; exec sleep 600'\n\
                    redirect_stderr=true\n\
                    stdout_logfile=%(here)s/merged.log\n";
    let daemons = start_both(programs, |_| {});
    for d in &daemons {
        d.wait_state("console", "RUNNING");
        d.wait_state("merged", "RUNNING");
        let log = d.path().join("merged.log");
        d.poll("both lines in merged.log", || {
            let text = read(&log);
            (text.contains("out\n") && text.contains("err\n")).then_some(())
        });
        // The harness points supervisord's stdout at a regular file. The reference then
        // loses the line: it reopens /dev/stdout as a second file description, and its
        // own writes through fd 1 overwrite what the child appended. Ours shares fd 1.
        if d.which == Impl::Ours {
            let stdout = d.path().join("daemon.stdout");
            d.poll("the console line on supervisord's stdout", || {
                read(&stdout).contains("to-the-console\n").then_some(())
            });
        }
        let info = d.call(
            "supervisor.getProcessInfo",
            &[serde_json::Value::String("merged".into())],
        );
        assert_eq!(
            info["stderr_logfile"], "",
            "redirected stderr has no log file"
        );
        let leftovers: Vec<String> = names(d.path())
            .into_iter()
            .filter(|n| n.starts_with("merged-stderr") || n.starts_with("console-stdout"))
            .collect();
        assert!(leftovers.is_empty(), "unexpected AUTO logs: {leftovers:?}");
    }
}
