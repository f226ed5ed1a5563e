//! `supervisord`'s command line: the reference's options with its messages, plus ours
//! (`--check`, `--print-config`, `--subreaper`).
//!
//! Owns argv → [`Invocation`] and the config-file search. It validates option values the
//! way the reference's option handlers do, but does not read the config file.

use std::path::{Path, PathBuf};

use crate::cli::{getopt, OptSpec};
use crate::config::value::{self, py_repr};
use crate::config::Overrides;

/// What `supervisord` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Print the usage text and exit 0.
    Help,
    /// Print the version and exit 0.
    Version,
    /// Validate, print or run a configuration.
    Run(Box<DaemonArgs>),
}

/// What to do with the configuration once it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run supervisord.
    Serve,
    /// `--check`: validate, print a one-line summary.
    Check,
    /// `--print-config`: print the expanded model as JSON.
    PrintConfig,
}

/// A parsed `supervisord` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonArgs {
    /// `-c`: the configuration file, or none to search the default places.
    pub configfile: Option<PathBuf>,
    /// `[supervisord]` values given as options.
    pub overrides: Overrides,
    /// What to do.
    pub action: Action,
    /// `--subreaper`: become a child subreaper so orphaned grandchildren are reaped.
    pub subreaper: bool,
}

const fn opt(short: Option<char>, long: &'static str, takes_value: bool) -> OptSpec {
    OptSpec {
        short,
        long: Some(long),
        takes_value,
    }
}

const SPECS: &[OptSpec] = &[
    opt(Some('h'), "help", false),
    OptSpec {
        short: Some('?'),
        long: None,
        takes_value: false,
    },
    opt(Some('c'), "configuration", true),
    opt(Some('v'), "version", false),
    opt(Some('n'), "nodaemon", false),
    opt(Some('u'), "user", true),
    opt(Some('m'), "umask", true),
    opt(Some('d'), "directory", true),
    opt(Some('l'), "logfile", true),
    opt(Some('y'), "logfile_maxbytes", true),
    opt(Some('z'), "logfile_backups", true),
    opt(Some('e'), "loglevel", true),
    opt(Some('j'), "pidfile", true),
    opt(Some('i'), "identifier", true),
    opt(Some('q'), "childlogdir", true),
    opt(Some('a'), "minfds", true),
    opt(None, "minprocs", true),
    opt(Some('k'), "nocleanup", false),
    opt(Some('t'), "strip_ansi", false),
    opt(None, "profile_options", true),
    opt(Some('s'), "silent", false),
    opt(None, "check", false),
    opt(None, "print-config", false),
    opt(None, "subreaper", false),
];

/// The `-h` text; `%s` stands for the program name.
pub const USAGE: &str = "supervisord -- run a set of applications as daemons.

Usage: %s [options]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-n/--nodaemon -- run in the foreground (same as 'nodaemon=true' in config file)
-s/--silent -- no logs to stdout (maps to 'silent=true' in config file)
-h/--help -- print this usage message and exit
-v/--version -- print supervisord version number and exit
-u/--user USER -- run supervisord as this user (or numeric uid)
-m/--umask UMASK -- use this umask for daemon subprocess (default is 022)
-d/--directory DIRECTORY -- directory to chdir to when daemonized
-l/--logfile FILENAME -- use FILENAME as logfile path
-y/--logfile_maxbytes BYTES -- use BYTES to limit the max size of logfile
-z/--logfile_backups NUM -- number of backups to keep when max bytes reached
-e/--loglevel LEVEL -- use LEVEL as log level (debug,info,warn,error,critical)
-j/--pidfile FILENAME -- write a pid file for the daemon process to FILENAME
-i/--identifier STR -- identifier used for this instance of supervisord
-q/--childlogdir DIRECTORY -- the log directory for child process logs
-k/--nocleanup --  prevent the process from performing cleanup (removal of
                   old automatic child log files) at startup.
-a/--minfds NUM -- the minimum number of file descriptors for start success
-t/--strip_ansi -- strip ansi escape codes from process output
--minprocs NUM  -- the minimum number of processes available for start success
--profile_options OPTIONS -- accepted for compatibility; profiling is not
                             supported by this implementation
