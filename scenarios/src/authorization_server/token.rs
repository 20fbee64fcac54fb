//! Token responses and resource indicators: no caching, short lifetimes, no legacy
//! grants, the audience of the requested resource; introspection only for callers with
//! credentials.

use super::oauth::{
    SCOPE, VERIFIER, VICTIM, app, authorization_url, authorize, claims, expect_error_in, field, redeem,
    refresh, token_request, tokens, victim_code, victim_tokens,
};
use crate::world::{World, all_variants, describe};
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_reference::wire;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::Value;

fn no_store(r: &FetchResult) -> bool {
    let value = r.as_ref().ok().and_then(|r| r.headers().get(http::header::CACHE_CONTROL)?.to_str().ok());
    value.is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-store")))
}

pub(super) fn token_no_store(w: &mut World) -> Check {
    let code = step!(victim_code(w, SCOPE));
    let first = redeem(w, VICTIM, &code, &[]);
    let rt = field(&step!(tokens(&first, "the redemption")), "refresh_token");
    let second = refresh(w, VICTIM, &rt, &[]);
    let outcomes = [("code redemption", &first), ("refresh", &second)]
        .into_iter()
        .map(|(what, r)| {
            let check = Check::expect(no_store(r), || {
                Violation::about(what, "Cache-Control: no-store", describe_headers(r))
            });
            (what.to_string(), check)
        })
        .collect();
    all_variants(w, outcomes)
}

fn describe_headers(r: &FetchResult) -> String {
    let Ok(r) = r else { return "no answer".into() };
    let headers: Vec<String> =
        r.headers().iter().map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?"))).collect();
    format!("HTTP {} with headers [{}]", r.status().as_u16(), headers.join(", "))
}

pub(super) fn short_lived_tokens(w: &mut World) -> Check {
    let t = step!(victim_tokens(w, SCOPE));
    // What shows the lifetime: a JWT's `exp - iat` (no `exp`: forever), the response's
    // `expires_in` (RFC 6749 §5.1, RECOMMENDED), or both.
    let jwt = claims(&field(&t, "access_token"))
        .map(|c| c.exp.map_or(u64::MAX, |exp| exp.saturating_sub(c.iat.unwrap_or(0))));
    let expires_in = t["expires_in"].as_u64();
    if jwt.is_none() && expires_in.is_none() {
        return Check::Undecided(
            "the access token is opaque and the token response carries no expires_in: its lifetime \
             cannot be seen"
                .into(),
        );
    }
    let shown = |s: Option<u64>| {
        s.map_or("-".to_string(), |s| if s == u64::MAX { "never".into() } else { format!("{s} s") })
    };
    Check::expect([jwt, expires_in].into_iter().flatten().all(|s| s <= 3600), || {
        let observed = match jwt {
            Some(_) => format!("exp - iat = {}, expires_in = {}", shown(jwt), shown(expires_in)),
            None => format!("expires_in = {} (an opaque token)", shown(expires_in)),
        };
        Violation::new("access tokens to live at most 3600 s", observed)
    })
}

pub(super) fn legacy_grants(w: &mut World) -> Check {
    // OAuth 2.1 has no implicit grant: `token` is a response type the server does not
    // support (unsupported_response_type) or an invalid parameter value (invalid_request),
    // OAuth 2.1 §4.1.2.1.
    let implicit_url = authorization_url(w, &app(w), VERIFIER, &[("response_type", Some("token"))]);
    let implicit = match authorize(w, "browser:victim", &implicit_url) {
        Err(check) => check,
        Ok(response) => {
            let allowed = [ErrorCode::UnsupportedResponseType.as_str(), ErrorCode::InvalidRequest.as_str()];
            Check::expect(response.get("error").is_some_and(|e| allowed.contains(&e)), || {
                Violation::about(
                    "response_type=token",
                    "error=unsupported_response_type or invalid_request (OAuth 2.1 §4.1.2.1)",
                    format!("`{}`", response.encode()),
                )
            })
        }
    };
    let (app, resource) = (app(w), w.as_under_test.resource.clone());
    let password = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice"),
        ("client_id", app.as_str()),
        ("resource", resource.as_str()),
    ];
    let r = token_request(w, VICTIM, &password);
    // A grant the server does not support, or one this client may not use (RFC 6749 §5.2).
    let password = expect_error_in(
        &r,
        &[ErrorCode::UnsupportedGrantType, ErrorCode::UnauthorizedClient],
        "grant_type=password",
        "RFC 6749 §5.2: unsupported_grant_type, or unauthorized_client for this client",
    );
    all_variants(w, vec![("response_type=token".into(), implicit), ("grant_type=password".into(), password)])
}

