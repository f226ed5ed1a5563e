//! From parsed INI sections to the typed model, in the reference's order and with its
//! rules for which `%(name)s` expansions exist where.
//!
//! Owns: reading files and `[include]`, `%(here)s`, every section type, defaults,
//! command-line overrides and the checks the reference makes when it realizes its
//! options. Unlike the reference, which stops at the first problem, every problem is
//! collected (with file, line, section and option) and all are returned together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigErrors};
use super::expand::{expand, table, Expansion, NameTable, Names};
use super::ini::{Entry, Ini};
use super::model::*;
use super::shlex::key_value_pairs;
use super::value::{self, py_int, LogFileName, ValueResult};

/// The event type names an `[eventlistener:x] events=` line may use.
pub const EVENT_TYPE_NAMES: &[&str] = &[
    "EVENT",
    "PROCESS_COMMUNICATION",
    "PROCESS_COMMUNICATION_STDERR",
    "PROCESS_COMMUNICATION_STDOUT",
    "PROCESS_GROUP",
    "PROCESS_GROUP_ADDED",
    "PROCESS_GROUP_REMOVED",
    "PROCESS_LOG",
    "PROCESS_LOG_STDERR",
    "PROCESS_LOG_STDOUT",
    "PROCESS_STATE",
    "PROCESS_STATE_BACKOFF",
    "PROCESS_STATE_EXITED",
    "PROCESS_STATE_FATAL",
    "PROCESS_STATE_RUNNING",
    "PROCESS_STATE_STARTING",
    "PROCESS_STATE_STOPPED",
    "PROCESS_STATE_STOPPING",
    "PROCESS_STATE_UNKNOWN",
    "REMOTE_COMMUNICATION",
    "SUPERVISOR_STATE_CHANGE",
    "SUPERVISOR_STATE_CHANGE_RUNNING",
    "SUPERVISOR_STATE_CHANGE_STOPPING",
    "TICK",
    "TICK_3600",
    "TICK_5",
    "TICK_60",
];

/// The only `[rpcinterface:x]` factory we provide.
pub const MAIN_RPC_INTERFACE: &str = "supervisor.rpcinterface:make_main_rpcinterface";
/// The only event listener result handler we provide.
pub const DEFAULT_RESULT_HANDLER: &str = "supervisor.dispatchers:default_handler";

/// `[supervisord]` values given on the command line; they win over the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `-n`
    pub nodaemon: Option<bool>,
    /// `-s`
    pub silent: Option<bool>,
    /// `-u`
    pub user: Option<String>,
    /// `-m`
    pub umask: Option<u32>,
    /// `-d`
    pub directory: Option<PathBuf>,
    /// `-l`
    pub logfile: Option<String>,
    /// `-y`
    pub logfile_maxbytes: Option<i64>,
    /// `-z`
    pub logfile_backups: Option<i64>,
    /// `-e`
    pub loglevel: Option<LogLevel>,
    /// `-j`
    pub pidfile: Option<String>,
    /// `-i`
    pub identifier: Option<String>,
    /// `-q`
    pub childlogdir: Option<PathBuf>,
    /// `-a`
    pub minfds: Option<i64>,
    /// `--minprocs`
    pub minprocs: Option<i64>,
    /// `-k`
    pub nocleanup: Option<bool>,
    /// `-t`
    pub strip_ansi: Option<bool>,
}

/// Everything outside the file that reading it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// supervisord's environment at start-up: the source of `%(ENV_X)s`.
    pub environ: Vec<(String, String)>,
    /// `%(host_node_name)s` (`uname -n`).
    pub host_node_name: String,
    /// Directory relative `logfile`/`pidfile` paths are made absolute against.
    pub cwd: PathBuf,
    /// Default `childlogdir` (Python's `tempfile.gettempdir()`).
    pub tempdir: PathBuf,
    /// Our uid (decides the default owner of fcgi unix sockets).
    pub uid: u32,
    /// Command-line values for `[supervisord]`.
    pub overrides: Overrides,
}

impl LoadOptions {
    /// Options taken from this process: its environment, host name, cwd and uid.
    pub fn from_process() -> Self {
        let environ: Vec<(String, String)> = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let tempdir = python_tempdir(&environ, &cwd);
        LoadOptions {
            host_node_name: nix::sys::utsname::uname()
                .map(|u| u.nodename().to_string_lossy().into_owned())
                .unwrap_or_default(),
            cwd,
            tempdir,
            uid: nix::unistd::getuid().as_raw(),
            environ,
            overrides: Overrides::default(),
        }
    }

    /// Deterministic options for tests and fuzzing: an empty environment, host name
    /// `testhost`, `here` as cwd and `/tmp` as temp dir.
    pub fn for_test(here: &Path) -> Self {
        LoadOptions {
            environ: Vec::new(),
            host_node_name: "testhost".to_string(),
            cwd: here.to_path_buf(),
            tempdir: PathBuf::from("/tmp"),
            uid: nix::unistd::getuid().as_raw(),
            overrides: Overrides::default(),
        }
    }
}

/// Python's `tempfile.gettempdir()`: `$TMPDIR`, `$TEMP`, `$TMP`, then `/tmp`, `/var/tmp`,
/// `/usr/tmp`, then the cwd — the first usable directory.
fn python_tempdir(environ: &[(String, String)], cwd: &Path) -> PathBuf {
    let from_env = ["TMPDIR", "TEMP", "TMP"].iter().filter_map(|name| {
        environ
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| PathBuf::from(v))
    });
    let fixed = ["/tmp", "/var/tmp", "/usr/tmp"].iter().map(PathBuf::from);
    from_env
        .chain(fixed)
        .find(|dir| {
            nix::unistd::access(dir.as_path(), nix::unistd::AccessFlags::W_OK).is_ok()
                && dir.is_dir()
        })
        .map(|dir| value::normpath(&cwd.join(dir)))
        .unwrap_or_else(|| cwd.to_path_buf())
}

