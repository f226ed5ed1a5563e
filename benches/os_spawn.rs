//! Spawn throughput of `supervisor::os`: fork + exec of `/bin/true` + reap, one at a time
//! and in bursts of 100, with the owned (pidfd) and the global (SIGCHLD) reaper.
//! The rate is 1 / time per spawn (a burst's time divided by 100). `parent_side_only`
//! times just `Reaper::spawn` (pipes, fork, registration): how long the core is busy per
//! spawn while the children exec and exit on other cores.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use supervisor::os::reap::{Reaped, Reaper};
use supervisor::os::spawn::SpawnSpec;
use tokio::sync::mpsc::UnboundedReceiver;

const BURST: u64 = 100;

fn true_spec() -> SpawnSpec {
    let command = supervisor::os::resolve("true", Some("/bin:/usr/bin")).expect("true exists");
    SpawnSpec::new("bench", &command, [("PATH", "/bin:/usr/bin")]).expect("spec")
}

async fn spawn_and_reap(
    reaper: &Reaper,
    events: &mut UnboundedReceiver<Reaped>,
    spec: &SpawnSpec,
    count: u64,
) {
    for _ in 0..count {
        reaper.spawn(spec).expect("spawn");
    }
    for _ in 0..count {
        events.recv().await.expect("reaped");
    }
}

fn bench_reaper(
    c: &mut Criterion,
    label: &str,
    make: fn() -> std::io::Result<(Reaper, UnboundedReceiver<Reaped>)>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (reaper, mut events) = runtime.block_on(async { make() }).expect("reaper");
    let spec = true_spec();
    let mut group = c.benchmark_group(format!("spawn_{label}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_at_a_time", |b| {
        b.iter(|| runtime.block_on(spawn_and_reap(&reaper, &mut events, &spec, 1)))
    });
    group.throughput(Throughput::Elements(BURST));
    group.bench_function("burst_of_100", |b| {
        b.iter(|| runtime.block_on(spawn_and_reap(&reaper, &mut events, &spec, BURST)))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("parent_side_only", |b| {
        b.iter_custom(|iterations| {
            let start = std::time::Instant::now();
            for _ in 0..iterations {
                reaper.spawn(&spec).expect("spawn");
            }
            let elapsed = start.elapsed();
            runtime.block_on(async {
                for _ in 0..iterations {
                    events.recv().await.expect("reaped");
                }
            });
            elapsed
        })
    });
    group.finish();
}

fn spawn_owned(c: &mut Criterion) {
    bench_reaper(c, "owned", Reaper::owned);
}

fn spawn_global(c: &mut Criterion) {
    bench_reaper(c, "global", Reaper::global);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = spawn_owned, spawn_global
}
criterion_main!(benches);
