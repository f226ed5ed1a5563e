//! Everything the HTTP servers answer besides `/RPC2`: `/logtail/<name>[/<channel>]`,
//! `/mainlogtail`, the status web page and its static files.
//!
//! Owns those paths' responses; reaches the core only through `Handle`.

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::methods::RpcContext;
use super::server::{error_response, Body};

/// The response for a non-RPC path.
pub async fn respond(_request: Request<Incoming>, _rpc: &RpcContext) -> Response<Body> {
    error_response(StatusCode::NOT_FOUND)
}
