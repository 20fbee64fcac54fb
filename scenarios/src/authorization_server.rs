//! Authorization server scenarios: code interception, PKCE downgrade, code injection and
//! reuse; refresh-token theft under rotation; scope escalation at the AS; redirect URI
//! matching and the front channel; token responses and resource indicators.
//!
//! Each scenario starts with two public clients registered at the AS: `notes-app`, the
//! victim's app (on the loopback redirect URI and on `https://app.example/callback`),
//! and `evil-app`, the attacker's app, registered on the same loopback redirect URI (a
//! malicious native app claiming the same port).

use crate::Scenario;
use crate::world::{EVIL, REDIRECT, World, describe, oauth_error_code};
use mcp_authz_harness::browser::{Browser, Login};
use mcp_authz_harness::scenario::{Capability, Check, Level, Role};
use mcp_authz_harness::sim::{Channel, Interceptor, Message, Verdict};
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::authorization_server::{AuthorizationServer, Config, RegisteredClient};
use mcp_authz_reference::client::{self, ClientAuth};
use mcp_authz_reference::metadata::{AuthorizationServerMetadata, discovery_urls};
use mcp_authz_reference::sans_io::{FetchResult, Request, Response};
use mcp_authz_reference::wire::{self, Params};
use mcp_authz_reference::{jwt, pkce};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// The value of a step, or the verdict it already reached.
macro_rules! step {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(check) => return check,
        }
    };
}

