//! Reference MCP clients as sans-IO state machines.
//!
//! [`PublicClient`] is a user-delegated client: it connects to an MCP server, and on a
//! 401 runs the whole MCP authorization flow (protected resource metadata, authorization
//! server metadata, registration, authorization code with PKCE, token), then makes its
//! call; it refreshes tokens before they expire and steps up on `insufficient_scope`.
//! Configured with [`ClientCredentials`], it is a machine client instead: the same
//! discovery, then the client credentials grant, no user agent, no registration
//! ([`client_credentials`]); configured with a [`JwtBearerGrant`], it presents a JWT as
//! the grant after the same discovery: an ID-JAG from the enterprise IdP
//! ([`token_exchange`]) or a workload's JWT ([`jwt_bearer`]). [`ConfidentialClient`]
//! gets a token with the client credentials grant from a known token endpoint, without
//! discovery.
//!
//! The driver calls in and the client says what it wants next ([`ClientStep`]): send an
//! HTTP request and hand back the response ([`PublicClient::on_response`]), open an
//! authorization URL in a user agent and hand back the URL it was redirected to
//! ([`PublicClient::on_redirect`]), or stop with the outcome.

pub mod authorization;
mod caching;
pub mod client_credentials;
pub mod confidential;
mod config;
pub mod discovery;
mod dpop;
#[cfg(test)]
mod interop;
pub mod jwt_bearer;
mod lifecycle;
pub mod mcp;
pub mod param_headers;
pub mod registration;
pub mod step_up;
#[cfg(test)]
mod tests;
pub mod token;
pub mod token_exchange;

pub use authorization::{AuthorizationResponse, redirect_params};
pub use client_credentials::{ClientCredentials, Credential};
pub use confidential::{ConfidentialClient, ConfidentialClientConfig};
pub use config::PublicClientConfig;
pub use jwt_bearer::{JwtBearerGrant, WorkloadIdentity};
pub use mcp::{Era, Eras, Operation};
pub use registration::{ApplicationType, PreRegistered};
pub use token::{ClientAuth, TokenSet};
pub use token_exchange::{EnterpriseManaged, IdpClient};

use crate::bearer::Challenge;
use crate::defects::Defect;
use crate::metadata::{AuthorizationServerMetadata, Grant, check_endpoint_url};
use crate::oauth_error::ErrorCode;
use crate::resource_indicator::Resource;
use crate::sans_io::{Env, FetchResult, Request};
use crate::{Error, Result};
use authorization::{AuthorizationParams, AuthorizationRequest};
use discovery::{Candidates, Probe};
use mcp::Session;
use param_headers::ParamHeader;
use registration::{Approach, Registration, Registrations};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use step_up::Rejection;

/// What a client wants its driver to do next.
#[derive(Debug)]
pub enum ClientStep {
    /// Perform this HTTP request (absolute URI) and call `on_response` with the result.
    Send(Request),
    /// Open this authorization URL in a user agent; call `on_redirect` with the URL the
    /// authorization server redirected the user agent to.
    Authorize {
        /// The authorization URL.
        url: String,
    },
    /// The operation finished.
    Done(Outcome),
    /// The client gave up, for this reason.
    Failed(Error),
}

/// The result of a finished operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The JSON-RPC `result` (for a token request or an explicit refresh: the token
    /// response, or `null`).
    pub result: Value,
    /// How many authorization flows (user-agent round trips) the operation needed.
    pub authorizations: u32,
}

/// Where an operation is in the MCP session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Initialize,
    Initialized,
    Operation,
}

/// What the client is doing: an MCP operation, an explicit refresh, or getting a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Operation,
    Refresh,
    Token,
}

/// What an authorization must ask for: the inputs of the scope selection.
#[derive(Debug, Clone, Default)]
struct Demand {
    challenge_scope: Option<String>,
    step_up_scope: Option<String>,
    /// `scopes_supported` of the protected resource metadata.
    scopes_supported: Option<Vec<String>>,
}

