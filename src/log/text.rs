//! Byte-level text helpers shared by the log pipeline: Python's `repr()` of bytes,
//! the reference's "decode or say Undecodable" rule, ANSI stripping and the syslog
//! line split. Pure functions only.

use std::borrow::Cow;

/// Python's `repr()` of a `bytes` value: `b'…'` (or `b"…"` when the data holds `'`
/// but no `"`), printable ASCII as is, `\t \n \r \\` and the quote escaped, every other
/// byte as `\xhh`.
pub fn py_bytes_repr(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(data.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            b => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\x");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
    }
    out.push(quote as char);
    out
}

/// The reference's way of putting child bytes into text (event payloads, the DEBG
/// echo): the UTF-8 text when the bytes are valid UTF-8, else `Undecodable: b'…'`.
pub fn decode_or_undecodable(data: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(format!("Undecodable: {}", py_bytes_repr(data))),
    }
}

const ESCAPE_BEGIN: &[u8] = b"\x1b[";
const ESCAPE_TERMINATORS: &[u8] = b"HfABCDRsuJKhlpm";

/// Removes every `ESC [` sequence up to and including the first following terminator
/// byte (`H f A B C D R s u J K h l p m`); an unterminated sequence swallows the rest
/// of the data, as in the reference. Borrows when there is nothing to strip.
pub fn strip_ansi(data: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = find(data, ESCAPE_BEGIN, 0) else {
        return Cow::Borrowed(data);
    };
    let mut out = Vec::with_capacity(data.len());
    let mut start = first;
    out.extend_from_slice(&data[..start]);
    loop {
        // The byte after ESC is `[`, never a terminator, so the search starts past it.
        let body = start + 1;
        let Some(end) = data[body..]
            .iter()
            .position(|b| ESCAPE_TERMINATORS.contains(b))
        else {
            return Cow::Owned(out);
        };
        let resume = body + end + 1;
        match find(data, ESCAPE_BEGIN, resume) {
            Some(next) => {
                out.extend_from_slice(&data[resume..next]);
                start = next;
            }
            None => {
                out.extend_from_slice(&data[resume..]);
                return Cow::Owned(out);
            }
        }
    }
}

/// Position of the first `needle` in `haystack` at or after `from`.
pub(crate) fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut start = from;
    while start < haystack.len() {
        let at = start + find_byte(first, &haystack[start..])?;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        start = at + 1;
    }
    None
}

/// Position of the first `byte` in `haystack`. Child output is scanned at every
/// read: blocks are skipped with `contains`, which std implements word-at-a-time.
fn find_byte(byte: u8, haystack: &[u8]) -> Option<usize> {
    const BLOCK: usize = 256;
    let mut offset = 0;
    for block in haystack.chunks(BLOCK) {
        if block.contains(&byte) {
            return block.iter().position(|&b| b == byte).map(|p| offset + p);
        }
        offset += block.len();
    }
    None
}

/// The lines a child chunk becomes in syslog: decoded (invalid UTF-8 replaced),
/// trailing newlines removed, split on `\n`, each prefixed with the process name.
pub fn syslog_lines(process_name: &str, data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    text.trim_end_matches('\n')
        .split('\n')
        .map(|line| format!("{process_name} {line}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_repr_matches_python() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "b''"),
            (b"READY\n", "b'READY\\n'"),
            (b"it's", "b\"it's\""),
            (b"it's \"q\"", "b'it\\'s \"q\"'"),
            (b"\x00\x1b[1m\xff\t\r\\", "b'\\x00\\x1b[1m\\xff\\t\\r\\\\'"),
            (b"\x7f~", "b'\\x7f~'"),
        ];
        for (data, want) in cases {
            assert_eq!(py_bytes_repr(data), *want, "data {data:?}");
        }
    }

    #[test]
    fn decode_keeps_utf8_and_marks_the_rest() {
        assert_eq!(decode_or_undecodable("héllo\n".as_bytes()), "héllo\n");
        assert_eq!(decode_or_undecodable(b"a\xffb"), "Undecodable: b'a\\xffb'");
        // A multi-byte character cut in half is undecodable too.
        assert_eq!(
            decode_or_undecodable(&"é".as_bytes()[..1]),
            "Undecodable: b'\\xc3'"
        );
    }

    #[test]
    fn strip_ansi_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"plain text\n", b"plain text\n"),
            (b"\x1b[31mred\x1b[0m\n", b"red\n"),
            (b"a\x1b[2Jb\x1b[Hc", b"abc"),
            (b"x\x1b[1;32;40my", b"xy"),
            // Every terminator ends a sequence.
            (
                b"\x1b[1H1\x1b[1f2\x1b[1A3\x1b[1B4\x1b[1C5\x1b[1D6\x1b[6R7",
                b"1234567",
            ),
            (
                b"\x1b[s8\x1b[u9\x1b[K0\x1b[?25h!\x1b[?25l?\x1b[1p.",
                b"890!?.",
            ),
            // Unterminated: everything from ESC [ to the end goes.
            (b"keep\x1b[12;3", b"keep"),
            // ESC without [ is kept.
            (b"a\x1bb", b"a\x1bb"),
            // The first terminator after ESC [ ends it, whatever comes between.
            (b"\x1b[xyzmrest", b"rest"),
            (b"\x1b[m\x1b[m", b""),
        ];
        for (input, want) in cases {
            assert_eq!(&*strip_ansi(input), *want, "input {}", py_bytes_repr(input));
        }
        assert!(matches!(strip_ansi(b"nothing"), Cow::Borrowed(_)));
    }

    #[test]
    fn syslog_lines_split_and_prefix() {
        assert_eq!(
            syslog_lines("web", b"one\ntwo\n\n"),
            vec!["web one", "web two"]
        );
        assert_eq!(
            syslog_lines("web", b"a\n\nb"),
            vec!["web a", "web ", "web b"]
        );
        assert_eq!(syslog_lines("web", b"\xffx\n"), vec!["web \u{fffd}x"]);
    }

    #[test]
    fn find_from_offsets() {
        assert_eq!(find(b"abcabc", b"bc", 0), Some(1));
        assert_eq!(find(b"abcabc", b"bc", 2), Some(4));
        assert_eq!(find(b"abc", b"bc", 3), None);
        assert_eq!(find(b"abc", b"bc", 9), None);
        assert_eq!(find(b"abc", b"", 0), None);
        // Needles across the scanner's 256-byte blocks.
        let mut long = vec![b'.'; 1000];
        long[255] = b'<';
        long[256] = b'!';
        long[700] = b'<';
        assert_eq!(find(&long, b"<!", 0), Some(255));
        assert_eq!(find(&long, b"<", 256), Some(700));
        assert_eq!(find(&long, b"<!", 256), None);
    }
}
