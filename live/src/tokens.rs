//! Where the tokens for a live MCP server under test come from: a [`TokenSource`].
//!
//! - The harness's own authorization server, which the server was told to trust
//!   (`test-server`): tokens with any claims, valid and forged.
//! - The server's own authorization server, which the harness does not control
//!   ([`TheServersAuthority`]): forgeries from its published keys only (`scan`), and,
//!   given a way to get real tokens ([`GetToken`], `test-server --token-command`), the
//!   tokens it issues. A case that needs claims that AS would not issue is skipped
//!   with the reason.

use crate::test_authority::TestAuthority;
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience};
use mcp_authz_reference::jwt::{Jwk, SigningKey};
use mcp_authz_reference::sans_io::Time;
use mcp_authz_scenarios::world::{MintError, OTHER_MCP, Skip};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the tokens for the server under test come from.
#[derive(Clone)]
pub enum TokenSource {
    /// The harness's authorization server, which the server under test trusts.
    Harness(TestAuthority),
    /// The server's own authorization server.
    TheServers(TheServersAuthority),
}

/// The authorization server the server under test trusts, which is not the harness's.
#[derive(Clone, Default)]
pub struct TheServersAuthority {
    /// Its issuer, as the server's protected resource metadata names it.
    pub issuer: String,
    /// Its published keys (its JWKS), for the forgeries a public key allows.
    pub keys: Vec<Jwk>,
    /// Gets a real token from it, when the operator gave a way (`--token-command`).
    pub get: Option<GetToken>,
    /// A second resource its tokens can be asked for (`--other-resource`): a token for
    /// it stands for a token for MCP server B.
    pub other_resource: Option<String>,
    /// The scopes the server's metadata names (`scopes_supported`): the AS issues no
    /// other, so a token with another is a forgery. Empty: it names none, and any is asked.
    pub scopes: Vec<String>,
    /// How long after it is got a real token is refused by the server, its clock leeway
    /// included (`--token-lifetime`): an expired token is then a new real one, waited
    /// out. `None`: an expired token is a forgery.
    pub expire_after: Option<Duration>,
}

/// What a real token is asked for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokenRequest {
    /// The resource (RFC 8707) the token is for.
    pub resource: String,
    /// The scopes, space-separated; empty for none.
    pub scope: String,
    /// The user: `alice`, or `mallory` for the cross-user cases.
    pub principal: Principal,
}

/// Why the server's authorization server would not issue a token with some claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unissued {
    /// The claims are forged: what they ask for.
    Forged(String),
    /// A token for another resource, and none was named (`--other-resource`).
    NoOtherResource,
    /// An expired token, otherwise one the AS issues: a real one, waited out, when the
    /// tokens' lifetime is known.
    Expired(TokenRequest),
}

/// The two users the cross-user cases need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Principal {
    /// The victim, and the user of every other case.
    Alice,
    /// The other user.
    Mallory,
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Principal::Alice => "alice",
            Principal::Mallory => "mallory",
        })
    }
}

/// A token got (or why there is none), and when.
type Got = (Result<String, String>, Time);

/// A function from what a token is asked for to the token, or why there is none.
type Getter = dyn Fn(&TokenRequest) -> Result<String, String> + Send + Sync;

/// Gets a real token, or says why it could not. Tokens (and failures) are kept per
/// request for the run ([`GetToken::new`]), so an identity provider is asked once for
/// each.
#[derive(Clone)]
pub struct GetToken {
    get: Arc<Getter>,
    got: Arc<Mutex<BTreeMap<TokenRequest, Got>>>,
    fresh: Arc<Mutex<Vec<String>>>,
    lifetime: Option<Duration>,
}

/// How long before a kept token expires it is replaced by a new one: a case uses it for
/// a few requests.
const REPLACE_BEFORE_EXPIRY: Duration = Duration::from_secs(30);

