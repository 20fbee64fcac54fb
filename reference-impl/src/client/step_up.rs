//! Reading an MCP server's refusal (RFC 6750 §3) and the step-up authorization flow
//! (MCP authorization 2025-11-25 and 2026-07-28 §Step-Up Authorization Flow,
//! CL-26/27/55): a 403 with `error="insufficient_scope"` asks the client to re-authorize
//! with the union of the scopes it requested and was granted before and the scopes
//! challenged.

use super::token::TokenSet;
use crate::bearer::{self, Challenge};
use crate::defects::{Defect, Defects};
use crate::oauth_error::ErrorCode;
use crate::sans_io::Response;
use http::{HeaderMap, StatusCode, header};

/// Why the MCP server refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// 401: no token, or the token is not accepted. Holds the `Bearer` challenge if one
    /// parsed (a malformed header is treated as no challenge: discovery then probes the
    /// well-known URLs).
    Unauthorized(Option<Challenge>),
    /// 403 with a `Bearer` challenge whose `error` is `insufficient_scope`.
    InsufficientScope(Challenge),
}

/// Classifies a response of the MCP server; `None` when it is not an authorization
/// refusal. With defect `client-naive-challenge-parsing`, the challenge is read by
/// `naive_challenge` instead of the RFC 9110 parser.
pub fn rejection(r: &Response, defects: &Defects) -> Option<Rejection> {
    let challenge = if defects.has(Defect::ClientNaiveChallengeParsing) {
        naive_challenge(r.headers())
    } else {
        // A DPoP-only server challenges with the `DPoP` scheme alone (RFC 9449 §7.1).
        bearer::bearer_challenge(r.headers())
            .ok()
            .flatten()
            .or_else(|| super::dpop::dpop_challenge(r.headers()))
    };
    match r.status() {
        StatusCode::UNAUTHORIZED => Some(Rejection::Unauthorized(challenge)),
        StatusCode::FORBIDDEN => challenge
            .filter(|c| c.error() == Some(ErrorCode::InsufficientScope))
            .map(Rejection::InsufficientScope),
        _ => None,
    }
}

/// The mistake of defect `client-naive-challenge-parsing`: the first `WWW-Authenticate`
/// header, only if it starts with `Bearer `, split on commas and `=`, quotes trimmed.
/// Escaped quotes, commas inside quoted strings and later challenges all go wrong.
fn naive_challenge(headers: &HeaderMap) -> Option<Challenge> {
    let value = headers.get(header::WWW_AUTHENTICATE)?.to_str().ok()?;
    let params = value.strip_prefix("Bearer ")?;
    let mut challenge = Challenge::bearer();
    for (name, value) in params.split(',').filter_map(|p| p.split_once('=')) {
        challenge = challenge.with(name.trim(), value.trim().trim_matches('"'));
    }
    Some(challenge)
}

/// The scope of a step-up authorization (CL-26, CL-55): the union of the scope the
/// client requested for `tokens`, the scope it was granted (the two differ after
/// down-scoping: MCP 2026-07-28 names the requested set in §Step-Up Authorization Flow
/// and the granted one in §Scope Selection Strategy, so both are kept) and the
/// `challenged` scope. With defect `client-step-up-ignores-scope` the challenge is left
/// out; with `client-step-up-challenged-scope-only` only the challenge is asked for.
pub fn step_up_scope(tokens: Option<&TokenSet>, challenged: Option<&str>, defects: &Defects) -> String {
    let requested = tokens.and_then(|t| t.requested_scope.as_deref());
    let previous = scope_union(requested, tokens.and_then(|t| t.scope.as_deref()));
    if defects.has(Defect::ClientStepUpIgnoresScope) {
        return previous;
    }
    match challenged {
        Some(c) if defects.has(Defect::ClientStepUpChallengedScopeOnly) => scope_union(None, Some(c)),
        _ => scope_union(Some(&previous), challenged),
    }
}

