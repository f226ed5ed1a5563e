//! `supervisord` as a program: command line, configuration, and the choice between
//! checking, printing and serving.
//!
//! Owns the process-level decisions of the daemon binary (exit codes, what goes to
//! stdout/stderr). The supervision itself lives in `supervisor`; Unix mechanics in `os`.

pub(crate) mod args;
mod serve;

use std::io::Write;
use std::path::Path;

use crate::config::{self, Config, ConfigErrors, LoadOptions, MessageLevel};
use args::{Action, Invocation};

/// Runs `supervisord` with `argv` (program name first) and returns its exit status.
pub fn main(argv: Vec<String>) -> i32 {
    let progname = argv
        .first()
        .cloned()
        .unwrap_or_else(|| "supervisord".to_string());
    let invocation = match args::parse(&argv[1.min(argv.len())..]) {
        Ok(i) => i,
        Err(message) => return usage_error(&progname, &[message]),
    };
    let args = match invocation {
        Invocation::Help => {
            print!("{}", args::usage_text(&progname));
            return 0;
        }
        Invocation::Version => {
            println!("{}", crate::supervisor::VERSION);
            return 0;
        }
        Invocation::Run(a) => *a,
    };
    let path = match &args.configfile {
        Some(p) => p.clone(),
        None => match args::find_config(&progname) {
            Ok(p) => p,
            Err(message) => return usage_error(&progname, &[message]),
        },
    };
    let mut options = LoadOptions::from_process();
    options.overrides = args.overrides.clone();
    let config = match config::load(&path, &options) {
        Ok(c) => c,
        Err(errors) => return config_error(&progname, &errors),
    };
    match args.action {
        Action::Check => check(&path, &config),
        Action::PrintConfig => print_config(&config),
        Action::Serve => serve::serve(config, &path, options, &args, &progname),
    }
}

/// The reference's usage failure: `Error: <msg>` lines, the help hint, exit 2.
pub(crate) fn usage_error(progname: &str, messages: &[String]) -> i32 {
    let mut err = std::io::stderr().lock();
    for m in messages {
        let _ = writeln!(err, "Error: {m}");
    }
    let _ = writeln!(err, "For help, use {progname} -h");
    2
}

pub(crate) fn config_error(progname: &str, errors: &ConfigErrors) -> i32 {
    let lines: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    usage_error(progname, &lines)
}

fn print_warnings(config: &Config) {
    let mut err = std::io::stderr().lock();
    for m in &config.messages {
        if m.level != MessageLevel::Info {
            let _ = writeln!(err, "Warning: {}", m.text);
        }
    }
}

fn check(path: &Path, config: &Config) -> i32 {
    print_warnings(config);
    let count = config.process_count();
    let noun = if count == 1 { "program" } else { "programs" };
    println!("{}: ok, {count} {noun}", path.display());
    0
}

fn print_config(config: &Config) -> i32 {
    print_warnings(config);
    match serde_json::to_string_pretty(config) {
        Ok(json) => {
            println!("{json}");
            0
        }
        Err(e) => {
            eprintln!("Error: cannot render the configuration as JSON: {e}");
            1
        }
    }
}
