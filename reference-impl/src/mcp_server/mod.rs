//! The reference MCP server, acting as an OAuth resource server (MCP authorization
//! 2025-11-25 and 2026-07-28), as a sans-IO [`Service`].
//!
//! It serves:
//! - the MCP endpoint (Streamable HTTP, `transport`) at the path of
//!   [`Config::resource`], where every request is authorized on its own: `Origin` first
//!   (403), then the bearer token from the `Authorization` header (`token_validation`:
//!   400 / 401) and, for a DPoP-bound token, its proof (`dpop_binding`, RFC 9449: 401),
//!   then — for a legacy (2025-06-18, 2025-11-25) request — the session
//!   (`session`: 400 / 404), or — for a modern (2026-07-28, stateless) one — its headers
//!   and `_meta` (`stateless`: 400 / 404), then per-tool scopes on `tools/call`
//!   (`scopes`: 403), and only then a tool runs (`tools`). The era is chosen per request;
//!   `server/discover` answers modern requests;
//! - its protected resource metadata (RFC 9728) at the path-inserted well-known URL and at
//!   the root one, unauthenticated;
//! - when [`Config::downstream`] is set, a small downstream API that the `fetch_report`
//!   tool calls with the server's own token (`downstream`).
//!
//! ```
//! use mcp_authz_reference::mcp_server::{Config, McpServer};
//! use mcp_authz_reference::sans_io::{Env, Time, drive};
//! use rand_core::SeedableRng;
//! let mut server = McpServer::new(Config::new("http://127.0.0.1:9001/mcp", "http://127.0.0.1:9000")).unwrap();
//! let prm = server.protected_resource_metadata();
//! assert_eq!(prm.resource, "http://127.0.0.1:9001/mcp");
//! assert_eq!(prm.authorization_servers, ["http://127.0.0.1:9000"]);
//! assert_eq!(server.config().jwks_uri, "http://127.0.0.1:9000/jwks");
//!
//! // A request without a token: 401 and a challenge pointing at the metadata.
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let mut env = Env::new(Time::from_unix_secs(1_700_000_000), &mut rng);
//! let request = http::Request::post("http://127.0.0.1:9001/mcp")
//!     .header("content-type", "application/json")
//!     .body(bytes::Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#))
//!     .unwrap();
//! let response = drive(&mut server, request, &mut env, |_| unreachable!("no token, nothing to fetch"));
//! assert_eq!(response.status(), 401);
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer resource_metadata="http://127.0.0.1:9001/.well-known/oauth-protected-resource/mcp", scope="mcp:read""#
//! );
//! ```

mod batch;
mod config;
mod downstream;
mod dpop_binding;
mod request_state;
mod scopes;
mod session;
mod state_handles;
mod stateless;
mod token_validation;
mod tools;
mod transport;

#[cfg(test)]
mod tests;

pub use config::{Config, Downstream, Dpop, Introspection, KNOWN_TOOLS, ToolConfig, TrustedIssuer};
pub use scopes::INSUFFICIENT_SCOPE;
pub use session::Principal;
pub use stateless::{
    HEADER_MISMATCH, MCP_METHOD, MCP_NAME, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION,
    MISSING_CAPABILITY, MODERN_PROTOCOL_VERSION, UNSUPPORTED_PROTOCOL_VERSION, supported_versions,
};
pub use transport::{LATEST_PROTOCOL_VERSION, PROTOCOL_VERSION, SESSION_ID, SUPPORTED_PROTOCOL_VERSIONS};

use crate::Result;
use crate::access_token::AccessTokenClaims;
use crate::defects::Defect;
use crate::jsonrpc::{self, INVALID_PARAMS, Id, Message, Parsed};
use crate::jwt;
use crate::protected_resource_metadata::{ProtectedResourceMetadata, well_known_urls};
use crate::sans_io::{Connection, Env, FetchResult, Request, Response, Service, Step};
use crate::wire;
use base64::Engine as _;
use downstream::{DownstreamClient, Next};
use dpop_binding::DpopBinding;
use http::{HeaderValue, Method, StatusCode};
use request_state::{Confirmation, RequestStates};
use serde_json::{Value, json};
use session::Sessions;
use state_handles::Carts;
use stateless::Era;
use token_validation::{Rejection, Target, TokenValidation, Verdict};
use tools::{Ran, Tool, Tools};
use transport::Body;