/// Limits per operation.
#[derive(Debug, Clone, Default)]
struct Budget {
    authorizations: u32,
    step_ups: u32,
    invalid_token_retried: bool,
    /// A 401 to a token was answered with a refresh.
    refreshed_on_401: bool,
    session_restarted: bool,
    /// A `-32022` naming the version the client sent was answered by sending it again.
    version_retried: bool,
    /// Tokens were obtained during this operation: use them even if they expire within
    /// the refresh margin (an AS issuing short tokens must not cause a refresh loop).
    fresh_tokens: bool,
}

/// What the client is waiting for.
#[derive(Debug)]
enum Waiting {
    Idle,
    Mcp { id: u64, sent_token: bool },
    ProtectedResourceMetadata { candidates: Candidates, demand: Demand },
    AuthorizationServerMetadata { issuer: String, candidates: Candidates, demand: Demand },
    Registration { issuer: String, demand: Demand },
    Redirect(Box<AuthorizationRequest>),
    CodeExchange { scope: Option<String> },
    ClientCredentials { scope: Option<String> },
    TokenExchange { scope: Option<String> },
    JwtBearer { scope: Option<String> },
    Refresh,
}

/// A public MCP client using the authorization code grant (see the module docs).
#[derive(Debug)]
pub struct PublicClient {
    config: PublicClientConfig,
    /// `config.server_url` as a resource indicator.
    resource: Resource,
    /// The `resource` of the server's protected resource metadata, as published, once
    /// read: the identifier the client requests tokens for (see [`Self::resource_param`]).
    published_resource: Option<String>,
    next_id: u64,
    /// The era of the current server's origin, once a response showed it.
    era: Option<Era>,
    /// The `x-mcp-header` annotations of the current server's tools, from its last
    /// modern `tools/list`.
    tools: BTreeMap<String, Vec<ParamHeader>>,
    /// Tools left out of `tools/list` results, with why.
    rejected_tools: Vec<String>,
    session: Option<Session>,
    /// Results kept as their `ttlMs` and `cacheScope` allow (MCP 2026-07-28 §Caching).
    cache: caching::ResultCache,
    tokens: Option<TokenSet>,
    /// The metadata of the authorization server of the current tokens.
    metadata: Option<AuthorizationServerMetadata>,
    /// The client's registrations, per authorization server (CL-52, CL-54).
    registrations: Registrations,
    op: Option<Operation>,
    goal: Goal,
    stage: Stage,
    budget: Budget,
    waiting: Waiting,
    /// DPoP key, nonces and proofs (RFC 9449).
    dpop: dpop::DpopState,
}

impl PublicClient {
    /// A client for `config`: the server URL must be a valid resource indicator, the
    /// redirect URI https or loopback http, the metadata document URL https with a path.
    pub fn new(config: PublicClientConfig) -> Result<Self> {
        let config_error = |e: Error| Error::Config(e.to_string());
        let resource = Resource::parse(&config.server_url).map_err(config_error)?;
        check_endpoint_url("redirect_uri", &config.redirect_uri).map_err(config_error)?;
        if let Some(url) = &config.client_id_metadata_url {
            registration::check_metadata_document_url(url).map_err(config_error)?;
        }
        jwt_bearer::check_machine_grants(&config)?;
        Ok(PublicClient {
            session: (config.eras.first() == Era::Modern).then(mcp::stateless_session),
            era: None,
            tools: BTreeMap::new(),
            rejected_tools: Vec::new(),
            config,
            resource,
            published_resource: None,
            next_id: 1,
            cache: caching::ResultCache::default(),
            tokens: None,
            metadata: None,
            registrations: Registrations::default(),
            op: None,
            goal: Goal::Operation,
            stage: Stage::Initialize,
            budget: Budget::default(),
            waiting: Waiting::Idle,
            dpop: dpop::DpopState::default(),
        })
    }

