//! Requests of MCP 2026-07-28's stateless wire: no `initialize` and no session; every
//! request carries its protocol version and the client's capabilities in
//! `params._meta`, and `MCP-Protocol-Version`, `Mcp-Method` and (for `tools/call`)
//! `Mcp-Name` headers that repeat the body.

use super::World;
use bytes::Bytes;
use mcp_authz_reference::mcp_server::{
    MCP_METHOD, MCP_NAME, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
};
use mcp_authz_reference::sans_io::{FetchResult, Request};
use serde_json::{Value, json};

/// A 2026-07-28 request body: `method` with `params`, whose `_meta` names `version`
/// and empty client capabilities.
pub fn modern_body(method: &str, params: Value, version: &str) -> Value {
    let mut params = if params.is_object() { params } else { json!({}) };
    params["_meta"] = json!({
        META_PROTOCOL_VERSION: version,
        META_CLIENT_CAPABILITIES: {},
        "io.modelcontextprotocol/clientInfo": {"name": "mcp-authz", "version": env!("CARGO_PKG_VERSION")},
    });
    json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params})
}

/// A well-formed 2026-07-28 request to `url` with `token`: `body` as
/// [`modern_body`] makes it, with the headers that repeat it.
pub fn modern_request(url: &str, token: Option<&str>, body: &Value) -> Request {
    let method = body["method"].as_str().unwrap_or_default();
    let version = body["params"]["_meta"][META_PROTOCOL_VERSION].as_str().unwrap_or(MODERN_PROTOCOL_VERSION);
    let mut b = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, text/event-stream")
        .header(PROTOCOL_VERSION, version)
        .header(MCP_METHOD, method);
    if let Some(name) = body["params"]["name"].as_str().or(body["params"]["uri"].as_str()) {
        b = b.header(MCP_NAME, name);
    }
    if let Some(t) = token {
        b = b.header(http::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Bytes::from(body.to_string())).expect("a valid request")
}

/// `req` with header `name` set to `value`, or removed when `value` is `None`.
pub fn with_header(mut req: Request, name: &str, value: Option<&str>) -> Request {
    let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) else { return req };
    match value.and_then(|v| http::HeaderValue::from_str(v).ok()) {
        Some(v) => {
            req.headers_mut().insert(name, v);
        }
        None => {
            req.headers_mut().remove(name);
        }
    }
    req
}

impl World {
    /// Sends a well-formed 2026-07-28 `method` request with `params` to MCP server A as
    /// `from`, with `token`.
    pub fn modern(&mut self, from: &str, token: &str, method: &str, params: Value) -> FetchResult {
        let body = modern_body(method, params, MODERN_PROTOCOL_VERSION);
        let url = self.mcp.clone();
        self.send(from, modern_request(&url, Some(token), &body))
    }
}