/// RFC 8707 §2, a SHOULD twice over: an unacceptable resource "should" be rejected with
/// `invalid_target`, and "The authorization server **SHOULD** audience-restrict issued
/// access tokens to the resource(s) indicated by the `resource` parameter". MCP binds
/// tokens to audiences "when the Authorization Server supports the capability" (2025-11-25
/// §Token Audience Binding and Validation) and puts the MUST on the MCP server (RS-08).
pub(super) fn resource_binding(w: &mut World) -> Check {
    let unknown = "https://unknown.example/mcp";
    let url = authorization_url(w, &app(w), VERIFIER, &[("resource", Some(unknown))]);
    let response = step!(authorize(w, "browser:victim", &url));
    if response.get("error") != Some(ErrorCode::InvalidTarget.as_str()) {
        return Check::Violated(Violation::about(
            format!("resource {unknown}"),
            "error=invalid_target",
            format!("`{}`", response.encode()),
        ));
    }
    let Some(other) = w.as_under_test.other_resource.clone() else {
        return Check::Holds;
    };
    // The other resource's scopes may differ from these; the audience is the point here,
    // so a scope refusal is retried without a scope.
    let url = authorization_url(w, &app(w), VERIFIER, &[("resource", Some(&other))]);
    let mut response = step!(authorize(w, "browser:victim", &url));
    if response.get("error") == Some(ErrorCode::InvalidScope.as_str()) {
        let url = authorization_url(w, &app(w), VERIFIER, &[("resource", Some(&other)), ("scope", None)]);
        response = step!(authorize(w, "browser:victim", &url));
    }
    let Some(code) = response.get("code").map(String::from) else {
        return Check::Undecided(format!("resource {other}: expected a code, got `{}`", response.encode()));
    };
    let t = step!(tokens(&redeem(w, VICTIM, &code, &[("resource", Some(&other))]), "the redemption"));
    let aud: Vec<String> =
        claims(&field(&t, "access_token")).map_or(vec![], |c| c.aud.iter().map(String::from).collect());
    Check::expect(aud == [other.clone()], || {
        Violation::about(format!("resource {other}"), format!("aud [{other}]"), format!("{aud:?}"))
    })
}

/// AS-44 (RFC 7662 §2.1: "To prevent token scanning attacks, the endpoint MUST also
/// require some form of authorization to access this endpoint, such as client
/// authentication … or a separate OAuth 2.0 access token"): the victim's live access
/// token, introspected by a caller who presents no credentials, must not be reported
/// active. (A 200 that says `active: false` for it reveals nothing, and holds.)
pub(super) fn introspection_requires_authorization(w: &mut World) -> Check {
    let Some(endpoint) = w.as_under_test.introspection_endpoint.clone() else {
        return Check::NotApplicable(
            "the AS names no introspection endpoint in its metadata (give one with --introspection-endpoint)"
                .into(),
        );
    };
    let token = field(&step!(victim_tokens(w, SCOPE)), "access_token");
    let request = match wire::post_form_request(&endpoint, &wire::encode_pairs([("token", token.as_str())])) {
        Ok(r) => r,
        Err(e) => return Check::Undecided(format!("introspection endpoint `{endpoint}`: {e}")),
    };
    let r = w.send("attacker", request);
    let answer = r.as_ref().ok().filter(|r| r.status().is_success());
    let active = answer
        .and_then(|r| serde_json::from_slice::<Value>(r.body()).ok())
        .and_then(|v| v["active"].as_bool());
    Check::expect(active != Some(true), || {
        Violation::about(
            format!("POST {endpoint} with the victim's access token and no credentials"),
            "401 (RFC 7662 §2.1: the endpoint requires authorization)",
            describe(&r),
        )
    })
}
