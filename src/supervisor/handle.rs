//! `Handle`: the cloneable way to talk to a running core — from the RPC server, from
//! an embedding host, from tests.
//!
//! Owns the request channel and its message types. Every call is a `Command` sent to the
//! core task with a oneshot reply; calls that wait (start/stop with `wait`) are answered
//! by the core when the wait is over, so they never block it or other callers.

use std::path::PathBuf;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::api::{Channel, ConfigChanges, ConfigInfo, Fault, Mood, ProcessInfo, ProcessResult};
use super::event::{Event, EventFeed};

/// A reply slot.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, Fault>>;

/// What the core can be asked. Constructed only by [`Handle`].
#[derive(Debug)]
pub(crate) enum Command {
    ProcessInfo {
        name: String,
        reply: Reply<ProcessInfo>,
    },
    AllProcessInfo {
        reply: Reply<Vec<ProcessInfo>>,
    },
    AllConfigInfo {
        reply: Reply<Vec<ConfigInfo>>,
    },
    StartProcess {
        name: String,
        wait: bool,
        reply: Reply<()>,
    },
    StartGroup {
        group: String,
        wait: bool,
        reply: Reply<Vec<ProcessResult>>,
    },
    StartAll {
        wait: bool,
        reply: Reply<Vec<ProcessResult>>,
    },
    StopProcess {
        name: String,
        wait: bool,
        reply: Reply<()>,
    },
    StopGroup {
        group: String,
        wait: bool,
        reply: Reply<Vec<ProcessResult>>,
    },
    StopAll {
        wait: bool,
        reply: Reply<Vec<ProcessResult>>,
    },
    SignalProcess {
        name: String,
        signal: String,
        reply: Reply<()>,
    },
    SignalGroup {
        group: String,
        signal: String,
        reply: Reply<Vec<ProcessResult>>,
    },
    SignalAll {
        signal: String,
        reply: Reply<Vec<ProcessResult>>,
    },
    SendStdin {
        name: String,
        data: Vec<u8>,
        reply: Reply<()>,
    },
    SendRemoteCommEvent {
        kind: String,
        data: String,
        reply: Reply<()>,
    },
    LogFile {
        name: String,
        channel: Channel,
        reply: Reply<Option<PathBuf>>,
    },
    MainLogFile {
        reply: Reply<Option<PathBuf>>,
    },
    ClearProcessLogs {
        name: String,
        reply: Reply<()>,
    },
    ClearAllProcessLogs {
        reply: Reply<Vec<ProcessResult>>,
    },
    ClearMainLog {
        reply: Reply<()>,
    },
    ReloadConfig {
        reply: Reply<ConfigChanges>,
    },
    AddGroup {
        name: String,
        reply: Reply<()>,
    },
    RemoveGroup {
        name: String,
        reply: Reply<()>,
    },
    Shutdown {
        reply: Reply<()>,
    },
    Restart {
        reply: Reply<()>,
    },
}

/// A cloneable handle on a running supervisor core.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
    mood: watch::Receiver<Mood>,
    events: EventFeed,
    identification: String,
    pid: u32,
}

/// The answer when the core is gone: it only goes away after a shutdown.
fn gone() -> Fault {
    Fault::ShutdownState
}

