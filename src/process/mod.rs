//! The one per-process state machine of supervisord, as a pure function of its inputs.
//!
//! Owns `Process` (the bookkeeping of one supervised process), `ProcessState` with
//! the reference's codes, and `ExitStatus` decoding. Must not touch I/O, tokio, nix or
//! the clock: the caller passes the time in every `Ctx`, and the machine answers with
//! `Effect`s for the caller to carry out. The control-plane texts built from this data
//! (the `description` of `getProcessInfo`, fault strings) are formatted elsewhere.
//!
//! # Protocol for the core
//!
//! The core owns every `Process`, one timer per process, and feeds `Input`s through
//! `Process::on`. It executes the returned effects **in order**:
//!
//! * `Effect::Spawn`: resolve the command, make the pipes and fork. Before any other
//!   input for this process, feed back `Input::Spawned` with the child's pid (registered
//!   with the reaper first), or `Input::SpawnFailed` with the reference's message
//!   (`can't find command 'x'`, `Too many processes in process table to spawn 'x'`, …).
//!   Between the two the process is STARTING with pid 0. `Spawn` is always the last
//!   effect of its list.
//! * `Effect::Kill`: `kill(pid, signal)`, or `kill(-pid, signal)` when `to_group`.
//!   If it fails, feed back `Input::KillFailed` at once with the same `pid` and `kind`
//!   (`ESRCH` → `KillError::NoSuchProcess`, anything else → `KillError::Other`).
//! * `Effect::ArmDeadline`: (re)set this process's timer; it replaces any earlier one.
//!   When it fires, feed `Input::Deadline` with a `now` at or after the instant.
//!   `Effect::CancelDeadline`: drop the timer. A stale or early `Deadline` is harmless
//!   (ignored, or the deadline is armed again).
//! * `Effect::Transition`: emit `PROCESS_STATE_<to>`; the effect carries the pid, tries
//!   and expected values of that moment, because the `Process` may already have moved on.
//! * `Effect::Log`: write the line to the activity log.
//! * `Effect::Refused`: the request being handled (a `Stop` or `Signal`, or the kill it
//!   caused) failed with this message, which the RPC layer reports as a FAILED fault. No
//!   request waiting → nothing to do.
//!
//! Other inputs: `Input::Exited` when the reaper collects this process's pid;
//! `Input::AutoStart` once for each process when it is created (start-up, after a
//! restart, when a group is added), in start order; `Input::Start` / `Input::Stop` /
//! `Input::Signal` for RPC requests the RPC layer has already validated with
//! `Process::can_start`, `Process::can_stop` and `Process::can_signal`;
//! `Input::GroupStop` for every process of the group being stopped, repeatedly while
//! shutting down; `Input::StopWaitReport` while an RPC stop waits (the machine
//! throttles the line to one per two seconds, so any cadence works).
//!
//! `Ctx::automatic_starts` is false from the moment shutdown or restart begins: no
//! autostart, autorestart or backoff retry then, while STARTING→RUNNING, BACKOFF→FATAL
//! and the SIGKILL escalation go on.
//!
//! # Differences from the reference
//!
//! * Deadlines replace the once-a-second poll: BACKOFF→FATAL happens as soon as the last
//!   allowed start has failed, EXITED autorestart spawns within the same step — up to a
//!   burst of ten in a row, then one a second, which keeps the reference's restart rate
//!   of a program that exits at once — and a
//!   process whose stop signal is ignored gets SIGKILL every `max(stopwaitsecs, 1)`
//!   seconds (the reference re-sends on every loop pass, at least once a second).
//! * Decisions use a monotonic clock, so the reference's clock-rollback adjustments and
//!   its "laststart time is in the future" warning have no counterpart.
//! * Where the reference would fail an internal assertion (an exit reaped in UNKNOWN, a
//!   stop or signal for an UNKNOWN process that still has a pid), the machine records the
//!   exit or ignores the request instead.
//! * `administrative_stop`/`system_stop` are not kept: nothing in the reference reads them.

mod exit;
mod state;

