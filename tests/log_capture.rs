//! End-to-end tests of the log pipeline: real pipes (written by test threads or by
//! plain child processes), the log thread, real files.

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use supervisor::config::{ChannelConfig, LogFile, LogLevel, MainLogTarget};
use supervisor::log::capture::{BEGIN_TOKEN, END_TOKEN};
use supervisor::log::rotate::{backup_path, Rotation};
use supervisor::log::{
    ActivityLog, ActivitySettings, Channel, LogPipeline, OutputEvent, OutputEventKind,
    StreamHandle, StreamRole, StreamSpec,
};
use tokio::sync::mpsc;

struct Harness {
    dir: tempfile::TempDir,
    activity_path: PathBuf,
    pipeline: LogPipeline,
}

fn harness(level: LogLevel) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let activity_path = dir.path().join("supervisord.log");
    let activity = ActivityLog::new(level);
    activity
        .open(&ActivitySettings {
            target: MainLogTarget::File(activity_path.clone()),
            rotation: Rotation::NEVER,
            echo_stdout: false,
        })
        .unwrap();
    let pipeline = LogPipeline::start(&activity).unwrap();
    Harness {
        dir,
        activity_path,
        pipeline,
    }
}

impl Harness {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn spec(&self, channel: Channel, logfile: Option<PathBuf>) -> StreamSpec {
        StreamSpec {
            process_name: "proc".to_string(),
            group_name: "grp".to_string(),
            channel,
            settings: ChannelConfig {
                logfile: LogFile::None,
                logfile_maxbytes: 0,
                logfile_backups: 0,
                capture_maxbytes: 0,
                events_enabled: false,
                syslog: false,
            },
            logfile,
            strip_ansi: false,
            events: None,
            role: StreamRole::Output,
        }
    }

    /// Starts a stream fed by a fresh pipe; returns the handle and the write end.
    fn start(&self, spec: StreamSpec, expect_splice: bool) -> (StreamHandle, File) {
        let prepared = self.pipeline.prepare(spec).unwrap();
        assert_eq!(prepared.uses_splice(), expect_splice, "path chosen");
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        let handle = self
            .pipeline
            .start_stream(prepared, 4242, read_end)
            .unwrap();
        (handle, File::from(write_end))
    }

    async fn activity_lines(&self) -> Vec<String> {
        self.pipeline.activity().flush().await;
        fs::read_to_string(&self.activity_path)
            .unwrap_or_default()
            .split_inclusive('\n')
            .map(|l| without_timestamp(l).to_string())
            .collect()
    }
}

/// `2026-11-27 23:55:34,976 INFO x` → `INFO x`; continuation lines of multi-line
/// messages stay as they are.
fn without_timestamp(line: &str) -> &str {
    let b = line.as_bytes();
    let stamped = b.len() > 24 && b[4] == b'-' && b[13] == b':' && b[19] == b',' && b[23] == b' ';
    if stamped {
        &line[24..]
    } else {
        line
    }
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_default()
}

