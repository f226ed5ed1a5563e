//! The listening socket of an `[fcgi-program:x]`, created by the daemon and put on fd 0
//! of each of the group's children (config.md §5.9).
//!
//! Owns socket creation only; sharing the socket between the group's processes and
//! closing it when the last one ends is the caller's. Must not know about process states.

use std::ffi::{CStr, CString};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{
    bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, UnixAddr,
};

use crate::config::FcgiSocket;
use crate::os::errno::py_os_error;

/// Creating the socket failed; `Display` is the reference's text,
/// `Could not create FastCGI socket <url>: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Could not create FastCGI socket {url}: {reason}")]
pub struct FcgiError {
    /// The socket URL as configured.
    pub url: String,
    /// Python's text for the failure (`[Errno 98] Address already in use`).
    pub reason: String,
}

/// Where the socket listens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Address<'a> {
    Unix(&'a str),
    Tcp { host: &'a str, port: u16 },
}

fn parse(url: &str) -> Option<Address<'_>> {
    if let Some(path) = url.strip_prefix("unix://") {
        return Some(Address::Unix(path));
    }
    let (host, port) = url.strip_prefix("tcp://")?.rsplit_once(':')?;
    Some(Address::Tcp {
        host,
        port: port.parse().ok()?,
    })
}

/// Create, bind and listen: unix sockets replace an existing file and get the configured
/// owner and mode; TCP sockets set SO_REUSEADDR. Backlog: the configured one, else
/// SOMAXCONN. The descriptor is close-on-exec (spawn dup2s it onto the child's fd 0).
pub fn create_socket(config: &FcgiSocket) -> Result<OwnedFd, FcgiError> {
    let fail = |reason: String| FcgiError {
        url: config.url.clone(),
        reason,
    };
    let address = parse(&config.url).ok_or_else(|| fail("bad socket URL".into()))?;
    let socket = match address {
        Address::Unix(path) => unix_socket(path, config).map_err(fail)?,
        Address::Tcp { host, port } => tcp_socket(host, port).map_err(fail)?,
    };
    let backlog = config
        .backlog
        .and_then(|b| i32::try_from(b).ok())
        .filter(|b| *b > 0)
        .unwrap_or(libc::SOMAXCONN);
    // SAFETY: listen on a socket we own.
    if unsafe { libc::listen(socket.as_raw_fd(), backlog) } != 0 {
        return Err(fail(py_os_error(Errno::last() as i32, None)));
    }
    Ok(socket)
}

fn unix_socket(path: &str, config: &FcgiSocket) -> Result<OwnedFd, String> {
    let exists = |p: &str| Path::new(p).exists();
    if exists(path) {
        std::fs::remove_file(path).map_err(|e| os_error(&e, Some(path)))?;
    }
    let socket = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| py_os_error(e as i32, None))?;
    let prepared = bind_and_own(&socket, path, config);
    if prepared.is_err() && exists(path) {
        let _ = std::fs::remove_file(path);
    }
    prepared.map(|()| socket)
}

fn bind_and_own(socket: &OwnedFd, path: &str, config: &FcgiSocket) -> Result<(), String> {
    let address = UnixAddr::new(path).map_err(|e| match e {
        Errno::ENAMETOOLONG => "AF_UNIX path too long".to_string(),
        e => py_os_error(e as i32, None),
    })?;
    bind(socket.as_raw_fd(), &address).map_err(|e| py_os_error(e as i32, None))?;
    if let Some(owner) = config.owner {
        let gid = owner.gid.map(nix::unistd::Gid::from_raw);
        nix::unistd::chown(path, Some(nix::unistd::Uid::from_raw(owner.uid)), gid).map_err(
            |e| {
                format!(
                    "Could not change ownership of socket file: {}",
                    py_os_error(e as i32, Some(path))
                )
            },
        )?;
    }
    if let Some(mode) = config.mode {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            format!(
                "Could not change permissions of socket file: {}",
                os_error(&e, Some(path))
            )
        })?;
    }
    Ok(())
}

