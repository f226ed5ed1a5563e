//! `supervisorctl`: a drop-in for the reference client: same options, commands, output
//! lines and exit statuses, against our daemon or a Python supervisord.
//!
//! Owns the program level: options (`-c -s -u -p -i -r -h`), the `[supervisorctl]`
//! settings, the choice between one command and the shell, and the standard terminal.
//! Uses blocking std I/O only (no tokio), the XML-RPC codec from `rpc`, and `config`.
//! Modules: `client` (HTTP + XML-RPC), `commands` (one method per command),
//! `render` (pure texts), `shell` (rustyline loop and completion), `interrupt`
//! (Ctrl-C while waiting).
//!
//! Beyond the reference, opt-in: `status --json [name…]` prints one JSON array with an
//! object per shown process (the server's process-info fields plus `namespec`), for
//! scripts and health checks; unknown names go to stderr; exit statuses are those of
//! `status` (0 all running, 3 some not running, 4 unknown name or no server).
//!
//! A broken standard output (`supervisorctl tail -f x | head`) ends the program quietly.

// The client is public for the crate's own integration tests only.
#[doc(hidden)]
pub mod client;
pub(crate) mod commands;
pub(crate) mod interrupt;
pub(crate) mod render;
pub(crate) mod shell;

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use crate::cli::{getopt, OptSpec};
use crate::config::{self, LoadOptions};
use client::Settings;
use commands::{Controller, Terminal};

const OPTIONS: &[OptSpec] = &[
    OptSpec {
        short: Some('h'),
        long: Some("help"),
        takes_value: false,
    },
    OptSpec {
        short: Some('?'),
        long: None,
        takes_value: false,
    },
    OptSpec {
        short: Some('c'),
        long: Some("configuration"),
        takes_value: true,
    },
    OptSpec {
        short: Some('i'),
        long: Some("interactive"),
        takes_value: false,
    },
    OptSpec {
        short: Some('s'),
        long: Some("serverurl"),
        takes_value: true,
    },
    OptSpec {
        short: Some('u'),
        long: Some("username"),
        takes_value: true,
    },
    OptSpec {
        short: Some('p'),
        long: Some("password"),
        takes_value: true,
    },
    OptSpec {
        short: Some('r'),
        long: Some("history_file"),
        takes_value: true,
    },
];

/// What the command line asked for, after the config file is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where and as whom to connect.
    pub settings: Settings,
    /// `-i`, or no action given.
    pub interactive: bool,
    /// The shell prompt word.
    pub prompt: String,
    /// Readline history file.
    pub history_file: Option<PathBuf>,
    /// The action and its arguments (empty: start the shell).
    pub args: Vec<String>,
}

/// Why the program stops before running a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// `-h`: print this usage text, exit 0.
    Help(String),
    /// A usage error: `Error: <msg>` and `For help, use <prog> -h` on stderr, exit 2.
    Usage(String),
}

/// Python's `urlparse`-based check that `-s` was given a URL.
fn looks_like_url(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return false;
    }
    match rest.strip_prefix("//") {
        Some(after) => !after.is_empty(),
        None => !rest.is_empty(),
    }
}

/// Reads argv (without the program name) and the config file like the reference.
pub fn parse_options(progname: &str, args: &[String], load: &LoadOptions) -> Result<Options, Exit> {
    let (found, rest) = getopt(args, OPTIONS).map_err(Exit::Usage)?;
    let mut configfile: Option<String> = None;
    let mut interactive: Option<bool> = None;
    let mut serverurl: Option<String> = None;
    let mut username: Option<String> = None;
    let mut password: Option<String> = None;
    let mut history: Option<String> = None;
    for opt in found {
        let slot = match opt.flag.as_str() {
            "-h" | "--help" | "-?" => return Err(Exit::Help(render::usage(progname))),
            "-c" | "--configuration" => &mut configfile,
            "-i" | "--interactive" => {
                if interactive.replace(true).is_some() {
                    return Err(conflicting(&opt.flag));
                }
                continue;
            }
            "-s" | "--serverurl" => {
                if !looks_like_url(&opt.value) {
                    return Err(Exit::Usage(format!(
                        "invalid value for {} {}: value {} is not a URL",
                        opt.flag,
                        config::value::py_repr(&opt.value),
                        config::value::py_repr(&opt.value)
                    )));
                }
                &mut serverurl
            }
            "-u" | "--username" => &mut username,
            "-p" | "--password" => &mut password,
            _ => &mut history,
        };
        if slot.replace(opt.value).is_some() {
            return Err(conflicting(&opt.flag));
        }
    }
    let path = match configfile {
        Some(path) => Some(PathBuf::from(path)),
        None => crate::daemon::args::search_paths(progname)
            .into_iter()
            .find(|p| p.exists()),
    };
    let file = match path {
        Some(path) => Some(config::load_ctl(&path, load).map_err(|errors| {
            Exit::Usage(
                errors
                    .0
                    .first()
                    .map(|e| e.message.clone())
                    .unwrap_or_default(),
            )
        })?),
        None => None,
    };
    let file = file.unwrap_or_default();
    Ok(Options {
        settings: Settings {
            serverurl: serverurl.unwrap_or(file.serverurl),
            username: username.or(file.username),
            password: password.or(file.password),
        },
        interactive: interactive.unwrap_or(false) || rest.is_empty(),
        prompt: file.prompt,
        history_file: history.map(PathBuf::from).or(file.history_file),
        args: rest,
    })
}

fn conflicting(flag: &str) -> Exit {
    Exit::Usage(format!(
        "conflicting command line option {}",
        config::value::py_repr(flag)
    ))
}

/// The real terminal: stdout, stderr, stdin and `/dev/tty` for passwords.
pub struct StdTerminal;

