//! `command=` → the file to execute and its argv, with supervisord's checks and texts.
//!
//! Runs in the daemon before every spawn and for the RPC pre-check of `startProcess`.
//! It only looks at the filesystem (`stat`, `access`); it never forks and knows nothing of
//! process states. Rules and messages: config.md §7.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::config::shlex;
use crate::config::value::py_repr;

/// Where to look when neither the program's environment nor our own has a `PATH`.
const DEFAULT_PATH: &str = "/bin:/usr/bin:/usr/local/bin";

/// A command that passed every check and can be handed to `os::spawn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedCommand {
    /// The file `execve` gets: `argv[0]` as written when it contains `/`, else the PATH hit.
    pub filename: PathBuf,
    /// The split command; `argv[0]` is the word as written, not the resolved path.
    pub argv: Vec<String>,
}

/// Why a command cannot be run; `Display` is supervisord's spawn-error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Unbalanced quote or trailing backslash.
    #[error("can't parse command {}: {reason}", py_repr(.command))]
    Unparseable {
        /// The whole `command=` value.
        command: String,
        /// shlex's reason (`No closing quotation`, `No escaped character`).
        reason: String,
    },
    /// The command splits to no words at all (`command=`).
    #[error("command is empty")]
    Empty,
    /// Nothing at the path, or no PATH entry holds the name (RPC fault NO_FILE).
    #[error("can't find command {}", py_repr(.filename))]
    NotFound {
        /// The path tried, or the bare name when the PATH search found nothing.
        filename: String,
    },
    /// The name resolved to a directory.
    #[error("command at {} is a directory", py_repr(.filename))]
    Directory {
        /// The resolved path.
        filename: String,
    },
    /// No execute bit for anyone.
    #[error("command at {} is not executable", py_repr(.filename))]
    NotExecutable {
        /// The resolved path.
        filename: String,
    },
    /// Execute bits exist but `access(X_OK)` refuses us.
    #[error("no permission to run command {}", py_repr(.filename))]
    NoPermission {
        /// The resolved path.
        filename: String,
    },
}

impl CommandError {
    /// True for the one case the RPC reports as NO_FILE; every other case is
    /// NOT_EXECUTABLE.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CommandError::NotFound { .. })
    }
}

/// Split `command` and find its executable.
///
/// `path` is the `PATH` of the program's own `environment=` when it sets one; otherwise
/// our `$PATH` is used (an empty `$PATH` counts as unset), else `/bin:/usr/bin:/usr/local/bin`.
/// A program-level `PATH=` that is empty is searched as one empty entry, which makes the
/// name relative to our working directory, as in the reference.
pub fn resolve(command: &str, path: Option<&str>) -> Result<ResolvedCommand, CommandError> {
    let argv = shlex::split(command).map_err(|reason| CommandError::Unparseable {
        command: command.to_string(),
        reason,
    })?;
    let program = argv.first().ok_or(CommandError::Empty)?;
    let (filename, metadata) = if program.contains('/') {
        (program.clone(), stat(program))
    } else {
        let ours = std::env::var("PATH").ok();
        search_path(path, ours.as_deref())
            .split(':')
            .map(|dir| join(dir, program))
            .find_map(|candidate| stat(&candidate).map(|m| (candidate, Some(m))))
            .unwrap_or_else(|| (program.clone(), None))
    };
    check(&filename, metadata)?;
    Ok(ResolvedCommand {
        filename: PathBuf::from(filename),
        argv,
    })
}

/// The PATH to search: the program's, else ours unless empty, else the default.
fn search_path<'a>(program_path: Option<&'a str>, our_path: Option<&'a str>) -> &'a str {
    program_path
        .or(our_path.filter(|p| !p.is_empty()))
        .unwrap_or(DEFAULT_PATH)
}

/// Python's `os.path.join(dir, name)` for a `name` without `/`.
fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn stat(path: &str) -> Option<std::fs::Metadata> {
    std::fs::metadata(path).ok()
}

fn check(filename: &str, metadata: Option<std::fs::Metadata>) -> Result<(), CommandError> {
    let owned = || filename.to_string();
    let metadata = metadata.ok_or_else(|| CommandError::NotFound { filename: owned() })?;
    if metadata.is_dir() {
        return Err(CommandError::Directory { filename: owned() });
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(CommandError::NotExecutable { filename: owned() });
    }
    if !may_execute(Path::new(filename)) {
        return Err(CommandError::NoPermission { filename: owned() });
    }
    Ok(())
}

