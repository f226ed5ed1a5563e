//! HTTP-level tests of the control plane: authentication on both transports and every
//! path (compared with the reference), `/logtail` streaming, keep-alive, and the limits
//! on hostile input.

mod rpc_support;
mod support;

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use rpc_support::{
    header, http_exchange, http_head, http_request, poll_until, post_rpc, status_code, Daemon,
    Kind, Transport,
};

/// `Authorization` header values: none, wrong user, wrong password, the plain
/// password, the password whose SHA-1 the other transport stores, undecodable base64,
/// another scheme.
fn credentials() -> Vec<(&'static str, Option<String>)> {
    use base64::Engine;
    let basic = |pair: &str| {
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    };
    vec![
        ("none", None),
        ("wrong user", basic("other:123")),
        ("wrong password", basic("user:124")),
        ("plain password", basic("user:123")),
        ("sha password", basic("user:thepassword")),
        ("bad base64", Some("Basic abcde".to_string())),
        ("base64 without colon", Some("Basic dXNlcg==".to_string())),
        ("bearer", Some("Bearer 123".to_string())),
    ]
}

/// Requests on every kind of path (streams are read to the end of their head).
fn paths() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GET", "/RPC2"),
        ("POST", "/RPC2"),
        ("GET", "/logtail/talker"),
        ("GET", "/logtail/nosuch"),
        ("GET", "/mainlogtail"),
        ("GET", "/"),
        ("GET", "/index.html?action=refresh"),
        ("GET", "/tail.html?processname=talker"),
        ("GET", "/ok.html"),
        ("GET", "/stylesheets/supervisor.css"),
        ("GET", "/nope"),
    ]
}

/// HTTP/1.1 and persistent: the reference sends nothing of a stream on a connection
/// it is to close (HTTP/1.0, `Connection: close`) until the stream ends.
fn request(method: &str, path: &str, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}");
    if method == "POST" {
        let body = "<?xml version='1.0'?><methodCall><methodName>supervisor.getAPIVersion</methodName></methodCall>";
        format!("{head}Content-Length: {}\r\n\r\n{body}", body.len())
    } else {
        format!("{head}\r\n")
    }
}

/// Every (transport, credentials, path) → status code, and the 401's headers.
fn auth_matrix(daemon: &Daemon) -> Vec<String> {
    let mut seen = Vec::new();
    for (transport_name, transport) in [
        ("unix", Transport::Unix(daemon.socket())),
        ("tcp", Transport::Tcp(daemon.port)),
    ] {
        for (who, auth) in credentials() {
            for (method, path) in paths() {
                let reply = http_head(&transport, &request(method, path, auth.as_deref()))
                    .unwrap_or_else(|e| format!("error {e}"));
                let mut line = format!(
                    "{transport_name} {who} {method} {path}: {}",
                    status_code(&reply)
                );
                if status_code(&reply) == 401 {
                    line.push_str(&format!(
                        " [{:?} {:?}]",
                        header(&reply, "WWW-Authenticate"),
                        header(&reply, "Connection")
                    ));
                }
                seen.push(line);
            }
        }
    }
    seen
}

fn compare_auth(conf: &str) -> Vec<String> {
    let (theirs, ours) = thread::scope(|s| {
        let reference = s.spawn(|| auth_matrix(&Daemon::start(Kind::Reference, conf, &[])));
        let ours = auth_matrix(&Daemon::start(Kind::Ours, conf, &[]));
        (reference.join().expect("reference run"), ours)
    });
    let differences: Vec<String> = theirs
        .iter()
        .zip(&ours)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("reference {a}\n     ours {b}"))
        .collect();
    assert!(
        differences.is_empty(),
        "{} of {} requests differ:\n{}",
        differences.len(),
        theirs.len(),
        differences.join("\n")
    );
    ours
}

fn status_of(matrix: &[String], line_prefix: &str) -> String {
    matrix
        .iter()
        .find(|l| l.starts_with(line_prefix))
        .unwrap_or_else(|| panic!("no {line_prefix:?} in {matrix:#?}"))
        .clone()
}

