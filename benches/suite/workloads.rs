//! The eight workloads of the performance issue. Each runs the same scenario on our
//! daemon and on the reference, alternating within every run, and adds its figures to
//! the suite's table.
//!
//! Times of daemon activity (W2, W6, W7, W8) come from the daemons' activity logs, never
//! from polling them over RPC; CPU and memory from `/proc` (the daemon only, not its
//! children).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::activity::{self, Event};
use crate::daemon::{now_ms, program_name, signal, Daemon, Kind, Programs, PROGRAM_PREFIX};
use crate::stats::{Goal, Pair, Row, Samples};
use crate::{forkexec, procfs, rpc, support, Suite};

/// Longest wait for a daemon to bring its programs up (the reference, on a loaded
/// machine, with 500 programs).
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// Pause between "all RUNNING" and an idle measurement, so start-up work has settled.
const SETTLE: Duration = Duration::from_secs(1);

const GIB: f64 = (1u64 << 30) as f64;

/// A workload: runs its scenario on both daemons and adds its rows to the table.
pub type Workload = fn(&mut Suite);

/// Every workload with its id, in run order.
pub const ALL: [(&str, Workload); 8] = [
    ("W1", footprint),
    ("W2", start),
    ("W3", log_throughput),
    ("W4", control),
    ("W5", shutdown),
    ("W6", crash_loop),
    ("W7", restart_latency),
    ("W8", spawn_rate),
];

/// W1: the daemon's resident memory with 1, 100 and 500 programs running `sleep`, and
/// the memory each extra program costs. Totals in MB (10^6 bytes), as the issue's
/// figures are; the per-program cost in KiB.
pub fn footprint(s: &mut Suite) {
    let counts = s.settings.sizes.footprint_programs;
    let mut rss: [Pair; 3] = Default::default();
    let mut per_program = Pair::default();
    for run in 0..s.settings.runs {
        for kind in Kind::order(run) {
            let mut kib = [0u64; 3];
            for (slot, &count) in counts.iter().enumerate() {
                let mut daemon = Daemon::start(&s.bins, kind, &Programs::sleeping(count));
                daemon.wait_running(count, START_TIMEOUT);
                std::thread::sleep(SETTLE);
                kib[slot] = daemon.rss_kib();
                rss[slot].of(kind).push(kib[slot] as f64 * 1024.0 / 1e6);
            }
            let slope = (kib[2] as f64 - kib[0] as f64) / (counts[2] - counts[0]) as f64;
            per_program.of(kind).push(slope);
            s.say(&format!(
                "W1 run {run} {}: RSS {kib:?} KiB for {counts:?} programs; {slope:.1} KiB/program",
                kind.label()
            ));
        }
    }
    let [one, middle, most] = rss;
    s.rows.push(Row::compared(
        "W1",
        format!("daemon RSS, {} program", counts[0]),
        "MB",
        one,
        vec![],
    ));
    s.rows.push(Row::compared(
        "W1",
        format!("daemon RSS, {} programs", counts[1]),
        "MB",
        middle,
        vec![Goal::RatioAtMost(0.2), Goal::AtMost(5.5)],
    ));
    s.rows.push(Row::compared(
        "W1",
        format!("daemon RSS, {} programs", counts[2]),
        "MB",
        most,
        vec![],
    ));
    s.rows.push(Row::compared(
        "W1",
        format!("RSS per extra program ({}→{})", counts[0], counts[2]),
        "KiB",
        per_program,
        vec![Goal::AtMost(8.0)],
    ));
}

