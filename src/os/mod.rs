//! Every Unix call the daemon and the embedded library make.
//!
//! * [`command`]: `command=` → filename and argv, with supervisord's checks.
//! * [`spawn`](mod@spawn): pipes, fork, the child's setup (process group, fds, signals, user, cwd,
//!   umask) and execve, with the reference's failure texts.
//! * [`reap`]: the one owner of waiting: global (`waitpid(-1)` on SIGCHLD) or owned
//!   (a pidfd per child) for embedding.
//! * [`kill`](mod@kill): a signal to a pid or its process group.
//! * [`signals`]: the daemon's own signal queue.
//! * [`daemon`]: daemonize, pidfile, rlimits, `user=`, subreaper, fd cleanup.
//! * [`fcgi`]: the listening socket of an `[fcgi-program:x]`.
//! * [`errno`]: errno names as Python spells them.
//!
//! Nothing here knows about process states, logs or RPC: callers turn results into
//! state changes and log lines.

pub mod command;
pub mod daemon;
pub mod errno;
pub mod fcgi;
pub mod kill;
pub mod reap;
pub mod signals;
pub mod spawn;

pub use command::{resolve, CommandError, ResolvedCommand};
pub use kill::kill;
pub use reap::{Reaped, Reaper};
pub use signals::{DaemonSignal, SignalReceiver};
pub use spawn::{credentials_for_uid, spawn, Credentials, SpawnError, SpawnSpec, Spawned};
