//! The core task: the only code that changes process state.
//!
//! One loop waits for whatever happens next — a reaped child, a deadline, a request, a
//! signal, output events — and reacts at once (no polling tick). It feeds the state
//! machine, executes its effects (spawn, kill, timers, events, log lines), answers
//! requests (waiting ones when their condition is met), and runs shutdown by priority
//! level. It never waits for the log thread or the disk: log drains and flushes run as
//! separate tasks that report back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, watch};

use crate::config::{
    diff, load, Config, ConfigErrors, GroupConfig, GroupKind, LoadOptions, LogFile, LogLevel,
    ProcessConfig,
};
use crate::log::capture::{OutputEvent, OutputEventKind, ProcessLogs, StreamRole, StreamSpec};
use crate::log::{auto, ActivityLog, LogPipeline};
use crate::os::{self, DaemonSignal, Reaped, Reaper, SignalReceiver, SpawnSpec};
use crate::process::{Ctx, Effect, ExitStatus, Input, KillError, Process, ProcessState};

use super::api::{
    describe, epoch_seconds, Channel, ConfigChanges, ConfigInfo, Fault, Mood, ProcessInfo,
    ProcessResult,
};
use super::event::{Event, EventFeed};
use super::handle::{Command, Reply};
use super::listener::{Listener, ListenerEffect, ListenerState, PoolBuffer};
use super::table::{Group, Proc, ProcId, Table};

/// How long a reaped child's output may take to be drained before its state changes
/// anyway (a hung disk must not hold the process table).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
/// Gap between two "waiting for … to die" lines while shutting down.
const SHUTDOWN_REPORT_INTERVAL: Duration = Duration::from_secs(3);
/// How often a waiting RPC stop is reminded to log its "waiting for … to stop" line.
const STOP_REPORT_TICK: Duration = Duration::from_millis(500);
/// Capacity of the PROCESS_LOG/COMMUNICATION queue from the log thread.
const OUTPUT_EVENT_QUEUE: usize = 4096;

/// Why the core ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything stopped after a shutdown request.
    Shutdown,
    /// Everything stopped after a restart request: start over with the configuration
    /// re-read.
    Restart,
}

/// Where the configuration came from, so `reloadConfig` can read it again.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// The main configuration file.
    pub path: PathBuf,
    /// The options it was read with.
    pub options: LoadOptions,
}

/// The OS-level resources a core runs on. They outlive one core: after an
/// in-process restart the next core takes them over (only one global reaper and one
/// set of signal handlers may exist in a process).
#[derive(Debug)]
pub(crate) struct Resources {
    pub(crate) reaper: Reaper,
    pub(crate) reaped: mpsc::UnboundedReceiver<Reaped>,
    pub(crate) signals: Option<SignalReceiver>,
    pub(crate) pipeline: Arc<LogPipeline>,
    /// The next event serial: one sequence for the life of the process, restarts
    /// included, as the reference numbers events.
    pub(crate) next_event_serial: u64,
}

/// What the core needs besides the configuration.
pub(crate) struct CoreParts {
    pub(crate) config: Config,
    pub(crate) source: Option<ConfigSource>,
    pub(crate) environ: Vec<(String, String)>,
    pub(crate) resources: Resources,
    pub(crate) activity: ActivityLog,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) mood: watch::Sender<Mood>,
    pub(crate) events: EventFeed,
}

/// Something a background task of the core reports back.
enum Internal {
    /// A reaped child's output has been drained; its exit can be recorded now.
    Drained { id: ProcId, status: ExitStatus },
    /// A child's stdin pipe can take more bytes.
    StdinWritable { id: ProcId },
    /// An event listener wrote to its stdout (the protocol channel).
    ListenerOutput { id: ProcId, data: bytes::Bytes },
}

/// An event listener pool: its subscriptions and buffer.
struct Pool {
    group: String,
    subscriptions: Vec<String>,
    buffer: PoolBuffer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Process(ProcId),
    StopReports,
    ShutdownReport,
    Tick,
}

/// Pending instants, earliest first.
#[derive(Debug, Default)]
struct Timers {
    pending: BTreeSet<(Instant, Timer)>,
}

impl Timers {
    fn set(&mut self, at: Instant, timer: Timer) {
        self.pending.insert((at, timer));
    }

    fn remove(&mut self, at: Instant, timer: Timer) {
        self.pending.remove(&(at, timer));
    }

    fn next(&self) -> Option<Instant> {
        self.pending.first().map(|(at, _)| *at)
    }

    fn pop_due(&mut self, now: Instant) -> Vec<Timer> {
        let mut due = Vec::new();
        while let Some(&(at, timer)) = self.pending.first() {
            if at > now {
                break;
            }
            self.pending.pop_first();
            due.push(timer);
        }
        due
    }
}

/// A child just forked, whose output capture has yet to start.
struct Spawned {
    pid: u32,
    name: String,
    streams: Vec<(crate::log::capture::PreparedStream, OwnedFd)>,
}

/// A stdin pipe with the bytes it could not take yet.
struct Stdin {
    fd: Arc<AsyncFd<OwnedFd>>,
    backlog: Vec<u8>,
}

/// What a waiting request waits for, per process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitFor {
    Running,
    Stopped,
}

#[derive(Debug)]
struct Pending {
    id: ProcId,
    wait_for: WaitFor,
    /// The name as the request gave it (for faults).
    name: String,
    process: String,
    group: String,
}

enum Waiter {
    One {
        pending: Pending,
        reply: Reply<()>,
    },
    Many {
        pending: Vec<Pending>,
        results: Vec<ProcessResult>,
        reply: Reply<Vec<ProcessResult>>,
    },
}

/// Shutdown/restart progress: the priority levels still to stop, highest first.
struct Stopping {
    outcome: Outcome,
    levels: Vec<i64>,
    current: Option<i64>,
    next_report: Instant,
}

/// The core's state.
pub(crate) struct Core {
    table: Table,
    stored: Config,
    source: Option<ConfigSource>,
    environ: Vec<(String, String)>,
    server_url: Option<String>,
    reaper: Reaper,
    reaped: mpsc::UnboundedReceiver<Reaped>,
    signals: Option<SignalReceiver>,
    activity: ActivityLog,
    pipeline: Arc<LogPipeline>,
    commands: mpsc::Receiver<Command>,
    commands_open: bool,
    mood: Mood,
    mood_tx: watch::Sender<Mood>,
    events: EventFeed,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    output_tx: mpsc::Sender<OutputEvent>,
    output_rx: mpsc::Receiver<OutputEvent>,
    timers: Timers,
    waiters: Vec<Waiter>,
    stdins: HashMap<ProcId, Stdin>,
    stopping: Option<Stopping>,
    last_tick: i64,
    pools: Vec<Pool>,
    listeners: HashMap<ProcId, Listener>,
    next_event_serial: u64,
    /// Active groups that were added from the configuration stored now (cleared by a
    /// reread, which stores a new one).
    from_stored: HashSet<String>,
}

fn wall_now() -> SystemTime {
    SystemTime::now()
}

