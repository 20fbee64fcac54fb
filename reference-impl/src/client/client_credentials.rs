//! The client credentials grant of the MCP extension
//! `io.modelcontextprotocol/oauth-client-credentials` (SEP-1046; ext-auth
//! `specification/draft/oauth-client-credentials.mdx`, row CL-59) for the
//! [`PublicClient`]: configured with [`ClientCredentials`]
//! ([`PublicClientConfig::client_credentials`](super::PublicClientConfig::client_credentials)),
//! it finds the authorization server as the code flow does (the 401, protected resource
//! metadata, authorization server metadata), then — with no user agent and no
//! registration ("This flow requires pre-registered client credentials … Dynamic Client
//! Registration is not used") — asks the token endpoint for a token with
//! `grant_type=client_credentials`, `resource` (RFC 8707) and the scope the code flow
//! would ask for, and makes its MCP call with it.
//!
//! "Clients **MUST** authenticate using one of these methods": JWT authentication
//! (RFC 7523 §2.2, RECOMMENDED) — a `private_key_jwt` assertion with `iss` = `sub` = the
//! client id, `aud` = the authorization server's issuer identifier (RFC 7523 §3 lets the
//! token endpoint URL serve too; the issuer is what draft-ietf-oauth-rfc7523bis requires
//! and every AS accepts), `exp` 60 s after `iat`, a fresh `jti` — or a client secret. The
//! extension's text says the secret goes "in the request content" (`client_secret_post`)
//! while its metadata section names `client_secret_basic`: this client sends the secret
//! with `client_secret_basic` when the metadata lists it (or lists no methods, RFC 8414
//! §2's default), else with `client_secret_post` when listed, else stops.
//!
//! No refresh: a new client credentials grant is the way to a new token (OAuth 2.1 §4.2.3:
//! "A refresh token SHOULD NOT be included"), so an expired or refused token is replaced
//! by running the grant again after the server's next 401.

use super::token::ClientAuth;
use super::{ClientStep, PublicClient, Waiting, confidential};
use crate::defects::Defect;
use crate::jwt::{Algorithm, SigningKey};
use crate::metadata::{AuthorizationServerMetadata, Grant};
use crate::sans_io::Env;
use crate::{Error, Result};
use std::fmt;

/// The identifier of the extension (MCP extensions overview; SEP-1046).
pub const EXTENSION: &str = "io.modelcontextprotocol/oauth-client-credentials";

/// The credentials of a machine client, registered with its authorization server out of
/// band. `Debug` hides the secret and the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// How it proves it.
    pub credential: Credential,
    /// The issuer of the authorization server they were registered with: at any other the
    /// client stops with an error instead of presenting them (CL-52/53). `None`: any.
    pub issuer: Option<String>,
}

/// What a machine client proves its identity with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A client secret (`client_secret_basic`, or `client_secret_post` where the AS lists
    /// only that).
    Secret(String),
    /// A private key for `private_key_jwt` assertions (RFC 7523 §2.2).
    PrivateKey {
        /// The JWS algorithm of the assertions.
        alg: Algorithm,
        /// The `kid` of the assertions' header.
        kid: String,
        /// The key in PKCS#8 DER.
        pkcs8_der: Vec<u8>,
    },
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Secret(_) => f.write_str("Secret(..)"),
            Credential::PrivateKey { alg, kid, .. } => {
                f.debug_struct("PrivateKey").field("alg", alg).field("kid", kid).finish_non_exhaustive()
            }
        }
    }
}

impl ClientCredentials {
    /// Checks what can be checked before any request: a private key is one of its
    /// algorithm's type.
    pub fn check(&self) -> Result<()> {
        if let Credential::PrivateKey { alg, kid, pkcs8_der } = &self.credential {
            Credential::private_key(*alg, kid.clone(), pkcs8_der)?;
        }
        Ok(())
    }

