//! What supervisord does to its own process: daemonize, pidfile, rlimits, `user=`,
//! subreaper, fd cleanup before an in-process restart (processes.md §10).
//!
//! Functions return the reference's message texts and leave logging to the caller: this
//! module must not know about the activity log, process states or RPC.

use std::io;
use std::path::Path;

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
use nix::unistd::{Uid, User};

use crate::config::value::{py_int, py_repr};
use crate::config::LogLevel;
use crate::os::errno::py_os_error;

/// A line for the activity log, produced where the log is not at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Its level.
    pub level: LogLevel,
    /// Its text.
    pub text: String,
}

impl Notice {
    fn new(level: LogLevel, text: String) -> Notice {
        Notice { level, text }
    }
}

/// Go to the background: fork, the parent `_exit(0)`s; the child changes to `directory`
/// (if set), points fds 0–2 at /dev/null, starts a new session and sets `umask`.
///
/// Returns, in the child, the lines the reference logs (`daemonizing the supervisord
/// process`, `set current directory: '<dir>'` or the CRIT `can't chdir into …`). The
/// reference's BLAT `supervisord forked; parent exiting` is the caller's to log before
/// calling. Call it before any thread or tokio runtime exists: only the calling thread
/// survives a fork.
pub fn daemonize(directory: Option<&str>, umask: u32) -> io::Result<Vec<Notice>> {
    // SAFETY: the caller guarantees a single-threaded process; the parent only _exits.
    match unsafe { libc::fork() } {
        -1 => return Err(io::Error::last_os_error()),
        0 => {}
        // SAFETY: _exit skips destructors and atexit handlers, as the reference does.
        _ => unsafe { libc::_exit(0) },
    }
    let mut notices = vec![Notice::new(
        LogLevel::Info,
        "daemonizing the supervisord process".into(),
    )];
    if let Some(directory) = directory {
        notices.push(match std::env::set_current_dir(directory) {
            Ok(()) => Notice::new(
                LogLevel::Info,
                format!("set current directory: {}", py_repr(directory)),
            ),
            Err(error) => Notice::new(
                LogLevel::Critical,
                format!(
                    "can't chdir into {}: {}",
                    py_repr(directory),
                    py_os_error(error.raw_os_error().unwrap_or(libc::EIO), Some(directory))
                ),
            ),
        });
    }
    stdio_to_dev_null()?;
    nix::unistd::setsid()?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        umask as libc::mode_t,
    ));
    Ok(notices)
}