/// W2: from launching the daemon until its programs are RUNNING, by the timestamp of
/// the last `success:` line; with `startsecs=0` and `startsecs=1`.
pub fn start(s: &mut Suite) {
    let count = s.settings.sizes.start_programs;
    for startsecs in [0, 1] {
        let mut pair = Pair::default();
        for run in 0..s.settings.runs {
            for kind in Kind::order(run) {
                let programs = Programs {
                    startsecs,
                    ..Programs::sleeping(count)
                };
                let mut daemon = Daemon::start(&s.bins, kind, &programs);
                let last = daemon.wait_running(count, START_TIMEOUT);
                let seconds = (last as f64 - daemon.launched_ms) / 1000.0;
                pair.of(kind).push(seconds);
                s.say(&format!(
                    "W2 startsecs={startsecs} run {run} {}: {seconds:.3} s",
                    kind.label()
                ));
            }
        }
        let goals = if startsecs == 0 {
            vec![Goal::RatioAtMost(0.1)]
        } else {
            vec![]
        };
        s.rows.push(Row::compared(
            "W2",
            format!("launch → {count} RUNNING, startsecs={startsecs}"),
            "s",
            pair,
            goals,
        ));
    }
}

/// W3: log throughput. First one program writing `single_writer_bytes` of 64-byte
/// lines to stdout in 64 KiB writes into one log file (no rotation), beside the
/// machine's limit for the same writer piped into `cat > file`; then 20 programs
/// writing to stdout, then to stderr, at full speed through rotation. Figures: the
/// daemon's CPU time per GiB, the throughput from the release of the writers until
/// every byte is on disk, and the bytes that never reached the files.
pub fn log_throughput(s: &mut Suite) {
    let script = support::manifest_dir().join("benches/suite/writer.sh");
    let single = s.settings.sizes.single_writer_bytes;
    let limit = machine_log_limit(s, &script, single);
    let mut lost = Pair::default();
    let single_scenario = LogScenario {
        writers: 1,
        bytes: single,
        channel: "stdout",
        fast: true,
    };
    let (cpu, throughput) = single_scenario.measure(s, &script, &mut lost);
    let what = format!("stdout, 1 writer × {} MiB, 64 KiB writes", single >> 20);
    s.rows.push(Row::compared(
        "W3",
        format!("daemon CPU per GiB, {what}"),
        "s",
        cpu,
        vec![Goal::AtMost(0.2)],
    ));
    let cat_median = limit.throughput.summary().map_or(0.0, |m| m.median);
    s.rows.push(Row::compared(
        "W3",
        format!("throughput, {what}"),
        "MiB/s",
        throughput,
        vec![Goal::AtLeast(0.95 * cat_median)],
    ));
    s.rows.push(Row::machine(
        "W3",
        "machine: the same writer piped into `cat > file`, throughput",
        "MiB/s",
        limit.throughput,
    ));
    s.rows.push(Row::machine(
        "W3",
        "machine: `cat` CPU per GiB",
        "s",
        limit.cpu_per_gib,
    ));
    s.rows.push(Row::machine(
        "W3",
        "machine: `write(2)` alone into a file, CPU per GiB",
        "s",
        limit.write_floor_per_gib,
    ));
    for channel in ["stdout", "stderr"] {
        let scenario = LogScenario {
            writers: s.settings.sizes.writers,
            bytes: s.settings.sizes.bytes_per_writer,
            channel,
            fast: false,
        };
        let (cpu, throughput) = scenario.measure(s, &script, &mut lost);
        let what = format!(
            "{channel}, {} writers × {} MiB",
            scenario.writers,
            scenario.bytes >> 20
        );
        s.rows.push(Row::compared(
            "W3",
            format!("daemon CPU per GiB, {what}"),
            "s",
            cpu,
            vec![],
        ));
        s.rows.push(Row::compared(
            "W3",
            format!("throughput, {what}"),
            "MiB/s",
            throughput,
            vec![],
        ));
    }
    s.rows.push(Row::compared(
        "W3",
        "bytes not in the log files, all W3 runs",
        "B",
        lost,
        vec![Goal::AtMost(0.0)],
    ));
}

/// One W3 measurement: `writers` programs writing `bytes` each to `channel`.
struct LogScenario {
    writers: usize,
    bytes: u64,
    channel: &'static str,
    /// 64-byte lines in 64 KiB writes, one log file without rotation (the fast
    /// writer); otherwise 100-byte lines as `yes | head` writes them, rotating at the
    /// default 50 MB.
    fast: bool,
}

