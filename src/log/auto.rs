//! AUTO child log files: naming and creating them when a group is added, and deleting
//! the old ones at start-up.
//!
//! Names are `<childlogdir>/<process_name>-<stdout|stderr>---<identifier>-<8 random
//! [a-z0-9_]>.log`, created empty and exclusive (mode 0600, like `mkstemp`). The
//! cleanup deletes every entry of `childlogdir` whose name matches, from its start,
//! the reference's pattern `.+?---<identifier>-\S+\.log\.{0,1}\d{0,4}` — with the
//! identifier pasted in unescaped, as the reference does. An identifier that is not a
//! valid pattern for our small `re` subset is matched literally (the reference would
//! either crash on it at start-up or apply a construct we do not support).
//!
//! Owns only these files' names and existence; what is written into them is the
//! capture's business.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::config::value::py_repr;
use crate::log::pattern::{escape, Pattern, PatternError};
use crate::log::{sys, ActivityLog, Channel};

/// The characters of the random part (Python's `tempfile` alphabet).
const NAME_ALPHABET: &[u8; 37] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
/// Length of the random part.
const RANDOM_LEN: usize = 8;
/// Names tried before giving up on a directory full of collisions.
const ATTEMPTS: usize = 100;

/// The fixed part of an AUTO log name, before the random characters.
pub fn auto_log_prefix(process_name: &str, channel: Channel, identifier: &str) -> String {
    format!("{process_name}-{}---{identifier}-", channel.name())
}

fn random_suffix() -> io::Result<String> {
    let mut out = String::with_capacity(RANDOM_LEN);
    let mut bytes = [0u8; 32];
    while out.len() < RANDOM_LEN {
        sys::random_bytes(&mut bytes)?;
        // Rejection sampling keeps every character equally likely.
        let limit = (256 / NAME_ALPHABET.len() * NAME_ALPHABET.len()) as u8;
        for &b in bytes.iter().filter(|&&b| b < limit) {
            if out.len() == RANDOM_LEN {
                break;
            }
            out.push(NAME_ALPHABET[usize::from(b) % NAME_ALPHABET.len()] as char);
        }
    }
    Ok(out)
}

/// Creates a new, empty AUTO log file for one channel of a process and returns its
/// path (the group is being added: start-up, `add`, `update`).
pub fn create_auto_log(
    childlogdir: &Path,
    process_name: &str,
    channel: Channel,
    identifier: &str,
) -> io::Result<PathBuf> {
    let prefix = auto_log_prefix(process_name, channel, identifier);
    let mut last_error = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..ATTEMPTS {
        let path = childlogdir.join(format!("{prefix}{}.log", random_suffix()?));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = e,
            Err(e) => return Err(e),
        }
    }
    Err(last_error)
}

/// The cleanup pattern for `identifier`; the escaped form is the fallback.
fn cleanup_pattern(identifier: &str) -> Result<Pattern, PatternError> {
    let source = |id: &str| format!(r".+?---{id}-\S+\.log\.{{0,1}}\d{{0,4}}");
    Pattern::new(&source(identifier)).or_else(|_| Pattern::new(&source(&escape(identifier))))
}

/// True when the cleanup would delete a file called `file_name`.
pub fn is_auto_log_name(file_name: &str, identifier: &str) -> bool {
    cleanup_pattern(identifier).is_ok_and(|p| p.matches_prefix(file_name))
}