impl GetToken {
    /// Gets tokens with `get`.
    pub fn new(get: impl Fn(&TokenRequest) -> Result<String, String> + Send + Sync + 'static) -> GetToken {
        GetToken { get: Arc::new(get), got: Arc::default(), fresh: Arc::default(), lifetime: None }
    }

    /// These tokens, known to be refused `lifetime` after they are got: a kept one is
    /// replaced before then.
    pub fn expiring_after(self, lifetime: Duration) -> GetToken {
        GetToken { lifetime: Some(lifetime), ..self }
    }

    /// True when a token got at `at` will still be accepted a while: its `exp` (a JWT's)
    /// and the known lifetime leave at least [`REPLACE_BEFORE_EXPIRY`].
    fn still_fresh(&self, token: &str, at: Time) -> bool {
        let now = crate::serve::system_now();
        let by_lifetime = self.lifetime.is_none_or(|l| now.since(at) + REPLACE_BEFORE_EXPIRY.min(l / 2) < l);
        let now = now.unix_secs();
        let exp = readable_claims(token).and_then(|c| c.get("exp")?.as_u64());
        let by_exp = exp.is_none_or(|exp| now + REPLACE_BEFORE_EXPIRY.as_secs() < exp);
        by_lifetime && by_exp
    }

    /// The token for `request`: the one got before (or why there was none), else a new
    /// one.
    pub fn token(&self, request: &TokenRequest) -> Result<String, String> {
        let kept = self.got.lock().ok().and_then(|got| got.get(request).cloned());
        match kept {
            Some((Ok(token), at)) if self.still_fresh(&token, at) => return Ok(token),
            Some((Err(why), _)) => return Err(why),
            _ => {}
        }
        let got = (self.get)(request);
        if let Ok(mut kept) = self.got.lock() {
            if let Some((Ok(old), _)) =
                kept.insert(request.clone(), (got.clone(), crate::serve::system_now()))
            {
                // Replaced: still kept for the report to redact.
                if let Ok(mut fresh) = self.fresh.lock() {
                    fresh.push(old);
                }
            }
        }
        got
    }

    /// A new token for `request`, never one got before (one to wait out: its lifetime
    /// runs from now).
    pub fn fresh(&self, request: &TokenRequest) -> Result<String, String> {
        let got = (self.get)(request)?;
        if let Ok(mut fresh) = self.fresh.lock() {
            fresh.push(got.clone());
        }
        Ok(got)
    }

    /// Every token got so far, for the report to redact.
    pub fn tokens(&self) -> Vec<String> {
        let mut tokens: Vec<String> = self
            .got
            .lock()
            .map(|g| g.values().filter_map(|(t, _)| t.clone().ok()).collect())
            .unwrap_or_default();
        tokens.extend(self.fresh.lock().map(|f| f.clone()).unwrap_or_default());
        tokens
    }
}

impl TokenSource {
    /// The issuer of the tokens the server under test accepts.
    pub fn issuer(&self) -> String {
        match self {
            TokenSource::Harness(a) => a.issuer().to_string(),
            TokenSource::TheServers(a) => a.issuer.clone(),
        }
    }

    /// A token for `claims` (at `now`, for the server at `url`; see
    /// [`mcp_authz_scenarios::world::Target::mint`]).
    pub fn mint(&self, url: &str, now: Time, claims: &AccessTokenClaims) -> Result<String, MintError> {
        match self {
            TokenSource::Harness(a) => Ok(a.mint(claims)?),
            TokenSource::TheServers(a) => a.mint(url, now, claims),
        }
    }

    /// Runs `f` with the key that signs the tokens the server accepts, when the harness
    /// holds it.
    pub fn with_signing_key(&self, f: &mut dyn FnMut(&SigningKey)) -> Result<(), Skip> {
        match self {
            TokenSource::Harness(a) => {
                a.with_signing_key(|k| f(k));
                Ok(())
            }
            TokenSource::TheServers(a) => {
                Err(a.not_held("a token signed by its key with claims of our choosing"))
            }
        }
    }

