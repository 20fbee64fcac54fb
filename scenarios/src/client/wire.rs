//! The client's side of MCP 2026-07-28's wire (basic/transports/streamable-http,
//! basic/versioning, basic/index): the headers and `_meta` of a modern request (X-11..13),
//! the answer to `-32022`, the dual-era fallback and its cache, and
//! `resultType`. Server A is the reference server (it speaks both eras); the
//! adversary stands in for it where a scenario needs another answer.

use super::hostile::echo;
use crate::world::{MCP, MCP_ORIGIN, World, all_variants};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use mcp_authz_reference::client::Outcome;
use mcp_authz_reference::sans_io::Response;
use mcp_authz_reference::{Error, wire};
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Verdict};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::rc::Rc;

/// The `_meta` key of the protocol version.
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key of the client's capabilities.
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

/// A request the client sent server A: its JSON body (`null` when it is not JSON), headers
/// and bearer token.
#[derive(Debug, Clone)]
pub(super) struct McpRequest {
    pub(super) body: Value,
    headers: HeaderMap,
    pub(super) bearer: Option<String>,
}

impl McpRequest {
    /// The JSON-RPC method.
    pub(super) fn method(&self) -> Option<&str> {
        self.body["method"].as_str()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn meta(&self) -> &Value {
        &self.body["params"]["_meta"]
    }

    /// A modern (2026-07-28) request: version in `_meta`, or an `Mcp-Method` header.
    pub(super) fn modern(&self) -> bool {
        self.meta()[META_VERSION].is_string() || self.header("mcp-method").is_some()
    }

    /// An attempt at a protocol version: a modern request or a legacy `initialize`.
    fn attempt(&self) -> bool {
        self.modern() || self.method() == Some("initialize")
    }

    /// The protocol version it names: `_meta`'s (else the header's) for a modern request,
    /// `params.protocolVersion` for `initialize`, else the header's.
    fn version(&self) -> Option<&str> {
        let header = self.header("mcp-protocol-version");
        match self.method() {
            _ if self.modern() => self.meta()[META_VERSION].as_str().or(header),
            Some("initialize") => self.body["params"]["protocolVersion"].as_str(),
            _ => header,
        }
    }

    /// `method (version)`, for verdicts.
    fn shown(&self) -> String {
        format!("{} ({})", self.method().unwrap_or("no method"), self.version().unwrap_or("no version"))
    }

    /// What breaks the request metadata rules of a modern request.
    fn metadata_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let version = self.meta()[META_VERSION].as_str();
        if version.is_none() {
            problems.push(format!("_meta without {META_VERSION}"));
        }
        if !self.meta()[META_CAPABILITIES].is_object() {
            problems.push(format!("_meta without {META_CAPABILITIES}"));
        }
        let header = self.header("mcp-protocol-version");
        if header.is_none() || (version.is_some() && header != version) {
            problems.push(format!("MCP-Protocol-Version {header:?} for _meta version {version:?}"));
        }
        if self.header("mcp-method") != self.method() {
            problems.push(format!(
                "Mcp-Method {:?} for method {:?}",
                self.header("mcp-method"),
                self.method()
            ));
        }
        let named = match self.method() {
            Some("tools/call" | "prompts/get") => self.body["params"]["name"].as_str(),
            Some("resources/read") => self.body["params"]["uri"].as_str(),
            _ => return problems,
        };
        let sent = self.header("mcp-name");
        if !sent.zip(named).is_some_and(|(sent, named)| names(sent, named)) {
            problems.push(format!("Mcp-Name {sent:?} for {named:?}"));
        }
        problems
    }
}

/// True when `sent` is `name` as an `Mcp-Name` carries it: plain, or `=?base64?…?=` of
/// its UTF-8 (MCP 2026-07-28 §Value Encoding: clients MUST use it for a value that is not
/// safe in a header, and servers decode it whatever the value).
fn names(sent: &str, name: &str) -> bool {
    sent == name || sent == format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(name))
}

