//! The daemon as a whole (processes.md §8, §10): SIGHUP restart, SIGTERM shutdown with many
//! children, SIGUSR2 log reopen, 200 crash-looping programs, PID 1 in a new PID namespace
//! and `--subreaper`.

#[allow(dead_code)]
mod engine_support;

use std::fs;
use std::time::Instant;

use engine_support::{alive, proc_stat, render, spawned_pids, Daemon, Impl, Setup};
use serde_json::json;

fn is_root() -> bool {
    // SAFETY: getuid(2) has no preconditions.
    unsafe { libc::getuid() == 0 }
}

fn sleepers(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("[program:{prefix}{i:03}]\ncommand=/bin/sleep 300\nstartsecs=0\n\n"))
        .collect()
}

#[test]
fn sighup_restarts_in_the_same_process_with_the_new_config() {
    let d = Daemon::start(&format!(
        "{}{}",
        sleepers("kept", 1),
        "[program:dropped]\ncommand=/bin/sleep 300\nstartsecs=0\n"
    ));
    let kept = d.wait_state("kept000", "RUNNING").pid;
    let dropped = d.wait_state("dropped", "RUNNING").pid;
    let text = fs::read_to_string(&d.conf).expect("read config");
    let text = text.replace("[program:dropped]", "[program:added]");
    fs::write(&d.conf, text).expect("rewrite config");
    d.signal(libc::SIGHUP);
    d.wait_line("received SIGHUP indicating restart request");
    let added = d.wait_state("added", "RUNNING").pid;
    let new_kept = d.wait_state("kept000", "RUNNING").pid;
    let lines = d.lines();
    let log = render(&lines);
    assert_ne!(new_kept, kept, "every program restarts\n{log}");
    assert!(!alive(kept) && !alive(dropped), "{log}");
    assert!(d
        .try_infos()
        .is_some_and(|m| !m.contains_key("dropped:dropped")));
    let started = format!("supervisord started with pid {}", d.pid);
    assert_eq!(
        lines.iter().filter(|l| l.msg == started).count(),
        2,
        "same pid twice\n{log}"
    );
    assert_eq!(spawned_pids(&lines, "added"), vec![added]);
    let pidfile = fs::read_to_string(&d.pidfile).unwrap_or_default();
    assert_eq!(pidfile, format!("{}\n", d.pid));
}

#[test]
fn sigterm_with_50_children_stops_them_all_and_cleans_up() {
    let mut d = Daemon::start(&sleepers("s", 50));
    let pids: Vec<i32> = d.poll("50 RUNNING processes", || {
        let infos = d.try_infos()?;
        let running: Vec<i32> = infos
            .values()
            .filter(|i| i.state == "RUNNING")
            .map(|i| i.pid)
            .collect();
        (running.len() == 50).then_some(running)
    });
    assert!(d.pidfile.exists() && d.sock.exists());
    d.signal(libc::SIGTERM);
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", d.dump());
    let lines = d.lines();
    let log = render(&lines);
    for i in 0..50 {
        let want = format!("stopped: s{i:03} (terminated by SIGTERM)");
        assert_eq!(
            lines.iter().filter(|l| l.msg == want).count(),
            1,
            "{want}\n{log}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.msg == "received SIGTERM indicating exit request"),
        "{log}"
    );
    let left: Vec<i32> = pids.into_iter().filter(|p| alive(*p)).collect();
    assert!(left.is_empty(), "still alive: {left:?}");
    assert!(!d.pidfile.exists(), "pidfile removed");
    assert!(!d.sock.exists(), "socket removed");
}

#[test]
fn sigusr2_reopens_the_activity_log_and_the_child_logs() {
    let d = Daemon::start(
        "[program:talker]\n\
         command=/bin/sh -c \"while :; do echo tick; sleep 0.1; done\"\n\
         stdout_logfile=%(here)s/talker.log\n\
         stopasgroup=true\n\
         startsecs=0\n",
    );
    d.wait_state("talker", "RUNNING");
    let talker = d.path().join("talker.log");
    d.poll("talker output", || {
        (fs::metadata(&talker).ok()?.len() > 0).then_some(())
    });
    let old_log = d.path().join("activity.log.old");
    let old_talker = d.path().join("talker.log.old");
    fs::rename(&d.log, &old_log).expect("rename activity.log");
    fs::rename(&talker, &old_talker).expect("rename talker.log");
    d.signal(libc::SIGUSR2);
    d.poll("a new talker.log with output", || {
        fs::read_to_string(&talker)
            .ok()?
            .contains("tick")
            .then_some(())
    });
    assert_eq!(
        d.call("supervisor.stopProcess", &[json!("talker")]),
        json!(true)
    );
    d.wait_line("stopped: talker");
    let both = format!(
        "{}{}",
        fs::read_to_string(&old_log).unwrap_or_default(),
        d.log_text()
    );
    assert!(
        both.contains("INFO received SIGUSR2 indicating log reopen request"),
        "{both}"
    );
    assert!(both.contains("INFO supervisord logreopen"), "{both}");
    let old = fs::read_to_string(&old_log).unwrap_or_default();
    assert!(
        !old.contains("stopped: talker"),
        "later lines go to the new file\n{old}"
    );
}

/// utime + stime of a pid, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    proc_stat(pid)
        .map(|s| s[11].parse::<u64>().unwrap_or(0) + s[12].parse::<u64>().unwrap_or(0))
        .unwrap_or(0)
}

