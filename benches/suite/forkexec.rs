//! The machine's own fork+exec rate, the yardstick for W8: a bare loop of `fork()` and
//! `execv("/bin/sleep")` from this small process, each spawn waited for until the exec
//! has happened (a close-on-exec pipe reports it, as `std::process::Command` and both
//! daemons do), with the children left running like W8's programs.
//!
//! Between fork and exec the child makes async-signal-safe calls only, on values
//! prepared before the loop.

use std::ffi::CStr;
use std::time::Instant;

use crate::daemon::signal;

/// Spawns `count` `sleep` processes one after another and returns spawns per second.
/// Kills and reaps them before returning.
pub fn rate(count: usize) -> f64 {
    let program = c"/bin/sleep";
    let argv = [program.as_ptr(), c"86400".as_ptr(), std::ptr::null()];
    let mut pids = Vec::with_capacity(count);
    let start = Instant::now();
    for _ in 0..count {
        pids.push(spawn_one(program, &argv));
    }
    let elapsed = start.elapsed();
    for &pid in &pids {
        signal(pid, libc::SIGKILL);
    }
    for &pid in &pids {
        let pid = i32::try_from(pid).unwrap_or(i32::MAX);
        // SAFETY: waitpid on a child of ours.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    }
    count as f64 / elapsed.as_secs_f64()
}

fn spawn_one(program: &CStr, argv: &[*const libc::c_char]) -> u32 {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors it is given.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    let [read_end, write_end] = fds;
    // SAFETY: the child only calls execv, write and _exit (async-signal-safe) on values
    // prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above; argv is null-terminated and outlives the call.
        unsafe {
            libc::execv(program.as_ptr(), argv.as_ptr());
            libc::write(write_end, b"x".as_ptr().cast(), 1);
            libc::_exit(127);
        }
    }
    assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
    // SAFETY: closing our copy of the write end, then reading the read end: end of file
    // means the exec closed the child's copy.
    let (read, byte) = unsafe {
        libc::close(write_end);
        let mut byte = 0u8;
        let read = libc::read(read_end, (&mut byte as *mut u8).cast(), 1);
        libc::close(read_end);
        (read, byte)
    };
    assert_eq!(read, 0, "exec of /bin/sleep failed in the child ({byte})");
    pid.unsigned_abs()
}
