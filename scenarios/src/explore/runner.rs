//! Runs a case: builds the [`World`] with the case's parties, applies the actions one by
//! one, and after every step checks the invariants of [`super::invariants`] against the
//! ground truth it keeps.
//!
//! The runner taps the network (the `tap` module: an `Interceptor` on every channel that
//! passes every message on unchanged, except the authorization responses an attacker
//! intercepts, the authorization requests it rewrites and the token requests of a
//! tampering attacker's own client) and reads what was sent and answered. From that it knows which tokens were issued to whom
//! and for what, which codes were redeemed how often, which refresh tokens were presented
//! twice, which sessions belong to which principal, and what each attacker saw. The
//! authorization server's own view of validity comes from its introspection, read
//! directly (no message, nothing in the trace).

use super::invariants::{self, Violation};
use super::model::{
    Action, Capabilities, FaultProfile, HostileAsMetadata, HostileRegistration, Server, THIRD_MCP, Tool,
    ToolTable, Topology,
};
use super::tap::{Observed, Tap, TapHandle, query_param, unverified_claims};
use crate::world::{AS, EVIL, MCP, OTHER_MCP, REDIRECT, World};
use bytes::Bytes;
use mcp_authz_harness::sim::{Channel, Faults, clone_request};
use mcp_authz_reference::access_token::{AccessTokenClaims, Validator};
use mcp_authz_reference::authorization_server::RegisteredClient;
use mcp_authz_reference::authorization_server::authorize::redirect_uri_matches;
use mcp_authz_reference::authorization_server::{self as authz, AuthorizationServer};
use mcp_authz_reference::client::{
    ClientAuth, ClientStep, ConfidentialClient, ConfidentialClientConfig, Operation, PublicClient,
    PublicClientConfig,
};
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_reference::jwt::{Jwks, KeySet};
use mcp_authz_reference::mcp_server::{self, McpServer};
use mcp_authz_reference::sans_io::Env;
use mcp_authz_reference::sans_io::{Request, Response};
use mcp_authz_reference::{Error, metadata, wire};
use proptest::test_runner::{RngAlgorithm, TestRng};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

/// The faults of [`FaultProfile::Flaky`].
const FLAKY: Faults = Faults { drop: 0.04, server_error: 0.04, duplicate: 0.04, delay: 0.04, reorder: 0.04 };

/// The second authorization server, which protects MCP server B when drawn.
pub const AS2: &str = "https://as2.example";

/// The confidential client's id and secret, pre-registered at every AS.
const SERVICE: &str = "service0";
const SERVICE_SECRET: &str = "service0-secret-for-the-simulation";

/// The `code_verifier` an attacker sends with a stolen code: it cannot know the real one.
const ATTACKER_VERIFIER: &str = "attacker-guessed-verifier-0123456789abcdefghijk";

/// What running a case produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The first invariant broken, if any (the run stops there).
    pub violation: Option<Violation>,
    /// Actions applied.
    pub actions_run: usize,
    /// Honest calls that completed (each a full flow the first time: discovery,
    /// registration, authorization, token, call).
    pub flows: u64,
    /// Messages sent on the simulated network.
    pub messages: u64,
    /// IDs of the invariants whose check had something to examine.
    pub exercised: BTreeSet<&'static str>,
    /// The simulator trace.
    pub trace: String,
}

/// Runs `actions` on `topology` in a world built from `seed` with `defects` injected, and
/// checks the invariants after every step (and liveness at the end when there is no
/// attacker).
pub fn run(seed: u64, defects: &Defects, topology: &Topology, actions: &[Action]) -> Result<Outcome, Error> {
    let mut runner = Runner::new(seed, defects, topology)?;
    let mut violation = None;
    let mut actions_run = 0;
    for (step, action) in actions.iter().enumerate() {
        actions_run += 1;
        runner.world.note(&format!("step {step}: {action}"));
        runner.apply(action);
        if let Some(v) = runner.check(step) {
            violation = Some(v);
            break;
        }
    }
    if violation.is_none() && topology.attackers.is_empty() {
        violation = runner.liveness(actions.len());
    }
    if let Some(v) = &violation {
        runner.world.note(&format!("VIOLATION {} after step {}: {}", v.invariant, v.step, v.detail));
    }
    Ok(Outcome {
        violation,
        actions_run,
        flows: runner.flows,
        messages: runner.world.sim.messages(),
        exercised: runner.exercised,
        trace: runner.world.sim.trace().to_string(),
    })
}

/// A client and the URL of the MCP server it is pointed at.
struct Party {
    client: PublicClient,
    server: String,
}

impl Party {
    fn new(name: &str, defects: &Defects) -> Result<Party, Error> {
        let mut config = PublicClientConfig::new(Server::A.url(), REDIRECT, name);
        config.defects = defects.clone();
        Ok(Party { client: PublicClient::new(config)?, server: Server::A.url().into() })
    }

    /// Points the client at the MCP server `url` (a new MCP session; tokens are kept).
    fn point_at(&mut self, url: &str) -> Result<(), Error> {
        if self.server != url {
            self.client.connect(url)?;
            self.server = url.into();
        }
        Ok(())
    }
}

/// The scopes a dynamically registered client may get at either AS.
const REGISTRATION_POLICY: [&str; 3] = ["mcp:read", "mcp:write", "mcp:admin"];