/// The requests the client sent server A, in order.
pub(super) type Sent = Rc<RefCell<Vec<McpRequest>>>;

/// Stands in for server A where `answer` gives an answer (else the request is delivered),
/// lets `rewrite` change what server A answered, and keeps every request the client sent
/// it.
pub(super) fn watch_server_a(
    w: &mut World,
    mut answer: impl FnMut(&McpRequest) -> Option<Response> + 'static,
    mut rewrite: impl FnMut(&McpRequest, &mut Response) + 'static,
) -> Sent {
    let sent: Sent = Rc::default();
    let keep = sent.clone();
    let read = |req: &mcp_authz_reference::sans_io::Request| McpRequest {
        body: serde_json::from_slice(req.body()).unwrap_or(Value::Null),
        headers: req.headers().clone(),
        bearer: req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(String::from),
    };
    let _ = w.tap(
        &[Channel::Resource],
        move |msg, req| {
            if msg.to != MCP_ORIGIN {
                return Verdict::Pass;
            }
            let request = read(req);
            let answered = answer(&request);
            keep.borrow_mut().push(request);
            answered.map_or(Verdict::Pass, Verdict::Respond)
        },
        move |msg, req, resp| {
            if msg.to == MCP_ORIGIN {
                rewrite(&read(req), resp);
            }
        },
    );
    sent
}

/// Changes the `result` of a JSON answer with `change`; false when it has none (an
/// error, an event stream).
pub(super) fn rewrite_result(resp: &mut Response, change: impl FnOnce(&mut Map<String, Value>)) -> bool {
    let Ok(mut body) = serde_json::from_slice::<Value>(resp.body()) else { return false };
    let Some(result) = body.get_mut("result").and_then(Value::as_object_mut) else { return false };
    change(result);
    *resp.body_mut() = Bytes::from(body.to_string());
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    true
}

/// A 400 answer to `req` carrying the JSON-RPC error `code` with `data`.
fn rpc_error(req: &McpRequest, code: i64, message: &str, data: Value) -> Response {
    let mut error = json!({"code": code, "message": message});
    if !data.is_null() {
        error["data"] = data;
    }
    let body = json!({"jsonrpc": "2.0", "id": req.body["id"].clone(), "error": error});
    wire::json(StatusCode::BAD_REQUEST, &body)
}

/// The `-32022` answer to `req`, listing `supported` (the version `req` names when empty).
fn unsupported_version(req: &McpRequest, supported: &[&str]) -> Response {
    let requested = req.version().unwrap_or("").to_string();
    let supported: Vec<String> = match supported {
        [] => vec![requested.clone()],
        s => s.iter().map(|v| v.to_string()).collect(),
    };
    let data = json!({"supported": supported, "requested": requested});
    rpc_error(req, -32022, "Unsupported protocol version", data)
}

/// Why a case (or a variant) does not apply to a client that sent no modern request.
fn legacy_only() -> Check {
    Check::NotApplicable("the client sent no 2026-07-28 request (it speaks the legacy wire)".into())
}

/// The client's modern requests, or why the case does not apply.
fn modern_requests(sent: &[McpRequest]) -> Result<Vec<&McpRequest>, Check> {
    let modern: Vec<&McpRequest> = sent.iter().filter(|r| r.modern()).collect();
    match modern.is_empty() {
        true => Err(legacy_only()),
        false => Ok(modern),
    }
}

