//! What a suite run measures and how big, from the environment:
//!
//! | variable | effect |
//! |---|---|
//! | `SUITE_QUICK=1` | smoke mode: 2 runs, small sizes, short windows (minutes, not tens of minutes) |
//! | `SUITE_RUNS=N` | runs per implementation (default 5; 2 in quick mode) |
//! | `SUITE_ONLY=W1,W7` | only these workloads |
//! | `SUITE_DOC=0` / `SUITE_DOC=1` | rewrite the results section of `BENCHMARKS.md` or not (default: only after a full run of every workload) |

/// Sizes and durations of the workloads.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// W1: program counts whose idle footprint is measured (smallest first).
    pub footprint_programs: [usize; 3],
    /// W2: programs to bring to RUNNING.
    pub start_programs: usize,
    /// W3: bytes the single fast writer writes.
    pub single_writer_bytes: u64,
    /// W3: concurrent writers.
    pub writers: usize,
    /// W3: bytes each writer writes.
    pub bytes_per_writer: u64,
    /// W4: programs in the daemon.
    pub control_programs: usize,
    /// W4: `supervisorctl status` invocations per client per run.
    pub status_calls: usize,
    /// W4: `getAllProcessInfo` calls per run.
    pub rpc_calls: usize,
    /// W5: children to stop.
    pub shutdown_children: usize,
    /// W5: how long a shutdown is waited for before it is reported as "> cap".
    pub shutdown_cap_secs: u64,
    /// W6: programs in the crash loop.
    pub crash_programs: usize,
    /// W6: the measurement window, seconds.
    pub crash_window_secs: u64,
    /// W7: kills per run.
    pub kills: usize,
    /// W8: programs spawned.
    pub spawn_programs: usize,
}

/// The whole run's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Smoke mode.
    pub quick: bool,
    /// Runs per implementation.
    pub runs: usize,
    /// Workload ids to run; empty means all.
    pub only: Vec<String>,
    /// Rewrite the results section of `BENCHMARKS.md`.
    pub update_doc: bool,
    /// Sizes.
    pub sizes: Sizes,
}

const FULL: Sizes = Sizes {
    footprint_programs: [1, 100, 500],
    start_programs: 200,
    single_writer_bytes: 1 << 30,
    writers: 20,
    bytes_per_writer: 50 << 20,
    control_programs: 500,
    status_calls: 5,
    rpc_calls: 200,
    shutdown_children: 200,
    shutdown_cap_secs: 30,
    crash_programs: 50,
    crash_window_secs: 10,
    kills: 10,
    spawn_programs: 500,
};

const QUICK: Sizes = Sizes {
    footprint_programs: [1, 20, 50],
    start_programs: 40,
    single_writer_bytes: 128 << 20,
    writers: 20,
    bytes_per_writer: 8 << 20,
    control_programs: 100,
    status_calls: 2,
    rpc_calls: 40,
    shutdown_children: 40,
    shutdown_cap_secs: 8,
    crash_programs: 20,
    crash_window_secs: 3,
    kills: 3,
    spawn_programs: 100,
};

impl Settings {
    /// Reads the `SUITE_*` variables; panics on a malformed one.
    pub fn from_env() -> Settings {
        let quick = flag("SUITE_QUICK").unwrap_or(false);
        let runs = std::env::var("SUITE_RUNS")
            .ok()
            .map_or(if quick { 2 } else { 5 }, |v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| panic!("SUITE_RUNS={v}: expected a positive integer"))
            });
        let only: Vec<String> = std::env::var("SUITE_ONLY")
            .unwrap_or_default()
            .split(',')
            .map(|w| w.trim().to_ascii_uppercase())
            .filter(|w| !w.is_empty())
            .collect();
        let known = crate::workloads::ALL.map(|(id, _)| id);
        if let Some(unknown) = only.iter().find(|w| !known.contains(&w.as_str())) {
            panic!("SUITE_ONLY: unknown workload {unknown} (known: {known:?})");
        }
        let update_doc = flag("SUITE_DOC").unwrap_or(!quick && only.is_empty());
        Settings {
            quick,
            runs,
            only,
            update_doc,
            sizes: if quick { QUICK } else { FULL },
        }
    }

    /// Whether workload `id` is part of this run.
    pub fn wants(&self, id: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|w| w == id)
    }

    /// The command that reproduces this run.
    pub fn command(&self) -> String {
        let mut words: Vec<String> = ["SUITE_QUICK", "SUITE_RUNS", "SUITE_ONLY"]
            .iter()
            .filter_map(|name| Some(format!("{name}={}", std::env::var(name).ok()?)))
            .collect();
        words.push("cargo bench --bench suite".to_string());
        words.join(" ")
    }
}

fn flag(name: &str) -> Option<bool> {
    let value = std::env::var(name).ok()?;
    match value.as_str() {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" | "" => Some(false),
        _ => panic!("{name}={value}: expected 1 or 0"),
    }
}
