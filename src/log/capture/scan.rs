//! Capture mode (`*_capture_maxbytes > 0`): splitting child output at the
//! `<!--XSUPERVISOR:BEGIN-->` / `<!--XSUPERVISOR:END-->` tokens, exactly as the
//! reference does — including its quirk: while the unprocessed output is not longer
//! than the token being looked for, it is held back, and it is lost if the stream
//! ends (`before<BEGIN>hello comm<END>after\n` logs only `before`).
//!
//! Pure state machine; the capture task decides what "logging" a piece means.

use std::mem;

use crate::log::text::find;

/// Starts capturing.
pub const BEGIN_TOKEN: &[u8] = b"<!--XSUPERVISOR:BEGIN-->";
/// Ends capturing and emits a communication event.
pub const END_TOKEN: &[u8] = b"<!--XSUPERVISOR:END-->";

/// What the scanner found in the output, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Bytes to "log": to the log file normally, to the capture buffer while
    /// `capturing`.
    Log {
        /// The bytes.
        data: Vec<u8>,
        /// Whether capture mode was on for them.
        capturing: bool,
    },
    /// The END token was seen: the capture buffer becomes an event.
    CaptureEnded,
}

/// The token scanner of one channel.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    capturing: bool,
    /// Output not yet logged (the reference's `output_buffer`).
    held: Vec<u8>,
}

/// Length of the longest proper prefix of `token` that `data` ends with.
fn prefix_at_end(data: &[u8], token: &[u8]) -> usize {
    (1..token.len())
        .rev()
        .find(|&len| data.ends_with(&token[..len]))
        .unwrap_or(0)
}

impl Scanner {
    /// Feeds one chunk read from the pipe; appends the resulting steps to `out`.
    pub(crate) fn feed(&mut self, chunk: &[u8], out: &mut Vec<Step>) {
        self.held.extend_from_slice(chunk);
        loop {
            let token = if self.capturing {
                END_TOKEN
            } else {
                BEGIN_TOKEN
            };
            if self.held.len() <= token.len() {
                return;
            }
            let data = mem::take(&mut self.held);
            match find(&data, token, 0) {
                None => {
                    let keep = prefix_at_end(&data, token);
                    let split = data.len() - keep;
                    self.held = data[split..].to_vec();
                    self.log(&data[..split], out);
                    return;
                }
                Some(at) => {
                    self.log(&data[..at], out);
                    self.capturing = !self.capturing;
                    if !self.capturing {
                        out.push(Step::CaptureEnded);
                    }
                    self.held = data[at + token.len()..].to_vec();
                    if self.held.is_empty() {
                        return;
                    }
                }
            }
        }
    }

    fn log(&self, data: &[u8], out: &mut Vec<Step>) {
        if !data.is_empty() {
            out.push(Step::Log {
                data: data.to_vec(),
                capturing: self.capturing,
            });
        }
    }
}

/// The capture buffer: appending `n` bytes that would exceed `maxbytes` first drops
/// the oldest `n` bytes (so it can still end up slightly over `maxbytes`).
pub(crate) fn bounded_append(buffer: &mut Vec<u8>, data: &[u8], maxbytes: usize) {
    if buffer.len() + data.len() > maxbytes {
        buffer.drain(..data.len().min(buffer.len()));
    }
    buffer.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "<!--XSUPERVISOR:BEGIN-->";
    const E: &str = "<!--XSUPERVISOR:END-->";

    fn log(data: &str, capturing: bool) -> Step {
        Step::Log {
            data: data.as_bytes().to_vec(),
            capturing,
        }
    }

    fn run(chunks: &[&str]) -> (Vec<Step>, String) {
        let mut scanner = Scanner::default();
        let mut steps = Vec::new();
        for chunk in chunks {
            scanner.feed(chunk.as_bytes(), &mut steps);
        }
        (steps, String::from_utf8(scanner.held).unwrap())
    }

    #[test]
    fn capture_mode_table() {
        let quirk = format!("before{B}hello comm{E}after\n");
        let x24 = "x".repeat(24);
        let cases: Vec<(Vec<String>, Vec<Step>, &str)> = vec![
            // The spec's observation: `after\n` stays held (and is lost at exit).
            (
                vec![quirk.clone()],
                vec![
                    log("before", false),
                    log("hello comm", true),
                    Step::CaptureEnded,
                ],
                "after\n",
            ),
            // More output later releases the held tail once it is long enough.
            (
                vec![quirk, "and a much longer line\n".to_string()],
                vec![
                    log("before", false),
                    log("hello comm", true),
                    Step::CaptureEnded,
                    log("after\nand a much longer line\n", false),
                ],
                "",
            ),
            // Short output is never logged on its own.
            (vec!["hi\n".to_string()], vec![], "hi\n"),
            (vec!["x".repeat(24)], vec![], &x24),
            (vec!["x".repeat(25)], vec![log(&"x".repeat(25), false)], ""),
            // A token prefix at the end is held back until it can be decided.
            (
                vec![format!("some output line {}", &B[..7]), B[7..].to_string()],
                vec![log("some output line ", false)],
                "",
            ),
            (
                vec![format!("0123456789012345678901234{B}x{E}")],
                vec![
                    log("0123456789012345678901234", false),
                    log("x", true),
                    Step::CaptureEnded,
                ],
                "",
            ),
            // Tokens split across chunks.
            (
                vec![
                    format!("long enough leading text {}", &B[..5]),
                    format!("{}payload that is long enough{}", &B[5..], &E[..3]),
                    format!("{} and trailing output long enough\n", &E[3..]),
                ],
                vec![
                    log("long enough leading text ", false),
                    log("payload that is long enough", true),
                    Step::CaptureEnded,
                    log(" and trailing output long enough\n", false),
                ],
                "",
            ),
            // Empty captures still end with an event.
            (
                vec![format!("{B}{E}0123456789012345678901234")],
                vec![Step::CaptureEnded, log("0123456789012345678901234", false)],
                "",
            ),
        ];
        for (chunks, want_steps, want_held) in cases {
            let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
            let (steps, held) = run(&refs);
            assert_eq!(steps, want_steps, "chunks {chunks:?}");
            assert_eq!(held, want_held, "chunks {chunks:?}");
        }
    }

    #[test]
    fn bounded_buffer_drops_oldest_by_the_incoming_size() {
        let mut buf = Vec::new();
        bounded_append(&mut buf, b"abcdef", 8);
        bounded_append(&mut buf, b"gh", 8);
        assert_eq!(buf, b"abcdefgh");
        bounded_append(&mut buf, b"ij", 8);
        assert_eq!(buf, b"cdefghij");
        // Larger than the buffer holds: everything old goes, the new data stays whole.
        bounded_append(&mut buf, b"0123456789", 8);
        assert_eq!(buf, b"0123456789");
        bounded_append(&mut buf, b"x", 8);
        assert_eq!(buf, b"123456789x");
    }

    #[test]
    fn prefix_at_end_finds_longest_proper_prefix() {
        assert_eq!(prefix_at_end(b"abc<!--X", BEGIN_TOKEN), 5);
        assert_eq!(prefix_at_end(b"abc<", BEGIN_TOKEN), 1);
        assert_eq!(prefix_at_end(b"abc", BEGIN_TOKEN), 0);
        assert_eq!(prefix_at_end(BEGIN_TOKEN, BEGIN_TOKEN), 0);
    }
}
