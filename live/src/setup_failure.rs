//! Why the server under test refused the harness's valid token at setup, found from what
//! it does with a few more: tokens signed with the harness's key of every other algorithm
//! (published in the JWKS it fetches from the start of the run), a token for the
//! server's origin instead of its endpoint, a token from the issuer spelled with a
//! trailing slash; and from its refusal (a `kid` it does not know points at its key
//! cache). The result is one message whose first line names the likely cause and what
//! to do.

use crate::test_authority::TestAuthority;
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience};
use mcp_authz_reference::bearer;
use mcp_authz_reference::jwt::{Algorithm, SigningKey};
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_scenarios::world::{World, describe};
use mcp_authz_sim::scenario::Revision;
use serde_json::json;

/// The message for a refusal of the valid token minted for `scope`: `refused` is what
/// listing the tools gave. Sends the probes of the module docs.
pub(crate) fn explain(
    w: &mut World,
    url: &str,
    authority: &TestAuthority,
    scope: &str,
    refused: &str,
) -> String {
    let claims = w.claims(scope);
    let (kid, alg) = authority.with_signing_key(|k| (k.kid().to_string(), k.alg()));
    let first = answer(w, &mint(authority, &claims));
    let Ok(response) = first.as_ref().map_err(|e| e.reason.clone()).and_then(|r| match r.status().as_u16() {
        401 => Ok(r.clone()),
        _ => Err(describe(&first)),
    }) else {
        return unexplained(url, authority, scope, refused);
    };
    let said = bearer::bearer_challenge(response.headers())
        .ok()
        .flatten()
        .map(|c| {
            let part = |k: &str| c.get(k).map(|v| format!("{k}=\"{v}\"")).unwrap_or_default();
            format!("{} {}", part("error"), part("error_description")).trim().to_string()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| describe(&first));
    let observed = format!("it answered a valid {alg} token (kid {kid}) with HTTP 401 {said}");

    let lower = said.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let mentions = |names: &[&str]| names.iter().any(|n| words.contains(n));
    let fetches = authority.jwks_fetches();
    let unknown_key = mentions(&["kid"])
        || ["no matching key", "no applicable key", "key not found", "unknown key"]
            .iter()
            .any(|k| lower.contains(k));
    let probes = authority.probe_keys();
    let accepted: Vec<Algorithm> =
        probes.iter().filter(|k| k.alg() != alg && accepts(w, &sign(&claims, k))).map(|k| k.alg()).collect();
    // A server that knows the other keys but not this one fetched the JWKS before this
    // key was in it; a server pinned to one algorithm accepts some probes, not all.
    let cached =
        alg != Algorithm::HS256 && unknown_key && (accepted.is_empty() || accepted.len() == probes.len());
    if let (false, Some(first)) = (cached, accepted.first()) {
        let names: Vec<&str> = accepted.iter().map(|a| a.name()).collect();
        let flag = |a: &Algorithm| format!("--alg {}", a.name().to_ascii_lowercase());
        let also = match &accepted[1..] {
            [] => String::new(),
            more => format!(" (or {})", more.iter().map(flag).collect::<Vec<_>>().join(", ")),
        };
        let without = if alg == Algorithm::HS256 { " without --hmac-secret" } else { "" };
        return format!(
            "the server at {url} refused {alg} tokens and accepted {}: run with {}{also}{without}\n{observed}",
            listed(&names),
            flag(first),
        );
    }
    let origin = url::Url::parse(url).ok().map(|u| u.origin().ascii_serialization());
    for aud in [origin, Some(format!("{url}/"))].into_iter().flatten().filter(|a| a != url) {
        if accepts(
            w,
            &mint(authority, &AccessTokenClaims { aud: Audience::one(aud.clone()), ..claims.clone() }),
        ) {
            return format!(
                "the server at {url} refused tokens for audience {url} and accepted tokens for {aud}: \
                 configure it with its resource {url} (the URL its clients use, RFC 8707), or give that \
                 --url if it is its endpoint\n{observed}"
            );
        }
    }
    let issuer = authority.issuer();
    let slashed = format!("{issuer}/");
    if accepts(w, &mint(authority, &AccessTokenClaims { iss: slashed.clone(), ..claims.clone() })) {
        return format!(
            "the server at {url} refused tokens from issuer {issuer} and accepted them from {slashed}: \
             configure it to trust issuer {issuer} exactly (RFC 9068 §4 compares it as a string)\n{observed}"
        );
    }
    if cached {
        let others = match accepted.is_empty() {
            true => String::new(),
            false => format!(
                " (it accepted the harness's {} keys, published before)",
                listed(&accepted.iter().map(|a| a.name()).collect::<Vec<_>>())
            ),
        };
        return format!(
            "the server at {url} does not know the harness's key (kid {kid}){others}: it uses keys it fetched \
             before this one was published (a JWKS cache with a cooldown, such as jose's 30 s); run again \
             once it refetches {} — the harness signs under this kid on every run\n{observed}; it fetched \
             the keys {fetches} time(s) during this run",
            authority.jwks_uri()
        );
    }
    let cause = if mentions(&["iss", "issuer"]) {
        format!("the issuer: is it configured to trust issuer {issuer}?")
    } else if mentions(&["aud", "audience", "resource"]) {
        format!("the audience: is its resource {url}?")
    } else if fetches == 0 {
        format!(
            "it never fetched the keys at {}: is it configured to trust issuer {issuer} with those keys?",
            authority.jwks_uri()
        )
    } else {
        format!(
            "it fetched the keys at {} and still refused: is it configured to trust issuer {issuer} for \
             audience {url}, and to accept {alg}?",
            authority.jwks_uri()
        )
    };
    format!(
        "the server at {url} refused the harness's valid token and every probe (the other algorithms, its \
         origin as audience, the issuer with a trailing slash); the likely cause is {cause}\n{observed}"
    )
}

/// `A`, `A and B`, `A, B and C`.
fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The message when the refusal was not a 401 (nothing to probe).
pub(crate) fn unexplained(url: &str, authority: &TestAuthority, scope: &str, refused: &str) -> String {
    format!(
        "the server at {url} did not list its tools for a valid token (scope `{scope}`): {refused}. \
         Is it configured to trust issuer {} (keys at {}) for audience {url}?",
        authority.issuer(),
        authority.jwks_uri()
    )
}

/// `claims` signed with the harness's key, as an access token.
fn mint(authority: &TestAuthority, claims: &AccessTokenClaims) -> String {
    authority.mint(claims).unwrap_or_default()
}

/// `claims` signed with `key`, as an access token.
fn sign(claims: &AccessTokenClaims, key: &SigningKey) -> String {
    claims.sign(key).unwrap_or_default()
}

/// The server's answer to its opening request (`initialize`; a stateless `tools/list`
/// for a 2026-07-28-only server) with `token`.
fn answer(w: &mut World, token: &str) -> FetchResult {
    if w.revisions == [Revision::R2026_07_28] {
        return w.modern("harness", token, "tools/list", json!({}));
    }
    let url = w.mcp.clone();
    w.open("harness", &url, Some(token)).0
}

/// True when the server takes `token` (any answer but a 401 or a transport failure).
fn accepts(w: &mut World, token: &str) -> bool {
    answer(w, token).is_ok_and(|r| r.status() != 401)
}