/// CL-WIRE-01: every modern request carries the request metadata
/// the body repeats. MCP 2026-07-28 streamable-http §Protocol Version Header: "Every POST
/// request to the MCP endpoint **MUST** include an `MCP-Protocol-Version` header"; "The
/// header value **MUST** match the `io.modelcontextprotocol/protocolVersion` field carried
/// in the request body's `_meta`"; §Standard Request Headers: `Mcp-Method` (all requests)
/// and `Mcp-Name` (`tools/call`, `resources/read`, `prompts/get`) — "These headers are
/// **REQUIRED** for compliance"; basic/index §`_meta`: "fields marked as required **MUST**
/// be included on every request" (the version and the client capabilities). A
/// `=?base64?…?=` `Mcp-Name` is compared decoded; notifications, whose headers "are not
/// defined by this revision" (revision ambiguity 8), are not judged. A client that sends
/// no modern request is not judged.
pub(super) fn modern_requests_carry_their_metadata(w: &mut World) -> Check {
    let sent = watch_server_a(w, |_| None, |_, _| {});
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let sent = sent.borrow();
    let modern = match modern_requests(&sent) {
        Ok(m) => m,
        Err(check) => return check,
    };
    let requests = modern.iter().filter(|r| !r.body["id"].is_null());
    match requests.map(|r| (r, r.metadata_problems())).find(|(_, p)| !p.is_empty()) {
        Some((r, problems)) => Check::Violated(Violation::about(
            format!("a 2026-07-28 request {}", r.shown()),
            "MCP-Protocol-Version equal to _meta's protocol version, Mcp-Method (and Mcp-Name) equal to the \
             body, _meta with the protocol version and the client capabilities",
            problems.join("; "),
        )),
        None => Check::Holds,
    }
}

/// CL-WIRE-02: an `UnsupportedProtocolVersionError` is answered by a retry with a
/// version the server lists, a bounded number of times. MCP 2026-07-28 versioning
/// §Protocol Version Negotiation: "The client **SHOULD** select a mutually supported
/// version from the `supported` list and retry the request, or surface an error to the
/// user if no compatible version exists." Server A answers every modern request with 400
/// `-32022`, in two variants (a new client each): `supported` lists only `2025-11-25` (a
/// dual-era client may go legacy: its `initialize` names that version; a modern-only one
/// stops), and `supported` lists the very version the client sent (a server that
/// contradicts itself, as a half-upgraded deployment may). After the first refusal every
/// attempt (a modern request or an `initialize`) must name a listed version, and the
/// client may be refused at most once more per listed version: retrying "the request",
/// not forever. Whether a dual-era client that stops should have gone legacy is not
/// judged (it cannot be told from a modern-only one).
pub(super) fn unsupported_version_retried_once(w: &mut World) -> Check {
    let mut outcomes = Vec::new();
    for supported in [&["2025-11-25"][..], &[][..]] {
        let variant = match supported {
            [] => "supported lists the version the client sent".to_string(),
            s => format!("supported lists only {s:?}"),
        };
        let sent =
            watch_server_a(w, move |r| r.modern().then(|| unsupported_version(r, supported)), |_, _| {});
        let mut client = w.public_client(MCP);
        let _ = w.run_client("victim", &mut client, echo());
        let sent = sent.borrow();
        let attempts: Vec<&McpRequest> = sent.iter().filter(|r| r.attempt()).collect();
        let Some(first) = attempts.iter().position(|r| r.modern()) else {
            outcomes.push((variant, legacy_only()));
            continue;
        };
        let listed: Vec<String> = match supported {
            [] => attempts[first].version().into_iter().map(String::from).collect(),
            s => s.iter().map(|v| v.to_string()).collect(),
        };
        let given = format!("every 2026-07-28 request refused: 400 -32022, supported {listed:?}");
        let after = &attempts[first + 1..];
        let refused = attempts.iter().filter(|r| r.modern()).count();
        let check = match after.iter().find(|r| !r.version().is_some_and(|v| listed.iter().any(|l| l == v))) {
            Some(r) => Check::Violated(Violation::about(
                given,
                "a retry naming a version from `supported`, or an error",
                format!("a retry {}", r.shown()),
            )),
            None => Check::expect(refused <= 1 + listed.len(), || {
                Violation::about(
                    given,
                    format!("at most {} refused attempts (one retry per listed version)", 1 + listed.len()),
                    format!("{refused}"),
                )
            }),
        };
        outcomes.push((variant, check));
    }
    all_variants(w, outcomes)
}

