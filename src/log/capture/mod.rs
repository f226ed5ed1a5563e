//! Capture of child output: one task per output pipe, on the log pipeline's thread.
//!
//! Owns the read end of a child's stdout or stderr pipe from the moment the core hands
//! it over after a spawn, the channel's log file (opened before the fork, closed at end
//! of stream or after the reap), capture mode, ANSI stripping, child syslog lines, the
//! DEBG echo and the PROCESS_LOG / PROCESS_COMMUNICATION events. Must not know process
//! states, and never blocks the core: events go out with `try_send` (drops are
//! counted and reported), requests come in through [`StreamHandle`].
//!
//! Policy: **stdout is buffered** — bytes are coalesced and written when 64 KiB are
//! waiting, 200 ms after the first unwritten byte, before a read/tail (`flush`),
//! before a reopen, when the stream ends, after the reap (`finish`) and at shutdown.
//! **stderr is written through**: each read is written at once.
//!
//! Two paths:
//! * **splice** — when nothing needs the bytes in user space (no capture mode, no
//!   events, no strip_ansi, no DEBG echo, no syslog, not a listener, and the log is a
//!   regular file), the pipe itself is the buffer: the task checks the fill level on
//!   readiness (and every 10 ms while bytes wait: a writer blocked on a full pipe in
//!   the middle of a large `write()` raises no readiness event) and moves data to the
//!   file with `splice(2)`, never copying it. A busy stream (64 KiB seen within the
//!   last 200 ms) is emptied at every event instead, so large writers never wait for
//!   a check. The pipe is enlarged (F_SETPIPE_SZ) only once a stream proves busy, so
//!   idle programs cost no kernel memory beyond a default pipe.
//! * **copy** — reads up to 128 KiB at a time (the reference's chunk) into a
//!   per-thread scratch buffer and handles each chunk as the reference does. The
//!   stdout coalescing buffer exists only while bytes wait in it.
//!
//! Faults never stop a stream: a write that fails (full disk, vanished directory,
//! unwritable file) drops the bytes, counts them, logs ERRO when dropping starts and
//! WARN with the count when writing works again; the pipe keeps being drained so the
//! child is never blocked by our disk problems.

mod scan;

use std::borrow::Cow;
use std::cell::RefCell;
use std::io;
use std::mem;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

use crate::config::value::py_repr;
use crate::config::{ChannelConfig, LogFile, LogLevel, ProcessConfig};
use crate::log::drops::{DropNotice, DropTracker};
use crate::log::rotate::{RotatingFile, Rotation, Spliced, WriteError, WriteMode};
use crate::log::text::{decode_or_undecodable, py_bytes_repr, strip_ansi, syslog_lines};
use crate::log::{sys, ActivityLog, Channel, LogOpenError};

pub use scan::{BEGIN_TOKEN, END_TOKEN};

/// Buffered stdout is written once this much is waiting.
pub const FLUSH_AT: usize = 64 * 1024;
/// …or this long after the first unwritten byte.
pub const FLUSH_AFTER: Duration = Duration::from_millis(200);
/// The most read (or spliced) at once, the reference's chunk size.
const CHUNK: usize = 128 * 1024;
/// While bytes wait in the pipe (splice path), how often its fill level is checked.
/// Readiness alone is not enough: a writer that fills the pipe in the middle of one
/// large `write()` is not reported (the kernel wakes readers of a full pipe only when
/// the write began on an empty pipe), so it could sit blocked until the deadline.
const PENDING_CHECK: Duration = Duration::from_millis(10);
/// Bytes handled per readiness event before other streams get a turn.
const WAKE_BUDGET: usize = 1024 * 1024;
/// Pipe size asked for once a stream is busy, and the fallback when the per-user pipe
/// allowance refuses it.
const BUSY_PIPE_SIZES: [usize; 2] = [1024 * 1024, 256 * 1024];

/// What a stream is for.
#[derive(Debug, Clone)]
pub enum StreamRole {
    /// A normal output channel.
    Output,
    /// An event listener's stdout, the listener protocol channel: every chunk is
    /// delivered raw on this channel (unbounded: protocol messages are small, the
    /// core consumes them at once, and a bounded channel could deadlock a
    /// [`StreamHandle::finish`] awaited by the core) and logged to the stdout log
    /// file. No capture mode, syslog or PROCESS_LOG events, as in the reference; the
    /// DEBG echo shows Python's bytes repr.
    EventListener(mpsc::UnboundedSender<Bytes>),
}

/// Everything the capture of one output channel needs, known before the spawn.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// The process name.
    pub process_name: String,
    /// The name of its group (for event payloads).
    pub group_name: String,
    /// Which pipe.
    pub channel: Channel,
    /// The channel's settings (rotation, capture, events, syslog).
    pub settings: ChannelConfig,
    /// The resolved log file: the configured path, the AUTO file made when the group
    /// was added, or none.
    pub logfile: Option<PathBuf>,
    /// `[supervisord] strip_ansi`.
    pub strip_ansi: bool,
    /// Where PROCESS_LOG_* and PROCESS_COMMUNICATION_* events go; a full queue drops
    /// events (counted, reported in the activity log), never blocks.
    pub events: Option<mpsc::Sender<OutputEvent>>,
    /// Normal output or listener protocol channel.
    pub role: StreamRole,
}

