//! A minimal XML-RPC client for W4: one `supervisor.getAllProcessInfo` call per
//! connection over the daemon's unix socket, the way `supervisorctl` calls it, timed
//! from connect to the last byte of the reply.
//!
//! Deliberately independent of this crate's own client and codec, so the measurement
//! is the same code path for both daemons.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

const REQUEST_BODY: &str = "<?xml version='1.0'?>\n<methodCall>\n\
    <methodName>supervisor.getAllProcessInfo</methodName>\n<params>\n</params>\n\
    </methodCall>\n";

/// Calls `getAllProcessInfo` once; returns the round-trip time and the number of
/// process structs in the reply.
pub fn get_all_process_info(socket: &Path) -> (Duration, usize) {
    let start = Instant::now();
    let mut stream = UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", socket.display()));
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap_or_else(|e| panic!("cannot set a read timeout: {e}"));
    let request = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{REQUEST_BODY}",
        REQUEST_BODY.len()
    );
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("cannot send the request: {e}"));
    let body = read_response(&mut stream);
    let elapsed = start.elapsed();
    let text = String::from_utf8_lossy(&body);
    (elapsed, text.matches("<name>pid</name>").count())
}

/// Reads one HTTP response and returns its body: `Content-Length` bytes when the
/// header is there, else everything up to end of stream.
fn read_response(stream: &mut UnixStream) -> Vec<u8> {
    let mut received = Vec::with_capacity(256 * 1024);
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let header_end = find(&received, b"\r\n\r\n").map(|i| i + 4);
        if let Some(end) = header_end {
            let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
            assert!(
                head.starts_with("http/1.1 200") || head.starts_with("http/1.0 200"),
                "unexpected reply: {}",
                head.lines().next().unwrap_or("")
            );
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok());
            if let Some(length) = length.filter(|&length| received.len() >= end + length) {
                return received[end..end + length].to_vec();
            }
        }
        let read = stream
            .read(&mut chunk)
            .unwrap_or_else(|e| panic!("cannot read the reply: {e}"));
        if read == 0 {
            let end = header_end.unwrap_or_else(|| panic!("connection closed before the headers"));
            return received[end..].to_vec();
        }
        received.extend_from_slice(&chunk[..read]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
