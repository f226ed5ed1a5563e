//! Starting a child process: pipes, clone, the child's setup, execve.
//!
//! Owns the fork/exec sequence of processes.md §4–§5, with `clone(CLONE_VM | CLONE_VFORK)`
//! in place of fork. Everything the child needs (C strings, pointer arrays, groups,
//! message prefixes) is built in the parent; between clone and exec the child makes
//! async-signal-safe system calls only: no allocation, no locks, no formatting, no
//! tracing, no writes outside its own stack. Child-side failures are written to the
//! child's fd 2 in the reference's words and end in `_exit(127)`, so the parent sees them
//! as a quick exit, exactly like supervisord.
//!
//! `std::process::Command` is not used because it reports chdir/exec failures to the
//! parent and waits for the failed child itself, which races the daemon's reaper.
//!
//! Must not know about process states, logging or RPC. Reaping is `os::reap`'s job; use
//! [`crate::os::reap::Reaper::spawn`] so the new pid is registered before it can be reaped.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use crate::os::command::ResolvedCommand;
use crate::os::errno::{errno_display, errno_name};

/// Capacity asked for stdout/stderr pipes, so a burst of output does not stall the child
/// while the log task is busy. Only done as root: unprivileged users are charged for pipe
/// buffers (`/proc/sys/fs/pipe-user-pages-soft`) and big pipes would soon make every new
/// pipe smaller than the default instead.
const PIPE_CAPACITY: libc::c_int = 1 << 20;

/// Highest signal number on Linux (`SIGRTMAX`).
const MAX_SIGNAL: libc::c_int = 64;

const NOT_SPAWNED: &[u8] = b"supervisor: child process was not spawned\n";

/// A user's identity as the child will take it on: uid, primary gid and every group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The uid to switch to.
    pub uid: u32,
    /// The user's primary gid.
    pub gid: u32,
    /// The primary gid first, then every group listing the user as a member.
    pub groups: Vec<u32>,
}

/// Look up `uid` in the user database (`getpwuid`, `getgrouplist`).
///
/// The error is the reference's text, `Can't find uid <n>`.
pub fn credentials_for_uid(uid: u32) -> Result<Credentials, String> {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .ok_or_else(|| format!("Can't find uid {uid}"))?;
    credentials_of(&user)
}

/// The credentials of a user record: its primary group first, then its other groups.
pub(crate) fn credentials_of(user: &nix::unistd::User) -> Result<Credentials, String> {
    let gid = user.gid.as_raw();
    let name = CString::new(user.name.as_bytes())
        .map_err(|_| format!("Can't find uid {}", user.uid.as_raw()))?;
    let mut groups = vec![gid];
    groups.extend(
        nix::unistd::getgrouplist(&name, user.gid)
            .unwrap_or_default()
            .into_iter()
            .map(|g| g.as_raw())
            .filter(|g| *g != gid),
    );
    Ok(Credentials {
        uid: user.uid.as_raw(),
        gid,
        groups,
    })
}

/// What the child does about `user=`, decided in the parent with the reference's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Privileges {
    /// Already running as that uid: nothing to do.
    Keep,
    /// setgroups → setgid → setuid.
    Switch(Credentials),
    /// The child writes this reason and does not exec.
    Refuse(String),
}

impl Privileges {
    fn for_uid(uid: u32) -> Privileges {
        let credentials = match credentials_for_uid(uid) {
            Ok(credentials) => credentials,
            Err(reason) => return Privileges::Refuse(reason),
        };
        let current = nix::unistd::getuid().as_raw();
        if current == uid {
            Privileges::Keep
        } else if current != 0 {
            Privileges::Refuse("Can't drop privilege as nonroot user".to_string())
        } else {
            Privileges::Switch(credentials)
        }
    }
}