impl StreamSpec {
    /// The spec of one channel of `process`, with `auto_logfile` standing for an AUTO
    /// log file (the path created when its group was added).
    pub fn new(
        process: &ProcessConfig,
        group_name: &str,
        channel: Channel,
        auto_logfile: Option<PathBuf>,
        strip_ansi: bool,
    ) -> StreamSpec {
        let settings = process.channel(channel == Channel::Stderr).clone();
        let logfile = match &settings.logfile {
            LogFile::Path(path) => Some(path.clone()),
            LogFile::Auto => auto_logfile,
            LogFile::None => None,
        };
        StreamSpec {
            process_name: process.name.clone(),
            group_name: group_name.to_string(),
            channel,
            settings,
            logfile,
            strip_ansi,
            events: None,
            role: StreamRole::Output,
        }
    }
}

/// A stream whose log file is open, waiting for the child's pipe.
#[derive(Debug)]
pub struct PreparedStream {
    spec: StreamSpec,
    file: Option<RotatingFile>,
    splice: bool,
    echo: bool,
}

impl PreparedStream {
    /// Opens the log file (append, created if missing) and picks the path. `echo` is
    /// whether the activity log is at DEBG or lower (the reference decides it when the
    /// process is spawned).
    pub(crate) fn open(spec: StreamSpec, echo: bool) -> Result<PreparedStream, LogOpenError> {
        let listener = matches!(spec.role, StreamRole::EventListener(_));
        let settings = &spec.settings;
        let rotation = Rotation::from_config(settings.logfile_maxbytes, settings.logfile_backups);
        let open_error = |path: &PathBuf| {
            let path = path.clone();
            move |source| LogOpenError { path, source }
        };
        let mut file = match &spec.logfile {
            Some(path) => Some(
                RotatingFile::open(path, rotation, WriteMode::Append).map_err(open_error(path))?,
            ),
            None => None,
        };
        let needs_bytes = listener
            || spec.strip_ansi
            || echo
            || settings.events_enabled
            || settings.capture_maxbytes > 0
            || settings.syslog;
        let mut splice = false;
        if let (Some(f), false) = (&mut file, needs_bytes) {
            if f.is_regular() {
                let path = f.path().to_path_buf();
                f.set_mode(WriteMode::SeekToEnd)
                    .map_err(open_error(&path))?;
                splice = true;
            }
        }
        Ok(PreparedStream {
            spec,
            file,
            splice,
            echo,
        })
    }

    /// True when this stream will move bytes with `splice(2)`.
    pub fn uses_splice(&self) -> bool {
        self.splice
    }
}

/// PROCESS_LOG_* or PROCESS_COMMUNICATION_*.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputEventKind {
    /// A chunk of output of a channel with `*_events_enabled`.
    Log,
    /// The text between capture-mode tokens.
    Communication,
}

/// An output event for the events module. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputEvent {
    /// Which event.
    pub kind: OutputEventKind,
    /// Which pipe.
    pub channel: Channel,
    /// The process name.
    pub process_name: Arc<str>,
    /// Its group.
    pub group_name: Arc<str>,
    /// The pid the output came from.
    pub pid: u32,
    /// The bytes (after ANSI stripping when it is on).
    pub data: Bytes,
}

impl OutputEvent {
    /// `PROCESS_LOG_STDOUT`, `PROCESS_COMMUNICATION_STDERR`, …
    pub fn event_name(&self) -> &'static str {
        match (self.kind, self.channel) {
            (OutputEventKind::Log, Channel::Stdout) => "PROCESS_LOG_STDOUT",
            (OutputEventKind::Log, Channel::Stderr) => "PROCESS_LOG_STDERR",
            (OutputEventKind::Communication, Channel::Stdout) => "PROCESS_COMMUNICATION_STDOUT",
            (OutputEventKind::Communication, Channel::Stderr) => "PROCESS_COMMUNICATION_STDERR",
        }
    }
}

/// Requests waiting for the task.
#[derive(Debug, Default)]
struct Requests {
    flush: Vec<oneshot::Sender<()>>,
    clear: Vec<oneshot::Sender<io::Result<()>>>,
    reopen: bool,
    finish: bool,
    ended_waiters: Vec<oneshot::Sender<()>>,
    ended: bool,
}

