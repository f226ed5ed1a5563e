//! The XML-RPC method table: `supervisor.*` (API 3.0) and `system.*`, mapping each call
//! to a `Handle` request and each answer to the reference's value shapes.
//!
//! Owns method names, signatures and help texts, argument checking (Python's
//! positional-call rules: a wrong count is INCORRECT_PARAMETERS), the struct layouts
//! (`getProcessInfo`, result structs, `getAllConfigInfo`) and `system.multicall`. Talks
//! to the core only through `Handle`; reads log files through `log::read`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use crate::config::{LogFile, ProcessConfig};
use crate::log::read::{read_range, tail, to_rpc_text, ReadError};
use crate::log::ActivityLog;
use crate::supervisor::{
    Channel, ConfigInfo, Fault, Handle, Mood, ProcessInfo, ProcessResult, VERSION,
};

use super::xmlrpc::Value;

/// The API version reported by `getAPIVersion`.
pub const API_VERSION: &str = "3.0";

/// What every call can reach.
#[derive(Debug, Clone)]
pub struct RpcContext {
    /// The core.
    pub handle: Handle,
    /// The activity log (for `readLog`).
    pub activity: ActivityLog,
    /// Names under which the main interface is installed (`[rpcinterface:<name>]`,
    /// normally just `supervisor`). Empty: only `system.*` exists.
    pub namespaces: Vec<String>,
}

/// One method of the main interface: its name, `[return, params…]` types, and what it
/// does (for `system.methodHelp`).
struct MethodDoc {
    name: &'static str,
    signature: &'static [&'static str],
    params: &'static [&'static str],
    help: &'static str,
}

const fn doc(
    name: &'static str,
    signature: &'static [&'static str],
    params: &'static [&'static str],
    help: &'static str,
) -> MethodDoc {
    MethodDoc {
        name,
        signature,
        params,
        help,
    }
}