async fn next_signal(signals: &mut Option<SignalReceiver>) -> Option<DaemonSignal> {
    match signals {
        Some(receiver) => receiver.recv().await.ok(),
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

impl Core {
    pub(crate) fn new(parts: CoreParts) -> Core {
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let (output_tx, output_rx) = mpsc::channel(OUTPUT_EVENT_QUEUE);
        let server_url = parts.config.default_server_url();
        Core {
            table: Table::default(),
            stored: parts.config,
            source: parts.source,
            environ: parts.environ,
            server_url,
            reaper: parts.resources.reaper,
            reaped: parts.resources.reaped,
            signals: parts.resources.signals,
            activity: parts.activity,
            pipeline: parts.resources.pipeline,
            commands: parts.commands,
            commands_open: true,
            mood: Mood::Running,
            mood_tx: parts.mood,
            events: parts.events,
            internal_tx,
            internal_rx,
            output_tx,
            output_rx,
            timers: Timers::default(),
            waiters: Vec::new(),
            stdins: HashMap::new(),
            stopping: None,
            last_tick: 0,
            pools: Vec::new(),
            listeners: HashMap::new(),
            next_event_serial: parts.resources.next_event_serial,
            from_stored: HashSet::new(),
        }
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            now: Instant::now(),
            wall: wall_now(),
            automatic_starts: self.mood == Mood::Running,
        }
    }

    /// Runs until everything is stopped after a shutdown or restart request, then
    /// hands back the resources it ran on.
    pub(crate) async fn run(mut self) -> (Outcome, Resources) {
        self.start_up();
        loop {
            if let Some(outcome) = self.after_step() {
                let resources = Resources {
                    reaper: self.reaper,
                    reaped: self.reaped,
                    signals: self.signals,
                    pipeline: self.pipeline,
                    next_event_serial: self.next_event_serial,
                };
                return (outcome, resources);
            }
            let next = self.timers.next();
            tokio::select! {
                Some(reaped) = self.reaped.recv() => self.on_reaped(reaped),
                Some(internal) = self.internal_rx.recv() => self.on_internal(internal),
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(command) => self.on_command(command),
                    None => {
                        // Every handle is gone: nobody can stop us any more, so stop.
                        self.commands_open = false;
                        self.begin_stopping(Outcome::Shutdown);
                    }
                },
                Some(event) = self.output_rx.recv() => self.on_output_event(event),
                signal = next_signal(&mut self.signals) => match signal {
                    Some(signal) => self.on_signal(signal),
                    None => self.signals = None,
                },
                _ = sleep_until(next) => self.on_timers(),
            }
        }
    }

    fn start_up(&mut self) {
        let settings = self.stored.supervisord.clone();
        if !settings.nocleanup {
            auto::clear_auto_logs(&settings.childlogdir, &settings.identifier, &self.activity);
        }
        let groups = self.stored.groups.clone();
        for group in groups {
            self.from_stored.insert(group.name.clone());
            self.add_group(group);
        }
        self.emit(Event::SupervisorRunning);
        for id in self.table.all_by_priority() {
            self.feed(id, Input::AutoStart);
        }
        self.arm_tick();
    }

    /// Makes a configured group active: AUTO log files, fcgi socket, table entries,
    /// PROCESS_GROUP_ADDED. Its processes start with the next `AutoStart`.
    fn add_group(&mut self, mut config: GroupConfig) -> Vec<ProcId> {
        let settings = &self.stored.supervisord;
        let fcgi_socket = match &config.kind {
            GroupKind::FastCgi(socket) => match os::fcgi::create_socket(socket) {
                Ok(fd) => Some(Arc::new(fd)),
                Err(e) => {
                    self.activity.error(e.to_string());
                    None
                }
            },
            _ => None,
        };
        let mut ids = Vec::new();
        for process in std::mem::take(&mut config.processes) {
            let auto_log = |channel| {
                let wanted = process.channel(channel == Channel::Stderr).logfile
                    == crate::config::LogFile::Auto;
                if !wanted {
                    return None;
                }
                match auto::create_auto_log(
                    &settings.childlogdir,
                    &process.name,
                    channel,
                    &settings.identifier,
                ) {
                    Ok(path) => Some(path),
                    Err(e) => {
                        self.activity.error(format!(
                            "could not create the AUTO {} log of '{}' in {}: {e}",
                            channel.name(),
                            process.name,
                            settings.childlogdir.display()
                        ));
                        None
                    }
                }
            };
            let auto_stdout = auto_log(Channel::Stdout);
            let auto_stderr = if process.redirect_stderr {
                None
            } else {
                auto_log(Channel::Stderr)
            };
            let id = self.table.new_id();
            self.table.procs.insert(
                id,
                Proc {
                    machine: Process::new(config.name.clone(), Arc::new(process)),
                    deadline: None,
                    auto_stdout,
                    auto_stderr,
                    logs: None,
                    fcgi_socket: fcgi_socket.clone(),
                },
            );
            ids.push(id);
        }
        let name = config.name.clone();
        if let GroupKind::EventListener(pool) = &config.kind {
            self.pools.push(Pool {
                group: name.clone(),
                subscriptions: pool.events.clone(),
                buffer: PoolBuffer::new(&name, pool.buffer_size),
            });
        }
        // The reference orders a group's processes by priority alone, keeping the
        // configuration order on ties (a `[group:x]` lists its members' processes in
        // `programs=` order).
        let mut procs = ids.clone();
        procs.sort_by_key(|id| {
            self.table
                .get(*id)
                .map_or(0, |p| p.machine.config().priority)
        });
        self.table.groups.push(Group {
            config,
            procs: procs.clone(),
            configured: ids,
        });
        self.emit(Event::ProcessGroupAdded { group: name });
        procs
    }

    // ----- feeding the state machine -------------------------------------------------

    /// Feeds one input and carries out the effects; returns the refusal message, if the
    /// machine refused the request.
    fn feed(&mut self, id: ProcId, input: Input) -> Option<String> {
        let ctx = self.ctx();
        let proc = self.table.get_mut(id)?;
        let effects = proc.machine.on(input, &ctx);
        self.apply(id, effects)
    }

    fn apply(&mut self, id: ProcId, effects: Vec<Effect>) -> Option<String> {
        let mut refused = None;
        for effect in effects {
            match effect {
                Effect::Spawn => {
                    // A listener restarting at once still owes its pool the event it
                    // was handling: give it back before the new instance exists.
                    self.rebuffer_in_flight(id);
                    let (input, spawned) = match self.spawn(id) {
                        Ok(spawned) => (Input::Spawned { pid: spawned.pid }, Some(spawned)),
                        Err(message) => (Input::SpawnFailed { message }, None),
                    };
                    if let Some(message) = self.feed(id, input) {
                        refused = Some(message);
                    }
                    if let Some(spawned) = spawned {
                        self.start_capture(id, spawned);
                    }
                }
                Effect::Kill {
                    pid,
                    signal,
                    to_group,
                    kind,
                } => {
                    if let Err(errno) = os::kill(pid as i32, signal.0, to_group) {
                        let text = os::errno::py_os_error(errno as i32, None);
                        let error = if errno == nix::errno::Errno::ESRCH {
                            KillError::NoSuchProcess(text)
                        } else {
                            KillError::Other(text)
                        };
                        if let Some(message) = self.feed(id, Input::KillFailed { pid, kind, error })
                        {
                            refused = Some(message);
                        }
                    }
                }
                Effect::ArmDeadline(at) => self.set_deadline(id, Some(at)),
                Effect::CancelDeadline => self.set_deadline(id, None),
                Effect::Transition {
                    from,
                    to,
                    pid,
                    tries,
                    expected,
                } => {
                    if let Some(proc) = self.table.get(id) {
                        let event = Event::ProcessState {
                            process: proc.machine.name().to_string(),
                            group: proc.machine.group().to_string(),
                            from,
                            to,
                            pid,
                            tries,
                            expected,
                        };
                        self.emit(event);
                    }
                }
                Effect::Log { level, text } => self.activity.log(level, text),
                Effect::Refused { message } => refused = Some(message),
            }
        }
        refused
    }

    /// Feeds `Deadline` now if the process's deadline has already come.
    fn fire_due_deadline(&mut self, id: ProcId) {
        let due = self
            .table
            .get(id)
            .and_then(|p| p.deadline)
            .is_some_and(|at| at <= Instant::now());
        if due {
            self.set_deadline(id, None);
            self.feed(id, Input::Deadline);
        }
    }

    fn set_deadline(&mut self, id: ProcId, at: Option<Instant>) {
        let Some(proc) = self.table.get_mut(id) else {
            return;
        };
        if let Some(old) = proc.deadline.take() {
            self.timers.remove(old, Timer::Process(id));
        }
        proc.deadline = at;
        if let Some(at) = at {
            self.timers.set(at, Timer::Process(id));
        }
    }

    /// Offers an event to every subscribed pool (one supervisord-wide serial for all
    /// of them) and to the host's subscribers.
    fn emit(&mut self, event: Event) {
        let mut serial = None;
        let mut logs = Vec::new();
        for pool in &mut self.pools {
            if !pool.subscriptions.iter().any(|s| event.matches(s)) {
                continue;
            }
            let serial = *serial.get_or_insert_with(|| {
                let s = self.next_event_serial;
                self.next_event_serial += 1;
                s
            });
            logs.extend(pool.buffer.accept(serial, event.name(), event.payload()));
        }
        for (level, text) in logs {
            self.activity.log(level, text);
        }
        self.events.send(event);
    }

    /// Sends buffered events to listeners that are RUNNING and READY, oldest first, each
    /// to the first such listener of its pool; stops at the first event no listener
    /// takes.
    fn dispatch_events(&mut self) {
        for index in 0..self.pools.len() {
            if self.pools[index].buffer.is_empty() {
                continue;
            }
            let Some(group) = self.table.group_index(&self.pools[index].group) else {
                continue;
            };
            let ids = self.table.groups[group].procs.clone();
            let capable = |core: &Core, id: &ProcId| {
                core.table
                    .get(*id)
                    .is_some_and(|p| p.state() == ProcessState::Running)
                    && core
                        .listeners
                        .get(id)
                        .is_some_and(|l| l.state() == ListenerState::Ready)
            };
            // Like the reference, a round runs only if some listener can take an event,
            // and an event it cannot place then goes back with a `rebuffering` line.
            if !ids.iter().any(|id| capable(self, id)) {
                continue;
            }
            while let Some(event) = self.pools[index].buffer.pop() {
                let mut delivered = false;
                for id in &ids {
                    if !capable(self, id) {
                        continue;
                    }
                    let name = self
                        .table
                        .get(*id)
                        .map(|p| p.machine.name().to_string())
                        .unwrap_or_default();
                    let envelope = self.pools[index]
                        .buffer
                        .envelope(&self.stored.supervisord.identifier, &event);
                    if self.write_stdin(*id, envelope.into_bytes()).is_err() {
                        self.activity.debug(format!(
                            "epipe occurred while sending event {} to listener {name}, \
                             listener state unchanged",
                            event.serial
                        ));
                        continue;
                    }
                    self.activity
                        .debug(format!("event {} sent to listener {name}", event.serial));
                    if let Some(listener) = self.listeners.get_mut(id) {
                        listener.sent(event.clone());
                    }
                    delivered = true;
                    break;
                }
                if !delivered {
                    let logs = self.pools[index].buffer.rebuffer(event);
                    for (level, text) in logs {
                        self.activity.log(level, text);
                    }
                    break;
                }
            }
        }
    }

    /// The pool a listener process belongs to.
    fn pool_of(&self, id: ProcId) -> Option<usize> {
        let group = self.table.get(id)?.machine.group().to_string();
        self.pools.iter().position(|p| p.group == group)
    }

    /// Puts the event a listener process was handling back at the head of its pool
    /// (the process ended before answering).
    fn rebuffer_in_flight(&mut self, id: ProcId) {
        if let Some(event) = self.listeners.get_mut(&id).and_then(Listener::ended) {
            self.rebuffer(id, event);
        }
    }

    fn rebuffer(&mut self, id: ProcId, event: super::listener::Queued) {
        if let Some(index) = self.pool_of(id) {
            for (level, text) in self.pools[index].buffer.rebuffer(event) {
                self.activity.log(level, text);
            }
        }
    }

    // ----- spawning ------------------------------------------------------------------

    /// The child's environment: ours, then the SUPERVISOR_* variables, then the
    /// configured environment (`[supervisord]` merged under the program's), each layer
    /// overriding the one before (processes.md §6).
    fn child_env(&self, config: &ProcessConfig, group: &str) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = self.environ.iter().cloned().collect();
        env.insert("SUPERVISOR_ENABLED".into(), "1".into());
        // An empty `serverurl=` means the daemon's own URL, as in the reference.
        let own_url = config.serverurl.clone().filter(|url| !url.is_empty());
        if let Some(url) = own_url.or_else(|| self.server_url.clone()) {
            env.insert("SUPERVISOR_SERVER_URL".into(), url);
        }
        env.insert("SUPERVISOR_PROCESS_NAME".into(), config.name.clone());
        env.insert("SUPERVISOR_GROUP_NAME".into(), group.to_string());
        for (k, v) in &config.environment {
            env.insert(k.clone(), v.clone());
        }
        env
    }

    fn search_path<'a>(&'a self, config: &'a ProcessConfig) -> Option<&'a str> {
        config
            .environment
            .get("PATH")
            .map(String::as_str)
            .or_else(|| {
                self.environ
                    .iter()
                    .find(|(k, _)| k == "PATH")
                    .map(|(_, v)| v.as_str())
            })
    }

    fn spawn(&mut self, id: ProcId) -> Result<Spawned, String> {
        let Some(proc) = self.table.get(id) else {
            return Err("process removed".to_string());
        };
        let config = Arc::clone(proc.machine.config());
        let group = proc.machine.group().to_string();
        let resolved =
            os::resolve(&config.command, self.search_path(&config)).map_err(|e| e.to_string())?;
        let strip_ansi = self.stored.supervisord.strip_ansi;
        let stream_spec = |channel, auto| {
            let mut spec = StreamSpec::new(&config, &group, channel, auto, strip_ansi);
            let settings = config.channel(channel == Channel::Stderr);
            if settings.events_enabled || settings.capture_maxbytes > 0 {
                spec.events = Some(self.output_tx.clone());
            }
            spec
        };
        let mut stdout_spec = stream_spec(Channel::Stdout, proc.auto_stdout.clone());
        let listener_output = if self.pool_of(id).is_some() {
            let (tx, mut rx) = mpsc::unbounded_channel::<bytes::Bytes>();
            stdout_spec.events = None;
            stdout_spec.role = StreamRole::EventListener(tx);
            let internal = self.internal_tx.clone();
            Some(async move {
                while let Some(data) = rx.recv().await {
                    if internal
                        .send(Internal::ListenerOutput { id, data })
                        .is_err()
                    {
                        return;
                    }
                }
            })
        } else {
            None
        };
        let stdout = self
            .pipeline
            .prepare(stdout_spec)
            .map_err(|e| e.spawn_error(&config.name))?;
        let stderr = if config.redirect_stderr {
            None
        } else {
            Some(
                self.pipeline
                    .prepare(stream_spec(Channel::Stderr, proc.auto_stderr.clone()))
                    .map_err(|e| e.spawn_error(&config.name))?,
            )
        };
        let mut spec = SpawnSpec::new(&config.name, &resolved, self.child_env(&config, &group))
            .map_err(|e| e.to_string())?;
        if let Some(directory) = &config.directory {
            spec = spec.directory(directory).map_err(|e| e.to_string())?;
        }
        if let Some(umask) = config.umask {
            spec = spec.umask(umask);
        }
        if let Some(uid) = config.uid {
            spec = spec.user(uid);
        }
        // Python supervisord's children inherit these two ignored from its interpreter;
        // programs (and their `yes | head` pipelines) behave as they do under it.
        spec = spec
            .redirect_stderr(config.redirect_stderr)
            .ignore_signals(&[libc::SIGPIPE, libc::SIGXFSZ]);
        if let Some(socket) = &proc.fcgi_socket {
            spec = spec.stdin_socket(Arc::clone(socket));
        }
        let spawned = self.reaper.spawn(&spec).map_err(|e| e.to_string())?;
        let pid = spawned.pid as u32;
        if let Some(forward) = listener_output {
            tokio::spawn(forward);
            self.listeners.insert(id, Listener::new());
        }
        self.table.by_pid.insert(pid, id);
        // SAFETY: the fd is a pipe end we own exclusively (moved out of `spawned`) and
        // stays open for as long as the AsyncFd registered on it lives.
        let stdin = spawned.stdin.and_then(|fd| {
            unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::WRITABLE) }.ok()
        });
        if let Some(fd) = stdin {
            self.stdins.insert(
                id,
                Stdin {
                    fd: Arc::new(fd),
                    backlog: Vec::new(),
                },
            );
        }
        let mut streams = vec![(stdout, spawned.stdout)];
        if let (Some(prepared), Some(pipe)) = (stderr, spawned.stderr) {
            streams.push((prepared, pipe));
        }
        Ok(Spawned {
            pid,
            name: config.name.clone(),
            streams,
        })
    }

    /// Starts capturing a spawned child's output. Called after its `spawned:` line is
    /// logged, so nothing it printed can appear in the activity log before that line;
    /// until then its output waits in the pipe.
    fn start_capture(&mut self, id: ProcId, spawned: Spawned) {
        let mut handles = spawned.streams.into_iter().map(|(prepared, pipe)| {
            match self.pipeline.start_stream(prepared, spawned.pid, pipe) {
                Ok(handle) => Some(handle),
                Err(e) => {
                    self.activity
                        .error(format!("cannot capture output of '{}': {e}", spawned.name));
                    None
                }
            }
        });
        let stdout = handles.next().flatten();
        let stderr = handles.next().flatten();
        if let Some(proc) = self.table.get_mut(id) {
            proc.logs = Some(ProcessLogs { stdout, stderr });
        }
    }

    // ----- what the world reports ----------------------------------------------------

    fn on_reaped(&mut self, reaped: Reaped) {
        let (pid, status) = match reaped {
            Reaped::Child { pid, status } => (pid as u32, ExitStatus::from_raw(status)),
            Reaped::Lost { pid } => (pid as u32, ExitStatus::Unknown(0)),
            Reaped::Unknown { pid, status } => {
                self.activity.info(format!(
                    "reaped unknown pid {pid} ({})",
                    ExitStatus::from_raw(status)
                ));
                return;
            }
        };
        let Some(id) = self.table.by_pid.remove(&pid) else {
            self.activity
                .info(format!("reaped unknown pid {pid} ({status})"));
            return;
        };
        self.stdins.remove(&id);
        let logs = self.table.get_mut(id).and_then(|p| p.logs.take());
        let internal = self.internal_tx.clone();
        match logs {
            None => {
                let _ = internal.send(Internal::Drained { id, status });
            }
            Some(logs) => {
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(DRAIN_TIMEOUT, logs.finish()).await;
                    let _ = internal.send(Internal::Drained { id, status });
                });
            }
        }
    }

    fn on_internal(&mut self, internal: Internal) {
        match internal {
            Internal::Drained { id, status } => {
                self.feed(id, Input::Exited { status });
                self.rebuffer_in_flight(id);
            }
            Internal::StdinWritable { id } => self.flush_stdin(id),
            Internal::ListenerOutput { id, data } => {
                let name = self
                    .table
                    .get(id)
                    .map(|p| p.machine.name().to_string())
                    .unwrap_or_default();
                let Some(listener) = self.listeners.get_mut(&id) else {
                    return;
                };
                for effect in listener.feed(&name, &data) {
                    match effect {
                        ListenerEffect::Log(level, text) => self.activity.log(level, text),
                        ListenerEffect::Rebuffer(event) => self.rebuffer(id, event),
                    }
                }
            }
        }
    }

    fn on_output_event(&mut self, event: OutputEvent) {
        let channel = event.channel;
        let process = event.process_name.to_string();
        let group = event.group_name.to_string();
        let data = event.data.to_vec();
        let event = match event.kind {
            OutputEventKind::Log => Event::ProcessLog {
                process,
                group,
                pid: event.pid,
                channel,
                data,
            },
            OutputEventKind::Communication => Event::ProcessCommunication {
                process,
                group,
                pid: event.pid,
                channel,
                data,
            },
        };
        self.emit(event);
    }

    fn on_signal(&mut self, signal: DaemonSignal) {
        match signal {
            DaemonSignal::Term | DaemonSignal::Int | DaemonSignal::Quit => {
                self.activity.warn(format!(
                    "received {} indicating exit request",
                    signal.name()
                ));
                self.begin_stopping(Outcome::Shutdown);
            }
            DaemonSignal::Hup => {
                if self.mood == Mood::Shutdown {
                    self.activity
                        .warn("ignored SIGHUP indicating restart request (shutdown in progress)");
                } else {
                    self.activity
                        .warn("received SIGHUP indicating restart request");
                    self.begin_stopping(Outcome::Restart);
                }
            }
            DaemonSignal::Usr2 => {
                self.activity
                    .info("received SIGUSR2 indicating log reopen request");
                self.activity.reopen();
                for proc in self.table.procs.values() {
                    if let Some(logs) = &proc.logs {
                        logs.reopen();
                    }
                }
            }
            DaemonSignal::Chld => {
                self.activity
                    .debug("received SIGCHLD indicating a child quit");
            }
        }
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        for timer in self.timers.pop_due(now) {
            match timer {
                Timer::Process(id) => {
                    if let Some(proc) = self.table.get_mut(id) {
                        proc.deadline = None;
                    }
                    self.feed(id, Input::Deadline);
                }
                Timer::StopReports => {
                    let ids: Vec<ProcId> = self
                        .waiters
                        .iter()
                        .flat_map(|w| match w {
                            Waiter::One { pending, .. } => vec![pending],
                            Waiter::Many { pending, .. } => pending.iter().collect(),
                        })
                        .filter(|p| p.wait_for == WaitFor::Stopped)
                        .map(|p| p.id)
                        .collect();
                    for id in ids {
                        self.feed(id, Input::StopWaitReport);
                    }
                    if has_stop_waiters(&self.waiters) {
                        self.timers.set(now + STOP_REPORT_TICK, Timer::StopReports);
                    }
                }
                Timer::ShutdownReport => self.report_unstopped(now),
                Timer::Tick => self.tick(),
            }
        }
    }

    /// TICK_5/60/3600 when a wall-clock period boundary has passed (the first boundary
    /// after start-up is the first event, as in the reference).
    fn tick(&mut self) {
        let now = epoch_seconds(wall_now());
        for period in [5_i64, 60, 3600] {
            let slice = now - now % period;
            if slice > self.last_tick - self.last_tick % period && self.last_tick != 0 {
                self.emit(Event::Tick {
                    period: period as u32,
                    when: slice,
                });
            }
        }
        self.last_tick = now;
        self.arm_tick();
    }

    fn arm_tick(&mut self) {
        let wall = wall_now();
        let now = epoch_seconds(wall);
        if self.last_tick == 0 {
            self.last_tick = now;
        }
        let next_boundary = now - now % 5 + 5;
        let since_epoch = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let wait = Duration::from_secs(next_boundary as u64).saturating_sub(since_epoch);
        self.timers.set(Instant::now() + wait, Timer::Tick);
    }

    // ----- waiting requests ----------------------------------------------------------

    /// The outcome of a waited-for process, or none while it is still on its way.
    fn settled(&self, pending: &Pending) -> Option<Result<(), Fault>> {
        let Some(proc) = self.table.get(pending.id) else {
            return Some(Err(Fault::BadName(pending.name.clone())));
        };
        let state = proc.state();
        match pending.wait_for {
            WaitFor::Running => {
                if proc.machine.spawn_error().is_some()
                    && matches!(state, ProcessState::Backoff | ProcessState::Fatal)
                {
                    return Some(Err(Fault::SpawnError(pending.name.clone())));
                }
                match state {
                    ProcessState::Running => Some(Ok(())),
                    ProcessState::Starting => None,
                    _ => Some(Err(Fault::AbnormalTermination(pending.name.clone()))),
                }
            }
            WaitFor::Stopped => state.is_stopped().then_some(Ok(())),
        }
    }

    fn settle_waiters(&mut self) {
        let waiters = std::mem::take(&mut self.waiters);
        for waiter in waiters {
            match waiter {
                Waiter::One { pending, reply } => match self.settled(&pending) {
                    Some(outcome) => {
                        let _ = reply.send(outcome);
                    }
                    None => self.waiters.push(Waiter::One { pending, reply }),
                },
                Waiter::Many {
                    pending,
                    mut results,
                    reply,
                } => {
                    let mut still = Vec::new();
                    for p in pending {
                        match self.settled(&p) {
                            Some(outcome) => results.push(ProcessResult {
                                name: p.process,
                                group: p.group,
                                outcome,
                            }),
                            None => still.push(p),
                        }
                    }
                    if still.is_empty() {
                        let _ = reply.send(Ok(results));
                    } else {
                        self.waiters.push(Waiter::Many {
                            pending: still,
                            results,
                            reply,
                        });
                    }
                }
            }
        }
    }

    fn wait_one(&mut self, pending: Pending, reply: Reply<()>) {
        match self.settled(&pending) {
            Some(outcome) => {
                let _ = reply.send(outcome);
            }
            None => {
                let stop = pending.wait_for == WaitFor::Stopped;
                let id = pending.id;
                self.waiters.push(Waiter::One { pending, reply });
                if stop {
                    self.feed(id, Input::StopWaitReport);
                    self.timers
                        .set(Instant::now() + STOP_REPORT_TICK, Timer::StopReports);
                }
            }
        }
    }

    /// Runs after every event: answers waiters whose condition is met and moves a
    /// shutdown forward. Returns the outcome once everything is stopped.
    fn after_step(&mut self) -> Option<Outcome> {
        if !self.waiters.is_empty() {
            self.settle_waiters();
        }
        self.dispatch_events();
        let stopping = self.stopping.as_ref()?;
        let outcome = stopping.outcome;
        if self.table.procs.values().all(|p| p.state().is_stopped()) {
            self.finish_waiters();
            return Some(outcome);
        }
        self.advance_stopping();
        None
    }

    fn finish_waiters(&mut self) {
        for waiter in std::mem::take(&mut self.waiters) {
            match waiter {
                Waiter::One { reply, .. } => {
                    let _ = reply.send(Err(Fault::ShutdownState));
                }
                Waiter::Many { reply, .. } => {
                    let _ = reply.send(Err(Fault::ShutdownState));
                }
            }
        }
    }

    // ----- shutdown and restart --------------------------------------------------------

    fn begin_stopping(&mut self, outcome: Outcome) {
        if self.stopping.is_some() {
            if outcome == Outcome::Shutdown {
                if let Some(s) = self.stopping.as_mut() {
                    s.outcome = Outcome::Shutdown;
                }
                self.set_mood(Mood::Shutdown);
            }
            return;
        }
        self.set_mood(match outcome {
            Outcome::Shutdown => Mood::Shutdown,
            Outcome::Restart => Mood::Restarting,
        });
        self.emit(Event::SupervisorStopping);
        let mut levels: Vec<i64> = self
            .table
            .groups
            .iter()
            .map(|g| g.config.priority)
            .collect();
        levels.sort_unstable();
        levels.dedup();
        self.stopping = Some(Stopping {
            outcome,
            levels,
            current: None,
            next_report: Instant::now(),
        });
        self.advance_stopping();
    }

    fn set_mood(&mut self, mood: Mood) {
        self.mood = mood;
        self.mood_tx.send_replace(mood);
    }

    /// Stops the highest remaining priority level (all its groups at once) once the
    /// level before it is fully stopped; repeats the group stop so that a process that
    /// was STARTING gets stopped too.
    fn advance_stopping(&mut self) {
        loop {
            let Some(stopping) = self.stopping.as_mut() else {
                return;
            };
            let level = match stopping.current {
                Some(level) => level,
                None => match stopping.levels.pop() {
                    Some(level) => {
                        stopping.current = Some(level);
                        level
                    }
                    None => break,
                },
            };
            let mut ids: Vec<ProcId> = self
                .table
                .groups
                .iter()
                .filter(|g| g.config.priority == level)
                .flat_map(|g| g.procs.iter().rev().copied())
                .collect();
            ids.dedup();
            for &id in &ids {
                self.feed(id, Input::GroupStop);
            }
            let done = ids
                .iter()
                .all(|id| self.table.get(*id).is_none_or(|p| p.state().is_stopped()));
            if !done {
                break;
            }
            if let Some(stopping) = self.stopping.as_mut() {
                stopping.current = None;
            }
        }
        let now = Instant::now();
        if self.stopping.as_ref().is_some_and(|s| now >= s.next_report) {
            self.report_unstopped(now);
        }
    }

    fn report_unstopped(&mut self, now: Instant) {
        let Some(stopping) = self.stopping.as_mut() else {
            return;
        };
        if now < stopping.next_report {
            self.timers.set(stopping.next_report, Timer::ShutdownReport);
            return;
        }
        stopping.next_report = now + SHUTDOWN_REPORT_INTERVAL;
        let unstopped: Vec<&Proc> = self
            .table
            .all_by_priority()
            .into_iter()
            .filter_map(|id| self.table.get(id))
            .filter(|p| !p.state().is_stopped())
            .collect();
        if unstopped.is_empty() {
            return;
        }
        let names: Vec<&str> = unstopped.iter().map(|p| p.machine.name()).collect();
        self.activity
            .info(format!("waiting for {} to die", names.join(", ")));
        if self.activity.enabled(LogLevel::Blather) {
            for p in &unstopped {
                self.activity
                    .blather(format!("{} state: {}", p.machine.name(), p.state().name()));
            }
        }
        let next = now + SHUTDOWN_REPORT_INTERVAL;
        self.timers.set(next, Timer::ShutdownReport);
    }

    // ----- requests ------------------------------------------------------------------

    fn check_mood(&self) -> Result<(), Fault> {
        if self.mood < Mood::Running {
            Err(Fault::ShutdownState)
        } else {
            Ok(())
        }
    }

    fn info(&self, id: ProcId) -> Option<ProcessInfo> {
        let proc = self.table.get(id)?;
        let m = &proc.machine;
        let now = epoch_seconds(wall_now());
        let start = m.last_start().map_or(0, |t| epoch_seconds(t.wall));
        let stop = m.last_stop().map_or(0, |t| epoch_seconds(t.wall));
        let spawnerr = m.spawn_error().unwrap_or("").to_string();
        let path_text = |p: Option<PathBuf>| p.map(|p| p.display().to_string()).unwrap_or_default();
        Some(ProcessInfo {
            name: m.name().to_string(),
            group: m.group().to_string(),
            start,
            stop,
            now,
            state: m.state(),
            description: describe(m.state(), m.name(), m.pid(), start, stop, now, &spawnerr),
            spawnerr,
            exitstatus: i64::from(m.exit_status().unwrap_or(0)),
            stdout_logfile: path_text(proc.logfile(false)),
            stderr_logfile: path_text(proc.logfile(true)),
            pid: m.pid(),
        })
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::ProcessInfo { name, reply } => {
                let answer = self.check_mood().and_then(|()| {
                    let id = self.table.process(&name)?;
                    self.info(id).ok_or(Fault::BadName(name))
                });
                let _ = reply.send(answer);
            }
            Command::AllProcessInfo { reply } => {
                let answer = self.check_mood().map(|()| {
                    self.table
                        .all_lexical()
                        .into_iter()
                        .filter_map(|id| self.info(id))
                        .collect()
                });
                let _ = reply.send(answer);
            }
            Command::AllConfigInfo { reply } => {
                let _ = reply.send(self.check_mood().map(|()| self.config_info()));
            }
            Command::StartProcess { name, wait, reply } => {
                self.change_one(name, wait, WaitFor::Running, reply)
            }
            Command::StartGroup { group, wait, reply } => {
                self.start_many(self.members(Some(&group)), wait, reply)
            }
            Command::StartAll { wait, reply } => self.start_many(self.members(None), wait, reply),
            Command::StopProcess { name, wait, reply } => {
                self.change_one(name, wait, WaitFor::Stopped, reply)
            }
            Command::StopGroup { group, wait, reply } => {
                self.stop_many(self.members(Some(&group)), wait, reply)
            }
            Command::StopAll { wait, reply } => self.stop_many(self.members(None), wait, reply),
            Command::SignalProcess {
                name,
                signal,
                reply,
            } => {
                let answer = self
                    .check_mood()
                    .and_then(|()| self.table.process(&name))
                    .and_then(|id| self.signal_one(id, &name, &signal));
                let _ = reply.send(answer);
            }
            Command::SignalGroup {
                group,
                signal,
                reply,
            } => {
                let answer = self
                    .members(Some(&group))
                    .map(|ids| self.signal_many(ids, &signal));
                let _ = reply.send(answer);
            }
            Command::SignalAll { signal, reply } => {
                let ids = self.table.all_by_priority();
                let results = self.signal_many(ids, &signal);
                let _ = reply.send(self.check_mood().map(|()| results));
            }
            Command::SendStdin { name, data, reply } => {
                let answer = self
                    .check_mood()
                    .and_then(|()| self.table.process(&name))
                    .and_then(|id| self.send_stdin(id, &name, data));
                let _ = reply.send(answer);
            }
            Command::SendRemoteCommEvent { kind, data, reply } => {
                self.emit(Event::RemoteCommunication { kind, data });
                let _ = reply.send(Ok(()));
            }
            Command::LogFile {
                name,
                channel,
                reply,
            } => self.log_file(name, channel, reply),
            Command::MainLogFile { reply } => {
                let _ = reply.send(self.check_mood().map(|()| self.activity.path()));
            }
            Command::ClearProcessLogs { name, reply } => {
                match self.check_mood().and_then(|()| self.table.process(&name)) {
                    Ok(id) => self.clear_logs(id, reply),
                    Err(fault) => {
                        let _ = reply.send(Err(fault));
                    }
                }
            }
            Command::ClearAllProcessLogs { reply } => match self.check_mood() {
                Ok(()) => {
                    let ids = self.table.all_by_priority();
                    self.clear_all_logs(ids, reply);
                }
                Err(fault) => {
                    let _ = reply.send(Err(fault));
                }
            },
            Command::ClearMainLog { reply } => match self.check_mood() {
                Ok(()) => {
                    let activity = self.activity.clone();
                    tokio::spawn(async move {
                        let answer = activity.clear().await.map_err(|e| match e {
                            crate::log::activity::ClearLogError::NoFile => {
                                Fault::NoFile(String::new())
                            }
                            crate::log::activity::ClearLogError::Failed(_) => {
                                Fault::Failed(String::new())
                            }
                        });
                        let _ = reply.send(answer);
                    });
                }
                Err(fault) => {
                    let _ = reply.send(Err(fault));
                }
            },
            Command::ReloadConfig { reply } => {
                let answer = self.check_mood().and_then(|()| self.reload_config());
                let _ = reply.send(answer);
            }
            Command::AddGroup { name, reply } => {
                let answer = self
                    .check_mood()
                    .and_then(|()| self.add_stored_group(&name));
                let _ = reply.send(answer);
            }
            Command::RemoveGroup { name, reply } => {
                let answer = self.check_mood().and_then(|()| self.remove_group(&name));
                let _ = reply.send(answer);
            }
            Command::Shutdown { reply } => {
                let answer = self.check_mood();
                if answer.is_ok() {
                    self.begin_stopping(Outcome::Shutdown);
                }
                let _ = reply.send(answer);
            }
            Command::Restart { reply } => {
                let answer = self.check_mood();
                if answer.is_ok() {
                    self.begin_stopping(Outcome::Restart);
                }
                let _ = reply.send(answer);
            }
        }
    }

    /// The processes a group or "all" request covers, in priority order: those of
    /// `group`, or every process for `None`; SHUTDOWN_STATE or BAD_NAME otherwise.
    fn members(&self, group: Option<&str>) -> Result<Vec<ProcId>, Fault> {
        self.check_mood()?;
        match group {
            None => Ok(self.table.all_by_priority()),
            Some(name) => self
                .table
                .group_index(name)
                .map(|index| self.table.groups[index].procs.clone())
                .ok_or_else(|| Fault::BadName(name.to_string())),
        }
    }

    fn pending(&self, id: ProcId, name: &str, wait_for: WaitFor) -> Option<Pending> {
        let proc = self.table.get(id)?;
        Some(Pending {
            id,
            wait_for,
            name: name.to_string(),
            process: proc.machine.name().to_string(),
            group: proc.machine.group().to_string(),
        })
    }

    /// startProcess without the name resolution: command pre-check, state checks, the
    /// start itself. `Ok(true)` means started and settled, `Ok(false)` still STARTING.
    fn start_checked(&mut self, id: ProcId, name: &str) -> Result<bool, Fault> {
        let Some(proc) = self.table.get(id) else {
            return Err(Fault::BadName(name.to_string()));
        };
        let config = Arc::clone(proc.machine.config());
        if let Err(e) = os::resolve(&config.command, self.search_path(&config)) {
            return Err(if e.is_not_found() {
                Fault::NoFile(e.to_string())
            } else {
                Fault::NotExecutable(e.to_string())
            });
        }
        match proc.state() {
            ProcessState::Starting | ProcessState::Running | ProcessState::Backoff => {
                return Err(Fault::AlreadyStarted(name.to_string()))
            }
            ProcessState::Unknown => {
                return Err(Fault::Failed(format!(
                    "{name} is in an unknown process state"
                )))
            }
            ProcessState::Stopped
            | ProcessState::Stopping
            | ProcessState::Exited
            | ProcessState::Fatal => {}
        }
        self.feed(id, Input::Start);
        // The reference runs the process's transition right after the spawn, inside
        // the request: with startsecs=0 it is RUNNING before its exit can be reaped.
        self.fire_due_deadline(id);
        let Some(proc) = self.table.get(id) else {
            return Err(Fault::BadName(name.to_string()));
        };
        if proc.machine.spawn_error().is_some() {
            return Err(Fault::SpawnError(name.to_string()));
        }
        Ok(proc.state() == ProcessState::Running)
    }

    /// startProcess (`wait_for` RUNNING) or stopProcess (`wait_for` stopped) of one
    /// process: mood and name checks, the change, then the optional wait.
    fn change_one(&mut self, name: String, wait: bool, wait_for: WaitFor, reply: Reply<()>) {
        let checked = self
            .check_mood()
            .and_then(|()| self.table.process(&name))
            .and_then(|id| {
                let settled = match wait_for {
                    WaitFor::Running => self.start_checked(id, &name)?,
                    WaitFor::Stopped => self.stop_checked(id, &name)?,
                };
                Ok((id, settled))
            });
        match checked {
            Err(fault) => {
                let _ = reply.send(Err(fault));
            }
            Ok((_, true)) => {
                let _ = reply.send(Ok(()));
            }
            Ok((_, false)) if !wait => {
                let _ = reply.send(Ok(()));
            }
            Ok((id, false)) => match self.pending(id, &name, wait_for) {
                Some(pending) => self.wait_one(pending, reply),
                None => {
                    let _ = reply.send(Err(Fault::BadName(name)));
                }
            },
        }
    }

    fn namespec_of(&self, id: ProcId) -> String {
        self.table
            .get(id)
            .map(|p| super::api::namespec(p.machine.group(), p.machine.name()))
            .unwrap_or_default()
    }

    fn result(&self, id: ProcId, outcome: Result<(), Fault>) -> ProcessResult {
        let (name, group) = self
            .table
            .get(id)
            .map(|p| (p.machine.name().to_string(), p.machine.group().to_string()))
            .unwrap_or_default();
        ProcessResult {
            name,
            group,
            outcome,
        }
    }

    /// The reference's `make_allfunc` for starts: every process not already started is
    /// started in order; immediate faults come first in the results, then completions
    /// as they happen.
    fn start_many(
        &mut self,
        ids: Result<Vec<ProcId>, Fault>,
        wait: bool,
        reply: Reply<Vec<ProcessResult>>,
    ) {
        let ids = match ids {
            Ok(ids) => ids,
            Err(fault) => {
                let _ = reply.send(Err(fault));
                return;
            }
        };
        let mut results = Vec::new();
        let mut pending = Vec::new();
        for id in ids {
            let Some(proc) = self.table.get(id) else {
                continue;
            };
            if proc.state().is_running() {
                continue;
            }
            let name = self.namespec_of(id);
            match self.start_checked(id, &name) {
                Err(fault) => results.push(self.result(id, Err(fault))),
                Ok(settled) if settled || !wait => {
                    pending.push((id, name, true));
                }
                Ok(_) => pending.push((id, name, false)),
            }
        }
        let mut waiting = Vec::new();
        for (id, name, done) in pending {
            if done {
                results.push(self.result(id, Ok(())));
            } else if let Some(p) = self.pending(id, &name, WaitFor::Running) {
                waiting.push(p);
            }
        }
        self.wait_many(waiting, results, reply);
    }

    fn wait_many(
        &mut self,
        pending: Vec<Pending>,
        results: Vec<ProcessResult>,
        reply: Reply<Vec<ProcessResult>>,
    ) {
        if pending.is_empty() {
            let _ = reply.send(Ok(results));
            return;
        }
        let stops: Vec<ProcId> = pending
            .iter()
            .filter(|p| p.wait_for == WaitFor::Stopped)
            .map(|p| p.id)
            .collect();
        self.waiters.push(Waiter::Many {
            pending,
            results,
            reply,
        });
        if !stops.is_empty() {
            for id in stops {
                self.feed(id, Input::StopWaitReport);
            }
            self.timers
                .set(Instant::now() + STOP_REPORT_TICK, Timer::StopReports);
        }
    }

    /// stopProcess without the name resolution. `Ok(true)` means stopped already.
    fn stop_checked(&mut self, id: ProcId, name: &str) -> Result<bool, Fault> {
        let Some(proc) = self.table.get(id) else {
            return Err(Fault::BadName(name.to_string()));
        };
        if !proc.machine.can_stop() {
            return Err(Fault::NotRunning(name.to_string()));
        }
        if let Some(message) = self.feed(id, Input::Stop) {
            return Err(Fault::Failed(message));
        }
        Ok(self.table.get(id).is_none_or(|p| p.state().is_stopped()))
    }

    fn stop_many(
        &mut self,
        ids: Result<Vec<ProcId>, Fault>,
        wait: bool,
        reply: Reply<Vec<ProcessResult>>,
    ) {
        let ids = match ids {
            Ok(ids) => ids,
            Err(fault) => {
                let _ = reply.send(Err(fault));
                return;
            }
        };
        let mut results = Vec::new();
        let mut waiting = Vec::new();
        for id in ids {
            let Some(proc) = self.table.get(id) else {
                continue;
            };
            if !proc.state().is_running() {
                continue;
            }
            let name = self.namespec_of(id);
            match self.stop_checked(id, &name) {
                Err(fault) => results.push(self.result(id, Err(fault))),
                Ok(true) => results.push(self.result(id, Ok(()))),
                Ok(false) if !wait => results.push(self.result(id, Ok(()))),
                Ok(false) => {
                    if let Some(p) = self.pending(id, &name, WaitFor::Stopped) {
                        waiting.push(p);
                    }
                }
            }
        }
        self.wait_many(waiting, results, reply);
    }

    fn signal_one(&mut self, id: ProcId, name: &str, signal: &str) -> Result<(), Fault> {
        let number = crate::config::value::signal_number(signal)
            .map_err(|_| Fault::BadSignal(signal.to_string()))?;
        let Some(proc) = self.table.get(id) else {
            return Err(Fault::BadName(name.to_string()));
        };
        if !proc.machine.can_signal() {
            return Err(Fault::NotRunning(name.to_string()));
        }
        match self.feed(id, Input::Signal { signal: number }) {
            Some(message) => Err(Fault::Failed(message)),
            None => Ok(()),
        }
    }

    fn signal_many(&mut self, ids: Vec<ProcId>, signal: &str) -> Vec<ProcessResult> {
        let mut results = Vec::new();
        for id in ids {
            if !self.table.get(id).is_some_and(|p| p.machine.can_signal()) {
                continue;
            }
            let name = self.namespec_of(id);
            let outcome = self.signal_one(id, &name, signal);
            results.push(self.result(id, outcome));
        }
        results
    }

    fn send_stdin(&mut self, id: ProcId, name: &str, data: Vec<u8>) -> Result<(), Fault> {
        let Some(proc) = self.table.get(id) else {
            return Err(Fault::BadName(name.to_string()));
        };
        if proc.machine.pid() == 0 || proc.machine.killing() {
            return Err(Fault::NotRunning(name.to_string()));
        }
        self.write_stdin(id, data)
            .map_err(|()| Fault::NoFile(name.to_string()))
    }

    /// Queues bytes for a child's stdin and writes what the pipe takes now; an error
    /// means the pipe is closed.
    fn write_stdin(&mut self, id: ProcId, data: Vec<u8>) -> Result<(), ()> {
        let Some(stdin) = self.stdins.get_mut(&id) else {
            return Err(());
        };
        let idle = stdin.backlog.is_empty();
        stdin.backlog.extend_from_slice(&data);
        if idle {
            return self.flush_stdin_now(id);
        }
        Ok(())
    }

    /// Writes as much of the backlog as the pipe takes now; the rest waits for the pipe
    /// to become writable. EPIPE (or any other error) closes our end.
    fn flush_stdin_now(&mut self, id: ProcId) -> Result<(), ()> {
        let Some(stdin) = self.stdins.get_mut(&id) else {
            return Err(());
        };
        while !stdin.backlog.is_empty() {
            match nix::unistd::write(stdin.fd.get_ref(), &stdin.backlog) {
                Ok(n) => {
                    stdin.backlog.drain(..n);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => {
                    let fd = Arc::clone(&stdin.fd);
                    let internal = self.internal_tx.clone();
                    tokio::spawn(async move {
                        if let Ok(mut guard) = fd.writable().await {
                            guard.clear_ready();
                        }
                        let _ = internal.send(Internal::StdinWritable { id });
                    });
                    return Ok(());
                }
                Err(_) => {
                    self.stdins.remove(&id);
                    return Err(());
                }
            }
        }
        Ok(())
    }

    fn flush_stdin(&mut self, id: ProcId) {
        let _ = self.flush_stdin_now(id);
    }

    fn log_file(&mut self, name: String, channel: Channel, reply: Reply<Option<PathBuf>>) {
        let id = match self.check_mood().and_then(|()| self.table.process(&name)) {
            Ok(id) => id,
            Err(fault) => {
                let _ = reply.send(Err(fault));
                return;
            }
        };
        let Some(proc) = self.table.get(id) else {
            let _ = reply.send(Err(Fault::BadName(name)));
            return;
        };
        let stderr = channel == Channel::Stderr;
        let path = proc.logfile(stderr);
        let stream = proc.logs.as_ref().and_then(|logs| {
            logs.channel(if stderr {
                Channel::Stderr
            } else {
                Channel::Stdout
            })
            .cloned()
        });
        match stream {
            None => {
                let _ = reply.send(Ok(path));
            }
            Some(stream) => {
                tokio::spawn(async move {
                    stream.flush().await;
                    let _ = reply.send(Ok(path));
                });
            }
        }
    }

    /// Log files are open only while the process runs; clearing a stopped process's
    /// logs has nothing to do and still succeeds, as in the reference.
    fn clear_logs(&mut self, id: ProcId, reply: Reply<()>) {
        let Some(logs) = self.table.get(id).and_then(|p| p.logs.clone()) else {
            let _ = reply.send(Ok(()));
            return;
        };
        tokio::spawn(async move {
            let answer = logs.clear().await.map_err(|e| Fault::Failed(e.to_string()));
            let _ = reply.send(answer);
        });
    }

    fn clear_all_logs(&mut self, ids: Vec<ProcId>, reply: Reply<Vec<ProcessResult>>) {
        let work: Vec<(ProcessResult, Option<ProcessLogs>)> = ids
            .into_iter()
            .map(|id| {
                (
                    self.result(id, Ok(())),
                    self.table.get(id).and_then(|p| p.logs.clone()),
                )
            })
            .collect();
        tokio::spawn(async move {
            let mut results = Vec::new();
            for (mut result, logs) in work {
                if let Some(logs) = logs {
                    if let Err(e) = logs.clear().await {
                        result.outcome = Err(Fault::Failed(e.to_string()));
                    }
                }
                results.push(result);
            }
            let _ = reply.send(Ok(results));
        });
    }

    /// getAllConfigInfo: the stored configuration. A group activated from it (at
    /// start-up, or added since the last reread) shows its AUTO logs resolved, because
    /// the reference names them by changing that very configuration object.
    fn config_info(&self) -> Vec<ConfigInfo> {
        let mut infos: Vec<ConfigInfo> = Vec::new();
        for group in &self.stored.groups {
            let active = self.table.group_index(&group.name);
            let resolved = active.filter(|_| self.from_stored.contains(&group.name));
            for process in &group.processes {
                let mut process = process.clone();
                let running = resolved.and_then(|index| {
                    self.table.groups[index]
                        .procs
                        .iter()
                        .filter_map(|id| self.table.get(*id))
                        .find(|p| p.machine.name() == process.name)
                });
                if let Some(running) = running {
                    for (channel, stderr) in
                        [(&mut process.stdout, false), (&mut process.stderr, true)]
                    {
                        if channel.logfile == LogFile::Auto {
                            if let Some(path) = running.logfile(stderr) {
                                channel.logfile = LogFile::Path(path);
                            }
                        }
                    }
                }
                infos.push(ConfigInfo {
                    group: group.name.clone(),
                    group_prio: group.priority,
                    inuse: active.is_some(),
                    process,
                });
            }
        }
        infos.sort_by(|a, b| a.process.name.cmp(&b.process.name));
        infos
    }

    fn reload_config(&mut self) -> Result<ConfigChanges, Fault> {
        let Some(source) = &self.source else {
            return Err(Fault::CantReread(
                "this supervisor was configured in code, not from a file".to_string(),
            ));
        };
        let config = load(&source.path, &source.options).map_err(|errors: ConfigErrors| {
            Fault::CantReread(
                errors
                    .errors()
                    .first()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
            )
        })?;
        let running: Vec<GroupConfig> = (0..self.table.groups.len())
            .map(|index| self.table.running_config(index))
            .collect();
        let changes = diff::diff(&running, &config);
        self.stored = config;
        self.from_stored.clear();
        Ok(ConfigChanges {
            added: changes.added,
            changed: changes.changed,
            removed: changes.removed,
        })
    }

    fn add_stored_group(&mut self, name: &str) -> Result<(), Fault> {
        let Some(config) = self.stored.group(name).cloned() else {
            return Err(Fault::BadName(name.to_string()));
        };
        if self.table.group_index(name).is_some() {
            return Err(Fault::AlreadyAdded(name.to_string()));
        }
        self.from_stored.insert(name.to_string());
        let ids = self.add_group(config);
        for id in ids {
            self.feed(id, Input::AutoStart);
        }
        Ok(())
    }

    fn remove_group(&mut self, name: &str) -> Result<(), Fault> {
        let index = self
            .table
            .group_index(name)
            .ok_or_else(|| Fault::BadName(name.to_string()))?;
        let ids = self.table.groups[index].procs.clone();
        if ids
            .iter()
            .any(|id| self.table.get(*id).is_some_and(|p| !p.state().is_stopped()))
        {
            return Err(Fault::StillRunning(name.to_string()));
        }
        for id in ids {
            self.set_deadline(id, None);
            self.stdins.remove(&id);
            self.listeners.remove(&id);
            self.table.procs.remove(&id);
        }
        self.table.groups.remove(index);
        self.pools.retain(|p| p.group != name);
        self.from_stored.remove(name);
        self.emit(Event::ProcessGroupRemoved {
            group: name.to_string(),
        });
        Ok(())
    }
}

fn has_stop_waiters(waiters: &[Waiter]) -> bool {
    waiters.iter().any(|w| match w {
        Waiter::One { pending, .. } => pending.wait_for == WaitFor::Stopped,
        Waiter::Many { pending, .. } => pending.iter().any(|p| p.wait_for == WaitFor::Stopped),
    })
}
