//! Side-by-side measurement of the capture pipeline against `writer | cat > file`:
//! wall time for the same bytes, our process's CPU time per GiB, and the memory an
//! idle program's two streams cost. Prints numbers; asserts nothing.
//!
//! `cargo bench --bench log_throughput` (env `LOG_BENCH_MIB`, default 1024;
//! `LOG_BENCH_IDLE`, default 1000 programs; `LOG_BENCH_ROUNDS`, default 3, medians
//! are printed; `LOG_BENCH_DIR`, default /tmp; `LOG_BENCH_BLOCKS`, the writer's block
//! sizes, default `4096,65536,1048576`).

use std::fs;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use supervisor::config::{ChannelConfig, LogFile, LogLevel, MainLogTarget};
use supervisor::log::rotate::Rotation;
use supervisor::log::{
    ActivityLog, ActivitySettings, Channel, LogPipeline, StreamRole, StreamSpec,
};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rusage(who: libc::c_int) -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
    // SAFETY: initialized by getrusage (or still zeroed).
    let usage = unsafe { usage.assume_init() };
    cpu_of(&usage)
}

/// User + system CPU time of this process (all threads; children excluded).
fn own_cpu() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

/// CPU time of the children reaped so far.
fn children_cpu() -> Duration {
    rusage(libc::RUSAGE_CHILDREN)
}

