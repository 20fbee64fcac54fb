//! Authorization codes: interception, PKCE downgrade and `plain`, injection, reuse,
//! and the code's binding to its redirect URI, lifetime and client.

use super::oauth::{
    ATTACKER_VERIFIER, SCOPE, VERIFIER, VICTIM, all_revoked, app, at_callback, authorization_url, authorize,
    code, evil_app, expect_error, expect_error_in, field, redeem, tokens, victim_code,
};
use crate::world::{EVIL, World, all_variants, describe};
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::sans_io::{FetchResult, Request, Response};
use mcp_authz_reference::wire::Params;
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Interceptor, Message, Verdict};
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// The adversary on the front channel: a malicious app registered for the same redirect
/// URI receives every authorization response (`seen`); it also removes the `strip`
/// parameters from authorization requests in flight.
struct FrontChannelAdversary {
    seen: Rc<RefCell<Vec<String>>>,
    strip: &'static [&'static str],
    /// The path of the authorization endpoint.
    endpoint_path: String,
}

impl Interceptor for FrontChannelAdversary {
    fn on_request(&mut self, _msg: &Message, req: &mut Request) -> Verdict {
        if self.strip.is_empty() || req.uri().path() != self.endpoint_path {
            return Verdict::Pass;
        }
        if let Ok(mut url) = url::Url::parse(&req.uri().to_string()) {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !self.strip.contains(&k.as_ref()))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(kept);
            if let Ok(uri) = url.as_str().parse() {
                *req.uri_mut() = uri;
            }
        }
        Verdict::Pass
    }

    fn on_response(&mut self, _msg: &Message, _req: &Request, resp: &mut Response) {
        let location = resp.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok());
        if let Some(l) = location.filter(|l| url::Url::parse(l).is_ok_and(|u| at_callback(&u))) {
            self.seen.borrow_mut().push(l.to_string());
        }
    }
}

/// Grants the adversary the front channel; returns what it will see.
fn intercept_front_channel(
    w: &mut World,
    strip: &'static [&'static str],
) -> Result<Rc<RefCell<Vec<String>>>, Check> {
    let endpoint = &w.as_under_test.authorization_endpoint;
    let endpoint_path = url::Url::parse(endpoint).map(|u| u.path().to_string()).unwrap_or_default();
    let seen = Rc::new(RefCell::new(vec![]));
    w.sim.set_interceptor(
        vec![Channel::FrontChannel],
        Box::new(FrontChannelAdversary { seen: seen.clone(), strip, endpoint_path }),
    );
    Ok(seen)
}

/// The code of the last authorization response the adversary saw.
fn stolen_code(seen: &Rc<RefCell<Vec<String>>>) -> Result<String, Check> {
    let last = seen.borrow().last().cloned().unwrap_or_default();
    let query = last.split_once('?').map_or("", |(_, q)| q);
    let code = Params::parse(query.as_bytes()).ok().and_then(|p| p.get("code").map(String::from));
    code.ok_or_else(|| Check::Undecided("the adversary saw no code on the front channel".into()))
}

pub(super) fn code_interception(w: &mut World) -> Check {
    let seen = step!(intercept_front_channel(w, &[]));
    step!(victim_code(w, SCOPE));
    let stolen = step!(stolen_code(&seen));
    let (app, evil) = (app(w), step!(evil_app(w)));
    w.note(&format!("{evil} received the victim's code on the shared redirect uri and redeems it"));
    let mut outcomes = Vec::new();
    for (client_id, verifier) in [
        (evil.as_str(), None),
        (evil.as_str(), Some(ATTACKER_VERIFIER)),
        (app.as_str(), None),
        (app.as_str(), Some(ATTACKER_VERIFIER)),
    ] {
        let what = format!(
            "the stolen code as {client_id} {}",
            if verifier.is_some() { "with a guessed code_verifier" } else { "without code_verifier" }
        );
        let r =
            redeem(w, "attacker", &stolen, &[("client_id", Some(client_id)), ("code_verifier", verifier)]);
        // A missing verifier is "missing a required parameter" (invalid_request) as much as
        // a grant that fails verification (invalid_grant); a wrong one is the latter only.
        let check = match verifier {
            None => expect_error_in(
                &r,
                &[ErrorCode::InvalidGrant, ErrorCode::InvalidRequest],
                &what,
                "RFC 6749 §5.2: invalid_request \"is missing a required parameter\", invalid_grant \"is invalid\"",
            ),
            Some(_) => expect_error_in(
                &r,
                &[ErrorCode::InvalidGrant],
                &what,
                "RFC 6749 §5.2: a grant that fails verification is invalid_grant",
            ),
        };
        outcomes.push((what, check));
    }
    all_variants(w, outcomes)
}

