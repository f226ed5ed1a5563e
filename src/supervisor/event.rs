//! Events the core emits, as typed values: for embedding hosts (a stream) and for
//! event-listener pools (which send them as the reference's envelopes).
//!
//! Owns the event type, its reference name (`PROCESS_STATE_RUNNING`, …), its place in
//! the type hierarchy (for `events=` subscriptions) and its payload text.

use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

use crate::log::decode_or_undecodable;
use crate::process::ProcessState;

use super::api::Channel;

/// Events kept for a subscriber that falls behind.
const EVENT_BUFFER: usize = 4096;

/// The stream of events to hosts, made at the first subscription: its buffer is
/// allocated whole (about 400 KiB), and a daemon that nobody embeds never reads it.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventFeed(Arc<OnceLock<broadcast::Sender<Event>>>);

impl EventFeed {
    /// A new subscription, from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.0
            .get_or_init(|| broadcast::channel(EVENT_BUFFER).0)
            .subscribe()
    }

    /// Offers `event` to the subscribers, if there are any.
    pub(crate) fn send(&self, event: Event) {
        if let Some(sender) = self.0.get() {
            // No subscriber left is not an error: events are offered, never awaited.
            let _ = sender.send(event);
        }
    }
}

/// Something that happened in supervisord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A process changed state.
    ProcessState {
        /// Process name.
        process: String,
        /// Group name.
        group: String,
        /// State before.
        from: ProcessState,
        /// State after.
        to: ProcessState,
        /// Pid at the moment of the transition (0 when none).
        pid: u32,
        /// The retry counter at the moment of the transition.
        tries: u32,
        /// For EXITED: whether the exit status was expected.
        expected: bool,
    },
    /// A chunk of output (only for channels with `*_events_enabled`).
    ProcessLog {
        /// Process name.
        process: String,
        /// Group name.
        group: String,
        /// Pid of the writer.
        pid: u32,
        /// Which channel.
        channel: Channel,
        /// The bytes as read.
        data: Vec<u8>,
    },
    /// Text a process sent between capture-mode tokens.
    ProcessCommunication {
        /// Process name.
        process: String,
        /// Group name.
        group: String,
        /// Pid of the writer.
        pid: u32,
        /// Which channel.
        channel: Channel,
        /// The captured bytes.
        data: Vec<u8>,
    },
    /// `sendRemoteCommEvent(type, data)` was called.
    RemoteCommunication {
        /// The `type` argument.
        kind: String,
        /// The `data` argument.
        data: String,
    },
    /// The main loop started (also after each restart).
    SupervisorRunning,
    /// A shutdown or restart began.
    SupervisorStopping,
    /// A group was added.
    ProcessGroupAdded {
        /// Group name.
        group: String,
    },
    /// A group was removed.
    ProcessGroupRemoved {
        /// Group name.
        group: String,
    },
    /// A clock period boundary passed (5, 60 or 3600 seconds).
    Tick {
        /// The period in seconds.
        period: u32,
        /// Epoch seconds, truncated to a multiple of the period.
        when: i64,
    },
}

/// The abstract event types, each with the concrete names it covers (by prefix).
const ABSTRACT_TYPES: &[(&str, &str)] = &[
    ("PROCESS_STATE", "PROCESS_STATE_"),
    ("PROCESS_LOG", "PROCESS_LOG_"),
    ("PROCESS_COMMUNICATION", "PROCESS_COMMUNICATION_"),
    ("SUPERVISOR_STATE_CHANGE", "SUPERVISOR_STATE_CHANGE_"),
    ("TICK", "TICK_"),
    ("PROCESS_GROUP", "PROCESS_GROUP_"),
];

impl Event {
    /// The reference's event name (`PROCESS_STATE_RUNNING`, `TICK_5`, …).
    pub fn name(&self) -> String {
        match self {
            Event::ProcessState { to, .. } => format!("PROCESS_STATE_{}", to.name()),
            Event::ProcessLog { channel, .. } => {
                format!("PROCESS_LOG_{}", channel.name().to_uppercase())
            }
            Event::ProcessCommunication { channel, .. } => {
                format!("PROCESS_COMMUNICATION_{}", channel.name().to_uppercase())
            }
            Event::RemoteCommunication { .. } => "REMOTE_COMMUNICATION".to_string(),
            Event::SupervisorRunning => "SUPERVISOR_STATE_CHANGE_RUNNING".to_string(),
            Event::SupervisorStopping => "SUPERVISOR_STATE_CHANGE_STOPPING".to_string(),
            Event::ProcessGroupAdded { .. } => "PROCESS_GROUP_ADDED".to_string(),
            Event::ProcessGroupRemoved { .. } => "PROCESS_GROUP_REMOVED".to_string(),
            Event::Tick { period, .. } => format!("TICK_{period}"),
        }
    }

