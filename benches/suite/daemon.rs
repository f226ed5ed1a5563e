//! Running one daemon, ours or the reference, on a generated configuration in its own
//! temporary directory, and making sure nothing it started outlives it.
//!
//! Every daemon runs in the foreground (`-n`) as a direct child of the suite, with
//! `TZ=UTC` (see `activity`) and its stdout/stderr in `daemon.out` beside its
//! configuration. The suite makes itself a child subreaper ([`adopt_orphans`]), so the
//! programs of a daemon that dies become the suite's children; dropping a [`Daemon`]
//! kills the daemon and then every process left under the suite, so a panicking
//! workload leaves nothing behind. Hence one daemon at a time, and no other child of
//! the suite alive while a daemon is dropped.
//!
//! A dropped daemon's directory is kept until the suite ends ([`RetiredDirs`]): on a
//! file system such as this machine's journal-less ext4, creating files right after
//! thousands were deleted costs about 1 ms each (the inode allocator skips every
//! recently freed inode), so deleting one run's hundreds of AUTO logs just before the
//! next daemon creates its own would measure the suite's clean-up, not the daemon.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::activity::{self, ActivityLog};
use crate::procfs;
use crate::support;

/// Which implementation a measurement is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// This crate's release binaries.
    Ours,
    /// The pinned Python supervisor.
    Reference,
}

impl Kind {
    /// The order of run `run`: alternating, so a drift of the machine's load during the
    /// suite weighs on both implementations alike.
    pub fn order(run: usize) -> [Kind; 2] {
        if run % 2 == 0 {
            [Kind::Ours, Kind::Reference]
        } else {
            [Kind::Reference, Kind::Ours]
        }
    }

    /// `ours` or `reference`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Reference => "reference",
        }
    }
}

/// The four executables the suite runs.
pub struct Binaries {
    ours_daemon: PathBuf,
    ours_ctl: PathBuf,
    reference_daemon: PathBuf,
    reference_ctl: PathBuf,
}

impl Binaries {
    /// Ours from this build (release, in a bench build); the reference from the pinned
    /// virtualenv, installed on first use.
    pub fn locate() -> Binaries {
        let venv_bin = support::reference_venv().join("bin");
        Binaries {
            ours_daemon: PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
            ours_ctl: PathBuf::from(env!("CARGO_BIN_EXE_supervisorctl")),
            reference_daemon: venv_bin.join("supervisord"),
            reference_ctl: venv_bin.join("supervisorctl"),
        }
    }

    /// `supervisord` of `kind`.
    pub fn daemon(&self, kind: Kind) -> &Path {
        match kind {
            Kind::Ours => &self.ours_daemon,
            Kind::Reference => &self.reference_daemon,
        }
    }

    /// `supervisorctl` of `kind`.
    pub fn ctl(&self, kind: Kind) -> &Path {
        match kind {
            Kind::Ours => &self.ours_ctl,
            Kind::Reference => &self.reference_ctl,
        }
    }
}

/// The `[program:x]` sections of a generated configuration: `count` programs named
/// `p000`, `p001`, …, each its own group (so the reference's one-group-at-a-time
/// shutdown shows), with the defaults of both daemons for everything not set here
/// (`autorestart=unexpected`, `AUTO` child logs in the temporary directory).
pub struct Programs {
    /// How many programs.
    pub count: usize,
    /// `command=`; may use `%(here)s` and `%(program_name)s`.
    pub command: String,
    /// `startsecs=`.
    pub startsecs: u32,
    /// `stopwaitsecs=`.
    pub stopwaitsecs: u32,
    /// Further `key=value` lines for every program.
    pub extra: String,
}

impl Programs {
    /// `count` programs sleeping for a day, RUNNING as soon as spawned.
    pub fn sleeping(count: usize) -> Programs {
        Programs {
            count,
            command: "/bin/sleep 86400".to_string(),
            startsecs: 0,
            stopwaitsecs: 10,
            extra: String::new(),
        }
    }

    fn config(&self) -> String {
        let mut text = String::from(
            "[supervisord]\n\
             logfile=%(here)s/supervisord.log\n\
             pidfile=%(here)s/supervisord.pid\n\
             childlogdir=%(here)s\n\
             loglevel=info\n\n\
             [unix_http_server]\n\
             file=%(here)s/supervisor.sock\n\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [supervisorctl]\n\
             serverurl=unix://%(here)s/supervisor.sock\n\n",
        );
        for i in 0..self.count {
            text.push_str(&format!(
                "[program:{}]\ncommand={}\nstartsecs={}\nstopwaitsecs={}\n{}\n",
                program_name(i),
                self.command,
                self.startsecs,
                self.stopwaitsecs,
                self.extra
            ));
        }
        text
    }
}

/// The first letter of every generated program's name (and so of its log files).
pub const PROGRAM_PREFIX: &str = "p";

/// The name of the `i`-th generated program.
pub fn program_name(i: usize) -> String {
    format!("{PROGRAM_PREFIX}{i:03}")
}

/// Makes the suite a child subreaper: the programs of a daemon that dies are
/// reparented to the suite instead of init, where [`Daemon`]'s drop can kill and reap
/// them.
pub fn adopt_orphans() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(
        rc,
        0,
        "cannot become a child subreaper: {}",
        std::io::Error::last_os_error()
    );
}

/// Epoch time in milliseconds, as a float (the activity log's clock, unrounded).
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

static ONE_AT_A_TIME: AtomicBool = AtomicBool::new(false);

/// Directories of dropped daemons, removed when the suite ends.
static RETIRED: Mutex<Vec<tempfile::TempDir>> = Mutex::new(Vec::new());

