//! The crate embedded in a host program that has children of its own: the host's waits
//! must all succeed (we reap only our own children, through pidfds), supervised
//! programs must restart as configured, two supervisors must not see each other's
//! children, and dropping a supervisor must stop its programs.

mod support;

use std::time::{Duration, Instant};

use supervisor::config::{AutoRestart, Config, LogLevel, Program};
use supervisor::log::ActivityLog;
use supervisor::process::ProcessState;
use supervisor::rpc::server::Listeners;
use supervisor::supervisor::{Event, Handle, Options, Reaping, Supervisor};

fn options() -> Options {
    Options {
        reaping: Reaping::Owned,
        signals: false,
        source: None,
        environ: std::env::vars().collect(),
        activity: ActivityLog::new(LogLevel::Critical),
    }
}

fn start(config: Config) -> Supervisor {
    match Supervisor::start(config, options()) {
        Ok(s) => s,
        Err(e) => panic!("cannot start a supervisor: {e}"),
    }
}

fn config(scratch: &std::path::Path, programs: Vec<Program>) -> Config {
    let mut builder = Config::builder().childlogdir(scratch);
    for p in programs {
        builder = builder.program(p);
    }
    match builder.build() {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// Polls `handle` until `name` is in `state`, printing the last snapshot on failure.
async fn wait_state(handle: &Handle, name: &str, state: ProcessState) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    while Instant::now() < deadline {
        if let Ok(info) = handle.process_info(name).await {
            if info.state == state {
                return info.pid;
            }
            last = Some(info);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{name} never reached {state:?}; last seen: {last:?}");
}

fn pid_alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; only a reaped process is gone.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_children_and_supervised_restarts_coexist() {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let supervisor = start(config(
        scratch.path(),
        vec![
            Program::new("crasher", "sh -c 'sleep 0.2; exit 7'")
                .startsecs(0)
                .autorestart(AutoRestart::Always),
            Program::new("steady", "sleep 600"),
        ],
    ));
    let handle = supervisor.handle();
    let mut events = handle.subscribe();

    // The host's own children, waited with std and with tokio, while our core reaps.
    let mut waits = Vec::new();
    for i in 0..20 {
        waits.push(tokio::task::spawn_blocking(move || {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("sleep 0.0{}; exit {}", i % 5, i % 3))
                .status()
        }));
    }
    for i in 0..20 {
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exit {}", i % 4))
            .status()
            .await;
        assert_eq!(
            status.as_ref().map(|s| s.code()).ok(),
            Some(Some(i % 4)),
            "tokio::process wait {i}: {status:?}"
        );
    }
    for (i, wait) in waits.into_iter().enumerate() {
        let status = wait.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            status.as_ref().map(|s| s.code()).ok(),
            Some(Some((i % 3) as i32)),
            "std::process wait {i}: {status:?}"
        );
    }

    // The crasher restarts as configured: count its spawns through the event stream.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut restarts = 0;
    while restarts < 3 {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, events.recv()).await {
            Ok(Ok(Event::ProcessState {
                process,
                to: ProcessState::Starting,
                from: ProcessState::Exited,
                ..
            })) if process == "crasher" => restarts += 1,
            Ok(Ok(_)) => {}
            other => panic!("after {restarts} restarts: {other:?}"),
        }
    }
    wait_state(&handle, "steady", ProcessState::Running).await;
    let outcome = supervisor.shutdown(Duration::from_secs(10)).await;
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_supervisors_do_not_interfere_and_drop_stops_programs() {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let first = start(config(
        scratch.path(),
        vec![Program::new("one", "sleep 600")],
    ));
    let second = start(config(
        scratch.path(),
        vec![Program::new("two", "sleep 600")],
    ));
    let (h1, h2) = (first.handle(), second.handle());
    let pid_one = wait_state(&h1, "one", ProcessState::Running).await;
    let pid_two = wait_state(&h2, "two", ProcessState::Running).await;
    assert!(
        h1.process_info("two").await.is_err(),
        "each sees only its own programs"
    );

    // Killing one supervisor's child is noticed by that supervisor only.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid_one as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let respawned = {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let info = h1.process_info("one").await;
            if let Ok(info) = &info {
                if info.state == ProcessState::Running && info.pid != pid_one {
                    break info.pid;
                }
            }
            assert!(Instant::now() < deadline, "one was not restarted: {info:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    assert_eq!(wait_state(&h2, "two", ProcessState::Running).await, pid_two);

    drop(first);
    let deadline = Instant::now() + Duration::from_secs(20);
    while pid_alive(respawned) {
        assert!(
            Instant::now() < deadline,
            "dropping the supervisor left pid {respawned} running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(wait_state(&h2, "two", ProcessState::Running).await, pid_two);
    let outcome = second.shutdown(Duration::from_secs(10)).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(!pid_alive(pid_two));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_supervisorctl_talks_to_an_embedded_supervisor() {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let socket = scratch.path().join("embedded.sock");
    let config = Config::builder()
        .childlogdir(scratch.path())
        .unix_server(&socket)
        .program(Program::new("web", "sleep 600"))
        .program(Program::new("idle", "sleep 600").autostart(false))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let activity = ActivityLog::new(LogLevel::Critical);
    let interfaces = vec!["supervisor".to_string()];
    let listeners = Listeners::bind(&config.http_servers, &interfaces, &activity)
        .unwrap_or_else(|e| panic!("{e}"));
    let supervisor = start(config);
    let handle = supervisor.handle();
    let control = listeners.serve(handle.clone(), activity, interfaces);
    let pid = wait_state(&handle, "web", ProcessState::Running).await;

    let ctl = support::reference_venv().join("bin/supervisorctl");
    let url = format!("unix://{}", socket.display());
    let output = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(ctl);
        command.args(["-s", &url, "status"]);
        support::run_with_timeout(&mut command, Duration::from_secs(30))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        format!("idle                             STOPPED   Not started")
    );
    assert!(
        lines[1].starts_with(&format!(
            "web                              RUNNING   pid {pid}, uptime 0:00:"
        )),
        "{text}"
    );
    assert_eq!(
        output.status.code(),
        Some(3),
        "a STOPPED process makes status exit 3"
    );

    let outcome = supervisor.shutdown(Duration::from_secs(10)).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    control.stop().await;
}
