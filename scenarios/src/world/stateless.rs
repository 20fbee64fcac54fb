//! The wire a world speaks to MCP servers. Requests of MCP 2026-07-28's stateless wire:
//! no `initialize` and no session; every request carries its protocol version and the
//! client's capabilities in `params._meta`, and `MCP-Protocol-Version`, `Mcp-Method` and
//! (for `tools/call`) `Mcp-Name` headers that repeat the body. A world speaks it when the
//! revisions grading its cases are all modern ([`World::wire`]); the scenarios build
//! their requests with [`World::mcp_request`] and open with [`World::open`], whatever
//! the wire.

use super::World;
use bytes::Bytes;
use mcp_authz_reference::client::Era;
use mcp_authz_reference::mcp_server::{
    MCP_METHOD, MCP_NAME, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
};
use mcp_authz_reference::sans_io::{FetchResult, Request};
use mcp_authz_sim::scenario::Revision;
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

/// `body` (a JSON-RPC message, or a batch of them) with the 2026-07-28 `_meta` in each
/// message's `params`, unless it has one already.
pub fn modernize(body: &Value) -> Value {
    match body {
        Value::Array(batch) => Value::Array(batch.iter().map(modernize).collect()),
        Value::Object(m) if m.get("params").and_then(|p| p.get("_meta")).is_some() => body.clone(),
        Value::Object(m) => {
            let method = m.get("method").and_then(Value::as_str).unwrap_or_default();
            let params = m.get("params").cloned().unwrap_or(json!({}));
            let mut modern = modern_body(method, params, MODERN_PROTOCOL_VERSION);
            for (k, v) in m.iter().filter(|(k, _)| !matches!(k.as_str(), "params" | "method")) {
                modern[k] = v.clone();
            }
            if !m.contains_key("id") {
                modern.as_object_mut().map(|o| o.remove("id"));
            }
            modern
        }
        other => other.clone(),
    }
}

/// A well-formed 2026-07-28 request to `url` with `token`: `body` as
/// [`modern_body`] makes it, with the headers that repeat it.
pub fn modern_request(url: &str, token: Option<&str>, body: &Value) -> Request {
    // A batch's headers repeat its first message.
    let first = body.as_array().and_then(|b| b.first()).unwrap_or(body);
    let method = first["method"].as_str().unwrap_or_default();
    let version = first["params"]["_meta"][META_PROTOCOL_VERSION].as_str().unwrap_or(MODERN_PROTOCOL_VERSION);
    let mut b = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, text/event-stream")
        .header(PROTOCOL_VERSION, version)
        .header(MCP_METHOD, method);
    if let Some(name) = first["params"]["name"].as_str().or(first["params"]["uri"].as_str()) {
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
    /// The era of this world's MCP requests: legacy (2025-11-25 `initialize` and sessions)
    /// while a legacy revision grades its cases — every revision by default, for a target
    /// that speaks them — else modern (`--revision 2026-07-28`, or a server that speaks
    /// only 2026-07-28).
    pub fn wire(&self) -> Era {
        match self.revisions.iter().any(|r| *r != Revision::R2026_07_28) {
            true => Era::Legacy,
            false => Era::Modern,
        }
    }

    /// The body of a first request to an MCP server: `initialize` (legacy) or `tools/list`
    /// (modern, which has no handshake).
    pub fn opening_body(&self) -> Value {
        match self.wire() {
            Era::Legacy => World::initialize_body(),
            Era::Modern => modern_body("tools/list", json!({}), MODERN_PROTOCOL_VERSION),
        }
    }

    /// A POST of `body` to `url` with `token` on this world's wire, then `headers`:
    /// as is (legacy), or [`modernize`]d with the headers that repeat it (modern).
    pub fn mcp_request(
        &self,
        url: &str,
        token: Option<&str>,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Request {
        match self.wire() {
            Era::Legacy => World::rpc_request(url, token, body, headers),
            Era::Modern => {
                let mut req = modern_request(url, token, &modernize(body));
                for (k, v) in headers {
                    req = with_header(req, k, Some(v));
                }
                req
            }
        }
    }

    /// Sends a well-formed 2026-07-28 `method` request with `params` to MCP server A as
    /// `from`, with `token`.
    pub fn modern(&mut self, from: &str, token: &str, method: &str, params: Value) -> FetchResult {
        let body = modern_body(method, params, MODERN_PROTOCOL_VERSION);
        let url = self.mcp.clone();
        self.send(from, modern_request(&url, Some(token), &body))
    }
}