    /// Refuses to present the credentials at the authorization server `issuer` when they
    /// belong to another (CL-52/53).
    pub fn check_issuer(&self, issuer: &str) -> Result<()> {
        match self.issuer.as_deref().filter(|bound| *bound != issuer) {
            Some(bound) => Err(Error::Refused(format!(
                "the client credentials of `{}` belong to `{bound}`; the protected resource metadata \
                 names `{issuer}`: expected credentials registered there, not another server's",
                self.client_id
            ))),
            None => Ok(()),
        }
    }
}

impl Credential {
    /// A private key credential from PKCS#8 `der`, checked to be an `alg` key
    /// ([`SigningKey::from_pkcs8_der`]: P-256 for ES256, Ed25519 for EdDSA, RSA for RS256
    /// and PS256).
    pub fn private_key(alg: Algorithm, kid: impl Into<String>, der: &[u8]) -> Result<Self> {
        let kid = kid.into();
        SigningKey::from_pkcs8_der(alg, kid.clone(), der)?;
        Ok(Credential::PrivateKey { alg, kid, pkcs8_der: der.to_vec() })
    }

    /// The `token_endpoint_auth_method` this credential is used with at an AS whose
    /// metadata is `metadata`, and the authentication, or why none fits.
    pub fn auth_at(&self, metadata: &AuthorizationServerMetadata) -> Result<ClientAuth> {
        let listed = || match &metadata.token_endpoint_auth_methods_supported {
            Some(m) => format!("{m:?}"),
            None => "no token_endpoint_auth_methods_supported (RFC 8414 §2: then client_secret_basic)".into(),
        };
        match self {
            Credential::Secret(secret) if metadata.supports_auth_method("client_secret_basic") => {
                Ok(ClientAuth::SecretBasic(secret.clone()))
            }
            Credential::Secret(secret) if metadata.supports_auth_method("client_secret_post") => {
                Ok(ClientAuth::SecretPost(secret.clone()))
            }
            Credential::Secret(_) => Err(Error::unexpected(
                "token_endpoint_auth_methods_supported",
                listed(),
                "\"client_secret_basic\" or \"client_secret_post\", to authenticate with a client secret",
            )),
            Credential::PrivateKey { .. } if !metadata.supports_auth_method("private_key_jwt") => {
                Err(Error::unexpected(
                    "token_endpoint_auth_methods_supported",
                    listed(),
                    "a list containing \"private_key_jwt\", to authenticate with a private key",
                ))
            }
            Credential::PrivateKey { alg, kid, pkcs8_der } => {
                let algs = metadata.token_endpoint_auth_signing_alg_values_supported.as_ref();
                if let Some(algs) = algs.filter(|a| !a.iter().any(|a| a == alg.name())) {
                    return Err(Error::unexpected(
                        "token_endpoint_auth_signing_alg_values_supported",
                        format!("{algs:?}"),
                        format!("a list containing \"{alg}\", the algorithm of the configured key"),
                    ));
                }
                Ok(ClientAuth::PrivateKeyJwt(SigningKey::from_pkcs8_der(*alg, kid.clone(), pkcs8_der)?))
            }
        }
    }
}

impl PublicClient {
    /// The grant the client uses: client credentials or the JWT bearer grant when
    /// configured with them ([`PublicClient::new`] refuses both at once).
    pub(super) fn grant(&self) -> Grant {
        match (&self.config.client_credentials, &self.config.jwt_bearer) {
            (Some(_), _) => Grant::ClientCredentials,
            (None, Some(_)) => Grant::JwtBearer,
            (None, None) => Grant::AuthorizationCode,
        }
    }

