//! The MCP calls the client makes over Streamable HTTP, in both eras (MCP 2026-07-28
//! §Versioning): **modern** requests (2026-07-28: no handshake; `_meta` and the
//! `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers on each) and **legacy**
//! ones (2025-11-25: `initialize`, `notifications/initialized`, then requests with the
//! `Mcp-Session-Id` the server assigned and the negotiated `MCP-Protocol-Version`). All are
//! POSTs accepting `application/json` and `text/event-stream`.

use crate::defects::{Defect, Defects};
use crate::sans_io::{Request, Response};
use crate::wire;
use crate::{Error, Result};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Uri, header};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

/// The protocol version this client asks for.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// Protocol versions this client accepts from a server.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
/// The session header.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// The protocol version header.
pub const VERSION_HEADER: &str = "mcp-protocol-version";

/// An era of MCP (MCP 2026-07-28 §Versioning, Terminology).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// Version, identity and capabilities in each request's `_meta` (2026-07-28).
    Modern,
    /// A session opened by an `initialize` handshake (2025-11-25 and earlier).
    Legacy,
}

/// The eras a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Eras {
    /// Both: a modern request first, falling back to `initialize` when the server
    /// answers it with a 4xx that is not a modern JSON-RPC error (MCP 2026-07-28
    /// §Streamable HTTP, Backward Compatibility); the era found is kept for the origin.
    #[default]
    DualEra,
    /// 2026-07-28 only.
    ModernOnly,
    /// 2025-11-25 (and the earlier versions it accepts) only.
    LegacyOnly,
}

impl Eras {
    /// The era of a client's first request to a server it knows nothing of.
    pub fn first(self) -> Era {
        match self {
            Eras::LegacyOnly => Era::Legacy,
            Eras::DualEra | Eras::ModernOnly => Era::Modern,
        }
    }
}

/// A modern JSON-RPC error in the body of a 400 to a modern request: what tells a
/// dual-era client that the server is modern (MCP 2026-07-28 §Backward Compatibility).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModernError {
    /// `-32022` UnsupportedProtocolVersionError, with the versions the server supports.
    UnsupportedVersion {
        /// `error.data.supported`.
        supported: Vec<String>,
    },
    /// `-32020` (header mismatch) or `-32021` (missing required client capability).
    Other {
        /// The error code.
        code: i64,
        /// The error message.
        message: String,
    },
}

/// The modern JSON-RPC error in `r`'s body, if it carries one (`-32020`, `-32021`, or
/// `-32022` with `data.supported`); `None` for anything else, which marks a legacy server.
pub fn modern_error(r: &Response) -> Option<ModernError> {
    let messages = response_messages(r).ok()?;
    let error = messages.iter().find_map(|m| m.get("error"))?;
    let code = error.get("code").and_then(Value::as_i64)?;
    let message = error.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    match code {
        -32022 => {
            let supported = error.get("data")?.get("supported")?.as_array()?;
            let supported = supported.iter().filter_map(Value::as_str).map(str::to_string).collect();
            Some(ModernError::UnsupportedVersion { supported })
        }
        -32021 | -32020 => Some(ModernError::Other { code, message }),
        _ => None,
    }
}

/// What the client does on the MCP server.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `tools/list`.
    ListTools,
    /// `tools/call` of tool `name` with `arguments`.
    CallTool {
        /// The tool name.
        name: String,
        /// The arguments object.
        arguments: Value,
    },
}

impl Operation {
    /// The JSON-RPC method.
    pub fn method(&self) -> &'static str {
        match self {
            Operation::ListTools => "tools/list",
            Operation::CallTool { .. } => "tools/call",
        }
    }
}

/// The JSON-RPC request of an operation, serialized as [`operation`]'s value is (members
/// in name order) without building that value first.
pub(crate) struct OperationRequest<'a> {
    /// The JSON-RPC id.
    pub(crate) id: u64,
    /// The operation.
    pub(crate) op: &'a Operation,
}

/// The `params` of an operation's request.
struct Params<'a>(&'a Operation);

impl Serialize for OperationRequest<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("jsonrpc", "2.0")?;
        m.serialize_entry("method", self.op.method())?;
        m.serialize_entry("params", &Params(self.op))?;
        m.end()
    }
}

