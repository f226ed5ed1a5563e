//! Linux errno numbers → their C names, as Python's `errno.errorcode` spells them.
//!
//! supervisord prints `errno.errorcode.get(code, code)` in spawn failures, both in the
//! daemon (`unknown error during fork for 'x': EMFILE`) and in the child
//! (`supervisor: couldn't exec x: ENOENT`). The child side runs between fork and exec,
//! so the table is a static array and the lookup neither allocates nor locks.

/// Names indexed by errno. Where Linux has two names for one number Python keeps the
/// later one (`EDEADLOCK`, `ENOTSUP`, `EAGAIN`); unassigned numbers (41, 58) and numbers
/// Python 3.11 does not know (133 `EHWPOISON`) are empty, so they print as numbers.
const NAMES: [&str; 133] = [
    "",
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLOCK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
    "",
    "ENOMSG",
    "EIDRM",
    "ECHRNG",
    "EL2NSYNC",
    "EL3HLT",
    "EL3RST",
    "ELNRNG",
    "EUNATCH",
    "ENOCSI",
    "EL2HLT",
    "EBADE",
    "EBADR",
    "EXFULL",
    "ENOANO",
    "EBADRQC",
    "EBADSLT",
    "",
    "EBFONT",
    "ENOSTR",
    "ENODATA",
    "ETIME",
    "ENOSR",
    "ENONET",
    "ENOPKG",
    "EREMOTE",
    "ENOLINK",
    "EADV",
    "ESRMNT",
    "ECOMM",
    "EPROTO",
    "EMULTIHOP",
    "EDOTDOT",
    "EBADMSG",
    "EOVERFLOW",
    "ENOTUNIQ",
    "EBADFD",
    "EREMCHG",
    "ELIBACC",
    "ELIBBAD",
    "ELIBSCN",
    "ELIBMAX",
    "ELIBEXEC",
    "EILSEQ",
    "ERESTART",
    "ESTRPIPE",
    "EUSERS",
    "ENOTSOCK",
    "EDESTADDRREQ",
    "EMSGSIZE",
    "EPROTOTYPE",
    "ENOPROTOOPT",
    "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT",
    "ENOTSUP",
    "EPFNOSUPPORT",
    "EAFNOSUPPORT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ENETDOWN",
    "ENETUNREACH",
    "ENETRESET",
    "ECONNABORTED",
    "ECONNRESET",
    "ENOBUFS",
    "EISCONN",
    "ENOTCONN",
    "ESHUTDOWN",
    "ETOOMANYREFS",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EALREADY",
    "EINPROGRESS",
    "ESTALE",
    "EUCLEAN",
    "ENOTNAM",
    "ENAVAIL",
    "EISNAM",
    "EREMOTEIO",
    "EDQUOT",
    "ENOMEDIUM",
    "EMEDIUMTYPE",
    "ECANCELED",
    "ENOKEY",
    "EKEYEXPIRED",
    "EKEYREVOKED",
    "EKEYREJECTED",
    "EOWNERDEAD",
    "ENOTRECOVERABLE",
    "ERFKILL",
];

/// The C name of `code` (`ENOENT`), or `None` for a number Python has no name for.
pub fn errno_name(code: i32) -> Option<&'static str> {
    let index = usize::try_from(code).ok()?;
    NAMES.get(index).copied().filter(|name| !name.is_empty())
}

/// `errno.errorcode.get(code, code)`: the name, or the number when there is none.
pub fn errno_display(code: i32) -> String {
    match errno_name(code) {
        Some(name) => name.to_string(),
        None => code.to_string(),
    }
}

/// Python's `str(OSError)`: `[Errno 2] No such file or directory`, with `: '<path>'`
/// appended when the failing call named a file.
pub fn py_os_error(code: i32, path: Option<&str>) -> String {
    let text = std::io::Error::from_raw_os_error(code);
    let message = strerror(&text);
    match path {
        Some(path) => format!(
            "[Errno {code}] {message}: {}",
            crate::config::value::py_repr(path)
        ),
        None => format!("[Errno {code}] {message}"),
    }
}

/// The bare `strerror` text: std's `Display` appends ` (os error N)`, Python does not.
fn strerror(error: &std::io::Error) -> String {
    let full = error.to_string();
    match full.rfind(" (os error ") {
        Some(cut) => full[..cut].to_string(),
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_python() {
        let cases: &[(i32, Option<&str>)] = &[
            (0, None),
            (1, Some("EPERM")),
            (2, Some("ENOENT")),
            (8, Some("ENOEXEC")),
            (11, Some("EAGAIN")),
            (13, Some("EACCES")),
            (24, Some("EMFILE")),
            (35, Some("EDEADLOCK")),
            (41, None),
            (58, None),
            (95, Some("ENOTSUP")),
            (132, Some("ERFKILL")),
            (133, None),
            (-1, None),
        ];
        for (code, want) in cases {
            assert_eq!(errno_name(*code), *want, "errno {code}");
        }
        assert_eq!(errno_display(133), "133");
        assert_eq!(errno_display(12), "ENOMEM");
    }

    #[test]
    fn every_name_is_libc_s_number() {
        let spot_checks = [
            (libc::ETXTBSY, "ETXTBSY"),
            (libc::ENAMETOOLONG, "ENAMETOOLONG"),
            (libc::ELOOP, "ELOOP"),
            (libc::EADDRINUSE, "EADDRINUSE"),
            (libc::ECONNREFUSED, "ECONNREFUSED"),
            (libc::ENOTRECOVERABLE, "ENOTRECOVERABLE"),
        ];
        for (code, name) in spot_checks {
            assert_eq!(errno_name(code), Some(name));
        }
    }

    #[test]
    fn python_os_error_text() {
        assert_eq!(
            py_os_error(2, Some("/nonexistent")),
            "[Errno 2] No such file or directory: '/nonexistent'"
        );
        assert_eq!(py_os_error(98, None), "[Errno 98] Address already in use");
    }
}
