//! The interactive shell driven through a pseudo-terminal: prompt, commands, tab
//! completion of a process name (asked from the server), and exit on end of input.

mod ctl_daemon;
mod support;

use std::process::Command;
use std::time::Duration;

use ctl_daemon::{settled, start_daemon, Daemon};

#[test]
fn shell_prompts_runs_commands_completes_names_and_exits_on_eof() {
    let running = start_daemon(Daemon::Reference, "unix.conf");
    support::poll_until(Duration::from_secs(30), "echoer to run", || {
        settled(&running, &[("echoer", "RUNNING")])
    });
    let mut command = Command::new(env!("CARGO_BIN_EXE_supervisorctl"));
    command
        .arg("-c")
        .arg(running.config())
        .env("TERM", "xterm")
        .current_dir(running.dir.path());
    let mut shell = rexpect::session::spawn_command(command, Some(20_000)).expect("spawn in a pty");

    shell
        .exp_regex(r"echoer\s+RUNNING\s+pid \d+")
        .expect("status first");
    shell.exp_string("supervisor> ").expect("the prompt");

    shell.send_line("version").expect("type version");
    shell.exp_string("4.3.0").expect("version output");
    shell
        .exp_string("supervisor> ")
        .expect("prompt after version");

    shell.send_line("help pid").expect("type help pid");
    shell
        .exp_string("Get the PID of a single child process by name.")
        .expect("help output");
    shell.exp_string("supervisor> ").expect("prompt after help");

    shell.send_line("status grp:*").expect("type status");
    shell
        .exp_regex(r"grp:gb\s+STOPPED\s+Not started")
        .expect("group status");
    shell
        .exp_string("supervisor> ")
        .expect("prompt after status");

    shell.send("status ech").expect("type a partial name");
    shell.send("\t").expect("press tab");
    shell.flush().expect("deliver the keys");
    shell.exp_string("echoer ").expect("the completed name");
    shell.send_line("").expect("press enter");
    shell
        .exp_regex(r"\r\necho[e]r\s+RUNNING\s+pid \d+")
        .expect("status of the completed name");
    shell
        .exp_string("supervisor> ")
        .expect("prompt after completion");

    shell.send_control('d').expect("end of input");
    shell.exp_eof().expect("the shell exits");
    let status = shell.process_mut().wait().expect("exit status");
    assert!(
        matches!(status, rexpect::process::wait::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}
