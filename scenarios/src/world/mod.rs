//! The world a scenario runs in: the reference roles in the simulator, at fixed origins,
//! with the defects of the run injected, and the helpers scenario bodies share (mint a
//! token, call a tool, run an honest client).
//!
//! | origin | what |
//! |---|---|
//! | `https://as.example` | the trusted authorization server |
//! | `https://mcp.example/mcp` | MCP server A (the usual target) |
//! | `https://api.example/downstream` | the downstream API server A calls with its own token |
//! | `https://other.example/mcp` | MCP server B, trusting the same AS |
//! | `https://evil.example` | the attacker's servers (hostile RS / AS / canaries), added per scenario |
//! | `https://idp.example` | the enterprise IdP the AS trusts for ID-JAGs ([`enterprise`]) |
//!
//! What the world runs against is its [`Target`] ([`target`]): the simulated reference
//! roles ([`World::new`]), or — from the `mcp-authz-live` crate — an implementer's MCP
//! server in the place of MCP server A, an authorization server in the place of the AS,
//! or a client process in the place of the reference client. The scenarios read
//! `w.issuer`, `w.mcp`, `w.tools` and `w.as_under_test` rather than the constants, so
//! the same bodies run against every target.
//!
//! - [`topology`]: the fixed origins, the tools of MCP server A, the roles' configuration.
//! - [`as_under_test`]: the authorization server the AS scenarios test, registration,
//!   introspection, the browser's walk.
//! - [`observe`]: taps, recorders, fake hosts and canaries; reading answers.
//! - [`stateless`]: requests of MCP 2026-07-28's stateless wire.
//! - [`target`]: the [`Target`] trait and the simulated roles.

mod as_under_test;
pub mod enterprise;
mod observe;
pub mod stateless;
pub mod target;
mod topology;

pub use as_under_test::{AsUnderTest, Introspector, discover};
pub use enterprise::{Enterprise, IssuerKey};
pub use observe::*;
pub use target::{Authorize, ClientObservations, MintError, SimulatedRoles, Skip, Target, TargetKind};
pub use topology::*;

use bytes::Bytes;
use mcp_authz_reference::Error;
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, Validator};
use mcp_authz_reference::authorization_server::AuthorizationServer;
use mcp_authz_reference::client::{ClientStep, Era, Operation, Outcome, PublicClient, PublicClientConfig};
use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_reference::jwt::{Jwk, KeySet, SigningKey};
use mcp_authz_reference::mcp_server::{self, McpServer};
use mcp_authz_reference::sans_io::Time;
use mcp_authz_reference::sans_io::{Env, FetchError, FetchResult, Request};
use mcp_authz_sim::scenario::{Check, Revision};
use mcp_authz_sim::sim::{Sim, origin_of};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// What [`World::send_in_session`] got back.
pub enum SessionAnswer {
    /// The answer to the message.
    Message(FetchResult),
    /// The answer to an `initialize` that failed: the message was not sent.
    FailedInitialize(FetchResult),
}

/// A scenario's world.
pub struct World {
    /// The simulator.
    pub sim: Sim,
    /// The defects injected in this run.
    pub defects: Defects,
    /// The issuer MCP server A trusts: [`AS`], or the harness's AS in a live world.
    pub issuer: String,
    /// MCP server A, the server under test: [`MCP`], or the live server's URL.
    pub mcp: String,
    /// The tools of MCP server A the scenarios call.
    pub tools: Tools,
    /// The authorization server the AS scenarios test, and what they use of it.
    pub as_under_test: AsUnderTest,
    /// The MCP revisions the cases are graded by: those the target speaks, or the one
    /// asked for (`--revision`); each case by the newest it applies to.
    pub revisions: Vec<Revision>,
    /// The grant issuers the AS under test trusts whose keys the harness holds (see
    /// [`World::enterprise`]).
    enterprise: Option<Enterprise>,
    /// What the world runs against.
    target: Box<dyn Target>,
    /// Why the case cannot run against this target, once it found out (a token it
    /// cannot get).
    cannot_run: Option<Skip>,
    /// What failed on the harness's side (a token command, say): the case is `error`.
    failures: Vec<String>,
    /// Other origins simulated servers are reached at (a client process's loopback
    /// ones), each with the simulated origin it stands for ([`World::reached_at`]).
    aliases: Vec<(String, String)>,
}

