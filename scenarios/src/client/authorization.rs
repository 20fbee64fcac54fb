//! The authorization flow: mix-up, the challenged scope, `state`, PKCE, and `resource`
//! on every request to the AS.

use super::hostile::{
    EVIL_MCP, as_metadata, authorizations, challenged, code_redemptions, echo, hostile_as, hostile_mcp,
    prm_of, prm_url, received, rewrite_redirect, seen, urls,
};
use crate::world::{AS, EVIL, MCP, MCP_ORIGIN, REDIRECT, Route, World, all_variants};
use http::{StatusCode, header};
use mcp_authz_reference::bearer;
use mcp_authz_reference::pkce;
use mcp_authz_reference::protected_resource_metadata::WELL_KNOWN;
use mcp_authz_reference::wire::{self, Params};
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Verdict};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// RFC 9207 / RFC 9700 §4.4: a hostile MCP server names the attacker's AS, whose
/// authorization endpoint sends the user to the honest AS; the honest AS's response
/// (iss = the honest AS) must not be redeemed at the attacker's token endpoint. Then an
/// honest flow whose response lost its `iss` although the AS advertises it.
pub(super) fn mix_up(w: &mut World) -> Check {
    let attacker_as = "https://as.attacker.example";
    let registration = wire::post_json_request(
        &format!("{AS}/register"),
        &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "client_name": "attacker app"}),
    );
    let attacker_client = registration
        .ok()
        .and_then(|r| w.send("attacker", r).ok())
        .and_then(|r| serde_json::from_slice::<Value>(r.body()).ok())
        .and_then(|v| v["client_id"].as_str().map(String::from));
    let Some(attacker_client) = attacker_client else {
        return Check::Undecided("the attacker could not register a client at the honest AS".into());
    };
    w.note("the attacker's AS forwards authorization requests to the honest AS under its own client id");
    let forward: Route = Box::new(move |req| {
        let q = Params::from_query(req.uri()).unwrap_or_default();
        let pairs = [
            ("response_type", "code"),
            ("client_id", attacker_client.as_str()),
            ("redirect_uri", q.get("redirect_uri").unwrap_or(REDIRECT)),
            ("code_challenge", q.get("code_challenge").unwrap_or("")),
            ("code_challenge_method", "S256"),
            ("state", q.get("state").unwrap_or("")),
            ("resource", MCP),
            ("scope", "mcp:read"),
        ];
        wire::redirect(StatusCode::FOUND, &format!("{AS}/authorize?{}", wire::encode_pairs(pairs)))
    });
    hostile_mcp(w, EVIL, &prm_url(EVIL), prm_of(EVIL_MCP, attacker_as));
    let hits = hostile_as(
        w,
        attacker_as,
        as_metadata(attacker_as, attacker_as),
        vec![("/authorize".into(), forward)],
    );
    let coded = Rc::new(Cell::new(false));
    let flag = coded.clone();
    let log = w.tap(
        &[Channel::FrontChannel, Channel::Token],
        |_, _| Verdict::Pass,
        move |_, _, resp| {
            let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
            let url = location.and_then(|l| url::Url::parse(l).ok());
            if url.is_some_and(|u| u.query_pairs().any(|(k, _)| k == "code")) {
                flag.set(true);
            }
        },
    );
    let mut client = w.public_client(EVIL_MCP);
    let _ = w.run_client("victim", &mut client, echo());
    if !received(&hits, "GET /authorize") {
        return Check::Undecided("the client never reached the attacker's authorization endpoint".into());
    }
    if !coded.get() {
        // Why not: the user agent never followed the attacker's cross-origin redirect to
        // the honest AS, or the honest AS answered it without a code.
        let honest = format!("{AS}/authorize");
        let followed = !seen(&log, |s| s.url.starts_with(&honest)).is_empty();
        return Check::Undecided(match followed {
            false => format!(
                "the client's user agent did not follow the attacker's AS's redirect to {honest} (a \
                 cross-origin 302), so no code was issued and iss was never tested"
            ),
            true => format!(
                "the honest AS answered the forwarded authorization request without a code (it allows \
                 the redirect URI {REDIRECT} and loopback variants of it), so iss was never tested"
            ),
        });
    }
    let redeemed = urls(&code_redemptions(&log));
    if !redeemed.is_empty() {
        return Check::Violated(Violation::about(
            format!("authorization started at {attacker_as}, response from iss={AS}"),
            "no code redemption",
            format!("{redeemed:?}"),
        ));
    }
    // RFC 9207 §2.4: without the flag a client may accept a response without `iss`.
    let advertised = w
        .authorization_server()
        .is_ok_and(|a| a.metadata().authorization_response_iss_parameter_supported == Some(true));
    if !advertised {
        w.note("the honest AS does not advertise iss: a response without it may be redeemed");
        return Check::Holds;
    }
    w.note("honest flow; the adversary removes iss from the authorization response");
    let stripped = Rc::new(Cell::new(false));
    let flag = stripped.clone();
    let log = w.tap(
        &[Channel::FrontChannel, Channel::Token],
        |_, _| Verdict::Pass,
        move |_, _, resp| {
            if rewrite_redirect(resp, |p| p.retain(|(k, _)| k != "iss")) {
                flag.set(true);
            }
        },
    );
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim2", &mut client, echo());
    if !stripped.get() {
        return Check::Undecided("no authorization response reached the client".into());
    }
    let redeemed = urls(&code_redemptions(&log));
    Check::expect(redeemed.is_empty(), || {
        Violation::about(
            format!("authorization response without iss from {AS}, which advertises it"),
            "no code redemption",
            format!("{redeemed:?}"),
        )
    })
}