impl Serialize for Params<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            Operation::ListTools => s.serialize_map(Some(0))?.end(),
            Operation::CallTool { name, arguments } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("arguments", arguments)?;
                m.serialize_entry("name", name)?;
                m.end()
            }
        }
    }
}

/// An MCP session: what `initialize` established. `Debug` hides the session id.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The `Mcp-Session-Id` the server assigned, if any.
    pub id: Option<String>,
    /// The protocol version the server chose.
    pub protocol_version: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id.as_ref().map(|_| ".."))
            .field("protocol_version", &self.protocol_version)
            .finish()
    }
}

/// The `initialize` request with JSON-RPC id `id`.
pub fn initialize(id: u64, client_name: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": client_name, "version": env!("CARGO_PKG_VERSION")},
        },
    })
}

/// The `notifications/initialized` notification.
pub fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

/// The request of `op` with JSON-RPC id `id`.
pub fn operation(id: u64, op: &Operation) -> Value {
    serde_json::to_value(OperationRequest { id, op }).unwrap_or(Value::Null)
}

/// A POST of `message` to `url`: JSON body, both response types accepted, the session
/// headers when `session` is set, and `Authorization: Bearer` when `bearer` is set (the
/// token never goes in the URL, CL-24).
pub fn post(
    url: &str,
    message: &impl Serialize,
    session: Option<&Session>,
    bearer: Option<&str>,
) -> Result<Request> {
    const JSON: HeaderValue = HeaderValue::from_static("application/json");
    const BOTH: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
    const VERSION: HeaderName = HeaderName::from_static(VERSION_HEADER);
    const SESSION: HeaderName = HeaderName::from_static(SESSION_HEADER);
    let body = serde_json::to_vec(message).map_err(|e| Error::Config(e.to_string()))?;
    // As `http::request::Builder` does: a bad URL or protocol version is reported once the
    // headers are in, after a bad session id or token.
    let uri = url.parse::<Uri>().map_err(|e| e.to_string());
    let mut request = Request::new(Bytes::from(body));
    *request.method_mut() = Method::POST;
    let h = request.headers_mut();
    h.append(header::CONTENT_TYPE, JSON);
    h.append(header::ACCEPT, BOTH);
    let mut version = Ok(());
    if let Some(s) = session {
        version = HeaderValue::from_str(&s.protocol_version)
            .map(|v| {
                h.append(VERSION, v);
            })
            .map_err(|e| e.to_string());
        if let Some(id) = &s.id {
            h.append(SESSION, sensitive(id.clone())?);
        }
    }
    if let Some(token) = bearer {
        let mut value = String::with_capacity("Bearer ".len() + token.len());
        value.push_str("Bearer ");
        value.push_str(token);
        h.append(header::AUTHORIZATION, sensitive(value)?);
    }
    let built = uri.and_then(|uri| version.map(|()| uri));
    *request.uri_mut() =
        built.map_err(|e| Error::Config(format!("cannot build a request for `{url}`: {e}")))?;
    Ok(request)
}

/// The protocol version of the stateless wire.
pub const STATELESS_VERSION: &str = "2026-07-28";

/// What a client of the stateless wire holds instead of a session: no id, the version
/// its `MCP-Protocol-Version` header names on every request.
pub fn stateless_session() -> Session {
    Session { id: None, protocol_version: STATELESS_VERSION.into() }
}

/// The request of `op` on MCP 2026-07-28's stateless wire: `params._meta` carries the
/// version, the client's capabilities (none) and `client_name`; the POST carries
/// `MCP-Protocol-Version`, `Mcp-Method` and, for `tools/call`, `Mcp-Name` (in the
/// `=?base64?…?=` form when the name is not plain visible ASCII) and the tool's
/// `param_headers` ([`super::param_headers::mirror`]).
pub fn post_stateless(
    url: &str,
    id: u64,
    op: &Operation,
    client_name: &str,
    bearer: Option<&str>,
    param_headers: Vec<(HeaderName, HeaderValue)>,
) -> Result<Request> {
    let mut body = operation(id, op);
    body["params"]["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": client_name, "version": env!("CARGO_PKG_VERSION")},
    });
    let mut request = post(url, &body, Some(&stateless_session()), bearer)?;
    let h = request.headers_mut();
    h.insert(HeaderName::from_static("mcp-method"), HeaderValue::from_static(op.method()));
    if let Operation::CallTool { name, .. } = op {
        h.insert(HeaderName::from_static("mcp-name"), super::param_headers::header_value(name)?);
    }
    h.extend(param_headers);
    Ok(request)
}

