//! The web page: the status table at `/` and `/index.html` with its actions, the
//! `/tail.html` view, `/ok.html`, and our static stylesheet and images.
//!
//! Owns the page markup (our own, rendered with plain string building and escaping),
//! the action texts and redirects, and the static files. Runs actions through
//! `Handle` exactly as the matching RPC would (with `wait`).

use std::time::SystemTime;

use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, EXPIRES, LAST_MODIFIED, LOCATION,
    PRAGMA,
};
use hyper::{Response, StatusCode};

use crate::process::ProcessState;
use crate::supervisor::{Channel, Fault, ProcessInfo, VERSION};

use super::methods::{read_process_log_text, RpcContext};
use super::server::{error_response, full, http_date, Body};
use super::urlcode::{html_escape, quote};

/// A static file we serve: path (without the leading slash), content type, bytes.
const STATIC_FILES: &[(&str, &str, &[u8])] = &[
    (
        "stylesheets/supervisor.css",
        "text/css",
        include_bytes!("ui/supervisor.css"),
    ),
    (
        "images/icon.png",
        "image/png",
        include_bytes!("ui/icon.png"),
    ),
    (
        "images/supervisor.gif",
        "image/gif",
        include_bytes!("ui/supervisor.gif"),
    ),
];

/// The views answered for GET and POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// `/`, `/index.html`.
    Status,
    /// `/tail.html`.
    Tail,
    /// `/ok.html`.
    Ok,
}

/// The view a path names (leading slashes ignored, empty = index).
pub fn view_for(path: &str) -> Option<View> {
    match path.trim_start_matches('/') {
        "" | "index.html" => Some(View::Status),
        "tail.html" => Some(View::Tail),
        "ok.html" => Some(View::Ok),
        _ => None,
    }
}

/// The request's form: the query string's pairs (first occurrence wins), overridden by
/// the urlencoded body's (last occurrence wins), as the reference merges them.
#[derive(Debug, Default, Clone)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Builds the form from the decoded query and body pairs.
    pub fn new(query: Vec<(String, String)>, body: Vec<(String, String)>) -> Form {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in query {
            if !pairs.iter().any(|(name, _)| *name == k) {
                pairs.push((k, v));
            }
        }
        for (k, v) in body {
            match pairs.iter_mut().find(|(name, _)| *name == k) {
                Some(pair) => pair.1 = v,
                None => pairs.push((k, v)),
            }
        }
        Form { pairs }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Answers a view. `host` is the request's Host header (for redirects).
pub async fn respond(
    view: View,
    form: &Form,
    host: Option<&str>,
    rpc: &RpcContext,
) -> Response<Body> {
    match view {
        View::Ok => {
            let mut response = Response::new(full("OK"));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            headers.insert(CONTENT_LENGTH, HeaderValue::from(2));
            response
        }
        View::Tail => {
            let name = form.get("processname");
            let limit = tail_limit(form.get("limit"));
            let text = match name {
                None => "No process name found".to_string(),
                Some(name) => tail_text(rpc, name, limit).await,
            };
            page(render_tail(name, &text, limit))
        }
        View::Status => match form.get("action") {
            Some(action) => match perform(rpc, action, form.get("processname")).await {
                Some(message) => redirect(host, &message),
                None => error_response(StatusCode::INTERNAL_SERVER_ERROR),
            },
            None => match rpc.handle.all_process_info().await {
                Ok(infos) => page(render_status(&infos, form.get("message"), VERSION)),
                Err(_) => error_response(StatusCode::INTERNAL_SERVER_ERROR),
            },
        },
    }
}

/// Answers a static file (GET or HEAD; the caller checks the method).
pub fn static_file(path: &str, started: SystemTime) -> Response<Body> {
    let path = path.trim_start_matches('/');
    let Some((_, content_type, data)) = STATIC_FILES.iter().find(|(name, _, _)| *name == path)
    else {
        return error_response(StatusCode::NOT_FOUND);
    };
    let mut response = Response::new(full(*data));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&http_date(started)) {
        headers.insert(LAST_MODIFIED, value);
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn no_cache(response: &mut Response<Body>) {
    let headers = response.headers_mut();
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        EXPIRES,
        HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
    );
}

fn page(html: String) -> Response<Body> {
    let length = html.len();
    let mut response = Response::new(full(html));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    no_cache(&mut response);
    response
}

/// `301` to `<server url>/?message=<quoted message>`.
fn redirect(host: Option<&str>, message: &str) -> Response<Body> {
    let mut response = error_response(StatusCode::MOVED_PERMANENTLY);
    let location = format!("{}/?message={}", server_url(host), quote(message));
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    no_cache(&mut response);
    response
}

/// `http://<host>[:<port>]` from the Host header (port 80 dropped), as the reference
/// builds it; `localhost` without one.
pub fn server_url(host: Option<&str>) -> String {
    let host = host.map(str::trim).unwrap_or("localhost");
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            (name, (!port.is_empty()).then_some(port))
        }
        _ => (host, None),
    };
    let mut url = match port {
        Some(port) if port != "80" => format!("http://{name}:{port}"),
        _ => format!("http://{name}"),
    };
    if url.ends_with('/') {
        url.pop();
    }
    url
}

