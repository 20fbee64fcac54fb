//! The AS's metadata documents, its published keys, and what it registers: hostile
//! client metadata, and a flood of registrations.

use super::oauth::field;
use crate::world::{REDIRECT, World, all_variants, describe};
use mcp_authz_reference::Error;
use mcp_authz_reference::metadata::{AuthorizationServerMetadata, discovery_urls};
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Value, json};

/// Every metadata document the AS serves at the discovery URLs of its issuer (RFC 8414
/// §3.1 and OpenID Discovery §4, path-inserted forms for an issuer with a path) passes
/// what an MCP client checks before it trusts it: `issuer` byte-equal to the issuer
/// (RFC 8414 §3.3), `S256` in `code_challenge_methods_supported`, `code` in
/// `response_types_supported`, authorization and token endpoints present and `https`
/// (or `http` on loopback). At least one document is served.
pub(super) fn metadata_documents(w: &mut World) -> Check {
    let issuer = w.as_under_test.issuer.clone();
    let urls = match discovery_urls(&issuer) {
        Ok(urls) => urls,
        Err(e) => return Check::Violated(violation("the issuer identifier", e)),
    };
    let mut served = 0;
    let mut outcomes = Vec::new();
    for url in &urls {
        let r = w.sim.get("harness", url);
        let document = r.as_ref().ok().filter(|r| {
            let json = r.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            r.status() == 200 && json.is_some_and(|v| v.to_ascii_lowercase().contains("json"))
        });
        let check = match document {
            None => Check::NotApplicable(format!("no JSON document ({})", describe(&r))),
            Some(document) => {
                served += 1;
                match AuthorizationServerMetadata::parse(document.body()).and_then(|m| m.check(&issuer)) {
                    Ok(_) => Check::Holds,
                    Err(e) => Check::Violated(violation(url, e)),
                }
            }
        };
        outcomes.push((url.clone(), check));
    }
    let each = all_variants(w, outcomes);
    match served {
        0 => Check::Violated(Violation::new(format!("a metadata document at {}", urls.join(" or ")), "none")),
        _ => each,
    }
}

/// The members of a JWK that are not public (RFC 7518 §6.2.2, §6.3.2, §6.4): EC and OKP
/// `d`, RSA's private exponent and factors, a symmetric key's `k`.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The JWK Set the AS's metadata names holds public keys only, each fit for its
/// algorithm (AS-45): no private or symmetric key members (RFC 7517 §9.2: "Private and
/// symmetric keys MUST be protected from disclosure to unintended parties"), RSA moduli of
/// 2048 bits or more (RFC 7518 §3.3, §3.5: "A key of size 2048 bits or larger MUST be
/// used"), and a `use` on every key when signing and encryption keys are both published
/// (RFC 8414 §2). It is read as JSON, so that members no verifier reads are seen too.
pub(super) fn jwks_public_keys_only(w: &mut World) -> Check {
    let issuer = w.as_under_test.issuer.clone();
    let jwks_uri = match crate::world::discover(&mut w.sim, &issuer) {
        Ok(m) => match m.jwks_uri {
            Some(uri) => uri,
            None => {
                return Check::NotApplicable("its metadata names no jwks_uri: it publishes no keys".into());
            }
        },
        Err(e) => return Check::Undecided(format!("no metadata to find the keys in: {e}")),
    };
    let r = w.sim.get("harness", &jwks_uri);
    let keys = match r
        .as_ref()
        .ok()
        .filter(|r| r.status() == 200)
        .map(|r| serde_json::from_slice::<Value>(r.body()))
    {
        Some(Ok(set)) => match set.get("keys").and_then(Value::as_array) {
            Some(keys) => keys.clone(),
            None => {
                return Check::Violated(Violation::about(
                    jwks_uri,
                    "a JWK Set (RFC 7517 §5)",
                    set.to_string(),
                ));
            }
        },
        _ => return Check::Violated(Violation::about(jwks_uri, "200 with a JWK Set", describe(&r))),
    };
    let uses: Vec<Option<&str>> = keys.iter().map(|k| k.get("use").and_then(Value::as_str)).collect();
    let both = uses.contains(&Some("sig")) && uses.contains(&Some("enc"));
    let outcomes = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let name = match key.get("kid").and_then(Value::as_str) {
                Some(kid) => format!("key `{kid}`"),
                None => format!("key {i}"),
            };
            (
                name.clone(),
                judge_key(key, both).map_or(Check::Holds, |(expected, observed)| {
                    Check::Violated(Violation::about(name, expected, observed))
                }),
            )
        })
        .collect();
    all_variants(w, outcomes)
}

