//! The HTTP servers of `[unix_http_server]` and `[inet_http_server]`: binding with the
//! reference's socket rules, HTTP/1.1 with keep-alive (hyper), Basic authentication,
//! request limits, and routing (`/RPC2` to the method table).
//!
//! Owns sockets, connections, authentication and HTTP framing decisions. Knows the
//! core only through `Handle` (via `methods`).

use std::convert::Infallible;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use nix::sys::socket::{self, AddressFamily, Backlog, SockFlag, SockType, UnixAddr};
use sha1::{Digest, Sha1};
use tokio::task::JoinSet;

use crate::config::{HttpServerConfig, Listen};
use crate::log::ActivityLog;
use crate::supervisor::Handle;

use super::methods::{dispatch, fault_text, CallError, RpcContext};
use super::xmlrpc::{self, Fault as WireFault};

/// Largest request body accepted (larger: 413).
pub const MAX_BODY: usize = 2 * 1024 * 1024;
/// Longest wait for the rest of a refused request's body.
const DISCARD_WAIT: Duration = Duration::from_secs(5);
/// Largest request head accepted (hyper's read buffer).
const MAX_HEAD: usize = 64 * 1024;
/// A client must send its request head within this time.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// The reference's listen backlog.
const BACKLOG: i32 = 1024;

/// The reference's message when a socket is already taken.
pub const ALREADY_LISTENING: &str =
    "Another program is already listening on a port that one of our \
     HTTP servers is configured to use.  Shut this program down first before starting \
     supervisord.";

/// Response body type: whole or streamed.
pub type Body = BoxBody<Bytes, io::Error>;

/// A bound (not yet serving) listening socket.
#[derive(Debug)]
enum Bound {
    Unix(std::os::unix::net::UnixListener),
    Tcp(std::net::TcpListener),
}

/// The listening sockets of every configured server, bound before daemonizing so that
/// a taken port is reported on the terminal.
#[derive(Debug)]
pub struct Listeners {
    bound: Vec<(HttpServerConfig, Bound)>,
}

/// Every socket served, until [`Servers::stop`].
#[derive(Debug)]
pub struct Servers {
    tasks: JoinSet<()>,
}

impl Servers {
    /// Stops accepting and closes every connection.
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

fn errno_text(e: &io::Error) -> String {
    let code = e.raw_os_error().unwrap_or(0);
    let name = crate::os::errno::errno_name(code).unwrap_or("UNKNOWN");
    format!("Cannot open an HTTP server: socket.error reported errno.{name} ({code})")
}

/// Binds a unix socket the way the reference does: bind a temporary name, chmod it,
/// hard-link it into place. A live socket at the path is an error; a dead one is
/// unlinked (saying so on stderr) and the link retried.
fn bind_unix(path: &Path, mode: u32) -> Result<std::os::unix::net::UnixListener, String> {
    let temp = PathBuf::from(format!("{}.{}", path.display(), std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let fd: OwnedFd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| errno_text(&io::Error::from(e)))?;
    let address = UnixAddr::new(&temp).map_err(|e| errno_text(&io::Error::from(e)))?;
    socket::bind(fd.as_raw_fd(), &address).map_err(|e| errno_text(&io::Error::from(e)))?;
    let cleanup_temp = || {
        let _ = std::fs::remove_file(&temp);
    };
    if let Err(e) = std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(mode)) {
        cleanup_temp();
        return Err(errno_text(&e));
    }
    let mut retried = false;
    loop {
        match std::fs::hard_link(&temp, path) {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !retried => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    cleanup_temp();
                    return Err(ALREADY_LISTENING.to_string());
                }
                eprintln!("Unlinking stale socket {}", path.display());
                let _ = std::fs::remove_file(path);
                std::thread::sleep(Duration::from_millis(300));
                retried = true;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                cleanup_temp();
                return Err(ALREADY_LISTENING.to_string());
            }
            Err(e) => {
                cleanup_temp();
                return Err(errno_text(&e));
            }
        }
    }
    cleanup_temp();
    socket::listen(&fd, Backlog::new(BACKLOG).unwrap_or(Backlog::MAXCONN))
        .map_err(|e| errno_text(&io::Error::from(e)))?;
    Ok(std::os::unix::net::UnixListener::from(fd))
}

