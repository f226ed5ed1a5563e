//! The daemon's activity log: `YYYY-MM-DD HH:MM:SS,mmm LEVL message` lines (local
//! time, milliseconds truncated) to the `logfile` with its own rotation, echoed to
//! stdout in the foreground, or sent to syslog.
//!
//! Owns the activity log file and the formatting of its lines; the message texts are
//! the callers'. An [`ActivityLog`] is a cheap cloneable handle usable from any thread
//! or task. Lines below the configured level are dropped before anything is formatted
//! or allocated. Until [`ActivityLog::open`] is called lines are queued (the
//! configuration's parse messages are written right after opening). Once a
//! [`LogPipeline`](crate::log::LogPipeline) runs, lines are handed to its thread and
//! the caller never waits for the disk; before that (start-up, daemonizing) they are
//! written by the calling thread.

use std::fmt;
use std::io::{self, Write};
use std::mem;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use chrono::{DateTime, Local, Timelike};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use crate::config::{LogLevel, MainLogTarget, SupervisordConfig};
use crate::log::drops::{DropNotice, DropTracker};
use crate::log::read::{read_range, ReadError};
use crate::log::rotate::{RotatingFile, Rotation, WriteMode};
use crate::log::{sys, LogOpenError};

/// Where and how the activity log is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivitySettings {
    /// The `logfile` (a path, possibly `/dev/stdout`, or syslog).
    pub target: MainLogTarget,
    /// `logfile_maxbytes` / `logfile_backups`.
    pub rotation: Rotation,
    /// Also print every line on stdout (`nodaemon` and not `silent`).
    pub echo_stdout: bool,
}

impl ActivitySettings {
    /// The settings the `[supervisord]` section asks for.
    pub fn from_config(config: &SupervisordConfig) -> ActivitySettings {
        ActivitySettings {
            target: config.logfile.clone(),
            rotation: Rotation::from_config(config.logfile_maxbytes, config.logfile_backups),
            echo_stdout: config.nodaemon && !config.silent,
        }
    }
}

/// Why `clearLog` failed.
#[derive(Debug, thiserror::Error)]
pub enum ClearLogError {
    /// No log file is configured, or it does not exist (fault `NO_FILE`).
    #[error("no activity log file")]
    NoFile,
    /// Deleting or reopening the file failed (fault `FAILED`).
    #[error("cannot clear the activity log: {0}")]
    Failed(#[source] io::Error),
}

/// Every accepted line is also a `tracing` event (target `supervisor`), so a host that
/// embeds the crate sees supervision in its own logging; with no subscriber installed
/// (the daemon) this costs one atomic load.
fn emit_tracing(level: LogLevel, text: &str) {
    match level {
        LogLevel::Critical | LogLevel::Error => tracing::error!(target: "supervisor", "{text}"),
        LogLevel::Warn => tracing::warn!(target: "supervisor", "{text}"),
        LogLevel::Info => tracing::info!(target: "supervisor", "{text}"),
        LogLevel::Debug => tracing::debug!(target: "supervisor", "{text}"),
        LogLevel::Trace | LogLevel::Blather => tracing::trace!(target: "supervisor", "{text}"),
    }
}

/// The reference's line prefix and layout: `2026-11-27 23:55:34,976 INFO text\n`.
pub fn format_line(level: LogLevel, time: SystemTime, text: &str) -> String {
    let local: DateTime<Local> = time.into();
    // A leap second shows up as nanoseconds ≥ 1e9; the reference never prints 1000.
    let millis = (local.nanosecond() / 1_000_000).min(999);
    format!(
        "{},{millis:03} {} {text}\n",
        local.format("%Y-%m-%d %H:%M:%S"),
        level.code()
    )
}

/// One accepted message.
#[derive(Debug)]
struct Record {
    level: LogLevel,
    time: SystemTime,
    text: String,
}

/// The opened destinations.
#[derive(Debug)]
struct Sink {
    echo: bool,
    file: Option<RotatingFile>,
    syslog: bool,
    drops: DropTracker,
}

impl Sink {
    fn open(settings: &ActivitySettings) -> Result<Sink, LogOpenError> {
        let (file, syslog) = match &settings.target {
            MainLogTarget::File(path) => {
                let file = RotatingFile::open(path, settings.rotation, WriteMode::Append).map_err(
                    |source| LogOpenError {
                        path: path.clone(),
                        source,
                    },
                )?;
                (Some(file), false)
            }
            MainLogTarget::Syslog => (None, true),
        };
        Ok(Sink {
            echo: settings.echo_stdout,
            file,
            syslog,
            drops: DropTracker::default(),
        })
    }