pub(super) fn pkce_downgrade(w: &mut World) -> Check {
    step!(intercept_front_channel(w, &["code_challenge", "code_challenge_method"]));
    w.note("the adversary strips code_challenge and code_challenge_method from the authorization request");
    let url = authorization_url(w, &app(w), VERIFIER, &[]);
    let response = step!(authorize(w, "browser:victim", &url));
    let Some(code) = response.get("code").map(String::from) else {
        return Check::expect(response.get("error") == Some(ErrorCode::InvalidRequest.as_str()), || {
            let observed = format!("`{}`", response.encode());
            Violation::about(
                "authorization request without code_challenge",
                "error=invalid_request",
                observed,
            )
        });
    };
    let r = redeem(w, "attacker", &code, &[("code_verifier", None)]);
    Check::Violated(Violation::about(
        "authorization request without code_challenge",
        "error=invalid_request",
        format!("a code; redeemed without a verifier: {}", describe(&r)),
    ))
}

pub(super) fn pkce_plain(w: &mut World) -> Check {
    let mut outcomes = Vec::new();
    for method in [Some("plain"), None] {
        let what = format!("code_challenge_method {}", method.unwrap_or("absent (plain by default)"));
        let plain = [("code_challenge", Some(VERIFIER)), ("code_challenge_method", method)];
        let url = authorization_url(w, &app(w), VERIFIER, &plain);
        let check = match authorize(w, "browser:victim", &url) {
            Err(check) => check,
            Ok(response) => {
                Check::expect(response.get("error") == Some(ErrorCode::InvalidRequest.as_str()), || {
                    Violation::about(
                        what.clone(),
                        "error=invalid_request",
                        format!("`{}`", response.encode()),
                    )
                })
            }
        };
        outcomes.push((what, check));
    }
    all_variants(w, outcomes)
}

pub(super) fn code_injection(w: &mut World) -> Check {
    let seen = step!(intercept_front_channel(w, &[]));
    step!(victim_code(w, SCOPE));
    let stolen = step!(stolen_code(&seen));
    w.sim.clear_interceptor();
    let app = app(w);
    w.note(&format!("the attacker runs {app} with its own state and verifier and injects the victim's code"));
    let own = authorization_url(w, &app, ATTACKER_VERIFIER, &[("state", Some("attacker-state"))]);
    step!(code(w, "browser:attacker", &own));
    let r = redeem(w, "attacker", &stolen, &[("code_verifier", Some(ATTACKER_VERIFIER))]);
    expect_error(&r, ErrorCode::InvalidGrant, "the victim's code redeemed in the attacker's session")
}

/// An honest code redeemed once (the tokens), then replayed (the answer).
fn redeemed_twice(w: &mut World) -> Result<(Value, FetchResult), Check> {
    let code = victim_code(w, SCOPE)?;
    let first = tokens(&redeem(w, VICTIM, &code, &[]), "the first redemption")?;
    w.note("the attacker replays the code");
    Ok((first, redeem(w, "attacker", &code, &[])))
}

pub(super) fn code_reuse(w: &mut World) -> Check {
    let (_, second) = step!(redeemed_twice(w));
    expect_error(&second, ErrorCode::InvalidGrant, "the second redemption")
}

/// RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization
/// server **MUST** deny the request and **SHOULD** revoke (when possible) all tokens
/// previously issued based on that authorization code": the denial is AS-CODE-05's MUST,
/// the revocation this case's SHOULD.
pub(super) fn code_reuse_revokes(w: &mut World) -> Check {
    let (first, _) = step!(redeemed_twice(w));
    let named = [
        ("the access token", field(&first, "access_token")),
        ("the refresh token", field(&first, "refresh_token")),
    ];
    all_revoked(w, "a second redemption of the code", &named)
}

pub(super) fn code_redirect_binding(w: &mut World) -> Check {
    let code = step!(victim_code(w, SCOPE));
    let other = format!("{EVIL}/callback");
    let r = redeem(w, "attacker", &code, &[("redirect_uri", Some(&other))]);
    expect_error(&r, ErrorCode::InvalidGrant, &format!("redemption with redirect_uri {other}"))
}

/// A code redeemed after its lifetime is `invalid_grant`: the code waits one second past
/// the AS's code lifetime (the simulated AS's is the 10 minutes RFC 6749 §4.1.2 allows at
/// most; a live AS's is told with `--code-lifetime`, and its codes age in real time).
pub(super) fn code_expiry(w: &mut World) -> Check {
    let Some(lifetime) = w.as_under_test.code_lifetime else {
        return Check::NotApplicable("the AS's code lifetime is not known".into());
    };
    let wait = lifetime + Duration::from_secs(1);
    let code = step!(victim_code(w, SCOPE));
    w.note(&format!("the code waits {} s before it is redeemed", wait.as_secs()));
    w.wait(wait);
    let what = format!("redemption {} s after issue", wait.as_secs());
    expect_error(&redeem(w, VICTIM, &code, &[]), ErrorCode::InvalidGrant, &what)
}

pub(super) fn code_client_binding(w: &mut World) -> Check {
    let code = step!(victim_code(w, SCOPE));
    let (app, evil) = (app(w), step!(evil_app(w)));
    w.note(&format!("{evil} holds the victim's code and verifier and redeems them as itself"));
    let r = redeem(w, "attacker", &code, &[("client_id", Some(&evil))]);
    expect_error(&r, ErrorCode::InvalidGrant, &format!("a code of {app} redeemed by {evil}"))
}