    /// Starts `op` (abandoning any operation in progress). Reuses the session and tokens
    /// of earlier operations; initializes a session first when there is none.
    pub fn start(&mut self, op: Operation, env: &mut Env<'_>) -> ClientStep {
        self.op = Some(op);
        self.goal = Goal::Operation;
        self.budget = Budget::default();
        self.stage = if self.session.is_some() { Stage::Operation } else { Stage::Initialize };
        let r = self.send_mcp(env);
        self.settle(r)
    }

    /// Continues with the result of the request of the last [`ClientStep::Send`].
    pub fn on_response(&mut self, fetched: FetchResult, env: &mut Env<'_>) -> ClientStep {
        if let Some(retry) = self.on_dpop_answer(&fetched, env) {
            return self.settle(retry);
        }
        let r = match std::mem::replace(&mut self.waiting, Waiting::Idle) {
            Waiting::Mcp { id, sent_token } => self.on_mcp_response(fetched, id, sent_token, env),
            Waiting::ProtectedResourceMetadata { candidates, demand } => {
                self.on_protected_resource_metadata(fetched, candidates, demand)
            }
            Waiting::AuthorizationServerMetadata { issuer, candidates, demand } => {
                self.on_authorization_server_metadata(fetched, issuer, candidates, demand, env)
            }
            Waiting::Registration { issuer, demand } => self.on_registration(fetched, issuer, demand, env),
            Waiting::CodeExchange { scope }
            | Waiting::ClientCredentials { scope }
            | Waiting::JwtBearer { scope } => self.on_code_exchange(fetched, scope, env),
            Waiting::TokenExchange { scope } => self.on_token_exchange(fetched, scope, env),
            Waiting::Refresh => self.on_refresh(fetched, env),
            Waiting::Idle | Waiting::Redirect(_) => {
                Err(Error::Config("on_response called while no request is outstanding".into()))
            }
        };
        self.settle(r)
    }

    /// Continues with the URL the authorization server redirected the user agent to
    /// after a [`ClientStep::Authorize`].
    pub fn on_redirect(&mut self, url: &str, env: &mut Env<'_>) -> ClientStep {
        let r = match std::mem::replace(&mut self.waiting, Waiting::Idle) {
            Waiting::Redirect(request) => self.on_authorization_response(url, *request, env),
            _ => Err(Error::Config("on_redirect called while no authorization is pending".into())),
        };
        self.settle(r)
    }

    /// Gets a token and stops there, without an MCP operation (`mcp-authz client
    /// --print-token`): the tokens held are dropped, a request goes to the server without
    /// a token, and its 401 starts an authorization for the configured scope and resource;
    /// `Done` carries `null` once the token is in hand ([`PublicClient::tokens`]). A
    /// server that answers without asking for a token ends it with that answer, and no
    /// token.
    pub fn get_token(&mut self, env: &mut Env<'_>) -> ClientStep {
        self.tokens = None;
        let step = self.start(Operation::ListTools, env);
        self.goal = Goal::Token;
        step
    }

    /// Refreshes the access token now (abandoning any operation in progress); `Done`
    /// carries `null`. When the AS answers `invalid_grant`, runs a new authorization.
    pub fn refresh(&mut self, env: &mut Env<'_>) -> ClientStep {
        self.goal = Goal::Refresh;
        self.budget = Budget::default();
        let r = self.send_refresh(env);
        self.settle(r)
    }

    /// Points the client at another MCP server. The session is dropped; tokens are kept,
    /// but a token is only ever sent to the server it was issued for (CL-25).
    pub fn connect(&mut self, server_url: &str) -> Result<()> {
        let origin = |u: &str| url::Url::parse(u).map(|u| u.origin()).ok();
        if origin(server_url) != origin(&self.config.server_url) {
            self.era = None;
        }
        self.resource = Resource::parse(server_url).map_err(|e| Error::Config(e.to_string()))?;
        self.published_resource = None;
        self.tools.clear();
        self.config.server_url = server_url.to_string();
        self.session = (self.wire() == Era::Modern).then(mcp::stateless_session);
        self.waiting = Waiting::Idle;
        Ok(())
    }

