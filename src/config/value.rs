//! Value conversions of the supervisord dialect: booleans, integers (Python `int()`),
//! byte sizes, octal, signals, exit-code lists, log levels, names, paths, users,
//! inet ports, and Python's `repr()` of a string (used inside error texts).
//!
//! Each function takes the raw text and returns the typed value or the reference's
//! exact error message (without location: the caller adds file, line and option).
//! Only user/group lookups and directory checks look outside the process.

use std::path::{Path, PathBuf};

use crate::config::{AutoRestart, LogFile, LogLevel, Owner, Signal};

/// A conversion failure: the reference's message text.
pub type ValueResult<T> = Result<T, String>;

/// Python's `str.isspace()` for the characters a config file can realistically hold.
pub fn is_py_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\n'
            | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'..='\x1f'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python's `str.strip()` with no arguments.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

fn is_py_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{a0}'
                | '\u{ad}'
                | '\u{1680}'
                | '\u{2000}'..='\u{200f}'
                | '\u{2028}'..='\u{202f}'
                | '\u{205f}'..='\u{206f}'
                | '\u{3000}'
                | '\u{e000}'..='\u{f8ff}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        ))
}

/// Python's `repr()` of a `str`: quotes chosen as Python chooses them, backslash
/// escapes for the quote, backslash, `\t \n \r` and non-printable characters.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_py_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// Python's `int(text)` (base 10): surrounding whitespace, a sign, digits with single
/// underscores between them.
pub fn py_int(text: &str) -> ValueResult<i64> {
    let invalid = || format!("invalid literal for int() with base 10: {}", py_repr(text));
    let body = py_strip(text);
    let (negative, digits) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return Err(invalid());
    }
    let mut value: i64 = 0;
    let mut previous_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if previous_underscore {
                return Err(invalid());
            }
            previous_underscore = true;
            continue;
        }
        previous_underscore = false;
        let d = c.to_digit(10).ok_or_else(invalid)? as i64;
        value = value
            .checked_mul(10)
            .and_then(|v| {
                if negative {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            })
            .ok_or_else(|| format!("integer out of range: {}", py_repr(text)))?;
    }
    Ok(value)
}

/// `yes true on 1` / `no false off 0`, any case.
pub fn boolean(text: &str) -> ValueResult<bool> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("not a valid boolean value: {}", py_repr(text))),
    }
}

/// A byte count: an integer, optionally followed by `KB`, `MB` or `GB` (powers of 1024,
/// any case, the suffix being the last two characters).
pub fn byte_size(text: &str) -> ValueResult<i64> {
    let lower = text.to_lowercase();
    let multipliers = [
        ("kb", 1024_i64),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
    ];
    for (suffix, multiplier) in multipliers {
        if let Some(number) = lower.strip_suffix(suffix) {
            let n = py_int(number)?;
            return n
                .checked_mul(multiplier)
                .ok_or_else(|| format!("integer out of range: {}", py_repr(text)));
        }
    }
    py_int(&lower)
}

/// An octal number as Python's `int(text, 8)` reads it (`022`, `0o22`, ` 7 `).
pub fn octal(text: &str) -> ValueResult<u32> {
    let invalid = || format!("{text} can not be converted to an octal type");
    let body = py_strip(text);
    let (negative, digits) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let digits = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
        .map(|rest| rest.strip_prefix('_').unwrap_or(rest))
        .unwrap_or(digits);
    if negative || digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return Err(invalid());
    }
    let mut value: u32 = 0;
    let mut previous_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if previous_underscore {
                return Err(invalid());
            }
            previous_underscore = true;
            continue;
        }
        previous_underscore = false;
        let d = c.to_digit(8).ok_or_else(invalid)?;
        value = value
            .checked_mul(8)
            .and_then(|v| v.checked_add(d))
            .ok_or_else(invalid)?;
    }
    Ok(value)
}

/// Signal names Python's `signal` module knows on Linux, with their numbers. The
/// first name listed for a number is the one supervisord prints (for 29 that is
/// `SIGPOLL`, the last alias Python's module defines).
const SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGIOT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGPOLL", 29),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
    ("SIGRTMIN", 34),
    ("SIGRTMAX", 64),
];

