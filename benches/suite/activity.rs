//! Reading a daemon's activity log while it runs: the suite's only way of observing
//! when things happened without talking to the daemon (the reference's main loop reacts
//! to client traffic, so polling it over RPC would change what is measured).
//!
//! Both daemons write `YYYY-MM-DD HH:MM:SS,mmm LEVL message` lines with milliseconds
//! truncated, in local time; the suite starts them with `TZ=UTC` so a timestamp converts
//! to epoch milliseconds without a time-zone database. Only the lines the workloads
//! need are decoded: `spawned:`, `success:` and `exited:`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use chrono::NaiveDate;

/// What a decoded line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `spawned: 'NAME' with pid PID`.
    Spawned {
        /// Process name.
        name: String,
        /// The new pid.
        pid: u32,
    },
    /// `success: NAME entered RUNNING state, …`.
    Running {
        /// Process name.
        name: String,
    },
    /// `exited: NAME (…)`.
    Exited {
        /// Process name.
        name: String,
    },
}

/// One decoded line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The line's timestamp, epoch milliseconds (truncated, like the line).
    pub at_ms: i64,
    /// What happened.
    pub event: Event,
}

/// An activity log followed from its start: each [`ActivityLog::poll`] decodes the
/// lines appended since the previous one.
pub struct ActivityLog {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    entries: Vec<Entry>,
}

impl ActivityLog {
    /// Follows `path`, which need not exist yet.
    pub fn new(path: PathBuf) -> ActivityLog {
        ActivityLog {
            path,
            offset: 0,
            partial: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Reads and decodes whatever complete lines were appended since the last call.
    pub fn poll(&mut self) {
        let Ok(mut file) = File::open(&self.path) else {
            return;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut fresh = Vec::new();
        let Ok(read) = file.read_to_end(&mut fresh) else {
            return;
        };
        self.offset += read as u64;
        self.partial.extend_from_slice(&fresh);
        let Some(last_newline) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let complete: Vec<u8> = self.partial.drain(..=last_newline).collect();
        self.entries.extend(
            String::from_utf8_lossy(&complete)
                .lines()
                .filter_map(parse_line),
        );
    }

    /// Every decoded entry so far, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many entries so far satisfy `predicate`.
    pub fn count(&self, predicate: impl Fn(&Event) -> bool) -> usize {
        self.entries.iter().filter(|e| predicate(&e.event)).count()
    }

    /// The whole file as text (for failure messages).
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }
}

/// True for a `success:` entry.
pub fn is_running(event: &Event) -> bool {
    matches!(event, Event::Running { .. })
}

/// True for a `spawned:` entry.
pub fn is_spawned(event: &Event) -> bool {
    matches!(event, Event::Spawned { .. })
}

/// True for an `exited:` entry.
pub fn is_exited(event: &Event) -> bool {
    matches!(event, Event::Exited { .. })
}

fn parse_line(line: &str) -> Option<Entry> {
    let at_ms = parse_timestamp(line.get(..23)?)?;
    // After the timestamp: a space, a four-letter level, a space.
    let message = line.get(29..)?;
    let event = if let Some(rest) = message.strip_prefix("spawned: '") {
        let (name, rest) = rest.split_once("' with pid ")?;
        Event::Spawned {
            name: name.to_string(),
            pid: rest.trim().parse().ok()?,
        }
    } else if let Some(rest) = message.strip_prefix("success: ") {
        Event::Running {
            name: rest.split_once(" entered RUNNING state")?.0.to_string(),
        }
    } else if let Some(rest) = message.strip_prefix("exited: ") {
        Event::Exited {
            name: rest.split_once(" (")?.0.to_string(),
        }
    } else {
        return None;
    };
    Some(Entry { at_ms, event })
}

/// `2026-01-02 03:04:05,678` (UTC) → epoch milliseconds.
fn parse_timestamp(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let bytes = text.as_bytes();
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b' '),
        (13, b':'),
        (16, b':'),
        (19, b','),
    ];
    if separators.iter().any(|&(i, c)| bytes.get(i) != Some(&c)) {
        return None;
    }
    let year = i32::try_from(number(0..4)?).ok()?;
    let time = NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)?.and_hms_milli_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
        number(20..23)?,
    )?;
    Some(time.and_utc().timestamp_millis())
}
