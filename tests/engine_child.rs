//! What a child starts with (processes.md §5–6): environment precedence, `user=`, file
//! descriptors, signal dispositions and mask, process group. Read from `/proc/<pid>`
//! of plain `sleep` children, so nothing inside the child disturbs what is observed.

#[allow(dead_code)]
mod engine_support;

use std::collections::BTreeMap;
use std::fs;

use engine_support::{proc_environ, proc_stat, proc_status, Daemon, Impl, Setup};

const GLOBAL_ENV: &str =
    "environment=OVER=\"global\",GLOBAL_ONLY=\"g\",SUPERVISOR_GROUP_NAME=\"fromglobal\"";

fn start(programs: &[&str]) -> Daemon {
    Setup::sections(Impl::under_test(), "child.conf", programs)
        .global(GLOBAL_ENV)
        .env("OVER", "daemon")
        .env("DAEMON_ONLY", "d")
        .env("SUPERVISOR_PROCESS_NAME", "fromdaemon")
        .env("HOME", "/root")
        .env("USER", "root")
        .dirty_signals()
        .start()
}

fn env_of(d: &Daemon, name: &str) -> BTreeMap<String, String> {
    let pid = d.wait_state(name, "RUNNING").pid;
    proc_environ(pid)
}

fn get<'a>(env: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    env.get(key).map(String::as_str)
}

#[test]
fn environment_rows_override_in_order() {
    let d = start(&["env_program", "env_global"]);
    let sock = format!("unix://{}", d.sock.display());
    let env = env_of(&d, "env_program");
    let shown = format!("{env:#?}");
    // row 1: the daemon's own environment
    assert_eq!(get(&env, "DAEMON_ONLY"), Some("d"), "{shown}");
    // row 2 over row 1
    assert_eq!(
        get(&env, "SUPERVISOR_PROCESS_NAME"),
        Some("env_program"),
        "{shown}"
    );
    assert_eq!(get(&env, "SUPERVISOR_ENABLED"), Some("1"), "{shown}");
    assert_eq!(
        get(&env, "SUPERVISOR_SERVER_URL"),
        Some(sock.as_str()),
        "{shown}"
    );
    // row 3 over rows 1 and 2 (the global environment beats SUPERVISOR_*)
    assert_eq!(
        get(&env, "SUPERVISOR_GROUP_NAME"),
        Some("fromglobal"),
        "{shown}"
    );
    assert_eq!(get(&env, "GLOBAL_ONLY"), Some("g"), "{shown}");
    // row 4 over everything
    assert_eq!(get(&env, "OVER"), Some("program"), "{shown}");
    assert_eq!(get(&env, "PROG_ONLY"), Some("p"), "{shown}");

    let env = env_of(&d, "env_global");
    let shown = format!("{env:#?}");
    assert_eq!(get(&env, "OVER"), Some("global"), "{shown}");
    assert_eq!(
        get(&env, "SUPERVISOR_ENABLED"),
        Some("fromprogram"),
        "{shown}"
    );
    assert_eq!(
        get(&env, "SUPERVISOR_PROCESS_NAME"),
        Some("env_global"),
        "{shown}"
    );
    assert_eq!(get(&env, "PROG_ONLY"), None, "{shown}");
}

/// Supplementary groups the system gives `user`: its primary gid and every group
/// listing it as a member.
fn groups_of(user: &str, primary: u32) -> Vec<u32> {
    let mut groups = vec![primary];
    for line in fs::read_to_string("/etc/group").unwrap_or_default().lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() == 4 && fields[3].split(',').any(|m| m == user) {
            if let Ok(gid) = fields[2].parse() {
                groups.push(gid);
            }
        }
    }
    groups.sort_unstable();
    groups.dedup();
    groups
}

#[test]
fn user_nobody_runs_as_nobody_with_its_groups_and_keeps_home_and_user() {
    // SAFETY: getuid(2) has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("SKIPPED LOUDLY: user= needs root; this test runs as uid != 0");
        return;
    }
    // SAFETY: getpwnam with a NUL-terminated name; fields copied out at once.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(c"nobody".as_ptr());
        assert!(!pw.is_null(), "no user nobody on this machine");
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    let d = start(&["as_nobody"]);
    let pid = d.wait_state("as_nobody", "RUNNING").pid;
    let status = proc_status(pid);
    let ids = |v: u32| format!("{v}\t{v}\t{v}\t{v}");
    assert_eq!(status.get("Uid"), Some(&ids(uid)), "{status:#?}");
    assert_eq!(status.get("Gid"), Some(&ids(gid)), "{status:#?}");
    let mut groups: Vec<u32> = status
        .get("Groups")
        .map(|g| {
            g.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    groups.sort_unstable();
    assert_eq!(groups, groups_of("nobody", gid), "no root group left over");
    let env = proc_environ(pid);
    assert_eq!(get(&env, "HOME"), Some("/root"), "HOME untouched");
    assert_eq!(get(&env, "USER"), Some("root"), "USER untouched");
}

#[test]
fn children_get_only_fds_0_1_2() {
    let d = start(&["plain", "env_program", "env_global"]);
    for name in ["plain", "env_program", "env_global"] {
        let pid = d.wait_state(name, "RUNNING").pid;
        let mut fds: Vec<i32> = fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("read /proc/<pid>/fd")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        fds.sort_unstable();
        let targets: Vec<String> = fds
            .iter()
            .map(|fd| {
                let link = fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap_or_default();
                format!("{fd} -> {}", link.display())
            })
            .collect();
        assert_eq!(fds, vec![0, 1, 2], "{name}: {targets:#?}");
    }
}

#[test]
fn signal_mask_is_cleared_and_only_sigpipe_and_sigxfsz_stay_ignored() {
    let d = start(&["plain"]);
    let daemon = proc_status(d.pid);
    // The test only means something if the daemon itself carries the dirty state.
    assert_ne!(
        daemon.get("SigBlk").map(String::as_str),
        Some("0000000000000000")
    );
    let pid = d.wait_state("plain", "RUNNING").pid;
    let status = proc_status(pid);
    // SIGPIPE (13) and SIGXFSZ (25) ignored, as the reference's children have them.
    assert_eq!(
        status.get("SigIgn").map(String::as_str),
        Some("0000000001001000"),
        "{status:#?}"
    );
    assert_eq!(
        status.get("SigBlk").map(String::as_str),
        Some("0000000000000000"),
        "{status:#?}"
    );
}

#[test]
fn each_child_leads_its_own_process_group_in_the_daemons_session() {
    let d = start(&["plain", "env_program"]);
    let daemon = proc_stat(d.pid).expect("daemon stat");
    for name in ["plain", "env_program"] {
        let pid = d.wait_state(name, "RUNNING").pid;
        let stat = proc_stat(pid).expect("child stat");
        assert_eq!(stat[2], pid.to_string(), "{name}: pgrp is its own pid");
        assert_eq!(
            stat[3], daemon[3],
            "{name}: same session as supervisord (setpgrp, not setsid)"
        );
        assert_ne!(stat[2], daemon[2], "{name}: not the daemon's process group");
    }
}
