//! MCP server (resource server) scenarios: protected resource metadata, the 401
//! challenge, the token validation matrix, audience binding and replay, per-tool
//! scopes, sessions, Origin, token placement, token passthrough, and DPoP-bound tokens.

mod backward_compatibility;
mod caching;
mod dpop;
mod insufficient_scope;
mod refresh_tokens;
mod request_state;
mod sessions;
mod state_handles;
mod stateless;
mod statelessness;
mod validation;

use crate::Scenario;
use crate::world::{
    EVIL, OTHER_MCP, Skip, Tool, World, all_variants, describe, status_and_challenge_error, tool_ran,
    union_scopes,
};
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience};
use mcp_authz_reference::bearer;
use mcp_authz_reference::jwt::{self, JoseHeader, SigningKey};
use mcp_authz_reference::metadata::check_endpoint_url;
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::protected_resource_metadata::{ProtectedResourceMetadata, well_known_urls};
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_sim::scenario::{Capability, Check, Level, Need, Revision, Role, Violation};
use serde_json::json;

/// The MCP server scenarios.
pub fn scenarios() -> Vec<Scenario> {
    use Capability::*;
    use Level::*;
    use Role::McpServer;
    let core = vec![
        Scenario::new(McpServer, "RS-PRM-01", "protected resource metadata names this server and its AS")
            .requirements(&["RS-01", "RS-02"])
            .level(Must)
            .tags(&["discovery"])
            .body(prm_names_server),
        Scenario::new(McpServer, "RS-CHAL-01", "401 challenge points at the resource metadata")
            .requirements(&["RS-03", "RS-04", "RS-09"])
            .level(Must)
            .tags(&["discovery"])
            .body(challenge_points_at_prm),
        Scenario::new(McpServer, "RS-CHAL-02", "401 challenge carries the needed scope")
            .requirements(&["RS-05"])
            .level(Should)
            .tags(&["discovery", "scope"])
            // Every row it names begins with 2025-11-25.
            .since(Revision::R2025_11_25)
            .body(challenge_has_scope),
        Scenario::new(McpServer, "RS-CHAL-03", "neither challenges nor metadata ask for offline_access")
            .requirements(&["RS-29"])
            .level(Should)
            .tags(&["discovery", "scope", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .body(refresh_tokens::no_offline_access_asked),
        Scenario::new(McpServer, "RS-CHAL-04", "a refused token's 401 names error=\"invalid_token\"")
            .requirements(&["RS-09"])
            .level(Should)
            .tags(&["validation"])
            .body(validation::refusal_names_invalid_token),
        Scenario::new(McpServer, "RS-VAL-01", "malformed tokens get 401, never 500")
            .requirements(&["RS-07", "RS-09", "RS-10"])
            .level(Must)
            .tags(&["validation"])
            .body(validation::malformed_tokens),
        Scenario::new(McpServer, "RS-VAL-02", "unsigned token (alg none) is refused")
            .requirements(&["RS-07"])
            .level(Must)
            .tags(&["validation"])
            .grants(&[MaliciousClient])
            .body(validation::alg_none),
        Scenario::new(McpServer, "RS-VAL-03", "HS256 token keyed with the public key is refused")
            .requirements(&["RS-07"])
            .level(Must)
            .tags(&["validation"])
            .grants(&[MaliciousClient])
            .body(validation::hmac_confusion),
        Scenario::new(McpServer, "RS-VAL-04", "expired and not-yet-valid tokens are refused")
            .requirements(&["RS-07", "RS-10"])
            .level(Must)
            .tags(&["validation"])
            .body(validation::time_claims),
        Scenario::new(McpServer, "RS-VAL-05", "token without exp is refused")
            .requirements(&["RS-07"])
            .level(Must)
            .tags(&["validation"])
            .body(validation::missing_exp),
        Scenario::new(McpServer, "RS-VAL-06", "token whose typ is not at+jwt is refused")
            .requirements(&["RS-07"])
            .level(Must)
            .tags(&["validation"])
            .body(validation::wrong_typ),
        Scenario::new(McpServer, "RS-VAL-07", "token from another issuer is refused")
            .requirements(&["RS-07", "RS-11"])
            .level(Must)
            .tags(&["validation"])
            .body(validation::wrong_issuer),
        Scenario::new(McpServer, "RS-VAL-08", "token signed by the attacker's key is refused")
            .requirements(&["RS-07"])
            .level(Must)
            .tags(&["validation"])
            .grants(&[MaliciousClient])
            .body(validation::attacker_signed),
        Scenario::new(McpServer, "RS-VAL-09", "unknown kids trigger at most one JWKS refetch")
            .requirements(&["RS-07"])
            .level(Should)
            .tags(&["validation", "jwks"])
            .body(validation::jwks_refetch_limited),
        Scenario::new(McpServer, "RS-VAL-10", "token without aud is refused")
            .requirements(&["RS-08"])
            .level(Must)
            .tags(&["validation", "audience"])
            .body(validation::missing_audience),
        Scenario::new(McpServer, "RS-HDR-01", "odd Authorization headers get 400/401, never 200 or 500")
            .requirements(&["RS-13", "RS-09"])
            .level(Must)
            .tags(&["transport"])
            .body(odd_authorization_headers),
        Scenario::new(McpServer, "RS-AUD-01", "token for MCP server B replayed at A is refused")
            .requirements(&["RS-08", "RS-11", "RS-12"])
            .rfc9700("4.10")
            .level(Must)
            .tags(&["audience", "replay"])
            .grants(&[ReadResourceRequests, MaliciousClient])
            .body(replay_other_server),
        Scenario::new(McpServer, "RS-AUD-02", "token whose audience is the AS is refused")
            .requirements(&["RS-08"])
            .rfc9700("4.10")
            .level(Must)
            .tags(&["audience"])
            .body(audience_is_as),
        Scenario::new(McpServer, "RS-AUD-03", "token for another path on the same host is refused")
            .requirements(&["RS-08"])
            .rfc9700("4.10")
            .level(Must)
            .tags(&["audience"])
            .body(audience_other_path),
        Scenario::new(
            McpServer,
            "RS-AUD-04",
            "multi-audience token is accepted only if it names this server",
        )
        .requirements(&["RS-08"])
        .rfc9700("4.10")
        .level(Must)
        .tags(&["audience"])
        .body(multi_audience),
        Scenario::new(McpServer, "RS-AUD-05", "malicious MCP server replays the token it received")
            .requirements(&["RS-08", "RS-11"])
            .rfc9700("4.9")
            .level(Must)
            .tags(&["audience", "replay", "attack"])
            .grants(&[MaliciousMcpServer])
            .body(malicious_server_replay),
        Scenario::new(McpServer, "RS-SCOPE-01", "a read-only token cannot run a write tool")
            .requirements(&["RS-17", "RS-26"])
            .level(Must)
            .tags(&["scope"])
            .body(read_token_cannot_write),
        Scenario::new(McpServer, "RS-SCOPE-02", "insufficient scope answers 403 with a precise challenge")
            .requirements(&["RS-14", "RS-15"])
            .level(Should)
            .tags(&["scope"])
            // Every row it names begins with 2025-11-25.
            .since(Revision::R2025_11_25)
            .body(insufficient_scope_challenge),
        Scenario::new(
            McpServer,
            "RS-SCOPE-03",
            "a JSON-RPC batch cannot smuggle a call past the scope check",
        )
        .requirements(&["RS-17"])
        .level(Must)
        .tags(&["scope"])
        .body(batch_smuggling),
        Scenario::new(McpServer, "RS-SCOPE-04", "scope strings compare exactly (case matters)")
            .requirements(&["RS-26", "RS-17"])
            .level(Must)
            .tags(&["scope"])
            .body(scope_case_variant),
        Scenario::new(McpServer, "RS-SCOPE-05", "one 403 names every scope the call needs")
            .requirements(&["RS-27"])
            .level(Should)
            .tags(&["scope", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .body(insufficient_scope::one_challenge_names_every_scope),
        Scenario::new(McpServer, "RS-SCOPE-06", "a broader scope the server declares runs what it implies")
            .requirements(&["RS-28"])
            .level(Must)
            .tags(&["scope", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .body(insufficient_scope::broader_scope_suffices),
        Scenario::new(McpServer, "RS-CACHE-01", "a public tools/list is not access control")
            .requirements(&["RS-32"])
            .level(Must)
            .tags(&["scope", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(caching::public_list_is_not_access_control),
        Scenario::new(McpServer, "RS-SESS-01", "a session id without a token is refused")
            .requirements(&["RS-19", "RS-20"])
            .level(Must)
            .tags(&["session"])
            .grants(&[ReadResourceRequests, MaliciousClient])
            // Sessions (`Mcp-Session-Id`) were removed in 2026-07-28: state handles replace them.
            .until(Revision::R2025_11_25)
            .body(sessions::session_without_token),
        Scenario::new(McpServer, "RS-SESS-02", "another user's token cannot use a session")
            .requirements(&["RS-20", "RS-22"])
            .level(Must)
            .tags(&["session"])
            .grants(&[ReadResourceRequests, MaliciousClient])
            // Sessions (`Mcp-Session-Id`) were removed in 2026-07-28: state handles replace them.
            .until(Revision::R2025_11_25)
            .body(sessions::session_other_user),
        Scenario::new(McpServer, "RS-SESS-03", "session ids are unpredictable")
            .requirements(&["RS-21"])
            .level(Must)
            .tags(&["session"])
            // Sessions (`Mcp-Session-Id`) were removed in 2026-07-28: state handles replace them.
            .until(Revision::R2025_11_25)
            .body(sessions::session_ids_random),
        Scenario::new(McpServer, "RS-HANDLE-01", "another user's token cannot use a state handle")
            .requirements(&["RS-20", "RS-22"])
            .level(Should)
            .tags(&["state-handle", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .body(state_handles::handle_bound_to_its_owner),
        Scenario::new(McpServer, "RS-HANDLE-02", "state handles are unpredictable")
            .requirements(&["RS-21"])
            .level(Should)
            .tags(&["state-handle", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .body(state_handles::handles_unpredictable),
        Scenario::new(McpServer, "RS-STATE-01", "a tampered or another user's requestState is refused")
            .requirements(&["RS-30"])
            .level(Should)
            .tags(&["state-handle", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(request_state::request_state_protected),
        Scenario::new(
            McpServer,
            "RS-LIST-01",
            "tools/list does not vary per connection or with other requests",
        )
        .requirements(&["RS-31"])
        .level(Must)
        .tags(&["2026-07-28", "transport"])
        .since(Revision::R2026_07_28)
        .needs(&[Need::ModernWire])
        .body(statelessness::tools_list_not_per_connection),
        Scenario::new(McpServer, "RS-CONN-01", "nothing is inherited from earlier requests on a connection")
            .requirements(&["RS-33"])
            .level(Must)
            .tags(&["2026-07-28", "transport", "validation"])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(statelessness::no_context_from_earlier_requests),
        Scenario::new(McpServer, "RS-ORIG-01", "a foreign Origin is refused with 403")
            .requirements(&["RS-24"])
            .level(Must)
            .tags(&["transport"])
            .body(foreign_origin),
        Scenario::new(McpServer, "RS-QUERY-01", "a token in the query string or body is never used")
            .requirements(&["RS-13", "X-06"])
            .rfc9700("4.3")
            .level(Must)
            .tags(&["transport"])
            .body(token_in_query),
        Scenario::new(McpServer, "RS-PASS-01", "the downstream API never receives the caller's token")
            .requirements(&["RS-18", "RS-12"])
            .level(Must)
            .tags(&["passthrough"])
            .body(no_passthrough),
        Scenario::new(McpServer, "RS-WIRE-01", "2026-07-28 headers that disagree with the body are refused")
            .requirements(&["X-11", "X-12"])
            .level(Must)
            .tags(&["transport", "2026-07-28"])
            .grants(&[Rewrite, MaliciousClient])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(stateless::headers_match_body),
        Scenario::new(McpServer, "RS-WIRE-02", "a 2026-07-28 request without its _meta fields is refused")
            .requirements(&["X-13"])
            .level(Must)
            .tags(&["transport", "2026-07-28"])
            .grants(&[MaliciousClient])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(stateless::meta_fields_required),
        Scenario::new(
            McpServer,
            "RS-WIRE-03",
            "an unsupported protocol version gets -32022 and the supported ones",
        )
        .requirements(&["X-14"])
        .level(Must)
        .tags(&["transport", "2026-07-28"])
        .since(Revision::R2026_07_28)
        .needs(&[Need::ModernWire])
        .body(stateless::unsupported_version),
        Scenario::new(McpServer, "RS-WIRE-04", "server/discover exists; resultType; unknown methods are 404")
            .requirements(&["X-15", "X-16", "X-17"])
            .level(Must)
            .tags(&["transport", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(stateless::discover_and_methods),
        Scenario::new(McpServer, "RS-WIRE-05", "a 2026-07-28-only server refuses the legacy transport")
            .requirements(&["X-18"])
            .level(Should)
            .tags(&["2026-07-28", "transport"])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(backward_compatibility::legacy_transport_refused),
        Scenario::new(McpServer, "RS-WIRE-06", "a 2026-07-28-only server names its versions to initialize")
            .requirements(&["X-20"])
            .level(Should)
            .tags(&["2026-07-28", "transport"])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(backward_compatibility::initialize_refusal_names_versions),
        Scenario::new(McpServer, "RS-WIRE-07", "2026-07-28 errors use no retired or undefined codes")
            .requirements(&["X-22"])
            .level(Must)
            .tags(&["2026-07-28", "transport"])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(stateless::no_forbidden_error_codes),
        Scenario::new(McpServer, "RS-WIRE-08", "a capability the client did not declare is not relied on")
            .requirements(&["X-21"])
            .level(Must)
            .tags(&["2026-07-28", "transport"])
            .since(Revision::R2026_07_28)
            .needs(&[Need::ModernWire])
            .body(stateless::undeclared_capability_refused),
        Scenario::new(
            McpServer,
            "RS-WIRE-09",
            "per-tool scope follows the body, not an unvalidated Mcp-Name",
        )
        .requirements(&["X-23", "RS-17"])
        .level(Must)
        .tags(&["2026-07-28", "transport", "scope"])
        .since(Revision::R2026_07_28)
        .needs(&[Need::ModernWire])
        .body(stateless::mirrored_headers_not_trusted),
    ];
    [core, dpop::scenarios()].concat()
}

fn response(r: &FetchResult) -> Option<&http::Response<bytes::Bytes>> {
    r.as_ref().ok()
}

fn status(r: &FetchResult) -> u16 {
    response(r).map_or(0, |r| r.status().as_u16())
}

/// The JSON-RPC id of the `tools/call` that [`World::call_tool`] sends.
const CALL_ID: u64 = 2;

/// Calls the read tool at server A with `token`; holds when the answer is 401 (MCP
/// §Token Handling: "Invalid or expired tokens MUST receive a HTTP 401 response") and
/// the tool did not run. The challenge's `error="invalid_token"` is OAuth 2.1 §5.3.1's
/// SHOULD, judged apart by RS-CHAL-04.
fn expect_invalid_token(w: &mut World, token: &str, what: &str) -> Check {
    refused_because(w, token, what, "the token refused")
}

/// [`expect_invalid_token`], the sentence that makes the refusal a MUST (`why`) named in
/// a violation.
fn refused_because(w: &mut World, token: &str, what: &str, why: &str) -> Check {
    let read = w.tools.read.clone();
    let before = w.side_effects();
    let r = w.call("attacker", token, &read);
    Check::expect(status(&r) == 401 && !ran(w, before, &r, CALL_ID), || {
        Violation::about(what, format!("401 ({why})"), describe(&r))
    })
}

/// Claims of a valid token for the read tool.
fn read_claims(w: &World) -> AccessTokenClaims {
    w.claims(&w.tools.read.scope)
}

/// The write tool, or why the scope scenarios cannot run.
fn write_tool(w: &World) -> Result<Tool, Check> {
    w.tools.write.clone().ok_or_else(|| {
        Check::NotApplicable(format!(
            "the server has no tool needing a scope beyond `{}` (`{}`'s); name one with --scopes",
            w.tools.read.scope, w.tools.read.name
        ))
    })
}

/// Whether a call ran: the server's side-effect counter moved (simulated server), or
/// its answer carries the tool's result.
fn ran(w: &mut World, before: Option<u64>, r: &FetchResult, id: u64) -> bool {
    w.side_effects() != before || tool_ran(r, id)
}

fn prm_names_server(w: &mut World) -> Check {
    let url = match well_known_urls(&w.mcp) {
        Ok(urls) => urls[0].clone(),
        Err(e) => return Check::Undecided(format!("no metadata url for `{}`: {e}", w.mcp)),
    };
    let r = w.get("client", &url);
    let Some(ok) = response(&r).filter(|r| r.status() == 200) else {
        return Check::Violated(Violation::about(format!("GET {url}"), "200 with metadata", describe(&r)));
    };
    match ProtectedResourceMetadata::parse(ok.body()) {
        Ok(m) if m.resource == w.mcp && m.authorization_servers.contains(&w.issuer) => {
            // RFC 9728 §2: `resource` "is a URL that uses the https scheme"; RFC 8414 §2, an
            // issuer too (http on loopback aside, as for every OAuth URL in MCP).
            let urls = std::iter::once(("resource", &m.resource))
                .chain(m.authorization_servers.iter().map(|a| ("authorization_servers", a)));
            match urls.map(|(name, url)| check_endpoint_url(name, url)).find_map(Result::err) {
                Some(e) => Check::Violated(Violation::about(
                    format!("GET {url}"),
                    "https URLs (RFC 9728 §2, RFC 8414 §2; http only on loopback)",
                    e.to_string(),
                )),
                None => Check::Holds,
            }
        }
        Ok(m) => Check::Violated(Violation::new(
            format!("resource `{}` and authorization_servers [`{}`]", w.mcp, w.issuer),
            format!("resource `{}` and authorization_servers {:?}", m.resource, m.authorization_servers),
        )),
        Err(e) => Check::Violated(Violation::new("metadata that parses", e.to_string())),
    }
}

fn unauthenticated_challenge(w: &mut World) -> Result<bearer::Challenge, Check> {
    let url = w.mcp.clone();
    let (r, _) = w.open("client", &url, None);
    let Some(resp) = response(&r).filter(|r| r.status() == 401) else {
        return Err(Check::Violated(Violation::about(
            "a first request without a token",
            "401",
            describe(&r),
        )));
    };
    match bearer::bearer_challenge(resp.headers()) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(Check::Violated(Violation::about("the 401", "a Bearer challenge", "none"))),
        Err(e) => Err(Check::Violated(Violation::new("a WWW-Authenticate that parses", e.to_string()))),
    }
}

/// Whether the case is graded by MCP 2025-06-18 (the newest revision the target speaks,
/// or the one asked for): a sentence 2025-11-25 sharpened is read as 2025-06-18 wrote it.
fn graded_by_2025_06_18(w: &World) -> bool {
    w.revisions.iter().max() == Some(&Revision::R2025_06_18)
}

/// Whether `url` serves this server's protected resource metadata; if not, what it served.
fn serves_metadata(w: &mut World, url: &str) -> Result<(), String> {
    let r = w.get("client", url);
    match response(&r).map(|r| (r.status().as_u16(), ProtectedResourceMetadata::parse(r.body()))) {
        Some((200, Ok(m))) if m.resource == w.mcp => Ok(()),
        _ => Err(describe(&r)),
    }
}

/// RS-03 (2025-06-18 §Authorization Server Location: "MCP servers **MUST** use the HTTP
/// header `WWW-Authenticate` when returning a 401 Unauthorized to indicate the location
/// of the resource server metadata URL"); from 2025-11-25 on, RS-04 (§Protected Resource
/// Metadata Discovery Requirements: "MCP servers **MUST** implement one of the following
/// discovery mechanisms": `resource_metadata` in the 401 challenge, or a well-known URI,
/// path-inserted or at the root). Graded by 2025-11-25 or later, a challenge without
/// `resource_metadata` holds when a well-known URL serves this server's metadata.
fn challenge_points_at_prm(w: &mut World) -> Check {
    let c = match unauthenticated_challenge(w) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let Some(url) = c.get("resource_metadata").map(String::from) else {
        let header = format!("`{}`", c.to_header_value());
        if graded_by_2025_06_18(w) {
            return Check::Violated(Violation::new(
                "a challenge with resource_metadata (2025-06-18)",
                header,
            ));
        }
        let urls = well_known_urls(&w.mcp).unwrap_or_default();
        if urls.iter().any(|u| serves_metadata(w, u).is_ok()) {
            return Check::Holds;
        }
        return Check::Violated(Violation::new(
            format!("resource_metadata in the challenge, or this server's metadata at {}", urls.join(" or ")),
            format!("{header} and no metadata at those URLs"),
        ));
    };
    match serves_metadata(w, &url) {
        Ok(()) => Check::Holds,
        Err(served) => Check::Violated(Violation::about(
            format!("resource_metadata `{url}`"),
            "this server's metadata",
            served,
        )),
    }
}

fn challenge_has_scope(w: &mut World) -> Check {
    match unauthenticated_challenge(w) {
        Ok(c) => Check::expect(c.get("scope").is_some_and(|s| !s.is_empty()), || {
            Violation::new("a challenge with a scope", format!("`{}`", c.to_header_value()))
        }),
        Err(v) => v,
    }
}

fn odd_authorization_headers(w: &mut World) -> Check {
    // The last two are about a valid token presented oddly: they need one.
    let token = w.try_mint(&read_claims(w));
    let with_token = |f: fn(&str) -> Vec<String>| token.as_deref().map(f).map_err(Clone::clone);
    let cases: [(&str, Result<Vec<String>, Skip>); 4] = [
        ("empty bearer", Ok(vec!["Bearer ".into()])),
        ("basic credentials", Ok(vec!["Basic YWxpY2U6YWxpY2U=".into()])),
        ("two authorization headers", with_token(|t| vec![format!("Bearer {t}"), format!("Bearer {t}")])),
        ("bearer without a space", with_token(|t| vec![format!("Bearer{t}")])),
    ];
    let mut outcomes = Vec::new();
    for (what, values) in cases {
        let values = match values {
            Ok(values) => values,
            Err(skip) => {
                outcomes.push((what.to_string(), Check::NotApplicable(skip.0)));
                continue;
            }
        };
        let mut req = w.mcp_request(&w.mcp, None, &w.opening_body(), &[]);
        for v in values {
            if let Ok(v) = http::HeaderValue::from_str(&v) {
                req.headers_mut().append(http::header::AUTHORIZATION, v);
            }
        }
        let r = w.send("client", req);
        let check = Check::expect(matches!(status(&r), 400 | 401), || {
            Violation::about(what, "400 or 401", describe(&r))
        });
        outcomes.push((what.to_string(), check));
    }
    all_variants(w, outcomes)
}

fn replay_other_server(w: &mut World) -> Check {
    let read = w.tools.read.clone();
    if w.other_server().is_ok() {
        // A token server B accepts, carrying scopes that would also do at A.
        let scope = union_scopes(&["mcp:read", &read.scope]);
        let token = w.mint(&AccessTokenClaims { aud: Audience::one(OTHER_MCP), ..w.claims(&scope) });
        let ok_at_b = status(&w.call_tool("client", OTHER_MCP, &token, "echo", json!({"text": "b"})));
        if ok_at_b != 200 {
            return Check::Undecided(format!("the token does not even work at server B (HTTP {ok_at_b})"));
        }
        return expect_invalid_token(w, &token, "token for https://other.example/mcp");
    }
    // No simulated B: the tokens are real ones from the server's own authorization server,
    // B's issued for the other resource the operator named (`--other-resource`), which the
    // harness cannot call. The control is a token from the same source with the same scope
    // for A itself, which A must accept: a refusal of B's token is then for its audience.
    let token = w.mint(&AccessTokenClaims { aud: Audience::one(OTHER_MCP), ..w.claims(&read.scope) });
    let control = w.mint(&w.claims(&read.scope));
    let r = w.call("client", &control, &read);
    if !tool_ran(&r, CALL_ID) {
        return Check::Undecided(format!(
            "a token for this server with the same scope from the same source did not run {} either: {}",
            read.name,
            describe(&r)
        ));
    }
    expect_invalid_token(w, &token, "token for the other resource (--other-resource)")
}

fn audience_is_as(w: &mut World) -> Check {
    let token = w.mint(&AccessTokenClaims { aud: Audience::one(w.issuer.clone()), ..read_claims(w) });
    expect_invalid_token(w, &token, "aud = the AS")
}

fn audience_other_path(w: &mut World) -> Check {
    let other = format!("{}/other", w.mcp_origin());
    let token = w.mint(&AccessTokenClaims { aud: Audience::one(other.clone()), ..read_claims(w) });
    expect_invalid_token(w, &token, &format!("aud = {other}"))
}

fn multi_audience(w: &mut World) -> Check {
    let with_a = w.mint(&AccessTokenClaims {
        aud: Audience::Many(vec![OTHER_MCP.into(), w.mcp.clone()]),
        ..read_claims(w)
    });
    let read = w.tools.read.clone();
    let r = w.call("client", &with_a, &read);
    if !tool_ran(&r, CALL_ID) {
        return Check::Violated(Violation::about("aud [B, A]", "the tool to run", describe(&r)));
    }
    let without = w.mint(&AccessTokenClaims {
        aud: Audience::Many(vec![OTHER_MCP.into(), w.issuer.clone()]),
        ..read_claims(w)
    });
    expect_invalid_token(w, &without, "aud [B, AS]")
}

fn malicious_server_replay(w: &mut World) -> Check {
    // An honest client connects to server B, which (compromised) keeps the token and
    // replays it at server A.
    if let Err(skip) = w.other_server() {
        return w.cannot(skip);
    }
    let mut client = w.public_client(OTHER_MCP);
    let op = mcp_authz_reference::client::Operation::CallTool {
        name: "echo".into(),
        arguments: json!({"text": "b"}),
    };
    if let Err(e) = w.run_client("victim", &mut client, op) {
        return Check::Undecided(format!("the honest client could not use server B: {e}"));
    }
    let Some(stolen) = client.tokens().map(|t| t.access_token.clone()) else {
        return Check::Undecided("the client holds no token".into());
    };
    w.note("server B (compromised) replays the token it received at server A");
    expect_invalid_token(w, &stolen, "the token server B received")
}

fn read_token_cannot_write(w: &mut World) -> Check {
    let write = match write_tool(w) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let token = w.mint(&read_claims(w));
    let before = w.side_effects();
    let r = w.call("client", &token, &write);
    Check::expect(!ran(w, before, &r, CALL_ID), || {
        let what = format!("{} with a `{}` token", write.name, w.tools.read.scope);
        Violation::about(what, "a refusal", describe(&r))
    })
}

fn insufficient_scope_challenge(w: &mut World) -> Check {
    let write = match write_tool(w) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let token = w.mint(&read_claims(w));
    let r = w.call("client", &token, &write);
    let challenge = response(&r).and_then(|r| bearer::bearer_challenge(r.headers()).ok().flatten());
    let ok = status(&r) == 403
        && challenge.as_ref().is_some_and(|c| {
            c.get("error") == Some(ErrorCode::InsufficientScope.as_str())
                && c.get("scope")
                    .is_some_and(|s| write.scope.split(' ').all(|needed| s.split(' ').any(|s| s == needed)))
                && c.get("resource_metadata").is_some()
        });
    if !ok {
        return Check::Violated(Violation::new(
            format!(
                "403 with Bearer error=\"insufficient_scope\", scope containing {} and resource_metadata",
                write.scope
            ),
            describe(&r),
        ));
    }
    // RS-15: a token with the challenged scopes succeeds.
    let scope = challenge.and_then(|c| c.get("scope").map(String::from)).unwrap_or_default();
    let token = w.mint(&w.claims(&scope));
    let r = w.call("client", &token, &write);
    Check::expect(tool_ran(&r, CALL_ID), || {
        Violation::about(
            format!("a token with the challenged scope `{scope}`"),
            "the tool to run",
            describe(&r),
        )
    })
}

fn scope_case_variant(w: &mut World) -> Check {
    let write = match write_tool(w) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let shouted = write.scope.to_uppercase();
    if shouted == write.scope {
        return Check::NotApplicable(format!("scope `{shouted}` has no lower-case letters to vary"));
    }
    let token = w.mint(&w.claims(&format!("{} {shouted}", w.tools.read.scope)));
    let before = w.side_effects();
    let r = w.call("client", &token, &write);
    Check::expect(!ran(w, before, &r, CALL_ID), || {
        let expected = format!("a refusal (`{shouted}` is not `{}`)", write.scope);
        Violation::about(format!("{} with scope `{shouted}`", write.name), expected, describe(&r))
    })
}

fn batch_smuggling(w: &mut World) -> Check {
    let Some(privileged) = w.tools.admin.clone().or_else(|| w.tools.write.clone()) else {
        return write_tool(w).err().unwrap_or(Check::Holds);
    };
    let token = w.mint(&read_claims(w));
    let session = match sessions::open_session(w, "client", &token) {
        Ok(s) => Some(s),
        Err(Check::NotApplicable(_)) => None,
        Err(c) => return c,
    };
    let before = w.side_effects();
    let read = w.tools.read.clone();
    let batch = json!([
        {"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":read.name,"arguments":read.arguments}},
        {"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":privileged.name,"arguments":privileged.arguments}}
    ]);
    let mut headers = vec![];
    if let Some(s) = &session {
        headers.extend(sessions::session_headers(s));
    }
    let r = w.send("client", w.mcp_request(&w.mcp, Some(&token), &batch, &headers));
    Check::expect(!ran(w, before, &r, 11), || {
        let what = format!("{} inside a batch with a `{}` token", privileged.name, read.scope);
        Violation::about(what, "a refusal", describe(&r))
    })
}

/// RS-24. 2025-11-25 transports §Security Warning: "If the `Origin` header is present and
/// invalid, servers **MUST** respond with HTTP 403 Forbidden". 2025-06-18 says only
/// "Servers **MUST** validate the `Origin` header on all incoming connections": graded by
/// it, any 4xx refusal holds.
fn foreign_origin(w: &mut World) -> Check {
    let token = w.mint(&read_claims(w));
    let r = w.send(
        "browser:victim",
        w.mcp_request(&w.mcp, Some(&token), &w.opening_body(), &[("origin", "http://evil.example")]),
    );
    if graded_by_2025_06_18(w) {
        return Check::expect((400..500).contains(&status(&r)), || {
            Violation::about("Origin http://evil.example", "a refusal (4xx)", describe(&r))
        });
    }
    Check::expect(status(&r) == 403, || Violation::about("Origin http://evil.example", "403", describe(&r)))
}

fn token_in_query(w: &mut World) -> Check {
    let token = w.mint(&read_claims(w));
    let url = format!("{}?access_token={token}", w.mcp);
    let r = w.send("client", w.mcp_request(&url, None, &w.opening_body(), &[]));
    if (200..300).contains(&status(&r)) {
        return Check::Violated(Violation::about("a token in the query", "a refusal", describe(&r)));
    }
    let mut body = w.opening_body();
    body["access_token"] = json!(token);
    let r = w.send("client", w.mcp_request(&w.mcp, None, &body, &[]));
    Check::expect(!(200..300).contains(&status(&r)), || {
        Violation::about("a token in the body", "a refusal", describe(&r))
    })
}

fn no_passthrough(w: &mut World) -> Check {
    let Some(tool) = w.tools.downstream.clone() else {
        return Check::NotApplicable(
            "token passthrough shows only at the downstream API, which the harness sees in the simulator only"
                .into(),
        );
    };
    let token = w.mint(&read_claims(w));
    let r = w.call("client", &token, &tool);
    if status(&r) != 200 {
        return Check::Undecided(format!("{} failed: {}", tool.name, describe(&r)));
    }
    let Some(seen) = w.downstream_authorizations_seen().filter(|s| !s.is_empty()) else {
        return Check::Undecided("the downstream API saw no request".into());
    };
    Check::expect(!seen.iter().any(|h| h.contains(&token)), || {
        let observed = "the caller's access token (token passthrough)";
        Violation::about("the downstream API", "requests without the caller's access token", observed)
    })
}