    /// The MCP endpoint it uses now.
    pub fn server_url(&self) -> &str {
        &self.config.server_url
    }

    /// Gives the client tokens it kept from an earlier run (a token store): it uses them
    /// only with the server they were issued for.
    pub fn restore_tokens(&mut self, tokens: TokenSet) {
        self.tokens = Some(tokens);
    }

    /// The tools left out of `tools/list` results for breaking the `x-mcp-header` rules,
    /// each with why (the client SHOULD warn of them).
    pub fn rejected_tools(&self) -> &[String] {
        &self.rejected_tools
    }

    /// The tokens held, if any.
    pub fn tokens(&self) -> Option<&TokenSet> {
        self.tokens.as_ref()
    }

    /// The MCP session, once initialized.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// What the client is waiting for, for traces.
    pub fn state_name(&self) -> &'static str {
        match self.waiting {
            Waiting::Idle => "idle",
            Waiting::Mcp { .. } => "mcp request",
            Waiting::ProtectedResourceMetadata { .. } => "protected resource metadata",
            Waiting::AuthorizationServerMetadata { .. } => "authorization server metadata",
            Waiting::Registration { .. } => "client registration",
            Waiting::Redirect(_) => "authorization redirect",
            Waiting::CodeExchange { .. } => "code exchange",
            Waiting::ClientCredentials { .. } => "client credentials grant",
            Waiting::TokenExchange { .. } => "token exchange",
            Waiting::JwtBearer { .. } => "jwt bearer grant",
            Waiting::Refresh => "token refresh",
        }
    }

    /// Turns an internal result into a step; a failure leaves the client idle.
    fn settle(&mut self, r: Result<ClientStep>) -> ClientStep {
        r.unwrap_or_else(|e| {
            self.waiting = Waiting::Idle;
            ClientStep::Failed(e)
        })
    }

    fn has(&self, defect: Defect) -> bool {
        self.config.defects.has(defect)
    }

    /// The tokens to use with the current server: only those issued for it (CL-25).
    fn current_tokens(&self) -> Option<&TokenSet> {
        let any_server = self.has(Defect::ClientTokenToAnyServer);
        // `resource` is `server_url` parsed: a token requested for its canonical form is
        // for this server without parsing; any other needs one parse, of its own resource.
        self.tokens.as_ref().filter(|t| {
            any_server || t.resource == self.server_resource() || self.resource.is_named_by(&t.resource)
        })
    }

    /// The resource of the current server: the `resource` its protected resource
    /// metadata published, byte for byte, once read (the metadata passed RFC 9728 §3.3: it
    /// names this server, or its origin when read from the origin's well-known URL), else
    /// the server URL's canonical form. The MCP authorization spec defines the canonical
    /// server URI as the RFC 8707 resource identifier that "aligns with the `resource`
    /// parameter in RFC 9728": the identifier the resource published is the one its AS
    /// knows it by and its tokens' audience carries (conformance scenario
    /// `auth/metadata-var2`).
    fn server_resource(&self) -> &str {
        self.published_resource.as_deref().unwrap_or(self.resource.as_str())
    }

    /// The resource the client requests tokens for: the configured one
    /// ([`PublicClientConfig::resource`]), else the server's ([`Self::server_resource`]).
    fn requested_resource(&self) -> &str {
        self.config.resource.as_deref().unwrap_or(self.server_resource())
    }

    /// The `resource` parameter of authorization, token and refresh requests.
    fn resource_param(&self) -> Option<Cow<'_, str>> {
        let resource = self.requested_resource();
        match (self.has(Defect::ClientNoResourceParam), self.has(Defect::ResourceTrailingSlash)) {
            (true, _) => None,
            (false, true) => Some(Cow::Owned(format!("{resource}/"))),
            (false, false) => Some(Cow::Borrowed(resource)),
        }
    }

    fn on_rejection(
        &mut self,
        rejection: Rejection,
        sent_token: bool,
        env: &mut Env<'_>,
    ) -> Result<ClientStep> {
        match rejection {
            Rejection::Unauthorized(challenge) => {
                if sent_token {
                    // A rejected token the client may refresh: once, before re-authorizing
                    // (it may have expired early by the server's clock).
                    if self.refreshable()
                        && !self.budget.refreshed_on_401
                        && !self.budget.invalid_token_retried
                    {
                        self.budget.refreshed_on_401 = true;
                        return self.send_refresh(env);
                    }
                    if self.has(Defect::ClientAssumesRefreshToken) && !self.refreshable() {
                        return Err(lifecycle::no_refresh_token("was refused with 401"));
                    }
                    if self.budget.invalid_token_retried {
                        let error = challenge.as_ref().and_then(|c| c.get("error")).unwrap_or("none");
                        return Err(Error::Refused(format!(
                            "the mcp server answered 401 (error `{error}`) to a freshly issued token; \
                             expected it to accept the token after one re-authorization"
                        )));
                    }
                    self.budget.invalid_token_retried = true;
                    self.tokens = None;
                }
                self.discover(challenge.as_ref(), None)
            }
            Rejection::InsufficientScope(challenge) => {
                let challenged = challenge.get("scope");
                if self.budget.step_ups >= self.config.max_step_up && !self.has(Defect::ClientUnboundedStepUp)
                {
                    return Err(Error::Refused(format!(
                        "the mcp server still answers 403 insufficient_scope (scope `{}`) after {} step-up \
                         authorizations; max_step_up is {}",
                        challenged.unwrap_or(""),
                        self.budget.step_ups,
                        self.config.max_step_up
                    )));
                }
                self.budget.step_ups += 1;
                let scope = step_up::step_up_scope(self.tokens.as_ref(), challenged, &self.config.defects);
                self.discover(Some(&challenge), Some(scope))
            }
        }
    }

    fn discover(
        &mut self,
        challenge: Option<&Challenge>,
        step_up_scope: Option<String>,
    ) -> Result<ClientStep> {
        let candidates = discovery::prm_candidates(challenge, &self.config.server_url, &self.config.defects)?;
        let demand = Demand {
            challenge_scope: challenge.and_then(|c| c.get("scope")).map(str::to_string),
            step_up_scope,
            scopes_supported: None,
        };
        let request = candidates.request()?;
        self.waiting = Waiting::ProtectedResourceMetadata { candidates, demand };
        Ok(ClientStep::Send(request))
    }

    fn on_protected_resource_metadata(
        &mut self,
        fetched: FetchResult,
        mut candidates: Candidates,
        mut demand: Demand,
    ) -> Result<ClientStep> {
        if let Some(url) = discovery::redirect_to_follow(&fetched, &self.config.defects) {
            candidates.follow(url);
            let request = candidates.request()?;
            self.waiting = Waiting::ProtectedResourceMetadata { candidates, demand };
            return Ok(ClientStep::Send(request));
        }
        let resources = discovery::prm_resources(&candidates, &self.config.server_url)?;
        let request = match discovery::read_prm(fetched, &resources, &self.config.defects)? {
            Probe::Next(why) => {
                candidates.advance(why);
                let request = candidates.request()?;
                self.waiting = Waiting::ProtectedResourceMetadata { candidates, demand };
                request
            }
            Probe::Found(prm) => {
                let issuer = discovery::issuer(&prm, &self.config.defects)?;
                if self.tokens.as_ref().is_some_and(|t| t.issuer.as_deref() != Some(issuer.as_str())) {
                    // The server now names another AS: the old token is not for it (CL-25).
                    self.tokens = None;
                }
                demand.scopes_supported = prm.scopes_supported;
                self.published_resource = Some(prm.resource);
                let candidates = discovery::as_metadata_candidates(&issuer, &self.config.defects)?;
                let request = candidates.request()?;
                self.waiting = Waiting::AuthorizationServerMetadata { issuer, candidates, demand };
                request
            }
        };
        Ok(ClientStep::Send(request))
    }

    fn on_authorization_server_metadata(
        &mut self,
        fetched: FetchResult,
        issuer: String,
        mut candidates: Candidates,
        demand: Demand,
        env: &mut Env<'_>,
    ) -> Result<ClientStep> {
        if let Some(url) = discovery::redirect_to_follow(&fetched, &self.config.defects) {
            candidates.follow(url);
            let request = candidates.request()?;
            self.waiting = Waiting::AuthorizationServerMetadata { issuer, candidates, demand };
            return Ok(ClientStep::Send(request));
        }
        match discovery::read_as_metadata(fetched, &issuer, self.grant(), &self.config.defects)? {
            Probe::Next(why) => {
                candidates.advance(why);
                let request = candidates.request()?;
                self.waiting = Waiting::AuthorizationServerMetadata { issuer, candidates, demand };
                Ok(ClientStep::Send(request))
            }
            Probe::Found(metadata) => {
                self.metadata = Some(metadata);
                self.register(demand, env)
            }
        }
    }

    fn metadata(&self) -> Result<&AuthorizationServerMetadata> {
        self.metadata
            .as_ref()
            .ok_or_else(|| Error::Missing("authorization server metadata (no discovery ran)".into()))
    }

    /// The registration at the current authorization server.
    fn registered(&self) -> Result<&Registration> {
        let issuer = &self.metadata()?.issuer;
        let missing = || Error::Missing(format!("client id at `{issuer}` (no registration ran)"));
        self.registrations.get(issuer, &self.config.defects).ok_or_else(missing)
    }

    /// The tokens held can be refreshed: they have a refresh token and were issued by
    /// the current authorization server, where the client is registered. A refresh
    /// token never goes to another AS (CL-54).
    fn refreshable(&self) -> bool {
        let issuer = self.metadata.as_ref().map(|m| m.issuer.as_str());
        self.tokens.as_ref().is_some_and(|t| t.refresh_token.is_some() && t.issuer.as_deref() == issuer)
            && self.registered().is_ok()
    }

    fn token_endpoint(&self) -> Result<&str> {
        self.metadata()?.token_endpoint.as_deref().ok_or_else(|| Error::Missing("token_endpoint".into()))
    }

    /// Gets a client id at the current AS (CL-10; MCP 2026-07-28 §Client Registration: a
    /// client "MUST obtain a client ID through one of three registration mechanisms",
    /// CL-49), then authorizes. With defect `client-invented-client-id`, it makes one up.
    fn register(&mut self, demand: Demand, env: &mut Env<'_>) -> Result<ClientStep> {
        let metadata = self.metadata()?;
        let issuer = metadata.issuer.clone();
        if self.registered().is_ok() || self.grant() != Grant::AuthorizationCode {
            return self.authorize(demand, env);
        }
        if self.has(Defect::ClientInventedClientId) {
            let invented = Registration {
                client_id: registration::INVENTED_CLIENT_ID.into(),
                auth: ClientAuth::None,
                pre_registered: false,
            };
            self.registrations.insert(issuer, invented);
            return self.authorize(demand, env);
        }
        let c = &self.config;
        let metadata_url =
            c.client_id_metadata_url.as_deref().filter(|_| !c.defects.has(Defect::ClientIgnoresCimd));
        let pre_registered =
            self.registrations.pre_registered_for(c.pre_registered.as_ref(), &issuer, &c.defects)?;
        let registered = match registration::choose(pre_registered, metadata_url, metadata)? {
            Approach::PreRegistered(p) => Registration {
                auth: registration::client_auth(p.client_secret.as_deref(), None, metadata),
                client_id: p.client_id,
                pre_registered: true,
            },
            Approach::MetadataDocument(url) => {
                Registration { client_id: url, auth: ClientAuth::None, pre_registered: false }
            }
            Approach::Dynamic(endpoint) => {
                let request = self.registration_request(&endpoint)?;
                self.waiting = Waiting::Registration { issuer, demand };
                return Ok(ClientStep::Send(request));
            }
        };
        self.registrations.insert(issuer, registered);
        self.authorize(demand, env)
    }

    /// The dynamic registration request to `endpoint` (RFC 7591), with the
    /// `application_type` the configuration or the redirect URI gives (CL-50).
    fn registration_request(&self, endpoint: &str) -> Result<Request> {
        let c = &self.config;
        let application_type = ApplicationType::to_register(c.application_type, &c.redirect_uri, &c.defects);
        registration::registration_request(
            endpoint,
            &c.redirect_uri,
            &c.client_name,
            application_type,
            &c.defects,
        )
    }

    /// Reads the answer to a dynamic registration. A refusal (RFC 7591 §3.2.2, e.g.
    /// `invalid_redirect_uri` from an OpenID Connect server with redirect URI constraints)
    /// stops the client with the AS's error, which names what was refused (MCP 2026-07-28
    /// §Application Type and Redirect URI Constraints, CL-51: "SHOULD surface a meaningful
    /// error"). It does not retry: a retry MAY adjust the `application_type` or the
    /// redirect URIs, and this client has one redirect URI and the type it was configured
    /// with or that URI implies. With defect `client-retries-registration`, it sends the
    /// same registration again.
    fn on_registration(
        &mut self,
        fetched: FetchResult,
        issuer: String,
        demand: Demand,
        env: &mut Env<'_>,
    ) -> Result<ClientStep> {
        let info = match registration::read_registration_response(&fetched?) {
            Ok(info) => info,
            Err(_) if self.has(Defect::ClientRetriesRegistration) => {
                let endpoint = self.metadata()?.registration_endpoint.clone();
                let endpoint = endpoint.ok_or_else(|| Error::Missing("registration_endpoint".into()))?;
                let request = self.registration_request(&endpoint)?;
                self.waiting = Waiting::Registration { issuer, demand };
                return Ok(ClientStep::Send(request));
            }
            Err(e) => return Err(e),
        };
        let auth = registration::client_auth(
            info.client_secret.as_deref(),
            info.metadata.token_endpoint_auth_method.as_deref(),
            self.metadata()?,
        );
        let registered = Registration { client_id: info.client_id, auth, pre_registered: false };
        self.registrations.insert(issuer, registered);
        self.authorize(demand, env)
    }

    fn authorize(&mut self, demand: Demand, env: &mut Env<'_>) -> Result<ClientStep> {
        let prefer_supported =
            self.has(Defect::ClientPrefersScopesSupported) && demand.scopes_supported.is_some();
        let scope = authorization::select_scope(
            demand.step_up_scope.as_deref(),
            self.config.scope.as_deref(),
            demand.challenge_scope.as_deref().filter(|_| !prefer_supported),
            demand.scopes_supported.as_deref(),
        )
        .filter(|s| !s.is_empty());
        match self.grant() {
            Grant::ClientCredentials => return self.client_credentials_grant(scope, env),
            Grant::JwtBearer => return self.jwt_bearer_grant(scope, env),
            Grant::AuthorizationCode => {}
        }
        let metadata = self.metadata()?;
        let endpoint = metadata
            .authorization_endpoint
            .as_deref()
            .ok_or_else(|| Error::Missing("authorization_endpoint".into()))?;
        let resource = self.resource_param();
        let params = AuthorizationParams {
            endpoint,
            client_id: &self.registered()?.client_id,
            redirect_uri: &self.config.redirect_uri,
            resource: resource.as_deref(),
            scope: scope.as_deref(),
            login_hint: self.config.login_hint.as_deref(),
            issuer: &metadata.issuer,
            iss_advertised: metadata.authorization_response_iss_parameter_supported == Some(true),
            defects: &self.config.defects,
        };
        let request = AuthorizationRequest::new(params, env)?;
        self.budget.authorizations += 1;
        let url = request.url.clone();
        self.waiting = Waiting::Redirect(Box::new(request));
        Ok(ClientStep::Authorize { url })
    }

    fn on_authorization_response(
        &mut self,
        url: &str,
        request: AuthorizationRequest,
        env: &mut Env<'_>,
    ) -> Result<ClientStep> {
        let without_query = |u: &str| u.split(['?', '#']).next().unwrap_or("").to_string();
        if without_query(url) != without_query(&self.config.redirect_uri) {
            return Err(Error::unexpected(
                "redirect url",
                format!("`{url}`"),
                format!("the redirect uri `{}`", self.config.redirect_uri),
            ));
        }
        let code = redirect_params(url)?.check(&request, &self.config.defects)?;
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("code_verifier", request.pkce.verifier.as_str()),
        ];
        let token_request = self.token_request(&grant, env)?;
        let token_request = self.with_token_proof(token_request, false, env)?;
        self.waiting = Waiting::CodeExchange { scope: request.scope };
        Ok(ClientStep::Send(token_request))
    }

    /// A request to the token endpoint for `grant`, with `resource` (RFC 8707) and the
    /// client's authentication.
    fn token_request(&self, grant: &[(&str, &str)], env: &mut Env<'_>) -> Result<Request> {
        let token_endpoint = self.token_endpoint()?;
        let registered = self.registered()?;
        let resource = self.resource_param();
        let mut params = grant.to_vec();
        params.extend(resource.as_deref().map(|r| ("resource", r)));
        token::token_request(
            token_endpoint,
            &registered.client_id,
            &registered.auth,
            token_endpoint,
            &params,
            env,
        )
    }

    fn on_code_exchange(
        &mut self,
        fetched: FetchResult,
        scope: Option<String>,
        env: &mut Env<'_>,
    ) -> Result<ClientStep> {
        let response = token::read_token_response(&fetched?)?;
        let issuer = self.metadata()?.issuer.clone();
        self.tokens =
            Some(TokenSet::from_response(response, scope, self.requested_resource(), Some(issuer), env.now));
        self.budget.fresh_tokens = true;
        self.proceed(env)
    }

    /// Goes on once tokens are in hand.
    fn proceed(&mut self, env: &mut Env<'_>) -> Result<ClientStep> {
        match self.goal {
            Goal::Operation => self.send_mcp(env),
            Goal::Refresh | Goal::Token => Ok(ClientStep::Done(Outcome {
                result: Value::Null,
                authorizations: self.budget.authorizations,
            })),
        }
    }

    fn send_refresh(&mut self, env: &mut Env<'_>) -> Result<ClientStep> {
        let refresh_token = self
            .tokens
            .as_ref()
            .and_then(|t| t.refresh_token.as_deref())
            .ok_or_else(|| Error::Missing("refresh token (none was issued)".into()))?;
        let request =
            self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)], env)?;
        let request = self.with_token_proof(request, true, env)?;
        self.waiting = Waiting::Refresh;
        Ok(ClientStep::Send(request))
    }

    fn on_refresh(&mut self, fetched: FetchResult, env: &mut Env<'_>) -> Result<ClientStep> {
        match token::read_token_response(&fetched?) {
            Ok(response) => {
                let tokens =
                    self.tokens.as_mut().ok_or_else(|| Error::Missing("tokens to refresh".into()))?;
                tokens.refreshed(response, env.now);
                self.budget.fresh_tokens = true;
                self.proceed(env)
            }
            Err(Error::OAuth { error: ErrorCode::InvalidGrant, .. }) => {
                // The refresh token is dead: authorize again for the same scope.
                let step_up_scope = self.tokens.take().and_then(|t| t.scope);
                self.authorize(Demand { step_up_scope, ..Demand::default() }, env)
            }
            Err(e) => Err(e),
        }
    }
}
