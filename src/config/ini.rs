//! The INI dialect of Python 3's `RawConfigParser` as supervisord configures it
//! (`inline_comment_prefixes=(';', '#')`, `strict=False`), keeping the file and line of
//! every value so later errors can point at it.
//!
//! Owns: line splitting, comments, continuation lines, section headers, key/value
//! lines, `[DEFAULT]`, merging of repeated sections and keys across files, and the
//! `%(here)s` substitution done after each file is read. Knows nothing about what the
//! sections mean.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::value::{is_py_space, py_repr, py_strip};

/// Longest excerpt of a bad line quoted in an error message.
const MAX_QUOTED_LINE: usize = 120;

/// Where a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line of the key (continuation lines belong to it).
    pub line: usize,
}

/// One `key = value` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lower-cased key.
    pub key: String,
    /// The value with continuation lines joined by `\n`.
    pub value: String,
    /// Where the key was (last) set.
    pub origin: Origin,
}

/// One section, merged across every place it appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name between the brackets, exactly as written.
    pub name: String,
    /// Where the section first appeared.
    pub origin: Origin,
    entries: Vec<Entry>,
}

impl Section {
    fn new(name: String, origin: Origin) -> Self {
        Section {
            name,
            origin,
            entries: Vec::new(),
        }
    }

    fn set(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|e| e.key == entry.key) {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
    }

    fn entry_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.key == key)
    }
}

/// A parsed configuration: `[DEFAULT]` plus every other section in order of first
/// appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    defaults: Vec<Entry>,
    sections: Vec<Section>,
    /// Position of each section in `sections`: lookups happen once per option of
    /// every process, so a large file must not scan the section list each time.
    index: HashMap<String, usize>,
}

/// A line of a file together with what the comment rules leave of it.
struct Line<'a> {
    number: usize,
    raw: &'a str,
    /// The text before any comment, stripped; empty for blank and comment lines.
    content: &'a str,
    /// Whether a comment was found on the line (full-line or inline).
    had_comment: bool,
    /// Count of leading whitespace characters.
    indent: usize,
}

/// Splits like Python's universal-newline text mode: `\n`, `\r\n` and `\r` all end a
/// line, and each line keeps a `\n` terminator (except possibly the last).
fn python_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                current.push('\n');
                lines.push(std::mem::take(&mut current));
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                current.push('\n');
                lines.push(std::mem::take(&mut current));
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Where an inline comment starts, found the way Python 3.11 searches: in rounds, each
/// round advancing every prefix to its next occurrence and stopping at the first round
/// where some occurrence is preceded by whitespace (or starts the line). The earliest
/// such occurrence *of that round* wins, which is not always the earliest on the line.
fn inline_comment_start(line: &str) -> Option<usize> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut positions: Vec<(char, Option<usize>)> = vec![(';', None), ('#', None)];
    loop {
        let mut found = None;
        let mut next = Vec::new();
        for (prefix, last) in &positions {
            let from = last.map_or(0, |i| i + 1);
            let Some(i) = chars[from.min(chars.len())..]
                .iter()
                .position(|(_, c)| c == prefix)
                .map(|offset| from + offset)
            else {
                continue;
            };
            next.push((*prefix, Some(i)));
            if i == 0 || is_py_space(chars[i - 1].1) {
                found = Some(found.map_or(i, |f: usize| f.min(i)));
            }
        }
        if let Some(i) = found {
            return Some(chars[i].0);
        }
        if next.is_empty() {
            return None;
        }
        positions = next;
    }
}

fn classify(number: usize, raw: &str) -> Line<'_> {
    let stripped = py_strip(raw);
    let mut comment_start = inline_comment_start(raw);
    if stripped.starts_with('#') || stripped.starts_with(';') {
        comment_start = Some(0);
    }
    let content = py_strip(&raw[..comment_start.unwrap_or(raw.len())]);
    let indent = raw.chars().take_while(|c| is_py_space(*c)).count();
    Line {
        number,
        raw,
        content,
        had_comment: comment_start.is_some(),
        indent,
    }
}