/// The authorization server scenarios. All but AS-META-01 and AS-REG-01 start with
/// the two apps of [`register_apps`] registered ([`with_apps`]).
pub fn scenarios() -> Vec<Scenario> {
    use Capability::*;
    use Level::*;
    use Role::AuthorizationServer;
    vec![
        Scenario::new(
            AuthorizationServer,
            "AS-CODE-01",
            "an intercepted code cannot be redeemed without the verifier",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.1")
        .level(Must)
        .tags(&["pkce", "code", "attack"])
        .grants(&[ReadFrontChannel, SameRedirectUri, MaliciousClient])
        .body(|w| with_apps(w, code_interception)),
        Scenario::new(
            AuthorizationServer,
            "AS-CODE-02",
            "PKCE downgrade: a request stripped of its challenge gets no code",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.8")
        .level(Must)
        .tags(&["pkce", "code", "attack"])
        .grants(&[ReadFrontChannel, Rewrite])
        .body(|w| with_apps(w, pkce_downgrade)),
        Scenario::new(AuthorizationServer, "AS-CODE-03", "code_challenge_method plain is refused")
            .requirements(&["AS-01"])
            .rfc9700("4.8")
            .level(Must)
            .tags(&["pkce", "code"])
            .body(|w| with_apps(w, pkce_plain)),
        Scenario::new(
            AuthorizationServer,
            "AS-CODE-04",
            "a code injected into the attacker's session is refused",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.5")
        .level(Must)
        .tags(&["pkce", "code", "attack"])
        .grants(&[ReadFrontChannel, MaliciousClient])
        .body(|w| with_apps(w, code_injection)),
        Scenario::new(AuthorizationServer, "AS-CODE-05", "a second redemption of a code is invalid_grant")
            .requirements(&["AS-01"])
            .rfc9700("4.2")
            .level(Must)
            .tags(&["code", "replay"])
            .body(|w| with_apps(w, code_reuse)),
        Scenario::new(
            AuthorizationServer,
            "AS-CODE-06",
            "a second redemption revokes the tokens of the first",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.2")
        .level(Should)
        .tags(&["code", "replay"])
        .body(|w| with_apps(w, code_reuse_revokes)),
        Scenario::new(AuthorizationServer, "AS-CODE-07", "a code is bound to its redirect URI")
            .requirements(&["AS-01"])
            .rfc9700("4.1")
            .level(Must)
            .tags(&["code"])
            .body(|w| with_apps(w, code_redirect_binding)),
        Scenario::new(AuthorizationServer, "AS-CODE-08", "a code expires")
            .requirements(&["AS-01"])
            .rfc9700("4.2")
            .level(Must)
            .tags(&["code"])
            .body(|w| with_apps(w, code_expiry)),
        Scenario::new(AuthorizationServer, "AS-CODE-09", "a code is bound to the client it was issued to")
            .requirements(&["AS-01"])
            .rfc9700("4.5")
            .level(Must)
            .tags(&["code"])
            .grants(&[MaliciousClient])
            .body(|w| with_apps(w, code_client_binding)),
        Scenario::new(AuthorizationServer, "AS-REFRESH-01", "refresh tokens rotate and the old one dies")
            .requirements(&["AS-18"])
            .rfc9700("4.14")
            .level(Must)
            .tags(&["refresh"])
            .body(|w| with_apps(w, refresh_rotation)),
        Scenario::new(
            AuthorizationServer,
            "AS-REFRESH-02",
            "stolen refresh token used first by the attacker: the family dies",
        )
        .requirements(&["AS-18"])
        .rfc9700("4.14")
        .level(Must)
        .tags(&["refresh", "attack"])
        .grants(&[ReadTokenRequests, MaliciousClient])
        .body(|w| with_apps(w, refresh_attacker_first)),
        Scenario::new(
            AuthorizationServer,
            "AS-REFRESH-03",
            "stolen refresh token replayed after the client: the family dies",
        )
        .requirements(&["AS-18"])
        .rfc9700("4.14")
        .level(Must)
        .tags(&["refresh", "attack"])
        .grants(&[ReadTokenRequests, MaliciousClient])
        .body(|w| with_apps(w, refresh_victim_first)),
        Scenario::new(
            AuthorizationServer,
            "AS-REFRESH-04",
            "one refresh token presented twice at once: one wins, the family dies",
        )
        .requirements(&["AS-18"])
        .rfc9700("4.14")
        .level(Must)
        .tags(&["refresh", "attack"])
        .grants(&[ReadTokenRequests, MaliciousClient])
        .body(|w| with_apps(w, refresh_concurrent)),
        Scenario::new(
            AuthorizationServer,
            "AS-REFRESH-05",
            "a refresh token presented by another client is refused",
        )
        .requirements(&["AS-18"])
        .rfc9700("4.14")
        .level(Must)
        .tags(&["refresh", "attack"])
        .grants(&[ReadTokenRequests, MaliciousClient])
        .body(|w| with_apps(w, refresh_other_client)),
        Scenario::new(AuthorizationServer, "AS-REFRESH-06", "a refresh cannot widen the scope")
            .requirements(&["AS-18", "AS-01"])
            .rfc9700("4.14")
            .level(Must)
            .tags(&["refresh", "scope"])
            .body(|w| with_apps(w, refresh_scope_widening)),
        Scenario::new(AuthorizationServer, "AS-REFRESH-07", "a refresh cannot change the resource")
            .requirements(&["AS-18", "AS-01"])
            .rfc9700("4.14")
            .level(Must)
            .tags(&["refresh", "audience"])
            .body(|w| with_apps(w, refresh_resource_change)),
        Scenario::new(AuthorizationServer, "AS-SCOPE-01", "scope added at the token request is not granted")
            .requirements(&["AS-01"])
            .level(Must)
            .tags(&["scope"])
            .body(|w| with_apps(w, token_request_scope)),
        Scenario::new(AuthorizationServer, "AS-SCOPE-02", "DCR cannot register scopes beyond the policy")
            .requirements(&["AS-04", "AS-01"])
            .level(Must)
            .tags(&["scope", "registration"])
            .body(|w| with_apps(w, registration_scope)),
        Scenario::new(AuthorizationServer, "AS-SCOPE-03", "a scope the client may not have is never granted")
            .requirements(&["AS-01"])
            .level(Must)
            .tags(&["scope"])
            .body(|w| with_apps(w, authorization_scope)),
        Scenario::new(
            AuthorizationServer,
            "AS-REDIR-01",
            "redirect URIs match exactly (loopback port aside)",
        )
        .requirements(&["AS-20"])
        .rfc9700("4.1")
        .level(Must)
        .tags(&["redirect"])
        .body(|w| with_apps(w, redirect_exact_match)),
        Scenario::new(
            AuthorizationServer,
            "AS-REDIR-02",
            "unknown client or redirect URI: error page, no redirect",
        )
        .requirements(&["AS-21"])
        .rfc9700("4.11")
        .level(Must)
        .tags(&["redirect"])
        .body(|w| with_apps(w, open_redirect_on_error)),
        Scenario::new(
            AuthorizationServer,
            "AS-FRONT-01",
            "authorization responses return state unchanged and iss",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.4")
        .level(Must)
        .tags(&["front-channel"])
        .body(|w| with_apps(w, state_and_iss)),
        Scenario::new(AuthorizationServer, "AS-FRONT-02", "the login POST is answered with 303, not 307")
            .requirements(&["AS-01"])
            .rfc9700("4.12")
            .level(Must)
            .tags(&["front-channel"])
            .body(|w| with_apps(w, login_redirect_status)),
        Scenario::new(AuthorizationServer, "AS-FRONT-03", "the consent page cannot be framed")
            .requirements(&["AS-25"])
            .rfc9700("4.16")
            .level(Must)
            .tags(&["front-channel"])
            .body(|w| with_apps(w, consent_framing)),
        Scenario::new(AuthorizationServer, "AS-TOKEN-01", "token responses carry Cache-Control: no-store")
            .requirements(&["AS-01"])
            .level(Must)
            .tags(&["token"])
            .body(|w| with_apps(w, token_no_store)),
        Scenario::new(AuthorizationServer, "AS-TOKEN-02", "access tokens are short-lived")
            .requirements(&["AS-17"])
            .level(Should)
            .tags(&["token"])
            .body(|w| with_apps(w, short_lived_tokens)),
        Scenario::new(AuthorizationServer, "AS-TOKEN-03", "implicit and password grants are refused")
            .requirements(&["AS-01"])
            .level(Must)
            .tags(&["token"])
            .body(|w| with_apps(w, legacy_grants)),
        Scenario::new(
            AuthorizationServer,
            "AS-RES-01",
            "unknown resource is invalid_target; aud is the requested resource",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.10")
        .level(Must)
        .tags(&["audience"])
        .body(|w| with_apps(w, resource_binding)),
        Scenario::new(
            AuthorizationServer,
            "AS-META-01",
            "metadata: issuer byte-exact, S256, code, endpoints",
        )
        .requirements(&["AS-02", "AS-03", "AS-19"])
        .level(Must)
        .tags(&["metadata"])
        .body(metadata_documents),
        Scenario::new(AuthorizationServer, "AS-REG-01", "hostile client metadata is not registered")
            .requirements(&["AS-04", "AS-01", "X-07"])
            .level(Must)
            .tags(&["registration"])
            .body(hostile_registration),
    ]
}

/// Registers the apps of [`register_apps`], then runs `body`.
fn with_apps(w: &mut World, body: fn(&mut World) -> Check) -> Check {
    match register_apps(w) {
        Ok(()) => body(w),
        Err(check) => check,
    }
}

/// The victim's app as a sender in the trace.
const VICTIM: &str = "notes-app";
/// The victim's app's second redirect URI, not on loopback.
const WEB_REDIRECT: &str = "https://app.example/callback";
/// Where every loopback authorization response starts.
const LOOPBACK: &str = "http://127.0.0.1:";

/// True for an authorization response to a loopback `/callback` (the apps' redirect URI,
/// on any port), not for the AS itself when it too is on loopback.
fn at_callback(url: &url::Url) -> bool {
    url.as_str().starts_with(LOOPBACK) && url.path() == "/callback"
}
const SCOPE: &str = "mcp:read mcp:write";
const STATE: &str = "victim-state";
const VERIFIER: &str = "victim-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
const ATTACKER_VERIFIER: &str = "attacker-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// Registers the victim's app (on the loopback redirect URI and on
/// `https://app.example/callback`) and the attacker's (on the same loopback URI): at the
/// simulated AS directly, at a live one by dynamic registration (RFC 7591).
fn register_apps(w: &mut World) -> Result<(), Check> {
    let scopes = ["mcp:read", "mcp:write"];
    if !w.is_live() {
        let (app, evil) = (w.as_under_test.app.clone(), w.as_under_test.evil_app.clone());
        let server = w.authorization_server().map_err(|s| Check::NotApplicable(s.0))?;
        server.register_client(RegisteredClient::public(&app, &[REDIRECT, WEB_REDIRECT], &scopes));
        server.register_client(RegisteredClient::public(&evil, &[REDIRECT], &scopes));
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
fn app(w: &World) -> String {
    w.as_under_test.app.clone()
}

/// The attacker's app, on the same loopback redirect URI; without one (a run with a
/// single pre-registered client) the scenario that needs it does not apply.
fn evil_app(w: &World) -> Result<String, Check> {
    match w.as_under_test.evil_app.as_str() {
        "" => Err(Check::NotApplicable(
            "needs the attacker's own app: the AS has no dynamic registration here".into(),
        )),
        id => Ok(id.to_string()),
    }
}

/// `base` without the names in `changes`, plus the changes that have a value.
fn with_changes<'a>(
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
fn authorization_url(w: &World, client_id: &str, verifier: &str, changes: &[(&str, Option<&str>)]) -> String {
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
fn authorize(w: &mut World, browser: &str, url: &str) -> Result<Params, Check> {
    let redirect = w.browse(browser, url, at_callback).0.map_err(|e| {
        Check::Undecided(format!("the authorization request did not come back to the client: {e}"))
    })?;
    // Query, or the fragment a response_type=token error may use.
    let (before_fragment, fragment) = redirect.split_once('#').unwrap_or((&redirect, ""));
    let query = before_fragment.split_once('?').map_or("", |(_, q)| q);
    let params = if query.is_empty() { fragment } else { query };
    Params::parse(params.as_bytes())
        .map_err(|e| Check::Violated(format!("the authorization response `{redirect}` does not parse: {e}")))
}

/// The code of an authorization that must succeed.
fn code(w: &mut World, browser: &str, url: &str) -> Result<String, Check> {
    let response = authorize(w, browser, url)?;
    let code = response.get("code").map(String::from);
    code.ok_or_else(|| Check::Undecided(format!("expected a code, got `{}`", response.encode())))
}

/// The victim's honest authorization, up to the code.
fn victim_code(w: &mut World, scope: &str) -> Result<String, Check> {
    let url = authorization_url(w, &app(w), VERIFIER, &[("scope", Some(scope))]);
    code(w, "browser:victim", &url)
}

/// A token request with `pairs`; the victim's app authenticates with `client_secret_basic`
/// when it is a pre-registered confidential client.
fn token_request(w: &mut World, from: &str, pairs: &[(&str, &str)]) -> FetchResult {
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
    w.send(from, req.expect("valid request"))
}

/// Redeems `code` as the victim's app would, with `changes`.
fn redeem(w: &mut World, from: &str, code: &str, changes: &[(&str, Option<&str>)]) -> FetchResult {
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
fn refresh(w: &mut World, from: &str, refresh_token: &str, changes: &[(&str, Option<&str>)]) -> FetchResult {
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
fn tokens(r: &FetchResult, what: &str) -> Result<Value, Check> {
    let body = r
        .as_ref()
        .ok()
        .filter(|r| r.status() == 200)
        .and_then(|r| serde_json::from_slice::<Value>(r.body()).ok());
    body.filter(|b| b["access_token"].is_string())
        .ok_or_else(|| Check::Undecided(format!("{what}: expected 200 with tokens, got {}", describe(r))))
}

/// The victim's tokens from an honest authorization with `scope`.
fn victim_tokens(w: &mut World, scope: &str) -> Result<Value, Check> {
    let code = victim_code(w, scope)?;
    tokens(&redeem(w, VICTIM, &code, &[]), "the victim's redemption")
}

fn field(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap_or_default().to_string()
}

fn has_scope(scopes: &str, scope: &str) -> bool {
    scopes.split(' ').any(|s| s == scope)
}

/// Holds when `r` is a 400 with OAuth error `code`.
fn expect_error(r: &FetchResult, code: &str, what: &str) -> Check {
    let got = r.as_ref().ok().map(|r| (r.status().as_u16(), oauth_error_code(r)));
    Check::expect(matches!(&got, Some((400, Some(c))) if c == code), || {
        format!("{what}: expected 400 {code}, got {}", describe(r))
    })
}

/// The claims of an access token (read, not verified: the AS under test issued it).
fn claims(token: &str) -> Option<AccessTokenClaims> {
    serde_json::from_slice(&jwt::split(token).ok()?.payload).ok()
}

/// Which of the named tokens the AS still says are active: asked by introspection; a
/// refresh token the AS will not introspect is tried (a refresh); an access token it will
/// not introspect (a self-contained JWT) cannot be judged and is left out, noted. With
/// no token judged at all, undecided.
fn live_tokens(w: &mut World, named: &[(&str, String)]) -> Result<Vec<String>, Check> {
    let mut live = vec![];
    let mut judged = 0;
    for (name, token) in named {
        let active = match w.introspect(token)["active"].as_bool() {
            Some(a) => Some(a),
            None if name.contains("refresh token") => {
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
fn all_revoked(w: &mut World, after: &str, named: &[(&str, String)]) -> Check {
    let live = step!(live_tokens(w, named));
    Check::expect(live.is_empty(), || {
        format!("after {after}, expected every token revoked, got {} still active", live.join(", "))
    })
}

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
    if w.front_channel_outside() {
        return Err(Check::NotApplicable(
            "authorizations run in the authorize hook, where the adversary cannot reach the front channel"
                .into(),
        ));
    }
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

fn code_interception(w: &mut World) -> Check {
    let seen = step!(intercept_front_channel(w, &[]));
    step!(victim_code(w, SCOPE));
    let stolen = step!(stolen_code(&seen));
    let (app, evil) = (app(w), step!(evil_app(w)));
    w.note(&format!("{evil} received the victim's code on the shared redirect uri and redeems it"));
    for (client_id, verifier) in [
        (evil.as_str(), None),
        (evil.as_str(), Some(ATTACKER_VERIFIER)),
        (app.as_str(), None),
        (app.as_str(), Some(ATTACKER_VERIFIER)),
    ] {
        let how = if verifier.is_some() { "with a guessed code_verifier" } else { "without code_verifier" };
        let what = format!("the stolen code as {client_id} {how}");
        w.note(&what);
        let r =
            redeem(w, "attacker", &stolen, &[("client_id", Some(client_id)), ("code_verifier", verifier)]);
        if let v @ Check::Violated(_) = expect_error(&r, "invalid_grant", &what) {
            return v;
        }
    }
    Check::Holds
}

fn pkce_downgrade(w: &mut World) -> Check {
    step!(intercept_front_channel(w, &["code_challenge", "code_challenge_method"]));
    w.note("the adversary strips code_challenge and code_challenge_method from the authorization request");
    let url = authorization_url(w, &app(w), VERIFIER, &[]);
    let response = step!(authorize(w, "browser:victim", &url));
    let Some(code) = response.get("code").map(String::from) else {
        return Check::expect(response.get("error") == Some("invalid_request"), || {
            format!(
                "authorization request without code_challenge: expected error=invalid_request, got `{}`",
                response.encode()
            )
        });
    };
    let r = redeem(w, "attacker", &code, &[("code_verifier", None)]);
    Check::Violated(format!(
        "authorization request without code_challenge: expected error=invalid_request, got a code; redeemed without a verifier: {}",
        describe(&r)
    ))
}

fn pkce_plain(w: &mut World) -> Check {
    for method in [Some("plain"), None] {
        let plain = [("code_challenge", Some(VERIFIER)), ("code_challenge_method", method)];
        let url = authorization_url(w, &app(w), VERIFIER, &plain);
        let response = step!(authorize(w, "browser:victim", &url));
        if response.get("error") != Some("invalid_request") {
            let method = method.unwrap_or("absent (plain by default)");
            return Check::Violated(format!(
                "code_challenge_method {method}: expected error=invalid_request, got `{}`",
                response.encode()
            ));
        }
    }
    Check::Holds
}

fn code_injection(w: &mut World) -> Check {
    let seen = step!(intercept_front_channel(w, &[]));
    step!(victim_code(w, SCOPE));
    let stolen = step!(stolen_code(&seen));
    w.sim.clear_interceptor();
    let app = app(w);
    w.note(&format!("the attacker runs {app} with its own state and verifier and injects the victim's code"));
    let own = authorization_url(w, &app, ATTACKER_VERIFIER, &[("state", Some("attacker-state"))]);
    step!(code(w, "browser:attacker", &own));
    let r = redeem(w, "attacker", &stolen, &[("code_verifier", Some(ATTACKER_VERIFIER))]);
    expect_error(&r, "invalid_grant", "the victim's code redeemed in the attacker's session")
}

/// An honest code redeemed once (the tokens), then replayed (the answer).
fn redeemed_twice(w: &mut World) -> Result<(Value, FetchResult), Check> {
    let code = victim_code(w, SCOPE)?;
    let first = tokens(&redeem(w, VICTIM, &code, &[]), "the first redemption")?;
    w.note("the attacker replays the code");
    Ok((first, redeem(w, "attacker", &code, &[])))
}

fn code_reuse(w: &mut World) -> Check {
    let (_, second) = step!(redeemed_twice(w));
    expect_error(&second, "invalid_grant", "the second redemption")
}

fn code_reuse_revokes(w: &mut World) -> Check {
    let (first, _) = step!(redeemed_twice(w));
    let named = [
        ("the access token", field(&first, "access_token")),
        ("the refresh token", field(&first, "refresh_token")),
    ];
    all_revoked(w, "a second redemption of the code", &named)
}

fn code_redirect_binding(w: &mut World) -> Check {
    let code = step!(victim_code(w, SCOPE));
    let other = format!("{EVIL}/callback");
    let r = redeem(w, "attacker", &code, &[("redirect_uri", Some(&other))]);
    expect_error(&r, "invalid_grant", &format!("redemption with redirect_uri {other}"))
}

/// A code redeemed after its lifetime is `invalid_grant`. In the simulator the code waits
/// past the 10 minutes RFC 6749 §4.1.2 allows at most; a live AS's codes age in real
/// time, so the harness waits only when told the AS's code lifetime.
fn code_expiry(w: &mut World) -> Check {
    let wait = match (w.is_live(), w.as_under_test.code_lifetime) {
        (false, _) => Duration::from_secs(601),
        (true, Some(lifetime)) => lifetime + Duration::from_secs(1),
        (true, None) => {
            return Check::NotApplicable(
                "a live AS's codes age in real time: give --code-lifetime SECS (its code lifetime) \
                 to wait it out"
                    .into(),
            );
        }
    };
    let code = step!(victim_code(w, SCOPE));
    w.note(&format!("the code waits {} s before it is redeemed", wait.as_secs()));
    w.wait(wait);
    let what = format!("redemption {} s after issue", wait.as_secs());
    expect_error(&redeem(w, VICTIM, &code, &[]), "invalid_grant", &what)
}

fn code_client_binding(w: &mut World) -> Check {
    let code = step!(victim_code(w, SCOPE));
    let (app, evil) = (app(w), step!(evil_app(w)));
    w.note(&format!("{evil} holds the victim's code and verifier and redeems them as itself"));
    let r = redeem(w, "attacker", &code, &[("client_id", Some(&evil))]);
    expect_error(&r, "invalid_grant", &format!("a code of {app} redeemed by {evil}"))
}

fn refresh_rotation(w: &mut World) -> Check {
    let rt0 = field(&step!(victim_tokens(w, SCOPE)), "refresh_token");
    let rt1 = field(&step!(tokens(&refresh(w, VICTIM, &rt0, &[]), "the refresh")), "refresh_token");
    if rt1.is_empty() || rt1 == rt0 {
        return Check::Violated(format!(
            "refresh: expected a new refresh token, got {}",
            if rt1.is_empty() { "none" } else { "the same one" }
        ));
    }
    expect_error(&refresh(w, VICTIM, &rt0, &[]), "invalid_grant", "the rotated-out refresh token")
}

fn refresh_attacker_first(w: &mut World) -> Check {
    let t0 = step!(victim_tokens(w, SCOPE));
    let rt0 = field(&t0, "refresh_token");
    w.note("the attacker stole the refresh token and uses it first");
    let stolen = step!(tokens(&refresh(w, "attacker", &rt0, &[]), "the attacker's refresh"));
    let r = refresh(w, VICTIM, &rt0, &[]);
    if let v @ Check::Violated(_) =
        expect_error(&r, "invalid_grant", "the victim's refresh after the attacker's")
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

fn refresh_victim_first(w: &mut World) -> Check {
    let t0 = step!(victim_tokens(w, SCOPE));
    let rt0 = field(&t0, "refresh_token");
    let t1 = step!(tokens(&refresh(w, VICTIM, &rt0, &[]), "the victim's refresh"));
    w.note("the attacker replays the refresh token it stole");
    let r = refresh(w, "attacker", &rt0, &[]);
    if let v @ Check::Violated(_) = expect_error(&r, "invalid_grant", "the attacker's replay") {
        return v;
    }
    let named = [
        ("the first access token", field(&t0, "access_token")),
        ("the victim's new access token", field(&t1, "access_token")),
        ("the victim's new refresh token", field(&t1, "refresh_token")),
    ];
    all_revoked(w, "refresh token reuse", &named)
}

fn refresh_concurrent(w: &mut World) -> Check {
    let t0 = step!(victim_tokens(w, SCOPE));
    let rt0 = field(&t0, "refresh_token");
    w.note("the victim and the attacker present the same refresh token at the same moment");
    let answers = [refresh(w, VICTIM, &rt0, &[]), refresh(w, "attacker", &rt0, &[])];
    let won: Vec<Value> = answers.iter().filter_map(|r| tokens(r, "").ok()).collect();
    if won.len() > 1 {
        return Check::Violated(format!(
            "one refresh token presented twice: expected at most one success, got two: {}",
            describe(&answers[1])
        ));
    }
    let mut named = vec![("the first access token", field(&t0, "access_token"))];
    for t in &won {
        named.push(("the winner's access token", field(t, "access_token")));
        named.push(("the winner's refresh token", field(t, "refresh_token")));
    }
    all_revoked(w, "refresh token reuse", &named)
}

fn refresh_other_client(w: &mut World) -> Check {
    let rt0 = field(&step!(victim_tokens(w, SCOPE)), "refresh_token");
    let (app, evil) = (app(w), step!(evil_app(w)));
    let r = refresh(w, "attacker", &rt0, &[("client_id", Some(&evil))]);
    expect_error(&r, "invalid_grant", &format!("{app}'s refresh token presented by {evil}"))
}

fn refresh_scope_widening(w: &mut World) -> Check {
    let rt0 = field(&step!(victim_tokens(w, "mcp:read")), "refresh_token");
    let r = refresh(w, VICTIM, &rt0, &[("scope", Some("mcp:read mcp:write"))]);
    expect_error(&r, "invalid_scope", "refresh of a mcp:read grant asking mcp:read mcp:write")
}

fn refresh_resource_change(w: &mut World) -> Check {
    let rt0 = field(&step!(victim_tokens(w, SCOPE)), "refresh_token");
    let Some(other) = w.as_under_test.other_resource.clone() else {
        return Check::NotApplicable("no second resource of this AS is known: give --other-resource".into());
    };
    let r = refresh(w, VICTIM, &rt0, &[("resource", Some(&other))]);
    let resource = w.as_under_test.resource.clone();
    expect_error(&r, "invalid_target", &format!("refresh of a grant for {resource} asking resource {other}"))
}

/// Holds when `r` refused, or granted a token without `scope`.
fn not_granted(r: &FetchResult, scope: &str, what: &str) -> Check {
    let Ok(t) = tokens(r, what) else { return Check::Holds };
    let in_token = claims(&field(&t, "access_token")).and_then(|c| c.scope).unwrap_or_default();
    Check::expect(!has_scope(&in_token, scope) && !has_scope(&field(&t, "scope"), scope), || {
        format!("{what}: expected {scope} not granted, got a token with scope `{in_token}`")
    })
}

fn token_request_scope(w: &mut World) -> Check {
    let code = step!(victim_code(w, "mcp:read"));
    let r = redeem(w, VICTIM, &code, &[("scope", Some("mcp:read mcp:write"))]);
    not_granted(&r, "mcp:write", "authorized mcp:read, asked mcp:read mcp:write at the token endpoint")
}

fn registration_scope(w: &mut World) -> Check {
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
        return Check::Violated(format!(
            "registration asking `{asked}`: expected {beyond} (not in the registration policy) dropped, got scope `{registered}`"
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

/// Every metadata document the AS serves at the discovery URLs of its issuer (RFC 8414
/// §3.1 and OpenID Discovery §4, path-inserted forms for an issuer with a path) passes
/// what an MCP client checks before it trusts it: `issuer` byte-equal to the issuer
/// (RFC 8414 §3.3), `S256` in `code_challenge_methods_supported`, `code` in
/// `response_types_supported`, authorization and token endpoints present and `https`
/// (or `http` on loopback). At least one document is served.
fn metadata_documents(w: &mut World) -> Check {
    let issuer = w.as_under_test.issuer.clone();
    let urls = match discovery_urls(&issuer) {
        Ok(urls) => urls,
        Err(e) => return Check::Violated(format!("the issuer identifier: {e}")),
    };
    let mut served = 0;
    for url in &urls {
        let r = w.sim.get("harness", url);
        let document = r.as_ref().ok().filter(|r| {
            let json = r.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            r.status() == 200 && json.is_some_and(|v| v.to_ascii_lowercase().contains("json"))
        });
        let Some(document) = document else {
            w.note(&format!("{url}: no JSON document ({})", describe(&r)));
            continue;
        };
        served += 1;
        let checked = AuthorizationServerMetadata::parse(document.body()).and_then(|m| m.check(&issuer));
        if let Err(e) = checked {
            return Check::Violated(format!("{url}: {e}"));
        }
    }
    Check::expect(served > 0, || format!("no metadata document at {}", urls.join(" or ")))
}

/// Registration requests no MCP AS may accept as sent (RFC 7591 §2 and §3.2.2): redirect
/// URIs that are neither localhost nor https (MCP §Communication Security) or carry a
/// fragment (RFC 6749 §3.1.2), and the implicit grant (gone from OAuth 2.1). Each is
/// refused, or registered without the hostile part.
fn hostile_registration(w: &mut World) -> Check {
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
    if let Err(r) = w.register("attacker", &redirect(REDIRECT)) {
        return Check::Undecided(format!("a plain registration: expected 201, got {}", describe(&r)));
    }
    let cases = [
        ("a javascript: redirect URI", redirect("javascript:alert(document.cookie)//")),
        ("a data: redirect URI", redirect("data:text/html,<script>alert(1)</script>")),
        ("a plain-http redirect URI on a public host", redirect("http://evil.example/callback")),
        ("a redirect URI with a fragment", redirect("https://app.example/callback#x")),
        ("the implicit grant (response_type token)", implicit),
    ];
    for (what, metadata) in cases {
        match w.register("attacker", &metadata) {
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
                if hostile {
                    return Check::Violated(format!(
                        "registration with {what}: expected 400 invalid_redirect_uri or \
                         invalid_client_metadata (RFC 7591 §3.2.2), got 201 as client {}",
                        field(&info, "client_id")
                    ));
                }
                w.note(&format!("registration with {what}: registered without it"));
            }
            Err(r) => match r.as_ref() {
                Ok(resp) if (400..500).contains(&resp.status().as_u16()) => {
                    w.note(&format!("registration with {what}: refused"));
                }
                _ => {
                    return Check::Undecided(format!(
                        "registration with {what}: expected 400 or 201, got {}",
                        describe(&r)
                    ));
                }
            },
        }
    }
    Check::Holds
}

/// Registers a public client asking `scope`: its information, `None` when the AS refuses
/// the metadata (400 `invalid_client_metadata` or `invalid_scope`), or the verdict.
fn register_greedy(w: &mut World, scope: &str) -> Result<Option<Value>, Check> {
    let metadata = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"], "client_name": "greedy app", "scope": scope});
    match w.register("attacker", &metadata) {
        Ok(info) => Ok(Some(info)),
        Err(r)
            if matches!(
                oauth_error_code_of(&r).as_deref(),
                Some("invalid_client_metadata" | "invalid_scope")
            ) =>
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
        format!("a client registered without {scope} asked it at {resource}: expected an error, got a code")
    })
}

/// The OAuth `error` of an answer.
fn oauth_error_code_of(r: &FetchResult) -> Option<String> {
    r.as_ref().ok().and_then(oauth_error_code)
}

fn authorization_scope(w: &mut World) -> Check {
    let app = app(w);
    let url = authorization_url(w, &app, VERIFIER, &[("scope", Some("mcp:read mcp:admin"))]);
    let response = step!(authorize(w, "browser:victim", &url));
    let Some(code) = response.get("code").map(String::from) else { return Check::Holds };
    let r = redeem(w, VICTIM, &code, &[]);
    not_granted(&r, "mcp:admin", &format!("{app} (may have mcp:read mcp:write) asked mcp:read mcp:admin"))
}

fn location(r: &FetchResult) -> Option<String> {
    let r = r.as_ref().ok()?;
    r.headers().get(http::header::LOCATION)?.to_str().ok().map(String::from)
}

/// Holds when `r` is an error page: a 4xx without `Location`.
fn expect_error_page(r: &FetchResult, what: &str) -> Check {
    let status = r.as_ref().map_or(0, |r| r.status().as_u16());
    match location(r) {
        Some(l) => Check::Violated(format!("{what}: expected an error page, got HTTP {status} to {l}")),
        None => Check::expect((400..500).contains(&status), || {
            format!("{what}: expected an error page (4xx), got {}", describe(r))
        }),
    }
}

fn redirect_exact_match(w: &mut World) -> Check {
    let variants = [
        ("extra path", "https://app.example/callback/x"),
        ("extra query", "https://app.example/callback?x=1"),
        ("fragment", "https://app.example/callback#x"),
        ("path case", "https://app.example/Callback"),
        ("trailing slash", "https://app.example/callback/"),
        ("userinfo", "https://app.example@evil.example/callback"),
        ("percent-encoding", "https://app.example/%63allback"),
        ("other host", "https://evil.example/callback"),
        ("other port", "https://app.example:8443/callback"),
        ("other scheme", "http://app.example/callback"),
    ];
    for (what, uri) in variants {
        let url = authorization_url(w, &app(w), VERIFIER, &[("redirect_uri", Some(uri))]);
        let r = w.sim.get("browser:victim", &url);
        if let v @ Check::Violated(_) = expect_error_page(&r, &format!("redirect_uri {uri} ({what})")) {
            return v;
        }
    }
    let loopback = "http://127.0.0.1:40123/callback";
    let url = authorization_url(w, &app(w), VERIFIER, &[("redirect_uri", Some(loopback))]);
    let response = step!(authorize(w, "browser:victim", &url));
    Check::expect(response.get("code").is_some(), || {
        format!(
            "loopback redirect_uri on another port (allowed, RFC 8252 §7.3): expected a code, got `{}`",
            response.encode()
        )
    })
}

fn open_redirect_on_error(w: &mut World) -> Check {
    let target = format!("{EVIL}/callback");
    let app = app(w);
    for (what, client_id) in [("unknown client", "nobody"), ("unregistered redirect_uri", app.as_str())] {
        let url = authorization_url(w, client_id, VERIFIER, &[("redirect_uri", Some(&target))]);
        let r = w.sim.get("browser:victim", &url);
        if let v @ Check::Violated(_) = expect_error_page(&r, what) {
            return v;
        }
    }
    Check::Holds
}

fn state_and_iss(w: &mut World) -> Check {
    let state = "st&te=1 /é";
    for (what, scope) in [("code response", SCOPE), ("error response", "no-such-scope")] {
        let url = authorization_url(w, &app(w), VERIFIER, &[("state", Some(state)), ("scope", Some(scope))]);
        let response = step!(authorize(w, "browser:victim", &url));
        let issuer = w.as_under_test.issuer.clone();
        if response.get("state") != Some(state) || response.get("iss") != Some(issuer.as_str()) {
            return Check::Violated(format!(
                "{what}: expected state `{state}` and iss `{issuer}` (RFC 9207), got `{}`",
                response.encode()
            ));
        }
    }
    Check::Holds
}

/// Makes the AS show its login and consent form: the simulated AS is replaced by one
/// with the same configuration and no auto-approve, where alice signs in; a live AS
/// shows its forms when the run has a login.
fn show_forms(w: &mut World) -> Result<(), Check> {
    if w.is_live() {
        return match w.as_under_test.login {
            Some(_) => Ok(()),
            None => Err(Check::NotApplicable(
                "no login given (--login): the harness cannot reach the forms".into(),
            )),
        };
    }
    let config = Config {
        auto_approve: false,
        ..w.authorization_server().map_err(|s| Check::NotApplicable(s.0))?.config().clone()
    };
    let server = w.sim.env_for("as-with-login-form", |env| AuthorizationServer::new(config, env));
    let server =
        server.map_err(|e| Check::Undecided(format!("cannot build the AS with a login form: {e}")))?;
    let issuer = w.as_under_test.issuer.clone();
    w.sim.add_service(&issuer, server);
    w.note("setup: the AS shows its login and consent form");
    register_apps(w)?;
    w.as_under_test.login = Some(Login { username: "alice".into(), password: "alice".into() });
    Ok(())
}

/// The victim signs in through the forms: the browser, with the pages and form posts
/// it saw.
fn sign_in(w: &mut World) -> Result<Browser, Check> {
    if w.front_channel_outside() {
        return Err(Check::NotApplicable("the login pages are in the authorize hook's hands".into()));
    }
    show_forms(w)?;
    let url = authorization_url(w, &app(w), VERIFIER, &[]);
    let (result, browser) = w.browse("browser:victim", &url, at_callback);
    if browser.first_page.is_none() {
        return Err(Check::Undecided(format!("the authorization request showed no form: {result:?}")));
    }
    Ok(browser)
}

fn login_redirect_status(w: &mut World) -> Check {
    let browser = step!(sign_in(w));
    match browser.form_posts.first() {
        None => Check::Undecided("no form was submitted".into()),
        Some(302 | 303) => Check::Holds,
        Some(status) => Check::Violated(format!("the login POST: expected 303 See Other, got HTTP {status}")),
    }
}

fn consent_framing(w: &mut World) -> Check {
    let browser = step!(sign_in(w));
    let Some(page) = browser.first_page else { return Check::Undecided("no form was shown".into()) };
    let header = |name| page.headers().get(name).and_then(|v| v.to_str().ok()).map(String::from);
    let xfo = header(http::header::X_FRAME_OPTIONS);
    let csp = header(http::header::CONTENT_SECURITY_POLICY);
    let ok = xfo
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin"))
        || csp.as_deref().is_some_and(|v| v.contains("frame-ancestors"));
    Check::expect(ok, || {
        format!(
            "the consent page: expected X-Frame-Options or CSP frame-ancestors, got X-Frame-Options {xfo:?}, Content-Security-Policy {csp:?}"
        )
    })
}

fn no_store(r: &FetchResult) -> bool {
    let value = r.as_ref().ok().and_then(|r| r.headers().get(http::header::CACHE_CONTROL)?.to_str().ok());
    value.is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-store")))
}

fn token_no_store(w: &mut World) -> Check {
    let code = step!(victim_code(w, SCOPE));
    let first = redeem(w, VICTIM, &code, &[]);
    let rt = field(&step!(tokens(&first, "the redemption")), "refresh_token");
    let second = refresh(w, VICTIM, &rt, &[]);
    for (what, r) in [("code redemption", &first), ("refresh", &second)] {
        if !no_store(r) {
            return Check::Violated(format!(
                "{what}: expected Cache-Control: no-store, got {}",
                describe_headers(r)
            ));
        }
    }
    Check::Holds
}

fn describe_headers(r: &FetchResult) -> String {
    let Ok(r) = r else { return "no answer".into() };
    let headers: Vec<String> =
        r.headers().iter().map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?"))).collect();
    format!("HTTP {} with headers [{}]", r.status().as_u16(), headers.join(", "))
}

fn short_lived_tokens(w: &mut World) -> Check {
    let t = step!(victim_tokens(w, SCOPE));
    let Some(c) = claims(&field(&t, "access_token")) else {
        return Check::Undecided("the access token is not a JWT".into());
    };
    let lifetime = c.exp.unwrap_or(u64::MAX).saturating_sub(c.iat.unwrap_or(0));
    let expires_in = t["expires_in"].as_u64().unwrap_or(u64::MAX);
    Check::expect(lifetime <= 3600 && expires_in <= 3600, || {
        format!(
            "expected access tokens to live at most 3600 s, got exp - iat = {lifetime} s, expires_in = {expires_in} s"
        )
    })
}

fn legacy_grants(w: &mut World) -> Check {
    let implicit = authorization_url(w, &app(w), VERIFIER, &[("response_type", Some("token"))]);
    let response = step!(authorize(w, "browser:victim", &implicit));
    if response.get("error") != Some("unsupported_response_type") {
        return Check::Violated(format!(
            "response_type=token: expected error=unsupported_response_type, got `{}`",
            response.encode()
        ));
    }
    let (app, resource) = (app(w), w.as_under_test.resource.clone());
    let password = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice"),
        ("client_id", app.as_str()),
        ("resource", resource.as_str()),
    ];
    let r = token_request(w, VICTIM, &password);
    expect_error(&r, "unsupported_grant_type", "grant_type=password")
}

fn resource_binding(w: &mut World) -> Check {
    let unknown = "https://unknown.example/mcp";
    let url = authorization_url(w, &app(w), VERIFIER, &[("resource", Some(unknown))]);
    let response = step!(authorize(w, "browser:victim", &url));
    if response.get("error") != Some("invalid_target") {
        return Check::Violated(format!(
            "resource {unknown}: expected error=invalid_target, got `{}`",
            response.encode()
        ));
    }
    let Some(other) = w.as_under_test.other_resource.clone() else {
        return Check::Holds;
    };
    // The other resource's scopes may differ from these; the audience is the point here,
    // so a scope refusal is retried without a scope.
    let url = authorization_url(w, &app(w), VERIFIER, &[("resource", Some(&other))]);
    let mut response = step!(authorize(w, "browser:victim", &url));
    if response.get("error") == Some("invalid_scope") {
        let url = authorization_url(w, &app(w), VERIFIER, &[("resource", Some(&other)), ("scope", None)]);
        response = step!(authorize(w, "browser:victim", &url));
    }
    let Some(code) = response.get("code").map(String::from) else {
        return Check::Undecided(format!("resource {other}: expected a code, got `{}`", response.encode()));
    };
    let t = step!(tokens(&redeem(w, VICTIM, &code, &[("resource", Some(&other))]), "the redemption"));
    let aud: Vec<String> =
        claims(&field(&t, "access_token")).map_or(vec![], |c| c.aud.iter().map(String::from).collect());
    Check::expect(aud == [other.clone()], || format!("resource {other}: expected aud [{other}], got {aud:?}"))
}