impl Handle {
    pub(crate) fn new(
        commands: mpsc::Sender<Command>,
        mood: watch::Receiver<Mood>,
        events: EventFeed,
        identification: String,
        pid: u32,
    ) -> Self {
        Handle {
            commands,
            mood,
            events,
            identification,
            pid,
        }
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, Fault> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// supervisord's current state.
    pub fn mood(&self) -> Mood {
        *self.mood.borrow()
    }

    /// A receiver that sees every change of [`Handle::mood`].
    pub fn watch_mood(&self) -> watch::Receiver<Mood> {
        self.mood.clone()
    }

    /// The `[supervisord] identifier`.
    pub fn identification(&self) -> &str {
        &self.identification
    }

    /// The pid of the process running the core.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// A new subscription to the core's events, from now on. A subscriber that falls
    /// behind loses the oldest events (and learns how many); supervision never waits.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The snapshot of one process (`name` or `group:name`).
    pub async fn process_info(&self, name: &str) -> Result<ProcessInfo, Fault> {
        let name = name.to_string();
        self.ask(|reply| Command::ProcessInfo { name, reply }).await
    }

    /// Snapshots of every process, sorted by group then process name.
    pub async fn all_process_info(&self) -> Result<Vec<ProcessInfo>, Fault> {
        self.ask(|reply| Command::AllProcessInfo { reply }).await
    }

    /// Every process of the stored configuration, sorted by process name.
    pub async fn all_config_info(&self) -> Result<Vec<ConfigInfo>, Fault> {
        self.ask(|reply| Command::AllConfigInfo { reply }).await
    }

    /// Starts one process; with `wait`, returns once it is RUNNING (or failed).
    pub async fn start_process(&self, name: &str, wait: bool) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Command::StartProcess { name, wait, reply })
            .await
    }

    /// Starts every process of a group that is not already started.
    pub async fn start_group(&self, group: &str, wait: bool) -> Result<Vec<ProcessResult>, Fault> {
        let group = group.to_string();
        self.ask(|reply| Command::StartGroup { group, wait, reply })
            .await
    }

    /// Starts every process that is not already started, in priority order.
    pub async fn start_all(&self, wait: bool) -> Result<Vec<ProcessResult>, Fault> {
        self.ask(|reply| Command::StartAll { wait, reply }).await
    }

    /// Stops one process; with `wait`, returns once it is stopped.
    pub async fn stop_process(&self, name: &str, wait: bool) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Command::StopProcess { name, wait, reply })
            .await
    }

    /// Stops every running process of a group.
    pub async fn stop_group(&self, group: &str, wait: bool) -> Result<Vec<ProcessResult>, Fault> {
        let group = group.to_string();
        self.ask(|reply| Command::StopGroup { group, wait, reply })
            .await
    }

    /// Stops every running process, in reverse priority order.
    pub async fn stop_all(&self, wait: bool) -> Result<Vec<ProcessResult>, Fault> {
        self.ask(|reply| Command::StopAll { wait, reply }).await
    }

    /// Sends a signal (name like `HUP`/`SIGHUP` or number) to one process.
    pub async fn signal_process(&self, name: &str, signal: &str) -> Result<(), Fault> {
        let (name, signal) = (name.to_string(), signal.to_string());
        self.ask(|reply| Command::SignalProcess {
            name,
            signal,
            reply,
        })
        .await
    }

    /// Signals every signallable process of a group.
    pub async fn signal_group(
        &self,
        group: &str,
        signal: &str,
    ) -> Result<Vec<ProcessResult>, Fault> {
        let (group, signal) = (group.to_string(), signal.to_string());
        self.ask(|reply| Command::SignalGroup {
            group,
            signal,
            reply,
        })
        .await
    }

    /// Signals every signallable process.
    pub async fn signal_all(&self, signal: &str) -> Result<Vec<ProcessResult>, Fault> {
        let signal = signal.to_string();
        self.ask(|reply| Command::SignalAll { signal, reply }).await
    }

    /// Writes bytes to a process's stdin.
    pub async fn send_stdin(&self, name: &str, data: &[u8]) -> Result<(), Fault> {
        let (name, data) = (name.to_string(), data.to_vec());
        self.ask(|reply| Command::SendStdin { name, data, reply })
            .await
    }

    /// Emits a REMOTE_COMMUNICATION event.
    pub async fn send_remote_comm_event(&self, kind: &str, data: &str) -> Result<(), Fault> {
        let (kind, data) = (kind.to_string(), data.to_string());
        self.ask(|reply| Command::SendRemoteCommEvent { kind, data, reply })
            .await
    }

    /// The log file of a process channel, after everything buffered for it is on disk;
    /// none when the channel has no file.
    pub async fn log_file(&self, name: &str, channel: Channel) -> Result<Option<PathBuf>, Fault> {
        let name = name.to_string();
        self.ask(|reply| Command::LogFile {
            name,
            channel,
            reply,
        })
        .await
    }

    /// The activity log file, none when it goes to syslog.
    pub async fn main_log_file(&self) -> Result<Option<PathBuf>, Fault> {
        self.ask(|reply| Command::MainLogFile { reply }).await
    }

    /// Clears both log files of a process.
    pub async fn clear_process_logs(&self, name: &str) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Command::ClearProcessLogs { name, reply })
            .await
    }

    /// Clears the log files of every process.
    pub async fn clear_all_process_logs(&self) -> Result<Vec<ProcessResult>, Fault> {
        self.ask(|reply| Command::ClearAllProcessLogs { reply })
            .await
    }

    /// Deletes and reopens the activity log.
    pub async fn clear_main_log(&self) -> Result<(), Fault> {
        self.ask(|reply| Command::ClearMainLog { reply }).await
    }

    /// Re-reads the configuration file; the running groups are not touched.
    pub async fn reload_config(&self) -> Result<ConfigChanges, Fault> {
        self.ask(|reply| Command::ReloadConfig { reply }).await
    }

    /// Activates a group of the stored configuration.
    pub async fn add_group(&self, name: &str) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Command::AddGroup { name, reply }).await
    }

    /// Removes a stopped group.
    pub async fn remove_group(&self, name: &str) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Command::RemoveGroup { name, reply }).await
    }

    /// Stops a process (waiting until it has stopped, if it was running) and starts it
    /// again, waiting until it is RUNNING: `supervisorctl restart name`.
    pub async fn restart_process(&self, name: &str) -> Result<(), Fault> {
        match self.stop_process(name, true).await {
            Ok(()) | Err(Fault::NotRunning(_)) => {}
            Err(fault) => return Err(fault),
        }
        self.start_process(name, true).await
    }

    /// Re-reads the configuration and applies it, touching only what changed: removed
    /// groups are stopped and removed, changed groups stopped, removed and added again,
    /// new groups added (`supervisorctl update`). Unchanged groups keep their pids.
    pub async fn update(&self) -> Result<ConfigChanges, Fault> {
        let changes = self.reload_config().await?;
        for group in &changes.removed {
            self.stop_group(group, true).await?;
            self.remove_group(group).await?;
        }
        for group in &changes.changed {
            self.stop_group(group, true).await?;
            self.remove_group(group).await?;
            self.add_group(group).await?;
        }
        for group in &changes.added {
            self.add_group(group).await?;
        }
        Ok(changes)
    }

    /// The last `length` bytes of a process channel's log (everything it wrote so far
    /// is flushed first); empty when the channel has no log file.
    pub async fn tail_log(
        &self,
        name: &str,
        channel: Channel,
        length: u64,
    ) -> Result<Vec<u8>, Fault> {
        let Some(path) = self.log_file(name, channel).await? else {
            return Ok(Vec::new());
        };
        let offset = -i64::try_from(length).unwrap_or(i64::MAX);
        tokio::task::spawn_blocking(move || crate::log::read::read_range(&path, offset, 0))
            .await
            .map_err(|e| Fault::Failed(e.to_string()))?
            .or_else(|e| match e {
                crate::log::read::ReadError::NoFile { .. } => Ok(Vec::new()),
                other => Err(Fault::Failed(other.to_string())),
            })
    }

    /// Asks the core to shut down without waiting for an answer (from `Drop`).
    pub(crate) fn request_shutdown(&self) {
        let (reply, _) = oneshot::channel();
        let _ = self.commands.try_send(Command::Shutdown { reply });
    }

    /// Stops everything and ends the core.
    pub async fn shutdown(&self) -> Result<(), Fault> {
        self.ask(|reply| Command::Shutdown { reply }).await
    }

    /// Stops everything and starts over with the configuration re-read.
    pub async fn restart(&self) -> Result<(), Fault> {
        self.ask(|reply| Command::Restart { reply }).await
    }
}