/// The reference MCP server.
pub struct McpServer {
    config: Config,
    tokens: TokenValidation,
    /// DPoP proofs (RFC 9449): their checks, replay cache and nonces.
    dpop: DpopBinding,
    sessions: Sessions,
    tools: Tools,
    /// The state handles of the `open_cart` and `cart_show` tools.
    carts: Carts,
    /// The `requestState` of `confirm_action`.
    request_states: RequestStates,
    /// With the `caller-from-earlier-request` defect: the connection of the last
    /// authorized request and its claims.
    last_caller: Option<(Connection, AccessTokenClaims)>,
    downstream: Option<DownstreamClient>,
    metadata_paths: Vec<String>,
    /// [`Config::resource_metadata_url`], computed once: every challenge names it.
    resource_metadata_url: String,
    endpoint_path: String,
    downstream_path: Option<String>,
}

/// An exchange waiting for a fetch: the issuer's JWKS, an introspection answer, a
/// downstream token or the downstream report.
pub struct Pending(Stage);

enum Stage {
    Keys(Inbound),
    Introspection(Inbound, Box<AccessTokenClaims>),
    DownstreamToken(Id, Era),
    DownstreamReport(Id, Era),
}

/// A request to the MCP endpoint past its `Origin` check.
struct Preamble {
    /// The body parsed as JSON, when it was declared `application/json`.
    body: Option<Result<Body, String>>,
    /// The scope a challenge names for this request.
    scope: Option<String>,
}

/// A request that presented a token, kept while its validation fetches.
struct Inbound {
    request: Request,
    target: Target,
    token: String,
    /// The body parsed as JSON, when it was declared `application/json`.
    body: Option<Result<Body, String>>,
    /// The scope a challenge names for this request.
    scope: Option<String>,
}

/// The OpenID Connect scope that asks for a refresh token (`offline_access`).
const OFFLINE_ACCESS: &str = "offline_access";

impl McpServer {
    /// A server for `config` (checked; `resource` is put in canonical form).
    pub fn new(config: Config) -> Result<Self> {
        let config = config.checked()?;
        let metadata_paths = well_known_urls(&config.resource)?
            .iter()
            .filter_map(|u| url::Url::parse(u).ok().map(|u| u.path().to_string()))
            .collect();
        Ok(McpServer {
            tokens: TokenValidation::new(&config),
            dpop: DpopBinding::new(&config),
            sessions: Sessions::new(config.session_idle_timeout, &config.defects)
                .at_most_per_principal(config.max_sessions_per_principal),
            tools: Tools::new(&config),
            carts: Carts::new(
                config.max_sessions_per_principal,
                config.session_idle_timeout,
                config.defects.clone(),
            ),
            request_states: RequestStates::new(config.defects.clone()),
            last_caller: None,
            downstream: config.downstream.clone().map(DownstreamClient::new),
            metadata_paths,
            resource_metadata_url: config.resource_metadata_url(),
            endpoint_path: config.endpoint_path(),
            downstream_path: config.downstream_report_path(),
            config,
        })
    }

    /// The configuration in use (with `resource` in canonical form).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Takes DPoP proofs whose `htu` is at `origin` as naming this server's own origin
    /// (for the harness's client processes, which reach it at a loopback origin).
    pub fn dpop_also_reached_at(&mut self, origin: &str) {
        self.dpop.also_reached_at(origin);
    }