/// The scopes of `current` followed by those of `challenged` not already present,
/// space-separated.
pub fn scope_union(current: Option<&str>, challenged: Option<&str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in current.into_iter().chain(challenged).flat_map(str::split_ascii_whitespace) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;
    use http::HeaderValue;

    fn with_challenge(status: StatusCode, value: &str) -> Response {
        let mut r = wire::json(status, &serde_json::json!({}));
        if let Ok(v) = HeaderValue::from_str(value) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }

    fn rejection_of(r: &Response) -> Option<Rejection> {
        rejection(r, &Defects::none())
    }

    #[test]
    fn naive_parsing_defect_misreads_quoted_strings_and_later_challenges() {
        let naive = Defects::of([Defect::ClientNaiveChallengeParsing]);
        let metadata = |r: Option<Rejection>| match r {
            Some(Rejection::Unauthorized(Some(c))) => c.get("resource_metadata").map(String::from),
            _ => None,
        };
        let r = with_challenge(
            StatusCode::UNAUTHORIZED,
            r#"Bearer error_description="see x, resource_metadata=https://evil.example/prm", resource_metadata="https://mcp.example/prm""#,
        );
        assert_eq!(metadata(rejection_of(&r)).as_deref(), Some("https://mcp.example/prm"));
        assert_eq!(metadata(rejection(&r, &naive)).as_deref(), Some("https://evil.example/prm"));
        let r = with_challenge(
            StatusCode::UNAUTHORIZED,
            r#"Basic realm="x", Bearer resource_metadata="https://m""#,
        );
        assert_eq!(metadata(rejection_of(&r)).as_deref(), Some("https://m"));
        assert_eq!(rejection(&r, &naive), Some(Rejection::Unauthorized(None)));
    }

    #[test]
    fn step_up_asks_for_the_union_of_requested_granted_and_challenged() {
        let tokens = |requested: Option<&str>, granted: Option<&str>| TokenSet {
            access_token: "a".into(),
            refresh_token: None,
            expires_at: None,
            scope: granted.map(String::from),
            requested_scope: requested.map(String::from),
            resource: "https://mcp.example/mcp".into(),
            issuer: None,
            dpop: false,
        };
        let none = Defects::none();
        let t = tokens(Some("a b"), Some("a"));
        assert_eq!(step_up_scope(Some(&t), Some("c"), &none), "a b c");
        assert_eq!(step_up_scope(Some(&tokens(None, Some("a"))), Some("a c"), &none), "a c");
        assert_eq!(step_up_scope(None, Some("c"), &none), "c");
        assert_eq!(step_up_scope(Some(&t), None, &none), "a b");
        let only = Defects::of([Defect::ClientStepUpChallengedScopeOnly]);
        assert_eq!(step_up_scope(Some(&t), Some("c"), &only), "c");
        assert_eq!(step_up_scope(Some(&t), None, &only), "a b");
        let ignores = Defects::of([Defect::ClientStepUpIgnoresScope]);
        assert_eq!(step_up_scope(Some(&t), Some("c"), &ignores), "a b");
    }

    #[test]
    fn union_keeps_order_and_drops_duplicates() {
        assert_eq!(scope_union(Some("a b"), Some("b  c")), "a b c");
        assert_eq!(scope_union(None, Some("c")), "c");
        assert_eq!(scope_union(None, None), "");
    }

    #[test]
    fn forbidden_without_insufficient_scope_is_not_a_step_up() {
        assert_eq!(
            rejection_of(&with_challenge(StatusCode::FORBIDDEN, r#"Bearer error="invalid_token""#)),
            None
        );
        assert!(matches!(
            rejection_of(&with_challenge(StatusCode::FORBIDDEN, r#"Bearer error="insufficient_scope", scope="w""#)),
            Some(Rejection::InsufficientScope(c)) if c.get("scope") == Some("w")
        ));
    }

    #[test]
    fn malformed_challenge_still_means_unauthorized() {
        assert_eq!(
            rejection_of(&with_challenge(StatusCode::UNAUTHORIZED, r#"Bearer realm="x"#)),
            Some(Rejection::Unauthorized(None))
        );
        assert!(matches!(
            rejection_of(&with_challenge(StatusCode::UNAUTHORIZED, r#"Basic realm="x", Bearer scope="s""#)),
            Some(Rejection::Unauthorized(Some(c))) if c.get("scope") == Some("s")
        ));
    }
}
