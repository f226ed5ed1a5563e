//! Child output and log files: capture tasks, rotation, reading and tailing, AUTO log
//! names, and the daemon's own activity log.
//!
//! Owns every byte a child writes to its stdout/stderr pipe from the moment the core
//! hands over the read end, every child log file, and the activity log file. Only this
//! module writes those files.
//!
//! Must not touch process state, spawn or reap anything, or know about RPC: the core
//! starts a capture after a spawn and finishes it after the reap; the RPC layer calls
//! [`read`] and awaits the flush handles it is given.
//!
//! I/O runs off the caller's threads: [`LogPipeline`] owns one thread with its own
//! single-threaded tokio runtime where every capture task and the activity-log writer
//! live, so a slow or stuck disk stalls logging only, never the core.

// The capture machinery is public for the crate's own integration tests and benches
// only; hosts use the activity log and the supervisor, not these parts directly.
#[doc(hidden)]
pub mod activity;
#[doc(hidden)]
pub mod auto;
#[doc(hidden)]
pub mod capture;
mod drops;
mod pattern;
mod pipeline;
#[doc(hidden)]
pub mod read;
#[doc(hidden)]
pub mod rotate;
mod sys;
mod text;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use activity::{ActivityLog, ActivitySettings};
#[doc(hidden)]
pub use capture::{
    OutputEvent, OutputEventKind, PreparedStream, ProcessLogs, StreamHandle, StreamRole, StreamSpec,
};
#[doc(hidden)]
pub use pipeline::LogPipeline;
pub use rotate::Rotation;
pub(crate) use text::{decode_or_undecodable, py_bytes_repr};

/// One output channel of a child process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The child's stdout pipe.
    Stdout,
    /// The child's stderr pipe (absent with `redirect_stderr`).
    Stderr,
}

impl Channel {
    /// `stdout` or `stderr`, as the reference writes it in names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Stdout => "stdout",
            Channel::Stderr => "stderr",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A log file that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open log file {}: {source}", path.display())]
pub struct LogOpenError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

impl LogOpenError {
    /// The C name of the error number (`EACCES`), or the number itself, as the
    /// reference prints it.
    pub fn errno_name(&self) -> String {
        match self.source.raw_os_error() {
            Some(code) => match nix::errno::Errno::from_raw(code) {
                nix::errno::Errno::UnknownErrno => code.to_string(),
                errno => format!("{errno:?}"),
            },
            None => self.source.to_string(),
        }
    }

    /// The reference's spawn error for a process whose log could not be opened:
    /// `too many open files to spawn '<name>'` for EMFILE, else
    /// `unknown error making dispatchers for '<name>': <ERRNO>`.
    pub fn spawn_error(&self, process_name: &str) -> String {
        if self.source.raw_os_error() == Some(libc::EMFILE) {
            format!("too many open files to spawn '{process_name}'")
        } else {
            format!(
                "unknown error making dispatchers for '{process_name}': {}",
                self.errno_name()
            )
        }
    }
}
