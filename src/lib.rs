//! supervisor: a drop-in, embeddable Rust replacement for Python supervisor 4.3.
//!
//! The crate reads the `supervisord.conf` files people already have, runs and watches
//! the programs they describe, captures their output, and serves the control socket
//! that `supervisorctl` talks to. The two binaries, `supervisord` and `supervisorctl`,
//! are thin shells over this library.

#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod ctl;
pub mod daemon;
pub mod log;
pub mod os;
pub mod process;
pub mod rpc;
pub mod supervisor;
