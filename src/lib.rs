//! supervisor: a drop-in, embeddable Rust replacement for Python supervisor 4.3.
//!
//! The crate reads the `supervisord.conf` files people already have, exactly as
//! supervisor 4.3.0 reads them, runs and watches the programs they describe, captures
//! their output, and serves the control socket that `supervisorctl` (ours or the stock
//! Python one) talks to. The two binaries, `supervisord` and `supervisorctl`, are thin
//! shells over this library; a host program can use the same pieces directly.
//!
//! # Validating a configuration
//!
//! [`config::load`] reads a file (and its `[include]`s) into a typed [`config::Config`]
//! or returns **every** mistake, each with its file, line, section and option:
//!
//! ```
//! use std::path::Path;
//! use supervisor::config::{load_str, LoadOptions};
//!
//! let text = "[supervisord]\n[program:web]\ncommand=python3 app.py\nstartsecs=ten\n";
//! let options = LoadOptions::for_test(Path::new("/srv/app"));
//! let errors = load_str(text, Path::new("/srv/app/supervisord.conf"), &options).unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "/srv/app/supervisord.conf:4: [program:web] startsecs: \
//!      invalid literal for int() with base 10: 'ten'"
//! );
//! ```
//!
//! An app's own file can be merged into a platform configuration as an `[include]`
//! would do it, with [`config::load_merged`]; or a configuration can be built in code
//! with [`config::Config::builder`] and [`config::Program`].
//!
//! # Running programs inside a host process
//!
//! [`supervisor::Supervisor`] runs on the caller's tokio runtime. With
//! [`supervisor::Reaping::Owned`] it reaps only its own children (a pidfd each) and
//! installs no signal handler, so the host's own children and waits are untouched. A
//! cloneable [`supervisor::Handle`] starts, stops, signals and inspects programs, and
//! [`supervisor::Handle::subscribe`] gives the typed event stream:
//!
//! ```no_run
//! use std::time::Duration;
//! use supervisor::config::{AutoRestart, Config, LogLevel, Program};
//! use supervisor::log::ActivityLog;
//! use supervisor::supervisor::{Event, Options, Reaping, Supervisor};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::builder()
//!     .program(Program::new("web", "python3 -m http.server 8080").autorestart(AutoRestart::Always))
//!     .build()?;
//! let supervisor = Supervisor::start(
//!     config,
//!     Options {
//!         reaping: Reaping::Owned,
//!         signals: false,
//!         source: None,
//!         environ: std::env::vars().collect(),
//!         activity: ActivityLog::new(LogLevel::Info),
//!     },
//! )?;
//! let handle = supervisor.handle();
//! let mut events = handle.subscribe();
//! while let Ok(event) = events.recv().await {
//!     if let Event::ProcessState { process, to, .. } = &event {
//!         println!("{process} is now {}", to.name());
//!     }
//!     # break;
//! }
//! println!("{:?}", handle.process_info("web").await?);
//! supervisor.shutdown(Duration::from_secs(10)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! To let `supervisorctl` talk to an embedded supervisor, bind and serve a control
//! socket with [`rpc::server::Listeners`] (see `examples/paas_builder.rs`).
//!
//! # Modules
//!
//! * [`config`]: the `supervisord.conf` dialect, the typed model, the builder.
//! * [`supervisor`]: the core — [`supervisor::Supervisor`], [`supervisor::Handle`],
//!   process snapshots, faults and events.
//! * [`process`]: the per-process state machine and its states.
//! * [`log`]: the activity log and the capture of child output.
//! * [`rpc`]: the XML-RPC codec and the HTTP control servers.
//! * [`ctl`], [`daemon`]: the two programs.

#![deny(missing_docs)]

pub(crate) mod cli;
pub mod config;
pub mod ctl;
pub mod daemon;
pub mod log;
// Unix mechanics, public for the crate's own integration tests and benches only.
#[doc(hidden)]
pub mod os;
pub mod process;
pub mod rpc;
pub mod supervisor;
