//! `%(name)s` expansion: Python's `str % mapping` as supervisord applies it to config
//! values, with the reference's error texts.
//!
//! Owns the formatting mini-language (`%(name)s`, `%(process_num)02d`, `%%`, flags,
//! width, precision, conversions) and the name tables it looks into. Which names are
//! available where is decided by the caller (`build`).

use std::collections::BTreeMap;

use super::value::py_repr;

/// A value that can be substituted: text, or an integer (`process_num`, `numprocs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expansion {
    /// A string value.
    Str(String),
    /// An integer value.
    Int(i64),
}

/// One table of names.
pub type NameTable = BTreeMap<String, Expansion>;

/// Names visible to one expansion: several tables, later ones shadowing earlier ones.
#[derive(Debug, Clone, Default)]
pub struct Names<'a> {
    layers: Vec<&'a NameTable>,
}

impl<'a> Names<'a> {
    /// Names from these tables, the last one winning on duplicates.
    pub fn new(layers: Vec<&'a NameTable>) -> Self {
        Names { layers }
    }

    fn get(&self, name: &str) -> Option<&Expansion> {
        self.layers.iter().rev().find_map(|t| t.get(name))
    }

    fn sorted_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .layers
            .iter()
            .flat_map(|t| t.keys().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// Builds a table from `(name, value)` pairs.
pub fn table<I, K>(pairs: I) -> NameTable
where
    I: IntoIterator<Item = (K, Expansion)>,
    K: Into<String>,
{
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    MissingName(String),
    BadFormat(String),
}

/// Expands `template` against `names`. `location` names the option in the error
/// (`program:x.command`, or a bare key for the per-process second passes).
pub fn expand(template: &str, names: &Names<'_>, location: &str) -> Result<String, String> {
    if !template.contains('%') {
        return Ok(template.to_string());
    }
    format_mapping(template, names).map_err(|failure| match failure {
        Failure::MissingName(name) => format!(
            "Format string {} for {} contains names ({}) which cannot be expanded. \
             Available names: {}",
            py_repr(template),
            py_repr(location),
            py_repr(&name),
            names.sorted_names().join(", ")
        ),
        Failure::BadFormat(detail) => format!(
            "Format string {} for {} is badly formatted: {}",
            py_repr(template),
            py_repr(location),
            detail
        ),
    })
}

#[derive(Default)]
struct Spec {
    left: bool,
    sign: bool,
    space: bool,
    alternate: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

fn format_mapping(template: &str, names: &Names<'_>) -> Result<String, Failure> {
    let chars: Vec<char> = template.chars().collect();
    let mut out = String::with_capacity(template.len());
    let mut i = 0;
    let incomplete = || Failure::BadFormat("incomplete format".to_string());
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        if chars.get(i) == Some(&'%') {
            out.push('%');
            i += 1;
            continue;
        }
        let mut value: Option<&Expansion> = None;
        if chars.get(i) == Some(&'(') {
            let start = i + 1;
            let mut depth = 1;
            let mut j = start;
            while j < chars.len() && depth > 0 {
                match chars[j] {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                j += 1;
            }
            if depth > 0 {
                return Err(Failure::BadFormat("incomplete format key".to_string()));
            }
            let name: String = chars[start..j - 1].iter().collect();
            value = Some(names.get(&name).ok_or(Failure::MissingName(name))?);
            i = j;
        }
        let mut spec = Spec::default();
        while let Some(&c) = chars.get(i) {
            match c {
                '-' => spec.left = true,
                '+' => spec.sign = true,
                ' ' => spec.space = true,
                '#' => spec.alternate = true,
                '0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if chars.get(i) == Some(&'*') {
            return Err(Failure::BadFormat("* wants int".to_string()));
        }
        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
            spec.width = spec.width.saturating_mul(10).saturating_add(d as usize);
            i += 1;
        }
        if chars.get(i) == Some(&'.') {
            i += 1;
            if chars.get(i) == Some(&'*') {
                return Err(Failure::BadFormat("* wants int".to_string()));
            }
            let mut precision = 0usize;
            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                precision = precision.saturating_mul(10).saturating_add(d as usize);
                i += 1;
            }
            spec.precision = Some(precision);
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let Some(&conversion) = chars.get(i) else {
            return Err(incomplete());
        };
        i += 1;
        let body = convert(conversion, value, &spec, i - 1)?;
        pad(&mut out, &body, &spec, conversion);
    }
    Ok(out)
}

fn type_name(value: &Expansion) -> &'static str {
    match value {
        Expansion::Str(_) => "str",
        Expansion::Int(_) => "int",
    }
}

fn convert(
    conversion: char,
    value: Option<&Expansion>,
    spec: &Spec,
    index: usize,
) -> Result<String, Failure> {
    let bad = |detail: String| Failure::BadFormat(detail);
    if !"srdiuxXoeEfFgGca".contains(conversion) {
        let shown = if (' '..='~').contains(&conversion) {
            conversion
        } else {
            '?'
        };
        return Err(bad(format!(
            "unsupported format character '{shown}' (0x{:x}) at index {index}",
            conversion as u32
        )));
    }
    let Some(value) = value else {
        // Without a `(name)` Python formats the whole mapping: numeric conversions fail
        // naming its type; `%s`/`%r` would print the mapping itself, which no config
        // can mean, so those are refused with a hint instead.
        return Err(bad(match conversion {
            'd' | 'i' | 'u' => format!("%{conversion} format: a real number is required, not dict"),
            'x' | 'X' | 'o' => format!("%{conversion} format: an integer is required, not dict"),
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => "must be real number, not dict".to_string(),
            'c' => "%c requires int or char".to_string(),
            _ => "a format without a %(name) needs a mapping key; write %% for a literal %"
                .to_string(),
        }));
    };
    match conversion {
        's' | 'r' | 'a' => {
            let text = match (conversion, value) {
                (_, Expansion::Int(n)) => n.to_string(),
                ('s', Expansion::Str(s)) => s.clone(),
                ('r', Expansion::Str(s)) => py_repr(s),
                (_, Expansion::Str(s)) => ascii_repr(s),
            };
            Ok(match spec.precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            })
        }
        'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
            let Expansion::Int(n) = value else {
                let what = if matches!(conversion, 'd' | 'i' | 'u') {
                    "a real number"
                } else {
                    "an integer"
                };
                return Err(bad(format!(
                    "%{conversion} format: {what} is required, not {}",
                    type_name(value)
                )));
            };
            let magnitude = n.unsigned_abs();
            let mut digits = match conversion {
                'x' => format!("{magnitude:x}"),
                'X' => format!("{magnitude:X}"),
                'o' => format!("{magnitude:o}"),
                _ => magnitude.to_string(),
            };
            if let Some(p) = spec.precision {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            let prefix = match (conversion, spec.alternate) {
                ('x', true) => "0x",
                ('X', true) => "0X",
                ('o', true) => "0o",
                _ => "",
            };
            Ok(format!("{}{prefix}{digits}", sign(*n < 0, spec)))
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let Expansion::Int(n) = value else {
                return Err(bad(format!(
                    "must be real number, not {}",
                    type_name(value)
                )));
            };
            Ok(format!(
                "{}{}",
                sign(*n < 0, spec),
                float_body(n.unsigned_abs() as f64, conversion, spec)
            ))
        }
        _ => match value {
            Expansion::Int(n) => u32::try_from(*n)
                .ok()
                .and_then(char::from_u32)
                .map(String::from)
                .ok_or_else(|| bad("%c arg not in range(0x110000)".to_string())),
            Expansion::Str(s) if s.chars().count() == 1 => Ok(s.clone()),
            Expansion::Str(_) => Err(bad("%c requires int or char".to_string())),
        },
    }
}

fn sign(negative: bool, spec: &Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.sign {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn float_body(x: f64, conversion: char, spec: &Spec) -> String {
    let precision = spec.precision.unwrap_or(6);
    let upper = conversion.is_ascii_uppercase();
    let text = match conversion.to_ascii_lowercase() {
        'f' => format!("{x:.precision$}"),
        'e' => python_exponent(&format!("{x:.precision$e}")),
        _ => {
            let p = precision.max(1);
            let exponent = if x == 0.0 {
                0
            } else {
                x.log10().floor() as i64
            };
            let text = if exponent < -4 || exponent >= p as i64 {
                python_exponent(&format!("{x:.prec$e}", prec = p - 1))
            } else {
                let decimals = (p as i64 - 1 - exponent).max(0) as usize;
                format!("{x:.decimals$}")
            };
            if spec.alternate {
                text
            } else {
                strip_fraction_zeros(&text)
            }
        }
    };
    if upper {
        text.to_uppercase()
    } else {
        text
    }
}

/// Rust prints `1.5e2`; Python prints `1.5e+02`.
fn python_exponent(text: &str) -> String {
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => text.to_string(),
    }
}

fn strip_fraction_zeros(text: &str) -> String {
    let (mantissa, exponent) = match text.find('e') {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    format!("{mantissa}{exponent}")
}

fn ascii_repr(s: &str) -> String {
    py_repr(s)
        .chars()
        .flat_map(|c| {
            if c.is_ascii() {
                vec![c]
            } else if (c as u32) < 0x100 {
                format!("\\x{:02x}", c as u32).chars().collect()
            } else if (c as u32) < 0x10000 {
                format!("\\u{:04x}", c as u32).chars().collect()
            } else {
                format!("\\U{:08x}", c as u32).chars().collect()
            }
        })
        .collect()
}

fn pad(out: &mut String, body: &str, spec: &Spec, conversion: char) {
    let len = body.chars().count();
    if len >= spec.width {
        out.push_str(body);
        return;
    }
    let fill = spec.width - len;
    let numeric = !matches!(conversion, 's' | 'r' | 'a' | 'c');
    if spec.left {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        let sign_len = body
            .chars()
            .take_while(|c| matches!(c, '-' | '+' | ' '))
            .count();
        let prefix_len = if body[sign_len..].starts_with("0x")
            || body[sign_len..].starts_with("0X")
            || body[sign_len..].starts_with("0o")
        {
            sign_len + 2
        } else {
            sign_len
        };
        out.push_str(&body[..prefix_len]);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(&body[prefix_len..]);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> NameTable {
        table([
            ("here", Expansion::Str("/etc/sv".into())),
            ("program_name", Expansion::Str("web".into())),
            ("process_num", Expansion::Int(3)),
            ("numprocs", Expansion::Int(12)),
            ("neg", Expansion::Int(-5)),
        ])
    }

    fn run(template: &str) -> Result<String, String> {
        let t = names();
        expand(template, &Names::new(vec![&t]), "program:web.command")
    }

    #[test]
    fn formats_like_python() {
        let cases = [
            ("plain", "plain"),
            ("%(here)s/x", "/etc/sv/x"),
            ("%(program_name)s_%(process_num)02d", "web_03"),
            ("%(process_num)d of %(numprocs)d", "3 of 12"),
            ("100%%", "100%"),
            ("%(process_num)5d|", "    3|"),
            ("%(process_num)-5d|", "3    |"),
            ("%(process_num)+d", "+3"),
            ("%(neg)03d", "-05"),
            ("%(numprocs)x %(numprocs)#X %(numprocs)#o", "c 0XC 0o14"),
            ("%(program_name)r", "'web'"),
            ("%(program_name).2s", "we"),
            ("%(program_name)6s|", "   web|"),
            ("%(process_num)s", "3"),
            ("%(process_num)f", "3.000000"),
            ("%(numprocs)e", "1.200000e+01"),
            ("%(numprocs)g", "12"),
            ("%(process_num)5.3d", "  003"),
            ("%(numprocs)#5x|", "  0xc|"),
            ("%(neg)#06x", "-0x005"),
        ];
        for (template, want) in cases {
            assert_eq!(run(template), Ok(want.to_string()), "{template}");
        }
    }

    #[test]
    fn errors_carry_the_reference_text() {
        let available = "Available names: here, neg, numprocs, process_num, program_name";
        let cases = [
            (
                "%(nope)s",
                format!(
                    "Format string '%(nope)s' for 'program:web.command' contains names \
                     ('nope') which cannot be expanded. {available}"
                ),
            ),
            (
                "50%",
                "Format string '50%' for 'program:web.command' is badly formatted: \
                 incomplete format"
                    .to_string(),
            ),
            (
                "a%b.log",
                "Format string 'a%b.log' for 'program:web.command' is badly formatted: \
                 unsupported format character 'b' (0x62) at index 2"
                    .to_string(),
            ),
            (
                "%(here",
                "Format string '%(here' for 'program:web.command' is badly formatted: \
                 incomplete format key"
                    .to_string(),
            ),
            (
                "%(program_name)d",
                "Format string '%(program_name)d' for 'program:web.command' is badly \
                 formatted: %d format: a real number is required, not str"
                    .to_string(),
            ),
            (
                "%(program_name)5%",
                "Format string '%(program_name)5%' for 'program:web.command' is badly \
                 formatted: unsupported format character '%' (0x25) at index 16"
                    .to_string(),
            ),
            (
                "%(program_name)x",
                "Format string '%(program_name)x' for 'program:web.command' is badly \
                 formatted: %x format: an integer is required, not str"
                    .to_string(),
            ),
            (
                "/tmp/50%.log",
                "Format string '/tmp/50%.log' for 'program:web.command' is badly formatted: \
                 %o format: an integer is required, not dict"
                    .to_string(),
            ),
            (
                "%(here)",
                "Format string '%(here)' for 'program:web.command' is badly formatted: \
                 incomplete format"
                    .to_string(),
            ),
        ];
        for (template, want) in cases {
            assert_eq!(run(template), Err(want), "{template}");
        }
    }

    #[test]
    fn later_layers_shadow_earlier_ones() {
        let env = table([("ENV_A", Expansion::Str("env".into()))]);
        let own = table([("ENV_A", Expansion::Str("own".into()))]);
        let names = Names::new(vec![&env, &own]);
        assert_eq!(expand("%(ENV_A)s", &names, "x"), Ok("own".into()));
        assert_eq!(names.sorted_names(), ["ENV_A"]);
    }
}
