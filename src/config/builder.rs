//! Building a configuration in code, without INI text: the typed counterpart of
//! `[supervisord]` and `[program:x]` sections for hosts that embed the crate.
//!
//! Owns the builder types and their validation (the same rules and error type as a
//! file: names, `numprocs` with `%(process_num)`, `stopasgroup`/`killasgroup`). Values
//! are taken literally; only `process_name` is a `%(…)` template, as in a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigErrors};
use super::expand::{expand, table, Expansion, Names};
use super::model::*;
use super::value::process_or_group_name;

/// One `[program:x]` section built in code.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    name: String,
    process_name: String,
    numprocs: i64,
    numprocs_start: i64,
    template: ProcessConfig,
}

impl Program {
    /// A program with the reference's defaults for every option (like a section
    /// holding only `command=`): autostart, restart on unexpected exit, 1 s startsecs,
    /// 3 retries, SIGTERM with 10 s to stop, AUTO log files.
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> Program {
        let name = name.into();
        Program {
            template: ProcessConfig::new(name.clone(), command),
            process_name: "%(program_name)s".to_string(),
            numprocs: 1,
            numprocs_start: 0,
            name,
        }
    }

    /// `process_name=`: a template that may use `%(program_name)s`, `%(process_num)d`,
    /// `%(numprocs)d` and `%(group_name)s`; must contain `%(process_num)` when
    /// `numprocs > 1`.
    pub fn process_name(mut self, template: impl Into<String>) -> Program {
        self.process_name = template.into();
        self
    }

    /// `numprocs=` and `numprocs_start=`.
    pub fn numprocs(mut self, count: i64, start: i64) -> Program {
        self.numprocs = count;
        self.numprocs_start = start;
        self
    }

    /// `priority=`.
    pub fn priority(mut self, priority: i64) -> Program {
        self.template.priority = priority;
        self
    }

    /// `autostart=`.
    pub fn autostart(mut self, autostart: bool) -> Program {
        self.template.autostart = autostart;
        self
    }

    /// `autorestart=`.
    pub fn autorestart(mut self, policy: AutoRestart) -> Program {
        self.template.autorestart = policy;
        self
    }

    /// `startsecs=`.
    pub fn startsecs(mut self, seconds: i64) -> Program {
        self.template.startsecs = seconds;
        self
    }

    /// `startretries=`.
    pub fn startretries(mut self, retries: i64) -> Program {
        self.template.startretries = retries;
        self
    }

    /// `exitcodes=`.
    pub fn exitcodes(mut self, codes: impl IntoIterator<Item = i32>) -> Program {
        self.template.exitcodes = codes.into_iter().collect();
        self
    }

    /// `stopsignal=`.
    pub fn stopsignal(mut self, signal: Signal) -> Program {
        self.template.stopsignal = signal;
        self
    }

    /// `stopwaitsecs=`.
    pub fn stopwaitsecs(mut self, seconds: i64) -> Program {
        self.template.stopwaitsecs = seconds;
        self
    }

    /// `stopasgroup=` (and `killasgroup=`, which follows it unless set after).
    pub fn stopasgroup(mut self, on: bool) -> Program {
        self.template.stopasgroup = on;
        self.template.killasgroup = on;
        self
    }

    /// `killasgroup=`.
    pub fn killasgroup(mut self, on: bool) -> Program {
        self.template.killasgroup = on;
        self
    }

    /// `user=`, as a uid.
    pub fn uid(mut self, uid: u32) -> Program {
        self.template.uid = Some(uid);
        self
    }

    /// `directory=`.
    pub fn directory(mut self, directory: impl Into<String>) -> Program {
        self.template.directory = Some(directory.into());
        self
    }

    /// `umask=`.
    pub fn umask(mut self, umask: u32) -> Program {
        self.template.umask = Some(umask);
        self
    }

