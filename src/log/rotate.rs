//! A log file that rotates the way supervisord's handlers do, shared by the activity
//! log and every child log.
//!
//! After each write, when rotation is on (`maxbytes > 0`) and the file position has
//! reached `maxbytes`: close, shift `<file>.i` → `<file>.(i+1)` for i = backups-1 … 1,
//! move `<file>` → `<file>.1`, reopen `<file>` truncated. A rename whose source is
//! missing is ignored. `backups = 0` truncates in place. Non-regular targets
//! (`/dev/stdout`, a fifo, a tty) are never sought and never rotated, whatever
//! `maxbytes` says. The reference reopens in write mode when an append-mode open
//! fails with ESPIPE, because Python seeks to the end after opening for append; this
//! writer never seeks a non-regular file, so append mode works on pipes and ttys as
//! is. `/dev/stdout` and `/dev/stderr` also work when they are sockets (the reference
//! fails there): the descriptor is duplicated.
//!
//! Owns the file descriptor and the rotation; knows nothing about processes, tasks or
//! buffering policy. All calls are blocking and meant for the log thread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::log::sys;

/// How long a file that could not be reopened is left alone before the next attempt,
/// so a missing directory does not cost an `open` per write.
const REOPEN_RETRY: Duration = Duration::from_secs(1);

/// When to rotate and how many old files to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate once the file position reaches this many bytes; 0 never rotates.
    pub maxbytes: u64,
    /// Rotated files to keep (`<file>.1` newest … `<file>.N` oldest); 0 keeps none.
    pub backups: u32,
}

impl Rotation {
    /// From the configuration's signed values: negative values mean 0, as in the
    /// reference (`maxbytes ≤ 0` never rotates, `backups ≤ 0` keeps nothing).
    pub fn from_config(maxbytes: i64, backups: i64) -> Rotation {
        Rotation {
            maxbytes: u64::try_from(maxbytes).unwrap_or(0),
            backups: u32::try_from(backups.max(0)).unwrap_or(u32::MAX),
        }
    }

    /// Never rotate.
    pub const NEVER: Rotation = Rotation {
        maxbytes: 0,
        backups: 0,
    };
}

/// How writes land in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `O_APPEND`: every write goes to the end atomically, even with other writers
    /// (several programs may share a non-rotating file).
    Append,
    /// No `O_APPEND` (which `splice(2)` refuses); the position is moved to the end of
    /// the file before each write, which keeps append semantics for a single writer
    /// and after an external truncation (logrotate's copytruncate).
    SeekToEnd,
}

/// `<base>.<index>`, the name of a rotated file.
pub fn backup_path(base: &Path, index: u32) -> PathBuf {
    let mut name = base.as_os_str().to_os_string();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

/// The renames of one rotation, in the order they are done: oldest backup first,
/// the live file last.
pub fn rotation_renames(base: &Path, backups: u32) -> Vec<(PathBuf, PathBuf)> {
    if backups == 0 {
        return Vec::new();
    }
    let mut renames: Vec<(PathBuf, PathBuf)> = (1..backups)
        .rev()
        .map(|i| (backup_path(base, i), backup_path(base, i + 1)))
        .collect();
    renames.push((base.to_path_buf(), backup_path(base, 1)));
    renames
}

/// A write that did not fully succeed.
#[derive(Debug)]
pub struct WriteError {
    /// Bytes of the request that did not reach the file (0 when only the rotation
    /// after a complete write failed).
    pub unwritten: usize,
    /// The path of the file.
    pub path: PathBuf,
    /// What failed.
    pub source: io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// What one `splice` from a pipe did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spliced {
    /// This many bytes moved into the file.
    Moved(usize),
    /// The pipe is empty for now.
    Empty,
    /// The pipe has no writer left and is empty.
    Eof,
}

/// A log file with supervisord's rotation.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    file: Option<File>,
    mode: WriteMode,
    rotation: Rotation,
    /// The handler's idea of the file position; only meaningful for regular files.
    position: u64,
    regular: bool,
    /// Earliest time to try opening again after a failed reopen.
    retry_open_at: Option<Instant>,
}