/// Names that Python's `signal` module also exposes with a `SIG` prefix; the reference
/// accepts them as signal names.
const SIGNAL_MODULE_CONSTANTS: &[(&str, i32)] = &[
    ("SIG_DFL", 0),
    ("SIG_IGN", 1),
    ("SIG_BLOCK", 0),
    ("SIG_UNBLOCK", 1),
    ("SIG_SETMASK", 2),
];

/// The C name of a signal number (`SIGTERM`), as supervisord prints it.
pub fn signal_name(number: i32) -> Option<&'static str> {
    SIGNALS
        .iter()
        .find(|(_, n)| *n == number)
        .map(|(name, _)| *name)
}

/// A signal given by number or by name, with or without `SIG`, any case.
pub fn signal_number(text: &str) -> ValueResult<Signal> {
    let number = match py_int(text) {
        Ok(n) => n,
        Err(_) => {
            let mut name = py_strip(text).to_uppercase();
            if !name.starts_with("SIG") {
                name.insert_str(0, "SIG");
            }
            SIGNALS
                .iter()
                .chain(SIGNAL_MODULE_CONSTANTS)
                .find(|(n, _)| *n == name)
                .map(|(_, number)| i64::from(*number))
                .ok_or_else(|| format!("value {} is not a valid signal name", py_repr(text)))?
        }
    };
    let known = SIGNALS
        .iter()
        .chain(SIGNAL_MODULE_CONSTANTS)
        .any(|(_, n)| i64::from(*n) == number);
    if !known {
        return Err(format!(
            "value {} is not a valid signal number",
            py_repr(text)
        ));
    }
    Ok(Signal(number as i32))
}

/// Comma-separated exit codes, each 0..=255; empty text is an empty list.
pub fn exit_codes(text: &str) -> ValueResult<Vec<i32>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| match py_int(part) {
            Ok(n) if (0..=255).contains(&n) => Ok(n as i32),
            _ => Err(format!("not a valid list of exit codes: {}", py_repr(text))),
        })
        .collect()
}

/// `autorestart`: `unexpected` or a boolean word.
pub fn auto_restart(text: &str) -> ValueResult<AutoRestart> {
    let lower = text.to_lowercase();
    match lower.as_str() {
        "yes" | "true" | "on" | "1" => Ok(AutoRestart::Always),
        "no" | "false" | "off" | "0" => Ok(AutoRestart::Never),
        "unexpected" => Ok(AutoRestart::Unexpected),
        _ => Err(format!("invalid 'autorestart' value {}", py_repr(&lower))),
    }
}

/// A log level word.
pub fn log_level(text: &str) -> ValueResult<LogLevel> {
    LogLevel::from_config_name(text)
        .ok_or_else(|| format!("bad logging level name {}", py_repr(text)))
}

/// Comma-separated strings, each stripped; empty text is an empty list.
pub fn list_of_strings(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(',').map(|s| py_strip(s).to_string()).collect()
}

/// A process or group name: stripped, without space, `:` or `/`.
pub fn process_or_group_name(text: &str) -> ValueResult<String> {
    let name = py_strip(text);
    for bad in [' ', ':', '/'] {
        if name.contains(bad) {
            return Err(format!(
                "Invalid name: {} because of character: {}",
                py_repr(text),
                py_repr(&bad.to_string())
            ));
        }
    }
    Ok(name.to_string())
}

/// Python's `os.path.expanduser`: a leading `~` or `~user` becomes the home directory.
pub fn expand_user(path: &str) -> String {
    let Some(rest) = path.strip_prefix('~') else {
        return path.to_string();
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var("HOME").ok().or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.dir.to_string_lossy().into_owned())
        })
    } else {
        nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .map(|u| u.dir.to_string_lossy().into_owned())
    };
    match home {
        Some(home) => {
            let joined = format!("{}{}", home.trim_end_matches('/'), tail);
            if joined.is_empty() {
                "/".to_string()
            } else {
                joined
            }
        }
        None => path.to_string(),
    }
}