#[test]
fn two_hundred_crash_looping_programs_leave_the_daemon_responsive() {
    let programs: String = (0..200)
        .map(|i| {
            format!("[program:crash{i:03}]\ncommand=/bin/sh -c \"exit 1\"\nstartretries=1000\n\n")
        })
        .collect();
    let d = Setup::new(Impl::under_test(), &programs)
        .global("loglevel=info")
        .start();
    d.poll("200 programs spawned", || {
        (d.count("spawned: 'crash") >= 200).then_some(())
    });
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let ticks = cpu_ticks(d.pid);
    let spawns = d.count("spawned: 'crash");
    let began = Instant::now();
    let mut latencies = Vec::new();
    while began.elapsed().as_secs_f64() < 5.0 {
        let asked = Instant::now();
        let out = d.ctl(&["status"]);
        latencies.push(asked.elapsed().as_secs_f64());
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.lines().filter(|l| l.starts_with("crash")).count(),
            200,
            "supervisorctl status answers for all 200 ({:?})\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let secs = began.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(d.pid) - ticks) as f64 / hz / secs * 100.0;
    let spawned = d.count("spawned: 'crash") - spawns;
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "FIGURES {:?}: 200 crash-looping programs: daemon CPU {cpu:.1}% of one core over {secs:.1} s, \
         {spawned} spawns in that window, {} supervisorctl status calls, latency median {:.0} ms, max {:.0} ms",
        d.which,
        latencies.len(),
        latencies[latencies.len() / 2] * 1000.0,
        latencies[latencies.len() - 1] * 1000.0
    );
}

// ---------------------------------------------------------------- PID 1 and subreaper

#[test]
fn as_pid_1_it_reaps_orphans_and_exits_0_on_sigterm() {
    if !is_root() {
        eprintln!("SKIPPED LOUDLY: unshare --pid needs root; PID 1 behaviour is untested here");
        return;
    }
    let mut d = Setup::new(
        Impl::under_test(),
        "[program:orphans]\ncommand={fx}/orphans.sh 100 0.5\nstartsecs=0\nautorestart=false\n\n\
         [program:long]\ncommand=/bin/sleep 300\nstartsecs=0\n",
    )
    .pid1()
    .start();
    d.wait_state("orphans", "EXITED");
    // pids in RPC answers and log lines are the namespace's own; the host sees others.
    d.wait_state("long", "RUNNING");
    let reaped = d.wait_count("reaped unknown pid ", 100);
    for line in &reaped {
        assert!(
            line.msg.ends_with(" (exit status 0)") && line.level == "INFO",
            "{}",
            line.msg
        );
    }
    let daemon = d.pid;
    let zombies = || -> Vec<i32> {
        fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|p| proc_stat(*p).is_some_and(|s| s[0] == "Z" && s[1] == daemon.to_string()))
            .collect()
    };
    d.poll("no zombie children of PID 1", || {
        zombies().is_empty().then_some(())
    });
    d.signal(libc::SIGTERM);
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", d.dump());
    assert_eq!(
        d.count("stopped: long (terminated by SIGTERM)"),
        1,
        "{}",
        d.dump()
    );
    assert!(
        d.tagged_pids().is_empty(),
        "everything in the namespace is gone"
    );
}

