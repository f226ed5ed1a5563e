//! Event listener pools as pure state: the listener protocol (`READY\n`,
//! `RESULT <len>\n<body>`), each pool's bounded event buffer with its serials, and the
//! envelope a listener receives.
//!
//! Owns the protocol and buffering rules of events.md §2–§3 and their log texts. No I/O:
//! the core writes envelopes to stdin pipes, feeds listener stdout here, and decides
//! which listener processes are RUNNING.

use std::collections::VecDeque;

use crate::config::LogLevel;

use crate::log::py_bytes_repr;

/// The protocol state of one listener process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListenerState {
    /// Spawned (or done with an event); waiting for `READY\n`.
    Acknowledged,
    /// Ready for an event.
    Ready,
    /// An event was sent; waiting for its result.
    Busy,
    /// Broke the protocol; gets no more events until it is spawned again.
    Unknown,
}

impl ListenerState {
    fn name(self) -> &'static str {
        match self {
            ListenerState::Acknowledged => "ACKNOWLEDGED",
            ListenerState::Ready => "READY",
            ListenerState::Busy => "BUSY",
            ListenerState::Unknown => "UNKNOWN",
        }
    }
}

/// An event accepted by a pool: its serials and the text to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Queued {
    /// supervisord-wide serial, shared by every pool that took the event.
    pub(crate) serial: u64,
    /// This pool's serial for the event.
    pub(crate) pool_serial: u64,
    /// `PROCESS_STATE_RUNNING`, …
    pub(crate) name: String,
    /// The payload text.
    pub(crate) payload: String,
}

/// What the core must do after feeding a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListenerEffect {
    /// An activity-log line.
    Log(LogLevel, String),
    /// Put this event back at the head of the pool's buffer.
    Rebuffer(Queued),
}

const READY: &[u8] = b"READY\n";
const RESULT_PREFIX_LEN: usize = "RESULT ".len();

/// The protocol side of one listener process.
#[derive(Debug)]
pub(crate) struct Listener {
    state: ListenerState,
    buffer: Vec<u8>,
    result_len: Option<usize>,
    result: Vec<u8>,
    in_flight: Option<Queued>,
}

/// Python's `int()` of the bytes after `RESULT ` (whitespace and a sign allowed).
fn result_length(line: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(line.get(RESULT_PREFIX_LEN..).unwrap_or_default()).ok()?;
    let n = crate::config::value::py_int(text).ok()?;
    usize::try_from(n).ok()
}

impl Listener {
    /// A freshly spawned listener: ACKNOWLEDGED, nothing in flight.
    pub(crate) fn new() -> Listener {
        Listener {
            state: ListenerState::Acknowledged,
            buffer: Vec::new(),
            result_len: None,
            result: Vec::new(),
            in_flight: None,
        }
    }

    pub(crate) fn state(&self) -> ListenerState {
        self.state
    }

    fn change(&mut self, name: &str, to: ListenerState, effects: &mut Vec<ListenerEffect>) {
        effects.push(ListenerEffect::Log(
            LogLevel::Debug,
            format!("{name}: {} -> {}", self.state.name(), to.name()),
        ));
        if to == ListenerState::Unknown {
            effects.push(ListenerEffect::Log(
                LogLevel::Warn,
                format!(
                    "{name}: has entered the UNKNOWN state and will no longer receive events, \
                     this usually indicates the process violated the eventlistener protocol"
                ),
            ));
        }
        self.state = to;
    }

    /// The event was written to the listener's stdin.
    pub(crate) fn sent(&mut self, event: Queued) {
        self.state = ListenerState::Busy;
        self.in_flight = Some(event);
    }

    /// The listener process ended: an event it had not answered goes back to the pool.
    pub(crate) fn ended(&mut self) -> Option<Queued> {
        self.in_flight.take()
    }

    /// Bytes the listener wrote to its stdout (the protocol channel).
    pub(crate) fn feed(&mut self, name: &str, data: &[u8]) -> Vec<ListenerEffect> {
        let mut effects = Vec::new();
        self.buffer.extend_from_slice(data);
        while !self.buffer.is_empty() {
            match self.state {
                ListenerState::Unknown => {
                    self.buffer.clear();
                }
                ListenerState::Acknowledged => {
                    if self.buffer.len() < READY.len() {
                        break;
                    }
                    if self.buffer.starts_with(READY) {
                        self.change(name, ListenerState::Ready, &mut effects);
                        self.buffer.drain(..READY.len());
                    } else {
                        self.change(name, ListenerState::Unknown, &mut effects);
                        self.buffer.clear();
                    }
                    self.in_flight = None;
                }
                ListenerState::Ready => {
                    self.change(name, ListenerState::Unknown, &mut effects);
                    self.buffer.clear();
                    self.in_flight = None;
                }
                ListenerState::Busy => {
                    if !self.busy(name, &mut effects) {
                        break;
                    }
                }
            }
        }
        effects
    }

