//! The stateless ("modern") wire of MCP 2026-07-28 (basic/index §Statelessness,
//! transports/streamable-http §Protocol Version Header and §Standard Request Headers,
//! server/discover): no `initialize` and no session; every request is a `POST` that
//! carries its protocol version and the client's capabilities in `params._meta`, the
//! same version in the `MCP-Protocol-Version` header, its method in `Mcp-Method` and, for
//! `tools/call`, `resources/read` and `prompts/get`, its target in `Mcp-Name`; results
//! carry `resultType`.
//!
//! The server speaks both eras and picks one per request (streamable-http §Backward
//! Compatibility): a request whose `params._meta` names a protocol version, or whose
//! `MCP-Protocol-Version` header names a modern one, is modern; anything else (an
//! `initialize`, a request in a session) is legacy and handled as in 2025-11-25.
//!
//! A modern request is checked here after its token (the spec does not order the two;
//! authorization comes first on every request): header and `_meta` agreement, the
//! required `_meta` fields, the version, then the method. The refusals, each tested:
//! a missing or mismatched `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name` → 400
//! `-32020`; `_meta` without `protocolVersion` or `clientCapabilities` → 400 `-32602`;
//! an unsupported version → 400 `-32022` with `data.supported`; an unknown method → 404
//! `-32601`.

use super::Config;
use super::transport::{PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, rpc};
use crate::defects::{Defect, Defects};
use crate::jsonrpc::{self, INVALID_PARAMS, METHOD_NOT_FOUND};
use crate::sans_io::{Request, Response};
use base64::Engine as _;
use http::{HeaderName, StatusCode};
use serde_json::{Value, json};

/// The modern protocol version this server speaks.
pub const MODERN_PROTOCOL_VERSION: &str = "2026-07-28";
/// The `_meta` key of the protocol version.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key of the client's capabilities.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The header naming the JSON-RPC method of a request.
pub const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// The header naming the target of `tools/call`, `resources/read` and `prompts/get`.
pub const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
/// A request header missing, or disagreeing with the body.
pub const HEADER_MISMATCH: i64 = -32020;
/// The request relies on a capability the client did not declare.
pub const MISSING_CAPABILITY: i64 = -32021;
/// The protocol version is not supported; `data.supported` lists those that are.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// Every version this server speaks, newest first: what `-32022` and `server/discover`
/// list (the legacy ones only when it serves `legacy` requests).
pub fn supported_versions(legacy: bool) -> Vec<&'static str> {
    let mut v = vec![MODERN_PROTOCOL_VERSION];
    if legacy {
        v.extend(SUPPORTED_PROTOCOL_VERSIONS);
    }
    v
}

/// True when `r` is a modern request: its `_meta` names a protocol version, or its
/// `MCP-Protocol-Version` header names a version newer than the legacy ones.
pub(super) fn is_modern(request: &Request, r: &jsonrpc::Request) -> bool {
    meta(r).is_some_and(|m| m.get(META_PROTOCOL_VERSION).is_some()) || header_is_modern(request)
}

/// True when the `MCP-Protocol-Version` header names a version no legacy revision has.
pub(super) fn header_is_modern(request: &Request) -> bool {
    header(request, &PROTOCOL_VERSION).is_some_and(|v| {
        let date = v.len() == 10 && v.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        date && !SUPPORTED_PROTOCOL_VERSIONS.contains(&v) && v >= MODERN_PROTOCOL_VERSION
    })
}

fn meta(r: &jsonrpc::Request) -> Option<&serde_json::Map<String, Value>> {
    r.params.as_ref()?.get("_meta")?.as_object()
}

fn header<'a>(request: &'a Request, name: &HeaderName) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A 400 with a JSON-RPC error for request `r`.
fn bad_request(r: &jsonrpc::Request, code: i64, message: String) -> Response {
    rpc(StatusCode::BAD_REQUEST, &jsonrpc::Response::error(Some(r.id.clone()), code, message))
}

/// The methods whose request names its target in `Mcp-Name`, and the param holding it.
fn named_param(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// An `Mcp-Name` value as sent: plain, or `=?base64?…?=` for a value unsafe in a header.
fn decode_name(value: &str) -> Option<String> {
    match value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) {
        Some(encoded) => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
            String::from_utf8(bytes).ok()
        }
        None => Some(value.to_string()),
    }
}