    /// Sends the client credentials token request for `scope` to the current
    /// authorization server (instead of an authorization request): the credentials must
    /// belong to it and fit a method its metadata lists.
    pub(super) fn client_credentials_grant(
        &mut self,
        scope: Option<String>,
        env: &mut Env<'_>,
    ) -> Result<ClientStep> {
        let metadata = self.metadata()?;
        let credentials = self
            .config
            .client_credentials
            .as_ref()
            .ok_or_else(|| Error::Config("no client credentials are configured".into()))?;
        credentials.check_issuer(&metadata.issuer)?;
        let auth = match self.has(Defect::ClientCcUnauthenticated) {
            true => ClientAuth::None,
            false => credentials.credential.auth_at(metadata)?,
        };
        let resource = self.resource_param();
        let assertion_audience = match self.has(Defect::ClientCcAssertionWrongAudience) {
            true => self.requested_resource(),
            false => &metadata.issuer,
        };
        let grant = confidential::Grant {
            token_endpoint: self.token_endpoint()?,
            client_id: &credentials.client_id,
            auth: &auth,
            assertion_audience,
            resource: resource.as_deref(),
            scope: scope.as_deref(),
        };
        let request = grant.request(env)?;
        let request = self.with_token_proof(request, false, env)?;
        self.waiting = Waiting::ClientCredentials { scope };
        Ok(ClientStep::Send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sans_io::Time;
    use rand_core::SeedableRng;

    fn metadata(methods: Option<&[&str]>, algs: Option<&[&str]>) -> AuthorizationServerMetadata {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        AuthorizationServerMetadata {
            issuer: "https://as.example".into(),
            token_endpoint_auth_methods_supported: methods.map(list),
            token_endpoint_auth_signing_alg_values_supported: algs.map(list),
            ..AuthorizationServerMetadata::default()
        }
    }

    fn es256() -> Credential {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut env = Env::new(Time::from_unix_secs(0), &mut rng);
        let key = SigningKey::generate(Algorithm::ES256, "k", &mut env).unwrap();
        Credential::private_key(Algorithm::ES256, "k", &key.to_pkcs8_der().unwrap()).unwrap()
    }

    #[test]
    fn a_secret_goes_basic_unless_only_post_is_listed() {
        let secret = Credential::Secret("s".into());
        let auth = |m: Option<&[&str]>| {
            secret.auth_at(&metadata(m, None)).map(|a| format!("{a:?}")).map_err(|e| e.to_string())
        };
        assert_eq!(auth(None).unwrap(), "SecretBasic(..)");
        assert_eq!(auth(Some(&["client_secret_basic", "client_secret_post"])).unwrap(), "SecretBasic(..)");
        assert_eq!(auth(Some(&["client_secret_post"])).unwrap(), "SecretPost(..)");
        let e = auth(Some(&["private_key_jwt"])).unwrap_err();
        assert!(e.contains("client_secret_basic") && e.contains("private_key_jwt"), "{e}");
    }

    #[test]
    fn a_key_needs_private_key_jwt_and_its_algorithm_listed() {
        let key = es256();
        assert!(key.auth_at(&metadata(Some(&["private_key_jwt"]), Some(&["ES256"]))).is_ok());
        assert!(key.auth_at(&metadata(Some(&["private_key_jwt"]), None)).is_ok());
        let e = key.auth_at(&metadata(None, None)).unwrap_err().to_string();
        assert!(e.contains("private_key_jwt") && e.contains("client_secret_basic"), "{e}");
        let e = key.auth_at(&metadata(Some(&["private_key_jwt"]), Some(&["RS256"]))).unwrap_err().to_string();
        assert!(e.contains("RS256") && e.contains("ES256"), "{e}");
    }

    #[test]
    fn a_key_of_another_type_is_refused_saying_so() {
        let Credential::PrivateKey { pkcs8_der, .. } = es256() else { unreachable!() };
        let e = Credential::private_key(Algorithm::RS256, "k", &pkcs8_der).unwrap_err().to_string();
        assert!(e.contains("RS256"), "{e}");
        assert!(Credential::private_key(Algorithm::ES256, "k", b"not der").is_err());
    }

    #[test]
    fn debug_hides_the_secret_and_the_key() {
        let c = ClientCredentials {
            client_id: "svc".into(),
            credential: Credential::Secret("s3cr3t".into()),
            issuer: None,
        };
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let shown = format!("{:?}", es256());
        assert!(shown.contains("ES256") && !shown.contains("pkcs8"), "{shown}");
    }
}