/// Why a spawn failed in the parent; `Display` is the reference's `spawnerr` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// Creating the pipes hit the fd limit.
    #[error("too many open files to spawn '{name}'")]
    TooManyFiles {
        /// Process name.
        name: String,
    },
    /// Creating the pipes failed otherwise.
    #[error("unknown error making dispatchers for '{name}': {}", errno_display(*.errno))]
    Pipes {
        /// Process name.
        name: String,
        /// The failing errno.
        errno: i32,
    },
    /// fork said EAGAIN.
    #[error("Too many processes in process table to spawn '{name}'")]
    ProcessTable {
        /// Process name.
        name: String,
    },
    /// fork failed otherwise.
    #[error("unknown error during fork for '{name}': {}", errno_display(*.errno))]
    Fork {
        /// Process name.
        name: String,
        /// The failing errno.
        errno: i32,
    },
    /// A command word, environment entry or directory holds a NUL byte, which no C
    /// string can carry. (The reference fails later, in the child, with a Python
    /// traceback text that cannot be reproduced.)
    #[error("couldn't exec {argv0}: embedded null byte in {what} of '{name}'")]
    NulByte {
        /// Process name.
        name: String,
        /// The program word as written.
        argv0: String,
        /// Which part held it (`command`, `environment`, `directory`).
        what: &'static str,
    },
    /// The owned reaper could not watch the new child (`pidfd_open`); the child has been
    /// killed and collected.
    #[error("couldn't watch '{name}' after fork: {}", errno_display(*.errno))]
    Watch {
        /// Process name.
        name: String,
        /// The failing errno.
        errno: i32,
    },
}

/// Everything needed to start one process, converted to C form before any fork.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    name: String,
    argv0: String,
    filename: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    directory: Option<CString>,
    umask: Option<libc::mode_t>,
    user: Option<(u32, Privileges)>,
    redirect_stderr: bool,
    stdin_socket: Option<Arc<OwnedFd>>,
    ignored_signals: Vec<libc::c_int>,
}

