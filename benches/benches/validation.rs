//! Per-request validation cost: the raw signature check (the floor) against the full
//! validator, per algorithm. Run: `cargo bench -p mcp-authz-benches`.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_authz_benches::{NOW, fixture};
use mcp_authz_reference::jwt::{self, Algorithm, KeySet};
use std::hint::black_box;
use std::time::Duration;

fn validation(c: &mut Criterion) {
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        let f = fixture(alg);
        let keys = KeySet::from_jwks(&f.key.public_jwks()).expect("jwks");
        let parts = jwt::split(&f.token).expect("token");
        let key = keys.get("bench-key").expect("key");
        let mut g = c.benchmark_group(alg.name());
        g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
        g.bench_function("raw verify", |b| {
            b.iter(|| key.verify(black_box(parts.signing_input.as_bytes()), black_box(&parts.signature)))
        });
        g.bench_function("validator", |b| b.iter(|| f.validator.validate(black_box(&f.token), NOW)));
        g.finish();
    }
}

criterion_group!(benches, validation);
criterion_main!(benches);