/// Every method of the main interface, aliases included.
const SUPERVISOR_METHODS: &[MethodDoc] = &[
    doc(
        "addProcessGroup",
        &["boolean", "string"],
        &["name"],
        "Activate the process group called name from the stored configuration.",
    ),
    doc(
        "clearAllProcessLogs",
        &["array"],
        &[],
        "Clear the log files of every process; one result struct per process.",
    ),
    doc(
        "clearLog",
        &["boolean"],
        &[],
        "Delete the activity log file and reopen it.",
    ),
    doc(
        "clearProcessLog",
        &["boolean", "string"],
        &["name"],
        "Alias of clearProcessLogs.",
    ),
    doc(
        "clearProcessLogs",
        &["boolean", "string"],
        &["name"],
        "Clear the stdout and stderr log files of one process.",
    ),
    doc(
        "getAPIVersion",
        &["string"],
        &[],
        "The version of this RPC API.",
    ),
    doc(
        "getAllConfigInfo",
        &["array"],
        &[],
        "One struct per configured process, from the stored configuration.",
    ),
    doc(
        "getAllProcessInfo",
        &["array"],
        &[],
        "getProcessInfo for every process, sorted by group and name.",
    ),
    doc(
        "getIdentification",
        &["string"],
        &[],
        "The identifier of this supervisord.",
    ),
    doc("getPID", &["int"], &[], "The pid of supervisord."),
    doc(
        "getProcessInfo",
        &["struct", "string"],
        &["name"],
        "State and details of one process.",
    ),
    doc(
        "getState",
        &["struct"],
        &[],
        "The state of supervisord: statecode and statename.",
    ),
    doc(
        "getSupervisorVersion",
        &["string"],
        &[],
        "The supervisor version this daemon implements.",
    ),
    doc(
        "getVersion",
        &["string"],
        &[],
        "Alias of getAPIVersion, kept for old clients.",
    ),
    doc(
        "readLog",
        &["string", "int", "int"],
        &["offset", "length"],
        "Read length bytes of the activity log from offset (negative offset: from the end).",
    ),
    doc(
        "readMainLog",
        &["string", "int", "int"],
        &["offset", "length"],
        "Alias of readLog.",
    ),
    doc(
        "readProcessLog",
        &["string", "string", "int", "int"],
        &["name", "offset", "length"],
        "Alias of readProcessStdoutLog.",
    ),
    doc(
        "readProcessStderrLog",
        &["string", "string", "int", "int"],
        &["name", "offset", "length"],
        "Read length bytes of a process's stderr log from offset.",
    ),
    doc(
        "readProcessStdoutLog",
        &["string", "string", "int", "int"],
        &["name", "offset", "length"],
        "Read length bytes of a process's stdout log from offset.",
    ),
    doc(
        "reloadConfig",
        &["array"],
        &[],
        "Read the configuration again; returns [[added, changed, removed]] group names.",
    ),
    doc(
        "removeProcessGroup",
        &["boolean", "string"],
        &["name"],
        "Remove a stopped process group from the active configuration.",
    ),
    doc(
        "restart",
        &["boolean"],
        &[],
        "Stop every process and start supervisord over.",
    ),
    doc(
        "sendProcessStdin",
        &["boolean", "string", "string"],
        &["name", "chars"],
        "Write chars to the stdin of a process.",
    ),
    doc(
        "sendRemoteCommEvent",
        &["boolean", "string", "string"],
        &["type", "data"],
        "Emit a REMOTE_COMMUNICATION event.",
    ),
    doc(
        "shutdown",
        &["boolean"],
        &[],
        "Stop every process and exit.",
    ),
    doc(
        "signalAllProcesses",
        &["array", "string"],
        &["signal"],
        "Send a signal to every process that can take one.",
    ),
    doc(
        "signalProcess",
        &["boolean", "string", "string"],
        &["name", "signal"],
        "Send a signal (name or number) to a process.",
    ),
    doc(
        "signalProcessGroup",
        &["array", "string", "string"],
        &["name", "signal"],
        "Send a signal to every process of a group.",
    ),
    doc(
        "startAllProcesses",
        &["array", "boolean"],
        &["wait"],
        "Start every process that is not running.",
    ),
    doc(
        "startProcess",
        &["boolean", "string", "boolean"],
        &["name", "wait"],
        "Start a process; with wait, return once it is RUNNING.",
    ),
    doc(
        "startProcessGroup",
        &["array", "string", "boolean"],
        &["name", "wait"],
        "Start every process of a group.",
    ),
    doc(
        "stopAllProcesses",
        &["array", "boolean"],
        &["wait"],
        "Stop every running process.",
    ),
    doc(
        "stopProcess",
        &["boolean", "string", "boolean"],
        &["name", "wait"],
        "Stop a process; with wait, return once it has stopped.",
    ),
    doc(
        "stopProcessGroup",
        &["array", "string", "boolean"],
        &["name", "wait"],
        "Stop every process of a group.",
    ),
    doc(
        "tailProcessLog",
        &["array", "string", "int", "int"],
        &["name", "offset", "length"],
        "Alias of tailProcessStdoutLog.",
    ),
    doc(
        "tailProcessStderrLog",
        &["array", "string", "int", "int"],
        &["name", "offset", "length"],
        "The last length bytes of a process's stderr log, the new offset and an overflow flag.",
    ),
    doc(
        "tailProcessStdoutLog",
        &["array", "string", "int", "int"],
        &["name", "offset", "length"],
        "The last length bytes of a process's stdout log, the new offset and an overflow flag.",
    ),
];

const SYSTEM_METHODS: &[MethodDoc] = &[
    doc("listMethods", &["array"], &[], "The names of every method."),
    doc("methodHelp", &["string", "string"], &["name"], "The help text of a method."),
    doc("methodSignature", &["array", "string"], &["name"], "The [return, params...] types of a method."),
    doc("multicall", &["array", "array"], &["calls"], "Run several calls ({methodName, params} structs) in order; one result or fault struct each."),
];

fn find_doc(ctx: &RpcContext, full_name: &str) -> Option<&'static MethodDoc> {
    let (namespace, method) = full_name.split_once('.')?;
    if namespace == "system" {
        return SYSTEM_METHODS.iter().find(|m| m.name == method);
    }
    if ctx.namespaces.iter().any(|n| n == namespace) {
        return SUPERVISOR_METHODS.iter().find(|m| m.name == method);
    }
    None
}

fn list_methods(ctx: &RpcContext) -> Vec<String> {
    let mut names: Vec<String> = ctx
        .namespaces
        .iter()
        .flat_map(|ns| {
            SUPERVISOR_METHODS
                .iter()
                .map(move |m| format!("{ns}.{}", m.name))
        })
        .chain(SYSTEM_METHODS.iter().map(|m| format!("system.{}", m.name)))
        .collect();
    names.sort();
    names
}