fn stdio_to_dev_null() -> io::Result<()> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for fd in 0..=2 {
        // SAFETY: dup2 of a valid open fd onto a standard descriptor.
        if unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Write `"<pid>\n"` to `path` (truncating). The caller logs `supervisord started with
/// pid <pid>` on success and CRIT `could not write pidfile <path>` on failure.
pub fn write_pidfile(path: &Path) -> io::Result<()> {
    std::fs::write(path, format!("{}\n", std::process::id()))
}

/// Remove the pidfile at exit; a missing file or any error is ignored, as the reference
/// does.
pub fn remove_pidfile(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Raise RLIMIT_NOFILE to `minfds` and RLIMIT_NPROC to `minprocs` when the soft limit is
/// finite and lower. Returns the INFO lines (`Increased RLIMIT_NOFILE limit to <n>`);
/// the error is the reference's usage text (the caller prints it and exits 2).
pub fn raise_rlimits(minfds: i64, minprocs: i64) -> Result<Vec<String>, String> {
    let mut infos = Vec::new();
    for limit in [LimitKind::Files, LimitKind::Processes] {
        let minimum = match limit {
            LimitKind::Files => minfds,
            LimitKind::Processes => minprocs,
        };
        let (soft, hard) = getrlimit(limit.resource()).map_err(|e| e.desc().to_string())?;
        let Some((new_soft, new_hard)) = plan_limit(soft, hard, minimum) else {
            continue;
        };
        match setrlimit(limit.resource(), new_soft, new_hard) {
            Ok(()) => infos.push(format!(
                "Increased {} limit to {minimum}",
                limit.resource_name()
            )),
            Err(_) => return Err(limit.too_low(minimum, python_limit(new_hard))),
        }
    }
    Ok(infos)
}

#[derive(Clone, Copy)]
enum LimitKind {
    Files,
    Processes,
}

impl LimitKind {
    fn resource(self) -> Resource {
        match self {
            LimitKind::Files => Resource::RLIMIT_NOFILE,
            LimitKind::Processes => Resource::RLIMIT_NPROC,
        }
    }

    fn resource_name(self) -> &'static str {
        match self {
            LimitKind::Files => "RLIMIT_NOFILE",
            LimitKind::Processes => "RLIMIT_NPROC",
        }
    }

    /// The usage text; `hard` is the value the reference had just tried to set.
    fn too_low(self, minimum: i64, hard: i64) -> String {
        match self {
            LimitKind::Files => format!(
                "The minimum number of file descriptors required to run this process is \
                 {minimum} as per the \"minfds\" command-line argument or config file \
                 setting. The current environment will only allow you to open {hard} file \
                 descriptors.  Either raise the number of usable file descriptors in your \
                 environment (see README.rst) or lower the minfds setting in the config \
                 file to allow the process to start."
            ),
            LimitKind::Processes => format!(
                "The minimum number of available processes required to run this program \
                 is {minimum} as per the \"minprocs\" command-line argument or config file \
                 setting. The current environment will only allow you to open {hard} \
                 processes.  Either raise the number of usable processes in your \
                 environment (see README.rst) or lower the minprocs setting in the config \
                 file to allow the program to start."
            ),
        }
    }
}

/// Python shows an unlimited rlimit as -1.
fn python_limit(value: u64) -> i64 {
    if value == RLIM_INFINITY {
        -1
    } else {
        i64::try_from(value).unwrap_or(i64::MAX)
    }
}

/// The (soft, hard) pair to set, or `None` when the current soft limit is enough or
/// unlimited. A finite hard limit below the minimum is raised with it (works as root).
fn plan_limit(soft: u64, hard: u64, minimum: i64) -> Option<(u64, u64)> {
    let minimum = u64::try_from(minimum).ok()?;
    if soft == RLIM_INFINITY || soft >= minimum {
        return None;
    }
    let hard = if hard != RLIM_INFINITY && hard < minimum {
        minimum
    } else {
        hard
    };
    Some((minimum, hard))
}

/// Become `user` (a name or a uid) for supervisord's own `user=`, with the reference's
/// messages: `Can't find username 'x'`, `Can't find uid <n>`, `Can't drop privilege as
/// nonroot user`, `Could not set groups of effective user`, `Could not set group id of
/// effective user`. Already being that uid succeeds without doing anything.
/// Call before any thread exists (glibc then changes ids for every thread anyway).
pub fn drop_privileges(user: &str) -> Result<(), String> {
    let record = match py_int(user) {
        Ok(number) => u32::try_from(number)
            .ok()
            .and_then(|uid| User::from_uid(Uid::from_raw(uid)).ok().flatten())
            .ok_or_else(|| format!("Can't find uid {number}"))?,
        Err(_) => User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| format!("Can't find username {}", py_repr(user)))?,
    };
    let current = nix::unistd::getuid();
    if current == record.uid {
        return Ok(());
    }
    if !current.is_root() {
        return Err("Can't drop privilege as nonroot user".into());
    }
    let credentials = crate::os::spawn::credentials_of(&record)?;
    let groups: Vec<nix::unistd::Gid> = credentials
        .groups
        .iter()
        .map(|g| nix::unistd::Gid::from_raw(*g))
        .collect();
    nix::unistd::setgroups(&groups).map_err(|_| "Could not set groups of effective user")?;
    nix::unistd::setgid(record.gid).map_err(|_| "Could not set group id of effective user")?;
    // The reference lets this one escape as a traceback; we give it a sentence instead.
    nix::unistd::setuid(record.uid).map_err(|e| format!("Could not set user id: {}", e.desc()))
}

