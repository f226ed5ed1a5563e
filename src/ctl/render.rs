//! What `supervisorctl` prints, as pure functions: status and avail lines, change
//! lists, per-process result reasons, exit-status rules, help texts (exact, with tabs),
//! the usage text, generic error lines and the `status --json` document.
//!
//! Owns text only: no I/O, no network. The reference's strings are reproduced exactly,
//! because scripts parse them.

use crate::rpc::xmlrpc::Value;

/// XML-RPC fault codes the commands react to (rpc.md §2).
pub mod code {
    /// Method unknown.
    pub const UNKNOWN_METHOD: i64 = 1;
    /// Supervisord is shutting down or restarting.
    pub const SHUTDOWN_STATE: i64 = 6;
    /// Unknown process or group.
    pub const BAD_NAME: i64 = 10;
    /// Unknown signal.
    pub const BAD_SIGNAL: i64 = 11;
    /// Missing file.
    pub const NO_FILE: i64 = 20;
    /// Command not executable.
    pub const NOT_EXECUTABLE: i64 = 21;
    /// Generic failure.
    pub const FAILED: i64 = 30;
    /// Left STARTING for a state other than RUNNING.
    pub const ABNORMAL_TERMINATION: i64 = 40;
    /// Could not spawn.
    pub const SPAWN_ERROR: i64 = 50;
    /// Already started.
    pub const ALREADY_STARTED: i64 = 60;
    /// Not running.
    pub const NOT_RUNNING: i64 = 70;
    /// Success marker in result structs.
    pub const SUCCESS: i64 = 80;
    /// Group already active.
    pub const ALREADY_ADDED: i64 = 90;
    /// Group still has running processes.
    pub const STILL_RUNNING: i64 = 91;
    /// Config could not be re-read.
    pub const CANT_REREAD: i64 = 92;
}

/// Exit statuses (LSB init-script and status conventions).
pub mod exit {
    /// Success.
    pub const SUCCESS: i32 = 0;
    /// Generic failure.
    pub const GENERIC: i32 = 1;
    /// Invalid arguments.
    pub const INVALID_ARGS: i32 = 2;
    /// Unimplemented feature; for `status`: some process is not running.
    pub const NOT_RUNNING_STATUS: i32 = 3;
    /// Insufficient privileges / connection refused; for `status`: unknown.
    pub const UNKNOWN_STATUS: i32 = 4;
    /// API version mismatch.
    pub const NOT_INSTALLED: i32 = 5;
    /// Program not running.
    pub const NOT_RUNNING: i32 = 7;
}

/// The version of the supervisor XML-RPC API this client speaks.
pub const API_VERSION: &str = "3.0";

/// Process states counted as "not running" by `status` (STOPPED, EXITED, FATAL,
/// UNKNOWN).
pub const STOPPED_STATES: [i64; 4] = [0, 100, 200, 1000];

/// The RUNNING state code.
pub const RUNNING_STATE: i64 = 20;

/// `name` when the process is alone in its group of the same name, else `group:name`.
pub fn namespec(group: &str, name: &str) -> String {
    crate::supervisor::namespec(group, name)
}

/// Splits a name argument like the reference: `g:p` → (g, Some(p)); `g:*` and `g:` →
/// (g, None); `p` → (p, Some(p)).
pub fn split_namespec(spec: &str) -> (String, Option<String>) {
    match spec.split_once(':') {
        Some((group, process)) if process == "*" || process.is_empty() => (group.to_string(), None),
        Some((group, process)) => (group.to_string(), Some(process.to_string())),
        None => (spec.to_string(), Some(spec.to_string())),
    }
}

/// One row of `status`: printed name, state name, description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// The namespec.
    pub namespec: String,
    /// `RUNNING`, `STOPPED`, …
    pub statename: String,
    /// The server's description (`pid 1, uptime 0:00:01`, …).
    pub description: String,
}

/// `status` lines: name column `max(30, longest) + 3` wide, state column 10 wide.
pub fn status_lines(rows: &[StatusRow]) -> Vec<String> {
    let width = rows
        .iter()
        .map(|r| r.namespec.chars().count())
        .fold(30, usize::max)
        + 3;
    rows.iter()
        .map(|r| format!("{:<width$}{:<10}{}", r.namespec, r.statename, r.description))
        .collect()
}

/// One `avail` line.
pub fn avail_line(
    namespec: &str,
    inuse: bool,
    autostart: bool,
    group_prio: &str,
    process_prio: &str,
) -> String {
    format!(
        "{:<32} {:<9} {:<9} {}:{}",
        namespec,
        if inuse { "in use" } else { "avail" },
        if autostart { "auto" } else { "manual" },
        group_prio,
        process_prio
    )
}

