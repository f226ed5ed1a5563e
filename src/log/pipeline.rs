//! The log thread: one OS thread running a single-threaded tokio runtime that hosts
//! every capture task and the activity-log writer.
//!
//! Keeping all log I/O on its own thread is what lets the core promise that a slow or
//! hung disk never blocks it: the core only sends requests and, when it chooses to,
//! awaits their answers. Start it after daemonizing (threads do not survive `fork`);
//! until then the activity log writes from the calling thread.

use std::io;
use std::os::fd::OwnedFd;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::config::LogLevel;
use crate::log::capture::{self, PreparedStream, StreamHandle, StreamSpec};
use crate::log::{ActivityLog, LogOpenError};

/// The running log thread. Dropping it stops the thread after the activity log is
/// written out and every live stream has written what reached its pipe.
#[derive(Debug)]
pub struct LogPipeline {
    runtime: Handle,
    activity: ActivityLog,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LogPipeline {
    /// Starts the log thread and moves the activity log's writing onto it.
    pub fn start(activity: &ActivityLog) -> io::Result<LogPipeline> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("supervisor-log".to_string())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        activity.attach(&handle);
        Ok(LogPipeline {
            runtime: handle,
            activity: activity.clone(),
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The activity log this pipeline writes.
    pub fn activity(&self) -> &ActivityLog {
        &self.activity
    }

    /// Before the fork: opens the channel's log file (a failure is the reference's
    /// spawn error, see [`LogOpenError::spawn_error`]) and decides how the stream will
    /// be handled. The DEBG echo is on when the activity log is at DEBG or lower now.
    pub fn prepare(&self, spec: StreamSpec) -> Result<PreparedStream, LogOpenError> {
        PreparedStream::open(spec, self.activity.enabled(LogLevel::Debug))
    }

    /// After the fork: starts capturing the read end `pipe` of the child `pid`'s
    /// channel. The descriptor is made non-blocking and owned by the stream from now
    /// on.
    pub fn start_stream(
        &self,
        prepared: PreparedStream,
        pid: u32,
        pipe: OwnedFd,
    ) -> io::Result<StreamHandle> {
        let _entered = self.runtime.enter();
        let (handle, task) = capture::start(prepared, pid, pipe, self.activity.clone())?;
        self.runtime.spawn(task);
        Ok(handle)
    }

    /// Stops the thread (same as dropping the pipeline). Blocks until the activity
    /// log is written out; call it outside the pipeline's own thread.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for LogPipeline {
    fn drop(&mut self) {
        self.activity.detach();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
