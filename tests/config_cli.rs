//! `supervisord --check`, `--print-config` and the command-line failures the README
//! documents: a missing file, a directory, a file with several mistakes, bytes that are
//! not UTF-8, a 10 MB line, includes that cycle or match nothing, bad options. Where
//! the reference answers the same input, its stderr is the oracle.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn ours(args: &[&str], cwd: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_supervisord"));
    command.args(args).current_dir(cwd);
    support::run_with_timeout(&mut command, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("supervisord {args:?}: {e}"))
}

fn reference(args: &[&str], cwd: &Path) -> Output {
    let mut command = Command::new(support::reference_venv().join("bin/supervisord"));
    command.args(args).current_dir(cwd);
    support::run_with_timeout(&mut command, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("reference supervisord {args:?}: {e}"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The stderr of a usage failure without its program-name-dependent last line.
fn message_lines(output: &Output) -> Vec<String> {
    let text = stderr(output);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines.pop().unwrap_or_default();
    assert!(
        last.starts_with("For help, use ") && last.ends_with(" -h"),
        "last stderr line: {last:?}\n{text}"
    );
    lines
}

#[test]
fn missing_file_and_directory_match_the_reference() {
    let dir = support::temp_dir("cli");
    for args in [
        &["-c", "missing.conf"][..],
        &["-c", "/"][..],
        &["-c", "/", "--check"][..],
    ] {
        let (a, b) = (ours(args, dir.path()), reference(&args[..2], dir.path()));
        assert_eq!(a.status.code(), Some(2), "{args:?}: {}", stderr(&a));
        assert_eq!(b.status.code(), Some(2));
        assert_eq!(message_lines(&a), message_lines(&b), "{args:?}");
    }
}

#[test]
fn five_mistakes_are_reported_together_with_locations() {
    let dir = support::temp_dir("cli");
    let path = support::write_file(
        dir.path(),
        "five.conf",
        "[supervisord]\n\
         logfile=%(here)s/sd.log\n\
         loglevel=loud\n\
         [program:web]\n\
         command=python3 -m http.server\n\
         startsecs=ten\n\
         autorestart=sometimes\n\
         [program:worker]\n\
         command=celery worker\n\
         numprocs=2\n\
         [program:broken]\n\
         command=true\n\
         this line has no delimiter\n",
    );
    let out = ours(&["-c", &path.display().to_string(), "--check"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let file = path.display();
    let want = [
        format!("Error: {file}:3: [supervisord] loglevel: bad logging level name 'loud'"),
        format!("Error: {file}:6: [program:web] startsecs: invalid literal for int() with base 10: 'ten'"),
        format!("Error: {file}:7: [program:web] autorestart: invalid 'autorestart' value 'sometimes'"),
        format!(
            "Error: {file}:8: [program:worker] process_name: %(process_num) must be present \
             within process_name when numprocs > 1"
        ),
        format!(
            "Error: {file}:13: [program:broken]: Source contains parsing errors: \
             'this line has no delimiter\\n'"
        ),
    ];
    assert_eq!(message_lines(&out), want);
}

#[test]
fn undecodable_and_huge_lines_give_one_line_each() {
    let dir = support::temp_dir("cli");
    let latin1 = dir.path().join("latin1.conf");
    std::fs::write(&latin1, b"[supervisord]\n[program:caf\xe9]\ncommand=x\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = ours(
        &["-c", &latin1.display().to_string(), "--check"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        message_lines(&out),
        [format!(
            "Error: {}:2: file is not valid UTF-8 (byte 0xe9 at offset 26)",
            latin1.display()
        )]
    );

    let huge = format!(
        "[supervisord]\n[program:x]\ncommand=x\n{}\n",
        "y".repeat(10 * 1024 * 1024)
    );
    let path = support::write_file(dir.path(), "huge.conf", &huge);
    let out = ours(&["-c", &path.display().to_string(), "--check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let lines = message_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].len() < 400,
        "the bad line is quoted in full: {} bytes",
        lines[0].len()
    );
    assert!(lines[0].ends_with("(10485761 characters)"), "{}", lines[0]);

    let long_value = format!(
        "[supervisord]\n[program:x]\ncommand=echo {}\n",
        "v".repeat(10 * 1024 * 1024)
    );
    let path = support::write_file(dir.path(), "long.conf", &long_value);
    let out = ours(&["-c", &path.display().to_string(), "--check"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "a long but valid value is fine: {}",
        stderr(&out)
    );
}

#[test]
fn includes_behave_like_the_reference() {
    let dir = support::temp_dir("cli");
    support::write_file(
        dir.path(),
        "main.conf",
        "[supervisord]\n[include]\nfiles=app.conf nothing/*.conf\n",
    );
    support::write_file(
        dir.path(),
        "app.conf",
        "[include]\nfiles=main.conf\n[program:app]\ncommand=%(here)s/run\n",
    );
    let out = ours(&["-c", "main.conf", "--check"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "main.conf: ok, 1 program\n"
    );
    assert_eq!(
        stderr(&out),
        format!(
            "Warning: No file matches via include \"{}/nothing/*.conf\"\n",
            dir.path().display()
        ),
        "a cycle is no error (nested includes are not followed) and an unmatched \
         pattern is a warning, as in the reference"
    );
    let json = ours(&["-c", "main.conf", "--print-config"], dir.path());
    let value: serde_json::Value =
        serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("JSON: {e}"));
    assert_eq!(
        value["groups"][0]["processes"][0]["command"],
        format!("{}/run", dir.path().display())
    );
    assert_eq!(value["included_files"].as_array().map(Vec::len), Some(1));
}

#[test]
fn option_errors_match_the_reference() {
    let dir = support::temp_dir("cli");
    for args in [
        &["--bogus"][..],
        &["-x"][..],
        &["extra"][..],
        &["-n", "-n"][..],
        &["-y", "10x"][..],
        &["-c"][..],
    ] {
        let (a, b) = (ours(args, dir.path()), reference(args, dir.path()));
        assert_eq!(a.status.code(), Some(2), "{args:?}");
        assert_eq!(b.status.code(), Some(2), "{args:?}");
        assert_eq!(message_lines(&a), message_lines(&b), "{args:?}");
    }
    let version = ours(&["-v"], dir.path());
    assert_eq!(String::from_utf8_lossy(&version.stdout), "4.3.0\n");
    let help = ours(&["-h"], dir.path());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.starts_with("supervisord -- run a set of applications as daemons.\n"),
        "{text}"
    );
    assert!(text.contains("--check"), "{text}");
}
