//! The small part of Python's `re` that the AUTO log cleanup needs: the reference
//! builds its file-name pattern by pasting the `identifier` into a regular expression
//! unescaped, so an identifier such as `host.example` is a pattern, not a literal.
//!
//! Supported: literals, `.`, `^`, `$`, `\d \D \s \S \w \W`, escaped punctuation and
//! `\t \n \r \f \v \a`, classes `[...]` (ranges, negation, class escapes), groups
//! `(...)` / `(?:...)` with `|`, and the quantifiers `* + ? {m} {m,} {,n} {m,n}`, each
//! greedy or lazy. Anything else (back-references, look-arounds, possessive
//! quantifiers, flags) does not compile. Matching is `re.match`: anchored at the
//! start, not at the end, by backtracking.

use crate::config::value::is_py_space;

#[derive(Debug, Clone, PartialEq)]
enum ClassItem {
    Range(char, char),
    Digit(bool),
    Space(bool),
    Word(bool),
}

impl ClassItem {
    fn matches(&self, c: char) -> bool {
        match *self {
            ClassItem::Range(lo, hi) => lo <= c && c <= hi,
            ClassItem::Digit(negated) => is_digit(c) != negated,
            ClassItem::Space(negated) => is_py_space(c) != negated,
            ClassItem::Word(negated) => is_word(c) != negated,
        }
    }
}

/// Python's `\d` is the Unicode decimal digits; Rust's numeric class is a little
/// wider (it also holds other numerals), which no file name will notice.
fn is_digit(c: char) -> bool {
    c.is_numeric()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Char(char),
    Any,
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
    Start,
    End,
    Group(Vec<Vec<Node>>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        lazy: bool,
    },
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern {
    alternatives: Vec<Vec<Node>>,
}

/// Why a pattern did not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError(pub(crate) String);

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Pattern {
    /// Compiles `source`.
    pub(crate) fn new(source: &str) -> Result<Pattern, PatternError> {
        let mut parser = Parser {
            chars: source.chars().peekable(),
        };
        let alternatives = parser.alternatives()?;
        match parser.chars.next() {
            None => Ok(Pattern { alternatives }),
            Some(c) => Err(PatternError(format!("unbalanced '{c}'"))),
        }
    }

    /// `re.match`: does a prefix of `text` match?
    pub(crate) fn matches_prefix(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        self.alternatives
            .iter()
            .any(|alt| match_seq(alt, &chars, 0, &mut |_| true))
    }
}

/// Escapes every character that has a meaning in a pattern.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !c.is_alphanumeric() && c != '_' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Parser<'_> {
    fn alternatives(&mut self) -> Result<Vec<Vec<Node>>, PatternError> {
        let mut alternatives = vec![self.sequence()?];
        while self.chars.peek() == Some(&'|') {
            self.chars.next();
            alternatives.push(self.sequence()?);
        }
        Ok(alternatives)
    }

    fn sequence(&mut self) -> Result<Vec<Node>, PatternError> {
        let mut nodes = Vec::new();
        while let Some(&c) = self.chars.peek() {
            if c == '|' || c == ')' {
                break;
            }
            self.chars.next();
            let atom = match c {
                '.' => Node::Any,
                '^' => Node::Start,
                '$' => Node::End,
                '(' => self.group()?,
                '[' => self.class()?,
                '\\' => self.escape()?,
                '*' | '+' | '?' => return Err(PatternError("nothing to repeat".into())),
                '{' if self.quantifier_ahead() => {
                    return Err(PatternError("nothing to repeat".into()))
                }
                c => Node::Char(c),
            };
            nodes.push(self.quantified(atom)?);
        }
        Ok(nodes)
    }

    fn group(&mut self) -> Result<Node, PatternError> {
        if self.chars.peek() == Some(&'?') {
            self.chars.next();
            if self.chars.next() != Some(':') {
                return Err(PatternError("unsupported group".into()));
            }
        }
        let alternatives = self.alternatives()?;
        match self.chars.next() {
            Some(')') => Ok(Node::Group(alternatives)),
            _ => Err(PatternError("missing ), unterminated subpattern".into())),
        }
    }

    fn escape(&mut self) -> Result<Node, PatternError> {
        let c = self
            .chars
            .next()
            .ok_or_else(|| PatternError("bad escape (end of pattern)".into()))?;
        Ok(match class_escape(c) {
            Some(item) => Node::Class {
                negated: false,
                items: vec![item],
            },
            None => Node::Char(literal_escape(c)?),
        })
    }

    fn class(&mut self) -> Result<Node, PatternError> {
        let negated = self.chars.peek() == Some(&'^');
        if negated {
            self.chars.next();
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self
                .chars
                .next()
                .ok_or_else(|| PatternError("unterminated character set".into()))?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let low = match c {
                '\\' => {
                    let e = self
                        .chars
                        .next()
                        .ok_or_else(|| PatternError("bad escape (end of pattern)".into()))?;
                    if let Some(item) = class_escape(e) {
                        items.push(item);
                        continue;
                    }
                    literal_escape(e)?
                }
                c => c,
            };
            let mut lookahead = self.chars.clone();
            if lookahead.next() == Some('-') && !matches!(lookahead.peek(), Some(']') | None) {
                self.chars.next();
                let high = match self.chars.next() {
                    Some('\\') => {
                        let e = self
                            .chars
                            .next()
                            .ok_or_else(|| PatternError("bad escape (end of pattern)".into()))?;
                        literal_escape(e)?
                    }
                    Some(h) => h,
                    None => return Err(PatternError("unterminated character set".into())),
                };
                if high < low {
                    return Err(PatternError("bad character range".into()));
                }
                items.push(ClassItem::Range(low, high));
            } else {
                items.push(ClassItem::Range(low, low));
            }
        }
        Ok(Node::Class { negated, items })
    }

    /// True when the characters after a `{` form `m}`, `m,}`, `,n}` or `m,n}`.
    fn quantifier_ahead(&self) -> bool {
        parse_braces(&mut self.chars.clone()).is_some()
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, PatternError> {
        let bounds = match self.chars.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                let mut ahead = self.chars.clone();
                ahead.next();
                match parse_braces(&mut ahead) {
                    Some(bounds) => {
                        self.chars = ahead;
                        return self.finish_quantifier(atom, bounds);
                    }
                    None => return Ok(atom),
                }
            }
            _ => return Ok(atom),
        };
        self.chars.next();
        self.finish_quantifier(atom, bounds)
    }

    fn finish_quantifier(
        &mut self,
        atom: Node,
        (min, max): (u32, Option<u32>),
    ) -> Result<Node, PatternError> {
        if matches!(atom, Node::Start | Node::End | Node::Repeat { .. }) {
            return Err(PatternError("nothing to repeat".into()));
        }
        if max.is_some_and(|max| max < min) {
            return Err(PatternError("min repeat greater than max repeat".into()));
        }
        let lazy = self.chars.peek() == Some(&'?');
        if lazy {
            self.chars.next();
        }
        let repeats_again = match self.chars.peek() {
            Some('*' | '+' | '?') => true,
            Some('{') => {
                let mut ahead = self.chars.clone();
                ahead.next();
                parse_braces(&mut ahead).is_some()
            }
            _ => false,
        };
        if repeats_again {
            return Err(PatternError("multiple repeat".into()));
        }
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
            lazy,
        })
    }
}

