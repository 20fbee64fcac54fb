//! The official TypeScript SDK v2's OAuth client (`interop/typescript-client-v2/client.mjs`,
//! `@modelcontextprotocol/client` pinned to MCP 2026-07-28) against `mcp-authz serve
//! --auto-approve`: discovery, dynamic registration, authorization with PKCE, `state`,
//! `iss` and `resource`, token, and a tool call over the stateless 2026-07-28 wire — the
//! reference AS and MCP server interoperate with the SDK v2. Then the client as the role
//! under test: `mcp-authz test-client` runs every client scenario with it; the findings
//! must be exactly those its baseline lists and explains.

mod common;

use std::process::Command;

/// The protocol revision the client is pinned to.
const MODERN: &str = "2026-07-28";

/// One MCP request the client's trace (`MCP_CLIENT_TRACE=1`) shows it handing to `fetch`:
/// its JSON-RPC method and its `MCP-Protocol-Version` header, when present.
#[derive(Debug)]
struct TracedRequest {
    method: Option<String>,
    protocol_version: Option<String>,
}

/// The `POST url` requests in `stderr`, the trace of `client.mjs`: lines like
/// `[trace] POST URL authorization=Bearer… rpc=tools/list mcp-protocol-version=2026-07-28 body=…`.
fn mcp_requests(stderr: &str, url: &str) -> Vec<TracedRequest> {
    let prefix = format!("[trace] POST {url} ");
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|rest| {
            let head = rest.split(" body=").next().unwrap_or_default();
            let field = |name: &str| head.split(' ').find_map(|w| w.strip_prefix(name)).map(String::from);
            TracedRequest { method: field("rpc="), protocol_version: field("mcp-protocol-version=") }
        })
        .collect()
}

#[test]
fn the_sdk_v2_client_completes_the_flow_over_2026_07_28() {
    let Some(dir) = common::node_peer("typescript-client-v2", "@modelcontextprotocol/client") else {
        return;
    };
    let mut serve = Command::new(env!("CARGO_BIN_EXE_mcp-authz"));
    serve.args(["serve", "--auto-approve", "--as-port", "0", "--rs-port", "0"]);
    let (_server, url) = common::start(serve, "MCP server");
    let out = Command::new("node")
        .args(["client.mjs", "--tool", "echo", "--arguments", r#"{"text":"interop hello"}"#, &url])
        .env("MCP_CLIENT_TRACE", "1")
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the client failed ({}): {stderr}", out.status);
    let result: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("expected one JSON result on stdout, received {stdout:?}: {e}"));
    assert_eq!(result["content"][0]["text"], "interop hello", "{result}");
    assert_ne!(result["isError"], true, "{result}");

    // What the SDK handed to fetch for the MCP server: 2026-07-28 requests only.
    let connected = format!("[trace] connected: era modern, protocol {MODERN}");
    assert!(
        stderr.lines().any(|l| l == connected),
        "expected `{connected}` in the trace, received:\n{stderr}"
    );
    let requests = mcp_requests(&stderr, &url);
    let methods: Vec<&str> = requests.iter().filter_map(|r| r.method.as_deref()).collect();
    for wanted in ["server/discover", "tools/list", "tools/call"] {
        assert!(methods.contains(&wanted), "expected a {wanted} request, received {methods:?}");
    }
    assert!(
        !methods.contains(&"initialize"),
        "expected no initialize (2026-07-28 has none), received {methods:?}"
    );
    let legacy: Vec<&TracedRequest> =
        requests.iter().filter(|r| r.protocol_version.as_deref() != Some(MODERN)).collect();
    assert!(
        legacy.is_empty(),
        "expected MCP-Protocol-Version {MODERN} on every MCP request, received {legacy:?}"
    );
}

#[test]
fn sdk_v2_client_findings_match_its_baseline() {
    let Some(dir) = common::node_peer("typescript-client-v2", "@modelcontextprotocol/client") else {
        return;
    };
    common::node_client_matches_its_baseline(&dir);
}

#[test]
fn the_trace_reader_reads_method_and_version() {
    let stderr = "[trace] POST http://h/mcp authorization=Bearer… rpc=tools/list mcp-protocol-version=2026-07-28 body={\"x\":\"rpc=no\"}\n\
                  [trace] POST http://h/mcp rpc=initialize body={}\n\
                  [trace] GET http://h/mcp\n\
                  [trace] POST http://as/token body=grant_type=x\n";
    let r = mcp_requests(stderr, "http://h/mcp");
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(
        (r[0].method.as_deref(), r[0].protocol_version.as_deref()),
        (Some("tools/list"), Some(MODERN))
    );
    assert_eq!((r[1].method.as_deref(), r[1].protocol_version.as_deref()), (Some("initialize"), None));
}