/// Reads `path` (and the files it includes) into a validated model.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Config, ConfigErrors> {
    load_merged(path, &[], options)
}

/// Like [`load`], with `extra` files read after the main file's own includes, exactly
/// as if its `[include] files=` listed them: the platform-config-plus-app-config case
/// (an app's three-line `[program:x]` file merged into a platform's configuration).
/// `%(here)s` in each extra file is that file's directory.
pub fn load_merged(
    path: &Path,
    extra: &[PathBuf],
    options: &LoadOptions,
) -> Result<Config, ConfigErrors> {
    let text = read_config_file(path)?;
    parse(&text, path, extra, options)
}

/// Like [`load`], for text already in memory; `source` names the file (relative
/// includes and `%(here)s` are resolved against its directory).
pub fn load_str(text: &str, source: &Path, options: &LoadOptions) -> Result<Config, ConfigErrors> {
    parse(text, source, &[], options)
}

fn parse(
    text: &str,
    source: &Path,
    extra: &[PathBuf],
    options: &LoadOptions,
) -> Result<Config, ConfigErrors> {
    let absolute = value::normpath(&options.cwd.join(source));
    let here = absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let mut builder = Builder::new(source, &here, options);
    let parse_errors = builder.ini.read(text, source);
    builder.errors.extend(parse_errors);
    let mut included_files = builder.read_includes(&here);
    if !extra.is_empty() {
        if !builder.ini.has_section("include") {
            builder.ini.expand_here(&here.to_string_lossy());
        }
        for file in extra {
            if builder.read_included_file(file) {
                included_files.push(file.clone());
            }
        }
    }
    let config = builder.build(absolute, here, included_files);
    builder.finish(config)
}

/// The text of the main configuration file, with the reference's messages when it is
/// missing or unreadable (a directory, say).
fn read_config_file(path: &Path) -> Result<String, ConfigErrors> {
    if !path.exists() {
        return Err(
            ConfigError::general(format!("could not find config file {}", path.display())).into(),
        );
    }
    let bytes = std::fs::read(path).map_err(|_| {
        ConfigError::general(format!("could not read config file {}", path.display()))
    })?;
    decode(&bytes, path)
}

/// Decodes a file as UTF-8, naming the line of the first bad byte.
fn decode(bytes: &[u8], path: &Path) -> Result<String, ConfigErrors> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            Err(ConfigError::at(
                path,
                line,
                format!(
                    "file is not valid UTF-8 (byte 0x{:02x} at offset {})",
                    bytes[e.valid_up_to()],
                    e.valid_up_to()
                ),
            )
            .into())
        }
    }
}

struct Builder<'a> {
    ini: Ini,
    main_file: PathBuf,
    file_order: Vec<PathBuf>,
    here: PathBuf,
    options: &'a LoadOptions,
    errors: Vec<ConfigError>,
    criticals: Vec<String>,
    warnings: Vec<String>,
    infos: Vec<String>,
    /// `ENV_*` names: the environment, later extended by `[supervisord] environment`.
    env: NameTable,
}

/// The names every program-section key sees, besides `ENV_*`.
fn program_names(here: &str, program: &str, host: &str, group: &str) -> NameTable {
    table([
        ("here", Expansion::Str(here.to_string())),
        ("program_name", Expansion::Str(program.to_string())),
        ("host_node_name", Expansion::Str(host.to_string())),
        ("group_name", Expansion::Str(group.to_string())),
    ])
}

