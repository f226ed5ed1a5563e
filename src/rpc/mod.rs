//! The control plane: XML-RPC over HTTP on unix and TCP sockets.
//!
//! `xmlrpc` is the pure codec shared with `supervisorctl`. The server, method table,
//! faults, log streaming and web page build on it and talk to the core only through
//! `supervisor::Handle`; they never touch `process` or `os`.

pub mod logtail;
pub mod methods;
pub mod pages;
pub mod server;
pub mod urlcode;
pub mod web;
pub mod xmlrpc;
