//! Per-request validation cost, per algorithm, side by side in one run: the raw
//! signature check (the floor), our full validator (signature, `typ`, `iss`, `aud`,
//! `exp`/`nbf`, required claims, scope) with the key cached, the same validator when the
//! key is re-parsed from the JWKS on every request (an anti-pattern), and
//! `jsonwebtoken` on its `aws_lc_rs` backend with the key built once (a peer).
//! Then DPoP (RFC 9449) per proof algorithm, token ES256: two raw verifies (the token's
//! signature and the proof's) against the full check of a DPoP request at the resource
//! server, a fresh proof per iteration signed outside the timed routine, the replay
//! cache full (and the same with a new client key per request, the parsed-key cache
//! missing); and the `jti` replay cache alone, a new `jti` into 4096 and 10⁵ live
//! entries.
//! Run: `cargo bench -p mcp-authz-benches --bench validation`; then
//! `cargo run -p mcp-authz-benches --release --bin bench-summary` prints the table.
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mcp_authz_benches::cpu_time::ThreadCpuTime;
use mcp_authz_benches::dpop::{self, KEEP, LIVE_JTIS, PROOF_ALGORITHMS, TOKEN_ALGORITHM};
use mcp_authz_benches::peers::JsonWebToken;
use mcp_authz_benches::{ALGORITHMS, AUDIENCE, Fixture, ISSUER, NOW, SCOPE, fixture};
use mcp_authz_reference::access_token::Validator;
use mcp_authz_reference::jwt::{self, Algorithm, Jwks, KeySet};
use std::hint::black_box;

/// The full check a resource server makes for a `tools/call` needing [`SCOPE`].
fn validate(v: &Validator, token: &str) -> bool {
    v.validate(token, NOW).is_ok_and(|c| c.has_scope(SCOPE))
}

/// The anti-pattern: the JWKS document (as cached bytes) parsed, and its key imported,
/// for every request.
fn validate_reparsing_key(jwks: &[u8], token: &str) -> bool {
    let Ok(keys) = Jwks::parse(jwks).and_then(|j| KeySet::from_jwks(&j)) else { return false };
    validate(&Validator::new(ISSUER, AUDIENCE, keys), token)
}

fn group(c: &mut Criterion<ThreadCpuTime>, f: &Fixture) {
    let parts = jwt::split(&f.token).expect("token");
    let key = f.validator.keys.get(mcp_authz_benches::KID).expect("key");
    assert!(key.verify(parts.signing_input.as_bytes(), &parts.signature).is_ok());
    assert!(validate(&f.validator, &f.token), "the fixture token validates");
    let peer = JsonWebToken::new(f);
    assert!(peer.validate(&f.token), "jsonwebtoken accepts the fixture token");

    let mut g = c.benchmark_group(f.alg.name());
    g.bench_function("raw verify", |b| {
        b.iter(|| key.verify(black_box(parts.signing_input.as_bytes()), black_box(&parts.signature)))
    });
    g.bench_function("validator", |b| b.iter(|| validate(&f.validator, black_box(&f.token))));
    if f.alg != Algorithm::HS256 {
        let jwks = serde_json::to_vec(&f.jwks).expect("jwks");
        assert!(validate_reparsing_key(&jwks, &f.token));
        g.bench_function("validator, key parsed per request", |b| {
            b.iter(|| validate_reparsing_key(black_box(&jwks), black_box(&f.token)))
        });
    }
    g.bench_function("jsonwebtoken aws-lc-rs", |b| b.iter(|| peer.validate(black_box(&f.token))));
    g.finish();
}

/// Two raw verifies against the full check of a DPoP request with a `proof_alg` proof.
fn dpop_group(c: &mut Criterion<ThreadCpuTime>, proof_alg: Algorithm) {
    let mut f = dpop::Fixture::new(proof_alg);
    let first = f.client.request();
    assert!(f.floor.verify(&first) && f.server.check_request(&first), "the fixture request is accepted");
    assert!(!f.server.check_request(&first), "its replay is refused");
    f.fill_replay_cache();
    let dpop::Fixture { client, floor, server } = &mut f;
    let mut g = c.benchmark_group(dpop::group(proof_alg));
    g.bench_function("two raw verifies", |b| {
        b.iter_batched_ref(|| client.request(), |r| floor.verify(black_box(r)), BatchSize::SmallInput)
    });
    g.bench_function("full check", |b| {
        b.iter_batched_ref(
            || client.request(),
            |r| assert!(server.check_request(black_box(r)), "a fresh proof is accepted"),
            BatchSize::SmallInput,
        )
    });
    // Every request from a client (key, and token bound to it) the server has not seen:
    // the proof key is parsed, not found in the server's cache of parsed keys.
    g.bench_function("full check, a new client key", |b| {
        b.iter_batched_ref(
            || {
                client.rekey();
                client.request()
            },
            |r| assert!(server.check_request(black_box(r)), "a fresh proof is accepted"),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// A new `jti` (looked up, then remembered) into a full replay cache of `live` entries.
fn replay_cache(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group(dpop::REPLAY_GROUP);
    for live in [mcp_authz_reference::dpop::REPLAY_CAPACITY, LIVE_JTIS] {
        let (mut cache, mut key) = dpop::replay_cache(live);
        g.bench_function(dpop::replay_bench(live), |b| {
            b.iter_batched_ref(
                &mut key,
                |k| assert!(cache.remember(black_box(k), NOW, KEEP), "a new jti is remembered"),
                BatchSize::SmallInput,
            )
        });
        assert_eq!(cache.len(), live, "the cache stayed full");
    }
    g.finish();
}

fn validation(c: &mut Criterion<ThreadCpuTime>) {
    JsonWebToken::install(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);
    for alg in ALGORITHMS {
        group(c, &fixture(alg));
    }
    assert_eq!(TOKEN_ALGORITHM, Algorithm::ES256, "the DPoP groups are named for an ES256 token");
    for alg in PROOF_ALGORITHMS {
        dpop_group(c, alg);
    }
    replay_cache(c);
}

criterion_group! {
    name = benches;
    config = mcp_authz_benches::cpu_time::criterion();
    targets = validation
}
criterion_main!(benches);
