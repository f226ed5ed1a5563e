//! Plumbing for the control-plane tests: the pinned reference (pip `supervisor==4.3.0`
//! in `target/reference-venv`), daemons of both kinds run in the foreground in a temp
//! directory with a unix socket and a TCP port, raw HTTP over either transport, and
//! deadline-bound polling.
//!
//! Owns test plumbing only; the reference venv and polling come from the shared
//! `tests/support`.

#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

// Each test binary that includes this module uses only some of these.
#[allow(unused_imports)]
pub use crate::support::{describe_output as describe, manifest_dir, poll_until, reference_venv};

/// `fixtures/rpc`.
pub fn fixtures() -> PathBuf {
    manifest_dir().join("fixtures").join("rpc")
}

/// Which implementation a daemon is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Our `supervisord`.
    Ours,
    /// The pinned Python supervisord.
    Reference,
}

impl Kind {
    /// `ours` or `reference`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Reference => "reference",
        }
    }
}

/// A free TCP port on 127.0.0.1 (the listener is closed before the daemon binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A daemon running in the foreground in its own temp directory; killed on drop.
pub struct Daemon {
    /// Which implementation.
    pub kind: Kind,
    /// The directory holding the config, socket, logs.
    pub dir: tempfile::TempDir,
    /// The config file.
    pub conf: PathBuf,
    /// The inet port.
    pub port: u16,
    child: Option<Child>,
}

impl Daemon {
    /// Starts `kind` on the fixture config `conf_name` (copied with `extra` files from
    /// `fixtures/rpc` into a fresh directory, `RPC_TEST_PORT` set to a free port) and
    /// waits until its unix socket answers XML-RPC.
    pub fn start(kind: Kind, conf_name: &str, extra: &[&str]) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix(&format!("rpc-{}-", kind.label()))
            .tempdir()
            .expect("temp dir");
        for name in std::iter::once(&conf_name).chain(extra) {
            fs::copy(fixtures().join(name), dir.path().join(name))
                .unwrap_or_else(|e| panic!("copy {name}: {e}"));
        }
        Daemon::start_in(kind, dir, conf_name)
    }

    /// Starts `kind` on `dir/conf_name`, already written.
    pub fn start_in(kind: Kind, dir: tempfile::TempDir, conf_name: &str) -> Daemon {
        let conf = dir.path().join(conf_name);
        let port = free_port();
        let program = match kind {
            Kind::Ours => PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
            Kind::Reference => reference_venv().join("bin/supervisord"),
        };
        let log = |name: &str| File::create(dir.path().join(name)).expect("daemon output file");
        let child = Command::new(program)
            .arg("-n")
            .arg("-c")
            .arg(&conf)
            .env("RPC_TEST_PORT", port.to_string())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log("daemon.stdout"))
            .stderr(log("daemon.stderr"))
            .spawn()
            .expect("spawn supervisord");
        let mut daemon = Daemon {
            kind,
            dir,
            conf,
            port,
            child: Some(child),
        };
        daemon.wait_ready();
        daemon
    }

    /// The unix socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("supervisor.sock")
    }

    fn wait_ready(&mut self) {
        let transport = Transport::Unix(self.socket());
        let kind = self.kind;
        let child = &mut self.child;
        poll_until(
            Duration::from_secs(30),
            "the daemon's socket to answer",
            || {
                if let Some(Ok(Some(status))) = child.as_mut().map(Child::try_wait) {
                    panic!("{} daemon exited early: {status}", kind.label());
                }
                match http_request(&transport, &post_rpc("supervisor.getAPIVersion", "")) {
                    // Answered: the API version, or 401 when the server wants credentials.
                    Ok(r) if r.contains("3.0") || status_code(&r) == 401 => Ok(()),
                    other => Err(other),
                }
            },
        );
    }

    /// The daemon's own output so far, for failure messages.
    pub fn output(&self) -> String {
        let read = |n: &str| fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!(
            "--- {} stdout ---\n{}\n--- stderr ---\n{}",
            self.kind.label(),
            read("daemon.stdout"),
            read("daemon.stderr")
        )
    }

    /// Waits (with a deadline) for the daemon to exit by itself; its status code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let status = poll_until(timeout, "the daemon to exit", || match child.try_wait() {
            Ok(Some(status)) => Ok(status),
            other => Err(format!("{other:?}")),
        });
        status.code()
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM lets it stop its programs; SIGKILL if it does not go in time.
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// How to reach a daemon's HTTP server.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Its unix socket.
    Unix(PathBuf),
    /// 127.0.0.1:port.
    Tcp(u16),
}

/// An XML-RPC POST request for `method` with raw `<param>` XML, HTTP/1.0 so the server
/// closes the connection after answering.
pub fn post_rpc(method: &str, params: &str) -> String {
    let body = format!(
        "<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params>{params}</params></methodCall>"
    );
    format!(
        "POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Sends raw bytes and reads until the server closes (or 10 s pass).
pub fn http_request(transport: &Transport, request: &str) -> std::io::Result<String> {
    http_exchange(transport, request.as_bytes(), Duration::from_secs(10))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Sends raw bytes; reads until close or until `read_for` has passed.
pub fn http_exchange(
    transport: &Transport,
    request: &[u8],
    read_for: Duration,
) -> std::io::Result<Vec<u8>> {
    fn exchange<S: Read + Write>(
        mut s: S,
        request: &[u8],
        deadline: Instant,
    ) -> std::io::Result<Vec<u8>> {
        s.write_all(request)?;
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    if Instant::now() >= deadline {
                        return Ok(out);
                    }
                }
                // A server that answers early and closes resets what it did not read.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !out.is_empty() => {
                    return Ok(out)
                }
                Err(e) => return Err(e),
            }
        }
    }
    let deadline = Instant::now() + read_for;
    let tick = Some(Duration::from_millis(50));
    match transport {
        Transport::Unix(path) => {
            let s = std::os::unix::net::UnixStream::connect(path)?;
            s.set_read_timeout(tick)?;
            exchange(s, request, deadline)
        }
        Transport::Tcp(port) => {
            let s = std::net::TcpStream::connect(("127.0.0.1", *port))?;
            s.set_read_timeout(tick)?;
            exchange(s, request, deadline)
        }
    }
}

/// Sends raw bytes and returns what arrived up to the end of the response head (for
/// endless streams), or everything when the server closes first.
pub fn http_head(transport: &Transport, request: &str) -> std::io::Result<String> {
    fn head<S: Read + Write>(mut s: S, request: &[u8]) -> std::io::Result<String> {
        s.write_all(request)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(e),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
    let tick = Some(Duration::from_millis(50));
    match transport {
        Transport::Unix(path) => {
            let s = std::os::unix::net::UnixStream::connect(path)?;
            s.set_read_timeout(tick)?;
            head(s, request.as_bytes())
        }
        Transport::Tcp(port) => {
            let s = std::net::TcpStream::connect(("127.0.0.1", *port))?;
            s.set_read_timeout(tick)?;
            head(s, request.as_bytes())
        }
    }
}

/// The status code of a raw HTTP response.
pub fn status_code(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The value of header `name` (case-insensitive) in a raw response.
pub fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Runs the driver script `fixtures/rpc/<script>` with the reference's Python and
/// `args`; returns its output.
pub fn run_driver(script: &str, args: &[&str]) -> Output {
    Command::new(reference_venv().join("bin/python"))
        .arg(fixtures().join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"))
}