/// CL-05/06: the metadata's `scopes_supported` leaves out the scope the challenge names;
/// the challenge wins.
pub(super) fn challenged_scope_requested(w: &mut World) -> Check {
    w.note("the adversary rewrites scopes_supported in the resource metadata to [mcp:write, mcp:admin]");
    let challenges: Rc<RefCell<Vec<String>>> = Rc::default();
    let record = challenges.clone();
    let log = w.tap(
        &[Channel::Resource, Channel::Other, Channel::FrontChannel],
        |_, _| Verdict::Pass,
        move |msg, req, resp| {
            if msg.channel == Channel::Other && req.uri().path().starts_with(WELL_KNOWN) {
                if let Ok(mut prm) = serde_json::from_slice::<Value>(resp.body()) {
                    prm["scopes_supported"] = json!(["mcp:write", "mcp:admin"]);
                    *resp.body_mut() = prm.to_string().into();
                }
            }
            if let Ok(Some(c)) = bearer::bearer_challenge(resp.headers()) {
                record.borrow_mut().extend(c.get("scope").map(String::from));
            }
        },
    );
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let Some(challenged) = challenges.borrow().first().cloned() else {
        return Check::Undecided("server A's challenge named no scope".into());
    };
    let requested = authorizations(&log).first().and_then(|a| a.param("scope"));
    let covers =
        requested.as_deref().is_some_and(|r| challenged.split(' ').all(|c| r.split(' ').any(|s| s == c)));
    Check::expect(covers, || {
        Violation::about(
            format!("challenge scope=\"{challenged}\", scopes_supported [mcp:write, mcp:admin]"),
            format!("the authorization request to ask for {challenged}"),
            format!("scope {requested:?}"),
        )
    })
}

/// CL-32: an adversary on the front channel drops or replaces `state`.
pub(super) fn state_tampering(w: &mut World) -> Check {
    type Tamper = fn(&mut Vec<(String, String)>);
    let variants: [(&str, Tamper); 2] = [
        ("state removed", |p| p.retain(|(k, _)| k != "state")),
        ("state replaced", |p| {
            for (k, v) in p.iter_mut() {
                if k == "state" {
                    *v = "attacker-state".into();
                }
            }
        }),
    ];
    let mut outcomes = Vec::new();
    for (i, (what, tamper)) in variants.into_iter().enumerate() {
        w.note(&format!("the adversary rewrites the authorization response: {what}"));
        let tampered = Rc::new(Cell::new(false));
        let flag = tampered.clone();
        let log = w.tap(
            &[Channel::FrontChannel, Channel::Token],
            |_, _| Verdict::Pass,
            move |_, _, resp| {
                if rewrite_redirect(resp, tamper) {
                    flag.set(true);
                }
            },
        );
        let mut client = w.public_client(MCP);
        let _ = w.run_client(&format!("victim{i}"), &mut client, echo());
        let redeemed = urls(&code_redemptions(&log));
        let check = match tampered.get() {
            false => Check::Undecided("no authorization response reached the client".into()),
            true => Check::expect(redeemed.is_empty(), || {
                Violation::about(what, "no token request", format!("{redeemed:?}"))
            }),
        };
        outcomes.push((what.to_string(), check));
    }
    all_variants(w, outcomes)
}

