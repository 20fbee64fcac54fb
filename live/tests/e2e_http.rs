//! End to end over real loopback HTTP (ports picked by the OS): the reference client
//! against the reference AS and MCP server.

use bytes::Bytes;
use mcp_authz_live::fetch::Fetcher;
use mcp_authz_live::live_client::{ClientDriver, FrontChannel, run_confidential};
use mcp_authz_live::stack::{Stack, StackOptions};
use mcp_authz_reference::authorization_server::RegisteredClient;
use mcp_authz_reference::client::{
    ClientAuth, ConfidentialClient, ConfidentialClientConfig, Eras, Operation, PublicClient,
    PublicClientConfig,
};
use mcp_authz_reference::jwt::{Algorithm, SigningKey};
use mcp_authz_reference::sans_io::Env;
use mcp_authz_reference::wire::encode_pairs;
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:8765/callback";

async fn start(introspect: bool) -> Stack {
    let opts =
        StackOptions { as_port: 0, rs_port: 0, auto_approve: true, introspect, ..StackOptions::default() };
    Stack::start(&opts).await.expect("stack starts")
}

fn tool_text(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

/// POSTs a form to the token endpoint; returns status and JSON body.
async fn token_request(stack: &Stack, pairs: &[(&str, &str)]) -> (u16, Value) {
    let req = http::Request::post(format!("{}/token", stack.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(encode_pairs(pairs.iter().copied())))
        .unwrap();
    let resp = Fetcher::trusted().unwrap().fetch(req).await.expect("token endpoint answers");
    (resp.status().as_u16(), serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
}

/// Presents refresh token `rt` as public client `client_id`.
async fn refresh(stack: &Stack, client_id: &str, rt: &str) -> (u16, Value) {
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", client_id),
        ("resource", &stack.mcp_url),
    ];
    token_request(stack, &pairs).await
}

/// Calls `tools/call echo` with `token` in a fresh session; returns the HTTP status.
async fn echo_status(stack: &Stack, token: &str) -> u16 {
    let body = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}});
    let req = http::Request::post(&stack.mcp_url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .body(Bytes::from(body.to_string()))
        .unwrap();
    Fetcher::trusted().unwrap().fetch(req).await.expect("mcp server answers").status().as_u16()
}

#[tokio::test]
async fn public_client_full_flow_with_refresh_rotation_and_reuse_detection() {
    let stack = start(true).await;
    let mut client =
        PublicClient::new(PublicClientConfig::new(stack.mcp_url.clone(), REDIRECT, "e2e")).unwrap();
    let mut driver = ClientDriver::new(Fetcher::trusted().unwrap(), FrontChannel::Follow, REDIRECT.into());

    // 401 → PRM → AS metadata → DCR → authorize (PKCE, resource) → token → initialize → call.
    let op = Operation::CallTool { name: "echo".into(), arguments: json!({"text": "over real http"}) };
    let out = driver.run(&mut client, |c, env| c.start(op, env)).await.expect("flow completes");
    assert_eq!(tool_text(&out.result), "over real http");
    let first = client.tokens().expect("tokens").clone();
    let client_id = client.client_id().expect("registered").to_string();
    assert_eq!(first.resource, stack.mcp_url);

    // Refresh rotates both tokens; the new access token works.
    driver.run(&mut client, |c, env| c.refresh(env)).await.expect("refresh");
    let second = client.tokens().expect("tokens").clone();
    assert_ne!(first.refresh_token, second.refresh_token, "refresh token rotated");
    assert_ne!(first.access_token, second.access_token);
    assert_eq!(echo_status(&stack, &second.access_token).await, 200);

    // Reuse of the rotated refresh token: invalid_grant, and the whole family dies.
    let old_rt = first.refresh_token.clone().expect("refresh token");
    let (status, body) = refresh(&stack, &client_id, &old_rt).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) =
        refresh(&stack, &client_id, second.refresh_token.as_deref().expect("refresh token")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "newest refresh token of the family revoked"
    );
    // Its access token too (the MCP server introspects, so revocation is immediate).
    assert_eq!(echo_status(&stack, &second.access_token).await, 401);
    stack.shutdown().await;
}

