//! A confidential client using the client credentials grant (OAuth 2.1 §4.2) with
//! `client_secret_basic`, `client_secret_post` or `private_key_jwt` (RFC 7523), always
//! sending `resource` (RFC 8707).

use super::token::{self, ClientAuth, TokenSet};
use super::{ClientStep, Outcome};
use crate::resource_indicator::Resource;
use crate::sans_io::{Env, FetchResult, Request};
use crate::{Error, Result};

/// One client credentials token request (OAuth 2.1 §4.2.1), as [`ConfidentialClient`]
/// and the [`PublicClient`](super::PublicClient) configured with
/// [`ClientCredentials`](super::ClientCredentials) send it.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    /// The token endpoint.
    pub token_endpoint: &'a str,
    /// The client id.
    pub client_id: &'a str,
    /// How the client authenticates.
    pub auth: &'a ClientAuth,
    /// The `aud` of a `private_key_jwt` assertion.
    pub assertion_audience: &'a str,
    /// The `resource` (RFC 8707), if any.
    pub resource: Option<&'a str>,
    /// The `scope`, if any.
    pub scope: Option<&'a str>,
}

impl Grant<'_> {
    /// The POST to the token endpoint: `grant_type=client_credentials`, then `resource`
    /// and `scope` when given, and the client's authentication
    /// ([`token::token_request`]: a `private_key_jwt` assertion is fresh, with a new
    /// `jti`, every time).
    pub fn request(&self, env: &mut Env<'_>) -> Result<Request> {
        let mut grant = vec![("grant_type", "client_credentials")];
        grant.extend(self.resource.map(|r| ("resource", r)));
        grant.extend(self.scope.map(|s| ("scope", s)));
        token::token_request(
            self.token_endpoint,
            self.client_id,
            self.auth,
            self.assertion_audience,
            &grant,
            env,
        )
    }
}

/// Configuration of a [`ConfidentialClient`].
#[derive(Debug)]
pub struct ConfidentialClientConfig {
    /// The token endpoint.
    pub token_endpoint: String,
    /// The client id.
    pub client_id: String,
    /// How the client authenticates.
    pub auth: ClientAuth,
    /// The MCP server the token is for.
    pub resource: String,
    /// The scope to request, if any.
    pub scope: Option<String>,
    /// The `aud` of a `private_key_jwt` assertion; the token endpoint when `None`.
    pub audience_for_assertion: Option<String>,
}

/// A client credentials client.
#[derive(Debug)]
pub struct ConfidentialClient {
    config: ConfidentialClientConfig,
    resource: Resource,
    token: Option<TokenSet>,
    waiting: bool,
}

impl ConfidentialClient {
    /// A client for `config`. The token endpoint must be https (or loopback http) and the
    /// resource a valid resource indicator.
    pub fn new(config: ConfidentialClientConfig) -> Result<Self> {
        let config_error = |e: Error| Error::Config(e.to_string());
        crate::metadata::check_endpoint_url("token_endpoint", &config.token_endpoint)
            .map_err(config_error)?;
        let resource = Resource::parse(&config.resource).map_err(config_error)?;
        Ok(ConfidentialClient { config, resource, token: None, waiting: false })
    }

    /// Starts a token request: `grant_type=client_credentials`, `resource`, `scope`.
    pub fn start(&mut self, env: &mut Env<'_>) -> ClientStep {
        let c = &self.config;
        let audience = c.audience_for_assertion.as_deref().unwrap_or(&c.token_endpoint);
        let grant = Grant {
            token_endpoint: &c.token_endpoint,
            client_id: &c.client_id,
            auth: &c.auth,
            assertion_audience: audience,
            resource: Some(self.resource.as_str()),
            scope: c.scope.as_deref(),
        };
        match grant.request(env) {
            Ok(request) => {
                self.waiting = true;
                ClientStep::Send(request)
            }
            Err(e) => ClientStep::Failed(e),
        }
    }

    /// Reads the token response; `Done` carries it as JSON.
    pub fn on_response(&mut self, fetched: FetchResult, env: &mut Env<'_>) -> ClientStep {
        if !std::mem::take(&mut self.waiting) {
            return ClientStep::Failed(Error::Config(
                "on_response called with no token request outstanding".into(),
            ));
        }
        let result = fetched.map_err(Error::from).and_then(|r| token::read_token_response(&r));
        match result {
            Ok(t) => {
                let json = serde_json::to_value(&t).unwrap_or_default();
                self.token = Some(TokenSet::from_response(
                    t,
                    self.config.scope.clone(),
                    self.resource.as_str(),
                    None,
                    env.now,
                ));
                ClientStep::Done(Outcome { result: json, authorizations: 0 })
            }
            Err(e) => ClientStep::Failed(e),
        }
    }

