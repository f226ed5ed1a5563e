//! The client half of the control socket: HTTP/1.1 over a unix socket or TCP, with
//! blocking std I/O, Basic auth, `Content-Length`, chunked and close-delimited bodies,
//! XML-RPC calls through [`crate::rpc::xmlrpc`], and the streaming `GET` used by
//! `tail -f`, `maintail -f` and `fg`.
//!
//! Owns connections and the typing of what went wrong ([`ClientError`]), including the
//! Python class and message the reference would show for each failure. It prints
//! nothing and knows no command.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use base64::Engine;

use crate::config::value::py_repr;
use crate::rpc::xmlrpc::{self, Fault, Value};

/// How long one blocking read may wait before the caller's stop condition is looked at
/// again (Ctrl-C, or a streaming thread told to end).
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Where and as whom to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `unix:///path` or `http://host[:port]`, as given by the user or the config.
    pub serverurl: String,
    /// Basic-auth user.
    pub username: Option<String>,
    /// Basic-auth password.
    pub password: Option<String>,
}

/// Where a server URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix-domain socket path.
    Unix(String),
    /// A TCP host (without brackets) and port.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port (80 when the URL has none).
        port: u16,
    },
}

impl Endpoint {
    /// Reads a `serverurl` the way the reference's transport does: `unix://` takes the
    /// rest as a path, `http://` takes host and port; anything else is refused.
    pub fn parse(serverurl: &str) -> Result<Endpoint, ClientError> {
        if let Some(path) = serverurl.strip_prefix("unix://") {
            return Ok(Endpoint::Unix(path.to_string()));
        }
        let Some(rest) = serverurl.strip_prefix("http://") else {
            return Err(ClientError::UnknownProtocol(serverurl.to_string()));
        };
        let netloc = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let hostport = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            match bracketed.split_once(']') {
                Some((host, after)) => (host, after.strip_prefix(':')),
                None => (bracketed, None),
            }
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        let port = match port {
            None | Some("") => 80,
            Some(text) => {
                let number: i64 = text.parse().map_err(|_| {
                    ClientError::BadUrl(format!(
                        "Port could not be cast to integer value as {}",
                        py_repr(text)
                    ))
                })?;
                u16::try_from(number)
                    .map_err(|_| ClientError::BadUrl("Port out of range 0-65535".to_string()))?
            }
        };
        Ok(Endpoint::Tcp {
            host: host.to_lowercase(),
            port,
        })
    }

    fn connect(&self) -> Result<Stream, ClientError> {
        let stream = match self {
            Endpoint::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
            Endpoint::Tcp { host, port } => {
                Stream::Tcp(TcpStream::connect((host.as_str(), *port))?)
            }
        };
        stream.set_read_timeout(POLL_INTERVAL)?;
        Ok(stream)
    }

    fn host_header(&self) -> String {
        match self {
            Endpoint::Unix(_) => "localhost".to_string(),
            Endpoint::Tcp { host, port: 80 } => host.clone(),
            Endpoint::Tcp { host, port } => format!("{host}:{port}"),
        }
    }
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_read_timeout(Some(timeout)),
            Stream::Tcp(s) => s.set_read_timeout(Some(timeout)),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

/// Why a call or a stream did not deliver.
#[derive(Debug)]
pub enum ClientError {
    /// The server answered with an XML-RPC fault.
    Fault(Fault),
    /// The server answered with an HTTP status other than 200.
    Http {
        /// The status code (401, 404, 500…).
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// A socket error: connect, read or write.
    Os(io::Error),
    /// The server URL is neither `unix://` nor `http://`.
    UnknownProtocol(String),
    /// The server URL has an unusable port.
    BadUrl(String),
    /// The connection closed before a complete response arrived.
    Disconnected,
    /// The response is not well-formed HTTP or XML-RPC.
    Malformed(String),
    /// Ctrl-C (or the caller's stop condition) ended the wait.
    Interrupted,
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Os(e)
    }
}

impl ClientError {
    /// The class name the reference shows for this failure, e.g. `ConnectionRefusedError`.
    pub fn python_class(&self) -> String {
        match self {
            ClientError::Fault(_) => "xmlrpc.client.Fault".into(),
            ClientError::Http { .. } => "xmlrpc.client.ProtocolError".into(),
            ClientError::Os(e) => os_error_class(e).into(),
            ClientError::UnknownProtocol(_) | ClientError::BadUrl(_) => "ValueError".into(),
            ClientError::Disconnected => "http.client.RemoteDisconnected".into(),
            ClientError::Malformed(_) => "xml.parsers.expat.ExpatError".into(),
            ClientError::Interrupted => "KeyboardInterrupt".into(),
        }
    }