/// Checks a modern request's headers and `_meta` against its body: the refusal, if any.
/// `defects` may switch checks off.
pub(super) fn refusal(request: &Request, r: &jsonrpc::Request, config: &Config) -> Option<Response> {
    let defects = &config.defects;
    let meta = meta(r);
    let version = meta.and_then(|m| m.get(META_PROTOCOL_VERSION)).and_then(Value::as_str);
    let header_version = header(request, &PROTOCOL_VERSION);
    if !defects.has(Defect::ModernMetaUnchecked) {
        if version.is_none() {
            let message = format!("params._meta: `{META_PROTOCOL_VERSION}` missing, expected a string");
            return Some(bad_request(r, INVALID_PARAMS, message));
        }
        if !meta.and_then(|m| m.get(META_CLIENT_CAPABILITIES)).is_some_and(Value::is_object) {
            let message = format!("params._meta: `{META_CLIENT_CAPABILITIES}` missing, expected an object");
            return Some(bad_request(r, INVALID_PARAMS, message));
        }
    }
    let Some(version) = version.or(header_version) else {
        return Some(bad_request(r, INVALID_PARAMS, "no protocol version in params._meta or headers".into()));
    };
    if !defects.has(Defect::ModernHeadersUnchecked)
        && let Some(refusal) = header_refusal(request, r, version)
    {
        return Some(refusal);
    }
    if version != MODERN_PROTOCOL_VERSION && !defects.has(Defect::AnyProtocolVersion) {
        let e = jsonrpc::ErrorObject {
            code: UNSUPPORTED_PROTOCOL_VERSION,
            message: format!("protocol version `{version}` is not supported"),
            data: Some(json!({ "supported": supported_versions(config.legacy) })),
        };
        let refusal = jsonrpc::Response { id: Some(r.id.clone()), outcome: Err(e) };
        return Some(rpc(StatusCode::BAD_REQUEST, &refusal));
    }
    None
}

/// The refusal of a request whose headers disagree with its body (`version` from
/// `_meta`).
fn header_refusal(request: &Request, r: &jsonrpc::Request, version: &str) -> Option<Response> {
    match header(request, &PROTOCOL_VERSION) {
        Some(h) if h == version => {}
        got => {
            let message =
                format!("MCP-Protocol-Version: received {got:?}, expected `{version}` as in params._meta");
            return Some(bad_request(r, HEADER_MISMATCH, message));
        }
    }
    match header(request, &MCP_METHOD) {
        Some(m) if m == r.method => {}
        got => {
            let message = format!("Mcp-Method: received {got:?}, expected `{}`", r.method);
            return Some(bad_request(r, HEADER_MISMATCH, message));
        }
    }
    if let Some(param) = named_param(&r.method) {
        let expected = r.params.as_ref().and_then(|p| p.get(param)).and_then(Value::as_str);
        let got = header(request, &MCP_NAME);
        if got.and_then(decode_name).as_deref() != expected || expected.is_none() {
            let message = format!("Mcp-Name: received {got:?}, expected params.{param} {expected:?}");
            return Some(bad_request(r, HEADER_MISMATCH, message));
        }
    }
    None
}

/// A 2026-07-28-only server's answer to a legacy `initialize`: 400 with `-32022`
/// naming the version it speaks (MCP 2026-07-28 §Backward Compatibility: a modern-only
/// server "SHOULD name the protocol versions it supports in any error it returns to an
/// `initialize` request"). With defect `initialize-error-names-no-version`, a bare
/// `-32600`.
pub(super) fn initialize_refused(r: &jsonrpc::Request, defects: &Defects) -> Response {
    if defects.has(Defect::InitializeErrorNamesNoVersion) {
        return bad_request(r, jsonrpc::INVALID_REQUEST, "Bad Request".into());
    }
    let requested = r.params.as_ref().and_then(|p| p.get("protocolVersion")).cloned().unwrap_or(Value::Null);
    let e = jsonrpc::ErrorObject {
        code: UNSUPPORTED_PROTOCOL_VERSION,
        message: format!("this server speaks only MCP {MODERN_PROTOCOL_VERSION}, which has no initialize"),
        data: Some(json!({ "supported": [MODERN_PROTOCOL_VERSION], "requested": requested })),
    };
    rpc(StatusCode::BAD_REQUEST, &jsonrpc::Response { id: Some(r.id.clone()), outcome: Err(e) })
}

