//! Decoding a raw `waitpid` status into what the reference reports about a child's end:
//! the `exitstatus` value and the `exit status 3` / `terminated by SIGTERM` text.
//!
//! Pure bit arithmetic with the semantics of glibc's `W*` macros, so it is table-tested
//! without a child.

use std::fmt;

use crate::config::Signal;

/// How a child ended, decoded from the raw status `waitpid` stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It called `exit(code)` (`WIFEXITED`); `code` is 0–255.
    Exited(i32),
    /// A signal ended it (`WIFSIGNALED`).
    Killed {
        /// The signal number (`WTERMSIG`).
        signal: i32,
        /// A core file was written (`WCOREDUMP`).
        core_dumped: bool,
    },
    /// Neither of those (a stop or continue report); carries the raw status.
    Unknown(i32),
}

/// The low seven bits: the terminating signal, or 0 for a normal exit.
const TERMSIG_MASK: i32 = 0x7f;
/// `WIFSTOPPED`'s marker in the low seven bits.
const STOPPED_MARK: i32 = 0x7f;
const CORE_FLAG: i32 = 0x80;

impl ExitStatus {
    /// Decode a raw `waitpid` status.
    pub fn from_raw(raw: i32) -> ExitStatus {
        let termsig = raw & TERMSIG_MASK;
        if termsig == 0 {
            ExitStatus::Exited((raw >> 8) & 0xff)
        } else if termsig != STOPPED_MARK {
            ExitStatus::Killed {
                signal: termsig,
                core_dumped: raw & CORE_FLAG != 0,
            }
        } else {
            ExitStatus::Unknown(raw)
        }
    }

    /// The reference's `exitstatus`: the exit code, or -1 when the child did not exit
    /// normally. This is what `exitcodes` is matched against.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Killed { .. } | ExitStatus::Unknown(_) => -1,
        }
    }
}

/// The reference's description: `exit status 3`, `terminated by SIGTERM`,
/// `terminated by SIGSEGV (core dumped)`, `unknown termination cause 0x137f`.
impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExitStatus::Exited(code) => write!(f, "exit status {code}"),
            ExitStatus::Killed {
                signal,
                core_dumped,
            } => {
                write!(f, "terminated by {}", Signal(signal))?;
                if core_dumped {
                    f.write_str(" (core dumped)")?;
                }
                Ok(())
            }
            // Python's `%04x` pads to four characters including the sign.
            ExitStatus::Unknown(raw) if raw < 0 => {
                write!(f, "unknown termination cause 0x-{:03x}", raw.unsigned_abs())
            }
            ExitStatus::Unknown(raw) => write!(f, "unknown termination cause 0x{raw:04x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_the_reference() {
        // Texts and codes observed from the reference's decode_wait_status.
        let table: &[(i32, ExitStatus, i32, &str)] = &[
            (0, ExitStatus::Exited(0), 0, "exit status 0"),
            (3 << 8, ExitStatus::Exited(3), 3, "exit status 3"),
            (127 << 8, ExitStatus::Exited(127), 127, "exit status 127"),
            (0xff00, ExitStatus::Exited(255), 255, "exit status 255"),
            (
                15,
                ExitStatus::Killed {
                    signal: 15,
                    core_dumped: false,
                },
                -1,
                "terminated by SIGTERM",
            ),
            (
                9,
                ExitStatus::Killed {
                    signal: 9,
                    core_dumped: false,
                },
                -1,
                "terminated by SIGKILL",
            ),
            (
                11 | 0x80,
                ExitStatus::Killed {
                    signal: 11,
                    core_dumped: true,
                },
                -1,
                "terminated by SIGSEGV (core dumped)",
            ),
            (
                6 | 0x80,
                ExitStatus::Killed {
                    signal: 6,
                    core_dumped: true,
                },
                -1,
                "terminated by SIGABRT (core dumped)",
            ),
            (
                35,
                ExitStatus::Killed {
                    signal: 35,
                    core_dumped: false,
                },
                -1,
                "terminated by signal 35",
            ),
            (
                0x7e,
                ExitStatus::Killed {
                    signal: 0x7e,
                    core_dumped: false,
                },
                -1,
                "terminated by signal 126",
            ),
            (
                0x7f,
                ExitStatus::Unknown(0x7f),
                -1,
                "unknown termination cause 0x007f",
            ),
            (
                0x137f,
                ExitStatus::Unknown(0x137f),
                -1,
                "unknown termination cause 0x137f",
            ),
            (
                0xffff,
                ExitStatus::Unknown(0xffff),
                -1,
                "unknown termination cause 0xffff",
            ),
            (
                0x100ff,
                ExitStatus::Unknown(0x100ff),
                -1,
                "unknown termination cause 0x100ff",
            ),
            (
                -1,
                ExitStatus::Unknown(-1),
                -1,
                "unknown termination cause 0x-001",
            ),
        ];
        for &(raw, want, code, text) in table {
            let got = ExitStatus::from_raw(raw);
            assert_eq!(got, want, "raw {raw:#x}");
            assert_eq!(got.code(), code, "raw {raw:#x}");
            assert_eq!(got.to_string(), text, "raw {raw:#x}");
        }
    }

    #[test]
    fn agrees_with_libc_macros_on_every_low_sixteen_bit_status() {
        for raw in 0..=0xffff {
            let got = ExitStatus::from_raw(raw);
            if libc::WIFEXITED(raw) {
                assert_eq!(got, ExitStatus::Exited(libc::WEXITSTATUS(raw)), "{raw:#x}");
            } else if libc::WIFSIGNALED(raw) {
                let want = ExitStatus::Killed {
                    signal: libc::WTERMSIG(raw),
                    core_dumped: libc::WCOREDUMP(raw),
                };
                assert_eq!(got, want, "{raw:#x}");
            } else {
                assert_eq!(got, ExitStatus::Unknown(raw), "{raw:#x}");
            }
        }
    }
}