impl LogScenario {
    /// Runs the scenario on both daemons; returns (CPU per GiB, MiB/s) and adds the
    /// bytes missing from the files to `lost`.
    fn measure(&self, s: &mut Suite, script: &Path, lost: &mut Pair) -> (Pair, Pair) {
        let total = self.bytes * self.writers as u64;
        let suffix = if self.channel == "stderr" {
            ".err"
        } else {
            ".out"
        };
        let mode = if self.fast { "fast" } else { "lines" };
        let maxbytes = if self.fast { "0" } else { "50MB" };
        let mut cpu_per_gib = Pair::default();
        let mut throughput = Pair::default();
        for run in 0..s.settings.runs {
            for kind in Kind::order(run) {
                let programs = Programs {
                    command: format!(
                        "/bin/sh {} %(here)s/go {} {} {mode}",
                        script.display(),
                        self.bytes,
                        self.channel
                    ),
                    extra: format!(
                        "autorestart=false\n\
                         stdout_logfile=%(here)s/%(program_name)s.out\n\
                         stderr_logfile=%(here)s/%(program_name)s.err\n\
                         stdout_logfile_maxbytes={maxbytes}\n\
                         stderr_logfile_maxbytes={maxbytes}\n"
                    ),
                    ..Programs::sleeping(self.writers)
                };
                let mut daemon = Daemon::start(&s.bins, kind, &programs);
                daemon.wait_running(self.writers, START_TIMEOUT);
                std::thread::sleep(SETTLE);
                let cpu_before = daemon.cpu();
                let released = Instant::now();
                support::write_file(daemon.dir(), "go", "");
                daemon.wait_until("every writer exited", Duration::from_secs(900), |log| {
                    log.count(activity::is_exited) >= self.writers
                });
                let on_disk = wait_for_bytes(daemon.dir(), suffix, total, Duration::from_secs(60));
                let elapsed = released.elapsed().as_secs_f64();
                let cpu = (daemon.cpu() - cpu_before).as_secs_f64();
                remove_logs(daemon.dir(), suffix);
                lost.of(kind).push(total.saturating_sub(on_disk) as f64);
                cpu_per_gib.of(kind).push(cpu / (total as f64 / GIB));
                throughput
                    .of(kind)
                    .push(total as f64 / (1 << 20) as f64 / elapsed);
                s.say(&format!(
                    "W3 {} {}×{} run {run} {}: {on_disk} of {total} bytes on disk in {elapsed:.2} s, daemon CPU {cpu:.2} s",
                    self.channel,
                    self.writers,
                    mode,
                    kind.label()
                ));
            }
        }
        (cpu_per_gib, throughput)
    }
}

/// The machine's own limit for W3's single writer: throughput and `cat`'s CPU per GiB.
struct LogLimit {
    throughput: Samples,
    cpu_per_gib: Samples,
    /// CPU per GiB of `write(2)` alone, from one buffer into a file: the kernel's own
    /// cost of putting the bytes into the page cache, which no logger can go below.
    write_floor_per_gib: Samples,
}

