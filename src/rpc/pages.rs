//! Everything the HTTP servers answer besides `/RPC2`, in the reference's handler
//! order: `/logtail…`, `/mainlogtail…`, the web page views (GET/POST), then static
//! files (GET/HEAD), else 404.
//!
//! Owns that routing and the form decoding of page requests; the answers themselves
//! are `logtail` and `web`. Reaches the core only through `Handle`.

use std::sync::OnceLock;
use std::time::SystemTime;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::HOST;
use hyper::{Method, Request, Response, StatusCode};

use super::logtail;
use super::methods::RpcContext;
use super::server::{discard_body, error_response, Body, MAX_BODY};
use super::urlcode::parse_form;
use super::web::{self, Form};

/// The time our static files claim as their modification time: when the first page
/// request was served.
fn static_mtime() -> SystemTime {
    static STARTED: OnceLock<SystemTime> = OnceLock::new();
    *STARTED.get_or_init(SystemTime::now)
}

/// The response for a non-RPC path.
pub async fn respond(request: Request<Incoming>, rpc: &RpcContext) -> Response<Body> {
    let path = request.uri().path().to_string();
    if path.starts_with("/logtail") || path.starts_with("/mainlogtail") {
        let response = if path.starts_with("/logtail") {
            logtail::logtail(&request, rpc).await
        } else {
            logtail::mainlogtail(&request, rpc).await
        };
        if !response.status().is_success() {
            discard_body(request).await;
        }
        return response;
    }
    let method = request.method().clone();
    if method == Method::GET || method == Method::POST {
        if let Some(view) = web::view_for(&path) {
            let host = request
                .headers()
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string);
            let query = parse_form(request.uri().query().unwrap_or(""));
            let body = if method == Method::POST {
                match Limited::new(request.into_body(), MAX_BODY).collect().await {
                    Ok(collected) => parse_form(&String::from_utf8_lossy(&collected.to_bytes())),
                    Err(_) => return error_response(StatusCode::PAYLOAD_TOO_LARGE),
                }
            } else {
                Vec::new()
            };
            return web::respond(view, &Form::new(query, body), host.as_deref(), rpc).await;
        }
    }
    if method != Method::GET && method != Method::HEAD {
        discard_body(request).await;
        return error_response(StatusCode::BAD_REQUEST);
    }
    let decoded = super::urlcode::percent_decode(&path);
    web::static_file(&decoded, static_mtime())
}