/// What [`World::mint`] hands a body when the target gave no token: it is never sent.
const NOT_MINTED: &str = "not-minted";

impl World {
    /// The standard topology, with `defects` injected into the roles they belong to.
    pub fn new(seed: u64, defects: &Defects) -> Result<World, Error> {
        World::with_resources(seed, defects, &[])
    }

    /// The standard topology, whose authorization server also knows the resources
    /// `extra` (scopes `mcp:read mcp:write mcp:admin`); the caller adds their servers.
    pub fn with_resources(seed: u64, defects: &Defects, extra: &[&str]) -> Result<World, Error> {
        World::simulated(seed, defects, extra, |roles| Box::new(roles))
    }

    /// The standard topology, with `defects` injected, running against the target
    /// `wrap` makes of the simulated roles (a client process stands in for the
    /// reference client, the other roles stay simulated).
    pub fn simulated(
        seed: u64,
        defects: &Defects,
        extra: &[&str],
        wrap: impl FnOnce(SimulatedRoles) -> Box<dyn Target>,
    ) -> Result<World, Error> {
        World::simulated_at(mcp_authz_sim::sim::EPOCH, seed, defects, extra, wrap)
    }

    /// [`World::simulated`] with the clock starting at `now`: a client process signs
    /// with the real time (its DPoP proofs' `iat`), so its world starts there.
    pub fn simulated_at(
        now: Time,
        seed: u64,
        defects: &Defects,
        extra: &[&str],
        wrap: impl FnOnce(SimulatedRoles) -> Box<dyn Target>,
    ) -> Result<World, Error> {
        let mut sim = Sim::starting_at(seed, now);
        let mut as_config = reference_as_config(defects, extra);
        let grant_issuers = Enterprise::simulated(&mut sim)?;
        enterprise::trust(&mut as_config, &grant_issuers)?;
        let authorization_server = sim.env_for("as", |env| AuthorizationServer::new(as_config, env))?;
        let keys = KeySet::from_jwks(&authorization_server.jwks())?;
        sim.add_service(AS, authorization_server);
        let downstream_seen = Rc::new(RefCell::new(Vec::new()));
        let mut validator = Validator::new(AS, DOWNSTREAM, keys);
        // A plain function host has no clock: the API checks signature, issuer and
        // audience, and tolerates any time skew.
        validator.leeway_secs = 10 * 365 * 86_400;
        sim.add_fn(DOWNSTREAM_ORIGIN, downstream_api(validator, Rc::clone(&downstream_seen)));
        for url in [MCP, OTHER_MCP] {
            let config = mcp_config(url, AS, defects);
            let origin = url.trim_end_matches("/mcp");
            sim.add_service(origin, McpServer::new(config)?);
        }
        let mut world = World {
            sim,
            defects: defects.clone(),
            issuer: AS.into(),
            mcp: MCP.into(),
            tools: Tools::reference(),
            as_under_test: AsUnderTest::simulated(),
            revisions: Revision::ALL.to_vec(),
            enterprise: None,
            target: wrap(SimulatedRoles::new(downstream_seen)),
            cannot_run: None,
            aliases: Vec::new(),
            failures: Vec::new(),
        };
        world.with_grant_issuers(grant_issuers)?;
        Ok(world)
    }

    /// A world of `sim` (whose hosts are in place) running against `target`: MCP server
    /// A at `mcp` trusting `issuer`, with `tools`, and the authorization server the AS
    /// scenarios test. For the live targets, which bring roles of their own.
    pub fn with_target(
        sim: Sim,
        target: Box<dyn Target>,
        issuer: String,
        mcp: String,
        tools: Tools,
        as_under_test: AsUnderTest,
    ) -> World {
        let revisions = target.speaks();
        let defects = Defects::none();
        let (cannot_run, failures) = (None, Vec::new());
        let enterprise = None;
        World {
            sim,
            defects,
            issuer,
            mcp,
            tools,
            as_under_test,
            revisions,
            enterprise,
            target,
            cannot_run,
            failures,
            aliases: Vec::new(),
        }
    }
}

