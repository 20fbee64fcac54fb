//! The reference OAuth 2.1 authorization server, as a sans-IO [`Service`].
//!
//! Endpoints, relative to the issuer (`http://127.0.0.1:9000` by default):
//!
//! | path | spec | module |
//! |---|---|---|
//! | `/.well-known/oauth-authorization-server[/<issuer path>]` | RFC 8414 | [`metadata`] |
//! | `/.well-known/openid-configuration[/<issuer path>]`, `<issuer path>/.well-known/openid-configuration` | OpenID Connect Discovery | [`metadata`] |
//! | `/jwks` | RFC 7517 | [`metadata`] |
//! | `/authorize` (GET request, POST consent form) | OAuth 2.1 §4.1, RFC 9207 | [`authorize`], [`client_id_metadata`] |
//! | `/token` | OAuth 2.1 §3.2, RFC 9068, RFC 7523 §2.1 | [`token`], [`refresh`], [`client_auth`], [`jwt_bearer`] |
//! | `/register` | RFC 7591 | [`registration`] |
//! | `/revoke` | RFC 7009 | [`revocation`] |
//! | `/introspect` | RFC 7662 | [`introspection`] |
//!
//! Policy choices beyond the specs:
//! - the `resource` parameter (RFC 8707) is required at `/authorize` and for
//!   `client_credentials`: without it a token's audience cannot be bound, and MCP clients
//!   MUST send it. Refused with `invalid_target`.
//! - `redirect_uri` is required at `/authorize`, even for a client with one registered URI.
//! - refresh tokens are rotated on every use, for confidential clients too.
//! - client ID metadata documents are reused while their `Cache-Control: max-age` lasts
//!   (at most an hour), else fetched at every authorization request.
//! - what a flood can make it hold is bounded ([`Limits`]): dynamic registration is
//!   rate-limited (429 with `Retry-After`) and its clients capped; waiting login forms,
//!   authorization codes and refresh tokens are capped, and expire.
//!
//! [`Config::defects`] makes the server commit the authorization-server mistakes of
//! [`crate::defects`] on purpose, each by skipping or loosening the one check it names,
//! so that the harness can show its scenarios fail against them.
//!
//! ```
//! use mcp_authz_reference::authorization_server::{AuthorizationServer, Config};
//! use mcp_authz_reference::sans_io::{drive, Env, Time};
//! use rand_core::SeedableRng;
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let mut env = Env::new(Time::from_unix_secs(1_700_000_000), &mut rng);
//! let mut server = AuthorizationServer::new(Config::default(), &mut env).unwrap();
//! let request = http::Request::get("/.well-known/oauth-authorization-server")
//!     .body(bytes::Bytes::new()).unwrap();
//! let response = drive(&mut server, request, &mut env, |_| unreachable!());
//! assert_eq!(response.status(), 200);
//! ```

pub mod authorize;
pub mod client_auth;
pub mod client_id_metadata;
pub mod config;
pub mod dpop;
pub mod introspection;
pub mod jwt_bearer;
mod limits;
pub mod metadata;
pub mod refresh;
pub mod registration;
pub mod revocation;
pub mod token;

#[cfg(test)]
mod test_support;

pub use config::{
    AssertionKind, Config, Limits, RegisteredClient, ResourceConfig, TokenDpop, TrustedIssuer, User,
};

use crate::access_token::AccessTokenClaims;
use crate::defects::Defect;
use crate::jwt::{Jwks, KeySet, SigningKey};
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, FetchResult, Request, Response, Service, Step, Time};
use crate::{Result, wire};
use client_id_metadata::ClientIdMetadataFetch;
use http::{HeaderValue, Method, StatusCode, header};
use std::collections::BTreeMap;