/// Python's `time.ctime()` in local time: `Sat Nov 28 02:13:15 2026`.
fn ctime() -> String {
    chrono::Local::now()
        .format("%a %b %e %H:%M:%S %Y")
        .to_string()
}

/// The fault text the page shows: `unexpected rpc fault [<code>] <NAME: detail>`.
fn unexpected(fault: &Fault) -> String {
    format!("unexpected rpc fault [{}] {fault}", fault.code())
}

/// Whether `namespec` names an existing process (`group:` and `group:*` do not).
async fn exists(rpc: &RpcContext, namespec: &str) -> bool {
    if let Some((_, process)) = namespec.split_once(':') {
        if process.is_empty() || process == "*" {
            return false;
        }
    }
    rpc.handle.process_info(namespec).await.is_ok()
}

/// Runs a page action and returns the message to show; none for an action the page
/// does not know (the reference then fails with 500).
async fn perform(rpc: &RpcContext, action: &str, namespec: Option<&str>) -> Option<String> {
    let h = &rpc.handle;
    match action {
        "refresh" => return Some(format!("Page refreshed at {}", ctime())),
        "stopall" => {
            let _ = h.stop_all(true).await;
            return Some(format!("All stopped at {}", ctime()));
        }
        "restartall" => {
            let _ = h.stop_all(true).await;
            let _ = h.start_all(true).await;
            return Some(format!("All restarted at {}", ctime()));
        }
        _ => {}
    }
    let namespec = namespec?;
    if !exists(rpc, namespec).await {
        return Some(format!("No such process named {namespec}"));
    }
    Some(match action {
        "start" => match h.start_process(namespec, true).await {
            Ok(()) => format!("Process {namespec} started"),
            Err(fault) => {
                let why = match &fault {
                    Fault::NoFile(_) => "no such file".to_string(),
                    Fault::NotExecutable(_) => "file not executable".to_string(),
                    Fault::AlreadyStarted(_) => "already started".to_string(),
                    Fault::SpawnError(_) => "spawn error".to_string(),
                    Fault::AbnormalTermination(_) => "abnormal termination".to_string(),
                    other => unexpected(other),
                };
                format!("ERROR: Process {namespec}: {why}")
            }
        },
        "stop" => match h.stop_process(namespec, true).await {
            Ok(()) => format!("Process {namespec} stopped"),
            Err(fault) => unexpected(&fault),
        },
        "restart" => {
            let _ = h.stop_process(namespec, true).await;
            let _ = h.start_process(namespec, true).await;
            format!("Process {namespec} restarted")
        }
        "clearlog" => match h.clear_process_logs(namespec).await {
            Ok(()) => format!("Log for {namespec} cleared"),
            Err(fault) => unexpected(&fault),
        },
        _ => return None,
    })
}

/// Bytes the tail view shows: at least 1024, more when `limit` asks for it.
fn tail_limit(limit: Option<&str>) -> u64 {
    let asked = limit
        .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
        .map(|l| l.parse::<u64>().unwrap_or(u64::MAX))
        .unwrap_or(1024);
    asked.max(1024)
}

async fn tail_text(rpc: &RpcContext, name: &str, limit: u64) -> String {
    let offset = -i64::try_from(limit).unwrap_or(i64::MAX);
    match read_process_log_text(rpc, name, Channel::Stdout, offset, 0).await {
        Ok(text) => text,
        Err(Fault::NoFile(_)) => format!("No file for {name}"),
        Err(fault) => format!("ERROR: {}", unexpected(&fault)),
    }
}

const DOCTYPE: &str = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \
     \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n";

/// The CSS class of a state's cell.
fn state_class(state: ProcessState) -> &'static str {
    match state {
        ProcessState::Running => "statusrunning",
        ProcessState::Backoff | ProcessState::Fatal => "statuserror",
        _ => "statusnominal",
    }
}