/// Refuses a modern result that is not final (MCP 2026-07-28 §ResultType, X-17): an
/// absent `resultType` means `complete` ("clients **MUST** treat an absent `resultType`
/// as `"complete"`"); `input_required` asks for input this client does not give (multi
/// round-trip requests); any other value "**MUST** be considered invalid". With defect
/// `client-result-type-unchecked` every value reads as `complete`.
pub fn check_complete(result: &Value, method: &'static str, defects: &Defects) -> Result<()> {
    match result.get("resultType") {
        None => Ok(()),
        Some(Value::String(t)) if t == "complete" => Ok(()),
        _ if defects.has(Defect::ClientResultTypeUnchecked) => Ok(()),
        Some(Value::String(t)) if t == "input_required" => Err(Error::unexpected(
            method,
            "resultType `input_required`",
            "`complete` (this client does not answer input requests)",
        )),
        Some(other) => Err(Error::unexpected(
            method,
            format!("resultType {other}"),
            "`complete` or `input_required` (an unknown resultType is invalid)",
        )),
    }
}

/// A header value that `Debug` output (traces, logs) shows as `Sensitive` (CL-36).
fn sensitive(value: String) -> Result<HeaderValue> {
    let mut v =
        HeaderValue::try_from(value).map_err(|_| Error::malformed("header value", "not visible ascii"))?;
    v.set_sensitive(true);
    Ok(v)
}

/// The `result` of the JSON-RPC response with id `id` in `r` (a 2xx whose body is
/// `application/json`, or `text/event-stream` carrying the response among other
/// messages). A JSON-RPC `error` is reported as [`Error::Unexpected`].
pub fn read_result(r: &Response, id: u64, method: &'static str) -> Result<Value> {
    if let Some(result) = plain_answer(r, id)? {
        return Ok(result);
    }
    let mut response = response_messages(r)?
        .into_iter()
        .find(|m| m.get("id").and_then(Value::as_u64) == Some(id) && m.get("method").is_none())
        .ok_or_else(|| Error::Missing(format!("json-rpc response with id {id} to {method}")))?;
    if let Some(error) = response.get("error") {
        return Err(Error::unexpected(method, format!("json-rpc error {error}"), "a result"));
    }
    response
        .as_object_mut()
        .and_then(|m| m.remove("result"))
        .ok_or_else(|| Error::Missing(format!("result in the response to {method}")))
}

/// A JSON-RPC result answer to `id` as most servers send it, read without building the
/// envelope: an `application/json` body that is one object with exactly `jsonrpc`, `id`
/// (this one) and `result`. `None` for anything else (a batch, an event stream, an error,
/// another id, a repeated or extra member), which [`read_result`] reads in full; the
/// result is the same either way.
fn plain_answer(r: &Response, id: u64) -> Result<Option<Value>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Answer {
        #[serde(rename = "jsonrpc")]
        _jsonrpc: serde::de::IgnoredAny,
        id: u64,
        result: Value,
    }
    let ct = wire::single_header(r.headers(), header::CONTENT_TYPE)?.unwrap_or("");
    if !ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
        return Ok(None);
    }
    Ok(serde_json::from_slice::<Answer>(r.body()).ok().filter(|a| a.id == id).map(|a| a.result))
}

/// The JSON-RPC messages of an MCP response body: `application/json` (one message, or
/// a batch answer flattened), or the `data` of each event of a `text/event-stream`.
pub fn response_messages(r: &Response) -> Result<Vec<Value>> {
    let ct = wire::single_header(r.headers(), header::CONTENT_TYPE)?.unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    let messages: Vec<Value> = if mime.eq_ignore_ascii_case("application/json") {
        vec![wire::parse_json("json-rpc response", r.body())?]
    } else if mime.eq_ignore_ascii_case("text/event-stream") {
        sse_messages(r.body())?
    } else {
        return Err(Error::unexpected(
            "content-type of the mcp response",
            format!("`{ct}`"),
            "application/json or text/event-stream",
        ));
    };
    let mut flat = Vec::with_capacity(messages.len());
    for m in messages {
        match m {
            Value::Array(batch) => flat.extend(batch),
            one => flat.push(one),
        }
    }
    Ok(flat)
}

