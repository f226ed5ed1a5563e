//! A supervisord (ours or the pinned reference) running one `fixtures/events` config in
//! its own temp dir, for the event-listener tests: RPC calls, the records written by
//! `fixtures/events/listener.py`, the activity log, and a Drop guard that stops it.
//!
//! Owns the plumbing of those tests only; what a scenario asserts lives in the
//! `tests/events_*.rs` files.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use supervisor::ctl::client::{Client, ClientError, Settings};
use supervisor::rpc::xmlrpc::Value;

use crate::support;

/// How long a daemon may take to answer its first RPC call.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a daemon may take to stop on SIGTERM in the Drop guard before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Which supervisord runs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    /// The pinned Python supervisord.
    Reference,
    /// Our `supervisord` binary.
    Ours,
}

impl Daemon {
    /// Both daemons, reference first.
    pub const BOTH: [Daemon; 2] = [Daemon::Reference, Daemon::Ours];

    fn binary(self) -> PathBuf {
        match self {
            Daemon::Reference => support::reference_venv().join("bin/supervisord"),
            Daemon::Ours => PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
        }
    }

    /// A short label for failure messages.
    pub fn label(self) -> &'static str {
        match self {
            Daemon::Reference => "reference",
            Daemon::Ours => "ours",
        }
    }
}

/// `fixtures/events`.
pub fn fixtures() -> PathBuf {
    support::fixtures_dir().join("events")
}

/// Listener-side tools, pinned, next to the pinned reference they run with:
/// superlance (memmon) and libfaketime (its wheel ships `libfaketime.so.1`).
const TOOLS_REQUIREMENTS: [&str; 3] = [
    support::REFERENCE_REQUIREMENT,
    "superlance==2.0.0",
    "libfaketime==3.0.1",
];

/// The virtualenv `target/events-tools-venv` with [`TOOLS_REQUIREMENTS`], built on
/// first use (see [`support::pinned_venv`]).
pub fn tools_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| support::pinned_venv("events-tools-venv", &TOOLS_REQUIREMENTS))
        .clone()
}

/// `libfaketime.so.1` from the tools venv, for `LD_PRELOAD`.
pub fn libfaketime() -> PathBuf {
    let lib = tools_venv().join("lib");
    let found = fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| {
                e.path()
                    .join("site-packages/libfaketime/vendor/libfaketime/src/libfaketime.so.1")
            })
            .find(|so| so.is_file())
    });
    found.unwrap_or_else(|| panic!("no libfaketime.so.1 under {}", lib.display()))
}

/// One event as `fixtures/events/listener.py` recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The raw header line, `\n` included.
    pub line: String,
    /// The header tokens as `childutils.get_headers` parsed them.
    pub headers: Vec<(String, String)>,
    /// The payload as the listener read it (`len` characters).
    pub payload: String,
    /// The listener's pid.
    pub pid: u32,
    /// What the listener answered: `OK`, `FAIL` or `HANG` (no answer).
    pub result: String,
}

impl Record {
    /// The value of header `key` (empty when missing).
    pub fn header(&self, key: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// `eventname`.
    pub fn name(&self) -> &str {
        self.header("eventname")
    }

    fn parse(line: &str) -> Option<Record> {
        let json: Json = serde_json::from_str(line).ok()?;
        let headers = json
            .get("headers")?
            .as_object()?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        Some(Record {
            line: json.get("line")?.as_str()?.to_string(),
            headers,
            payload: json.get("payload")?.as_str()?.to_string(),
            pid: u32::try_from(json.get("pid")?.as_u64()?).ok()?,
            result: json.get("result")?.as_str()?.to_string(),
        })
    }
}

/// A running supervisord in its own directory; stopped (SIGTERM, then SIGKILL) and
/// reaped on drop, so its children are stopped too.
pub struct EventDaemon {
    /// Which implementation this is.
    pub daemon: Daemon,
    child: Option<Child>,
    exit: Option<ExitStatus>,
    dir: tempfile::TempDir,
}

impl Drop for EventDaemon {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(None) = child.try_wait() {
            signal(child.id(), libc::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, signal) };
    }
}

