//! Bad input never panics the configuration parser.
//!
//! Property tests feed `supervisor::config::load_str` arbitrary bytes (as lossy UTF-8)
//! and near-valid INI (built from a grammar of the sections, keys and values the
//! reference knows, then randomly corrupted). Whatever the input, the parser must
//! return: a model that serializes, or errors that each render as one line starting
//! with the source path.
//!
//! The source lives in an empty temporary directory, so relative `[include]` globs
//! match nothing; an absolute one (`files=/bin/cat` is among the generated values) may
//! pull in a real file, and errors in it start with that file's path.

mod support;

use std::path::Path;

use proptest::prelude::*;
use supervisor::config::{load_str, LoadOptions};

fn check_load(text: &str) -> Result<(), TestCaseError> {
    let dir = support::temp_dir("config-props");
    let source = dir.path().join("supervisord.conf");
    let options = LoadOptions::for_test(dir.path());
    match load_str(text, &source, &options) {
        Ok(config) => {
            serde_json::to_string(&config)
                .map_err(|e| TestCaseError::fail(format!("the model does not serialize: {e}")))?;
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty(), "an error result holds no error");
            for error in errors.errors() {
                check_error_line(&error.to_string(), &error.file, &source)?;
            }
        }
    }
    Ok(())
}

/// `file` is the source, or a file it includes (an absolute `[include]` glob can name
/// any file on the machine).
fn check_error_line(line: &str, file: &Path, source: &Path) -> Result<(), TestCaseError> {
    prop_assert!(
        !line.contains(['\n', '\r']),
        "an error renders on several lines: {line:?}"
    );
    prop_assert!(
        file == source || file.is_file(),
        "an error names a file that is neither the source nor an included file: {line:?}"
    );
    let prefix = format!("{}:", file.display());
    prop_assert!(
        line.starts_with(&prefix),
        "an error does not start with {prefix:?}: {line:?}"
    );
    Ok(())
}

const SECTIONS: &[&str] = &[
    "supervisord",
    "program:web",
    "program:worker",
    "program:",
    "group:g",
    "eventlistener:listener",
    "fcgi-program:fcgi",
    "unix_http_server",
    "inet_http_server",
    "inet_http_server:second",
    "rpcinterface:supervisor",
    "supervisorctl",
    "include",
    "DEFAULT",
    "Program:case",
    "unknown",
];

const KEYS: &[&str] = &[
    // [supervisord]
    "logfile",
    "logfile_maxbytes",
    "logfile_backups",
    "loglevel",
    "pidfile",
    "umask",
    "nodaemon",
    "silent",
    "minfds",
    "minprocs",
    "nocleanup",
    "childlogdir",
    "user",
    "directory",
    "strip_ansi",
    "environment",
    "identifier",
    // programs
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "serverurl",
    // groups, listeners, fcgi
    "programs",
    "events",
    "buffer_size",
    "result_handler",
    "socket",
    "socket_backlog",
    "socket_owner",
    "socket_mode",
    // servers, rpcinterface, include
    "file",
    "chmod",
    "chown",
    "port",
    "username",
    "password",
    "supervisor.rpcinterface_factory",
    "files",
    "COMMAND",
    "no_such_key",
];

const VALUES: &[&str] = &[
    "",
    "/bin/cat",
    "sh -c 'a ; b'",
    "true",
    "FALSE",
    "maybe",
    "0",
    "1",
    "-1",
    "1_000",
    "99999999999999999999999",
    "10MB",
    "1.5GB",
    "022",
    "0o777",
    "089",
    "TERM",
    "sigkill",
    "0,2,255",
    "256",
    "unexpected",
    "AUTO",
    "NONE",
    "syslog",
    "/tmp/x.log",
    "/nonexistent/dir/x.log",
    "~/x.log",
    "%(here)s/x",
    "%(program_name)s_%(process_num)02d",
    "%(group_name)s",
    "%(host_node_name)s",
    "%(ENV_HOME)s",
    "%(nosuch)s",
    "%",
    "%%",
    "%%%%",
    "%(",
    "%(here)",
    "%(here)d",
    "%.lo",
    "%s",
    "A=1,B=\"x y\",C='z'",
    "A=1 B=2",
    "K=",
    "A=\"unterminated",
    "unix:///tmp/s.sock",
    "unix://relative.sock",
    "tcp://localhost:9000",
    "tcp://:",
    "127.0.0.1:9001",
    "*:0",
    "70000",
    "nobody",
    "root:root",
    "nosuchuser",
    "PROCESS_STATE,TICK_5",
    "NO_SUCH_EVENT",
    "supervisor.rpcinterface:make_main_rpcinterface",
    "nomodule:nothing",
    "web,worker",
    "{SHA}5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8#x",
    "a;b",
    "a ;b",
    "a #b",
    "héllo ✓",
    "*.conf",
];