/// Times `writer.sh … fast | cat > file` once per run, after one untimed pass that
/// warms the page cache (a cold one writes several times slower on this kind of VM).
fn machine_log_limit(s: &mut Suite, script: &Path, bytes: u64) -> LogLimit {
    let dir = support::temp_dir("suite-cat");
    support::write_file(dir.path(), "go", "");
    let mut limit = LogLimit {
        throughput: Samples::default(),
        cpu_per_gib: Samples::default(),
        write_floor_per_gib: Samples::default(),
    };
    for run in 0..=s.settings.runs {
        let out_path = dir.path().join("cat.out");
        let out = std::fs::File::create(&out_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", out_path.display()));
        let started = Instant::now();
        let mut writer = Command::new("/bin/sh")
            .arg(script)
            .arg(dir.path().join("go"))
            .arg(bytes.to_string())
            .args(["stdout", "fast"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let pipe = writer.stdout.take().expect("piped stdout");
        let mut cat = Command::new("cat")
            .stdin(pipe)
            .stdout(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start cat: {e}"));
        let cat_cpu = cpu_at_exit(&cat);
        let elapsed = started.elapsed().as_secs_f64();
        let cat_status = cat.wait().expect("wait for cat");
        let writer_status = writer.wait().expect("wait for the writer");
        assert!(
            cat_status.success() && writer_status.success(),
            "writer ({writer_status}) | cat ({cat_status}) failed"
        );
        let written = std::fs::metadata(&out_path).map_or(0, |m| m.len());
        assert_eq!(written, bytes, "cat wrote {written} of {bytes} bytes");
        if run == 0 {
            continue;
        }
        let floor = write_only_cpu(&dir.path().join("write.out"), bytes);
        limit
            .throughput
            .push(bytes as f64 / (1 << 20) as f64 / elapsed);
        limit
            .cpu_per_gib
            .push(cat_cpu.as_secs_f64() / (bytes as f64 / GIB));
        limit
            .write_floor_per_gib
            .push(floor.as_secs_f64() / (bytes as f64 / GIB));
        s.say(&format!(
            "W3 machine run {}: {bytes} bytes through cat in {elapsed:.2} s, cat CPU {:.2} s; write(2) alone {:.2} s",
            run - 1,
            cat_cpu.as_secs_f64(),
            floor.as_secs_f64()
        ));
    }
    limit
}

/// CPU time this thread spends writing `bytes` into a new file at `path` in 64 KiB
/// writes of one buffer; the file is removed afterwards.
fn write_only_cpu(path: &Path, bytes: u64) -> Duration {
    use std::io::Write;
    let block = vec![b'x'; 64 << 10];
    let mut file = std::fs::File::create(path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let before = thread_cpu();
    for _ in 0..bytes / block.len() as u64 {
        file.write_all(&block)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    let cpu = thread_cpu() - before;
    drop(file);
    let _ = std::fs::remove_file(path);
    cpu
}

/// User + system CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    // SAFETY: initialized by getrusage (or still zeroed).
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| {
        Duration::new(
            t.tv_sec.unsigned_abs(),
            t.tv_usec.unsigned_abs() as u32 * 1000,
        )
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Waits until `child` has exited, without reaping it, and returns its CPU time, which
/// `/proc` still shows for the zombie.
fn cpu_at_exit(child: &std::process::Child) -> Duration {
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: waitid on one child of ours with WNOWAIT only fills `info`; the child is
    // reaped later by `Child::wait`.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            child.id(),
            info.as_mut_ptr(),
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    assert_eq!(rc, 0, "waitid: {}", std::io::Error::last_os_error());
    procfs::cpu_time(child.id())
}

/// Removes the programs' log files of one channel: W3's gigabytes are not kept until the
/// suite ends with the rest of the daemon's directory.
fn remove_logs(dir: &Path, suffix: &str) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(PROGRAM_PREFIX) && name.contains(suffix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Waits until the programs' log files in `dir` whose names contain `suffix` (rotated
/// backups included) hold `total` bytes, or `timeout` passes; returns the bytes found.
fn wait_for_bytes(dir: &Path, suffix: &str, total: u64, timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        let found: u64 = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        name.starts_with(PROGRAM_PREFIX) && name.contains(suffix)
                    })
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        if found >= total || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// W4: `supervisorctl status` as a whole process with 500 programs (each daemon with
/// its own client, and the reference client against both), then the p50 and p99 of
/// `getAllProcessInfo` round trips.
pub fn control(s: &mut Suite) {
    let count = s.settings.sizes.control_programs;
    let mut own_client = Pair::default();
    let mut reference_client = Pair::default();
    let mut p50 = Pair::default();
    let mut p99 = Pair::default();
    for run in 0..s.settings.runs {
        for kind in Kind::order(run) {
            let mut daemon = Daemon::start(&s.bins, kind, &Programs::sleeping(count));
            daemon.wait_running(count, START_TIMEOUT);
            std::thread::sleep(SETTLE);
            let mut status_ms = Vec::new();
            for _ in 0..s.settings.sizes.status_calls {
                let own = time_status(s.bins.ctl(kind), daemon.conf(), count);
                own_client.of(kind).push(own);
                let by_reference = match kind {
                    Kind::Ours => time_status(s.bins.ctl(Kind::Reference), daemon.conf(), count),
                    Kind::Reference => own,
                };
                reference_client.of(kind).push(by_reference);
                status_ms.push(format!("{own:.0}/{by_reference:.0}"));
            }
            let mut latencies: Vec<f64> = (0..s.settings.sizes.rpc_calls)
                .map(|_| {
                    let (elapsed, processes) = rpc::get_all_process_info(&daemon.socket());
                    assert_eq!(
                        processes, count,
                        "getAllProcessInfo listed {processes} processes"
                    );
                    elapsed.as_secs_f64() * 1000.0
                })
                .collect();
            latencies.sort_by(f64::total_cmp);
            let (median, tail) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
            p50.of(kind).push(median);
            p99.of(kind).push(tail);
            s.say(&format!(
                "W4 run {run} {}: status (own/reference client) {} ms; \
                 getAllProcessInfo p50 {median:.2} ms, p99 {tail:.2} ms",
                kind.label(),
                status_ms.join(" ")
            ));
        }
    }
    let rpc = format!(
        "getAllProcessInfo, {count} programs, {} calls",
        s.settings.sizes.rpc_calls
    );
    s.rows.push(Row::compared(
        "W4",
        format!("`supervisorctl status`, {count} programs, each its own client"),
        "ms",
        own_client,
        vec![],
    ));
    s.rows.push(Row::compared(
        "W4",
        format!("`supervisorctl status`, {count} programs, reference client"),
        "ms",
        reference_client,
        vec![],
    ));
    s.rows.push(Row::compared(
        "W4",
        format!("{rpc}: p50"),
        "ms",
        p50,
        vec![],
    ));
    s.rows.push(Row::compared(
        "W4",
        format!("{rpc}: p99"),
        "ms",
        p99,
        vec![Goal::RatioAtMost(0.05)],
    ));
}

/// Runs `ctl -c conf status`; returns its wall time in ms after checking it listed
/// `count` RUNNING processes.
fn time_status(ctl: &Path, conf: &Path, count: usize) -> f64 {
    let start = Instant::now();
    let output = support::run_with_timeout(
        Command::new(ctl).arg("-c").arg(conf).arg("status"),
        Duration::from_secs(120),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    let running = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(" RUNNING "))
        .count();
    assert!(
        output.status.success() && running == count,
        "{} status: {running} of {count} RUNNING\n{}",
        ctl.display(),
        support::describe_output(&output)
    );
    elapsed
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// W5: SIGTERM to the daemon until it has exited, with 200 children that die on TERM,
/// and with 200 that ignore it (`stopwaitsecs=2`, so each needs a SIGKILL). Runs past
/// the cap are stopped and reported as "> cap".
pub fn shutdown(s: &mut Suite) {
    let count = s.settings.sizes.shutdown_children;
    let cap = Duration::from_secs(s.settings.sizes.shutdown_cap_secs);
    let cases = [
        ("children exit on TERM", Programs::sleeping(count), None),
        (
            "children ignore TERM, stopwaitsecs=2",
            Programs {
                command: "/bin/sh -c \"trap '' TERM; exec /bin/sleep 86400\"".to_string(),
                stopwaitsecs: 2,
                ..Programs::sleeping(count)
            },
            Some(Goal::AtMost(3.0)),
        ),
    ];
    for (case, programs, goal) in cases {
        let mut pair = Pair::default();
        for run in 0..s.settings.runs {
            for kind in Kind::order(run) {
                let mut daemon = Daemon::start(&s.bins, kind, &programs);
                daemon.wait_running(count, START_TIMEOUT);
                std::thread::sleep(SETTLE);
                let outcome = daemon.terminate(cap);
                match outcome {
                    Some(took) => pair.of(kind).push(took.as_secs_f64()),
                    None => pair.of(kind).push_capped(cap.as_secs_f64()),
                }
                let survivors = if outcome.is_some() {
                    procfs::living_children_of(std::process::id()).len()
                } else {
                    0
                };
                s.say(&format!(
                    "W5 {case} run {run} {}: {}{}",
                    kind.label(),
                    outcome.map_or(format!("> {cap:?} (cap)"), |t| format!(
                        "{:.3} s",
                        t.as_secs_f64()
                    )),
                    if survivors > 0 {
                        format!(", WARNING: {survivors} children outlived the daemon")
                    } else {
                        String::new()
                    }
                ));
            }
        }
        s.rows.push(Row::compared(
            "W5",
            format!("SIGTERM → daemon exited, {count} {case}"),
            "s",
            pair,
            goal.into_iter().collect(),
        ));
    }
}

/// W6: 50 programs that exit at once and are restarted forever (`/bin/false`,
/// `startsecs=0`, `autorestart=true`): the daemon's CPU over the window, the restarts
/// it managed in it, and its CPU per restart.
pub fn crash_loop(s: &mut Suite) {
    let count = s.settings.sizes.crash_programs;
    let window = Duration::from_secs(s.settings.sizes.crash_window_secs);
    let programs = Programs {
        command: "/bin/false".to_string(),
        extra: "autorestart=true\n".to_string(),
        ..Programs::sleeping(count)
    };
    let mut cpu_percent = Pair::default();
    let mut restarts = Pair::default();
    let mut cpu_per_restart = Pair::default();
    for run in 0..s.settings.runs {
        for kind in Kind::order(run) {
            let mut daemon = Daemon::start(&s.bins, kind, &programs);
            daemon.wait_until("every program restarted once", START_TIMEOUT, |log| {
                log.count(activity::is_spawned) >= 2 * count
            });
            std::thread::sleep(SETTLE);
            let (cpu_before, from_ms) = (daemon.cpu(), now_ms());
            std::thread::sleep(window);
            let (cpu_after, to_ms) = (daemon.cpu(), now_ms());
            daemon.log.poll();
            let spawns = daemon
                .log
                .entries()
                .iter()
                .filter(|e| activity::is_spawned(&e.event))
                .filter(|e| (from_ms.floor()..to_ms).contains(&(e.at_ms as f64)))
                .count();
            let seconds = (to_ms - from_ms) / 1000.0;
            let cpu = (cpu_after - cpu_before).as_secs_f64();
            cpu_percent.of(kind).push(100.0 * cpu / seconds);
            restarts.of(kind).push(spawns as f64 / seconds);
            cpu_per_restart
                .of(kind)
                .push(1000.0 * cpu / spawns.max(1) as f64);
            s.say(&format!(
                "W6 run {run} {}: CPU {cpu:.2} s over {seconds:.2} s, {spawns} restarts",
                kind.label()
            ));
        }
    }
    s.rows.push(Row::compared(
        "W6",
        format!("daemon CPU, crash loop of {count}"),
        "%",
        cpu_percent,
        vec![Goal::RatioAtMost(0.1)],
    ));
    s.rows.push(Row::compared(
        "W6",
        "restarts in the window",
        "/s",
        restarts,
        vec![],
    ));
    s.rows.push(Row::compared(
        "W6",
        "daemon CPU per restart",
        "ms",
        cpu_per_restart,
        vec![],
    ));
}

/// W7: `kill -9` of a RUNNING child (`startsecs=0`) until the `spawned:` and the
/// `success:` lines of its successor; several kills per run, spaced irregularly so they land at different
/// points of the daemons' loops.
pub fn restart_latency(s: &mut Suite) {
    let programs = Programs {
        extra: "autorestart=true\n".to_string(),
        ..Programs::sleeping(1)
    };
    let name = program_name(0);
    let mut spawn_latency = Pair::default();
    let mut latency = Pair::default();
    for run in 0..s.settings.runs {
        for kind in Kind::order(run) {
            let mut daemon = Daemon::start(&s.bins, kind, &programs);
            daemon.wait_running(1, START_TIMEOUT);
            let mut seen = Vec::new();
            for kill in 0..s.settings.sizes.kills {
                std::thread::sleep(Duration::from_millis(150 + (kill as u64 * 73) % 250));
                daemon.log.poll();
                let victim = last_pid(daemon.log.entries(), &name);
                let running_before = daemon.log.count(activity::is_running);
                let killed_ms = now_ms();
                signal(victim, libc::SIGKILL);
                daemon.wait_until("a new pid RUNNING", Duration::from_secs(30), |log| {
                    log.count(activity::is_running) > running_before
                });
                let entries = daemon.log.entries();
                let running_at = entries
                    .iter()
                    .filter(|e| activity::is_running(&e.event))
                    .nth(running_before)
                    .map_or(0, |e| e.at_ms);
                let spawned_at = entries
                    .iter()
                    .rev()
                    .find(|e| activity::is_spawned(&e.event))
                    .map_or(0, |e| e.at_ms);
                assert_ne!(last_pid(entries, &name), victim, "no new pid was spawned");
                let (to_spawned, to_running) =
                    (spawned_at as f64 - killed_ms, running_at as f64 - killed_ms);
                spawn_latency.of(kind).push(to_spawned);
                latency.of(kind).push(to_running);
                seen.push(format!("{to_spawned:.0}/{to_running:.0}"));
            }
            s.say(&format!(
                "W7 run {run} {}: spawned/RUNNING after {} ms",
                kind.label(),
                seen.join(" ")
            ));
        }
    }
    s.rows.push(Row::compared(
        "W7",
        "kill -9 → new pid spawned",
        "ms",
        spawn_latency,
        vec![],
    ));
    s.rows.push(Row::compared(
        "W7",
        "kill -9 → new pid RUNNING, startsecs=0",
        "ms",
        latency,
        vec![Goal::AtMost(20.0)],
    ));
}

/// The pid of the last `spawned:` line for `name`.
fn last_pid(entries: &[activity::Entry], name: &str) -> u32 {
    entries
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            Event::Spawned { name: n, pid } if n == name => Some(*pid),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no spawned line for {name}"))
}

/// W8: 500 programs with `startsecs=0`: spawns per second between the first and the
/// last `spawned:` line, and launch → all RUNNING; beside them, the machine's own
/// fork+exec rate for as many `sleep` processes, measured in the same run.
pub fn spawn_rate(s: &mut Suite) {
    let count = s.settings.sizes.spawn_programs;
    let mut rate = Pair::default();
    let mut all_running = Pair::default();
    let mut machine = Samples::default();
    for run in 0..s.settings.runs {
        let bare = forkexec::rate(count);
        machine.push(bare);
        s.say(&format!("W8 run {run} machine: {bare:.0} fork+exec/s"));
        for kind in Kind::order(run) {
            let mut daemon = Daemon::start(&s.bins, kind, &Programs::sleeping(count));
            let last_running = daemon.wait_running(count, START_TIMEOUT);
            let spawned: Vec<i64> = daemon
                .log
                .entries()
                .iter()
                .filter(|e| activity::is_spawned(&e.event))
                .map(|e| e.at_ms)
                .collect();
            let span = (spawned[count - 1] - spawned[0]).max(1) as f64 / 1000.0;
            let per_second = (count - 1) as f64 / span;
            let launch_to_running = (last_running as f64 - daemon.launched_ms) / 1000.0;
            rate.of(kind).push(per_second);
            all_running.of(kind).push(launch_to_running);
            s.say(&format!(
                "W8 run {run} {}: {per_second:.0} spawns/s, all RUNNING {launch_to_running:.3} s after launch",
                kind.label()
            ));
        }
    }
    s.rows.push(Row::compared(
        "W8",
        format!("spawn rate, {count} programs (first → last `spawned:`)"),
        "/s",
        rate,
        vec![Goal::AtLeast(1000.0)],
    ));
    s.rows.push(Row::compared(
        "W8",
        format!("launch → {count} RUNNING"),
        "s",
        all_running,
        vec![],
    ));
    s.rows.push(Row::machine(
        "W8",
        format!("machine: fork+exec of `sleep`, {count} one at a time"),
        "/s",
        machine,
    ));
}