impl World {
    /// This world, grading its cases by `revision` alone when one is given (`--revision`).
    pub fn graded_by(mut self, revision: Option<Revision>) -> World {
        if let Some(r) = revision {
            self.revisions = vec![r];
        }
        self
    }

    /// The transport failures talking to a live role so far (timeouts, refused
    /// connections, oversized answers, redirects).
    pub fn transport_failures(&self) -> Vec<String> {
        self.target.transport_failures()
    }

    /// What failed on the harness's side so far (a token command): the case is `error`.
    pub fn harness_failures(&self) -> &[String] {
        &self.failures
    }

    /// MCP server A's origin.
    pub fn mcp_origin(&self) -> String {
        self.mcp.parse::<http::Uri>().ok().as_ref().and_then(origin_of).unwrap_or_default()
    }

    /// The configuration of an MCP server at `url` (ending in `/mcp`) trusting `issuer`,
    /// with the defects of this run; MCP server A's calls the downstream API.
    pub fn mcp_config(&self, url: &str, issuer: &str) -> mcp_server::Config {
        mcp_config(url, issuer, &self.defects)
    }

    /// The `Authorization` header values the downstream API has received; `None` when
    /// the target cannot see MCP server A's outbound calls (a live server).
    pub fn downstream_authorizations_seen(&self) -> Option<Vec<String>> {
        self.target.downstream_authorizations_seen().ok()
    }

    /// True when `d` is injected.
    pub fn has(&self, d: Defect) -> bool {
        self.defects.has(d)
    }

    /// The simulated authorization server the scenarios test, when it is one.
    pub fn authorization_server(&mut self) -> Result<&mut AuthorizationServer, Skip> {
        target::reference_as(&mut self.sim, AS)
    }

    /// MCP server A, when it is simulated.
    pub fn mcp_server(&mut self) -> Result<&mut McpServer, Skip> {
        target::reference_mcp_server(&mut self.sim, MCP_ORIGIN)
    }

    /// The current time.
    pub fn now(&self) -> Time {
        self.sim.now()
    }

    /// A GET for `url` from `from`.
    pub fn get(&mut self, from: &str, url: &str) -> FetchResult {
        self.sim.get(from, url)
    }

    /// Runs `f` with the signing key of the AS server A trusts; `Err` (the case is then
    /// skipped, see [`World::cannot_run`]) when the harness does not hold it.
    pub fn with_signing_key<T>(&mut self, f: impl FnOnce(&SigningKey) -> T) -> Result<T, Check> {
        let (mut f, mut out) = (Some(f), None);
        let held = self.target.with_signing_key(&mut self.sim, &mut |key| out = f.take().map(|f| f(key)));
        match (held, out) {
            (Ok(()), Some(out)) => Ok(out),
            (Err(skip), _) => Err(self.cannot(skip)),
            (Ok(()), None) => Err(self.cannot(Skip::because("the trusted AS has no signing key"))),
        }
    }

    /// The public keys of the AS server A trusts (its JWKS).
    pub fn trusted_keys(&mut self) -> Vec<Jwk> {
        self.target.trusted_keys(&mut self.sim)
    }

    /// A fresh key for `alg` with `kid`, drawn from the seed (an attacker's key).
    pub fn generate_key(&mut self, alg: Algorithm, kid: &str) -> SigningKey {
        self.sim
            .env_for(&format!("key:{kid}"), |env| SigningKey::generate(alg, kid, env))
            .expect("key generation from a seeded rng")
    }

    /// How many times the trusted AS has served its JWKS (fetch amplification is counted
    /// where it hurts: at the AS); `Err` (the case is then skipped) when the harness
    /// cannot count them.
    pub fn jwks_requests(&mut self) -> Result<u64, Check> {
        self.target.jwks_requests(&self.sim).map_err(|skip| self.cannot(skip))
    }