/// The reference authorization server. All state is in memory.
#[derive(Debug)]
pub struct AuthorizationServer {
    config: Config,
    /// The routes under the issuer's path, computed once: every request is routed.
    routes: Routes,
    /// The key that signs.
    current_key: SigningKey,
    /// The key it replaced, still published so that its tokens keep verifying.
    previous_key: Option<SigningKey>,
    /// Pre-registered and dynamically registered clients, by client ID.
    clients: BTreeMap<String, RegisteredClient>,
    /// Clients described by client ID metadata documents, by URL, as last fetched, with
    /// the time until which the document may be reused.
    metadata_clients: BTreeMap<String, (RegisteredClient, Time)>,
    /// Authorization requests waiting for the consent form, by CSRF token.
    pending: BTreeMap<String, authorize::PendingAuthorization>,
    /// Issued authorization codes, by code.
    codes: BTreeMap<String, authorize::CodeGrant>,
    /// No code in `codes` was issued before this (`None`: there is none): the sweep of
    /// old codes walks them only once one may be old enough.
    oldest_code: Option<Time>,
    /// Refresh tokens and their families.
    refresh: refresh::RefreshTokens,
    /// Revoked access-token `jti`s, with their `exp` (forgotten once expired).
    revoked_jtis: BTreeMap<String, u64>,
    /// `jti`s of `private_key_jwt` assertions already used, with their `exp`.
    used_assertion_jtis: BTreeMap<String, u64>,
    /// The JWT authorization grants (ID-JAGs, workload JWTs) already taken.
    used_grants: jwt_bearer::UsedGrants,
    /// Dynamic registrations taken in the current window ([`Limits`]).
    registrations: limits::FixedWindow,
    /// How many clients registered dynamically ([`Limits::max_registered_clients`]).
    registered_clients: usize,
    /// The DPoP proofs of token requests: checks, replay cache, nonces.
    dpop: dpop::TokenProofs,
}

/// One route of this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    OAuthMetadata,
    OpenIdConfiguration,
    Jwks,
    Authorize,
    Token,
    Register,
    Revoke,
    Introspect,
}

impl AuthorizationServer {
    /// Checks `config` and generates the first signing key.
    pub fn new(config: Config, env: &mut Env<'_>) -> Result<Self> {
        let config = config.checked()?;
        let clients = config.clients.iter().map(|c| (c.client_id.clone(), c.clone())).collect();
        let current_key = Self::generate_key(&config, env)?;
        let dpop = dpop::TokenProofs::new(&config);
        Ok(AuthorizationServer {
            routes: Routes::new(&config.issuer_path()),
            config,
            current_key,
            previous_key: None,
            clients,
            metadata_clients: BTreeMap::new(),
            pending: BTreeMap::new(),
            codes: BTreeMap::new(),
            oldest_code: None,
            refresh: refresh::RefreshTokens::default(),
            revoked_jtis: BTreeMap::new(),
            used_assertion_jtis: BTreeMap::new(),
            used_grants: jwt_bearer::UsedGrants::default(),
            registrations: limits::FixedWindow::default(),
            registered_clients: 0,
            dpop,
        })
    }

    fn generate_key(config: &Config, env: &mut Env<'_>) -> Result<SigningKey> {
        let kid = env.random_string(12);
        SigningKey::generate(config.signing_alg, kid, env)
    }

    /// The configuration in force (resources canonicalized).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Takes a dynamically registered client's `scope` as a hint from now on (see
    /// [`Config::registered_scope_is_a_hint`]).
    pub fn take_registered_scope_as_a_hint(&mut self) {
        self.config.registered_scope_is_a_hint = true;
    }

    /// The public signing keys: one, or two during a rotation (newest first).
    pub fn jwks(&self) -> Jwks {
        let keys = std::iter::once(&self.current_key).chain(&self.previous_key);
        Jwks { keys: keys.map(SigningKey::public_jwk).collect() }
    }

    /// Generates a new signing key: it signs from now on, the previous one stays in the
    /// JWKS so its tokens keep verifying; the one before that is dropped.
    pub fn rotate_signing_key(&mut self, env: &mut Env<'_>) -> Result<()> {
        let new = Self::generate_key(&self.config, env)?;
        self.previous_key = Some(std::mem::replace(&mut self.current_key, new));
        Ok(())
    }

    /// Signs with `key` from now on, and publishes it alone: the keys before it leave the
    /// JWKS. For a key kept across runs (the harness's), so a server's key cache agrees
    /// with every run.
    pub fn replace_signing_key(&mut self, key: SigningKey) {
        self.current_key = key;
        self.previous_key = None;
    }

    /// Takes DPoP proofs whose `htu` is at `origin` as naming this server's own origin:
    /// for the harness, whose client processes reach this simulated server at a loopback
    /// origin.
    pub fn dpop_also_reached_at(&mut self, origin: &str) {
        self.dpop.also_reached_at(origin, &self.config.issuer);
    }