    fn emit(&mut self, record: &Record) {
        let line = format_line(record.level, record.time, &record.text);
        if self.echo {
            // A closed or full stdout must not stop the file from being written.
            let _ = io::stdout().lock().write_all(line.as_bytes());
        }
        if let Some(file) = &mut self.file {
            let notice = match file.write(line.as_bytes()) {
                Ok(()) => self.drops.succeeded(),
                Err(e) => {
                    self.drops.failed(&e);
                    None
                }
            };
            if let Some(DropNotice::Ended { bytes, error }) = notice {
                self.emit(&Record {
                    level: LogLevel::Warn,
                    time: SystemTime::now(),
                    text: format!("activity log: {bytes} bytes could not be written ({error})"),
                });
            }
        }
        if self.syslog {
            let (head, _) = line.split_at(line.len() - record.text.len() - 1);
            for text_line in record.text.trim_end_matches('\n').split('\n') {
                sys::syslog(&format!("{head}{text_line}\n"));
            }
        }
    }

    fn reopen(&mut self) {
        if let Some(file) = &mut self.file {
            if let Err(e) = file.reopen() {
                self.drops
                    .lost(0, format!("{}: {e}", file.path().display()));
            }
        }
    }

    /// clearLog: delete the file, then reopen each handler in the reference's order
    /// (the stdout echo first, then the file), announcing each reopen. The
    /// announcements are written before the file is reopened, so they reach stdout
    /// and the deleted file, never the new one.
    fn clear(&mut self, announce: bool) -> Result<(), ClearLogError> {
        let Some(path) = self.file.as_ref().map(|f| f.path().to_path_buf()) else {
            return Err(ClearLogError::NoFile);
        };
        if !path.exists() {
            return Err(ClearLogError::NoFile);
        }
        std::fs::remove_file(&path).map_err(ClearLogError::Failed)?;
        let handlers = if self.echo { 2 } else { 1 };
        for _ in 0..handlers {
            if announce {
                self.emit(&Record {
                    level: LogLevel::Info,
                    time: SystemTime::now(),
                    text: "reopening log file".to_string(),
                });
            }
        }
        match &mut self.file {
            Some(file) => file.reopen().map_err(ClearLogError::Failed),
            None => Ok(()),
        }
    }
}

/// Requests for the writer, in the order they were made.
#[derive(Debug)]
enum Command {
    Record(Record),
    Open(Sink),
    Close(oneshot::Sender<()>),
    Reopen,
    Clear {
        announce: bool,
        reply: oneshot::Sender<Result<(), ClearLogError>>,
    },
    Flush(oneshot::Sender<()>),
    Detach(std::sync::mpsc::SyncSender<Writer>),
}

/// The state that writes: the sink (when open) and the lines waiting for it.
#[derive(Debug, Default)]
struct Writer {
    sink: Option<Sink>,
    queued: Vec<Record>,
}

impl Writer {
    fn handle(&mut self, command: Command) {
        match command {
            Command::Record(record) => match &mut self.sink {
                Some(sink) => sink.emit(&record),
                None => self.queued.push(record),
            },
            Command::Open(mut sink) => {
                for record in mem::take(&mut self.queued) {
                    sink.emit(&record);
                }
                self.sink = Some(sink);
            }
            Command::Close(reply) => {
                self.sink = None;
                let _ = reply.send(());
            }
            Command::Reopen => {
                if let Some(sink) = &mut self.sink {
                    sink.reopen();
                }
            }
            Command::Clear { announce, reply } => {
                let result = match &mut self.sink {
                    Some(sink) => sink.clear(announce),
                    None => Err(ClearLogError::NoFile),
                };
                let _ = reply.send(result);
            }
            Command::Flush(reply) => {
                if self.sink.as_ref().is_some_and(|s| s.echo) {
                    let _ = io::stdout().lock().flush();
                }
                let _ = reply.send(());
            }
            Command::Detach(reply) => {
                let _ = reply.send(mem::take(self));
            }
        }
    }
}

#[derive(Debug)]
enum Mode {
    /// Lines are written (or queued) by the calling thread.
    Local(Writer),
    /// Lines go to the writer task on the log pipeline's thread.
    Forward(mpsc::UnboundedSender<Command>),
}

#[derive(Debug)]
struct Shared {
    level: AtomicU8,
    mode: Mutex<Mode>,
    target: Mutex<Option<MainLogTarget>>,
}

/// A handle on the activity log; clones share the same log.
#[derive(Debug, Clone)]
pub struct ActivityLog {
    shared: Arc<Shared>,
}

fn level_from_u8(value: u8) -> LogLevel {
    match value {
        3 => LogLevel::Blather,
        5 => LogLevel::Trace,
        10 => LogLevel::Debug,
        20 => LogLevel::Info,
        30 => LogLevel::Warn,
        40 => LogLevel::Error,
        _ => LogLevel::Critical,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep logging.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ActivityLog {
    /// A log that accepts messages at `level` and above and queues them until
    /// [`open`](Self::open).
    pub fn new(level: LogLevel) -> ActivityLog {
        ActivityLog {
            shared: Arc::new(Shared {
                level: AtomicU8::new(level as u8),
                mode: Mutex::new(Mode::Local(Writer::default())),
                target: Mutex::new(None),
            }),
        }
    }

    /// The configured level.
    pub fn level(&self) -> LogLevel {
        level_from_u8(self.shared.level.load(Ordering::Relaxed))
    }

    /// Changes the level (a restart with a new configuration).
    pub fn set_level(&self, level: LogLevel) {
        self.shared.level.store(level as u8, Ordering::Relaxed);
    }

    /// True when a message at `level` would be written.
    pub fn enabled(&self, level: LogLevel) -> bool {
        level as u8 >= self.shared.level.load(Ordering::Relaxed)
    }

    /// Logs `text` at `level`.
    pub fn log(&self, level: LogLevel, text: impl Into<String>) {
        if self.enabled(level) {
            self.record(level, text.into());
        }
    }

    /// Logs a message built with `format_args!`, formatting it only when `level` is
    /// enabled.
    pub fn log_args(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        if self.enabled(level) {
            self.record(level, fmt::format(args));
        }
    }

    /// Logs at CRIT.
    pub fn critical(&self, text: impl Into<String>) {
        self.log(LogLevel::Critical, text);
    }

    /// Logs at ERRO.
    pub fn error(&self, text: impl Into<String>) {
        self.log(LogLevel::Error, text);
    }

    /// Logs at WARN.
    pub fn warn(&self, text: impl Into<String>) {
        self.log(LogLevel::Warn, text);
    }

    /// Logs at INFO.
    pub fn info(&self, text: impl Into<String>) {
        self.log(LogLevel::Info, text);
    }

    /// Logs at DEBG.
    pub fn debug(&self, text: impl Into<String>) {
        self.log(LogLevel::Debug, text);
    }

    /// Logs at TRAC.
    pub fn trace(&self, text: impl Into<String>) {
        self.log(LogLevel::Trace, text);
    }

    /// Logs at BLAT.
    pub fn blather(&self, text: impl Into<String>) {
        self.log(LogLevel::Blather, text);
    }

    fn record(&self, level: LogLevel, text: String) {
        let time = SystemTime::now();
        emit_tracing(level, &text);
        self.command(Command::Record(Record { level, time, text }));
    }

    fn command(&self, command: Command) {
        let mut mode = lock(&self.shared.mode);
        match &mut *mode {
            Mode::Local(writer) => writer.handle(command),
            Mode::Forward(tx) => {
                if let Err(mpsc::error::SendError(command)) = tx.send(command) {
                    // The pipeline's thread is gone without detaching: write here.
                    let mut writer = Writer::default();
                    writer.handle(command);
                    *mode = Mode::Local(writer);
                }
            }
        }
    }

    /// Opens the destinations and writes every queued line to them. Replaces a
    /// previously opened destination. Blocks on the `open` call itself.
    pub fn open(&self, settings: &ActivitySettings) -> Result<(), LogOpenError> {
        let sink = Sink::open(settings)?;
        *lock(&self.shared.target) = Some(settings.target.clone());
        self.command(Command::Open(sink));
        Ok(())
    }

    /// Closes the destinations; later lines are queued until the next
    /// [`open`](Self::open) (in-process restart).
    pub async fn close(&self) {
        let (reply, done) = oneshot::channel();
        self.command(Command::Close(reply));
        let _ = done.await;
        *lock(&self.shared.target) = None;
    }

    /// SIGUSR2: logs INFO `supervisord logreopen`, then closes and reopens the file
    /// (same path, append) for external log rotation.
    pub fn reopen(&self) {
        self.info("supervisord logreopen");
        self.command(Command::Reopen);
    }

    /// clearLog: deletes the file and reopens it, logging INFO `reopening log file`
    /// once per destination before each reopen (so the new file does not contain it;
    /// stdout does). Backups are kept.
    pub async fn clear(&self) -> Result<(), ClearLogError> {
        let (reply, result) = oneshot::channel();
        self.command(Command::Clear {
            announce: self.enabled(LogLevel::Info),
            reply,
        });
        result
            .await
            .unwrap_or_else(|_| Err(ClearLogError::Failed(io::ErrorKind::BrokenPipe.into())))
    }

    /// Resolves once every line logged before the call is written.
    pub async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        self.command(Command::Flush(reply));
        let _ = done.await;
    }

    /// readLog: the bytes of the activity log file per
    /// [`read_range`], after every earlier line is written.
    pub async fn read(&self, offset: i64, length: i64) -> Result<Vec<u8>, ReadError> {
        self.flush().await;
        let target = lock(&self.shared.target).clone();
        let path = match target {
            Some(MainLogTarget::File(path)) => path,
            // The reference looks for a file literally named `syslog`.
            Some(MainLogTarget::Syslog) => {
                return Err(ReadError::NoFile {
                    path: Some(PathBuf::from("syslog")),
                })
            }
            None => return Err(ReadError::NoFile { path: None }),
        };
        let blocking_path = path.clone();
        tokio::task::spawn_blocking(move || read_range(&blocking_path, offset, length))
            .await
            .unwrap_or_else(|e| {
                Err(ReadError::Failed {
                    path,
                    source: io::Error::other(e),
                })
            })
    }

    /// The activity log path, when it is a file.
    pub fn path(&self) -> Option<PathBuf> {
        match &*lock(&self.shared.target) {
            Some(MainLogTarget::File(path)) => Some(path.clone()),
            _ => None,
        }
    }

    /// Moves the writer onto `runtime` (the log pipeline): from now on callers only
    /// queue lines for it.
    pub(crate) fn attach(&self, runtime: &Handle) {
        let mut mode = lock(&self.shared.mode);
        if let Mode::Local(writer) = &mut *mode {
            let writer = mem::take(writer);
            let (tx, rx) = mpsc::unbounded_channel();
            runtime.spawn(run_writer(writer, rx));
            *mode = Mode::Forward(tx);
        }
    }

    /// Brings the writer back to the calling thread, after everything sent to the
    /// task is written. Must not be called from the pipeline's own thread.
    pub(crate) fn detach(&self) {
        let tx = {
            let mut mode = lock(&self.shared.mode);
            match mem::replace(&mut *mode, Mode::Local(Writer::default())) {
                Mode::Forward(tx) => tx,
                local @ Mode::Local(_) => {
                    *mode = local;
                    return;
                }
            }
        };
        // The lock is released while waiting: capture tasks on the pipeline thread
        // may be logging, and they must not block the thread the writer runs on.
        let (reply, detached) = std::sync::mpsc::sync_channel(1);
        let mut writer = match tx.send(Command::Detach(reply)) {
            Ok(()) => detached.recv().unwrap_or_default(),
            Err(_) => Writer::default(),
        };
        let mut mode = lock(&self.shared.mode);
        if let Mode::Local(interim) = &mut *mode {
            for record in mem::take(&mut interim.queued) {
                writer.handle(Command::Record(record));
            }
        }
        *mode = Mode::Local(writer);
    }
}

async fn run_writer(mut writer: Writer, mut rx: mpsc::UnboundedReceiver<Command>) {
    while let Some(command) = rx.recv().await {
        let detach = matches!(command, Command::Detach(_));
        writer.handle(command);
        if detach {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::fs;
    use std::path::Path;

    fn settings(path: &Path, maxbytes: u64, backups: u32) -> ActivitySettings {
        ActivitySettings {
            target: MainLogTarget::File(path.to_path_buf()),
            rotation: Rotation { maxbytes, backups },
            echo_stdout: false,
        }
    }

    fn lines_of(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| l.to_string())
            .collect()
    }

    /// The line without its 24-character timestamp.
    fn strip_time(line: &str) -> &str {
        &line[24..]
    }

    #[test]
    fn line_format_truncates_milliseconds() {
        let local = Local
            .with_ymd_and_hms(2026, 11, 27, 23, 55, 34)
            .single()
            .unwrap();
        let time: SystemTime = (local + chrono::Duration::microseconds(976_999)).into();
        assert_eq!(
            format_line(LogLevel::Info, time, "spawned: 'ga' with pid 15775"),
            "2026-11-27 23:55:34,976 INFO spawned: 'ga' with pid 15775\n"
        );
        let time: SystemTime = (local + chrono::Duration::microseconds(5_000)).into();
        assert_eq!(
            format_line(LogLevel::Debug, time, "'x' stdout output:\nhi\n"),
            "2026-11-27 23:55:34,005 DEBG 'x' stdout output:\nhi\n\n"
        );
    }

    #[test]
    fn levels_filter_before_queueing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let log = ActivityLog::new(LogLevel::Warn);
        log.info("not written");
        log.warn("queued warn");
        log.critical("queued crit");
        log.log_args(LogLevel::Debug, format_args!("{}", "skipped"));
        log.log_args(LogLevel::Error, format_args!("error {}", 42));
        assert!(!path.exists());
        log.open(&settings(&path, 0, 0)).unwrap();
        log.blather("no");
        log.error("after open");
        let lines = lines_of(&path);
        let bodies: Vec<&str> = lines.iter().map(|l| strip_time(l)).collect();
        assert_eq!(
            bodies,
            vec![
                "WARN queued warn",
                "CRIT queued crit",
                "ERRO error 42",
                "ERRO after open"
            ]
        );
        log.set_level(LogLevel::Blather);
        assert!(log.enabled(LogLevel::Blather));
        assert_eq!(log.level(), LogLevel::Blather);
    }

    #[test]
    fn activity_log_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let log = ActivityLog::new(LogLevel::Info);
        log.open(&settings(&path, 100, 2)).unwrap();
        for i in 0..10 {
            log.info(format!("message number {i:02} padded to about forty bytes"));
        }
        let backup1 = lines_of(&crate::log::rotate::backup_path(&path, 1));
        let backup2 = lines_of(&crate::log::rotate::backup_path(&path, 2));
        assert!(!crate::log::rotate::backup_path(&path, 3).exists());
        // Each file holds whole lines, .2 older than .1 older than the live file.
        let all: Vec<String> = backup2
            .iter()
            .chain(&backup1)
            .chain(&lines_of(&path))
            .map(|l| strip_time(l).to_string())
            .collect();
        let tail: Vec<String> = (10 - all.len()..10)
            .map(|i| format!("INFO message number {i:02} padded to about forty bytes"))
            .collect();
        assert_eq!(all, tail);
    }

    #[tokio::test]
    async fn clear_deletes_and_reopens_without_the_announcement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let log = ActivityLog::new(LogLevel::Info);
        assert!(matches!(log.clear().await, Err(ClearLogError::NoFile)));
        log.open(&settings(&path, 0, 0)).unwrap();
        log.info("one");
        log.clear().await.unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "");
        log.info("two");
        assert_eq!(lines_of(&path).len(), 1);
        fs::remove_file(&path).unwrap();
        assert!(matches!(log.clear().await, Err(ClearLogError::NoFile)));
    }

    #[tokio::test]
    async fn read_follows_rpc_semantics_after_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let log = ActivityLog::new(LogLevel::Info);
        assert!(matches!(
            log.read(0, 0).await,
            Err(ReadError::NoFile { path: None })
        ));
        log.open(&settings(&path, 0, 0)).unwrap();
        log.info("hello");
        let all = log.read(0, 0).await.unwrap();
        assert!(all.ends_with(b" INFO hello\n"), "{all:?}");
        assert_eq!(log.read(-6, 0).await.unwrap(), b"hello\n");
        assert!(matches!(
            log.read(-6, 1).await,
            Err(ReadError::BadArguments)
        ));
        assert_eq!(log.path(), Some(path));
    }

    #[test]
    fn reopen_follows_external_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let log = ActivityLog::new(LogLevel::Info);
        log.open(&settings(&path, 0, 0)).unwrap();
        log.info("before");
        fs::rename(&path, dir.path().join("old")).unwrap();
        log.reopen();
        log.info("after");
        let old: Vec<String> = lines_of(&dir.path().join("old"));
        let new: Vec<String> = lines_of(&path);
        assert_eq!(old.len(), 2, "{old:?}");
        assert!(old[1].ends_with("INFO supervisord logreopen"));
        assert_eq!(new.len(), 1);
        assert!(new[0].ends_with("INFO after"));
    }

    #[test]
    fn full_disk_is_counted_and_reported_on_recovery() {
        let mut sink = Sink::open(&settings(Path::new("/dev/full"), 0, 0)).unwrap();
        let record = |text: &str| Record {
            level: LogLevel::Info,
            time: SystemTime::now(),
            text: text.to_string(),
        };
        sink.emit(&record("lost"));
        let line_len = format_line(LogLevel::Info, SystemTime::now(), "lost").len() as u64;
        assert_eq!(sink.drops.total(), line_len);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        sink.file = Some(RotatingFile::open(&path, Rotation::NEVER, WriteMode::Append).unwrap());
        sink.emit(&record("kept"));
        let lines = lines_of(&path);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].ends_with("INFO kept"));
        assert!(
            lines[1].contains(&format!(
                "WARN activity log: {line_len} bytes could not be written (/dev/full: "
            )),
            "{lines:?}"
        );
    }

    /// A subscriber that keeps the message of every event with target `supervisor`.
    struct Collect(std::sync::Mutex<Vec<(tracing::Level, String)>>);

    impl tracing::Subscriber for Collect {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            struct Message(String);
            impl tracing::field::Visit for Message {
                fn record_debug(&mut self, _: &tracing::field::Field, value: &dyn fmt::Debug) {
                    self.0 = format!("{value:?}");
                }
            }
            if event.metadata().target() == "supervisor" {
                let mut message = Message(String::new());
                event.record(&mut message);
                if let Ok(mut seen) = self.0.lock() {
                    seen.push((*event.metadata().level(), message.0));
                }
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    fn accepted_lines_are_tracing_events_for_hosts() {
        let collect = std::sync::Arc::new(Collect(std::sync::Mutex::new(Vec::new())));
        let log = ActivityLog::new(LogLevel::Info);
        tracing::subscriber::with_default(std::sync::Arc::clone(&collect), || {
            log.warn("gave up: x entered FATAL state");
            log.debug("below the level: not recorded, not traced");
            log.critical("unknown problem");
        });
        let seen = collect.0.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(
            seen,
            [
                (
                    tracing::Level::WARN,
                    "gave up: x entered FATAL state".to_string()
                ),
                (tracing::Level::ERROR, "unknown problem".to_string()),
            ]
        );
    }
}
