//! Private harness of the `engine_*` integration tests: runs a real `supervisord` (ours or
//! the reference 4.3.0) on a config in a temp dir and observes it from outside through its
//! activity log, XML-RPC (`fixtures/engine/rpc.py`), the stock `supervisorctl` and `/proc`.
//!
//! Every daemon and every process it ever started carry a unique `ENGINE_TEST_TAG` in their
//! environment; dropping a [`Daemon`] stops it and then kills whatever still carries the
//! tag, so orphans, daemonized grandchildren and frozen children never outlive a test.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any awaited state may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(25);

/// Which supervisord runs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// This crate's `supervisord`.
    Ours,
    /// Python supervisor 4.3.0 from `target/reference-venv`.
    Reference,
}

impl Impl {
    /// The implementation the single-implementation tests run: ours, unless
    /// `ENGINE_IMPL=reference` asks to check the tests themselves against the oracle.
    pub fn under_test() -> Impl {
        match std::env::var("ENGINE_IMPL").as_deref() {
            Ok("reference") => Impl::Reference,
            _ => Impl::Ours,
        }
    }
}

/// `fixtures/engine/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/engine")
        .join(name)
}

/// A program of the reference venv (`supervisord`, `supervisorctl`), installing
/// supervisor 4.3.0 there on first use; concurrent test binaries wait on a lock file.
pub fn reference_bin(name: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent")
        .to_path_buf();
    let venv = target.join("reference-venv");
    let ready = |venv: &Path| {
        venv.join("bin/supervisord").exists() && venv.join("bin/supervisorctl").exists()
    };
    if !ready(&venv) {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(target.join("reference-venv.lock"))
            .expect("open reference-venv.lock");
        // SAFETY: flock on an fd we own; released when `lock` is closed.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock reference-venv.lock");
        if !ready(&venv) {
            install_reference(&venv);
        }
    }
    venv.join("bin").join(name)
}

fn install_reference(venv: &Path) {
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "cannot install the reference supervisor 4.3.0 ({what} failed, {}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let _ = fs::remove_dir_all(venv);
    run(
        Command::new("python3").arg("-m").arg("venv").arg(venv),
        "python3 -m venv target/reference-venv",
    );
    run(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "supervisor==4.3.0",
        ]),
        "pip install supervisor==4.3.0",
    );
}

/// One activity-log record: `YYYY-MM-DD HH:MM:SS,mmm LEVEL message`.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// Seconds (with milliseconds) since the Unix epoch, as written (local time).
    pub at: f64,
    /// `CRIT`, `ERRO`, `WARN`, `INFO`, `DEBG`, `TRAC` or `BLAT`.
    pub level: String,
    /// The message, continuation lines included.
    pub msg: String,
}

/// Splits an activity log into records; lines that do not start a record continue the
/// previous one (multi-line messages).
pub fn parse_log(text: &str) -> Vec<LogLine> {
    let mut out: Vec<LogLine> = Vec::new();
    for line in text.lines() {
        match parse_record(line) {
            Some(rec) => out.push(rec),
            None => {
                if let Some(last) = out.last_mut() {
                    last.msg.push('\n');
                    last.msg.push_str(line);
                }
            }
        }
    }
    out
}

fn parse_record(line: &str) -> Option<LogLine> {
    let stamp = line.get(..23)?;
    let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S,%3f").ok()?;
    let rest = line.get(24..)?;
    let (level, msg) = rest.split_once(' ').unwrap_or((rest, ""));
    if !["CRIT", "ERRO", "WARN", "INFO", "DEBG", "TRAC", "BLAT"].contains(&level) {
        return None;
    }
    Some(LogLine {
        at: at.and_utc().timestamp_millis() as f64 / 1000.0,
        level: level.to_string(),
        msg: msg.to_string(),
    })
}

/// One process as `supervisor.getAllProcessInfo` reports it.
#[derive(Debug, Clone)]
pub struct Info {
    /// `group:name`.
    pub full: String,
    /// `statename`.
    pub state: String,
    /// 0 when not running.
    pub pid: i32,
    /// `description`.
    pub description: String,
    /// `spawnerr`.
    pub spawnerr: String,
    /// `exitstatus`.
    pub exitstatus: i64,
}

/// A step run on the temp dir before the daemon starts.
type Prepare = Box<dyn FnOnce(&Path)>;

/// What to run.
pub struct Setup {
    which: Impl,
    programs: String,
    global: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    files: Vec<(String, String, u32)>,
    unshare: bool,
    dirty_signals: bool,
    daemonize: bool,
    nofile_soft: Option<u64>,
    before: Option<Prepare>,
}

