//! The commands of `supervisorctl`, one method each, with the reference's output lines,
//! exit statuses and error handling (up-check, HTTP 401, generic error lines).
//!
//! Owns the meaning of each command and the command-line grammar of one shell line.
//! Output goes through a [`Terminal`], so tests can capture it; the network goes through
//! [`Client`]; texts come from [`render`]. It knows nothing of line
//! editing or of how the program was started.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::client::{fault_repr, Client, ClientError, Settings};
use super::interrupt::{interrupted, stdout_gone, InterruptGuard};
use super::render::{self, code, exit, StatusRow};
use crate::config::value::{py_int, py_repr};
use crate::rpc::xmlrpc::Value;

/// Where a command's text goes and where its questions are answered.
pub trait Terminal {
    /// Writes to standard output, flushed (streams depend on it).
    fn out(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Writes a line to standard error.
    fn err_line(&mut self, text: &str);
    /// Prints `prompt` and reads one line without its newline; `None` at end of input.
    /// A read ended by Ctrl-C (under an [`InterruptGuard`]) is an `Interrupted` error.
    fn input(&mut self, prompt: &str) -> io::Result<Option<String>>;
    /// Like [`Terminal::input`] but without echo, for passwords.
    fn secret(&mut self, prompt: &str) -> io::Result<Option<String>>;
}

/// What the shell should do after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next line.
    Continue,
    /// `quit`, `exit`, end of input: leave.
    Leave,
    /// Ctrl-C during a command: leave like the reference (after an empty line).
    Interrupted,
    /// Standard output is gone (broken pipe): stop quietly.
    OutputClosed,
}

/// An unexpected error, printed as the reference's generic line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLine {
    class: String,
    message: String,
    file: &'static str,
    line: u32,
}

impl ErrorLine {
    #[track_caller]
    fn new(class: &str, message: impl Into<String>) -> ErrorLine {
        let at = std::panic::Location::caller();
        ErrorLine {
            class: class.to_string(),
            message: message.into(),
            file: at.file(),
            line: at.line(),
        }
    }

    fn render(&self) -> String {
        render::error_line(&self.class, &self.message, self.file, self.line)
    }
}

/// Why a command stopped early.
#[derive(Debug)]
pub enum Abort {
    /// Print the generic error line, exit status 1.
    Error(ErrorLine),
    /// The server answered HTTP 401.
    Unauthorized(ErrorLine),
    /// Ctrl-C.
    Interrupted,
    /// Standard output is closed.
    OutputClosed,
}

impl From<ClientError> for Abort {
    #[track_caller]
    fn from(e: ClientError) -> Abort {
        match e {
            ClientError::Interrupted => Abort::Interrupted,
            ClientError::Http { status: 401, .. } => {
                Abort::Unauthorized(ErrorLine::new(&e.python_class(), e.python_message()))
            }
            e => Abort::Error(ErrorLine::new(&e.python_class(), e.python_message())),
        }
    }
}

type Outcome<T = ()> = Result<T, Abort>;

#[track_caller]
fn key_error(key: &str) -> Abort {
    Abort::Error(ErrorLine::new("KeyError", py_repr(key)))
}

/// Python's `str()` of a returned value, for the few places the reference prints one.
fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) | Value::DateTime(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Double(x) => x.to_string(),
        Value::Nil => "None".into(),
        Value::Base64(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_str).collect::<Vec<_>>().join(", ")
        ),
        Value::Struct(_) => format!("{value:?}"),
    }
}

#[track_caller]
fn text(value: &Value, key: &str) -> Outcome<String> {
    value.member(key).map(py_str).ok_or_else(|| key_error(key))
}

#[track_caller]
fn int(value: &Value, key: &str) -> Outcome<i64> {
    match value.member(key) {
        Some(Value::Int(i)) => Ok(*i),
        Some(Value::Bool(b)) => Ok(i64::from(*b)),
        Some(other) => Err(Abort::Error(ErrorLine::new(
            "TypeError",
            format!("{key} is not an int: {}", py_str(other)),
        ))),
        None => Err(key_error(key)),
    }
}

fn truthy(value: &Value, key: &str) -> Outcome<bool> {
    match value.member(key) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Int(i)) => Ok(*i != 0),
        Some(Value::String(s)) => Ok(!s.is_empty()),
        Some(_) => Ok(true),
        None => Err(key_error(key)),
    }
}

#[track_caller]
fn items(value: &Value) -> Outcome<&[Value]> {
    value.as_array().ok_or_else(|| {
        Abort::Error(ErrorLine::new(
            "TypeError",
            format!("expected an array, got {}", py_str(value)),
        ))
    })
}

/// One result struct of a group/all operation: (namespec, status, description).
fn result_entry(value: &Value) -> Outcome<(String, i64, String)> {
    let group = text(value, "group")?;
    let name = text(value, "name")?;
    Ok((
        render::namespec(&group, &name),
        int(value, "status")?,
        text(value, "description")?,
    ))
}

#[track_caller]
fn unknown_result(status: i64, namespec: &str) -> Abort {
    Abort::Error(ErrorLine::new(
        "ValueError",
        format!("Unknown result code {status} for {namespec}"),
    ))
}

/// Splits a shell line like Python's `cmd.Cmd.parseline`: `(command, argument)`, or
/// `None` for a line that is not a command (the whole line is then "unknown syntax").
pub fn parse_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    let line = match line.strip_prefix('?') {
        Some(rest) => format!("help {rest}"),
        None => line.to_string(),
    };
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(line.len());
    if end == 0 {
        return None;
    }
    Some((line[..end].to_string(), line[end..].trim().to_string()))
}

/// Python's `urlparse(url).scheme`.
fn url_scheme(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, _))
            if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            scheme.to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

/// `supervisorctl`'s command interpreter: settings, exit status and the commands.
pub struct Controller<'t> {
    settings: Settings,
    interactive: bool,
    exit_status: i32,
    term: &'t mut dyn Terminal,
}

impl<'t> Controller<'t> {
    /// An interpreter talking to `settings`; `interactive` enables confirmation and
    /// credential prompts.
    pub fn new(settings: Settings, interactive: bool, term: &'t mut dyn Terminal) -> Self {
        Controller {
            settings,
            interactive,
            exit_status: exit::SUCCESS,
            term,
        }
    }

    /// The exit status so far (the last assignment wins, like the reference).
    pub fn exit_status(&self) -> i32 {
        self.exit_status
    }

    /// The connection settings now in use (`open` and credential prompts change them).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Prints `prompt` and reads a line of input; `None` at end of input or on error.
    pub fn read_line(&mut self, prompt: &str) -> Option<String> {
        self.term.input(prompt).ok().flatten()
    }

