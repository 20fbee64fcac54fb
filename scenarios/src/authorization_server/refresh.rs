//! Refresh tokens: rotation, theft and reuse detection, client binding, and what a
//! refresh may not change (scope, resource).

use super::oauth::{
    SCOPE, VICTIM, all_revoked, app, claims, evil_app, expect_error, field, refresh, tokens, victim_tokens,
};
use crate::world::{World, describe};
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::Value;

pub(super) fn refresh_rotation(w: &mut World) -> Check {
    let rt0 = field(&step!(victim_tokens(w, SCOPE)), "refresh_token");
    let rt1 = field(&step!(tokens(&refresh(w, VICTIM, &rt0, &[]), "the refresh")), "refresh_token");
    if rt1.is_empty() || rt1 == rt0 {
        let observed = if rt1.is_empty() { "none" } else { "the same one" };
        return Check::Violated(Violation::about("refresh", "a new refresh token", observed));
    }
    expect_error(&refresh(w, VICTIM, &rt0, &[]), ErrorCode::InvalidGrant, "the rotated-out refresh token")
}

pub(super) fn refresh_attacker_first(w: &mut World) -> Check {
    let t0 = step!(victim_tokens(w, SCOPE));
    let rt0 = field(&t0, "refresh_token");
    w.note("the attacker stole the refresh token and uses it first");
    let stolen = step!(tokens(&refresh(w, "attacker", &rt0, &[]), "the attacker's refresh"));
    let r = refresh(w, VICTIM, &rt0, &[]);
    if let v @ Check::Violated(_) =
        expect_error(&r, ErrorCode::InvalidGrant, "the victim's refresh after the attacker's")
    {
        return v;
    }
    let named = [
        ("the victim's access token", field(&t0, "access_token")),
        ("the attacker's access token", field(&stolen, "access_token")),
        ("the attacker's refresh token", field(&stolen, "refresh_token")),
    ];
    all_revoked(w, "refresh token reuse", &named)
}

pub(super) fn refresh_victim_first(w: &mut World) -> Check {
    let t0 = step!(victim_tokens(w, SCOPE));
    let rt0 = field(&t0, "refresh_token");
    let t1 = step!(tokens(&refresh(w, VICTIM, &rt0, &[]), "the victim's refresh"));
    w.note("the attacker replays the refresh token it stole");
    let r = refresh(w, "attacker", &rt0, &[]);
    if let v @ Check::Violated(_) = expect_error(&r, ErrorCode::InvalidGrant, "the attacker's replay") {
        return v;
    }
    let named = [
        ("the first access token", field(&t0, "access_token")),
        ("the victim's new access token", field(&t1, "access_token")),
        ("the victim's new refresh token", field(&t1, "refresh_token")),
    ];
    all_revoked(w, "refresh token reuse", &named)
}

pub(super) fn refresh_concurrent(w: &mut World) -> Check {
    let t0 = step!(victim_tokens(w, SCOPE));
    let rt0 = field(&t0, "refresh_token");
    w.note("the victim and the attacker present the same refresh token at the same moment");
    let answers = [refresh(w, VICTIM, &rt0, &[]), refresh(w, "attacker", &rt0, &[])];
    let won: Vec<Value> = answers.iter().filter_map(|r| tokens(r, "").ok()).collect();
    if won.len() > 1 {
        return Check::Violated(Violation::about(
            "one refresh token presented twice",
            "at most one success",
            format!("two: {}", describe(&answers[1])),
        ));
    }
    let mut named = vec![("the first access token", field(&t0, "access_token"))];
    for t in &won {
        named.push(("the winner's access token", field(t, "access_token")));
        named.push(("the winner's refresh token", field(t, "refresh_token")));
    }
    all_revoked(w, "refresh token reuse", &named)
}

pub(super) fn refresh_other_client(w: &mut World) -> Check {
    let rt0 = field(&step!(victim_tokens(w, SCOPE)), "refresh_token");
    let (app, evil) = (app(w), step!(evil_app(w)));
    let r = refresh(w, "attacker", &rt0, &[("client_id", Some(&evil))]);
    expect_error(&r, ErrorCode::InvalidGrant, &format!("{app}'s refresh token presented by {evil}"))
}

pub(super) fn refresh_scope_widening(w: &mut World) -> Check {
    let rt0 = field(&step!(victim_tokens(w, "mcp:read")), "refresh_token");
    let r = refresh(w, VICTIM, &rt0, &[("scope", Some("mcp:read mcp:write"))]);
    expect_error(&r, ErrorCode::InvalidScope, "refresh of a mcp:read grant asking mcp:read mcp:write")
}

pub(super) fn refresh_resource_change(w: &mut World) -> Check {
    let rt0 = field(&step!(victim_tokens(w, SCOPE)), "refresh_token");
    let Some(other) = w.as_under_test.other_resource.clone() else {
        return Check::NotApplicable("no second resource of this AS is known: give --other-resource".into());
    };
    let r = refresh(w, VICTIM, &rt0, &[("resource", Some(&other))]);
    let resource = w.as_under_test.resource.clone();
    let what = format!("refresh of a grant for {resource} asking resource {other}");
    // A refusal is invalid_target (RFC 8707 §2); a token is judged by its audience, which
    // is what the grant bounds, not by the status: the JWT's `aud`, else introspection's.
    let Ok(t) = tokens(&r, "") else {
        return expect_error(&r, ErrorCode::InvalidTarget, &what);
    };
    let token = field(&t, "access_token");
    let audience: Option<Vec<String>> = match claims(&token) {
        Some(c) => Some(c.aud.iter().map(String::from).collect()),
        None => match w.introspect(&token)["aud"].clone() {
            Value::String(a) => Some(vec![a]),
            Value::Array(a) => Some(a.iter().filter_map(|v| v.as_str().map(String::from)).collect()),
            _ => None,
        },
    };
    match audience {
        None => Check::Undecided(format!(
            "{what}: answered with a token whose audience neither its claims nor introspection show"
        )),
        // Still for the granted resource alone: the AS ignored the parameter, which keeps
        // the grant's bound.
        Some(aud) => Check::expect(!aud.is_empty() && aud.iter().all(|a| *a == resource), || {
            Violation::about(
                what,
                format!(
                    "invalid_target, or a token for {resource} alone (RFC 8707: the refresh stays within the grant)"
                ),
                format!("a token with aud {aud:?}"),
            )
        }),
    }
}
