//! Parsing a 1,000-program configuration: ours (in-process `config::load`, and the
//! whole `supervisord --check` process) side by side with the pinned reference
//! (`ServerOptions.realize` in-process, and `python -c` doing the same as a process),
//! measured in one run, alternating, with the ratio ours/reference.
//!
//! Run with `cargo bench --bench config_parse`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use supervisor::config::{load, LoadOptions};

const PROGRAMS: usize = 1000;
const ROUNDS: usize = 7;

/// A realistic large file: groups of workers with numprocs, environments, log
/// settings, expansions.
fn write_config(dir: &Path) -> PathBuf {
    let mut text = String::from(
        "[supervisord]\nlogfile=%(here)s/sd.log\npidfile=%(here)s/sd.pid\n\
         environment=APP_ENV=\"production\",REGION=eu\n\n\
         [unix_http_server]\nfile=%(here)s/s.sock\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n",
    );
    for i in 0..PROGRAMS / 4 {
        text.push_str(&format!(
            "[program:worker{i}]\n\
             command=/usr/bin/env python3 -m worker --queue q{i} --id %(process_num)02d ; comment\n\
             process_name=%(program_name)s_%(process_num)02d\n\
             numprocs=4\n\
             directory=/tmp\n\
             environment=QUEUE=\"q{i}\",SLOT=\"%(process_num)d\"\n\
             stdout_logfile=%(here)s/%(program_name)s-%(process_num)s.log\n\
             stdout_logfile_maxbytes=10MB\n\
             stderr_logfile=AUTO\n\
             autorestart=unexpected\n\
             exitcodes=0,2\n\
             stopsignal=INT\n\
             stopwaitsecs=30\n\
             priority={}\n\n",
            100 + i % 10
        ));
    }
    let path = dir.join("big.conf");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let dir = support::temp_dir("config-bench");
    let path = write_config(dir.path());
    let python = support::reference_python();
    let options = LoadOptions::from_process();
    let reference_in_process = format!(
        "import sys, time\n\
         from supervisor.options import ServerOptions\n\
         best = []\n\
         for _ in range(3):\n\
         \x20   t = time.perf_counter(); o = ServerOptions(); o.realize(args=['-c', {path:?}])\n\
         \x20   best.append(time.perf_counter() - t)\n\
         assert sum(len(g.process_configs) for g in o.process_group_configs) == {PROGRAMS}\n\
         print(sorted(best)[1])\n",
        path = path.display().to_string()
    );
    let supervisord = PathBuf::from(env!("CARGO_BIN_EXE_supervisord"));

    let (mut ours, mut theirs, mut ours_proc, mut theirs_proc) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let config = load(&path, &options).unwrap_or_else(|e| panic!("{e}"));
        ours.push(t.elapsed());
        assert_eq!(config.process_count(), PROGRAMS);

        let out = Command::new(&python)
            .arg("-c")
            .arg(&reference_in_process)
            .output()
            .unwrap_or_else(|e| panic!("cannot run the reference: {e}"));
        assert!(out.status.success(), "{}", support::describe_output(&out));
        let seconds: f64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("reference timing: {e}"));
        theirs.push(Duration::from_secs_f64(seconds));

        let t = Instant::now();
        let out = Command::new(&supervisord)
            .args(["-c", &path.display().to_string(), "--check"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        ours_proc.push(t.elapsed());
        assert!(out.status.success(), "{}", support::describe_output(&out));

        let t = Instant::now();
        let out = Command::new(&python)
            .args([
                "-c",
                &format!(
                    "from supervisor.options import ServerOptions; ServerOptions().realize(args=['-c', {:?}])",
                    path.display().to_string()
                ),
            ])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        theirs_proc.push(t.elapsed());
        assert!(out.status.success(), "{}", support::describe_output(&out));
    }
    println!(
        "config parse, {PROGRAMS} processes ({} sections), {ROUNDS} rounds, medians:",
        PROGRAMS / 4
    );
    let (a, b) = (median(ours), median(theirs));
    println!(
        "  in-process:   ours {:8.2} ms   reference {:8.2} ms   ours/reference {:.3}",
        ms(a),
        ms(b),
        a.as_secs_f64() / b.as_secs_f64()
    );
    let (a, b) = (median(ours_proc), median(theirs_proc));
    println!(
        "  whole process: ours {:7.2} ms   reference {:8.2} ms   ours/reference {:.3}",
        ms(a),
        ms(b),
        a.as_secs_f64() / b.as_secs_f64()
    );
}