    /// How many side-effecting tool runs MCP server A has performed; `None` for a live
    /// server, whose effects the harness judges by its answers.
    pub fn side_effects(&mut self) -> Option<u64> {
        self.target.side_effects(&mut self.sim).ok()
    }

    /// Claims of a valid token for MCP server A, user alice, scopes `scope`, issued now.
    pub fn claims(&self, scope: &str) -> AccessTokenClaims {
        let now = self.sim.now().unix_secs();
        AccessTokenClaims {
            iss: self.issuer.clone(),
            sub: Some("alice".into()),
            aud: Audience::one(self.mcp.clone()),
            client_id: Some("honest-client".into()),
            scope: Some(scope.into()),
            exp: Some(now + 600),
            iat: Some(now),
            nbf: None,
            jti: Some(format!("jti-{now}-{scope}")),
            cnf: None,
        }
    }

    /// A token server A accepts with `claims`: signed with the current key of the AS it
    /// trusts (see [`Target::mint`]). When the target cannot give one, the case cannot
    /// run ([`World::cannot_run`]) and nothing more is sent; when getting one failed,
    /// the case is `error`. Either way the body goes on with a placeholder, whose
    /// verdict is not reported.
    pub fn mint(&mut self, claims: &AccessTokenClaims) -> String {
        self.try_mint(claims).unwrap_or_else(|skip| {
            self.cannot(skip);
            NOT_MINTED.into()
        })
    }

    /// As [`World::mint`], for a token one variant of a case needs: the variant reports
    /// why there is none, and the case goes on.
    pub fn try_mint(&mut self, claims: &AccessTokenClaims) -> Result<String, Skip> {
        match self.target.mint(&mut self.sim, claims) {
            Ok(token) => Ok(token),
            Err(MintError::Cannot(skip)) => Err(skip),
            Err(MintError::Failed(why)) => {
                self.failures.push(why.clone());
                Err(Skip(why))
            }
        }
    }

    /// Records that the case cannot run here, for `skip`'s reason (the first reason is
    /// kept): nothing more is sent, and the case is skipped whatever it concluded.
    pub fn cannot(&mut self, skip: Skip) -> Check {
        let check = Check::NotApplicable(skip.0.clone());
        self.cannot_run.get_or_insert(skip);
        check
    }

    /// Why the case could not run here, if it could not (see [`World::cannot`]).
    pub fn cannot_run(&self) -> Option<&Skip> {
        self.cannot_run.as_ref()
    }