    /// The message the reference shows for this failure, e.g. `[Errno 111] Connection
    /// refused` or `<Fault 6: 'SHUTDOWN_STATE'>`.
    pub fn python_message(&self) -> String {
        match self {
            ClientError::Fault(f) => fault_repr(f),
            ClientError::Http { status, reason } => {
                format!("<ProtocolError for 127.0.0.1/RPC2: {status} {reason}>")
            }
            ClientError::Os(e) => os_error_message(e),
            ClientError::UnknownProtocol(url) => format!("Unknown protocol for serverurl {url}"),
            ClientError::BadUrl(why) | ClientError::Malformed(why) => why.clone(),
            ClientError::Disconnected => "Remote end closed connection without response".into(),
            ClientError::Interrupted => String::new(),
        }
    }

    /// The errno of a socket error.
    pub fn errno(&self) -> Option<i32> {
        match self {
            ClientError::Os(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

/// Python's `repr()` of an `xmlrpc.client.Fault`: `<Fault 6: 'SHUTDOWN_STATE'>`.
pub fn fault_repr(fault: &Fault) -> String {
    format!("<Fault {}: {}>", fault.code, py_repr(&fault.string))
}

/// The `OSError` subclass Python raises for an errno.
fn os_error_class(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "ConnectionRefusedError",
        Some(libc::ENOENT) => "FileNotFoundError",
        Some(libc::EACCES) | Some(libc::EPERM) => "PermissionError",
        Some(libc::ECONNRESET) => "ConnectionResetError",
        Some(libc::ECONNABORTED) => "ConnectionAbortedError",
        Some(libc::EPIPE) | Some(libc::ESHUTDOWN) => "BrokenPipeError",
        Some(libc::ETIMEDOUT) => "TimeoutError",
        Some(libc::ENOTDIR) => "NotADirectoryError",
        Some(_) => "OSError",
        None => "socket.gaierror",
    }
}

/// `[Errno N] text`, Python's rendering of an OS error.
fn os_error_message(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let text = io::Error::from_raw_os_error(code).to_string();
            let text = text
                .strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&text)
                .to_string();
            format!("[Errno {code}] {text}")
        }
        None => e.to_string(),
    }
}

/// A connection to the server with our own buffering, so that every blocking read can
/// be interrupted (std's buffered readers retry `EINTR` silently).
struct Wire<'a> {
    stream: Stream,
    buf: Vec<u8>,
    start: usize,
    stop: &'a dyn Fn() -> bool,
}

impl<'a> Wire<'a> {
    fn new(stream: Stream, stop: &'a dyn Fn() -> bool) -> Self {
        Wire {
            stream,
            buf: Vec::new(),
            start: 0,
            stop,
        }
    }

    /// Reads more bytes into the buffer; `Ok(false)` at end of stream.
    fn fill(&mut self) -> Result<bool, ClientError> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if (self.stop)() {
                return Err(ClientError::Interrupted);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(ClientError::Os(e)),
            }
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// One line without its CRLF (or LF).
    fn line(&mut self) -> Result<Vec<u8>, ClientError> {
        loop {
            if let Some(i) = self.buffered().iter().position(|&b| b == b'\n') {
                let mut line = self.buffered()[..i].to_vec();
                self.start += i + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if !self.fill()? {
                return Err(ClientError::Disconnected);
            }
        }
    }

    /// Up to `max` bytes, as soon as any are available; empty at end of stream.
    fn some(&mut self, max: usize) -> Result<Vec<u8>, ClientError> {
        if self.buffered().is_empty() && !self.fill()? {
            return Ok(Vec::new());
        }
        let n = self.buffered().len().min(max);
        let out = self.buffered()[..n].to_vec();
        self.start += n;
        Ok(out)
    }
}

/// The parts of a response head we act on.
struct Head {
    status: u16,
    reason: String,
    chunked: bool,
    length: Option<usize>,
}

/// Sends `request` and reads the response head; any status but 200 is an error.
fn exchange<'a>(
    endpoint: &Endpoint,
    request: &str,
    stop: &'a dyn Fn() -> bool,
) -> Result<(Wire<'a>, Head), ClientError> {
    let mut stream = endpoint.connect()?;
    stream.write_all(request.as_bytes())?;
    let mut wire = Wire::new(stream, stop);
    let head = read_head(&mut wire)?;
    if head.status != 200 {
        return Err(ClientError::Http {
            status: head.status,
            reason: head.reason,
        });
    }
    Ok((wire, head))
}

