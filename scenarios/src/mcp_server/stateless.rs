//! MCP server scenarios of the 2026-07-28 stateless wire: a request is served only when
//! its headers repeat its body (streamable-http §Server Validation) and its `_meta`
//! holds the required fields (basic/index §`_meta`); an unsupported version is refused
//! with the versions that are (§Protocol Version Header); `server/discover` exists, an
//! unknown method is a 404 `-32601`, and results carry `resultType`.
//!
//! Each runs against a target that speaks 2026-07-28 (`Need::ModernWire`), with a token
//! for every scope the tools need, after a well-formed control request that must work.

use crate::world::stateless::{modern_body, modern_request, modernize, with_header};
use crate::world::{World, all_variants, describe, tool_ran};
use mcp_authz_reference::client::mcp;
use mcp_authz_reference::jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND};
use mcp_authz_reference::mcp_server::{
    HEADER_MISMATCH, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, MISSING_CAPABILITY,
    MODERN_PROTOCOL_VERSION, PROTOCOL_VERSION, UNSUPPORTED_PROTOCOL_VERSION,
};
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Value, json};

/// The JSON-RPC id [`modern_body`] gives a request.
pub(super) const ID: u64 = 2;

/// The JSON-RPC message answering request [`ID`] (JSON or event stream; an error that
/// could not name the id counts too), or `null`.
pub(super) fn message(r: &FetchResult) -> Value {
    let messages = r.as_ref().ok().and_then(|r| mcp::response_messages(r).ok()).unwrap_or_default();
    let answers = |m: &&Value| m.get("id").and_then(Value::as_u64) == Some(ID);
    let unnamed_error = |m: &&Value| m.get("id").is_none_or(Value::is_null) && m.get("error").is_some();
    messages
        .iter()
        .find(answers)
        .or_else(|| messages.iter().find(unnamed_error))
        .cloned()
        .unwrap_or(Value::Null)
}

/// `(status, JSON-RPC error code)` of an answer.
fn status_and_code(r: &FetchResult) -> (Option<u16>, Option<i64>) {
    let status = r.as_ref().ok().map(|r| r.status().as_u16());
    (status, message(r)["error"]["code"].as_i64())
}

/// A token for every scope the tools need, the `tools/call` body of the least-scoped
/// tool, and the control: that call, well-formed, must run.
fn control(w: &mut World) -> Result<(String, Value), Check> {
    let claims = w.claims(&w.tools.all_scopes());
    let token = w.mint(&claims);
    let read = w.tools.read.clone();
    let body = modern_body(
        "tools/call",
        json!({"name": read.name, "arguments": read.arguments}),
        MODERN_PROTOCOL_VERSION,
    );
    let url = w.mcp.clone();
    let r = w.send("client", modern_request(&url, Some(&token), &body));
    if !tool_ran(&r, ID) {
        return Err(Check::Undecided(format!(
            "a well-formed 2026-07-28 tools/call of `{}` did not run: {}",
            read.name,
            describe(&r)
        )));
    }
    Ok((token, body))
}

/// Sends each variant and keeps those answered otherwise than `accepted` allows, or
/// served: `what: answer`.
fn refused_each(
    w: &mut World,
    variants: Vec<(String, http::Request<bytes::Bytes>)>,
    accepted: impl Fn(&str, Option<u16>, Option<i64>) -> bool,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (what, request) in variants {
        let r = w.send("attacker", request);
        let (status, code) = status_and_code(&r);
        let served = tool_ran(&r, ID) || status.is_some_and(|s| (200..300).contains(&s));
        if served || !accepted(&what, status, code) {
            wrong.push(format!("{what}: {}", describe(&r)));
        }
    }
    wrong
}

