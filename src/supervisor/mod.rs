//! The core: the only owner of the process table. It executes the state machine's
//! effects (spawn, kill, timers), feeds back what the OS reports, applies start/stop
//! ordering by priority, runs shutdown and in-process restart, and answers `Handle`
//! requests.
//!
//! Uses `config`, `process`, `os` and `log`; must not reach into `rpc`.

pub mod api;
pub mod event;
pub mod handle;

pub use api::{
    describe, namespec, Channel, ConfigChanges, ConfigInfo, Fault, Mood, ProcessInfo, ProcessResult,
};
pub use event::Event;
pub use handle::Handle;