impl Terminal for StdTerminal {
    fn out(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()
    }

    fn err_line(&mut self, text: &str) {
        let _ = writeln!(io::stderr().lock(), "{text}");
    }

    fn input(&mut self, prompt: &str) -> io::Result<Option<String>> {
        self.out(prompt.as_bytes())?;
        read_line_from(io::stdin().as_fd())
    }

    fn secret(&mut self, prompt: &str) -> io::Result<Option<String>> {
        use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
        let Ok(mut tty) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        else {
            return self.input(prompt);
        };
        tty.write_all(prompt.as_bytes())?;
        tty.flush()?;
        let saved = tcgetattr(&tty).ok();
        if let Some(saved) = &saved {
            let mut quiet = saved.clone();
            quiet.local_flags.remove(LocalFlags::ECHO);
            let _ = tcsetattr(&tty, SetArg::TCSAFLUSH, &quiet);
        }
        let line = read_line_from(tty.as_fd());
        if let Some(saved) = &saved {
            let _ = tcsetattr(&tty, SetArg::TCSAFLUSH, saved);
        }
        let _ = tty.write_all(b"\n");
        line
    }
}

/// Reads one line byte by byte (so nothing after it is consumed from a shared stdin);
/// an `EINTR` after Ctrl-C ends the read with `Interrupted`.
fn read_line_from(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(fd.as_raw_fd(), &mut byte) {
            Ok(0) if line.is_empty() => return Ok(None),
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(nix::errno::Errno::EINTR) => {
                if interrupt::interrupted() {
                    return Err(io::ErrorKind::Interrupted.into());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

/// Runs `supervisorctl` with `argv` (program name first) and returns its exit status.
pub fn main(argv: Vec<String>) -> i32 {
    let progname = argv
        .first()
        .cloned()
        .unwrap_or_else(|| "supervisorctl".to_string());
    let args = argv.get(1..).unwrap_or_default();
    let options = match parse_options(&progname, args, &LoadOptions::from_process()) {
        Ok(options) => options,
        Err(Exit::Help(text)) => {
            let _ = io::stdout().write_all(text.as_bytes());
            return 0;
        }
        Err(Exit::Usage(message)) => {
            eprintln!("Error: {message}");
            eprintln!("For help, use {progname} -h");
            return 2;
        }
    };
    let mut terminal = StdTerminal;
    let mut controller = Controller::new(options.settings, options.interactive, &mut terminal);
    if !options.args.is_empty() {
        controller.onecmd(&options.args.join(" "));
        return controller.exit_status();
    }
    let prompt = format!("{}> ", options.prompt);
    shell::run(&mut controller, &prompt, options.history_file.as_deref());
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, Exit> {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse_options(
            "/nowhere/bin/supervisorctl",
            &args,
            &LoadOptions::for_test(dir.path()),
        )
    }

    #[test]
    fn options_and_their_errors() {
        let o = parse(&["-s", "unix:///tmp/s", "-u", "u", "-p", "p", "status", "-x"]).unwrap();
        assert_eq!(o.settings.serverurl, "unix:///tmp/s");
        assert_eq!(o.settings.username.as_deref(), Some("u"));
        assert_eq!(o.args, ["status", "-x"]);
        assert!(!o.interactive);
        let o = parse(&[]).unwrap();
        assert!(o.interactive);
        assert_eq!(o.settings.serverurl, "http://localhost:9001");
        assert_eq!(o.prompt, "supervisor");
        let errors = [
            (
                &["-s", "foo"][..],
                "invalid value for -s 'foo': value 'foo' is not a URL",
            ),
            (&["-x"][..], "option -x not recognized"),
            (
                &["-s", "http://a", "-s", "http://b"][..],
                "conflicting command line option '-s'",
            ),
            (&["-i", "-i"][..], "conflicting command line option '-i'"),
            (
                &["-c", "/nonexistent.conf"][..],
                "could not find config file /nonexistent.conf",
            ),
        ];
        for (args, want) in errors {
            assert_eq!(parse(args), Err(Exit::Usage(want.to_string())), "{args:?}");
        }
        assert!(matches!(parse(&["-h", "-x"]), Err(Exit::Usage(_))));
        assert!(
            matches!(parse(&["-?"]), Err(Exit::Help(t)) if t.contains("Usage: /nowhere/bin/supervisorctl"))
        );
    }

    #[test]
    fn config_section_applies_below_the_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("c.conf");
        std::fs::write(
            &conf,
            "[supervisorctl]\nserverurl=unix://%(here)s/s.sock\nusername=cu\npassword=cp\nprompt=box\n",
        )
        .unwrap();
        let args: Vec<String> = ["-c", conf.to_str().unwrap(), "-u", "cli", "status"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = parse_options("x", &args, &LoadOptions::for_test(dir.path())).unwrap();
        assert_eq!(
            o.settings.serverurl,
            format!("unix://{}/s.sock", dir.path().display())
        );
        assert_eq!(o.settings.username.as_deref(), Some("cli"));
        assert_eq!(o.settings.password.as_deref(), Some("cp"));
        assert_eq!(o.prompt, "box");
        std::fs::write(&conf, "[supervisord]\n").unwrap();
        assert_eq!(
            parse_options("x", &args, &LoadOptions::for_test(dir.path())),
            Err(Exit::Usage(
                ".ini file does not include supervisorctl section".into()
            ))
        );
    }

    #[test]
    fn url_check_like_urlparse() {
        for ok in ["unix:///x", "http://h:1", "localhost:9001", "tcp://x"] {
            assert!(looks_like_url(ok), "{ok}");
        }
        for bad in ["foo", "http://", "http:", "/tmp/x", "1a:/b"] {
            assert!(!looks_like_url(bad), "{bad}");
        }
    }
}