fn help_text(doc: &MethodDoc) -> String {
    let mut text = String::from(doc.help);
    text.push('\n');
    for (kind, name) in doc.signature[1..].iter().zip(doc.params) {
        text.push_str(&format!("\n@param {kind} {name}"));
    }
    text.push_str(&format!("\n@return {}", doc.signature[0]));
    text
}

/// Why a call produced no value: a fault (answered as an XML-RPC fault), or what is
/// an uncaught exception in the reference (answered with HTTP 500, or as a `FAILED`
/// struct inside `system.multicall`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// An XML-RPC fault.
    Fault(Fault),
    /// An argument the reference's code cannot handle: it raises a Python exception
    /// of `class` (other than `TypeError`, which it answers as INCORRECT_PARAMETERS).
    Internal {
        /// The Python exception class (`AttributeError`, `ValueError`).
        class: &'static str,
        /// The exception's message.
        message: String,
    },
}

impl CallError {
    fn attribute(value: Option<&Value>, attribute: &str) -> CallError {
        CallError::Internal {
            class: "AttributeError",
            message: format!("{} has no attribute '{attribute}'", python_type(value)),
        }
    }
}

impl From<Fault> for CallError {
    fn from(fault: Fault) -> Self {
        CallError::Fault(fault)
    }
}

/// A call's outcome.
pub type CallResult = Result<Value, CallError>;

/// The `faultString` of a fault: `NAME: detail`, or `NAME` when there is no detail
/// (the reference's faults raised with `None`: `NO_FILE` for an unset log, `FAILED`
/// for a read error).
pub fn fault_text(fault: &Fault) -> String {
    match fault {
        Fault::NoFile(detail) | Fault::Failed(detail) if detail.is_empty() => {
            fault.name().to_string()
        }
        _ => fault.to_string(),
    }
}

/// The arguments of one call, checked the way Python binds positional parameters and
/// converted the way the reference's code uses them.
struct Args {
    params: Vec<Value>,
}

impl Args {
    /// Between `required` and `required + optional` parameters, else
    /// INCORRECT_PARAMETERS.
    fn arity(&self, required: usize, optional: usize) -> Result<(), Fault> {
        if self.params.len() < required || self.params.len() > required + optional {
            return Err(Fault::IncorrectParameters(None));
        }
        Ok(())
    }

    /// A process namespec: the reference splits it as a string, so anything else is
    /// an internal error there.
    fn namespec(&self, i: usize) -> Result<String, CallError> {
        match self.params.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            other => Err(CallError::attribute(other, "split")),
        }
    }

    /// A group name or other key the reference only looks up: any value, as Python's
    /// `str()` prints it (so a non-string never matches).
    fn key(&self, i: usize) -> String {
        self.params.get(i).map(python_str).unwrap_or_default()
    }

    /// Python's `int(x)` of an XML-RPC value: a value `int()` refuses is an internal
    /// error, a type it refuses is INCORRECT_PARAMETERS (a `TypeError`).
    fn int(&self, i: usize) -> Result<i64, CallError> {
        let refused = |message: String| CallError::Internal {
            class: "ValueError",
            message,
        };
        match self.params.get(i) {
            Some(Value::Int(n)) => Ok(*n),
            Some(Value::Bool(b)) => Ok(i64::from(*b)),
            Some(Value::Double(x)) if x.is_finite() => Ok(x.trunc() as i64),
            Some(Value::Double(x)) => Err(refused(format!(
                "cannot convert float {} to integer",
                python_repr(&Value::Double(*x))
            ))),
            Some(Value::String(s)) => crate::config::value::py_int(s).map_err(refused),
            _ => Err(Fault::IncorrectParameters(None).into()),
        }
    }

    /// A signal argument: a number (`int()` of it) or a name; other types are internal
    /// errors in the reference.
    fn signal(&self, i: usize) -> Result<String, CallError> {
        match self.params.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Int(_) | Value::Bool(_) | Value::Double(_)) => {
                self.int(i).map(|n| n.to_string())
            }
            other => Err(CallError::attribute(other, "strip")),
        }
    }

    /// Python truthiness of an optional flag (default true, like `wait=True`).
    fn flag(&self, i: usize) -> bool {
        match self.params.get(i) {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(Value::Int(n)) => *n != 0,
            Some(Value::Double(x)) => *x != 0.0,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Struct(m)) => !m.is_empty(),
            Some(Value::Base64(b)) => !b.is_empty(),
            Some(Value::DateTime(_)) => true,
            Some(Value::Nil) => false,
        }
    }
}