    /// Whether a pool subscribed to `subscription` (a concrete or abstract event type
    /// name, e.g. `PROCESS_STATE` or `EVENT`) receives this event.
    pub fn matches(&self, subscription: &str) -> bool {
        if subscription == "EVENT" {
            return true;
        }
        let name = self.name();
        if name == subscription {
            return true;
        }
        ABSTRACT_TYPES.iter().any(|(abstract_name, prefix)| {
            *abstract_name == subscription && name.starts_with(prefix)
        })
    }

    /// The payload text the reference sends (events.md §4).
    pub fn payload(&self) -> String {
        match self {
            Event::ProcessState {
                process,
                group,
                from,
                to,
                pid,
                tries,
                expected,
            } => {
                let head = format!(
                    "processname:{process} groupname:{group} from_state:{}",
                    from.name()
                );
                match to {
                    ProcessState::Starting | ProcessState::Backoff => {
                        format!("{head} tries:{tries}")
                    }
                    ProcessState::Running | ProcessState::Stopping | ProcessState::Stopped => {
                        format!("{head} pid:{pid}")
                    }
                    ProcessState::Exited => {
                        format!("{head} expected:{} pid:{pid}", u8::from(*expected))
                    }
                    ProcessState::Fatal | ProcessState::Unknown => head,
                }
            }
            Event::ProcessLog {
                process,
                group,
                pid,
                channel,
                data,
            } => format!(
                "processname:{process} groupname:{group} pid:{pid} channel:{}\n{}",
                channel.name(),
                decode_or_undecodable(data)
            ),
            Event::ProcessCommunication {
                process,
                group,
                pid,
                data,
                ..
            } => format!(
                "processname:{process} groupname:{group} pid:{pid}\n{}",
                decode_or_undecodable(data)
            ),
            Event::RemoteCommunication { kind, data } => format!("type:{kind}\n{data}"),
            Event::SupervisorRunning | Event::SupervisorStopping => String::new(),
            Event::ProcessGroupAdded { group } | Event::ProcessGroupRemoved { group } => {
                format!("groupname:{group}\n")
            }
            Event::Tick { when, .. } => format!("when:{when}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(from: ProcessState, to: ProcessState) -> Event {
        Event::ProcessState {
            process: "p".into(),
            group: "g".into(),
            from,
            to,
            pid: 21,
            tries: 1,
            expected: true,
        }
    }

    #[test]
    fn payloads_like_the_reference() {
        use ProcessState::*;
        let cases = [
            (
                state(Stopped, Starting),
                "processname:p groupname:g from_state:STOPPED tries:1",
            ),
            (
                state(Starting, Running),
                "processname:p groupname:g from_state:STARTING pid:21",
            ),
            (
                state(Starting, Backoff),
                "processname:p groupname:g from_state:STARTING tries:1",
            ),
            (
                state(Running, Exited),
                "processname:p groupname:g from_state:RUNNING expected:1 pid:21",
            ),
            (
                state(Backoff, Fatal),
                "processname:p groupname:g from_state:BACKOFF",
            ),
            (
                state(Stopping, Stopped),
                "processname:p groupname:g from_state:STOPPING pid:21",
            ),
            (
                Event::ProcessLog {
                    process: "p".into(),
                    group: "g".into(),
                    pid: 3,
                    channel: Channel::Stderr,
                    data: b"oops\xff".to_vec(),
                },
                "processname:p groupname:g pid:3 channel:stderr\nUndecodable: b'oops\\xff'",
            ),
            (
                Event::ProcessCommunication {
                    process: "web".into(),
                    group: "grp".into(),
                    pid: 42,
                    channel: Channel::Stdout,
                    data: b"hello comm".to_vec(),
                },
                "processname:web groupname:grp pid:42\nhello comm",
            ),
            (
                Event::ProcessCommunication {
                    process: "web".into(),
                    group: "grp".into(),
                    pid: 42,
                    channel: Channel::Stderr,
                    data: Vec::new(),
                },
                "processname:web groupname:grp pid:42\n",
            ),
            (
                Event::RemoteCommunication {
                    kind: "t".into(),
                    data: "d".into(),
                },
                "type:t\nd",
            ),
            (
                Event::ProcessGroupAdded { group: "g".into() },
                "groupname:g\n",
            ),
            (
                Event::Tick {
                    period: 5,
                    when: 1700000000,
                },
                "when:1700000000",
            ),
            (Event::SupervisorRunning, ""),
        ];
        for (event, want) in cases {
            assert_eq!(event.payload(), want, "{}", event.name());
        }
    }

    #[test]
    fn subscriptions_cover_subtypes() {
        let running = state(ProcessState::Starting, ProcessState::Running);
        assert_eq!(running.name(), "PROCESS_STATE_RUNNING");
        assert!(running.matches("EVENT"));
        assert!(running.matches("PROCESS_STATE"));
        assert!(running.matches("PROCESS_STATE_RUNNING"));
        assert!(!running.matches("PROCESS_STATE_EXITED"));
        assert!(!running.matches("PROCESS_LOG"));
        let tick = Event::Tick {
            period: 60,
            when: 0,
        };
        assert!(tick.matches("TICK") && tick.matches("TICK_60") && !tick.matches("TICK_5"));
    }
}