#[derive(Debug, Default)]
struct Shared {
    requests: Mutex<Requests>,
    wake: Notify,
    dropped: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Requests> {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Control of one running stream; clones share it. Every request is answered even
/// when the stream has already ended (then there is nothing to do).
#[derive(Debug, Clone)]
pub struct StreamHandle {
    shared: Arc<Shared>,
}

impl StreamHandle {
    fn request<T>(
        &self,
        add: impl FnOnce(&mut Requests, oneshot::Sender<T>),
    ) -> Option<oneshot::Receiver<T>> {
        let (tx, rx) = oneshot::channel();
        {
            let mut requests = self.shared.lock();
            if requests.ended {
                return None;
            }
            add(&mut requests, tx);
        }
        self.shared.wake.notify_one();
        Some(rx)
    }

    /// Writes everything the child has written so far (in the pipe or buffered) to
    /// the log file. Await it before reading or tailing the file.
    pub async fn flush(&self) {
        if let Some(done) = self.request(|r, tx| r.flush.push(tx)) {
            let _ = done.await;
        }
    }

    /// clearProcessLogs: deletes the log file and reopens it empty (backups kept),
    /// drops buffered output and the capture buffer. A stream that has ended has
    /// nothing to clear. The error is the delete's or the reopen's.
    pub async fn clear(&self) -> io::Result<()> {
        match self.request(|r, tx| r.clear.push(tx)) {
            Some(result) => result.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    /// SIGUSR2: flushes, then closes and reopens the log file (same path, append).
    pub fn reopen(&self) {
        let mut requests = self.shared.lock();
        if !requests.ended {
            requests.reopen = true;
            drop(requests);
            self.shared.wake.notify_one();
        }
    }

    /// After the reap: handles everything left in the pipe, writes it out, closes the
    /// file and ends the stream (output a grandchild writes later is not read, as in
    /// the reference). Resolves when the stream has ended.
    pub async fn finish(&self) {
        if let Some(ended) = self.request(|r, tx| {
            r.finish = true;
            r.ended_waiters.push(tx);
        }) {
            let _ = ended.await;
        }
    }

    /// Resolves when the stream ends by itself (end of file on the pipe) or after
    /// [`finish`](Self::finish).
    pub async fn closed(&self) {
        if let Some(ended) = self.request(|r, tx| r.ended_waiters.push(tx)) {
            let _ = ended.await;
        }
    }

    /// True once the stream has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().ended
    }

    /// Bytes of output that could not be written to the log file.
    pub fn dropped_bytes(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

/// The streams of one process.
#[derive(Debug, Clone, Default)]
pub struct ProcessLogs {
    /// The stdout stream.
    pub stdout: Option<StreamHandle>,
    /// The stderr stream (none with `redirect_stderr`).
    pub stderr: Option<StreamHandle>,
}

impl ProcessLogs {
    fn streams(&self) -> impl Iterator<Item = &StreamHandle> {
        self.stdout.iter().chain(self.stderr.iter())
    }

    /// The stream of one channel.
    pub fn channel(&self, channel: Channel) -> Option<&StreamHandle> {
        match channel {
            Channel::Stdout => self.stdout.as_ref(),
            Channel::Stderr => self.stderr.as_ref(),
        }
    }

    /// Flushes both streams.
    pub async fn flush(&self) {
        for stream in self.streams() {
            stream.flush().await;
        }
    }

    /// Clears both logs (stdout first); the first error is returned.
    pub async fn clear(&self) -> io::Result<()> {
        let mut result = Ok(());
        for stream in self.streams() {
            let cleared = stream.clear().await;
            result = result.and(cleared);
        }
        result
    }

    /// Reopens both logs.
    pub fn reopen(&self) {
        for stream in self.streams() {
            stream.reopen();
        }
    }

    /// Finishes both streams after the reap.
    pub async fn finish(&self) {
        for stream in self.streams() {
            stream.finish().await;
        }
    }
}

/// Outcome of handling the pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// The pipe is empty for now.
    Drained,
    /// Stopped on the budget; more is waiting.
    More,
    /// End of file.
    Eof,
}

/// How much to take from the pipe in one go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    /// At most this much; then `Flow::More` (bytes may be left).
    AtMost(usize),
    /// Everything up to end of file (the writers are gone).
    ToEof,
}

impl Take {
    fn left(self, done: usize) -> usize {
        match self {
            Take::AtMost(n) => n.saturating_sub(done),
            Take::ToEof => usize::MAX,
        }
    }

    /// The same limit, with `done` bytes already taken.
    fn after(self, done: usize) -> Take {
        match self {
            Take::AtMost(n) => Take::AtMost(n.saturating_sub(done)),
            Take::ToEof => Take::ToEof,
        }
    }
}

thread_local! {
    /// The read buffer of the copy path, shared by all streams of the log thread.
    static SCRATCH: RefCell<Option<Box<[u8]>>> = const { RefCell::new(None) };
}

/// Runs `f` with a 128 KiB buffer (taken from the thread's spare one when free).
fn with_scratch<T>(f: impl FnOnce(&mut [u8]) -> T) -> T {
    let mut buffer = SCRATCH
        .with(|s| s.borrow_mut().take())
        .unwrap_or_else(|| vec![0; CHUNK].into_boxed_slice());
    let result = f(&mut buffer);
    SCRATCH.with(|s| *s.borrow_mut() = Some(buffer));
    result
}

#[derive(Debug)]
struct Capture {
    scanner: scan::Scanner,
    buffer: Vec<u8>,
    maxbytes: usize,
}

#[derive(Debug)]
struct Identity {
    name: Arc<str>,
    group: Arc<str>,
    /// Python's repr of the name, as the DEBG lines print it.
    name_repr: String,
    channel: Channel,
    pid: u32,
    fd: i32,
}

/// The state of one stream (everything but the pipe).
#[derive(Debug)]
struct Stream {
    id: Identity,
    file: Option<RotatingFile>,
    splice: bool,
    buffered: bool,
    pending: Vec<u8>,
    /// When the oldest unwritten byte arrived (in `pending` or, on the splice path,
    /// in the pipe).
    pending_since: Option<Instant>,
    /// Splice path: next look at the pipe's fill level while bytes wait in it.
    next_check: Option<Instant>,
    /// Splice path: until then the stream counts as busy and the pipe is emptied at
    /// every readiness event (a busy writer fills 64 KiB between events anyway, and
    /// an empty pipe guarantees the next event).
    busy_until: Option<Instant>,
    capture: Option<Capture>,
    strip_ansi: bool,
    echo: bool,
    syslog: bool,
    events: Option<mpsc::Sender<OutputEvent>>,
    events_enabled: bool,
    listener: Option<mpsc::UnboundedSender<Bytes>>,
    activity: ActivityLog,
    drops: DropTracker,
    event_drops: DropTracker,
    shared: Arc<Shared>,
    pipe_grown: bool,
    closed: bool,
}

impl Stream {
    fn new(prepared: PreparedStream, pid: u32, fd: i32, activity: ActivityLog) -> Stream {
        let PreparedStream {
            spec,
            file,
            splice,
            echo,
        } = prepared;
        let (listener, capture, syslog, events_enabled) = match spec.role {
            StreamRole::EventListener(tx) => (Some(tx), None, false, false),
            StreamRole::Output => {
                let maxbytes = usize::try_from(spec.settings.capture_maxbytes).unwrap_or(0);
                let capture = (maxbytes > 0).then(|| Capture {
                    scanner: scan::Scanner::default(),
                    buffer: Vec::new(),
                    maxbytes,
                });
                (
                    None,
                    capture,
                    spec.settings.syslog,
                    spec.settings.events_enabled,
                )
            }
        };
        Stream {
            id: Identity {
                name_repr: py_repr(&spec.process_name),
                name: spec.process_name.into(),
                group: spec.group_name.into(),
                channel: spec.channel,
                pid,
                fd,
            },
            file,
            splice,
            buffered: spec.channel == Channel::Stdout,
            pending: Vec::new(),
            pending_since: None,
            next_check: None,
            busy_until: None,
            capture,
            strip_ansi: spec.strip_ansi,
            echo,
            syslog,
            events: spec.events,
            events_enabled,
            listener,
            activity,
            drops: DropTracker::default(),
            event_drops: DropTracker::default(),
            shared: Arc::new(Shared::default()),
            pipe_grown: false,
            closed: false,
        }
    }

    /// When the timer must fire: the flush deadline, or the next fill check.
    fn deadline(&self) -> Option<Instant> {
        let flush = self.pending_since? + FLUSH_AFTER;
        Some(self.next_check.map_or(flush, |check| check.min(flush)))
    }

    fn grow_pipe(&mut self, pipe: BorrowedFd<'_>, waiting: usize) {
        if !self.pipe_grown && waiting >= FLUSH_AT {
            self.pipe_grown = true;
            for size in BUSY_PIPE_SIZES {
                if sys::set_pipe_size(pipe, size).is_ok() {
                    break;
                }
            }
        }
    }

    fn on_readable(&mut self, pipe: BorrowedFd<'_>, read_closed: bool) -> Flow {
        if !self.splice {
            let take = if read_closed {
                Take::ToEof
            } else {
                Take::AtMost(WAKE_BUDGET)
            };
            return self.copy_in(pipe, take);
        }
        if read_closed {
            return self.splice_to_empty(pipe, Take::ToEof);
        }
        self.check_pipe(pipe, false)
    }

    /// Splice path: splices when enough is waiting (or it is due, or the stream is
    /// busy, or it is stderr), else leaves the bytes in the pipe and schedules the
    /// next look.
    fn check_pipe(&mut self, pipe: BorrowedFd<'_>, timer: bool) -> Flow {
        // An unanswerable FIONREAD counts as a full buffer: splicing will tell.
        let waiting = sys::pipe_fill(pipe).unwrap_or(FLUSH_AT);
        if waiting == 0 {
            self.pending_since = None;
            self.next_check = None;
            return Flow::Drained;
        }
        self.grow_pipe(pipe, waiting);
        let now = Instant::now();
        if waiting >= FLUSH_AT {
            self.busy_until = Some(now + FLUSH_AFTER);
        }
        let busy = self.busy_until.is_some_and(|until| now < until);
        let due = timer
            && self
                .pending_since
                .is_some_and(|since| now >= since + FLUSH_AFTER);
        if !self.buffered || busy || due {
            return self.splice_to_empty(pipe, Take::AtMost(WAKE_BUDGET));
        }
        self.pending_since.get_or_insert(now);
        self.next_check = Some(now + PENDING_CHECK);
        Flow::Drained
    }

    /// The timer fired: write what is due.
    fn on_timer(&mut self, pipe: BorrowedFd<'_>) -> Flow {
        if self.splice {
            self.check_pipe(pipe, true)
        } else {
            self.flush_pending();
            Flow::Drained
        }
    }

    /// Handles what is in the pipe now (not what arrives meanwhile), then writes
    /// everything buffered.
    fn drain_now(&mut self, pipe: BorrowedFd<'_>) -> Flow {
        let waiting = sys::pipe_fill(pipe).unwrap_or(CHUNK);
        let take = Take::AtMost(waiting);
        let flow = if waiting == 0 {
            Flow::Drained
        } else if self.splice {
            self.splice_to_empty(pipe, take)
        } else {
            self.copy_in(pipe, take)
        };
        self.flush_pending();
        flow
    }

    /// Splices, then keeps the timer's bookkeeping true: as long as bytes may be
    /// left in the pipe, a check is scheduled.
    fn splice_to_empty(&mut self, pipe: BorrowedFd<'_>, take: Take) -> Flow {
        let flow = self.splice_out(pipe, take);
        if flow == Flow::More {
            let now = Instant::now();
            self.pending_since.get_or_insert(now);
            self.next_check = Some(now);
        } else {
            self.pending_since = None;
            self.next_check = None;
        }
        flow
    }

    fn splice_out(&mut self, pipe: BorrowedFd<'_>, take: Take) -> Flow {
        let mut moved = 0;
        loop {
            let left = take.left(moved);
            if left == 0 {
                return Flow::More;
            }
            let Some(file) = &mut self.file else {
                return self.copy_in(pipe, take.after(moved));
            };
            match file.splice_from(pipe, left.min(CHUNK)) {
                Ok(Spliced::Moved(n)) => {
                    moved += n;
                    let rotated = file.rotate_if_due();
                    self.record(rotated);
                }
                Ok(Spliced::Empty) => return Flow::Drained,
                Ok(Spliced::Eof) => return Flow::Eof,
                Err(e) if e.source.raw_os_error() == Some(libc::EINVAL) => {
                    // This file system does not splice: copy from now on.
                    self.splice = false;
                    let switched = file.set_mode(WriteMode::Append);
                    if let Err(source) = switched {
                        let path = file.path().to_path_buf();
                        self.record(Err(WriteError {
                            unwritten: 0,
                            path,
                            source,
                        }));
                    }
                    return self.copy_in(pipe, take.after(moved));
                }
                Err(e) => {
                    // The bytes are still in the pipe: take them through user space,
                    // where each one is either written or counted as dropped.
                    self.record(Err(e));
                    let flow = self.copy_in(pipe, take.after(moved));
                    self.flush_pending();
                    return flow;
                }
            }
        }
    }

    fn copy_in(&mut self, pipe: BorrowedFd<'_>, take: Take) -> Flow {
        with_scratch(|buffer| {
            let mut read = 0;
            loop {
                if take.left(read) == 0 {
                    return Flow::More;
                }
                match sys::read(pipe, buffer) {
                    Ok(0) => return Flow::Eof,
                    Ok(n) => {
                        read += n;
                        self.grow_pipe(pipe, n);
                        self.on_chunk(&buffer[..n]);
                        // A short read emptied the pipe, so the next write raises a
                        // readiness event.
                        if n < buffer.len() && take != Take::ToEof {
                            return Flow::Drained;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Drained,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.activity.error(format!(
                            "{} {}: cannot read the pipe: {e}",
                            self.id.name_repr, self.id.channel
                        ));
                        return Flow::Eof;
                    }
                }
            }
        })
    }

    /// One chunk as read from the pipe.
    fn on_chunk(&mut self, chunk: &[u8]) {
        if let Some(listener) = &self.listener {
            let _ = listener.send(Bytes::copy_from_slice(chunk));
            if self.echo {
                self.activity.debug(format!(
                    "{} {} output:\n{}",
                    self.id.name_repr,
                    self.id.channel,
                    py_bytes_repr(chunk)
                ));
            }
            let data = self.stripped(chunk);
            self.write_out(&data);
            return;
        }
        let Some(capture) = &mut self.capture else {
            self.log_piece(chunk, false);
            return;
        };
        let mut steps = Vec::new();
        capture.scanner.feed(chunk, &mut steps);
        for step in steps {
            match step {
                scan::Step::Log { data, capturing } => self.log_piece(&data, capturing),
                scan::Step::CaptureEnded => self.capture_ended(),
            }
        }
    }

    fn stripped<'a>(&self, data: &'a [u8]) -> Cow<'a, [u8]> {
        if self.strip_ansi {
            strip_ansi(data)
        } else {
            Cow::Borrowed(data)
        }
    }

    /// The reference's `_log`: file and syslog (or the capture buffer), DEBG echo,
    /// PROCESS_LOG event.
    fn log_piece(&mut self, data: &[u8], capturing: bool) {
        if data.is_empty() {
            return;
        }
        let data = self.stripped(data);
        match (&mut self.capture, capturing) {
            (Some(capture), true) => {
                scan::bounded_append(&mut capture.buffer, &data, capture.maxbytes)
            }
            _ => {
                self.write_out(&data);
                if self.syslog {
                    for line in syslog_lines(&self.id.name, &data) {
                        sys::syslog(&line);
                    }
                }
            }
        }
        if self.echo {
            self.activity.log_args(
                LogLevel::Debug,
                format_args!(
                    "{} {} output:\n{}",
                    self.id.name_repr,
                    self.id.channel,
                    decode_or_undecodable(&data)
                ),
            );
        }
        // The reference sends PROCESS_LOG events for captured output too (observed
        // with 4.3.0: the captured text arrives both as PROCESS_LOG_STDOUT and as
        // PROCESS_COMMUNICATION_STDOUT).
        if self.events_enabled {
            self.emit(OutputEventKind::Log, &data);
        }
    }

    fn capture_ended(&mut self) {
        let Some(capture) = &mut self.capture else {
            return;
        };
        let data = mem::take(&mut capture.buffer);
        self.emit(OutputEventKind::Communication, &data);
        self.activity.debug(format!(
            "{} {} emitted a comm event",
            self.id.name_repr, self.id.channel
        ));
    }

    fn emit(&mut self, kind: OutputEventKind, data: &[u8]) {
        let Some(events) = &self.events else {
            return;
        };
        let event = OutputEvent {
            kind,
            channel: self.id.channel,
            process_name: Arc::clone(&self.id.name),
            group_name: Arc::clone(&self.id.group),
            pid: self.id.pid,
            data: Bytes::copy_from_slice(data),
        };
        let notice = match events.try_send(event) {
            Ok(()) => self.event_drops.succeeded(),
            Err(mpsc::error::TrySendError::Full(event)) => self
                .event_drops
                .lost(1, format!("{} queue full", event.event_name())),
            Err(mpsc::error::TrySendError::Closed(_)) => None,
        };
        match notice {
            Some(DropNotice::Started { error }) => self.activity.warn(format!(
                "{} {}: dropping output events ({error})",
                self.id.name_repr, self.id.channel
            )),
            Some(DropNotice::Ended { bytes, error }) => self.activity.warn(format!(
                "{} {}: {bytes} output events dropped ({error})",
                self.id.name_repr, self.id.channel
            )),
            None => {}
        }
    }

    /// Bytes for the log file: coalesced for stdout, written at once for stderr.
    fn write_out(&mut self, data: &[u8]) {
        if self.file.is_none() || data.is_empty() {
            return;
        }
        // Written at once: stderr always, stdout when one read alone reaches the
        // threshold (no point copying it into the buffer first).
        if !self.buffered || (self.pending.is_empty() && data.len() >= FLUSH_AT) {
            self.write_file(data);
            return;
        }
        if self.pending.is_empty() {
            self.pending_since = Some(Instant::now());
            self.pending.reserve(FLUSH_AT);
        }
        self.pending.extend_from_slice(data);
        if self.pending.len() >= FLUSH_AT {
            self.flush_pending();
        }
    }

    /// Writes the coalesced bytes, one reference-sized chunk at a time (rotation is
    /// checked after each), and gives the buffer's memory back.
    fn flush_pending(&mut self) {
        self.pending_since = None;
        let data = mem::take(&mut self.pending);
        for piece in data.chunks(CHUNK) {
            self.write_file(piece);
        }
    }

    fn write_file(&mut self, data: &[u8]) {
        if let Some(file) = &mut self.file {
            let result = file.write(data);
            self.record(result);
        }
    }

    /// Accounts for a write attempt and reports the start and end of dropping.
    fn record(&mut self, result: Result<(), WriteError>) {
        let notice = match result {
            Ok(()) => self.drops.succeeded(),
            Err(e) => {
                self.shared
                    .dropped
                    .fetch_add(e.unwritten as u64, Ordering::Relaxed);
                self.drops.failed(&e)
            }
        };
        self.report(notice);
    }

    fn report(&self, notice: Option<DropNotice>) {
        match notice {
            Some(DropNotice::Started { error }) => self.activity.error(format!(
                "{} {} log cannot be written, dropping output: {error}",
                self.id.name_repr, self.id.channel
            )),
            Some(DropNotice::Ended { bytes, error }) => self.activity.warn(format!(
                "{} {} log: {bytes} bytes of output dropped ({error})",
                self.id.name_repr, self.id.channel
            )),
            None => {}
        }
    }

    fn clear(&mut self) -> io::Result<()> {
        self.pending = Vec::new();
        self.pending_since = None;
        if let Some(capture) = &mut self.capture {
            capture.buffer = Vec::new();
        }
        match &mut self.file {
            Some(file) => file.remove_and_reopen(),
            None => Ok(()),
        }
    }

    /// Answers the requests waiting in `shared`. Returns `Some(eof)` when the stream
    /// must end.
    fn serve(&mut self, pipe: BorrowedFd<'_>) -> Option<bool> {
        let (flush, clear, reopen, finish) = {
            let mut r = self.shared.lock();
            (
                mem::take(&mut r.flush),
                mem::take(&mut r.clear),
                mem::take(&mut r.reopen),
                r.finish,
            )
        };
        let mut eof = false;
        if !flush.is_empty() || reopen || finish {
            eof = self.drain_now(pipe) == Flow::Eof;
        }
        if !clear.is_empty() {
            let result = self.clear();
            for waiter in clear {
                let copy = match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                };
                let _ = waiter.send(copy);
            }
        }
        if reopen {
            if let Some(file) = &mut self.file {
                if let Err(source) = file.reopen() {
                    let path = file.path().to_path_buf();
                    self.record(Err(WriteError {
                        unwritten: 0,
                        path,
                        source,
                    }));
                }
            }
        }
        for waiter in flush {
            let _ = waiter.send(());
        }
        (eof || finish).then_some(eof)
    }

    /// Ends the stream: writes what is buffered, reports drops, closes the file and
    /// answers everyone waiting.
    fn close(&mut self, eof: bool) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.flush_pending();
        let notice = self.drops.close();
        self.report(notice);
        if let Some(DropNotice::Ended { bytes, error }) = self.event_drops.close() {
            self.activity.warn(format!(
                "{} {}: {bytes} output events dropped ({error})",
                self.id.name_repr, self.id.channel
            ));
        }
        if eof {
            let kind = if self.listener.is_some() {
                "PEventListenerDispatcher"
            } else {
                "POutputDispatcher"
            };
            self.activity.debug(format!(
                "fd {} closed, stopped monitoring <{kind} for <Subprocess with name {}> ({})>",
                self.id.fd, self.id.name, self.id.channel
            ));
        }
        self.file = None;
        let requests = {
            let mut r = self.shared.lock();
            let taken = mem::take(&mut *r);
            r.ended = true;
            taken
        };
        for waiter in requests.flush {
            let _ = waiter.send(());
        }
        for waiter in requests.clear {
            let _ = waiter.send(Ok(()));
        }
        for waiter in requests.ended_waiters {
            let _ = waiter.send(());
        }
    }
}