    /// The key that signs new tokens (the first of [`Self::jwks`]). For the harness,
    /// which plays this server's part when it forges tokens in resource-server scenarios.
    pub fn signing_key(&self) -> &SigningKey {
        &self.current_key
    }

    /// Signs `claims`, whatever they say, as an access token (`typ: at+jwt`) with the
    /// current signing key: how the harness mints tokens an honest or compromised
    /// authorization server would issue (wrong audience, expired, extra scopes...).
    /// Tokens minted here are not recorded: introspection knows them only by signature.
    pub fn sign_access_token(&self, claims: &AccessTokenClaims) -> Result<String> {
        claims.sign(&self.current_key)
    }

    /// Registers (or replaces) a client, for test setup.
    pub fn register_client(&mut self, client: RegisteredClient) {
        self.clients.insert(client.client_id.clone(), client);
    }

    /// The verification keys of this server's own tokens.
    fn key_set(&self) -> Result<KeySet> {
        KeySet::from_jwks(&self.jwks())
    }

    /// A client by ID: registered, or known from a client ID metadata document.
    fn client(&self, client_id: &str) -> Option<&RegisteredClient> {
        self.clients.get(client_id).or_else(|| self.metadata_clients.get(client_id).map(|(c, _)| c))
    }

    /// Marks an access token's `jti` revoked until its `exp`.
    fn revoke_jti(&mut self, jti: &str, exp: u64, now: Time) {
        let now = now.unix_secs();
        self.revoked_jtis.retain(|_, e| *e > now);
        if exp > now {
            self.revoked_jtis.insert(jti.to_string(), exp);
        }
    }

    /// The resource named by a `resource` parameter (RFC 8707): required, and one this
    /// server issues tokens for (`invalid_target` otherwise).
    ///
    /// With [`Defect::IgnoreResource`] the parameter is not looked at, as by a server
    /// that does not implement RFC 8707: every token's audience is the issuer and any
    /// scope of any resource may be granted. All resources then accept the same tokens
    /// (if they accept the issuer as audience): audience confusion.
    fn target(&self, raw: Option<&str>) -> Result<ResourceConfig, Rejection> {
        if self.config.defects.has(Defect::IgnoreResource) {
            let scopes = self.config.scopes_supported();
            return Ok(ResourceConfig { uri: self.config.issuer.clone(), scopes });
        }
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Err(Rejection::new(
                ErrorCode::InvalidTarget,
                "missing parameter `resource`; the token's audience must be bound (RFC 8707, MCP authorization)",
            ));
        };
        self.config.resource(raw).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.config.resources.iter().map(|r| r.uri.as_str()).collect();
            Rejection::new(
                ErrorCode::InvalidTarget,
                format!("resource `{raw}` is not served here, expected one of {known:?}"),
            )
        })
    }

    fn route(&self, path: &str) -> Option<Route> {
        let Routes { prefix, oauth_metadata, openid_configuration } = &self.routes;
        if path == oauth_metadata {
            return Some(Route::OAuthMetadata);
        }
        if openid_configuration.iter().any(|p| p == path) {
            return Some(Route::OpenIdConfiguration);
        }
        let rest = path.strip_prefix(prefix.as_str())?;
        Some(match rest {
            "/jwks" => Route::Jwks,
            "/authorize" => Route::Authorize,
            "/token" => Route::Token,
            "/register" => Route::Register,
            "/revoke" => Route::Revoke,
            "/introspect" => Route::Introspect,
            _ => return None,
        })
    }
}

/// The paths [`AuthorizationServer::route`] recognizes, from the issuer's path.
#[derive(Debug)]
struct Routes {
    /// The issuer's path (`""` when it has none), prefix of every endpoint path.
    prefix: String,
    /// The path-inserted RFC 8414 metadata path.
    oauth_metadata: String,
    /// The OpenID configuration paths: path-inserted, and path-appended for an issuer
    /// with a path.
    openid_configuration: Vec<String>,
}