    fn client(&self) -> Client {
        Client::new(self.settings.clone())
    }

    fn call(&self, method: &str, params: &[Value]) -> Result<Value, ClientError> {
        self.client().call(method, params)
    }

    fn out(&mut self, line: &str) -> Outcome {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.term.out(&bytes).map_err(|_| Abort::OutputClosed)
    }

    fn input(&mut self, prompt: &str) -> Outcome<String> {
        match self.term.input(prompt) {
            Ok(Some(line)) => Ok(line),
            Ok(None) => Err(Abort::Error(ErrorLine::new(
                "EOFError",
                "EOF when reading a line",
            ))),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(Abort::Interrupted),
            Err(e) => Err(Abort::Error(ErrorLine::new("OSError", e.to_string()))),
        }
    }

    /// Runs one line and reports what the shell should do next.
    pub fn onecmd(&mut self, line: &str) -> Flow {
        if line.trim().is_empty() {
            return Flow::Continue;
        }
        let Some((command, arg)) = parse_line(line) else {
            return self.unknown(line.trim());
        };
        if !is_command(&command) {
            return self.unknown(line.trim());
        }
        match self.dispatch(&command, &arg) {
            Ok(flow) => flow,
            Err(Abort::Unauthorized(error)) => self.unauthorized(line, &command, &arg, error),
            Err(abort) => self.aborted(abort),
        }
    }

    fn unknown(&mut self, line: &str) -> Flow {
        self.exit_status = exit::GENERIC;
        match self.out(&format!("*** Unknown syntax: {line}")) {
            Ok(()) => Flow::Continue,
            Err(abort) => self.aborted(abort),
        }
    }

    fn aborted(&mut self, abort: Abort) -> Flow {
        match abort {
            Abort::Error(error) | Abort::Unauthorized(error) => {
                self.exit_status = exit::GENERIC;
                match self.out(&error.render()) {
                    Ok(()) => Flow::Continue,
                    Err(_) => Flow::OutputClosed,
                }
            }
            Abort::Interrupted => Flow::Interrupted,
            Abort::OutputClosed => Flow::OutputClosed,
        }
    }

    /// HTTP 401: in a session, ask for credentials and retry; otherwise say so and run
    /// the command once more, whose failure is then reported like any other.
    fn unauthorized(&mut self, line: &str, command: &str, arg: &str, error: ErrorLine) -> Flow {
        if let Err(abort) = self.out("Server requires authentication") {
            return self.aborted(abort);
        }
        if self.interactive {
            let credentials = self.ask_credentials();
            return match credentials {
                Ok(()) => self.onecmd(line),
                Err(abort) => self.aborted(abort),
            };
        }
        self.exit_status = exit::GENERIC;
        match self.dispatch(command, arg) {
            Ok(flow) => flow,
            Err(Abort::Unauthorized(_)) => self.aborted(Abort::Error(error)),
            Err(abort) => self.aborted(abort),
        }
    }

