//! The JWT bearer grant (RFC 7523 §2.1) at the authorization server, for two MCP
//! extensions: enterprise-managed authorization (SEP-990, ext-auth
//! `specification/stable/enterprise-managed-authorization.mdx`, "ema"): an ID-JAG from
//! the enterprise IdP is validated (AS-35, AS-EMA-01), taken once (AS-36, AS-EMA-02) and
//! buys a token for its `resource` with no more than its scopes (AS-37, AS-EMA-03); and
//! workload identity federation (SEP-1933, ext-auth
//! `specification/draft/workload-identity-federation.mdx`, "wif"): a workload JWT is
//! validated and the grant advertised (AS-42, AS-WIF-01).
//!
//! The cases need an issuer the AS trusts whose key the harness holds
//! ([`World::enterprise`]): the simulated AS trusts the world's IdP and workload platform.
//! An AS whose metadata offers neither the grant nor the ID-JAG profile does not offer
//! enterprise-managed authorization: the EMA cases are then not applicable.

use super::oauth::{claims, field, has_scope, tokens};
use crate::world::{Enterprise, World, all_variants, describe, oauth_error_code};
use mcp_authz_reference::id_jag;
use mcp_authz_reference::jwt::{self, Algorithm};
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::sans_io::{FetchError, FetchResult};
use mcp_authz_reference::wire;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Value, json};

/// RFC 7521 §5.2: an invalid assertion is refused with `invalid_grant`.
const INVALID_GRANT_RULE: &str = "RFC 7521 §5.2, \"The value of the \"error\" parameter MUST be the \"invalid_grant\" error code\"; EMA §7.6.2";

/// The AS metadata, when it offers the JWT bearer grant or the ID-JAG profile, and the
/// issuers the harness can sign as.
fn ema_offered(w: &mut World) -> Result<Enterprise, Check> {
    let issuer = w.as_under_test.issuer.clone();
    let m = crate::world::discover(&mut w.sim, &issuer)
        .map_err(|e| Check::Undecided(format!("no authorization server metadata: {e}")))?;
    let grant = m.grant_types_supported.as_ref().is_some_and(|g| g.iter().any(|g| g == id_jag::JWT_BEARER));
    let profile = m
        .other
        .get(id_jag::GRANT_PROFILES_SUPPORTED)
        .and_then(Value::as_array)
        .is_some_and(|p| p.iter().any(|p| p == id_jag::GRANT_PROFILE));
    if !grant && !profile {
        return Err(Check::NotApplicable(format!(
            "the AS offers neither the JWT bearer grant (grant_types_supported: {}) nor the ID-JAG profile \
             ({}): it does not offer enterprise-managed authorization",
            m.grant_types_supported.as_ref().map_or("absent".to_string(), |g| g.join(", ")),
            id_jag::GRANT_PROFILES_SUPPORTED
        )));
    }
    w.enterprise()
}

/// Presents `assertion` at the token endpoint with the JWT bearer grant, authenticated as
/// `client` (`client_secret_basic`) when given, with `extra` parameters.
fn present(
    w: &mut World,
    assertion: &str,
    client: Option<&(String, String)>,
    extra: &[(&str, &str)],
) -> FetchResult {
    let endpoint = w.as_under_test.token_endpoint.clone();
    let mut form = vec![("grant_type", id_jag::JWT_BEARER), ("assertion", assertion)];
    form.extend_from_slice(extra);
    let request = wire::post_form_request(&endpoint, &wire::encode_pairs(form));
    let mut request = match request {
        Ok(r) => r,
        Err(e) => return Err(FetchError { url: endpoint, reason: e.to_string() }),
    };
    let from = match client {
        Some((id, secret)) => {
            use base64::Engine as _;
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            if let Ok(v) = format!("Basic {basic}").parse() {
                request.headers_mut().insert(http::header::AUTHORIZATION, v);
            }
            id.clone()
        }
        None => "workload".to_string(),
    };
    w.send(&from, request)
}

/// Holds when `r` refuses the grant with one of `allowed`: 400 (RFC 6749 §5.2), or 401
/// for `invalid_client`.
fn refused(r: &FetchResult, allowed: &[ErrorCode], what: &str, rule: &str) -> Check {
    let got = r.as_ref().ok().map(|r| (r.status().as_u16(), oauth_error_code(r)));
    let ok = match &got {
        Some((400, Some(c))) => allowed.contains(c),
        Some((401, Some(c))) => *c == ErrorCode::InvalidClient && allowed.contains(c),
        _ => false,
    };
    Check::expect(ok, || {
        let codes: Vec<&str> = allowed.iter().map(ErrorCode::as_str).collect();
        Violation::about(what, format!("400 with error {} ({rule})", codes.join(" or ")), describe(r))
    })
}