impl SpawnSpec {
    /// A spec for process `name` running `command` with exactly the environment `env`
    /// (the caller merges supervisord's, `SUPERVISOR_*`, global and program entries).
    pub fn new<K, V>(
        name: &str,
        command: &ResolvedCommand,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Result<SpawnSpec, SpawnError>
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let argv0 = command.argv.first().cloned().unwrap_or_default();
        let nul = |what| SpawnError::NulByte {
            name: name.to_string(),
            argv0: argv0.clone(),
            what,
        };
        let filename =
            CString::new(command.filename.as_os_str().as_bytes()).map_err(|_| nul("command"))?;
        let argv = command
            .argv
            .iter()
            .map(|word| CString::new(word.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| nul("command"))?;
        let envp = env
            .into_iter()
            .map(|(key, value)| {
                let mut entry = key.as_ref().as_bytes().to_vec();
                entry.push(b'=');
                entry.extend_from_slice(value.as_ref().as_bytes());
                CString::new(entry)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| nul("environment"))?;
        Ok(SpawnSpec {
            name: name.to_string(),
            argv0,
            filename,
            argv,
            envp,
            directory: None,
            umask: None,
            user: None,
            redirect_stderr: false,
            stdin_socket: None,
            ignored_signals: Vec::new(),
        })
    }

    /// chdir there in the child (after dropping privileges, before exec).
    pub fn directory(mut self, directory: &str) -> Result<SpawnSpec, SpawnError> {
        let c_dir = CString::new(directory).map_err(|_| SpawnError::NulByte {
            name: self.name.clone(),
            argv0: self.argv0.clone(),
            what: "directory",
        })?;
        self.directory = Some(c_dir);
        Ok(self)
    }

    /// Set this umask in the child.
    pub fn umask(mut self, mask: u32) -> SpawnSpec {
        self.umask = Some(mask as libc::mode_t);
        self
    }

    /// Run as `uid`: the user database is read now, in the parent. A uid that cannot be
    /// used (unknown, or we are not root) makes the child report
    /// `supervisor: couldn't setuid to <uid>: <reason>` and exit 127, as the reference does.
    pub fn user(mut self, uid: u32) -> SpawnSpec {
        self.user = Some((uid, Privileges::for_uid(uid)));
        self
    }

    /// Send the child's fd 2 into the stdout pipe; no stderr pipe is made.
    pub fn redirect_stderr(mut self, redirect: bool) -> SpawnSpec {
        self.redirect_stderr = redirect;
        self
    }

    /// Put this descriptor (an fcgi listening socket) on the child's fd 0 instead of a
    /// stdin pipe.
    pub fn stdin_socket(mut self, socket: Arc<OwnedFd>) -> SpawnSpec {
        self.stdin_socket = Some(socket);
        self
    }

    /// Start the child with these signals ignored; every other signal has its default
    /// action and none is blocked. Python supervisord's children inherit SIGPIPE and
    /// SIGXFSZ ignored; pass those two to reproduce that.
    pub fn ignore_signals(mut self, signals: &[i32]) -> SpawnSpec {
        self.ignored_signals = signals.to_vec();
        self
    }

    /// The process name used in error texts.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A started child and the parent's ends of its pipes (non-blocking, close-on-exec).
#[derive(Debug)]
pub struct Spawned {
    /// The child's pid, also its process group id.
    pub pid: i32,
    /// Write end of the child's stdin; `None` when fd 0 is an fcgi socket.
    pub stdin: Option<OwnedFd>,
    /// Read end of the child's stdout (and stderr when redirected).
    pub stdout: OwnedFd,
    /// Read end of the child's stderr; `None` when redirected to stdout.
    pub stderr: Option<OwnedFd>,
}

/// Start the child described by `spec`. The caller must make sure it will be reaped;
/// prefer [`crate::os::reap::Reaper::spawn`].
pub fn spawn(spec: &SpawnSpec) -> Result<Spawned, SpawnError> {
    let pipes = Pipes::new(spec).map_err(|errno| match errno {
        libc::EMFILE => SpawnError::TooManyFiles {
            name: spec.name.clone(),
        },
        errno => SpawnError::Pipes {
            name: spec.name.clone(),
            errno,
        },
    })?;
    let child = ChildPlan::new(spec, &pipes);
    let pid = clone_with_signals_blocked(&child).map_err(|errno| match errno {
        libc::EAGAIN => SpawnError::ProcessTable {
            name: spec.name.clone(),
        },
        errno => SpawnError::Fork {
            name: spec.name.clone(),
            errno,
        },
    })?;
    Ok(pipes.into_parent_ends(pid))
}

/// Both ends of every pipe; the child ends are closed when this is consumed.
struct Pipes {
    stdin: Option<(OwnedFd, OwnedFd)>,
    stdout: (OwnedFd, OwnedFd),
    stderr: Option<(OwnedFd, OwnedFd)>,
    /// The fcgi socket, moved above fd 2 if it was below.
    stdin_socket: Option<Arc<OwnedFd>>,
}

impl Pipes {
    /// Returns the errno of the first failure; every fd made so far is closed.
    fn new(spec: &SpawnSpec) -> Result<Pipes, i32> {
        let stdin_socket = match &spec.stdin_socket {
            Some(socket) if socket.as_raw_fd() <= 2 => Some(Arc::new(dup_above_stdio(socket)?)),
            Some(socket) => Some(Arc::clone(socket)),
            None => None,
        };
        let stdin = match stdin_socket {
            Some(_) => None,
            None => Some(child_reads_pipe()?),
        };
        let stdout = child_writes_pipe()?;
        let stderr = if spec.redirect_stderr {
            None
        } else {
            Some(child_writes_pipe()?)
        };
        Ok(Pipes {
            stdin,
            stdout,
            stderr,
            stdin_socket,
        })
    }

    fn into_parent_ends(self, pid: i32) -> Spawned {
        Spawned {
            pid,
            stdin: self.stdin.map(|(_, parent)| parent),
            stdout: self.stdout.1,
            stderr: self.stderr.map(|(_, parent)| parent),
        }
    }
}

/// A pipe whose child end (first) is a read end: `(child, parent)`.
fn child_reads_pipe() -> Result<(OwnedFd, OwnedFd), i32> {
    let (read, write) = pipe()?;
    set_nonblocking(&write)?;
    Ok((dup_above_stdio_if_needed(read)?, write))
}

/// A pipe whose child end (first) is a write end: `(child, parent)`.
fn child_writes_pipe() -> Result<(OwnedFd, OwnedFd), i32> {
    let (read, write) = pipe()?;
    set_nonblocking(&read)?;
    if nix::unistd::geteuid().is_root() {
        // SAFETY: fcntl on an fd we own; failure only leaves the default capacity.
        unsafe { libc::fcntl(read.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_CAPACITY) };
    }
    Ok((dup_above_stdio_if_needed(write)?, read))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), i32> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e as i32)
}

fn set_nonblocking(fd: &OwnedFd) -> Result<(), i32> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL).map_err(|e| e as i32)?;
    let flags = OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK;
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags)).map_err(|e| e as i32)?;
    Ok(())
}