    /// The token obtained, if any.
    pub fn token(&self) -> Option<&TokenSet> {
        self.token.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::{Algorithm, KeySet, SigningKey, decode_verified};
    use crate::oauth_error::ErrorCode;
    use crate::sans_io::{Request, Time};
    use crate::wire::{self, Params};
    use http::StatusCode;
    use rand_core::SeedableRng;

    fn config(auth: ClientAuth) -> ConfidentialClientConfig {
        ConfidentialClientConfig {
            token_endpoint: "https://as.example/token".into(),
            client_id: "svc".into(),
            auth,
            resource: "https://mcp.example/mcp".into(),
            scope: Some("tools:read".into()),
            audience_for_assertion: None,
        }
    }

    fn request(client: &mut ConfidentialClient, env: &mut Env<'_>) -> (Request, Params) {
        let ClientStep::Send(r) = client.start(env) else { panic!("expected a request") };
        let p = Params::parse(r.body()).unwrap();
        (r, p)
    }

    #[test]
    fn secret_post_sends_resource_and_secret() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut env = Env::new(Time::from_unix_secs(1000), &mut rng);
        let mut c = ConfidentialClient::new(config(ClientAuth::SecretPost("s3".into()))).unwrap();
        let (r, p) = request(&mut c, &mut env);
        assert_eq!(r.uri(), "https://as.example/token");
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("resource"), Some("https://mcp.example/mcp"));
        assert_eq!(p.get("client_secret"), Some("s3"));
        assert_eq!(p.get("scope"), Some("tools:read"));
        let body = serde_json::json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300});
        let ClientStep::Done(out) = c.on_response(Ok(wire::json(StatusCode::OK, &body)), &mut env) else {
            panic!("expected done")
        };
        assert_eq!(out.result["access_token"], "at");
        let t = c.token().unwrap();
        assert_eq!(t.expires_at, Some(Time::from_unix_secs(1300)));
        assert_eq!(t.resource, "https://mcp.example/mcp");
    }

    #[test]
    fn private_key_jwt_assertion() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let mut env = Env::new(Time::from_unix_secs(1000), &mut rng);
        let key = SigningKey::generate(Algorithm::ES256, "k1", &mut env).unwrap();
        let keys = KeySet::from_jwks(&key.public_jwks()).unwrap();
        let mut c = ConfidentialClient::new(config(ClientAuth::PrivateKeyJwt(key))).unwrap();
        let (_, p) = request(&mut c, &mut env);
        assert_eq!(p.get("client_assertion_type"), Some(token::JWT_BEARER_ASSERTION));
        let (_, payload) =
            decode_verified(p.get("client_assertion").unwrap(), &keys, &[Algorithm::ES256]).unwrap();
        let claims: token::ClientAssertionClaims = serde_json::from_slice(&payload).unwrap();
        assert_eq!((claims.iss.as_str(), claims.sub.as_str()), ("svc", "svc"));
        assert_eq!(claims.aud, "https://as.example/token");
        assert_eq!((claims.iat, claims.exp), (1000, 1060));
        let (_, p2) = request(&mut c, &mut env);
        let (_, payload2) =
            decode_verified(p2.get("client_assertion").unwrap(), &keys, &[Algorithm::ES256]).unwrap();
        let claims2: token::ClientAssertionClaims = serde_json::from_slice(&payload2).unwrap();
        assert_ne!(claims.jti, claims2.jti);
    }

    #[test]
    fn token_error_fails() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let mut env = Env::new(Time::from_unix_secs(1000), &mut rng);
        let mut c = ConfidentialClient::new(config(ClientAuth::SecretBasic("s".into()))).unwrap();
        let _ = request(&mut c, &mut env);
        let r = wire::oauth_error(StatusCode::UNAUTHORIZED, ErrorCode::InvalidClient, "bad secret");
        let ClientStep::Failed(e) = c.on_response(Ok(r), &mut env) else { panic!("expected failure") };
        assert!(
            matches!(e, Error::OAuth { status: 401, ref error, .. } if *error == ErrorCode::InvalidClient)
        );
        assert!(c.token().is_none());
    }

    #[test]
    fn insecure_token_endpoint_is_a_config_error() {
        let mut cfg = config(ClientAuth::None);
        cfg.token_endpoint = "http://as.example/token".into();
        assert!(matches!(ConfidentialClient::new(cfg), Err(Error::Config(_))));
    }
}