fn cpu_of(usage: &libc::rusage) -> Duration {
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn resident_kib() -> u64 {
    let statm = fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn spec(channel: Channel, path: &Path, copy: bool) -> StreamSpec {
    StreamSpec {
        process_name: "bench".to_string(),
        group_name: "bench".to_string(),
        channel,
        settings: ChannelConfig {
            logfile: LogFile::Path(path.to_path_buf()),
            logfile_maxbytes: 0,
            logfile_backups: 0,
            capture_maxbytes: 0,
            events_enabled: false,
            syslog: false,
        },
        logfile: Some(path.to_path_buf()),
        // strip_ansi forces the copy path; the data has no escapes.
        strip_ansi: copy,
        events: None,
        role: StreamRole::Output,
    }
}

fn dd_args(block: u64, mib: u64) -> Vec<String> {
    vec![
        "if=/dev/zero".to_string(),
        format!("bs={block}"),
        format!("count={}", mib * 1024 * 1024 / block),
        "status=none".to_string(),
    ]
}

/// `dd | cat > file`: wall time until cat exits, and cat's own CPU time.
fn baseline(dir: &Path, block: u64, mib: u64) -> (Duration, Duration) {
    let out = dir.join("cat.out");
    let start = Instant::now();
    let mut dd = Command::new("dd")
        .args(dd_args(block, mib))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn dd");
    let dd_out = dd.stdout.take().expect("dd stdout");
    let children_before = children_cpu();
    let mut cat = Command::new("cat")
        .stdin(dd_out)
        .stdout(fs::File::create(&out).expect("cat output"))
        .spawn()
        .expect("spawn cat");
    let _ = cat.wait();
    let elapsed = start.elapsed();
    // Only cat has been reaped since the first reading: the difference is its CPU.
    let cat_cpu = children_cpu() - children_before;
    let _ = dd.wait();
    let _ = fs::remove_file(out);
    (elapsed, cat_cpu)
}

fn ours(
    pipeline: &LogPipeline,
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    block: u64,
    mib: u64,
    channel: Channel,
    copy: bool,
) -> (Duration, Duration) {
    let out = dir.join("ours.out");
    let prepared = pipeline
        .prepare(spec(channel, &out, copy))
        .expect("prepare");
    assert_eq!(prepared.uses_splice(), !copy);
    let cpu_before = own_cpu();
    let start = Instant::now();
    let mut child = Command::new("dd")
        .args(dd_args(block, mib))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn dd");
    let pipe: OwnedFd = child.stdout.take().expect("stdout").into();
    let handle = pipeline
        .start_stream(prepared, child.id(), pipe)
        .expect("start");
    runtime.block_on(handle.closed());
    let elapsed = start.elapsed();
    let cpu = own_cpu() - cpu_before;
    let _ = child.wait();
    let size = fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    assert_eq!(size, mib * 1024 * 1024, "bytes lost");
    let _ = fs::remove_file(out);
    (elapsed, cpu)
}

fn idle_memory(pipeline: &LogPipeline, runtime: &tokio::runtime::Runtime, dir: &Path) {
    let programs = env_number("LOG_BENCH_IDLE", 1000);
    let limit = libc::rlimit {
        rlim_cur: 8 * programs + 1024,
        rlim_max: 8 * programs + 1024,
    };
    // SAFETY: setrlimit reads the struct it is given.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    let before = resident_kib();
    let mut keep = Vec::new();
    for i in 0..programs {
        for channel in [Channel::Stdout, Channel::Stderr] {
            let path = dir.join(format!("idle-{i}-{channel}.log"));
            let prepared = pipeline
                .prepare(spec(channel, &path, false))
                .expect("prepare");
            let (read_end, write_end) = nix::unistd::pipe().expect("pipe");
            let handle = pipeline.start_stream(prepared, 1, read_end).expect("start");
            keep.push((handle, write_end));
        }
    }
    // Let every task run once and park on its pipe.
    runtime.block_on(async {
        for (handle, _) in &keep {
            handle.flush().await;
        }
    });
    let after = resident_kib();
    println!(
        "idle: {programs} programs (2 streams each): +{} KiB resident, {:.1} KiB per program",
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / programs as f64
    );
    drop(keep);
}

fn main() {
    let mib = env_number("LOG_BENCH_MIB", 1024);
    let dir = tempfile::tempdir_in(std::env::var("LOG_BENCH_DIR").unwrap_or("/tmp".into()))
        .expect("tempdir");
    let activity = ActivityLog::new(LogLevel::Info);
    activity
        .open(&ActivitySettings {
            target: MainLogTarget::File(dir.path().join("activity.log")),
            rotation: Rotation::NEVER,
            echo_stdout: false,
        })
        .expect("activity log");
    let pipeline = LogPipeline::start(&activity).expect("pipeline");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let gib = mib as f64 / 1024.0;
    println!("{mib} MiB per run, files in {}", dir.path().display());
    let rounds = env_number("LOG_BENCH_ROUNDS", 3);
    let blocks: Vec<u64> = std::env::var("LOG_BENCH_BLOCKS")
        .unwrap_or_else(|_| "4096,65536,1048576".to_string())
        .split(',')
        .filter_map(|b| b.trim().parse().ok())
        .collect();
    for block in blocks {
        for (channel, copy) in [
            (Channel::Stdout, false),
            (Channel::Stderr, false),
            (Channel::Stdout, true),
        ] {
            let (mut cat_wall, mut cat_cpu, mut our_wall, mut our_cpu) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                let (wall, cpu) = baseline(dir.path(), block, mib);
                cat_wall.push(wall);
                cat_cpu.push(cpu);
                let (wall, cpu) = ours(&pipeline, &runtime, dir.path(), block, mib, channel, copy);
                our_wall.push(wall);
                our_cpu.push(cpu);
            }
            let (cat_wall, cat_cpu) = (median(cat_wall), median(cat_cpu));
            let (our_wall, our_cpu) = (median(our_wall), median(our_cpu));
            println!(
                "bs={block:>7} {channel} {:6}: wall cat {:6.3}s ours {:6.3}s = {:5.1}% of cat's throughput; \
                 cpu/GiB cat {:.3}s ours {:.3}s",
                if copy { "copy" } else { "splice" },
                cat_wall.as_secs_f64(),
                our_wall.as_secs_f64(),
                100.0 * cat_wall.as_secs_f64() / our_wall.as_secs_f64(),
                cat_cpu.as_secs_f64() / gib,
                our_cpu.as_secs_f64() / gib,
            );
        }
    }
    idle_memory(&pipeline, &runtime, dir.path());
}