    /// A JSON-RPC POST to `url` with optional bearer `token` and extra headers.
    pub fn rpc_request(url: &str, token: Option<&str>, body: &Value, headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Bytes::from(body.to_string())).expect("valid request")
    }

    /// The `initialize` request body.
    pub fn initialize_body() -> Value {
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"scenario","version":"1"}}})
    }

    /// A `tools/call` body.
    pub fn call_body(tool: &str, arguments: Value) -> Value {
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":tool,"arguments":arguments}})
    }

    /// Sends `req` from `from`; once the case cannot run ([`World::cannot_run`]), sends
    /// nothing and answers with why.
    pub fn send(&mut self, from: &str, req: Request) -> FetchResult {
        match &self.cannot_run {
            Some(skip) => Err(FetchError { url: req.uri().to_string(), reason: format!("not sent: {skip}") }),
            None => self.sim.send(from, req),
        }
    }

    /// Opens with `token` at `url` (see [`World::opening_body`]): the response, and the
    /// session id a legacy server assigned.
    pub fn open(&mut self, from: &str, url: &str, token: Option<&str>) -> (FetchResult, Option<String>) {
        let r = self.send(from, self.mcp_request(url, token, &self.opening_body(), &[]));
        let session = r
            .as_ref()
            .ok()
            .and_then(|r| r.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(String::from));
        (r, session)
    }

    /// Sends `message` to `url` with `token`: on the legacy wire in a session opened for
    /// it (`initialize`, `notifications/initialized`, then the message); on the modern
    /// wire, one request.
    pub fn send_in_session(&mut self, from: &str, url: &str, token: &str, message: &Value) -> SessionAnswer {
        if self.wire() == Era::Modern {
            return SessionAnswer::Message(self.send(from, self.mcp_request(url, Some(token), message, &[])));
        }
        let (init, session) = self.open(from, url, Some(token));
        if !init.as_ref().is_ok_and(|r| r.status().is_success()) {
            return SessionAnswer::FailedInitialize(init);
        }
        let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
        // A server without sessions issues no id: the messages go without one.
        let mut headers = vec![("mcp-protocol-version", "2025-11-25")];
        if let Some(session) = &session {
            headers.push(("mcp-session-id", session.as_str()));
        }
        let _ = self.send(from, Self::rpc_request(url, Some(token), &initialized, &headers));
        SessionAnswer::Message(self.send(from, Self::rpc_request(url, Some(token), message, &headers)))
    }

    /// Calls `tool` at `url` with `token` (see [`World::send_in_session`]): the call's
    /// response, or the failed `initialize`'s.
    pub fn call_tool(
        &mut self,
        from: &str,
        url: &str,
        token: &str,
        tool: &str,
        arguments: Value,
    ) -> FetchResult {
        let call = Self::call_body(tool, arguments);
        match self.send_in_session(from, url, token, &call) {
            SessionAnswer::Message(r) | SessionAnswer::FailedInitialize(r) => r,
        }
    }

    /// Calls `tool` at MCP server A with `token` (see [`World::call_tool`]).
    pub fn call(&mut self, from: &str, token: &str, tool: &Tool) -> FetchResult {
        let url = self.mcp.clone();
        self.call_tool(from, &url, token, &tool.name, tool.arguments.clone())
    }

    /// A (new) reference public client for `server`, with the client defects of this
    /// run; for an external client under test, the next run is of a new client (empty
    /// state folder).
    pub fn public_client(&self, server: &str) -> PublicClient {
        self.public_client_with(server, |_| {}).expect("valid client config")
    }

    /// A (new) reference public client for `server` configured by `configure`, with the
    /// client defects of this run (see [`World::public_client`]).
    pub fn public_client_with(
        &self,
        server: &str,
        configure: impl FnOnce(&mut PublicClientConfig),
    ) -> Result<PublicClient, Error> {
        self.target.new_client();
        let mut config = PublicClientConfig::new(server, REDIRECT, "honest client");
        configure(&mut config);
        config.defects = self.defects.clone();
        PublicClient::new(config)
    }

    /// Runs `client` (named `name` in the trace) for `op`.
    pub fn run_client(
        &mut self,
        name: &str,
        client: &mut PublicClient,
        op: Operation,
    ) -> Result<Outcome, Error> {
        self.target.run_client(&mut self.sim, name, client, op)
    }

    /// Runs an explicit step of `client` (e.g. a refresh) to completion.
    pub fn run_client_step(
        &mut self,
        name: &str,
        client: &mut PublicClient,
        start: impl FnOnce(&mut PublicClient, &mut Env<'_>) -> ClientStep,
    ) -> Result<Outcome, Error> {
        self.sim.run_client(name, client, REDIRECT, start)
    }

    /// An honest client that connected to MCP server A and called `echo`.
    pub fn connected_client(&mut self, name: &str) -> Result<PublicClient, Error> {
        let mut client = self.public_client(MCP);
        let op = Operation::CallTool { name: "echo".into(), arguments: json!({"text": "hi"}) };
        self.run_client(name, &mut client, op)?;
        Ok(client)
    }

    /// Moves the clock.
    pub fn advance(&mut self, d: Duration) {
        self.sim.advance(d);
    }

    /// Lets `d` pass: the simulated clock advances, and with a live server under test
    /// the harness also sleeps, since the server's clock is the real one.
    pub fn wait(&mut self, d: Duration) {
        self.target.wait(d);
        self.sim.advance(d);
    }

    /// A trace note.
    pub fn note(&mut self, s: &str) {
        self.sim.note(s);
    }
}