/// What a published `key` breaks, as (expected, observed); `both`: the set holds signing
/// and encryption keys.
fn judge_key(key: &Value, both: bool) -> Option<(String, String)> {
    let private: Vec<&str> = PRIVATE_MEMBERS.into_iter().filter(|m| key.get(*m).is_some()).collect();
    if !private.is_empty() {
        let expected = "public members only (RFC 7517 §9.2: private and symmetric keys MUST be protected from disclosure)";
        return Some((expected.into(), format!("private member(s) {}", private.join(", "))));
    }
    let kty = key.get("kty").and_then(Value::as_str);
    if kty == Some("RSA") {
        let bits = key.get("n").and_then(Value::as_str).map(|n| {
            use base64::Engine as _;
            let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(n).unwrap_or_default();
            let leading = n.iter().position(|b| *b != 0).unwrap_or(n.len());
            let n = &n[leading..];
            n.first().map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize)
        });
        if bits.is_none_or(|bits| bits < 2048) {
            let expected = "an RSA modulus of 2048 bits or more (RFC 7518 §3.3)";
            return Some((expected.into(), format!("{} bits", bits.unwrap_or(0))));
        }
    }
    if kty.is_none() {
        return Some(("a `kty` (RFC 7517 §4.1: REQUIRED)".into(), key.to_string()));
    }
    if both && key.get("use").is_none() {
        let expected = "a `use`: the set holds signing and encryption keys (RFC 8414 §2)";
        return Some((expected.into(), "no `use`".into()));
    }
    None
}

/// What `context` violates, as `e` says: its halves when `e` compares a value with what
/// was expected, else what an MCP client accepts and `e`.
fn violation(context: &str, e: Error) -> Violation {
    match e {
        Error::Unexpected { what, received, expected } => {
            Violation::about(format!("{context}: {what}"), expected, received)
        }
        e => Violation::about(context, "metadata an MCP client accepts", e.to_string()),
    }
}