impl<'a> Builder<'a> {
    fn new(source: &Path, here: &Path, options: &'a LoadOptions) -> Builder<'a> {
        Builder {
            ini: Ini::default(),
            main_file: source.to_path_buf(),
            file_order: vec![source.to_path_buf()],
            here: here.to_path_buf(),
            options,
            errors: Vec::new(),
            criticals: Vec::new(),
            warnings: Vec::new(),
            infos: Vec::new(),
            env: table(
                options
                    .environ
                    .iter()
                    .map(|(k, v)| (format!("ENV_{k}"), Expansion::Str(v.clone()))),
            ),
        }
    }

    /// Reads one included file into the configuration (parse errors are recorded) and
    /// resolves its `%(here)s`. False when it cannot be read: the reference skips such
    /// files (a directory matched by a glob, say) without a word.
    fn read_included_file(&mut self, file: &Path) -> bool {
        self.infos.push(format!(
            "Included extra file \"{}\" during parsing",
            file.display()
        ));
        let Ok(bytes) = std::fs::read(file) else {
            return false;
        };
        match decode(&bytes, file) {
            Ok(text) => {
                let errors = self.ini.read(&text, file);
                self.errors.extend(errors);
            }
            Err(e) => self.errors.extend(e.0),
        }
        self.file_order.push(file.to_path_buf());
        let dir = value::normpath(&self.options.cwd.join(file))
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".to_string());
        self.ini.expand_here(&dir);
        true
    }

    fn here_str(&self) -> String {
        self.here.to_string_lossy().into_owned()
    }

    fn here_table(&self) -> NameTable {
        table([("here", Expansion::Str(self.here_str()))])
    }

    fn entry(&self, section: &str, key: &str) -> Option<Entry> {
        self.ini.get(section, key).cloned()
    }

    /// An error located at `key` of `section` (its line when the key is written, else
    /// the section header's line).
    fn error(&mut self, section: &str, key: Option<&str>, message: String) {
        let located = key
            .and_then(|k| self.ini.get(section, k))
            .map(|e| &e.origin);
        let origin = located.or_else(|| self.ini.section(section).map(|s| &s.origin));
        let mut error = match origin {
            Some(o) => ConfigError::at(&o.file, o.line, message),
            None => ConfigError::file(&self.main_file, message),
        };
        if self.ini.has_section(section) {
            error = error.in_section(section);
        }
        if let Some(key) = key {
            error = error.for_option(key);
        }
        self.errors.push(error);
    }

    /// The expanded text of `key`, if written; expansion errors are recorded.
    fn text(&mut self, section: &str, key: &str, names: &Names<'_>) -> Option<String> {
        let value = &self.ini.get(section, key)?.value;
        if !value.contains('%') {
            return Some(value.clone());
        }
        let value = value.clone();
        match expand(&value, names, &format!("{section}.{key}")) {
            Ok(text) => Some(text),
            Err(message) => {
                self.error(section, Some(key), message);
                None
            }
        }
    }

    /// `key` converted, or `default` when it is not written or is wrong (then the
    /// problem is recorded).
    fn value<T>(
        &mut self,
        section: &str,
        key: &str,
        names: &Names<'_>,
        convert: impl FnOnce(&str) -> ValueResult<T>,
        default: T,
    ) -> T {
        self.optional(section, key, names, convert)
            .unwrap_or(default)
    }

    /// `key` converted, or none when it is not written or is wrong.
    fn optional<T>(
        &mut self,
        section: &str,
        key: &str,
        names: &Names<'_>,
        convert: impl FnOnce(&str) -> ValueResult<T>,
    ) -> Option<T> {
        let text = self.text(section, key, names)?;
        match convert(&text) {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(section, Some(key), message);
                None
            }
        }
    }

    fn read_includes(&mut self, here: &Path) -> Vec<PathBuf> {
        if !self.ini.has_section("include") {
            return Vec::new();
        }
        let here_text = here.to_string_lossy().into_owned();
        self.ini.expand_here(&here_text);
        let Some(files) = self.entry("include", "files") else {
            self.error(
                "include",
                None,
                ".ini file has [include] section, but no files setting".to_string(),
            );
            return Vec::new();
        };
        let names_table = table([
            ("here", Expansion::Str(here_text)),
            (
                "host_node_name",
                Expansion::Str(self.options.host_node_name.clone()),
            ),
        ]);
        let files = match expand(
            &files.value,
            &Names::new(vec![&self.env, &names_table]),
            "include.files",
        ) {
            Ok(f) => f,
            Err(message) => {
                self.error("include", Some("files"), message);
                return Vec::new();
            }
        };
        let base = here.to_path_buf();
        let mut included = Vec::new();
        for pattern in files.split_whitespace() {
            let joined = base.join(pattern);
            let matches = glob_sorted(&joined);
            if matches.is_empty() {
                self.warnings.push(format!(
                    "No file matches via include \"{}\"",
                    joined.display()
                ));
                continue;
            }
            for file in matches {
                if self.read_included_file(&file) {
                    included.push(file);
                }
            }
        }
        included
    }

    fn build(&mut self, source: PathBuf, here: PathBuf, included_files: Vec<PathBuf>) -> Config {
        if !self.ini.has_section("supervisord") {
            self.errors.push(ConfigError::file(
                &self.main_file,
                ".ini file does not include supervisord section",
            ));
        }
        let supervisord = self.supervisord();
        let rpcinterfaces = self.rpcinterfaces();
        let mut groups = self.groups();
        for group in &mut groups {
            // Most groups hold one process, and a vector grown by push reserves four:
            // a config is kept for the daemon's lifetime.
            group.processes.shrink_to_fit();
            for process in &mut group.processes {
                let mut merged = supervisord.environment.clone();
                merged.append(&mut process.environment);
                process.environment = merged;
            }
        }
        let http_servers = self.servers();
        let mut messages = Vec::new();
        for (level, texts) in [
            (MessageLevel::Critical, &self.criticals),
            (MessageLevel::Warn, &self.warnings),
            (MessageLevel::Info, &self.infos),
        ] {
            messages.extend(texts.iter().map(|text| ParseMessage {
                level,
                text: text.clone(),
            }));
        }
        Config {
            source,
            here,
            included_files,
            supervisord,
            http_servers,
            groups,
            rpcinterfaces,
            messages,
        }
    }

    fn finish(mut self, config: Config) -> Result<Config, ConfigErrors> {
        if self.errors.is_empty() {
            return Ok(config);
        }
        let rank = |file: &Path| {
            self.file_order
                .iter()
                .position(|f| f == file)
                .unwrap_or(usize::MAX)
        };
        self.errors
            .sort_by_key(|e| (rank(&e.file), e.line.unwrap_or(0)));
        // A per-process key fails once per numprocs instance with the same text.
        self.errors.dedup();
        Err(ConfigErrors(self.errors))
    }