/// An attacker's MCP server and authorization server in one origin: its protected
/// resource metadata names itself as AS, and its AS metadata is hostile as `kind` says.
/// Everything else is refused: an honest client must not get that far.
fn rogue_server(kind: HostileAsMetadata) -> impl FnMut(Request) -> Response {
    let origin = kind.origin();
    move |req| {
        let path = req.uri().path();
        let json = |v: Value| wire::json(http::StatusCode::OK, &v);
        if path == "/.well-known/oauth-protected-resource/mcp" {
            return json(
                serde_json::json!({"resource": format!("{origin}/mcp"), "authorization_servers": [origin]}),
            );
        }
        if path == "/.well-known/oauth-authorization-server" || path == "/.well-known/openid-configuration" {
            let mut metadata = serde_json::json!({
                "issuer": origin,
                "authorization_endpoint": format!("{origin}/authorize"),
                "token_endpoint": format!("{origin}/token"),
                "registration_endpoint": format!("{origin}/register"),
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
            });
            match kind {
                HostileAsMetadata::NoS256 => metadata["code_challenge_methods_supported"] = Value::Null,
                HostileAsMetadata::OtherIssuer => metadata["issuer"] = Value::from(AS),
            }
            return json(metadata);
        }
        if path == "/mcp" {
            let mut r = wire::json(http::StatusCode::UNAUTHORIZED, &serde_json::json!({}));
            let challenge = format!(
                "Bearer resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:read\""
            );
            if let Ok(v) = http::HeaderValue::from_str(&challenge) {
                r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
            }
            return r;
        }
        wire::oauth_error(http::StatusCode::BAD_REQUEST, "invalid_request", "the attacker's server")
    }
}

/// The attacker's MCP server.
const HOSTILE_MCP: &str = "https://evil.example/mcp";