    /// One step of result gathering; false when more bytes are needed.
    fn busy(&mut self, name: &str, effects: &mut Vec<ListenerEffect>) -> bool {
        let Some(wanted) = self.result_len else {
            let Some(end) = self.buffer.iter().position(|b| *b == b'\n') else {
                return false;
            };
            let line: Vec<u8> = self.buffer.drain(..=end).take(end).collect();
            match result_length(&line) {
                Some(n) => {
                    self.result_len = Some(n);
                    // With `RESULT 0\n` and nothing after it the reference waits for
                    // more output before answering; so do we.
                    return !self.buffer.is_empty();
                }
                None => {
                    let shown = match std::str::from_utf8(&line) {
                        Ok(text) => text.to_string(),
                        Err(_) => format!("Undecodable: {}", py_bytes_repr(&line)),
                    };
                    effects.push(ListenerEffect::Log(
                        LogLevel::Warn,
                        format!("{name}: bad result line: '{shown}'"),
                    ));
                    self.change(name, ListenerState::Unknown, effects);
                    self.buffer.clear();
                    if let Some(event) = self.in_flight.take() {
                        effects.push(ListenerEffect::Rebuffer(event));
                    }
                    return false;
                }
            }
        };
        let needed = wanted - self.result.len();
        let take = needed.min(self.buffer.len());
        self.result.extend(self.buffer.drain(..take));
        if self.result.len() < wanted {
            return false;
        }
        let body = std::mem::take(&mut self.result);
        self.result_len = None;
        let event = self.in_flight.take();
        if body == b"OK" {
            effects.push(ListenerEffect::Log(
                LogLevel::Debug,
                format!("{name}: event was processed"),
            ));
            self.change(name, ListenerState::Acknowledged, effects);
        } else {
            effects.push(ListenerEffect::Log(
                LogLevel::Warn,
                format!("{name}: event was rejected"),
            ));
            self.change(name, ListenerState::Acknowledged, effects);
            if let Some(event) = event {
                effects.push(ListenerEffect::Rebuffer(event));
            }
        }
        true
    }
}

/// The buffer of one event listener pool.
#[derive(Debug)]
pub(crate) struct PoolBuffer {
    name: String,
    capacity: usize,
    queue: VecDeque<Queued>,
    next_pool_serial: u64,
}

impl PoolBuffer {
    pub(crate) fn new(name: &str, buffer_size: i64) -> PoolBuffer {
        PoolBuffer {
            name: name.to_string(),
            capacity: usize::try_from(buffer_size).unwrap_or(1).max(1),
            queue: VecDeque::new(),
            next_pool_serial: 0,
        }
    }

    /// Drops the oldest event when full, with the reference's ERRO line.
    fn make_room(&mut self, logs: &mut Vec<(LogLevel, String)>) {
        if self.queue.len() >= self.capacity {
            if let Some(oldest) = self.queue.pop_front() {
                logs.push((
                    LogLevel::Error,
                    format!(
                        "pool {} event buffer overflowed, discarding event {}",
                        self.name, oldest.serial
                    ),
                ));
            }
        }
    }

    /// A new event for this pool (appended, serials assigned).
    pub(crate) fn accept(
        &mut self,
        serial: u64,
        name: String,
        payload: String,
    ) -> Vec<(LogLevel, String)> {
        let mut logs = Vec::new();
        let pool_serial = self.next_pool_serial;
        self.next_pool_serial += 1;
        self.make_room(&mut logs);
        self.queue.push_back(Queued {
            serial,
            pool_serial,
            name,
            payload,
        });
        logs
    }

    /// An event that could not be delivered or was rejected: back at the head.
    pub(crate) fn rebuffer(&mut self, event: Queued) -> Vec<(LogLevel, String)> {
        let mut logs = vec![(
            LogLevel::Debug,
            format!(
                "rebuffering event {} for pool {} (buf size={}, max={})",
                event.serial,
                self.name,
                self.queue.len(),
                self.capacity
            ),
        )];
        self.make_room(&mut logs);
        self.queue.push_front(event);
        logs
    }