#[tokio::test]
async fn confidential_clients_get_tokens_with_client_credentials() {
    let stack = start(false).await;
    let downstream = stack.mcp_url.replace("/mcp", "/downstream");
    let key = stack
        .authorization_server
        .with(|_, env: &mut Env<'_>| SigningKey::generate(Algorithm::ES256, "ck1", env))
        .unwrap();
    let jwks = key.public_jwks();
    stack.authorization_server.with(|as_, _| {
        for (id, secret, method, jwks) in [
            ("svc-basic", Some("s3cret-basic"), "client_secret_basic", None),
            ("svc-jwt", None, "private_key_jwt", Some(jwks.clone())),
        ] {
            as_.register_client(RegisteredClient {
                client_id: id.into(),
                client_secret: secret.map(String::from),
                redirect_uris: vec![],
                grant_types: vec!["client_credentials".into()],
                token_endpoint_auth_method: method.into(),
                scopes: vec!["reports:read".into(), "mcp:read".into()],
                jwks,
                client_name: Some(id.into()),
                ..RegisteredClient::default()
            });
        }
    });
    let token_endpoint = format!("{}/token", stack.issuer);
    for (client_id, auth) in [
        ("svc-basic", ClientAuth::SecretBasic("s3cret-basic".into())),
        ("svc-jwt", ClientAuth::PrivateKeyJwt(key)),
    ] {
        let mut client = ConfidentialClient::new(ConfidentialClientConfig {
            token_endpoint: token_endpoint.clone(),
            client_id: client_id.into(),
            auth,
            resource: downstream.clone(),
            scope: Some("reports:read".into()),
            audience_for_assertion: None,
        })
        .unwrap();
        run_confidential(&Fetcher::trusted().unwrap(), &mut client)
            .await
            .unwrap_or_else(|e| panic!("{client_id}: {e}"));
        let token = client.token().expect("token").access_token.clone();
        // The downstream API accepts it; the MCP server (another audience) does not.
        let req = http::Request::get(format!("{downstream}/report"))
            .header("authorization", format!("Bearer {token}"))
            .body(Bytes::new())
            .unwrap();
        let resp = Fetcher::trusted().unwrap().fetch(req).await.unwrap();
        assert_eq!(resp.status(), 200, "{client_id}: {:?}", resp.body());
        assert_eq!(
            echo_status(&stack, &token).await,
            401,
            "{client_id}: token for the downstream API refused by the MCP server"
        );
    }
    // A wrong secret is refused with invalid_client.
    let (status, body) = token_request(
        &stack,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc-basic"),
            ("client_secret", "wrong"),
            ("resource", &downstream),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    stack.shutdown().await;
}

/// A 2026-07-28 (stateless) request to the stack's MCP server with `token`.
async fn modern_request(stack: &Stack, token: &str, method: &str, params: Value) -> (u16, Value) {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut b = http::Request::post(&stack.mcp_url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(name) = params.get("name").and_then(Value::as_str) {
        b = b.header("mcp-name", name);
    }
    let req = b.body(Bytes::from(body.to_string())).unwrap();
    let resp = Fetcher::trusted().unwrap().fetch(req).await.expect("mcp server answers");
    (resp.status().as_u16(), serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_served_mcp_server_speaks_2026_07_28_beside_the_legacy_handshake() {
    let stack = start(false).await;
    let mut client =
        PublicClient::new(PublicClientConfig::new(stack.mcp_url.clone(), REDIRECT, "e2e")).unwrap();
    let mut driver = ClientDriver::new(Fetcher::trusted().unwrap(), FrontChannel::Follow, REDIRECT.into());
    let op = Operation::CallTool { name: "echo".into(), arguments: json!({"text": "legacy"}) };
    let out = driver.run(&mut client, |c, env| c.start(op, env)).await.expect("legacy flow completes");
    assert_eq!(tool_text(&out.result), "legacy");
    let token = client.tokens().expect("tokens").access_token.clone();

    let (status, discover) = modern_request(&stack, &token, "server/discover", json!({})).await;
    assert_eq!(status, 200, "{discover}");
    assert_eq!(discover["result"]["resultType"], "complete");
    assert!(
        discover["result"]["supportedVersions"].as_array().is_some_and(|v| v.contains(&json!("2026-07-28")))
    );
    let (status, list) = modern_request(&stack, &token, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{list}");
    assert!(list["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()));
    let call = json!({"name": "echo", "arguments": {"text": "modern"}});
    let (status, called) = modern_request(&stack, &token, "tools/call", call).await;
    assert_eq!(status, 200, "{called}");
    assert_eq!(tool_text(&called["result"]), "modern");
    assert_eq!(echo_status(&stack, &token).await, 200, "legacy initialize still works");
}

#[tokio::test]
async fn the_reference_client_speaks_2026_07_28_stateless_to_the_served_server() {
    let stack = start(false).await;
    let config = PublicClientConfig {
        eras: Eras::ModernOnly,
        ..PublicClientConfig::new(stack.mcp_url.clone(), REDIRECT, "e2e")
    };
    let mut client = PublicClient::new(config).unwrap();
    let mut driver = ClientDriver::new(Fetcher::trusted().unwrap(), FrontChannel::Follow, REDIRECT.into());
    // 401 → discovery → registration → authorization → token → the call, no initialize.
    let op = Operation::CallTool { name: "echo".into(), arguments: json!({"text": "stateless"}) };
    let out = driver.run(&mut client, |c, env| c.start(op, env)).await.expect("flow completes");
    assert_eq!(tool_text(&out.result), "stateless");
    assert_eq!(out.result["resultType"], "complete", "a 2026-07-28 result: {}", out.result);
    let out = driver.run(&mut client, |c, env| c.start(Operation::ListTools, env)).await.expect("list");
    assert!(out.result["tools"].as_array().is_some_and(|t| !t.is_empty()));
    assert_eq!(out.result["resultType"], "complete");
}
