//! Fuzz target: any bytes, read as a `supervisord.conf`, must give a model or errors,
//! never a panic, a hang or a crash.
//!
//! Calls the library entry point (`supervisor::config::load_str`) with deterministic
//! options. The main file's directory does not exist, so relative `[include]` globs
//! match nothing and no run depends on what an earlier run left on disk.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use supervisor::config::{load_str, LoadOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if may_ask_for_a_huge_numprocs(&text) {
        return;
    }
    let here = Path::new("/nonexistent/supervisor-fuzz");
    let options = LoadOptions::for_test(here);
    match load_str(&text, &here.join("supervisord.conf"), &options) {
        // Serializing walks every value of the model, as --print-config does.
        Ok(config) => drop(serde_json::to_string(&config)),
        // Rendering walks every error, as supervisord's stderr report does.
        Err(errors) => drop(errors.to_string()),
    }
});

/// `numprocs=872999` is a valid configuration that, exactly as in the reference, builds
/// that many process entries: seconds of work and hundreds of megabytes, which libFuzzer
/// reports as a timeout or out-of-memory although nothing is wrong. Such inputs are
/// skipped: those naming `numprocs` with a number of 4 digits or more anywhere (Python's
/// `int()` also takes `_` separators and non-ASCII digits), or an `%(ENV_…)` expansion
/// (the only way to compute a number under these options). Smaller `numprocs` values
/// are still fuzzed.
fn may_ask_for_a_huge_numprocs(text: &str) -> bool {
    let lower = text.to_lowercase();
    if !lower.contains("numprocs") {
        return false;
    }
    let mut digits = 0;
    for c in lower.chars() {
        digits = match c {
            '_' => digits,
            c if c.is_numeric() => digits + 1,
            _ => 0,
        };
        if digits >= 4 {
            return true;
        }
    }
    lower.contains("%(env_")
}