/// `reread` lines: every changed group sorted by name, or the no-change line.
pub fn change_lines(added: &[String], changed: &[String], removed: &[String]) -> Vec<String> {
    let mut labels = std::collections::BTreeMap::new();
    for (names, label) in [
        (added, "available"),
        (changed, "changed"),
        (removed, "disappeared"),
    ] {
        for name in names {
            labels.insert(name.clone(), label);
        }
    }
    if labels.is_empty() {
        return vec!["No config updates to processes".to_string()];
    }
    labels
        .into_iter()
        .map(|(name, label)| format!("{name}: {label}"))
        .collect()
}

/// The line for one `start` result, or `None` for a code the reference does not know.
pub fn start_result(namespec: &str, status: i64) -> Option<String> {
    let reason = match status {
        code::BAD_NAME => "no such process",
        code::NO_FILE => "no such file",
        code::NOT_EXECUTABLE => "file is not executable",
        code::ALREADY_STARTED => "already started",
        code::SPAWN_ERROR => "spawn error",
        code::ABNORMAL_TERMINATION => "abnormal termination",
        code::SUCCESS => return Some(format!("{namespec}: started")),
        _ => return None,
    };
    Some(format!("{namespec}: ERROR ({reason})"))
}

/// The line for one `stop` (`success` = `stopped`) or `signal` (`signalled`) result;
/// FAILED prints the fault text itself.
pub fn signal_result(
    namespec: &str,
    status: i64,
    description: &str,
    success: &str,
) -> Option<String> {
    let reason = match status {
        code::BAD_NAME => "no such process",
        code::BAD_SIGNAL => "bad signal name",
        code::NOT_RUNNING => "not running",
        code::SUCCESS => return Some(format!("{namespec}: {success}")),
        code::FAILED => return Some(description.to_string()),
        _ => return None,
    };
    Some(format!("{namespec}: ERROR ({reason})"))
}

/// The line for one `clear` result.
pub fn clear_result(namespec: &str, status: i64) -> Option<String> {
    let reason = match status {
        code::BAD_NAME => "no such process",
        code::FAILED => "failed",
        code::SUCCESS => return Some(format!("{namespec}: cleared")),
        _ => return None,
    };
    Some(format!("{namespec}: ERROR ({reason})"))
}

/// The exit status a per-process result sets, or `None` to leave it unchanged
/// (success, or the code the command ignores).
pub fn exit_status_for(status: i64, ignored: Option<i64>) -> Option<i32> {
    if status == code::SUCCESS || Some(status) == ignored {
        None
    } else if matches!(
        status,
        code::SPAWN_ERROR | code::ABNORMAL_TERMINATION | code::NOT_RUNNING
    ) {
        Some(exit::NOT_RUNNING)
    } else {
        Some(exit::GENERIC)
    }
}

/// The reference's line for an unexpected error:
/// `error: <class 'C'>, M: file: F line: N`.
pub fn error_line(class: &str, message: &str, file: &str, line: u32) -> String {
    format!("error: <class '{class}'>, {message}: file: {file} line: {line}")
}

/// The text `-h` prints (`%s` replaced by the program name).
pub fn usage(progname: &str) -> String {
    USAGE.replace("%s", progname)
}

const USAGE: &str = "supervisorctl -- control applications run by supervisord from the cmd line.

