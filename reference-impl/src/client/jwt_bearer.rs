//! The JWT bearer grant (RFC 7523 §2.1) for the [`PublicClient`]: a JWT is the
//! authorization grant. Configured with a [`JwtBearerGrant`]
//! ([`PublicClientConfig::jwt_bearer`](super::PublicClientConfig::jwt_bearer)), the client
//! finds the authorization server as the code flow does (the 401, protected resource
//! metadata, authorization server metadata, which must list
//! `urn:ietf:params:oauth:grant-type:jwt-bearer` in `grant_types_supported`), then —
//! with no user agent, no `/authorize`, no registration — sends the token endpoint
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `assertion` (the JWT),
//! `resource` (RFC 8707) and the scope the code flow would ask for, and makes its MCP
//! call with the token. The JWT comes from one of two MCP authorization extensions:
//!
//! - **Enterprise-managed authorization** ([`JwtBearerGrant::Enterprise`];
//!   `io.modelcontextprotocol/enterprise-managed-authorization`, SEP-990, rows CL-60 and
//!   CL-61): an ID-JAG, which the client first gets from the enterprise IdP by token
//!   exchange ([`super::token_exchange`]) with `audience` = the authorization server's
//!   issuer; it presents it with its own client authentication at the authorization
//!   server ("The MCP Client authenticates with its credentials as registered with the
//!   Resource Authorization Server", EMA §5): `client_secret_basic` (or
//!   `client_secret_post` where only that is listed) or a `private_key_jwt` assertion, as
//!   [`Credential::auth_at`](super::Credential::auth_at) picks. A new ID-JAG is asked for
//!   at every grant: an authorization server "**MUST** implement replay detection" of
//!   its `jti` (EMA §7.4.2).
//! - **Workload identity federation** ([`JwtBearerGrant::Workload`]; SEP-1933,
//!   ext-auth `specification/draft/workload-identity-federation.mdx`, row CL-65): a JWT
//!   the workload's platform issued it (a Kubernetes service account token, a SPIFFE
//!   JWT-SVID, a cloud workload token), presented as is, without client authentication
//!   (`client_id` in the body when configured). Before sending it, the client reads —
//!   without verifying — its `aud` and `exp`: a JWT whose `aud` names neither the
//!   issuer nor the token endpoint of the authorization server the MCP server named is
//!   not sent there (it is a credential for another server, which that server could
//!   replay), and an expired one is not sent at all; each stops the client with what
//!   the JWT says and what was expected.
//!
//! An error answer of the token endpoint (`invalid_grant`, `invalid_scope`,
//! `unauthorized_client`, any other) ends the operation with that error: the client does
//! not send the grant again, and does not fall back to another grant (conformance
//! scenario `auth/wif-jwt-bearer`). No refresh: a new grant replaces an expired token
//! after the server's next 401, as for client credentials.
//!
//! A workload client, and the grant it sends:
//!
//! ```
//! use mcp_authz_reference::client::jwt_bearer::{GRANT_TYPE, JwtBearer};
//! use mcp_authz_reference::client::{JwtBearerGrant, PublicClient, PublicClientConfig, WorkloadIdentity};
//! use mcp_authz_reference::jwt::{self, Algorithm, SigningKey};
//! use mcp_authz_reference::sans_io::{Env, Time};
//! use mcp_authz_reference::wire::Params;
//! use rand_core::SeedableRng;
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let mut env = Env::new(Time::from_unix_secs(1_700_000_000), &mut rng);
//! // The platform's JWT, for the authorization server's issuer.
//! let platform = SigningKey::generate(Algorithm::ES256, "k8s", &mut env).unwrap();
//! let claims = serde_json::json!({"iss": "https://k8s.example", "sub": "system:serviceaccount:ns:agent",
//!     "aud": "https://as.example", "exp": 1_700_000_600, "iat": 1_700_000_000, "jti": "j1"});
//! let jwt = jwt::encode(&platform, "JWT", &claims).unwrap();
//! let workload = WorkloadIdentity { jwt: jwt.clone(), client_id: None };
//! let config = PublicClientConfig {
//!     jwt_bearer: Some(JwtBearerGrant::Workload(workload)),
//!     ..PublicClientConfig::new("https://mcp.example/mcp", "http://127.0.0.1:8765/callback", "agent")
//! };
//! let client = PublicClient::new(config).unwrap();
//! assert_eq!(client.server_url(), "https://mcp.example/mcp");
//! // After discovery it sends this (no client authentication):
//! let grant = JwtBearer {
//!     token_endpoint: "https://as.example/token",
//!     assertion: &jwt,
//!     client: None,
//!     assertion_audience: "https://as.example",
//!     resource: Some("https://mcp.example/mcp"),
//!     scope: None,
//! };
//! let form = Params::parse(grant.request(&mut env).unwrap().body()).unwrap();
//! assert_eq!(form.get("grant_type"), Some(GRANT_TYPE));
//! assert_eq!(form.get("assertion"), Some(jwt.as_str()));
//! assert_eq!(form.get("resource"), Some("https://mcp.example/mcp"));
//! ```

