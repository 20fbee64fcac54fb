//! An enterprise identity provider (IdP) for enterprise-managed authorization (SEP-990,
//! ext-auth `specification/stable/enterprise-managed-authorization.mdx`), as a sans-IO
//! [`Service`]: it signs the users' ID tokens (the single sign-on step, EMA §3, done
//! here by [`EnterpriseIdp::id_token`]) and exchanges an ID token for an ID-JAG
//! ([`crate::id_jag`]) by RFC 8693 token exchange at `POST /token` (EMA §4). Its public
//! key is at `GET /jwks`; the authorization servers that take its ID-JAGs trust it.
//!
//! The exchange enforces what the extension asks of an IdP:
//! - client authentication (`client_secret_basic` or `client_secret_post`): "client
//!   authentication **MUST** be enforced" (EMA §7.7); else 401 `invalid_client`;
//! - the subject token is an ID token of this IdP, unexpired, issued to the client that
//!   exchanges it (EMA draft §4.1: "MUST validate that the audience of the Subject Token
//!   ... matches the Client Identifier"); else `invalid_grant`;
//! - `audience` and `resource` form a pair of its policy ([`AudienceResource`]): "The IdP
//!   **MUST** reject token exchange requests where the `audience` does not correspond to
//!   the authorization server for the specified `resource`" (EMA §7.6.1); else
//!   `invalid_target` (RFC 8693 §2.2.2);
//! - the scopes granted are those requested that the pair allows (all of them when none
//!   is requested); `invalid_scope` when none is left.
//!
//! ```
//! use mcp_authz_reference::enterprise_idp::{AudienceResource, Config, EnterpriseIdp, IdpClient};
//! use mcp_authz_reference::jwt::{Algorithm, SigningKey};
//! use mcp_authz_reference::sans_io::{drive, Env, Time};
//! use mcp_authz_reference::wire;
//! use rand_core::SeedableRng;
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let mut env = Env::new(Time::from_unix_secs(1_700_000_000), &mut rng);
//! let key = SigningKey::generate(Algorithm::ES256, "idp", &mut env).unwrap();
//! let config = Config {
//!     issuer: "https://idp.example".into(),
//!     users: vec!["alice".into()],
//!     clients: vec![IdpClient { client_id: "agent".into(), client_secret: "s3cret".into() }],
//!     pairs: vec![AudienceResource {
//!         audience: "https://as.example".into(),
//!         resource: "https://mcp.example/mcp".into(),
//!         scopes: vec!["mcp:read".into()],
//!     }],
//!     id_jag_lifetime: std::time::Duration::from_secs(300),
//! };
//! let mut idp = EnterpriseIdp::new(config, key).unwrap();
//! let id_token = idp.id_token("alice", "agent", env.now).unwrap();
//! let form = wire::encode_pairs([
//!     ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
//!     ("requested_token_type", "urn:ietf:params:oauth:token-type:id-jag"),
//!     ("audience", "https://as.example"),
//!     ("resource", "https://mcp.example/mcp"),
//!     ("subject_token", id_token.as_str()),
//!     ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"),
//!     ("client_id", "agent"),
//!     ("client_secret", "s3cret"),
//! ]);
//! let request = wire::post_form_request("https://idp.example/token", &form).unwrap();
//! let response = drive(&mut idp, request, &mut env, |_| unreachable!());
//! assert_eq!(response.status(), 200);
//! ```

use crate::id_jag::{self, IdJagClaims};
use crate::jwt::{self, Algorithm, Jwks, KeySet, SigningKey};
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, FetchResult, Request, Response, Service, Step, Time};
use crate::wire::{self, Params};
use crate::{Error, Result};
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long the ID tokens of [`EnterpriseIdp::id_token`] are valid.
pub const ID_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// What the IdP knows: its users, its clients, the `(audience, resource)` pairs its
/// policy allows.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its issuer identifier (`iss` of its ID tokens and ID-JAGs).
    pub issuer: String,
    /// The subjects of its users.
    pub users: Vec<String>,
    /// The clients registered with it for single sign-on. The `client_id` an ID-JAG names
    /// is the client's own: the IdP knows the client by the same identifier as the
    /// authorization server does (the mapping happens "outside of the protocol", EMA
    /// draft §6.1).
    pub clients: Vec<IdpClient>,
    /// The `(audience, resource)` pairs of its policy (EMA §7.6.1).
    pub pairs: Vec<AudienceResource>,
    /// How long its ID-JAGs are valid.
    pub id_jag_lifetime: Duration,
}

/// A client registered with the IdP (a confidential one: EMA §7.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpClient {
    /// Its identifier.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

