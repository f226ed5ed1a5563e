//! Differential test of the configuration parser against the reference.
//!
//! For every fixture under `fixtures/conf/`, the pinned Python supervisor parses it
//! (through `tests/oracle/dump_config.py`, which prints the reference's own parsed
//! model in our JSON schema) and so does our `supervisord --print-config`, in the same
//! fixed environment and working directory:
//!
//! * `valid/*.conf`: the reference must accept it; ours must print the same JSON.
//!   Every differing JSON path of every fixture is reported in one failure. All
//!   fields are compared, including `section` and `section_file` (the dumper derives
//!   them from the reference's own `processes_from_section` calls and its
//!   `section_to_file` map) and `messages`.
//! * `invalid/*.conf`: the reference must reject it with a message containing the
//!   fixture's first-line `; expect: <text>`; ours must exit 2, print only
//!   `Error: …` lines followed by `For help, use <argv0> -h` on stderr, and one of
//!   those errors must carry the reference's message (see [`expected_errors`]).
//!
//! Files under `valid/includes/` and `invalid/includes/` are pulled in by fixtures and
//! are not fixtures themselves.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

/// Variables every fixture may use as `%(ENV_<name>)s`, set for both implementations.
const FIXTURE_VARIABLES: &[(&str, &str)] = &[
    ("TEST_WORD", "hello"),
    ("TEST_PORT", "9201"),
    ("TEST_NUM", "3"),
    ("TEST_PERCENT", "50%"),
    ("TEST_SPACES", "two words"),
    ("TEST_USER", "nobody"),
    ("TEST_DIR", "/tmp"),
];

/// Fewer fixtures than this means some went missing.
const MIN_VALID_FIXTURES: usize = 80;
const MIN_INVALID_FIXTURES: usize = 40;

/// A parse is fast; this only stops a hung parser from hanging the test.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

const EXPECT_PREFIX: &str = "; expect: ";

/// `fixtures/conf`: the working directory of both implementations.
fn conf_dir() -> PathBuf {
    support::fixtures_dir().join("conf")
}