fn bind_tcp(host: &str, port: u16) -> Result<std::net::TcpListener, String> {
    use std::net::ToSocketAddrs;
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let address = (host, port)
        .to_socket_addrs()
        .map_err(|e| errno_text(&e))?
        .next()
        .ok_or_else(|| format!("Cannot open an HTTP server: no address for {host}"))?;
    let family = if address.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket::socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| errno_text(&io::Error::from(e)))?;
    socket::setsockopt(&fd, socket::sockopt::ReuseAddr, &true)
        .map_err(|e| errno_text(&io::Error::from(e)))?;
    let bound = match address {
        std::net::SocketAddr::V4(a) => socket::bind(fd.as_raw_fd(), &socket::SockaddrIn::from(a)),
        std::net::SocketAddr::V6(a) => socket::bind(fd.as_raw_fd(), &socket::SockaddrIn6::from(a)),
    };
    match bound {
        Ok(()) => {}
        Err(nix::errno::Errno::EADDRINUSE) => return Err(ALREADY_LISTENING.to_string()),
        Err(e) => return Err(errno_text(&io::Error::from(e))),
    }
    socket::listen(&fd, Backlog::new(BACKLOG).unwrap_or(Backlog::MAXCONN))
        .map_err(|e| errno_text(&io::Error::from(e)))?;
    Ok(std::net::TcpListener::from(fd))
}

fn chown_socket(path: &Path, owner: crate::config::Owner) -> Result<(), String> {
    let uid = nix::unistd::Uid::from_raw(owner.uid);
    let gid = owner.gid.map(nix::unistd::Gid::from_raw);
    nix::unistd::chown(path, Some(uid), gid).map_err(|e| {
        let user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_default();
        let gid_text = owner.gid.map_or(-1, i64::from);
        if e == nix::errno::Errno::EPERM {
            format!(
                "Not permitted to chown {} to uid/gid ({}, {gid_text}); adjust \"sockchown\" \
                 value in config file or on command line to values that the current user \
                 ({user}) can successfully chown",
                path.display(),
                owner.uid
            )
        } else {
            errno_text(&io::Error::from(e))
        }
    })
}

impl Listeners {
    /// Binds every configured server (inet sections first, as configured). Logs what
    /// the reference logs per server; an error is the reference's start-up message.
    pub fn bind(
        servers: &[HttpServerConfig],
        interfaces: &[String],
        activity: &ActivityLog,
    ) -> Result<Listeners, String> {
        let mut bound = Vec::new();
        for server in servers {
            let listener = match &server.listen {
                Listen::Unix { file, chmod, chown } => {
                    let listener = bind_unix(file, *chmod)?;
                    if let Some(owner) = chown {
                        chown_socket(file, *owner)?;
                    }
                    Bound::Unix(listener)
                }
                Listen::Inet { host, port } => Bound::Tcp(bind_tcp(host, *port)?),
            };
            for name in interfaces {
                activity.info(format!("RPC interface '{name}' initialized"));
            }
            if server.username.is_none() {
                activity.critical(format!(
                    "Server '{}' running without any HTTP authentication checking",
                    server.section
                ));
            }
            bound.push((server.clone(), listener));
        }
        Ok(Listeners { bound })
    }

    /// The unix socket files to remove at exit.
    pub fn socket_files(&self) -> Vec<PathBuf> {
        self.bound
            .iter()
            .filter_map(|(config, _)| match &config.listen {
                Listen::Unix { file, .. } => Some(file.clone()),
                Listen::Inet { .. } => None,
            })
            .collect()
    }