/// Registration requests no MCP AS may accept as sent (RFC 7591 §2 and §3.2.2): redirect
/// URIs that are neither localhost nor https (MCP §Communication Security) or carry a
/// fragment (RFC 6749 §3.1.2), and the implicit grant (gone from OAuth 2.1). Each is
/// refused, or registered without the hostile part.
pub(super) fn hostile_registration(w: &mut World) -> Check {
    if w.as_under_test.registration_endpoint.is_none() {
        return Check::NotApplicable("the AS has no registration endpoint".into());
    }
    let redirect = |uri: &str| {
        json!({"redirect_uris": [uri], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"], "response_types": ["code"], "client_name": "hostile app"})
    };
    let implicit = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
        "grant_types": ["implicit"], "response_types": ["token"], "client_name": "hostile app"});
    // The control: the same request with a good redirect URI is registered, so a refusal
    // below is about the hostile part.
    match w.register("attacker", &redirect(REDIRECT)) {
        Ok(info) => w.unregister("attacker", &info),
        Err(r) => {
            return Check::Undecided(format!("a plain registration: expected 201, got {}", describe(&r)));
        }
    }
    let cases = [
        ("a javascript: redirect URI", redirect("javascript:alert(document.cookie)//")),
        ("a data: redirect URI", redirect("data:text/html,<script>alert(1)</script>")),
        ("a plain-http redirect URI on a public host", redirect("http://evil.example/callback")),
        ("a redirect URI with a fragment", redirect("https://app.example/callback#x")),
        ("the implicit grant (response_type token)", implicit),
    ];
    let mut outcomes = Vec::new();
    for (what, metadata) in cases {
        let check = match w.register("attacker", &metadata) {
            Ok(info) => {
                // Registered: only if the AS dropped the hostile part (RFC 7591 §3.2.1 lets
                // it change metadata; it returns what it registered).
                let kept = |field: &str, bad: &dyn Fn(&str) -> bool| {
                    let values = info.get(field).or_else(|| metadata.get(field));
                    values
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.iter().filter_map(Value::as_str).any(bad))
                };
                let hostile = kept("redirect_uris", &|u| u != REDIRECT)
                    || kept("grant_types", &|g| g == "implicit")
                    || kept("response_types", &|t| t == "token");
                if !hostile {
                    w.note(&format!("registration with {what}: registered without it"));
                }
                w.unregister("attacker", &info);
                Check::expect(!hostile, || {
                    Violation::about(
                        format!("registration with {what}"),
                        "400 invalid_redirect_uri or invalid_client_metadata (RFC 7591 §3.2.2)",
                        format!("201 as client {}", field(&info, "client_id")),
                    )
                })
            }
            Err(r) => match r.as_ref() {
                Ok(resp) if (400..500).contains(&resp.status().as_u16()) => {
                    w.note(&format!("registration with {what}: refused"));
                    Check::Holds
                }
                _ => Check::Undecided(format!("expected 400 or 201, got {}", describe(&r))),
            },
        };
        outcomes.push((format!("registration with {what}"), check));
    }
    all_variants(w, outcomes)
}

/// How many registrations AS-REG-02 sends at most: more than twice the reference AS's
/// default (500 in a 60 s window), so that a burst shorter than one window meets the
/// limit wherever the window starts.
const REGISTRATION_FLOOD: usize = 1_100;

/// A hardening check (RFC 7591 §3: open registration "MAY be rate-limited or otherwise
/// limited to prevent a denial-of-service attack"): the attacker registers the same public
/// client again and again, as fast as it can, up to [`REGISTRATION_FLOOD`] times; before
/// the last, the AS throttles it, with 429 (RFC 6585 §4) or 503. Each registration the AS
/// keeps costs it memory, and an unthrottled endpoint lets one sender grow that without
/// bound.
pub(super) fn registration_flood(w: &mut World) -> Check {
    if w.as_under_test.registration_endpoint.is_none() {
        return Check::NotApplicable("the AS has no registration endpoint".into());
    }
    let metadata = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"], "response_types": ["code"], "application_type": "native",
        "client_name": "flood app"});
    w.note(&format!("the attacker registers the same client up to {REGISTRATION_FLOOD} times, at once"));
    for n in 1..=REGISTRATION_FLOOD {
        let r = match w.register("attacker", &metadata) {
            Ok(_) => continue,
            Err(r) => r,
        };
        let answer = r.as_ref().as_ref().ok();
        match answer.map(|a| a.status().as_u16()) {
            Some(status @ (429 | 503)) => {
                let retry_after = answer.and_then(|a| a.headers().get(http::header::RETRY_AFTER));
                let retry_after = retry_after.and_then(|v| v.to_str().ok()).unwrap_or("none");
                w.note(&format!("registration {n}: {status}, Retry-After {retry_after}"));
                return Check::Holds;
            }
            _ if n == 1 => {
                return Check::Undecided(format!("a plain registration: expected 201, got {}", describe(&r)));
            }
            _ => {
                return Check::Undecided(format!(
                    "registration {n}: expected 201, or 429 or 503 when throttled, got {}",
                    describe(&r)
                ));
            }
        }
    }
    Check::Violated(Violation::about(
        format!("{REGISTRATION_FLOOD} registrations of the same client in a burst"),
        "429 or 503 before the last (RFC 7591 §3: rate-limited to prevent a denial of service)",
        format!("all {REGISTRATION_FLOOD} registered (201)"),
    ))
}
