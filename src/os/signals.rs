//! The signals supervisord itself reacts to, as an async queue (processes.md §8).
//!
//! Installed only by the daemon ([`SignalReceiver::install`]); an embedding host gets no
//! handler from this crate. Like the reference's receiver, the queue keeps each signal at
//! most once: a signal that arrives while the same one is still pending is dropped, and
//! distinct signals come out in the order they first arrived. The caller takes one per
//! loop pass.
//!
//! The handler only does async-signal-safe work: it stamps the signal's slot with a
//! sequence number (atomics) and writes one byte to a non-blocking self-pipe that wakes
//! [`SignalReceiver::recv`]. Other handlers for the same signals (tokio's SIGCHLD for the
//! global reaper) keep working: handlers are chained by `signal-hook`.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

use tokio::io::unix::AsyncFd;

/// A signal supervisord catches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonSignal {
    /// SIGTERM: shut down.
    Term,
    /// SIGINT: shut down.
    Int,
    /// SIGQUIT: shut down.
    Quit,
    /// SIGHUP: restart in-process.
    Hup,
    /// SIGUSR2: reopen logs.
    Usr2,
    /// SIGCHLD: a child ended (the reaper collects it; the core only logs).
    Chld,
}

impl DaemonSignal {
    /// Every caught signal, in slot order.
    pub const ALL: [DaemonSignal; 6] = [
        DaemonSignal::Term,
        DaemonSignal::Int,
        DaemonSignal::Quit,
        DaemonSignal::Hup,
        DaemonSignal::Usr2,
        DaemonSignal::Chld,
    ];

    /// The signal number.
    pub fn number(self) -> i32 {
        match self {
            DaemonSignal::Term => libc::SIGTERM,
            DaemonSignal::Int => libc::SIGINT,
            DaemonSignal::Quit => libc::SIGQUIT,
            DaemonSignal::Hup => libc::SIGHUP,
            DaemonSignal::Usr2 => libc::SIGUSR2,
            DaemonSignal::Chld => libc::SIGCHLD,
        }
    }

    /// The C name the activity log prints (`SIGTERM`).
    pub fn name(self) -> &'static str {
        match self {
            DaemonSignal::Term => "SIGTERM",
            DaemonSignal::Int => "SIGINT",
            DaemonSignal::Quit => "SIGQUIT",
            DaemonSignal::Hup => "SIGHUP",
            DaemonSignal::Usr2 => "SIGUSR2",
            DaemonSignal::Chld => "SIGCHLD",
        }
    }

    fn slot(self) -> usize {
        match self {
            DaemonSignal::Term => 0,
            DaemonSignal::Int => 1,
            DaemonSignal::Quit => 2,
            DaemonSignal::Hup => 3,
            DaemonSignal::Usr2 => 4,
            DaemonSignal::Chld => 5,
        }
    }
}

/// Per slot: 0 when not pending, else the sequence number of its arrival.
static PENDING: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];
static ARRIVALS: AtomicU64 = AtomicU64::new(0);
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The daemon's signal queue. Only one can exist at a time.
#[derive(Debug)]
pub struct SignalReceiver {
    handlers: Vec<signal_hook::SigId>,
    wake: AsyncFd<OwnedFd>,
    _wake_writer: OwnedFd,
}

impl SignalReceiver {
    /// Catch TERM, INT, QUIT, HUP, USR2 and CHLD. Must be called inside a tokio runtime.
    /// After the receiver is dropped these signals stay caught and do nothing.
    pub fn install() -> io::Result<SignalReceiver> {
        if INSTALLED.swap(true, Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a signal receiver is already installed",
            ));
        }
        let made = Self::make();
        if made.is_err() {
            INSTALLED.store(false, Ordering::SeqCst);
        }
        made
    }

    fn make() -> io::Result<SignalReceiver> {
        use nix::fcntl::OFlag;
        tokio::runtime::Handle::try_current().map_err(|e| io::Error::other(e.to_string()))?;
        let (reader, writer) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        // SAFETY: an OwnedFd always reports the same, open descriptor until dropped.
        let wake =
            unsafe { AsyncFd::register_with_interest(reader, tokio::io::Interest::READABLE) }?;
        for slot in &PENDING {
            slot.store(0, Ordering::SeqCst);
        }
        WAKE_FD.store(writer.as_raw_fd(), Ordering::SeqCst);
        let mut receiver = SignalReceiver {
            handlers: Vec::new(),
            wake,
            _wake_writer: writer,
        };
        for signal in DaemonSignal::ALL {
            // SAFETY: `record` only touches atomics and calls write(2), both
            // async-signal-safe.
            let id = unsafe {
                signal_hook::low_level::register(signal.number(), move || record(signal))
            }?;
            receiver.handlers.push(id);
        }
        Ok(receiver)
    }

    /// The oldest pending signal, waiting for one if none is pending.
    pub async fn recv(&mut self) -> io::Result<DaemonSignal> {
        loop {
            if let Some(signal) = take_oldest() {
                return Ok(signal);
            }
            let mut guard = self.wake.readable().await?;
            // Drain to EAGAIN so readiness is cleared; a signal arriving after the drain
            // writes again and wakes us, one arriving before it is seen by take_oldest.
            let drained = guard.try_io(|fd| drain(fd.get_ref()));
            if let Ok(Err(error)) = drained {
                return Err(error);
            }
        }
    }

    /// The oldest pending signal, if any, without waiting.
    pub fn try_recv(&mut self) -> Option<DaemonSignal> {
        take_oldest()
    }
}

impl Drop for SignalReceiver {
    fn drop(&mut self) {
        for id in self.handlers.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        WAKE_FD.store(-1, Ordering::SeqCst);
        INSTALLED.store(false, Ordering::SeqCst);
    }
}

/// The signal handler.
fn record(signal: DaemonSignal) {
    let arrival = ARRIVALS.fetch_add(1, Ordering::SeqCst) + 1;
    // Already pending: coalesced, as the reference's queue does.
    let _ = PENDING[signal.slot()].compare_exchange(0, arrival, Ordering::SeqCst, Ordering::SeqCst);
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        // A full pipe already holds a wake-up, so EAGAIN is fine to ignore.
        // SAFETY: write(2) from a one-byte buffer on the stack.
        unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    }
}

fn take_oldest() -> Option<DaemonSignal> {
    let (signal, arrival) = DaemonSignal::ALL
        .into_iter()
        .map(|signal| (signal, PENDING[signal.slot()].load(Ordering::SeqCst)))
        .filter(|(_, arrival)| *arrival != 0)
        .min_by_key(|(_, arrival)| *arrival)?;
    // Only this function clears a slot, and only one receiver exists, so this succeeds.
    let _ = PENDING[signal.slot()].compare_exchange(arrival, 0, Ordering::SeqCst, Ordering::SeqCst);
    Some(signal)
}

/// Read the self-pipe until it is empty; ends with the `WouldBlock` error `try_io` needs.
fn drain(fd: &OwnedFd) -> io::Result<()> {
    let mut buffer = [0u8; 64];
    loop {
        // SAFETY: read into a stack buffer of the given length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) };
        if n == 0 {
            // We hold the write end, so this cannot happen; never spin on it.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if n < 0 {
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}