/// The action links of a row: (label, href, opens a new window).
fn actions(info: &ProcessInfo) -> Vec<(&'static str, String, bool)> {
    let name = quote(&info.namespec());
    let action = |label, verb: &str| {
        (
            label,
            format!("index.html?processname={name}&action={verb}"),
            false,
        )
    };
    let mut list = match info.state {
        ProcessState::Running => vec![action("Restart", "restart"), action("Stop", "stop")],
        ProcessState::Stopped | ProcessState::Exited | ProcessState::Fatal => {
            vec![action("Start", "start")]
        }
        _ => Vec::new(),
    };
    list.push(action("Clear Log", "clearlog"));
    list.push(("Tail -f Stdout", format!("logtail/{name}"), true));
    list.push(("Tail -f Stderr", format!("logtail/{name}/stderr"), true));
    list
}

/// The status page: buttons, the optional message box, one row per process (sorted as
/// given), or `No programs to manage`.
pub fn render_status(infos: &[ProcessInfo], message: Option<&str>, version: &str) -> String {
    let mut html = String::with_capacity(1024 + infos.len() * 900);
    html.push_str(DOCTYPE);
    html.push_str(
        "<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n<title>Supervisor Status</title>\n\
         <link href=\"stylesheets/supervisor.css\" rel=\"stylesheet\" type=\"text/css\" />\n\
         <link href=\"images/icon.png\" rel=\"icon\" type=\"image/png\" />\n</head>\n<body>\n\
         <div id=\"wrapper\">\n<div id=\"header\"><img alt=\"\" src=\"images/supervisor.gif\" />\
         <h1>Supervisor status</h1></div>\n",
    );
    if let Some(message) = message {
        html.push_str(&format!(
            "<div class=\"status_msg\">{}</div>\n",
            html_escape(message)
        ));
    }
    html.push_str(
        "<form action=\"index.html\" method=\"post\">\n<ul class=\"clr\" id=\"buttons\">\n\
         <li><a href=\"index.html?action=refresh\">Refresh</a></li>\n\
         <li><a href=\"index.html?action=restartall\">Restart All</a></li>\n\
         <li><a href=\"index.html?action=stopall\">Stop All</a></li>\n</ul>\n",
    );
    if infos.is_empty() {
        html.push_str("<p>No programs to manage</p>\n");
    } else {
        html.push_str(
            "<table>\n<thead><tr><th class=\"state\">State</th><th class=\"desc\">Description</th>\
             <th class=\"name\">Name</th><th class=\"action\">Action</th></tr></thead>\n<tbody>\n",
        );
        for (i, info) in infos.iter().enumerate() {
            let namespec = info.namespec();
            let shade = if i % 2 == 1 { " class=\"shade\"" } else { "" };
            html.push_str(&format!(
                "<tr{shade}>\n<td class=\"status\"><span class=\"{}\">{}</span></td>\n\
                 <td><span>{}</span></td>\n\
                 <td><a href=\"tail.html?processname={}\" target=\"_blank\">{}</a></td>\n\
                 <td class=\"action\"><ul>\n",
                state_class(info.state),
                info.state.name().to_lowercase(),
                html_escape(&info.description),
                html_escape(&quote(&namespec)),
                html_escape(&namespec),
            ));
            for (label, href, new_window) in actions(info) {
                let target = if new_window { " target=\"_blank\"" } else { "" };
                html.push_str(&format!(
                    "<li><a href=\"{}\" name=\"{label}\"{target}>{label}</a></li>\n",
                    html_escape(&href)
                ));
            }
            html.push_str("</ul></td>\n</tr>\n");
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str(&format!(
        "</form>\n</div>\n<div class=\"clr\" id=\"footer\">Supervisor <span>{}</span></div>\n\
         </body>\n</html>\n",
        html_escape(version)
    ));
    html
}

/// The tail page of process `name` (none: no name was given) showing `text`, with a
/// Refresh link asking for the same `limit`.
pub fn render_tail(name: Option<&str>, text: &str, limit: u64) -> String {
    let shown = name.unwrap_or("None");
    let mut html = String::with_capacity(text.len() + 1024);
    html.push_str(DOCTYPE);
    html.push_str(&format!(
        "<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n\
         <title>Supervisor tail of process {}</title>\n\
         <link href=\"stylesheets/supervisor.css\" rel=\"stylesheet\" type=\"text/css\" />\n\
         </head>\n<body>\n<div id=\"wrapper\">\n<pre>{}</pre>\n",
        html_escape(shown),
        html_escape(text)
    ));
    if let Some(name) = name {
        let href = format!("tail.html?processname={}&limit={limit}", quote(name));
        html.push_str(&format!(
            "<form action=\"index.html\" method=\"post\">\n\
             <p><a href=\"{}\">Refresh</a></p>\n</form>\n",
            html_escape(&href)
        ));
    }
    html.push_str("</div>\n</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(group: &str, name: &str, state: ProcessState, description: &str) -> ProcessInfo {
        ProcessInfo {
            name: name.into(),
            group: group.into(),
            start: 0,
            stop: 0,
            now: 0,
            state,
            spawnerr: String::new(),
            exitstatus: 0,
            stdout_logfile: String::new(),
            stderr_logfile: String::new(),
            pid: 0,
            description: description.into(),
        }
    }

    #[test]
    fn views_and_forms() {
        assert_eq!(view_for("/"), Some(View::Status));
        assert_eq!(view_for("//index.html"), Some(View::Status));
        assert_eq!(view_for("/tail.html"), Some(View::Tail));
        assert_eq!(view_for("/ok.html"), Some(View::Ok));
        assert_eq!(view_for("/images/icon.png"), None);
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        let form = Form::new(
            pairs(&[
                ("action", "stop"),
                ("action", "start"),
                ("processname", "a"),
            ]),
            pairs(&[("processname", "b"), ("processname", "c")]),
        );
        assert_eq!(form.get("action"), Some("stop"));
        assert_eq!(form.get("processname"), Some("c"));
        assert_eq!(form.get("message"), None);
    }

    #[test]
    fn server_urls_from_host_headers() {
        let cases = [
            (Some("127.0.0.1:9001"), "http://127.0.0.1:9001"),
            (Some(" example.org:80 "), "http://example.org"),
            (Some("example.org"), "http://example.org"),
            (Some("example.org:"), "http://example.org"),
            (None, "http://localhost"),
        ];
        for (host, want) in cases {
            assert_eq!(server_url(host), want, "{host:?}");
        }
    }

    #[test]
    fn tail_limits() {
        assert_eq!(tail_limit(None), 1024);
        assert_eq!(tail_limit(Some("10")), 1024);
        assert_eq!(tail_limit(Some("5000")), 5000);
        assert_eq!(tail_limit(Some("-5000")), 1024);
        assert_eq!(tail_limit(Some("x")), 1024);
        assert_eq!(tail_limit(Some("99999999999999999999999")), u64::MAX);
    }

    #[test]
    fn status_rows_carry_state_actions_and_escaped_text() {
        let rows = [
            info("grp", "ga", ProcessState::Running, "pid 5, uptime 0:00:01"),
            info("x", "x", ProcessState::Fatal, "can't find command '<x>'"),
            info("s", "s", ProcessState::Starting, ""),
        ];
        let html = render_status(&rows, Some("Process <a> started"), "4.3.0");
        for want in [
            "<div class=\"status_msg\">Process &lt;a&gt; started</div>",
            "<span class=\"statusrunning\">running</span>",
            "<a href=\"tail.html?processname=grp%3Aga\" target=\"_blank\">grp:ga</a>",
            "<a href=\"index.html?processname=grp%3Aga&amp;action=restart\" name=\"Restart\">Restart</a>",
            "<a href=\"index.html?processname=grp%3Aga&amp;action=stop\" name=\"Stop\">Stop</a>",
            "<a href=\"logtail/grp%3Aga/stderr\" name=\"Tail -f Stderr\" target=\"_blank\">",
            "<span class=\"statuserror\">fatal</span>",
            "can't find command '&lt;x&gt;'",
            "<a href=\"index.html?processname=x&amp;action=start\" name=\"Start\">Start</a>",
            "<span class=\"statusnominal\">starting</span>",
            "<tr class=\"shade\">",
            "Supervisor <span>4.3.0</span>",
        ] {
            assert!(html.contains(want), "missing {want:?} in\n{html}");
        }
        let starting = html.split("statusnominal").nth(1).unwrap_or_default();
        assert!(!starting.contains("action=start") && !starting.contains("action=stop"));
        assert!(render_status(&[], None, "4.3.0").contains("No programs to manage"));
        assert!(!render_status(&[], None, "4.3.0").contains("status_msg"));
    }

    #[test]
    fn tail_page() {
        let html = render_tail(Some("grp:a"), "x < y\n", 2048);
        assert!(html.contains("<title>Supervisor tail of process grp:a</title>"));
        assert!(html.contains("<pre>x &lt; y\n</pre>"));
        assert!(html.contains("href=\"tail.html?processname=grp%3Aa&amp;limit=2048\""));
        let html = render_tail(None, "No process name found", 1024);
        assert!(html.contains("<title>Supervisor tail of process None</title>"));
        assert!(!html.contains("Refresh"));
    }
}
