//! `supervisor::os` against the real kernel: spawned children's fds, process group,
//! signal state, user, failure lines; reaping (owned in-process, global in a re-executed
//! copy of this binary); group kill; the daemon's signal queue; daemonize.
//!
//! Tests whose body would disturb other tests (waitpid(-1), signal handlers, fork-and-exit,
//! running as nobody) run in a child process: the launcher test re-executes this binary
//! with `--exact <body> --ignored` and an environment variable naming the body, and each
//! body refuses to run without it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use supervisor::os::reap::{Reaped, Reaper};
use supervisor::os::spawn::{SpawnSpec, Spawned};
use supervisor::os::{self, DaemonSignal, ResolvedCommand, SignalReceiver};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc::UnboundedReceiver;

const BODY_ENV: &str = "SUPERVISOR_OS_TEST_BODY";
const DEADLINE: Duration = Duration::from_secs(20);
const NOT_SPAWNED: &str = "supervisor: child process was not spawned\n";

// ---------------------------------------------------------------- helpers

fn command(words: &[&str]) -> ResolvedCommand {
    let line = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    os::resolve(&line, Some("/bin:/usr/bin")).expect("test command resolves")
}

fn spec(name: &str, words: &[&str]) -> SpawnSpec {
    SpawnSpec::new(name, &command(words), [("PATH", "/bin:/usr/bin")]).expect("spec")
}

async fn read_all(fd: OwnedFd) -> String {
    let mut pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(fd).expect("pipe receiver");
    let mut bytes = Vec::new();
    tokio::time::timeout(DEADLINE, pipe.read_to_end(&mut bytes))
        .await
        .expect("pipe reached EOF before the deadline")
        .expect("read pipe");
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn next_event(events: &mut UnboundedReceiver<Reaped>) -> Reaped {
    tokio::time::timeout(DEADLINE, events.recv())
        .await
        .expect("a reap event before the deadline")
        .expect("reaper channel open")
}

async fn exit_of(events: &mut UnboundedReceiver<Reaped>, pid: i32) -> i32 {
    match next_event(events).await {
        Reaped::Child { pid: got, status } if got == pid => status,
        other => panic!("expected the end of pid {pid}, got {other:?}"),
    }
}

/// Poll `probe` until it returns `Some`, failing with the last observation.
fn poll<T>(what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match probe() {
            Ok(value) => return value,
            Err(seen) if start.elapsed() > DEADLINE => panic!("{what}: last seen {seen}"),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn wait_for_exec(pid: i32, program: &str) {
    poll(&format!("pid {pid} execs {program}"), || {
        let comm =
            std::fs::read_to_string(format!("/proc/{pid}/comm")).map_err(|e| e.to_string())?;
        (comm.trim() == program).then_some(()).ok_or(comm)
    });
}

fn proc_status(pid: i32) -> BTreeMap<String, String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("read /proc status")
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn open_fds(pid: i32) -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    fds
}

fn exited_with(status: i32, code: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == code
}

fn killed_by(status: i32, signal: i32) -> bool {
    libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == signal
}

/// Run `spec` to completion: (stdout, stderr, raw status).
async fn run(
    reaper: &Reaper,
    events: &mut UnboundedReceiver<Reaped>,
    spec: &SpawnSpec,
) -> (String, String, i32) {
    let Spawned {
        pid,
        stdin,
        stdout,
        stderr,
    } = reaper.spawn(spec).expect("spawn");
    drop(stdin);
    let stdout = read_all(stdout).await;
    let stderr = match stderr {
        Some(fd) => read_all(fd).await,
        None => String::new(),
    };
    (stdout, stderr, exit_of(events, pid).await)
}

fn run_body(body: &str, env: &[(&str, &str)], uid: Option<u32>) -> Output {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe);
    child
        .args(["--exact", body, "--ignored", "--test-threads=1"])
        .env(BODY_ENV, body)
        .envs(env.iter().copied());
    if let Some(uid) = uid {
        std::os::unix::process::CommandExt::uid(&mut child, uid);
        std::os::unix::process::CommandExt::gid(&mut child, uid);
    }
    child.output().expect("re-execute the test binary")
}

fn assert_body_passed(body: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(&format!("test {body} ... ok")),
        "{body} failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
}

fn require_body(body: &str) {
    assert_eq!(
        std::env::var(BODY_ENV).as_deref(),
        Ok(body),
        "this body runs only through its launcher test"
    );
}

// ---------------------------------------------------------------- child setup

#[tokio::test]
async fn child_has_only_stdio_its_own_group_and_clean_signal_state() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    // Disturb what a child could inherit: SIGUSR1 ignored process-wide, SIGUSR2 blocked
    // in the forking thread (this current-thread runtime's), SIGPIPE already ignored by
    // the Rust runtime.
    unsafe {
        libc::signal(libc::SIGUSR1, libc::SIG_IGN);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let leaked = std::fs::File::open("/dev/null").expect("an extra fd in the parent");
    let spawned = reaper
        .spawn(&spec("sleeper", &["sleep", "30"]))
        .expect("spawn");
    let pid = spawned.pid;
    wait_for_exec(pid, "sleep");

    // The dynamic loader opens and closes files right after exec; an inherited fd
    // would stay for good.
    poll(&format!("pid {pid} holds only fds 0, 1, 2"), || {
        let fds = open_fds(pid);
        (fds == [0, 1, 2]).then_some(()).ok_or(format!("{fds:?}"))
    });
    assert_eq!(
        unsafe { libc::getpgid(pid) },
        pid,
        "leads its own process group"
    );
    assert_eq!(
        unsafe { libc::getsid(pid) },
        unsafe { libc::getsid(0) },
        "same session"
    );
    let status = proc_status(pid);
    assert_eq!(status["SigIgn"], "0000000000000000");
    assert_eq!(status["SigBlk"], "0000000000000000");
    drop(leaked);

    os::kill(pid, libc::SIGKILL, false).expect("kill");
    let status = exit_of(&mut events, pid).await;
    assert!(killed_by(status, libc::SIGKILL), "status {status:#x}");
}

#[tokio::test]
async fn python_ignored_signals_can_be_reproduced() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let spec = spec("sleeper", &["sleep", "30"]).ignore_signals(&[libc::SIGPIPE, libc::SIGXFSZ]);
    let pid = reaper.spawn(&spec).expect("spawn").pid;
    wait_for_exec(pid, "sleep");
    assert_eq!(proc_status(pid)["SigIgn"], "0000000001001000");
    os::kill(pid, libc::SIGKILL, true).expect("kill");
    exit_of(&mut events, pid).await;
}