impl Setup {
    /// A daemon of `which` kind with these program sections (`{fx}` = fixtures/engine).
    pub fn new(which: Impl, programs: &str) -> Setup {
        Setup {
            which,
            programs: programs.to_string(),
            global: String::new(),
            args: Vec::new(),
            env: Vec::new(),
            files: Vec::new(),
            unshare: false,
            dirty_signals: false,
            daemonize: false,
            nofile_soft: None,
            before: None,
        }
    }

    /// Program sections from `fixtures/engine/<name>`.
    pub fn from_fixture(which: Impl, name: &str) -> Setup {
        let text = fs::read_to_string(fixture(name))
            .unwrap_or_else(|e| panic!("read fixture {name}: {e}"));
        Setup::new(which, &text)
    }

    /// Only the named `[program:x]` sections of `fixtures/engine/<name>` (with the
    /// comment lines above each).
    pub fn sections(which: Impl, name: &str, programs: &[&str]) -> Setup {
        let text = fs::read_to_string(fixture(name))
            .unwrap_or_else(|e| panic!("read fixture {name}: {e}"));
        let mut kept = String::new();
        let mut pending = String::new();
        let mut keep = false;
        for line in text.lines() {
            if let Some(header) = line.strip_prefix('[') {
                let section = header.trim_end_matches(']');
                keep = programs
                    .iter()
                    .any(|p| section == format!("program:{p}") || section == format!("group:{p}"));
                if keep {
                    kept.push_str(&pending);
                }
                pending.clear();
            }
            if line.starts_with(';') || line.trim().is_empty() {
                pending.push_str(line);
                pending.push('\n');
            } else if keep {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        for p in programs {
            assert!(
                kept.contains(&format!(":{p}]")),
                "no section {p} in fixture {name}"
            );
        }
        Setup::new(which, &kept)
    }

    /// Extra `[supervisord]` lines.
    pub fn global(mut self, lines: &str) -> Setup {
        self.global = lines.to_string();
        self
    }

    /// Extra command-line arguments.
    pub fn arg(mut self, arg: &str) -> Setup {
        self.args.push(arg.to_string());
        self
    }

    /// An environment variable of the daemon.
    pub fn env(mut self, key: &str, value: &str) -> Setup {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// A file created in the temp dir before the daemon starts.
    pub fn file(mut self, name: &str, contents: &str, mode: u32) -> Setup {
        self.files
            .push((name.to_string(), contents.to_string(), mode));
        self
    }

    /// Start the daemon with SIGPIPE and SIGALRM ignored and SIGUSR1 and SIGWINCH
    /// blocked, the state a careless parent leaves; children must not inherit it.
    pub fn dirty_signals(mut self) -> Setup {
        self.dirty_signals = true;
        self
    }

    /// Let the daemon daemonize (`nodaemon=false`, no `-n`); the launcher exits at once
    /// and [`Daemon::adopt_pidfile`] finds the daemon.
    pub fn daemonize(mut self) -> Setup {
        self.daemonize = true;
        self
    }

    /// Start the daemon with this soft RLIMIT_NOFILE (the hard limit unchanged).
    pub fn nofile_soft(mut self, soft: u64) -> Setup {
        self.nofile_soft = Some(soft);
        self
    }

    /// Run `prepare` on the temp dir just before the daemon starts.
    pub fn before(mut self, prepare: impl FnOnce(&Path) + 'static) -> Setup {
        self.before = Some(Box::new(prepare));
        self
    }

    /// Run the daemon as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`).
    pub fn pid1(mut self) -> Setup {
        self.unshare = true;
        self
    }

    /// Writes the config and starts the daemon.
    pub fn start(self) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("engine-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let path = dir.path().to_path_buf();
        let conf = path.join("supervisord.conf");
        let fx = fixture("");
        let fx = fx
            .to_str()
            .expect("utf-8 fixture path")
            .trim_end_matches('/');
        let text = format!(
            "[supervisord]\n\
             logfile=%(here)s/activity.log\n\
             pidfile=%(here)s/supervisord.pid\n\
             childlogdir=%(here)s\n\
             loglevel=debug\n\
             nodaemon={nodaemon}\n\
             {global}\n\
             [unix_http_server]\n\
             file=%(here)s/supervisor.sock\n\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [supervisorctl]\n\
             serverurl=unix://%(here)s/supervisor.sock\n\n\
             {programs}\n",
            nodaemon = !self.daemonize,
            global = self.global,
            programs = self.programs.replace("{fx}", fx),
        );
        fs::write(&conf, text).expect("write config");
        for (name, contents, mode) in &self.files {
            let file = path.join(name);
            fs::write(&file, contents).expect("write setup file");
            fs::set_permissions(&file, fs::Permissions::from_mode(*mode)).expect("chmod");
        }
        if let Some(prepare) = self.before {
            prepare(&path);
        }
        let program = match self.which {
            Impl::Ours => PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
            Impl::Reference => reference_bin("supervisord"),
        };
        let tag = path.to_str().expect("utf-8 temp path").to_string();
        let mut cmd = if self.unshare {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        if !self.daemonize {
            cmd.arg("-n");
        }
        cmd.arg("-c")
            .arg(&conf)
            .args(&self.args)
            .env("ENGINE_TEST_TAG", &tag)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&path)
            .stdin(Stdio::null())
            .stdout(File::create(path.join("daemon.stdout")).expect("stdout file"))
            .stderr(File::create(path.join("daemon.stderr")).expect("stderr file"));
        if let Some(soft) = self.nofile_soft {
            // SAFETY: getrlimit/setrlimit on a local struct are async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    let mut lim: libc::rlimit = std::mem::zeroed();
                    libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
                    lim.rlim_cur = soft as libc::rlim_t;
                    libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
                    Ok(())
                });
            }
        }
        if self.dirty_signals {
            // SAFETY: signal(2), sigemptyset/sigaddset on a local set and sigprocmask are
            // async-signal-safe; nothing is allocated between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                    libc::signal(libc::SIGALRM, libc::SIG_IGN);
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGUSR1);
                    libc::sigaddset(&mut set, libc::SIGWINCH);
                    libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("spawn supervisord");
        let launcher = child.id() as i32;
        let mut daemon = Daemon {
            which: self.which,
            log: path.join("activity.log"),
            sock: path.join("supervisor.sock"),
            pidfile: path.join("supervisord.pid"),
            conf,
            tag,
            program,
            child: Some(child),
            launcher,
            pid: launcher,
            dir,
        };
        if self.unshare {
            daemon.pid = daemon.poll("the daemon under unshare", || {
                let children =
                    fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children"))
                        .ok()?;
                children.split_whitespace().next()?.parse().ok()
            });
        }
        daemon
    }
}

