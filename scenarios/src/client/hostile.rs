//! What the client scenarios put in the client's way — hostile MCP servers and
//! authorization servers, rewritten authorization responses — and readers of what the
//! client sent.

use crate::world::{Hits, Log, REDIRECT, Route, Seen, World, fixed};
use http::{HeaderValue, StatusCode, header};
use mcp_authz_reference::client::Operation;
use mcp_authz_reference::protected_resource_metadata::WELL_KNOWN;
use mcp_authz_reference::sans_io::Response;
use mcp_authz_reference::wire;
use mcp_authz_sim::sim::Channel;
use serde_json::{Value, json};

/// The hostile MCP server's endpoint.
pub(super) const EVIL_MCP: &str = "https://evil.example/mcp";

/// Where canary endpoints live.
pub(super) const CANARY: &str = "https://canary.example";

pub(super) fn echo() -> Operation {
    Operation::CallTool { name: "echo".into(), arguments: json!({"text": "hi"}) }
}

/// The path-inserted protected resource metadata URL of `origin`'s `/mcp`.
pub(super) fn prm_url(origin: &str) -> String {
    format!("{origin}{WELL_KNOWN}/mcp")
}

/// Protected resource metadata for `resource` naming `issuer`.
pub(super) fn prm_of(resource: &str, issuer: &str) -> Value {
    json!({"resource": resource, "authorization_servers": [issuer], "scopes_supported": ["mcp:read"]})
}

/// A response with `status` and one `WWW-Authenticate` header per value.
pub(super) fn challenged(status: StatusCode, values: &[&str]) -> Response {
    let mut r = wire::json(status, &json!({}));
    for v in values {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().append(header::WWW_AUTHENTICATE, v);
        }
    }
    r
}

/// A hostile MCP server at `origin` (endpoint `/mcp`): every MCP request gets 401 with
/// a challenge naming `resource_metadata`; `prm` is served at the path-inserted URL.
pub(super) fn hostile_mcp(w: &mut World, origin: &str, resource_metadata: &str, prm: Value) -> Hits {
    let challenge = format!(r#"Bearer resource_metadata="{resource_metadata}", scope="mcp:read""#);
    w.fake_host(
        origin,
        vec![
            ("/mcp".into(), fixed(challenged(StatusCode::UNAUTHORIZED, &[&challenge]))),
            (format!("{WELL_KNOWN}/mcp"), fixed(wire::json(StatusCode::OK, &prm))),
        ],
    )
}

/// Authorization server metadata for `issuer` with every endpoint under `endpoints`:
/// S256, `iss` in authorization responses, open registration.
pub(super) fn as_metadata(issuer: &str, endpoints: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{endpoints}/authorize"),
        "token_endpoint": format!("{endpoints}/token"),
        "registration_endpoint": format!("{endpoints}/register"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true
    })
}

/// [`as_metadata`] with what OpenID Connect Discovery also requires (`jwks_uri`,
/// `subject_types_supported`, `id_token_signing_alg_values_supported`).
pub(super) fn openid_metadata(issuer: &str) -> Value {
    let mut m = as_metadata(issuer, issuer);
    m["jwks_uri"] = json!(format!("{issuer}/jwks"));
    m["subject_types_supported"] = json!(["public"]);
    m["id_token_signing_alg_values_supported"] = json!(["ES256"]);
    m
}

/// A registration endpoint's answer: any client is welcome.
pub(super) fn registered() -> Route {
    fixed(wire::json(
        StatusCode::CREATED,
        &json!({"client_id": "hostile-client", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code"], "response_types": ["code"]}),
    ))
}

/// An authorization server at `origin` serving `metadata` at the RFC 8414 root URL and
/// registering anyone at `/register`; everything else (its `/authorize`, `/token`) 404.
pub(super) fn hostile_as(w: &mut World, origin: &str, metadata: Value, extra: Vec<(String, Route)>) -> Hits {
    let mut routes = vec![
        ("/.well-known/oauth-authorization-server".to_string(), fixed(wire::json(StatusCode::OK, &metadata))),
        ("/register".to_string(), registered()),
    ];
    routes.extend(extra);
    w.fake_host(origin, routes)
}

pub(super) fn received(hits: &Hits, line: &str) -> bool {
    hits.borrow().iter().any(|h| h == line)
}

pub(super) fn seen(log: &Log, keep: impl Fn(&Seen) -> bool) -> Vec<Seen> {
    log.borrow().iter().filter(|s| keep(s)).cloned().collect()
}

pub(super) fn urls(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(|s| format!("{} {}", s.method, s.url)).collect()
}

/// The bodies of the dynamic registrations (`POST …/register`) in `log`, as JSON.
pub(super) fn registrations(log: &Log) -> Vec<Value> {
    let posts = seen(log, |s| s.method == "POST" && s.path().ends_with("/register"));
    posts.iter().map(|s| serde_json::from_str(&s.body).unwrap_or(Value::Null)).collect()
}

/// Authorization requests to any authorization endpoint.
pub(super) fn authorizations(log: &Log) -> Vec<Seen> {
    seen(log, |s| s.channel == Channel::FrontChannel && s.path().ends_with("/authorize"))
}

/// Token requests redeeming an authorization code.
pub(super) fn code_redemptions(log: &Log) -> Vec<Seen> {
    seen(log, |s| s.param("grant_type").as_deref() == Some("authorization_code"))
}

/// Runs `client` for `op` like [`World::run_client`] and also returns every URL the
/// client asked the user agent to open: the URL-opener hook of CL-41. Each is noted in
/// Rewrites the query of an authorization response (a redirect carrying `code` or
/// `error`, to whatever redirect URI the client registered) with `f`; false when `resp`
/// is no such redirect.
pub(super) fn rewrite_redirect(resp: &mut Response, f: impl Fn(&mut Vec<(String, String)>)) -> bool {
    let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(String::from);
    let Some(mut url) = location.and_then(|l| url::Url::parse(&l).ok()) else {
        return false;
    };
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if !pairs.iter().any(|(k, _)| k == "code" || k == "error") {
        return false;
    }
    f(&mut pairs);
    url.set_query(None);
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    match HeaderValue::from_str(url.as_str()) {
        Ok(v) => {
            resp.headers_mut().insert(header::LOCATION, v);
            true
        }
        Err(_) => false,
    }
}