/// An authorization server (`audience`, its issuer identifier) and a resource it issues
/// tokens for, with the scopes the IdP's policy grants there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceResource {
    /// The authorization server's issuer identifier.
    pub audience: String,
    /// The MCP server's resource identifier (RFC 9728).
    pub resource: String,
    /// The scopes its policy grants at that resource.
    pub scopes: Vec<String>,
}

/// The claims of the IdP's ID tokens (OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IdTokenClaims {
    iss: String,
    sub: String,
    aud: String,
    iat: u64,
    exp: u64,
}

/// The token exchange response (RFC 8693 §2.2.1; EMA §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeResponse {
    /// `urn:ietf:params:oauth:token-type:id-jag`.
    pub issued_token_type: String,
    /// The ID-JAG (named `access_token` "for historical reasons").
    pub access_token: String,
    /// `N_A`: not an access token.
    pub token_type: String,
    /// The scopes of the ID-JAG.
    pub scope: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}

/// The enterprise IdP. Stateless beyond its configuration and key.
#[derive(Debug)]
pub struct EnterpriseIdp {
    config: Config,
    key: SigningKey,
    /// Its own public key, to verify the ID tokens it issued.
    keys: KeySet,
}

/// A refusal: status, error code, description.
struct Refusal(StatusCode, ErrorCode, String);

fn refuse(code: ErrorCode, description: impl std::fmt::Display) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, code, description.to_string())
}

impl EnterpriseIdp {
    /// An IdP signing with `key` (an asymmetric one).
    pub fn new(config: Config, key: SigningKey) -> Result<Self> {
        if !Algorithm::ASYMMETRIC.contains(&key.alg()) {
            return Err(Error::Config(format!("the IdP key is {}, expected an asymmetric one", key.alg())));
        }
        let keys = KeySet::from_jwks(&key.public_jwks())?;
        Ok(EnterpriseIdp { config, key, keys })
    }

    /// Its public keys (served at `/jwks`).
    pub fn jwks(&self) -> Jwks {
        self.key.public_jwks()
    }

    /// The ID token single sign-on gives `client_id` for user `sub` at `now`.
    pub fn id_token(&self, sub: &str, client_id: &str, now: Time) -> Result<String> {
        let now = now.unix_secs();
        let claims = IdTokenClaims {
            iss: self.config.issuer.clone(),
            sub: sub.into(),
            aud: client_id.into(),
            iat: now,
            exp: now + ID_TOKEN_LIFETIME.as_secs(),
        };
        jwt::encode(&self.key, "JWT", &claims)
    }

    /// The authenticated client of a token request (HTTP Basic or the form's
    /// `client_id` and `client_secret`).
    fn client(&self, request: &Request, form: &Params) -> Result<&IdpClient, Refusal> {
        let unauthorized = |why: String| Refusal(StatusCode::UNAUTHORIZED, ErrorCode::InvalidClient, why);
        let basic = wire::basic_credentials(request.headers())
            .map_err(|why| unauthorized(format!("authorization header: {why}")))?;
        let (id, secret) = match basic {
            Some((id, secret)) => (id, Some(secret)),
            None => (
                form.get("client_id").unwrap_or_default().to_string(),
                form.get("client_secret").map(String::from),
            ),
        };
        let Some(secret) = secret else {
            return Err(unauthorized(format!(
                "client `{id}` did not authenticate; the token exchange requires it (EMA §7.7)"
            )));
        };
        let client = self.config.clients.iter().find(|c| c.client_id == id);
        match client {
            Some(c)
                if aws_lc_rs::constant_time::verify_slices_are_equal(
                    c.client_secret.as_bytes(),
                    secret.as_bytes(),
                )
                .is_ok() =>
            {
                Ok(c)
            }
            _ => Err(unauthorized(format!("unknown client `{id}` or wrong secret"))),
        }
    }