    fn supervisord(&mut self) -> SupervisordConfig {
        const S: &str = "supervisord";
        let here = self.here_table();
        let env = self.env.clone();
        let names = Names::new(vec![&env, &here]);
        let o = self.options.overrides.clone();

        let minfds = self.value(S, "minfds", &names, py_int, 1024);
        let minprocs = self.value(S, "minprocs", &names, py_int, 200);
        let directory = self.optional(S, "directory", &names, value::existing_directory);
        let user = self.text(S, "user", &names);
        let umask = self.value(S, "umask", &names, value::octal, 0o022);
        let logfile = self.value(
            S,
            "logfile",
            &names,
            |t| value::existing_dirpath(t).map(|_| t.to_string()),
            "supervisord.log".to_string(),
        );
        let logfile_maxbytes = self.value(
            S,
            "logfile_maxbytes",
            &names,
            value::byte_size,
            50 * 1024 * 1024,
        );
        let logfile_backups = self.value(S, "logfile_backups", &names, py_int, 10);
        let loglevel = self.value(S, "loglevel", &names, value::log_level, LogLevel::Info);
        let pidfile = self.value(
            S,
            "pidfile",
            &names,
            |t| value::existing_dirpath(t).map(|_| t.to_string()),
            "supervisord.pid".to_string(),
        );
        let identifier = self
            .text(S, "identifier", &names)
            .unwrap_or_else(|| "supervisor".to_string());
        let nodaemon = self.value(S, "nodaemon", &names, value::boolean, false);
        let silent = self.value(S, "silent", &names, value::boolean, false);
        let childlogdir = self
            .optional(S, "childlogdir", &names, value::existing_directory)
            .unwrap_or_else(|| self.options.tempdir.clone());
        let nocleanup = self.value(S, "nocleanup", &names, value::boolean, false);
        let strip_ansi = self.value(S, "strip_ansi", &names, value::boolean, false);
        let environment = self.supervisord_environment(&names);
        for (k, v) in &environment {
            self.env
                .insert(format!("ENV_{k}"), Expansion::Str(v.clone()));
        }

        let user = o.user.or(user);
        let uid = user.as_ref().and_then(|u| match value::name_to_uid(u) {
            Ok(uid) => Some(uid),
            Err(message) => {
                self.error(S, Some("user"), message);
                None
            }
        });
        let logfile = o.logfile.unwrap_or(logfile);
        let logfile = if logfile == "syslog" {
            MainLogTarget::Syslog
        } else {
            MainLogTarget::File(value::normalize_path(&logfile, &self.options.cwd))
        };
        let pidfile = value::normalize_path(&o.pidfile.unwrap_or(pidfile), &self.options.cwd);
        SupervisordConfig {
            logfile,
            logfile_maxbytes: o.logfile_maxbytes.unwrap_or(logfile_maxbytes),
            logfile_backups: o.logfile_backups.unwrap_or(logfile_backups),
            loglevel: o.loglevel.unwrap_or(loglevel),
            pidfile,
            umask: o.umask.unwrap_or(umask),
            nodaemon: o.nodaemon.unwrap_or(nodaemon),
            silent: o.silent.unwrap_or(silent),
            minfds: o.minfds.unwrap_or(minfds),
            minprocs: o.minprocs.unwrap_or(minprocs),
            nocleanup: o.nocleanup.unwrap_or(nocleanup),
            childlogdir: o.childlogdir.unwrap_or(childlogdir),
            user,
            uid,
            directory: o.directory.or(directory),
            strip_ansi: o.strip_ansi.unwrap_or(strip_ansi),
            environment,
            identifier: o.identifier.unwrap_or(identifier),
        }
    }

    /// `[supervisord] environment`, expanded twice as 4.3.0 does: first with `here` and
    /// `ENV_*`, then again with `host_node_name` added.
    fn supervisord_environment(&mut self, first_pass: &Names<'_>) -> BTreeMap<String, String> {
        const S: &str = "supervisord";
        let Some(once) = self.text(S, "environment", first_pass) else {
            return BTreeMap::new();
        };
        let second = table([
            ("here", Expansion::Str(self.here_str())),
            (
                "host_node_name",
                Expansion::Str(self.options.host_node_name.clone()),
            ),
        ]);
        let env = self.env.clone();
        let twice = match expand(&once, &Names::new(vec![&env, &second]), "environment") {
            Ok(t) => t,
            Err(message) => {
                self.error(S, Some("environment"), message);
                return BTreeMap::new();
            }
        };
        match key_value_pairs(&twice) {
            Ok(pairs) => pairs,
            Err(message) => {
                self.error(S, Some("environment"), message);
                BTreeMap::new()
            }
        }
    }

    fn sections_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.ini
            .section_names()
            .filter(|s| s.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }

    fn rpcinterfaces(&mut self) -> Vec<RpcInterfaceConfig> {
        const FACTORY_KEY: &str = "supervisor.rpcinterface_factory";
        let env = self.env.clone();
        let names = Names::new(vec![&env]);
        let mut interfaces = Vec::new();
        for section in self.sections_with_prefix("rpcinterface:") {
            let name = section["rpcinterface:".len()..].to_string();
            let Some(factory) = self.text(&section, FACTORY_KEY, &names) else {
                if self.entry(&section, FACTORY_KEY).is_none() {
                    self.error(
                        &section,
                        None,
                        format!("section [{section}] does not specify a {FACTORY_KEY}"),
                    );
                }
                continue;
            };
            if factory != MAIN_RPC_INTERFACE {
                self.error(
                    &section,
                    Some(FACTORY_KEY),
                    format!("{factory} cannot be resolved within [{section}]"),
                );
                continue;
            }
            let mut extras = BTreeMap::new();
            let keys: Vec<String> = self
                .ini
                .keys(&section)
                .into_iter()
                .map(str::to_string)
                .collect();
            for key in keys {
                if key != FACTORY_KEY {
                    if let Some(v) = self.text(&section, &key, &names) {
                        extras.insert(key, v);
                    }
                }
            }
            interfaces.push(RpcInterfaceConfig {
                name,
                factory,
                extras,
            });
        }
        interfaces
    }