/// The attacker's MCP server: it challenges every request, and its protected resource
/// metadata names the trusted AS and claims MCP server A's identifier.
fn hostile_mcp_server(req: Request) -> Response {
    let metadata = format!("{EVIL}/.well-known/oauth-protected-resource/mcp");
    let mut r = if req.uri().path() == "/.well-known/oauth-protected-resource/mcp" {
        let prm = serde_json::json!({"resource": MCP, "authorization_servers": [AS], "scopes_supported": ["mcp:read"]});
        Response::new(Bytes::from(prm.to_string()))
    } else {
        let mut r = Response::new(Bytes::new());
        *r.status_mut() = http::StatusCode::UNAUTHORIZED;
        if let Ok(v) = http::HeaderValue::from_str(&format!(
            "Bearer resource_metadata=\"{metadata}\", scope=\"mcp:read\""
        )) {
            r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
        }
        r
    };
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

/// What an attacker has seen, and its own client.
#[derive(Default)]
struct Attacker {
    capabilities: Capabilities,
    /// Codes with the client id they were issued to and their issuer.
    codes: Vec<(String, String, String)>,
    access_tokens: Vec<String>,
    token_requests: Vec<Request>,
    /// Refresh tokens with the client id that presented them and their issuer.
    refresh_tokens: Vec<(String, String, String)>,
    /// `(server, session id)`.
    sessions: Vec<(Server, String)>,
    /// Principals (`sub`, `client_id`) of the access tokens seen, by token.
    principals: BTreeMap<String, (String, String)>,
    own: Option<Party>,
}

fn push_new<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

/// An authorization code as observed at the token endpoint.
#[derive(Default)]
struct CodeTruth {
    attempts: u32,
    redemptions: u32,
    tokens: Vec<String>,
}

/// A refresh-token family as observed.
#[derive(Default)]
struct FamilyTruth {
    tokens: Vec<String>,
    reused: bool,
    /// The scope consented to at the authorization request (`None`: not known).
    consent: Option<BTreeSet<String>>,
}

fn scope_set(scope: &str) -> BTreeSet<String> {
    scope.split(' ').filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The ground truth the invariants are checked against.
#[derive(Default)]
struct Truth {
    codes: BTreeMap<String, CodeTruth>,
    families: Vec<FamilyTruth>,
    /// Code → the scope its authorization request asked for (auto-approved: consented).
    consent: BTreeMap<String, BTreeSet<String>>,
    /// Refresh token → (family, already presented successfully).
    refresh: BTreeMap<String, (usize, bool)>,
    /// `(server, session id)` → principal (`sub`, `client_id`) that opened it.
    sessions: BTreeMap<(Server, String), (String, String)>,
    /// Tokens the AS issued in answer to an attacker's own request (not its own
    /// consent): attacker, token.
    attacker_held: Vec<(usize, String)>,
    /// Refresh tokens revoked with a 200 answer.
    revoked: Vec<String>,
    /// Tokens known to be inactive for good (expired or revoked never comes back).
    dead: BTreeSet<String>,
    /// Redirect URIs of dynamically registered clients, by client id.
    redirects: BTreeMap<String, Vec<String>>,
}

fn attacker_index(name: &str) -> Option<usize> {
    name.strip_prefix("attacker")?.parse().ok()
}

/// INV-SCOPE: a violation when `granted` holds a scope outside `consent` (both known).
fn beyond_consent(
    consent: Option<&BTreeSet<String>>,
    granted: Option<&BTreeSet<String>>,
    to: &str,
    step: usize,
) -> Option<Violation> {
    let (consent, granted) = (consent?, granted?);
    let extra: Vec<&str> = granted.difference(consent).map(String::as_str).collect();
    (!extra.is_empty()).then(|| {
        let consent: Vec<&str> = consent.iter().map(String::as_str).collect();
        Violation::new(
            invariants::SCOPE,
            step,
            format!("{to} was granted {extra:?} beyond the consented {consent:?}"),
        )
    })
}

/// True for the origin of an authorization server.
fn is_issuer(origin: &str) -> bool {
    origin == AS || origin == AS2
}

/// Honest senders: honest clients, their browsers, the confidential client, and the
/// servers themselves.
fn is_honest(name: &str) -> bool {
    name.starts_with("honest")
        || name.starts_with("browser:honest")
        || name == SERVICE
        || name.starts_with("https://")
}

/// True when `uri` is the resource `aud` or below it.
fn addressed_to(uri: &str, aud: &str) -> bool {
    uri.strip_prefix(aud)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

struct Runner {
    world: World,
    honest: Vec<Party>,
    attackers: Vec<Attacker>,
    tap: Rc<RefCell<Tap>>,
    validators: BTreeMap<Server, Validator>,
    /// Tokens a server's oracle validator accepted, with their claims: its keys never
    /// change during a run, so a token seen again needs only its claims checked.
    verified: BTreeMap<(Server, String), AccessTokenClaims>,
    /// The tool table of each drawn MCP server.
    tables: BTreeMap<Server, ToolTable>,
    topology: Topology,
    truth: Truth,
    /// Whether the confidential client exists.
    services: bool,
    exercised: BTreeSet<&'static str>,
    flows: u64,
    defects: Defects,
}

impl Runner {
    fn new(seed: u64, defects: &Defects, topology: &Topology) -> Result<Runner, Error> {
        let servers = topology.servers();
        let extra: &[&str] = if servers.len() >= 3 { &[THIRD_MCP] } else { &[] };
        let mut world = World::with_resources(seed, defects, extra)?;
        let tap = Rc::new(RefCell::new(Tap::default()));
        let channels = vec![Channel::FrontChannel, Channel::Token, Channel::Resource, Channel::Other];
        world.sim.set_interceptor(channels, Box::new(TapHandle(Rc::clone(&tap))));
        world.sim.add_fn(EVIL, hostile_mcp_server);
        for kind in HostileAsMetadata::ALL {
            world.sim.add_fn(kind.origin(), rogue_server(kind));
        }
        let jwks = world.authorization_server().jwks();
        let two = topology.authorization_servers >= 2;
        let jwks2 = if two { Some(second_authorization_server(&mut world, defects)?) } else { None };
        let mut validators = BTreeMap::new();
        for &(server, table) in &servers {
            let (issuer, keys) = match &jwks2 {
                Some(jwks2) if server == Server::B => (AS2, KeySet::from_jwks(jwks2)?),
                _ => (AS, KeySet::from_jwks(&jwks)?),
            };
            let mut config = world.mcp_config(server.url(), issuer);
            config.tools = table
                .tools()
                .into_iter()
                .map(|(tool, scope)| mcp_server::ToolConfig::new(tool.name(), scope, tool.name()))
                .collect();
            config.scopes_supported = table.scopes_supported().into_iter().map(String::from).collect();
            world.sim.add_service(server.url().trim_end_matches("/mcp"), McpServer::new(config)?);
            validators.insert(server, Validator::new(issuer, server.url(), keys));
        }
        if topology.confidential_clients >= 1 {
            for issuer in [AS, AS2] {
                if let Some(server) = world.sim.service::<AuthorizationServer>(issuer) {
                    server.register_client(RegisteredClient {
                        client_id: SERVICE.into(),
                        client_secret: Some(SERVICE_SECRET.into()),
                        grant_types: vec!["client_credentials".into()],
                        token_endpoint_auth_method: "client_secret_basic".into(),
                        scopes: vec!["mcp:read".into()],
                        client_name: Some("honest service".into()),
                        ..RegisteredClient::default()
                    });
                }
            }
        }
        let services = topology.confidential_clients >= 1;
        let honest = (0..topology.honest_clients.clamp(1, 3))
            .map(|i| Party::new(&format!("honest client {i}"), defects))
            .collect::<Result<Vec<_>, _>>()?;
        let attackers = topology
            .attackers
            .iter()
            .take(2)
            .map(|c| Attacker { capabilities: *c, ..Attacker::default() })
            .collect();
        Ok(Runner {
            world,
            honest,
            attackers,
            tap,
            validators,
            verified: BTreeMap::new(),
            tables: servers.into_iter().collect(),
            topology: topology.clone(),
            truth: Truth::default(),
            services,
            exercised: BTreeSet::new(),
            flows: 0,
            defects: defects.clone(),
        })
    }

    fn apply(&mut self, action: &Action) {
        let result = match *action {
            Action::Call { client, server, tool } => {
                let i = usize::from(client) % self.honest.len();
                self.honest_call(i, self.topology.server(server), tool).map(|_| ())
            }
            Action::CallHostile { client } => {
                let i = usize::from(client) % self.honest.len();
                self.call(i, HOSTILE_MCP, Tool::Echo).map(|_| ())
            }
            Action::CallRogueAs { client, metadata } => {
                let i = usize::from(client) % self.honest.len();
                self.call(i, &format!("{}/mcp", metadata.origin()), Tool::Echo).map(|_| ())
            }
            Action::ServiceCall { server, tool } => self.service_call(self.topology.server(server), tool),
            Action::Refresh { client } => self.honest_refresh(usize::from(client) % self.honest.len()),
            Action::Revoke { client } => self.honest_revoke(usize::from(client) % self.honest.len()),
            Action::Wait { secs } => {
                self.world.advance(Duration::from_secs(u64::from(secs)));
                Ok(())
            }
            Action::Network { faults } => {
                self.world.sim.set_faults(match faults {
                    FaultProfile::Calm => Faults::default(),
                    FaultProfile::Flaky => FLAKY,
                });
                Ok(())
            }
            _ => self.hostile(action),
        };
        if let Err(e) = result {
            self.world.note(&format!("  (action ended: {e})"));
        }
    }

    /// Runs honest client `i` to call `tool` at `server`; true when the call completed.
    fn honest_call(&mut self, i: usize, server: Server, tool: Tool) -> Result<bool, Error> {
        self.call(i, server.url(), tool)
    }

    /// Runs honest client `i` to call `tool` at the MCP server `server`.
    fn call(&mut self, i: usize, server: &str, tool: Tool) -> Result<bool, Error> {
        let Some(party) = self.honest.get_mut(i) else { return Ok(false) };
        party.point_at(server)?;
        let op = Operation::CallTool { name: tool.name().into(), arguments: tool.arguments() };
        self.world.run_client(&format!("honest{i}"), &mut party.client, op)?;
        self.flows += 1;
        Ok(true)
    }

    /// The confidential client gets a token for `server` and calls `tool` with it.
    fn service_call(&mut self, server: Server, tool: Tool) -> Result<(), Error> {
        if !self.services {
            return Ok(());
        }
        let issuer = self.validators.get(&server).map_or(AS, |v| v.issuer.as_str());
        let mut client = ConfidentialClient::new(ConfidentialClientConfig {
            token_endpoint: format!("{issuer}/token"),
            client_id: SERVICE.into(),
            auth: ClientAuth::SecretBasic(SERVICE_SECRET.into()),
            resource: server.url().into(),
            scope: Some("mcp:read".into()),
            audience_for_assertion: None,
        })?;
        // Client-secret authentication draws no randomness: a fixed generator will do.
        let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
        let mut step = client.start(&mut Env::new(self.world.sim.now(), &mut rng));
        while let ClientStep::Send(req) = step {
            let fetched = self.world.send(SERVICE, req);
            step = client.on_response(fetched, &mut Env::new(self.world.sim.now(), &mut rng));
        }
        if let ClientStep::Failed(e) = step {
            return Err(e);
        }
        let Some(token) = client.token().map(|t| t.access_token.clone()) else { return Ok(()) };
        self.world.call_tool(SERVICE, server.url(), &token, tool.name(), tool.arguments())?;
        Ok(())
    }

    fn honest_refresh(&mut self, i: usize) -> Result<(), Error> {
        let Some(party) = self.honest.get_mut(i) else { return Ok(()) };
        if party.client.tokens().is_none() {
            return Ok(());
        }
        self.world.run_client_step(&format!("honest{i}"), &mut party.client, |c, env| c.refresh(env))?;
        Ok(())
    }

    fn honest_revoke(&mut self, i: usize) -> Result<(), Error> {
        let Some(party) = self.honest.get(i) else { return Ok(()) };
        let (Some(tokens), Some(client_id)) = (party.client.tokens(), party.client.client_id()) else {
            return Ok(());
        };
        let Some(rt) = &tokens.refresh_token else { return Ok(()) };
        let issuer = tokens.issuer.as_deref().unwrap_or(AS);
        let form = form(&[("token", rt), ("token_type_hint", "refresh_token"), ("client_id", client_id)]);
        let req = wire::post_form_request(&format!("{issuer}/revoke"), &form)?;
        self.world.send(&format!("honest{i}"), req)?;
        Ok(())
    }

    fn hostile(&mut self, action: &Action) -> Result<(), Error> {
        let n = self.attackers.len();
        if n == 0 {
            return Ok(());
        }
        let pick = |a: u8| usize::from(a) % n;
        let pick_in = |len: usize, i: u8| (len > 0).then(|| usize::from(i) % len);
        match *action {
            Action::InterceptNextCode { attacker } => {
                let a = pick(attacker);
                if self.attackers[a].capabilities.front_channel {
                    self.tap.borrow_mut().intercepting.push(a);
                }
            }
            Action::TamperOwnTokenRequests { attacker } => {
                let a = pick(attacker);
                if self.attackers[a].capabilities.own_client {
                    self.tap.borrow_mut().tampering.insert(a);
                    if let Some(own) = self.attackers[a].own.as_mut().filter(|o| o.client.tokens().is_some())
                    {
                        self.world.run_client_step(&format!("mallory{a}"), &mut own.client, |c, env| {
                            c.refresh(env)
                        })?;
                    }
                }
            }
            Action::RedeemCode { attacker, loot } => {
                let a = pick(attacker);
                let codes = &self.attackers[a].codes;
                if let Some(k) = pick_in(codes.len(), loot) {
                    let (code, client_id, issuer) = codes[k].clone();
                    let form = form(&[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", ATTACKER_VERIFIER),
                        ("client_id", &client_id),
                    ]);
                    let req = wire::post_form_request(&format!("{issuer}/token"), &form)?;
                    self.world.send(&format!("attacker{a}"), req)?;
                }
            }
            Action::ReplayTokenRequest { attacker, loot } => {
                let a = pick(attacker);
                let requests = &self.attackers[a].token_requests;
                if let Some(k) = pick_in(requests.len(), loot) {
                    let req = clone_request(&requests[k]);
                    self.world.send(&format!("attacker{a}"), req)?;
                }
            }
            Action::RefreshStolen { attacker, loot } => {
                let a = pick(attacker);
                let tokens = &self.attackers[a].refresh_tokens;
                if let Some(k) = pick_in(tokens.len(), loot) {
                    let (rt, client_id, issuer) = tokens[k].clone();
                    let form = form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &rt),
                        ("client_id", &client_id),
                    ]);
                    let req = wire::post_form_request(&format!("{issuer}/token"), &form)?;
                    self.world.send(&format!("attacker{a}"), req)?;
                }
            }
            Action::ReplayToken { attacker, loot, server, tool } => {
                let a = pick(attacker);
                let tokens = &self.attackers[a].access_tokens;
                if let Some(k) = pick_in(tokens.len(), loot) {
                    let token = tokens[k].clone();
                    let name = format!("attacker{a}");
                    let server = self.topology.server(server);
                    self.world.call_tool(&name, server.url(), &token, tool.name(), tool.arguments())?;
                }
            }
            Action::OwnFlow { attacker, server, tool } => {
                let a = pick(attacker);
                if self.attackers[a].capabilities.own_client {
                    if self.attackers[a].own.is_none() {
                        self.attackers[a].own = Some(Party::new("mallory", &self.defects)?);
                    }
                    let server = self.topology.server(server);
                    if let Some(own) = self.attackers[a].own.as_mut() {
                        own.point_at(server.url())?;
                        let op =
                            Operation::CallTool { name: tool.name().into(), arguments: tool.arguments() };
                        self.world.run_client(&format!("mallory{a}"), &mut own.client, op)?;
                    }
                }
            }
            Action::RegisterHostile { attacker, metadata } => {
                let a = pick(attacker);
                if !self.attackers[a].capabilities.own_client {
                    return Ok(());
                }
                let mut body = serde_json::json!({
                    "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "client_name": format!("mallory{a}"),
                    "scope": "mcp:read",
                });
                match metadata {
                    HostileRegistration::ScopeBeyondPolicy => body["scope"] = "mcp:read reports:read".into(),
                    HostileRegistration::ChosenClientId => {
                        let victim = self.honest.iter().find_map(|p| p.client.client_id().map(String::from));
                        body["client_id"] = victim.unwrap_or_else(|| "honest-client".into()).into();
                    }
                    HostileRegistration::InsecureRedirect => {
                        body["redirect_uris"] = serde_json::json!(["http://evil.example/callback"]);
                    }
                }
                let req = wire::post_json_request(&format!("{AS}/register"), &body)?;
                self.world.send(&format!("attacker{a}"), req)?;
            }
            Action::TamperAuthorization { attacker, param } => {
                let a = pick(attacker);
                if self.attackers[a].capabilities.front_channel {
                    self.tap.borrow_mut().tampering_authorization.push((a, param));
                }
            }
            Action::HijackSession { attacker, loot, tool } => {
                let a = pick(attacker);
                let sessions = &self.attackers[a].sessions;
                let Some(k) = pick_in(sessions.len(), loot) else { return Ok(()) };
                let (server, session) = sessions[k].clone();
                let att = &self.attackers[a];
                let owner = self.truth.sessions.get(&(server, session.clone()));
                let own_token = att
                    .own
                    .as_ref()
                    .and_then(|p| p.client.tokens())
                    .filter(|t| t.resource == server.url())
                    .map(|t| t.access_token.clone());
                // Its own token, else one it saw that speaks for another principal.
                let own_token = own_token.or_else(|| {
                    att.access_tokens
                        .iter()
                        .find(|t| {
                            let aud = unverified_claims(t).is_some_and(|c| c.aud.contains(server.url()));
                            aud && att.principals.get(*t) != owner
                        })
                        .cloned()
                });
                let headers = [("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-11-25")];
                let body = World::call_body(tool.name(), tool.arguments());
                let req = World::rpc_request(server.url(), own_token.as_deref(), &body, &headers);
                self.world.send(&format!("attacker{a}"), req)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads what the tap saw since the last step, updates the truth and the attackers'
    /// loot, and checks every invariant.
    fn check(&mut self, step: usize) -> Option<Violation> {
        let (log, intercepted) = {
            let mut tap = self.tap.borrow_mut();
            (std::mem::take(&mut tap.log), std::mem::take(&mut tap.intercepted))
        };
        for (a, code, client_id, issuer) in intercepted {
            self.world.note(&format!("attacker{a} intercepted the authorization response for {client_id}"));
            if let Some(att) = self.attackers.get_mut(a) {
                push_new(&mut att.codes, (code, client_id, issuer));
            }
        }
        let mut first = None;
        for o in &log {
            self.loot(o);
            if let Some(v) = self.observe(o, step) {
                first.get_or_insert(v);
            }
        }
        first.or_else(|| self.check_validity(step))
    }

    /// What each attacker learns from `o`, by its capabilities.
    fn loot(&mut self, o: &Observed) {
        let from_honest_client =
            o.from.starts_with("honest") || o.from.starts_with("browser:honest") || o.from == SERVICE;
        if !from_honest_client {
            return;
        }
        let server = Server::of_url(&format!("{}{}", o.to, o.path()));
        // Token requests: only those the AS answered with tokens, whose code or refresh
        // token is used up, so a correct AS treats any replay as reuse (a refused refresh
        // leaves its token live: a reader of such requests defeats any public client);
        // and never client credentials, which carry the client's secret.
        let form = o.form();
        let used_up_grant = is_issuer(&o.to)
            && o.path() == "/token"
            && o.status == 200
            && matches!(
                form.get("grant_type").map(String::as_str),
                Some("authorization_code" | "refresh_token")
            );
        for att in &mut self.attackers {
            let c = att.capabilities;
            if c.front_channel
                && o.from.starts_with("browser:")
                && let Some(code) = o.location.as_deref().and_then(|l| query_param(l, "code"))
            {
                let client_id = query_param(&o.request.uri().to_string(), "client_id").unwrap_or_default();
                push_new(&mut att.codes, (code, client_id, o.to.clone()));
            }
            if c.resource
                && let Some(server) = server
            {
                if let Some(t) = o.bearer() {
                    if let Some(c) = unverified_claims(&t) {
                        let principal = (c.sub.unwrap_or_default(), c.client_id.unwrap_or_default());
                        att.principals.insert(t.clone(), principal);
                    }
                    push_new(&mut att.access_tokens, t);
                }
                if let Some(s) =
                    o.header("mcp-session-id").map(String::from).or_else(|| o.response_session.clone())
                {
                    push_new(&mut att.sessions, (server, s));
                }
            }
            if c.token_requests && used_up_grant {
                att.token_requests.push(clone_request(&o.request));
                if let (Some(rt), Some(cid)) = (form.get("refresh_token"), form.get("client_id")) {
                    push_new(&mut att.refresh_tokens, (rt.clone(), cid.clone(), o.to.clone()));
                }
            }
        }
    }

    /// Updates the truth with one message and checks the per-message invariants.
    fn observe(&mut self, o: &Observed, step: usize) -> Option<Violation> {
        let mut found = None;
        let mut fail = |v: Violation| {
            found.get_or_insert(v);
        };
        // INV-URL: no token in a URL.
        if !o.from.starts_with("attacker") {
            self.exercised.insert(invariants::URL.id);
            let uri = o.request.uri().to_string();
            for u in std::iter::once(uri.as_str()).chain(o.location.as_deref()) {
                if let Ok(url) = url::Url::parse(u)
                    && let Some((k, _)) = url.query_pairs().find(|(k, v)| {
                        k == "access_token"
                            || k == "refresh_token"
                            || (v.starts_with("eyJ") && v.matches('.').count() == 2)
                    })
                {
                    fail(Violation::new(
                        invariants::URL,
                        step,
                        format!("`{k}` in the url `{u}` (from {})", o.from),
                    ));
                }
            }
        }
        // INV-SEND: an honest party sends a token only where it was issued for.
        if is_honest(&o.from)
            && let Some(token) = o.bearer()
            && let Some(claims) = unverified_claims(&token)
        {
            self.exercised.insert(invariants::AUDIENCE.id);
            let uri = o.request.uri().to_string();
            if !claims.aud.iter().any(|aud| addressed_to(&uri, aud)) {
                let aud: Vec<&str> = claims.aud.iter().collect();
                fail(Violation::new(
                    invariants::AUDIENCE,
                    step,
                    format!("{} sent a token for {aud:?} to {uri}", o.from),
                ));
            }
        }
        if o.from.starts_with("browser:")
            && let Some(code) = o.location.as_deref().and_then(|l| query_param(l, "code"))
            && let Some(scope) = query_param(&o.request.uri().to_string(), "scope")
        {
            self.truth.consent.insert(code, scope_set(&scope));
        }
        if let Some(v) = self.observe_registration(o, step) {
            fail(v);
        }
        if let Some(v) = self.observe_rogue_use(o, step) {
            fail(v);
        }
        if let Some(v) = self.observe_redirect(o, step) {
            fail(v);
        }
        if let Some(server) = Server::of_url(&format!("{}{}", o.to, o.path())) {
            if let Some(v) = self.observe_mcp(o, server, step) {
                fail(v);
            }
        } else if is_issuer(&o.to) && o.path() == "/token" {
            if let Some(v) = self.observe_token(o, step) {
                fail(v);
            }
        } else if is_issuer(&o.to) && o.path() == "/revoke" && o.status == 200 && is_honest(&o.from) {
            if let Some(t) = o.form().get("token") {
                self.truth.revoked.push(t.clone());
            }
        }
        found
    }

    /// INV-REGISTER on a registration the AS accepted; records the redirect URIs.
    fn observe_registration(&mut self, o: &Observed, step: usize) -> Option<Violation> {
        if !(is_issuer(&o.to) && o.path() == "/register" && o.status == 201) {
            return None;
        }
        self.exercised.insert(invariants::REGISTER.id);
        let info: Value = serde_json::from_slice(&o.response_body).ok()?;
        let asked: Option<Value> = serde_json::from_slice(o.request.body()).ok();
        let client_id = info.get("client_id").and_then(Value::as_str).unwrap_or_default().to_string();
        let redirects: Vec<String> = info
            .get("redirect_uris")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default();
        self.truth.redirects.entry(client_id.clone()).or_default().extend(redirects.iter().cloned());
        let registered = format!("{} registered `{client_id}`", o.from);
        let scope = info.get("scope").and_then(Value::as_str).unwrap_or_default();
        if let Some(extra) = scope.split(' ').find(|s| !s.is_empty() && !REGISTRATION_POLICY.contains(s)) {
            let why = format!("{registered} with scope `{extra}`, beyond the policy {REGISTRATION_POLICY:?}");
            return Some(Violation::new(invariants::REGISTER, step, why));
        }
        if asked.as_ref().and_then(|a| a.get("client_id")).and_then(Value::as_str) == Some(client_id.as_str())
        {
            return Some(Violation::new(
                invariants::REGISTER,
                step,
                format!("{registered}, the id it chose"),
            ));
        }
        let insecure = redirects.iter().find(|r| {
            url::Url::parse(r)
                .map(|u| !(u.scheme() == "https" || (u.scheme() == "http" && metadata::is_loopback(&u))))
                .unwrap_or(true)
        });
        insecure.map(|r| {
            Violation::new(invariants::REGISTER, step, format!("{registered} with redirect uri `{r}`"))
        })
    }

    /// INV-ASMETA: an honest party registering, authorizing or redeeming at an
    /// attacker's authorization server with hostile metadata.
    fn observe_rogue_use(&mut self, o: &Observed, step: usize) -> Option<Violation> {
        let rogue = HostileAsMetadata::ALL.into_iter().find(|k| k.origin() == o.to)?;
        if !is_honest(&o.from) {
            return None;
        }
        self.exercised.insert(invariants::AS_METADATA.id);
        ["/register", "/authorize", "/token"].contains(&o.path()).then(|| {
            Violation::new(
                invariants::AS_METADATA,
                step,
                format!("{} used {} at an AS whose metadata is hostile ({rogue:?})", o.from, o.path()),
            )
        })
    }

    /// INV-REDIRECT: an authorization response with a code goes to a redirect URI
    /// registered for its client.
    fn observe_redirect(&mut self, o: &Observed, step: usize) -> Option<Violation> {
        if !(o.from.starts_with("browser:") && is_issuer(&o.to) && o.path() == "/authorize") {
            return None;
        }
        let location = o.location.as_deref()?;
        query_param(location, "code")?;
        self.exercised.insert(invariants::REDIRECT.id);
        let target = location.split('?').next().unwrap_or_default();
        let client_id = query_param(&o.request.uri().to_string(), "client_id").unwrap_or_default();
        let registered = self.truth.redirects.get(&client_id);
        let mut known = std::iter::once(REDIRECT).chain(registered.into_iter().flatten().map(String::as_str));
        let matches = known.any(|r| redirect_uri_matches(r, target));
        (!matches).then(|| {
            Violation::new(
                invariants::REDIRECT,
                step,
                format!("a code for `{client_id}` went to `{target}`, not a registered redirect uri"),
            )
        })
    }

    /// INV-TOOL and INV-SESSION on a request to an MCP server.
    fn observe_mcp(&mut self, o: &Observed, server: Server, step: usize) -> Option<Violation> {
        let token = o.bearer();
        let principal = token
            .as_deref()
            .and_then(unverified_claims)
            .map(|c| (c.sub.unwrap_or_default(), c.client_id.unwrap_or_default()));
        let served = (200..300).contains(&o.status);
        if served && let Some(id) = &o.response_session {
            if let Some(p) = &principal {
                self.truth.sessions.insert((server, id.clone()), p.clone());
            }
        } else if served && let Some(id) = o.header("mcp-session-id") {
            if let Some(owner) = self.truth.sessions.get(&(server, id.to_string())) {
                self.exercised.insert(invariants::SESSION.id);
                if principal.as_ref() != Some(owner) {
                    return Some(Violation::new(
                        invariants::SESSION,
                        step,
                        format!(
                            "{server:?} served session of {owner:?} to {} presenting {principal:?}",
                            o.from
                        ),
                    ));
                }
            }
        }
        let request: Value = serde_json::from_slice(o.request.body()).ok()?;
        if request.get("method").and_then(Value::as_str) != Some("tools/call") || o.status != 200 {
            return None;
        }
        let tool = request.get("params")?.get("name")?.as_str().and_then(Tool::named)?;
        let response: Value = serde_json::from_slice(&o.response_body).ok()?;
        let result = response.get("result")?;
        if result.get("isError").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        self.exercised.insert(invariants::TOOL.id);
        let ran = format!("{} ran at {server:?} for {}", tool.name(), o.from);
        let Some(token) = token else {
            return Some(Violation::new(invariants::TOOL, step, format!("{ran} without a token")));
        };
        let validator = self.validators.get(&server)?;
        let checked = match self.verified.get(&(server, token.clone())) {
            Some(claims) => validator.check_claims(claims, o.at).map(|()| claims.clone()),
            None => validator.validate(&token, o.at),
        };
        if let Ok(claims) = &checked {
            self.verified.entry((server, token)).or_insert_with(|| claims.clone());
        }
        match checked {
            Err(e) => Some(Violation::new(
                invariants::TOOL,
                step,
                format!("{ran} with a token it must refuse: {e}"),
            )),
            Ok(claims) => {
                let scope = claims.scope.unwrap_or_default();
                let Some(required) = self.tables.get(&server).and_then(|t| t.required_scope(tool)) else {
                    return Some(Violation::new(
                        invariants::TOOL,
                        step,
                        format!("{ran}, which does not offer it"),
                    ));
                };
                (!scope.split(' ').any(|s| s == required)).then(|| {
                    Violation::new(
                        invariants::TOOL,
                        step,
                        format!("{ran} with scope `{scope}`, which lacks `{required}`"),
                    )
                })
            }
        }
    }

    /// The token endpoint: codes, refresh families, tokens handed to attackers.
    fn observe_token(&mut self, o: &Observed, step: usize) -> Option<Violation> {
        let form = o.form();
        let issued: Vec<String> = if o.status == 200 {
            let body: Value = serde_json::from_slice(&o.response_body).unwrap_or(Value::Null);
            ["access_token", "refresh_token"]
                .iter()
                .filter_map(|k| body.get(k).and_then(Value::as_str).map(String::from))
                .collect()
        } else {
            vec![]
        };
        let answer =
            if o.status == 200 { serde_json::from_slice::<Value>(&o.response_body).ok() } else { None };
        let new_rt =
            answer.as_ref().and_then(|b| b.get("refresh_token").and_then(Value::as_str).map(String::from));
        let granted = answer.as_ref().and_then(|b| b.get("scope").and_then(Value::as_str)).map(scope_set);
        if let Some(a) = attacker_index(&o.from) {
            self.truth.attacker_held.extend(issued.iter().map(|t| (a, t.clone())));
        }
        let truth = &mut self.truth;
        let mut found = None;
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let code = form.get("code")?.clone();
                let entry = truth.codes.entry(code.clone()).or_default();
                entry.attempts += 1;
                if o.status == 200 {
                    entry.redemptions += 1;
                    entry.tokens.extend(issued.iter().cloned());
                    let family = truth.families.len();
                    let consent = truth.consent.get(&code).cloned();
                    found =
                        found.or_else(|| beyond_consent(consent.as_ref(), granted.as_ref(), &o.from, step));
                    truth.families.push(FamilyTruth { tokens: issued.clone(), reused: false, consent });
                    if let Some(rt) = new_rt {
                        truth.refresh.insert(rt, (family, false));
                    }
                }
                self.exercised.insert(invariants::CODE.id);
                self.exercised.insert(invariants::SCOPE.id);
                if entry.redemptions > 1 {
                    found = Some(Violation::new(
                        invariants::CODE,
                        step,
                        format!("a code was redeemed {} times (last by {})", entry.redemptions, o.from),
                    ));
                }
            }
            Some("refresh_token") => {
                let rt = form.get("refresh_token")?.clone();
                let family = match truth.refresh.get(&rt).copied() {
                    Some((family, presented)) => {
                        if presented {
                            self.exercised.insert(invariants::FAMILY.id);
                            if let Some(f) = truth.families.get_mut(family) {
                                f.reused = true;
                            }
                        }
                        family
                    }
                    None if o.status == 200 => {
                        truth.families.push(FamilyTruth::default());
                        truth.families.len() - 1
                    }
                    None => return None,
                };
                if o.status == 200 {
                    truth.refresh.insert(rt, (family, true));
                    if let Some(f) = truth.families.get_mut(family) {
                        f.tokens.extend(issued.iter().cloned());
                        found = found
                            .or_else(|| beyond_consent(f.consent.as_ref(), granted.as_ref(), &o.from, step));
                    }
                    if let Some(new) = new_rt {
                        truth.refresh.entry(new).or_insert((family, false));
                    }
                }
            }
            _ => {}
        }
        found
    }

    /// The invariants about what the AS still considers valid.
    fn check_validity(&mut self, step: usize) -> Option<Violation> {
        let now = self.world.sim.now();
        let mut suspects: Vec<(invariants::Invariant, String, String)> = Vec::new();
        for c in self.truth.codes.values().filter(|c| c.attempts > 1) {
            for t in &c.tokens {
                let why =
                    format!("a code was presented {} times, yet a token from it is still active", c.attempts);
                suspects.push((invariants::CODE, t.clone(), why));
            }
        }
        for f in self.truth.families.iter().filter(|f| f.reused) {
            for t in &f.tokens {
                suspects.push((
                    invariants::FAMILY,
                    t.clone(),
                    "a refresh token was reused, yet a token of its family is still active".into(),
                ));
            }
        }
        for (a, t) in &self.truth.attacker_held {
            self.exercised.insert(invariants::LOOT.id);
            suspects.push((
                invariants::LOOT,
                t.clone(),
                format!("attacker{a} obtained a token from the AS without its own consent, and it is active"),
            ));
        }
        for t in &self.truth.revoked {
            self.exercised.insert(invariants::REVOKE.id);
            suspects.push((invariants::REVOKE, t.clone(), "a revoked refresh token is still active".into()));
        }
        for (inv, token, why) in suspects {
            if self.truth.dead.contains(&token) {
                continue;
            }
            let active = [AS, AS2].iter().any(|iss| {
                self.world
                    .sim
                    .service::<AuthorizationServer>(iss)
                    .is_some_and(|s| s.introspection(&token, now).active)
            });
            if active {
                let short: String = token.chars().take(12).collect();
                return Some(Violation::new(inv, step, format!("{why} ({short}…)")));
            }
            self.truth.dead.insert(token);
        }
        None
    }

    /// With no attacker: the network heals, and every honest client must complete a call
    /// within three attempts.
    fn liveness(&mut self, step: usize) -> Option<Violation> {
        self.world.sim.set_faults(Faults::default());
        self.world.note("liveness: faults stop; every honest client calls echo at A");
        let tool = self.tables.get(&Server::A).and_then(|t| t.tools().first().map(|(t, _)| *t));
        let tool = tool.unwrap_or(Tool::Echo);
        for i in 0..self.honest.len() {
            let done = (0..3).any(|_| matches!(self.honest_call(i, Server::A, tool), Ok(true)));
            if let Some(v) = self.check(step) {
                return Some(v);
            }
            if !done {
                self.exercised.insert(invariants::LIVE.id);
                return Some(Violation::new(
                    invariants::LIVE,
                    step,
                    format!("honest{i} did not complete a call in 3 attempts"),
                ));
            }
        }
        self.exercised.insert(invariants::LIVE.id);
        None
    }
}

/// Adds [`AS2`], for MCP server B; returns AS2's keys.
fn second_authorization_server(world: &mut World, defects: &Defects) -> Result<Jwks, Error> {
    let scopes = || ["mcp:read", "mcp:write", "mcp:admin"].map(String::from).to_vec();
    let config = authz::Config {
        issuer: AS2.into(),
        auto_approve: true,
        signing_alg: Algorithm::EdDSA,
        defects: defects.clone(),
        resources: vec![authz::ResourceConfig { uri: OTHER_MCP.into(), scopes: scopes() }],
        registration_scopes: scopes(),
        ..authz::Config::default()
    };
    let server = world.sim.env_for("as2", |env| AuthorizationServer::new(config, env))?;
    let keys = server.jwks();
    world.sim.add_service(AS2, server);
    Ok(keys)
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}