/// A path whose directory must exist (a bare file name is fine).
pub fn existing_dirpath(text: &str) -> ValueResult<PathBuf> {
    let expanded = expand_user(text);
    let parent = Path::new(&expanded).parent().map(Path::as_os_str);
    match parent {
        None => Ok(PathBuf::from(expanded)),
        Some(dir) if dir.is_empty() => Ok(PathBuf::from(expanded)),
        Some(dir) if Path::new(dir).is_dir() => Ok(PathBuf::from(expanded)),
        Some(_) => Err(format!(
            "The directory named as part of the path {text} does not exist"
        )),
    }
}

/// A directory that must exist.
pub fn existing_directory(text: &str) -> ValueResult<PathBuf> {
    let expanded = expand_user(text);
    if Path::new(&expanded).is_dir() {
        Ok(PathBuf::from(expanded))
    } else {
        Err(format!("{text} is not an existing directory"))
    }
}

/// What a `*_logfile` value names, before the deprecated `syslog` word is rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFileName {
    /// A regular setting.
    File(LogFile),
    /// The deprecated `syslog` word.
    Syslog,
}

/// A child log file setting: `NONE`/`OFF`, `AUTO`, `syslog` or a path whose directory
/// exists.
pub fn logfile_name(text: &str) -> ValueResult<LogFileName> {
    match text.to_lowercase().as_str() {
        "none" | "off" => Ok(LogFileName::File(LogFile::None)),
        "auto" => Ok(LogFileName::File(LogFile::Auto)),
        "syslog" => Ok(LogFileName::Syslog),
        _ => existing_dirpath(text).map(|p| LogFileName::File(LogFile::Path(p))),
    }
}

/// Python's `os.path.normpath(os.path.abspath(os.path.expanduser(path)))`, relative to
/// `cwd`.
pub fn normalize_path(path: &str, cwd: &Path) -> PathBuf {
    let expanded = expand_user(path);
    let joined = if expanded.starts_with('/') {
        PathBuf::from(expanded)
    } else {
        cwd.join(expanded)
    };
    normpath(&joined)
}

/// Python's `os.path.normpath` for an absolute path: collapses `.`, `..` and repeated
/// separators without touching the filesystem.
pub fn normpath(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    let absolute = text.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if absolute {
        PathBuf::from(format!("/{joined}"))
    } else if joined.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(joined)
    }
}

/// A user name or numeric uid that exists in the user database.
pub fn name_to_uid(text: &str) -> ValueResult<u32> {
    match py_int(text) {
        Ok(uid) => {
            let found = u32::try_from(uid).ok().and_then(|uid| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                    .ok()
                    .flatten()
            });
            found
                .map(|u| u.uid.as_raw())
                .ok_or_else(|| format!("Invalid user id {text}"))
        }
        Err(_) => nix::unistd::User::from_name(text)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
            .ok_or_else(|| format!("Invalid user name {text}")),
    }
}

/// A group name or numeric gid that exists in the group database.
pub fn name_to_gid(text: &str) -> ValueResult<u32> {
    match py_int(text) {
        Ok(gid) => {
            let found = u32::try_from(gid).ok().and_then(|gid| {
                nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
                    .ok()
                    .flatten()
            });
            found
                .map(|g| g.gid.as_raw())
                .ok_or_else(|| format!("Invalid group id {text}"))
        }
        Err(_) => nix::unistd::Group::from_name(text)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
            .ok_or_else(|| format!("Invalid group name {text}")),
    }
}

/// The primary gid of a uid.
pub fn gid_for_uid(uid: u32) -> Option<u32> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.gid.as_raw())
}

/// `user` or `user:group`; the caller wraps the error in its own message.
pub fn colon_separated_user_group(text: &str) -> ValueResult<Owner> {
    let invalid = |_| format!("Invalid user:group definition {text}");
    match text.split_once(':') {
        None => Ok(Owner {
            uid: name_to_uid(text).map_err(invalid)?,
            gid: None,
        }),
        Some((user, group)) => Ok(Owner {
            uid: name_to_uid(user).map_err(invalid)?,
            gid: Some(name_to_gid(group).map_err(invalid)?),
        }),
    }
}

fn port_number(text: &str) -> ValueResult<u16> {
    let port = py_int(text)?;
    if port < 1 {
        return Err(format!("{port} is below lower bound (1)"));
    }
    if port > 65535 {
        return Err(format!("{port} is above upper bound (65535)"));
    }
    Ok(port as u16)
}