/// The whole environment of both implementations; nothing is inherited, so the
/// `Available names: ENV_…` lists in error messages are the same on every machine.
fn fixture_environment() -> Vec<(String, String)> {
    let mut env = vec![
        (
            "PATH".to_string(),
            "/usr/local/bin:/usr/bin:/bin".to_string(),
        ),
        (
            "HOME".to_string(),
            conf_dir().join("home").display().to_string(),
        ),
        ("TMPDIR".to_string(), "/tmp".to_string()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
    ];
    env.extend(
        FIXTURE_VARIABLES
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = conf_dir().join(kind);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file() && p.extension().is_some_and(|ext| ext == "conf"))
        .collect();
    found.sort();
    found
}

fn fixture_name(path: &Path) -> String {
    let parent = path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{parent}/{file}")
}

fn command_in_fixture_env(program: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .envs(fixture_environment())
        .current_dir(conf_dir());
    command
}

/// The reference's verdict on one fixture.
enum Reference {
    Accepted(Value),
    Rejected(String),
}

/// The reference's verdict on every fixture, in order, from one run of the dumper
/// (importing the reference costs far more than parsing a fixture).
fn reference_verdicts(fixtures: &[PathBuf]) -> Vec<Result<Reference, String>> {
    let python = support::reference_python();
    let script = support::manifest_dir().join("tests/oracle/dump_config.py");
    let mut command = command_in_fixture_env(&python);
    command.arg(&script).arg("--each").args(fixtures);
    let output = support::run_with_timeout(&mut command, COMMAND_TIMEOUT)
        .unwrap_or_else(|problem| panic!("the reference dumper did not run: {problem}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    if !output.status.success() || lines.len() != fixtures.len() {
        panic!(
            "the reference dumper failed ({}; {} result lines for {} fixtures)\n{}",
            output.status,
            lines.len(),
            fixtures.len(),
            support::describe_output(&output)
        );
    }
    lines.into_iter().map(parse_verdict).collect()
}

fn parse_verdict(line: &str) -> Result<Reference, String> {
    let document: Value = serde_json::from_str(line)
        .map_err(|e| format!("the dumper printed a line that is not JSON ({e}): {line}"))?;
    if let Some(crash) = document.get("crash").and_then(Value::as_str) {
        return Err(format!("the reference dumper crashed:\n{crash}"));
    }
    match document.get("error").and_then(Value::as_str) {
        Some(message) => Ok(Reference::Rejected(message.to_string())),
        None => Ok(Reference::Accepted(document)),
    }
}

fn run_ours(fixture: &Path) -> Result<Output, String> {
    let mut command = command_in_fixture_env(Path::new(env!("CARGO_BIN_EXE_supervisord")));
    command.arg("-c").arg(fixture).arg("--print-config");
    support::run_with_timeout(&mut command, COMMAND_TIMEOUT)
}

/// Runs `check` on every fixture, two at a time (the machine has two cores), and
/// returns the problems found, labelled with the fixture, in fixture order.
fn check_all(
    fixtures: &[PathBuf],
    check: impl Fn(usize, &Path) -> Vec<String> + Sync,
) -> Vec<String> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(fixture) = fixtures.get(i) else {
                            return done;
                        };
                        done.push((i, check(i, fixture)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("a fixture worker panicked"))
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results
        .into_iter()
        .filter(|(_, problems)| !problems.is_empty())
        .map(|(i, problems)| {
            format!(
                "== {} ({} problem(s))\n  {}",
                fixture_name(&fixtures[i]),
                problems.len(),
                problems.join("\n  ")
            )
        })
        .collect()
}

fn finish(kind: &str, total: usize, failures: Vec<String>) {
    println!(
        "{kind} fixtures compared with the reference: {total}, failing: {}",
        failures.len()
    );
    if !failures.is_empty() {
        panic!(
            "{} of {total} {kind} fixture(s) differ from the reference \
             (run from {}, env {:?}):\n\n{}",
            failures.len(),
            conf_dir().display(),
            fixture_environment(),
            failures.join("\n\n")
        );
    }
}

#[test]
fn valid_fixtures_parse_like_the_reference() {
    let fixtures = fixtures("valid");
    assert!(
        fixtures.len() >= MIN_VALID_FIXTURES,
        "expected at least {MIN_VALID_FIXTURES} valid fixtures, found {}",
        fixtures.len()
    );
    let verdicts = reference_verdicts(&fixtures);
    let failures = check_all(&fixtures, |i, fixture| {
        let reference = match &verdicts[i] {
            Ok(Reference::Accepted(model)) => model,
            Ok(Reference::Rejected(message)) => {
                return vec![format!(
                    "the reference rejects this valid fixture: {message}"
                )]
            }
            Err(problem) => return vec![format!("reference: {problem}")],
        };
        let output = match run_ours(fixture) {
            Ok(output) => output,
            Err(problem) => return vec![format!("ours: {problem}")],
        };
        if !output.status.success() {
            return vec![format!(
                "ours rejects it ({})\n{}",
                output.status,
                support::describe_output(&output)
            )];
        }
        let ours: Value = match serde_json::from_slice(&output.stdout) {
            Ok(model) => model,
            Err(e) => {
                return vec![format!(
                    "ours printed no JSON ({e})\n{}",
                    support::describe_output(&output)
                )]
            }
        };
        let mut differences = Vec::new();
        diff_json("$", reference, &ours, &mut differences);
        differences
    });
    finish("valid", fixtures.len(), failures);
}

#[test]
fn invalid_fixtures_are_rejected_like_the_reference() {
    let fixtures = fixtures("invalid");
    assert!(
        fixtures.len() >= MIN_INVALID_FIXTURES,
        "expected at least {MIN_INVALID_FIXTURES} invalid fixtures, found {}",
        fixtures.len()
    );
    let verdicts = reference_verdicts(&fixtures);
    let failures = check_all(&fixtures, |i, fixture| {
        let mut problems = Vec::new();
        let expected = match expected_error(fixture) {
            Ok(text) => text,
            Err(problem) => return vec![problem],
        };
        let message = match &verdicts[i] {
            Ok(Reference::Rejected(message)) => message,
            Ok(Reference::Accepted(_)) => {
                return vec!["the reference accepts this invalid fixture".to_string()]
            }
            Err(problem) => return vec![format!("reference: {problem}")],
        };
        if !message.contains(&expected) {
            problems.push(format!(
                "the reference rejects it for another reason than the fixture says:\n    \
                 expected (substring): {expected:?}\n    reference: {message:?}"
            ));
        }
        match run_ours(fixture) {
            Ok(output) => problems.extend(check_our_rejection(&output, message)),
            Err(problem) => problems.push(format!("ours: {problem}")),
        }
        problems
    });
    finish("invalid", fixtures.len(), failures);
}

/// The `; expect: <text>` first line of an invalid fixture (after a byte order mark,
/// which one fixture starts with on purpose).
fn expected_error(fixture: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(fixture)
        .map_err(|e| format!("cannot read {}: {e}", fixture.display()))?;
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("");
    first
        .strip_prefix(EXPECT_PREFIX)
        .map(str::to_string)
        .ok_or_else(|| {
            format!("an invalid fixture must start with a `{EXPECT_PREFIX}<message>` line")
        })
}

/// What our stderr must show for a configuration the reference rejects with `message`.
fn check_our_rejection(output: &Output, message: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let shown = || support::describe_output(output);
    if output.status.code() != Some(2) {
        problems.push(format!("ours exits with {}, not 2", output.status));
    }
    if !output.stdout.is_empty() {
        problems.push("ours prints something on stdout for a rejected config".to_string());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let (help, errors) = match lines.split_last() {
        Some((last, rest)) => (*last, rest),
        None => ("", &[][..]),
    };
    if !(help.starts_with("For help, use ") && help.ends_with(" -h")) {
        problems.push("ours: the last stderr line is not `For help, use <argv0> -h`".to_string());
    }
    let mut our_errors = Vec::new();
    for line in errors {
        match line.strip_prefix("Error: ") {
            Some(error) => our_errors.push(error),
            None => problems.push(format!("ours: stderr line without `Error: `: {line:?}")),
        }
    }
    for wanted in expected_errors(message) {
        if !our_errors.iter().any(|ours| wanted.is_carried_by(ours)) {
            problems.push(format!("ours reports no error {wanted}"));
        }
    }
    if !problems.is_empty() {
        problems.push(format!("reference: {message:?}\n{}", shown()));
    }
    problems
}

/// One error we must report for a reference error text.
#[derive(Debug, PartialEq)]
struct ExpectedError {
    /// `FILE:LINE` our error must start with, for errors the reference ties to a line.
    at: Option<String>,
    /// Our message must be one of these (see [`ExpectedError::is_carried_by`]).
    messages: Vec<String>,
}

impl ExpectedError {
    fn message(message: &str) -> Self {
        ExpectedError {
            at: None,
            messages: vec![message.to_string()],
        }
    }

    /// True when our rendered error (`FILE:LINE: [section] option: message`, parts
    /// optional) is at the expected place and ends with one of the messages, compared
    /// after [`normalize_message`].
    fn is_carried_by(&self, ours: &str) -> bool {
        if let Some(at) = &self.at {
            if !ours.starts_with(&format!("{at}:")) {
                return false;
            }
        }
        let ours = normalize_message(ours);
        self.messages.iter().any(|message| {
            let message = normalize_message(message);
            ours == message || ours.ends_with(&format!(": {message}"))
        })
    }
}

impl std::fmt::Display for ExpectedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(at) = &self.at {
            write!(f, "at {at}: ")?;
        }
        let forms: Vec<String> = self.messages.iter().map(|m| format!("{m:?}")).collect();
        write!(f, "with the message {}", forms.join(" or "))
    }
}

/// The errors the reference's error text stands for.
///
/// * The ` in section '<section>' (file: '<file>')` suffix goes: our errors carry the
///   section and file in their own fields.
/// * `Source contains parsing errors: '<file>'` followed by one `\n\t[line  N]: <line>`
///   per bad line stands for one error per bad line, at `<file>:N`, whose message is
///   either that header and bad line, or `Source contains parsing errors: <line>` (the
///   file and line number being in the location already).
/// * `File contains no section headers.\nfile: '<file>', line: N\n<line>` stands for an
///   error at `<file>:N` with that text or `File contains no section headers: <line>`.
fn expected_errors(message: &str) -> Vec<ExpectedError> {
    let message = strip_section_suffix(message);
    if let Some(expected) = missing_header_error(message) {
        return vec![expected];
    }
    let mut parts = message.split("\n\t[line ");
    let head = parts.next().unwrap_or_default();
    let bad_lines: Vec<&str> = parts.collect();
    let Some(file) = head
        .strip_prefix("Source contains parsing errors: ")
        .map(unquote)
    else {
        return vec![ExpectedError::message(message)];
    };
    if bad_lines.is_empty() {
        return vec![ExpectedError::message(message)];
    }
    bad_lines
        .into_iter()
        .map(|bad| {
            let (number, line) = bad.split_once("]: ").unwrap_or((bad, ""));
            ExpectedError {
                at: Some(format!("{file}:{}", number.trim())),
                messages: vec![
                    format!("{head}\n\t[line {bad}"),
                    format!("Source contains parsing errors: {line}"),
                ],
            }
        })
        .collect()
}

fn missing_header_error(message: &str) -> Option<ExpectedError> {
    let mut lines = message.splitn(3, '\n');
    let title = lines.next()?;
    let place = lines.next()?;
    let line = lines.next()?;
    let title = title.strip_suffix('.')?;
    if title != "File contains no section headers" {
        return None;
    }
    let (file, number) = place.strip_prefix("file: ")?.rsplit_once(", line: ")?;
    Some(ExpectedError {
        at: Some(format!("{}:{number}", unquote(file))),
        messages: vec![message.to_string(), format!("{title}: {line}")],
    })
}

/// The text inside a Python `repr()` of a plain string (quotes dropped).
fn unquote(repr: &str) -> &str {
    repr.strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .unwrap_or(repr)
}

fn strip_section_suffix(message: &str) -> &str {
    if let Some(at) = message.rfind(" in section ") {
        let suffix = &message[at..];
        if suffix.contains(" (file: ") && suffix.ends_with(')') {
            return &message[..at];
        }
    }
    message
}

/// Our errors are one line each, while some of the reference's texts span lines (its
/// own multi-line layouts, and raw values that hold newlines). So a newline, tab or
/// carriage return, raw or written as a backslash escape, counts as whitespace, and
/// every run of whitespace as one space.
fn normalize_message(text: &str) -> String {
    text.replace("\\n", " ")
        .replace("\\t", " ")
        .replace("\\r", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Appends one line per difference between `reference` and `ours` below `path`.
/// Array elements that have a `name` show it in the path, so `groups[2 "web"]` still
/// reads right when a group is missing.
fn diff_json(path: &str, reference: &Value, ours: &Value, out: &mut Vec<String>) {
    match (reference, ours) {
        (Value::Object(r), Value::Object(o)) => {
            let mut keys: Vec<&String> = r.keys().chain(o.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = format!("{path}.{key}");
                match (r.get(key), o.get(key)) {
                    (Some(rv), Some(ov)) => diff_json(&child, rv, ov, out),
                    (Some(rv), None) => {
                        out.push(format!("{child}: missing in ours (reference {rv})"))
                    }
                    (None, Some(ov)) => {
                        out.push(format!("{child}: not in the reference (ours {ov})"))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            if r.len() != o.len() {
                out.push(format!(
                    "{path}: {} element(s) in the reference {}, {} in ours {}",
                    r.len(),
                    element_names(r),
                    o.len(),
                    element_names(o)
                ));
            }
            for (i, (rv, ov)) in r.iter().zip(o).enumerate() {
                let label = match rv.get("name") {
                    Some(name) => format!("{path}[{i} {name}]"),
                    None => format!("{path}[{i}]"),
                };
                diff_json(&label, rv, ov, out);
            }
        }
        _ if reference == ours => {}
        _ => out.push(format!("{path}: reference {reference}, ours {ours}")),
    }
}

fn element_names(items: &[Value]) -> String {
    let names: Vec<String> = items
        .iter()
        .filter_map(|v| v.get("name").map(Value::to_string))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!("[{}]", names.join(", "))
    }
}

#[test]
fn expected_errors_split_parse_errors_and_drop_the_section_suffix() {
    let expected = |at: Option<&str>, messages: &[&str]| ExpectedError {
        at: at.map(str::to_string),
        messages: messages.iter().map(|m| m.to_string()).collect(),
    };
    let cases = [
        (
            "not a valid boolean value: 'x' in section 'program:a' (file: '/f.conf')",
            vec![expected(None, &["not a valid boolean value: 'x'"])],
        ),
        (
            "Invalid name: 'a b' because of character: ' '",
            vec![expected(
                None,
                &["Invalid name: 'a b' because of character: ' '"],
            )],
        ),
        (
            "Source contains parsing errors: '/f.conf'\n\t[line  3]: 'x\\n'\n\t[line 12]: 'y\\n'",
            vec![
                expected(
                    Some("/f.conf:3"),
                    &[
                        "Source contains parsing errors: '/f.conf'\n\t[line  3]: 'x\\n'",
                        "Source contains parsing errors: 'x\\n'",
                    ],
                ),
                expected(
                    Some("/f.conf:12"),
                    &[
                        "Source contains parsing errors: '/f.conf'\n\t[line 12]: 'y\\n'",
                        "Source contains parsing errors: 'y\\n'",
                    ],
                ),
            ],
        ),
        (
            "File contains no section headers.\nfile: '/f.conf', line: 2\n'a=b\\n'",
            vec![expected(
                Some("/f.conf:2"),
                &[
                    "File contains no section headers.\nfile: '/f.conf', line: 2\n'a=b\\n'",
                    "File contains no section headers: 'a=b\\n'",
                ],
            )],
        ),
    ];
    for (message, want) in cases {
        assert_eq!(expected_errors(message), want, "for {message:?}");
    }
}

#[test]
fn our_error_lines_match_on_place_and_message() {
    let parse_error =
        &expected_errors("Source contains parsing errors: '/f.conf'\n\t[line  3]: 'x\\n'")[0];
    assert!(
        parse_error.is_carried_by("/f.conf:3: [program:a]: Source contains parsing errors: 'x\\n'")
    );
    assert!(parse_error
        .is_carried_by("/f.conf:3: Source contains parsing errors: '/f.conf' [line 3]: 'x\\n'"));
    assert!(!parse_error.is_carried_by("/f.conf:4: Source contains parsing errors: 'x\\n'"));
    assert!(!parse_error.is_carried_by("/g.conf:3: Source contains parsing errors: 'x\\n'"));
    let raw_newline = ExpectedError::message("Unexpected end of key/value pairs in value 'A=1\nB'");
    assert!(raw_newline.is_carried_by(
        "/f.conf:5: [program:x] environment: Unexpected end of key/value pairs in value 'A=1\\nB'"
    ));
    assert!(raw_newline.is_carried_by(
        "/f.conf:5: [program:x] environment: Unexpected end of key/value pairs in value 'A=1 B'"
    ));
    let value_error = ExpectedError::message("not a valid boolean value: 'x'");
    assert!(value_error
        .is_carried_by("/f.conf:9: [program:a] autostart: not a valid boolean value: 'x'"));
    assert!(!value_error
        .is_carried_by("/f.conf:9: [program:a] autostart: not a valid boolean value: 'y'"));
    assert!(!value_error.is_carried_by("/f.conf:9: xnot a valid boolean value: 'x'"));
}

#[test]
fn json_differences_name_every_path() {
    let reference = serde_json::json!({
        "a": 1,
        "groups": [{"name": "web", "priority": 1}, {"name": "db", "priority": 2}],
        "gone": true
    });
    let ours = serde_json::json!({
        "a": 2,
        "groups": [{"name": "web", "priority": 5}],
        "extra": null
    });
    let mut out = Vec::new();
    diff_json("$", &reference, &ours, &mut out);
    assert_eq!(
        out,
        [
            "$.a: reference 1, ours 2",
            "$.extra: not in the reference (ours null)",
            "$.gone: missing in ours (reference true)",
            "$.groups: 2 element(s) in the reference [\"web\", \"db\"], 1 in ours [\"web\"]",
            "$.groups[0 \"web\"].priority: reference 1, ours 5",
        ]
    );
}
