//! The core: the only owner of the process table. It executes the state machine's
//! effects (spawn, kill, timers), feeds back what the OS reports, applies start/stop
//! ordering by priority, runs shutdown and in-process restart, and answers `Handle`
//! requests.
//!
//! Uses `config`, `process`, `os` and `log`; must not reach into `rpc`.

mod api;
mod event;
mod handle;

pub use api::{
    describe, epoch_seconds, namespec, stop_time_text, timedelta, Channel, ConfigChanges,
    ConfigInfo, Fault, Mood, ProcessInfo, ProcessResult, SUCCESS_CODE, VERSION,
};
pub use event::Event;
use event::EventFeed;
pub use handle::Handle;

mod core;
mod listener;
mod table;

pub(crate) use self::core::Resources;
pub use self::core::{ConfigSource, Outcome};

use std::io;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::log::{ActivityLog, LogPipeline};
use crate::os::{Reaper, SignalReceiver};

/// How a supervisor collects its children's exit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaping {
    /// `waitpid(-1)` on SIGCHLD: every child of this process (and, as PID 1 or a
    /// subreaper, every orphan) is reaped. For the daemon only.
    Global,
    /// A pidfd per child: only the children this supervisor started. For hosts that
    /// have children of their own.
    Owned,
}

/// Everything a supervisor needs besides its configuration.
#[derive(Debug)]
pub struct Options {
    /// How children are reaped.
    pub reaping: Reaping,
    /// Install supervisord's signal handlers (TERM/INT/QUIT/HUP/USR2) and act on them.
    pub signals: bool,
    /// Where the configuration came from, for `reloadConfig`; none when it was built in
    /// code.
    pub source: Option<ConfigSource>,
    /// The environment children inherit (supervisord's own at start-up).
    pub environ: Vec<(String, String)>,
    /// The activity log (opened or not by the caller).
    pub activity: ActivityLog,
}

/// A running supervisor: the core task on the caller's tokio runtime, its log thread,
/// and a handle to control it.
#[derive(Debug)]
pub struct Supervisor {
    handle: Handle,
    task: Option<tokio::task::JoinHandle<(Outcome, self::core::Resources)>>,
}

/// Depth of the request queue; callers wait (asynchronously) when it is full.
const COMMAND_QUEUE: usize = 256;

impl Supervisor {
    /// Starts supervising `config` on the current tokio runtime: groups are added and
    /// autostart programs spawned at once.
    pub fn start(config: Config, options: Options) -> io::Result<Supervisor> {
        let (reaper, reaped) = match options.reaping {
            Reaping::Global => Reaper::global()?,
            Reaping::Owned => Reaper::owned()?,
        };
        let signals = if options.signals {
            Some(SignalReceiver::install()?)
        } else {
            None
        };
        let pipeline = Arc::new(LogPipeline::start(&options.activity)?);
        let resources = self::core::Resources {
            reaper,
            reaped,
            signals,
            pipeline,
            next_event_serial: 0,
        };
        Ok(Supervisor::resume(config, options, resources))
    }

    /// Starts a core on the resources a previous one handed back (in-process restart).
    pub(crate) fn resume(
        config: Config,
        options: Options,
        resources: self::core::Resources,
    ) -> Supervisor {
        let (commands_tx, commands) = mpsc::channel(COMMAND_QUEUE);
        let (mood_tx, mood_rx) = watch::channel(Mood::Running);
        let events = EventFeed::default();
        let handle = Handle::new(
            commands_tx,
            mood_rx,
            events.clone(),
            config.supervisord.identifier.clone(),
            std::process::id(),
        );
        let core = self::core::Core::new(self::core::CoreParts {
            config,
            source: options.source,
            environ: options.environ,
            resources,
            activity: options.activity,
            commands,
            mood: mood_tx,
            events,
        });
        let task = tokio::spawn(core.run());
        Supervisor {
            handle,
            task: Some(task),
        }
    }

    /// A handle to control this supervisor; clones are cheap.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Waits until the supervisor has stopped everything after a shutdown or restart
    /// request.
    pub async fn wait(self) -> io::Result<Outcome> {
        self.finish().await.map(|(outcome, _)| outcome)
    }

    /// Graceful shutdown with a deadline: every program gets its stop signal (in
    /// priority order, with its `stopwaitsecs`); whatever still runs when `deadline`
    /// has passed gets SIGKILL.
    pub async fn shutdown(self, deadline: std::time::Duration) -> io::Result<Outcome> {
        let handle = self.handle.clone();
        // Already shutting down is fine: the deadline still applies.
        let _ = handle.shutdown().await;
        let waiting = self.finish();
        tokio::pin!(waiting);
        match tokio::time::timeout(deadline, &mut waiting).await {
            Ok(result) => result.map(|(outcome, _)| outcome),
            Err(_) => {
                // signalAllProcesses sends before it checks the mood, as in the
                // reference, so it works during shutdown.
                let _ = handle.signal_all("KILL").await;
                waiting.await.map(|(outcome, _)| outcome)
            }
        }
    }

    /// Like [`wait`](Self::wait), keeping the resources for a restart.
    pub(crate) async fn finish(mut self) -> io::Result<(Outcome, self::core::Resources)> {
        let task = self
            .task
            .take()
            .ok_or_else(|| io::Error::other("the supervisor task was already awaited"))?;
        task.await.map_err(io::Error::other)
    }
}

impl Drop for Supervisor {
    /// Dropping a running supervisor stops its programs: the core shuts down in the
    /// background (on the runtime it was started on).
    fn drop(&mut self) {
        if self.task.as_ref().is_some_and(|t| !t.is_finished()) {
            self.handle.request_shutdown();
        }
    }
}