/// Deletes every old AUTO log of `identifier` in `childlogdir` (start-up and restart,
/// unless `nocleanup`). Failures are logged as the reference words them: WARN
/// `Could not clear childlog dir` when the directory cannot be listed, WARN
/// `Failed to clean up '<path>'` per file that cannot be deleted.
pub fn clear_auto_logs(childlogdir: &Path, identifier: &str, log: &ActivityLog) {
    let (Ok(entries), Ok(pattern)) = (fs::read_dir(childlogdir), cleanup_pattern(identifier))
    else {
        log.warn("Could not clear childlog dir");
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if pattern.matches_prefix(&name.to_string_lossy()) {
            let path = childlogdir.join(&name);
            if fs::remove_file(&path).is_err() {
                log.warn(format!(
                    "Failed to clean up {}",
                    py_repr(&path.to_string_lossy())
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LogLevel, MainLogTarget};
    use crate::log::rotate::Rotation;
    use crate::log::ActivitySettings;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_names_follow_the_format() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = std::collections::HashSet::new();
        for channel in [Channel::Stdout, Channel::Stderr] {
            for _ in 0..20 {
                let path = create_auto_log(dir.path(), "web_1", channel, "supervisor").unwrap();
                assert_eq!(path.parent(), Some(dir.path()));
                let name = path.file_name().unwrap().to_str().unwrap().to_string();
                let prefix = format!("web_1-{}---supervisor-", channel.name());
                let random = name
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(".log"))
                    .unwrap_or_else(|| panic!("bad name {name}"));
                assert_eq!(random.len(), 8, "{name}");
                assert!(random.bytes().all(|b| NAME_ALPHABET.contains(&b)), "{name}");
                let meta = fs::metadata(&path).unwrap();
                assert_eq!(meta.len(), 0);
                assert_eq!(meta.permissions().mode() & 0o777, 0o600);
                assert!(is_auto_log_name(&name, "supervisor"), "{name}");
                assert!(seen.insert(name));
            }
        }
    }

    #[test]
    fn creation_errors_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = create_auto_log(&missing, "p", Channel::Stdout, "supervisor").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn cleanup_pattern_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("web-stdout---supervisor-abcd1234.log", "supervisor", true),
            ("web-stderr---supervisor-abcd1234.log.1", "supervisor", true),
            (
                "web-stderr---supervisor-abcd1234.log.10",
                "supervisor",
                true,
            ),
            // Prefix match: anything may follow.
            ("web-stdout---supervisor-x.logged", "supervisor", true),
            ("a---supervisor-b.log", "supervisor", true),
            // At least one character before the dashes and after the identifier.
            ("---supervisor-abc.log", "supervisor", false),
            ("web---supervisor-.log", "supervisor", false),
            // Whitespace between the identifier and .log breaks it.
            ("web---supervisor-a b.log", "supervisor", false),
            ("web---other-abc.log", "supervisor", false),
            ("web-stdout---supervisor-abc.txt", "supervisor", false),
            ("plain.log", "supervisor", false),
            // The identifier is a pattern: `.` matches any character.
            ("web---hostXexample-abc.log", "host.example", true),
            ("web---host.example-abc.log", "host.example", true),
            // An identifier that is no valid pattern is taken literally.
            ("web---a(b-abc.log", "a(b", true),
            ("web---ab-abc.log", "a(b", false),
        ];
        for (name, identifier, want) in cases {
            assert_eq!(
                is_auto_log_name(name, identifier),
                *want,
                "{name} / {identifier}"
            );
        }
    }

    fn activity(dir: &Path) -> (ActivityLog, PathBuf) {
        let path = dir.join("activity.log");
        let log = ActivityLog::new(LogLevel::Info);
        log.open(&ActivitySettings {
            target: MainLogTarget::File(path.clone()),
            rotation: Rotation::NEVER,
            echo_stdout: false,
        })
        .unwrap();
        (log, path)
    }

    #[test]
    fn cleanup_deletes_matches_only_and_warns_on_failures() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        fs::create_dir(&logs).unwrap();
        let made = create_auto_log(&logs, "p", Channel::Stdout, "supervisor").unwrap();
        let rotated = PathBuf::from(format!("{}.3", made.display()));
        fs::write(&rotated, "old").unwrap();
        let other_id = create_auto_log(&logs, "p", Channel::Stdout, "other").unwrap();
        let unrelated = logs.join("keep.log");
        fs::write(&unrelated, "").unwrap();
        // A directory that matches cannot be removed as a file.
        let stuck = logs.join("d---supervisor-x.log");
        fs::create_dir(&stuck).unwrap();

        let (log, activity_path) = activity(dir.path());
        clear_auto_logs(&logs, "supervisor", &log);
        assert!(!made.exists());
        assert!(!rotated.exists());
        assert!(other_id.exists());
        assert!(unrelated.exists());
        clear_auto_logs(&dir.path().join("missing"), "supervisor", &log);
        let text = fs::read_to_string(activity_path).unwrap();
        let lines: Vec<&str> = text.lines().map(|l| &l[24..]).collect();
        assert_eq!(
            lines,
            vec![
                format!("WARN Failed to clean up '{}'", stuck.display()),
                "WARN Could not clear childlog dir".to_string(),
            ]
        );
    }
}