/// CL-28/30: two flows; each authorization request carries an S256 challenge that the
/// verifier of its code exchange hashes to, and the two challenges differ.
pub(super) fn pkce_s256(w: &mut World) -> Check {
    let log = w.record(&[Channel::FrontChannel, Channel::Token]);
    let _ = w.connected_client("victim");
    let _ = w.connected_client("victim2");
    let authz = authorizations(&log);
    for a in &authz {
        let method = a.param("code_challenge_method");
        if method.as_deref() != Some(pkce::S256) || a.param("code_challenge").is_none() {
            return Check::Violated(Violation::about(
                format!("authorization request {}", a.url),
                "a code_challenge with code_challenge_method=S256",
                format!("method {method:?}"),
            ));
        }
    }
    let codes = code_redemptions(&log);
    if authz.len() != 2 || codes.len() != 2 {
        return Check::Undecided(format!(
            "expected two authorizations and two code exchanges, saw {} and {}",
            authz.len(),
            codes.len()
        ));
    }
    let mut challenges = Vec::new();
    for (a, c) in authz.iter().zip(&codes) {
        let challenge = a.param("code_challenge").unwrap_or_default();
        let verifier = c.param("code_verifier").unwrap_or_default();
        if let Err(e) =
            pkce::check_verifier_syntax(&verifier).and_then(|()| pkce::verify_s256(&verifier, &challenge))
        {
            return Check::Violated(Violation::about(
                format!("code_verifier `{verifier}` for code_challenge `{challenge}`"),
                "43-128 unreserved characters hashing to the challenge",
                e.to_string(),
            ));
        }
        challenges.push(challenge);
    }
    Check::expect(challenges[0] != challenges[1], || {
        Violation::about(
            "two flows",
            "a fresh verifier per flow",
            format!("the same code_challenge `{}`", challenges[0]),
        )
    })
}

/// CL-19..21: `resource` names the server on every request to the AS (MCP
/// §Resource Parameter Implementation: "MUST use the canonical URI of the MCP server");
/// the trailing-slash form names it too, and is CL-RES-02's SHOULD.
pub(super) fn resource_everywhere(w: &mut World) -> Check {
    let (sent, incomplete) = resources_sent(w);
    let slashed = format!("{MCP}/");
    let names_server =
        |r: &Option<String>| r.as_deref() == Some(MCP) || r.as_deref() == Some(slashed.as_str());
    match (sent.into_iter().find(|(_, resource)| !names_server(resource)), incomplete) {
        (Some((request, resource)), _) => {
            Check::Violated(Violation::about(request, format!("resource={MCP}"), format!("{resource:?}")))
        }
        (None, Some(why)) => Check::Undecided(why),
        (None, None) => Check::Holds,
    }
}

/// CL-22: `resource` is the server's URI as it is, without a trailing slash added (MCP
/// §Canonical Server URI: implementations "SHOULD consistently use the form without the
/// trailing slash"). A missing or other `resource` is CL-RES-01's finding.
pub(super) fn resource_without_added_slash(w: &mut World) -> Check {
    let (sent, incomplete) = resources_sent(w);
    let slashed = format!("{MCP}/");
    let outcomes = sent
        .into_iter()
        .map(|(request, resource)| {
            let check = match resource.as_deref() {
                Some(r) if r == MCP => Check::Holds,
                Some(r) if r == slashed => Check::Violated(Violation::about(
                    request.clone(),
                    format!("resource={MCP} (the no-slash form)"),
                    format!("resource={r}"),
                )),
                other => Check::NotApplicable(format!("resource {other:?}: CL-RES-01 judges it")),
            };
            (request, check)
        })
        .collect();
    match (all_variants(w, outcomes), incomplete) {
        (Check::Holds, Some(why)) => Check::Undecided(why),
        (check, _) => check,
    }
}

/// The `resource` of each authorization request, code exchange and refresh an honest
/// client sends while it connects to server A and refreshes once (server A answers its
/// first request with a token 401 invalid_token, "expired", the way a server makes any
/// client refresh); each with the request it came with. And why the run is incomplete,
/// when one of the three was not seen.
fn resources_sent(w: &mut World) -> (Vec<(String, Option<String>)>, Option<String>) {
    w.note("server A answers the first request with a token: 401 invalid_token (expired)");
    let expired = Cell::new(false);
    let challenge = format!(
        r#"Bearer error="invalid_token", error_description="the token expired", resource_metadata="{}""#,
        prm_url(MCP_ORIGIN)
    );
    let log = w.tap(
        &[Channel::FrontChannel, Channel::Token, Channel::Resource],
        move |msg, req| {
            if msg.channel == Channel::Resource
                && req.headers().contains_key(header::AUTHORIZATION)
                && !expired.replace(true)
            {
                Verdict::Respond(challenged(StatusCode::UNAUTHORIZED, &[&challenge]))
            } else {
                Verdict::Pass
            }
        },
        |_, _, _| {},
    );
    let _ = w.connected_client("victim");
    let authz = authorizations(&log);
    let codes = code_redemptions(&log);
    let refreshes = seen(&log, |s| s.param("grant_type").as_deref() == Some("refresh_token"));
    let incomplete = (authz.is_empty() || codes.is_empty() || refreshes.is_empty()).then(|| {
        format!(
            "expected an authorization, a code exchange and a refresh; saw {}, {} and {}",
            authz.len(),
            codes.len(),
            refreshes.len()
        )
    });
    let requests = [("authorization request", authz), ("code exchange", codes), ("refresh", refreshes)];
    let sent = requests
        .into_iter()
        .flat_map(|(what, seen)| {
            seen.into_iter().map(move |s| (format!("{what} {} {}", s.method, s.url), s.param("resource")))
        })
        .collect();
    (sent, incomplete)
}