/// `access(X_OK)` with the real uid, as Python's `os.access` does.
fn may_execute(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c_path.as_ptr(), libc::X_OK) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        /// `bin/` holds one file of each kind; `empty/` holds nothing.
        fn new() -> Fixture {
            let dir = tempfile::tempdir().expect("tempdir");
            let bin = dir.path().join("bin");
            fs::create_dir_all(bin.join("subdir")).expect("mkdir");
            fs::create_dir_all(dir.path().join("empty")).expect("mkdir");
            for (name, mode) in [("tool", 0o755), ("plain", 0o644), ("other_x", 0o001)] {
                let file = bin.join(name);
                fs::write(&file, "#!/bin/sh\n").expect("write");
                fs::set_permissions(&file, fs::Permissions::from_mode(mode)).expect("chmod");
            }
            Fixture { dir }
        }

        fn path(&self, rel: &str) -> String {
            self.dir.path().join(rel).to_string_lossy().into_owned()
        }
    }

    #[test]
    fn resolution_table() {
        let fx = Fixture::new();
        let bin = fx.path("bin");
        let empty = fx.path("empty");
        let search = format!("{empty}:{bin}");
        let found = |name: &str| Ok(PathBuf::from(format!("{bin}/{name}")));
        let cases: Vec<(String, Option<String>, Result<PathBuf, String>)> = vec![
            ("tool -x".into(), Some(search.clone()), found("tool")),
            (
                format!("{bin}/tool a"),
                None,
                Ok(PathBuf::from(format!("{bin}/tool"))),
            ),
            (
                "missing".into(),
                Some(search.clone()),
                Err("can't find command 'missing'".into()),
            ),
            (
                format!("{bin}/missing"),
                None,
                Err(format!("can't find command '{bin}/missing'")),
            ),
            (
                "subdir".into(),
                Some(search.clone()),
                Err(format!("command at '{bin}/subdir' is a directory")),
            ),
            (
                "plain".into(),
                Some(search.clone()),
                Err(format!("command at '{bin}/plain' is not executable")),
            ),
            // Root may run anything with an x bit; the no-permission case is exercised
            // as nobody by tests/os_spawn.rs.
            ("other_x".into(), Some(search.clone()), found("other_x")),
            (
                "".into(),
                Some(search.clone()),
                Err("command is empty".into()),
            ),
            (
                "   ".into(),
                Some(search.clone()),
                Err("command is empty".into()),
            ),
            (
                "\"\"".into(),
                Some(search.clone()),
                Err(format!("command at '{empty}/' is a directory")),
            ),
            (
                "sh -c 'a".into(),
                Some(search.clone()),
                Err("can't parse command \"sh -c 'a\": No closing quotation".into()),
            ),
            (
                "tool \\".into(),
                Some(search.clone()),
                Err("can't parse command 'tool \\\\': No escaped character".into()),
            ),
            // The first entry that exists wins, even when it is a directory.
            (
                "subdir".into(),
                Some(format!("{bin}:{empty}")),
                Err(format!("command at '{bin}/subdir' is a directory")),
            ),
            // Trailing slash in a PATH entry is not doubled.
            ("tool".into(), Some(format!("{bin}/")), found("tool")),
        ];
        for (command, path, want) in cases {
            let got = resolve(&command, path.as_deref())
                .map(|r| r.filename)
                .map_err(|e| e.to_string());
            assert_eq!(got, want, "command {command:?} path {path:?}");
        }
    }

    #[test]
    fn argv_keeps_the_word_as_written() {
        let fx = Fixture::new();
        let resolved = resolve("tool 'a b' \"c\\\"d\"", Some(&fx.path("bin"))).expect("resolves");
        assert_eq!(resolved.argv, ["tool", "a b", "c\"d"]);
        assert_eq!(resolved.filename, PathBuf::from(fx.path("bin/tool")));
    }

    #[test]
    fn empty_program_path_entry_means_current_directory() {
        // An empty entry joins to the bare name, relative to our cwd: the test runs in the
        // crate root, which holds Cargo.toml but no executable called that.
        let err = resolve("Cargo.toml", Some("")).expect_err("not executable");
        assert_eq!(err.to_string(), "command at 'Cargo.toml' is not executable");
    }

    #[test]
    fn which_path_is_searched() {
        assert_eq!(search_path(Some("/p"), Some("/ours")), "/p");
        assert_eq!(search_path(Some(""), Some("/ours")), "");
        assert_eq!(search_path(None, Some("/ours")), "/ours");
        assert_eq!(search_path(None, Some("")), DEFAULT_PATH);
        assert_eq!(search_path(None, None), DEFAULT_PATH);
    }

    #[test]
    fn only_not_found_is_no_file() {
        let not_found = CommandError::NotFound {
            filename: "x".into(),
        };
        assert!(not_found.is_not_found());
        assert!(!CommandError::Empty.is_not_found());
        let directory = CommandError::Directory {
            filename: "x".into(),
        };
        assert!(!directory.is_not_found());
    }
}