--check -- validate the configuration, print a summary and exit
--print-config -- print the expanded configuration as JSON and exit
--subreaper -- become a child subreaper so that orphaned descendants of
               programs are reaped by supervisord
";

/// The usage text with the program name filled in.
pub fn usage_text(progname: &str) -> String {
    USAGE.replace("%s", progname)
}

fn set<T>(slot: &mut Option<T>, value: T, flag: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("conflicting command line option {}", py_repr(flag)));
    }
    *slot = Some(value);
    Ok(())
}

fn set_flag(slot: &mut bool, flag: &str) -> Result<(), String> {
    if *slot {
        return Err(format!("conflicting command line option {}", py_repr(flag)));
    }
    *slot = true;
    Ok(())
}

/// Parses `supervisord`'s arguments (without the program name). An error is the
/// message the reference prints after `Error: `.
pub fn parse(args: &[String]) -> Result<Invocation, String> {
    let (found, rest) = getopt(args, SPECS)?;
    if !rest.is_empty() {
        let quoted: Vec<String> = rest.iter().map(|a| py_repr(a)).collect();
        return Err(format!(
            "positional arguments are not supported: [{}]",
            quoted.join(", ")
        ));
    }
    let mut parsed = DaemonArgs {
        configfile: None,
        overrides: Overrides::default(),
        action: Action::Serve,
        subreaper: false,
    };
    let mut configfile = None;
    let mut check = false;
    let mut print_config = false;
    let mut profile_options = None;
    let o = &mut parsed.overrides;
    for found in found {
        let flag = found.flag.as_str();
        let raw = found.value.as_str();
        let invalid =
            |message: String| format!("invalid value for {flag} {}: {message}", py_repr(raw));
        match flag {
            "-h" | "--help" | "-?" => return Ok(Invocation::Help),
            "-v" | "--version" => return Ok(Invocation::Version),
            "-c" | "--configuration" => set(&mut configfile, PathBuf::from(raw), flag)?,
            "-n" | "--nodaemon" => set(&mut o.nodaemon, true, flag)?,
            "-s" | "--silent" => set(&mut o.silent, true, flag)?,
            "-k" | "--nocleanup" => set(&mut o.nocleanup, true, flag)?,
            "-t" | "--strip_ansi" => set(&mut o.strip_ansi, true, flag)?,
            "-u" | "--user" => set(&mut o.user, raw.to_string(), flag)?,
            "-m" | "--umask" => set(&mut o.umask, value::octal(raw).map_err(invalid)?, flag)?,
            "-d" | "--directory" => set(
                &mut o.directory,
                value::existing_directory(raw).map_err(invalid)?,
                flag,
            )?,
            "-l" | "--logfile" => {
                value::existing_dirpath(raw).map_err(invalid)?;
                set(&mut o.logfile, raw.to_string(), flag)?
            }
            "-y" | "--logfile_maxbytes" => set(
                &mut o.logfile_maxbytes,
                value::byte_size(raw).map_err(invalid)?,
                flag,
            )?,
            "-z" | "--logfile_backups" => set(
                &mut o.logfile_backups,
                value::py_int(raw).map_err(invalid)?,
                flag,
            )?,
            "-e" | "--loglevel" => set(
                &mut o.loglevel,
                value::log_level(raw).map_err(invalid)?,
                flag,
            )?,
            "-j" | "--pidfile" => {
                value::existing_dirpath(raw).map_err(invalid)?;
                set(&mut o.pidfile, raw.to_string(), flag)?
            }
            "-i" | "--identifier" => set(&mut o.identifier, raw.to_string(), flag)?,
            "-q" | "--childlogdir" => set(
                &mut o.childlogdir,
                value::existing_directory(raw).map_err(invalid)?,
                flag,
            )?,
            "-a" | "--minfds" => set(&mut o.minfds, value::py_int(raw).map_err(invalid)?, flag)?,
            "--minprocs" => set(&mut o.minprocs, value::py_int(raw).map_err(invalid)?, flag)?,
            "--profile_options" => set(&mut profile_options, raw.to_string(), flag)?,
            "--check" => set_flag(&mut check, flag)?,
            "--print-config" => set_flag(&mut print_config, flag)?,
            "--subreaper" => set_flag(&mut parsed.subreaper, flag)?,
            other => return Err(format!("option {other} not recognized")),
        }
    }
    if profile_options.is_some() {
        return Err(
            "--profile_options is not supported: this supervisord has no Python profiler"
                .to_string(),
        );
    }
    parsed.configfile = configfile;
    parsed.action = match (check, print_config) {
        (true, true) => {
            return Err("--check and --print-config cannot be used together".to_string())
        }
        (true, false) => Action::Check,
        (false, true) => Action::PrintConfig,
        (false, false) => Action::Serve,
    };
    Ok(Invocation::Run(Box::new(parsed)))
}

