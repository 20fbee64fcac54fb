//! The Streamable HTTP transport (MCP 2025-11-25 §Transports), the parts this server
//! uses: JSON-RPC over `POST` answered with `application/json` bodies (no SSE stream:
//! `GET` is 405 once authenticated), `202 Accepted` for notifications and responses,
//! `Mcp-Session-Id` and `MCP-Protocol-Version` headers, `DELETE` to end a session, and
//! `Origin` validation against DNS rebinding.
//!
//! Statuses, each tested: foreign `Origin` → 403; body not `application/json` → 415;
//! `Accept` excluding JSON → 406; invalid JSON or UTF-8 → 400 with `-32700`; not a
//! message, or a batch (removed in 2025-06-18) → 400 with `-32600`; missing
//! `Mcp-Session-Id` on anything but `initialize` → 400; unknown, expired or foreign
//! session → 404; `MCP-Protocol-Version` other than the negotiated one → 400.
//!
//! `Origin` is checked on the MCP endpoint only: the protected resource metadata is
//! public and the downstream API is no MCP endpoint. `initialize` always opens a new
//! session (an `Mcp-Session-Id` it carries is ignored).
//! `Accept` is only required to admit JSON: every answer here is `application/json`.

use super::config::Config;
use crate::jsonrpc::{self, INVALID_REQUEST, Parsed};
use crate::sans_io::{Request, Response};
use crate::wire;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode, header};
use serde_json::Value;

/// The session header.
pub const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// The protocol version header sent on every request after `initialize`.
pub const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// The protocol version this server prefers.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";
/// The protocol versions this server speaks; a supported requested version is echoed.
pub const SUPPORTED_PROTOCOL_VERSIONS: [&str; 2] = ["2025-11-25", "2025-06-18"];

/// An HTTP response carrying a JSON-RPC message.
pub(super) fn rpc(status: StatusCode, message: &jsonrpc::Response) -> Response {
    wire::json(status, message)
}

/// An HTTP error whose body is a JSON-RPC error without id.
pub(super) fn refuse(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    rpc(status, &jsonrpc::Response::error(None, code, message))
}

/// `202 Accepted` with an empty body: the answer to notifications and responses.
pub(super) fn accepted() -> Response {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = StatusCode::ACCEPTED;
    r
}

/// An empty response with `status`.
pub(super) fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = status;
    r
}

/// `405` with `Allow: allow`.
pub(super) fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = empty(StatusCode::METHOD_NOT_ALLOWED);
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// 403 when an `Origin` header is present and not allowed (MCP 2025-11-25 §Security
/// Warning). Requests without `Origin` come from non-browser clients and pass.
pub(super) fn origin_refusal(req: &Request, config: &Config) -> Option<Response> {
    let detail = match wire::single_header(req.headers(), header::ORIGIN) {
        Ok(None) => return None,
        Ok(Some(o)) if config.allowed_origins.iter().any(|a| a == o) => return None,
        Ok(Some(o)) => format!("received `{o}`, expected one of {:?}", config.allowed_origins),
        Err(e) => e.to_string(),
    };
    Some(refuse(StatusCode::FORBIDDEN, INVALID_REQUEST, format!("origin: {detail}")))
}