Usage: %s [options] [action [arguments]]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-h/--help -- print usage message and exit
-i/--interactive -- start an interactive shell after executing commands
-s/--serverurl URL -- URL on which supervisord server is listening
     (default \"http://localhost:9001\").
-u/--username USERNAME -- username to use for authentication with server
-p/--password PASSWORD -- password to use for authentication with server
-r/--history-file -- keep a readline history (if readline is available)

action [arguments] -- see below

Actions are commands like \"tail\" or \"stop\".  If -i is specified or no action is
specified on the command line, a \"shell\" interpreting actions typed
interactively is started.  Use the action \"help\" to find out about available
actions.

";

/// `help` without a topic (leading and trailing empty lines, trailing spaces kept).
pub const HELP_INDEX: &str = "
default commands (type help <topic>):
=====================================
add    exit      open  reload  restart   start   tail   
avail  fg        pid   remove  shutdown  status  update 
clear  maintail  quit  reread  signal    stop    version
";

/// The commands of the shell, as completion offers them.
pub const ACTIONS: &[&str] = &[
    "add", "avail", "clear", "exit", "fg", "help", "maintail", "open", "pid", "quit", "reload",
    "remove", "reread", "restart", "shutdown", "signal", "start", "status", "stop", "tail",
    "update", "version",
];

/// The help text of a topic (lines joined with `\n`, no final newline), if it has one.
pub fn help(topic: &str) -> Option<&'static str> {
    Some(match topic {
        "help" => "help\t\tPrint a list of available actions\nhelp <action>\tPrint help for <action>",
        "add" => "add <name> [...]\tActivates any updates in config for process/group",
        "remove" => "remove <name> [...]\tRemoves process/group from active config",
        "update" => {
            "update\t\t\tReload config and add/remove as necessary, and will restart affected programs\n\
             update all\t\tReload config and add/remove as necessary, and will restart affected programs\n\
             update <gname> [...]\tUpdate specific groups"
        }
        "reread" => "reread \t\t\tReload the daemon's configuration files without add/remove",
        "avail" => "avail\t\t\tDisplay all configured processes",
        "clear" => {
            "clear <name>\t\tClear a process' log files.\n\
             clear <name> <name>\tClear multiple process' log files\n\
             clear all\t\tClear all process' log files"
        }
        "fg" => "fg <process>\tConnect to a process in foreground mode\n\t\tCtrl-C to exit",
        "open" => {
            "open <url>\tConnect to a remote supervisord process.\n\
             \t\t(for UNIX domain socket, use unix:///socket/path)"
        }
        "pid" => {
            "pid\t\t\tGet the PID of supervisord.\n\
             pid <name>\t\tGet the PID of a single child process by name.\n\
             pid all\t\t\tGet the PID of every child process, one per line."
        }
        "reload" => "reload \t\tRestart the remote supervisord.",
        "shutdown" => "shutdown \tShut the remote supervisord down.",
        "start" => {
            "start <name>\t\tStart a process\n\
             start <gname>:*\t\tStart all processes in a group\n\
             start <name> <name>\tStart multiple processes or groups\n\
             start all\t\tStart all processes"
        }
        "stop" => {
            "stop <name>\t\tStop a process\n\
             stop <gname>:*\t\tStop all processes in a group\n\
             stop <name> <name>\tStop multiple processes or groups\n\
             stop all\t\tStop all processes"
        }
        "restart" => {
            "restart <name>\t\tRestart a process\n\
             restart <gname>:*\tRestart all processes in a group\n\
             restart <name> <name>\tRestart multiple processes or groups\n\
             restart all\t\tRestart all processes\n\
             Note: restart does not reread config files. For that, see reread and update."
        }
        "signal" => {
            "signal <signal name> <name>\t\tSignal a process\n\
             signal <signal name> <gname>:*\t\tSignal all processes in a group\n\
             signal <signal name> <name> <name>\tSignal multiple processes or groups\n\
             signal <signal name> all\t\tSignal all processes"
        }
        "status" => {
            "status <name>\t\tGet status for a single process\n\
             status <gname>:*\tGet status for all processes in a group\n\
             status <name> <name>\tGet status for multiple named processes\n\
             status\t\t\tGet all process status info"
        }
        "tail" => {
            "tail [-f] <name> [stdout|stderr] (default stdout)\n\
             Ex:\n\
             tail -f <name>\t\tContinuous tail of named process stdout\n\
             \t\t\tCtrl-C to exit.\n\
             tail -100 <name>\tlast 100 *bytes* of process stdout\n\
             tail <name> stderr\tlast 1600 *bytes* of process stderr"
        }
        "maintail" => {
            "maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\n\
             maintail -100\tlast 100 *bytes* of supervisord main log file\n\
             maintail\tlast 1600 *bytes* of supervisor main log file\n"
        }
        "version" => "version\t\t\tShow the version of the remote supervisord process",
        "quit" => "quit\tExit the supervisor shell.",
        "exit" => "exit\tExit the supervisor shell.",
        _ => return None,
    })
}

/// An XML-RPC value as JSON (structs become objects with sorted keys).
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Int(i) => J::from(*i),
        Value::Bool(b) => J::from(*b),
        Value::String(s) | Value::DateTime(s) => J::from(s.as_str()),
        Value::Double(x) => J::from(*x),
        Value::Base64(bytes) => J::from(String::from_utf8_lossy(bytes).into_owned()),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Struct(members) => J::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Nil => J::Null,
    }
}

