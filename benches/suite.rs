//! The performance suite: eight workloads (W1–W8 of the performance issue), each run
//! under the pinned reference `supervisord` and ours in the same run, alternating,
//! with median, min and max per figure and the ratio ours/reference.
//!
//! ```sh
//! cargo bench --bench suite                  # the full run (tens of minutes)
//! SUITE_QUICK=1 cargo bench --bench suite    # smoke mode: small sizes, 2 runs
//! SUITE_ONLY=W4,W7 cargo bench --bench suite # some workloads only
//! ```
//!
//! The table goes to stdout, every sample to stderr and to a transcript in
//! `benches/results/`; a full run also rewrites the results section of
//! `BENCHMARKS.md` (see `settings` for the knobs). Ours is this build's release
//! binaries, the reference supervisor 4.3.0 from the virtualenv the tests use
//! (installed on first use). Nothing is asserted about speed: the suite measures, and
//! fails only when a daemon misbehaves (a program never RUNNING, a wrong reply).

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "suite/activity.rs"]
mod activity;
#[path = "suite/daemon.rs"]
mod daemon;
#[path = "suite/forkexec.rs"]
mod forkexec;
#[path = "suite/procfs.rs"]
mod procfs;
#[path = "suite/report.rs"]
mod report;
#[path = "suite/rpc.rs"]
mod rpc;
#[path = "suite/settings.rs"]
mod settings;
#[path = "suite/stats.rs"]
mod stats;
#[path = "suite/workloads.rs"]
mod workloads;

use std::process::Command;

use daemon::{Binaries, Kind};
use report::Transcript;
use settings::Settings;
use stats::Row;

/// What every workload gets: the binaries, the settings, the transcript, and the table
/// it adds its rows to.
pub struct Suite {
    /// The daemons and clients.
    pub bins: Binaries,
    /// Sizes and run count.
    pub settings: Settings,
    /// The run's transcript.
    pub transcript: Transcript,
    /// The table so far.
    pub rows: Vec<Row>,
}

impl Suite {
    /// Prints a progress line and keeps it in the transcript.
    pub fn say(&mut self, text: &str) {
        self.transcript.say(text);
    }
}

fn main() {
    let settings = Settings::from_env();
    daemon::adopt_orphans();
    let _retired = daemon::RetiredDirs;
    let bins = Binaries::locate();
    let started = chrono::Utc::now();
    let mode = if settings.quick { "quick" } else { "full" };
    let only: String = settings.only.iter().map(|id| format!("-{id}")).collect();
    let name = format!("{}-{mode}{only}", started.format("%Y%m%dT%H%M%SZ"));
    let transcript = Transcript::create(&support::manifest_dir().join("benches/results"), &name);
    let mut suite = Suite {
        bins,
        settings,
        transcript,
        rows: Vec::new(),
    };
    let load_at_start = procfs::load_average();
    let header = [
        format!("date: {}", started.format("%Y-%m-%d %H:%M UTC")),
        format!("machine: {}", procfs::machine()),
        format!("command: `{}`", suite.settings.command()),
        format!("revision: {}", revision()),
        format!("reference: {}", reference_version(&suite.bins)),
        format!(
            "runs: {} per implementation, alternating{}",
            suite.settings.runs,
            if suite.settings.quick {
                "; QUICK smoke mode: reduced sizes, not the issue's figures"
            } else {
                ""
            }
        ),
        format!("load average (1 min) at start: {load_at_start:.2}"),
    ];
    for line in &header {
        suite.say(line);
    }
    for (id, run) in workloads::ALL {
        if suite.settings.wants(id) {
            suite.say(&format!("--- {id}"));
            run(&mut suite);
        }
    }
    let load_at_end = procfs::load_average();
    let table = stats::markdown_table(&suite.rows);
    suite.say(&format!("load average (1 min) at end: {load_at_end:.2}"));
    suite.say("--- samples (ours | reference)");
    let samples: Vec<String> = suite.rows.iter().map(Row::raw).collect();
    for line in &samples {
        suite.say(line);
    }
    suite.say("--- table");
    suite.say(&table);
    println!("{table}");

    let transcript_path = suite.transcript.path().to_path_buf();
    let transcript_name = transcript_path
        .strip_prefix(support::manifest_dir())
        .unwrap_or(&transcript_path)
        .display();
    let section = format!(
        "## Latest {} run\n\n{}- load average (1 min) at end: {load_at_end:.2}\n- raw output: `{transcript_name}`\n\n{table}",
        if suite.settings.quick { "QUICK (smoke mode)" } else { "full" },
        header.iter().map(|line| format!("- {line}\n")).collect::<String>(),
    );
    if suite.settings.update_doc {
        report::update_doc(&support::manifest_dir().join("BENCHMARKS.md"), &section);
    }
    suite.transcript.complete();
    eprintln!("transcript: {}", transcript_path.display());
}

/// `git describe`-like revision of the worktree, marked when it has local changes.
fn revision() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(support::manifest_dir())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{head} (with uncommitted changes)"),
            _ => head,
        },
        None => "unknown (not a git checkout)".to_string(),
    }
}

/// The reference's version and its Python's.
fn reference_version(bins: &Binaries) -> String {
    let run = |program: &std::path::Path, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .map(|o| {
                let text = [o.stdout, o.stderr].concat();
                String::from_utf8_lossy(&text).trim().to_string()
            })
            .unwrap_or_else(|e| format!("unknown ({e})"))
    };
    let daemon = bins.daemon(Kind::Reference);
    let python = daemon.with_file_name("python");
    format!(
        "supervisor {} ({})",
        run(daemon, "--version"),
        run(&python, "--version")
    )
}
