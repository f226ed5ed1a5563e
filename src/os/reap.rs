//! Collecting children's exit statuses: the one place that waits for processes.
//!
//! Two strategies behind one type, [`Reaper`], both delivering [`Reaped`] events with
//! the raw wait status (decoding it is `process`'s job) through a tokio channel:
//!
//! * **Global** (the daemon, PID 1, subreaper): on every SIGCHLD, `waitpid(-1, WNOHANG)`
//!   until nothing is left. Pids started through [`Reaper::spawn`] come out as
//!   [`Reaped::Child`]; anything else (orphans re-parented to us) as [`Reaped::Unknown`].
//! * **Owned** (a host program embedding the crate): one pidfd per child, waited with
//!   `waitid(P_PIDFD)`. It never calls `waitpid(-1)` and installs no signal handler, so
//!   the host's own children and its `Child::wait` calls are left alone.
//!
//! Registration rule, so no exit is lost or misfiled: a pid is registered by the same
//! call that forks it. In global mode fork and registration happen under the lock the
//! reaping loop holds around `waitpid`, so the loop can never collect a pid it does not
//! know yet. In owned mode nobody else waits for our child, so it is still there
//! (running or a zombie) when `pidfd_open` runs right after fork.
//!
//! Must not know about process states; must not be used together with `tokio::process`
//! or `std::process::Child::wait` in global mode (they would lose their statuses to us).

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::unix::AsyncFd;
use tokio::runtime::Handle;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::os::spawn::{spawn, SpawnError, SpawnSpec, Spawned};

/// One collected process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaped {
    /// A child started through this reaper ended; `status` is the raw wait status.
    Child {
        /// Its pid.
        pid: i32,
        /// Raw status as `waitpid` reports it (`WIFEXITED`, `WTERMSIG`, …).
        status: i32,
    },
    /// Global mode only: a process we did not start, re-parented to us (PID 1 or
    /// subreaper). The core logs `reaped unknown pid <pid> (<status text>)`.
    Unknown {
        /// Its pid.
        pid: i32,
        /// Raw wait status.
        status: i32,
    },
    /// Owned mode only: somebody else in this process (a host calling `waitpid(-1)`)
    /// collected our child first, so its exit status is unknown.
    Lost {
        /// Its pid.
        pid: i32,
    },
}

/// Starts children and reports their ends. Cheap to clone; all clones share one channel.
#[derive(Debug, Clone)]
pub struct Reaper {
    strategy: Strategy,
    runtime: Handle,
    events: UnboundedSender<Reaped>,
}

#[derive(Debug, Clone)]
enum Strategy {
    Global(Arc<Mutex<HashSet<i32>>>),
    Owned,
}

impl Reaper {
    /// The daemon's reaper: catches SIGCHLD and reaps every child of this process.
    /// Must be called inside a tokio runtime; the reaping task runs there until the
    /// receiver is dropped.
    ///
    /// Only one global reaper can run per process (two would steal each other's
    /// children); a second call fails with `AlreadyExists` until the first one's task has
    /// ended.
    pub fn global() -> io::Result<(Reaper, UnboundedReceiver<Reaped>)> {
        let runtime = current_runtime()?;
        let claim = GlobalClaim::take()?;
        let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?;
        let known = Arc::new(Mutex::new(HashSet::new()));
        let (events, receiver) = unbounded_channel();
        let reaper = Reaper {
            strategy: Strategy::Global(Arc::clone(&known)),
            runtime: runtime.clone(),
            events: events.clone(),
        };
        runtime.spawn(async move {
            let _claim = claim;
            // The first pass collects children that ended before SIGCHLD was caught.
            loop {
                for event in reap_all(&known) {
                    if events.send(event).is_err() {
                        return;
                    }
                }
                tokio::select! {
                    received = sigchld.recv() => if received.is_none() { return },
                    _ = events.closed() => return,
                }
            }
        });
        Ok((reaper, receiver))
    }

    /// The embedded reaper: watches only the children it starts, through pidfds.
    /// Must be called inside a tokio runtime (Linux ≥ 5.4 for `waitid(P_PIDFD)`).
    pub fn owned() -> io::Result<(Reaper, UnboundedReceiver<Reaped>)> {
        let (events, receiver) = unbounded_channel();
        let reaper = Reaper {
            strategy: Strategy::Owned,
            runtime: current_runtime()?,
            events,
        };
        Ok((reaper, receiver))
    }