pub use exit::ExitStatus;
pub use state::ProcessState;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::config::{AutoRestart, LogLevel, ProcessConfig, Signal};

/// `spawnerr` after an exit before `startsecs`.
pub(crate) const EXITED_TOO_QUICKLY: &str = "Exited too quickly (process log may have details)";

/// Seconds between two "waiting for x to stop" lines.
const STOP_REPORT_INTERVAL: Duration = Duration::from_secs(2);
/// Autorestarts from EXITED granted at once in a row (a few crashes, an operator's
/// `kill -9`s) before they are paced.
const RESTART_BURST: u32 = 10;
/// The sustained pace of autorestarts beyond the burst: one a second per process, the
/// rate the reference's one-second loop gives a program that exits as soon as it starts.
const RESTART_PACE: Duration = Duration::from_secs(1);
/// Shortest gap between two SIGKILLs to a child that does not die.
const MIN_KILL_INTERVAL: Duration = Duration::from_secs(1);
/// Delay added when a STARTING deadline fires at exactly `startsecs`: RUNNING needs
/// strictly more.
const STRICTLY_AFTER: Duration = Duration::from_millis(1);

/// What the machine needs to know about the world at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ctx {
    /// Monotonic time, for every decision.
    pub now: Instant,
    /// Wall-clock time of the same moment, only stored for reporting.
    pub wall: SystemTime,
    /// False while supervisord shuts down or restarts: no automatic (re)starts then.
    pub automatic_starts: bool,
}

/// Something that happened to a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// Manual start (RPC `startProcess`, web UI).
    Start,
    /// Start-up: spawns only a never-started STOPPED process with `autostart=true`.
    AutoStart,
    /// Manual stop (RPC `stopProcess` and the group/all variants): BACKOFF becomes
    /// STOPPED at once; STARTING/RUNNING get the stop signal.
    Stop,
    /// Group stop during shutdown/restart: STARTING/RUNNING get the stop signal,
    /// BACKOFF gives up (FATAL), the rest is left alone.
    GroupStop,
    /// RPC `signalProcess`: send `signal` to the pid, without any state change.
    Signal {
        /// The signal to send.
        signal: Signal,
    },
    /// The fork asked for by [`Effect::Spawn`] succeeded.
    Spawned {
        /// The child's pid.
        pid: u32,
    },
    /// The spawn asked for by [`Effect::Spawn`] failed in the parent.
    SpawnFailed {
        /// The reference's message, stored as `spawnerr`.
        message: String,
    },
    /// The reaper collected this process's child.
    Exited {
        /// How it ended.
        status: ExitStatus,
    },
    /// The deadline last armed has been reached.
    Deadline,
    /// A kill asked for by [`Effect::Kill`] failed.
    KillFailed {
        /// The pid the kill was for.
        pid: u32,
        /// The `kind` of that kill.
        kind: KillKind,
        /// What went wrong.
        error: KillError,
    },
    /// An RPC stop is still waiting: log `waiting for <name> to stop` (throttled).
    StopWaitReport,
}

/// Why a signal is sent: the texts of a failure differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillKind {
    /// The stop signal or the SIGKILL escalation.
    Stop,
    /// An RPC `signalProcess`.
    Signal,
}

/// A failed `kill(2)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KillError {
    /// `ESRCH`: the child is already gone; the reaper will report it.
    NoSuchProcess(String),
    /// Any other error; the process goes UNKNOWN.
    Other(String),
}