    fn groups(&mut self) -> Vec<GroupConfig> {
        let all: Vec<String> = self.ini.section_names().map(str::to_string).collect();
        let here = self.here_table();
        let mut groups = Vec::new();
        let mut in_a_group: Vec<String> = Vec::new();

        for section in all.iter().filter(|s| s.starts_with("group:")) {
            let env = self.env.clone();
            let names = Names::new(vec![&env, &here]);
            let name = match value::process_or_group_name(&section["group:".len()..]) {
                Ok(n) => n,
                Err(message) => {
                    self.error(section, None, message);
                    continue;
                }
            };
            let programs = self
                .text(section, "programs", &names)
                .map(|t| value::list_of_strings(&t))
                .unwrap_or_default();
            let priority = self.value(section, "priority", &names, py_int, 999);
            let mut processes = Vec::new();
            // The reference names the previously resolved member's section in this
            // message (its loop variable is reused); keep its wording.
            let mut shown_section = section.clone();
            for program in programs {
                let program_section = format!("program:{program}");
                let fcgi_section = format!("fcgi-program:{program}");
                let (is_program, is_fcgi) =
                    (all.contains(&program_section), all.contains(&fcgi_section));
                let member = match (is_program, is_fcgi) {
                    (false, false) => {
                        self.error(
                            section,
                            Some("programs"),
                            format!(
                                "[{shown_section}] names unknown program or fcgi-program {program}"
                            ),
                        );
                        continue;
                    }
                    (true, true) => {
                        self.error(
                            section,
                            Some("programs"),
                            format!(
                                "[{shown_section}] name {program} is ambiguous (exists as program and fcgi-program)"
                            ),
                        );
                        continue;
                    }
                    (true, false) => program_section,
                    (false, true) => fcgi_section,
                };
                shown_section = member.clone();
                in_a_group.push(member.clone());
                processes.extend(self.processes(&member, &name));
            }
            groups.push(GroupConfig {
                name,
                priority,
                kind: GroupKind::Group,
                processes,
            });
        }

        for section in all.iter().filter(|s| s.starts_with("program:")) {
            if in_a_group.contains(section) {
                continue;
            }
            let env = self.env.clone();
            let names = Names::new(vec![&env, &here]);
            let name = match value::process_or_group_name(&section["program:".len()..]) {
                Ok(n) => n,
                Err(message) => {
                    self.error(section, None, message);
                    continue;
                }
            };
            let priority = self.value(section, "priority", &names, py_int, 999);
            let processes = self.processes(section, &name);
            groups.push(GroupConfig {
                name,
                priority,
                kind: GroupKind::Program,
                processes,
            });
        }

        for section in all.iter().filter(|s| s.starts_with("eventlistener:")) {
            if let Some(group) = self.event_listener_pool(section, &here) {
                groups.push(group);
            }
        }

        for section in all.iter().filter(|s| s.starts_with("fcgi-program:")) {
            if in_a_group.contains(section) {
                continue;
            }
            if let Some(group) = self.fcgi_group(section, &here) {
                groups.push(group);
            }
        }

        groups.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        groups
    }

    fn event_listener_pool(&mut self, section: &str, here: &NameTable) -> Option<GroupConfig> {
        let env = self.env.clone();
        let names = Names::new(vec![&env, here]);
        let pool_name = section["eventlistener:".len()..].to_string();
        let priority = self.value(section, "priority", &names, py_int, -1);
        let buffer_size = self.value(section, "buffer_size", &names, py_int, 10);
        if buffer_size < 1 {
            self.error(
                section,
                Some("buffer_size"),
                format!("[{section}] section sets invalid buffer_size ({buffer_size})"),
            );
        }
        let result_handler = self
            .text(section, "result_handler", &names)
            .unwrap_or_else(|| DEFAULT_RESULT_HANDLER.to_string());
        if result_handler != DEFAULT_RESULT_HANDLER {
            self.error(
                section,
                Some("result_handler"),
                format!("{result_handler} cannot be resolved within [{section}]"),
            );
        }
        let mut events: Vec<String> = self
            .text(section, "events", &names)
            .map(|t| {
                value::list_of_strings(&t)
                    .into_iter()
                    .map(|e| e.to_uppercase())
                    .collect()
            })
            .unwrap_or_default();
        events.sort();
        events.dedup();
        if events.is_empty() {
            self.error(
                section,
                Some("events"),
                format!("[{section}] section requires an \"events\" line"),
            );
        }
        for event in &events {
            if !EVENT_TYPE_NAMES.contains(&event.as_str()) {
                self.error(
                    section,
                    Some("events"),
                    format!("Unknown event type {event} in [{section}] events"),
                );
            }
        }
        if self.value(section, "redirect_stderr", &names, value::boolean, false) {
            self.error(
                section,
                Some("redirect_stderr"),
                format!(
                    "[{section}] section sets redirect_stderr=true but this is not allowed \
                     because it will interfere with the eventlistener protocol"
                ),
            );
        }
        let processes = self.processes(section, &pool_name);
        Some(GroupConfig {
            name: pool_name,
            priority,
            kind: GroupKind::EventListener(EventListenerPool {
                buffer_size,
                events,
                result_handler,
            }),
            processes,
        })
    }