impl RotatingFile {
    /// Opens (creating if needed) `path` for appending. `/dev/stdout` and
    /// `/dev/stderr` are supervisord's own descriptors, duplicated.
    pub fn open(path: &Path, rotation: Rotation, mode: WriteMode) -> io::Result<RotatingFile> {
        let mut file = RotatingFile {
            path: path.to_path_buf(),
            file: None,
            mode,
            rotation,
            position: 0,
            regular: false,
            retry_open_at: None,
        };
        file.install(open_target(path, mode, false)?)?;
        Ok(file)
    }

    /// The path this file writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rotation policy.
    pub fn rotation(&self) -> Rotation {
        self.rotation
    }

    /// True for a regular file (seekable, rotatable, splice target).
    pub fn is_regular(&self) -> bool {
        self.regular
    }

    /// True while a descriptor is open (false after a failed reopen).
    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// The handler's file position: where rotation decisions are taken from.
    pub fn position(&self) -> u64 {
        self.position
    }

    fn install(&mut self, file: File) -> io::Result<()> {
        let regular = file.metadata()?.file_type().is_file();
        let mut file = file;
        self.position = if regular {
            file.seek(SeekFrom::End(0))?
        } else {
            0
        };
        self.regular = regular;
        self.file = Some(file);
        self.retry_open_at = None;
        Ok(())
    }

    /// Writes all of `data`, then rotates if the position reached `maxbytes`. A file
    /// that lost its descriptor (a failed reopen) is reopened first, at most once per
    /// second.
    pub fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        if data.is_empty() {
            return Ok(());
        }
        self.ensure_open().map_err(|e| self.error(data.len(), e))?;
        let mut written = 0;
        while written < data.len() {
            let result = match (&mut self.file, self.mode) {
                (Some(file), WriteMode::SeekToEnd) if self.regular && written == 0 => {
                    file.seek(SeekFrom::End(0)).and_then(|end| {
                        self.position = end;
                        file.write(&data[written..])
                    })
                }
                (Some(file), _) => file.write(&data[written..]),
                (None, _) => Err(io::Error::from(io::ErrorKind::NotConnected)),
            };
            match result {
                Ok(0) => {
                    return Err(self.error(data.len() - written, io::ErrorKind::WriteZero.into()))
                }
                Ok(n) => {
                    written += n;
                    self.position += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(data.len() - written, e)),
            }
        }
        self.rotate_if_due()
    }

    /// Switches how writes land (the descriptor's `O_APPEND` flag follows).
    pub(crate) fn set_mode(&mut self, mode: WriteMode) -> io::Result<()> {
        if let Some(file) = &self.file {
            sys::set_append(file.as_fd(), mode == WriteMode::Append)?;
        }
        self.mode = mode;
        Ok(())
    }

    /// Moves up to `len` bytes from `pipe` to the end of the file; the caller then
    /// calls [`rotate_if_due`](Self::rotate_if_due). Only for regular files in
    /// [`WriteMode::SeekToEnd`] (`splice(2)` refuses `O_APPEND` files).
    pub(crate) fn splice_from(
        &mut self,
        pipe: BorrowedFd<'_>,
        len: usize,
    ) -> Result<Spliced, WriteError> {
        self.ensure_open().map_err(|e| self.error(0, e))?;
        let Some(file) = &mut self.file else {
            return Err(self.error(0, io::ErrorKind::NotConnected.into()));
        };
        let end = match file.seek(SeekFrom::End(0)) {
            Ok(end) => end,
            Err(e) => return Err(self.error(0, e)),
        };
        self.position = end;
        match sys::splice(pipe, file.as_raw_fd(), len) {
            Ok(0) => Ok(Spliced::Eof),
            Ok(n) => {
                self.position += n as u64;
                Ok(Spliced::Moved(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Spliced::Empty),
            Err(e) => Err(self.error(0, e)),
        }
    }

    fn error(&self, unwritten: usize, source: io::Error) -> WriteError {
        WriteError {
            unwritten,
            path: self.path.clone(),
            source,
        }
    }

    fn ensure_open(&mut self) -> io::Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let now = Instant::now();
        if self.retry_open_at.is_some_and(|t| now < t) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "log file could not be reopened",
            ));
        }
        match open_target(&self.path, self.mode, false).and_then(|f| self.install(f)) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.retry_open_at = Some(now + REOPEN_RETRY);
                Err(e)
            }
        }
    }

    /// Rotates when rotation is on and the position reached `maxbytes`.
    pub(crate) fn rotate_if_due(&mut self) -> Result<(), WriteError> {
        if !self.regular || self.rotation.maxbytes == 0 || self.position < self.rotation.maxbytes {
            return Ok(());
        }
        self.rotate().map_err(|e| self.error(0, e))
    }

    /// Rotates now (the checks are the caller's).
    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let mut renamed = Ok(());
        for (from, to) in rotation_renames(&self.path, self.rotation.backups) {
            match fs::rename(&from, &to) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    renamed = Err(e);
                    break;
                }
                _ => {}
            }
        }
        // When a rename failed the live file still holds data nobody saved: keep
        // appending to it rather than truncating it.
        let truncate = renamed.is_ok();
        match open_target(&self.path, self.mode, truncate).and_then(|f| self.install(f)) {
            Ok(()) => renamed,
            Err(e) => {
                self.retry_open_at = Some(Instant::now() + REOPEN_RETRY);
                renamed.and(Err(e))
            }
        }
    }

    /// Closes and reopens the same path (SIGUSR2, for external log rotation).
    pub fn reopen(&mut self) -> io::Result<()> {
        self.file = None;
        let result = open_target(&self.path, self.mode, false).and_then(|f| self.install(f));
        if result.is_err() {
            self.retry_open_at = Some(Instant::now() + REOPEN_RETRY);
        }
        result
    }

    /// Closes, deletes the file (a missing file is fine) and reopens it empty.
    /// Rotated backups are kept. The file is reopened even when the delete fails;
    /// that error is returned.
    pub fn remove_and_reopen(&mut self) -> io::Result<()> {
        self.file = None;
        let removed = match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
        let reopened = self.reopen();
        removed.and(reopened)
    }
}

