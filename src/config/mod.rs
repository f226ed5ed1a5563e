//! Reading `supervisord.conf` exactly as supervisor 4.3 reads it.
//!
//! Owns the text → typed model path: `ini` (the Python RawConfigParser dialect, with
//! line numbers), `expand` (`%(name)s`), `value` (conversions), `shlex` (command and
//! `environment=` splitting), `build` (sections → model, every error collected),
//! `model` (the types) and `error`. Must not use tokio or any other module of the crate:
//! everything else stands on this one.

mod build;
mod builder;
pub(crate) mod diff;
mod error;
mod expand;
mod ini;
mod model;
pub(crate) mod shlex;
pub(crate) mod value;

pub use error::{ConfigError, ConfigErrors};
pub use model::*;

pub use build::{
    load, load_ctl, load_merged, load_str, LoadOptions, Overrides, DEFAULT_RESULT_HANDLER,
    EVENT_TYPE_NAMES, MAIN_RPC_INTERFACE,
};
pub use builder::{ConfigBuilder, Program};