/// The child dup2s its pipe ends onto 0, 1 and 2 in that order; an end that is itself
/// 0, 1 or 2 (a host that closed its stdio) could be overwritten first, so move it up.
fn dup_above_stdio_if_needed(fd: OwnedFd) -> Result<OwnedFd, i32> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    dup_above_stdio(&fd)
}

fn dup_above_stdio(fd: &OwnedFd) -> Result<OwnedFd, i32> {
    // SAFETY: fcntl on a valid fd; a non-negative result is a new fd we now own.
    let moved = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if moved < 0 {
        return Err(last_errno());
    }
    // SAFETY: `moved` was just returned by F_DUPFD_CLOEXEC and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// What the child will do, as raw values and pointers into `spec` (which outlives fork).
struct ChildPlan<'a> {
    filename: *const libc::c_char,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    fd_limit: libc::c_int,
    ignored_signals: &'a [libc::c_int],
    user: ChildUser<'a>,
    directory: Option<&'a CString>,
    umask: Option<libc::mode_t>,
    chdir_failed: Vec<u8>,
    exec_failed: Vec<u8>,
}

enum ChildUser<'a> {
    Keep,
    Switch {
        credentials: &'a Credentials,
        groups: Vec<libc::gid_t>,
        failed: Vec<u8>,
    },
    Refuse(Vec<u8>),
}

impl<'a> ChildPlan<'a> {
    fn new(spec: &'a SpawnSpec, pipes: &Pipes) -> ChildPlan<'a> {
        let pointers = |strings: &[CString]| {
            strings
                .iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect::<Vec<_>>()
        };
        let stdin = match (&pipes.stdin_socket, &pipes.stdin) {
            (Some(socket), _) => socket.as_raw_fd(),
            (None, Some((child, _))) => child.as_raw_fd(),
            (None, None) => -1,
        };
        let stdout = pipes.stdout.0.as_raw_fd();
        let stderr = pipes
            .stderr
            .as_ref()
            .map_or(stdout, |(child, _)| child.as_raw_fd());
        let user = match &spec.user {
            None | Some((_, Privileges::Keep)) => ChildUser::Keep,
            Some((uid, Privileges::Refuse(reason))) => ChildUser::Refuse(
                format!("supervisor: couldn't setuid to {uid}: {reason}\n").into(),
            ),
            Some((uid, Privileges::Switch(credentials))) => ChildUser::Switch {
                credentials,
                groups: credentials
                    .groups
                    .iter()
                    .map(|g| *g as libc::gid_t)
                    .collect(),
                failed: format!("supervisor: couldn't setuid to {uid}: ").into(),
            },
        };
        let directory_text = spec
            .directory
            .as_ref()
            .map(|d| String::from_utf8_lossy(d.as_bytes()).into_owned())
            .unwrap_or_default();
        ChildPlan {
            filename: spec.filename.as_ptr(),
            argv: pointers(&spec.argv),
            envp: pointers(&spec.envp),
            stdin,
            stdout,
            stderr,
            fd_limit: open_fd_limit(),
            ignored_signals: &spec.ignored_signals,
            user,
            directory: spec.directory.as_ref(),
            umask: spec.umask,
            chdir_failed: format!("supervisor: couldn't chdir to {directory_text}: ").into(),
            exec_failed: format!("supervisor: couldn't exec {}: ", spec.argv0).into(),
        }
    }
}

/// The bound for the close loop used when `close_range` is unavailable.
fn open_fd_limit() -> libc::c_int {
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
        Ok((soft, _)) => libc::c_int::try_from(soft).unwrap_or(1 << 20).min(1 << 20),
        Err(_) => 1024,
    }
}