/// One line of a generated file.
#[derive(Debug, Clone)]
enum Line {
    Header(String),
    Entry {
        key: String,
        delimiter: &'static str,
        value: String,
    },
    Continuation(String),
    Comment(String),
    Blank,
}

impl Line {
    fn render(&self) -> String {
        match self {
            Line::Header(name) => format!("[{name}]"),
            Line::Entry {
                key,
                delimiter,
                value,
            } => format!("{key}{delimiter}{value}"),
            Line::Continuation(value) => format!("    {value}"),
            Line::Comment(text) => format!("; {text}"),
            Line::Blank => String::new(),
        }
    }
}

fn name_or_noise(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        9 => prop::sample::select(known).prop_map(str::to_string),
        1 => "[ -~]{0,12}",
    ]
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        2 => name_or_noise(SECTIONS).prop_map(Line::Header),
        8 => (
            name_or_noise(KEYS),
            prop::sample::select(&["=", " = ", ":", " : ", "=  "][..]),
            name_or_noise(VALUES),
        )
            .prop_map(|(key, delimiter, value)| Line::Entry {
                key,
                delimiter,
                value,
            }),
        1 => name_or_noise(VALUES).prop_map(Line::Continuation),
        1 => "[ -~]{0,20}".prop_map(Line::Comment),
        1 => Just(Line::Blank),
    ]
}

/// A change to the rendered text; positions wrap around the text's length.
#[derive(Debug, Clone)]
enum Corruption {
    Insert(usize, char),
    Delete(usize),
    DuplicateLine(usize),
}

fn corruption() -> impl Strategy<Value = Corruption> {
    let special = prop::sample::select(
        &[
            '[', ']', '=', ':', '%', ';', '#', '\n', '\r', '\t', ' ', '"', '\'', '(', ')', ',',
            '\\', '\u{feff}', '\0', 'é',
        ][..],
    );
    prop_oneof![
        (any::<usize>(), special).prop_map(|(at, c)| Corruption::Insert(at, c)),
        any::<usize>().prop_map(Corruption::Delete),
        any::<usize>().prop_map(Corruption::DuplicateLine),
    ]
}

fn apply(text: &mut String, corruption: &Corruption) {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    match corruption {
        Corruption::Insert(at, c) => text.insert(boundaries[at % boundaries.len()], *c),
        Corruption::Delete(at) => {
            if !text.is_empty() {
                let i = at % (boundaries.len() - 1);
                text.replace_range(boundaries[i]..boundaries[i + 1], "");
            }
        }
        Corruption::DuplicateLine(at) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            if !lines.is_empty() {
                let i = at % lines.len();
                let mut doubled: String = lines[..=i].concat();
                doubled.push_str(lines[i]);
                doubled.push_str(&lines[i + 1..].concat());
                *text = doubled;
            }
        }
    }
}

fn near_valid_ini() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..40),
        prop::collection::vec(corruption(), 0..4),
    )
        .prop_map(|(lines, corruptions)| {
            let mut text = String::from("[supervisord]\n");
            for line in &lines {
                text.push_str(&line.render());
                text.push('\n');
            }
            for corruption in &corruptions {
                apply(&mut text, corruption);
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_load(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn near_valid_ini_never_panics(text in near_valid_ini()) {
        check_load(&text)?;
    }
}

#[test]
fn corruptions_edit_the_text_where_they_say() {
    let mut text = "ab\ncd\n".to_string();
    apply(&mut text, &Corruption::DuplicateLine(3));
    assert_eq!(text, "ab\ncd\ncd\n");
    apply(&mut text, &Corruption::Delete(9));
    assert_eq!(text, "b\ncd\ncd\n");
    apply(&mut text, &Corruption::Insert(9, '['));
    assert_eq!(text, "[b\ncd\ncd\n");
}