/// Make orphaned descendants re-parent to us (`PR_SET_CHILD_SUBREAPER`), so the global
/// reaper collects them when we are not PID 1.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let result = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Close every descriptor from `first` up. The reference closes 5 … minfds-1 before an
/// in-process restart; call it only when nothing above `first` is still in use (no
/// runtime, no open log or listener).
pub fn close_fds_from(first: i32) {
    let Ok(start) = libc::c_uint::try_from(first) else {
        return;
    };
    // SAFETY: close_range only closes descriptors; the caller vouches none is in use.
    let closed = unsafe { libc::syscall(libc::SYS_close_range, start, libc::c_uint::MAX, 0) };
    if closed == 0 {
        return;
    }
    let limit = getrlimit(Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| i32::try_from(soft).unwrap_or(1 << 20).min(1 << 20))
        .unwrap_or(1024);
    for fd in first..limit {
        // SAFETY: as above; closing an fd that is not open is harmless (EBADF).
        unsafe { libc::close(fd) };
    }
}

/// True when we are the init process of our pid namespace (a container's PID 1).
pub fn is_pid1() -> bool {
    std::process::id() == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_plans() {
        let inf = RLIM_INFINITY;
        type Case = (u64, u64, i64, Option<(u64, u64)>);
        let cases: &[Case] = &[
            (1024, 4096, 1024, None),
            (2048, 4096, 1024, None),
            (inf, inf, 1024, None),
            (512, 4096, 1024, Some((1024, 4096))),
            (512, 800, 1024, Some((1024, 1024))),
            (512, inf, 1024, Some((1024, inf))),
            (512, 4096, -1, None),
        ];
        for (soft, hard, minimum, want) in cases {
            assert_eq!(
                plan_limit(*soft, *hard, *minimum),
                *want,
                "{soft} {hard} {minimum}"
            );
        }
    }

    #[test]
    fn usage_texts() {
        assert_eq!(
            LimitKind::Files.too_low(4096, 4096),
            "The minimum number of file descriptors required to run this process is 4096 as \
             per the \"minfds\" command-line argument or config file setting. The current \
             environment will only allow you to open 4096 file descriptors.  Either raise \
             the number of usable file descriptors in your environment (see README.rst) or \
             lower the minfds setting in the config file to allow the process to start."
        );
        assert!(LimitKind::Processes
            .too_low(200, -1)
            .contains("is 200 as per the \"minprocs\" command-line argument"));
        assert!(LimitKind::Processes.too_low(200, -1).contains(
            "allow you to open -1 processes.  Either raise the number of usable processes"
        ));
        assert_eq!(python_limit(RLIM_INFINITY), -1);
    }

    #[test]
    fn current_limits_need_no_change() {
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        let minimum = i64::try_from(soft.min(1024)).expect("small");
        assert_eq!(raise_rlimits(minimum, 1), Ok(vec![]));
    }

    #[test]
    fn privilege_lookup_messages() {
        assert_eq!(
            drop_privileges("no-such-user-here"),
            Err("Can't find username 'no-such-user-here'".into())
        );
        assert_eq!(
            drop_privileges("4000000000"),
            Err("Can't find uid 4000000000".into())
        );
        let me = nix::unistd::getuid().as_raw().to_string();
        assert_eq!(drop_privileges(&me), Ok(()));
    }

    #[test]
    fn pidfile_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("supervisord.pid");
        write_pidfile(&path).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, format!("{}\n", std::process::id()));
        remove_pidfile(&path);
        assert!(!path.exists());
        remove_pidfile(&path);
    }
}
