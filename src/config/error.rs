//! Configuration errors: each one knows where it happened (file, line, section,
//! option) and carries the reference's wording for what went wrong.
//!
//! Owns the error types and their rendering only; it decides nothing about
//! which inputs are wrong.

use std::fmt;
use std::path::{Path, PathBuf};

/// One mistake in a configuration, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the mistake is in.
    pub file: PathBuf,
    /// 1-based line, when the mistake is tied to a line.
    pub line: Option<usize>,
    /// Section name (as written, without brackets), when known.
    pub section: Option<String>,
    /// Option name (lower-cased), when known.
    pub option: Option<String>,
    /// What is wrong, in the reference's words.
    pub message: String,
}

impl ConfigError {
    /// An error about the invocation rather than a place in a file (the file given
    /// does not exist or cannot be read): rendered as the bare message, as the
    /// reference prints it.
    pub fn general(message: impl Into<String>) -> Self {
        ConfigError::file(PathBuf::new(), message)
    }

    /// An error about a whole file (not found, unreadable, …).
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            line: None,
            section: None,
            option: None,
            message: message.into(),
        }
    }

    /// An error at a line of a file.
    pub fn at(file: &Path, line: usize, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: Some(line),
            section: None,
            option: None,
            message: message.into(),
        }
    }

    /// The same error, attributed to a section.
    pub fn in_section(mut self, section: &str) -> Self {
        self.section = Some(section.to_string());
        self
    }

    /// The same error, attributed to an option.
    pub fn for_option(mut self, option: &str) -> Self {
        self.option = Some(option.to_string());
        self
    }
}

impl fmt::Display for ConfigError {
    /// `FILE:LINE: [section] option: message`, leaving out the parts that are unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One error, one line: line breaks inside a quoted value are shown escaped.
        let message = self.message.replace('\n', "\\n").replace('\r', "\\r");
        if self.file.as_os_str().is_empty() {
            return f.write_str(&message);
        }
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(":")?;
        match (&self.section, &self.option) {
            (Some(s), Some(o)) => write!(f, " [{s}] {o}:")?,
            (Some(s), None) => write!(f, " [{s}]:")?,
            (None, Some(o)) => write!(f, " {o}:")?,
            (None, None) => {}
        }
        write!(f, " {message}")
    }
}

impl std::error::Error for ConfigError {}

/// Every mistake found in one configuration, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The errors, in the order they were found.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_combination_of_known_parts() {
        let base = ConfigError::file("/etc/s.conf", "boom");
        let cases = [
            (base.clone(), "/etc/s.conf: boom"),
            (
                ConfigError::at(Path::new("/etc/s.conf"), 4, "boom"),
                "/etc/s.conf:4: boom",
            ),
            (
                ConfigError::at(Path::new("a.conf"), 4, "boom").in_section("program:x"),
                "a.conf:4: [program:x]: boom",
            ),
            (
                ConfigError::at(Path::new("a.conf"), 9, "boom")
                    .in_section("program:x")
                    .for_option("startsecs"),
                "a.conf:9: [program:x] startsecs: boom",
            ),
            (base.for_option("files"), "/etc/s.conf: files: boom"),
            (
                ConfigError::general("could not find config file x.conf"),
                "could not find config file x.conf",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }
}