use super::token::{self, ClientAuth};
use super::token_exchange::{self, EnterpriseManaged, TokenExchange};
use super::{ClientStep, PublicClient, PublicClientConfig, Waiting};
use crate::access_token::Audience;
use crate::defects::Defect;
use crate::jwt;
use crate::metadata::{AuthorizationServerMetadata, Grant};
use crate::sans_io::{Env, FetchResult, Request, Time};
use crate::wire;
use crate::{Error, Result};
use serde::Deserialize;
use std::fmt;

/// `grant_type` of the JWT bearer grant (RFC 7523 §2.1).
pub const GRANT_TYPE: &str = Grant::JwtBearer.as_str();
/// The identifier of the workload identity federation extension, as the conformance
/// suite names it (SEP-1933 has no `seps/` file yet).
pub const WORKLOAD_EXTENSION: &str = "io.modelcontextprotocol/auth/wif";

/// Where a client using the JWT bearer grant gets its JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtBearerGrant {
    /// Enterprise-managed authorization: an ID-JAG from the enterprise IdP, for the user
    /// whose ID token the client holds.
    Enterprise(EnterpriseManaged),
    /// Workload identity federation: the workload's own JWT.
    Workload(WorkloadIdentity),
}

/// A workload's identity: the JWT its platform issued it. `Debug` hides the JWT.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkloadIdentity {
    /// The workload JWT, a compact JWS (its `aud` the authorization server's issuer or
    /// token endpoint).
    pub jwt: String,
    /// A client id to send in the body (`token_endpoint_auth_method` `none`), for an
    /// authorization server that wants one; `None`: none is sent.
    pub client_id: Option<String>,
}

impl fmt::Debug for WorkloadIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadIdentity").field("jwt", &"..").field("client_id", &self.client_id).finish()
    }
}

/// The claims of a workload JWT the client reads before presenting it.
#[derive(Deserialize)]
struct WorkloadClaims {
    #[serde(default)]
    aud: Audience,
    exp: Option<u64>,
}

/// Checks the machine grants of `config` before any request: at most one of client
/// credentials and the JWT bearer grant, each usable ([`ClientCredentials::check`],
/// [`JwtBearerGrant::check`]).
///
/// [`ClientCredentials::check`]: super::ClientCredentials::check
pub fn check_machine_grants(config: &PublicClientConfig) -> Result<()> {
    if config.client_credentials.is_some() && config.jwt_bearer.is_some() {
        return Err(Error::Config(
            "both client credentials and a JWT bearer grant are configured; expected one grant".into(),
        ));
    }
    config.client_credentials.as_ref().map(super::ClientCredentials::check).transpose()?;
    config.jwt_bearer.as_ref().map(JwtBearerGrant::check).transpose()?;
    Ok(())
}

impl JwtBearerGrant {
    /// Checks what can be checked before any request ([`EnterpriseManaged::check`],
    /// [`WorkloadIdentity::check`]).
    pub fn check(&self) -> Result<()> {
        match self {
            JwtBearerGrant::Enterprise(e) => e.check(),
            JwtBearerGrant::Workload(w) => w.check(),
        }
    }
}