/// Parses `m}`, `m,}`, `,n}`, `m,n}` (the `{` already consumed).
fn parse_braces(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Option<(u32, Option<u32>)> {
    let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        let mut digits = String::new();
        while let Some(&c) = chars.peek() {
            if !c.is_ascii_digit() {
                break;
            }
            digits.push(c);
            chars.next();
        }
        digits
    };
    let low = number(chars);
    match chars.next()? {
        '}' => {
            let n = low.parse().ok()?;
            Some((n, Some(n)))
        }
        ',' => {
            let high = number(chars);
            if chars.next()? != '}' {
                return None;
            }
            let min = if low.is_empty() { 0 } else { low.parse().ok()? };
            let max = if high.is_empty() {
                None
            } else {
                Some(high.parse().ok()?)
            };
            Some((min, max))
        }
        _ => None,
    }
}

fn class_escape(c: char) -> Option<ClassItem> {
    Some(match c {
        'd' => ClassItem::Digit(false),
        'D' => ClassItem::Digit(true),
        's' => ClassItem::Space(false),
        'S' => ClassItem::Space(true),
        'w' => ClassItem::Word(false),
        'W' => ClassItem::Word(true),
        _ => return None,
    })
}

fn literal_escape(c: char) -> Result<char, PatternError> {
    Ok(match c {
        't' => '\t',
        'n' => '\n',
        'r' => '\r',
        'f' => '\x0c',
        'v' => '\x0b',
        'a' => '\x07',
        c if c.is_ascii_alphanumeric() => {
            return Err(PatternError(format!("bad escape \\{c}")));
        }
        c => c,
    })
}

