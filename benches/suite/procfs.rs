//! What the suite reads from `/proc` and the kernel: a process's CPU time and resident
//! memory, the children of a process, the load average and a one-line description of
//! the machine.
//!
//! Read-only; signalling and reaping belong to `daemon`.

use std::fs;
use std::time::Duration;

/// User + system CPU time of `pid` (all its threads; not its children), from
/// `/proc/<pid>/stat`. Resolution: one clock tick (10 ms on Linux).
pub fn cpu_time(pid: u32) -> Duration {
    let fields = stat_fields(pid).unwrap_or_else(|| panic!("cannot read /proc/{pid}/stat"));
    // Fields 14 and 15 of stat(5), counted here from the state (field 3) at index 0.
    let ticks: u64 = [11, 12]
        .iter()
        .map(|&i| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("unexpected /proc/{pid}/stat: {fields:?}"))
        })
        .sum();
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).unwrap_or(100).max(1);
    Duration::from_nanos(ticks * 1_000_000_000 / per_second)
}

/// Resident memory of `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS line in {path}"))
}

/// Pids whose parent is `parent`, at the moment of the scan, zombies included.
pub fn children_of(parent: u32) -> Vec<u32> {
    children_where(parent, |_| true)
}

/// Like [`children_of`], without zombies: processes that are still running.
pub fn living_children_of(parent: u32) -> Vec<u32> {
    children_where(parent, |state| state != "Z")
}

fn children_where(parent: u32, keep_state: impl Fn(&str) -> bool) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            stat_fields(pid).is_some_and(|fields| {
                fields.get(1).and_then(|ppid| ppid.parse::<u32>().ok()) == Some(parent)
                    && fields.first().is_some_and(|state| keep_state(state))
            })
        })
        .collect()
}

/// The fields of `/proc/<pid>/stat` after the command name, so that index 0 is the
/// state; `None` once the process is gone.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is parenthesized and may itself contain spaces or parentheses.
    let after_name = &stat[stat.rfind(')')? + 1..];
    Some(after_name.split_whitespace().map(str::to_string).collect())
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// CPU model, core count, memory and kernel, on one line.
pub fn machine() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, name)| name.trim());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores, {mem_gib:.0} GiB RAM, Linux {}",
        kernel.trim()
    )
}