    /// The RFC 9728 document this server publishes: `scopes_supported` without
    /// `offline_access`, which is not a resource requirement (MCP 2026-07-28 §Refresh
    /// Tokens).
    pub fn protected_resource_metadata(&self) -> ProtectedResourceMetadata {
        let resource = match url::Url::parse(&self.config.resource) {
            Ok(u) if self.has(Defect::PrmWrongResource) => u.origin().ascii_serialization(),
            _ => self.config.resource.clone(),
        };
        let mut scopes_supported = self.config.scopes_supported.clone();
        if self.has(Defect::OfflineAccessAdvertised) {
            scopes_supported.push(OFFLINE_ACCESS.into());
        }
        ProtectedResourceMetadata {
            resource,
            authorization_servers: self.config.authorization_servers.clone(),
            scopes_supported: Some(scopes_supported),
            bearer_methods_supported: Some(vec!["header".into()]),
            resource_name: Some("mcp-authz-harness reference MCP server".into()),
            ..Default::default()
        }
    }

    /// How many sessions are open (bounded by
    /// [`Config::max_sessions_per_principal`] per principal).
    pub fn open_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// How many state handles (`open_cart`'s carts) are open (bounded by
    /// [`Config::max_sessions_per_principal`] per principal).
    pub fn open_carts(&self) -> usize {
        self.carts.len()
    }

    /// How many side-effecting tool runs (`write_note`, `admin_reset`) happened.
    pub fn side_effects(&self) -> u64 {
        self.tools.side_effects()
    }

    /// The `Authorization` header values the downstream API received, in order.
    pub fn downstream_authorizations_seen(&self) -> &[String] {
        self.downstream.as_ref().map_or(&[], |d| d.seen())
    }

    /// How many JWKS fetches this server started.
    pub fn jwks_fetches(&self) -> u64 {
        self.tokens.fetches()
    }

    fn has(&self, d: Defect) -> bool {
        self.config.defects.has(d)
    }

    /// The metadata URL challenges name (none with the `challenge-without-resource-metadata`
    /// defect).
    fn metadata_url(&self) -> Option<&str> {
        (!self.has(Defect::ChallengeWithoutResourceMetadata)).then_some(self.resource_metadata_url.as_str())
    }

    fn metadata(&self, req: &Request) -> Response {
        if req.method() != Method::GET {
            return transport::method_not_allowed("GET");
        }
        wire::json(StatusCode::OK, &self.protected_resource_metadata())
    }

    /// The scope a challenge names: the tool's for a `tools/call` of an offered tool,
    /// else the first of `scopes_supported`.
    fn challenge_scope(&self, body: Option<&Body>) -> Option<String> {
        if self.has(Defect::ChallengeWithoutScope) {
            return None;
        }
        let tool = body
            .and_then(Body::called_tool)
            .and_then(|name| self.config.tools.iter().find(|t| t.name == name));
        let scope = match tool {
            Some(t) => Some(t.required_scope.clone()),
            None => self.config.base_scope().map(String::from),
        };
        match self.has(Defect::OfflineAccessAdvertised) {
            true => Some(scope.map_or(OFFLINE_ACCESS.into(), |s| format!("{s} {OFFLINE_ACCESS}"))),
            false => scope,
        }
    }

    /// What every MCP endpoint request goes through before its token: the `Origin`
    /// check (`Err`: the refusal), then the body parsed as JSON (when declared JSON) and
    /// the scope a challenge names.
    fn preamble(&self, request: &Request) -> Result<Preamble, Box<Response>> {
        if !self.has(Defect::NoOriginCheck)
            && let Some(r) = transport::origin_refusal(request, &self.config)
        {
            return Err(Box::new(r));
        }
        let body = (request.method() == Method::POST && transport::is_json(request))
            .then(|| Body::parse(request.body()));
        let scope = self.challenge_scope(body.as_ref().and_then(|b| b.as_ref().ok()));
        Ok(Preamble { body, scope })
    }