    /// Serves every socket on the current tokio runtime until the returned
    /// [`Servers`] is stopped.
    pub fn serve(self, handle: Handle, activity: ActivityLog, interfaces: Vec<String>) -> Servers {
        let mut tasks = JoinSet::new();
        for (config, bound) in self.bound {
            let server = Arc::new(ServerContext {
                rpc: RpcContext {
                    handle: handle.clone(),
                    activity: activity.clone(),
                    namespaces: interfaces.clone(),
                },
                username: config.username.clone(),
                password: config.password.clone(),
            });
            let section = config.section.clone();
            let started = match bound {
                Bound::Unix(listener) => listener
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::UnixListener::from_std(listener))
                    .map(|l| tasks.spawn(accept_loop(l, server))),
                Bound::Tcp(listener) => listener
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpListener::from_std(listener))
                    .map(|l| tasks.spawn(accept_loop(l, server))),
            };
            if let Err(e) = started {
                activity.error(format!("cannot serve {section}: {e}"));
            }
        }
        Servers { tasks }
    }
}

/// What one server's connections share.
#[derive(Debug)]
struct ServerContext {
    rpc: RpcContext,
    username: Option<String>,
    password: Option<String>,
}

/// Waits (at most [`HEAD_TIMEOUT`]) for a new connection's first bytes before giving
/// it to hyper, whose per-connection buffers would otherwise be allocated at once: an
/// idle connection then costs little more than its socket.
async fn readable(ready: impl std::future::Future<Output = io::Result<()>>) -> bool {
    matches!(tokio::time::timeout(HEAD_TIMEOUT, ready).await, Ok(Ok(())))
}

/// A listening socket of either family, as the accept loop needs it.
trait Listener: Send + 'static {
    /// An accepted connection.
    type Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;
    /// The next connection.
    fn next(&self) -> impl std::future::Future<Output = io::Result<Self::Stream>> + Send;
    /// Resolves when the connection has sent its first bytes.
    fn first_bytes(
        stream: &Self::Stream,
    ) -> impl std::future::Future<Output = io::Result<()>> + Send;
}

impl Listener for tokio::net::UnixListener {
    type Stream = tokio::net::UnixStream;

    async fn next(&self) -> io::Result<Self::Stream> {
        self.accept().await.map(|(stream, _)| stream)
    }