/// a `tools/call` whose `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name`
/// is missing or disagrees with the body is refused with 400 `-32020`, and no tool runs
/// (a proxy routing or authorizing on the header must not be fooled). A request without
/// `MCP-Protocol-Version` may instead be read as a 2025-03-26 one (§Protocol Version
/// Header, MAY): any 4xx refusal is accepted for it.
pub(super) fn headers_match_body(w: &mut World) -> Check {
    let (token, body) = match control(w) {
        Ok(c) => c,
        Err(check) => return check,
    };
    let url = w.mcp.clone();
    let base = || modern_request(&url, Some(&token), &body);
    let variants: Vec<(String, http::Request<bytes::Bytes>)> = [
        ("mcp-protocol-version", None, "without MCP-Protocol-Version"),
        ("mcp-protocol-version", Some("2025-11-25"), "MCP-Protocol-Version 2025-11-25, _meta 2026-07-28"),
        ("mcp-method", None, "without Mcp-Method"),
        ("mcp-method", Some("tools/list"), "Mcp-Method tools/list for a tools/call"),
        ("mcp-name", None, "without Mcp-Name"),
        ("mcp-name", Some("mcp-authz-another-tool"), "Mcp-Name naming another tool"),
    ]
    .into_iter()
    .map(|(header, value, what)| (what.to_string(), with_header(base(), header, value)))
    .collect();
    let wrong = refused_each(w, variants, |what, status, code| match what {
        "without MCP-Protocol-Version" => status.is_some_and(|s| (400..500).contains(&s)),
        _ => status == Some(400) && code == Some(HEADER_MISMATCH),
    });
    Check::expect(wrong.is_empty(), || {
        Violation::new("400 with error -32020 (HeaderMismatch) and no tool run, for each", wrong.join("; "))
    })
}

/// a request whose `_meta` lacks `protocolVersion` or `clientCapabilities` is
/// malformed: 400 `-32602` (basic/index §`_meta`). Without the version the headers no
/// longer match the body either, so `-32020` is accepted for that one.
pub(super) fn meta_fields_required(w: &mut World) -> Check {
    let (token, body) = match control(w) {
        Ok(c) => c,
        Err(check) => return check,
    };
    let url = w.mcp.clone();
    let without = |key: &str| {
        let mut b = body.clone();
        if let Some(meta) = b["params"]["_meta"].as_object_mut() {
            meta.remove(key);
        }
        modern_request(&url, Some(&token), &b)
    };
    let variants = vec![
        (format!("_meta without {META_PROTOCOL_VERSION}"), {
            // The header still names the version the body no longer does.
            with_header(without(META_PROTOCOL_VERSION), "mcp-protocol-version", Some(MODERN_PROTOCOL_VERSION))
        }),
        (format!("_meta without {META_CLIENT_CAPABILITIES}"), without(META_CLIENT_CAPABILITIES)),
    ];
    let wrong = refused_each(w, variants, |what, status, code| {
        let version_missing = what.ends_with(META_PROTOCOL_VERSION);
        status == Some(400)
            && (code == Some(INVALID_PARAMS) || (version_missing && code == Some(HEADER_MISMATCH)))
    });
    Check::expect(wrong.is_empty(), || {
        Violation::new("400 with error -32602 (Invalid params) and no tool run, for each", wrong.join("; "))
    })
}

/// a request naming a version the server does not implement gets 400 `-32022`
/// with `data.supported` listing the versions it does.
pub(super) fn unsupported_version(w: &mut World) -> Check {
    let (token, _) = match control(w) {
        Ok(c) => c,
        Err(check) => return check,
    };
    let url = w.mcp.clone();
    let unknown = "1900-01-01";
    let body = modern_body("tools/list", json!({}), unknown);
    let r = w.send("client", modern_request(&url, Some(&token), &body));
    let (status, code) = status_and_code(&r);
    let supported = message(&r)["error"]["data"]["supported"].as_array().is_some_and(|v| !v.is_empty());
    let ok = status == Some(400) && code == Some(UNSUPPORTED_PROTOCOL_VERSION) && supported;
    Check::expect(ok, || {
        Violation::about(
            format!("tools/list naming protocol version {unknown}"),
            "400 with error -32022 and data.supported listing the versions served",
            describe(&r),
        )
    })
}