impl Routes {
    fn new(prefix: &str) -> Self {
        let mut openid_configuration = vec![format!("{}{prefix}", crate::metadata::OPENID_WELL_KNOWN)];
        if !prefix.is_empty() {
            openid_configuration.push(format!("{prefix}{}", crate::metadata::OPENID_WELL_KNOWN));
        }
        Routes {
            prefix: prefix.to_string(),
            oauth_metadata: format!("{}{prefix}", crate::metadata::OAUTH_WELL_KNOWN),
            openid_configuration,
        }
    }
}

/// An OAuth error answer of an endpoint that speaks JSON (RFC 6749 §5.2, RFC 7591
/// §3.2.2): status, `error` code, description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    status: StatusCode,
    error: ErrorCode,
    description: String,
    /// Send `WWW-Authenticate: Basic` (the client tried HTTP Basic authentication).
    basic_challenge: bool,
    /// Send `Retry-After` with these seconds (RFC 9110 §10.2.3).
    retry_after: Option<u64>,
}

impl Rejection {
    /// A 400 with `error`.
    fn new(error: ErrorCode, description: impl std::fmt::Display) -> Self {
        Rejection {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.to_string(),
            basic_challenge: false,
            retry_after: None,
        }
    }

    /// A 429 `temporarily_unavailable` (RFC 6585 §4) with `Retry-After: retry_after`.
    fn too_many_requests(retry_after: u64, description: impl std::fmt::Display) -> Self {
        Rejection {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(retry_after),
            ..Rejection::new(ErrorCode::TemporarilyUnavailable, description)
        }
    }

    /// A 503 `temporarily_unavailable`.
    fn unavailable(description: impl std::fmt::Display) -> Self {
        Rejection {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ..Rejection::new(ErrorCode::TemporarilyUnavailable, description)
        }
    }

    /// A 401 `invalid_client`.
    fn invalid_client(description: impl std::fmt::Display, basic_challenge: bool) -> Self {
        Rejection {
            status: StatusCode::UNAUTHORIZED,
            basic_challenge,
            ..Rejection::new(ErrorCode::InvalidClient, description)
        }
    }

    fn into_response(self) -> Response {
        let mut r = wire::oauth_error(self.status, self.error, self.description);
        if self.basic_challenge {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"token\""));
        }
        if let Some(secs) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

/// The scopes to grant: those requested (space-separated), each of which the client may
/// have and the resource knows (`invalid_scope` otherwise); all such scopes when none are
/// requested. With [`Defect::ClientScopeUnchecked`] the client's scopes are not looked at.
fn grant_scope(
    requested: Option<&str>,
    client: &RegisteredClient,
    resource: &ResourceConfig,
    defects: &crate::defects::Defects,
) -> Result<Vec<String>, Rejection> {
    let unchecked = defects.has(Defect::ClientScopeUnchecked);
    let allowed = |s: &str| {
        (unchecked || client.scopes.iter().any(|c| c == s)) && resource.scopes.iter().any(|r| r == s)
    };
    let Some(requested) = requested.filter(|r| !r.is_empty()) else {
        return Ok(resource.scopes.iter().filter(|s| allowed(s)).cloned().collect());
    };
    let mut granted: Vec<String> = vec![];
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !allowed(s) {
            return Err(Rejection::new(
                ErrorCode::InvalidScope,
                format!("scope `{s}` is not available to this client at `{}`", resource.uri),
            ));
        }
        if !granted.iter().any(|g| g == s) {
            granted.push(s.to_string());
        }
    }
    Ok(granted)
}

fn not_found(path: &str) -> Response {
    wire::oauth_error(StatusCode::NOT_FOUND, "not_found", format!("no endpoint at `{path}`"))
}

fn method_not_allowed(method: &Method, allowed: &'static str) -> Response {
    let mut r = wire::oauth_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("method {method} is not allowed here, expected {allowed}"),
    );
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allowed));
    r
}

impl Service for AuthorizationServer {
    type Pending = ClientIdMetadataFetch;

