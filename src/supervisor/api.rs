//! The public face of the core: the values it reports (`ProcessInfo`, `ConfigInfo`,
//! per-process results, events) and the `Fault`s it answers with.
//!
//! Owns data types and their pure renderings only (the `description` text of a
//! process, fault names and codes). The RPC layer turns these into XML-RPC; embedding
//! hosts use them directly.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::process::ProcessState;

/// supervisord's own state ("mood"), with the reference's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mood {
    /// Stopping everything, then exiting (-1).
    Shutdown = -1,
    /// Stopping everything, then starting over in-process (0).
    Restarting = 0,
    /// Supervising (1).
    Running = 1,
    /// Never entered in practice (2).
    Fatal = 2,
}

impl Mood {
    /// The reference's numeric code.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The reference's name (`RUNNING`, …).
    pub fn name(self) -> &'static str {
        match self {
            Mood::Shutdown => "SHUTDOWN",
            Mood::Restarting => "RESTARTING",
            Mood::Running => "RUNNING",
            Mood::Fatal => "FATAL",
        }
    }
}

pub use crate::log::Channel;

/// An error the core answers a request with. Each variant is one of the reference's
/// XML-RPC faults; [`Fault::code`] and its `Display` give its code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 1: no such method.
    UnknownMethod,
    /// 2: wrong arguments; the detail is optional.
    IncorrectParameters(Option<String>),
    /// 3: arguments of the right type but unusable values.
    BadArguments,
    /// 4: no signature/help for a method.
    SignatureUnsupported,
    /// 6: supervisord is shutting down or restarting.
    ShutdownState,
    /// 10: unknown process or group (detail: the name as given).
    BadName(String),
    /// 11: unknown signal (detail: the signal as given).
    BadSignal(String),
    /// 20: a file is missing (executable, log file, closed stdin pipe).
    NoFile(String),
    /// 21: the command cannot be executed.
    NotExecutable(String),
    /// 30: something failed (detail: what).
    Failed(String),
    /// 40: the process left STARTING for a state other than RUNNING.
    AbnormalTermination(String),
    /// 50: the process could not be spawned.
    SpawnError(String),
    /// 60: the process is already started.
    AlreadyStarted(String),
    /// 70: the process is not running.
    NotRunning(String),
    /// 90: the group is already active.
    AlreadyAdded(String),
    /// 91: a process of the group is still running.
    StillRunning(String),
    /// 92: the configuration could not be re-read.
    CantReread(String),
}

/// The version supervisord reports (`-v`, `getSupervisorVersion`, the web page): the
/// reference version whose behavior this implementation reproduces.
pub const VERSION: &str = "4.3.0";

/// The `status` code of a successful entry in a group/all result.
pub const SUCCESS_CODE: i64 = 80;

impl Fault {
    /// The reference's numeric fault code.
    pub fn code(&self) -> i64 {
        match self {
            Fault::UnknownMethod => 1,
            Fault::IncorrectParameters(_) => 2,
            Fault::BadArguments => 3,
            Fault::SignatureUnsupported => 4,
            Fault::ShutdownState => 6,
            Fault::BadName(_) => 10,
            Fault::BadSignal(_) => 11,
            Fault::NoFile(_) => 20,
            Fault::NotExecutable(_) => 21,
            Fault::Failed(_) => 30,
            Fault::AbnormalTermination(_) => 40,
            Fault::SpawnError(_) => 50,
            Fault::AlreadyStarted(_) => 60,
            Fault::NotRunning(_) => 70,
            Fault::AlreadyAdded(_) => 90,
            Fault::StillRunning(_) => 91,
            Fault::CantReread(_) => 92,
        }
    }