/// The Python type name of an argument, for internal error texts.
fn python_type(value: Option<&Value>) -> &'static str {
    match value {
        None | Some(Value::Nil) => "'NoneType' object",
        Some(Value::Int(_)) => "'int' object",
        Some(Value::Bool(_)) => "'bool' object",
        Some(Value::Double(_)) => "'float' object",
        Some(Value::String(_)) => "'str' object",
        Some(Value::DateTime(_)) => "'DateTime' object",
        Some(Value::Base64(_)) => "'Binary' object",
        Some(Value::Array(_)) => "'list' object",
        Some(Value::Struct(_)) => "'dict' object",
    }
}

/// A timestamp as the reference returns it: capped to the XML-RPC int range.
fn capped(t: i64) -> Value {
    Value::Int(t.clamp(i64::from(i32::MIN), i64::from(i32::MAX)))
}

/// The `getProcessInfo` struct, keys in the reference's order.
pub fn process_info_value(info: &ProcessInfo) -> Value {
    Value::structure([
        ("name", Value::string(info.name.clone())),
        ("group", Value::string(info.group.clone())),
        ("start", capped(info.start)),
        ("stop", capped(info.stop)),
        ("now", capped(info.now)),
        ("state", Value::Int(i64::from(info.state.code()))),
        ("statename", Value::string(info.state.name())),
        ("spawnerr", Value::string(info.spawnerr.clone())),
        ("exitstatus", Value::Int(info.exitstatus)),
        ("logfile", Value::string(info.stdout_logfile.clone())),
        ("stdout_logfile", Value::string(info.stdout_logfile.clone())),
        ("stderr_logfile", Value::string(info.stderr_logfile.clone())),
        ("pid", Value::Int(i64::from(info.pid))),
        ("description", Value::string(info.description.clone())),
    ])
}

/// A group/all result struct.
pub fn result_value(result: &ProcessResult) -> Value {
    Value::structure([
        ("name", Value::string(result.name.clone())),
        ("group", Value::string(result.group.clone())),
        ("status", Value::Int(result.status())),
        ("description", Value::string(result.description())),
    ])
}

fn results_value(results: Vec<ProcessResult>) -> Value {
    Value::Array(results.iter().map(result_value).collect())
}

fn none_or(text: Option<String>) -> Value {
    Value::string(text.unwrap_or_else(|| "none".to_string()))
}

fn logfile_text(file: &LogFile) -> Value {
    match file {
        LogFile::None => Value::string("none"),
        LogFile::Auto => Value::string("auto"),
        LogFile::Path(p) => Value::string(p.display().to_string()),
    }
}

/// One `getAllConfigInfo` struct, keys in the reference's order; unset values are
/// `none`, an unresolved AUTO log is `auto`.
fn config_info_value(info: &ConfigInfo) -> Value {
    let p: &ProcessConfig = &info.process;
    let channel = |stderr: bool| {
        let c = p.channel(stderr);
        let prefix = if stderr { "stderr" } else { "stdout" };
        vec![
            (
                format!("{prefix}_capture_maxbytes"),
                Value::Int(c.capture_maxbytes),
            ),
            (
                format!("{prefix}_events_enabled"),
                Value::Bool(c.events_enabled),
            ),
            (format!("{prefix}_logfile"), logfile_text(&c.logfile)),
            (
                format!("{prefix}_logfile_backups"),
                Value::Int(c.logfile_backups),
            ),
            (
                format!("{prefix}_logfile_maxbytes"),
                Value::Int(c.logfile_maxbytes),
            ),
            (format!("{prefix}_syslog"), Value::Bool(c.syslog)),
        ]
    };
    let mut members: Vec<(String, Value)> = vec![
        ("autostart".into(), Value::Bool(p.autostart)),
        ("directory".into(), none_or(p.directory.clone())),
        (
            "uid".into(),
            p.uid
                .map_or(Value::string("none"), |u| Value::Int(i64::from(u))),
        ),
        ("command".into(), Value::string(p.command.clone())),
        (
            "exitcodes".into(),
            Value::Array(
                p.exitcodes
                    .iter()
                    .map(|c| Value::Int(i64::from(*c)))
                    .collect(),
            ),
        ),
        ("group".into(), Value::string(info.group.clone())),
        ("group_prio".into(), Value::Int(info.group_prio)),
        ("inuse".into(), Value::Bool(info.inuse)),
        ("killasgroup".into(), Value::Bool(p.killasgroup)),
        ("name".into(), Value::string(p.name.clone())),
        ("process_prio".into(), Value::Int(p.priority)),
        ("redirect_stderr".into(), Value::Bool(p.redirect_stderr)),
        ("startretries".into(), Value::Int(p.startretries)),
        ("startsecs".into(), Value::Int(p.startsecs)),
    ];
    members.extend(channel(false));
    members.push(("stopsignal".into(), Value::Int(i64::from(p.stopsignal.0))));
    members.push(("stopwaitsecs".into(), Value::Int(p.stopwaitsecs)));
    members.extend(channel(true));
    members.push(("serverurl".into(), none_or(p.serverurl.clone())));
    Value::Struct(members)
}