    fn fcgi_group(&mut self, section: &str, here: &NameTable) -> Option<GroupConfig> {
        let env = self.env.clone();
        let names = Names::new(vec![&env, here]);
        let name = match value::process_or_group_name(&section["fcgi-program:".len()..]) {
            Ok(n) => n,
            Err(message) => {
                self.error(section, None, message);
                return None;
            }
        };
        let priority = self.value(section, "priority", &names, py_int, 999);
        let proc_uid = self.optional(section, "user", &names, value::name_to_uid);
        let backlog = self.optional(section, "socket_backlog", &names, py_int);
        if let Some(b) = backlog {
            if !(1..=65535).contains(&b) {
                self.error(
                    section,
                    Some("socket_backlog"),
                    format!("Invalid socket_backlog value {b}"),
                );
            }
        }
        let owner = self.optional(section, "socket_owner", &names, |t| {
            value::colon_separated_user_group(t)
                .map_err(|_| format!("Invalid socket_owner value {t}"))
        });
        let mode = self.optional(section, "socket_mode", &names, |t| {
            value::octal(t).map_err(|_| format!("Invalid socket_mode value {t}"))
        });
        let socket_names = table([("program_name", Expansion::Str(name.clone()))]);
        let socket = self
            .text(
                section,
                "socket",
                &Names::new(vec![&env, here, &socket_names]),
            )
            .unwrap_or_default();
        if socket.is_empty() {
            self.error(
                section,
                Some("socket"),
                format!("[{section}] section requires a \"socket\" line"),
            );
        } else {
            let owner_given = self.entry(section, "socket_owner").is_some();
            let mode_given = self.entry(section, "socket_mode").is_some();
            match fcgi_socket(
                &socket,
                proc_uid,
                owner,
                mode,
                owner_given || mode_given,
                self.options,
            ) {
                Ok(parsed) => {
                    let processes = self.processes(section, &name);
                    return Some(GroupConfig {
                        name,
                        priority,
                        kind: GroupKind::FastCgi(FcgiSocket { backlog, ..parsed }),
                        processes,
                    });
                }
                Err(message) => self.error(
                    section,
                    Some("socket"),
                    format!("{message} in [{section}] socket"),
                ),
            }
        }
        self.processes(section, &name);
        None
    }

    /// The process entries of a program/listener/fcgi section, one per `process_num`,
    /// sorted by (priority, name).
    fn processes(&mut self, section: &str, group_name: &str) -> Vec<ProcessConfig> {
        let program_name =
            match value::process_or_group_name(section.split_once(':').map_or("", |(_, n)| n)) {
                Ok(n) => n,
                Err(message) => {
                    self.error(section, None, message);
                    return Vec::new();
                }
            };
        let env = self.env.clone();
        let common = program_names(
            &self.here_str(),
            &program_name,
            &self.options.host_node_name,
            group_name,
        );
        let names = Names::new(vec![&env, &common]);
        let s = section;

        let priority = self.value(s, "priority", &names, py_int, 999);
        let autostart = self.value(s, "autostart", &names, value::boolean, true);
        let autorestart = self.value(
            s,
            "autorestart",
            &names,
            value::auto_restart,
            AutoRestart::Unexpected,
        );
        let startsecs = self.value(s, "startsecs", &names, py_int, 1);
        let startretries = self.value(s, "startretries", &names, py_int, 3);
        let stopsignal = self.value(s, "stopsignal", &names, value::signal_number, Signal::TERM);
        let stopwaitsecs = self.value(s, "stopwaitsecs", &names, py_int, 10);
        let stopasgroup = self.value(s, "stopasgroup", &names, value::boolean, false);
        let killasgroup = self.value(s, "killasgroup", &names, value::boolean, stopasgroup);
        let exitcodes = self.value(s, "exitcodes", &names, value::exit_codes, vec![0]);
        let redirect_stderr = self.value(s, "redirect_stderr", &names, value::boolean, false);
        let numprocs = self.value(s, "numprocs", &names, py_int, 1);
        let numprocs_start = self.value(s, "numprocs_start", &names, py_int, 0);
        let environment_template = self.entry(s, "environment").map(|e| e.value);
        let stdout_capture = self.value(s, "stdout_capture_maxbytes", &names, value::byte_size, 0);
        let stdout_events = self.value(s, "stdout_events_enabled", &names, value::boolean, false);
        let stderr_capture = self.value(s, "stderr_capture_maxbytes", &names, value::byte_size, 0);
        let stderr_events = self.value(s, "stderr_events_enabled", &names, value::boolean, false);
        let serverurl = self
            .text(s, "serverurl", &names)
            .filter(|url| value::py_strip(url).to_uppercase() != "AUTO");
        let uid = self.optional(s, "user", &names, value::name_to_uid);
        let umask = self.optional(s, "umask", &names, value::octal);
        let process_name_template = self
            .entry(s, "process_name")
            .map(|e| e.value)
            .unwrap_or_else(|| "%(program_name)s".to_string());
        let process_name_template = match value::process_or_group_name(&process_name_template) {
            Ok(t) => t,
            Err(message) => {
                self.error(s, Some("process_name"), message);
                return Vec::new();
            }
        };
        if numprocs > 1 && !process_name_template.contains("%(process_num)") {
            self.error(
                s,
                Some("process_name"),
                "%(process_num) must be present within process_name when numprocs > 1".to_string(),
            );
            return Vec::new();
        }
        if stopasgroup && !killasgroup {
            self.error(
                s,
                Some("killasgroup"),
                "Cannot set stopasgroup=true and killasgroup=false".to_string(),
            );
        }

        let mut processes = Vec::new();
        let end = numprocs_start.saturating_add(numprocs.max(0));
        for process_num in numprocs_start..end {
            let errors_before = self.errors.len();
            let numbered = table([
                ("process_num", Expansion::Int(process_num)),
                ("numprocs", Expansion::Int(numprocs)),
            ]);
            let per_process = Names::new(vec![&env, &common, &numbered]);
            let environment = match &environment_template {
                None => BTreeMap::new(),
                Some(template) => match expand(template, &per_process, "environment")
                    .and_then(|t| key_value_pairs(&t))
                {
                    Ok(pairs) => pairs,
                    Err(message) => {
                        self.error(s, Some("environment"), message);
                        BTreeMap::new()
                    }
                },
            };
            let own_env = table(
                environment
                    .iter()
                    .map(|(k, v)| (format!("ENV_{k}"), Expansion::Str(v.clone()))),
            );
            let names = Names::new(vec![&env, &common, &numbered, &own_env]);
            let directory = self.text(s, "directory", &names);
            let stdout = self.channel(s, "stdout", &names, stdout_capture, stdout_events);
            let mut stderr = self.channel(s, "stderr", &names, stderr_capture, stderr_events);
            if redirect_stderr {
                if matches!(stderr.logfile, LogFile::Path(_)) {
                    self.warnings.push(format!(
                        "For [{s}], redirect_stderr=true but stderr_logfile has also been set \
                         to a filename, the filename has been ignored"
                    ));
                }
                stderr.logfile = LogFile::None;
            }
            let command = match self.entry(s, "command") {
                None => {
                    self.error(
                        s,
                        None,
                        format!("program section {s} does not specify a command"),
                    );
                    None
                }
                Some(_) => self.text(s, "command", &names),
            };
            let name = match expand(&process_name_template, &names, "process_name") {
                Ok(n) => n,
                Err(message) => {
                    self.error(s, Some("process_name"), message);
                    String::new()
                }
            };
            let (Some(command), true) = (command, self.errors.len() == errors_before) else {
                continue;
            };
            processes.push(ProcessConfig {
                name,
                section: s.to_string(),
                section_file: self
                    .ini
                    .section(s)
                    .map(|sec| sec.origin.file.clone())
                    .unwrap_or_else(|| self.main_file.clone()),
                command,
                directory,
                umask,
                priority,
                autostart,
                autorestart,
                startsecs,
                startretries,
                uid,
                stdout,
                stderr,
                stopsignal,
                stopwaitsecs,
                stopasgroup,
                killasgroup,
                exitcodes: exitcodes.clone(),
                redirect_stderr,
                environment,
                serverurl: serverurl.clone(),
            });
        }
        processes.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        processes
    }