    /// The reference's fault name (`BAD_NAME`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Fault::UnknownMethod => "UNKNOWN_METHOD",
            Fault::IncorrectParameters(_) => "INCORRECT_PARAMETERS",
            Fault::BadArguments => "BAD_ARGUMENTS",
            Fault::SignatureUnsupported => "SIGNATURE_UNSUPPORTED",
            Fault::ShutdownState => "SHUTDOWN_STATE",
            Fault::BadName(_) => "BAD_NAME",
            Fault::BadSignal(_) => "BAD_SIGNAL",
            Fault::NoFile(_) => "NO_FILE",
            Fault::NotExecutable(_) => "NOT_EXECUTABLE",
            Fault::Failed(_) => "FAILED",
            Fault::AbnormalTermination(_) => "ABNORMAL_TERMINATION",
            Fault::SpawnError(_) => "SPAWN_ERROR",
            Fault::AlreadyStarted(_) => "ALREADY_STARTED",
            Fault::NotRunning(_) => "NOT_RUNNING",
            Fault::AlreadyAdded(_) => "ALREADY_ADDED",
            Fault::StillRunning(_) => "STILL_RUNNING",
            Fault::CantReread(_) => "CANT_REREAD",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Fault::UnknownMethod
            | Fault::BadArguments
            | Fault::SignatureUnsupported
            | Fault::ShutdownState
            | Fault::IncorrectParameters(None) => None,
            Fault::IncorrectParameters(Some(d))
            | Fault::BadName(d)
            | Fault::BadSignal(d)
            | Fault::NoFile(d)
            | Fault::NotExecutable(d)
            | Fault::Failed(d)
            | Fault::AbnormalTermination(d)
            | Fault::SpawnError(d)
            | Fault::AlreadyStarted(d)
            | Fault::NotRunning(d)
            | Fault::AlreadyAdded(d)
            | Fault::StillRunning(d)
            | Fault::CantReread(d) => Some(d),
        }
    }
}

impl std::fmt::Display for Fault {
    /// `NAME` or `NAME: detail`, the reference's `faultString`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.detail() {
            Some(d) => write!(f, "{}: {d}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

impl std::error::Error for Fault {}

/// A snapshot of one process, as `getProcessInfo` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process name.
    pub name: String,
    /// Group name.
    pub group: String,
    /// Last spawn time, epoch seconds (0 if never).
    pub start: i64,
    /// Last time the process was reaped, epoch seconds (0 if never).
    pub stop: i64,
    /// The time of the snapshot, epoch seconds.
    pub now: i64,
    /// Current state.
    pub state: ProcessState,
    /// Last spawn error, or empty.
    pub spawnerr: String,
    /// Last exit status (0 if none, -1 after a signal death).
    pub exitstatus: i64,
    /// Resolved stdout log path, or empty.
    pub stdout_logfile: String,
    /// Resolved stderr log path, or empty.
    pub stderr_logfile: String,
    /// Pid, 0 when not running.
    pub pid: u32,
    /// Human description (see [`describe`]).
    pub description: String,
}

impl ProcessInfo {
    /// `name`, or `group:name` when they differ (the reference's namespec).
    pub fn namespec(&self) -> String {
        namespec(&self.group, &self.name)
    }
}

/// `process` when it equals `group`, else `group:process`.
pub fn namespec(group: &str, process: &str) -> String {
    if group == process {
        process.to_string()
    } else {
        format!("{group}:{process}")
    }
}

/// The outcome for one process of a group or "all" operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessResult {
    /// Process name.
    pub name: String,
    /// Group name.
    pub group: String,
    /// `Ok(())` (status 80, description `OK`) or the fault for this process.
    pub outcome: Result<(), Fault>,
}

impl ProcessResult {
    /// The `status` code: the fault's, or [`SUCCESS_CODE`].
    pub fn status(&self) -> i64 {
        match &self.outcome {
            Ok(()) => SUCCESS_CODE,
            Err(f) => f.code(),
        }
    }

    /// `OK` or the fault text.
    pub fn description(&self) -> String {
        match &self.outcome {
            Ok(()) => "OK".to_string(),
            Err(f) => f.to_string(),
        }
    }
}

/// What `reloadConfig` found: group names added, changed and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigChanges {
    /// Groups in the new configuration only.
    pub added: Vec<String>,
    /// Groups in both, with different settings.
    pub changed: Vec<String>,
    /// Groups in the old configuration only.
    pub removed: Vec<String>,
}