#[test]
fn subreaper_reaps_a_daemonizing_grandchild() {
    let d = Setup::new(
        Impl::Ours,
        "[program:daemonizer]\ncommand=python3 {fx}/daemonize.py %(here)s/grandchild.pid 0.5\n\
         startsecs=0\nautorestart=false\n",
    )
    .arg("--subreaper")
    .start();
    let file = d.path().join("grandchild.pid");
    let grandchild: i32 = d.poll("the grandchild's pid", || {
        fs::read_to_string(&file).ok()?.trim().parse().ok()
    });
    d.wait_state("daemonizer", "EXITED");
    let line = d.wait_line(&format!("reaped unknown pid {grandchild}"));
    assert_eq!(
        line.msg,
        format!("reaped unknown pid {grandchild} (exit status 0)")
    );
    assert_eq!(line.level, "INFO");
}

#[test]
fn shutdown_gives_up_backoff_processes_without_signalling_them() {
    let mut d = Setup::new(
        Impl::under_test(),
        "[program:flappy]\ncommand={fx}/quick_exit.sh 1\nstartretries=5\n\n\
         [program:steady]\ncommand=/bin/sleep 300\nstartsecs=0\n",
    )
    .start();
    d.wait_state("steady", "RUNNING");
    // After its second failure flappy waits 2 s in BACKOFF.
    d.wait_count("exited: flappy (", 2);
    assert_eq!(d.info("flappy").state, "BACKOFF", "{}", d.dump());
    d.signal(libc::SIGTERM);
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", d.dump());
    let lines = d.lines();
    let log = render(&lines);
    assert_eq!(
        spawned_pids(&lines, "flappy").len(),
        2,
        "no retry during shutdown\n{log}"
    );
    assert!(
        !lines.iter().any(|l| l.msg.starts_with("killing flappy")
            || l.msg.starts_with("Attempted to kill flappy")),
        "a BACKOFF process is given up, not signalled\n{log}"
    );
    assert_eq!(
        d.count("stopped: steady (terminated by SIGTERM)"),
        1,
        "{log}"
    );
}

#[test]
fn during_shutdown_sighup_is_ignored_and_rpc_answers_shutdown_state() {
    let mut d = Daemon::start(
        "[program:slow]\ncommand={fx}/slow_term.sh 2\nstartsecs=0\nstopasgroup=true\n",
    );
    d.wait_state("slow", "RUNNING");
    d.signal(libc::SIGTERM);
    d.wait_line("received SIGTERM indicating exit request");
    d.signal(libc::SIGHUP);
    d.wait_line("ignored SIGHUP indicating restart request (shutdown in progress)");
    let fault = d.rpc("supervisor.getAllProcessInfo", &[]);
    assert_eq!(
        fault,
        Err::<serde_json::Value, _>((6, "SHUTDOWN_STATE".to_string()))
    );
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", d.dump());
    assert_eq!(d.count("stopped: slow (exit status 0)"), 1, "{}", d.dump());
    assert_eq!(
        d.count("supervisord started with pid"),
        1,
        "no restart\n{}",
        d.dump()
    );
}

// ---------------------------------------------------------------- start-up (processes.md §10)

#[test]
fn daemonizing_detaches_applies_umask_and_directory_and_writes_the_pidfile() {
    let mut d = Setup::new(
        Impl::under_test(),
        "[program:child]\ncommand=/bin/sleep 300\nstartsecs=0\n",
    )
    .global("umask=027\ndirectory=%(here)s/work")
    .before(|dir| fs::create_dir(dir.join("work")).expect("mkdir work"))
    .daemonize()
    .start();
    let launcher = d.adopt_pidfile();
    assert_eq!(
        launcher.code(),
        Some(0),
        "the launching parent exits 0\n{}",
        d.dump()
    );
    let pid = d.pid;
    assert_eq!(
        fs::read_to_string(&d.pidfile).unwrap_or_default(),
        format!("{pid}\n")
    );
    d.wait_state("child", "RUNNING");
    let stat = proc_stat(pid).expect("daemon stat");
    assert_eq!(stat[3], pid.to_string(), "setsid: leads its own session");
    let status = engine_support::proc_status(pid);
    assert_eq!(status.get("Umask").map(String::as_str), Some("0027"));
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/cwd")).ok(),
        Some(d.path().join("work"))
    );
    for fd in 0..3 {
        let target = fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok();
        assert_eq!(
            target.as_deref(),
            Some(std::path::Path::new("/dev/null")),
            "fd {fd}"
        );
    }
    let lines = d.lines();
    let log = render(&lines);
    let daemonizing = lines
        .iter()
        .position(|l| l.msg == "daemonizing the supervisord process")
        .unwrap_or_else(|| panic!("no daemonizing line\n{log}"));
    let started = format!("supervisord started with pid {pid}");
    assert!(
        lines.iter().skip(daemonizing).any(|l| l.msg == started),
        "{log}"
    );
    d.signal(libc::SIGTERM);
    d.poll("the daemon to exit", || (!alive(pid)).then_some(()));
    assert!(!d.pidfile.exists(), "pidfile removed\n{}", d.dump());
}