/// `server/discover` answers with the versions served and `resultType`;
/// an unknown method is a 404 `-32601`; a `tools/list` result carries `resultType`.
pub(super) fn discover_and_methods(w: &mut World) -> Check {
    let (token, _) = match control(w) {
        Ok(c) => c,
        Err(check) => return check,
    };
    let mut wrong = Vec::new();
    let r = w.modern("client", &token, "server/discover", json!({}));
    let result = message(&r)["result"].clone();
    let versions = result["supportedVersions"].as_array().is_some_and(|v| !v.is_empty());
    if !(versions && result["resultType"] == "complete") {
        wrong.push(format!(
            "server/discover: expected a result with supportedVersions and resultType \"complete\", got {}",
            describe(&r)
        ));
    }
    let r = w.modern("client", &token, "tools/list", json!({}));
    if message(&r)["result"]["resultType"].as_str().is_none() {
        wrong.push(format!("tools/list: expected a result with resultType, got {}", describe(&r)));
    }
    let r = w.modern("client", &token, "mcp-authz/no-such-method", json!({}));
    if status_and_code(&r) != (Some(404), Some(METHOD_NOT_FOUND)) {
        wrong.push(format!("an unknown method: expected 404 with error -32601, got {}", describe(&r)));
    }
    match wrong.len() {
        0 => Check::Holds,
        _ => Check::Violated(Violation::new(
            "server/discover, resultType on results, and 404 -32601 for an unknown method",
            wrong.join("; "),
        )),
    }
}

/// Error codes 2026-07-28 forbids (basic/index §Error Codes): `-32002` (resource not
/// found, replaced by `-32602`), `-32042` (URL elicitation required, 2025-11-25 only), and
/// any code of the MCP sub-range `-32020..=-32099` the specification does not define.
fn forbidden_code(code: i64) -> bool {
    matches!(code, -32002 | -32042) || ((-32099..=-32023).contains(&code))
}

/// the errors of a run of requests that go wrong in different ways — an unknown
/// method, an unknown tool, a resource that does not exist, a version the server does not
/// speak, a missing header, a call without enough scope — carry no code 2026-07-28
/// forbids. What each error should be is other cases' business; here only its code.
pub(super) fn no_forbidden_error_codes(w: &mut World) -> Check {
    let (token, _) = match control(w) {
        Ok(c) => c,
        Err(check) => return check,
    };
    let url = w.mcp.clone();
    let mut seen = Vec::new();
    let mut probe = |w: &mut World, what: &str, req: mcp_authz_reference::sans_io::Request| {
        let r = w.send("client", req);
        if let (_, Some(code)) = status_and_code(&r) {
            seen.push((what.to_string(), code, describe(&r)));
        }
    };
    let body = |method: &str, params: Value| modern_body(method, params, MODERN_PROTOCOL_VERSION);
    let unknown = body("mcp-authz/no-such-method", json!({}));
    probe(w, "an unknown method", modern_request(&url, Some(&token), &unknown));
    let no_tool = body("tools/call", json!({"name": "mcp-authz-no-such-tool", "arguments": {}}));
    probe(w, "an unknown tool", modern_request(&url, Some(&token), &no_tool));
    let no_resource = body("resources/read", json!({"uri": "mcp-authz://no/such/resource"}));
    probe(w, "an unknown resource", modern_request(&url, Some(&token), &no_resource));
    let old = modern_body("tools/list", json!({}), "1900-01-01");
    probe(w, "an unsupported version", modern_request(&url, Some(&token), &old));
    let list = body("tools/list", json!({}));
    let headless = with_header(modern_request(&url, Some(&token), &list), "mcp-method", None);
    probe(w, "no Mcp-Method header", headless);
    if let Some(write) = w.tools.write.clone() {
        let narrow = w.mint(&w.claims(&w.tools.read.scope));
        let call = body("tools/call", json!({"name": write.name, "arguments": write.arguments}));
        probe(w, "a call without its scope", modern_request(&url, Some(&narrow), &call));
    }
    match seen.iter().find(|(_, code, _)| forbidden_code(*code)) {
        Some((what, code, answer)) => Check::Violated(Violation::about(
            what.as_str(),
            "an error code 2026-07-28 allows (not -32002, -32042 or an undefined -32020..-32099)",
            format!("{code}: {answer}"),
        )),
        None if seen.is_empty() => Check::Undecided("no probe was answered with a JSON-RPC error".into()),
        None => Check::Holds,
    }
}