    /// Fork and exec `spec`, registered so that its end is reported exactly once.
    pub fn spawn(&self, spec: &SpawnSpec) -> Result<Spawned, SpawnError> {
        match &self.strategy {
            Strategy::Global(known) => {
                let mut known = known.lock().unwrap_or_else(PoisonError::into_inner);
                let spawned = spawn(spec)?;
                known.insert(spawned.pid);
                Ok(spawned)
            }
            Strategy::Owned => {
                let spawned = spawn(spec)?;
                let watched = self.watch(spawned.pid).map_err(|errno| {
                    // We cannot report this child's end: take it down now.
                    crate::os::kill::kill(spawned.pid, libc::SIGKILL, false).ok();
                    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(spawned.pid), None);
                    SpawnError::Watch {
                        name: spec.name().to_string(),
                        errno,
                    }
                });
                watched.map(|()| spawned)
            }
        }
    }

    fn watch(&self, pid: i32) -> Result<(), i32> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if raw < 0 {
            return Err(last_errno());
        }
        // SAFETY: a non-negative return is a fresh fd that nobody else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        let _entered = self.runtime.enter();
        // SAFETY: an OwnedFd always reports the same, open descriptor until dropped.
        let pidfd =
            unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) }
                .map_err(|e| io::Error::from(e).raw_os_error().unwrap_or(libc::EIO))?;
        let events = self.events.clone();
        self.runtime.spawn(async move {
            let event = wait_pidfd(pid, &pidfd).await;
            let _ = events.send(event);
        });
        Ok(())
    }
}

static GLOBAL_RUNNING: AtomicBool = AtomicBool::new(false);

/// Held by the global reaping task; released when the task ends or is dropped.
struct GlobalClaim;

impl GlobalClaim {
    fn take() -> io::Result<GlobalClaim> {
        if GLOBAL_RUNNING.swap(true, Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a global reaper is already running in this process",
            ));
        }
        Ok(GlobalClaim)
    }
}

impl Drop for GlobalClaim {
    fn drop(&mut self) {
        GLOBAL_RUNNING.store(false, Ordering::SeqCst);
    }
}

fn current_runtime() -> io::Result<Handle> {
    Handle::try_current().map_err(|e| io::Error::other(e.to_string()))
}

fn last_errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Every child that has ended, classified under the registration lock.
fn reap_all(known: &Mutex<HashSet<i32>>) -> Vec<Reaped> {
    let mut known = known.lock().unwrap_or_else(PoisonError::into_inner);
    let mut reaped = Vec::new();
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            reaped.push(if known.remove(&pid) {
                Reaped::Child { pid, status }
            } else {
                Reaped::Unknown { pid, status }
            });
        } else if pid < 0 && last_errno() == libc::EINTR {
            continue;
        } else {
            // 0: children remain but none has ended; ECHILD: no children at all.
            return reaped;
        }
    }
}

/// Wait until the pidfd says the child ended, then collect it.
async fn wait_pidfd(pid: i32, pidfd: &AsyncFd<OwnedFd>) -> Reaped {
    loop {
        let mut guard = match pidfd.readable().await {
            Ok(guard) => guard,
            Err(_) => return Reaped::Lost { pid },
        };
        match waitid_pidfd(pidfd.get_ref().as_raw_fd()) {
            Ok(Some(status)) => return Reaped::Child { pid, status },
            Ok(None) => guard.clear_ready(),
            Err(_) => return Reaped::Lost { pid },
        }
    }
}

/// `waitid(P_PIDFD, fd, WEXITED | WNOHANG)`: `Some(raw status)` once it ended, `None`
/// while it runs, the errno when it is gone (ECHILD: someone else reaped it).
fn waitid_pidfd(pidfd: i32) -> Result<Option<i32>, i32> {
    loop {
        // SAFETY: zeroed siginfo_t is a valid out-parameter for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid with a valid id type, fd and out-pointer.
        let result = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        };
        if result < 0 {
            match last_errno() {
                libc::EINTR => continue,
                errno => return Err(errno),
            }
        }
        // SAFETY: after a successful waitid the pid and status fields are initialized
        // (pid 0 means nothing ended yet).
        let (pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        return Ok(Some(wait_status(code, status)));
    }
}

/// The `waitpid`-style status word for a `waitid` result, so both strategies report
/// the same thing.
fn wait_status(code: i32, status: i32) -> i32 {
    match code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        _ => status & 0x7f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waitid_codes_become_wait_statuses() {
        let exited = wait_status(libc::CLD_EXITED, 3);
        assert!(libc::WIFEXITED(exited));
        assert_eq!(libc::WEXITSTATUS(exited), 3);
        let killed = wait_status(libc::CLD_KILLED, libc::SIGTERM);
        assert!(libc::WIFSIGNALED(killed));
        assert_eq!(libc::WTERMSIG(killed), libc::SIGTERM);
        assert!(!libc::WCOREDUMP(killed));
        let dumped = wait_status(libc::CLD_DUMPED, libc::SIGABRT);
        assert!(libc::WIFSIGNALED(dumped));
        assert_eq!(libc::WTERMSIG(dumped), libc::SIGABRT);
        assert!(libc::WCOREDUMP(dumped));
    }
}