fn match_seq(nodes: &[Node], s: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match nodes.split_first() {
        None => k(pos),
        Some((first, rest)) => match_node(first, s, pos, &mut |p| match_seq(rest, s, p, k)),
    }
}

fn match_node(node: &Node, s: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match node {
        Node::Char(c) => s.get(pos) == Some(c) && k(pos + 1),
        Node::Any => s.get(pos).is_some_and(|&c| c != '\n') && k(pos + 1),
        Node::Class { negated, items } => {
            s.get(pos)
                .is_some_and(|&c| items.iter().any(|i| i.matches(c)) != *negated)
                && k(pos + 1)
        }
        Node::Start => pos == 0 && k(pos),
        Node::End => (pos == s.len() || (pos + 1 == s.len() && s[pos] == '\n')) && k(pos),
        Node::Group(alternatives) => alternatives.iter().any(|alt| match_seq(alt, s, pos, k)),
        Node::Repeat {
            node,
            min,
            max,
            lazy,
        } => match_repeat(node, *min, *max, *lazy, s, pos, 0, k),
    }
}

#[allow(clippy::too_many_arguments)]
fn match_repeat(
    node: &Node,
    min: u32,
    max: Option<u32>,
    lazy: bool,
    s: &[char],
    pos: usize,
    count: u32,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    let can_repeat = max.is_none_or(|max| count < max);
    let again = |k: &mut dyn FnMut(usize) -> bool| {
        can_repeat
            && match_node(node, s, pos, &mut |p| {
                // An iteration that consumed nothing cannot help past the minimum and
                // would loop forever.
                (p != pos || count < min) && match_repeat(node, min, max, lazy, s, p, count + 1, k)
            })
    };
    if count < min {
        return again(k);
    }
    // Lazy tries to stop first, greedy tries one more iteration first.
    let (first, second): (Attempt, Attempt) = if lazy {
        (Attempt::Stop, Attempt::Repeat)
    } else {
        (Attempt::Repeat, Attempt::Stop)
    };
    [first, second].into_iter().any(|attempt| match attempt {
        Attempt::Stop => k(pos),
        Attempt::Repeat => again(k),
    })
}

#[derive(Clone, Copy)]
enum Attempt {
    Stop,
    Repeat,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e:?}"))
            .matches_prefix(text)
    }

    #[test]
    fn matching_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "abcdef", true),
            ("abc", "xabc", false),
            ("a.c", "abc", true),
            ("a.c", "a\nc", false),
            ("a+?b", "aaab", true),
            ("a*b", "b", true),
            ("a{2}b", "aab", true),
            ("a{2}b", "ab", false),
            ("a{2,}b", "aaaab", true),
            ("a{,2}b", "aaab", false),
            ("a{1,2}$", "aa\n", true),
            ("a{1,2}$", "aaa", false),
            ("x{", "x{", true),
            ("x{a}", "x{a}", true),
            ("\\d{0,4}z", "123z", true),
            ("\\S+\\.log", "abc.log", true),
            ("\\S+\\.log", "a c.log", false),
            ("[a-c]+d", "cabd", true),
            ("[^a-c]d", "ad", false),
            ("[]x]", "]", true),
            ("[a-]", "-", true),
            ("[\\d_]+$", "12_3", true),
            ("(ab|cd)+e", "abcdabe", true),
            ("(?:ab|cd)e", "cde", true),
            ("(a|ab)c", "abc", true),
            ("^a", "a", true),
            ("(a*)*b", "aaaaaaaaaaaaaaac", false),
            ("\\w+-\\W", "héllo_1-!", true),
            ("a\\tb", "a\tb", true),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(m(pattern, text), *want, "{pattern:?} on {text:?}");
        }
    }

    #[test]
    fn compile_errors() {
        for bad in [
            "*a", "a**", "a{2}{3}", "(a", "a)", "[a", "\\q", "a{2,1}", "(?=a)", "\\", "^*",
        ] {
            assert!(Pattern::new(bad).is_err(), "{bad:?} compiled");
        }
    }

    #[test]
    fn escape_makes_literals() {
        let text = "a.b*c(d)[e]{1}\\|$^+?";
        assert!(m(&escape(text), text));
        assert!(!m(&escape("a.b"), "axb"));
    }
}