    fn handle(&mut self, request: Request, env: &mut Env<'_>) -> Step<Self::Pending> {
        let path = request.uri().path().to_string();
        let Some(route) = self.route(&path) else {
            return Step::Respond(not_found(&path));
        };
        let method = request.method().clone();
        let respond = Step::Respond;
        match (route, &method) {
            (Route::OAuthMetadata, &Method::GET) => respond(wire::json(StatusCode::OK, &self.metadata())),
            (Route::OpenIdConfiguration, &Method::GET) => {
                respond(wire::json(StatusCode::OK, &self.openid_configuration()))
            }
            (Route::Jwks, &Method::GET) => respond(wire::json(StatusCode::OK, &self.jwks_document())),
            (Route::Authorize, &Method::GET) => self.authorize(&request, env),
            (Route::Authorize, &Method::POST) => respond(self.consent(&request, env)),
            (Route::Authorize, _) => respond(method_not_allowed(&method, "GET, POST")),
            (Route::OAuthMetadata | Route::OpenIdConfiguration | Route::Jwks, _) => {
                respond(method_not_allowed(&method, "GET"))
            }
            (_, m) if m != Method::POST => respond(method_not_allowed(&method, "POST")),
            (Route::Token, _) => respond(self.token(&request, env)),
            (Route::Register, _) => respond(self.register(&request, env)),
            (Route::Revoke, _) => respond(self.revoke(&request, env)),
            (Route::Introspect, _) => respond(self.introspect(&request, env)),
        }
    }

    fn resume(
        &mut self,
        pending: Self::Pending,
        fetched: FetchResult,
        env: &mut Env<'_>,
    ) -> Step<Self::Pending> {
        Step::Respond(self.resume_authorize(pending, fetched, env))
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use http::StatusCode;

    #[test]
    fn unknown_path_is_404_json() {
        let mut t = Tester::new();
        let r = t.get("/nope");
        assert_eq!(error_of(&r), (404, "not_found".into()));
    }

    #[test]
    fn wrong_method_is_405() {
        let mut t = Tester::new();
        let r = t.send(http::Request::put("/token").body(bytes::Bytes::new()).unwrap());
        assert_eq!(error_of(&r), (405, "method_not_allowed".into()));
        assert_eq!(r.headers()["allow"], "POST");
        let r = t.post_form("/jwks", &[]);
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn key_rotation_keeps_two_keys() {
        let mut t = Tester::new();
        let first = t.server.jwks().keys[0].kid.clone();
        t.with_env(|s, env| s.rotate_signing_key(env).unwrap());
        let jwks = t.server.jwks();
        assert_eq!(jwks.keys.len(), 2);
        assert_eq!(jwks.keys[1].kid, first);
        t.with_env(|s, env| s.rotate_signing_key(env).unwrap());
        assert!(t.server.jwks().keys.iter().all(|k| k.kid != first));
    }

    #[test]
    fn a_replaced_key_signs_and_is_published_alone() {
        let mut t = Tester::new();
        t.with_env(|s, env| s.rotate_signing_key(env).unwrap());
        let key = t.with_env(|_, env| {
            crate::jwt::SigningKey::generate(crate::jwt::Algorithm::RS256, "kept", env).unwrap()
        });
        let public = key.public_jwk();
        t.server.replace_signing_key(key);
        assert_eq!(t.server.jwks().keys, vec![public]);
        assert_eq!(t.server.signing_key().kid(), "kept");
    }

    #[test]
    fn harness_signs_arbitrary_access_tokens_with_the_current_key() {
        use crate::access_token::{AccessTokenClaims, Audience, Validator};
        let mut t = Tester::new();
        t.with_env(|s, env| s.rotate_signing_key(env).unwrap());
        assert_eq!(t.server.signing_key().public_jwk(), t.server.jwks().keys[0]);
        let claims = AccessTokenClaims {
            iss: ISSUER.into(),
            sub: Some("mallory".into()),
            aud: Audience::one("http://127.0.0.1:9001/other"),
            client_id: Some("forged-client".into()),
            scope: Some("mcp:admin".into()),
            exp: Some(NOW + 60),
            iat: Some(NOW),
            nbf: None,
            jti: Some("forged".into()),
            cnf: None,
        };
        let token = t.server.sign_access_token(&claims).unwrap();
        let keys = crate::jwt::KeySet::from_jwks(&t.server.jwks()).unwrap();
        let v = Validator::new(ISSUER, "http://127.0.0.1:9001/other", keys);
        assert_eq!(v.validate(&token, t.now).unwrap(), claims);
        let header = crate::jwt::split(&token).unwrap().header;
        assert_eq!(header.kid, t.server.jwks().keys[0].kid);
    }
}
