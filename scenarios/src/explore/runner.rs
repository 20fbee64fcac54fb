//! Runs a case: builds the [`World`] with the case's parties, applies the actions one by
//! one, and after every step hands what the network carried to the invariants of
//! [`super::invariants`], which judge it against the ground truth each keeps.
//!
//! The runner taps the network (the `tap` module: an `Interceptor` on every channel that
//! passes every message on unchanged, except the authorization responses an attacker
//! intercepts, the authorization requests it rewrites, the code requests it withholds and
//! the token and authorization requests of an attacker's own clients) and reads what was
//! sent and answered: each exchange
//! goes to the invariants, and to the attackers that can see it. The authorization
//! servers' own view of validity comes from their introspection, read directly (no
//! message, nothing in the trace).

use super::invariants::{Exchange, Invariants, Violation, is_issuer};
use super::model::{
    Action, Capabilities, FaultProfile, HostileAsMetadata, HostileRegistration, Server, THIRD_MCP, Tool,
    ToolTable, Topology, UPPER_CASE_SCOPES, WithheldCodeUse,
};
use super::tap::{Tap, TapHandle, UPPER_CASE_CLIENT, Withheld, query_param, unverified_claims};

mod dpop_thief;
mod own_clients;
use crate::world::{AS, EVIL, MCP, OTHER_MCP, REDIRECT, World};
use bytes::Bytes;
use mcp_authz_reference::access_token::Validator;
use mcp_authz_reference::authorization_server::RegisteredClient;
use mcp_authz_reference::authorization_server::{self as authz, AuthorizationServer};
use mcp_authz_reference::client::{
    ClientAuth, ConfidentialClient, ConfidentialClientConfig, Eras, Operation, PublicClient,
    PublicClientConfig,
};
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_reference::jwt::{Jwks, KeySet};
use mcp_authz_reference::mcp_server::{self, McpServer};
use mcp_authz_reference::sans_io::Env;
use mcp_authz_reference::sans_io::{Request, Response};
use mcp_authz_reference::{Error, wire};
use mcp_authz_sim::driver::{Next, Run};
use mcp_authz_sim::sim::{Channel, Faults, clone_request};
use own_clients::{define_upper_case_scopes, own_registration, with_upper_case_scopes};
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
pub(super) const SERVICE: &str = "service0";
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
        exercised: runner.invariants.exercised().clone(),
        trace: runner.world.sim.trace().to_string(),
    })
}

/// A client and the URL of the MCP server it is pointed at.
struct Party {
    client: PublicClient,
    server: String,
}

