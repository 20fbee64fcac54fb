//! The official TypeScript SDK's OAuth client (`interop/typescript-client/client.mjs`)
//! against `mcp-authz serve --auto-approve`: discovery, dynamic registration,
//! authorization with PKCE and `resource`, token, and a tool call — the reference AS and
//! MCP server interoperate with the SDK most MCP clients are built on. Then the client
//! as the role under test: `mcp-authz test-client` runs every client scenario with it;
//! the findings must be exactly those its baseline lists and explains.

mod common;

use std::process::Command;

#[test]
fn the_sdk_client_completes_the_flow_against_the_reference_stack() {
    let Some(dir) = common::node_peer("typescript-client", "@modelcontextprotocol/sdk") else { return };
    let mut serve = Command::new(env!("CARGO_BIN_EXE_mcp-authz"));
    serve.args(["serve", "--auto-approve", "--as-port", "0", "--rs-port", "0"]);
    let (_server, url) = common::start(serve, "MCP server");
    let out = Command::new("node")
        .args(["client.mjs", "--tool", "echo", "--arguments", r#"{"text":"interop hello"}"#, &url])
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the client failed: {}", String::from_utf8_lossy(&out.stderr));
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON result");
    assert_eq!(result["content"][0]["text"], "interop hello", "{result}");
    assert_ne!(result["isError"], true);
}

#[test]
fn sdk_client_findings_match_its_baseline() {
    let Some(dir) = common::node_peer("typescript-client", "@modelcontextprotocol/sdk") else { return };
    common::node_client_matches_its_baseline(&dir);
}