impl WorkloadIdentity {
    /// The JWT is a compact JWS whose payload is a JSON object.
    pub fn check(&self) -> Result<()> {
        self.claims().map(|_| ()).map_err(|e| Error::Config(e.to_string()))
    }

    fn claims(&self) -> Result<WorkloadClaims> {
        let compact = jwt::split(&self.jwt).map_err(|e| {
            Error::unexpected("workload jwt", format!("{} characters ({e})", self.jwt.len()), "a compact JWS")
        })?;
        serde_json::from_slice(&compact.payload).map_err(|e| Error::malformed("workload jwt claims", e))
    }

    /// Checks, before the JWT is sent to the authorization server of `metadata` at `now`,
    /// that it is for that server (`aud` names its issuer or its token endpoint; RFC 7523
    /// §3: "The token endpoint URL of the authorization server MAY be used") and has not
    /// expired (`exp` after `now`). The signature is the authorization server's to verify.
    pub fn check_for(&self, metadata: &AuthorizationServerMetadata, now: Time) -> Result<()> {
        let claims = self.claims()?;
        let token_endpoint = metadata.token_endpoint.as_deref().unwrap_or_default();
        if !claims.aud.contains(&metadata.issuer) && !claims.aud.contains(token_endpoint) {
            let received: Vec<&str> = claims.aud.iter().collect();
            return Err(Error::unexpected(
                "aud of the workload jwt",
                format!("{received:?}"),
                format!(
                    "the issuer `{}` or the token endpoint `{token_endpoint}` of the authorization server \
                     the mcp server names (a workload jwt is sent only to the server it is for)",
                    metadata.issuer
                ),
            ));
        }
        match claims.exp {
            Some(exp) if exp > now.unix_secs() => Ok(()),
            Some(exp) => Err(Error::unexpected(
                "exp of the workload jwt",
                format!("{exp} (now is {}: it expired)", now.unix_secs()),
                "a time after now (a fresh jwt from the workload's platform)",
            )),
            None => Err(Error::Missing("exp of the workload jwt (RFC 7523 §3: it MUST contain one)".into())),
        }
    }
}

/// One JWT bearer token request (RFC 7523 §2.1).
#[derive(Debug, Clone, Copy)]
pub struct JwtBearer<'a> {
    /// The token endpoint.
    pub token_endpoint: &'a str,
    /// The JWT: an ID-JAG or a workload JWT.
    pub assertion: &'a str,
    /// The client id and how the client authenticates; `None`: neither is sent.
    pub client: Option<(&'a str, &'a ClientAuth)>,
    /// The `aud` of a `private_key_jwt` client assertion (the issuer).
    pub assertion_audience: &'a str,
    /// The `resource` (RFC 8707), if any.
    pub resource: Option<&'a str>,
    /// The `scope`, if any.
    pub scope: Option<&'a str>,
}

impl JwtBearer<'_> {
    /// The POST to the token endpoint: `grant_type`, `assertion`, then `resource` and
    /// `scope` when given, and the client's authentication ([`token::token_request`]).
    pub fn request(&self, env: &mut Env<'_>) -> Result<Request> {
        self.post(vec![("grant_type", GRANT_TYPE), ("assertion", self.assertion)], env)
    }

    /// The defect `client-ema-wrong-grant`: the assertion sent by token exchange (RFC 8693)
    /// as `subject_token` of the ID-JAG type, not as the grant's `assertion`.
    fn as_token_exchange(&self, env: &mut Env<'_>) -> Result<Request> {
        let grant = vec![
            ("grant_type", token_exchange::GRANT_TYPE),
            ("subject_token", self.assertion),
            ("subject_token_type", token_exchange::ID_JAG_TOKEN_TYPE),
        ];
        self.post(grant, env)
    }

    /// `grant`, then `resource` and `scope` when given, posted to the token endpoint
    /// with the client's authentication, if any.
    fn post<'p>(&'p self, mut grant: Vec<(&'p str, &'p str)>, env: &mut Env<'_>) -> Result<Request> {
        grant.extend(self.resource.map(|r| ("resource", r)));
        grant.extend(self.scope.map(|s| ("scope", s)));
        match self.client {
            Some((client_id, auth)) => token::token_request(
                self.token_endpoint,
                client_id,
                auth,
                self.assertion_audience,
                &grant,
                env,
            ),
            None => wire::post_form_request(self.token_endpoint, &wire::encode_pairs(grant)),
        }
    }
}