/// Something the core must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Spawn the process, then feed back `Spawned` or `SpawnFailed`.
    Spawn,
    /// Send a signal.
    Kill {
        /// The child's pid.
        pid: u32,
        /// The signal.
        signal: Signal,
        /// Send it to the process group `-pid` instead.
        to_group: bool,
        /// Echo this in `KillFailed`.
        kind: KillKind,
    },
    /// Set the process's timer to this instant, replacing any previous one.
    ArmDeadline(Instant),
    /// Drop the process's timer.
    CancelDeadline,
    /// The state changed: emit `PROCESS_STATE_<to>`.
    Transition {
        /// State before.
        from: ProcessState,
        /// State after.
        to: ProcessState,
        /// The pid at that moment (0 if none): the `pid:` of the event.
        pid: u32,
        /// The backoff counter at that moment: the `tries:` of STARTING/BACKOFF events.
        tries: u32,
        /// The `expected:` of an EXITED event (true for every other state).
        expected: bool,
    },
    /// Write an activity-log line.
    Log {
        /// Its level.
        level: LogLevel,
        /// Its exact text.
        text: String,
    },
    /// The request failed with this message (RPC fault FAILED).
    Refused {
        /// The reference's message.
        message: String,
    },
}

/// A moment recorded on both clocks: monotonic for decisions, wall clock for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moment {
    /// Monotonic time.
    pub instant: Instant,
    /// Wall-clock time.
    pub wall: SystemTime,
}

impl Moment {
    fn of(ctx: &Ctx) -> Moment {
        Moment {
            instant: ctx.now,
            wall: ctx.wall,
        }
    }
}

/// The bookkeeping of one supervised process.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    group: String,
    config: Arc<ProcessConfig>,
    state: ProcessState,
    pid: u32,
    last_start: Option<Moment>,
    last_stop: Option<Moment>,
    last_stop_report: Option<Instant>,
    /// When the autorestarts granted so far are paid off at [`RESTART_PACE`] each (the
    /// theoretical arrival time of the generic cell rate algorithm).
    restarts_paid_at: Option<Instant>,
    backoff: u32,
    deadline: Option<Instant>,
    killing: bool,
    exit_status: Option<i32>,
    spawn_error: Option<String>,
}

impl Process {
    /// A never-started, STOPPED process of group `group`.
    pub fn new(group: impl Into<String>, config: Arc<ProcessConfig>) -> Process {
        Process {
            group: group.into(),
            config,
            state: ProcessState::Stopped,
            pid: 0,
            last_start: None,
            last_stop: None,
            last_stop_report: None,
            restarts_paid_at: None,
            backoff: 0,
            deadline: None,
            killing: false,
            exit_status: None,
            spawn_error: None,
        }
    }