/// The answer to a modern request for a method this server does not have: 404 `-32601`.
pub(super) fn method_not_found(r: &jsonrpc::Request) -> Response {
    let e = jsonrpc::Response::error(
        Some(r.id.clone()),
        METHOD_NOT_FOUND,
        format!("method `{}` not found", r.method),
    );
    rpc(StatusCode::NOT_FOUND, &e)
}

/// The `server/discover` result.
pub(super) fn discover(legacy: bool) -> Value {
    cacheable(json!({
        "supportedVersions": supported_versions(legacy),
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "mcp-authz-reference", "version": env!("CARGO_PKG_VERSION")},
    }))
}

/// `result` with the caching hints a cacheable result must carry (server/utilities/caching
/// §Cacheable Results: "Servers MUST include caching hints on results with `resultType:
/// "complete"`" of `server/discover`, `tools/list`, …; `CacheableResult` makes `ttlMs` and
/// `cacheScope` required): `ttlMs` 0, stale at once, and `cacheScope` `"public"`: both
/// results are the same for every caller (§Choosing a Cache Scope: "`public` is
/// appropriate for lists of tools … when they are identical for all users"). Access
/// control never depends on it: every call is checked against its tool's scope.
pub(super) fn cacheable(mut result: Value) -> Value {
    if let Value::Object(m) = &mut result {
        m.insert("ttlMs".into(), json!(0));
        m.insert("cacheScope".into(), json!("public"));
    }
    result
}

/// The wire era a request was answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Era {
    /// 2025-06-18 and 2025-11-25: `initialize`, sessions.
    Legacy,
    /// 2026-07-28: stateless.
    Modern,
}

impl Era {
    /// `result` as this era's results read: a modern one carries `resultType: "complete"`.
    pub(super) fn result(self, mut result: Value) -> Value {
        if let (Era::Modern, Value::Object(m)) = (self, &mut result) {
            m.entry("resultType").or_insert_with(|| Value::String("complete".into()));
        }
        result
    }
}

/// True when the modern request `r` declares the client capability `name` in its
/// `_meta`.
pub(super) fn declares(r: &jsonrpc::Request, name: &str) -> bool {
    meta(r).and_then(|m| m.get(META_CLIENT_CAPABILITIES)).and_then(|c| c.get(name)).is_some()
}

/// The refusal of a request that needs the client capabilities `required` it did not
/// declare (basic/index §`_meta`: "the server MUST return a
/// `MissingRequiredClientCapabilityError` (`-32021`) whose `data.requiredCapabilities` lists
/// the missing capabilities. On HTTP, the response status MUST be `400 Bad Request`").
pub(super) fn missing_capability(r: &jsonrpc::Request, required: &[&str]) -> Response {
    let listed: serde_json::Map<String, Value> =
        required.iter().map(|c| (c.to_string(), json!({}))).collect();
    let e = jsonrpc::ErrorObject {
        code: MISSING_CAPABILITY,
        message: format!(
            "this request needs the client capabilities {required:?}, which the client did not declare"
        ),
        data: Some(json!({ "requiredCapabilities": listed })),
    };
    rpc(StatusCode::BAD_REQUEST, &jsonrpc::Response { id: Some(r.id.clone()), outcome: Err(e) })
}

/// `confirm_action`'s answer to a modern request that declared `elicitation`: an
/// `InputRequiredResult` asking the user to confirm (multi round-trip requests), with the
/// `request_state` the retry must echo.
pub(super) fn confirmation_required(request_state: &str) -> Value {
    json!({
        "requestState": request_state,
        "resultType": "input_required",
        "inputRequests": {
            "confirm": {
                "method": "elicitation/create",
                "params": {
                    "message": "Confirm the action?",
                    "requestedSchema": {"type": "object", "properties": {"confirmed": {"type": "boolean"}}}
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::decode_name;

    #[test]
    fn mcp_name_values_decode() {
        assert_eq!(decode_name("echo").as_deref(), Some("echo"));
        assert_eq!(decode_name("=?base64?ZWNobw==?=").as_deref(), Some("echo"));
        assert_eq!(decode_name("=?base64?not base64?="), None);
    }
}