/// The token response to an honest grant, or why the case cannot judge refusals.
fn honest(r: &FetchResult, what: &str) -> Result<Value, Check> {
    tokens(r, what).map_err(|_| {
        Check::Undecided(format!("{what} was refused, so refusals say nothing: {}", describe(r)))
    })
}

/// The claims of a JWT, read without verifying it.
fn payload(token: &str) -> Value {
    jwt::split(token).ok().and_then(|c| serde_json::from_slice(&c.payload).ok()).unwrap_or_default()
}

/// An unsigned JWS (`alg: none`, empty signature) with `header` and `claims`.
fn unsigned(header: &Value, claims: &Value) -> String {
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", b64(header), b64(claims))
}

/// AS-EMA-01 (AS-35; EMA §7.4.1, "The MCP Authorization Server **MUST** verify the JWS
/// signature using a trusted key for the issuing IdP", "**MUST NOT** accept `alg:
/// none`", "**MUST** validate JWT claims including issuer (`iss`), audience (`aud`),
/// subject (`sub`), and time bounds (`iat`, `exp`)"; §7.6.2, "**MUST** validate that the
/// `aud` claim matches its own Issuer URL", "**MUST** validate that the `resource` claim
/// matches its own registered Resource Identifiers", "**MUST** reject the request with an
/// `invalid_grant` error"; draft text §5.1, `typ` `oauth-id-jag+jwt` and the `client_id`
/// of the client authentication): an honest ID-JAG from the IdP buys a token; the same
/// grant with one defect each, under a fresh `jti`, is refused with `invalid_grant`.
pub(super) fn id_jag_validation(w: &mut World) -> Check {
    let e = step!(ema_offered(w));
    let grant = step!(w.id_jag_from_idp("mcp:read"));
    step!(honest(&present(w, &grant, Some(&e.client), &[]), "an honest ID-JAG from the trusted IdP"));
    let base = payload(&grant);
    let mut n = 0;
    let mut variant = |change: &dyn Fn(&mut Value)| {
        n += 1;
        let mut c = base.clone();
        c["jti"] = json!(format!("{}-{n}", field(&base, "jti")));
        change(&mut c);
        c
    };
    let remove = |name: &'static str| move |c: &mut Value| drop(c.as_object_mut().map(|o| o.remove(name)));
    let now = w.now().unix_secs();
    let mut grants: Vec<(&str, String)> = vec![];
    let c = variant(&|_| {});
    grants.push(("signed by a key the IdP does not hold", w.sign_as_idp(Some(id_jag::TYP), &c, true)));
    let c = variant(&|_| {});
    grants
        .push(("alg none", unsigned(&json!({"alg": "none", "typ": id_jag::TYP, "kid": e.idp_key.kid}), &c)));
    let c = variant(&|_| {});
    grants.push(("typ JWT", w.sign_as_idp(Some("JWT"), &c, false)));
    let c = variant(&|_| {});
    grants.push(("no typ", w.sign_as_idp(None, &c, false)));
    let c = variant(&remove("sub"));
    grants.push(("no sub", w.sign_as_idp(Some(id_jag::TYP), &c, false)));
    let c = variant(&remove("exp"));
    grants.push(("no exp", w.sign_as_idp(Some(id_jag::TYP), &c, false)));
    let c = variant(&|c| c["aud"] = json!("https://other-as.example"));
    grants.push(("aud another authorization server", w.sign_as_idp(Some(id_jag::TYP), &c, false)));
    let c = variant(&|c| c["resource"] = json!("https://elsewhere.example/mcp"));
    grants.push(("resource not one of this AS's", w.sign_as_idp(Some(id_jag::TYP), &c, false)));
    let c = variant(&|c| c["client_id"] = json!("another-agent"));
    grants.push(("client_id another client", w.sign_as_idp(Some(id_jag::TYP), &c, false)));
    let c = variant(&|c| {
        c["iat"] = json!(now.saturating_sub(900));
        c["exp"] = json!(now.saturating_sub(600));
    });
    grants.push(("expired 10 minutes ago", w.sign_as_idp(Some(id_jag::TYP), &c, false)));
    let mut outcomes = vec![];
    for (what, g) in grants {
        let r = present(w, &g, Some(&e.client), &[]);
        // The draft (§4.4.1) names invalid_grant; a server that sees another client's grant
        // as a client problem answers invalid_client, which EMA's wording does not exclude.
        let allowed: &[ErrorCode] = match what.starts_with("client_id") {
            true => &[ErrorCode::InvalidGrant, ErrorCode::InvalidClient],
            false => &[ErrorCode::InvalidGrant],
        };
        outcomes.push((
            what.to_string(),
            refused(&r, allowed, &format!("an ID-JAG with {what}"), INVALID_GRANT_RULE),
        ));
    }
    all_variants(w, outcomes)
}

