//! `jsonwebtoken` on its other backend, `rust_crypto` (pure Rust), on the same tokens and
//! checks as the `validation` bench. A process picks one backend, hence its own bench.
//! Run: `cargo bench -p mcp-authz-benches --bench peers_rust_crypto`.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_authz_benches::cpu_time::ThreadCpuTime;
use mcp_authz_benches::peers::JsonWebToken;
use mcp_authz_benches::{ALGORITHMS, fixture};
use std::hint::black_box;

fn rust_crypto(c: &mut Criterion<ThreadCpuTime>) {
    JsonWebToken::install(&jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER);
    for alg in ALGORITHMS {
        let f = fixture(alg);
        let peer = JsonWebToken::new(&f);
        assert!(peer.validate(&f.token), "jsonwebtoken accepts the fixture token");
        let mut g = c.benchmark_group(alg.name());
        g.bench_function("jsonwebtoken rust-crypto", |b| b.iter(|| peer.validate(black_box(&f.token))));
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = mcp_authz_benches::cpu_time::criterion();
    targets = rust_crypto
}
criterion_main!(benches);