    fn mcp_endpoint(&mut self, request: Request, env: &mut Env<'_>) -> Step<Pending> {
        let Preamble { body, scope } = match self.preamble(&request) {
            Ok(p) => p,
            Err(refusal) => return Step::Respond(*refusal),
        };
        let json = body.as_ref().and_then(|b| b.as_ref().ok()).and_then(Body::value);
        let token = match token_validation::presented_token(&request, json, &self.config.defects) {
            Ok(token) => token,
            Err(rejection) => {
                if self.has(Defect::ServerErrorOnBadToken) && rejection != Rejection::NoToken {
                    return Step::Respond(transport::empty(StatusCode::INTERNAL_SERVER_ERROR));
                }
                let session_owner = (rejection == Rejection::NoToken
                    && self.has(Defect::SessionAsAuthentication))
                .then(|| {
                    transport::session_id(&request).ok().and_then(|id| self.sessions.opened_by(id, env.now))
                })
                .flatten()
                .or_else(|| self.caller_of(&request));
                if let Some(claims) = session_owner {
                    let inbound = Inbound { request, target: Target::Mcp, token: String::new(), body, scope };
                    return self.authorized(inbound, claims, env);
                }
                return Step::Respond(rejection.response(self.metadata_url(), scope.as_deref()));
            }
        };
        if self.has(Defect::ServerErrorOnBadToken) && jwt::split(&token).is_err() {
            return Step::Respond(transport::empty(StatusCode::INTERNAL_SERVER_ERROR));
        }
        self.authenticate(Inbound { request, target: Target::Mcp, token, body, scope }, env)
    }

    /// **Benchmarks only** (cargo feature `prevalidated`, which no binary enables): the
    /// MCP endpoint as [`Service::handle`] serves it, except that the bearer token is
    /// neither read nor validated: `claims` stand for a token that was. It measures the
    /// share of a request's cost that validation takes. Requests to other paths get 404.
    #[cfg(feature = "prevalidated")]
    pub fn handle_prevalidated(
        &mut self,
        request: Request,
        claims: AccessTokenClaims,
        env: &mut Env<'_>,
    ) -> Step<Pending> {
        if request.uri().path() != self.endpoint_path {
            return Step::Respond(transport::empty(StatusCode::NOT_FOUND));
        }
        let Preamble { body, scope } = match self.preamble(&request) {
            Ok(p) => p,
            Err(refusal) => return Step::Respond(*refusal),
        };
        let inbound = Inbound { request, target: Target::Mcp, token: String::new(), body, scope };
        self.authorized(inbound, claims, env)
    }

    fn downstream_api(&mut self, request: Request, env: &mut Env<'_>) -> Step<Pending> {
        if let Some(d) = &mut self.downstream {
            d.record(&request);
        }
        if request.method() != Method::GET {
            return Step::Respond(downstream::method_not_allowed());
        }
        match token_validation::presented_token(&request, None, &self.config.defects) {
            Ok(token) => self.authenticate(
                Inbound { request, target: Target::DownstreamApi, token, body: None, scope: None },
                env,
            ),
            Err(rejection) => Step::Respond(rejection.response(None, None)),
        }
    }

    /// The `caller-from-earlier-request` defect: the claims of the last authorized request,
    /// when `request` came on its connection.
    fn caller_of(&self, request: &Request) -> Option<AccessTokenClaims> {
        let (connection, claims) = self.last_caller.as_ref()?;
        (Connection::of(request) == Some(connection)).then(|| claims.clone())
    }

    fn refuse(&mut self, inbound: Inbound, description: String, env: &mut Env<'_>) -> Step<Pending> {
        if inbound.target == Target::Mcp
            && let Some(claims) = self.caller_of(&inbound.request)
        {
            return self.authorized(inbound, claims, env);
        }
        if inbound.target == Target::Mcp && dpop_binding::uses_dpop_scheme(&inbound.request) {
            let metadata = self.metadata_url().map(String::from);
            return Step::Respond(self.dpop.token_refusal(&description, metadata.as_deref(), env));
        }
        let rejection = match self.has(Defect::ChallengeWithoutErrorCode) {
            true => Rejection::NoToken,
            false => Rejection::InvalidToken(description),
        };
        Step::Respond(match inbound.target {
            Target::Mcp => rejection.response(self.metadata_url(), inbound.scope.as_deref()),
            Target::DownstreamApi => rejection.response(None, None),
        })
    }