/// a tool that needs the client's `elicitation` capability, called by a client that
/// declared none: 400 with `-32021` whose `data.requiredCapabilities` names what is
/// missing — not a request for input the client cannot give.
pub(super) fn undeclared_capability_refused(w: &mut World) -> Check {
    let Some(tool) = w.tools.needs_elicitation.clone() else {
        return Check::NotApplicable(
            "the harness knows no tool of the server that needs a client capability \
             (name one with --capability-tool)"
                .into(),
        );
    };
    let token = w.mint(&w.claims(&w.tools.all_scopes()));
    let body = modern_body(
        "tools/call",
        json!({"name": tool.name, "arguments": tool.arguments}),
        MODERN_PROTOCOL_VERSION,
    );
    let url = w.mcp.clone();
    let r = w.send("client", modern_request(&url, Some(&token), &body));
    let answer = message(&r);
    let listed = answer["error"]["data"]["requiredCapabilities"].as_object().is_some_and(|c| !c.is_empty());
    Check::expect(status_and_code(&r) == (Some(400), Some(MISSING_CAPABILITY)) && listed, || {
        Violation::about(
            format!("{} from a client declaring no capabilities", tool.name),
            "400 with error -32021 listing the required capabilities",
            describe(&r),
        )
    })
}

/// X-23 (streamable-http §Server Validation: intermediaries enforcing policy on mirrored
/// headers "SHOULD verify that the `MCP-Protocol-Version` header indicates a version that
/// requires header–body validation. If the version is older or the header is absent, the
/// intermediary SHOULD reject the request rather than trusting unvalidated header
/// values"), with RS-17's per-tool scope: a `tools/call` of the write tool with a token
/// lacking its scope, whose `Mcp-Name` names the read tool, on a 2025-11-25 session and
/// without `MCP-Protocol-Version`: the write tool must not run. A gateway that authorizes
/// by the header lets it through; a server checking the body refuses it.
pub(super) fn mirrored_headers_not_trusted(w: &mut World) -> Check {
    let Some(write) = w.tools.write.clone() else {
        return Check::NotApplicable("the server has no tool needing more than the read scope".into());
    };
    let read = w.tools.read.clone();
    let token = w.mint(&w.claims(&read.scope));
    let url = w.mcp.clone();
    let call = World::call_body(&write.name, write.arguments.clone());
    let spoof = [("mcp-method", "tools/call"), ("mcp-name", read.name.as_str())];
    // A 2025-11-25 session (a server speaking only 2026-07-28 refuses it, and the call).
    let init = w.send("client", World::rpc_request(&url, Some(&token), &World::initialize_body(), &[]));
    let session =
        init.as_ref().ok().and_then(|r| r.headers().get("mcp-session-id")?.to_str().ok().map(String::from));
    let mut legacy = vec![("mcp-protocol-version", "2025-11-25")];
    legacy.extend(spoof);
    if let Some(s) = &session {
        legacy.push(("mcp-session-id", s));
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let _ = w.send("client", World::rpc_request(&url, Some(&token), &initialized, &legacy));
    }
    let unversioned =
        with_header(modern_request(&url, Some(&token), &modernize(&call)), PROTOCOL_VERSION.as_str(), None);
    let unversioned = spoof.iter().fold(unversioned, |r, (k, v)| with_header(r, k, Some(v)));
    let variants = [
        ("on a 2025-11-25 session", World::rpc_request(&url, Some(&token), &call, &legacy)),
        ("without MCP-Protocol-Version", unversioned),
    ];
    let mut outcomes = Vec::new();
    for (what, request) in variants {
        let before = w.side_effects();
        let r = w.send("client", request);
        let ran = w.side_effects() != before || tool_ran(&r, ID);
        let check = Check::expect(!ran, || {
            Violation::about(
                format!(
                    "tools/call of {} (needs `{}`) with a `{}` token and Mcp-Name {}, {what}",
                    write.name, write.scope, read.scope, read.name
                ),
                "a refusal: the tool is the body's, not the unvalidated header's",
                describe(&r),
            )
        });
        outcomes.push((format!("spoofed Mcp-Name {what}"), check));
    }
    all_variants(w, outcomes)
}