#[test]
fn authentication_on_both_transports_and_every_path_matches_the_reference() {
    let ours = compare_auth("auth.conf");
    // The comparison could pass with both servers wrong; pin the essentials too.
    for (transport, good, bad) in [
        ("unix", "plain password", "sha password"),
        ("tcp", "sha password", "plain password"),
    ] {
        for (method, path) in paths() {
            let denied = status_of(&ours, &format!("{transport} none {method} {path}:"));
            assert!(
                denied.contains(": 401 [Some(\"Basic realm=\\\"default\\\"\") Some(\"close\")]"),
                "{denied}"
            );
            let denied = status_of(&ours, &format!("{transport} {bad} {method} {path}:"));
            assert!(denied.contains(": 401"), "{denied}");
            let allowed = status_of(&ours, &format!("{transport} {good} {method} {path}:"));
            assert!(!allowed.contains(": 401"), "{allowed}");
        }
        let garbled = status_of(&ours, &format!("{transport} bad base64 GET /ok.html:"));
        assert!(garbled.ends_with(": 400"), "{garbled}");
        let no_colon = status_of(
            &ours,
            &format!("{transport} base64 without colon GET /ok.html:"),
        );
        assert!(no_colon.ends_with(": 500"), "{no_colon}");
    }
}

#[test]
fn sha_passwords_on_the_unix_socket_too() {
    let ours = compare_auth("auth_swap.conf");
    let allowed = status_of(&ours, "unix sha password POST /RPC2:");
    assert!(allowed.ends_with(": 200"), "{allowed}");
    let allowed = status_of(&ours, "tcp plain password GET /ok.html:");
    assert!(allowed.ends_with(": 200"), "{allowed}");
}

/// Reads from a stream until `want` has arrived (or fails after 10 s).
fn read_until(stream: &mut impl Read, seen: &mut Vec<u8>, want: &str) {
    let mut buf = [0u8; 4096];
    poll_until(
        Duration::from_secs(10),
        &format!("{want:?} on the stream"),
        || {
            if String::from_utf8_lossy(seen).contains(want) {
                return Ok(());
            }
            match stream.read(&mut buf) {
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(format!("read error {e}")),
            }
            Err(String::from_utf8_lossy(seen).into_owned())
        },
    );
}

fn rpc_call(daemon: &Daemon, method: &str, params: &str) -> String {
    let auth = "Authorization: Basic dXNlcjoxMjM=\r\n"; // user:123
    let request = post_rpc(method, params).replacen("\r\n", &format!("\r\n{auth}"), 1);
    http_request(&Transport::Unix(daemon.socket()), &request).expect("rpc call")
}

#[test]
fn logtail_streams_head_appends_and_cleared_files() {
    let daemon = Daemon::start(Kind::Ours, "auth.conf", &[]);
    let auth = "Authorization: Basic dXNlcjoxMjM=\r\n";
    let mut stream =
        std::os::unix::net::UnixStream::connect(daemon.socket()).expect("connect the socket");
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    write!(
        stream,
        "GET /logtail/talker HTTP/1.1\r\nHost: localhost\r\n{auth}\r\n"
    )
    .expect("send");
    let mut seen = Vec::new();
    read_until(&mut stream, &mut seen, "out-line\n");
    let head = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(status_code(&head), 200, "{head}");
    assert_eq!(
        header(&head, "Transfer-Encoding"),
        Some("chunked"),
        "{head}"
    );
    assert_eq!(header(&head, "X-Accel-Buffering"), Some("no"), "{head}");
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/plain;charset=utf-8")
    );
    assert!(header(&head, "Last-Modified").is_some_and(|d| d.ends_with(" GMT")));
    // Appended output arrives on the open stream.
    let sent = rpc_call(
        &daemon,
        "supervisor.sendProcessStdin",
        "<param><value><string>talker</string></value></param>\
         <param><value><string>appended-1\n</string></value></param>",
    );
    assert!(sent.contains("<boolean>1</boolean>"), "{sent}");
    read_until(&mut stream, &mut seen, "appended-1\n");
    // After clearing, the stream goes on with what is written next.
    let cleared = rpc_call(
        &daemon,
        "supervisor.clearProcessLogs",
        "<param><value><string>talker</string></value></param>",
    );
    assert!(cleared.contains("<boolean>1</boolean>"), "{cleared}");
    rpc_call(
        &daemon,
        "supervisor.sendProcessStdin",
        "<param><value><string>talker</string></value></param>\
         <param><value><string>after-clear\n</string></value></param>",
    );
    read_until(&mut stream, &mut seen, "after-clear\n");
}

