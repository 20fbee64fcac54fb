//! The OAuth steps the AS scenarios are made of: the apps they start with, authorization
//! requests and responses, token requests (redeem, refresh), and reading the answers.

use crate::world::{REDIRECT, World, describe, oauth_error_code};
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::authorization_server::RegisteredClient;
use mcp_authz_reference::client::{self, ClientAuth};
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_reference::wire::{self, Params};
use mcp_authz_reference::{jwt, pkce};
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Value, json};

/// The victim's app as a sender in the trace.
pub(super) const VICTIM: &str = "notes-app";

/// The victim's app's second redirect URI, not on loopback.
pub(super) const WEB_REDIRECT: &str = "https://app.example/callback";

/// Where every loopback authorization response starts.
pub(super) const LOOPBACK: &str = "http://127.0.0.1:";

/// True for an authorization response to a loopback `/callback` (the apps' redirect URI,
/// on any port), not for the AS itself when it too is on loopback.
pub(super) fn at_callback(url: &url::Url) -> bool {
    url.as_str().starts_with(LOOPBACK) && url.path() == "/callback"
}

pub(super) const SCOPE: &str = "mcp:read mcp:write";

pub(super) const STATE: &str = "victim-state";

pub(super) const VERIFIER: &str = "victim-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

pub(super) const ATTACKER_VERIFIER: &str = "attacker-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// Registers the victim's app (on the loopback redirect URI and on
/// `https://app.example/callback`) and the attacker's (on the same loopback URI): at the
/// AS directly where the target allows it (a simulated AS), else by dynamic registration
/// (RFC 7591) unless the run brings a pre-registered app.
pub(super) fn register_apps(w: &mut World) -> Result<(), Check> {
    let scopes = ["mcp:read", "mcp:write"];
    let (victim, evil) = (w.as_under_test.app.clone(), w.as_under_test.evil_app.clone());
    let victim = RegisteredClient::public(&victim, &[REDIRECT, WEB_REDIRECT], &scopes);
    if w.register_directly(victim).is_ok() {
        let evil = RegisteredClient::public(&evil, &[REDIRECT], &scopes);
        w.register_directly(evil).map_err(|s| Check::Undecided(s.0))?;
    } else if !w.as_under_test.app.is_empty() {
        // A pre-registered client: the victim's app; the attacker has none.
    } else {
        for (who, uris) in [("victim", vec![REDIRECT, WEB_REDIRECT]), ("attacker", vec![REDIRECT])] {
            let metadata = json!({"client_name": format!("mcp-authz {who} app"), "redirect_uris": uris,
                "application_type": "native",
                "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"], "scope": scopes.join(" ")});
            let info = w.register(who, &metadata).map_err(|r| {
                Check::Undecided(format!("registering the {who}'s app (RFC 7591): {}", describe(&r)))
            })?;
            let id = field(&info, "client_id");
            if who == "victim" { w.as_under_test.app = id } else { w.as_under_test.evil_app = id }
        }
    }
    let (app, evil) = (app(w), w.as_under_test.evil_app.clone());
    w.note(&format!("setup: public clients {app} (victim) and {evil} (attacker) on {REDIRECT}"));
    Ok(())
}

/// The victim's app.
pub(super) fn app(w: &World) -> String {
    w.as_under_test.app.clone()
}

/// The attacker's app, on the same loopback redirect URI; without one (a run with a
/// single pre-registered client) the scenario that needs it does not apply.
pub(super) fn evil_app(w: &World) -> Result<String, Check> {
    match w.as_under_test.evil_app.as_str() {
        "" => Err(Check::NotApplicable(
            "needs the attacker's own app: the AS has no dynamic registration here".into(),
        )),
        id => Ok(id.to_string()),
    }
}

/// `base` without the names in `changes`, plus the changes that have a value.
pub(super) fn with_changes<'a>(
    base: &[(&'a str, &'a str)],
    changes: &[(&'a str, Option<&'a str>)],
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<_> =
        base.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).copied().collect();
    out.extend(changes.iter().filter_map(|(k, v)| v.map(|v| (*k, v))));
    out
}

/// An authorization request of `client_id` for the resource, scope `mcp:read mcp:write`,
/// with the S256 challenge of `verifier`, with `changes`.
pub(super) fn authorization_url(
    w: &World,
    client_id: &str,
    verifier: &str,
    changes: &[(&str, Option<&str>)],
) -> String {
    let challenge = pkce::challenge_s256(verifier);
    let base = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", STATE),
        ("resource", w.as_under_test.resource.as_str()),
        ("scope", SCOPE),
    ];
    let endpoint = &w.as_under_test.authorization_endpoint;
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{sep}{}", wire::encode_pairs(with_changes(&base, changes)))
}