/// A stream and its pipe. Dropping it (the pipeline shutting down) still writes
/// everything that reached the pipe.
struct Task {
    pipe: Option<AsyncFd<OwnedFd>>,
    stream: Stream,
}

impl Drop for Task {
    fn drop(&mut self) {
        if self.stream.closed {
            return;
        }
        let eof = match &self.pipe {
            Some(pipe) => self.stream.drain_now(pipe.get_ref().as_fd()) == Flow::Eof,
            None => false,
        };
        self.pipe = None;
        self.stream.close(eof);
    }
}

/// Registers the pipe with the current runtime and returns the task to spawn.
pub(crate) fn start(
    prepared: PreparedStream,
    pid: u32,
    pipe: OwnedFd,
    activity: ActivityLog,
) -> io::Result<(
    StreamHandle,
    impl std::future::Future<Output = ()> + Send + 'static,
)> {
    sys::set_nonblocking(pipe.as_fd())?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&pipe);
    // SAFETY: the OwnedFd moves into the AsyncFd, which keeps it open and unchanged
    // until the AsyncFd is dropped.
    let pipe = unsafe { AsyncFd::register_with_interest(pipe, Interest::READABLE) }?;
    let stream = Stream::new(prepared, pid, fd, activity);
    let handle = StreamHandle {
        shared: Arc::clone(&stream.shared),
    };
    let mut task = Task {
        pipe: Some(pipe),
        stream,
    };
    // An `async move` block that uses its capture in place, not an `async fn` taking the
    // task: the latter keeps the argument and its local copy side by side, and this
    // future lives as long as the child, once per stream.
    let run = async move {
        let shared = Arc::clone(&task.stream.shared);
        let eof = match &task.pipe {
            Some(pipe) => watch(pipe, &mut task.stream, &shared).await,
            None => false,
        };
        // Close the pipe before anyone waiting for the end is told about it.
        task.pipe = None;
        task.stream.close(eof);
    };
    Ok((handle, run))
}