fn open_target(path: &Path, mode: WriteMode, truncate: bool) -> io::Result<File> {
    // `/dev/stdout` and `/dev/stderr` share supervisord's own descriptor rather than
    // opening the path again: a second open would work on a file description of its
    // own, and when fd 1 is a regular file the daemon's own writes through fd 1 would
    // overwrite what the child wrote (the reference loses output that way). It also
    // works when fd 1 is a socket (systemd's journal), where opening the path fails.
    if let Some(fd) = standard_stream(path) {
        return Ok(File::from(fd.try_clone_to_owned()?));
    }
    let mut options = OpenOptions::new();
    options.create(true).mode(0o666);
    match (truncate, mode) {
        (true, _) => options.write(true).truncate(true),
        (false, WriteMode::Append) => options.append(true),
        (false, WriteMode::SeekToEnd) => options.write(true),
    };
    options.open(path)
}

fn standard_stream(path: &Path) -> Option<BorrowedFd<'static>> {
    let raw = if path == Path::new("/dev/stdout") {
        libc::STDOUT_FILENO
    } else if path == Path::new("/dev/stderr") {
        libc::STDERR_FILENO
    } else {
        return None;
    };
    // SAFETY: fds 1 and 2 stay open for the life of the process; the borrow is only
    // used to duplicate them.
    Some(unsafe { BorrowedFd::borrow_raw(raw) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(renames: &[(PathBuf, PathBuf)]) -> Vec<(String, String)> {
        renames
            .iter()
            .map(|(a, b)| (a.display().to_string(), b.display().to_string()))
            .collect()
    }

    #[test]
    fn rotation_plan_table() {
        let base = Path::new("/l/app.log");
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        let cases: Vec<(u32, Vec<(String, String)>)> = vec![
            (0, vec![]),
            (1, vec![s("/l/app.log", "/l/app.log.1")]),
            (
                3,
                vec![
                    s("/l/app.log.2", "/l/app.log.3"),
                    s("/l/app.log.1", "/l/app.log.2"),
                    s("/l/app.log", "/l/app.log.1"),
                ],
            ),
        ];
        for (backups, want) in cases {
            assert_eq!(
                names(&rotation_renames(base, backups)),
                want,
                "backups={backups}"
            );
        }
    }

    #[test]
    fn config_values_clamp() {
        assert_eq!(Rotation::from_config(-5, -1), Rotation::NEVER);
        assert_eq!(
            Rotation::from_config(1024, 3),
            Rotation {
                maxbytes: 1024,
                backups: 3
            }
        );
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_else(|e| format!("<{e}>"))
    }

    /// Writes `chunks` one by one and reports, after each, the sizes of the live file
    /// and of .1 .. .3 (None when missing).
    fn rotation_trace(rotation: Rotation, chunks: &[&str]) -> Vec<Vec<Option<u64>>> {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("x.log");
        let mut file = RotatingFile::open(&base, rotation, WriteMode::Append).unwrap();
        let mut trace = Vec::new();
        for chunk in chunks {
            file.write(chunk.as_bytes()).unwrap();
            let mut sizes = vec![fs::metadata(&base).ok().map(|m| m.len())];
            for i in 1..=3 {
                sizes.push(fs::metadata(backup_path(&base, i)).ok().map(|m| m.len()));
            }
            trace.push(sizes);
        }
        trace
    }

    #[test]
    fn rotation_boundaries() {
        let r = |maxbytes, backups| Rotation { maxbytes, backups };
        // Below the limit nothing happens; reaching it exactly rotates.
        assert_eq!(
            rotation_trace(r(10, 2), &["12345", "1234", "1"]),
            vec![
                vec![Some(5), None, None, None],
                vec![Some(9), None, None, None],
                vec![Some(0), Some(10), None, None],
            ]
        );
        // One chunk can overshoot the limit; it moves whole into .1.
        assert_eq!(
            rotation_trace(r(10, 2), &["123456789012345", "ab", "cdefghijkl", "m"]),
            vec![
                vec![Some(0), Some(15), None, None],
                vec![Some(2), Some(15), None, None],
                vec![Some(0), Some(12), Some(15), None],
                vec![Some(1), Some(12), Some(15), None],
            ]
        );
        // Never more than `backups` files: the oldest falls off.
        assert_eq!(
            rotation_trace(r(3, 2), &["aaa", "bbb", "ccc"]),
            vec![
                vec![Some(0), Some(3), None, None],
                vec![Some(0), Some(3), Some(3), None],
                vec![Some(0), Some(3), Some(3), None],
            ]
        );
        // backups=0 truncates in place.
        assert_eq!(
            rotation_trace(r(4, 0), &["abcd", "ef"]),
            vec![
                vec![Some(0), None, None, None],
                vec![Some(2), None, None, None]
            ]
        );
        // maxbytes=0 never rotates.
        assert_eq!(
            rotation_trace(r(0, 5), &["abcd", "ef"]),
            vec![
                vec![Some(4), None, None, None],
                vec![Some(6), None, None, None]
            ]
        );
    }

    #[test]
    fn rotated_contents_keep_order_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("x.log");
        let mut file = RotatingFile::open(
            &base,
            Rotation {
                maxbytes: 2,
                backups: 3,
            },
            WriteMode::Append,
        )
        .unwrap();
        for chunk in ["a1", "b2", "c3", "d4", "e5"] {
            file.write(chunk.as_bytes()).unwrap();
        }
        assert_eq!(read(&base), "");
        assert_eq!(read(&backup_path(&base, 1)), "e5");
        assert_eq!(read(&backup_path(&base, 2)), "d4");
        assert_eq!(read(&backup_path(&base, 3)), "c3");
        assert!(!backup_path(&base, 4).exists());
    }

    #[test]
    fn existing_file_is_appended_and_its_size_counts() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("x.log");
        fs::write(&base, "old!").unwrap();
        for mode in [WriteMode::Append, WriteMode::SeekToEnd] {
            let mut file = RotatingFile::open(
                &base,
                Rotation {
                    maxbytes: 6,
                    backups: 1,
                },
                mode,
            )
            .unwrap();
            assert_eq!(file.position(), 4);
            file.write(b"+").unwrap();
            assert_eq!(read(&base), "old!+");
            file.write(b"+").unwrap();
            assert_eq!(read(&backup_path(&base, 1)), "old!++");
            assert_eq!(read(&base), "");
            fs::write(&base, "old!").unwrap();
        }
    }

    #[test]
    fn seek_to_end_follows_external_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("x.log");
        let mut file = RotatingFile::open(&base, Rotation::NEVER, WriteMode::SeekToEnd).unwrap();
        file.write(b"0123456789").unwrap();
        fs::OpenOptions::new()
            .write(true)
            .open(&base)
            .unwrap()
            .set_len(0)
            .unwrap();
        file.write(b"ab").unwrap();
        assert_eq!(read(&base), "ab");
    }

    #[test]
    fn remove_and_reopen_keeps_backups() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("x.log");
        let mut file = RotatingFile::open(
            &base,
            Rotation {
                maxbytes: 3,
                backups: 1,
            },
            WriteMode::Append,
        )
        .unwrap();
        file.write(b"abc").unwrap();
        file.write(b"de").unwrap();
        file.remove_and_reopen().unwrap();
        assert_eq!(read(&base), "");
        assert_eq!(read(&backup_path(&base, 1)), "abc");
        file.write(b"f").unwrap();
        assert_eq!(read(&base), "f");
        // Deleting a file that is already gone is not an error.
        fs::remove_file(&base).unwrap();
        file.remove_and_reopen().unwrap();
        assert!(base.exists());
    }

    #[test]
    fn reopen_follows_a_moved_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("x.log");
        let mut file = RotatingFile::open(&base, Rotation::NEVER, WriteMode::Append).unwrap();
        file.write(b"before").unwrap();
        fs::rename(&base, dir.path().join("moved")).unwrap();
        file.write(b"+").unwrap();
        file.reopen().unwrap();
        file.write(b"after").unwrap();
        assert_eq!(read(&dir.path().join("moved")), "before+");
        assert_eq!(read(&base), "after");
    }

    #[test]
    fn vanished_directory_fails_then_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        fs::create_dir(&logs).unwrap();
        let base = logs.join("x.log");
        let mut file = RotatingFile::open(
            &base,
            Rotation {
                maxbytes: 4,
                backups: 1,
            },
            WriteMode::Append,
        )
        .unwrap();
        fs::remove_dir_all(&logs).unwrap();
        // The write lands in the unlinked file; the rotation after it cannot reopen.
        let err = file.write(b"abcd").unwrap_err();
        assert_eq!(err.unwritten, 0);
        assert!(!file.is_open());
        // Until the retry time, writes fail whole without touching the disk.
        let err = file.write(b"xyz").unwrap_err();
        assert_eq!(err.unwritten, 3);
        fs::create_dir(&logs).unwrap();
        file.retry_open_at = None;
        file.write(b"back").unwrap();
        assert_eq!(read(&backup_path(&base, 1)), "back");
    }

    #[test]
    fn non_regular_targets_never_seek_or_rotate() {
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        let mut file = RotatingFile {
            path: PathBuf::from("/dev/stdout"),
            file: None,
            mode: WriteMode::Append,
            rotation: Rotation {
                maxbytes: 1,
                backups: 1,
            },
            position: 0,
            regular: false,
            retry_open_at: None,
        };
        file.install(File::from(write_end)).unwrap();
        assert!(!file.is_regular());
        file.write(b"hello").unwrap();
        file.write(b"!").unwrap();
        let mut buf = [0u8; 16];
        let n = nix::unistd::read(read_end.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello!");
    }

    #[test]
    fn full_disk_reports_every_unwritten_byte() {
        let mut file =
            RotatingFile::open(Path::new("/dev/full"), Rotation::NEVER, WriteMode::Append).unwrap();
        let err = file.write(b"0123456789").unwrap_err();
        assert_eq!(err.unwritten, 10);
        assert_eq!(err.source.raw_os_error(), Some(libc::ENOSPC));
    }
}
