//! The process states with supervisord's numeric codes and the state sets the
//! control plane tests against (`RUNNING_STATES`, `STOPPED_STATES`, `SIGNALLABLE_STATES`).

use std::fmt;

/// The state of one supervised process, with the reference's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessState {
    /// Not running, by request or because it was never started (code 0).
    Stopped,
    /// Spawned, not yet up for more than `startsecs` (code 10).
    Starting,
    /// Up for more than `startsecs` (code 20).
    Running,
    /// A start failed; waiting before the next retry (code 30).
    Backoff,
    /// Stop signal sent, waiting for the child to be reaped (code 40).
    Stopping,
    /// Exited on its own after reaching RUNNING (code 100).
    Exited,
    /// Gave up starting it (code 200).
    Fatal,
    /// Signalling it failed; its state cannot be known (code 1000).
    Unknown,
}

impl ProcessState {
    /// Every state, in code order.
    pub const ALL: [ProcessState; 8] = [
        ProcessState::Stopped,
        ProcessState::Starting,
        ProcessState::Running,
        ProcessState::Backoff,
        ProcessState::Stopping,
        ProcessState::Exited,
        ProcessState::Fatal,
        ProcessState::Unknown,
    ];

    /// The reference's numeric code (`state` in `getProcessInfo`).
    pub fn code(self) -> i32 {
        match self {
            ProcessState::Stopped => 0,
            ProcessState::Starting => 10,
            ProcessState::Running => 20,
            ProcessState::Backoff => 30,
            ProcessState::Stopping => 40,
            ProcessState::Exited => 100,
            ProcessState::Fatal => 200,
            ProcessState::Unknown => 1000,
        }
    }

    /// The upper-case name (`statename`, status lines, event payloads).
    pub fn name(self) -> &'static str {
        match self {
            ProcessState::Stopped => "STOPPED",
            ProcessState::Starting => "STARTING",
            ProcessState::Running => "RUNNING",
            ProcessState::Backoff => "BACKOFF",
            ProcessState::Stopping => "STOPPING",
            ProcessState::Exited => "EXITED",
            ProcessState::Fatal => "FATAL",
            ProcessState::Unknown => "UNKNOWN",
        }
    }

    /// The state with this code, if any.
    pub fn from_code(code: i32) -> Option<ProcessState> {
        ProcessState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// In the reference's `RUNNING_STATES` (STARTING, RUNNING, BACKOFF): a start request
    /// is refused with ALREADY_STARTED, a stop request is accepted.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            ProcessState::Starting | ProcessState::Running | ProcessState::Backoff
        )
    }

    /// In the reference's `STOPPED_STATES` (STOPPED, EXITED, FATAL, UNKNOWN): what a
    /// stop waits for, and what shutdown waits for in every process.
    pub fn is_stopped(self) -> bool {
        matches!(
            self,
            ProcessState::Stopped
                | ProcessState::Exited
                | ProcessState::Fatal
                | ProcessState::Unknown
        )
    }

    /// In the reference's `SIGNALLABLE_STATES` (STARTING, RUNNING, STOPPING).
    pub fn is_signallable(self) -> bool {
        matches!(
            self,
            ProcessState::Starting | ProcessState::Running | ProcessState::Stopping
        )
    }
}

impl fmt::Display for ProcessState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_sets_match_the_reference() {
        // (state, code, name, running, stopped, signallable)
        let table = [
            (ProcessState::Stopped, 0, "STOPPED", false, true, false),
            (ProcessState::Starting, 10, "STARTING", true, false, true),
            (ProcessState::Running, 20, "RUNNING", true, false, true),
            (ProcessState::Backoff, 30, "BACKOFF", true, false, false),
            (ProcessState::Stopping, 40, "STOPPING", false, false, true),
            (ProcessState::Exited, 100, "EXITED", false, true, false),
            (ProcessState::Fatal, 200, "FATAL", false, true, false),
            (ProcessState::Unknown, 1000, "UNKNOWN", false, true, false),
        ];
        assert_eq!(table.len(), ProcessState::ALL.len());
        for (state, code, name, running, stopped, signallable) in table {
            assert_eq!(state.code(), code, "{state:?}");
            assert_eq!(state.name(), name);
            assert_eq!(state.to_string(), name);
            assert_eq!(ProcessState::from_code(code), Some(state));
            assert_eq!(state.is_running(), running, "{name} running");
            assert_eq!(state.is_stopped(), stopped, "{name} stopped");
            assert_eq!(state.is_signallable(), signallable, "{name} signallable");
        }
    }

    #[test]
    fn unknown_codes_have_no_state() {
        for code in [-1, 1, 5, 11, 99, 201, 999, 1001] {
            assert_eq!(ProcessState::from_code(code), None, "{code}");
        }
    }
}