    /// One output channel's settings; the log file name is expanded twice (4.3.0).
    fn channel(
        &mut self,
        section: &str,
        channel: &str,
        names: &Names<'_>,
        capture_maxbytes: i64,
        events_enabled: bool,
    ) -> ChannelConfig {
        let logfile_key = format!("{channel}_logfile");
        let logfile = match self.text(section, &logfile_key, names) {
            None => LogFileName::File(LogFile::Auto),
            Some(once) => {
                match expand(&once, names, &logfile_key).and_then(|t| value::logfile_name(&t)) {
                    Ok(name) => name,
                    Err(message) => {
                        self.error(section, Some(&logfile_key), message);
                        LogFileName::File(LogFile::None)
                    }
                }
            }
        };
        let logfile_backups = self.value(
            section,
            &format!("{channel}_logfile_backups"),
            names,
            py_int,
            10,
        );
        let logfile_maxbytes = self.value(
            section,
            &format!("{channel}_logfile_maxbytes"),
            names,
            value::byte_size,
            50 * 1024 * 1024,
        );
        let syslog_key = format!("{channel}_syslog");
        let mut syslog = self.value(section, &syslog_key, names, value::boolean, false);
        let logfile = match logfile {
            LogFileName::Syslog => {
                self.warnings.push(format!(
                    "For [{section}], {logfile_key}=syslog but this is deprecated and will be \
                     removed.  Use {syslog_key}=true to enable syslog instead."
                ));
                syslog = true;
                LogFile::None
            }
            LogFileName::File(file) => file,
        };
        if logfile == LogFile::Auto && logfile_maxbytes == 0 {
            self.warnings.push(format!(
                "For [{section}], AUTO logging used for {logfile_key} without rollover, set \
                 maxbytes > 0 to avoid filling up filesystem unintentionally"
            ));
        }
        ChannelConfig {
            logfile,
            logfile_maxbytes,
            logfile_backups,
            capture_maxbytes,
            events_enabled,
            syslog,
        }
    }

    fn servers(&mut self) -> Vec<HttpServerConfig> {
        let env = self.env.clone();
        let names = Names::new(vec![&env]);
        let mut servers = Vec::new();
        for section in self.sections_with_prefix("inet_http_server") {
            let (username, password) = self.credentials(&section, &names);
            let Some(port) = self.text(&section, "port", &names) else {
                if self.entry(&section, "port").is_none() {
                    self.error(
                        &section,
                        None,
                        format!("section [{section}] has no port value"),
                    );
                }
                continue;
            };
            match value::inet_address(&port) {
                Ok((host, port)) => servers.push(HttpServerConfig {
                    section,
                    listen: Listen::Inet { host, port },
                    username,
                    password,
                }),
                Err(message) => self.error(&section, Some("port"), message),
            }
        }
        let here = self.here_table();
        for section in self.sections_with_prefix("unix_http_server") {
            let file = self.text(&section, "file", &Names::new(vec![&env, &here]));
            let Some(file) = file else {
                if self.entry(&section, "file").is_none() {
                    self.error(
                        &section,
                        None,
                        format!("section [{section}] has no file value"),
                    );
                }
                continue;
            };
            let file = value::normalize_path(value::py_strip(&file), &self.options.cwd);
            let (username, password) = self.credentials(&section, &names);
            let chown = self.optional(&section, "chown", &names, |t| {
                value::colon_separated_user_group(t)
                    .map_err(|_| format!("Invalid sockchown value {t}"))
            });
            let chmod = self.value(
                &section,
                "chmod",
                &names,
                |t| value::octal(t).map_err(|_| format!("Invalid chmod value {t}")),
                0o700,
            );
            servers.push(HttpServerConfig {
                section,
                listen: Listen::Unix { file, chmod, chown },
                username,
                password,
            });
        }
        servers
    }