/// Room for the child's frames between clone and exec: its deepest path is an error line
/// ([`LINE_BUFFER`]) plus a few small frames.
const CHILD_STACK: usize = 64 * 1024;

/// A stack for the child of [`clone_with_signals_blocked`], with a guard page below it so
/// an overflow faults instead of writing into the parent's memory. Unmapped on drop,
/// which happens after the child has exec'd or exited (the parent is suspended till then).
struct ChildStack {
    base: *mut libc::c_void,
    len: usize,
}

impl ChildStack {
    fn new() -> Result<ChildStack, i32> {
        let guard = page_size();
        let len = CHILD_STACK + guard;
        // SAFETY: a fresh anonymous private mapping; `base` is checked before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(last_errno());
        }
        let stack = ChildStack { base, len };
        // SAFETY: the lowest page of the mapping made above.
        if unsafe { libc::mprotect(base, guard, libc::PROT_NONE) } != 0 {
            return Err(last_errno());
        }
        Ok(stack)
    }

    /// The initial stack pointer: the top of the mapping, 16-byte aligned.
    fn top(&self) -> *mut libc::c_void {
        let end = self.base as usize + self.len;
        (end & !15) as *mut libc::c_void
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, no longer used once the child has exec'd or
        // exited, which `CLONE_VFORK` guarantees before `clone` returns.
        unsafe {
            libc::munmap(self.base, self.len);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096).max(4096)
}

