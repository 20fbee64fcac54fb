//! The live path end to end, without ports for the server under test: the reference MCP
//! server's router plugged in-process as the server under test, trusting the harness's
//! authorization server. Correct, every MCP server scenario passes (but those the live
//! path cannot run: [`NOT_LIVE`]); with each MCP server defect, exactly the cases fail
//! that fail in the simulator — the live path reports the right cases. The defects of a
//! server that speaks only 2026-07-28 are run against the reference server in that mode.

mod common;

use mcp_authz_live::fetch::Fetcher;
use mcp_authz_live::runs as live;
use mcp_authz_live::serve::{Served, system_now};
use mcp_authz_live::target::{self, Limits};
use mcp_authz_live::test_authority::TestAuthority;
use mcp_authz_live::tokens::TokenSource;
use mcp_authz_reference::defects::{Defect, DefectRole, Defects};
use mcp_authz_reference::mcp_server::{self, McpServer};
use mcp_authz_scenarios::world::OTHER_MCP;
use mcp_authz_scenarios::{catalog, mcp_server_scenarios};
use mcp_authz_sim::scenario::{CaseResult, Verdict};
use std::collections::BTreeMap;

/// https, as a deployed server's resource identifier is (RFC 9728 §2): in-process, no TLS
/// is involved.
const URL: &str = "https://server-under-test.test/mcp";

/// Defects only the simulator can see: the server's outbound calls, and a DPoP nonce
/// kept past its lifetime (only the simulated server's nonce lifetime is known, so only
/// there does RS-DPOP-10 send a stale one).
const SIMULATOR_ONLY: &[Defect] = &[Defect::TokenPassthrough, Defect::DpopNonceNeverStale];

/// Cases only a live run catches. `caller-from-earlier-request` serves a tokenless or
/// invalid-token request on the connection of the last authorized one: live, every party
/// of a case (client, attacker) shares the harness's one connection, so the attacker's
/// requests of RS-SESS-01 and RS-AUD-04 follow an authorized request on it; in the
/// simulator each party has its own connection.
const LIVE_ALSO: &[(Defect, &[&str])] = &[(Defect::CallerFromEarlierRequest, &["RS-AUD-04", "RS-SESS-01"])];

/// Defects of a server that speaks only 2026-07-28: run against the reference server in
/// that mode (`Config::legacy` false).
const MODERN_ONLY: &[Defect] = &[Defect::InitializeErrorNamesNoVersion, Defect::LegacyTransportNotRefused];

/// The cases the live path skips against the (dual-era) reference server: passthrough
/// (see [`SIMULATOR_ONLY`]), and what only a 2026-07-28-only server owes.
const NOT_LIVE: &[&str] = &["RS-PASS-01", "RS-WIRE-05", "RS-WIRE-06"];

/// Runs the MCP server scenarios in-process against the reference server (offering the
/// state handle and two-scope tools too) with `defects`; `scopes` as the operator would
/// give them (`--scopes`), else probed; the state handle tools named as
/// `--state-handle-tools open_cart,cart_show:cart` names them, with `--capability-tool
/// confirm_action` and `--broader-scope mcp:admin` (its hierarchy: `mcp:admin` implies
/// `mcp:read`).
fn run_against(
    runtime: &tokio::runtime::Runtime,
    authority: &TestAuthority,
    defects: Defects,
    scopes: &BTreeMap<String, String>,
) -> Vec<CaseResult> {
    run_wrapped(runtime, authority, defects, scopes, |router| router)
}