    /// The oldest event, taken out for delivery.
    pub(crate) fn pop(&mut self) -> Option<Queued> {
        self.queue.pop_front()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The envelope for `event`: header tokens in the reference's order, `len` counted
    /// in characters, then the payload.
    pub(crate) fn envelope(&self, identifier: &str, event: &Queued) -> String {
        format!(
            "ver:3.0 server:{identifier} serial:{} pool:{} poolserial:{} eventname:{} len:{}\n{}",
            event.serial,
            self.name,
            event.pool_serial,
            event.name,
            event.payload.chars().count(),
            event.payload
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(serial: u64) -> Queued {
        Queued {
            serial,
            pool_serial: serial,
            name: "TICK_5".into(),
            payload: "when:5".into(),
        }
    }

    fn states_after(chunks: &[&[u8]]) -> (ListenerState, Vec<ListenerEffect>) {
        let mut l = Listener::new();
        let mut effects = Vec::new();
        for chunk in chunks {
            effects.extend(l.feed("lis", chunk));
            if l.state() == ListenerState::Ready && l.in_flight.is_none() {
                l.sent(queued(7));
            }
        }
        (l.state(), effects)
    }

    fn rebuffered(effects: &[ListenerEffect]) -> usize {
        effects
            .iter()
            .filter(|e| matches!(e, ListenerEffect::Rebuffer(_)))
            .count()
    }

    #[test]
    fn protocol_table() {
        use ListenerState::*;
        let cases: &[(&[&[u8]], ListenerState, usize)] = &[
            (&[b"REA", b"DY\n"], Busy, 0),
            (&[b"READY\n", b"RESULT 2\nOK"], Acknowledged, 0),
            (&[b"READY\n", b"RESULT 2\nOKREADY\n"], Busy, 0),
            (&[b"READY\n", b"RESULT 4\nFAIL"], Acknowledged, 1),
            (&[b"READY\n", b"RESULT 2\n", b"O", b"K"], Acknowledged, 0),
            (&[b"READY\n", b"RESULT x\n"], Unknown, 1),
            (&[b"HELLO\n"], Unknown, 0),
            (&[b"READY\nX"], Unknown, 0),
            (&[b"READY\n", b"RESULT  +2 \nOK"], Acknowledged, 0),
        ];
        for (chunks, want, rebuffers) in cases {
            let (state, effects) = states_after(chunks);
            assert_eq!(state, *want, "{chunks:?}");
            assert_eq!(rebuffered(&effects), *rebuffers, "{chunks:?}");
        }
    }

    #[test]
    fn log_texts() {
        let (_, effects) = states_after(&[b"READY\n", b"RESULT bad\n"]);
        assert!(effects.contains(&ListenerEffect::Log(
            LogLevel::Warn,
            "lis: bad result line: 'RESULT bad'".into()
        )));
        assert!(effects.contains(&ListenerEffect::Log(
            LogLevel::Debug,
            "lis: ACKNOWLEDGED -> READY".into()
        )));
    }

    #[test]
    fn ending_while_busy_gives_the_event_back() {
        let mut l = Listener::new();
        l.feed("lis", b"READY\n");
        l.sent(queued(3));
        assert_eq!(l.ended(), Some(queued(3)));
        assert_eq!(l.ended(), None);
    }

    #[test]
    fn buffer_overflow_and_rebuffer() {
        let mut pool = PoolBuffer::new("p", 2);
        assert!(pool.accept(0, "A".into(), String::new()).is_empty());
        assert!(pool.accept(1, "B".into(), String::new()).is_empty());
        let logs = pool.accept(2, "C".into(), String::new());
        assert_eq!(
            logs,
            [(
                LogLevel::Error,
                "pool p event buffer overflowed, discarding event 0".into()
            )]
        );
        let first = pool.pop().map(|q| q.serial);
        assert_eq!(first, Some(1));
        let logs = pool.rebuffer(queued(1));
        assert_eq!(
            logs[0].1,
            "rebuffering event 1 for pool p (buf size=1, max=2)"
        );
        assert_eq!(pool.pop().map(|q| q.serial), Some(1));
    }

    #[test]
    fn envelope_counts_characters() {
        // 57 characters, 58 bytes in UTF-8: `len` counts characters.
        let pool = PoolBuffer::new("lis", 10);
        let event = Queued {
            serial: 12,
            pool_serial: 12,
            name: "PROCESS_STATE_RUNNING".into(),
            payload: "processname:é groupname:lis from_state:STARTING pid:21350".into(),
        };
        assert_eq!(
            pool.envelope("supervisor", &event),
            "ver:3.0 server:supervisor serial:12 pool:lis poolserial:12 \
             eventname:PROCESS_STATE_RUNNING len:57\n\
             processname:é groupname:lis from_state:STARTING pid:21350"
        );
    }
}