    /// Adds one `environment=` variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Program {
        self.template.environment.insert(key.into(), value.into());
        self
    }

    /// `stdout_logfile=` with its rotation (`maxbytes` 0 never rotates).
    pub fn stdout_log(mut self, file: LogFile, maxbytes: i64, backups: i64) -> Program {
        self.template.stdout.logfile = file;
        self.template.stdout.logfile_maxbytes = maxbytes;
        self.template.stdout.logfile_backups = backups;
        self
    }

    /// `stderr_logfile=` with its rotation.
    pub fn stderr_log(mut self, file: LogFile, maxbytes: i64, backups: i64) -> Program {
        self.template.stderr.logfile = file;
        self.template.stderr.logfile_maxbytes = maxbytes;
        self.template.stderr.logfile_backups = backups;
        self
    }

    /// `redirect_stderr=`.
    pub fn redirect_stderr(mut self, on: bool) -> Program {
        self.template.redirect_stderr = on;
        self
    }

    /// `stdout_events_enabled=` / `stderr_events_enabled=`: emit PROCESS_LOG events.
    pub fn log_events(mut self, stdout: bool, stderr: bool) -> Program {
        self.template.stdout.events_enabled = stdout;
        self.template.stderr.events_enabled = stderr;
        self
    }
}

/// A configuration built in code.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    supervisord: SupervisordConfig,
    programs: Vec<Program>,
    servers: Vec<HttpServerConfig>,
}

impl Config {
    /// Starts a configuration in code: `[supervisord]` defaults suited to embedding
    /// (AUTO logs in the system temp directory, identifier `supervisor`), no programs.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            supervisord: SupervisordConfig {
                logfile: MainLogTarget::File(std::env::temp_dir().join("supervisord.log")),
                logfile_maxbytes: 50 * 1024 * 1024,
                logfile_backups: 10,
                loglevel: LogLevel::Info,
                pidfile: std::env::temp_dir().join("supervisord.pid"),
                umask: 0o022,
                nodaemon: true,
                silent: false,
                minfds: 1024,
                minprocs: 200,
                nocleanup: false,
                childlogdir: std::env::temp_dir(),
                user: None,
                uid: None,
                directory: None,
                strip_ansi: false,
                environment: BTreeMap::new(),
                identifier: "supervisor".to_string(),
            },
            programs: Vec::new(),
            servers: Vec::new(),
        }
    }
}

impl ConfigBuilder {
    /// `[supervisord] identifier=`.
    pub fn identifier(mut self, identifier: impl Into<String>) -> ConfigBuilder {
        self.supervisord.identifier = identifier.into();
        self
    }

    /// `[supervisord] childlogdir=`: where AUTO log files go.
    pub fn childlogdir(mut self, dir: impl Into<PathBuf>) -> ConfigBuilder {
        self.supervisord.childlogdir = dir.into();
        self
    }

    /// `[supervisord] nocleanup=`.
    pub fn nocleanup(mut self, on: bool) -> ConfigBuilder {
        self.supervisord.nocleanup = on;
        self
    }