/// True when the request declares a JSON body.
pub(super) fn is_json(req: &Request) -> bool {
    wire::single_header(req.headers(), header::CONTENT_TYPE)
        .ok()
        .flatten()
        .is_some_and(|ct| ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"))
}

/// Why a `POST` body yields no message.
#[derive(Debug)]
pub(super) enum Unreadable {
    /// Not declared `application/json` (415).
    ContentType,
    /// Not JSON (`-32700`), not a message or a batch (`-32600`): 400 with this error.
    Message(jsonrpc::Response),
}

/// The message(s) of a `POST` body (`None`: not declared `application/json`; else the
/// body parsed as JSON, or the parse error).
pub(super) fn read_message(body: Option<Result<Body, String>>) -> Result<Parsed, Unreadable> {
    let value = match body {
        None => return Err(Unreadable::ContentType),
        Some(Ok(Body::Request(r))) => return Ok(Parsed::Single(jsonrpc::Message::Request(r))),
        Some(Ok(Body::Value(v))) => v,
        Some(Err(e)) => {
            let e = jsonrpc::Response::error(None, jsonrpc::PARSE_ERROR, format!("parse error: {e}"));
            return Err(Unreadable::Message(e));
        }
    };
    jsonrpc::parse_value(value).map_err(Unreadable::Message)
}

/// A JSON body of the MCP endpoint.
#[derive(Debug)]
pub(super) enum Body {
    /// A request of the usual shape, read without a [`Value`] for the envelope: the
    /// request that [`jsonrpc::parse_value`] makes of the same body.
    Request(jsonrpc::Request),
    /// Any other JSON value.
    Value(Value),
}

impl Body {
    /// Parses a body declared `application/json`; the error is that of invalid JSON.
    pub(super) fn parse(bytes: &[u8]) -> Result<Body, String> {
        if let Some(r) = plain_request(bytes) {
            return Ok(Body::Request(r));
        }
        serde_json::from_slice::<Value>(bytes).map(Body::Value).map_err(|e| e.to_string())
    }

    /// The body as a JSON value, when it was read as one (a plain request has none of
    /// the members asked about: `access_token`, ...).
    pub(super) fn value(&self) -> Option<&Value> {
        match self {
            Body::Value(v) => Some(v),
            Body::Request(_) => None,
        }
    }

    /// The `name` in the `params` of a `tools/call`.
    pub(super) fn called_tool(&self) -> Option<&str> {
        match self {
            Body::Value(b) => {
                (b.get("method").and_then(Value::as_str) == Some("tools/call")).then_some(())?;
                b.get("params")?.get("name")?.as_str()
            }
            Body::Request(r) => {
                (r.method == "tools/call").then_some(())?;
                r.params.as_ref()?.get("name")?.as_str()
            }
        }
    }
}

/// A JSON-RPC request of exactly `jsonrpc: "2.0"`, `id`, `method` and `params` (an
/// object or array, or absent), each once: what [`jsonrpc::parse_value`] accepts as a
/// request, without building the envelope. `None` for anything else, which is read in
/// full (a duplicate or other member, a notification, an invalid member, invalid JSON).
fn plain_request(bytes: &[u8]) -> Option<jsonrpc::Request> {
    /// A present member, even `null` (which `Option` alone reads as absent).
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        serde::Deserialize::deserialize(d).map(Some)
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Plain {
        jsonrpc: String,
        id: jsonrpc::Id,
        method: String,
        #[serde(default, deserialize_with = "present")]
        params: Option<Value>,
    }
    let p: Plain = serde_json::from_slice(bytes).ok()?;
    let params_ok = p.params.as_ref().is_none_or(|v| v.is_object() || v.is_array());
    (p.jsonrpc == jsonrpc::VERSION && params_ok).then_some(jsonrpc::Request {
        id: p.id,
        method: p.method,
        params: p.params,
    })
}

/// The 400 for a batch (batching was removed in 2025-06-18): a batch cannot smuggle a
/// call past the per-call scope check.
pub(super) fn batch_refused() -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        INVALID_REQUEST,
        "invalid request: received a batch, expected one message (batching was removed in 2025-06-18)",
    )
}

/// The 415 for a `POST` whose body is not declared `application/json`.
pub(super) fn unsupported_media_type(req: &Request) -> Response {
    let ct = wire::single_header(req.headers(), header::CONTENT_TYPE).ok().flatten().unwrap_or("(none)");
    refuse(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        INVALID_REQUEST,
        format!("content-type: received `{ct}`, expected application/json"),
    )
}

/// 406 when `Accept` is present and excludes `application/json` (this server answers
/// JSON, never an SSE stream).
pub(super) fn accept_refusal(req: &Request) -> Option<Response> {
    let Ok(Some(accept)) = wire::single_header(req.headers(), header::ACCEPT) else { return None };
    let takes_json = accept.split(',').any(|range| {
        let m = range.split(';').next().unwrap_or("").trim();
        ["application/json", "application/*", "*/*"].iter().any(|ok| m.eq_ignore_ascii_case(ok))
    });
    if takes_json {
        return None;
    }
    Some(refuse(
        StatusCode::NOT_ACCEPTABLE,
        INVALID_REQUEST,
        format!("accept: received `{accept}`, expected it to include application/json and text/event-stream"),
    ))
}

/// The `Mcp-Session-Id` of a request after `initialize`, or what is wrong with it.
pub(super) fn session_id(req: &Request) -> Result<&str, String> {
    match wire::single_header(req.headers(), SESSION_ID) {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err("missing, expected the id returned by initialize".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The 400 for a missing or repeated `Mcp-Session-Id`.
pub(super) fn bad_session_id(detail: &str) -> Response {
    refuse(StatusCode::BAD_REQUEST, INVALID_REQUEST, format!("mcp-session-id: {detail}"))
}

/// The 404 for an unknown, expired, terminated or foreign session: the client must
/// initialize again.
pub(super) fn session_not_found() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        INVALID_REQUEST,
        "mcp-session-id: no such session, expected a new initialize",
    )
}

/// 400 when `MCP-Protocol-Version` is present and differs from the negotiated version.
pub(super) fn protocol_version_refusal(req: &Request, negotiated: &str) -> Option<Response> {
    let detail = match wire::single_header(req.headers(), PROTOCOL_VERSION) {
        Ok(None) => return None,
        Ok(Some(v)) if v == negotiated => return None,
        Ok(Some(v)) => format!("received `{v}`, expected `{negotiated}` (negotiated by initialize)"),
        Err(e) => e.to_string(),
    };
    Some(refuse(StatusCode::BAD_REQUEST, INVALID_REQUEST, format!("mcp-protocol-version: {detail}")))
}
