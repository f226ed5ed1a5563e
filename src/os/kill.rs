//! Sending a signal to a child or to its whole process group.
//!
//! Every child leads its own process group (spawn calls `setpgid(0, 0)`), so the group of
//! a child is `-pid`. Must not know about stop timing or process states.

use nix::errno::Errno;

/// Send `signal` to `pid`, or to its process group (`kill(-pid, sig)`) when `to_group`.
///
/// The errno is returned as is so the caller can tell `ESRCH` (already gone) from real
/// failures. A pid ≤ 0 is refused with `EINVAL`: `kill(0)` and `kill(-1)` would signal
/// our own group or every process we may signal.
pub fn kill(pid: i32, signal: i32, to_group: bool) -> Result<(), Errno> {
    if pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let target = if to_group { -pid } else { pid };
    // SAFETY: kill has no memory-safety requirements; the target was checked above.
    let result = unsafe { libc::kill(target, signal) };
    if result == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_pids_that_mean_many_processes() {
        for pid in [0, -1, -42] {
            assert_eq!(kill(pid, 0, false), Err(Errno::EINVAL));
            assert_eq!(kill(pid, 0, true), Err(Errno::EINVAL));
        }
    }

    #[test]
    fn reports_esrch_for_a_missing_process() {
        // pid_max is at most 2^22 on Linux, so this pid never exists.
        assert_eq!(kill(i32::MAX, 0, false), Err(Errno::ESRCH));
        assert_eq!(kill(i32::MAX, 0, true), Err(Errno::ESRCH));
    }

    #[test]
    fn signal_zero_probes_ourselves() {
        assert_eq!(kill(std::process::id() as i32, 0, false), Ok(()));
    }
}