/// Serves the stream until it ends; returns whether it ended at end of file.
async fn watch(pipe: &AsyncFd<OwnedFd>, stream: &mut Stream, shared: &Shared) -> bool {
    // Boxed and made only while output waits: most streams of a quiet child never need
    // a timer, and an inline one would enlarge every stream's task.
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        match (stream.deadline(), &mut timer) {
            (None, _) => timer = None,
            (Some(at), Some(sleep)) => {
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
            }
            (Some(at), None) => timer = Some(Box::pin(tokio::time::sleep_until(at))),
        }
        tokio::select! {
            biased;
            () = shared.wake.notified() => {
                if let Some(eof) = stream.serve(pipe.get_ref().as_fd()) {
                    return eof;
                }
            }
            ready = pipe.readable() => match ready {
                Ok(mut guard) => {
                    let read_closed = guard.ready().is_read_closed();
                    match stream.on_readable(guard.get_inner().as_fd(), read_closed) {
                        Flow::Drained => guard.clear_ready(),
                        Flow::More => {}
                        Flow::Eof => return true,
                    }
                }
                Err(e) => {
                    stream.activity.error(format!(
                        "{} {}: cannot watch the pipe: {e}",
                        stream.id.name_repr, stream.id.channel
                    ));
                    return false;
                }
            },
            () = expiry(timer.as_mut()) => {
                if stream.on_timer(pipe.get_ref().as_fd()) == Flow::Eof {
                    return true;
                }
            }
        }
    }
}

