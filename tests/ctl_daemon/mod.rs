//! A supervisord for client tests: started on a fixture in its own temp dir, answered
//! before use, stopped at the end (its programs with it); plus a probe for "settled"
//! process states.

#![allow(dead_code)]

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use supervisor::ctl::client::{Client, Settings};
use supervisor::rpc::xmlrpc::Value;

use crate::support;

/// Which supervisord serves the scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    /// The pinned Python supervisord.
    Reference,
    /// Our `supervisord` binary.
    Ours,
}

impl Daemon {
    pub fn binary(self) -> PathBuf {
        match self {
            Daemon::Reference => support::reference_venv().join("bin/supervisord"),
            Daemon::Ours => PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
        }
    }
}

/// A running daemon in its own directory; stopped (SIGTERM, then SIGKILL) and reaped on
/// drop.
pub struct RunningDaemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for RunningDaemon {
    fn drop(&mut self) {
        // SIGTERM lets the daemon stop its programs (a SIGKILL would leave them running,
        // orphaned); SIGKILL only when it has not exited in time.
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RunningDaemon {
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("supervisord.conf")
    }

    pub fn settings(&self) -> Settings {
        let text = fs::read_to_string(self.config()).unwrap_or_default();
        let serverurl = if text.contains("[inet_http_server]") {
            format!("http://127.0.0.1:{}", self.port)
        } else {
            format!("unix://{}/supervisor.sock", self.dir.path().display())
        };
        Settings {
            serverurl,
            username: Some("user".into()),
            password: Some("123".into()),
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("supervisord.log")).unwrap_or_default()
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ctl")
        .join(name)
}

pub fn write_config(dir: &Path, fixture_name: &str, port: u16) {
    let text = fs::read_to_string(fixture(fixture_name)).expect("read fixture");
    fs::write(
        dir.join("supervisord.conf"),
        text.replace("@PORT@", &port.to_string()),
    )
    .expect("write config");
}

pub fn start_daemon(daemon: Daemon, fixture_name: &str) -> RunningDaemon {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    write_config(dir.path(), fixture_name, port);
    let child = Command::new(daemon.binary())
        .arg("-n")
        .arg("-c")
        .arg(dir.path().join("supervisord.conf"))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervisord");
    let running = RunningDaemon { child, dir, port };
    let client = Client::new(running.settings());
    support::poll_until(Duration::from_secs(20), "the daemon to answer", || {
        client
            .call_until("supervisor.getState", &[], &|| false)
            .map(|_| ())
            .map_err(|e| format!("{e:?}; log:\n{}", running.log()))
    });
    running
}

/// Whether the daemon shows `expected` and nothing starting, backing off or stopping.
pub fn settled(running: &RunningDaemon, expected: &[(&str, &str)]) -> Result<(), String> {
    let client = Client::new(running.settings());
    let all = client
        .call_until("supervisor.getAllProcessInfo", &[], &|| false)
        .map_err(|e| format!("{e:?}"))?;
    let mut seen = Vec::new();
    for info in all.as_array().unwrap_or_default() {
        let text = |k: &str| info.member(k).and_then(Value::as_str).unwrap_or("");
        let group = text("group");
        let name = text("name");
        let ns = if group == name {
            name.to_string()
        } else {
            format!("{group}:{name}")
        };
        seen.push((ns, text("statename").to_string()));
    }
    let transitional = seen
        .iter()
        .any(|(_, s)| matches!(s.as_str(), "STARTING" | "BACKOFF" | "STOPPING"));
    let all_expected = expected
        .iter()
        .all(|(ns, state)| seen.iter().any(|(n, s)| n == ns && s == state));
    if transitional || !all_expected {
        return Err(format!("{seen:?}\nlog:\n{}", running.log()));
    }
    Ok(())
}
