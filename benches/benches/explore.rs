//! The simulator as an engine: explored actions per second (drawn cases, invariants
//! checked after every step) and full honest flows per second (discover → register →
//! authorize → token → 10 tool calls → refresh), one core.
//!
//! Each is measured twice: in wall-clock time (group `simulator`) and in the on-CPU time
//! of the benchmark thread (group `simulator-cpu`, from Linux's
//! `/proc/thread-self/schedstat`), which is the figure per core when other processes
//! share the machine.
//! Run: `cargo bench -p mcp-authz-benches --bench explore`.
#![allow(missing_docs)]

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcp_authz_reference::client::Operation;
use mcp_authz_reference::defects::Defects;
use mcp_authz_scenarios::World;
use mcp_authz_scenarios::explore::{Explorer, Settings};
use mcp_authz_scenarios::world::MCP;
use std::time::Duration;

/// One full honest flow in `world`: a new client discovers, registers, authorizes,
/// redeems the code, calls `echo` ten times in one session, then refreshes.
fn honest_flow(world: &mut World, n: u64) {
    let mut client = world.public_client(MCP);
    let name = format!("bench{n}");
    for _ in 0..10 {
        let op = Operation::CallTool { name: "echo".into(), arguments: serde_json::json!({"text": "hi"}) };
        world.run_client(&name, &mut client, op).expect("the call completes");
    }
    world.run_client_step(&name, &mut client, |c, env| c.refresh(env)).expect("the refresh completes");
}

/// The benchmark thread's on-CPU time, in nanoseconds (`None` off Linux).
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Criterion measurement of the time the benchmark thread spent on a CPU: waiting for a
/// core that other processes hold is not counted. The kernel updates it at least every
/// scheduler tick, well under a sample's length here.
struct ThreadCpuTime;

/// Wall time's formatter, for durations.
static WALL: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = Duration;

    fn start(&self) -> u64 {
        thread_cpu_ns().unwrap_or(0)
    }
    fn end(&self, start: u64) -> Duration {
        Duration::from_nanos(thread_cpu_ns().unwrap_or(0).saturating_sub(start))
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, d: &Duration) -> f64 {
        d.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

fn wall(c: &mut Criterion) {
    flows(c, "simulator");
}

fn cpu(c: &mut Criterion<ThreadCpuTime>) {
    if thread_cpu_ns().is_none() {
        eprintln!("simulator-cpu: skipped, /proc/thread-self/schedstat is not readable here");
        return;
    }
    flows(c, "simulator-cpu");
}

fn flows<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let mut g = c.benchmark_group(group);
    g.measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    g.throughput(Throughput::Elements(1));
    g.bench_function("full honest flow", |b| {
        let mut world = World::new(1, &Defects::none()).expect("world");
        let mut n = 0;
        b.iter(|| {
            n += 1;
            honest_flow(&mut world, n);
        })
    });

    let explorer = Explorer::new(Settings::default());
    let cases: Vec<_> = (0..50).map(|k| explorer.draw(k).expect("case")).collect();
    let actions: usize = cases.iter().map(|c| c.actions.len()).sum();
    g.throughput(Throughput::Elements(actions as u64));
    g.bench_function(format!("explore 50 cases ({actions} actions)"), |b| {
        b.iter(|| {
            for case in &cases {
                let outcome = case.run().expect("case runs");
                assert!(outcome.violation.is_none());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, wall);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu
}
criterion_main!(benches, cpu_benches);