    fn authenticate(&mut self, inbound: Inbound, env: &mut Env<'_>) -> Step<Pending> {
        match self.tokens.check(&inbound.token, inbound.target, env.now) {
            Verdict::Valid(claims) => self.introspect(inbound, claims, env),
            Verdict::Invalid(description) => self.refuse(inbound, description, env),
            Verdict::FetchKeys(request) => Step::Fetch { request, pending: Pending(Stage::Keys(inbound)) },
        }
    }

    fn introspect(
        &mut self,
        inbound: Inbound,
        claims: AccessTokenClaims,
        env: &mut Env<'_>,
    ) -> Step<Pending> {
        let dpop = inbound.target == Target::Mcp && dpop_binding::uses_dpop_scheme(&inbound.request);
        if inbound.target == Target::Mcp {
            let metadata = self.metadata_url().map(String::from);
            let (request, token) = (&inbound.request, &inbound.token);
            if let Err(refusal) = self.dpop.check(request, token, &claims, metadata.as_deref(), env) {
                return Step::Respond(*refusal);
            }
        }
        let step = match &self.config.introspection {
            None => self.authorized(inbound, claims, env),
            Some(i) => Step::Fetch {
                request: token_validation::introspection_request(i, &inbound.token),
                pending: Pending(Stage::Introspection(inbound, Box::new(claims))),
            },
        };
        self.dpop.with_nonce(dpop, step, env)
    }

    fn authorized(
        &mut self,
        inbound: Inbound,
        claims: AccessTokenClaims,
        env: &mut Env<'_>,
    ) -> Step<Pending> {
        let principal = Principal::of(&claims);
        if self.has(Defect::CallerFromEarlierRequest)
            && inbound.target == Target::Mcp
            && let Some(connection) = Connection::of(&inbound.request)
        {
            self.last_caller = Some((connection.clone(), claims.clone()));
        }
        if inbound.target == Target::DownstreamApi {
            return Step::Respond(downstream::report(&principal));
        }
        let request = &inbound.request;
        let legacy_transport = self.config.legacy || self.has(Defect::LegacyTransportNotRefused);
        if !legacy_transport && request.method() != Method::POST {
            // 2026-07-28 only: no session to delete, no stream to open (§Earlier
            // Streamable HTTP Revisions: GET and DELETE get 405).
            return Step::Respond(transport::method_not_allowed("POST"));
        }
        if request.method() == Method::DELETE {
            return Step::Respond(match transport::session_id(request) {
                Ok(id) if self.sessions.terminate(id, &principal, env.now) => {
                    transport::empty(StatusCode::NO_CONTENT)
                }
                Ok(_) => transport::session_not_found(),
                Err(detail) => transport::bad_session_id(&detail),
            });
        }
        if request.method() != Method::POST {
            return Step::Respond(transport::method_not_allowed("POST, DELETE"));
        }
        if let Some(r) = transport::accept_refusal(request) {
            return Step::Respond(r);
        }
        let message = match transport::read_message(inbound.body) {
            Ok(Parsed::Single(m)) => m,
            Ok(Parsed::Batch(items)) if self.has(Defect::BatchSkipsScopeCheck) => {
                return Step::Respond(self.batch(request, items, &claims, env.now));
            }
            Ok(Parsed::Batch(_)) => return Step::Respond(transport::batch_refused()),
            Err(transport::Unreadable::ContentType) => {
                return Step::Respond(transport::unsupported_media_type(request));
            }
            Err(transport::Unreadable::Message(error)) => {
                return Step::Respond(transport::rpc(StatusCode::BAD_REQUEST, &error));
            }
        };
        let modern = match &message {
            Message::Request(r) => stateless::is_modern(request, r),
            _ => stateless::header_is_modern(request) && transport::session_id(request).is_err(),
        };
        if modern || !self.config.legacy {
            return match message {
                Message::Request(r) if !modern && r.method == "initialize" => {
                    Step::Respond(stateless::initialize_refused(&r, &self.config.defects))
                }
                Message::Request(r) => {
                    let step = self.modern_request(request, r, &claims, &inbound.token, env);
                    self.echo_session_id(request, step)
                }
                Message::Notification(_) | Message::Response(_) => Step::Respond(transport::accepted()),
            };
        }
        if let Message::Request(r) = &message
            && r.method == "initialize"
        {
            return Step::Respond(self.initialize(r, &claims, env));
        }
        let negotiated = match transport::session_id(request) {
            Ok(id) => match self.sessions.resume(id, &principal, env.now) {
                Some(v) => v.to_string(),
                None => return Step::Respond(transport::session_not_found()),
            },
            Err(detail) => return Step::Respond(transport::bad_session_id(&detail)),
        };
        if let Some(r) = transport::protocol_version_refusal(request, &negotiated) {
            return Step::Respond(r);
        }
        // A gateway trusting the mirrored header of a request that does not oblige anyone
        // to check it (defect `scope-from-mcp-name`).
        let named = self
            .has(Defect::ScopeFromMcpName)
            .then(|| request.headers().get(MCP_NAME).and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|name| self.tools.scope_of(name))
            .map(String::from);
        match message {
            Message::Request(r) => self.request(r, &claims, &inbound.token, named, env),
            Message::Notification(_) | Message::Response(_) => Step::Respond(transport::accepted()),
        }
    }

