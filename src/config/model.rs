//! The typed configuration: what a `supervisord.conf` means once every value is
//! expanded, converted and validated.
//!
//! Owns the data types only. Parsing lives in `ini`/`build`, conversions in `value`;
//! nothing here touches the filesystem or the process table. Every type serializes with
//! serde under stable field names (the `--print-config` JSON documented in the README).
//! Numbers keep the reference's meaning: signals and umasks are plain integers, sizes are
//! bytes, times are seconds.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

/// A fully expanded, validated supervisord configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The main configuration file, as given (made absolute).
    pub source: PathBuf,
    /// Directory of the main file: the value of `%(here)s` there.
    pub here: PathBuf,
    /// Files pulled in through `[include] files=`, in the order they were read.
    pub included_files: Vec<PathBuf>,
    /// The `[supervisord]` section (after command-line overrides).
    pub supervisord: SupervisordConfig,
    /// `[inet_http_server*]` sections first, then `[unix_http_server*]`, as the reference
    /// lists them.
    pub http_servers: Vec<HttpServerConfig>,
    /// Process groups sorted by (priority, name), the order used to start them.
    pub groups: Vec<GroupConfig>,
    /// `[rpcinterface:x]` sections.
    pub rpcinterfaces: Vec<RpcInterfaceConfig>,
    /// Warnings and notices for the activity log, in the order the reference logs them
    /// (critical, then warnings, then infos); it queues them until its log is open.
    pub messages: Vec<ParseMessage>,
}

impl Config {
    /// Every process of every group, in start order.
    pub fn processes(&self) -> impl Iterator<Item = (&GroupConfig, &ProcessConfig)> {
        self.groups
            .iter()
            .flat_map(|g| g.processes.iter().map(move |p| (g, p)))
    }

    /// Number of process entries (counting each `numprocs` instance).
    pub fn process_count(&self) -> usize {
        self.groups.iter().map(|g| g.processes.len()).sum()
    }

    /// The group called `name`, if configured.
    pub fn group(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The URL children get as `SUPERVISOR_SERVER_URL` when their program sets none:
    /// the first unix server, else the last inet server (the reference's loop has no
    /// break), else none.
    pub fn default_server_url(&self) -> Option<String> {
        if let Some(path) = self.http_servers.iter().find_map(|s| match &s.listen {
            Listen::Unix { file, .. } => Some(file),
            Listen::Inet { .. } => None,
        }) {
            return Some(format!("unix://{}", path.display()));
        }
        self.http_servers
            .iter()
            .rev()
            .find_map(|s| match &s.listen {
                Listen::Inet { host, port } => {
                    let host = if host.is_empty() { "localhost" } else { host };
                    Some(format!("http://{host}:{port}"))
                }
                Listen::Unix { .. } => None,
            })
    }
}

/// Severity of a queued parse message, as the activity log will print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageLevel {
    /// Logged at CRIT.
    Critical,
    /// Logged at WARN.
    Warn,
    /// Logged at INFO.
    Info,
}

/// A warning or notice produced while reading the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseMessage {
    /// How loud the activity log should be about it.
    pub level: MessageLevel,
    /// The reference's text for it.
    pub text: String,
}

/// The activity log's levels with supervisord's numeric values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `blather` (3), printed as BLAT.
    Blather = 3,
    /// `trace` (5), printed as TRAC.
    Trace = 5,
    /// `debug` (10), printed as DEBG.
    Debug = 10,
    /// `info` (20), printed as INFO.
    Info = 20,
    /// `warn` (30), printed as WARN.
    Warn = 30,
    /// `error` (40), printed as ERRO.
    Error = 40,
    /// `critical` (50), printed as CRIT.
    Critical = 50,
}