/// A quoted excerpt of a line for an error message: Python's `repr`, shortened when
/// the line is huge so the message stays one readable line.
pub fn quote_line(raw: &str) -> String {
    if raw.chars().count() <= MAX_QUOTED_LINE {
        return py_repr(raw);
    }
    let head: String = raw.chars().take(MAX_QUOTED_LINE).collect();
    format!("{}... ({} characters)", py_repr(&head), raw.chars().count())
}

/// The part between `[` and the last `]` when the line is a section header.
fn section_header(content: &str) -> Option<&str> {
    let rest = content.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

/// Splits `key = value` at the first `=` or `:`.
fn key_value(content: &str) -> Option<(&str, &str)> {
    let at = content.find(['=', ':'])?;
    let key = content[..at].trim_end_matches(is_py_space);
    let value = py_strip(&content[at + 1..]);
    Some((key, value))
}

/// Which section the lines being read belong to.
#[derive(Clone, Copy)]
enum Target {
    Defaults,
    Section(usize),
}

impl Ini {
    /// Reads one file's text into the configuration, merging with what is already
    /// there. Returns the file's parse errors (the good lines are kept either way).
    pub fn read(&mut self, text: &str, file: &Path) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut target: Option<Target> = None;
        let mut current_key: Option<String> = None;
        let mut indent_level = 0usize;
        let mut pending: Vec<(Target, String, Vec<String>, Origin)> = Vec::new();
        let mut seen_before_header = false;

        for (index, raw) in python_lines(text).iter().enumerate() {
            let line = classify(index + 1, raw);
            if line.content.is_empty() {
                if !line.had_comment && target.is_some() && current_key.is_some() {
                    if let Some(last) = pending.last_mut() {
                        last.2.push(String::new());
                    }
                }
                continue;
            }
            if target.is_some() && current_key.is_some() && line.indent > indent_level {
                if let Some(last) = pending.last_mut() {
                    last.2.push(line.content.to_string());
                }
                continue;
            }
            indent_level = line.indent;
            if let Some(name) = section_header(line.content) {
                target = Some(self.open_section(name, file, line.number));
                current_key = None;
                continue;
            }
            let Some(section) = target else {
                if !seen_before_header {
                    seen_before_header = true;
                    errors.push(ConfigError::at(
                        file,
                        line.number,
                        format!("File contains no section headers: {}", quote_line(line.raw)),
                    ));
                }
                continue;
            };
            match key_value(line.content) {
                Some((key, value)) if !key.is_empty() => {
                    let key = key.to_lowercase();
                    let origin = Origin {
                        file: file.to_path_buf(),
                        line: line.number,
                    };
                    current_key = Some(key.clone());
                    pending.push((section, key, vec![value.to_string()], origin));
                }
                parsed => {
                    if parsed.is_some() {
                        // Python records the empty key too, which ends any value that
                        // later indented lines could continue.
                        current_key = None;
                    }
                    let mut error = ConfigError::at(
                        file,
                        line.number,
                        format!("Source contains parsing errors: {}", quote_line(line.raw)),
                    );
                    if let Target::Section(i) = section {
                        error = error.in_section(&self.sections[i].name);
                    }
                    errors.push(error);
                }
            }
        }

        for (section, key, parts, origin) in pending {
            let value = parts.join("\n").trim_end_matches(is_py_space).to_string();
            let entry = Entry { key, value, origin };
            match section {
                Target::Defaults => match self.defaults.iter_mut().find(|e| e.key == entry.key) {
                    Some(existing) => *existing = entry,
                    None => self.defaults.push(entry),
                },
                Target::Section(i) => self.sections[i].set(entry),
            }
        }
        errors
    }

    fn open_section(&mut self, name: &str, file: &Path, line: usize) -> Target {
        if let Some(&i) = self.index.get(name) {
            return Target::Section(i);
        }
        if name == "DEFAULT" {
            return Target::Defaults;
        }
        self.sections.push(Section::new(
            name.to_string(),
            Origin {
                file: file.to_path_buf(),
                line,
            },
        ));
        self.index.insert(name.to_string(), self.sections.len() - 1);
        Target::Section(self.sections.len() - 1)
    }

    /// Section names in order of first appearance (`DEFAULT` excluded).
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|s| s.name.as_str())
    }

    /// The section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.index.get(name).map(|&i| &self.sections[i])
    }

    /// True when the section exists.
    pub fn has_section(&self, name: &str) -> bool {
        self.section(name).is_some()
    }

    /// The entry for `key` in `section`, falling back to `[DEFAULT]`.
    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        self.section(section)
            .and_then(|s| s.entries.iter().find(|e| e.key == key))
            .or_else(|| self.defaults.iter().find(|e| e.key == key))
    }

    /// Every key visible in `section`: its own keys, then `[DEFAULT]` keys it does not
    /// override (Python's `options()` order).
    pub fn keys(&self, section: &str) -> Vec<&str> {
        let Some(s) = self.section(section) else {
            return Vec::new();
        };
        let mut keys: Vec<&str> = s.entries.iter().map(|e| e.key.as_str()).collect();
        for e in &self.defaults {
            if !keys.contains(&e.key.as_str()) {
                keys.push(&e.key);
            }
        }
        keys
    }

    /// Replaces the literal `%(here)s` in every value visible in every section with
    /// `here`; a value inherited from `[DEFAULT]` becomes the section's own, as Python's
    /// `set()` makes it.
    pub fn expand_here(&mut self, here: &str) {
        const HERE: &str = "%(here)s";
        let defaults = self.defaults.clone();
        for section in &mut self.sections {
            for default in &defaults {
                if default.value.contains(HERE) && section.entry_mut(&default.key).is_none() {
                    section.entries.push(Entry {
                        value: default.value.replace(HERE, here),
                        ..default.clone()
                    });
                }
            }
            for entry in &mut section.entries {
                if entry.value.contains(HERE) {
                    entry.value = entry.value.replace(HERE, here);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Ini, Vec<ConfigError>) {
        let mut ini = Ini::default();
        let errors = ini.read(text, Path::new("t.conf"));
        (ini, errors)
    }

    fn value(ini: &Ini, section: &str, key: &str) -> Option<String> {
        ini.get(section, key).map(|e| e.value.clone())
    }

    #[test]
    fn inline_comments_need_whitespace_before_them() {
        let cases = [
            ("a;b", Some("a;b")),
            ("a ;b", Some("a")),
            ("a\t#b", Some("a")),
            ("{SHA}abc#def", Some("{SHA}abc#def")),
            ("sh -c 'x ; y'", Some("sh -c 'x")),
            ("a;b ;c #d", Some("a;b ;c")),
            ("x #1 ;2", Some("x")),
            ("", Some("")),
        ];
        for (text, want) in cases {
            let (ini, errors) = parse(&format!("[s]\nk = {text}\n"));
            assert!(errors.is_empty(), "{text}: {errors:?}");
            assert_eq!(value(&ini, "s", "k").as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn keys_lowercase_first_delimiter_and_whitespace() {
        let (ini, errors) = parse("[s]\nCOMMAND : a=b\nx=1:2\nKey With Space = v \n  more\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(value(&ini, "s", "command").as_deref(), Some("a=b"));
        assert_eq!(value(&ini, "s", "x").as_deref(), Some("1:2"));
        assert_eq!(
            value(&ini, "s", "key with space").as_deref(),
            Some("v\nmore"),
            "deeper indentation continues the value"
        );
    }

    #[test]
    fn continuation_lines_blank_lines_and_comments() {
        let text = "[s]\nk = a\n  b\n\n  c\n  # dropped\n  d\n\n\nnext = 1\n";
        let (ini, errors) = parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(value(&ini, "s", "k").as_deref(), Some("a\nb\n\nc\nd"));
        assert_eq!(value(&ini, "s", "next").as_deref(), Some("1"));
        assert_eq!(ini.get("s", "next").map(|e| e.origin.line), Some(10));
    }

    #[test]
    fn sections_are_case_sensitive_and_merge() {
        let text = "[s]\na=1\nb=2\n[S]\na=9\n[s]\nb=3\nc=4\n";
        let (ini, _) = parse(text);
        assert_eq!(ini.section_names().collect::<Vec<_>>(), ["s", "S"]);
        assert_eq!(value(&ini, "s", "a").as_deref(), Some("1"));
        assert_eq!(value(&ini, "s", "b").as_deref(), Some("3"));
        assert_eq!(value(&ini, "s", "c").as_deref(), Some("4"));
        assert_eq!(ini.keys("s"), ["a", "b", "c"]);
    }

    #[test]
    fn defaults_apply_to_every_section() {
        let (ini, _) = parse("[DEFAULT]\nautostart=false\nx=d\n[a]\nx=own\n[b]\n");
        assert_eq!(value(&ini, "a", "autostart").as_deref(), Some("false"));
        assert_eq!(value(&ini, "a", "x").as_deref(), Some("own"));
        assert_eq!(value(&ini, "b", "x").as_deref(), Some("d"));
        assert_eq!(ini.keys("a"), ["x", "autostart"]);
        assert!(!ini.has_section("DEFAULT"));
    }

    #[test]
    fn header_forms() {
        let (ini, errors) = parse("[s]\n[program:a\nk=v\n[ spaced ] trailing\nx=1\n[a]b]\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            ini.section_names().collect::<Vec<_>>(),
            ["s", " spaced ", "a]b"]
        );
        assert_eq!(
            value(&ini, "s", "[program").as_deref(),
            Some("a"),
            "a line without a closing bracket is a key/value line"
        );
        let (_, errors) = parse("[program:a\n");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn errors_carry_lines_and_keep_good_lines() {
        let (ini, errors) = parse("[s]\ngood=1\njunk line\n=novalue\nalso=2\n");
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [Some(3), Some(4)]);
        assert_eq!(
            errors[0].message,
            "Source contains parsing errors: 'junk line\\n'"
        );
        assert_eq!(errors[0].section.as_deref(), Some("s"));
        assert_eq!(value(&ini, "s", "also").as_deref(), Some("2"));
    }

    #[test]
    fn text_before_the_first_header() {
        let (_, errors) = parse("; comment ok\nkey=v\nother=w\n[s]\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(2));
        assert_eq!(
            errors[0].message,
            "File contains no section headers: 'key=v\\n'"
        );
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        let (ini, errors) = parse("[s]\r\na=1\r\nb=2\rc=3");
        assert!(errors.is_empty());
        assert_eq!(value(&ini, "s", "b").as_deref(), Some("2"));
        assert_eq!(value(&ini, "s", "c").as_deref(), Some("3"));
    }

    #[test]
    fn expand_here_rewrites_inherited_values_into_sections() {
        let (mut ini, _) = parse("[DEFAULT]\nd=%(here)s/x\n[a]\nk=%(here)s/k\n");
        ini.expand_here("/main");
        ini.read("[b]\nk=%(here)s/b\n", Path::new("/inc/b.conf"));
        ini.expand_here("/inc");
        assert_eq!(value(&ini, "a", "k").as_deref(), Some("/main/k"));
        assert_eq!(value(&ini, "a", "d").as_deref(), Some("/main/x"));
        assert_eq!(value(&ini, "b", "k").as_deref(), Some("/inc/b"));
        assert_eq!(value(&ini, "b", "d").as_deref(), Some("/inc/x"));
    }

    #[test]
    fn long_lines_are_quoted_short() {
        let long = "x".repeat(10_000);
        let (_, errors) = parse(&format!("[s]\n{long}\n"));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.len() < 300, "{}", errors[0].message);
        assert!(errors[0].message.ends_with("(10001 characters)"));
    }
}