/// Start the child with `clone(CLONE_VM | CLONE_VFORK)` on a stack of its own, every
/// signal blocked so no handler of ours (tokio's, signal-hook's) runs in the child before
/// it has reset them all. Returns the pid or the errno.
///
/// Sharing the address space (as `posix_spawn` does) instead of forking spares the copy
/// of the daemon's page tables and the copy-on-write faults that follow every fork; with
/// hundreds of programs those were most of a spawn's cost. The parent thread is
/// suspended until the child execs or exits, so the child may read `plan` in place; it
/// writes only to its own stack, and changes its credentials with raw system calls,
/// because glibc's `setuid` family would try to synchronise the parent's threads.
fn clone_with_signals_blocked(plan: &ChildPlan<'_>) -> Result<i32, i32> {
    extern "C" fn child_entry(plan: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `plan` is the `&ChildPlan` passed to clone below, alive and unchanged
        // while the parent is suspended.
        unsafe { child_after_clone(&*(plan as *const ChildPlan<'_>)) }
    }
    let stack = ChildStack::new()?;
    // SAFETY: plain libc calls on stack-allocated sigset_t values; the child runs on
    // `stack`, which outlives it, and reads only `plan`.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut previous);
        let pid = libc::clone(
            child_entry,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            plan as *const ChildPlan<'_> as *mut libc::c_void,
        );
        let errno = last_errno();
        libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
        if pid < 0 {
            Err(errno)
        } else {
            Ok(pid)
        }
    }
}

/// The child, from clone to exec. Async-signal-safe calls only, nothing written outside
/// its own stack; never returns.
///
/// Order follows supervisord: new process group, fds, privileges, chdir, umask, exec.
unsafe fn child_after_clone(plan: &ChildPlan<'_>) -> ! {
    libc::setpgid(0, 0);
    if libc::dup2(plan.stdin, 0) < 0 || libc::dup2(plan.stdout, 1) < 0 {
        not_spawned();
    }
    if libc::dup2(plan.stderr, 2) < 0 {
        not_spawned();
    }
    close_fds_from_3(plan.fd_limit);
    reset_signal_dispositions(plan.ignored_signals);
    match &plan.user {
        ChildUser::Keep => {}
        ChildUser::Refuse(message) => {
            write_all(2, message);
            not_spawned();
        }
        ChildUser::Switch {
            credentials,
            groups,
            failed,
        } => {
            if libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) != 0 {
                write_all(2, failed);
                write_all(2, b"Could not set groups of effective user\n");
                not_spawned();
            }
            if libc::syscall(libc::SYS_setgid, credentials.gid) != 0 {
                write_all(2, failed);
                write_all(2, b"Could not set group id of effective user\n");
                not_spawned();
            }
            // The reference lets a setuid failure escape as an exception: only the
            // final line is written.
            if libc::syscall(libc::SYS_setuid, credentials.uid) != 0 {
                not_spawned();
            }
        }
    }
    if let Some(directory) = plan.directory {
        if libc::chdir(directory.as_ptr()) != 0 {
            write_errno_line(&plan.chdir_failed, *libc::__errno_location());
            not_spawned();
        }
    }
    if let Some(mask) = plan.umask {
        libc::umask(mask);
    }
    let mut none: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut none);
    libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    libc::execve(plan.filename, plan.argv.as_ptr(), plan.envp.as_ptr());
    write_errno_line(&plan.exec_failed, *libc::__errno_location());
    not_spawned();
}

/// Have every descriptor from 3 up closed by the exec: `close_range` with
/// `CLOSE_RANGE_CLOEXEC` (Linux ≥ 5.11) only flags them, and the kernel closes them
/// after the parent has resumed, so the cost of a large descriptor table is no longer
/// paid while the parent waits. Older kernels close them here: `close_range` (≥ 5.9),
/// else a loop.
unsafe fn close_fds_from_3(limit: libc::c_int) {
    for flags in [libc::CLOSE_RANGE_CLOEXEC, 0] {
        if libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            flags,
        ) == 0
        {
            return;
        }
    }
    for fd in 3..limit {
        libc::close(fd);
    }
}

/// Default action for every signal except the listed ones, which are ignored. Signals
/// stay blocked (inherited from the forking thread) until just before exec.
unsafe fn reset_signal_dispositions(ignored: &[libc::c_int]) {
    let mut action: libc::sigaction = std::mem::zeroed();
    libc::sigemptyset(&mut action.sa_mask);
    for signal in 1..=MAX_SIGNAL {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        action.sa_sigaction = if ignored.contains(&signal) {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        };
        if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
            set_reserved_disposition(signal, action.sa_sigaction);
        }
    }
}