    /// A JSON-RPC request in an established session; a `tools/call` is checked against
    /// the scope `named` when given (the `scope-from-mcp-name` defect), else its tool's.
    fn request(
        &mut self,
        r: jsonrpc::Request,
        claims: &AccessTokenClaims,
        token: &str,
        named: Option<String>,
        env: &mut Env<'_>,
    ) -> Step<Pending> {
        match r.method.as_str() {
            "ping" => Step::Respond(ok(r.id, json!({}))),
            "tools/list" => Step::Respond(ok(r.id, self.tools.list(None))),
            "tools/call" => self.call_tool(r, claims, token, Era::Legacy, named, env),
            other => {
                let message = format!("method `{other}` not found");
                let e = jsonrpc::Response::error(Some(r.id), jsonrpc::METHOD_NOT_FOUND, message);
                Step::Respond(transport::rpc(StatusCode::OK, &e))
            }
        }
    }

    /// A modern (2026-07-28) request: stateless, checked against its headers and `_meta`
    /// (see [`stateless`]), authorized on its own like every request.
    fn modern_request(
        &mut self,
        request: &Request,
        r: jsonrpc::Request,
        claims: &AccessTokenClaims,
        token: &str,
        env: &mut Env<'_>,
    ) -> Step<Pending> {
        if let Some(refusal) = stateless::refusal(request, &r, &self.config) {
            return Step::Respond(refusal);
        }
        if self.has(Defect::NoServerDiscover) {
            // A legacy server's dispatch behind the modern checks.
            return self.request(r, claims, token, None, env);
        }
        let modern = Era::Modern;
        match r.method.as_str() {
            "server/discover" => {
                Step::Respond(ok(r.id, modern.result(stateless::discover(self.config.legacy))))
            }
            "ping" => Step::Respond(ok(r.id, modern.result(json!({})))),
            "tools/list" => {
                let list = self.tools.list(Connection::of(request));
                Step::Respond(ok(r.id, modern.result(stateless::cacheable(list))))
            }
            "tools/call" => {
                self.tools.called_on(Connection::of(request));
                self.call_tool(r, claims, token, modern, None, env)
            }
            "resources/read" if self.has(Defect::RetiredErrorCodes) => {
                let e = jsonrpc::Response::error(Some(r.id), -32002, "Resource not found");
                Step::Respond(wire::json(StatusCode::OK, &e))
            }
            _ => Step::Respond(stateless::method_not_found(&r)),
        }
    }

    /// `step` as sent: with defect `legacy-transport-not-refused`, a 2026-07-28-only
    /// server's answer echoes the request's `Mcp-Session-Id` (it should ignore it).
    fn echo_session_id(&self, request: &Request, step: Step<Pending>) -> Step<Pending> {
        match (step, request.headers().get(SESSION_ID)) {
            (Step::Respond(mut r), Some(id))
                if !self.config.legacy && self.has(Defect::LegacyTransportNotRefused) =>
            {
                r.headers_mut().insert(SESSION_ID, id.clone());
                Step::Respond(r)
            }
            (step, _) => step,
        }
    }