/// AS-EMA-02 (AS-36; EMA §7.4.2, "The MCP Authorization Server **MUST** validate `jti`
/// when present and **MUST** implement replay detection by rejecting re-use of the same
/// `jti` for the lifetime of the assertion (at minimum until `exp`)"): the same honest
/// ID-JAG presented twice, within its lifetime, buys one token.
pub(super) fn id_jag_replay(w: &mut World) -> Check {
    let e = step!(ema_offered(w));
    let grant = step!(w.id_jag_from_idp("mcp:read"));
    step!(honest(&present(w, &grant, Some(&e.client), &[]), "the first presentation of an honest ID-JAG"));
    let again = present(w, &grant, Some(&e.client), &[]);
    refused(
        &again,
        &[ErrorCode::InvalidGrant],
        "the same ID-JAG (same jti) again",
        "EMA §7.4.2; RFC 7521 §5.2",
    )
}

/// AS-EMA-03 (AS-37; EMA §5.1, "the issued access token **MUST** be audience-restricted
/// to the MCP Server identified by the `resource` claim in the ID-JAG"; §7.2.1, "issue
/// access tokens with scopes that are the intersection of the requested scopes and the
/// scopes present in the ID-JAG"): an ID-JAG for `mcp:read`, presented with a request for
/// `mcp:read mcp:write`, buys a token whose audience is the ID-JAG's resource and whose
/// scopes are within `mcp:read`. The audience is read from the token (RFC 9068) or, for an
/// opaque one, from introspection.
pub(super) fn id_jag_audience_and_scope(w: &mut World) -> Check {
    let e = step!(ema_offered(w));
    let grant = step!(w.id_jag_from_idp("mcp:read"));
    let resource = field(&payload(&grant), "resource");
    let r = present(w, &grant, Some(&e.client), &[("scope", "mcp:read mcp:write")]);
    // Refusing the wider request outright is allowed too (RFC 6749 §5.2, `invalid_scope`:
    // the scope "exceeds the scope granted"): the scope then holds, and a second ID-JAG,
    // asked for its own scope only, shows the audience.
    let refused_wide = r.as_ref().is_ok_and(|r| {
        r.status() == 400 && crate::world::oauth_error_code(r) == Some(ErrorCode::InvalidScope)
    });
    let (r, resource) = match refused_wide {
        false => (r, resource),
        true => {
            w.note("the AS refuses mcp:read mcp:write for an ID-JAG of mcp:read (invalid_scope): the scope holds");
            let grant = step!(w.id_jag_from_idp("mcp:read"));
            let resource = field(&payload(&grant), "resource");
            (present(w, &grant, Some(&e.client), &[("scope", "mcp:read")]), resource)
        }
    };
    let t = step!(honest(&r, "an honest ID-JAG"));
    let token = field(&t, "access_token");
    let (aud, scope) = match claims(&token) {
        Some(c) => (
            c.aud.iter().map(String::from).collect::<Vec<_>>(),
            c.scope.unwrap_or_else(|| field(&t, "scope")),
        ),
        None => {
            let i = w.introspect(&token);
            let aud = match &i["aud"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
                _ => return Check::Undecided("the token is opaque and introspection names no aud".into()),
            };
            (aud, i["scope"].as_str().map_or_else(|| field(&t, "scope"), String::from))
        }
    };
    let mut outcomes = vec![];
    outcomes.push((
        "audience".to_string(),
        Check::expect(aud == [resource.clone()], || {
            Violation::about(
                "the token of an ID-JAG",
                format!("aud [{resource}], the ID-JAG's resource (EMA §5.1)"),
                format!("{aud:?}"),
            )
        }),
    ));
    outcomes.push((
        "scope".to_string(),
        Check::expect(refused_wide || (!has_scope(&scope, "mcp:write") && !scope.is_empty()), || {
            Violation::about(
                "the token of an ID-JAG for mcp:read, asked for mcp:read mcp:write",
                "scopes within mcp:read, the intersection (EMA §7.2.1)",
                format!("scope `{scope}`"),
            )
        }),
    ));
    all_variants(w, outcomes)
}