    async fn first_bytes(stream: &Self::Stream) -> io::Result<()> {
        stream.readable().await
    }
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn next(&self) -> io::Result<Self::Stream> {
        let (stream, _) = self.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    async fn first_bytes(stream: &Self::Stream) -> io::Result<()> {
        stream.readable().await
    }
}

/// Serves every connection of one listening socket. A connection is handed to HTTP
/// only once it has said something, so an idle one holds no parser state; one that
/// stays silent past the head timeout is dropped.
async fn accept_loop<L: Listener>(listener: L, server: Arc<ServerContext>) {
    let mut connections = JoinSet::new();
    loop {
        match listener.next().await {
            Ok(stream) => {
                let server = Arc::clone(&server);
                connections.spawn(async move {
                    if readable(L::first_bytes(&stream)).await {
                        serve_connection(stream, server).await;
                    }
                });
            }
            // Out of descriptors or a transient error: let the system breathe.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
        while connections.try_join_next().is_some() {}
    }
}

async fn serve_connection<S>(stream: S, server: Arc<ServerContext>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let server = Arc::clone(&server);
        async move { Ok::<_, Infallible>(respond(request, &server).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .title_case_headers(true)
        .max_buf_size(MAX_HEAD)
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A whole response body.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// An HTTP date (`Sat, 28 Nov 2026 02:13:09 GMT`).
pub fn http_date(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// The reference's (medusa's) error page.
pub fn error_response(status: StatusCode) -> Response<Body> {
    let reason = status.canonical_reason().unwrap_or("Unknown");
    let page = format!(
        "<head>\r\n<title>Error response</title>\r\n</head>\r\n<body>\r\n<h1>Error response</h1>\r\n\
         <p>Error code {}.\r\n<p>Message: {reason}.\r\n</body>\r\n",
        status.as_u16()
    );
    let mut response = Response::new(full(page.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(page.len()));
    response
}

/// Puts `Server: Medusa/1.12` first, where the reference writes it.
fn with_server_header(mut response: Response<Body>) -> Response<Body> {
    let mut headers = hyper::HeaderMap::with_capacity(response.headers().len() + 1);
    headers.insert("Server", HeaderValue::from_static("Medusa/1.12"));
    headers.extend(response.headers_mut().drain());
    *response.headers_mut() = headers;
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Base64 as Python's lenient `binascii.a2b_base64` reads it: characters outside the
/// alphabet are skipped, decoding stops at complete padding, and a trailing partial
/// group is an error.
fn lenient_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut quad, mut left, mut pads) = (0u8, 0u8, 0u8);
    for byte in text.bytes() {
        if byte == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        pads = 0;
        match quad {
            0 => left = value,
            1 => {
                out.push((left << 2) | (value >> 4));
                left = value & 0x0f;
            }
            2 => {
                out.push((left << 4) | (value >> 2));
                left = value & 0x03;
            }
            _ => out.push((left << 6) | value),
        }
        quad = (quad + 1) % 4;
    }
    (quad == 0).then_some(out)
}

/// An Authorization header the reference cannot even check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadCredentials {
    /// Not base64, or not UTF-8 once decoded: 400.
    Undecodable,
    /// Decoded, but without the `:` between name and password: the reference fails
    /// with 500.
    NoSeparator,
}

fn authorized(
    header: Option<&HeaderValue>,
    username: &str,
    password: &str,
) -> Result<bool, BadCredentials> {
    match header.and_then(|h| h.to_str().ok()) {
        Some(value) => check_authorization(value, username, password),
        None => Ok(false),
    }
}

/// Whether an Authorization header value carries the configured credentials. A
/// stored password `{SHA}<hex>` matches the lowercase hex SHA-1 of the given one.
pub fn check_authorization(
    value: &str,
    username: &str,
    password: &str,
) -> Result<bool, BadCredentials> {
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(false);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(false);
    }
    let decoded = lenient_base64(encoded).ok_or(BadCredentials::Undecodable)?;
    let decoded = String::from_utf8(decoded).map_err(|_| BadCredentials::Undecodable)?;
    let (user, given) = decoded.split_once(':').ok_or(BadCredentials::NoSeparator)?;
    let user_ok = constant_time_eq(user.as_bytes(), username.as_bytes());
    let password_ok = match password.strip_prefix("{SHA}") {
        Some(stored) => {
            let digest = Sha1::digest(given.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            constant_time_eq(hex.as_bytes(), stored.as_bytes())
        }
        None => constant_time_eq(given.as_bytes(), password.as_bytes()),
    };
    Ok(user_ok && password_ok)
}

fn unauthorized() -> Response<Body> {
    let mut response = error_response(StatusCode::UNAUTHORIZED);
    let headers = response.headers_mut();
    headers.insert(
        "WWW-Authenticate",
        HeaderValue::from_static("Basic realm=\"default\""),
    );
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Reads and drops the rest of a refused request's body (at most [`MAX_BODY`], for at
/// most [`DISCARD_WAIT`]). The connection closes after an error response, and closing
/// it with unread bytes makes the kernel reset it, so a client still sending its body
/// would get a broken pipe instead of the response.
pub(crate) async fn discard_body(request: Request<Incoming>) {
    let body = Limited::new(request.into_body(), MAX_BODY).collect();
    let _ = tokio::time::timeout(DISCARD_WAIT, body).await;
}

async fn respond(request: Request<Incoming>, server: &ServerContext) -> Response<Body> {
    if let (Some(username), Some(password)) = (&server.username, &server.password) {
        let refusal = match authorized(request.headers().get(AUTHORIZATION), username, password) {
            Ok(true) => None,
            Ok(false) => Some(unauthorized()),
            Err(BadCredentials::Undecodable) => Some(error_response(StatusCode::BAD_REQUEST)),
            Err(BadCredentials::NoSeparator) => {
                Some(error_response(StatusCode::INTERNAL_SERVER_ERROR))
            }
        };
        if let Some(response) = refusal {
            discard_body(request).await;
            return with_server_header(response);
        }
    }
    let path = request.uri().path().to_string();
    let response = if path.starts_with("/RPC2") {
        xmlrpc_response(request, &server.rpc).await
    } else {
        super::pages::respond(request, &server.rpc).await
    };
    with_server_header(response)
}

async fn xmlrpc_response(request: Request<Incoming>, rpc: &RpcContext) -> Response<Body> {
    if request.method() != Method::POST {
        discard_body(request).await;
        return error_response(StatusCode::BAD_REQUEST);
    }
    let Some(length) = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
    else {
        return error_response(StatusCode::LENGTH_REQUIRED);
    };
    if length > MAX_BODY {
        return error_response(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error_response(StatusCode::PAYLOAD_TOO_LARGE),
    };
    let call = match xmlrpc::decode_call(&body) {
        Ok(call) => call,
        Err(_) => {
            rpc.activity.error(format!(
                "XML-RPC request data {} is invalid: unmarshallable",
                crate::config::value::py_repr(&String::from_utf8_lossy(&body))
            ));
            return error_response(StatusCode::BAD_REQUEST);
        }
    };
    let Some(method) = call.method else {
        rpc.activity.error(format!(
            "XML-RPC request data {} is invalid: no method name",
            crate::config::value::py_repr(&String::from_utf8_lossy(&body))
        ));
        return error_response(StatusCode::BAD_REQUEST);
    };
    rpc.activity
        .trace(format!("XML-RPC method called: {method}()"));
    let text = match dispatch(rpc, &method, call.params).await {
        Ok(value) => xmlrpc::encode_response(&value),
        Err(CallError::Fault(fault)) => xmlrpc::encode_fault(&WireFault {
            code: fault.code(),
            string: fault_text(&fault),
        }),
        Err(CallError::Internal { class, message }) => {
            rpc.activity.critical(format!(
                "Handling XML-RPC request with data {} raised an unexpected exception: \
                 {class}: {message}",
                crate::config::value::py_repr(&String::from_utf8_lossy(&body))
            ));
            return error_response(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let mut response = Response::new(full(text.clone()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(text.len()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pass: &str) -> HeaderValue {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(user_pass);
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap_or(HeaderValue::from_static(""))
    }

    #[test]
    fn basic_auth_plain_and_sha() {
        let sha_of_thepassword = "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d";
        let cases = [
            (Some(basic("user:123")), "user", "123", Ok(true)),
            (Some(basic("user:124")), "user", "123", Ok(false)),
            (Some(basic("other:123")), "user", "123", Ok(false)),
            (
                Some(basic("user:thepassword")),
                "user",
                sha_of_thepassword,
                Ok(true),
            ),
            (
                Some(basic("user:wrong")),
                "user",
                sha_of_thepassword,
                Ok(false),
            ),
            (None, "user", "123", Ok(false)),
            (
                Some(HeaderValue::from_static("Bearer x")),
                "user",
                "123",
                Ok(false),
            ),
            (
                Some(HeaderValue::from_static("Basic abcde")),
                "user",
                "123",
                Err(BadCredentials::Undecodable),
            ),
            (
                Some(HeaderValue::from_static("Basic dXNlcg==")),
                "user",
                "123",
                Err(BadCredentials::NoSeparator),
            ),
            (
                Some(HeaderValue::from_static("Basic dXNl!cjox*MjM=")),
                "user",
                "123",
                Ok(true),
            ),
        ];
        for (header, user, password, want) in cases {
            assert_eq!(
                authorized(header.as_ref(), user, password),
                want,
                "{header:?}"
            );
        }
    }

    #[test]
    fn base64_as_python_reads_it() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("dXNlcjoxMjM=", Some(b"user:123")),
            ("dXNlcjoxMjM", None),
            ("dXNl cjox MjM=", Some(b"user:123")),
            ("dXNlcg==trailing", Some(b"user")),
            ("", Some(b"")),
            ("!!!", Some(b"")),
            ("a", None),
            ("ab=", None),
            ("ab==", Some(b"i")),
        ];
        for (text, want) in cases {
            assert_eq!(lenient_base64(text).as_deref(), *want, "{text:?}");
        }
    }

    #[test]
    fn error_page_matches_medusa() {
        let response = error_response(StatusCode::NOT_FOUND);
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html");
    }
}