/// The places searched for a configuration when `-c` is not given, in order.
pub fn search_paths(argv0: &str) -> Vec<PathBuf> {
    let here0 = Path::new(argv0)
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| Path::new(""));
    vec![
        here0.join("etc").join("supervisord.conf"),
        here0.join("supervisord.conf"),
        PathBuf::from("supervisord.conf"),
        PathBuf::from("etc/supervisord.conf"),
        PathBuf::from("/etc/supervisord.conf"),
        PathBuf::from("/etc/supervisor/supervisord.conf"),
    ]
}

/// The first of [`search_paths`] that exists, or the reference's error text.
pub fn find_config(argv0: &str) -> Result<PathBuf, String> {
    let paths = search_paths(argv0);
    paths.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
        let listed: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        format!(
            "No config file found at default paths ({}); use the -c option to specify a \
             config file at a different path",
            listed.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogLevel;

    fn run(args: &[&str]) -> Result<Invocation, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&args)
    }

    #[test]
    fn options_and_overrides() {
        let Ok(Invocation::Run(a)) =
            run(&["-n", "-c", "x.conf", "-y", "1KB", "-e", "debug", "--check"])
        else {
            panic!("expected a run");
        };
        assert_eq!(a.configfile, Some(PathBuf::from("x.conf")));
        assert_eq!(a.overrides.nodaemon, Some(true));
        assert_eq!(a.overrides.logfile_maxbytes, Some(1024));
        assert_eq!(a.overrides.loglevel, Some(LogLevel::Debug));
        assert_eq!(a.action, Action::Check);
        assert_eq!(
            run(&["-h", "--bogus"]),
            Err("option --bogus not recognized".to_string()),
            "every option is split before any is acted on"
        );
        assert_eq!(run(&["-n", "-h"]), Ok(Invocation::Help));
        assert_eq!(run(&["-v"]), Ok(Invocation::Version));
    }

    #[test]
    fn reference_error_texts() {
        let cases: &[(&[&str], &str)] = &[
            (&["--bogus"], "option --bogus not recognized"),
            (&["-x"], "option -x not recognized"),
            (&["a"], "positional arguments are not supported: ['a']"),
            (&["-n", "-n"], "conflicting command line option '-n'"),
            (&["-c", "a", "--configuration", "b"], "conflicting command line option '--configuration'"),
            (
                &["-y", "10x"],
                "invalid value for -y '10x': invalid literal for int() with base 10: '10x'",
            ),
            (
                &["-e", "loud"],
                "invalid value for -e 'loud': bad logging level name 'loud'",
            ),
            (
                &["-m", "9"],
                "invalid value for -m '9': 9 can not be converted to an octal type",
            ),
            (
                &["-q", "/nonexistent-dir"],
                "invalid value for -q '/nonexistent-dir': /nonexistent-dir is not an existing directory",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(run(args), Err(want.to_string()), "{args:?}");
        }
    }

    #[test]
    fn search_order() {
        let paths = search_paths("/usr/bin/supervisord");
        assert_eq!(paths[0], PathBuf::from("/usr/etc/supervisord.conf"));
        assert_eq!(paths[1], PathBuf::from("/usr/supervisord.conf"));
        let bare = search_paths("supervisord");
        assert_eq!(bare[0], PathBuf::from("etc/supervisord.conf"));
        assert_eq!(bare[5], PathBuf::from("/etc/supervisor/supervisord.conf"));
    }
}