/// The answer of a legacy (2025-11-25) server to a request without a session: what the
/// TypeScript SDK's server sends.
fn legacy_refusal(_: &McpRequest) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": null,
        "error": {"code": -32000, "message": "Bad Request: No valid session ID provided"}});
    wire::json(StatusCode::BAD_REQUEST, &body)
}

/// The modern errors of CL-WIRE-03, by name: each answers the client's first modern
/// request once.
const MODERN_ERRORS: [&str; 3] =
    ["-32020 HeaderMismatch", "-32021 missing capability", "-32022 unsupported version"];

/// The modern error `name` of [`MODERN_ERRORS`] as an answer to `r`.
fn modern_error(name: &str, r: &McpRequest) -> Response {
    match name {
        n if n.starts_with("-32020") => rpc_error(r, -32020, "Header mismatch", Value::Null),
        n if n.starts_with("-32021") => {
            let data = json!({"requiredCapabilities": ["elicitation"]});
            rpc_error(r, -32021, "Missing required client capability", data)
        }
        _ => unsupported_version(r, &[]),
    }
}

/// CL-WIRE-03: a dual-era client falls back to `initialize` only on a 4xx without
/// a modern error body, and keeps the era it found. MCP 2026-07-28 streamable-http
/// §Backward Compatibility: "On `400 Bad Request`, the client **SHOULD** inspect the
/// response body before falling back"; "If the body contains a recognized modern
/// JSON-RPC error, the server speaks a modern version of MCP — retry using the advertised
/// `supported` versions or correct the request, rather than falling back"; versioning
/// §Backward Compatibility with Initialization-Based Versions: "Clients **SHOULD** cache
/// the result for the lifetime of the server process (stdio) or origin (HTTP)". Four
/// variants, a new client each: server A answers the client's first modern request once
/// with each modern error of [`MODERN_ERRORS`] (then serves as usual) — no `initialize`
/// may follow; and it answers every modern request as a legacy server does (400,
/// `-32000` "No valid session ID") — a client that falls back (the MAY) sends no modern
/// request after its first `initialize` in that run. Across runs a client process
/// restarts, and "MAY persist it across restarts": not judged.
pub(super) fn era_fallback_only_without_a_modern_error(w: &mut World) -> Check {
    let mut outcomes = Vec::new();
    for name in MODERN_ERRORS {
        let mut answered = false;
        let answer = move |r: &McpRequest| match r.modern() && !answered {
            true => {
                answered = true;
                Some(modern_error(name, r))
            }
            false => None,
        };
        let sent = watch_server_a(w, answer, |_, _| {});
        let mut client = w.public_client(MCP);
        let _ = w.run_client("victim", &mut client, echo());
        let sent = sent.borrow();
        let variant = format!("the first 2026-07-28 request answered 400 {name}");
        let check = match sent.iter().position(McpRequest::modern) {
            None => legacy_only(),
            Some(first) => match sent[first..].iter().find(|r| r.method() == Some("initialize")) {
                Some(r) => Check::Violated(Violation::about(
                    format!("{variant} (a modern error body)"),
                    "no fallback to initialize: a retry or a corrected request, or an error",
                    format!("initialize {}", r.version().unwrap_or("")),
                )),
                None => Check::Holds,
            },
        };
        outcomes.push((variant, check));
    }
    let sent = watch_server_a(w, |r| r.modern().then(|| legacy_refusal(r)), |_, _| {});
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let sent = sent.borrow();
    let fallback = sent.iter().position(|r| r.method() == Some("initialize"));
    let check = match fallback.and_then(|f| sent[f..].iter().find(|r| r.modern())) {
        _ if !sent.iter().any(McpRequest::modern) => legacy_only(),
        Some(r) => Check::Violated(Violation::about(
            "every 2026-07-28 request answered 400 with a legacy body; the client fell back to initialize",
            "the legacy era kept for the origin: no 2026-07-28 request after the fallback",
            format!("a 2026-07-28 request {} after it", r.shown()),
        )),
        None => Check::Holds,
    };
    outcomes.push(("every 2026-07-28 request answered 400 with a legacy body".to_string(), check));
    all_variants(w, outcomes)
}