/// Completes when `timer` expires; never without one.
async fn expiry(timer: Option<&mut Pin<Box<tokio::time::Sleep>>>) {
    match timer {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: OutputEventKind, channel: Channel, data: &[u8]) -> OutputEvent {
        OutputEvent {
            kind,
            channel,
            process_name: "web".into(),
            group_name: "grp".into(),
            pid: 42,
            data: Bytes::copy_from_slice(data),
        }
    }

    #[test]
    fn event_names() {
        let cases = [
            (OutputEventKind::Log, Channel::Stdout, "PROCESS_LOG_STDOUT"),
            (OutputEventKind::Log, Channel::Stderr, "PROCESS_LOG_STDERR"),
            (
                OutputEventKind::Communication,
                Channel::Stdout,
                "PROCESS_COMMUNICATION_STDOUT",
            ),
            (
                OutputEventKind::Communication,
                Channel::Stderr,
                "PROCESS_COMMUNICATION_STDERR",
            ),
        ];
        for (kind, channel, name) in cases {
            assert_eq!(event(kind, channel, b"x").event_name(), name);
        }
    }

    #[test]
    fn spec_resolves_the_log_file() {
        let mut process = ProcessConfig::new("web", "true");
        let auto = PathBuf::from("/tmp/web-stdout---supervisor-abcdefgh.log");
        let spec = StreamSpec::new(&process, "g", Channel::Stdout, Some(auto.clone()), false);
        assert_eq!(spec.logfile, Some(auto));
        process.stderr.logfile = LogFile::Path("/var/log/web.err".into());
        let spec = StreamSpec::new(&process, "g", Channel::Stderr, None, true);
        assert_eq!(spec.logfile, Some(PathBuf::from("/var/log/web.err")));
        assert!(spec.strip_ansi);
        process.stdout.logfile = LogFile::None;
        let spec = StreamSpec::new(&process, "g", Channel::Stdout, None, false);
        assert_eq!(spec.logfile, None);
    }

    #[test]
    fn splice_is_chosen_only_when_nothing_needs_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut process = ProcessConfig::new("web", "true");
        process.stdout.logfile = LogFile::Path(dir.path().join("out.log"));
        let base = StreamSpec::new(&process, "g", Channel::Stdout, None, false);
        let uses_splice =
            |spec: StreamSpec, echo: bool| PreparedStream::open(spec, echo).unwrap().uses_splice();
        assert!(uses_splice(base.clone(), false));
        assert!(!uses_splice(base.clone(), true));
        let mut s = base.clone();
        s.strip_ansi = true;
        assert!(!uses_splice(s, false));
        let mut s = base.clone();
        s.settings.events_enabled = true;
        assert!(!uses_splice(s, false));
        let mut s = base.clone();
        s.settings.capture_maxbytes = 1;
        assert!(!uses_splice(s, false));
        let mut s = base.clone();
        s.settings.syslog = true;
        assert!(!uses_splice(s, false));
        let mut s = base.clone();
        s.role = StreamRole::EventListener(mpsc::unbounded_channel().0);
        assert!(!uses_splice(s, false));
        let mut s = base.clone();
        s.logfile = Some(PathBuf::from("/dev/null"));
        assert!(!uses_splice(s, false));
        let mut s = base;
        s.logfile = None;
        assert!(!uses_splice(s, false));
    }

    #[test]
    fn open_errors_name_the_file_and_the_errno() {
        let dir = tempfile::tempdir().unwrap();
        let mut process = ProcessConfig::new("web", "true");
        let path = dir.path().join("missing").join("out.log");
        process.stdout.logfile = LogFile::Path(path.clone());
        let spec = StreamSpec::new(&process, "g", Channel::Stdout, None, false);
        let err = PreparedStream::open(spec, false).unwrap_err();
        assert_eq!(err.path, path);
        assert_eq!(err.errno_name(), "ENOENT");
        assert_eq!(
            err.spawn_error("web"),
            "unknown error making dispatchers for 'web': ENOENT"
        );
    }
}
