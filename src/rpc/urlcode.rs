//! URL text helpers for the web page and `/logtail`: percent-decoding, Python's
//! `urllib.parse.quote` (safe `/`), `parse_qsl`-style form decoding, and HTML escaping.
//!
//! Pure functions over strings; no I/O and nothing about HTTP itself.

/// Decodes `%XX` escapes (invalid escapes are kept as they are); the bytes are read as
/// UTF-8, invalid sequences replaced.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Python's `urllib.parse.quote(text)`: every UTF-8 byte other than ASCII letters,
/// digits, `_.-~` and `/` becomes `%XX` (upper-case hex).
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Python's `parse_qsl(text)` with its defaults: pairs split on `&`, `+` is a space,
/// pairs without `=` and pairs with an empty value are dropped.
pub fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            if value.is_empty() {
                return None;
            }
            let decode = |s: &str| percent_decode(&s.replace('+', " "));
            Some((decode(name), decode(value)))
        })
        .collect()
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_quoting_like_python() {
        let decoded = [
            ("grp%3Aga", "grp:ga"),
            ("a%2", "a%2"),
            ("%zz", "%zz"),
            ("%", "%"),
            ("%41%42c", "ABc"),
            ("%C3%A9", "é"),
            ("%FF", "\u{fffd}"),
        ];
        for (given, want) in decoded {
            assert_eq!(percent_decode(given), want, "{given}");
        }
        let quoted = [
            ("grp:ga", "grp%3Aga"),
            ("a b/c", "a%20b/c"),
            (
                "Page refreshed at Sat Nov 28 02:13:15 2026",
                "Page%20refreshed%20at%20Sat%20Nov%2028%2002%3A13%3A15%202026",
            ),
            ("é~_.-", "%C3%A9~_.-"),
            ("<&>", "%3C%26%3E"),
        ];
        for (given, want) in quoted {
            assert_eq!(quote(given), want, "{given}");
        }
    }

    #[test]
    fn forms_like_parse_qsl() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            parse_form("processname=grp%3Aga&action=stop"),
            pairs(&[("processname", "grp:ga"), ("action", "stop")])
        );
        assert_eq!(
            parse_form("message=a+b&empty=&bare&&x=1=2"),
            pairs(&[("message", "a b"), ("x", "1=2")])
        );
        assert_eq!(parse_form(""), pairs(&[]));
    }

    #[test]
    fn html_escaping() {
        assert_eq!(
            html_escape(r#"<a href="x">&</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
