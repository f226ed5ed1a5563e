//! Micro-benchmarks of the pure hot paths behind W4 and start-up: the XML-RPC codec on
//! a 500-process `getAllProcessInfo` reply (building and encoding it, as the server
//! does; decoding it, as `supervisorctl status` does) and `config::load_str` of a
//! medium configuration. The side-by-side figures against the reference are the
//! suite's (`cargo bench --bench suite`) and `config_parse`'s; these are ours alone.
//!
//! Run with `cargo bench --bench codecs`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use supervisor::config::{load_str, LoadOptions};
use supervisor::process::ProcessState;
use supervisor::rpc::methods::process_info_value;
use supervisor::rpc::xmlrpc::{decode_response, encode_response, Value};
use supervisor::supervisor::ProcessInfo;

const PROCESSES: usize = 500;
const MEDIUM_PROGRAMS: usize = 40;

/// What `getAllProcessInfo` holds for 500 running programs with AUTO logs.
fn process_infos() -> Vec<ProcessInfo> {
    (0..PROCESSES)
        .map(|i| ProcessInfo {
            name: format!("worker_{i:03}"),
            group: format!("worker_{i:03}"),
            start: 1_767_225_600,
            stop: 0,
            now: 1_767_229_200,
            state: ProcessState::Running,
            spawnerr: String::new(),
            exitstatus: 0,
            stdout_logfile: format!(
                "/var/log/supervisor/worker_{i:03}-stdout---supervisor-a1b2c3d4.log"
            ),
            stderr_logfile: format!(
                "/var/log/supervisor/worker_{i:03}-stderr---supervisor-e5f6a7b8.log"
            ),
            pid: 10_000 + i as u32,
            description: format!("pid {}, uptime 1:00:00", 10_000 + i),
        })
        .collect()
}

fn encode(infos: &[ProcessInfo]) -> String {
    encode_response(&Value::Array(
        infos.iter().map(process_info_value).collect(),
    ))
}

/// A configuration of the size a small site has: a few groups, numprocs, environments,
/// log settings and expansions.
fn medium_config() -> String {
    let mut text = String::from(
        "[supervisord]\nlogfile=%(here)s/supervisord.log\npidfile=%(here)s/supervisord.pid\n\
         childlogdir=%(here)s/logs\nenvironment=APP_ENV=\"production\",REGION=eu\n\n\
         [unix_http_server]\nfile=%(here)s/supervisor.sock\nchmod=0770\n\n\
         [inet_http_server]\nport=127.0.0.1:9001\nusername=admin\n\
         password={SHA}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://%(here)s/supervisor.sock\n\n",
    );
    for i in 0..MEDIUM_PROGRAMS {
        text.push_str(&format!(
            "[program:app{i}]\n\
             command=/usr/bin/env python3 -m app.worker --queue q{i} --slot %(process_num)d\n\
             process_name=%(program_name)s_%(process_num)02d\n\
             numprocs=2\n\
             directory=%(here)s\n\
             environment=QUEUE=\"q{i}\",SLOT=\"%(process_num)d\",HOME=\"%(here)s\"\n\
             stdout_logfile=%(here)s/logs/%(program_name)s-%(process_num)s.log\n\
             stdout_logfile_maxbytes=10MB\n\
             redirect_stderr=true\n\
             autorestart=unexpected\n\
             exitcodes=0,2\n\
             stopsignal=INT\n\
             stopwaitsecs=30\n\
             priority={}\n\n",
            100 + i % 5
        ));
    }
    text.push_str("[group:apps]\nprograms=");
    let members: Vec<String> = (0..MEDIUM_PROGRAMS / 2)
        .map(|i| format!("app{i}"))
        .collect();
    text.push_str(&members.join(","));
    text.push('\n');
    text
}

fn xmlrpc(c: &mut Criterion) {
    let infos = process_infos();
    let body = encode(&infos);
    let mut group = c.benchmark_group("xmlrpc_getAllProcessInfo_500");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("build_and_encode", |b| b.iter(|| encode(black_box(&infos))));
    group.bench_function("decode", |b| {
        b.iter(|| decode_response(black_box(body.as_bytes())))
    });
    group.finish();
}

fn config(c: &mut Criterion) {
    let text = medium_config();
    let options = LoadOptions::from_process();
    // Log paths must name existing directories, as for the reference.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
    std::fs::create_dir(dir.path().join("logs"))
        .unwrap_or_else(|e| panic!("cannot create the logs directory: {e}"));
    let source = dir.path().join("supervisord.conf");
    let source = source.as_path();
    let loaded = load_str(&text, source, &options)
        .unwrap_or_else(|e| panic!("the medium configuration must load: {e}"));
    assert_eq!(loaded.process_count(), 2 * MEDIUM_PROGRAMS);
    let mut group = c.benchmark_group("config");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function(format!("load_str_{}_processes", 2 * MEDIUM_PROGRAMS), |b| {
        b.iter(|| load_str(black_box(&text), source, &options))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = xmlrpc, config
}
criterion_main!(benches);
