//! Reading log files for the control plane: `readLog`-style ranges, the
//! `tailProcess*Log` arithmetic, and the endless follow behind HTTP `/logtail`.
//!
//! Owns only reads; never writes or rotates. The functions return raw bytes. Text
//! decision (ours, documented): the reference decodes strictly and answers HTTP 500
//! when a range cuts a multi-byte character or holds invalid UTF-8 — which any tail
//! of non-ASCII output can do — so the RPC layer should use [`to_rpc_text`], a lossy
//! decode that turns each invalid sequence into U+FFFD and never fails.
//!
//! Callers must flush the log's capture first (see `capture::StreamHandle::flush`)
//! so that buffered stdout is on disk before it is read.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a range read failed; each maps to an RPC fault.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The log is not configured (`None`) or the file does not exist: `NO_FILE`.
    #[error("no such log file: {}", display_path(path))]
    NoFile {
        /// The configured path, if any.
        path: Option<PathBuf>,
    },
    /// Negative offset with a non-zero length, or negative length: `BAD_ARGUMENTS`.
    #[error("bad arguments")]
    BadArguments,
    /// Opening or reading failed: `FAILED`.
    #[error("cannot read {}: {source}", path.display())]
    Failed {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn display_path(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "None".to_string(),
    }
}

/// The text the RPC layer returns for log bytes: lossy UTF-8.
pub fn to_rpc_text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// `readLog` / `readProcessStdoutLog` / `readProcessStderrLog`:
///
/// | offset | length | result |
/// |---|---|---|
/// | ≥ 0 | > 0 | up to `length` bytes from `offset` (empty past the end) |
/// | ≥ 0 | 0 | from `offset` to the end |
/// | < 0 | 0 | the last `-offset` bytes (whole file if smaller) |
/// | < 0 | ≠ 0 | `BadArguments` |
/// | ≥ 0 | < 0 | `BadArguments` |
///
/// A missing file is `NoFile` (checked first); open or read errors are `Failed`.
pub fn read_range(path: &Path, offset: i64, length: i64) -> Result<Vec<u8>, ReadError> {
    if fs::metadata(path).is_err() {
        return Err(ReadError::NoFile {
            path: Some(path.to_path_buf()),
        });
    }
    let failed = |source| ReadError::Failed {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(failed)?;
    let (start, limit) = if offset < 0 {
        if length != 0 {
            return Err(ReadError::BadArguments);
        }
        let size = file.seek(SeekFrom::End(0)).map_err(failed)?;
        let back = offset.unsigned_abs();
        (size.saturating_sub(back), Some(back))
    } else {
        if length < 0 {
            return Err(ReadError::BadArguments);
        }
        let start = offset.unsigned_abs();
        (start, (length > 0).then_some(length.unsigned_abs()))
    };
    file.seek(SeekFrom::Start(start)).map_err(failed)?;
    let mut data = Vec::new();
    match limit {
        Some(limit) => file.take(limit).read_to_end(&mut data),
        None => file.read_to_end(&mut data),
    }
    .map_err(failed)?;
    Ok(data)
}

/// The answer of `tailProcessStdoutLog` / `tailProcessStderrLog`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// The bytes returned.
    pub data: Vec<u8>,
    /// The offset to ask for next time (the file size).
    pub offset: i64,
    /// True when the file holds more than `offset + length` bytes.
    pub overflow: bool,
}

/// The tail arithmetic of the reference, exactly: `overflow = size > offset + length`;
/// the data is empty when `length ≤ 0`, or when there is no overflow and
/// `offset ≥ size`; otherwise it is the **last** `min(length, size)` bytes (even when
/// `offset < size`); the returned offset is the size. A missing file gives
/// `('', 0, false)`, a file that cannot be opened `('', offset, false)`.
pub fn tail(path: &Path, offset: i64, length: i64) -> Tail {
    let empty = |offset| Tail {
        data: Vec::new(),
        offset,
        overflow: false,
    };
    if fs::metadata(path).is_err() {
        return empty(0);
    }
    let Ok(mut file) = File::open(path) else {
        return empty(offset);
    };
    let Ok(size) = file.seek(SeekFrom::End(0)) else {
        return empty(offset);
    };
    let size = i128::from(size);
    let (mut offset, mut length) = (i128::from(offset), i128::from(length));
    let overflow = size > offset + length;
    if overflow {
        offset = size - 1;
    }
    if offset + length > size {
        if offset > size - 1 {
            length = 0;
        }
        offset = size - length;
    }
    offset = offset.max(0);
    length = length.max(0);
    let clamp = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
    let mut data = Vec::new();
    if length > 0 {
        let read = file
            .seek(SeekFrom::Start(u64::try_from(offset).unwrap_or(0)))
            .and_then(|_| {
                file.take(u64::try_from(length).unwrap_or(u64::MAX))
                    .read_to_end(&mut data)
            });
        if read.is_err() {
            return empty(clamp(offset));
        }
    }
    Tail {
        data,
        offset: clamp(size),
        overflow,
    }
}