#[test]
fn a_soft_fd_limit_below_minfds_is_raised() {
    let mut hard = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit into a local struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut hard) };
    let minfds = hard.rlim_max.min(2048);
    if minfds <= 512 {
        eprintln!(
            "SKIPPED LOUDLY: hard RLIMIT_NOFILE {} leaves nothing to raise",
            hard.rlim_max
        );
        return;
    }
    let d = Setup::new(Impl::under_test(), "")
        .global(&format!("minfds={minfds}"))
        .nofile_soft(256)
        .start();
    let line = d.wait_line("Increased RLIMIT_NOFILE limit to");
    assert_eq!(
        line.msg,
        format!("Increased RLIMIT_NOFILE limit to {minfds}")
    );
    assert_eq!(line.level, "INFO");
    let limits = fs::read_to_string(format!("/proc/{}/limits", d.pid)).unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or("");
    assert_eq!(soft, minfds.to_string(), "{limits}");
}

#[test]
fn a_stale_socket_is_replaced_and_a_live_one_refuses_a_second_daemon() {
    let d = Setup::new(
        Impl::under_test(),
        "[program:child]\ncommand=/bin/sleep 300\nstartsecs=0\n",
    )
    .before(|dir| {
        // Bound, then closed: the file stays, nobody listens.
        drop(std::os::unix::net::UnixListener::bind(dir.join("supervisor.sock")).expect("bind"));
    })
    .start();
    d.wait_state("child", "RUNNING");
    let stderr = fs::read_to_string(d.path().join("daemon.stderr")).unwrap_or_default();
    assert_eq!(
        stderr,
        format!("Unlinking stale socket {}\n", d.sock.display())
    );
    let (code, stderr) = d.run_again();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "Error: Another program is already listening on a port that one of our HTTP \
             servers is configured to use.  Shut this program down first before starting \
             supervisord.\n"
        ),
        "{stderr}"
    );
    assert!(d.sock.exists(), "the live socket is left alone");
    assert_eq!(
        d.info("child").state,
        "RUNNING",
        "the first daemon still answers"
    );
}

#[test]
fn sighup_replaces_the_auto_logs_and_a_broken_config_ends_the_daemon() {
    let mut d = Daemon::start(
        "[program:talk]\ncommand=/bin/sh -c \"echo hello; exec sleep 300\"\nstartsecs=0\n",
    );
    let first_pid = d.wait_state("talk", "RUNNING").pid;
    let auto = |d: &Daemon| -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(d.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.starts_with("talk-std"))
            .collect();
        names.sort();
        names
    };
    let before = auto(&d);
    assert_eq!(before.len(), 2, "{before:?}");
    d.signal(libc::SIGHUP);
    d.poll("talk restarted", || {
        let info = d.try_infos()?.get("talk:talk")?.clone();
        (info.state == "RUNNING" && info.pid != first_pid).then_some(())
    });
    let after = auto(&d);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(
        after.iter().all(|n| !before.contains(n)),
        "old AUTO logs deleted, new names: {before:?} -> {after:?}"
    );
    let text = fs::read_to_string(&d.conf).expect("read config");
    fs::write(&d.conf, text.replace("startsecs=0", "startsecs=zero")).expect("break config");
    d.signal(libc::SIGHUP);
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(2), "{}", d.dump());
    let stderr = fs::read_to_string(d.path().join("daemon.stderr")).unwrap_or_default();
    assert!(
        stderr.contains("invalid literal for int() with base 10: 'zero'"),
        "{stderr}"
    );
}
