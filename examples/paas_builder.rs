//! A PaaS builder's job, end to end, with the crate embedded in the builder's process:
//!
//! 1. build time: merge the app's three-line `supervisord.conf` (from its approot) into
//!    the platform's configuration, validate it (every mistake with its location), and
//!    map the runtime path `/home/dotcloud/current` onto the approot;
//! 2. run time: start the programs on this process's tokio runtime, reaping only our own
//!    children and installing no signal handler; serve a control socket that
//!    `supervisorctl -s unix://…` can talk to; wait for RUNNING through the typed event
//!    stream; query the app over HTTP; stop it with SIGTERM; print what happened.
//!
//! Run it with `cargo run --example paas_builder`.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context};
use supervisor::config::{self, LoadOptions, LogLevel, MainLogTarget};
use supervisor::log::rotate::Rotation;
use supervisor::log::{ActivityLog, ActivitySettings};
use supervisor::process::ProcessState;
use supervisor::rpc::server::Listeners;
use supervisor::supervisor::{Channel, Event, Options, Reaping, Supervisor};

/// Where the app lives when it runs on the platform.
const RUNTIME_ROOT: &str = "/home/dotcloud/current";

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn http_get(port: u16) -> anyhow::Result<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply.lines().last().unwrap_or_default().to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/paas");
    let approot = fixtures.join("approot");
    let scratch = tempfile::tempdir()?;
    let port = free_port()?;

    // Build time: read, merge, validate, map paths.
    let mut options = LoadOptions::from_process();
    options.environ.push(("PORT".to_string(), port.to_string()));
    let mut config = config::load_merged(
        &fixtures.join("platform.conf"),
        &[approot.join("supervisord.conf")],
        &options,
    )
    .map_err(|errors| {
        for error in errors.errors() {
            eprintln!("{error}");
        }
        anyhow!("the app's configuration is invalid")
    })?;
    let approot_text = approot.to_string_lossy();
    for group in &mut config.groups {
        for process in &mut group.processes {
            process.command = process.command.replace(RUNTIME_ROOT, &approot_text);
            if let Some(directory) = &mut process.directory {
                *directory = directory.replace(RUNTIME_ROOT, &approot_text);
            }
        }
    }
    config.supervisord.childlogdir = scratch.path().to_path_buf();
    println!(
        "validated {} program(s): {}",
        config.process_count(),
        config
            .processes()
            .map(|(_, p)| format!("{} = `{}`", p.name, p.command))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Run time: supervise on this runtime, our children only.
    let activity = ActivityLog::new(LogLevel::Info);
    activity.open(&ActivitySettings {
        target: MainLogTarget::File(scratch.path().join("supervisord.log")),
        rotation: Rotation::from_config(0, 0),
        echo_stdout: false,
    })?;
    let supervisor = Supervisor::start(
        config.clone(),
        Options {
            reaping: Reaping::Owned,
            signals: false,
            source: None,
            environ: options.environ.clone(),
            activity: activity.clone(),
        },
    )?;
    let handle = supervisor.handle();
    let mut events = handle.subscribe();

    let socket = scratch.path().join("supervisor.sock");
    let servers = config::Config::builder()
        .unix_server(&socket)
        .build()?
        .http_servers;
    let interfaces = vec!["supervisor".to_string()];
    let listeners = Listeners::bind(&servers, &interfaces, &activity).map_err(|e| anyhow!(e))?;
    let control = listeners.serve(handle.clone(), activity.clone(), interfaces);
    println!(
        "control socket: supervisorctl -s unix://{}",
        socket.display()
    );

    let pid = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match events.recv().await {
                Ok(Event::ProcessState {
                    process,
                    to: ProcessState::Running,
                    pid,
                    ..
                }) if process == "web" => return Ok(pid),
                Ok(event) => println!("event {}: {}", event.name(), event.payload().trim_end()),
                Err(e) => return Err(anyhow!("event stream ended: {e}")),
            }
        }
    })
    .await
    .context("web did not reach RUNNING in time")??;
    println!("web is RUNNING with pid {pid}");

    let answer = tokio::task::spawn_blocking(move || http_get(port)).await??;
    println!("GET http://127.0.0.1:{port}/ answered: {answer}");
    anyhow::ensure!(
        answer == format!("ok {pid}"),
        "unexpected answer {answer:?}"
    );
    let info = handle.process_info("web").await?;
    println!("status: {} {}", info.state.name(), info.description);

    handle.stop_process("web", true).await?;
    let info = handle.process_info("web").await?;
    println!(
        "stopped with SIGTERM: {} (exit status {})",
        info.state.name(),
        info.exitstatus
    );
    let output = handle.tail_log("web", Channel::Stdout, 400).await?;
    let output = String::from_utf8_lossy(&output);
    println!("web's stdout:\n{}", output.trim_end());
    // The app's own SIGTERM handler ran and ended it cleanly.
    anyhow::ensure!(
        info.state == ProcessState::Stopped
            && info.exitstatus == 0
            && output.contains("SIGTERM received"),
        "web did not stop through its SIGTERM handler"
    );

    supervisor.shutdown(Duration::from_secs(10)).await?;
    control.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// `cargo test` runs the builder's whole job, so the example cannot rot.
    #[test]
    fn the_builders_job_runs_end_to_end() {
        if let Err(e) = super::main() {
            panic!("{e:#}");
        }
    }
}