#[tokio::test]
async fn environment_directory_and_umask_are_applied() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_text = dir.path().to_str().expect("utf-8 temp path");
    let command = command(&["sh", "-c", "pwd; umask; env | sort"]);
    let spec = SpawnSpec::new(
        "envy",
        &command,
        [("PATH", "/bin:/usr/bin"), ("FOO", "b a r")],
    )
    .expect("spec")
    .directory(dir_text)
    .expect("directory")
    .umask(0o027);
    let (stdout, stderr, status) = run(&reaper, &mut events, &spec).await;
    assert!(
        exited_with(status, 0),
        "status {status:#x}, stderr {stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], dir_text);
    assert_eq!(lines[1], "0027");
    // Exactly our environment plus what sh itself sets (PWD; dash sets nothing else).
    let env: Vec<&str> = lines[2..]
        .iter()
        .copied()
        .filter(|l| !l.starts_with("PWD="))
        .collect();
    assert_eq!(env, ["FOO=b a r", "PATH=/bin:/usr/bin"]);
}

#[tokio::test]
async fn stdin_pipe_and_redirect_stderr() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let spec = spec("merge", &["sh", "-c", "cat; echo err >&2"]).redirect_stderr(true);
    let Spawned {
        pid,
        stdin,
        stdout,
        stderr,
    } = reaper.spawn(&spec).expect("spawn");
    assert!(stderr.is_none(), "no stderr pipe when redirected");
    let mut stdin = tokio::net::unix::pipe::Sender::from_owned_fd(stdin.expect("stdin pipe"))
        .expect("pipe sender");
    stdin.write_all(b"hello\n").await.expect("write stdin");
    drop(stdin);
    assert_eq!(read_all(stdout).await, "hello\nerr\n");
    assert!(exited_with(exit_of(&mut events, pid).await, 0));
}