/// The session established by a successful `initialize` response `r` with `result`:
/// the `Mcp-Session-Id` (visible ASCII, MCP §Session Management) and the server's
/// protocol version, which must be one this client supports.
pub fn read_session(r: &Response, result: &Value) -> Result<Session> {
    let id = wire::single_header(r.headers(), header::HeaderName::from_static(SESSION_HEADER))?;
    if let Some(id) = id {
        if id.is_empty() || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(Error::unexpected("mcp-session-id", format!("`{id}`"), "visible ascii characters"));
        }
    }
    let version = result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Missing("protocolVersion in the initialize result".into()))?;
    if !SUPPORTED_VERSIONS.contains(&version) {
        return Err(Error::unexpected(
            "protocolVersion in the initialize result",
            format!("`{version}`"),
            format!("one of {SUPPORTED_VERSIONS:?}"),
        ));
    }
    Ok(Session { id: id.map(str::to_string), protocol_version: version.to_string() })
}

/// The JSON messages in the `data` of each event of a `text/event-stream` body, read as
/// the WHATWG HTML "event stream" interpretation defines it: lines end in CRLF, LF or CR;
/// a leading BOM is dropped; `:` starts a comment; a line without `:` is a field with an
/// empty value; one space after the colon is dropped; `data` lines accumulate, joined by
/// LF; `id`, `event` and `retry` are read and ignored here; a blank line dispatches; an
/// event left unfinished at the end of the body is discarded. An event whose data is
/// empty carries no message (MCP 2025-11-25 servers open a stream with such a priming
/// event: an event ID and an empty `data` field) and is skipped.
fn sse_messages(body: &[u8]) -> Result<Vec<Value>> {
    let text = std::str::from_utf8(body).map_err(|_| Error::malformed("event stream", "not valid utf-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut data = String::new();
    // The terminated lines: the text after the last terminator cannot complete an event.
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(end) = rest.find(['\r', '\n']) {
        lines.push(&rest[..end]);
        let next = if rest[end..].starts_with("\r\n") { end + 2 } else { end + 1 };
        rest = &rest[next..];
    }
    for line in lines {
        if line.is_empty() {
            if let Some(d) = data.strip_suffix('\n').filter(|d| !d.trim().is_empty()) {
                out.push(wire::parse_json("event stream data", d.as_bytes())?);
            }
            data.clear();
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if field == "data" {
            data.push_str(value);
            data.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn sse(body: &str) -> Response {
        let mut r = Response::new(Bytes::from(body.to_string()));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        r
    }

    #[test]
    fn a_plain_answer_reads_as_the_full_path_does() {
        let read = |body: Value| read_result(&wire::json(StatusCode::OK, &body), 4, "tools/call");
        let result = json!({"content": [{"type": "text", "text": "hi"}], "isError": false});
        let plain = json!({"jsonrpc": "2.0", "id": 4, "result": result});
        assert!(plain_answer(&wire::json(StatusCode::OK, &plain), 4).unwrap().is_some());
        assert_eq!(read(plain).unwrap(), result);
        // Not plain: read in full, with the same outcome as before.
        let extra = json!({"jsonrpc": "2.0", "id": 4, "result": result, "x": 1});
        assert!(plain_answer(&wire::json(StatusCode::OK, &extra), 4).unwrap().is_none());
        assert_eq!(read(extra).unwrap(), result);
        let other_id = json!({"jsonrpc": "2.0", "id": 5, "result": result});
        assert!(matches!(read(other_id), Err(Error::Missing(_))));
        let request = json!({"jsonrpc": "2.0", "id": 4, "method": "ping", "result": result});
        assert!(matches!(read(request), Err(Error::Missing(_))));
        let batch = json!([{"jsonrpc": "2.0", "id": 4, "result": result}]);
        assert_eq!(read(batch).unwrap(), result);
    }

    #[test]
    fn event_streams_read_as_whatwg_defines_them() {
        let messages = |body: &str| sse_messages(body.as_bytes());
        let m = json!({"jsonrpc": "2.0", "id": 3, "result": {}});
        // A priming event (an id and an empty data field), a comment, a retry, then the answer.
        let primed = format!("id: 0\ndata:\n\n: keep-alive\nretry: 1000\n\nid: 1\ndata: {m}\n\n");
        assert_eq!(messages(&primed).unwrap(), std::slice::from_ref(&m));
        // `data` without a colon is an empty data line; CR alone ends a line; a BOM is dropped.
        assert_eq!(messages("\u{feff}data\r\r").unwrap(), Vec::<Value>::new());
        assert_eq!(messages(&format!("event: message\rdata: {m}\r\r")).unwrap(), std::slice::from_ref(&m));
        // No space after the colon; data split over lines.
        assert_eq!(messages("data:{\"a\":\ndata:1}\n\n").unwrap(), [json!({"a": 1})]);
        // An event the body leaves unfinished is discarded.
        assert_eq!(messages(&format!("data: {m}\n\ndata: {m}\n")).unwrap(), std::slice::from_ref(&m));
        // Data that is not JSON is an error naming the stream.
        let e = messages("data: nope\n\n").unwrap_err();
        assert!(e.to_string().contains("event stream data"), "{e}");
    }

    #[test]
    fn finds_the_response_among_stream_messages() {
        let r = sse(
            "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"id\":3}\r\n\r\n\
             id: 1\ndata: {\"jsonrpc\":\"2.0\",\ndata: \"id\":3,\"result\":{\"ok\":true}}\n\n",
        );
        assert_eq!(read_result(&r, 3, "tools/list").unwrap(), json!({"ok": true}));
    }

    #[test]
    fn stateless_requests_carry_meta_and_the_headers_that_repeat_the_body() {
        let op = Operation::CallTool { name: "échø".into(), arguments: json!({}) };
        let r = post_stateless("https://mcp.example/mcp", 7, &op, "t", Some("tok"), Vec::new()).unwrap();
        let h = r.headers();
        assert_eq!(h["mcp-protocol-version"], STATELESS_VERSION);
        assert_eq!(h["mcp-method"], "tools/call");
        assert_eq!(h["mcp-name"], "=?base64?w6ljaMO4?=", "a name that is not plain ascii is encoded");
        assert!(h.get(SESSION_HEADER).is_none());
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"], STATELESS_VERSION);
        assert!(body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"].is_object());
        let list = post_stateless("https://mcp.example/mcp", 8, &Operation::ListTools, "t", None, Vec::new())
            .unwrap();
        assert!(list.headers().get("mcp-name").is_none());
    }

    #[test]
    fn only_modern_error_codes_mark_a_modern_server() {
        let answer = |error: Value| {
            modern_error(&wire::json(StatusCode::BAD_REQUEST, &json!({"jsonrpc":"2.0","id":1,"error":error})))
        };
        let unsupported = json!({"code":-32022,"message":"no","data":{"supported":["2025-11-25"]}});
        assert_eq!(
            answer(unsupported),
            Some(ModernError::UnsupportedVersion { supported: vec!["2025-11-25".into()] })
        );
        assert!(matches!(
            answer(json!({"code":-32020,"message":"x"})),
            Some(ModernError::Other { code: -32020, .. })
        ));
        // A -32022 without the versions it supports, a legacy "not initialized", an empty body: legacy.
        assert_eq!(answer(json!({"code":-32022,"message":"no"})), None);
        assert_eq!(answer(json!({"code":-32000,"message":"Bad Request: Server not initialized"})), None);
        assert_eq!(answer(json!({"code":-32600,"message":"mcp-session-id: missing"})), None);
        assert_eq!(modern_error(&Response::new(Bytes::new())), None);
    }

    #[test]
    fn json_rpc_error_is_reported() {
        let r = wire::json(
            StatusCode::OK,
            &json!({"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"bad"}}),
        );
        let e = read_result(&r, 2, "tools/call").unwrap_err();
        assert!(
            matches!(e, Error::Unexpected { what: "tools/call", ref received, .. } if received.contains("-32602"))
        );
    }

    #[test]
    fn wrong_content_type_is_refused() {
        let mut r = wire::json(StatusCode::OK, &json!({}));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        assert!(matches!(read_result(&r, 1, "initialize"), Err(Error::Unexpected { .. })));
    }

    #[test]
    fn unsupported_protocol_version_is_refused() {
        let r = wire::json(StatusCode::OK, &json!({}));
        let e = read_session(&r, &json!({"protocolVersion": "1999-01-01"})).unwrap_err();
        assert!(matches!(e, Error::Unexpected { what: "protocolVersion in the initialize result", .. }));
    }
}