/// AS-WIF-01 (AS-42; wif §JWT Validation, "Authorization servers MUST validate the JWT
/// according to RFC 7523 Section 3", "The authorization server MUST verify that the issuer
/// is trusted"; RFC 7523 §3, "The authorization server MUST reject any JWT that does not
/// contain its own identity as the intended audience", "MUST reject any JWT with an
/// expiration time that has passed"; wif §Authorization Server Metadata, "The
/// `grant_types_supported` array MUST include the value
/// `urn:ietf:params:oauth:grant-type:jwt-bearer`"): an honest workload JWT (`aud` the
/// token endpoint) buys a token, and then the grant must be advertised; one from an
/// untrusted issuer, an expired one and one for another audience are refused with
/// `invalid_grant`. Not applicable when the AS neither advertises nor takes the grant.
pub(super) fn workload_jwt_validation(w: &mut World) -> Check {
    let issuer = w.as_under_test.issuer.clone();
    let m = step!(
        crate::world::discover(&mut w.sim, &issuer)
            .map_err(|e| Check::Undecided(format!("no authorization server metadata: {e}")))
    );
    let advertised =
        m.grant_types_supported.as_ref().is_some_and(|g| g.iter().any(|g| g == id_jag::JWT_BEARER));
    let e = match w.enterprise() {
        Ok(e) => e,
        Err(skip) => return skip,
    };
    let (endpoint, resource) = (w.as_under_test.token_endpoint.clone(), w.as_under_test.resource.clone());
    let now = w.now().unix_secs();
    let claims = |iss: &str, aud: &str, iat: u64, jti: &str| {
        json!({"iss": iss, "sub": "spiffe://workload.example/ns/agents/sa/reporter", "aud": aud,
            "iat": iat, "exp": iat + 300, "jti": jti})
    };
    // The time makes the `jti`s unique across runs against a live AS, which remembers them.
    let jti = |n: u32| format!("workload-{}-{n}", w.now().unix_millis());
    let jtis = [jti(1), jti(2), jti(3), jti(4)];
    let valid = w.sign_as_workload_platform(&claims(&e.workload_issuer, &endpoint, now, &jtis[0]));
    let first = present(w, &valid, None, &[("resource", &resource)]);
    let took = first.as_ref().is_ok_and(|r| r.status() == 200);
    let listed = m.grant_types_supported.as_ref().map_or("absent".to_string(), |g| g.join(", "));
    if !took && !advertised {
        return Check::NotApplicable(format!(
            "the AS neither lists {} in grant_types_supported ({listed}) nor takes an honest workload JWT ({})",
            id_jag::JWT_BEARER,
            describe(&first)
        ));
    }
    step!(honest(&first, "an honest workload JWT of the trusted platform"));
    let mut outcomes = vec![(
        "grant advertised".to_string(),
        Check::expect(advertised, || {
            Violation::about(
                "the metadata of an AS that takes the JWT bearer grant",
                format!(
                    "grant_types_supported containing {} (wif §Authorization Server Metadata)",
                    id_jag::JWT_BEARER
                ),
                format!("grant_types_supported: {listed}"),
            )
        }),
    )];
    let rogue = w.generate_key(Algorithm::EdDSA, "rogue-platform");
    let untrusted = jwt::encode(&rogue, "JWT", &claims("https://rogue.example", &endpoint, now, &jtis[1]))
        .unwrap_or_default();
    let expired = w.sign_as_workload_platform(&claims(
        &e.workload_issuer,
        &endpoint,
        now.saturating_sub(900),
        &jtis[2],
    ));
    let misaddressed = w.sign_as_workload_platform(&claims(
        &e.workload_issuer,
        "https://other-as.example/token",
        now,
        &jtis[3],
    ));
    for (what, jwt) in [
        ("an untrusted issuer", untrusted),
        ("expired 10 minutes ago", expired),
        ("aud another authorization server's token endpoint", misaddressed),
    ] {
        let r = present(w, &jwt, None, &[("resource", &resource)]);
        let rule = "wif §JWT Validation; RFC 7523 §3.1, \"the value of the \"error\" parameter MUST be the \"invalid_grant\" error code\"";
        outcomes.push((
            what.to_string(),
            refused(&r, &[ErrorCode::InvalidGrant], &format!("a workload JWT with {what}"), rule),
        ));
    }
    all_variants(w, outcomes)
}