    /// `POST /token`: the token exchange (RFC 8693 §2.1) of an ID token for an ID-JAG.
    fn exchange(&self, request: &Request, env: &mut Env<'_>) -> Result<ExchangeResponse, Refusal> {
        let form = Params::from_form_request(request).map_err(|e| refuse(ErrorCode::InvalidRequest, e))?;
        let client = self.client(request, &form)?;
        let param = |name: &str| form.require(name).map_err(|e| refuse(ErrorCode::InvalidRequest, e));
        let grant_type = param("grant_type")?;
        if grant_type != id_jag::TOKEN_EXCHANGE {
            return Err(refuse(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type `{grant_type}`, expected `{}`", id_jag::TOKEN_EXCHANGE),
            ));
        }
        for (name, expected) in
            [("requested_token_type", id_jag::TOKEN_TYPE), ("subject_token_type", id_jag::ID_TOKEN_TYPE)]
        {
            let got = param(name)?;
            if got != expected {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    format!("{name} `{got}`, expected `{expected}`"),
                ));
            }
        }
        let now = env.now.unix_secs();
        let subject = self.subject(param("subject_token")?, &client.client_id, now)?;
        let audience = param("audience")?;
        let resource = form.get("resource");
        let pair = self
            .config
            .pairs
            .iter()
            .find(|p| p.audience == audience && resource.is_none_or(|r| r == p.resource));
        let Some(pair) = pair else {
            return Err(refuse(
                ErrorCode::InvalidTarget,
                format!(
                    "audience `{audience}` and resource {resource:?} are not a pair of this IdP's policy (EMA §7.6.1)"
                ),
            ));
        };
        let requested: Vec<&str> =
            form.get("scope").unwrap_or_default().split(' ').filter(|s| !s.is_empty()).collect();
        let scope: Vec<&str> = match requested.is_empty() {
            true => pair.scopes.iter().map(String::as_str).collect(),
            false => requested.into_iter().filter(|s| pair.scopes.iter().any(|p| p == s)).collect(),
        };
        if scope.is_empty() {
            return Err(refuse(
                ErrorCode::InvalidScope,
                format!("none of the scopes asked is granted at `{}`", pair.resource),
            ));
        }
        let lifetime = self.config.id_jag_lifetime.as_secs();
        let claims = IdJagClaims {
            iss: self.config.issuer.clone(),
            sub: subject,
            aud: pair.audience.clone(),
            resource: resource.map(|_| pair.resource.clone()),
            client_id: client.client_id.clone(),
            // The time too: unique across runs of a seeded simulator against a live AS.
            jti: format!("{}-{}", env.now.unix_millis(), env.random_string(12)),
            iat: now,
            exp: now + lifetime,
            scope: Some(scope.join(" ")),
        };
        let grant = claims
            .sign(&self.key)
            .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::ServerError, e.to_string()))?;
        Ok(ExchangeResponse {
            issued_token_type: id_jag::TOKEN_TYPE.into(),
            access_token: grant,
            token_type: id_jag::NOT_APPLICABLE.into(),
            scope: scope.join(" "),
            expires_in: lifetime,
        })
    }

    /// The user of a subject token: an ID token of this IdP, unexpired, issued to
    /// `client_id`, for a user it knows.
    fn subject(&self, token: &str, client_id: &str, now: u64) -> Result<String, Refusal> {
        let bad = |why: String| refuse(ErrorCode::InvalidGrant, format!("subject_token: {why}"));
        let (_, payload) = jwt::decode_verified(token, &self.keys, &Algorithm::ASYMMETRIC)
            .map_err(|e| bad(e.to_string()))?;
        let c: IdTokenClaims = serde_json::from_slice(&payload).map_err(|e| bad(format!("claims: {e}")))?;
        if c.iss != self.config.issuer {
            return Err(bad(format!("iss `{}`, expected `{}`", c.iss, self.config.issuer)));
        }
        if c.aud != client_id {
            return Err(bad(format!(
                "issued to `{}`, not to the client `{client_id}` (EMA draft §4.1)",
                c.aud
            )));
        }
        if c.exp <= now {
            return Err(bad(format!("expired at {}", c.exp)));
        }
        if !self.config.users.contains(&c.sub) {
            return Err(bad(format!("unknown user `{}`", c.sub)));
        }
        Ok(c.sub)
    }
}

impl Service for EnterpriseIdp {
    type Pending = std::convert::Infallible;

    fn handle(&mut self, request: Request, env: &mut Env<'_>) -> Step<Self::Pending> {
        let path = request.uri().path();
        let response = match (path, request.method()) {
            ("/jwks", &Method::GET) => wire::json(StatusCode::OK, &self.jwks()),
            ("/token", &Method::POST) => match self.exchange(&request, env) {
                Ok(body) => wire::json_no_store(StatusCode::OK, &body),
                Err(Refusal(status, code, description)) => wire::oauth_error(status, code, description),
            },
            ("/jwks" | "/token", m) => wire::oauth_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("method {m} is not allowed at `{path}`"),
            ),
            _ => wire::oauth_error(StatusCode::NOT_FOUND, "not_found", format!("no endpoint at `{path}`")),
        };
        Step::Respond(response)
    }

    fn resume(&mut self, pending: Self::Pending, _: FetchResult, _: &mut Env<'_>) -> Step<Self::Pending> {
        match pending {}
    }
}

#[cfg(test)]
mod tests;

/// The response as it would be sent, for tests and scenarios that read one.
pub fn exchange_response(r: &Response) -> Option<ExchangeResponse> {
    (r.status() == StatusCode::OK).then(|| serde_json::from_slice(r.body()).ok()).flatten()
}