/// Polls `path` until `done` holds for its contents; returns how long it took.
fn wait_for_file(path: &Path, what: &str, done: impl Fn(&[u8]) -> bool) -> Duration {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(5);
    loop {
        let data = read(path);
        if done(&data) {
            return start.elapsed();
        }
        if Instant::now() > deadline {
            panic!(
                "{what}: not seen in {} within 5 s; last contents ({} bytes): {:?}",
                path.display(),
                data.len(),
                String::from_utf8_lossy(&data[data.len().saturating_sub(200)..])
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

async fn closed_within(handle: &StreamHandle) {
    tokio::time::timeout(Duration::from_secs(10), handle.closed())
        .await
        .expect("stream did not end within 10 s after EOF");
}

#[tokio::test]
async fn child_output_reaches_both_files() {
    let h = harness(LogLevel::Info);
    let (out_path, err_path) = (h.path("out.log"), h.path("err.log"));
    let mut child = Command::new("sh")
        .args([
            "-c",
            "printf 'to stdout\\n'; printf 'to stderr\\n' >&2; printf 'tail'",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout: OwnedFd = child.stdout.take().unwrap().into();
    let stderr: OwnedFd = child.stderr.take().unwrap().into();
    let out = h
        .pipeline
        .prepare(h.spec(Channel::Stdout, Some(out_path.clone())))
        .unwrap();
    let err = h
        .pipeline
        .prepare(h.spec(Channel::Stderr, Some(err_path.clone())))
        .unwrap();
    let out = h.pipeline.start_stream(out, pid, stdout).unwrap();
    let err = h.pipeline.start_stream(err, pid, stderr).unwrap();
    assert!(child.wait().unwrap().success());
    out.finish().await;
    err.finish().await;
    assert!(out.is_closed() && err.is_closed());
    assert_eq!(read(&out_path), b"to stdout\ntail");
    assert_eq!(read(&err_path), b"to stderr\n");
    // Requests on an ended stream are answered at once.
    out.flush().await;
    out.clear().await.unwrap();
    assert_eq!(read(&out_path), b"to stdout\ntail");
}

async fn measure_latency(channel: Channel, splice: bool, budget_ms: u128) {
    let h = harness(LogLevel::Info);
    let path = h.path("latency.log");
    let mut spec = h.spec(channel, Some(path.clone()));
    spec.strip_ansi = !splice;
    let (handle, mut writer) = h.start(spec, splice);
    let mut worst = Duration::ZERO;
    for i in 0..3 {
        let line = format!("line {i}\n");
        let before = read(&path).len();
        writer.write_all(line.as_bytes()).unwrap();
        let took = wait_for_file(&path, &line, |d| d.len() >= before + line.len());
        worst = worst.max(took);
    }
    println!(
        "{channel} via {}: worst latency {worst:?} (contract: {budget_ms} ms)",
        if splice { "splice" } else { "copy" }
    );
    drop(writer);
    closed_within(&handle).await;
}

#[tokio::test]
async fn stderr_is_written_through_and_stdout_within_the_flush_delay() {
    measure_latency(Channel::Stderr, true, 50).await;
    measure_latency(Channel::Stderr, false, 50).await;
    measure_latency(Channel::Stdout, true, 300).await;
    measure_latency(Channel::Stdout, false, 300).await;
}

#[tokio::test]
async fn flush_makes_buffered_stdout_visible_at_once() {
    for splice in [true, false] {
        let h = harness(LogLevel::Info);
        let path = h.path("out.log");
        let mut spec = h.spec(Channel::Stdout, Some(path.clone()));
        spec.strip_ansi = !splice;
        let (handle, mut writer) = h.start(spec, splice);
        writer.write_all(b"buffered").unwrap();
        handle.flush().await;
        assert_eq!(read(&path), b"buffered", "splice={splice}");
        drop(writer);
        closed_within(&handle).await;
    }
}

/// 20 writers push numbered lines through one pipe while the log rotates every
/// 64 KiB: the files, oldest first, must hold every line once, in order per writer.
async fn integrity(splice: bool, channel: Channel) {
    const WRITERS: usize = 20;
    const LINES: usize = 5000;
    let h = harness(LogLevel::Info);
    let path = h.path("busy.log");
    let mut spec = h.spec(channel, Some(path.clone()));
    spec.settings.logfile_maxbytes = 64 * 1024;
    spec.settings.logfile_backups = 1000;
    spec.strip_ansi = !splice;
    let (handle, writer) = h.start(spec, splice);
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let mut writer = writer.try_clone().unwrap();
            std::thread::spawn(move || {
                for i in 0..LINES {
                    // One write per line: atomic in the pipe (< PIPE_BUF).
                    writer
                        .write_all(format!("w{w:02} {i:06}\n").as_bytes())
                        .unwrap();
                }
            })
        })
        .collect();
    drop(writer);
    for t in threads {
        t.join().unwrap();
    }
    closed_within(&handle).await;

    let mut files: Vec<PathBuf> = (1..=1000)
        .map(|i| backup_path(&path, i))
        .filter(|p| p.exists())
        .collect();
    assert!(files.len() >= 5, "only {} rotations", files.len());
    assert!(!backup_path(&path, files.len() as u32 + 1).exists());
    files.reverse();
    files.push(path.clone());
    let mut all = Vec::new();
    for file in &files {
        let data = read(file);
        // Rotation happens after whole writes of at most 128 KiB.
        assert!(data.len() < 64 * 1024 + 128 * 1024, "{}", file.display());
        all.extend_from_slice(&data);
    }
    let text = String::from_utf8(all).unwrap();
    let mut next = [0usize; WRITERS];
    for line in text.lines() {
        let (w, i) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let w: usize = w[1..]
            .parse()
            .unwrap_or_else(|_| panic!("bad line {line:?}"));
        let i: usize = i.parse().unwrap_or_else(|_| panic!("bad line {line:?}"));
        assert_eq!(i, next[w], "writer {w}: line {i} after {}", next[w]);
        next[w] += 1;
    }
    assert_eq!(next, [LINES; WRITERS]);
    assert_eq!(handle.dropped_bytes(), 0);
    println!(
        "{channel} via {}: {} files, {} lines intact",
        if splice { "splice" } else { "copy" },
        files.len(),
        WRITERS * LINES
    );
}

#[tokio::test]
async fn concurrent_writers_survive_rotation_splice_stdout() {
    integrity(true, Channel::Stdout).await;
}

#[tokio::test]
async fn concurrent_writers_survive_rotation_copy_stdout() {
    integrity(false, Channel::Stdout).await;
}

#[tokio::test]
async fn concurrent_writers_survive_rotation_splice_stderr() {
    integrity(true, Channel::Stderr).await;
}

#[tokio::test]
async fn concurrent_writers_survive_rotation_copy_stderr() {
    integrity(false, Channel::Stderr).await;
}

#[tokio::test]
async fn long_lines_and_invalid_utf8_are_kept_byte_for_byte() {
    let data: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .filter(|&b| b != b'\n')
        .collect();
    for (splice, channel) in [
        (true, Channel::Stdout),
        (false, Channel::Stdout),
        (true, Channel::Stderr),
    ] {
        let h = harness(LogLevel::Info);
        let path = h.path("binary.log");
        let mut spec = h.spec(channel, Some(path.clone()));
        spec.strip_ansi = !splice;
        // Stripping would change bytes that look like escapes; this data has none.
        let data: Vec<u8> = data.iter().copied().filter(|&b| b != 0x1b).collect();
        let (handle, mut writer) = h.start(spec, splice);
        let feeder = std::thread::spawn(move || {
            writer.write_all(&data).unwrap();
            data
        });
        let data = feeder.join().unwrap();
        closed_within(&handle).await;
        assert!(
            read(&path) == data,
            "{channel} splice={splice}: contents differ"
        );
    }
}

#[tokio::test]
async fn capture_mode_quirk_and_events() {
    let h = harness(LogLevel::Debug);
    let path = h.path("capture.log");
    let (events_tx, mut events) = mpsc::channel(16);
    let mut spec = h.spec(Channel::Stdout, Some(path.clone()));
    spec.settings.capture_maxbytes = 1024 * 1024;
    spec.settings.events_enabled = true;
    spec.events = Some(events_tx);
    let (handle, mut writer) = h.start(spec, false);
    let mut output = b"before".to_vec();
    output.extend_from_slice(BEGIN_TOKEN);
    output.extend_from_slice(b"hello comm");
    output.extend_from_slice(END_TOKEN);
    output.extend_from_slice(b"after\n");
    writer.write_all(&output).unwrap();
    drop(writer);
    closed_within(&handle).await;
    assert_eq!(read(&path), b"before");
    let mut got: Vec<(OutputEventKind, Bytes)> = Vec::new();
    while let Ok(event) = events.try_recv() {
        assert_eq!(event.pid, 4242);
        assert_eq!(&*event.group_name, "grp");
        got.push((event.kind, event.data));
    }
    assert_eq!(
        got,
        vec![
            (OutputEventKind::Log, Bytes::from_static(b"before")),
            (OutputEventKind::Log, Bytes::from_static(b"hello comm")),
            (
                OutputEventKind::Communication,
                Bytes::from_static(b"hello comm")
            ),
        ]
    );
    let lines = h.activity_lines().await;
    let text: String = lines.concat();
    assert!(
        text.contains("DEBG 'proc' stdout output:\nbefore\n")
            && text.contains("DEBG 'proc' stdout output:\nhello comm\n")
            && text.contains("DEBG 'proc' stdout emitted a comm event\n"),
        "{text}"
    );
}

#[tokio::test]
async fn strip_ansi_and_debug_echo() {
    let h = harness(LogLevel::Debug);
    let path = h.path("ansi.log");
    let mut spec = h.spec(Channel::Stderr, Some(path.clone()));
    spec.strip_ansi = true;
    let (handle, mut writer) = h.start(spec, false);
    writer.write_all(b"\x1b[31mred\x1b[0m plain\n").unwrap();
    wait_for_file(&path, "stripped line", |d| !d.is_empty());
    writer.write_all(b"bad \xff byte\n").unwrap();
    drop(writer);
    closed_within(&handle).await;
    assert_eq!(read(&path), b"red plain\nbad \xff byte\n");
    let text = h.activity_lines().await.concat();
    assert!(
        text.contains("DEBG 'proc' stderr output:\nred plain\n\n"),
        "{text}"
    );
    assert!(
        text.contains("DEBG 'proc' stderr output:\nUndecodable: b'bad \\xff byte\\n'\n"),
        "{text}"
    );
    assert!(
        text.contains("DEBG fd ")
            && text.contains(" closed, stopped monitoring <POutputDispatcher"),
        "{text}"
    );
}

#[tokio::test]
async fn listener_stdout_is_delivered_raw_and_logged() {
    let h = harness(LogLevel::Debug);
    let path = h.path("listener.log");
    let (tap, mut delivered) = mpsc::unbounded_channel();
    let mut spec = h.spec(Channel::Stdout, Some(path.clone()));
    spec.role = StreamRole::EventListener(tap);
    spec.strip_ansi = true;
    spec.settings.capture_maxbytes = 100;
    spec.settings.events_enabled = true;
    let (handle, mut writer) = h.start(spec, false);
    writer.write_all(b"READY\n\x1b[1m").unwrap();
    drop(writer);
    closed_within(&handle).await;
    let mut raw = Vec::new();
    while let Ok(chunk) = delivered.try_recv() {
        raw.extend_from_slice(&chunk);
    }
    assert_eq!(raw, b"READY\n\x1b[1m");
    assert_eq!(read(&path), b"READY\n");
    let text = h.activity_lines().await.concat();
    assert!(
        text.contains("DEBG 'proc' stdout output:\nb'READY\\n\\x1b[1m'\n"),
        "{text}"
    );
    assert!(text.contains("<PEventListenerDispatcher"), "{text}");
}

#[tokio::test]
async fn clear_and_reopen() {
    for splice in [true, false] {
        let h = harness(LogLevel::Info);
        let path = h.path("out.log");
        let mut spec = h.spec(Channel::Stdout, Some(path.clone()));
        spec.settings.logfile_maxbytes = 10;
        spec.settings.logfile_backups = 2;
        spec.strip_ansi = !splice;
        let (handle, mut writer) = h.start(spec, splice);
        writer.write_all(b"0123456789").unwrap();
        handle.flush().await;
        writer.write_all(b"abc").unwrap();
        handle.flush().await;
        assert_eq!(read(&backup_path(&path, 1)), b"0123456789");
        assert_eq!(read(&path), b"abc");
        handle.clear().await.unwrap();
        assert_eq!(read(&path), b"");
        assert_eq!(read(&backup_path(&path, 1)), b"0123456789");
        writer.write_all(b"new").unwrap();
        handle.flush().await;
        assert_eq!(read(&path), b"new");

        // External rotation, then SIGUSR2: the old file keeps its bytes, new ones go
        // to a new file at the same path.
        fs::rename(&path, h.path("moved.log")).unwrap();
        writer.write_all(b"+old").unwrap();
        handle.reopen();
        handle.flush().await;
        writer.write_all(b"fresh").unwrap();
        handle.flush().await;
        assert_eq!(read(&h.path("moved.log")), b"new+old", "splice={splice}");
        assert_eq!(read(&path), b"fresh", "splice={splice}");
        drop(writer);
        closed_within(&handle).await;
    }
}

#[tokio::test]
async fn finish_drains_the_pipe_even_if_a_grandchild_holds_it() {
    for splice in [true, false] {
        let h = harness(LogLevel::Info);
        let path = h.path("out.log");
        let mut spec = h.spec(Channel::Stdout, Some(path.clone()));
        spec.strip_ansi = !splice;
        let (handle, mut writer) = h.start(spec, splice);
        let data = vec![b'x'; 50_000];
        writer.write_all(&data).unwrap();
        tokio::time::timeout(Duration::from_secs(10), handle.finish())
            .await
            .expect("finish did not return");
        assert!(handle.is_closed());
        assert_eq!(read(&path).len(), data.len(), "splice={splice}");
        // The read end is closed: the holder of the write end gets EPIPE.
        let err = writer.write_all(b"late").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    }
}

#[tokio::test]
async fn stopping_the_pipeline_writes_buffered_output() {
    for splice in [true, false] {
        let h = harness(LogLevel::Info);
        let path = h.path("out.log");
        let mut spec = h.spec(Channel::Stdout, Some(path.clone()));
        spec.strip_ansi = !splice;
        let (_handle, mut writer) = h.start(spec, splice);
        // Still in the pipe or in the stdout buffer: not due for 200 ms.
        writer.write_all(b"pending").unwrap();
        let Harness { pipeline, dir, .. } = h;
        pipeline.stop();
        assert_eq!(
            read(&dir.path().join("out.log")),
            b"pending",
            "splice={splice}"
        );
    }
}

#[tokio::test]
async fn full_disk_drops_are_counted_and_reported() {
    let h = harness(LogLevel::Info);
    // /dev/full: every write fails with ENOSPC (and it is not a regular file, so the
    // copy path is used).
    let spec = h.spec(Channel::Stderr, Some(PathBuf::from("/dev/full")));
    let (handle, mut writer) = h.start(spec, false);
    writer.write_all(&[b'e'; 1000]).unwrap();
    writer.write_all(&[b'f'; 234]).unwrap();
    drop(writer);
    closed_within(&handle).await;
    assert_eq!(handle.dropped_bytes(), 1234);
    let lines = h.activity_lines().await;
    let started = lines
        .iter()
        .filter(|l| {
            l.starts_with("ERRO 'proc' stderr log cannot be written, dropping output: /dev/full: ")
        })
        .count();
    let summary = lines
        .iter()
        .filter(|l| {
            l.starts_with("WARN 'proc' stderr log: 1234 bytes of output dropped (/dev/full: ")
        })
        .count();
    assert_eq!((started, summary), (1, 1), "{lines:?}");
}

#[tokio::test]
async fn full_event_queue_drops_events_and_says_so() {
    let h = harness(LogLevel::Info);
    let (events_tx, mut events) = mpsc::channel::<OutputEvent>(1);
    let mut spec = h.spec(Channel::Stderr, None);
    spec.settings.capture_maxbytes = 100;
    spec.events = Some(events_tx);
    let (handle, mut writer) = h.start(spec, false);
    // One write, three communication events for a queue of one.
    let mut output = Vec::new();
    for i in 0..3 {
        output.extend_from_slice(BEGIN_TOKEN);
        output.extend_from_slice(format!("message {i}").as_bytes());
        output.extend_from_slice(END_TOKEN);
    }
    writer.write_all(&output).unwrap();
    drop(writer);
    closed_within(&handle).await;
    let first = events.try_recv().unwrap();
    assert_eq!(first.kind, OutputEventKind::Communication);
    assert_eq!(first.data, Bytes::from_static(b"message 0"));
    assert!(events.try_recv().is_err());
    let text = h.activity_lines().await.concat();
    let queue_full = "(PROCESS_COMMUNICATION_STDERR queue full)";
    assert!(
        text.contains(&format!(
            "WARN 'proc' stderr: dropping output events {queue_full}"
        )) && text.contains(&format!(
            "WARN 'proc' stderr: 2 output events dropped {queue_full}"
        )),
        "{text}"
    );
}

/// Unmounts on drop, also when the test fails.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A real full file system (tmpfs of 1 MiB): output beyond the space is dropped and
/// counted, and writing resumes when space comes back. Needs root for `mount`.
#[tokio::test]
async fn tmpfs_full_then_freed() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: mounting a tmpfs needs root");
        return;
    }
    for splice in [true, false] {
        let h = harness(LogLevel::Info);
        let mount_point = h.path("small");
        fs::create_dir(&mount_point).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&mount_point)
            .status();
        if !matches!(mounted, Ok(s) if s.success()) {
            println!("skipped: cannot mount a tmpfs here ({mounted:?})");
            return;
        }
        let _unmount = Unmount(mount_point.clone());
        let filler = mount_point.join("filler");
        let path = mount_point.join("out.log");
        let mut spec = h.spec(Channel::Stdout, Some(path.clone()));
        spec.strip_ansi = !splice;
        let (handle, mut writer) = h.start(spec, splice);
        fs::write(&filler, vec![0u8; 900 * 1024]).unwrap();
        let total: u64 = 400 * 1024;
        let feeder = std::thread::spawn(move || {
            for _ in 0..total / 4096 {
                writer.write_all(&[b'z'; 4096]).unwrap();
            }
            writer
        });
        let mut writer = feeder.join().unwrap();
        handle.flush().await;
        let on_disk = read(&path).len() as u64;
        let dropped = handle.dropped_bytes();
        println!("splice={splice}: {on_disk} bytes on disk, {dropped} dropped");
        assert!(dropped > 0, "nothing dropped");
        assert_eq!(on_disk + dropped, total, "splice={splice}");
        fs::remove_file(&filler).unwrap();
        writer.write_all(b"after").unwrap();
        drop(writer);
        closed_within(&handle).await;
        assert!(read(&path).ends_with(b"after"));
        let text = h.activity_lines().await.concat();
        assert!(
            text.contains(&format!(
                "WARN 'proc' stdout log: {dropped} bytes of output dropped ("
            )),
            "{text}"
        );
    }
}