    fn initialize(
        &mut self,
        r: &jsonrpc::Request,
        claims: &AccessTokenClaims,
        env: &mut Env<'_>,
    ) -> Response {
        let Some(requested) =
            r.params.as_ref().and_then(|p| p.get("protocolVersion")).and_then(Value::as_str)
        else {
            let e = jsonrpc::Response::error(
                Some(r.id.clone()),
                INVALID_PARAMS,
                "initialize params: `protocolVersion` missing, expected a string",
            );
            return transport::rpc(StatusCode::OK, &e);
        };
        let version = SUPPORTED_PROTOCOL_VERSIONS
            .into_iter()
            .find(|v| *v == requested)
            .unwrap_or(LATEST_PROTOCOL_VERSION);
        if self.has(Defect::ScopeCheckAtConnectOnly)
            && let Some(base) = self.config.base_scope()
            && let Some(forbidden) = scopes::refusal(&self.config, self.metadata_url(), claims, base, &r.id)
        {
            return forbidden;
        }
        let session = self.sessions.open(claims, version, env);
        let mut response = ok(
            r.id.clone(),
            json!({
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "mcp-authz-reference", "version": env!("CARGO_PKG_VERSION")},
            }),
        );
        if let Ok(v) = HeaderValue::from_str(&session) {
            response.headers_mut().insert(SESSION_ID, v);
        }
        response
    }

    fn call_tool(
        &mut self,
        r: jsonrpc::Request,
        claims: &AccessTokenClaims,
        token: &str,
        era: Era,
        named: Option<String>,
        env: &mut Env<'_>,
    ) -> Step<Pending> {
        let call = match self.tools.call(r.params.as_ref()) {
            Ok(call) => call,
            Err(e) => {
                let e = jsonrpc::Response::error(Some(r.id), INVALID_PARAMS, e);
                return Step::Respond(transport::rpc(StatusCode::OK, &e));
            }
        };
        let metadata = self.metadata_url();
        let required = named.unwrap_or(call.required_scope);
        // A modern request has no connection to have checked scopes at.
        let checked = match era {
            Era::Modern => !self.has(Defect::PublicListGrantsAccess),
            Era::Legacy => !self.has(Defect::ScopeCheckAtConnectOnly),
        };
        if checked && let Some(forbidden) = scopes::refusal(&self.config, metadata, claims, &required, &r.id)
        {
            return Step::Respond(forbidden);
        }
        let result = match call.tool {
            Tool::OpenCart => self.carts.open(Principal::of(claims), &call.arguments, env),
            Tool::CartShow => self.carts.show(&Principal::of(claims), &call.arguments, env.now),
            Tool::ConfirmAction if era == Era::Legacy => {
                tools::text_result("confirm_action asks for elicitation on 2026-07-28 requests only", true)
            }
            Tool::ConfirmAction
                if !stateless::declares(&r, "elicitation") && !self.has(Defect::UndeclaredCapabilityUsed) =>
            {
                return Step::Respond(stateless::missing_capability(&r, &["elicitation"]));
            }
            Tool::ConfirmAction => {
                let caller = Principal::of(claims);
                match self.request_states.confirmation(r.params.as_ref(), &caller, "confirm_action", env) {
                    Confirmation::Ask(state) => stateless::confirmation_required(&state),
                    Confirmation::Refused(e) => {
                        let e = jsonrpc::Response::error(Some(r.id), INVALID_PARAMS, e);
                        return Step::Respond(transport::rpc(StatusCode::OK, &e));
                    }
                    Confirmation::Declined => tools::text_result("not confirmed: nothing done", false),
                    Confirmation::Confirmed => match self.tools.run(call.tool, &call.arguments) {
                        Ran::Done(result) => result,
                        Ran::Downstream => tools::text_result("confirm_action calls no downstream", true),
                    },
                }
            }
            _ => match self.tools.run(call.tool, &call.arguments) {
                Ran::Done(result) => result,
                Ran::Downstream => return self.fetch_report(r.id, token, era, env),
            },
        };
        Step::Respond(ok(r.id, era.result(result)))
    }

    fn fetch_report(&mut self, id: Id, caller_token: &str, era: Era, env: &mut Env<'_>) -> Step<Pending> {
        let Some(d) = &self.downstream else {
            return Step::Respond(tool_error(id, era, "no downstream is configured"));
        };
        if self.has(Defect::TokenPassthrough) {
            return match d.report_request(caller_token) {
                Ok(request) => Step::Fetch { request, pending: Pending(Stage::DownstreamReport(id, era)) },
                Err(e) => Step::Respond(tool_error(id, era, &e)),
            };
        }
        match d.start(env.now) {
            Ok(Next::Token(request)) => {
                Step::Fetch { request, pending: Pending(Stage::DownstreamToken(id, era)) }
            }
            Ok(Next::Report(request)) => {
                Step::Fetch { request, pending: Pending(Stage::DownstreamReport(id, era)) }
            }
            Err(e) => Step::Respond(tool_error(id, era, &e)),
        }
    }
}

