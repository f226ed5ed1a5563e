//! The interactive shell: prompt, line editing and history (rustyline), and tab
//! completion of actions, process names and group names asked from the server.
//!
//! Owns the read–execute loop and completion; every line is handed to
//! [`Controller::onecmd`]. When standard input is not a terminal it reads plain lines
//! and still prints the prompt, as the reference does.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::Path;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};

use super::client::{Client, Settings};
use super::commands::{process_names, Controller, Flow};
use super::interrupt::InterruptGuard;
use super::render::ACTIONS;

/// Characters that end a word for completion: readline's defaults without `:`, `*`
/// and `-`, so `group:*` and names with dashes are single words.
const WORD_DELIMITERS: &str = " \t\n`~!@#$%^&()=+[{]}\\|;'\",<>/?";

/// The completions of `text` (the word under the cursor) in `line`, each with the
/// trailing space the reference adds. `names` yields `(group, name)` of every process.
pub fn completions(
    line: &str,
    text: &str,
    names: &mut dyn FnMut() -> Vec<(String, String)>,
) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let candidates: Vec<String> = match words.first() {
        None => actions(),
        Some(_) if words.len() == 1 && !line.ends_with(' ') => actions(),
        Some(action) if "help".contains(action) => actions(),
        Some(&("add" | "remove" | "update")) => {
            let mut groups: Vec<String> = Vec::new();
            for (group, _) in names() {
                if !groups.contains(&group) {
                    groups.push(group);
                }
            }
            groups
        }
        Some(
            &("clear" | "fg" | "pid" | "restart" | "signal" | "start" | "status" | "stop" | "tail"),
        ) => {
            let mut processes: Vec<String> = Vec::new();
            for (group, name) in names() {
                if text.contains(':') || group != name {
                    processes.push(format!("{group}:{name}"));
                    let whole = format!("{group}:*");
                    if !processes.contains(&whole) {
                        processes.push(whole);
                    }
                } else {
                    processes.push(name);
                }
            }
            processes
        }
        Some(_) => Vec::new(),
    };
    candidates
        .into_iter()
        .filter(|c| c.starts_with(text))
        .map(|c| format!("{c} "))
        .collect()
}

fn actions() -> Vec<String> {
    ACTIONS.iter().map(|a| a.to_string()).collect()
}

/// Completion for rustyline; process names are fetched once per command line.
struct ShellHelper {
    settings: Settings,
    names: RefCell<Option<Vec<(String, String)>>>,
}

impl ShellHelper {
    fn renew(&mut self, settings: &Settings) {
        self.settings = settings.clone();
        self.names = RefCell::new(None);
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .rfind(|c| WORD_DELIMITERS.contains(c))
            .map_or(0, |i| i + 1);
        let text = &line[start..pos];
        let mut names = || {
            self.names
                .borrow_mut()
                .get_or_insert_with(|| {
                    process_names(&Client::new(self.settings.clone())).unwrap_or_default()
                })
                .clone()
        };
        let found = completions(line, text, &mut names);
        let pairs = found
            .into_iter()
            .map(|c| Pair {
                display: c.trim_end().to_string(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

/// Runs one command line with Ctrl-C ending only that command.
fn run_line(controller: &mut Controller, line: &str) -> Flow {
    let _guard = InterruptGuard::install();
    controller.onecmd(line)
}

/// Where the loop stops.
fn finished(controller: &mut Controller, flow: Flow) -> bool {
    match flow {
        Flow::Continue => false,
        Flow::Leave | Flow::OutputClosed => true,
        Flow::Interrupted => {
            controller.onecmd("EOF");
            true
        }
    }
}

/// The interactive session: `status` first, then prompt and execute until `quit`,
/// `exit`, end of input or Ctrl-C at the prompt.
pub fn run(controller: &mut Controller, prompt: &str, history_file: Option<&Path>) {
    let flow = run_line(controller, "status");
    if finished(controller, flow) {
        return;
    }
    if !std::io::stdin().is_terminal() {
        plain_loop(controller, prompt);
        return;
    }
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<ShellHelper, rustyline::history::DefaultHistory> =
        match Editor::with_config(config) {
            Ok(editor) => editor,
            Err(_) => {
                plain_loop(controller, prompt);
                return;
            }
        };
    editor.set_helper(Some(ShellHelper {
        settings: controller.settings().clone(),
        names: RefCell::new(None),
    }));
    if let Some(path) = history_file {
        let _ = editor.load_history(path);
    }
    loop {
        match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let flow = run_line(controller, &line);
                if let Some(helper) = editor.helper_mut() {
                    helper.renew(controller.settings());
                }
                if finished(controller, flow) {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => {
                controller.onecmd("EOF");
                break;
            }
            Err(_) => {
                controller.onecmd("EOF");
                break;
            }
        }
    }
    if let Some(path) = history_file {
        let _ = editor.save_history(path);
    }
}

/// The loop for input that is not a terminal: prompt, read a line, execute.
fn plain_loop(controller: &mut Controller, prompt: &str) {
    loop {
        let line = match controller.read_line(prompt) {
            Some(line) => line,
            None => "EOF".to_string(),
        };
        let flow = run_line(controller, &line);
        if finished(controller, flow) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<(String, String)> {
        [
            ("echoer", "echoer"),
            ("grp", "ga"),
            ("grp", "gb"),
            ("w", "w_00"),
        ]
        .iter()
        .map(|(g, n)| (g.to_string(), n.to_string()))
        .collect()
    }

    #[test]
    fn completes_like_the_reference() {
        type Case<'a> = (&'a str, &'a str, &'a [&'a str]);
        let cases: &[Case] = &[
            ("", "", &[]),
            ("st", "st", &["start ", "status ", "stop "]),
            (
                "status ",
                "",
                &["echoer ", "grp:ga ", "grp:* ", "grp:gb ", "w:w_00 ", "w:* "],
            ),
            ("status ec", "ec", &["echoer "]),
            ("stop grp:", "grp:", &["grp:ga ", "grp:* ", "grp:gb "]),
            ("tail ech", "ech", &["echoer "]),
            ("add g", "g", &["grp "]),
            (
                "help re",
                "re",
                &["reload ", "remove ", "reread ", "restart "],
            ),
            ("version x", "x", &[]),
        ];
        for (line, text, want) in cases {
            let got = completions(line, text, &mut names);
            if line.is_empty() {
                assert_eq!(got.len(), ACTIONS.len());
                continue;
            }
            assert_eq!(got, *want, "{line:?}");
        }
    }
}
