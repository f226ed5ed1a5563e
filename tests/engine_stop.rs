//! Stopping (processes.md §7), priorities (§2), numprocs and children that close their
//! pipes, observed through the activity log, `getAllProcessInfo` and `/proc`.

#[allow(dead_code)]
mod engine_support;

use std::fs;
use std::path::{Path, PathBuf};

use engine_support::{
    alive, index_of, proc_environ, render, spawned_pids, with, Daemon, Impl, Setup,
};
use serde_json::json;

fn start(programs: &[&str], fixture: &str) -> Daemon {
    Setup::sections(Impl::under_test(), fixture, programs).start()
}

fn read_pid(d: &Daemon, file: &Path) -> i32 {
    d.poll(&format!("a pid in {}", file.display()), || {
        fs::read_to_string(file).ok()?.trim().parse().ok()
    })
}

/// The pid the fixture's program wrote to `grandchild.pid`.
fn grandchild_pid(d: &Daemon) -> i32 {
    read_pid(d, &d.path().join("grandchild.pid"))
}

/// stopProcess with wait, which must answer true.
fn stop(d: &Daemon, name: &str) {
    assert_eq!(
        d.call("supervisor.stopProcess", &[json!(name)]),
        json!(true),
        "stopProcess {name}"
    );
}

#[test]
fn stopsignal_goes_to_the_pid() {
    let d = start(&["usr1"], "stop.conf");
    let pid = d.wait_state("usr1", "RUNNING").pid;
    stop(&d, "usr1");
    let info = d.wait_state("usr1", "STOPPED");
    assert_eq!(info.pid, 0);
    let kill = d.wait_line("killing usr1 (pid");
    assert_eq!(
        kill.msg,
        format!("killing usr1 (pid {pid}) with signal SIGUSR1")
    );
    assert_eq!(kill.level, "DEBG");
    let stopped = d.wait_line("stopped: usr1");
    assert_eq!(stopped.msg, "stopped: usr1 (terminated by SIGUSR1)");
    assert_eq!(stopped.level, "WARN", "signal deaths are never expected");
    assert!(!alive(pid));
}

#[test]
fn stopwaitsecs_escalates_to_sigkill() {
    let d = start(&["stubborn"], "stop.conf");
    let pid = d.wait_state("stubborn", "RUNNING").pid;
    stop(&d, "stubborn");
    d.wait_state("stubborn", "STOPPED");
    let lines = d.lines();
    let log = render(&lines);
    let term = &lines[index_of(&lines, "killing stubborn (pid")];
    assert_eq!(
        term.msg,
        format!("killing stubborn (pid {pid}) with signal SIGTERM")
    );
    let kill = &lines[index_of(&lines, "with SIGKILL")];
    assert_eq!(
        kill.msg,
        format!("killing 'stubborn' ({pid}) with SIGKILL"),
        "{log}"
    );
    assert_eq!(kill.level, "WARN");
    assert!(
        kill.at - term.at >= 0.95,
        "SIGKILL only after stopwaitsecs=1\n{log}"
    );
    let stopped = &lines[index_of(&lines, "stopped: stubborn")];
    assert_eq!(stopped.msg, "stopped: stubborn (terminated by SIGKILL)");
    assert!(!alive(pid));
}

/// The child dies of the first SIGKILL; its exit must be seen before stopwaitsecs runs
/// out again.
#[test]
fn a_child_that_dies_of_sigkill_gets_only_one() {
    let d = start(&["stubborn"], "stop.conf");
    d.wait_state("stubborn", "RUNNING");
    stop(&d, "stubborn");
    d.wait_state("stubborn", "STOPPED");
    let lines = d.lines();
    let log = render(&lines);
    assert_eq!(with(&lines, "with SIGKILL").len(), 1, "{log}");
    assert!(with(&lines, "unable to signal").is_empty(), "{log}");
}

/// A cgroup-v1 freezer cgroup: a frozen task that got SIGKILL stays alive until thawed,
/// which is the only way to show a child surviving SIGKILL.
struct Frozen {
    dir: PathBuf,
}

