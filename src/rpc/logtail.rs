//! HTTP log streaming: `/logtail/<namespec>[/<channel>]` and `/mainlogtail`, as
//! `supervisorctl tail -f`, `maintail -f`, `fg` and the web page use them.
//!
//! Owns the path rules, the 404 cases and the endless response body; the reading
//! itself (head, appends, truncation, rotation) is `log::read::Follow`. Reaches the core
//! only through `Handle::log_file` (which flushes buffered output first).

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE, LAST_MODIFIED};
use hyper::{Method, Request, Response, StatusCode};

use crate::log::read::Follow;
use crate::supervisor::Channel;

use super::methods::RpcContext;
use super::server::{error_response, http_date, Body};
use super::urlcode::percent_decode;

/// What a `/logtail` path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogtailTarget {
    /// A process channel: the namespec as given and the channel.
    Process {
        /// `name` or `group:name`.
        namespec: String,
        /// stdout or stderr.
        channel: Channel,
    },
    /// Nothing that can exist: answer 404.
    NotFound,
    /// No name part at all (`/logtail`): the reference fails with 500.
    Malformed,
}

/// Reads a `/logtail…` request path the way the reference does: percent-decoded when
/// it holds a `%`, leading slashes dropped, the first segment ignored, then
/// `<namespec>[/<channel>]` with stdout as the default channel.
pub fn parse_logtail_path(raw_path: &str) -> LogtailTarget {
    let decoded;
    let mut path = raw_path;
    if path.contains('%') {
        decoded = percent_decode(path);
        path = &decoded;
    }
    let path = path.trim_start_matches('/');
    let Some((_, name_and_channel)) = path.split_once('/') else {
        return LogtailTarget::Malformed;
    };
    let (namespec, channel) = name_and_channel
        .split_once('/')
        .unwrap_or((name_and_channel, "stdout"));
    let channel = match channel {
        "stdout" => Channel::Stdout,
        "stderr" => Channel::Stderr,
        _ => return LogtailTarget::NotFound,
    };
    if let Some((_, process)) = namespec.split_once(':') {
        if process.is_empty() || process == "*" {
            return LogtailTarget::NotFound;
        }
    }
    LogtailTarget::Process {
        namespec: namespec.to_string(),
        channel,
    }
}

/// Answers `/logtail…` (GET only, else 400).
pub async fn logtail(request: &Request<Incoming>, rpc: &RpcContext) -> Response<Body> {
    if request.method() != Method::GET {
        return error_response(StatusCode::BAD_REQUEST);
    }
    let (namespec, channel) = match parse_logtail_path(request.uri().path()) {
        LogtailTarget::Process { namespec, channel } => (namespec, channel),
        LogtailTarget::NotFound => return error_response(StatusCode::NOT_FOUND),
        LogtailTarget::Malformed => return error_response(StatusCode::INTERNAL_SERVER_ERROR),
    };
    match rpc.handle.log_file(&namespec, channel).await {
        Ok(Some(path)) => stream(path, true).await,
        Ok(None) | Err(_) => error_response(StatusCode::NOT_FOUND),
    }
}

/// Answers `/mainlogtail…` (GET only, else 400).
pub async fn mainlogtail(request: &Request<Incoming>, rpc: &RpcContext) -> Response<Body> {
    if request.method() != Method::GET {
        return error_response(StatusCode::BAD_REQUEST);
    }
    rpc.activity.flush().await;
    match rpc.activity.path() {
        Some(path) => stream(path, false).await,
        None => error_response(StatusCode::NOT_FOUND),
    }
}

/// The endless response for `path`, or 404 when it cannot be opened.
async fn stream(path: PathBuf, accel_header: bool) -> Response<Body> {
    let opened = tokio::task::spawn_blocking(move || open_follow(&path)).await;
    let Ok(Ok((follow, modified))) = opened else {
        return error_response(StatusCode::NOT_FOUND);
    };
    let mut response = Response::new(FollowBody::new(follow).boxed());
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&http_date(modified)) {
        headers.insert(LAST_MODIFIED, value);
    }
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    if accel_header {
        headers.insert("X-Accel-Buffering", HeaderValue::from_static("no"));
    }
    response
}

fn open_follow(path: &Path) -> io::Result<(Follow, SystemTime)> {
    let modified = std::fs::metadata(path)?.modified()?;
    Ok((Follow::open(path)?, modified))
}

type NextPiece = Pin<Box<dyn Future<Output = (Follow, io::Result<Vec<u8>>)> + Send + Sync>>;

/// A response body that never ends on its own: each frame is the next piece of the
/// followed file. Dropping it (the client went away) stops the follow. A read error
/// ends the stream, as the reference's producer does.
struct FollowBody {
    next: Option<NextPiece>,
}

impl FollowBody {
    fn new(follow: Follow) -> FollowBody {
        FollowBody {
            next: Some(next_piece(follow)),
        }
    }
}

fn next_piece(mut follow: Follow) -> NextPiece {
    Box::pin(async move {
        let piece = follow.next().await;
        (follow, piece)
    })
}

impl hyper::body::Body for FollowBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let Some(next) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        let (follow, piece) = match next.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(done) => done,
        };
        match piece {
            Ok(data) => {
                self.next = Some(next_piece(follow));
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(data)))))
            }
            Err(_) => {
                self.next = None;
                Poll::Ready(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logtail_paths_like_the_reference() {
        let process = |namespec: &str, channel| LogtailTarget::Process {
            namespec: namespec.to_string(),
            channel,
        };
        let cases = [
            ("/logtail/talker", process("talker", Channel::Stdout)),
            ("/logtail/talker/stdout", process("talker", Channel::Stdout)),
            ("/logtail/talker/stderr", process("talker", Channel::Stderr)),
            ("/logtail/grp:ga/stderr", process("grp:ga", Channel::Stderr)),
            ("/logtail/grp%3Aga", process("grp:ga", Channel::Stdout)),
            ("//logtail/x", process("x", Channel::Stdout)),
            ("/logtailfoo/x", process("x", Channel::Stdout)),
            ("/logtail/", process("", Channel::Stdout)),
            ("/logtail/talker/foo", LogtailTarget::NotFound),
            ("/logtail/talker/stdout/x", LogtailTarget::NotFound),
            ("/logtail/grp:", LogtailTarget::NotFound),
            ("/logtail/grp:*", LogtailTarget::NotFound),
            ("/logtail", LogtailTarget::Malformed),
        ];
        for (path, want) in cases {
            assert_eq!(parse_logtail_path(path), want, "{path}");
        }
    }
}
