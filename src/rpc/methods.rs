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
use crate::daemon::args::VERSION;
use crate::log::read::{read_range, tail, to_rpc_text, ReadError};
use crate::log::ActivityLog;
use crate::supervisor::{Channel, ConfigInfo, Fault, Handle, Mood, ProcessInfo, ProcessResult};

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

/// The arguments of one call, checked the way Python binds positional parameters.
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

    fn string(&self, i: usize) -> Result<String, Fault> {
        match self.params.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Int(n)) => Ok(n.to_string()),
            _ => Err(Fault::IncorrectParameters(None)),
        }
    }

    /// Python's `int(x)` of an XML-RPC value.
    fn int(&self, i: usize) -> Result<i64, Fault> {
        match self.params.get(i) {
            Some(Value::Int(n)) => Ok(*n),
            Some(Value::Bool(b)) => Ok(i64::from(*b)),
            Some(Value::String(s)) => {
                crate::config::value::py_int(s).map_err(|_| Fault::IncorrectParameters(None))
            }
            _ => Err(Fault::IncorrectParameters(None)),
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

async fn read_process_log(ctx: &RpcContext, args: &Args, channel: Channel) -> Result<Value, Fault> {
    args.arity(3, 0)?;
    let name = args.string(0)?;
    let (offset, length) = (args.int(1)?, args.int(2)?);
    let path: Option<PathBuf> = ctx.handle.log_file(&name, channel).await?;
    let Some(path) = path else {
        return Err(Fault::NoFile("None".to_string()));
    };
    let bytes = blocking(move || read_range(&path, offset, length))
        .await?
        .map_err(read_fault)?;
    Ok(Value::string(to_rpc_text(bytes)))
}

async fn tail_process_log(ctx: &RpcContext, args: &Args, channel: Channel) -> Result<Value, Fault> {
    args.arity(3, 0)?;
    let name = args.string(0)?;
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

async fn supervisor_method(ctx: &RpcContext, method: &str, args: Args) -> Result<Value, Fault> {
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
            let bytes = ctx
                .activity
                .read(offset, length)
                .await
                .map_err(read_fault)?;
            Ok(Value::string(to_rpc_text(bytes)))
        }
        "clearLog" => {
            args.arity(0, 0)?;
            h.clear_main_log().await.map(|()| Value::Bool(true))
        }
        "shutdown" => {
            args.arity(0, 0)?;
            h.shutdown().await.map(|()| Value::Bool(true))
        }
        "restart" => {
            args.arity(0, 0)?;
            h.restart().await.map(|()| Value::Bool(true))
        }
        "reloadConfig" => {
            args.arity(0, 0)?;
            let changes = h.reload_config().await?;
            let names =
                |list: Vec<String>| Value::Array(list.into_iter().map(Value::String).collect());
            Ok(Value::Array(vec![Value::Array(vec![
                names(changes.added),
                names(changes.changed),
                names(changes.removed),
            ])]))
        }
        "addProcessGroup" => {
            args.arity(1, 0)?;
            h.add_group(&args.string(0)?)
                .await
                .map(|()| Value::Bool(true))
        }
        "removeProcessGroup" => {
            args.arity(1, 0)?;
            h.remove_group(&args.string(0)?)
                .await
                .map(|()| Value::Bool(true))
        }
        "startProcess" => {
            args.arity(1, 1)?;
            let name = args.string(0)?;
            let wait = args.flag(1);
            match whole_group(&name) {
                Some(group) => h.start_group(group, wait).await.map(results_value),
                None => h
                    .start_process(&name, wait)
                    .await
                    .map(|()| Value::Bool(true)),
            }
        }
        "startProcessGroup" => {
            args.arity(1, 1)?;
            h.start_group(&args.string(0)?, args.flag(1))
                .await
                .map(results_value)
        }
        "startAllProcesses" => {
            args.arity(0, 1)?;
            h.start_all(args.flag(0)).await.map(results_value)
        }
        "stopProcess" => {
            args.arity(1, 1)?;
            let name = args.string(0)?;
            let wait = args.flag(1);
            match whole_group(&name) {
                Some(group) => h.stop_group(group, wait).await.map(results_value),
                None => h
                    .stop_process(&name, wait)
                    .await
                    .map(|()| Value::Bool(true)),
            }
        }
        "stopProcessGroup" => {
            args.arity(1, 1)?;
            h.stop_group(&args.string(0)?, args.flag(1))
                .await
                .map(results_value)
        }
        "stopAllProcesses" => {
            args.arity(0, 1)?;
            h.stop_all(args.flag(0)).await.map(results_value)
        }
        "signalProcess" => {
            args.arity(2, 0)?;
            let name = args.string(0)?;
            let signal = args.string(1)?;
            match whole_group(&name) {
                Some(group) => h.signal_group(group, &signal).await.map(results_value),
                None => h
                    .signal_process(&name, &signal)
                    .await
                    .map(|()| Value::Bool(true)),
            }
        }
        "signalProcessGroup" => {
            args.arity(2, 0)?;
            h.signal_group(&args.string(0)?, &args.string(1)?)
                .await
                .map(results_value)
        }
        "signalAllProcesses" => {
            args.arity(1, 0)?;
            h.signal_all(&args.string(0)?).await.map(results_value)
        }
        "getProcessInfo" => {
            args.arity(1, 0)?;
            h.process_info(&args.string(0)?)
                .await
                .map(|info| process_info_value(&info))
        }
        "getAllProcessInfo" => {
            args.arity(0, 0)?;
            let infos = h.all_process_info().await?;
            Ok(Value::Array(infos.iter().map(process_info_value).collect()))
        }
        "getAllConfigInfo" => {
            args.arity(0, 0)?;
            let infos = h.all_config_info().await?;
            Ok(Value::Array(infos.iter().map(config_info_value).collect()))
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
            h.clear_process_logs(&args.string(0)?)
                .await
                .map(|()| Value::Bool(true))
        }
        "clearAllProcessLogs" => {
            args.arity(0, 0)?;
            h.clear_all_process_logs().await.map(results_value)
        }
        "sendProcessStdin" => {
            args.arity(2, 0)?;
            let name = args.string(0)?;
            let chars = match args.params.get(1) {
                Some(Value::String(s)) => s.clone().into_bytes(),
                Some(Value::Base64(b)) => b.clone(),
                Some(other) => return Err(Fault::IncorrectParameters(Some(python_text(other)))),
                None => return Err(Fault::IncorrectParameters(None)),
            };
            h.send_stdin(&name, &chars)
                .await
                .map(|()| Value::Bool(true))
        }
        "sendRemoteCommEvent" => {
            args.arity(2, 0)?;
            h.send_remote_comm_event(&args.string(0)?, &args.string(1)?)
                .await
                .map(|()| Value::Bool(true))
        }
        _ => Err(Fault::UnknownMethod),
    }
}

/// How Python prints a non-string argument in a fault detail (`str(value)`).
fn python_text(value: &Value) -> String {
    match value {
        Value::Int(n) => n.to_string(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Double(x) => format!("{x:?}"),
        Value::Nil => "None".into(),
        Value::String(s) | Value::DateTime(s) => s.clone(),
        Value::Base64(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Struct(members) => format!(
            "{{{}}}",
            members
                .iter()
                .map(|(k, v)| format!("'{k}': {}", python_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn system_method<'a>(
    ctx: &'a RpcContext,
    method: &'a str,
    args: Args,
) -> Pin<Box<dyn Future<Output = Result<Value, Fault>> + Send + 'a>> {
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
                let doc = find_doc(ctx, &args.string(0)?).ok_or(Fault::SignatureUnsupported)?;
                Ok(Value::string(help_text(doc)))
            }
            "methodSignature" => {
                args.arity(1, 0)?;
                let doc = find_doc(ctx, &args.string(0)?).ok_or(Fault::SignatureUnsupported)?;
                Ok(Value::Array(
                    doc.signature.iter().map(|t| Value::string(*t)).collect(),
                ))
            }
            "multicall" => {
                args.arity(1, 0)?;
                let Some(Value::Array(calls)) = args.params.first() else {
                    return Err(Fault::IncorrectParameters(None));
                };
                let mut results = Vec::with_capacity(calls.len());
                for call in calls {
                    let outcome = match call.member("methodName").and_then(Value::as_str) {
                        None => Err(Fault::IncorrectParameters(Some("No methodName".into()))),
                        Some("system.multicall") => Err(Fault::IncorrectParameters(Some(
                            "Recursive system.multicall forbidden".into(),
                        ))),
                        Some(name) => {
                            let params = match call.member("params") {
                                Some(Value::Array(p)) => p.clone(),
                                _ => Vec::new(),
                            };
                            dispatch(ctx, name, params).await
                        }
                    };
                    results.push(match outcome {
                        Ok(value) => value,
                        Err(fault) => fault_struct(&fault),
                    });
                }
                Ok(Value::Array(results))
            }
            _ => Err(Fault::UnknownMethod),
        }
    })
}

/// A fault as the struct `system.multicall` puts in its results.
pub fn fault_struct(fault: &Fault) -> Value {
    Value::structure([
        ("faultCode", Value::Int(fault.code())),
        ("faultString", Value::string(fault.to_string())),
    ])
}

/// Calls `method` (`namespace.name`) with `params`, as the reference dispatches: exactly
/// one dot, no leading underscore, known namespace and method, else UNKNOWN_METHOD.
pub async fn dispatch(ctx: &RpcContext, method: &str, params: Vec<Value>) -> Result<Value, Fault> {
    let mut parts = method.split('.');
    let (Some(namespace), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Fault::UnknownMethod);
    };
    if name.starts_with('_') {
        return Err(Fault::UnknownMethod);
    }
    let args = Args { params };
    if namespace == "system" {
        return system_method(ctx, name, args).await;
    }
    if !ctx.namespaces.iter().any(|n| n == namespace) {
        return Err(Fault::UnknownMethod);
    }
    if !SUPERVISOR_METHODS.iter().any(|m| m.name == name) {
        return Err(Fault::UnknownMethod);
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
        assert!(args.flag(2) && args.flag(9));
        assert_eq!(whole_group("g:*"), Some("g"));
        assert_eq!(whole_group("g:"), Some("g"));
        assert_eq!(whole_group("g:p"), None);
    }
}
