//! Ctrl-C while `supervisorctl` waits on the network or on stdin.
//!
//! Owns the process's SIGINT disposition for the span of an [`InterruptGuard`]: a
//! handler that only raises a flag, installed without `SA_RESTART` so blocking reads
//! return `EINTR` and the waiting loop can look at [`interrupted`]. Outside a guard the
//! disposition the program started with is in force (normally: terminate), which is what
//! the reference does for commands that are not streaming. Also tells when standard
//! output has been closed by its reader, the other reason to stop waiting.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether Ctrl-C was pressed since the current guard was installed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Whether standard output is a pipe whose reader has gone (`tail -f x | head`), so a
/// stream can end before it has anything more to write.
pub fn stdout_gone() -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let stdout = std::io::stdout();
    let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::POLLOUT)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(_) => fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP)),
        Err(_) => false,
    }
}

/// While alive, SIGINT raises the [`interrupted`] flag instead of ending the process.
pub struct InterruptGuard {
    previous: Option<SigAction>,
}

impl InterruptGuard {
    /// Installs the flag-raising handler (and clears the flag). If the handler cannot be
    /// installed, Ctrl-C keeps its previous effect; nothing else changes.
    pub fn install() -> InterruptGuard {
        INTERRUPTED.store(false, Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(on_sigint),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let previous = unsafe { sigaction(Signal::SIGINT, &action) }.ok();
        if let Some(ignored) = previous.filter(|p| p.handler() == SigHandler::SigIgn) {
            // Ctrl-C was ignored by whoever started us (a background job): keep it so.
            // SAFETY: puts back the disposition we just replaced.
            let _ = unsafe { sigaction(Signal::SIGINT, &ignored) };
        }
        InterruptGuard { previous }
    }
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        if let Some(previous) = &self.previous {
            // SAFETY: restores the disposition that was in force before `install`.
            let _ = unsafe { sigaction(Signal::SIGINT, previous) };
        }
    }
}
