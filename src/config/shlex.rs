//! Python `shlex` as supervisord uses it: POSIX `shlex.split` for `command=`, and the
//! non-POSIX lexer behind `environment=` (`KEY=VAL,KEY2="v, w"`).
//!
//! Pure string functions; errors carry the reference's text ("No closing quotation",
//! "No escaped character", "Unexpected end of key/value pairs in value '…'").

use std::collections::BTreeMap;

const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

/// Python's `shlex.split(text)`: POSIX rules, quotes and backslash escapes, no comments.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Between,
        Word,
        Single,
        Double,
        Escape { inside_double: bool },
    }
    let mut words = Vec::new();
    let mut token = String::new();
    let mut in_token = false;
    let mut state = State::Between;
    for c in text.chars() {
        state = match state {
            State::Between | State::Word => match c {
                c if WHITESPACE.contains(&c) => {
                    if in_token {
                        words.push(std::mem::take(&mut token));
                        in_token = false;
                    }
                    State::Between
                }
                '\'' => {
                    in_token = true;
                    State::Single
                }
                '"' => {
                    in_token = true;
                    State::Double
                }
                '\\' => {
                    in_token = true;
                    State::Escape {
                        inside_double: false,
                    }
                }
                c => {
                    in_token = true;
                    token.push(c);
                    State::Word
                }
            },
            State::Single => {
                if c == '\'' {
                    State::Word
                } else {
                    token.push(c);
                    State::Single
                }
            }
            State::Double => match c {
                '"' => State::Word,
                '\\' => State::Escape {
                    inside_double: true,
                },
                c => {
                    token.push(c);
                    State::Double
                }
            },
            State::Escape { inside_double } => {
                if inside_double {
                    if c != '"' && c != '\\' {
                        token.push('\\');
                    }
                    token.push(c);
                    State::Double
                } else {
                    token.push(c);
                    State::Word
                }
            }
        };
    }
    match state {
        State::Single | State::Double => Err("No closing quotation".to_string()),
        State::Escape { .. } => Err("No escaped character".to_string()),
        State::Between | State::Word => {
            if in_token {
                words.push(token);
            }
            Ok(words)
        }
    }
}

fn is_env_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_/.+-():".contains(c)
}

/// The tokens Python's non-POSIX `shlex.shlex(text)` yields with `/.+-():` added to its
/// word characters: words, quoted strings (quotes kept), single punctuation characters;
/// `#` outside a quoted string ends the line.
fn env_tokens(text: &str) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Between,
        Word,
        Quoted(char),
        SkipLine { resume_word: bool },
    }
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut state = State::Between;
    for c in text.chars() {
        state = match state {
            State::SkipLine { resume_word } => {
                if c == '\n' {
                    if resume_word {
                        State::Word
                    } else {
                        State::Between
                    }
                } else {
                    state
                }
            }
            State::Between => {
                if WHITESPACE.contains(&c) {
                    State::Between
                } else if c == '#' {
                    State::SkipLine { resume_word: false }
                } else if is_env_word_char(c) {
                    token.push(c);
                    State::Word
                } else if c == '\'' || c == '"' {
                    token.push(c);
                    State::Quoted(c)
                } else {
                    tokens.push(c.to_string());
                    State::Between
                }
            }
            State::Quoted(quote) => {
                token.push(c);
                if c == quote {
                    tokens.push(std::mem::take(&mut token));
                    State::Between
                } else {
                    state
                }
            }
            State::Word => {
                if WHITESPACE.contains(&c) {
                    tokens.push(std::mem::take(&mut token));
                    State::Between
                } else if c == '#' {
                    State::SkipLine { resume_word: true }
                } else if is_env_word_char(c) || c == '\'' || c == '"' {
                    token.push(c);
                    State::Word
                } else {
                    tokens.push(std::mem::take(&mut token));
                    tokens.push(c.to_string());
                    State::Between
                }
            }
        };
    }
    match state {
        State::Quoted(_) => return Err("No closing quotation".to_string()),
        State::Word | State::SkipLine { resume_word: true } => tokens.push(token),
        State::Between | State::SkipLine { resume_word: false } => {}
    }
    Ok(tokens)
}

/// The reference's `environment=` reader: `KEY=VALUE` triples separated by one token
/// (normally `,`), quotes stripped from both ends of each value.
pub fn key_value_pairs(text: &str) -> Result<BTreeMap<String, String>, String> {
    let tokens = env_tokens(text)?;
    let mut pairs = BTreeMap::new();
    let mut i = 0;
    while i < tokens.len() {
        let triple = &tokens[i..tokens.len().min(i + 3)];
        if triple.len() != 3 || triple[1] != "=" {
            return Err(format!(
                "Unexpected end of key/value pairs in value '{text}'"
            ));
        }
        let value = triple[2].trim_matches(|c| c == '\'' || c == '"');
        pairs.insert(triple[0].clone(), value.to_string());
        i += 4;
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_commands_like_python_shlex() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            ("cat foo", Ok(&["cat", "foo"])),
            ("  a   b  ", Ok(&["a", "b"])),
            (
                "sh -c 'echo a; echo b'",
                Ok(&["sh", "-c", "echo a; echo b"]),
            ),
            (r#"echo "a \"q\" \$x \n""#, Ok(&["echo", r#"a "q" \$x \n"#])),
            (r"a\ b c", Ok(&["a b", "c"])),
            (r#"a""b '' """#, Ok(&["ab", "", ""])),
            ("x#y # z", Ok(&["x#y", "#", "z"])),
            ("", Ok(&[])),
            ("'open", Err("No closing quotation")),
            ("\"open", Err("No closing quotation")),
            ("trail\\", Err("No escaped character")),
        ];
        for (text, want) in cases {
            assert_eq!(
                split(text),
                want.map(words).map_err(String::from),
                "{text:?}"
            );
        }
    }

    #[test]
    fn reads_environment_pairs_like_the_reference() {
        let ok: &[(&str, &[(&str, &str)])] = &[
            (
                r#"A="x,y",B='q r',C=plain,D="""#,
                &[("A", "x,y"), ("B", "q r"), ("C", "plain"), ("D", "")],
            ),
            ("PATHX=/a/b:c", &[("PATHX", "/a/b:c")]),
            ("K=v#comment,L=w", &[("K", "v")]),
            ("K=v #c\n,L=w", &[("K", "v"), ("L", "w")]),
            (r#"K="a"b""#, &[("K", "a")]),
            ("K=a'b c'", &[("K", "a'b")]),
            ("A=1,A=2", &[("A", "2")]),
            ("", &[]),
        ];
        for (text, want) in ok {
            let want: BTreeMap<String, String> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(key_value_pairs(text), Ok(want), "{text:?}");
        }
        for text in ["K=", "K", "=v", "A=1,B", "K=a@b", "A=1 B=2"] {
            assert_eq!(
                key_value_pairs(text),
                Err(format!(
                    "Unexpected end of key/value pairs in value '{text}'"
                )),
                "{text:?}"
            );
        }
        assert_eq!(
            key_value_pairs("K='open"),
            Err("No closing quotation".to_string())
        );
    }
}