/// The `status --json` document: an array with one object per shown process, each the
/// server's process-info struct plus `namespec`.
pub fn status_json(infos: &[&Value]) -> String {
    let items: Vec<serde_json::Value> = infos
        .iter()
        .map(|info| {
            let mut object = match to_json(info) {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            };
            let group = info.member("group").and_then(Value::as_str).unwrap_or("");
            let name = info.member("name").and_then(Value::as_str).unwrap_or("");
            object.insert(
                "namespec".to_string(),
                serde_json::Value::from(namespec(group, name)),
            );
            serde_json::Value::Object(object)
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ns: &str, state: &str, desc: &str) -> StatusRow {
        StatusRow {
            namespec: ns.into(),
            statename: state.into(),
            description: desc.into(),
        }
    }

    #[test]
    fn status_columns() {
        let lines = status_lines(&[
            row("echoer", "RUNNING", "pid 15776, uptime 0:00:17"),
            row("ok", "STARTING", ""),
        ]);
        assert_eq!(
            lines,
            [
                "echoer                           RUNNING   pid 15776, uptime 0:00:17",
                "ok                               STARTING  ",
            ]
        );
        let long = "g:".to_string() + &"x".repeat(40);
        let lines = status_lines(&[row(&long, "STOPPED", "Not started"), row("a", "FATAL", "e")]);
        assert_eq!(lines[0], format!("{long}   STOPPED   Not started"));
        assert_eq!(lines[1], format!("a{}FATAL     e", " ".repeat(44)));
        assert!(status_lines(&[]).is_empty());
    }

    #[test]
    fn avail_and_changes() {
        assert_eq!(
            avail_line("grp:gb", true, false, "50", "999"),
            "grp:gb                           in use    manual    50:999"
        );
        assert_eq!(
            avail_line("x", false, true, "1", "-1"),
            "x                                avail     auto      1:-1"
        );
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            change_lines(&s(&["b"]), &s(&["a"]), &s(&["c", "b"])),
            ["a: changed", "b: disappeared", "c: disappeared"]
        );
        assert_eq!(
            change_lines(&[], &[], &[]),
            ["No config updates to processes"]
        );
    }

    #[test]
    fn result_reasons_and_exit_statuses() {
        type Case<'a> = (i64, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            (
                10,
                Some("x: ERROR (no such process)"),
                Some("x: ERROR (no such process)"),
                Some("x: ERROR (no such process)"),
            ),
            (20, Some("x: ERROR (no such file)"), None, None),
            (21, Some("x: ERROR (file is not executable)"), None, None),
            (60, Some("x: ERROR (already started)"), None, None),
            (50, Some("x: ERROR (spawn error)"), None, None),
            (40, Some("x: ERROR (abnormal termination)"), None, None),
            (11, None, Some("x: ERROR (bad signal name)"), None),
            (70, None, Some("x: ERROR (not running)"), None),
            (30, None, Some("FAILED: boom"), Some("x: ERROR (failed)")),
            (
                80,
                Some("x: started"),
                Some("x: stopped"),
                Some("x: cleared"),
            ),
            (99, None, None, None),
        ];
        for (status, start, stop, clear) in cases {
            assert_eq!(start_result("x", *status).as_deref(), *start, "{status}");
            assert_eq!(
                signal_result("x", *status, "FAILED: boom", "stopped").as_deref(),
                *stop,
                "{status}"
            );
            assert_eq!(clear_result("x", *status).as_deref(), *clear, "{status}");
        }
        assert_eq!(exit_status_for(80, None), None);
        assert_eq!(exit_status_for(60, Some(60)), None);
        assert_eq!(exit_status_for(60, None), Some(1));
        assert_eq!(exit_status_for(50, None), Some(7));
        assert_eq!(exit_status_for(70, Some(70)), None);
        assert_eq!(exit_status_for(70, None), Some(7));
        assert_eq!(exit_status_for(10, None), Some(1));
    }

    #[test]
    fn namespecs() {
        let cases = [
            ("p", ("p", Some("p"))),
            ("g:p", ("g", Some("p"))),
            ("g:*", ("g", None)),
            ("g:", ("g", None)),
        ];
        for (spec, (group, process)) in cases {
            assert_eq!(
                split_namespec(spec),
                (group.to_string(), process.map(String::from))
            );
        }
        assert_eq!(namespec("g", "g"), "g");
        assert_eq!(namespec("g", "p"), "g:p");
    }

    #[test]
    fn help_texts() {
        assert!(HELP_INDEX.starts_with("\ndefault commands (type help <topic>):\n"));
        for action in ACTIONS {
            assert!(help(action).is_some(), "{action}");
        }
        assert_eq!(help("EOF"), None);
        assert_eq!(
            help("fg"),
            Some("fg <process>\tConnect to a process in foreground mode\n\t\tCtrl-C to exit")
        );
        assert!(usage("/x/supervisorctl").contains("Usage: /x/supervisorctl [options]"));
    }

    #[test]
    fn json_status() {
        let info = Value::structure([
            ("name", Value::string("w_00")),
            ("group", Value::string("w")),
            ("pid", Value::Int(12)),
            ("ok", Value::Bool(true)),
        ]);
        assert_eq!(
            status_json(&[&info]),
            r#"[{"group":"w","name":"w_00","namespec":"w:w_00","ok":true,"pid":12}]"#
        );
    }
}
