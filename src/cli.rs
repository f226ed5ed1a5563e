//! Command-line option splitting with the semantics and messages of Python's
//! `getopt.getopt`, which both reference programs use: clustered short options,
//! `-cFILE`, `--long=value`, unique prefixes of long options, and parsing that stops at
//! the first argument that is not an option.
//!
//! Owns only the splitting; what each option means belongs to the program using it.

/// One option a program accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptSpec {
    /// The short letter, if any (`c` for `-c`).
    pub short: Option<char>,
    /// The long name, if any (`configuration` for `--configuration`).
    pub long: Option<&'static str>,
    /// Whether the option takes a value.
    pub takes_value: bool,
}

/// An option as found on the command line, with the spelling getopt reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundOpt {
    /// `-c` or `--configuration` (a long prefix is completed to the full name).
    pub flag: String,
    /// The value, empty for options without one.
    pub value: String,
}

/// Splits `args` (without the program name) into options and the remaining arguments.
/// Errors carry getopt's text, e.g. `option --bogus not recognized`.
pub fn getopt(args: &[String], specs: &[OptSpec]) -> Result<(Vec<FoundOpt>, Vec<String>), String> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if !arg.starts_with('-') || arg == "-" {
            break;
        }
        i += 1;
        if arg == "--" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline_value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let spec = long_option(name, specs)?;
            let full = spec.long.unwrap_or(name);
            let value = if spec.takes_value {
                match inline_value {
                    Some(v) => v,
                    None => {
                        let v = args
                            .get(i)
                            .ok_or_else(|| format!("option --{full} requires argument"))?;
                        i += 1;
                        v.clone()
                    }
                }
            } else {
                if inline_value.is_some() {
                    return Err(format!("option --{full} must not have an argument"));
                }
                String::new()
            };
            found.push(FoundOpt {
                flag: format!("--{full}"),
                value,
            });
            continue;
        }
        let mut letters = arg[1..].chars();
        while let Some(letter) = letters.next() {
            let spec = specs
                .iter()
                .find(|s| s.short == Some(letter))
                .ok_or_else(|| format!("option -{letter} not recognized"))?;
            let value = if spec.takes_value {
                let rest: String = letters.by_ref().collect();
                if rest.is_empty() {
                    let v = args
                        .get(i)
                        .ok_or_else(|| format!("option -{letter} requires argument"))?;
                    i += 1;
                    v.clone()
                } else {
                    rest
                }
            } else {
                String::new()
            };
            found.push(FoundOpt {
                flag: format!("-{letter}"),
                value,
            });
        }
    }
    Ok((found, args[i..].to_vec()))
}

fn long_option<'a>(name: &str, specs: &'a [OptSpec]) -> Result<&'a OptSpec, String> {
    let candidates: Vec<&OptSpec> = specs
        .iter()
        .filter(|s| s.long.is_some_and(|l| l.starts_with(name)))
        .collect();
    if let Some(exact) = candidates.iter().find(|s| s.long == Some(name)) {
        return Ok(exact);
    }
    match candidates.as_slice() {
        [] => Err(format!("option --{name} not recognized")),
        [only] => Ok(only),
        _ => Err(format!("option --{name} not a unique prefix")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[OptSpec] = &[
        OptSpec {
            short: Some('c'),
            long: Some("configuration"),
            takes_value: true,
        },
        OptSpec {
            short: Some('n'),
            long: Some("nodaemon"),
            takes_value: false,
        },
        OptSpec {
            short: None,
            long: Some("minfds"),
            takes_value: true,
        },
        OptSpec {
            short: None,
            long: Some("minprocs"),
            takes_value: true,
        },
    ];

    type Split = (Vec<(String, String)>, Vec<String>);

    fn run(args: &[&str]) -> Result<Split, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        getopt(&args, SPECS)
            .map(|(opts, rest)| (opts.into_iter().map(|o| (o.flag, o.value)).collect(), rest))
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn accepted_forms() {
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            (&["-c", "f"], &[("-c", "f")], &[]),
            (&["-cf"], &[("-c", "f")], &[]),
            (&["-nc", "f"], &[("-n", ""), ("-c", "f")], &[]),
            (&["--configuration=f"], &[("--configuration", "f")], &[]),
            (&["--conf", "f"], &[("--configuration", "f")], &[]),
            (&["--minfds=9"], &[("--minfds", "9")], &[]),
            (&["-n", "x", "-c", "f"], &[("-n", "")], &["x", "-c", "f"]),
            (&["--", "-n"], &[], &["-n"]),
            (&["-", "-n"], &[], &["-", "-n"]),
        ];
        for (args, opts, rest) in cases {
            let want_rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            assert_eq!(run(args), Ok((pairs(opts), want_rest)), "{args:?}");
        }
    }

    #[test]
    fn getopt_error_texts() {
        let cases: &[(&[&str], &str)] = &[
            (&["--bogus"], "option --bogus not recognized"),
            (&["-x"], "option -x not recognized"),
            (&["-c"], "option -c requires argument"),
            (
                &["--configuration"],
                "option --configuration requires argument",
            ),
            (
                &["--nodaemon=1"],
                "option --nodaemon must not have an argument",
            ),
            (&["--min", "3"], "option --min not a unique prefix"),
        ];
        for (args, want) in cases {
            assert_eq!(run(args), Err(want.to_string()), "{args:?}");
        }
    }
}