/// One process of the stored configuration, as `getAllConfigInfo` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigInfo {
    /// Group name.
    pub group: String,
    /// Group priority.
    pub group_prio: i64,
    /// Whether the group is currently active.
    pub inuse: bool,
    /// The process configuration.
    pub process: crate::config::ProcessConfig,
}

/// Renders a whole-second duration like Python's `timedelta`: `0:03:20`,
/// `1 day, 2:03:04`, `3 days, 0:00:01`.
pub fn timedelta(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let clock = format!("{}:{:02}:{:02}", rest / 3600, (rest % 3600) / 60, rest % 60);
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        d => format!("{d} days, {clock}"),
    }
}

/// The stop-time text of a stopped process: local time as `%b %d %I:%M %p`
/// (`Nov 27 11:55 PM`).
pub fn stop_time_text(stop: i64) -> String {
    use chrono::{Local, TimeZone};
    match Local.timestamp_opt(stop, 0).single() {
        Some(t) => t.format("%b %d %I:%M %p").to_string(),
        None => String::new(),
    }
}

/// The `description` of a process snapshot, by state (rpc.md §4.3).
pub fn describe(
    state: ProcessState,
    name: &str,
    pid: u32,
    start: i64,
    stop: i64,
    now: i64,
    spawnerr: &str,
) -> String {
    match state {
        ProcessState::Running => format!("pid {pid}, uptime {}", timedelta(now - start)),
        ProcessState::Backoff | ProcessState::Fatal => {
            if spawnerr.is_empty() {
                format!("unknown error (try \"tail {name}\")")
            } else {
                spawnerr.to_string()
            }
        }
        ProcessState::Stopped | ProcessState::Exited => {
            if start == 0 {
                "Not started".to_string()
            } else {
                stop_time_text(stop)
            }
        }
        ProcessState::Starting | ProcessState::Stopping | ProcessState::Unknown => String::new(),
    }
}

/// Whole seconds since the epoch of a wall-clock time (0 before the epoch).
pub fn epoch_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_texts_and_codes() {
        let cases = [
            (Fault::BadName("x".into()), 10, "BAD_NAME: x"),
            (Fault::ShutdownState, 6, "SHUTDOWN_STATE"),
            (Fault::IncorrectParameters(None), 2, "INCORRECT_PARAMETERS"),
            (
                Fault::IncorrectParameters(Some("No methodName".into())),
                2,
                "INCORRECT_PARAMETERS: No methodName",
            ),
            (Fault::CantReread("boom".into()), 92, "CANT_REREAD: boom"),
        ];
        for (fault, code, text) in cases {
            assert_eq!(fault.code(), code);
            assert_eq!(fault.to_string(), text);
        }
    }

    #[test]
    fn timedeltas_like_python() {
        let cases = [
            (0, "0:00:00"),
            (200, "0:03:20"),
            (3600 * 26 + 184, "1 day, 2:03:04"),
            (86_400 * 3 + 1, "3 days, 0:00:01"),
            (-5, "0:00:00"),
        ];
        for (secs, want) in cases {
            assert_eq!(timedelta(secs), want);
        }
    }

    #[test]
    fn descriptions_by_state() {
        use ProcessState::*;
        assert_eq!(
            describe(Running, "a", 975, 100, 0, 300, ""),
            "pid 975, uptime 0:03:20"
        );
        assert_eq!(describe(Stopped, "a", 0, 0, 0, 300, ""), "Not started");
        assert_eq!(
            describe(Fatal, "a", 0, 1, 2, 300, ""),
            "unknown error (try \"tail a\")"
        );
        assert_eq!(
            describe(
                Backoff,
                "a",
                0,
                1,
                2,
                3,
                "Exited too quickly (process log may have details)"
            ),
            "Exited too quickly (process log may have details)"
        );
        assert_eq!(describe(Starting, "a", 5, 1, 0, 3, ""), "");
        assert_eq!(namespec("g", "g"), "g");
        assert_eq!(namespec("g", "p"), "g:p");
    }
}
