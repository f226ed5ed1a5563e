//! Running supervisord: the reference's start-up order, the in-process restart loop and
//! the clean exit.
//!
//! Owns the sequence only — privileges, limits, the activity log, sockets, going to
//! the background, the pid file, then the core — and what is printed when one of those
//! steps fails. Each step's mechanics live in `os`, `log`, `rpc` and `supervisor`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{self, Config, LoadOptions, LogLevel, MessageLevel};
use crate::log::{ActivityLog, ActivitySettings};
use crate::os::daemon as os_daemon;
use crate::rpc::server::Listeners;
use crate::supervisor::{ConfigSource, Options, Outcome, Reaping, Supervisor};

use super::args::DaemonArgs;

/// The text the reference logs at CRIT when root runs it without `user=`.
const RUNNING_AS_ROOT: &str = "Supervisor is running as root.  Privileges were not dropped \
     because no user is specified in the config file.  If you intend to run as root, you \
     can set user=root in the config file to avoid this message.";

/// A start-up failure: printed as the reference's usage error, exit 2.
struct Fatal(String);

/// Runs supervisord on `config` (read from `path`) until it is shut down. Returns the
/// exit status.
pub(crate) fn serve(
    mut config: Config,
    path: &Path,
    load_options: LoadOptions,
    args: &DaemonArgs,
    progname: &str,
) -> i32 {
    let mut first = true;
    let mut resources = None;
    let mut runtime: Option<tokio::runtime::Runtime> = None;
    loop {
        match cycle(
            config,
            path,
            &load_options,
            args,
            first,
            &mut runtime,
            resources.take(),
        ) {
            Err(Fatal(message)) => return super::usage_error(progname, &[message]),
            Ok((Outcome::Shutdown, _)) => return 0,
            Ok((Outcome::Restart, kept)) => {
                resources = Some(kept);
                first = false;
                match config::load(path, &load_options) {
                    Ok(c) => config = c,
                    Err(errors) => return super::config_error(progname, &errors),
                }
            }
        }
    }
}

/// Queued start-up messages in the reference's order: criticals, warnings, infos.
fn start_up_messages(
    config: &Config,
    extra_criticals: &[String],
    extra_infos: &[String],
) -> Vec<(LogLevel, String)> {
    let mut lines: Vec<(LogLevel, String)> = extra_criticals
        .iter()
        .map(|t| (LogLevel::Critical, t.clone()))
        .collect();
    for level in [MessageLevel::Critical, MessageLevel::Warn] {
        lines.extend(
            config
                .messages
                .iter()
                .filter(|m| m.level == level)
                .map(|m| {
                    let level = match m.level {
                        MessageLevel::Critical => LogLevel::Critical,
                        MessageLevel::Warn => LogLevel::Warn,
                        MessageLevel::Info => LogLevel::Info,
                    };
                    (level, m.text.clone())
                }),
        );
    }
    lines.extend(
        config
            .messages
            .iter()
            .filter(|m| m.level == MessageLevel::Info)
            .map(|m| (LogLevel::Info, m.text.clone())),
    );
    lines.extend(extra_infos.iter().map(|t| (LogLevel::Info, t.clone())));
    lines
}

type Kept = crate::supervisor::Resources;

/// One life of supervisord between start-up (or restart) and shutdown (or restart).
fn cycle(
    config: Config,
    path: &Path,
    load_options: &LoadOptions,
    args: &DaemonArgs,
    first: bool,
    runtime: &mut Option<tokio::runtime::Runtime>,
    resources: Option<Kept>,
) -> Result<(Outcome, Kept), Fatal> {
    let settings = &config.supervisord;
    let mut criticals = Vec::new();
    let mut infos = Vec::new();
    match (&settings.user, settings.uid) {
        (Some(user), Some(uid)) => {
            os_daemon::drop_privileges(user).map_err(Fatal)?;
            infos.push(format!("Set uid to user {uid} succeeded"));
        }
        _ => {
            if nix::unistd::getuid().is_root() {
                criticals.push(RUNNING_AS_ROOT.to_string());
            }
        }
    }
    if first {
        infos.extend(os_daemon::raise_rlimits(settings.minfds, settings.minprocs).map_err(Fatal)?);
    }

    let activity = ActivityLog::new(settings.loglevel);
    for (level, text) in start_up_messages(&config, &criticals, &infos) {
        activity.log(level, text);
    }
    activity
        .open(&ActivitySettings::from_config(settings))
        .map_err(|e| Fatal(e.to_string()))?;

    let interfaces: Vec<String> = config
        .rpcinterfaces
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let listeners = Listeners::bind(&config.http_servers, &interfaces, &activity).map_err(Fatal)?;

    if first && !settings.nodaemon {
        activity.blather("supervisord forked; parent exiting");
        let directory = settings
            .directory
            .as_ref()
            .map(|d| d.to_string_lossy().into_owned());
        let notices = os_daemon::daemonize(directory.as_deref(), settings.umask)
            .map_err(|e| Fatal(format!("could not daemonize: {e}")))?;
        for notice in notices {
            activity.log(notice.level, notice.text);
        }
    }
    if first && args.subreaper {
        if let Err(e) = os_daemon::set_child_subreaper() {
            activity.warn(format!("could not become a child subreaper: {e}"));
        }
    }
    let pidfile = settings.pidfile.clone();
    match os_daemon::write_pidfile(&pidfile) {
        Ok(()) => activity.info(format!(
            "supervisord started with pid {}",
            std::process::id()
        )),
        Err(_) => activity.critical(format!("could not write pidfile {}", pidfile.display())),
    }

    if runtime.is_none() {
        let built = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Fatal(format!("could not start the runtime: {e}")))?;
        *runtime = Some(built);
    }
    let Some(rt) = runtime.as_ref() else {
        return Err(Fatal("could not start the runtime".to_string()));
    };
    let socket_files = listeners.socket_files();
    let result = rt.block_on(async {
        let options = Options {
            reaping: Reaping::Global,
            signals: true,
            source: Some(ConfigSource {
                path: path.to_path_buf(),
                options: load_options.clone(),
            }),
            environ: load_options.environ.clone(),
            activity: activity.clone(),
        };
        let supervisor = match resources {
            Some(kept) => Supervisor::resume(config, options, kept),
            None => Supervisor::start(config, options)
                .map_err(|e| Fatal(format!("could not start supervising: {e}")))?,
        };
        let servers = listeners.serve(supervisor.handle(), activity.clone(), interfaces);
        let finished = supervisor
            .finish()
            .await
            .map_err(|e| Fatal(format!("the supervisor task failed: {e}")));
        servers.stop().await;
        activity.close().await;
        finished
    });
    cleanup(&pidfile, &socket_files);
    result
}

fn cleanup(pidfile: &Path, socket_files: &[PathBuf]) {
    os_daemon::remove_pidfile(pidfile);
    for file in socket_files {
        let _ = std::fs::remove_file(file);
    }
    let _ = std::io::stdout().flush();
}