/// What a result of CL-WIRE-04 carries when its `resultType` is unknown: a client that
/// shows or returns it used the result.
const MARKER: &str = "result-type-bogus-7d2f";

/// True when the client used a result carrying [`MARKER`]: its outcome holds it (the
/// reference client), or it printed it (a process).
fn used_marked_result(outcome: &Result<Outcome, Error>, printed: &str) -> bool {
    let returned = outcome.as_ref().is_ok_and(|o| o.result.to_string().contains(MARKER));
    outcome.is_ok() && (returned || printed.contains(MARKER))
}

/// Marks a `tools/list` or `tools/call` result with [`MARKER`]: a tool of that name, or
/// that text as the tool's answer.
fn mark(result: &mut Map<String, Value>) {
    let text = json!([{"type": "text", "text": MARKER}]);
    match result.get_mut("tools").and_then(Value::as_array_mut) {
        Some(tools) => tools.push(json!({"name": MARKER, "inputSchema": {"type": "object"}})),
        None => {
            result.insert("content".into(), text);
        }
    }
}

/// CL-WIRE-04 (X-17): MCP 2026-07-28 basic/index §ResultType: "A `resultType` of any
/// value unrecognized by the client **MUST** be considered invalid." After a run against
/// server A as it is (which must succeed over the modern wire, else the case is not
/// judged), a new client: server A's modern `tools/list` and `tools/call` results carry
/// `resultType: "bogus"` and a marker (a tool of that name, or that text as the tool's
/// answer) — the client must not use them: no outcome and no output holding the marker.
/// How it reports the invalid result is its own.
///
/// Not graded: the next sentence, "For backward compatibility with servers implementing
/// earlier protocol versions, which do not include `resultType`, clients **MUST** treat an
/// absent `resultType` as `"complete"`". Such servers answer over the legacy wire; over
/// the modern one a result without `resultType` breaks the server's own MUST, and the
/// sentence can be read as not covering it (the TypeScript SDK v2 refuses it: "the
/// absent-means-complete bridge applies only to earlier-revision servers"). The reference
/// client reads it as `complete` there too.
pub(super) fn result_type_read_right(w: &mut World) -> Check {
    let run = |w: &mut World, change: Option<fn(&mut Map<String, Value>)>| {
        let rewrite = move |r: &McpRequest, resp: &mut Response| {
            let listing_or_call = matches!(r.method(), Some("tools/list" | "tools/call"));
            if let (Some(change), true) = (change, r.modern() && listing_or_call) {
                rewrite_result(resp, change);
            }
        };
        let sent = watch_server_a(w, |_| None, rewrite);
        let mut client = w.public_client(MCP);
        let outcome = w.run_client("victim", &mut client, echo());
        let modern =
            sent.borrow().iter().any(|r| r.modern() && r.method().is_some_and(|m| m.starts_with("tools/")));
        (outcome, modern)
    };
    let (control, modern) = run(w, None);
    if !modern {
        return Check::NotApplicable(
            "the client sent no 2026-07-28 tools request (it speaks the legacy wire)".into(),
        );
    }
    if let Err(e) = control {
        return Check::Undecided(format!("the client failed against server A as it is: {e}"));
    }
    let (bogus, _) = run(
        w,
        Some(|r| {
            r.insert("resultType".into(), json!("bogus"));
            mark(r);
        }),
    );
    let printed = w.client_observations().output;
    Check::expect(!used_marked_result(&bogus, &printed), || {
        Violation::about(
            "server A's 2026-07-28 results with resultType \"bogus\" and a marker",
            "the results treated as invalid: the marker neither returned nor shown",
            match &bogus {
                Ok(o) if !o.result.is_null() => format!("the result {}", o.result),
                _ => format!("the client printed {MARKER}"),
            },
        )
    })
}