impl Frozen {
    fn freeze(pid: i32) -> Option<Frozen> {
        let root = Path::new("/sys/fs/cgroup/freezer");
        if !root.join("freezer.state").exists() && !root.join("tasks").exists() {
            return None;
        }
        let dir = root.join(format!("engine-test-{}", std::process::id()));
        fs::create_dir_all(&dir).ok()?;
        let frozen = Frozen { dir };
        fs::write(frozen.dir.join("cgroup.procs"), pid.to_string()).ok()?;
        fs::write(frozen.dir.join("freezer.state"), "FROZEN").ok()?;
        Some(frozen)
    }

    fn thaw(&self) {
        let _ = fs::write(self.dir.join("freezer.state"), "THAWED");
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        self.thaw();
        for _ in 0..200 {
            if fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
    }
}

#[test]
fn sigkill_is_repeated_every_stopwaitsecs_while_the_child_survives() {
    let d = start(&["stubborn"], "stop.conf");
    let pid = d.wait_state("stubborn", "RUNNING").pid;
    let Some(frozen) = Frozen::freeze(pid) else {
        eprintln!(
            "SKIPPED LOUDLY: no writable cgroup-v1 freezer, cannot make a child survive SIGKILL"
        );
        return;
    };
    assert_eq!(
        d.call("supervisor.stopProcess", &[json!("stubborn"), json!(false)]),
        json!(true)
    );
    let kills = d.wait_count(&format!("killing 'stubborn' ({pid}) with SIGKILL"), 3);
    assert!(kills[1].at - kills[0].at >= 0.95, "{}", d.dump());
    assert!(kills[2].at - kills[1].at >= 0.95, "{}", d.dump());
    assert_eq!(d.info("stubborn").state, "STOPPING");
    frozen.thaw();
    d.wait_state("stubborn", "STOPPED");
    assert_eq!(
        d.count("stopped: stubborn (terminated by SIGKILL)"),
        1,
        "{}",
        d.dump()
    );
}

#[test]
fn stopasgroup_ends_the_grandchild_too() {
    let d = start(&["group_stop"], "stop.conf");
    let pid = d.wait_state("group_stop", "RUNNING").pid;
    let grandchild = grandchild_pid(&d);
    assert!(alive(grandchild));
    stop(&d, "group_stop");
    d.wait_state("group_stop", "STOPPED");
    let kill = d.wait_line("killing group_stop (pid");
    assert_eq!(
        kill.msg,
        format!("killing group_stop (pid {pid}) process group with signal SIGTERM")
    );
    d.wait_line("stopped: group_stop (terminated by SIGTERM)");
    d.poll("the grandchild to be gone", || {
        (!alive(grandchild)).then_some(())
    });
}

/// The control for the test above: without stopasgroup the grandchild outlives the stop.
#[test]
fn without_stopasgroup_the_grandchild_survives() {
    let d = start(&["pid_stop"], "stop.conf");
    d.wait_state("pid_stop", "RUNNING");
    let grandchild = grandchild_pid(&d);
    stop(&d, "pid_stop");
    d.wait_state("pid_stop", "STOPPED");
    assert!(
        alive(grandchild),
        "only the pid was signalled\n{}",
        d.dump()
    );
}

#[test]
fn killasgroup_sigkills_the_whole_group() {
    let d = start(&["group_kill"], "stop.conf");
    let pid = d.wait_state("group_kill", "RUNNING").pid;
    let grandchild = grandchild_pid(&d);
    stop(&d, "group_kill");
    d.wait_state("group_kill", "STOPPED");
    let lines = d.lines();
    let log = render(&lines);
    assert_eq!(
        lines[index_of(&lines, "killing group_kill (pid")].msg,
        format!("killing group_kill (pid {pid}) with signal SIGTERM"),
        "stopasgroup=false: SIGTERM to the pid only\n{log}"
    );
    assert_eq!(
        lines[index_of(&lines, "with SIGKILL")].msg,
        format!("killing 'group_kill' ({pid}) with SIGKILL")
    );
    assert_eq!(
        lines[index_of(&lines, "stopped: group_kill")].msg,
        "stopped: group_kill (terminated by SIGKILL)"
    );
    d.poll("the grandchild (which ignores SIGTERM) to be gone", || {
        (!alive(grandchild)).then_some(())
    });
}

#[test]
fn a_child_that_closes_its_pipes_keeps_running_and_stops_normally() {
    let d = start(&["closed_pipes", "closed_pipes_exit"], "stop.conf");
    d.wait_line("success: closed_pipes entered RUNNING state");
    let pid = d.wait_state("closed_pipes", "RUNNING").pid;
    assert!(alive(pid));
    // The other one exits 3 with nothing but SIGCHLD to tell.
    let exited = d.wait_line("exited: closed_pipes_exit (");
    assert_eq!(
        exited.msg,
        "exited: closed_pipes_exit (exit status 3; not expected)"
    );
    assert_eq!(d.wait_state("closed_pipes_exit", "EXITED").exitstatus, 3);
    assert_eq!(d.info("closed_pipes").pid, pid, "still the same process");
    stop(&d, "closed_pipes");
    d.wait_state("closed_pipes", "STOPPED");
    d.wait_line("stopped: closed_pipes (terminated by SIGTERM)");
}

#[test]
fn priorities_order_the_start_and_the_stop_by_level() {
    let mut d = Setup::from_fixture(Impl::under_test(), "priorities.conf").start();
    for name in ["p_low", "p_mid_a", "p_mid_b", "p_high"] {
        d.wait_state(name, "RUNNING");
    }
    d.signal(libc::SIGTERM);
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", d.dump());
    let lines = d.lines();
    let log = render(&lines);
    let spawn = |n: &str| index_of(&lines, &format!("spawned: '{n}'"));
    assert!(
        spawn("p_low") < spawn("p_mid_a")
            && spawn("p_mid_a") < spawn("p_mid_b")
            && spawn("p_mid_b") < spawn("p_high"),
        "start order: ascending priority, then name\n{log}"
    );
    let kill = |n: &str| index_of(&lines, &format!("killing {n} (pid"));
    let stopped = |n: &str| index_of(&lines, &format!("stopped: {n} "));
    assert!(
        stopped("p_high") < kill("p_mid_a") && stopped("p_high") < kill("p_mid_b"),
        "the highest priority stops first and alone\n{log}"
    );
    assert!(
        kill("p_mid_a") < stopped("p_mid_b") && kill("p_mid_b") < stopped("p_mid_a"),
        "groups of the same priority stop together\n{log}"
    );
    assert!(
        stopped("p_mid_a") < kill("p_low") && stopped("p_mid_b") < kill("p_low"),
        "the lowest priority stops last\n{log}"
    );
    for name in ["p_low", "p_mid_a", "p_mid_b", "p_high"] {
        assert_eq!(
            with(&lines, &format!("stopped: {name} (exit status 0)")).len(),
            1,
            "{log}"
        );
    }
}

#[test]
fn numprocs_makes_one_group_of_numbered_processes() {
    let d = Setup::from_fixture(Impl::under_test(), "numprocs.conf").start();
    let mut pids = Vec::new();
    for (n, name) in ["worker_01", "worker_02", "worker_03"].iter().enumerate() {
        let info = d.wait_state(&format!("worker:{name}"), "RUNNING");
        let env = proc_environ(info.pid);
        assert_eq!(
            env.get("SUPERVISOR_PROCESS_NAME").map(String::as_str),
            Some(*name)
        );
        assert_eq!(
            env.get("SUPERVISOR_GROUP_NAME").map(String::as_str),
            Some("worker")
        );
        let cmdline = fs::read(format!("/proc/{}/cmdline", info.pid)).unwrap_or_default();
        assert_eq!(
            cmdline,
            format!("/bin/sleep\x0030{}\x00", n + 1).into_bytes()
        );
        pids.push(info.pid);
    }
    let lines = d.lines();
    for (name, pid) in ["worker_01", "worker_02", "worker_03"].iter().zip(&pids) {
        assert_eq!(spawned_pids(&lines, name), vec![*pid], "{}", render(&lines));
    }
    assert_eq!(
        d.call("supervisor.stopProcessGroup", &[json!("worker")])
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    for name in ["worker_01", "worker_02", "worker_03"] {
        d.wait_state(&format!("worker:{name}"), "STOPPED");
    }
}