/// The user agent `browser` opens `url`: the parameters of the authorization response it
/// is redirected back with.
pub(super) fn authorize(w: &mut World, browser: &str, url: &str) -> Result<Params, Check> {
    let redirect = w.browse(browser, url, at_callback).0.map_err(|e| {
        Check::Undecided(format!("the authorization request did not come back to the client: {e}"))
    })?;
    // Query, or the fragment a response_type=token error may use.
    let (before_fragment, fragment) = redirect.split_once('#').unwrap_or((&redirect, ""));
    let query = before_fragment.split_once('?').map_or("", |(_, q)| q);
    let params = if query.is_empty() { fragment } else { query };
    Params::parse(params.as_bytes()).map_err(|e| {
        let what = format!("the authorization response `{redirect}`");
        Check::Violated(Violation::about(what, "parameters that parse", e.to_string()))
    })
}

/// The code of an authorization that must succeed.
pub(super) fn code(w: &mut World, browser: &str, url: &str) -> Result<String, Check> {
    let response = authorize(w, browser, url)?;
    let code = response.get("code").map(String::from);
    code.ok_or_else(|| Check::Undecided(format!("expected a code, got `{}`", response.encode())))
}

/// The victim's honest authorization, up to the code.
pub(super) fn victim_code(w: &mut World, scope: &str) -> Result<String, Check> {
    let url = authorization_url(w, &app(w), VERIFIER, &[("scope", Some(scope))]);
    code(w, "browser:victim", &url)
}

/// A token request with `pairs`; the victim's app authenticates with `client_secret_basic`
/// when it is a pre-registered confidential client.
pub(super) fn token_request(w: &mut World, from: &str, pairs: &[(&str, &str)]) -> FetchResult {
    token_request_with_proof(w, from, pairs, None)
}

/// [`token_request`] with `proof` as its `DPoP` header (RFC 9449 §5), if any.
pub(super) fn token_request_with_proof(
    w: &mut World,
    from: &str,
    pairs: &[(&str, &str)],
    proof: Option<&str>,
) -> FetchResult {
    let endpoint = w.as_under_test.token_endpoint.clone();
    let client_id = pairs.iter().find(|(k, _)| *k == "client_id").map(|(_, v)| v.to_string());
    let secret = w.as_under_test.app_secret.clone().filter(|_| client_id.as_deref() == Some(&app(w)));
    let req = match (secret, client_id) {
        (Some(secret), Some(client_id)) => {
            let grant: Vec<(&str, &str)> = pairs.iter().filter(|(k, _)| *k != "client_id").copied().collect();
            let issuer = w.as_under_test.issuer.clone();
            let auth = ClientAuth::SecretBasic(secret);
            w.sim.env_for("token-request", |env| {
                client::token::token_request(&endpoint, &client_id, &auth, &issuer, &grant, env)
            })
        }
        _ => wire::post_form_request(&endpoint, &wire::encode_pairs(pairs.iter().copied())),
    };
    let mut req = req.expect("valid request");
    if let Some(v) = proof.and_then(|p| http::HeaderValue::from_str(p).ok()) {
        req.headers_mut().insert(mcp_authz_reference::dpop::HEADER, v);
    }
    w.send(from, req)
}

/// Redeems `code` as the victim's app would, with `changes`.
pub(super) fn redeem(w: &mut World, from: &str, code: &str, changes: &[(&str, Option<&str>)]) -> FetchResult {
    let (app, resource) = (app(w), w.as_under_test.resource.clone());
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", app.as_str()),
        ("code_verifier", VERIFIER),
        ("resource", resource.as_str()),
    ];
    token_request(w, from, &with_changes(&base, changes))
}

/// Refreshes with `refresh_token` as the victim's app would, with `changes`.
pub(super) fn refresh(
    w: &mut World,
    from: &str,
    refresh_token: &str,
    changes: &[(&str, Option<&str>)],
) -> FetchResult {
    let (app, resource) = (app(w), w.as_under_test.resource.clone());
    let base = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", app.as_str()),
        ("resource", resource.as_str()),
    ];
    token_request(w, from, &with_changes(&base, changes))
}

/// The body of a successful token response.
pub(super) fn tokens(r: &FetchResult, what: &str) -> Result<Value, Check> {
    let body = r
        .as_ref()
        .ok()
        .filter(|r| r.status() == 200)
        .and_then(|r| serde_json::from_slice::<Value>(r.body()).ok());
    body.filter(|b| b["access_token"].is_string())
        .ok_or_else(|| Check::Undecided(format!("{what}: expected 200 with tokens, got {}", describe(r))))
}

