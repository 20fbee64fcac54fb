//! The simulator as an engine: explored actions per second (drawn cases, invariants
//! checked after every step) and full honest flows per second (discover → register →
//! authorize → token → 10 tool calls → refresh), one core.
//! Run: `cargo bench -p mcp-authz-benches --bench explore`.
#![allow(missing_docs)]

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

fn flows(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulator");
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

criterion_group!(benches, flows);
criterion_main!(benches);