impl PublicClient {
    /// The configured JWT bearer grant.
    fn jwt_bearer_config(&self) -> Result<&JwtBearerGrant> {
        self.config
            .jwt_bearer
            .as_ref()
            .ok_or_else(|| Error::Config("no JWT bearer grant is configured".into()))
    }

    /// Starts the JWT bearer grant for `scope` at the current authorization server
    /// (instead of an authorization request): the token exchange at the IdP for
    /// enterprise-managed authorization, the grant itself with the workload's JWT.
    pub(super) fn jwt_bearer_grant(
        &mut self,
        scope: Option<String>,
        env: &mut Env<'_>,
    ) -> Result<ClientStep> {
        let metadata = self.metadata()?;
        let resource = self.resource_param();
        let (request, exchange) = match self.jwt_bearer_config()? {
            JwtBearerGrant::Enterprise(e) => {
                // Checked before the IdP is asked: the credentials are for this server,
                // and fit a method its metadata lists.
                e.client.check_issuer(&metadata.issuer)?;
                e.client.credential.auth_at(metadata)?;
                // `client-ema-audience-resource`: the MCP server instead of its AS.
                let audience = match self.has(Defect::ClientEmaAudienceResource) {
                    true => self.requested_resource(),
                    false => &metadata.issuer,
                };
                let exchange = TokenExchange {
                    token_endpoint: &e.idp_token_endpoint,
                    client: e.idp_client.as_ref(),
                    subject_token: &e.id_token,
                    audience,
                    resource: resource.as_deref(),
                    scope: scope.as_deref(),
                };
                (exchange.request(env)?, true)
            }
            JwtBearerGrant::Workload(w) => {
                w.check_for(metadata, env.now)?;
                let resource = resource.filter(|_| !self.has(Defect::ClientWifNoResource));
                let grant = JwtBearer {
                    token_endpoint: self.token_endpoint()?,
                    assertion: &w.jwt,
                    client: w.client_id.as_deref().map(|id| (id, &ClientAuth::None)),
                    assertion_audience: &metadata.issuer,
                    resource: resource.as_deref(),
                    scope: scope.as_deref(),
                };
                (grant.request(env)?, false)
            }
        };
        if exchange {
            self.waiting = Waiting::TokenExchange { scope };
            return Ok(ClientStep::Send(request));
        }
        let request = self.with_token_proof(request, false, env)?;
        self.waiting = Waiting::JwtBearer { scope };
        Ok(ClientStep::Send(request))
    }

    /// Reads the IdP's answer to the token exchange and presents the ID-JAG to the
    /// authorization server with the client's authentication there. A refusal, or an
    /// answer that is not an ID-JAG, ends the operation.
    pub(super) fn on_token_exchange(
        &mut self,
        fetched: FetchResult,
        scope: Option<String>,
        env: &mut Env<'_>,
    ) -> Result<ClientStep> {
        let id_jag = token_exchange::read_token_exchange_response(&fetched?)?;
        let JwtBearerGrant::Enterprise(e) = self.jwt_bearer_config()? else {
            return Err(Error::Config(
                "a token exchange answer, but no enterprise grant is configured".into(),
            ));
        };
        let metadata = self.metadata()?;
        let auth = e.client.credential.auth_at(metadata)?;
        let resource = self.resource_param();
        let grant = JwtBearer {
            token_endpoint: self.token_endpoint()?,
            assertion: id_jag.as_str(),
            client: Some((&e.client.client_id, &auth)),
            assertion_audience: &metadata.issuer,
            resource: resource.as_deref(),
            scope: scope.as_deref(),
        };
        let request = match self.has(Defect::ClientEmaWrongGrant) {
            true => grant.as_token_exchange(env)?,
            false => grant.request(env)?,
        };
        let request = self.with_token_proof(request, false, env)?;
        self.waiting = Waiting::JwtBearer { scope };
        Ok(ClientStep::Send(request))
    }
}
