//! A third-party MCP server in our CI: `interop/typescript-sdk-v2/server.mjs`, on the
//! official TypeScript SDK v2 (`@modelcontextprotocol/server` with its Express adapter's
//! bearer-auth middleware and metadata router, per-tool `scopeChallenge: requireScopes(..)`),
//! verifying JWTs with `jose` against the harness's JWKS. It speaks MCP 2026-07-28 and
//! (the SDK's stateless legacy fallback) 2025-11-25, or with `LEGACY=reject` 2026-07-28
//! only. `mcp-authz test-server` runs every MCP server scenario against it, in both modes;
//! the findings must be exactly those its baseline lists and explains.
//!
//! Needs Node and `npm ci` in interop/typescript-sdk-v2 (`.ci/run` does it). Without them
//! the test skips with a message, except under CI (env `CI` set), where it fails.

mod common;

#[test]
fn typescript_sdk_v2_server_findings_match_its_baseline() {
    let Some(dir) = common::node_peer("typescript-sdk-v2", "@modelcontextprotocol/server") else { return };
    let (out, baseline) = common::test_node_server(&dir, "echo=mcp:read,write_note=mcp:write");
    common::assert_matches_baseline(&out, &baseline);

    // Dual-era: the report's first note names both revisions, and the 2026-07-28 wire
    // cases ran (a server answering no stateless request would have them skipped).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("protocol: 2025-11-25 (initialize) and 2026-07-28 (stateless requests answered)"),
        "the server speaks both revisions:\n{stderr}"
    );
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a json report");
    let wire: Vec<&serde_json::Value> = cases
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("RS-WIRE-"))
        .collect();
    let verdict = |id: &str| wire.iter().find(|c| c["id"] == id).map(|c| c["verdict"].clone());
    for id in ["RS-WIRE-01", "RS-WIRE-02", "RS-WIRE-03", "RS-WIRE-04"] {
        assert_eq!(verdict(id), Some(serde_json::json!("pass")), "{id}: {wire:#?}");
    }
    // What 2026-07-28 asks of servers that speak only it does not apply to a dual-era one.
    for id in ["RS-WIRE-05", "RS-WIRE-06"] {
        assert_eq!(verdict(id), Some(serde_json::json!("skip")), "{id}: {wire:#?}");
    }
}

#[test]
fn modern_only_server_gets_the_whole_catalog_over_the_2026_07_28_wire() {
    let Some(dir) = common::node_peer("typescript-sdk-v2", "@modelcontextprotocol/server") else { return };
    let (out, baseline) =
        common::test_node_server_with(&dir, "echo=mcp:read,write_note=mcp:write", &[("LEGACY", "reject")]);
    common::assert_matches_baseline(&out, &baseline);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("protocol: 2026-07-28 only"), "the era is reported:\n{stderr}");
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a json report");
    let cases = cases.as_array().unwrap();
    // Every case ran but the session ones, which 2026-07-28 does not have, the state
    // handle ones (the harness does not know this server's handle tools, if any), the
    // downstream one, which only the simulator can see, and those needing what this
    // server lacks: a tool needing two scopes (RS-SCOPE-05), a scope hierarchy
    // (RS-SCOPE-06), a tool asking for input (RS-WIRE-08, RS-STATE-01). RS-WIRE-05/06
    // (what a server speaking only 2026-07-28 owes legacy traffic) pass.
    // The DPoP cases run with --dpop only, each saying so.
    let dpop: Vec<&serde_json::Value> =
        cases.iter().filter(|c| c["id"].as_str().is_some_and(|id| id.starts_with("RS-DPOP-"))).collect();
    assert!(!dpop.is_empty());
    for c in &dpop {
        assert!(
            c["verdict"] == "skip" && c["detail"].as_str().is_some_and(|d| d.contains("--dpop")),
            "{c:#}"
        );
    }
    let skipped: Vec<&str> = cases
        .iter()
        .filter(|c| c["verdict"] == "skip")
        .map(|c| c["id"].as_str().unwrap())
        .filter(|id| !id.starts_with("RS-DPOP-"))
        .collect();
    let expected = [
        "RS-HANDLE-01",
        "RS-HANDLE-02",
        "RS-PASS-01",
        "RS-SCOPE-05",
        "RS-SCOPE-06",
        "RS-SESS-01",
        "RS-SESS-02",
        "RS-SESS-03",
        "RS-STATE-01",
        "RS-WIRE-08",
    ];
    assert_eq!(skipped, expected, "{cases:#?}");
}

/// `mcp-authz scan` from outside, the server trusting an authorization server of its own
/// (`mcp-authz serve`'s): the findings are those `scan-baseline.txt` lists and explains.
#[test]
fn typescript_sdk_v2_server_scan_matches_its_baseline() {
    let Some(dir) = common::node_peer("typescript-sdk-v2", "@modelcontextprotocol/server") else { return };
    let (out, baseline) = common::scan_node_server(&dir);
    common::assert_matches_baseline(&out, &baseline);
}