    /// The public keys of the authorization server the server under test trusts.
    pub fn keys(&self) -> Vec<Jwk> {
        match self {
            TokenSource::Harness(a) => a.served().with(|a, _| a.jwks().keys),
            TokenSource::TheServers(a) => a.keys.clone(),
        }
    }

    /// How often the server under test has fetched the trusted JWKS.
    pub fn jwks_fetches(&self) -> Result<u64, Skip> {
        match self {
            TokenSource::Harness(a) => Ok(a.jwks_fetches()),
            TokenSource::TheServers(a) => Err(Skip::because(format!(
                "counts the server's fetches of its authorization server's keys, which only the harness's \
                 own AS can ({} is not the harness's)",
                a.issuer
            ))),
        }
    }
}

impl TheServersAuthority {
    /// A real token for `claims` when they are claims its AS issues (see
    /// [`TheServersAuthority::request_for`]).
    fn mint(&self, url: &str, now: Time, claims: &AccessTokenClaims) -> Result<String, MintError> {
        let request = self.request_for(url, now, claims);
        if let (Err(Unissued::Expired(request)), Some(get), Some(lifetime)) =
            (&request, &self.get, self.expire_after)
        {
            let token = get.fresh(request).map_err(MintError::Failed)?;
            self.check_real(get, url, request, &token).map_err(MintError::Cannot)?;
            std::thread::sleep(lifetime);
            return Ok(token);
        }
        let request = request.map_err(|unissued| {
            MintError::Cannot(match unissued {
                Unissued::Forged(what) => self.not_held(&format!(
                    "{what} (a forged claim: its authorization server issues no such token)"
                )),
                Unissued::Expired(_) => self.not_held(
                    "an expired token (a forged claim: with --token-lifetime SECS the harness gets a real one and \
                     waits it out)",
                ),
                Unissued::NoOtherResource => Skip::because(
                    "needs a token for a second resource its authorization server serves: name one with \
                     --other-resource (with --token-command)",
                ),
            })
        })?;
        match &self.get {
            Some(get) => {
                let token = get.token(&request).map_err(MintError::Failed)?;
                self.check_real(get, url, &request, &token).map_err(MintError::Cannot)?;
                Ok(token)
            }
            None => {
                let scope = match request.scope.as_str() {
                    "" => "no scope".to_string(),
                    scope => format!("scope `{scope}`"),
                };
                Err(MintError::Cannot(Skip::because(format!(
                    "needs a token the server accepts (for {}, {scope}, user {}): give the harness a way to get \
                     one with `mcp-authz test-server --token-command CMD`",
                    request.resource, request.principal
                ))))
            }
        }
    }

    /// What to ask the AS for, when `claims` are what it would issue for the server at
    /// `url` (its issuer, one audience: the server or the other resource, user alice or
    /// mallory, current); else what they ask for that it would not.
    pub fn request_for(
        &self,
        url: &str,
        now: Time,
        claims: &AccessTokenClaims,
    ) -> Result<TokenRequest, Unissued> {
        let forged = |what: String| Err(Unissued::Forged(what));
        if claims.iss != self.issuer {
            return forged(format!("a token from issuer {}", claims.iss));
        }
        let resource = match &claims.aud {
            Audience::One(aud) if aud == url || Some(aud) == self.other_resource.as_ref() => aud.clone(),
            Audience::One(aud) if aud == OTHER_MCP => {
                self.other_resource.clone().ok_or(Unissued::NoOtherResource)?
            }
            Audience::One(aud) => return forged(format!("a token for audience {aud}")),
            Audience::None => return forged("a token without aud".into()),
            Audience::Many(_) => return forged("a token with several audiences".into()),
        };
        let scope = claims.scope.clone().unwrap_or_default();
        let unnamed: Vec<&str> = scope
            .split(' ')
            .filter(|s| !s.is_empty() && !self.scopes.is_empty() && !self.scopes.iter().any(|k| k == s))
            .collect();
        if !unnamed.is_empty() {
            return forged(format!(
                "a token with scope `{}`, which the server's metadata does not name (scopes_supported: {})",
                unnamed.join(" "),
                self.scopes.join(" ")
            ));
        }
        let principal = match claims.sub.as_deref() {
            Some("alice") => Principal::Alice,
            Some("mallory") => Principal::Mallory,
            other => return forged(format!("a token for user {}", other.unwrap_or("(none)"))),
        };
        let now = now.unix_secs();
        match (claims.exp, claims.nbf, claims.iat) {
            (Some(exp), None, iat) if exp > now && iat.is_none_or(|iat| iat <= now) => {}
            (None, ..) => return forged("a token without exp".into()),
            (Some(exp), None, _) if exp <= now => {
                return Err(Unissued::Expired(TokenRequest { resource, scope, principal }));
            }
            (Some(exp), ..) if exp <= now => return forged("an expired token".into()),
            _ => return forged("a token not yet valid".into()),
        }
        Ok(TokenRequest { resource, scope, principal })
    }

