//! Per-tool scopes (MCP authorization §Scope Challenge Handling, §Runtime Insufficient
//! Scope Errors; RFC 6750 §3.1).
//!
//! Each `tools/call` is checked against the scope its tool needs, on every call and
//! before anything runs. A token lacking it gets HTTP 403 with
//! `WWW-Authenticate: Bearer error="insufficient_scope", scope="...", resource_metadata="..."`
//! and a JSON-RPC error body ([`INSUFFICIENT_SCOPE`]).
//!
//! The challenged `scope` is the scope this call needs followed by the scopes the token
//! already holds that this server knows (in the token's order): a client that asks for
//! exactly the challenged set keeps the access it had (MCP 2025-11-25 §Scope Challenge
//! Handling) and does not ping-pong between tools.

use super::config::Config;
use super::token_validation::{header_safe, set_challenge};
use crate::access_token::AccessTokenClaims;
use crate::bearer::Challenge;
use crate::defects::Defect;
use crate::jsonrpc::{self, Id};
use crate::oauth_error::ErrorCode;
use crate::sans_io::Response;
use crate::wire;
use http::StatusCode;

/// JSON-RPC error code of the body of a 403 `insufficient_scope` answer (implementation
/// defined server error range, JSON-RPC 2.0 §5.1).
pub const INSUFFICIENT_SCOPE: i64 = -32003;

/// True when `claims` grant every scope of the space-separated `required`: compared
/// exactly (or ignoring case with the `scope-case-insensitive` defect), a scope being
/// granted by a broader one that implies it in `config.scope_implies` (transitively; not
/// with the `scope-hierarchy-ignored` defect).
pub(super) fn grants(config: &Config, claims: &AccessTokenClaims, required: &str) -> bool {
    let defects = &config.defects;
    let held = |scope: &str| {
        if defects.has(Defect::ScopeCaseInsensitive) {
            return claims.scopes().any(|s| s.eq_ignore_ascii_case(scope));
        }
        claims.has_scope(scope)
    };
    required.split(' ').filter(|s| !s.is_empty()).all(|scope| {
        if defects.has(Defect::ScopeHierarchyIgnored) {
            return held(scope);
        }
        // The scopes implying `scope`, breadth first; the hierarchy is small and checked
        // for cycles by the visited list.
        let mut implying = vec![scope];
        let mut i = 0;
        while let Some(s) = implying.get(i).copied() {
            if held(s) {
                return true;
            }
            for (broader, narrower) in &config.scope_implies {
                if narrower == s && !implying.contains(&broader.as_str()) {
                    implying.push(broader);
                }
            }
            i += 1;
        }
        false
    })
}

/// `None` when `claims` grant `required`; else the 403 answer to request `id`, whose
/// challenge names `resource_metadata` when given.
pub(super) fn refusal(
    config: &Config,
    resource_metadata: Option<&str>,
    claims: &AccessTokenClaims,
    required: &str,
    id: &Id,
) -> Option<Response> {
    if grants(config, claims, required) {
        return None;
    }
    // Every scope the call needs, in one challenge (MCP 2026-07-28 §Runtime Insufficient
    // Scope Errors, RS-27), unless the `challenge-names-one-scope` defect keeps the first
    // one the token lacks.
    let mut challenged: Vec<&str> = required.split(' ').filter(|s| !s.is_empty()).collect();
    if config.defects.has(Defect::ChallengeNamesOneScope) {
        challenged.retain(|s| !grants(config, claims, s));
        challenged.truncate(1);
    }
    let known = |s: &str| {
        config.scopes_supported.iter().chain(config.tools.iter().map(|t| &t.required_scope)).any(|k| k == s)
    };
    for s in claims.scopes() {
        if known(s) && !challenged.contains(&s) {
            challenged.push(s);
        }
    }
    let scope = challenged.join(" ");
    let description = header_safe(&format!(
        "this call needs scope `{required}`, the token grants `{}`",
        claims.scope.as_deref().unwrap_or("")
    ));
    let mut challenge =
        Challenge::bearer().with("error", ErrorCode::InsufficientScope).with("scope", scope.as_str());
    if let Some(m) = resource_metadata {
        challenge = challenge.with("resource_metadata", m);
    }
    let challenge = challenge.with("error_description", description.as_str());
    let body = jsonrpc::Response::error(
        Some(id.clone()),
        INSUFFICIENT_SCOPE,
        format!("insufficient scope: {description}"),
    );
    let mut r = wire::json(StatusCode::FORBIDDEN, &body);
    set_challenge(&mut r, &challenge);
    Some(r)
}