/// The victim's tokens from an honest authorization with `scope`.
pub(super) fn victim_tokens(w: &mut World, scope: &str) -> Result<Value, Check> {
    let code = victim_code(w, scope)?;
    tokens(&redeem(w, VICTIM, &code, &[]), "the victim's redemption")
}

pub(super) fn field(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap_or_default().to_string()
}

pub(super) fn has_scope(scopes: &str, scope: &str) -> bool {
    scopes.split(' ').any(|s| s == scope)
}

/// Holds when `r` is a 400 with OAuth error `code`.
pub(super) fn expect_error(r: &FetchResult, code: ErrorCode, what: &str) -> Check {
    let got = r.as_ref().ok().map(|r| (r.status().as_u16(), oauth_error_code(r)));
    Check::expect(matches!(&got, Some((400, Some(c))) if *c == code), || {
        Violation::about(what, format!("400 {code}"), describe(r))
    })
}

/// Holds when `r` is a 400 with one of the OAuth errors `allowed`, the codes the
/// governing sentence (`source`, cited in the violation) admits for this refusal.
pub(super) fn expect_error_in(r: &FetchResult, allowed: &[ErrorCode], what: &str, source: &str) -> Check {
    let got = r.as_ref().ok().map(|r| (r.status().as_u16(), oauth_error_code(r)));
    Check::expect(matches!(&got, Some((400, Some(c))) if allowed.contains(c)), || {
        let codes: Vec<&str> = allowed.iter().map(ErrorCode::as_str).collect();
        Violation::about(what, format!("400 with error {} ({source})", codes.join(" or ")), describe(r))
    })
}

/// The OAuth `error` of an answer.
pub(super) fn oauth_error_code_of(r: &FetchResult) -> Option<ErrorCode> {
    r.as_ref().ok().and_then(oauth_error_code)
}

/// The claims of an access token (read, not verified: the AS under test issued it).
pub(super) fn claims(token: &str) -> Option<AccessTokenClaims> {
    serde_json::from_slice(&jwt::split(token).ok()?.payload).ok()
}

/// Whether the resource server of `AsUnderTest::revocation_probe` still accepts the
/// access token `token`: 401 no, 2xx yes; another answer says nothing.
fn accepted_by_resource(w: &mut World, token: &str) -> Option<bool> {
    let url = w.as_under_test.revocation_probe.clone()?;
    let r = w.send("harness", World::rpc_request(&url, Some(token), &World::initialize_body(), &[]));
    let status = r.as_ref().ok()?.status().as_u16();
    w.note(&format!("{url} answers the token with HTTP {status}"));
    match status {
        401 => Some(false),
        200..=299 => Some(true),
        _ => None,
    }
}

/// Which of the named tokens the AS still says are active: an access token is tried at
/// the resource server that checks tokens at the AS, when known, else asked by
/// introspection; a refresh token by introspection, else tried (a refresh); an access
/// token neither shows (a self-contained JWT, introspection refused) cannot be judged and
/// is left out, noted. With no token judged at all, undecided.
pub(super) fn live_tokens(w: &mut World, named: &[(&str, String)]) -> Result<Vec<String>, Check> {
    let mut live = vec![];
    let mut judged = 0;
    for (name, token) in named {
        let refresh_token = name.contains("refresh token");
        let by_resource = if refresh_token { None } else { accepted_by_resource(w, token) };
        let active = match by_resource.or_else(|| w.introspect(token)["active"].as_bool()) {
            Some(a) => Some(a),
            None if refresh_token => {
                w.note(&format!("{name}: not introspectable; trying it"));
                Some(tokens(&refresh(w, VICTIM, token, &[]), "").is_ok())
            }
            None => None,
        };
        let Some(active) = active else {
            w.note(&format!("{name}: the AS does not say (introspection refused); not judged"));
            continue;
        };
        judged += 1;
        w.note(&format!("{name}: active {active}"));
        if active {
            live.push(name.to_string());
        }
    }
    if judged == 0 {
        return Err(Check::Undecided("the AS would not say whether any of the tokens is active".into()));
    }
    Ok(live)
}

/// Holds when none of the named tokens is active any more.
pub(super) fn all_revoked(w: &mut World, after: &str, named: &[(&str, String)]) -> Check {
    let live = step!(live_tokens(w, named));
    Check::expect(live.is_empty(), || {
        let observed = format!("{} still active", live.join(", "));
        Violation::about(format!("after {after}"), "every token revoked", observed)
    })
}