/// How much of the file the first answer of a follow shows.
const FOLLOW_HEAD: u64 = 1024;
/// Pause between looks at the file.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);
/// Largest answer; more is returned by the following calls without waiting.
const FOLLOW_MAX_CHUNK: u64 = 1 << 20;
/// Sent when the file shrank.
pub const TRUNCATED_MARKER: &[u8] = b"==> File truncated <==\n";

#[derive(Debug)]
struct FollowState {
    path: PathBuf,
    file: File,
    inode: u64,
    /// Bytes of the current file already returned.
    sent: u64,
}

impl FollowState {
    fn open(path: &Path) -> io::Result<FollowState> {
        let file = File::open(path)?;
        let inode = file.metadata()?.ino();
        Ok(FollowState {
            path: path.to_path_buf(),
            file,
            inode,
            sent: 0,
        })
    }

    /// One look at the file: new bytes, the truncation marker, or nothing.
    fn poll(&mut self) -> io::Result<Option<Vec<u8>>> {
        // The path names another file: it was rotated; stream the new one from its
        // start. A path that vanished (between rotation steps) keeps the old file.
        if let Ok(meta) = fs::metadata(&self.path) {
            if meta.ino() != self.inode {
                if let Ok(reopened) = FollowState::open(&self.path) {
                    *self = reopened;
                }
            }
        }
        let size = self.file.metadata()?.len();
        if size < self.sent {
            self.sent = 0;
            return Ok(Some(TRUNCATED_MARKER.to_vec()));
        }
        if size == self.sent {
            return Ok(None);
        }
        let want = usize::try_from((size - self.sent).min(FOLLOW_MAX_CHUNK)).unwrap_or(0);
        let mut data = vec![0; want];
        let n = self.file.read_at(&mut data, self.sent)?;
        data.truncate(n);
        self.sent += n as u64;
        Ok((n > 0).then_some(data))
    }
}

/// An endless follow of a log file for HTTP `/logtail`: first the last
/// `min(1024, size)` bytes, then whatever is appended, looked at every ~0.1 s;
/// `==> File truncated <==\n` and a restart from offset 0 when the file shrinks; the
/// new file from its start when the path is rotated to another inode.
#[derive(Debug)]
pub struct Follow {
    state: Arc<Mutex<FollowState>>,
}

impl Follow {
    /// Starts following `path`; fails (HTTP 404) when it cannot be opened.
    pub fn open(path: &Path) -> io::Result<Follow> {
        let mut state = FollowState::open(path)?;
        let size = state.file.metadata()?.len();
        if size >= FOLLOW_HEAD {
            state.sent = size - FOLLOW_HEAD;
        }
        Ok(Follow {
            state: Arc::new(Mutex::new(state)),
        })
    }