    fn ask_credentials(&mut self) -> Outcome {
        let username = self.input("Username:")?;
        let password = match self.term.secret("Password:") {
            Ok(Some(p)) => p,
            Ok(None) => {
                return Err(Abort::Error(ErrorLine::new(
                    "EOFError",
                    "EOF when reading a line",
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(Abort::Interrupted),
            Err(e) => return Err(Abort::Error(ErrorLine::new("OSError", e.to_string()))),
        };
        self.out("")?;
        self.settings.username = Some(username);
        self.settings.password = Some(password);
        Ok(())
    }

    fn dispatch(&mut self, command: &str, arg: &str) -> Outcome<Flow> {
        match command {
            "help" => self.help(arg)?,
            "EOF" | "quit" | "exit" => {
                self.out("")?;
                return Ok(Flow::Leave);
            }
            "status" => self.status(arg)?,
            "start" => self.start(arg)?,
            "stop" => self.stop(arg)?,
            "restart" => self.restart(arg)?,
            "signal" => self.signal(arg)?,
            "pid" => self.pid(arg)?,
            "tail" => self.tail(arg)?,
            "maintail" => self.maintail(arg)?,
            "fg" => self.fg(arg)?,
            "clear" => self.clear(arg)?,
            "avail" => self.avail(arg)?,
            "reread" => self.reread(arg)?,
            "update" => self.update(arg)?,
            "add" => self.add(arg)?,
            "remove" => self.remove(arg)?,
            "reload" => self.reload(arg)?,
            "shutdown" => self.shutdown(arg)?,
            "version" => self.version(arg)?,
            "open" => self.open(arg)?,
            _ => return Ok(self.unknown(&format!("{command} {arg}"))),
        }
        Ok(Flow::Continue)
    }

    /// Checks that a supervisor API 3.0 answers; prints the reference's line and sets
    /// the exit status when not.
    fn upcheck(&mut self) -> Outcome<bool> {
        match self.call("supervisor.getVersion", &[]) {
            Ok(version) if version.as_str() == Some(render::API_VERSION) => Ok(true),
            Ok(version) => {
                self.out(&format!(
                    "Sorry, this version of supervisorctl expects to talk to a server with \
                     API version {}, but the remote version is {}.",
                    render::API_VERSION,
                    py_str(&version)
                ))?;
                self.exit_status = exit::NOT_INSTALLED;
                Ok(false)
            }
            Err(ClientError::Fault(f)) if f.code == code::UNKNOWN_METHOD => {
                self.out(
                    "Sorry, supervisord responded but did not recognize the supervisor \
                     namespace commands that supervisorctl uses to control it.  Please check \
                     that the [rpcinterface:supervisor] section is enabled in the \
                     configuration file (see sample.conf).",
                )?;
                self.exit_status = exit::NOT_RUNNING_STATUS;
                Ok(false)
            }
            Err(e) if e.errno() == Some(libc::ECONNREFUSED) => {
                self.out(&format!("{} refused connection", self.settings.serverurl))?;
                self.exit_status = exit::UNKNOWN_STATUS;
                Ok(false)
            }
            Err(e) if e.errno() == Some(libc::ENOENT) => {
                self.out(&format!("{} no such file", self.settings.serverurl))?;
                self.exit_status = exit::NOT_RUNNING;
                Ok(false)
            }
            Err(e) => {
                // Like the reference, only faults and socket errors set the status here;
                // an HTTP error (401) travels on untouched.
                if matches!(
                    e,
                    ClientError::Fault(_) | ClientError::Os(_) | ClientError::Disconnected
                ) {
                    self.exit_status = exit::GENERIC;
                }
                Err(e.into())
            }
        }
    }

    fn help(&mut self, arg: &str) -> Outcome {
        if arg.is_empty() {
            let index = format!("{}\n", render::HELP_INDEX);
            return self
                .term
                .out(index.as_bytes())
                .map_err(|_| Abort::OutputClosed);
        }
        match render::help(arg) {
            Some(text) => self.out(text),
            None => self.out(&format!("*** No help on {arg}")),
        }
    }

    fn usage_error(&mut self, message: &str, topic: &str, status: i32) -> Outcome {
        self.out(message)?;
        self.exit_status = status;
        match render::help(topic) {
            Some(text) => self.out(text),
            None => Ok(()),
        }
    }

    fn status(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            self.exit_status = exit::UNKNOWN_STATUS;
            return Ok(());
        }
        let all = self.call("supervisor.getAllProcessInfo", &[])?;
        let all = items(&all)?;
        let mut names: Vec<&str> = arg.split_whitespace().collect();
        let json = names.contains(&"--json");
        names.retain(|n| *n != "--json");
        let mut shown: Vec<&Value> = Vec::new();
        if names.is_empty() || names.contains(&"all") {
            shown.extend(all.iter());
        } else {
            for name in names {
                let (group, process) = render::split_namespec(name);
                let mut found = false;
                for info in all {
                    let same_group = text(info, "group")? == group;
                    let matched = match &process {
                        Some(p) => same_group && text(info, "name")? == *p,
                        None => same_group,
                    };
                    if matched {
                        found = true;
                        shown.push(info);
                    }
                }
                if !found {
                    let message = match process {
                        None => format!("{group}: ERROR (no such group)"),
                        Some(_) => format!("{name}: ERROR (no such process)"),
                    };
                    if json {
                        self.term.err_line(&message);
                    } else {
                        self.out(&message)?;
                    }
                    self.exit_status = exit::UNKNOWN_STATUS;
                }
            }
        }
        if json {
            self.out(&render::status_json(&shown))?;
        } else {
            let mut rows = Vec::with_capacity(shown.len());
            for info in &shown {
                rows.push(StatusRow {
                    namespec: render::namespec(&text(info, "group")?, &text(info, "name")?),
                    statename: text(info, "statename")?,
                    description: text(info, "description")?,
                });
            }
            for line in render::status_lines(&rows) {
                self.out(&line)?;
            }
        }
        for info in &shown {
            if render::STOPPED_STATES.contains(&int(info, "state")?) {
                self.exit_status = exit::NOT_RUNNING_STATUS;
            }
        }
        Ok(())
    }

    fn set_from_result(&mut self, status: i64, ignored: Option<i64>) {
        if let Some(new) = render::exit_status_for(status, ignored) {
            self.exit_status = new;
        }
    }

    fn start(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            return self.usage_error(
                "Error: start requires a process name",
                "start",
                exit::INVALID_ARGS,
            );
        }
        let ignored = Some(code::ALREADY_STARTED);
        if names.contains(&"all") {
            let results = self.call("supervisor.startAllProcesses", &[])?;
            for result in items(&results)? {
                let (ns, status, _) = result_entry(result)?;
                let line =
                    render::start_result(&ns, status).ok_or_else(|| unknown_result(status, &ns))?;
                self.out(&line)?;
                self.set_from_result(status, ignored);
            }
            return Ok(());
        }
        for name in names {
            let (group, process) = render::split_namespec(name);
            match process {
                None => match self.call("supervisor.startProcessGroup", &[Value::string(&group)]) {
                    Ok(results) => {
                        for result in items(&results)? {
                            let (ns, status, _) = result_entry(result)?;
                            let line = render::start_result(&ns, status)
                                .ok_or_else(|| unknown_result(status, &ns))?;
                            self.out(&line)?;
                            self.set_from_result(status, ignored);
                        }
                    }
                    Err(ClientError::Fault(f)) if f.code == code::BAD_NAME => {
                        self.out(&format!("{group}: ERROR (no such group)"))?;
                        self.exit_status = exit::INVALID_ARGS;
                    }
                    Err(e) => {
                        self.exit_status = exit::GENERIC;
                        return Err(e.into());
                    }
                },
                Some(process) => {
                    let ns = render::namespec(&group, &process);
                    match self.call("supervisor.startProcess", &[Value::string(name)]) {
                        Ok(_) => self.out(&format!("{ns}: started"))?,
                        Err(ClientError::Fault(f)) => {
                            let line = render::start_result(&ns, f.code)
                                .ok_or_else(|| unknown_result(f.code, &ns))?;
                            self.out(&line)?;
                            self.set_from_result(f.code, ignored);
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(())
    }

    /// `stop` and `signal` share their structure; `signal` is `Some(signal name)`.
    fn stop_or_signal(&mut self, names: &[&str], signal: Option<&str>) -> Outcome {
        let (success, ignored) = match signal {
            Some(_) => ("signalled", None),
            None => ("stopped", Some(code::NOT_RUNNING)),
        };
        let sig = signal.map(Value::string);
        if names.contains(&"all") {
            let results = match &sig {
                Some(sig) => {
                    self.call("supervisor.signalAllProcesses", std::slice::from_ref(sig))?
                }
                None => self.call("supervisor.stopAllProcesses", &[])?,
            };
            for result in items(&results)? {
                self.print_signal_result(result, success, ignored)?;
            }
            return Ok(());
        }
        for name in names {
            let (group, process) = render::split_namespec(name);
            match process {
                None => {
                    let reply = match &sig {
                        Some(sig) => self.call(
                            "supervisor.signalProcessGroup",
                            &[Value::string(&group), sig.clone()],
                        ),
                        None => self.call("supervisor.stopProcessGroup", &[Value::string(&group)]),
                    };
                    match reply {
                        Ok(results) => {
                            for result in items(&results)? {
                                self.print_signal_result(result, success, ignored)?;
                            }
                        }
                        Err(ClientError::Fault(f)) if f.code == code::BAD_NAME => {
                            self.out(&format!("{group}: ERROR (no such group)"))?;
                            self.exit_status = exit::GENERIC;
                        }
                        Err(e) => {
                            if signal.is_none() {
                                self.exit_status = exit::GENERIC;
                            }
                            return Err(e.into());
                        }
                    }
                }
                Some(process) => {
                    let ns = render::namespec(&group, &process);
                    let reply = match &sig {
                        Some(sig) => self.call(
                            "supervisor.signalProcess",
                            &[Value::string(*name), sig.clone()],
                        ),
                        None => self.call("supervisor.stopProcess", &[Value::string(*name)]),
                    };
                    match reply {
                        Ok(_) => self.out(&format!("{ns}: {success}"))?,
                        Err(ClientError::Fault(f)) => {
                            let line = render::signal_result(&ns, f.code, &f.string, success)
                                .ok_or_else(|| unknown_result(f.code, &ns))?;
                            self.out(&line)?;
                            self.set_from_result(f.code, ignored);
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(())
    }

    fn print_signal_result(
        &mut self,
        result: &Value,
        success: &str,
        ignored: Option<i64>,
    ) -> Outcome {
        let (ns, status, description) = result_entry(result)?;
        let line = render::signal_result(&ns, status, &description, success)
            .ok_or_else(|| unknown_result(status, &ns))?;
        self.out(&line)?;
        self.set_from_result(status, ignored);
        Ok(())
    }

    fn stop(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            return self.usage_error("Error: stop requires a process name", "stop", exit::GENERIC);
        }
        self.stop_or_signal(&names, None)
    }

    fn signal(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let args: Vec<&str> = arg.split_whitespace().collect();
        if args.len() < 2 {
            return self.usage_error(
                "Error: signal requires a signal name and a process name",
                "signal",
                exit::GENERIC,
            );
        }
        self.stop_or_signal(&args[1..], Some(args[0]))
    }

    fn restart(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        if arg.split_whitespace().next().is_none() {
            return self.usage_error(
                "Error: restart requires a process name",
                "restart",
                exit::GENERIC,
            );
        }
        self.stop(arg)?;
        self.start(arg)
    }

    fn pid(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            let pid = self.call("supervisor.getPID", &[])?;
            return self.out(&py_str(&pid));
        }
        if names.contains(&"all") {
            let all = self.call("supervisor.getAllProcessInfo", &[])?;
            for info in items(&all)? {
                self.out(&text(info, "pid")?)?;
            }
            return Ok(());
        }
        for name in names {
            match self.call("supervisor.getProcessInfo", &[Value::string(name)]) {
                Ok(info) => {
                    let pid = int(&info, "pid")?;
                    self.out(&pid.to_string())?;
                    if pid == 0 {
                        self.exit_status = exit::NOT_RUNNING;
                    }
                }
                Err(ClientError::Fault(f)) if f.code == code::BAD_NAME => {
                    self.exit_status = exit::GENERIC;
                    self.out(&format!("No such process {name}"))?;
                }
                Err(e) => {
                    self.exit_status = exit::GENERIC;
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// The byte count of a `-N` modifier, as Python's `int()` reads it.
    fn byte_count(&mut self, modifier: &str) -> Outcome<Option<i64>> {
        match py_int(&modifier[1..]) {
            Ok(n) if n.unsigned_abs() <= i32::MAX as u64 => Ok(Some(n)),
            Ok(_) => Err(Abort::Error(ErrorLine::new(
                "OverflowError",
                "int exceeds XML-RPC limits",
            ))),
            Err(_) => {
                self.out(&format!("Error: bad argument {modifier}"))?;
                self.exit_status = exit::GENERIC;
                Ok(None)
            }
        }
    }

    fn tail(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let mut args: Vec<&str> = arg.split_whitespace().collect();
        if args.is_empty() {
            return self.usage_error("Error: too few arguments", "tail", exit::GENERIC);
        }
        if args.len() > 3 {
            return self.usage_error("Error: too many arguments", "tail", exit::GENERIC);
        }
        let modifier = if args[0].starts_with('-') {
            Some(args.remove(0))
        } else {
            None
        };
        let (name, channel) = match args.as_slice() {
            [name] => (name.to_string(), "stdout".to_string()),
            [name, .., last] => {
                let channel = last.to_lowercase();
                if channel != "stdout" && channel != "stderr" {
                    self.out(&format!("Error: bad channel {}", py_repr(&channel)))?;
                    self.exit_status = exit::GENERIC;
                    return Ok(());
                }
                (name.to_string(), channel)
            }
            [] => {
                self.out("Error: tail requires process name")?;
                self.exit_status = exit::GENERIC;
                return Ok(());
            }
        };
        let mut bytes = 1600;
        if let Some(modifier) = modifier {
            if modifier == "-f" {
                return self.follow(&format!("/logtail/{name}/{channel}"));
            }
            match self.byte_count(modifier)? {
                Some(n) => bytes = n,
                None => return Ok(()),
            }
        }
        let method = if channel == "stdout" {
            "supervisor.readProcessStdoutLog"
        } else {
            "supervisor.readProcessStderrLog"
        };
        let params = [Value::string(&name), Value::Int(-bytes), Value::Int(0)];
        self.print_log(&name, method, &params)
    }

    fn maintail(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let args: Vec<&str> = arg.split_whitespace().collect();
        let bytes = match args.as_slice() {
            [] => 1600,
            [modifier] if *modifier == "-f" => return self.follow("/mainlogtail"),
            [modifier] if modifier.starts_with('-') => match self.byte_count(modifier)? {
                Some(n) => n,
                None => return Ok(()),
            },
            [other] => {
                self.out(&format!("Error: bad argument {other}"))?;
                self.exit_status = exit::GENERIC;
                return Ok(());
            }
            _ => return self.usage_error("Error: too many arguments", "maintail", exit::GENERIC),
        };
        let params = [Value::Int(-bytes), Value::Int(0)];
        self.print_log("supervisord", "supervisor.readLog", &params)
    }

    /// Prints what a log-reading call returns, or `<who>: ERROR (<reason>)` for the
    /// faults the reference explains (`readLog` never answers BAD_NAME).
    fn print_log(&mut self, who: &str, method: &str, params: &[Value]) -> Outcome {
        match self.call(method, params) {
            Ok(output) => self.out(&py_str(&output)),
            Err(ClientError::Fault(f)) => {
                self.exit_status = exit::GENERIC;
                let reason = match f.code {
                    code::NO_FILE => "no log file",
                    code::FAILED => "unknown error reading log",
                    code::BAD_NAME => "no such process name",
                    _ => return Err(ClientError::Fault(f).into()),
                };
                self.out(&format!("{who}: ERROR ({reason})"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Streams `path` to standard output until Ctrl-C or the server ends it.
    fn follow(&mut self, path: &str) -> Outcome {
        self.out("==> Press Ctrl-C to exit <==")?;
        let _guard = InterruptGuard::install();
        let client = self.client();
        let term = &mut *self.term;
        let mut sink =
            |piece: &[u8]| -> Result<(), ClientError> { term.out(piece).map_err(ClientError::Os) };
        let url = format!("{}{path}", self.settings.serverurl);
        let stop = || interrupted() || stdout_gone();
        match client.stream(path, &mut sink, &stop) {
            Ok(()) => Ok(()),
            Err(ClientError::Interrupted) if stdout_gone() => Err(Abort::OutputClosed),
            Err(ClientError::Interrupted) => self.out(""),
            Err(ClientError::Os(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                Err(Abort::OutputClosed)
            }
            Err(e) => {
                self.term.err_line(&stream_error(&url, &e));
                Ok(())
            }
        }
    }

    fn fg(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        let name = match names.as_slice() {
            [] => return self.usage_error("ERROR: no process name supplied", "fg", exit::GENERIC),
            [name] => name.to_string(),
            _ => {
                self.out("ERROR: too many process names supplied")?;
                self.exit_status = exit::GENERIC;
                return Ok(());
            }
        };
        match self.call("supervisor.getProcessInfo", &[Value::string(&name)]) {
            Ok(info) => {
                if int(&info, "state")? != render::RUNNING_STATE {
                    self.out("ERROR: process not running")?;
                    self.exit_status = exit::GENERIC;
                    return Ok(());
                }
            }
            Err(ClientError::Fault(f)) if f.code == code::BAD_NAME => {
                self.out("ERROR: bad process name supplied")?;
                self.exit_status = exit::GENERIC;
                return Ok(());
            }
            Err(ClientError::Fault(f)) => return self.out(&format!("ERROR: {}", fault_repr(&f))),
            Err(e) => return Err(e.into()),
        }
        self.out("==> Press Ctrl-C to exit <==")?;
        let _guard = InterruptGuard::install();
        let done = Arc::new(AtomicBool::new(false));
        let streams: Vec<_> = ["stdout", "stderr"]
            .into_iter()
            .map(|channel| {
                let client = self.client();
                let done = Arc::clone(&done);
                let path = format!("/logtail/{name}/{channel}");
                let url = format!("{}{path}", self.settings.serverurl);
                std::thread::spawn(move || foreground_stream(&client, &path, &url, &done))
            })
            .collect();
        let outcome = self.fg_input(&name);
        done.store(true, Ordering::SeqCst);
        for stream in streams {
            let _ = stream.join();
        }
        outcome
    }

    /// Forwards standard input to the process until it stops, input ends or Ctrl-C.
    fn fg_input(&mut self, name: &str) -> Outcome {
        loop {
            let line = match self.term.input("") {
                Ok(Some(line)) => line,
                Ok(None) => return self.out("Exiting foreground"),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    return self.out("Exiting foreground")
                }
                Err(e) => return Err(Abort::Error(ErrorLine::new("OSError", e.to_string()))),
            };
            let chars = format!("{line}\n");
            match self.call(
                "supervisor.sendProcessStdin",
                &[Value::string(name), Value::string(chars)],
            ) {
                Ok(_) => {}
                Err(ClientError::Fault(f)) => {
                    if f.code == code::NOT_RUNNING {
                        self.out("Process got killed")?;
                    } else {
                        self.out(&format!("ERROR: {}", fault_repr(&f)))?;
                    }
                    return self.out("Exiting foreground");
                }
                Err(ClientError::Interrupted) => return self.out("Exiting foreground"),
                Err(e) => return Err(e.into()),
            }
            let info = match self.call("supervisor.getProcessInfo", &[Value::string(name)]) {
                Ok(info) => info,
                Err(ClientError::Interrupted) => return self.out("Exiting foreground"),
                Err(e) => return Err(e.into()),
            };
            if int(&info, "state")? != render::RUNNING_STATE {
                self.out("Process got killed")?;
                return self.out("Exiting foreground");
            }
        }
    }

    fn clear(&mut self, arg: &str) -> Outcome {
        if !self.upcheck()? {
            return Ok(());
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            return self.usage_error(
                "Error: clear requires a process name",
                "clear",
                exit::GENERIC,
            );
        }
        if names.contains(&"all") {
            let results = self.call("supervisor.clearAllProcessLogs", &[])?;
            for result in items(&results)? {
                let (ns, status, _) = result_entry(result)?;
                let line =
                    render::clear_result(&ns, status).ok_or_else(|| unknown_result(status, &ns))?;
                self.out(&line)?;
                self.set_from_result(status, None);
            }
            return Ok(());
        }
        for name in names {
            let (group, process) = render::split_namespec(name);
            let ns = render::namespec(&group, process.as_deref().unwrap_or("None"));
            match self.call("supervisor.clearProcessLogs", &[Value::string(name)]) {
                Ok(_) => self.out(&format!("{ns}: cleared"))?,
                Err(ClientError::Fault(f)) => {
                    let line = render::clear_result(&ns, f.code)
                        .ok_or_else(|| unknown_result(f.code, &ns))?;
                    self.out(&line)?;
                    self.set_from_result(f.code, None);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn no_arguments(&mut self, command: &str, arg: &str) -> Outcome<bool> {
        if arg.is_empty() {
            return Ok(true);
        }
        self.usage_error(
            &format!("Error: {command} accepts no arguments"),
            command,
            exit::GENERIC,
        )?;
        Ok(false)
    }

    fn avail(&mut self, arg: &str) -> Outcome {
        if !self.no_arguments("avail", arg)? {
            return Ok(());
        }
        let infos = match self.call("supervisor.getAllConfigInfo", &[]) {
            Ok(infos) => infos,
            Err(ClientError::Fault(f)) if f.code == code::SHUTDOWN_STATE => {
                self.exit_status = exit::GENERIC;
                return self.out("ERROR: supervisor shutting down");
            }
            Err(e) => {
                self.exit_status = exit::GENERIC;
                return Err(e.into());
            }
        };
        for info in items(&infos)? {
            let line = render::avail_line(
                &render::namespec(&text(info, "group")?, &text(info, "name")?),
                truthy(info, "inuse")?,
                truthy(info, "autostart")?,
                &text(info, "group_prio")?,
                &text(info, "process_prio")?,
            );
            self.out(&line)?;
        }
        Ok(())
    }

    /// `reloadConfig()` → (added, changed, removed).
    fn reload_config(&self) -> Result<Outcome<[Vec<String>; 3]>, ClientError> {
        let reply = self.call("supervisor.reloadConfig", &[])?;
        Ok(changes(&reply))
    }

    fn reread(&mut self, arg: &str) -> Outcome {
        if !self.no_arguments("reread", arg)? {
            return Ok(());
        }
        match self.reload_config() {
            Ok(lists) => {
                let [added, changed, removed] = lists?;
                for line in render::change_lines(&added, &changed, &removed) {
                    self.out(&line)?;
                }
                Ok(())
            }
            Err(ClientError::Fault(f)) if f.code == code::SHUTDOWN_STATE => {
                self.exit_status = exit::GENERIC;
                self.out("ERROR: supervisor shutting down")
            }
            Err(ClientError::Fault(f)) if f.code == code::CANT_REREAD => {
                self.exit_status = exit::GENERIC;
                self.out(&format!("ERROR: {}", f.string))
            }
            Err(e) => {
                self.exit_status = exit::GENERIC;
                Err(e.into())
            }
        }
    }

    fn add(&mut self, arg: &str) -> Outcome {
        for name in arg.split_whitespace() {
            match self.call("supervisor.addProcessGroup", &[Value::string(name)]) {
                Ok(_) => self.out(&format!("{name}: added process group"))?,
                Err(ClientError::Fault(f)) if f.code == code::SHUTDOWN_STATE => {
                    self.out("ERROR: shutting down")?;
                    self.exit_status = exit::GENERIC;
                }
                Err(ClientError::Fault(f)) if f.code == code::ALREADY_ADDED => {
                    self.out("ERROR: process group already active")?;
                }
                Err(ClientError::Fault(f)) if f.code == code::BAD_NAME => {
                    self.out(&format!("ERROR: no such process/group: {name}"))?;
                    self.exit_status = exit::GENERIC;
                }
                Err(e) => {
                    self.exit_status = exit::GENERIC;
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    fn remove(&mut self, arg: &str) -> Outcome {
        for name in arg.split_whitespace() {
            match self.call("supervisor.removeProcessGroup", &[Value::string(name)]) {
                Ok(_) => self.out(&format!("{name}: removed process group"))?,
                Err(ClientError::Fault(f)) if f.code == code::STILL_RUNNING => {
                    self.exit_status = exit::GENERIC;
                    self.out(&format!("ERROR: process/group still running: {name}"))?;
                }
                Err(ClientError::Fault(f)) if f.code == code::BAD_NAME => {
                    self.exit_status = exit::GENERIC;
                    self.out(&format!("ERROR: no such process/group: {name}"))?;
                }
                Err(e) => {
                    self.exit_status = exit::GENERIC;
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    fn update(&mut self, arg: &str) -> Outcome {
        let [added, changed, removed] = match self.reload_config() {
            Ok(lists) => lists?,
            Err(ClientError::Fault(f)) if f.code == code::SHUTDOWN_STATE => {
                self.exit_status = exit::GENERIC;
                return self.out("ERROR: already shutting down");
            }
            Err(e) => {
                self.exit_status = exit::GENERIC;
                return Err(e.into());
            }
        };
        let mut wanted: Vec<&str> = Vec::new();
        for name in arg.split_whitespace() {
            if !wanted.contains(&name) {
                wanted.push(name);
            }
        }
        if wanted.contains(&"all") {
            wanted.clear();
        }
        if !wanted.is_empty() {
            let all = self.call("supervisor.getAllProcessInfo", &[])?;
            let mut groups: Vec<String> = added.clone();
            for info in items(&all)? {
                groups.push(text(info, "group")?);
            }
            for name in &wanted {
                if !groups.iter().any(|g| g == name) {
                    self.out(&format!("ERROR: no such group: {name}"))?;
                    self.exit_status = exit::GENERIC;
                }
            }
        }
        let selected = |g: &String| wanted.is_empty() || wanted.contains(&g.as_str());
        for group in removed.iter().filter(|g| selected(g)) {
            let results = self.call("supervisor.stopProcessGroup", &[Value::string(group)])?;
            self.out(&format!("{group}: stopped"))?;
            let mut failed = false;
            for result in items(&results)? {
                failed |= int(result, "status")? == code::FAILED;
            }
            if failed {
                self.out(&format!("{group}: has problems; not removing"))?;
                self.exit_status = exit::GENERIC;
                continue;
            }
            self.call("supervisor.removeProcessGroup", &[Value::string(group)])?;
            self.out(&format!("{group}: removed process group"))?;
        }
        for group in changed.iter().filter(|g| selected(g)) {
            self.call("supervisor.stopProcessGroup", &[Value::string(group)])?;
            self.out(&format!("{group}: stopped"))?;
            self.call("supervisor.removeProcessGroup", &[Value::string(group)])?;
            self.call("supervisor.addProcessGroup", &[Value::string(group)])?;
            self.out(&format!("{group}: updated process group"))?;
        }
        for group in added.iter().filter(|g| selected(g)) {
            self.call("supervisor.addProcessGroup", &[Value::string(group)])?;
            self.out(&format!("{group}: added process group"))?;
        }
        Ok(())
    }

    fn confirmed(&mut self, question: &str) -> Outcome<bool> {
        if !self.interactive {
            return Ok(true);
        }
        let answer = self.input(question)?;
        Ok(answer.to_lowercase().starts_with('y'))
    }

    fn reload(&mut self, arg: &str) -> Outcome {
        if !self.no_arguments("reload", arg)? {
            return Ok(());
        }
        if !self.confirmed("Really restart the remote supervisord process y/N? ")? {
            return Ok(());
        }
        match self.call("supervisor.restart", &[]) {
            Ok(_) => self.out("Restarted supervisord"),
            Err(ClientError::Fault(f)) if f.code == code::SHUTDOWN_STATE => {
                self.exit_status = exit::GENERIC;
                self.out("ERROR: already shutting down")
            }
            Err(e) => {
                if matches!(e, ClientError::Fault(_)) {
                    self.exit_status = exit::GENERIC;
                }
                Err(e.into())
            }
        }
    }

    fn shutdown(&mut self, arg: &str) -> Outcome {
        if !self.no_arguments("shutdown", arg)? {
            return Ok(());
        }
        if !self.confirmed("Really shut the remote supervisord process down y/N? ")? {
            return Ok(());
        }
        match self.call("supervisor.shutdown", &[]) {
            Ok(_) => self.out("Shut down"),
            Err(ClientError::Fault(f)) if f.code == code::SHUTDOWN_STATE => {
                self.out("ERROR: already shutting down")
            }
            Err(e) if e.errno() == Some(libc::ECONNREFUSED) => {
                self.exit_status = exit::GENERIC;
                self.out(&format!(
                    "ERROR: {} refused connection (already shut down?)",
                    self.settings.serverurl
                ))
            }
            Err(e) if e.errno() == Some(libc::ENOENT) => {
                self.exit_status = exit::GENERIC;
                self.out(&format!(
                    "ERROR: {} no such file (already shut down?)",
                    self.settings.serverurl
                ))
            }
            Err(e) => {
                self.exit_status = exit::GENERIC;
                Err(e.into())
            }
        }
    }

    fn version(&mut self, arg: &str) -> Outcome {
        if !self.no_arguments("version", arg)? {
            return Ok(());
        }
        if !self.upcheck()? {
            return Ok(());
        }
        let version = self.call("supervisor.getSupervisorVersion", &[])?;
        self.out(&py_str(&version))
    }

    fn open(&mut self, arg: &str) -> Outcome {
        let url = arg.trim();
        let scheme = url_scheme(url);
        if scheme != "unix" && scheme != "http" {
            self.out("ERROR: url must be http:// or unix://")?;
            self.exit_status = exit::GENERIC;
            return Ok(());
        }
        self.settings.serverurl = url.to_string();
        let saved = self.exit_status;
        let outcome = self.status("");
        self.exit_status = saved;
        outcome
    }
}

/// Process names known to the server, for completion: `(group, name)` pairs.
pub fn process_names(client: &Client) -> Result<Vec<(String, String)>, ClientError> {
    let all = client.call("supervisor.getAllProcessInfo", &[])?;
    Ok(all
        .as_array()
        .unwrap_or_default()
        .iter()
        .filter_map(|info| {
            let group = info.member("group")?.as_str()?.to_string();
            let name = info.member("name")?.as_str()?.to_string();
            Some((group, name))
        })
        .collect())
}

/// Whether `command` names a command of the interpreter.
pub fn is_command(command: &str) -> bool {
    command == "EOF" || render::ACTIONS.contains(&command)
}

/// The `[[added, changed, removed]]` reply of `reloadConfig`.
fn changes(reply: &Value) -> Outcome<[Vec<String>; 3]> {
    let lists = items(reply)?
        .first()
        .ok_or_else(|| Abort::Error(ErrorLine::new("IndexError", "list index out of range")))?;
    let lists = items(lists)?;
    let names = |i: usize| -> Outcome<Vec<String>> {
        let list = lists.get(i).ok_or_else(|| {
            Abort::Error(ErrorLine::new(
                "ValueError",
                "not enough values to unpack (expected 3)",
            ))
        })?;
        Ok(items(list)?.iter().map(py_str).collect())
    };
    Ok([names(0)?, names(1)?, names(2)?])
}

/// The reference streaming client's complaint about `url`.
fn stream_error(url: &str, e: &ClientError) -> String {
    match e {
        ClientError::Http { status, .. } => format!("{url} Cannot read, status code {status}"),
        e => format!(
            "{url} Cannot connect, error: <class '{}'> ({})",
            e.python_class(),
            e.python_message()
        ),
    }
}

/// One of `fg`'s two log streams, written straight to standard output.
fn foreground_stream(client: &Client, path: &str, url: &str, done: &AtomicBool) {
    use std::io::Write;
    let mut sink = |piece: &[u8]| -> Result<(), ClientError> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(piece)?;
        stdout.flush()?;
        Ok(())
    };
    let stop = || done.load(Ordering::SeqCst) || interrupted();
    match client.stream(path, &mut sink, &stop) {
        Ok(()) | Err(ClientError::Interrupted) => {}
        Err(e) => eprintln!("{}", stream_error(url, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::rpc::xmlrpc::{self, Fault};
    use std::collections::VecDeque;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;

    /// What the fake server answers to one call.
    enum Reply {
        Ok(Value),
        Fault(i64, &'static str),
        Unauthorized,
    }

    type Answer = fn(&str, &[Value], bool) -> Reply;

    /// A supervisord stand-in on a unix socket; `authorized` tells whether the request
    /// carried `user:pw`.
    fn fake_server(answer: Answer) -> (tempfile::TempDir, Settings) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while request.len() < head_end + length {
                    let n = conn.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&chunk[..n]);
                }
                let call = xmlrpc::decode_call(&request[head_end..]).unwrap();
                let authorized = head.contains("Authorization: Basic dXNlcjpwdw==");
                let method = call.method.unwrap_or_default();
                let response = match answer(&method, &call.params, authorized) {
                    Reply::Ok(v) => ok_response(&xmlrpc::encode_response(&v)),
                    Reply::Fault(code, string) => ok_response(&xmlrpc::encode_fault(&Fault {
                        code,
                        string: string.into(),
                    })),
                    Reply::Unauthorized => {
                        "HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_string()
                    }
                };
                let _ = conn.write_all(response.as_bytes());
            }
        });
        let settings = Settings {
            serverurl: format!("unix://{}", path.display()),
            username: None,
            password: None,
        };
        (dir, settings)
    }

    fn ok_response(body: &str) -> String {
        format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// Captures output and answers questions from a script.
    #[derive(Default)]
    struct Capture {
        out: Vec<u8>,
        answers: VecDeque<&'static str>,
    }

    impl Terminal for Capture {
        fn out(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.out.extend_from_slice(bytes);
            Ok(())
        }
        fn err_line(&mut self, text: &str) {
            self.out
                .extend_from_slice(format!("stderr: {text}\n").as_bytes());
        }
        fn input(&mut self, prompt: &str) -> io::Result<Option<String>> {
            self.out.extend_from_slice(prompt.as_bytes());
            Ok(self.answers.pop_front().map(String::from))
        }
        fn secret(&mut self, prompt: &str) -> io::Result<Option<String>> {
            self.input(prompt)
        }
    }

    fn info(group: &str, name: &str, state: i64, statename: &str, pid: i64) -> Value {
        Value::structure([
            ("group", Value::string(group)),
            ("name", Value::string(name)),
            ("state", Value::Int(state)),
            ("statename", Value::string(statename)),
            ("description", Value::string("desc")),
            ("pid", Value::Int(pid)),
        ])
    }

    fn result(name: &str, status: i64) -> Value {
        Value::structure([
            ("group", Value::string(name)),
            ("name", Value::string(name)),
            ("status", Value::Int(status)),
            ("description", Value::string("d")),
        ])
    }

    fn standard(method: &str, _params: &[Value], _authorized: bool) -> Reply {
        match method {
            "supervisor.getVersion" => Reply::Ok(Value::string("3.0")),
            "supervisor.getAllProcessInfo" => Reply::Ok(Value::Array(vec![
                info("a", "a", 20, "RUNNING", 7),
                info("g", "b", 0, "STOPPED", 0),
            ])),
            "supervisor.startAllProcesses" => Reply::Ok(Value::Array(vec![
                result("a", 80),
                result("b", 50),
                result("c", 60),
            ])),
            "supervisor.stopAllProcesses" => Reply::Ok(Value::Array(vec![result("a", 99)])),
            "supervisor.reloadConfig" => Reply::Ok(Value::Array(vec![Value::Array(vec![
                Value::Array(vec![Value::string("new")]),
                Value::Array(vec![Value::string("chg")]),
                Value::Array(vec![Value::string("gone")]),
            ])])),
            "supervisor.stopProcessGroup" => Reply::Ok(Value::Array(vec![])),
            "supervisor.shutdown"
            | "supervisor.removeProcessGroup"
            | "supervisor.addProcessGroup" => Reply::Ok(Value::Bool(true)),
            _ => Reply::Fault(1, "UNKNOWN_METHOD"),
        }
    }

    /// Runs `line` against `answer`; returns (output, exit status).
    fn run(
        answer: Answer,
        interactive: bool,
        answers: &[&'static str],
        line: &str,
    ) -> (String, i32) {
        let (_dir, settings) = fake_server(answer);
        let mut capture = Capture {
            answers: answers.iter().copied().collect(),
            ..Capture::default()
        };
        let mut controller = Controller::new(settings, interactive, &mut capture);
        controller.onecmd(line);
        let status = controller.exit_status();
        let text = String::from_utf8(capture.out).unwrap();
        (mask_location(&text), status)
    }

    /// Hides the `file: … line: …` tail, which moves with the source.
    fn mask_location(text: &str) -> String {
        text.lines()
            .map(|l| match l.rfind(": file: ") {
                Some(at) if l.starts_with("error: ") => format!("{}: file: F line: N", &l[..at]),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn status_exit_statuses() {
        let cases = [
            ("status", 3),
            ("status a", 0),
            ("status g:*", 3),
            ("status nosuch", 4),
            ("status a nosuch", 4),
        ];
        for (line, want) in cases {
            assert_eq!(run(standard, false, &[], line).1, want, "{line}");
        }
        let (text, _) = run(standard, false, &[], "status a x:*");
        assert_eq!(
            text,
            "x: ERROR (no such group)\na                                RUNNING   desc"
        );
        let (text, status) = run(standard, false, &[], "status --json a");
        assert_eq!(status, 0);
        assert!(
            text.starts_with("[{") && text.contains(r#""namespec":"a""#),
            "{text}"
        );
    }

    #[test]
    fn upcheck_outcomes() {
        fn old(method: &str, p: &[Value], a: bool) -> Reply {
            match method {
                "supervisor.getVersion" => Reply::Ok(Value::string("2.0")),
                _ => standard(method, p, a),
            }
        }
        fn unknown(_: &str, _: &[Value], _: bool) -> Reply {
            Reply::Fault(1, "UNKNOWN_METHOD")
        }
        fn shutting_down(_: &str, _: &[Value], _: bool) -> Reply {
            Reply::Fault(6, "SHUTDOWN_STATE")
        }
        let (text, status) = run(old, false, &[], "pid");
        assert_eq!(status, 5);
        assert!(text.ends_with("but the remote version is 2.0."), "{text}");
        let (text, status) = run(unknown, false, &[], "version");
        assert_eq!(status, 3);
        assert!(text.starts_with("Sorry, supervisord responded"), "{text}");
        assert_eq!(run(unknown, false, &[], "status").1, 4);
        assert_eq!(
            run(shutting_down, false, &[], "stop a"),
            (
                "error: <class 'xmlrpc.client.Fault'>, <Fault 6: 'SHUTDOWN_STATE'>: file: F line: N"
                    .to_string(),
                1
            )
        );
    }

    #[test]
    fn group_results_and_exit_statuses() {
        assert_eq!(
            run(standard, false, &[], "start all"),
            (
                "a: started\nb: ERROR (spawn error)\nc: ERROR (already started)".to_string(),
                7
            )
        );
        assert_eq!(
            run(standard, false, &[], "stop all"),
            (
                "error: <class 'ValueError'>, Unknown result code 99 for a: file: F line: N"
                    .to_string(),
                1
            )
        );
        assert_eq!(
            run(standard, false, &[], "update"),
            (
                "gone: stopped\ngone: removed process group\nchg: stopped\n\
                 chg: updated process group\nnew: added process group"
                    .to_string(),
                0
            )
        );
        assert_eq!(
            run(standard, false, &[], "update new nosuch"),
            (
                "ERROR: no such group: nosuch\nnew: added process group".to_string(),
                1
            )
        );
    }

    fn guarded(method: &str, p: &[Value], authorized: bool) -> Reply {
        if authorized {
            standard(method, p, authorized)
        } else {
            Reply::Unauthorized
        }
    }

    #[test]
    fn authentication_required() {
        assert_eq!(
            run(guarded, false, &[], "status a"),
            (
                "Server requires authentication\n\
                 error: <class 'xmlrpc.client.ProtocolError'>, \
                 <ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>: file: F line: N"
                    .to_string(),
                1
            )
        );
        assert_eq!(
            run(guarded, true, &["user", "pw"], "status a"),
            (
                "Server requires authentication\nUsername:Password:\n\
                 a                                RUNNING   desc"
                    .to_string(),
                0
            )
        );
    }

    #[test]
    fn confirmations_in_a_session() {
        assert_eq!(
            run(standard, true, &["n"], "shutdown"),
            (
                "Really shut the remote supervisord process down y/N? ".to_string(),
                0
            )
        );
        assert_eq!(
            run(standard, true, &["Yes"], "shutdown"),
            (
                "Really shut the remote supervisord process down y/N? Shut down".to_string(),
                0
            )
        );
        assert_eq!(run(standard, false, &[], "shutdown").0, "Shut down");
        let (text, status) = run(standard, true, &[], "reload");
        assert_eq!(status, 1);
        assert!(
            text.starts_with("Really restart the remote supervisord process y/N? error: <class 'EOFError'>, EOF when reading a line: file: "),
            "{text}"
        );
    }

    #[test]
    fn unknown_syntax_and_help() {
        assert_eq!(
            run(standard, false, &[], "bogus x"),
            ("*** Unknown syntax: bogus x".to_string(), 1)
        );
        assert_eq!(
            run(standard, false, &[], "help EOF"),
            ("*** No help on EOF".to_string(), 0)
        );
        assert_eq!(run(standard, false, &[], "quit"), (String::new(), 0));
    }

    #[test]
    fn shell_lines_split_like_cmd() {
        let cases = [
            ("status", Some(("status", ""))),
            ("  start  a b  ", Some(("start", "a b"))),
            ("?start", Some(("help", "start"))),
            ("? ", Some(("help", ""))),
            ("tail-f x", Some(("tail", "-f x"))),
            ("!ls", None),
            ("-x", None),
        ];
        for (line, want) in cases {
            let got = parse_line(line);
            let want = want.map(|(c, a)| (c.to_string(), a.to_string()));
            assert_eq!(got, want, "{line:?}");
        }
    }

    #[test]
    fn url_schemes_like_urlparse() {
        assert_eq!(url_scheme("unix:///tmp/x"), "unix");
        assert_eq!(url_scheme("HTTP://h:1"), "http");
        assert_eq!(url_scheme("/tmp/x"), "");
        assert_eq!(url_scheme("1x:/y"), "");
        assert_eq!(url_scheme(""), "");
    }

    #[test]
    fn python_strings_of_values() {
        assert_eq!(py_str(&Value::Int(5)), "5");
        assert_eq!(py_str(&Value::Bool(true)), "True");
        assert_eq!(
            py_str(&Value::Array(vec![Value::Int(1), Value::string("a")])),
            "[1, a]"
        );
    }
}