impl Party {
    /// A client `name` with `defects`, which uses DPoP when `dpop` (the authorization
    /// servers advertise it).
    fn new(name: &str, defects: &Defects, dpop: bool) -> Result<Party, Error> {
        let mut config = PublicClientConfig::new(Server::A.url(), REDIRECT, name);
        config.defects = defects.clone();
        config.dpop = dpop;
        // Legacy (2025-11-25) clients: exploration's session actions (an attacker replaying
        // a stolen `Mcp-Session-Id`) and the session defects (`scope-check-at-connect-only`)
        // need sessions, which the modern wire does not have; the catalog's RS-WIRE and
        // client scenarios cover modern requests. The committed regression cases replay
        // these traces.
        config.eras = Eras::LegacyOnly;
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
    /// Code requests it withheld from the AS.
    withheld: Vec<Withheld>,
    own: Option<Party>,
    /// Its second own client, which asks for upper-case scopes.
    upper: Option<Party>,
    /// The `client_id` its own registration got, by issuer (see [`Runner::own_client_id`]).
    registered: BTreeMap<String, String>,
    /// DPoP-bound access tokens seen, each with the proof it came with (never the key).
    dpop_tokens: Vec<(String, String)>,
    /// Its own DPoP key, made when first needed, the proofs it has made, and the last
    /// nonce a server asked it for.
    dpop_key: Option<mcp_authz_reference::jwt::SigningKey>,
    dpop_proofs_made: u32,
    dpop_nonce: Option<String>,
}

fn push_new<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

struct Runner {
    world: World,
    honest: Vec<Party>,
    attackers: Vec<Attacker>,
    tap: Rc<RefCell<Tap>>,
    /// The AS each drawn MCP server trusts.
    issuers: BTreeMap<Server, &'static str>,
    /// The tool table of each drawn MCP server.
    tables: BTreeMap<Server, ToolTable>,
    topology: Topology,
    invariants: Invariants,
    /// Whether the confidential client exists.
    services: bool,
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
        let jwks = define_upper_case_scopes(&mut world)?;
        let two = topology.authorization_servers >= 2;
        let jwks2 = if two { Some(second_authorization_server(&mut world, defects)?) } else { None };
        let (mut validators, mut issuers) = (BTreeMap::new(), BTreeMap::new());
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
            // The table is the whole truth the invariants judge by: no scope hierarchy.
            config.scope_implies.clear();
            world.sim.add_service(server.url().trim_end_matches("/mcp"), McpServer::new(config)?);
            validators.insert(server, Validator::new(issuer, server.url(), keys));
            issuers.insert(server, issuer);
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
        let tables: BTreeMap<Server, ToolTable> = servers.into_iter().collect();
        let honest = (0..topology.honest_clients.clamp(1, 3))
            .map(|i| Party::new(&format!("honest client {i}"), defects, topology.dpop))
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
            issuers,
            tables: tables.clone(),
            topology: topology.clone(),
            invariants: Invariants::new(validators, tables),
            services,
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
        let issuer = self.issuers.get(&server).copied().unwrap_or(AS);
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
        let mut run = Run::new(SERVICE, client.start(&mut Env::new(self.world.sim.now(), &mut rng)));
        loop {
            match run.poll() {
                Next::Send(req) => {
                    let fetched = self.world.send(SERVICE, req);
                    run.on_response(&mut client, fetched, &mut Env::new(self.world.sim.now(), &mut rng));
                }
                Next::Failed(e) | Next::GaveUp(e) => return Err(e),
                Next::Done(_) | Next::Authorize(_) => break,
            }
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
                    self.own_call(a, false, self.topology.server(server), tool)?;
                }
            }
            Action::UpperCaseScopeFlow { attacker, server, tool } => {
                let a = pick(attacker);
                if self.attackers[a].capabilities.own_client {
                    self.own_call(a, true, self.topology.server(server), tool)?;
                }
            }
            Action::BatchCall { attacker, server, first, then } => {
                let a = pick(attacker);
                if self.attackers[a].capabilities.own_client {
                    self.batch_call(a, self.topology.server(server), [first, then])?;
                }
            }
            Action::WithholdNextTokenRequest { attacker } => {
                let a = pick(attacker);
                if self.attackers[a].capabilities.token_requests {
                    self.tap.borrow_mut().withholding.push(a);
                }
            }
            Action::RedeemWithheldCode { attacker, loot, how } => {
                let a = pick(attacker);
                if let Some(k) = pick_in(self.attackers[a].withheld.len(), loot) {
                    let withheld = self.attackers[a].withheld[k].clone();
                    self.redeem_withheld(a, &withheld, how)?;
                }
            }
            Action::RegisterHostile { attacker, metadata } => {
                let a = pick(attacker);
                if !self.attackers[a].capabilities.own_client {
                    return Ok(());
                }
                let mut body = own_registration(a);
                body["scope"] = "mcp:read".into();
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
            Action::StealDpopToken { attacker, loot, server, tool, how } => {
                let a = pick(attacker);
                if self.attackers[a].capabilities.resource {
                    self.steal_dpop_token(a, loot, self.topology.server(server), tool, how)?;
                }
            }
            Action::HijackSession { attacker, loot, tool } => {
                let a = pick(attacker);
                let sessions = &self.attackers[a].sessions;
                let Some(k) = pick_in(sessions.len(), loot) else { return Ok(()) };
                let (server, session) = sessions[k].clone();
                let att = &self.attackers[a];
                let owner = self.invariants.session_owner(server, &session);
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

    /// Reads what the tap saw since the last step, hands each exchange to the attackers
    /// that can see it and to the invariants, and has the invariants about validity
    /// checked.
    fn check(&mut self, step: usize) -> Option<Violation> {
        let (log, intercepted, withheld) = {
            let mut tap = self.tap.borrow_mut();
            (
                std::mem::take(&mut tap.log),
                std::mem::take(&mut tap.intercepted),
                std::mem::take(&mut tap.withheld),
            )
        };
        for (a, w) in withheld {
            let client_id = w.form.get("client_id").cloned().unwrap_or_default();
            self.world.note(&format!("attacker{a} withheld the code request of {client_id}"));
            if let Some(att) = self.attackers.get_mut(a) {
                att.withheld.push(w);
            }
        }
        for (a, code, client_id, issuer) in intercepted {
            self.world.note(&format!("attacker{a} intercepted the authorization response for {client_id}"));
            if let Some(att) = self.attackers.get_mut(a) {
                push_new(&mut att.codes, (code, client_id, issuer));
            }
        }
        let mut first = None;
        for o in &log {
            let exchange = Exchange::new(o);
            self.loot(&exchange);
            if let Some(v) = self.invariants.observe(&exchange, step) {
                first.get_or_insert(v);
            }
        }
        first.or_else(|| {
            let (now, sim) = (self.world.sim.now(), &mut self.world.sim);
            self.invariants.check_inactive(step, |token| {
                [AS, AS2].iter().any(|iss| {
                    sim.service::<AuthorizationServer>(iss)
                        .is_some_and(|s| s.introspection(token, now).active)
                })
            })
        })
    }

    /// What each attacker learns from `exchange`, by its capabilities.
    fn loot(&mut self, exchange: &Exchange<'_>) {
        let o = exchange.seen;
        let from_honest_client = o.from.acts_for("honest") || o.from == SERVICE;
        if !from_honest_client {
            return;
        }
        let server = exchange.server;
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
                && o.from.is_browser()
                && let Some(code) = o.location.as_deref().and_then(|l| query_param(l, "code"))
            {
                let client_id = query_param(&o.request.uri().to_string(), "client_id").unwrap_or_default();
                push_new(&mut att.codes, (code, client_id, o.to.clone()));
            }
            if c.resource
                && let Some(server) = server
            {
                if let Some(t) = &exchange.bearer {
                    if let Some(principal) = exchange.principal() {
                        att.principals.insert(t.clone(), principal);
                    }
                    push_new(&mut att.access_tokens, t.clone());
                    // A bound token with the proof of a request it served (one the server
                    // refused, for want of its nonce say, is of no use).
                    let bound = exchange.claims.as_ref().is_some_and(|c| c.bound_jkt().is_some());
                    if let Some(proof) = o.dpop_proof().filter(|_| bound && (200..300).contains(&o.status)) {
                        push_new(&mut att.dpop_tokens, (t.clone(), proof));
                    }
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
            if let Some(v) = self.invariants.liveness(i, done, step) {
                return Some(v);
            }
        }
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
    let config = with_upper_case_scopes(config);
    let server = world.sim.env_for("as2", |env| AuthorizationServer::new(config, env))?;
    let keys = server.jwks();
    world.sim.add_service(AS2, server);
    Ok(keys)
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}