fn read_fault(error: ReadError) -> Fault {
    match error {
        ReadError::NoFile { path } => Fault::NoFile(
            path.map(|p| p.display().to_string())
                .unwrap_or_else(|| "None".to_string()),
        ),
        ReadError::BadArguments => Fault::BadArguments,
        ReadError::Failed { .. } => Fault::Failed(String::new()),
    }
}

/// Runs blocking file reads off the core's runtime thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Fault> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Fault::Failed(e.to_string()))
}

/// `readProcessStdoutLog` / `readProcessStderrLog` of `name`: the text of the range
/// (logging.md §7), read after the channel's buffered output is flushed.
pub(crate) async fn read_process_log_text(
    ctx: &RpcContext,
    name: &str,
    channel: Channel,
    offset: i64,
    length: i64,
) -> Result<String, Fault> {
    let path: Option<PathBuf> = ctx.handle.log_file(name, channel).await?;
    let Some(path) = path else {
        return Err(Fault::NoFile(String::new()));
    };
    let bytes = blocking(move || read_range(&path, offset, length))
        .await?
        .map_err(read_fault)?;
    Ok(to_rpc_text(bytes))
}

async fn read_process_log(ctx: &RpcContext, args: &Args, channel: Channel) -> CallResult {
    args.arity(3, 0)?;
    let name = args.namespec(0)?;
    let (offset, length) = (args.int(1)?, args.int(2)?);
    Ok(read_process_log_text(ctx, &name, channel, offset, length)
        .await
        .map(Value::String)?)
}

async fn tail_process_log(ctx: &RpcContext, args: &Args, channel: Channel) -> CallResult {
    args.arity(3, 0)?;
    let name = args.namespec(0)?;
    let (offset, length) = (args.int(1)?, args.int(2)?);
    let path = ctx.handle.log_file(&name, channel).await?;
    let Some(path) = path else {
        return Ok(Value::Array(vec![
            Value::string(""),
            Value::Int(0),
            Value::Bool(false),
        ]));
    };
    let t = blocking(move || tail(&path, offset, length)).await?;
    Ok(Value::Array(vec![
        Value::string(to_rpc_text(t.data)),
        Value::Int(t.offset),
        Value::Bool(t.overflow),
    ]))
}

fn check_mood(handle: &Handle) -> Result<(), Fault> {
    if handle.mood() < Mood::Running {
        return Err(Fault::ShutdownState);
    }
    Ok(())
}

/// `group:*` and `group:` name a whole group.
fn whole_group(name: &str) -> Option<&str> {
    match name.split_once(':') {
        Some((group, "*")) | Some((group, "")) => Some(group),
        _ => None,
    }
}

/// A `group:*` call reports an unknown group with the name as given.
fn as_given<T>(result: Result<T, Fault>, name: &str) -> Result<T, Fault> {
    result.map_err(|fault| match fault {
        Fault::BadName(_) => Fault::BadName(name.to_string()),
        other => other,
    })
}

fn done<T>(result: Result<T, Fault>, value: impl FnOnce(T) -> Value) -> CallResult {
    result.map(value).map_err(CallError::Fault)
}

fn yes(_: ()) -> Value {
    Value::Bool(true)
}