#[test]
fn mainlogtail_starts_with_the_last_kilobyte() {
    let daemon = Daemon::start(Kind::Ours, "auth.conf", &[]);
    let reply = http_exchange(
        &Transport::Unix(daemon.socket()),
        b"GET /mainlogtail HTTP/1.0\r\nAuthorization: Basic dXNlcjoxMjM=\r\n\r\n",
        Duration::from_millis(500),
    )
    .expect("mainlogtail");
    let text = String::from_utf8_lossy(&reply);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    assert_eq!(status_code(head), 200, "{head}");
    assert_eq!(header(&text, "X-Accel-Buffering"), None);
    let log = std::fs::read(daemon.dir.path().join("supervisord.log")).expect("activity log");
    assert!(
        !body.is_empty() && body.len() <= 1024.max(log.len()),
        "{body}"
    );
    assert!(
        String::from_utf8_lossy(&log).contains(body.lines().next().unwrap_or("?")),
        "{body}"
    );
}

fn open_basic() -> Daemon {
    Daemon::start(Kind::Ours, "basic.conf", &["notexec.txt"])
}

#[test]
fn keep_alive_on_both_transports() {
    let daemon = open_basic();
    let body =
        "<?xml version='1.0'?><methodCall><methodName>supervisor.getPID</methodName></methodCall>";
    let one = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    for transport in [
        Transport::Unix(daemon.socket()),
        Transport::Tcp(daemon.port),
    ] {
        let three = one.repeat(3);
        let reply = http_exchange(&transport, three.as_bytes(), Duration::from_millis(700))
            .expect("pipelined requests");
        let text = String::from_utf8_lossy(&reply);
        assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3, "{text}");
        assert_eq!(text.matches("Server: Medusa/1.12").count(), 3, "{text}");
    }
}