impl LogLevel {
    /// The configuration word for this level (`info`, `blather`, …).
    pub fn config_name(self) -> &'static str {
        match self {
            LogLevel::Blather => "blather",
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
        }
    }

    /// The four-letter code the activity log prints (`INFO`, `BLAT`, …).
    pub fn code(self) -> &'static str {
        match self {
            LogLevel::Blather => "BLAT",
            LogLevel::Trace => "TRAC",
            LogLevel::Debug => "DEBG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERRO",
            LogLevel::Critical => "CRIT",
        }
    }

    /// Parse a configuration word (case-insensitive).
    pub fn from_config_name(word: &str) -> Option<LogLevel> {
        let all = [
            LogLevel::Blather,
            LogLevel::Trace,
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
            LogLevel::Critical,
        ];
        let lower = word.to_lowercase();
        all.into_iter().find(|l| l.config_name() == lower)
    }
}

impl Serialize for LogLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.config_name())
    }
}

/// Where supervisord writes its own activity log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainLogTarget {
    /// A file path (absolute), possibly `/dev/stdout`.
    File(PathBuf),
    /// `logfile=syslog`.
    Syslog,
}

impl Serialize for MainLogTarget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MainLogTarget::File(p) => p.serialize(s),
            MainLogTarget::Syslog => s.serialize_str("syslog"),
        }
    }
}

/// The `[supervisord]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupervisordConfig {
    /// Activity log destination.
    pub logfile: MainLogTarget,
    /// Rotate the activity log at this size; 0 never rotates.
    pub logfile_maxbytes: i64,
    /// Rotated activity logs to keep.
    pub logfile_backups: i64,
    /// Lowest level written to the activity log.
    pub loglevel: LogLevel,
    /// Absolute path of the pid file.
    pub pidfile: PathBuf,
    /// umask applied when daemonizing.
    pub umask: u32,
    /// Stay in the foreground.
    pub nodaemon: bool,
    /// In the foreground, do not echo the activity log to stdout.
    pub silent: bool,
    /// Minimum RLIMIT_NOFILE to run with.
    pub minfds: i64,
    /// Minimum RLIMIT_NPROC to run with.
    pub minprocs: i64,
    /// Keep old AUTO child logs at start-up.
    pub nocleanup: bool,
    /// Directory for AUTO child logs.
    pub childlogdir: PathBuf,
    /// User to switch to at start-up, as written.
    pub user: Option<String>,
    /// That user's uid.
    pub uid: Option<u32>,
    /// Directory to change into when daemonizing.
    pub directory: Option<PathBuf>,
    /// Strip ANSI escape sequences from child output.
    pub strip_ansi: bool,
    /// Variables added to every child's environment.
    pub environment: BTreeMap<String, String>,
    /// Identifies this supervisord in RPC replies, AUTO log names and events.
    pub identifier: String,
}

/// One `[unix_http_server]` or `[inet_http_server]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpServerConfig {
    /// The section name, e.g. `unix_http_server` or `inet_http_server:admin`.
    pub section: String,
    /// What to listen on.
    pub listen: Listen,
    /// Basic-auth user name; when set every path requires credentials.
    pub username: Option<String>,
    /// Password, plain or `{SHA}` + lowercase hex SHA-1.
    pub password: Option<String>,
}

/// A uid and optional gid for socket ownership (`chown=user:group`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// Owner uid.
    pub uid: u32,
    /// Group gid, or keep the current group.
    pub gid: Option<u32>,
}

/// The address of an HTTP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum Listen {
    /// A unix domain socket.
    Unix {
        /// Absolute socket path.
        file: PathBuf,
        /// Mode bits for the socket file (default 0700).
        chmod: u32,
        /// Owner to give the socket file, if any.
        chown: Option<Owner>,
    },
    /// A TCP socket.
    Inet {
        /// Lower-cased host; empty means every interface.
        host: String,
        /// TCP port (1–65535).
        port: u16,
    },
}

/// Settings that `supervisorctl` reads from `[supervisorctl]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CtlConfig {
    /// `unix:///abs/path` or `http://host:port`.
    pub serverurl: String,
    /// Basic-auth user.
    pub username: Option<String>,
    /// Basic-auth password (plain text).
    pub password: Option<String>,
    /// Shell prompt word; the shell prints `<prompt>> `.
    pub prompt: String,
    /// Readline history file.
    pub history_file: Option<PathBuf>,
}