/// [`run_against`], the server's router wrapped by `wrap`.
fn run_wrapped(
    runtime: &tokio::runtime::Runtime,
    authority: &TestAuthority,
    defects: Defects,
    scopes: &BTreeMap<String, String>,
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> Vec<CaseResult> {
    let mut config = mcp_server::Config::new(URL, authority.issuer());
    config.tools.extend(mcp_server::ToolConfig::two_scopes());
    config.tools.extend(mcp_server::ToolConfig::state_handles());
    config.tools.extend(mcp_server::ToolConfig::needing_elicitation());
    config.scope_implies.push(("mcp:admin".into(), "mcp:read".into()));
    // As the simulated server: DPoP proofs must carry its nonce (RS-DPOP-10 judges it).
    config.dpop.require_nonce = true;
    config.legacy = !defects.iter().any(|d| MODERN_ONLY.contains(&d));
    config.defects = defects;
    let router = wrap(Served::new(McpServer::new(config).unwrap(), Fetcher::trusted().unwrap()).router());
    let connect = target::in_process(router, runtime.handle().clone(), Limits::default());
    let state_handles = live::StateHandleTools {
        open: "open_cart".into(),
        show: "cart_show".into(),
        argument: "cart".into(),
    };
    let hints = live::ToolHints {
        scopes: scopes.clone(),
        state_handles: Some(state_handles),
        capability_tool: Some("confirm_action".into()),
        broader_scope: Some("mcp:admin".into()),
        dpop: true,
    };
    let run = live::test_server(
        URL,
        &TokenSource::Harness(authority.clone()),
        connect,
        &hints,
        &mcp_server_scenarios(&catalog()),
        None,
        &system_now,
        |_| {},
    );
    assert_eq!(run.setup_error, None);
    run.results
}

/// The cases a run fails, warns or errs, but those [`NOT_LIVE`] skips.
fn not_passing(results: &[CaseResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| {
            !(r.verdict == Verdict::Pass || (NOT_LIVE.contains(&r.meta.id) && r.verdict == Verdict::Skip))
        })
        .map(|r| format!("{} {}: {}\n  {}", r.meta.id, r.verdict, r.detail, r.evidence.join("\n  ")))
        .collect()
}

/// A JSON-RPC answer re-sent as an event stream the way MCP 2025-11-25 servers send one:
/// a priming event (an event ID and an empty `data` field), a comment, a `retry`, then the
/// answer split over two `data` lines, with CRLF line ends.
async fn as_primed_event_stream(response: axum::response::Response) -> axum::response::Response {
    use http_body_util::BodyExt as _;
    let json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let (mut parts, body) = response.into_parts();
    let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).to_string();
    if !json || !text.contains("\"jsonrpc\"") {
        return axum::response::Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    // Split between two JSON tokens (after the first comma, which follows the id): the
    // LF that joins `data` lines is then whitespace.
    let (head, tail) = text.split_at(text.find(',').map_or(0, |i| i + 1));
    let stream = format!(
        "id: 0\r\ndata:\r\n\r\n: primed\r\nretry: 1000\r\n\r\nid: 1\r\ndata: {head}\r\ndata:{tail}\r\n\r\n"
    );
    parts.headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/event-stream"));
    parts.headers.remove(http::header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, axum::body::Body::from(stream))
}

/// A server answering every request with a primed event stream is tested as the plain
/// one is: the whole catalog passes.
#[test]
fn a_server_priming_its_event_streams_is_read_alike() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let authority = runtime.block_on(TestAuthority::start(0, &[URL, OTHER_MCP])).unwrap();
    let results = run_wrapped(&runtime, &authority, Defects::none(), &BTreeMap::new(), |router| {
        router.layer(axum::middleware::map_response(as_primed_event_stream))
    });
    let bad = not_passing(&results);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn reference_server_in_process_passes_and_each_defect_is_caught() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let authority = runtime.block_on(TestAuthority::start(0, &[URL, OTHER_MCP])).unwrap();

    // The tools' scopes probed: the reference server names them in its 403 challenges.
    let results = run_against(&runtime, &authority, Defects::none(), &BTreeMap::new());
    let bad = not_passing(&results);
    assert!(bad.is_empty(), "{}", bad.join("\n"));

    // A server that does not check per-tool scopes cannot show them: the operator names
    // them, as `--scopes` does.
    let scopes: BTreeMap<String, String> = [
        ("echo", "mcp:read"),
        ("write_note", "mcp:write"),
        ("admin_reset", "mcp:admin"),
        ("fetch_report", "mcp:read"),
        ("publish_note", "mcp:write mcp:admin"),
    ]
    .into_iter()
    .map(|(t, s)| (t.to_string(), s.to_string()))
    .collect();
    // The right cases: those that fail in the simulator against the same defect.
    common::assert_live_judges_as_the_simulator(
        DefectRole::McpServer,
        &mcp_server_scenarios(&catalog()),
        SIMULATOR_ONLY,
        LIVE_ALSO,
        |d| run_against(&runtime, &authority, d, &scopes),
    );
}