#[test]
fn hostile_and_malformed_requests_are_refused() {
    let daemon = open_basic();
    let unix = Transport::Unix(daemon.socket());
    // A connection the server cut before answering counts as status 0.
    let status = |request: &[u8]| {
        let reply = http_exchange(&unix, request, Duration::from_secs(5)).unwrap_or_default();
        status_code(&String::from_utf8_lossy(&reply))
    };
    let post = |body: &str| {
        format!(
            "POST /RPC2 HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    // Too large: refused from the announced length, before the body is read.
    assert_eq!(
        status(b"POST /RPC2 HTTP/1.0\r\nContent-Length: 3000000\r\n\r\n"),
        413
    );
    assert_eq!(
        status(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"),
        411
    );
    assert_eq!(status(b"GET /RPC2 HTTP/1.0\r\n\r\n"), 400);
    assert_eq!(status(post("<methodCall>").as_bytes()), 400);
    assert_eq!(status(post("not xml at all").as_bytes()), 400);
    assert_eq!(status(post("<methodCall></methodCall>").as_bytes()), 400);
    let bomb = format!(
        "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a '{}'>{}]><methodCall><methodName>&j;</methodName></methodCall>",
        "a".repeat(100),
        (b'b'..=b'j')
            .map(|c| {
                let prev = (c - 1) as char;
                format!("<!ENTITY {} '{}'>", c as char, format!("&{prev};").repeat(10))
            })
            .collect::<String>()
    );
    assert_eq!(status(post(&bomb).as_bytes()), 400);
    let deep = format!(
        "<methodCall><methodName>system.multicall</methodName><params><param>{}{}</param></params></methodCall>",
        "<value><array><data>".repeat(10_000),
        "</data></array></value>".repeat(10_000)
    );
    assert_eq!(status(post(&deep).as_bytes()), 400);
    // A head larger than the cap is refused and the server still answers afterwards.
    let huge = format!(
        "GET /ok.html HTTP/1.0\r\nX-Filler: {}\r\n\r\n",
        "x".repeat(200 * 1024)
    );
    let code = status(huge.as_bytes());
    assert!(
        code == 431 || code == 400 || code == 0,
        "huge head answered {code}"
    );
    assert_eq!(status(b"GET /ok.html HTTP/1.0\r\n\r\n"), 200);
    // Unknown methods are fault 1 inside a 200.
    let reply = http_request(&unix, &post_rpc("supervisor.nosuch", "")).expect("call");
    assert!(
        reply.contains("<int>1</int>") && reply.contains("UNKNOWN_METHOD"),
        "{reply}"
    );
    let log =
        std::fs::read_to_string(daemon.dir.path().join("supervisord.log")).unwrap_or_default();
    assert!(log.contains("is invalid: unmarshallable"), "{log}");
    assert!(log.contains("is invalid: no method name"), "{log}");
}

#[test]
fn a_silent_client_does_not_hold_others() {
    let daemon = open_basic();
    // Half a request head, never finished, on both transports.
    let mut idle_unix = std::os::unix::net::UnixStream::connect(daemon.socket()).expect("connect");
    idle_unix
        .write_all(b"POST /RPC2 HTTP/1.1\r\nContent-Le")
        .expect("write");
    let mut idle_tcp = std::net::TcpStream::connect(("127.0.0.1", daemon.port)).expect("connect");
    idle_tcp
        .write_all(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 500\r\n\r\n<methodCall>")
        .expect("write");
    // A long call (start with wait) in flight does not block the others either.
    let unix = Transport::Unix(daemon.socket());
    let slow = thread::spawn({
        let unix = unix.clone();
        move || {
            http_request(
                &unix,
                &post_rpc(
                    "supervisor.startProcess",
                    "<param><value><string>quick</string></value></param>",
                ),
            )
        }
    });
    for _ in 0..20 {
        let reply = http_request(&unix, &post_rpc("supervisor.getPID", "")).expect("call");
        assert_eq!(status_code(&reply), 200, "{reply}");
    }
    let slow = slow.join().expect("slow call").expect("reply");
    assert!(
        slow.contains("SPAWN_ERROR") || slow.contains("ALREADY_STARTED"),
        "{slow}"
    );
}

#[test]
fn a_program_that_exits_at_once_is_fatal_not_running() {
    let dir = tempfile::Builder::new()
        .prefix("rpc-quick-")
        .tempdir()
        .expect("temp dir");
    let conf = std::fs::read_to_string(rpc_support::fixtures().join("basic.conf"))
        .expect("fixture")
        .replace(
            "startsecs = 3\nstartretries = 0",
            "startsecs = 1\nstartretries = 0",
        );
    std::fs::write(dir.path().join("basic.conf"), conf).expect("write config");
    std::fs::write(dir.path().join("notexec.txt"), "x").expect("write");
    let daemon = Daemon::start_in(Kind::Ours, dir, "basic.conf");
    let info = "<param><value><string>quick</string></value></param>";
    poll_until(Duration::from_secs(10), "quick FATAL", || {
        let reply = http_request(
            &Transport::Unix(daemon.socket()),
            &post_rpc("supervisor.getProcessInfo", info),
        )
        .unwrap_or_default();
        if reply.contains("<string>FATAL</string>") {
            Ok(())
        } else {
            Err(reply)
        }
    });
    let log =
        std::fs::read_to_string(daemon.dir.path().join("supervisord.log")).unwrap_or_default();
    assert!(!log.contains("success: quick"), "{log}");
}