impl Default for CtlConfig {
    fn default() -> Self {
        CtlConfig {
            serverurl: "http://localhost:9001".to_string(),
            username: None,
            password: None,
            prompt: "supervisor".to_string(),
            history_file: None,
        }
    }
}

/// One `[rpcinterface:x]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpcInterfaceConfig {
    /// The part after `rpcinterface:`.
    pub name: String,
    /// The factory spec; only the standard `supervisor.rpcinterface:make_main_rpcinterface`
    /// is accepted.
    pub factory: String,
    /// Other keys of the section.
    pub extras: BTreeMap<String, String>,
}

/// What kind of section produced a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum GroupKind {
    /// `[program:x]`: a group holding that program's processes.
    Program,
    /// `[group:x]`: programs listed in `programs=`.
    Group,
    /// `[eventlistener:x]`: a pool of event listeners.
    #[serde(rename = "eventlistener")]
    EventListener(EventListenerPool),
    /// `[fcgi-program:x]`: processes sharing a listening socket on fd 0.
    #[serde(rename = "fcgi-program")]
    FastCgi(FcgiSocket),
}

/// Pool settings of an `[eventlistener:x]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventListenerPool {
    /// Maximum number of events buffered for the pool.
    pub buffer_size: i64,
    /// Subscribed event type names, upper-cased, sorted, without duplicates.
    pub events: Vec<String>,
    /// The result handler spec (only the default one is supported).
    pub result_handler: String,
}

/// The socket of an `[fcgi-program:x]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FcgiSocket {
    /// `unix:///path` or `tcp://host:port`, normalized.
    pub url: String,
    /// Listen backlog; none means the OS default (SOMAXCONN).
    pub backlog: Option<i64>,
    /// Owner of a unix socket file.
    pub owner: Option<Owner>,
    /// Mode of a unix socket file.
    pub mode: Option<u32>,
}

/// A process group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupConfig {
    /// Group name.
    pub name: String,
    /// Group priority: lower starts first and stops last.
    pub priority: i64,
    /// The section type that made this group, with its extra settings.
    pub kind: GroupKind,
    /// Processes sorted by (priority, name).
    pub processes: Vec<ProcessConfig>,
}

impl GroupConfig {
    /// True for event listener pools.
    pub fn is_event_listener_pool(&self) -> bool {
        matches!(self.kind, GroupKind::EventListener(_))
    }
}

/// When an EXITED process is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRestart {
    /// `autorestart=false`: never.
    Never,
    /// `autorestart=unexpected`: when the exit status is not in `exitcodes`.
    Unexpected,
    /// `autorestart=true`: always.
    Always,
}

impl Serialize for AutoRestart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            AutoRestart::Never => "false",
            AutoRestart::Unexpected => "unexpected",
            AutoRestart::Always => "true",
        })
    }
}

/// Where one output channel of a child goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFile {
    /// `NONE`/`OFF`: no file.
    None,
    /// `AUTO`: a file in `childlogdir` named when the group is added.
    Auto,
    /// A path (`~` expanded; relative paths are relative to supervisord's cwd).
    Path(PathBuf),
}

impl LogFile {
    /// The path, when the channel has a concrete file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            LogFile::Path(p) => Some(p),
            LogFile::None | LogFile::Auto => None,
        }
    }
}

impl Serialize for LogFile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LogFile::None => s.serialize_none(),
            LogFile::Auto => s.serialize_str("AUTO"),
            LogFile::Path(p) => p.serialize(s),
        }
    }
}