/// A running supervisord and its temp dir.
pub struct Daemon {
    /// Which implementation runs.
    pub which: Impl,
    /// The temp dir (config, logs, socket, pidfile).
    pub dir: tempfile::TempDir,
    /// The config file.
    pub conf: PathBuf,
    /// The activity log.
    pub log: PathBuf,
    /// The unix socket.
    pub sock: PathBuf,
    /// The pidfile.
    pub pidfile: PathBuf,
    /// The daemon's pid (in our PID namespace).
    pub pid: i32,
    tag: String,
    program: PathBuf,
    child: Option<Child>,
    launcher: i32,
}

impl Daemon {
    /// Starts the daemon under test on these program sections.
    pub fn start(programs: &str) -> Daemon {
        Setup::new(Impl::under_test(), programs).start()
    }

    /// The temp dir.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The activity log as text (empty before it exists).
    pub fn log_text(&self) -> String {
        fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The activity log as records.
    pub fn lines(&self) -> Vec<LogLine> {
        parse_log(&self.log_text())
    }

    /// Everything a failing test should print: the log and the daemon's stderr.
    pub fn dump(&self) -> String {
        let stderr = fs::read_to_string(self.path().join("daemon.stderr")).unwrap_or_default();
        format!(
            "---- activity log ({:?}) ----\n{}---- daemon stderr ----\n{}",
            self.which,
            self.log_text(),
            stderr
        )
    }

    /// Polls `probe` until it yields a value; panics after [`DEADLINE`] with the log.
    pub fn poll<T>(&self, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
        self.poll_for(DEADLINE, what, &mut probe)
    }

    /// [`Daemon::poll`] with another deadline.
    pub fn poll_for<T>(
        &self,
        deadline: Duration,
        what: &str,
        probe: &mut dyn FnMut() -> Option<T>,
    ) -> T {
        let until = Instant::now() + deadline;
        loop {
            if let Some(v) = probe() {
                return v;
            }
            if Instant::now() > until {
                panic!(
                    "timed out after {deadline:?} waiting for {what}\n{}",
                    self.dump()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the log satisfies `pred`; returns the records seen then.
    pub fn wait_log(&self, what: &str, pred: impl Fn(&[LogLine]) -> bool) -> Vec<LogLine> {
        self.poll(what, || {
            let lines = self.lines();
            pred(&lines).then_some(lines)
        })
    }

    /// Waits for a record whose message contains `needle`; returns it.
    pub fn wait_line(&self, needle: &str) -> LogLine {
        self.wait_count(needle, 1).pop().expect("one line")
    }

    /// Waits until `n` records contain `needle`; returns them.
    pub fn wait_count(&self, needle: &str, n: usize) -> Vec<LogLine> {
        let what = format!("{n} log line(s) containing {needle:?}");
        self.poll(&what, || {
            let hits: Vec<LogLine> = self
                .lines()
                .into_iter()
                .filter(|l| l.msg.contains(needle))
                .collect();
            (hits.len() >= n).then_some(hits)
        })
    }

    /// Records containing `needle` right now.
    pub fn count(&self, needle: &str) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.msg.contains(needle))
            .count()
    }

    /// One XML-RPC call; `Ok(result)` or `Err((fault code, fault string))`.
    pub fn rpc(&self, method: &str, args: &[Value]) -> Result<Value, (i64, String)> {
        let out = Command::new("python3")
            .arg(fixture("rpc.py"))
            .arg(&self.sock)
            .arg(method)
            .args(args.iter().map(|a| a.to_string()))
            .output()
            .expect("run rpc.py");
        let text = String::from_utf8_lossy(&out.stdout);
        let reply: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
            panic!(
                "rpc.py {method}: bad output {text:?} ({e}); stderr {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.dump()
            )
        });
        if let Some(ok) = reply.get("ok") {
            return Ok(ok.clone());
        }
        if let Some(fault) = reply.get("fault") {
            return Err((
                fault[0].as_i64().unwrap_or(-1),
                fault[1].as_str().unwrap_or("").to_string(),
            ));
        }
        Err((-1, format!("no answer: {reply}")))
    }

    /// An RPC call that must succeed.
    pub fn call(&self, method: &str, args: &[Value]) -> Value {
        self.rpc(method, args)
            .unwrap_or_else(|f| panic!("{method}{args:?} failed with {f:?}\n{}", self.dump()))
    }

    /// `getAllProcessInfo` keyed by `group:name`, or `None` when the daemon does not answer.
    pub fn try_infos(&self) -> Option<BTreeMap<String, Info>> {
        let all = self.rpc("supervisor.getAllProcessInfo", &[]).ok()?;
        let mut out = BTreeMap::new();
        for p in all.as_array()? {
            let s = |k: &str| p[k].as_str().unwrap_or("").to_string();
            let full = format!("{}:{}", s("group"), s("name"));
            out.insert(
                full.clone(),
                Info {
                    full,
                    state: s("statename"),
                    pid: p["pid"].as_i64().unwrap_or(0) as i32,
                    description: s("description"),
                    spawnerr: s("spawnerr"),
                    exitstatus: p["exitstatus"].as_i64().unwrap_or(0),
                },
            );
        }
        Some(out)
    }

    /// The info of `group:name` (a bare `name` means `name:name`).
    pub fn info(&self, name: &str) -> Info {
        let full = full_name(name);
        let infos = self.poll("getAllProcessInfo to answer", || self.try_infos());
        infos
            .get(&full)
            .cloned()
            .unwrap_or_else(|| panic!("no process {full} in {:?}\n{}", infos.keys(), self.dump()))
    }

    /// Waits until `name` is in `state`; returns its info.
    pub fn wait_state(&self, name: &str, state: &str) -> Info {
        let full = full_name(name);
        let mut last = String::from("nothing");
        let what = format!("{full} to be {state}");
        let until = Instant::now() + DEADLINE;
        loop {
            if let Some(info) = self.try_infos().and_then(|m| m.get(&full).cloned()) {
                if info.state == state {
                    return info;
                }
                last = format!("{info:?}");
            }
            if Instant::now() > until {
                panic!(
                    "timed out waiting for {what}; last seen {last}\n{}",
                    self.dump()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The stock `supervisorctl -c <conf> ARGS…` (from the reference venv).
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(reference_bin("supervisorctl"))
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .output()
            .expect("run supervisorctl")
    }

    /// Sends `sig` to the daemon.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on the daemon's pid.
        let rc = unsafe { libc::kill(self.pid, sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid);
    }

    /// Waits for the daemon (or its `unshare` launcher) to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("daemon still owned");
        let until = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > until {
                self.child = Some(child);
                panic!("daemon did not exit within {DEADLINE:?}\n{}", self.dump());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether the daemon (launcher) is still running.
    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().expect("try_wait").is_none(),
            None => false,
        }
    }

    /// After a daemonizing start: the launcher must exit 0 and the pidfile names the
    /// daemon, which becomes [`Daemon::pid`].
    pub fn adopt_pidfile(&mut self) -> ExitStatus {
        let status = self.wait_exit();
        self.pid = self.poll("the pidfile", || {
            fs::read_to_string(&self.pidfile).ok()?.trim().parse().ok()
        });
        status
    }

    /// Runs the same implementation on the same config once more in the foreground and
    /// waits for it: exit code and stderr.
    pub fn run_again(&self) -> (Option<i32>, String) {
        let err = self.path().join("again.stderr");
        let mut child = Command::new(&self.program)
            .arg("-n")
            .arg("-c")
            .arg(&self.conf)
            .env("ENGINE_TEST_TAG", &self.tag)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&err).expect("stderr file"))
            .spawn()
            .expect("spawn second supervisord");
        let until = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the second daemon did not exit\n{}", self.dump());
            }
            std::thread::sleep(POLL);
        };
        (status.code(), fs::read_to_string(&err).unwrap_or_default())
    }

    /// Pids of every live process that carries this daemon's tag, the daemon excluded.
    pub fn tagged_pids(&self) -> Vec<i32> {
        tagged(&self.tag)
            .into_iter()
            .filter(|p| *p != self.pid && *p != self.launcher)
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(self.pid, libc::SIGTERM) };
            let until = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < until {
                std::thread::sleep(POLL);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.pid != self.launcher && alive(self.pid) {
            // SAFETY: kill(2) on the daemon this test started (it daemonized).
            unsafe { libc::kill(self.pid, libc::SIGTERM) };
            let until = Instant::now() + Duration::from_secs(10);
            while alive(self.pid) && Instant::now() < until {
                std::thread::sleep(POLL);
            }
        }
        for pid in tagged(&self.tag) {
            // SAFETY: kill(2) on a process that carries this test's unique tag.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// `name` → `name:name`; `group:name` unchanged.
pub fn full_name(name: &str) -> String {
    if name.contains(':') {
        name.to_string()
    } else {
        format!("{name}:{name}")
    }
}

fn tagged(tag: &str) -> Vec<i32> {
    let needle = format!("ENGINE_TEST_TAG={tag}\0");
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Ok(env) = fs::read(format!("/proc/{pid}/environ")) {
            if String::from_utf8_lossy(&env).contains(&needle) {
                out.push(pid);
            }
        }
    }
    out
}

/// `/proc/<pid>/status` as key → value.
pub fn proc_status(pid: i32) -> BTreeMap<String, String> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// Fields of `/proc/<pid>/stat` after the command name: index 0 is the state letter,
/// 1 ppid, 2 pgrp, 3 session, 11 utime, 12 stime.
pub fn proc_stat(pid: i32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = text.rsplit_once(')')?.1;
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// `/proc/<pid>/environ` as key → value.
pub fn proc_environ(pid: i32) -> BTreeMap<String, String> {
    let raw = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    String::from_utf8_lossy(&raw)
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Whether a pid is alive and not a zombie.
pub fn alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|s| s[0] != "Z")
}

/// The pid number in `spawned: '<name>' with pid <pid>` records, in order.
pub fn spawned_pids(lines: &[LogLine], name: &str) -> Vec<i32> {
    let prefix = format!("spawned: '{name}' with pid ");
    lines
        .iter()
        .filter_map(|l| l.msg.strip_prefix(&prefix)?.trim().parse().ok())
        .collect()
}

/// Records whose message contains `needle`.
pub fn with<'a>(lines: &'a [LogLine], needle: &str) -> Vec<&'a LogLine> {
    lines.iter().filter(|l| l.msg.contains(needle)).collect()
}

/// Index of the first record containing `needle`, panicking with the log when absent.
pub fn index_of(lines: &[LogLine], needle: &str) -> usize {
    lines
        .iter()
        .position(|l| l.msg.contains(needle))
        .unwrap_or_else(|| panic!("no line containing {needle:?} in\n{}", render(lines)))
}

/// Records back to text, for failure messages.
pub fn render(lines: &[LogLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{:.3} {} {}\n", l.at, l.level, l.msg))
        .collect()
}