async fn supervisor_method(ctx: &RpcContext, method: &str, args: Args) -> CallResult {
    let h = &ctx.handle;
    if method != "sendRemoteCommEvent" && method != "signalAllProcesses" {
        check_mood(h)?;
    }
    match method {
        "getAPIVersion" | "getVersion" => {
            args.arity(0, 0)?;
            Ok(Value::string(API_VERSION))
        }
        "getSupervisorVersion" => {
            args.arity(0, 0)?;
            Ok(Value::string(VERSION))
        }
        "getIdentification" => {
            args.arity(0, 0)?;
            Ok(Value::string(h.identification()))
        }
        "getState" => {
            args.arity(0, 0)?;
            let mood = h.mood();
            Ok(Value::structure([
                ("statecode", Value::Int(mood.code())),
                ("statename", Value::string(mood.name())),
            ]))
        }
        "getPID" => {
            args.arity(0, 0)?;
            Ok(Value::Int(i64::from(h.pid())))
        }
        "readLog" | "readMainLog" => {
            args.arity(2, 0)?;
            let (offset, length) = (args.int(0)?, args.int(1)?);
            let read = ctx.activity.read(offset, length).await;
            done(read.map_err(read_fault), |bytes| {
                Value::string(to_rpc_text(bytes))
            })
        }
        "clearLog" => {
            args.arity(0, 0)?;
            done(h.clear_main_log().await, yes)
        }
        "shutdown" => {
            args.arity(0, 0)?;
            done(h.shutdown().await, yes)
        }
        "restart" => {
            args.arity(0, 0)?;
            done(h.restart().await, yes)
        }
        "reloadConfig" => {
            args.arity(0, 0)?;
            let names =
                |list: Vec<String>| Value::Array(list.into_iter().map(Value::String).collect());
            done(h.reload_config().await, |changes| {
                Value::Array(vec![Value::Array(vec![
                    names(changes.added),
                    names(changes.changed),
                    names(changes.removed),
                ])])
            })
        }
        "addProcessGroup" => {
            args.arity(1, 0)?;
            done(h.add_group(&args.key(0)).await, yes)
        }
        "removeProcessGroup" => {
            args.arity(1, 0)?;
            done(h.remove_group(&args.key(0)).await, yes)
        }
        "startProcess" => {
            args.arity(1, 1)?;
            let name = args.namespec(0)?;
            let wait = args.flag(1);
            match whole_group(&name) {
                Some(group) => done(
                    as_given(h.start_group(group, wait).await, &name),
                    results_value,
                ),
                None => done(h.start_process(&name, wait).await, yes),
            }
        }
        "startProcessGroup" => {
            args.arity(1, 1)?;
            done(
                h.start_group(&args.key(0), args.flag(1)).await,
                results_value,
            )
        }
        "startAllProcesses" => {
            args.arity(0, 1)?;
            done(h.start_all(args.flag(0)).await, results_value)
        }
        "stopProcess" => {
            args.arity(1, 1)?;
            let name = args.namespec(0)?;
            let wait = args.flag(1);
            match whole_group(&name) {
                Some(group) => done(
                    as_given(h.stop_group(group, wait).await, &name),
                    results_value,
                ),
                None => done(h.stop_process(&name, wait).await, yes),
            }
        }
        "stopProcessGroup" => {
            args.arity(1, 1)?;
            done(
                h.stop_group(&args.key(0), args.flag(1)).await,
                results_value,
            )
        }
        "stopAllProcesses" => {
            args.arity(0, 1)?;
            done(h.stop_all(args.flag(0)).await, results_value)
        }
        "signalProcess" => {
            args.arity(2, 0)?;
            let name = args.namespec(0)?;
            let signal = args.signal(1)?;
            match whole_group(&name) {
                Some(group) => done(
                    as_given(h.signal_group(group, &signal).await, &name),
                    results_value,
                ),
                None => done(h.signal_process(&name, &signal).await, yes),
            }
        }
        "signalProcessGroup" => {
            args.arity(2, 0)?;
            let signal = args.signal(1)?;
            done(h.signal_group(&args.key(0), &signal).await, results_value)
        }
        "signalAllProcesses" => {
            args.arity(1, 0)?;
            let signal = args.signal(0)?;
            done(h.signal_all(&signal).await, results_value)
        }
        "getProcessInfo" => {
            args.arity(1, 0)?;
            let name = args.namespec(0)?;
            done(h.process_info(&name).await, |info| {
                process_info_value(&info)
            })
        }
        "getAllProcessInfo" => {
            args.arity(0, 0)?;
            done(h.all_process_info().await, |infos| {
                Value::Array(infos.iter().map(process_info_value).collect())
            })
        }
        "getAllConfigInfo" => {
            args.arity(0, 0)?;
            done(h.all_config_info().await, |infos| {
                Value::Array(infos.iter().map(config_info_value).collect())
            })
        }
        "readProcessStdoutLog" | "readProcessLog" => {
            read_process_log(ctx, &args, Channel::Stdout).await
        }
        "readProcessStderrLog" => read_process_log(ctx, &args, Channel::Stderr).await,
        "tailProcessStdoutLog" | "tailProcessLog" => {
            tail_process_log(ctx, &args, Channel::Stdout).await
        }
        "tailProcessStderrLog" => tail_process_log(ctx, &args, Channel::Stderr).await,
        "clearProcessLogs" | "clearProcessLog" => {
            args.arity(1, 0)?;
            let name = args.namespec(0)?;
            done(h.clear_process_logs(&name).await, yes)
        }
        "clearAllProcessLogs" => {
            args.arity(0, 0)?;
            done(h.clear_all_process_logs().await, results_value)
        }
        "sendProcessStdin" => {
            args.arity(2, 0)?;
            let name = args.namespec(0)?;
            let chars = match args.params.get(1) {
                Some(Value::String(s)) => s.clone().into_bytes(),
                Some(other) => {
                    return Err(Fault::IncorrectParameters(Some(python_str(other))).into())
                }
                None => return Err(Fault::IncorrectParameters(None).into()),
            };
            done(h.send_stdin(&name, &chars).await, yes)
        }
        "sendRemoteCommEvent" => {
            args.arity(2, 0)?;
            done(
                h.send_remote_comm_event(&args.key(0), &args.key(1)).await,
                yes,
            )
        }
        _ => Err(Fault::UnknownMethod.into()),
    }
}