/// Settings of one output channel (stdout or stderr) of a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelConfig {
    /// Log file.
    pub logfile: LogFile,
    /// Rotate at this size; 0 never rotates.
    pub logfile_maxbytes: i64,
    /// Rotated files to keep.
    pub logfile_backups: i64,
    /// Capture mode buffer size; 0 disables capture mode.
    pub capture_maxbytes: i64,
    /// Emit PROCESS_LOG events for this channel.
    pub events_enabled: bool,
    /// Also send each line to syslog.
    pub syslog: bool,
}

impl ChannelConfig {
    /// The reference's defaults: AUTO, 50MB, 10 backups, no capture, no events, no syslog.
    pub fn reference_default() -> Self {
        ChannelConfig {
            logfile: LogFile::Auto,
            logfile_maxbytes: 50 * 1024 * 1024,
            logfile_backups: 10,
            capture_maxbytes: 0,
            events_enabled: false,
            syslog: false,
        }
    }
}

/// A signal number, as the reference stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Signal(pub i32);

impl Signal {
    /// SIGTERM, the default stop signal.
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// SIGKILL, the escalation signal.
    pub const KILL: Signal = Signal(libc::SIGKILL);
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match crate::config::value::signal_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// One process entry: a `[program:x]` (or listener/fcgi) section expanded for one
/// `process_num`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessConfig {
    /// Process name (`process_name` expanded).
    pub name: String,
    /// The section it came from, e.g. `program:web`.
    pub section: String,
    /// The file that section was first defined in.
    pub section_file: PathBuf,
    /// The command line, expanded but not yet split.
    pub command: String,
    /// Directory to change into before exec.
    pub directory: Option<String>,
    /// umask for the child, none to inherit.
    pub umask: Option<u32>,
    /// Process priority within its group.
    pub priority: i64,
    /// Start when supervisord starts.
    pub autostart: bool,
    /// Restart policy for EXITED.
    pub autorestart: AutoRestart,
    /// Seconds the process must stay up to count as started.
    pub startsecs: i64,
    /// Failed starts allowed before FATAL.
    pub startretries: i64,
    /// User to run as, resolved to a uid.
    pub uid: Option<u32>,
    /// The stdout channel.
    pub stdout: ChannelConfig,
    /// The stderr channel.
    pub stderr: ChannelConfig,
    /// Signal sent to stop the process.
    pub stopsignal: Signal,
    /// Seconds to wait after the stop signal before SIGKILL.
    pub stopwaitsecs: i64,
    /// Send the stop signal to the process group.
    pub stopasgroup: bool,
    /// Send SIGKILL to the process group.
    pub killasgroup: bool,
    /// Exit statuses that count as expected.
    pub exitcodes: Vec<i32>,
    /// Send stderr into the stdout pipe.
    pub redirect_stderr: bool,
    /// Child environment additions: `[supervisord] environment` merged under the
    /// program's own.
    pub environment: BTreeMap<String, String>,
    /// `SUPERVISOR_SERVER_URL` override; none means supervisord's own URL (`AUTO`).
    pub serverurl: Option<String>,
}

impl ProcessConfig {
    /// A process entry with the reference's defaults for every option, as a
    /// `[program:name]` section containing only `command=` would give.
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> Self {
        let name = name.into();
        ProcessConfig {
            section: format!("program:{name}"),
            section_file: PathBuf::new(),
            name,
            command: command.into(),
            directory: None,
            umask: None,
            priority: 999,
            autostart: true,
            autorestart: AutoRestart::Unexpected,
            startsecs: 1,
            startretries: 3,
            uid: None,
            stdout: ChannelConfig::reference_default(),
            stderr: ChannelConfig::reference_default(),
            stopsignal: Signal::TERM,
            stopwaitsecs: 10,
            stopasgroup: false,
            killasgroup: false,
            exitcodes: vec![0],
            redirect_stderr: false,
            environment: BTreeMap::new(),
            serverurl: None,
        }
    }

    /// The channel settings for stdout (`false`) or stderr (`true`).
    pub fn channel(&self, stderr: bool) -> &ChannelConfig {
        if stderr {
            &self.stderr
        } else {
            &self.stdout
        }
    }
}