#[tokio::test]
async fn fcgi_socket_becomes_stdin() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = os::fcgi::create_socket(&supervisor::config::FcgiSocket {
        url: format!("unix://{}/app.sock", dir.path().display()),
        backlog: None,
        owner: None,
        mode: None,
    })
    .expect("fcgi socket");
    let spec = spec("fcgi", &["stat", "-L", "-c", "%F", "/proc/self/fd/0"])
        .stdin_socket(std::sync::Arc::new(socket));
    let spawned = reaper.spawn(&spec).expect("spawn");
    assert!(spawned.stdin.is_none(), "no stdin pipe with an fcgi socket");
    assert_eq!(read_all(spawned.stdout).await, "socket\n");
    assert!(exited_with(exit_of(&mut events, spawned.pid).await, 0));
}

// ---------------------------------------------------------------- child-side failures

#[tokio::test]
async fn exec_failures_write_the_reference_lines() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("noshebang");
    std::fs::write(&script, [0x7f, b'X', b'Y', b'Z', 0, 1, 2, 3]).expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cases = [
        (
            ResolvedCommand {
                filename: script.clone(),
                argv: vec!["noshebang".into(), "arg".into()],
            },
            "supervisor: couldn't exec noshebang: ENOEXEC\n",
        ),
        (
            ResolvedCommand {
                filename: dir.path().join("vanished"),
                argv: vec!["vanished".into()],
            },
            "supervisor: couldn't exec vanished: ENOENT\n",
        ),
    ];
    for (command, line) in cases {
        let no_env: [(&str, &str); 0] = [];
        let spec = SpawnSpec::new("broken", &command, no_env).expect("spec");
        let (stdout, stderr, status) = run(&reaper, &mut events, &spec).await;
        assert_eq!(stdout, "");
        assert_eq!(stderr, format!("{line}{NOT_SPAWNED}"));
        assert!(exited_with(status, 127), "status {status:#x}");
    }
}

#[tokio::test]
async fn chdir_failure_writes_the_reference_lines() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let spec = spec("lost", &["true"])
        .directory("/nonexistent/dir")
        .expect("directory")
        .redirect_stderr(true);
    let (stdout, _, status) = run(&reaper, &mut events, &spec).await;
    assert_eq!(
        stdout,
        format!("supervisor: couldn't chdir to /nonexistent/dir: ENOENT\n{NOT_SPAWNED}")
    );
    assert!(exited_with(status, 127), "status {status:#x}");
}

// ---------------------------------------------------------------- user=

#[tokio::test]
async fn user_switch_takes_uid_gid_and_groups() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let nobody = nix::unistd::User::from_name("nobody")
        .expect("passwd")
        .expect("a nobody user");
    let uid = nobody.uid.as_raw();
    if !nix::unistd::getuid().is_root() {
        let spec = spec("as-nobody", &["true"]).user(uid);
        let (_, stderr, status) = run(&reaper, &mut events, &spec).await;
        assert_eq!(
            stderr,
            format!("supervisor: couldn't setuid to {uid}: Can't drop privilege as nonroot user\n{NOT_SPAWNED}")
        );
        assert!(exited_with(status, 127));
        return;
    }
    let credentials = os::credentials_for_uid(uid).expect("credentials");
    let pid = reaper
        .spawn(&spec("as-nobody", &["sleep", "30"]).user(uid))
        .expect("spawn")
        .pid;
    wait_for_exec(pid, "sleep");
    let status = proc_status(pid);
    let gid = credentials.gid;
    assert_eq!(status["Uid"], format!("{uid}\t{uid}\t{uid}\t{uid}"));
    assert_eq!(status["Gid"], format!("{gid}\t{gid}\t{gid}\t{gid}"));
    let groups: HashSet<u32> = status["Groups"]
        .split_whitespace()
        .map(|g| g.parse().expect("gid"))
        .collect();
    assert_eq!(
        groups,
        credentials.groups.iter().copied().collect::<HashSet<_>>()
    );
    os::kill(pid, libc::SIGKILL, false).expect("kill");
    exit_of(&mut events, pid).await;

    // Privileges are dropped before chdir, so a root-only directory is refused.
    let private = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod");
    let dir_text = private.path().to_str().expect("utf-8");
    let spec = spec("as-nobody", &["true"])
        .user(uid)
        .directory(dir_text)
        .expect("dir");
    let (_, stderr, status) = run(&reaper, &mut events, &spec).await;
    assert_eq!(
        stderr,
        format!("supervisor: couldn't chdir to {dir_text}: EACCES\n{NOT_SPAWNED}")
    );
    assert!(exited_with(status, 127));
}