    /// Refuses a real `token` got for `request` that is not what the case asked for, as
    /// far as its claims show (a JWT's, read without verifying; an opaque token shows
    /// nothing): scopes beyond those asked for (an AS filling in its defaults), a token for
    /// mallory that is for alice's `sub` (or a `sub` the harness cannot read), a token
    /// for the other resource whose audience is the server's or that of the server's own
    /// tokens (an AS ignoring `resource`).
    fn check_real(&self, get: &GetToken, url: &str, request: &TokenRequest, token: &str) -> Result<(), Skip> {
        let claims = readable_claims(token);
        let asked: Vec<&str> = request.scope.split(' ').filter(|s| !s.is_empty()).collect();
        let extra: Vec<String> = claims
            .as_ref()
            .map(granted_scopes)
            .unwrap_or_default()
            .into_iter()
            .filter(|g| !asked.contains(&g.as_str()))
            .collect();
        if !extra.is_empty() {
            return Err(Skip::because(format!(
                "needs a token with scope `{}` alone, and the token got for it also carries `{}`: its \
                 authorization server grants more than asked, so what the case shows would not be about `{}`",
                request.scope,
                extra.join(" "),
                request.scope
            )));
        }
        let alike = |principal, resource: &str| TokenRequest {
            principal,
            resource: resource.into(),
            ..request.clone()
        };
        if request.principal == Principal::Mallory {
            let alice = get.token(&alike(Principal::Alice, &request.resource)).map_err(Skip::because)?;
            let sub = |t: &str| readable_claims(t).and_then(|c| c.get("sub")?.as_str().map(String::from));
            match (sub(token), sub(&alice)) {
                (Some(m), Some(a)) if m != a => {}
                (Some(m), Some(_)) => {
                    return Err(Skip::because(format!(
                        "needs a token for a second user, and the token got with MCP_AUTHZ_PRINCIPAL=mallory is \
                         for alice's user (sub `{m}`): make the token command sign in another user for mallory"
                    )));
                }
                _ => {
                    return Err(Skip::because(
                        "needs a token for a second user, and the tokens got are not JWTs whose `sub` the harness \
                         can read: it cannot tell that mallory's is for another user than alice's",
                    ));
                }
            }
        }
        if request.resource != url {
            let aud = |t: &str| readable_claims(t).map(|c| audiences(&c));
            let own = get.token(&alike(Principal::Alice, url)).ok().and_then(|t| aud(&t));
            if let Some(other) = aud(token) {
                if other.iter().any(|a| a == url) || own.is_some_and(|own| own == other) {
                    return Err(Skip::because(format!(
                        "needs a token for the other resource {}, and the token got for it has audience {}, as \
                         the server's own tokens do: its authorization server did not honour `resource`",
                        request.resource,
                        other.join(" ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Why a case needing `what` cannot run: the harness does not hold the key.
    fn not_held(&self, what: &str) -> Skip {
        Skip::because(format!(
            "needs {what}, which only a server trusting the harness's authorization server can be given \
             ({} is not the harness's): run `mcp-authz test-server` with a server configured to trust it",
            self.issuer
        ))
    }
}

/// The claims of `token` when it is a JWT, read without verifying it.
fn readable_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let compact = mcp_authz_reference::jwt::split(token).ok()?;
    serde_json::from_slice(&compact.payload).ok()
}

/// The scopes `claims` grant: `scope` (space-separated) or `scp` (a list or a string).
fn granted_scopes(claims: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let words = |s: &str| s.split(' ').filter(|w| !w.is_empty()).map(String::from).collect::<Vec<_>>();
    match (claims.get("scope"), claims.get("scp")) {
        (Some(serde_json::Value::String(s)), _) | (None, Some(serde_json::Value::String(s))) => words(s),
        (None, Some(serde_json::Value::Array(list))) => {
            list.iter().filter_map(|v| v.as_str()).map(String::from).collect()
        }
        _ => Vec::new(),
    }
}

/// The audiences of `claims`: `aud` as a string or a list, sorted.
fn audiences(claims: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let mut aud: Vec<String> = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => vec![a.clone()],
        Some(serde_json::Value::Array(list)) => {
            list.iter().filter_map(|v| v.as_str()).map(String::from).collect()
        }
        _ => Vec::new(),
    };
    aud.sort();
    aud
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JWT (unsigned: only its claims are read) as an identity provider would issue
    /// for `r`.
    fn issued(r: &TokenRequest) -> String {
        let claims = serde_json::json!({"sub": r.principal.to_string(), "scope": r.scope, "aud": r.resource});
        mcp_authz_reference::jwt::encode_unsigned(&claims)
    }

    fn authority(get: bool) -> TheServersAuthority {
        TheServersAuthority {
            issuer: "https://idp.example".into(),
            keys: vec![],
            get: get.then(|| GetToken::new(|r| Ok(issued(r)))),
            ..TheServersAuthority::default()
        }
    }

    fn request(principal: Principal, resource: &str, scope: &str) -> TokenRequest {
        TokenRequest { resource: resource.into(), scope: scope.into(), principal }
    }

    fn claims(now: u64) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://idp.example".into(),
            sub: Some("alice".into()),
            aud: Audience::one("https://mcp.example/mcp"),
            client_id: None,
            scope: Some("files:read".into()),
            exp: Some(now + 600),
            iat: Some(now),
            nbf: None,
            jti: None,
            cnf: None,
        }
    }

    const URL: &str = "https://mcp.example/mcp";

    #[test]
    fn claims_the_servers_authority_issues_are_asked_of_it() {
        let now = Time::from_unix_secs(1_000_000);
        let a = authority(true);
        let token = a.mint(URL, now, &claims(1_000_000));
        assert_eq!(token, Ok(issued(&request(Principal::Alice, URL, "files:read"))));
        let mallory = AccessTokenClaims { sub: Some("mallory".into()), ..claims(1_000_000) };
        assert_eq!(a.mint(URL, now, &mallory), Ok(issued(&request(Principal::Mallory, URL, "files:read"))));
    }

    /// The token got must be the one asked for, as far as its claims show.
    #[test]
    fn a_real_token_that_is_not_what_was_asked_for_is_a_skip_saying_why() {
        let now = Time::from_unix_secs(1_000_000);
        let skip = |get: GetToken, claims: AccessTokenClaims| {
            let a = TheServersAuthority {
                get: Some(get),
                other_resource: Some("https://api.example".into()),
                ..authority(false)
            };
            match a.mint(URL, now, &claims) {
                Err(MintError::Cannot(skip)) => skip.0,
                other => panic!("expected a skip, got {other:?}"),
            }
        };
        // An AS filling in default scopes.
        let defaults = GetToken::new(|r| {
            Ok(issued(&TokenRequest { scope: "files:read files:write".into(), ..r.clone() }))
        });
        let why = skip(defaults, claims(1_000_000));
        assert!(why.contains("also carries `files:write`"), "{why}");
        // A command ignoring MCP_AUTHZ_PRINCIPAL, and one printing opaque tokens.
        let mallory = AccessTokenClaims { sub: Some("mallory".into()), ..claims(1_000_000) };
        let one_user =
            GetToken::new(|r| Ok(issued(&TokenRequest { principal: Principal::Alice, ..r.clone() })));
        assert!(skip(one_user, mallory.clone()).contains("for alice's user"));
        let opaque = GetToken::new(|r| Ok(format!("opaque-{}", r.principal)));
        assert!(skip(opaque, mallory).contains("not JWTs"));
        // An AS ignoring `resource`.
        let other = AccessTokenClaims { aud: Audience::one(OTHER_MCP), ..claims(1_000_000) };
        let same_aud = GetToken::new(|r| Ok(issued(&TokenRequest { resource: URL.into(), ..r.clone() })));
        assert!(skip(same_aud, other).contains("did not honour `resource`"));
    }

    #[test]
    fn forged_claims_are_a_skip_naming_what_they_ask_for() {
        let now = Time::from_unix_secs(1_000_000);
        let forged = [
            (AccessTokenClaims { exp: Some(999_000), ..claims(1_000_000) }, "an expired token"),
            (AccessTokenClaims { exp: None, ..claims(1_000_000) }, "without exp"),
            (AccessTokenClaims { aud: Audience::None, ..claims(1_000_000) }, "without aud"),
            (AccessTokenClaims { iss: "https://evil.example".into(), ..claims(1_000_000) }, "issuer"),
            (AccessTokenClaims { sub: Some("bob".into()), ..claims(1_000_000) }, "user bob"),
            (AccessTokenClaims { nbf: Some(1_003_600), ..claims(1_000_000) }, "not yet valid"),
            (AccessTokenClaims { scope: Some("FILES:READ".into()), ..claims(1_000_000) }, "does not name"),
        ];
        for get in [true, false] {
            for (claims, says) in &forged {
                let a = TheServersAuthority { scopes: vec!["files:read".into()], ..authority(get) };
                match a.mint(URL, now, claims) {
                    Err(MintError::Cannot(skip)) => {
                        assert!(skip.0.contains(says), "{skip}");
                        assert!(skip.0.contains("the harness's authorization server"), "{skip}");
                    }
                    other => panic!("{claims:?}: expected a skip naming `{says}`, got {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_token_for_another_resource_asks_for_one_to_be_named() {
        let now = Time::from_unix_secs(1_000_000);
        let for_b = AccessTokenClaims { aud: Audience::one(OTHER_MCP), ..claims(1_000_000) };
        match authority(true).mint(URL, now, &for_b) {
            Err(MintError::Cannot(skip)) => assert!(skip.0.contains("--other-resource"), "{skip}"),
            other => panic!("expected a skip, got {other:?}"),
        }
        let named =
            TheServersAuthority { other_resource: Some("https://b.example/mcp".into()), ..authority(true) };
        assert_eq!(
            named.request_for(URL, now, &for_b).map(|r| r.resource),
            Ok("https://b.example/mcp".into())
        );
    }

    #[test]
    fn without_a_way_to_get_tokens_every_token_is_a_skip_pointing_at_token_command() {
        let now = Time::from_unix_secs(1_000_000);
        match authority(false).mint(URL, now, &claims(1_000_000)) {
            Err(MintError::Cannot(skip)) => assert!(skip.0.contains("--token-command"), "{skip}"),
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn a_token_is_got_once_per_request() {
        let calls = Arc::new(Mutex::new(0));
        let counted = Arc::clone(&calls);
        let get = GetToken::new(move |_| {
            *counted.lock().unwrap() += 1;
            Ok("t".into())
        });
        let r = TokenRequest { resource: URL.into(), scope: String::new(), principal: Principal::Alice };
        assert_eq!(get.token(&r), Ok("t".to_string()));
        assert_eq!(get.token(&r), Ok("t".to_string()));
        assert_eq!(*calls.lock().unwrap(), 1);
    }
}