fn read_head(wire: &mut Wire) -> Result<Head, ClientError> {
    let status_line = String::from_utf8_lossy(&wire.line()?).into_owned();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().and_then(|s| s.trim().parse::<u16>().ok());
    let (true, Some(status)) = (version.starts_with("HTTP/"), status) else {
        return Err(ClientError::Malformed(format!(
            "bad HTTP status line {}",
            py_repr(&status_line)
        )));
    };
    let reason = parts.next().unwrap_or_default().trim().to_string();
    let mut head = Head {
        status,
        reason,
        chunked: false,
        length: None,
    };
    loop {
        let line = wire.line()?;
        if line.is_empty() {
            return Ok(head);
        }
        let line = String::from_utf8_lossy(&line);
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "transfer-encoding" => head.chunked = value.eq_ignore_ascii_case("chunked"),
            "content-length" => head.length = value.parse().ok(),
            _ => {}
        }
    }
}

/// Delivers a response body to `sink` piece by piece as it arrives.
fn read_body(
    wire: &mut Wire,
    head: &Head,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), ClientError>,
) -> Result<(), ClientError> {
    if head.chunked {
        loop {
            let size_line = String::from_utf8_lossy(&wire.line()?).into_owned();
            let digits = size_line.split(';').next().unwrap_or_default().trim();
            let mut left = usize::from_str_radix(digits, 16).map_err(|_| {
                ClientError::Malformed(format!("bad chunk size {}", py_repr(&size_line)))
            })?;
            if left == 0 {
                while !wire.line()?.is_empty() {}
                return Ok(());
            }
            while left > 0 {
                let piece = wire.some(left)?;
                if piece.is_empty() {
                    return Err(ClientError::Disconnected);
                }
                left -= piece.len();
                sink(&piece)?;
            }
            wire.line()?;
        }
    }
    match head.length {
        Some(mut left) => {
            while left > 0 {
                let piece = wire.some(left)?;
                if piece.is_empty() {
                    return Err(ClientError::Disconnected);
                }
                left -= piece.len();
                sink(&piece)?;
            }
            Ok(())
        }
        None => loop {
            let piece = wire.some(usize::MAX)?;
            if piece.is_empty() {
                return Ok(());
            }
            sink(&piece)?;
        },
    }
}

fn basic_auth(username: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Authorization: Basic {token}\r\n")
}

/// A client for one server; each call opens its own connection, as the reference's
/// per-command proxies effectively do.
#[derive(Debug, Clone)]
pub struct Client {
    settings: Settings,
}