    /// The process name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The group name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Arc<ProcessConfig> {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> ProcessState {
        self.state
    }

    /// The child's pid, 0 when there is none.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// When it was last started (`start` of `getProcessInfo`); none if never.
    pub fn last_start(&self) -> Option<Moment> {
        self.last_start
    }

    /// When its child was last reaped (`stop` of `getProcessInfo`); none if never.
    pub fn last_stop(&self) -> Option<Moment> {
        self.last_stop
    }

    /// Failed starts in a row (`tries`).
    #[cfg(test)]
    pub fn backoff(&self) -> u32 {
        self.backoff
    }

    /// The deadline currently armed, if any.
    #[cfg(test)]
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// A stop or SIGKILL has been sent and the child not reaped yet; the reference's
    /// `sendProcessStdin` refuses to write then.
    pub fn killing(&self) -> bool {
        self.killing
    }

    /// The last exit status (-1 for a signal death); none before the first exit, after an
    /// exit before `startsecs`, and from each new start on.
    pub fn exit_status(&self) -> Option<i32> {
        self.exit_status
    }

    /// The last spawn error (`spawnerr`), e.g. [`EXITED_TOO_QUICKLY`].
    pub fn spawn_error(&self) -> Option<&str> {
        self.spawn_error.as_deref()
    }

    /// A [`Input::Start`] would spawn it: STOPPED, EXITED or FATAL. The reference's RPC
    /// refuses the rest: ALREADY_STARTED in RUNNING states, FAILED (`<name> is in an
    /// unknown process state`) in UNKNOWN; a STOPPING process gets the `already running`
    /// warning from `Start` and the request ends in ABNORMAL_TERMINATION.
    #[cfg(test)]
    pub fn can_start(&self) -> bool {
        matches!(
            self.state,
            ProcessState::Stopped | ProcessState::Exited | ProcessState::Fatal
        )
    }

    /// A [`Input::Stop`] is accepted (else the RPC fault is NOT_RUNNING).
    pub fn can_stop(&self) -> bool {
        self.state.is_running()
    }

    /// A [`Input::Signal`] is accepted (else the RPC fault is NOT_RUNNING).
    pub fn can_signal(&self) -> bool {
        self.state.is_signallable()
    }

    /// Feed one input; returns what the core must do, in order.
    pub fn on(&mut self, input: Input, ctx: &Ctx) -> Vec<Effect> {
        use Input as I;
        use ProcessState as S;
        let mut fx = Vec::new();
        match (self.state, input) {
            (S::Stopped | S::Exited | S::Fatal | S::Backoff, I::Start) => self.spawn(ctx, &mut fx),
            (S::Starting | S::Running | S::Stopping | S::Unknown, I::Start) => {
                // Pid 0 here is STARTING between Spawn and its answer, or UNKNOWN after
                // the reap: the reference never spawns from either.
                if self.pid != 0 {
                    self.log(
                        &mut fx,
                        LogLevel::Warn,
                        format!("process '{}' already running", self.name()),
                    );
                }
            }

            (S::Stopped, I::AutoStart) => {
                if self.last_start.is_none() && self.config.autostart && ctx.automatic_starts {
                    self.spawn(ctx, &mut fx);
                }
            }
            // Only a never-started process autostarts, and that one is STOPPED.
            (
                S::Starting
                | S::Running
                | S::Backoff
                | S::Stopping
                | S::Exited
                | S::Fatal
                | S::Unknown,
                I::AutoStart,
            ) => {}

            (S::Starting | S::Running, I::Stop | I::GroupStop) => self.stop(ctx, &mut fx),
            (S::Backoff, I::Stop) => {
                self.last_stop_report = None;
                let text = format!(
                    "Attempted to kill {}, which is in BACKOFF state.",
                    self.name()
                );
                self.log(&mut fx, LogLevel::Debug, text);
                self.disarm(&mut fx);
                self.enter(S::Stopped, true, ctx, &mut fx);
            }
            (S::Backoff, I::GroupStop) => self.give_up(ctx, &mut fx),
            (S::Stopped | S::Exited | S::Fatal, I::Stop) => self.stop(ctx, &mut fx),
            (S::Unknown, I::Stop) => {
                // With a pid left, the reference would fail an assertion; its RPC never
                // gets here (UNKNOWN is not a running state).
                if self.pid == 0 {
                    self.stop(ctx, &mut fx);
                }
            }
            // Already stopping: the SIGKILL timer runs on. The reference's callers never
            // stop a STOPPING process (RPC answers NOT_RUNNING, stop_all skips it).
            (S::Stopping, I::Stop) => {}
            (S::Stopped | S::Stopping | S::Exited | S::Fatal | S::Unknown, I::GroupStop) => {}

            // Without a child this is the reference's `wasn't running` refusal.
            (
                S::Stopped
                | S::Starting
                | S::Running
                | S::Backoff
                | S::Stopping
                | S::Exited
                | S::Fatal,
                I::Signal { signal },
            ) => self.send_signal(signal, &mut fx),
            (S::Unknown, I::Signal { signal }) => {
                // As for Stop: the reference asserts when a pid is left.
                if self.pid == 0 {
                    self.send_signal(signal, &mut fx);
                }
            }

            (S::Starting, I::Spawned { pid }) => {
                // A pid already recorded means this answers no pending Spawn.
                if self.pid == 0 {
                    self.spawned(pid, &mut fx);
                }
            }
            (S::Starting, I::SpawnFailed { message }) => {
                if self.pid == 0 {
                    self.log(&mut fx, LogLevel::Info, format!("spawnerr: {message}"));
                    self.spawn_error = Some(message);
                    self.enter(S::Backoff, true, ctx, &mut fx);
                }
            }
            // Only ever sent right after Spawn, which leaves the process STARTING.
            (
                S::Stopped
                | S::Running
                | S::Backoff
                | S::Stopping
                | S::Exited
                | S::Fatal
                | S::Unknown,
                I::Spawned { .. } | I::SpawnFailed { .. },
            ) => {}

            (S::Starting, I::Exited { status }) => {
                if self.pid != 0 {
                    self.exited_while_starting(status, ctx, &mut fx);
                }
            }
            (S::Running, I::Exited { status }) => self.exited(status, ctx, &mut fx),
            (S::Stopping, I::Exited { status }) => self.stopped(status, ctx, &mut fx),
            (S::Unknown, I::Exited { status }) => {
                if self.pid != 0 {
                    self.exited_while_unknown(status, ctx, &mut fx);
                }
            }
            // No child in these states.
            (S::Stopped | S::Backoff | S::Exited | S::Fatal, I::Exited { .. }) => {}

            (S::Starting, I::Deadline) => {
                if self.deadline_reached(ctx, &mut fx) {
                    self.starting_deadline(ctx, &mut fx);
                }
            }
            (S::Backoff, I::Deadline) => {
                if self.deadline_reached(ctx, &mut fx) {
                    self.backoff_deadline(ctx, &mut fx);
                }
            }
            (S::Stopping, I::Deadline) => {
                if self.deadline_reached(ctx, &mut fx) {
                    self.log(
                        &mut fx,
                        LogLevel::Warn,
                        format!("killing '{}' ({}) with SIGKILL", self.name(), self.pid),
                    );
                    let wait = secs(self.config.stopwaitsecs).max(MIN_KILL_INTERVAL);
                    self.kill(Signal::KILL, wait, ctx, &mut fx);
                }
            }
            (S::Exited, I::Deadline) => {
                if self.deadline_reached(ctx, &mut fx)
                    && self.restarts_after_exit()
                    && ctx.automatic_starts
                {
                    self.restart_paced(ctx, &mut fx);
                }
            }
            // These states never arm a deadline: the input is stale.
            (S::Stopped | S::Running | S::Fatal | S::Unknown, I::Deadline) => {}

            (S::Starting | S::Running | S::Stopping, I::KillFailed { pid, kind, error }) => {
                if pid != 0 && pid == self.pid {
                    self.kill_failed(kind, error, ctx, &mut fx);
                }
            }
            // No pid to have signalled, or already UNKNOWN: the failure is stale.
            (S::Stopped | S::Backoff | S::Exited | S::Fatal | S::Unknown, I::KillFailed { .. }) => {
            }

            (S::Stopping, I::StopWaitReport) => {
                let due = match self.last_stop_report {
                    Some(last) => ctx.now.saturating_duration_since(last) > STOP_REPORT_INTERVAL,
                    None => true,
                };
                if due {
                    self.last_stop_report = Some(ctx.now);
                    let text = format!("waiting for {} to stop", self.name());
                    self.log(&mut fx, LogLevel::Info, text);
                }
            }
            // The reference reports only while STOPPING.
            (
                S::Stopped
                | S::Starting
                | S::Running
                | S::Backoff
                | S::Exited
                | S::Fatal
                | S::Unknown,
                I::StopWaitReport,
            ) => {}
        }
        fx
    }

    fn log(&self, fx: &mut Vec<Effect>, level: LogLevel, text: String) {
        fx.push(Effect::Log { level, text });
    }

    fn arm(&mut self, at: Option<Instant>, fx: &mut Vec<Effect>) {
        match at {
            Some(at) => {
                self.deadline = Some(at);
                fx.push(Effect::ArmDeadline(at));
            }
            // Beyond what Instant can hold: it never comes.
            None => self.disarm(fx),
        }
    }

    fn disarm(&mut self, fx: &mut Vec<Effect>) {
        if self.deadline.take().is_some() {
            fx.push(Effect::CancelDeadline);
        }
    }

    /// True when the armed deadline has passed; it is then consumed (the timer fired).
    /// An early call re-arms the same deadline.
    fn deadline_reached(&mut self, ctx: &Ctx, fx: &mut Vec<Effect>) -> bool {
        match self.deadline {
            Some(at) if ctx.now >= at => {
                self.deadline = None;
                true
            }
            Some(at) => {
                fx.push(Effect::ArmDeadline(at));
                false
            }
            None => false,
        }
    }

    /// Change state and report it. Entering BACKOFF counts a failed start and arms the
    /// retry, or an immediate deadline when no retry is left (the give-up).
    fn enter(&mut self, to: ProcessState, expected: bool, ctx: &Ctx, fx: &mut Vec<Effect>) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        if to == ProcessState::Backoff {
            self.backoff = self.backoff.saturating_add(1);
            let at = if self.retries_exhausted() {
                Some(ctx.now)
            } else {
                ctx.now
                    .checked_add(Duration::from_secs(u64::from(self.backoff)))
            };
            self.arm(at, fx);
        }
        fx.push(Effect::Transition {
            from,
            to,
            pid: self.pid,
            tries: self.backoff,
            expected,
        });
    }

    fn retries_exhausted(&self) -> bool {
        i64::from(self.backoff) > self.config.startretries
    }

    fn spawn(&mut self, ctx: &Ctx, fx: &mut Vec<Effect>) {
        self.killing = false;
        self.spawn_error = None;
        self.exit_status = None;
        self.last_start = Some(Moment::of(ctx));
        self.disarm(fx);
        self.enter(ProcessState::Starting, true, ctx, fx);
        fx.push(Effect::Spawn);
    }

    fn spawned(&mut self, pid: u32, fx: &mut Vec<Effect>) {
        self.pid = pid;
        self.spawn_error = None;
        let text = format!("spawned: '{}' with pid {pid}", self.name());
        self.log(fx, LogLevel::Info, text);
        let at = self
            .last_start
            .and_then(|start| start.instant.checked_add(secs(self.config.startsecs)));
        self.arm(at, fx);
    }

    fn starting_deadline(&mut self, ctx: &Ctx, fx: &mut Vec<Effect>) {
        if !self.stayed_up_past_startsecs(ctx.now) {
            self.arm(ctx.now.checked_add(STRICTLY_AFTER), fx);
            return;
        }
        self.backoff = 0;
        self.enter(ProcessState::Running, true, ctx, fx);
        let text = format!(
            "success: {} entered RUNNING state, process has stayed up for > than {} seconds (startsecs)",
            self.name(),
            self.config.startsecs
        );
        self.log(fx, LogLevel::Info, text);
    }

    fn backoff_deadline(&mut self, ctx: &Ctx, fx: &mut Vec<Effect>) {
        if self.retries_exhausted() {
            self.give_up(ctx, fx);
            let text = format!(
                "gave up: {} entered FATAL state, too many start retries too quickly",
                self.name()
            );
            self.log(fx, LogLevel::Info, text);
        } else if ctx.automatic_starts {
            self.spawn(ctx, fx);
        }
    }

    fn give_up(&mut self, ctx: &Ctx, fx: &mut Vec<Effect>) {
        self.disarm(fx);
        self.backoff = 0;
        self.enter(ProcessState::Fatal, true, ctx, fx);
    }

    fn elapsed_since_start(&self, now: Instant) -> Duration {
        self.last_start.map_or(Duration::ZERO, |start| {
            now.saturating_duration_since(start.instant)
        })
    }

    fn stayed_up_past_startsecs(&self, now: Instant) -> bool {
        let startsecs = self.config.startsecs;
        startsecs < 0 || self.elapsed_since_start(now) > secs(startsecs)
    }

    fn stop(&mut self, ctx: &Ctx, fx: &mut Vec<Effect>) {
        self.last_stop_report = None;
        let signal = self.config.stopsignal;
        if self.pid == 0 {
            let message = format!(
                "attempted to kill {} with sig {signal} but it wasn't running",
                self.name()
            );
            self.refuse(message, fx);
            return;
        }
        self.kill(signal, secs(self.config.stopwaitsecs), ctx, fx);
    }

    /// Send a stop-kind signal (stop signal or SIGKILL) and wait `wait` for the reap.
    fn kill(&mut self, signal: Signal, wait: Duration, ctx: &Ctx, fx: &mut Vec<Effect>) {
        // The first signal follows stopasgroup; once STOPPING, the escalation follows
        // killasgroup.
        let to_group = if self.state == ProcessState::Stopping {
            self.config.killasgroup
        } else {
            self.config.stopasgroup
        };
        let target = if to_group { "process group " } else { "" };
        let text = format!(
            "killing {} (pid {}) {target}with signal {signal}",
            self.name(),
            self.pid
        );
        self.log(fx, LogLevel::Debug, text);
        self.killing = true;
        self.arm(ctx.now.checked_add(wait), fx);
        self.enter(ProcessState::Stopping, true, ctx, fx);
        fx.push(Effect::Kill {
            pid: self.pid,
            signal,
            to_group,
            kind: KillKind::Stop,
        });
    }

    fn send_signal(&mut self, signal: Signal, fx: &mut Vec<Effect>) {
        if self.pid == 0 {
            let message = format!(
                "attempted to send {} sig {signal} but it wasn't running",
                self.name()
            );
            self.refuse(message, fx);
            return;
        }
        let text = format!("sending {} (pid {}) sig {signal}", self.name(), self.pid);
        self.log(fx, LogLevel::Debug, text);
        fx.push(Effect::Kill {
            pid: self.pid,
            signal,
            to_group: false,
            kind: KillKind::Signal,
        });
    }

    fn refuse(&self, message: String, fx: &mut Vec<Effect>) {
        self.log(fx, LogLevel::Debug, message.clone());
        fx.push(Effect::Refused { message });
    }

    fn kill_failed(&mut self, kind: KillKind, error: KillError, ctx: &Ctx, fx: &mut Vec<Effect>) {
        let (name, pid) = (self.name(), self.pid);
        match (kind, error) {
            // The reap will follow; the reference deliberately changes nothing here.
            (KillKind::Stop, KillError::NoSuchProcess(err)) => {
                let text = format!(
                    "unable to signal {name} (pid {pid}), it probably just exited on its own: {err}"
                );
                self.log(fx, LogLevel::Debug, text);
            }
            (KillKind::Signal, KillError::NoSuchProcess(err)) => {
                let text = format!(
                    "unable to signal {name} (pid {pid}), it probably just now exited on its own: {err}"
                );
                self.log(fx, LogLevel::Debug, text);
            }
            (KillKind::Stop, KillError::Other(err)) => {
                let message = format!("unknown problem killing {name} ({pid}):{err}");
                self.killing = false;
                self.become_unknown(message, ctx, fx);
            }
            (KillKind::Signal, KillError::Other(err)) => {
                let message = format!("unknown problem sending sig {name} ({pid}):{err}");
                self.become_unknown(message, ctx, fx);
            }
        }
    }

    fn become_unknown(&mut self, message: String, ctx: &Ctx, fx: &mut Vec<Effect>) {
        self.log(fx, LogLevel::Critical, message.clone());
        self.disarm(fx);
        self.enter(ProcessState::Unknown, true, ctx, fx);
        fx.push(Effect::Refused { message });
    }

    fn record_exit(&mut self, ctx: &Ctx) {
        self.last_stop = Some(Moment::of(ctx));
    }

    fn exited_while_starting(&mut self, status: ExitStatus, ctx: &Ctx, fx: &mut Vec<Effect>) {
        let too_quickly = self.elapsed_since_start(ctx.now) < secs(self.config.startsecs);
        if too_quickly {
            // A failed start whatever the code: BACKOFF replaces the STARTING deadline.
            self.record_exit(ctx);
            self.exit_status = None;
            self.spawn_error = Some(EXITED_TOO_QUICKLY.to_string());
            self.enter(ProcessState::Backoff, true, ctx, fx);
            let text = format!("exited: {} ({status}; not expected)", self.name());
            self.log(fx, LogLevel::Warn, text);
            self.pid = 0;
        } else {
            // Up long enough but the deadline has not been handled yet (always the case
            // with startsecs=0): RUNNING is reported, without the success line, then EXITED.
            self.disarm(fx);
            self.backoff = 0;
            self.enter(ProcessState::Running, true, ctx, fx);
            self.exited(status, ctx, fx);
        }
    }

    fn exited(&mut self, status: ExitStatus, ctx: &Ctx, fx: &mut Vec<Effect>) {
        self.record_exit(ctx);
        self.disarm(fx);
        self.backoff = 0;
        let code = status.code();
        self.exit_status = Some(code);
        let expected = self.config.exitcodes.contains(&code);
        if expected {
            self.enter(ProcessState::Exited, true, ctx, fx);
            let text = format!("exited: {} ({status}; expected)", self.name());
            self.log(fx, LogLevel::Info, text);
        } else {
            self.spawn_error = Some(format!("Bad exit code {code}"));
            self.enter(ProcessState::Exited, false, ctx, fx);
            let text = format!("exited: {} ({status}; not expected)", self.name());
            self.log(fx, LogLevel::Warn, text);
        }
        self.pid = 0;
        if self.restarts_after_exit() && ctx.automatic_starts {
            self.restart_paced(ctx, fx);
        }
    }

    /// Whether `autorestart` asks for a new start after the recorded exit.
    fn restarts_after_exit(&self) -> bool {
        match self.config.autorestart {
            AutoRestart::Always => true,
            AutoRestart::Unexpected => self
                .exit_status
                .is_some_and(|code| !self.config.exitcodes.contains(&code)),
            AutoRestart::Never => false,
        }
    }

    /// Restarts an EXITED process at once while it has restarts left in its burst
    /// ([`RESTART_BURST`]), else when the next one is due: a program that keeps exiting
    /// as soon as it starts settles at one start per [`RESTART_PACE`] (the reference's
    /// rate, set by its one-second loop) instead of as many as fork allows, while one
    /// killed now and then comes back at once. Each restart adds a pace to the time when
    /// all are paid off; a restart is refused while that time is more than a burst's
    /// worth of paces ahead.
    fn restart_paced(&mut self, ctx: &Ctx, fx: &mut Vec<Effect>) {
        let allowance = RESTART_PACE * (RESTART_BURST - 1);
        let paid_at = self.restarts_paid_at.map_or(ctx.now, |at| at.max(ctx.now));
        let ahead = paid_at.saturating_duration_since(ctx.now);
        if ahead > allowance {
            self.arm(Some(ctx.now + (ahead - allowance)), fx);
        } else {
            self.restarts_paid_at = Some(paid_at + RESTART_PACE);
            self.spawn(ctx, fx);
        }
    }

    fn stopped(&mut self, status: ExitStatus, ctx: &Ctx, fx: &mut Vec<Effect>) {
        self.record_exit(ctx);
        self.killing = false;
        self.disarm(fx);
        let code = status.code();
        self.exit_status = Some(code);
        self.enter(ProcessState::Stopped, true, ctx, fx);
        let level = if self.config.exitcodes.contains(&code) {
            LogLevel::Info
        } else {
            LogLevel::Warn
        };
        let text = format!("stopped: {} ({status})", self.name());
        self.log(fx, level, text);
        self.pid = 0;
    }

    /// The reference cannot reap an UNKNOWN process (it asserts); record the exit and
    /// stay UNKNOWN, which only an operator's attention ends.
    fn exited_while_unknown(&mut self, status: ExitStatus, ctx: &Ctx, fx: &mut Vec<Effect>) {
        self.record_exit(ctx);
        self.killing = false;
        let code = status.code();
        self.exit_status = Some(code);
        let (level, verdict) = if self.config.exitcodes.contains(&code) {
            (LogLevel::Info, "expected")
        } else {
            (LogLevel::Warn, "not expected")
        };
        let text = format!("exited: {} ({status}; {verdict})", self.name());
        self.log(fx, level, text);
        self.pid = 0;
    }
}

/// Whole seconds from a config value; negative counts as zero.
fn secs(value: i64) -> Duration {
    Duration::from_secs(u64::try_from(value).unwrap_or(0))
}

#[cfg(test)]
mod tests;