    /// Adds one `[supervisord] environment=` variable (given to every program).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> ConfigBuilder {
        self.supervisord
            .environment
            .insert(key.into(), value.into());
        self
    }

    /// Adds a program.
    pub fn program(mut self, program: Program) -> ConfigBuilder {
        self.programs.push(program);
        self
    }

    /// A control socket at `path` (like `[unix_http_server] file=`, mode 0700, no
    /// authentication), which `supervisorctl -s unix://<path>` talks to.
    pub fn unix_server(mut self, path: impl Into<PathBuf>) -> ConfigBuilder {
        self.servers.push(HttpServerConfig {
            section: "unix_http_server".to_string(),
            listen: Listen::Unix {
                file: path.into(),
                chmod: 0o700,
                chown: None,
            },
            username: None,
            password: None,
        });
        self
    }

    /// Validates and builds: every mistake is reported, located at the program it is
    /// about (`<code>: [program:x] option: message`).
    pub fn build(self) -> Result<Config, ConfigErrors> {
        let origin = Path::new("<code>");
        let mut errors = Vec::new();
        let mut groups = Vec::new();
        for program in self.programs {
            let section = format!("program:{}", program.name);
            let error = |option: &str, message: String| {
                ConfigError::file(origin, message)
                    .in_section(&section)
                    .for_option(option)
            };
            let name = match process_or_group_name(&program.name) {
                Ok(n) => n,
                Err(message) => {
                    errors.push(ConfigError::file(origin, message).in_section(&section));
                    continue;
                }
            };
            if groups.iter().any(|g: &GroupConfig| g.name == name) {
                errors.push(error("name", format!("program {name} is defined twice")));
                continue;
            }
            if program.numprocs > 1 && !program.process_name.contains("%(process_num)") {
                errors.push(error(
                    "process_name",
                    "%(process_num) must be present within process_name when numprocs > 1"
                        .to_string(),
                ));
                continue;
            }
            if program.template.stopasgroup && !program.template.killasgroup {
                errors.push(error(
                    "killasgroup",
                    "Cannot set stopasgroup=true and killasgroup=false".to_string(),
                ));
            }
            if program.template.command.trim().is_empty() {
                errors.push(error(
                    "command",
                    format!("program section {section} does not specify a command"),
                ));
            }
            let common = table([
                ("program_name", Expansion::Str(name.clone())),
                ("group_name", Expansion::Str(name.clone())),
            ]);
            let mut processes = Vec::new();
            let end = program
                .numprocs_start
                .saturating_add(program.numprocs.max(0));
            for process_num in program.numprocs_start..end {
                let numbered = table([
                    ("process_num", Expansion::Int(process_num)),
                    ("numprocs", Expansion::Int(program.numprocs)),
                ]);
                let names = Names::new(vec![&common, &numbered]);
                let process_name = match expand(&program.process_name, &names, "process_name")
                    .and_then(|n| process_or_group_name(&n))
                {
                    Ok(n) => n,
                    Err(message) => {
                        errors.push(error("process_name", message));
                        break;
                    }
                };
                let mut process = program.template.clone();
                process.name = process_name;
                process.section = section.clone();
                process.section_file = origin.to_path_buf();
                if process.redirect_stderr {
                    process.stderr.logfile = LogFile::None;
                }
                let mut environment = self.supervisord.environment.clone();
                environment.append(&mut process.environment.clone());
                process.environment = environment;
                processes.push(process);
            }
            processes.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
            groups.push(GroupConfig {
                name,
                priority: program.template.priority,
                kind: GroupKind::Program,
                processes,
            });
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        groups.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        let rpcinterfaces = vec![RpcInterfaceConfig {
            name: "supervisor".to_string(),
            factory: super::build::MAIN_RPC_INTERFACE.to_string(),
            extras: BTreeMap::new(),
        }];
        Ok(Config {
            source: origin.to_path_buf(),
            here: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            included_files: Vec::new(),
            supervisord: self.supervisord,
            http_servers: self.servers,
            groups,
            rpcinterfaces,
            messages: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_numprocs_programs() {
        let config = Config::builder()
            .env("GLOBAL", "1")
            .program(
                Program::new("worker", "celery worker")
                    .process_name("%(program_name)s_%(process_num)02d")
                    .numprocs(3, 1)
                    .env("QUEUE", "default")
                    .autorestart(AutoRestart::Always),
            )
            .program(Program::new("web", "python3 app.py").priority(10))
            .build();
        let config = match config {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let names: Vec<&str> = config.processes().map(|(_, p)| p.name.as_str()).collect();
        assert_eq!(names, ["web", "worker_01", "worker_02", "worker_03"]);
        let worker = &config.groups[1].processes[0];
        assert_eq!(
            worker.environment.get("GLOBAL").map(String::as_str),
            Some("1")
        );
        assert_eq!(
            worker.environment.get("QUEUE").map(String::as_str),
            Some("default")
        );
        assert_eq!(worker.autorestart, AutoRestart::Always);
    }

    #[test]
    fn reports_every_mistake() {
        let result = Config::builder()
            .program(Program::new("a b", "x"))
            .program(Program::new("many", "x").numprocs(2, 0))
            .program(
                Program::new("group", "x")
                    .stopasgroup(true)
                    .killasgroup(false),
            )
            .program(Program::new("empty", " "))
            .build();
        let Err(errors) = result else {
            panic!("expected errors");
        };
        let texts: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "<code>: [program:a b]: Invalid name: 'a b' because of character: ' '",
                "<code>: [program:many] process_name: %(process_num) must be present within process_name when numprocs > 1",
                "<code>: [program:group] killasgroup: Cannot set stopasgroup=true and killasgroup=false",
                "<code>: [program:empty] command: program section program:empty does not specify a command",
            ]
        );
    }
}