/// `port`, `host:port`, `:port` or `*:port`; returns the lower-cased host (empty for
/// every interface) and the port.
pub fn inet_address(text: &str) -> ValueResult<(String, u16)> {
    match text.rsplit_once(':') {
        Some((host, port)) => {
            if port.is_empty() {
                return Err(format!("no port number specified in {}", py_repr(port)));
            }
            let port = port_number(port)?;
            let host = host.to_lowercase();
            let host = if host == "*" { String::new() } else { host };
            Ok((host, port))
        }
        None => port_number(text)
            .map(|port| (String::new(), port))
            .map_err(|_| format!("not a valid port number: {} ", py_repr(text))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_accepts_what_python_accepts() {
        let ok = [
            ("5", 5),
            (" 5 ", 5),
            ("+9", 9),
            ("-3", -3),
            ("1_000", 1000),
            ("\t7\n", 7),
            ("0", 0),
            ("007", 7),
        ];
        for (text, want) in ok {
            assert_eq!(py_int(text), Ok(want), "{text:?}");
        }
        for text in [
            "", " ", "1.5", "0x10", "_1", "1_", "1__0", "--1", "abc", "1 2",
        ] {
            assert_eq!(
                py_int(text),
                Err(format!(
                    "invalid literal for int() with base 10: {}",
                    py_repr(text)
                )),
                "{text:?}"
            );
        }
    }

    #[test]
    fn python_repr_matches_python() {
        let cases = [
            ("abc", "'abc'"),
            ("a'b", "\"a'b\""),
            ("a\"b'c", "'a\"b\\'c'"),
            ("\x1b[0m\u{a0}\u{2028}é\t", "'\\x1b[0m\\xa0\\u2028é\\t'"),
            ("back\\slash\n", "'back\\\\slash\\n'"),
            ("", "''"),
        ];
        for (text, want) in cases {
            assert_eq!(py_repr(text), want, "{text:?}");
        }
    }

    #[test]
    fn booleans() {
        for t in ["yes", "TRUE", "On", "1"] {
            assert_eq!(boolean(t), Ok(true));
        }
        for t in ["no", "False", "OFF", "0"] {
            assert_eq!(boolean(t), Ok(false));
        }
        assert_eq!(
            boolean("maybe"),
            Err("not a valid boolean value: 'maybe'".into())
        );
        assert_eq!(
            boolean(" true"),
            Err("not a valid boolean value: ' true'".into())
        );
    }

    #[test]
    fn byte_sizes() {
        let cases: &[(&str, Result<i64, &str>)] = &[
            ("50MB", Ok(52428800)),
            ("1 GB", Ok(1073741824)),
            (" 5kb", Ok(5120)),
            ("-3mb", Ok(-3145728)),
            ("1_000", Ok(1000)),
            ("0", Ok(0)),
            ("10B", Err("invalid literal for int() with base 10: '10b'")),
            (
                "1.5MB",
                Err("invalid literal for int() with base 10: '1.5'"),
            ),
            (
                "0x10",
                Err("invalid literal for int() with base 10: '0x10'"),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(byte_size(text), want.map_err(String::from), "{text:?}");
        }
    }

    #[test]
    fn octals() {
        let cases: &[(&str, Result<u32, &str>)] = &[
            ("022", Ok(18)),
            ("0o22", Ok(18)),
            (" 7 ", Ok(7)),
            ("0", Ok(0)),
            ("777", Ok(511)),
            ("8", Err("8 can not be converted to an octal type")),
            ("", Err(" can not be converted to an octal type")),
            ("abc", Err("abc can not be converted to an octal type")),
        ];
        for (text, want) in cases {
            assert_eq!(octal(text), want.map_err(String::from), "{text:?}");
        }
    }

    #[test]
    fn signals() {
        let cases: &[(&str, Result<i32, &str>)] = &[
            ("TERM", Ok(15)),
            ("SIGTERM", Ok(15)),
            (" term ", Ok(15)),
            ("kill", Ok(9)),
            ("9", Ok(9)),
            ("+9", Ok(9)),
            ("1_5", Ok(15)),
            ("_dfl", Ok(0)),
            ("sig_ign", Ok(1)),
            ("RTMIN", Ok(34)),
            ("cld", Ok(17)),
            ("0", Ok(0)),
            ("33", Err("value '33' is not a valid signal number")),
            ("BOGUS", Err("value 'BOGUS' is not a valid signal name")),
        ];
        for (text, want) in cases {
            assert_eq!(
                signal_number(text).map(|s| s.0),
                want.map_err(String::from),
                "{text:?}"
            );
        }
        assert_eq!(signal_name(6), Some("SIGABRT"));
        assert_eq!(signal_name(17), Some("SIGCHLD"));
        assert_eq!(signal_name(29), Some("SIGPOLL"));
        assert_eq!(signal_name(40), None);
    }

    #[test]
    fn exit_code_lists() {
        let cases: &[(&str, Result<Vec<i32>, &str>)] = &[
            ("", Ok(vec![])),
            ("0", Ok(vec![0])),
            ("0, 1", Ok(vec![0, 1])),
            (" 3 ", Ok(vec![3])),
            ("1,,2", Err("not a valid list of exit codes: '1,,2'")),
            ("256", Err("not a valid list of exit codes: '256'")),
            ("-1", Err("not a valid list of exit codes: '-1'")),
        ];
        for (text, want) in cases {
            assert_eq!(
                exit_codes(text),
                want.clone().map_err(String::from),
                "{text:?}"
            );
        }
    }

    #[test]
    fn autorestart_words() {
        assert_eq!(auto_restart("Unexpected"), Ok(AutoRestart::Unexpected));
        assert_eq!(auto_restart("TRUE"), Ok(AutoRestart::Always));
        assert_eq!(auto_restart("off"), Ok(AutoRestart::Never));
        assert_eq!(
            auto_restart("Sometimes"),
            Err("invalid 'autorestart' value 'sometimes'".into())
        );
    }

    #[test]
    fn names() {
        assert_eq!(process_or_group_name(" web "), Ok("web".into()));
        assert_eq!(
            process_or_group_name("a b"),
            Err("Invalid name: 'a b' because of character: ' '".into())
        );
        assert_eq!(
            process_or_group_name("a:b"),
            Err("Invalid name: 'a:b' because of character: ':'".into())
        );
        assert_eq!(
            process_or_group_name("a/b"),
            Err("Invalid name: 'a/b' because of character: '/'".into())
        );
    }

    #[test]
    fn inet_addresses() {
        type Case<'a> = (&'a str, Result<(&'a str, u16), &'a str>);
        let cases: &[Case] = &[
            ("9001", Ok(("", 9001))),
            (":9001", Ok(("", 9001))),
            ("*:9001", Ok(("", 9001))),
            ("LocalHost:80", Ok(("localhost", 80))),
            ("127.0.0.1:9001", Ok(("127.0.0.1", 9001))),
            ("abc", Err("not a valid port number: 'abc' ")),
            ("host:", Err("no port number specified in ''")),
            ("host:0", Err("0 is below lower bound (1)")),
            ("host:70000", Err("70000 is above upper bound (65535)")),
            ("host:x", Err("invalid literal for int() with base 10: 'x'")),
        ];
        for (text, want) in cases {
            assert_eq!(
                inet_address(text),
                want.map(|(h, p)| (h.to_string(), p)).map_err(String::from),
                "{text:?}"
            );
        }
    }

    #[test]
    fn normalizes_paths_like_python() {
        let cwd = Path::new("/srv/app");
        let cases = [
            ("a.log", "/srv/app/a.log"),
            ("./x/../b.log", "/srv/app/b.log"),
            ("/var//log/./s.log", "/var/log/s.log"),
            ("/..", "/"),
        ];
        for (text, want) in cases {
            assert_eq!(normalize_path(text, cwd), PathBuf::from(want), "{text}");
        }
    }

    #[test]
    fn log_levels() {
        assert_eq!(log_level("BLATHER"), Ok(LogLevel::Blather));
        assert_eq!(log_level("warn"), Ok(LogLevel::Warn));
        assert_eq!(
            log_level("warning"),
            Err("bad logging level name 'warning'".into())
        );
    }
}