/// The kernel's `struct sigaction` on x86_64 and aarch64.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// glibc refuses to touch the signals it reserves for itself (32 and 33), yet a parent
/// may leave them ignored (some process runners do) and an ignored disposition survives
/// exec; so set them with the raw system call.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
unsafe fn set_reserved_disposition(signal: libc::c_int, disposition: libc::sighandler_t) {
    let action = KernelSigaction {
        handler: disposition,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    libc::syscall(
        libc::SYS_rt_sigaction,
        signal,
        &action as *const KernelSigaction,
        std::ptr::null_mut::<KernelSigaction>(),
        std::mem::size_of::<u64>(),
    );
}

/// Elsewhere the reserved signals keep whatever the parent had.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn set_reserved_disposition(_signal: libc::c_int, _disposition: libc::sighandler_t) {}

unsafe fn not_spawned() -> ! {
    write_all(2, NOT_SPAWNED);
    libc::_exit(127);
}

/// Room for one error line on the child's stack (a directory path up to PATH_MAX plus
/// the words around it).
const LINE_BUFFER: usize = 4096 + 256;

/// `<prefix><ERRNONAME>\n`, the name from the static table or the number in decimal,
/// written with a single `write` (like the reference) so that the line reaches the log
/// in one piece; a prefix too long for the stack buffer is written in parts.
unsafe fn write_errno_line(prefix: &[u8], errno: i32) {
    let mut digits = [0u8; 12];
    let name = match errno_name(errno) {
        Some(name) => name.as_bytes(),
        None => format_decimal(errno, &mut digits),
    };
    let mut line = [0u8; LINE_BUFFER];
    let total = prefix.len() + name.len() + 1;
    if total > line.len() {
        write_all(2, prefix);
        write_all(2, name);
        write_all(2, b"\n");
        return;
    }
    line[..prefix.len()].copy_from_slice(prefix);
    line[prefix.len()..prefix.len() + name.len()].copy_from_slice(name);
    line[total - 1] = b'\n';
    write_all(2, &line[..total]);
}

/// Decimal text of `n` in `buffer`, without allocating.
fn format_decimal(n: i32, buffer: &mut [u8; 12]) -> &[u8] {
    let mut value = n.unsigned_abs();
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if n < 0 {
        start -= 1;
        buffer[start] = b'-';
    }
    &buffer[start..]
}

unsafe fn write_all(fd: RawFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        if written < 0 {
            if *libc::__errno_location() == libc::EINTR {
                continue;
            }
            return;
        }
        bytes = &bytes[written as usize..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_without_allocation() {
        let mut buffer = [0u8; 12];
        for n in [0, 7, 133, 4096, -2, i32::MIN, i32::MAX] {
            assert_eq!(format_decimal(n, &mut buffer), n.to_string().as_bytes());
        }
    }

    #[test]
    fn privileges_follow_the_reference_order() {
        let me = nix::unistd::getuid().as_raw();
        assert_eq!(Privileges::for_uid(me), Privileges::Keep);
        assert_eq!(
            Privileges::for_uid(4_000_000_000),
            Privileges::Refuse("Can't find uid 4000000000".into())
        );
    }

    #[test]
    fn parent_errors_read_like_the_reference() {
        let name = || "web".to_string();
        let cases = [
            (
                SpawnError::TooManyFiles { name: name() },
                "too many open files to spawn 'web'",
            ),
            (
                SpawnError::Pipes {
                    name: name(),
                    errno: libc::ENFILE,
                },
                "unknown error making dispatchers for 'web': ENFILE",
            ),
            (
                SpawnError::ProcessTable { name: name() },
                "Too many processes in process table to spawn 'web'",
            ),
            (
                SpawnError::Fork {
                    name: name(),
                    errno: libc::ENOMEM,
                },
                "unknown error during fork for 'web': ENOMEM",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn nul_bytes_are_refused_before_fork() {
        let command = ResolvedCommand {
            filename: "/bin/true".into(),
            argv: vec!["true".into(), "a\0b".into()],
        };
        let env: [(&str, &str); 0] = [];
        let err = SpawnSpec::new("t", &command, env).expect_err("nul in argv");
        assert!(matches!(
            err,
            SpawnError::NulByte {
                what: "command",
                ..
            }
        ));
        let command = ResolvedCommand {
            filename: "/bin/true".into(),
            argv: vec!["true".into()],
        };
        let err = SpawnSpec::new("t", &command, [("K", "v\0")]).expect_err("nul in env");
        assert!(matches!(
            err,
            SpawnError::NulByte {
                what: "environment",
                ..
            }
        ));
    }
}