fn tcp_socket(host: &str, port: u16) -> Result<OwnedFd, String> {
    let ip = resolve_ipv4(host)?;
    let socket = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| py_os_error(e as i32, None))?;
    setsockopt(&socket, sockopt::ReuseAddr, &true).map_err(|e| py_os_error(e as i32, None))?;
    let address = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: bind with a fully initialized sockaddr_in and its exact size.
    let bound = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            std::ptr::addr_of!(address).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if bound != 0 {
        return Err(py_os_error(Errno::last() as i32, None));
    }
    Ok(socket)
}

/// The IPv4 address Python's `bind((host, port))` would use: empty means any, otherwise a
/// literal or the first `getaddrinfo` answer. Errors read like Python's `gaierror`.
fn resolve_ipv4(host: &str) -> Result<Ipv4Addr, String> {
    if host.is_empty() {
        return Ok(Ipv4Addr::UNSPECIFIED);
    }
    if let Ok(ip) = host.parse() {
        return Ok(ip);
    }
    let c_host = CString::new(host).map_err(|_| "embedded null byte".to_string())?;
    // SAFETY: getaddrinfo with a valid host string, zeroed hints and an out-pointer; the
    // result list is read once and freed below.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_family = libc::AF_INET;
        hints.ai_socktype = libc::SOCK_STREAM;
        let mut found: *mut libc::addrinfo = std::ptr::null_mut();
        let code = libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut found);
        if code != 0 {
            let text = CStr::from_ptr(libc::gai_strerror(code)).to_string_lossy();
            return Err(format!("[Errno {code}] {text}"));
        }
        let ip = (!found.is_null() && !(*found).ai_addr.is_null()).then(|| {
            let address = (*found).ai_addr.cast::<libc::sockaddr_in>();
            Ipv4Addr::from(u32::from_be((*address).sin_addr.s_addr))
        });
        libc::freeaddrinfo(found);
        ip.ok_or_else(|| {
            format!(
                "[Errno {}] No address associated with hostname",
                libc::EAI_NODATA
            )
        })
    }
}

fn os_error(error: &std::io::Error, path: Option<&str>) -> String {
    py_os_error(error.raw_os_error().unwrap_or(libc::EIO), path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    fn config(url: String, mode: Option<u32>) -> FcgiSocket {
        FcgiSocket {
            url,
            backlog: None,
            owner: None,
            mode,
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse("unix:///tmp/x.sock"),
            Some(Address::Unix("/tmp/x.sock"))
        );
        assert_eq!(
            parse("tcp://localhost:9000"),
            Some(Address::Tcp {
                host: "localhost",
                port: 9000
            })
        );
        assert_eq!(parse("tcp://host"), None);
        assert_eq!(parse("udp://x:1"), None);
    }

    #[test]
    fn unix_socket_replaces_a_file_and_applies_the_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.sock");
        std::fs::write(&path, "stale").expect("write");
        let url = format!("unix://{}", path.display());
        let socket = create_socket(&config(url, Some(0o660))).expect("socket");
        let meta = std::fs::metadata(&path).expect("stat");
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
        let client = std::os::unix::net::UnixStream::connect(&path);
        assert!(client.is_ok(), "connect: {client:?}");
        drop(socket);
    }

    #[test]
    fn unix_socket_errors_carry_python_text() {
        let err = create_socket(&config("unix:///nonexistent-dir/x.sock".into(), None))
            .expect_err("no such dir");
        assert_eq!(
            err.to_string(),
            "Could not create FastCGI socket unix:///nonexistent-dir/x.sock: \
             [Errno 2] No such file or directory"
        );
    }

    #[test]
    fn tcp_socket_listens_and_reports_address_in_use() {
        let first = create_socket(&config("tcp://127.0.0.1:0".into(), None)).expect("bind");
        let listener = std::net::TcpListener::from(first);
        let port = listener.local_addr().expect("name").port();
        let url = format!("tcp://127.0.0.1:{port}");
        let client = std::net::TcpStream::connect(("127.0.0.1", port));
        assert!(client.is_ok(), "connect: {client:?}");
        let err = create_socket(&config(url.clone(), None)).expect_err("in use");
        assert_eq!(
            err.to_string(),
            format!("Could not create FastCGI socket {url}: [Errno 98] Address already in use")
        );
    }

    #[test]
    fn unresolvable_host_reads_like_gaierror() {
        let err = resolve_ipv4("no-such-host.invalid").expect_err("unresolvable");
        assert!(err.starts_with("[Errno -"), "{err}");
    }
}
