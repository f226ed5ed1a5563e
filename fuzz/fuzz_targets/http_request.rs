//! The request-facing text parsing of the HTTP servers on arbitrary input: the Basic
//! authorization header, `/logtail` paths, query strings and forms, the Host header of
//! redirects, and URL quoting (which must round-trip through percent-decoding).
#![no_main]

use libfuzzer_sys::fuzz_target;
use supervisor::rpc::logtail::parse_logtail_path;
use supervisor::rpc::server::check_authorization;
use supervisor::rpc::urlcode::{html_escape, parse_form, percent_decode, quote};
use supervisor::rpc::web::{server_url, view_for, Form};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = check_authorization(&text, "user", "123");
    let _ = check_authorization(
        &text,
        "user",
        "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d",
    );
    let _ = parse_logtail_path(&text);
    let _ = view_for(&text);
    let _ = server_url(Some(&text));
    let pairs = parse_form(&text);
    let form = Form::new(pairs.clone(), pairs);
    let _ = form.get("processname");
    let escaped = html_escape(&text);
    assert!(!escaped.contains('<') && !escaped.contains('"'));
    assert_eq!(percent_decode(&quote(&text)), text);
});