    /// The next non-empty piece of the stream; waits as long as nothing changes.
    /// Disk access runs on tokio's blocking pool. Cancel-safe.
    pub async fn next(&mut self) -> io::Result<Vec<u8>> {
        loop {
            let state = Arc::clone(&self.state);
            let looked = tokio::task::spawn_blocking(move || {
                state
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .poll()
            })
            .await
            .map_err(io::Error::other)??;
            if let Some(data) = looked {
                return Ok(data);
            }
            tokio::time::sleep(FOLLOW_INTERVAL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn hundred_bytes(dir: &Path) -> PathBuf {
        let path = dir.join("log");
        let data: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
        fs::write(&path, data).unwrap();
        path
    }

    #[test]
    fn read_range_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = hundred_bytes(dir.path());
        let all = fs::read(&path).unwrap();
        let ok = |offset: i64, length: i64| read_range(&path, offset, length).unwrap();
        assert_eq!(ok(0, 10), all[..10]);
        assert_eq!(ok(95, 10), all[95..]);
        assert_eq!(ok(100, 10), b"");
        assert_eq!(ok(500, 10), b"");
        assert_eq!(ok(30, 0), all[30..]);
        assert_eq!(ok(0, 0), all);
        assert_eq!(ok(-10, 0), all[90..]);
        assert_eq!(ok(-1000, 0), all);
        assert_eq!(ok(i64::MIN, 0), all);
        assert!(matches!(
            read_range(&path, -10, 5),
            Err(ReadError::BadArguments)
        ));
        assert!(matches!(
            read_range(&path, 0, -1),
            Err(ReadError::BadArguments)
        ));
        let missing = dir.path().join("missing");
        assert!(matches!(
            read_range(&missing, -10, 5),
            Err(ReadError::NoFile { path: Some(p) }) if p == missing
        ));
        assert!(matches!(
            read_range(dir.path(), 0, 10),
            Err(ReadError::Failed { .. })
        ));
    }

    #[test]
    fn tail_table_observed_on_a_100_byte_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = hundred_bytes(dir.path());
        let all = fs::read(&path).unwrap();
        let t = |offset, length| tail(&path, offset, length);
        let want = |data: &[u8], offset, overflow| Tail {
            data: data.to_vec(),
            offset,
            overflow,
        };
        // The four observations of the spec.
        assert_eq!(t(0, 10), want(&all[90..], 100, true));
        assert_eq!(t(0, 1000), want(&all, 100, false));
        assert_eq!(t(80, 1000), want(&all, 100, false));
        assert_eq!(t(200, 10), want(b"", 100, false));
        // The rule's other corners.
        assert_eq!(t(50, 10), want(&all[90..], 100, true));
        assert_eq!(t(90, 10), want(&all[90..], 100, false));
        assert_eq!(t(95, 10), want(&all[90..], 100, false));
        assert_eq!(t(100, 10), want(b"", 100, false));
        assert_eq!(t(0, 1), want(&all[99..], 100, true));
        assert_eq!(t(0, 0), want(b"", 100, true));
        assert_eq!(t(0, -5), want(b"", 100, true));
        assert_eq!(t(-5, 10), want(&all[90..], 100, true));
        assert_eq!(t(i64::MAX, i64::MAX), want(b"", 100, false));
        assert_eq!(t(i64::MIN, i64::MIN), want(b"", 100, true));
    }

    #[test]
    fn tail_of_missing_or_unreadable_files() {
        let dir = tempfile::tempdir().unwrap();
        let none = Tail {
            data: vec![],
            offset: 0,
            overflow: false,
        };
        assert_eq!(tail(&dir.path().join("missing"), 7, 10), none);
        let empty = dir.path().join("empty");
        fs::write(&empty, "").unwrap();
        assert_eq!(tail(&empty, 0, 10), none);
    }

    #[test]
    fn rpc_text_is_lossy() {
        assert_eq!(to_rpc_text(b"ok".to_vec()), "ok");
        assert_eq!(to_rpc_text("é".as_bytes()[1..].to_vec()), "\u{fffd}");
    }

    fn append(path: &Path, data: &[u8]) {
        fs::OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(data)
            .unwrap();
    }

    async fn next_within(follow: &mut Follow) -> Vec<u8> {
        tokio::time::timeout(Duration::from_secs(5), follow.next())
            .await
            .expect("follow produced nothing within 5 s")
            .unwrap()
    }

    #[tokio::test]
    async fn follow_streams_head_appends_truncation_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let big: Vec<u8> = (0..3000u32).map(|i| b'0' + (i % 10) as u8).collect();
        fs::write(&path, &big).unwrap();
        assert!(Follow::open(&dir.path().join("missing")).is_err());
        let mut follow = Follow::open(&path).unwrap();
        assert_eq!(next_within(&mut follow).await, big[3000 - 1024..]);
        append(&path, b"more\n");
        assert_eq!(next_within(&mut follow).await, b"more\n");
        fs::write(&path, b"xy").unwrap();
        assert_eq!(next_within(&mut follow).await, TRUNCATED_MARKER);
        assert_eq!(next_within(&mut follow).await, b"xy");
        fs::rename(&path, dir.path().join("log.1")).unwrap();
        fs::write(&path, b"fresh file\n").unwrap();
        assert_eq!(next_within(&mut follow).await, b"fresh file\n");
    }

    #[tokio::test]
    async fn follow_of_a_small_file_starts_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        fs::write(&path, b"short\n").unwrap();
        let mut follow = Follow::open(&path).unwrap();
        assert_eq!(next_within(&mut follow).await, b"short\n");
    }
}