impl EventDaemon {
    /// Starts `daemon` on `fixtures/events/<fixture>` in a fresh temp dir, after
    /// replacing every `(placeholder, value)` of `vars` (values may hold the next
    /// ones), then `@DIR@` (the temp dir), `@PYTHON@` (the reference venv's
    /// interpreter, which has the pinned `supervisor.childutils`) and `@FIXTURES@`;
    /// returns once it answers RPC calls.
    pub fn start(daemon: Daemon, fixture: &str, vars: &[(&str, &str)]) -> EventDaemon {
        EventDaemon::start_with_env(daemon, fixture, vars, &[])
    }

    /// [`EventDaemon::start`] with extra environment variables for the daemon (and so
    /// for its children).
    pub fn start_with_env(
        daemon: Daemon,
        fixture: &str,
        vars: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> EventDaemon {
        let dir = support::temp_dir(&format!("events-{}", daemon.label()));
        let template = fs::read_to_string(fixtures().join(fixture))
            .unwrap_or_else(|e| panic!("cannot read fixture {fixture}: {e}"));
        let mut text = template;
        for (placeholder, value) in vars {
            text = text.replace(placeholder, value);
        }
        let text = text
            .replace("@DIR@", &dir.path().display().to_string())
            .replace(
                "@PYTHON@",
                &support::reference_python().display().to_string(),
            )
            .replace("@FIXTURES@", &fixtures().display().to_string());
        let config = support::write_file(dir.path(), "supervisord.conf", &text);
        let output = fs::File::create(dir.path().join("daemon.out"))
            .unwrap_or_else(|e| panic!("cannot create daemon.out: {e}"));
        let errors = output
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone daemon.out: {e}"));
        let child = Command::new(daemon.binary())
            .arg("-n")
            .arg("-c")
            .arg(&config)
            .current_dir(dir.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {} supervisord: {e}", daemon.label()));
        let running = EventDaemon {
            daemon,
            child: Some(child),
            exit: None,
            dir,
        };
        running.poll(STARTUP_TIMEOUT, "the daemon to answer getState", || {
            running
                .try_rpc("supervisor.getState", &[])
                .map(|_| ())
                .map_err(|e| format!("{e:?}"))
        });
        running
    }

    /// `<temp dir>/<name>`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The temp dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The activity log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.path("supervisord.log")).unwrap_or_default()
    }

    /// The activity log without timestamps (`INFO spawned: …`), continuation lines kept.
    pub fn log_lines(&self) -> Vec<String> {
        self.log()
            .lines()
            .map(|l| without_timestamp(l).to_string())
            .collect()
    }

    /// Everything useful after a failure: the activity log, the daemon's own output and
    /// every listener/program log file in the temp dir.
    pub fn diagnostics(&self) -> String {
        let mut text = format!("===== {} supervisord =====\n", self.daemon.label());
        let mut names: Vec<PathBuf> = fs::read_dir(self.dir())
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        for path in names {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let wanted = name.ends_with(".log")
                || name.ends_with(".err")
                || name.ends_with(".out")
                || name.ends_with(".jsonl");
            if wanted {
                let body = fs::read(&path).unwrap_or_default();
                let _ = writeln!(
                    text,
                    "----- {name} -----\n{}",
                    String::from_utf8_lossy(&body).trim_end()
                );
            }
        }
        text
    }

    /// Like [`support::poll_until`], with this daemon's diagnostics in the panic.
    pub fn poll<T, O: std::fmt::Debug>(
        &self,
        timeout: Duration,
        what: &str,
        mut probe: impl FnMut() -> Result<T, O>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            match probe() {
                Ok(value) => return value,
                Err(seen) if Instant::now() >= deadline => panic!(
                    "{}: timed out after {timeout:?} waiting for {what}; last seen:\n{seen:#?}\n{}",
                    self.daemon.label(),
                    self.diagnostics()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    fn client(&self) -> Client {
        Client::new(Settings {
            serverurl: format!("unix://{}", self.path("supervisor.sock").display()),
            username: None,
            password: None,
        })
    }

    /// Calls an RPC method.
    pub fn try_rpc(&self, method: &str, params: &[Value]) -> Result<Value, ClientError> {
        self.client().call_until(method, params, &|| false)
    }

    /// Calls an RPC method; panics with the diagnostics when it fails.
    pub fn rpc(&self, method: &str, params: &[Value]) -> Value {
        self.try_rpc(method, params).unwrap_or_else(|e| {
            panic!(
                "{}: {method}{params:?} failed: {e:?}\n{}",
                self.daemon.label(),
                self.diagnostics()
            )
        })
    }

    /// `statename` of process `name` (`group:name` or a bare name).
    pub fn state(&self, name: &str) -> Result<String, String> {
        let info = self
            .try_rpc("supervisor.getProcessInfo", &[Value::string(name)])
            .map_err(|e| format!("{e:?}"))?;
        Ok(info
            .member("statename")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    }

    /// `pid` of process `name`.
    pub fn process_pid(&self, name: &str) -> Result<i64, String> {
        let info = self
            .try_rpc("supervisor.getProcessInfo", &[Value::string(name)])
            .map_err(|e| format!("{e:?}"))?;
        Ok(info.member("pid").and_then(Value::as_int).unwrap_or(0))
    }

    /// Waits until process `name` is in `state`.
    pub fn wait_state(&self, name: &str, state: &str, timeout: Duration) {
        self.poll(timeout, &format!("{name} {state}"), || {
            match self.state(name) {
                Ok(seen) if seen == state => Ok(()),
                other => Err(other),
            }
        });
    }

    /// The records in `<temp dir>/<file>` so far (a half-written last line is left out).
    pub fn records(&self, file: &str) -> Vec<Record> {
        fs::read_to_string(self.path(file))
            .unwrap_or_default()
            .lines()
            .map_while(Record::parse)
            .collect()
    }

    /// Waits until `done` holds for the records in `file`; returns them.
    pub fn wait_records(
        &self,
        file: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Record]) -> bool,
    ) -> Vec<Record> {
        self.poll(timeout, what, || {
            let records = self.records(file);
            if done(&records) {
                Ok(records)
            } else {
                Err(records
                    .iter()
                    .map(|r| format!("{} {}", r.line.trim_end(), r.payload))
                    .collect::<Vec<_>>())
            }
        })
    }

    /// Waits until the activity log has a line (timestamp removed) for which `wanted`
    /// holds; returns that line.
    pub fn wait_log_line(
        &self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> String {
        self.poll(timeout, what, || {
            let lines = self.log_lines();
            match lines.iter().find(|l| wanted(l)) {
                Some(line) => Ok(line.clone()),
                None => Err(lines.len()),
            }
        })
    }

    /// Waits until the daemon process has exited; returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        let mut child = self.child.take();
        let status = self.poll(timeout, "the daemon to exit", || {
            match child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Ok(status),
                other => Err(format!("{other:?}")),
            }
        });
        self.exit = Some(status);
        status
    }
}

/// `2026-11-27 23:55:34,976 INFO x` → `INFO x`; other lines unchanged.
pub fn without_timestamp(line: &str) -> &str {
    let b = line.as_bytes();
    let stamped = b.len() > 24 && b[4] == b'-' && b[13] == b':' && b[19] == b',' && b[23] == b' ';
    if stamped {
        &line[24..]
    } else {
        line
    }
}

/// Replaces every run of ASCII digits that follows `prefix` in `text` with `mask`.
pub fn mask_number_after(text: &str, prefix: &str, mask: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let (before, after) = rest.split_at(at + prefix.len());
        out.push_str(before);
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str(mask);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Runs `scenario` for every daemon in `daemons` at once (one thread each) and returns
/// the results in the same order; a panic in one scenario is re-raised after all ended.
pub fn run_each<T: Send>(daemons: &[Daemon], scenario: impl Fn(Daemon) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = daemons
            .iter()
            .map(|&daemon| {
                let scenario = &scenario;
                scope.spawn(move || scenario(daemon))
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}
