//! Scope escalation at the AS: at the token request, at registration, at authorization.

use super::oauth::{
    VERIFIER, VICTIM, app, authorization_url, authorize, claims, field, has_scope, oauth_error_code_of,
    redeem, tokens, victim_code,
};
use crate::world::{REDIRECT, World, describe};
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Value, json};

/// Holds when `r` refused, or granted a token without `scope`.
/// Holds when the answer `r` grants no token, or a token without `scope`: read from the
/// token's `scope` claim (a JWT) or else introspection, and from the token response's
/// `scope` (RFC 6749 §5.1); each source that shows it is named.
fn not_granted(w: &mut World, r: &FetchResult, scope: &str, what: &str) -> Check {
    let Ok(t) = tokens(r, what) else { return Check::Holds };
    let token = field(&t, "access_token");
    let mut seen: Vec<(&str, String)> = Vec::new();
    match claims(&token) {
        Some(c) => seen.push(("the token's scope claim", c.scope.unwrap_or_default())),
        None => {
            if let Some(s) = w.introspect(&token)["scope"].as_str() {
                seen.push(("introspection's scope", s.to_string()));
            }
        }
    }
    if let Some(s) = t["scope"].as_str() {
        seen.push(("the token response's scope", s.to_string()));
    }
    if seen.is_empty() {
        return Check::Undecided(format!(
            "{what}: the token is opaque, the AS will not introspect it and the token response names no scope"
        ));
    }
    let granted: Vec<String> = seen
        .iter()
        .filter(|(_, s)| has_scope(s, scope))
        .map(|(source, s)| format!("{source} `{s}`"))
        .collect();
    Check::expect(granted.is_empty(), || {
        Violation::about(what, format!("{scope} not granted"), granted.join(", "))
    })
}

pub(super) fn token_request_scope(w: &mut World) -> Check {
    let code = step!(victim_code(w, "mcp:read"));
    let r = redeem(w, VICTIM, &code, &[("scope", Some("mcp:read mcp:write"))]);
    not_granted(w, &r, "mcp:write", "authorized mcp:read, asked mcp:read mcp:write at the token endpoint")
}

pub(super) fn authorization_scope(w: &mut World) -> Check {
    let app = app(w);
    let url = authorization_url(w, &app, VERIFIER, &[("scope", Some("mcp:read mcp:admin"))]);
    let response = step!(authorize(w, "browser:victim", &url));
    let Some(code) = response.get("code").map(String::from) else { return Check::Holds };
    let r = redeem(w, VICTIM, &code, &[]);
    not_granted(w, &r, "mcp:admin", &format!("{app} (may have mcp:read mcp:write) asked mcp:read mcp:admin"))
}

pub(super) fn registration_scope(w: &mut World) -> Check {
    let (beyond, resource) = w.as_under_test.beyond_policy.clone();
    let asked = format!("mcp:read {beyond}");
    let info = match register_greedy(w, &asked) {
        Ok(Some(info)) => info,
        // Refused outright, which keeps the policy too (RFC 7591 §3.2.2). Then: a client
        // registered with `mcp:read` alone must not get `mcp:write` either.
        Ok(None) => {
            let info = match register_greedy(w, "mcp:read") {
                Ok(Some(info)) => info,
                Ok(None) => {
                    return Check::Undecided("the AS refused a registration asking only mcp:read".into());
                }
                Err(c) => return c,
            };
            let resource = w.as_under_test.resource.clone();
            return client_gets_no_code(w, &info, "mcp:write", &resource);
        }
        Err(c) => return c,
    };
    let registered = field(&info, "scope");
    if has_scope(&registered, &beyond) {
        return Check::Violated(Violation::about(
            format!("registration asking `{asked}`"),
            format!("{beyond} (not in the registration policy) dropped"),
            format!("scope `{registered}`"),
        ));
    }
    if let v @ (Check::Violated(_) | Check::Undecided(_)) = client_gets_no_code(w, &info, &beyond, &resource)
    {
        return v;
    }
    // And a scope the AS knows but this client did not register.
    if has_scope(&registered, "mcp:write") {
        return Check::Holds;
    }
    let resource = w.as_under_test.resource.clone();
    client_gets_no_code(w, &info, "mcp:write", &resource)
}

/// Registers a public client asking `scope`: its information, `None` when the AS refuses
/// the metadata (400 `invalid_client_metadata` or `invalid_scope`), or the verdict.
fn register_greedy(w: &mut World, scope: &str) -> Result<Option<Value>, Check> {
    let metadata = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"], "client_name": "greedy app", "scope": scope});
    match w.register("attacker", &metadata) {
        Ok(info) => Ok(Some(info)),
        Err(r)
            if oauth_error_code_of(&r).is_some_and(|c| {
                [ErrorCode::InvalidClientMetadata, ErrorCode::InvalidScope].contains(&c)
            }) =>
        {
            Ok(None)
        }
        Err(_) if w.as_under_test.registration_endpoint.is_none() => {
            Err(Check::NotApplicable("the AS has no registration endpoint".into()))
        }
        Err(r) => Err(Check::Undecided(format!("registration: expected 201 or 400, got {}", describe(&r)))),
    }
}

/// Holds when the client of `info`, registered without `scope`, gets no code asking it
/// at `resource`.
fn client_gets_no_code(w: &mut World, info: &Value, scope: &str, resource: &str) -> Check {
    let url = authorization_url(
        w,
        &field(info, "client_id"),
        VERIFIER,
        &[("resource", Some(resource)), ("scope", Some(scope))],
    );
    let response = step!(authorize(w, "browser:attacker", &url));
    Check::expect(response.get("code").is_none(), || {
        Violation::about(
            format!("a client registered without {scope} asked it at {resource}"),
            "an error",
            "a code",
        )
    })
}