/// A 200 JSON-RPC result.
fn ok(id: Id, result: Value) -> Response {
    transport::rpc(StatusCode::OK, &jsonrpc::Response::result(id, result))
}

/// A 200 JSON-RPC result holding a tool execution error, as `era` reads it.
fn tool_error(id: Id, era: Era, text: &str) -> Response {
    ok(id, era.result(tools::text_result(text, true)))
}

/// An `Authorization` value for `client_secret_basic` (RFC 6749 §2.3.1: both parts
/// form-urlencoded before base64).
fn client_secret_basic(client_id: &str, client_secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(client_id), enc(client_secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

impl Service for McpServer {
    type Pending = Pending;

    fn handle(&mut self, request: Request, env: &mut Env<'_>) -> Step<Pending> {
        let path = request.uri().path();
        if self.metadata_paths.iter().any(|p| p == path)
            && !self.has(Defect::ChallengeWithoutResourceMetadata)
        {
            Step::Respond(self.metadata(&request))
        } else if path == self.endpoint_path {
            self.mcp_endpoint(request, env)
        } else if self.downstream_path.as_deref() == Some(path) {
            self.downstream_api(request, env)
        } else {
            Step::Respond(transport::empty(StatusCode::NOT_FOUND))
        }
    }

    fn resume(&mut self, pending: Pending, fetched: FetchResult, env: &mut Env<'_>) -> Step<Pending> {
        match pending.0 {
            Stage::Keys(inbound) => {
                match self.tokens.check_with_fetched(fetched, &inbound.token, inbound.target, env.now) {
                    Ok(claims) => self.introspect(inbound, claims, env),
                    Err(description) => self.refuse(inbound, description, env),
                }
            }
            Stage::Introspection(inbound, claims) => {
                let endpoint = self.config.introspection.as_ref().map_or("", |i| i.endpoint.as_str());
                let dpop = dpop_binding::uses_dpop_scheme(&inbound.request);
                let step = match token_validation::introspection_verdict(endpoint, fetched) {
                    Ok(()) => self.authorized(inbound, *claims, env),
                    Err(description) => self.refuse(inbound, description, env),
                };
                self.dpop.with_nonce(dpop, step, env)
            }
            Stage::DownstreamToken(id, era) => {
                let Some(d) = &mut self.downstream else {
                    return Step::Respond(tool_error(id, era, "no downstream"));
                };
                match d.token_fetched(fetched, env.now) {
                    Ok(request) => {
                        Step::Fetch { request, pending: Pending(Stage::DownstreamReport(id, era)) }
                    }
                    Err(e) => Step::Respond(tool_error(id, era, &e)),
                }
            }
            Stage::DownstreamReport(id, era) => {
                let Some(d) = &mut self.downstream else {
                    return Step::Respond(tool_error(id, era, "no downstream"));
                };
                match d.report_fetched(fetched) {
                    Ok(text) => Step::Respond(ok(id, era.result(tools::text_result(&text, false)))),
                    Err(e) => Step::Respond(tool_error(id, era, &e)),
                }
            }
        }
    }
}