    fn credentials(
        &mut self,
        section: &str,
        names: &Names<'_>,
    ) -> (Option<String>, Option<String>) {
        let username = self.text(section, "username", names);
        let password = self.text(section, "password", names);
        if username.is_some() != password.is_some() {
            self.error(
                section,
                None,
                format!(
                    "Section [{section}] contains incomplete authentication: If a username or \
                     a password is specified, both the username and password must be specified"
                ),
            );
        }
        (username, password)
    }
}

/// Every path matching a glob pattern, sorted, with Python `glob` rules (wildcards do
/// not match a leading dot); a pattern the glob crate rejects is taken literally.
fn glob_sorted(pattern: &Path) -> Vec<PathBuf> {
    let text = pattern.to_string_lossy();
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let mut found: Vec<PathBuf> = match glob::glob_with(&text, options) {
        Ok(paths) => paths.filter_map(Result::ok).collect(),
        Err(_) => {
            if pattern.symlink_metadata().is_ok() {
                vec![pattern.to_path_buf()]
            } else {
                Vec::new()
            }
        }
    };
    found.sort();
    found
}

/// Parses an fcgi `socket=` URL the way the reference does, with its error texts
/// (including the tuple-shaped ones of 4.3.0).
fn fcgi_socket(
    url: &str,
    proc_uid: Option<u32>,
    owner: Option<Owner>,
    mode: Option<u32>,
    owner_or_mode_given: bool,
    options: &LoadOptions,
) -> Result<FcgiSocket, String> {
    if let Some(path) = url.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(format!(
                "('Unix socket path %s is not an absolute path', {})",
                value::py_repr(path)
            ));
        }
        let path = value::normalize_path(path, &options.cwd);
        let owner = owner.or_else(|| {
            proc_uid.filter(|uid| *uid != options.uid).map(|uid| Owner {
                uid,
                gid: value::gid_for_uid(uid),
            })
        });
        return Ok(FcgiSocket {
            url: format!("unix://{}", path.display()),
            backlog: None,
            owner,
            mode: Some(mode.unwrap_or(0o700)),
        });
    }
    if owner_or_mode_given {
        return Err(
            "socket_owner and socket_mode params should only be used with a Unix domain socket"
                .to_string(),
        );
    }
    let tcp = url.strip_prefix("tcp://").and_then(|rest| {
        let (host, port) = rest.rsplit_once(':')?;
        let host_ok = !host.is_empty() && !host.chars().any(|c| c == ':' || c.is_whitespace());
        let port_ok = !port.is_empty() && port.chars().all(|c| c.is_ascii_digit());
        (host_ok && port_ok).then_some((host, port))
    });
    let Some((host, port)) = tcp else {
        return Err(format!("('Bad socket format %s', {})", value::py_repr(url)));
    };
    let port = py_int(port)?;
    if port < 1 {
        return Err(format!("{port} is below lower bound (1)"));
    }
    if port > 65535 {
        return Err(format!("{port} is above upper bound (65535)"));
    }
    Ok(FcgiSocket {
        url: format!("tcp://{}:{port}", host.to_lowercase()),
        backlog: None,
        owner: None,
        mode: None,
    })
}

/// Reads the `[supervisorctl]` settings of a file the way `supervisorctl` does: no
/// includes, `%(here)s` and `ENV_*` expansions only, the section required.
pub fn load_ctl(path: &Path, options: &LoadOptions) -> Result<CtlConfig, ConfigErrors> {
    const S: &str = "supervisorctl";
    let absolute = value::normpath(&options.cwd.join(path));
    let here = absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let text = read_config_file(path)?;
    let mut builder = Builder::new(path, &here, options);
    let parse_errors = builder.ini.read(&text, path);
    builder.errors.extend(parse_errors);
    if !builder.ini.has_section(S) {
        builder.errors.push(ConfigError::file(
            path,
            ".ini file does not include supervisorctl section",
        ));
    }
    let env = builder.env.clone();
    let here_table = builder.here_table();
    let with_here = Names::new(vec![&env, &here_table]);
    let env_only = Names::new(vec![&env]);
    let defaults = CtlConfig::default();
    let serverurl = builder
        .text(S, "serverurl", &with_here)
        .map(|url| match url.strip_prefix("unix://") {
            Some(p) => format!(
                "unix://{}",
                value::normalize_path(p, &options.cwd).display()
            ),
            None => url,
        })
        .unwrap_or(defaults.serverurl);
    let prompt = builder
        .text(S, "prompt", &env_only)
        .unwrap_or(defaults.prompt);
    let username = builder.text(S, "username", &env_only);
    let password = builder.text(S, "password", &env_only);
    let history_file = builder
        .text(S, "history_file", &with_here)
        .filter(|h| !h.is_empty())
        .map(|h| value::normalize_path(&h, &options.cwd));
    let config = CtlConfig {
        serverurl,
        username,
        password,
        prompt,
        history_file,
    };
    if builder.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(builder.errors))
    }
}