impl Client {
    /// A client for `settings`.
    pub fn new(settings: Settings) -> Client {
        Client { settings }
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Calls `method` with `params`; the wait can be ended by `stop` (checked at least
    /// every 200 ms).
    pub fn call_until(
        &self,
        method: &str,
        params: &[Value],
        stop: &dyn Fn() -> bool,
    ) -> Result<Value, ClientError> {
        let endpoint = Endpoint::parse(&self.settings.serverurl)?;
        let body = xmlrpc::encode_call(method, params);
        let mut request = format!(
            "POST /RPC2 HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: identity\r\n\
             User-Agent: supervisorctl (Rust)\r\nContent-Type: text/xml\r\nAccept: text/xml\r\n",
            endpoint.host_header()
        );
        if let (Some(user), Some(password)) = (&self.settings.username, &self.settings.password) {
            request.push_str(&basic_auth(user, password));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        request.push_str(&body);
        let (mut wire, head) = exchange(&endpoint, &request, stop)?;
        let mut response = Vec::new();
        read_body(&mut wire, &head, &mut |piece| {
            response.extend_from_slice(piece);
            Ok(())
        })?;
        match xmlrpc::decode_response(&response) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(fault)) => Err(ClientError::Fault(fault)),
            Err(e) => Err(ClientError::Malformed(e.to_string())),
        }
    }

    /// Calls `method`; Ctrl-C ends the wait when an
    /// [`InterruptGuard`](super::interrupt::InterruptGuard) is installed.
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, ClientError> {
        self.call_until(method, params, &super::interrupt::interrupted)
    }

    /// `GET <path>` and feeds the body to `sink` as it arrives, until the server ends
    /// it, `sink` fails, or `stop` returns true. Like the reference's streaming client,
    /// it sends credentials whenever a password is set.
    pub fn stream(
        &self,
        path: &str,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), ClientError>,
        stop: &dyn Fn() -> bool,
    ) -> Result<(), ClientError> {
        let endpoint = Endpoint::parse(&self.settings.serverurl)?;
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: chunked\r\nAccept: */*\r\n\
             User-agent: Supervisor HTTP Client\r\n",
            endpoint.host_header()
        );
        if let Some(password) = self.settings.password.as_deref().filter(|p| !p.is_empty()) {
            let user = self.settings.username.as_deref().unwrap_or("None");
            request.push_str(&basic_auth(user, password));
        }
        request.push_str("\r\n");
        let (mut wire, head) = exchange(&endpoint, &request, stop)?;
        read_body(&mut wire, &head, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::thread;

    #[test]
    fn endpoints_like_the_reference_transport() {
        let cases = [
            (
                "unix:///tmp/s.sock",
                Ok(Endpoint::Unix("/tmp/s.sock".into())),
            ),
            (
                "http://LocalHost:9001",
                Ok(Endpoint::Tcp {
                    host: "localhost".into(),
                    port: 9001,
                }),
            ),
            (
                "http://u:p@127.0.0.1/RPC2",
                Ok(Endpoint::Tcp {
                    host: "127.0.0.1".into(),
                    port: 80,
                }),
            ),
            (
                "http://[::1]:7",
                Ok(Endpoint::Tcp {
                    host: "::1".into(),
                    port: 7,
                }),
            ),
            ("tcp://x:1", Err("Unknown protocol for serverurl tcp://x:1")),
            (
                "http://h:x",
                Err("Port could not be cast to integer value as 'x'"),
            ),
            ("http://h:70000", Err("Port out of range 0-65535")),
        ];
        for (url, want) in cases {
            let got = Endpoint::parse(url).map_err(|e| e.python_message());
            assert_eq!(got, want.map_err(String::from), "{url}");
        }
    }

    #[test]
    fn python_renderings_of_errors() {
        let refused = ClientError::Os(io::Error::from_raw_os_error(libc::ECONNREFUSED));
        assert_eq!(refused.python_class(), "ConnectionRefusedError");
        assert_eq!(refused.python_message(), "[Errno 111] Connection refused");
        let fault = ClientError::Fault(Fault {
            code: 6,
            string: "SHUTDOWN_STATE".into(),
        });
        assert_eq!(fault.python_message(), "<Fault 6: 'SHUTDOWN_STATE'>");
        let http = ClientError::Http {
            status: 401,
            reason: "Unauthorized".into(),
        };
        assert_eq!(
            http.python_message(),
            "<ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>"
        );
    }

    /// Serves one connection with `response` and hands back the request it received.
    fn serve_once(response: &'static [u8]) -> (Settings, thread::JoinHandle<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let handle = thread::spawn(move || {
            let _dir = dir;
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut chunk).unwrap();
                request.extend_from_slice(&chunk[..n]);
            }
            conn.write_all(response).unwrap();
            request
        });
        let settings = Settings {
            serverurl: format!("unix://{}", path.display()),
            username: Some("user".into()),
            password: Some("123".into()),
        };
        (settings, handle)
    }

    #[test]
    fn call_with_content_length_and_auth() {
        let body = xmlrpc::encode_response(&Value::string("3.0"));
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (settings, server) = serve_once(Box::leak(response.into_bytes().into_boxed_slice()));
        let got = Client::new(settings).call_until("supervisor.getVersion", &[], &|| false);
        assert_eq!(got.unwrap(), Value::string("3.0"));
        let request = String::from_utf8(server.join().unwrap()).unwrap();
        assert!(request.starts_with("POST /RPC2 HTTP/1.1\r\n"), "{request}");
        assert!(
            request.contains("Authorization: Basic dXNlcjoxMjM=\r\n"),
            "{request}"
        );
    }

    #[test]
    fn chunked_stream_and_http_errors() {
        let (settings, server) = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=1\r\n world\n\r\n0\r\n\r\n",
        );
        let mut seen = Vec::new();
        Client::new(settings)
            .stream(
                "/logtail/x/stdout",
                &mut |piece| {
                    seen.extend_from_slice(piece);
                    Ok(())
                },
                &|| false,
            )
            .unwrap();
        assert_eq!(seen, b"hello world\n");
        let request = String::from_utf8(server.join().unwrap()).unwrap();
        assert!(request.starts_with("GET /logtail/x/stdout HTTP/1.1\r\n"));

        let (settings, server) = serve_once(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"default\"\r\nContent-Length: 0\r\n\r\n",
        );
        let got = Client::new(settings).call_until("supervisor.getVersion", &[], &|| false);
        assert!(
            matches!(got, Err(ClientError::Http { status: 401, ref reason }) if reason == "Unauthorized"),
            "{got:?}"
        );
        server.join().unwrap();
    }

    #[test]
    fn connection_failures_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Settings {
            serverurl: format!("unix://{}/none.sock", dir.path().display()),
            username: None,
            password: None,
        };
        let got = Client::new(missing).call_until("x.y", &[], &|| false);
        assert_eq!(got.unwrap_err().errno(), Some(libc::ENOENT));
        let path = dir.path().join("dead.sock");
        drop(UnixListener::bind(&path).unwrap());
        let dead = Settings {
            serverurl: format!("unix://{}", path.display()),
            username: None,
            password: None,
        };
        let got = Client::new(dead).call_until("x.y", &[], &|| false);
        assert_eq!(got.unwrap_err().errno(), Some(libc::ECONNREFUSED));
    }
}