#[tokio::test]
async fn unknown_uid_is_reported_by_the_child() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let spec = spec("ghost", &["true"]).user(4_000_000_000);
    let (_, stderr, status) = run(&reaper, &mut events, &spec).await;
    assert_eq!(
        stderr,
        format!(
            "supervisor: couldn't setuid to 4000000000: Can't find uid 4000000000\n{NOT_SPAWNED}"
        )
    );
    assert!(exited_with(status, 127));
}

#[test]
fn no_permission_is_checked_with_the_real_uid() {
    if !nix::unistd::getuid().is_root() {
        // As a normal user the check is the plain access(2) the unit tests exercise.
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let tool = dir.path().join("root-only");
    std::fs::write(&tool, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let body = "no_permission_body";
    let tool_text = tool.to_str().expect("utf-8");
    assert_body_passed(body, &run_body(body, &[("TOOL", tool_text)], Some(65534)));
}

#[test]
#[ignore = "runs as nobody through no_permission_is_checked_with_the_real_uid"]
fn no_permission_body() {
    require_body("no_permission_body");
    let tool = std::env::var("TOOL").expect("TOOL");
    let err = os::resolve(&tool, None).expect_err("nobody may not run it");
    assert_eq!(
        err.to_string(),
        format!("no permission to run command '{tool}'")
    );
    assert!(!err.is_not_found());
}

// ---------------------------------------------------------------- kill

#[tokio::test]
async fn group_kill_reaches_a_grandchild() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let spawned = reaper
        .spawn(&spec("family", &["sh", "-c", "sleep 300 & echo $!; wait"]))
        .expect("spawn");
    let stdout = tokio::net::unix::pipe::Receiver::from_owned_fd(spawned.stdout).expect("pipe");
    let mut line = String::new();
    tokio::time::timeout(DEADLINE, BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("grandchild pid before the deadline")
        .expect("read");
    let grandchild: i32 = line.trim().parse().expect("pid");
    wait_for_exec(grandchild, "sleep");
    assert_eq!(
        unsafe { libc::getpgid(grandchild) },
        spawned.pid,
        "same group"
    );

    os::kill(spawned.pid, libc::SIGTERM, true).expect("group kill");
    let status = exit_of(&mut events, spawned.pid).await;
    assert!(killed_by(status, libc::SIGTERM), "status {status:#x}");
    poll(
        &format!("grandchild {grandchild} dies"),
        || match std::fs::read_to_string(format!("/proc/{grandchild}/stat")) {
            Err(_) => Ok(()),
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z')) =>
            {
                Ok(())
            }
            Ok(stat) => Err(stat),
        },
    );
    assert_eq!(
        os::kill(spawned.pid, 0, false),
        Err(nix::errno::Errno::ESRCH)
    );
}

// ---------------------------------------------------------------- owned reaper

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_reaper_leaves_the_hosts_children_alone() {
    let (reaper, mut events) = Reaper::owned().expect("owned reaper");
    let mut ours = HashMap::new();
    let mut theirs = Vec::new();
    for code in 0..20 {
        let spawned = reaper
            .spawn(&spec("ours", &["sh", "-c", &format!("exit {code}")]))
            .expect("spawn");
        ours.insert(spawned.pid, code);
        theirs.push((
            code,
            Command::new("sh")
                .args(["-c", &format!("exit {code}")])
                .spawn()
                .expect("host child"),
        ));
    }
    for (code, mut child) in theirs {
        let status = child.wait().expect("the host still waits its own children");
        assert_eq!(status.code(), Some(code));
    }
    while !ours.is_empty() {
        match next_event(&mut events).await {
            Reaped::Child { pid, status } => {
                let code = ours
                    .remove(&pid)
                    .unwrap_or_else(|| panic!("unexpected pid {pid}"));
                assert!(
                    exited_with(status, code),
                    "pid {pid} status {status:#x} want {code}"
                );
            }
            other => panic!("owned reaper reported {other:?}; still waiting for {ours:?}"),
        }
    }
}

// ---------------------------------------------------------------- global reaper

#[test]
fn global_reaper_collects_everything_in_its_own_process() {
    let body = "global_reaper_body";
    assert_body_passed(body, &run_body(body, &[], None));
}

#[test]
#[ignore = "runs in a child process through global_reaper_collects_everything_in_its_own_process"]
fn global_reaper_body() {
    require_body("global_reaper_body");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        os::daemon::set_child_subreaper().expect("subreaper");
        let (reaper, mut events) = Reaper::global().expect("global reaper");
        let second = Reaper::global().expect_err("one global reaper per process");
        assert_eq!(second.kind(), std::io::ErrorKind::AlreadyExists);

        // Children of ours, started from several threads at once and exiting at once.
        let starters: Vec<_> = (0..3)
            .map(|thread| {
                let reaper = reaper.clone();
                std::thread::spawn(move || {
                    (0..30)
                        .map(|i| {
                            let code = (thread * 30 + i) % 7;
                            let spec = spec("quick", &["sh", "-c", &format!("exit {code}")]);
                            (reaper.spawn(&spec).expect("spawn").pid, code)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut expected: HashMap<i32, i32> = starters
            .into_iter()
            .flat_map(|t| t.join().expect("starter thread"))
            .collect();

        // A child we did not start through the reaper.
        let stranger = Command::new("true").spawn().expect("stranger").id() as i32;
        // An orphan re-parented to us, the subreaper.
        let family = reaper
            .spawn(&spec("family", &["sh", "-c", "sleep 0.3 & echo $!"]))
            .expect("spawn");
        let pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(family.stdout).expect("pipe");
        let mut line = String::new();
        BufReader::new(pipe)
            .read_line(&mut line)
            .await
            .expect("read");
        let orphan: i32 = line.trim().parse().expect("orphan pid");
        expected.insert(family.pid, 0);

        let mut unknown: HashSet<i32> = [stranger, orphan].into();
        while !expected.is_empty() || !unknown.is_empty() {
            match next_event(&mut events).await {
                Reaped::Child { pid, status } => {
                    let code = expected
                        .remove(&pid)
                        .unwrap_or_else(|| panic!("unexpected child {pid}"));
                    assert!(exited_with(status, code), "pid {pid} status {status:#x}");
                }
                Reaped::Unknown { pid, status } => {
                    assert!(unknown.remove(&pid), "unexpected unknown pid {pid}");
                    assert!(exited_with(status, 0), "pid {pid} status {status:#x}");
                }
                Reaped::Lost { pid } => panic!("global reaper lost {pid}"),
            }
        }
    });
}

// ---------------------------------------------------------------- daemon signals

#[test]
fn signal_queue_coalesces_and_keeps_arrival_order() {
    let body = "signal_queue_body";
    assert_body_passed(body, &run_body(body, &[], None));
}

#[test]
#[ignore = "runs in a child process through signal_queue_coalesces_and_keeps_arrival_order"]
fn signal_queue_body() {
    require_body("signal_queue_body");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut receiver = SignalReceiver::install().expect("install");
        let second = SignalReceiver::install().expect_err("only one receiver");
        assert_eq!(second.kind(), std::io::ErrorKind::AlreadyExists);

        // raise() delivers to this thread before it returns.
        for signal in [
            libc::SIGHUP,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGCHLD,
            libc::SIGCHLD,
            libc::SIGUSR2,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGTERM,
        ] {
            assert_eq!(unsafe { libc::raise(signal) }, 0);
        }
        let mut received = Vec::new();
        while let Some(signal) = receiver.try_recv() {
            received.push(signal);
        }
        use DaemonSignal::*;
        assert_eq!(received, [Hup, Term, Chld, Usr2, Int, Quit]);

        // A signal from another thread wakes a waiting receiver.
        let sender = std::thread::spawn(|| unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) });
        let got = tokio::time::timeout(DEADLINE, receiver.recv())
            .await
            .expect("woken before the deadline")
            .expect("recv");
        assert_eq!(got, Usr2);
        assert_eq!(sender.join().expect("sender"), 0);
        assert_eq!(receiver.try_recv(), None);
    });
}

// ---------------------------------------------------------------- daemonize

#[test]
fn daemonize_detaches_and_reports_like_the_reference() {
    let body = "daemonize_body";
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (dir.path().to_str().expect("utf-8").to_string(), true),
        ("/nonexistent/dir".to_string(), false),
    ];
    for (index, (directory, exists)) in cases.into_iter().enumerate() {
        let marker = dir.path().join(format!("marker-{index}"));
        let marker_text = marker.to_str().expect("utf-8");
        let output = run_body(
            body,
            &[("DIRECTORY", &directory), ("MARKER", marker_text)],
            None,
        );
        assert!(output.status.success(), "the parent exits 0: {output:?}");
        let report = poll("the daemon writes its marker", || {
            let text = std::fs::read_to_string(&marker).map_err(|e| e.to_string())?;
            text.ends_with("end\n").then_some(text.clone()).ok_or(text)
        });
        let report: BTreeMap<&str, &str> =
            report.lines().filter_map(|l| l.split_once('=')).collect();
        assert_eq!(report["session_leader"], "true", "{report:?}");
        assert_eq!(
            report["stdio"], "/dev/null /dev/null /dev/null",
            "{report:?}"
        );
        assert_eq!(report["umask"], "0o27", "{report:?}");
        assert_eq!(
            report["notice0"],
            "INFO daemonizing the supervisord process"
        );
        if exists {
            assert_eq!(report["cwd"], directory);
            assert_eq!(
                report["notice1"],
                format!("INFO set current directory: '{directory}'")
            );
        } else {
            assert_eq!(
                report["notice1"],
                "CRIT can't chdir into '/nonexistent/dir': [Errno 2] No such file or directory: \
                 '/nonexistent/dir'"
            );
        }
    }
}

#[test]
#[ignore = "forks away through daemonize_detaches_and_reports_like_the_reference"]
fn daemonize_body() {
    require_body("daemonize_body");
    let directory = std::env::var("DIRECTORY").expect("DIRECTORY");
    let marker = std::env::var("MARKER").expect("MARKER");
    let notices = os::daemon::daemonize(Some(&directory), 0o027).expect("daemonize");
    // Only the daemon gets here; report and leave without returning into the harness,
    // whose other threads did not survive the fork.
    let mut report = String::new();
    let pid = unsafe { libc::getpid() };
    report += &format!("session_leader={}\n", unsafe { libc::getsid(0) } == pid);
    let stdio: Vec<String> = (0..3)
        .map(|fd| {
            std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    report += &format!("stdio={}\n", stdio.join(" "));
    let mask = unsafe { libc::umask(0) };
    report += &format!("umask={mask:#o}\n");
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    report += &format!("cwd={cwd}\n");
    for (i, notice) in notices.iter().enumerate() {
        report += &format!("notice{i}={} {}\n", notice.level.code(), notice.text);
    }
    report += "end\n";
    let written = std::fs::write(Path::new(&marker), report).is_ok();
    unsafe { libc::_exit(if written { 0 } else { 1 }) };
}

// ---------------------------------------------------------------- parent-side failures

#[test]
fn fd_exhaustion_is_too_many_open_files() {
    let body = "fd_exhaustion_body";
    assert_body_passed(body, &run_body(body, &[], None));
}

#[test]
#[ignore = "lowers RLIMIT_NOFILE in a child process through fd_exhaustion_is_too_many_open_files"]
fn fd_exhaustion_body() {
    require_body("fd_exhaustion_body");
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("getrlimit");
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, 64, hard)
        .expect("setrlimit");
    let mut hoard = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        hoard.push(file);
    }
    // One free slot: the first pipe fits, the second does not.
    hoard.pop();
    let before = open_fds(std::process::id() as i32);
    let err = os::spawn(&spec("greedy", &["true"])).expect_err("no fds left");
    assert_eq!(err.to_string(), "too many open files to spawn 'greedy'");
    assert_eq!(
        open_fds(std::process::id() as i32),
        before,
        "nothing leaked"
    );
}
