//! The whole request path: a `tools/call` of `echo` through the reference MCP server's
//! sans-IO `handle`, in-process, with a valid token, against the same request with
//! validation skipped (`McpServer::handle_prevalidated`, a benchmarks-only entry point
//! behind the `prevalidated` feature): the share of a request's cost that validation
//! takes. Then, in the simulator, the anti-patterns that cost a round trip: the JWKS
//! fetched for every request, and introspection (RFC 7662) of every token.
//! Run: `cargo bench -p mcp-authz-benches --bench request_path`.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mcp_authz_benches::cpu_time::ThreadCpuTime;
use mcp_authz_benches::sim::{INTROSPECTING, LOCAL, SimBench};
use mcp_authz_benches::{AUDIENCE, Fixture, ISSUER, NOW, fixture};
use mcp_authz_reference::access_token::Validator;
use mcp_authz_reference::jwt::{Algorithm, KeySet};
use mcp_authz_reference::mcp_server::{Config, McpServer};
use mcp_authz_reference::sans_io::{Env, FetchResult, Request, Response, Service, Step, drive};
use mcp_authz_scenarios::world::AS;
use rand_core::SeedableRng;

/// A JSON-RPC POST to the benchmark audience.
fn post(token: &str, session: Option<&str>, body: &'static str) -> Request {
    let mut b = http::Request::post(AUDIENCE)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"));
    if let Some(s) = session {
        b = b.header("mcp-session-id", s).header("mcp-protocol-version", "2025-11-25");
    }
    b.body(Bytes::from_static(body.as_bytes())).expect("request")
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
const CALL: &str =
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;

/// The answer to a step that must not fetch (keys are cached by then).
fn respond(step: Step<impl Sized>) -> Response {
    match step {
        Step::Respond(r) => r,
        Step::Fetch { .. } => panic!("the server fetched although its keys are cached"),
    }
}

fn in_process(c: &mut Criterion<ThreadCpuTime>, f: &Fixture) {
    let mut server = McpServer::new(Config::new(AUDIENCE, ISSUER)).expect("config");
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let mut env = Env::new(NOW, &mut rng);
    let jwks = serde_json::to_vec(&f.jwks).expect("jwks");
    let serve_jwks = |_: Request| -> FetchResult {
        let mut r = Response::new(Bytes::from(jwks.clone()));
        r.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
        Ok(r)
    };
    let init = drive(&mut server, post(&f.token, None, INITIALIZE), &mut env, serve_jwks);
    let session = init.headers()["mcp-session-id"].to_str().expect("session id").to_string();
    let call = || post(&f.token, Some(&session), CALL);
    assert_eq!(respond(server.handle(call(), &mut env)).status(), 200);
    assert_eq!(respond(server.handle_prevalidated(call(), f.claims.clone(), &mut env)).status(), 200);

    let mut g = c.benchmark_group(format!("request path {}", f.alg));
    g.bench_function("tools/call, token validated", |b| {
        b.iter_batched(call, |r| respond(server.handle(r, &mut env)), BatchSize::SmallInput)
    });
    g.bench_function("tools/call, validation skipped", |b| {
        b.iter_batched(
            || (call(), f.claims.clone()),
            |(r, claims)| respond(server.handle_prevalidated(r, claims, &mut env)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn simulated(c: &mut Criterion<ThreadCpuTime>) {
    let mut s = SimBench::new();
    let mut g = c.benchmark_group("simulator EdDSA");
    g.bench_function("tools/call, local validation", |b| b.iter(|| assert_eq!(s.call(LOCAL), 200)));
    g.bench_function("tools/call, introspection per request", |b| {
        b.iter(|| assert_eq!(s.call(INTROSPECTING), 200))
    });
    let token = s.local.0.clone();
    let keys =
        KeySet::from_jwks(&s.world.authorization_server().expect("the simulated AS").jwks()).expect("jwks");
    let cached = Validator::new(AS, LOCAL, keys);
    let now = s.world.now();
    g.bench_function("validation, key cached", |b| b.iter(|| cached.validate(&token, now).is_ok()));
    g.bench_function("validation, jwks fetched per request", |b| {
        b.iter(|| assert!(s.validate_after_jwks_fetch()))
    });
    g.finish();
}

fn request_path(c: &mut Criterion<ThreadCpuTime>) {
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        in_process(c, &fixture(alg));
    }
    simulated(c);
}

criterion_group! {
    name = benches;
    config = mcp_authz_benches::cpu_time::criterion();
    targets = request_path
}
criterion_main!(benches);
