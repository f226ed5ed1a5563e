//! The control plane: XML-RPC over HTTP on unix and TCP sockets.
//!
//! `xmlrpc` is the pure codec shared with `supervisorctl`. The server, method table,
//! faults, log streaming and web page build on it and talk to the core only through
//! `supervisor::Handle`; they never touch `process` or `os`.

// Public for the crate's own integration tests only.
#[doc(hidden)]
pub mod logtail;
#[doc(hidden)]
pub mod methods;
pub(crate) mod pages;
pub mod server;
#[doc(hidden)]
pub mod urlcode;
#[doc(hidden)]
pub mod web;
pub mod xmlrpc;