/// Python's `str()` of an argument (what a fault detail shows).
fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) | Value::DateTime(s) => s.clone(),
        other => python_repr(other),
    }
}

/// Python's `repr()` of an argument (how it shows inside a list or dict).
fn python_repr(value: &Value) -> String {
    match value {
        Value::Int(n) => n.to_string(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Double(x) => format!("{x:?}"),
        Value::Nil => "None".into(),
        Value::String(s) => crate::config::value::py_repr(s),
        Value::DateTime(s) => format!("<DateTime '{s}'>"),
        Value::Base64(b) => format!(
            "<Binary {}>",
            crate::config::value::py_repr(&String::from_utf8_lossy(b))
        ),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Struct(members) => format!(
            "{{{}}}",
            members
                .iter()
                .map(|(k, v)| format!("{}: {}", crate::config::value::py_repr(k), python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn system_method<'a>(
    ctx: &'a RpcContext,
    method: &'a str,
    args: Args,
) -> Pin<Box<dyn Future<Output = CallResult> + Send + 'a>> {
    Box::pin(async move {
        match method {
            "listMethods" => {
                args.arity(0, 0)?;
                Ok(Value::Array(
                    list_methods(ctx).into_iter().map(Value::String).collect(),
                ))
            }
            "methodHelp" => {
                args.arity(1, 0)?;
                let doc = find_doc(ctx, &args.key(0)).ok_or(Fault::SignatureUnsupported)?;
                Ok(Value::string(help_text(doc)))
            }
            "methodSignature" => {
                args.arity(1, 0)?;
                let doc = find_doc(ctx, &args.key(0)).ok_or(Fault::SignatureUnsupported)?;
                Ok(Value::Array(
                    doc.signature.iter().map(|t| Value::string(*t)).collect(),
                ))
            }
            "multicall" => {
                args.arity(1, 0)?;
                let calls = match args.params.first() {
                    Some(Value::Array(calls)) => calls,
                    Some(Value::String(_) | Value::Struct(_)) | None => {
                        return Err(CallError::attribute(Some(&Value::string("")), "get"))
                    }
                    Some(_) => return Err(Fault::IncorrectParameters(None).into()),
                };
                let mut results = Vec::with_capacity(calls.len());
                for call in calls {
                    if !matches!(call, Value::Struct(_)) {
                        return Err(CallError::attribute(Some(call), "get"));
                    }
                    let outcome = match call.member("methodName") {
                        None | Some(Value::Nil) => {
                            Err(Fault::IncorrectParameters(Some("No methodName".into())).into())
                        }
                        Some(Value::String(name)) if name == "system.multicall" => {
                            Err(Fault::IncorrectParameters(Some(
                                "Recursive system.multicall forbidden".into(),
                            ))
                            .into())
                        }
                        Some(Value::String(name)) => match splat(call.member("params")) {
                            Some(params) => dispatch(ctx, name, params).await,
                            None => Err(Fault::IncorrectParameters(None).into()),
                        },
                        Some(other) => Err(CallError::attribute(Some(other), "split")),
                    };
                    results.push(match outcome {
                        Ok(value) => value,
                        Err(CallError::Fault(fault)) => fault_struct(&fault),
                        Err(CallError::Internal { class, message }) => {
                            fault_struct(&Fault::Failed(format!("<class '{class}'>:{message}")))
                        }
                    });
                }
                Ok(Value::Array(results))
            }
            _ => Err(Fault::UnknownMethod.into()),
        }
    })
}

/// The positional arguments of a multicall entry, as Python's `f(*params)` unpacks
/// them (missing: none; a string: its characters; a struct: its keys); none when
/// `params` cannot be unpacked (a `TypeError`).
fn splat(params: Option<&Value>) -> Option<Vec<Value>> {
    match params {
        None => Some(Vec::new()),
        Some(Value::Array(items)) => Some(items.clone()),
        Some(Value::String(s)) => Some(s.chars().map(|c| Value::String(c.to_string())).collect()),
        Some(Value::Struct(members)) => Some(
            members
                .iter()
                .map(|(k, _)| Value::String(k.clone()))
                .collect(),
        ),
        Some(_) => None,
    }
}

/// A fault as the struct `system.multicall` puts in its results.
pub fn fault_struct(fault: &Fault) -> Value {
    Value::structure([
        ("faultCode", Value::Int(fault.code())),
        ("faultString", Value::string(fault_text(fault))),
    ])
}

/// Calls `method` (`namespace.name`) with `params`, as the reference dispatches: exactly
/// one dot, no leading underscore, known namespace and method, else UNKNOWN_METHOD.
pub async fn dispatch(ctx: &RpcContext, method: &str, params: Vec<Value>) -> CallResult {
    let mut parts = method.split('.');
    let (Some(namespace), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Fault::UnknownMethod.into());
    };
    if name.starts_with('_') {
        return Err(Fault::UnknownMethod.into());
    }
    let args = Args { params };
    if namespace == "system" {
        return system_method(ctx, name, args).await;
    }
    if !ctx.namespaces.iter().any(|n| n == namespace) {
        return Err(Fault::UnknownMethod.into());
    }
    if !SUPERVISOR_METHODS.iter().any(|m| m.name == name) {
        return Err(Fault::UnknownMethod.into());
    }
    supervisor_method(ctx, name, args).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_one_methods_with_signatures() {
        assert_eq!(SUPERVISOR_METHODS.len(), 37);
        assert_eq!(SYSTEM_METHODS.len(), 4);
        for doc in SUPERVISOR_METHODS.iter().chain(SYSTEM_METHODS) {
            assert_eq!(doc.signature.len(), doc.params.len() + 1, "{}", doc.name);
        }
        let help = help_text(&SUPERVISOR_METHODS[16]);
        assert!(
            help.ends_with(
                "@param string name\n@param int offset\n@param int length\n@return string"
            ),
            "{help}"
        );
    }

    #[test]
    fn python_argument_rules() {
        let args = Args {
            params: vec![Value::string("x"), Value::string("12"), Value::Bool(true)],
        };
        assert_eq!(args.arity(3, 0), Ok(()));
        assert_eq!(args.arity(1, 1), Err(Fault::IncorrectParameters(None)));
        assert_eq!(args.int(1), Ok(12));
        assert_eq!(args.int(2), Ok(1));
        assert!(matches!(args.int(0), Err(CallError::Internal { .. })));
        assert_eq!(args.namespec(0), Ok("x".to_string()));
        assert!(matches!(args.namespec(2), Err(CallError::Internal { .. })));
        assert_eq!(args.key(2), "True");
        assert_eq!(args.signal(2), Ok("1".to_string()));
        assert_eq!(
            fault_text(&Fault::NoFile(String::new())),
            "NO_FILE".to_string()
        );
        assert_eq!(
            python_str(&Value::Array(vec![Value::Int(1), Value::string("a")])),
            "[1, 'a']"
        );
        assert!(args.flag(2) && args.flag(9));
        assert_eq!(whole_group("g:*"), Some("g"));
        assert_eq!(whole_group("g:"), Some("g"));
        assert_eq!(whole_group("g:p"), None);
    }
}