/// Removes the retired daemons' directories when dropped: hold one in `main`, so they
/// go also when a workload panics.
pub struct RetiredDirs;

impl Drop for RetiredDirs {
    fn drop(&mut self) {
        let dirs = std::mem::take(&mut *RETIRED.lock().unwrap_or_else(|e| e.into_inner()));
        drop(dirs);
    }
}

/// A running daemon; dropping it kills it and everything it started.
pub struct Daemon {
    kind: Kind,
    /// `None` only once dropped.
    dir: Option<tempfile::TempDir>,
    conf: PathBuf,
    child: Child,
    /// Epoch milliseconds just before the daemon was started.
    pub launched_ms: f64,
    /// Its activity log.
    pub log: ActivityLog,
    reaped: bool,
}

impl Daemon {
    /// Starts the `kind` daemon on `programs`.
    pub fn start(bins: &Binaries, kind: Kind, programs: &Programs) -> Daemon {
        assert!(
            !ONE_AT_A_TIME.swap(true, Ordering::SeqCst),
            "the suite runs one daemon at a time"
        );
        let dir = support::temp_dir(&format!("suite-{}", kind.label()));
        let conf = support::write_file(dir.path(), "supervisord.conf", &programs.config());
        let out_path = dir.path().join("daemon.out");
        let out = File::create(&out_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", out_path.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot duplicate {}: {e}", out_path.display()));
        let launched_ms = now_ms();
        let child = Command::new(bins.daemon(kind))
            .arg("-n")
            .arg("-c")
            .arg(&conf)
            .current_dir(dir.path())
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bins.daemon(kind).display()));
        let log = ActivityLog::new(dir.path().join("supervisord.log"));
        Daemon {
            kind,
            dir: Some(dir),
            conf,
            child,
            launched_ms,
            log,
            reaped: false,
        }
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its configuration file (for `supervisorctl -c`).
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// Its temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("a live daemon has its directory")
            .path()
    }

    /// Its control socket.
    pub fn socket(&self) -> PathBuf {
        self.dir().join("supervisor.sock")
    }

    /// Follows the activity log until `done` holds, panicking with the log and the
    /// daemon's output if `timeout` passes first or the daemon exits.
    pub fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&ActivityLog) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            self.log.poll();
            if done(&self.log) {
                return;
            }
            let exited = self
                .child
                .try_wait()
                .unwrap_or_else(|e| panic!("cannot wait for the daemon: {e}"));
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "{} daemon: {what}: not seen within {timeout:?} (exit status {exited:?})\n\
                     --- activity log (last lines) ---\n{}\n--- daemon output (last lines) ---\n{}",
                    self.kind.label(),
                    last_lines(&self.log.text(), 20),
                    last_lines(
                        &std::fs::read_to_string(self.dir().join("daemon.out")).unwrap_or_default(),
                        20
                    )
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until `count` `success:` lines are in the activity log and returns the
    /// timestamp of the last of them (epoch ms).
    pub fn wait_running(&mut self, count: usize, timeout: Duration) -> i64 {
        self.wait_until(&format!("{count} programs RUNNING"), timeout, |log| {
            log.count(activity::is_running) >= count
        });
        self.log
            .entries()
            .iter()
            .filter(|e| activity::is_running(&e.event))
            .nth(count - 1)
            .map(|e| e.at_ms)
            .unwrap_or_else(|| panic!("{count} success lines were just counted"))
    }

    /// CPU time the daemon has used so far.
    pub fn cpu(&self) -> Duration {
        procfs::cpu_time(self.pid())
    }

    /// The daemon's resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        procfs::rss_kib(self.pid())
    }

    /// Sends SIGTERM and waits up to `cap` for the daemon to exit; returns how long it
    /// took, or `None` if it was still running at `cap` (it is then killed on drop).
    pub fn terminate(&mut self, cap: Duration) -> Option<Duration> {
        let start = Instant::now();
        signal(self.pid(), libc::SIGTERM);
        loop {
            let status = self
                .child
                .try_wait()
                .unwrap_or_else(|e| panic!("cannot wait for the daemon: {e}"));
            if status.is_some() {
                self.reaped = true;
                return Some(start.elapsed());
            }
            if start.elapsed() >= cap {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if !self.reaped {
            signal(self.pid(), libc::SIGKILL);
            let _ = self.child.wait();
        }
        // Orphans are reparented to the suite when their parent dies, so killing one
        // generation can bring the next (a shell's children) under the suite: repeat
        // until none is left.
        let deadline = Instant::now() + Duration::from_secs(30);
        let suite = std::process::id();
        loop {
            let orphans = procfs::children_of(suite);
            if orphans.is_empty() || Instant::now() >= deadline {
                break;
            }
            for &pid in &orphans {
                signal(pid, libc::SIGKILL);
            }
            for &pid in &orphans {
                let pid = i32::try_from(pid).unwrap_or(i32::MAX);
                // SAFETY: waitpid on one specific pid; ECHILD is harmless here.
                unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
            }
        }
        if let Some(dir) = self.dir.take() {
            RETIRED.lock().unwrap_or_else(|e| e.into_inner()).push(dir);
        }
        ONE_AT_A_TIME.store(false, Ordering::SeqCst);
    }
}

/// Sends `sig` to `pid`; a process already gone is not an error here.
pub fn signal(pid: u32, sig: libc::c_int) {
    let pid = i32::try_from(pid).unwrap_or_else(|_| panic!("pid {pid} out of range"));
    // SAFETY: kill only sends a signal.
    unsafe { libc::kill(pid, sig) };
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
