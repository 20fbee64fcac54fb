//! What a scenario runs against: a [`Target`].
//!
//! A scenario body never asks what kind of target it has. It calls the [`World`]'s
//! operations, and the world asks its target for the few things that differ between
//! targets: whose key signs the tokens MCP server A trusts, how time passes, how the
//! client under test is run, how an authorization is completed, what the harness can see.
//! An operation only some targets can carry out returns `Result<_, Skip>`, and the case
//! is skipped with the reason; what a scenario needs before it starts it declares in its
//! metadata ([`Need`]), and the runner skips it uniformly when the target cannot provide
//! it ([`Target::provides`]).
//!
//! This crate has one target, [`SimulatedRoles`]: every role is a reference role in the
//! simulator. The `mcp-authz-live` crate adds a live MCP server, a live authorization
//! server and a client process; each stands in the simulator as a host like any other,
//! so the adversary, the traces and the scenario bodies are the same.

use super::{AS, AsUnderTest, MCP_ORIGIN, OTHER_MCP, OTHER_ORIGIN, REDIRECT, World};
use mcp_authz_reference::Error;
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::authorization_server::{AuthorizationServer, RegisteredClient};
use mcp_authz_reference::client::{Operation, Outcome, PublicClient};
use mcp_authz_reference::jwt::{Jwk, SigningKey};
use mcp_authz_reference::mcp_server::McpServer;
use mcp_authz_sim::scenario::{Need, Revision, Role};
use mcp_authz_sim::sim::Sim;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

/// Why a target cannot do what a scenario asks: the case is skipped with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

impl Skip {
    /// A skip with reason `why`.
    pub fn because(why: impl Into<String>) -> Skip {
        Skip(why.into())
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a target gave no token for some claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MintError {
    /// It cannot give one with these claims (the case is skipped with the reason): the
    /// server trusts an authorization server whose key the harness does not hold.
    Cannot(Skip),
    /// Getting one failed (the case is `error`): a token command that failed, say.
    Failed(String),
}

impl From<Error> for MintError {
    fn from(e: Error) -> MintError {
        MintError::Failed(e.to_string())
    }
}

/// Completes an authorization outside the harness's browser: opens the authorization
/// URL and returns the redirect it ended at (`--authorize-hook`).
pub type Authorize = Rc<dyn Fn(&str) -> Result<String, String>>;

/// What the harness observed of the client under test, beyond the simulator's traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientObservations {
    /// Where it put a token it was issued where it must not: in a URL or body, or in an
    /// `Authorization` header to another server (watched on a client process's traffic).
    pub token_leaks: Vec<String>,
    /// What it sent through the harness's proxy: `METHOD url` or `CONNECT host:port`
    /// (a client process's requests to addresses the world does not serve).
    pub proxied: Vec<String>,
    /// The authorization URLs it opened: handed to the browser by the reference client,
    /// or to the harness's browser command (env `BROWSER`) by a process.
    pub opened: Vec<String>,
    /// What it printed: a process's stdout and stderr, of every run (the last 64 KiB of
    /// each). Empty for the reference client, which prints nothing: what it reports is
    /// the outcome of its run.
    pub output: String,
}

/// The kinds of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Every role is a reference role in the simulator.
    Simulated,
    /// A live MCP server (over HTTP or an in-process tower `Service`) in the place of
    /// MCP server A; the harness plays its authorization server.
    McpServer,
    /// A live authorization server in the place of the AS.
    AuthorizationServer,
    /// A client that is a process of its own in the place of the reference client.
    ClientProcess,
}

impl TargetKind {
    /// The role a live target tests; `None` for the simulated roles, which run every
    /// scenario.
    pub fn role(self) -> Option<Role> {
        match self {
            TargetKind::Simulated => None,
            TargetKind::McpServer => Some(Role::McpServer),
            TargetKind::AuthorizationServer => Some(Role::AuthorizationServer),
            TargetKind::ClientProcess => Some(Role::Client),
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::Simulated => "the simulated reference roles",
            TargetKind::McpServer => "an MCP server",
            TargetKind::AuthorizationServer => "an authorization server",
            TargetKind::ClientProcess => "a client",
        })
    }
}

/// What a scenario runs against. The [`World`] holds one and asks it for what differs
/// between targets; everything else (the simulator, the adversary, the other roles) is
/// the same for all.
pub trait Target {
    /// What kind of target this is.
    fn kind(&self) -> TargetKind;

    /// `Ok` when this target can give a scenario `need`; else why not (the case is
    /// skipped).
    fn provides(&self, need: Need, as_under_test: &AsUnderTest) -> Result<(), Skip>;

    /// The MCP revisions the target speaks: the cases are graded by them.
    fn speaks(&self) -> Vec<Revision> {
        Revision::ALL.to_vec()
    }

    /// Transport failures talking to a live role so far (timeouts, refusals, oversized
    /// answers, redirects): they make the case `error`, whatever it concluded.
    fn transport_failures(&self) -> Vec<String> {
        Vec::new()
    }

    /// Calls `f` with the signing key of the authorization server MCP server A trusts;
    /// why not, when the harness does not hold it (a server that trusts another AS).
    fn with_signing_key(&self, sim: &mut Sim, f: &mut dyn FnMut(&SigningKey)) -> Result<(), Skip>;

    /// The public keys of that authorization server (its JWKS), for the forgeries a
    /// public key allows (HMAC keyed with it, another key under its `kid`).
    fn trusted_keys(&self, sim: &mut Sim) -> Vec<Jwk>;

    /// A token MCP server A (or B) accepts with `claims`: signed with that key, or got
    /// from the server's own authorization server where the claims are ones it issues.
    fn mint(&self, sim: &mut Sim, claims: &AccessTokenClaims) -> Result<String, MintError>;

    /// How many times that authorization server has served its JWKS; why the harness
    /// cannot count them, when it is not the harness's.
    fn jwks_requests(&self, sim: &Sim) -> Result<u64, Skip>;

    /// How many side-effecting tool runs MCP server A has performed (a live server's
    /// effects are judged by its answers).
    fn side_effects(&self, sim: &mut Sim) -> Result<u64, Skip>;

    /// The `Authorization` header values the downstream API MCP server A calls has
    /// received (a live server's outbound calls are not seen).
    fn downstream_authorizations_seen(&self) -> Result<Vec<String>, Skip>;

    /// Lets `d` pass at the target, after the simulated clock has moved: a live role's
    /// clock is the real one, so the harness sleeps.
    fn wait(&self, _d: Duration) {}

    /// Completes authorizations outside the harness's browser, if this target does
    /// (`--authorize-hook`).
    fn authorize_hook(&self) -> Option<Authorize> {
        None
    }

    /// Registers `client` at the authorization server under test directly, without
    /// dynamic registration (only a simulated AS can be reached that way).
    fn register_directly(&self, sim: &mut Sim, issuer: &str, client: RegisteredClient) -> Result<(), Skip> {
        let server = reference_as(sim, issuer)?;
        server.register_client(client);
        Ok(())
    }

    /// Makes the authorization server under test show its login and consent forms.
    /// `Ok(true)`: a new AS was put in place, whose clients must be registered again.
    fn show_login_forms(&self, sim: &mut Sim, as_under_test: &mut AsUnderTest) -> Result<bool, Skip>;

    /// Why an authorization walk that stops at a sign-in makes the case skipped: the
    /// target never signs in, by design (a scan). `None` (the default): the harness was
    /// to sign in and lacks a login, and the case says what to give it.
    fn never_signs_in(&self) -> Option<String> {
        None
    }

    /// The next run of the client under test is of a new client (no state kept).
    fn new_client(&self) {}

    /// Runs the client under test, named `name` in the trace, for `op`: the reference
    /// `client`, or a process of its own pointed at `client`'s server.
    fn run_client(
        &mut self,
        sim: &mut Sim,
        name: &str,
        client: &mut PublicClient,
        op: Operation,
    ) -> Result<Outcome, Error> {
        sim.run_client(name, client, REDIRECT, |c, env| c.start(op, env))
    }

    /// What the harness observed of the client under test so far (nothing, for a target
    /// that tests another role).
    fn client_observations(&self) -> ClientObservations {
        ClientObservations::default()
    }

    /// True when the client's requests to addresses the world does not serve reach the
    /// harness only through its proxy (a process, which may ignore `HTTPS_PROXY`); false
    /// when the simulator sees every request (the reference client).
    fn client_egress_via_proxy(&self) -> bool {
        false
    }

    /// The URL of the client's own client ID metadata document: `Ok(None)` when the
    /// harness gives the client one (the reference client takes any URL), `Ok(Some(url))`
    /// for a client that has its own; else why it is not known.
    fn client_metadata_document(&self) -> Result<Option<String>, Skip> {
        Ok(None)
    }
}

/// The simulated authorization server at `issuer`, when it is one.
pub fn reference_as<'a>(sim: &'a mut Sim, issuer: &str) -> Result<&'a mut AuthorizationServer, Skip> {
    sim.service::<AuthorizationServer>(issuer)
        .ok_or_else(|| Skip::because(format!("the authorization server at {issuer} is not a simulated one")))
}

/// The simulated MCP server at `origin`, when it is one.
pub fn reference_mcp_server<'a>(sim: &'a mut Sim, origin: &str) -> Result<&'a mut McpServer, Skip> {
    sim.service::<McpServer>(origin)
        .ok_or_else(|| Skip::because(format!("the MCP server at {origin} is not a simulated one")))
}

/// Every role a reference role in the simulator ([`World::new`]).
#[derive(Default)]
pub struct SimulatedRoles {
    /// The `Authorization` headers the downstream API received.
    pub(crate) downstream_seen: Rc<RefCell<Vec<String>>>,
    /// The authorization URLs the reference client handed its browser.
    opened: Vec<String>,
}

impl SimulatedRoles {
    /// The simulated roles, whose downstream API records into `downstream_seen`.
    pub(crate) fn new(downstream_seen: Rc<RefCell<Vec<String>>>) -> SimulatedRoles {
        SimulatedRoles { downstream_seen, opened: Vec::new() }
    }
}

impl Target for SimulatedRoles {
    fn kind(&self) -> TargetKind {
        TargetKind::Simulated
    }

    fn provides(&self, _need: Need, _as_under_test: &AsUnderTest) -> Result<(), Skip> {
        Ok(())
    }

    fn with_signing_key(&self, sim: &mut Sim, f: &mut dyn FnMut(&SigningKey)) -> Result<(), Skip> {
        f(reference_as(sim, AS)?.signing_key());
        Ok(())
    }

    fn trusted_keys(&self, sim: &mut Sim) -> Vec<Jwk> {
        reference_as(sim, AS).map(|a| a.jwks().keys).unwrap_or_default()
    }

    fn mint(&self, sim: &mut Sim, claims: &AccessTokenClaims) -> Result<String, MintError> {
        Ok(reference_as(sim, AS).map_err(MintError::Cannot)?.sign_access_token(claims)?)
    }

    fn jwks_requests(&self, sim: &Sim) -> Result<u64, Skip> {
        let needle = format!("-> {AS} GET /jwks ");
        Ok(sim.trace().lines().filter(|l| l.contains(&needle)).count() as u64)
    }

    fn side_effects(&self, sim: &mut Sim) -> Result<u64, Skip> {
        Ok(reference_mcp_server(sim, MCP_ORIGIN)?.side_effects())
    }

    fn downstream_authorizations_seen(&self) -> Result<Vec<String>, Skip> {
        Ok(self.downstream_seen.borrow().clone())
    }

    fn run_client(
        &mut self,
        sim: &mut Sim,
        name: &str,
        client: &mut PublicClient,
        op: Operation,
    ) -> Result<Outcome, Error> {
        let opened = &mut self.opened;
        sim.run_client_watched(name, client, REDIRECT, |c, env| c.start(op, env), &mut |url| {
            opened.push(url.to_string());
        })
    }

    fn client_observations(&self) -> ClientObservations {
        ClientObservations { opened: self.opened.clone(), ..ClientObservations::default() }
    }

    fn show_login_forms(&self, sim: &mut Sim, as_under_test: &mut AsUnderTest) -> Result<bool, Skip> {
        let issuer = as_under_test.issuer.clone();
        let config = reference_as(sim, &issuer)?.config().clone();
        let config = mcp_authz_reference::authorization_server::Config { auto_approve: false, ..config };
        let server = sim.env_for("as-with-login-form", |env| AuthorizationServer::new(config, env));
        let server =
            server.map_err(|e| Skip::because(format!("cannot build the AS with a login form: {e}")))?;
        sim.add_service(&issuer, server);
        sim.note("setup: the AS shows its login and consent form");
        as_under_test.login =
            Some(mcp_authz_sim::browser::Login { username: "alice".into(), password: "alice".into() });
        Ok(true)
    }
}

impl World {
    /// What kind of target this world runs against.
    pub fn target_kind(&self) -> TargetKind {
        self.target.kind()
    }

    /// `Ok` when the target can give `need`; else why not.
    pub fn provides(&self, need: Need) -> Result<(), Skip> {
        self.target.provides(need, &self.as_under_test)
    }

    /// Registers `client` at the authorization server under test directly, where the
    /// target allows it (a simulated AS); else why not.
    pub fn register_directly(&mut self, client: RegisteredClient) -> Result<(), Skip> {
        let issuer = self.as_under_test.issuer.clone();
        self.target.register_directly(&mut self.sim, &issuer, client)
    }

    /// What the harness observed of the client under test so far.
    pub fn client_observations(&self) -> ClientObservations {
        self.target.client_observations()
    }

    /// The URL of the client's own metadata document (see
    /// [`Target::client_metadata_document`]).
    pub fn client_metadata_document(&self) -> Result<Option<String>, Skip> {
        self.target.client_metadata_document()
    }

    /// True when the client's requests to addresses the world does not serve reach the
    /// harness only through its proxy (see [`Target::client_egress_via_proxy`]).
    pub fn client_egress_via_proxy(&self) -> bool {
        self.target.client_egress_via_proxy()
    }

    /// `Ok` when MCP server B ([`OTHER_MCP`]) is simulated, trusting the AS server A
    /// trusts: the harness can call it and an honest client can use it; else why not.
    pub fn other_server(&mut self) -> Result<(), Skip> {
        match reference_mcp_server(&mut self.sim, OTHER_ORIGIN) {
            Ok(_) => Ok(()),
            Err(_) => Err(Skip::because(format!(
                "needs MCP server B ({OTHER_MCP}) for an honest client to use, which the harness simulates \
                 only when the server under test trusts the harness's authorization server (this one trusts \
                 its own, whose tokens B could not check)"
            ))),
        }
    }

    /// The simulated AS stops offering DPoP: its metadata lists no algorithms and it issues
    /// `Bearer` tokens whatever a client sends; it keeps its signing key, so the servers
    /// that trust it still do.
    pub fn offer_no_dpop(&mut self) -> Result<(), Error> {
        let server = self.authorization_server().map_err(|s| Error::Config(s.0))?;
        let key = server.signing_key();
        let key = SigningKey::from_pkcs8_der(key.alg(), key.kid(), &key.to_pkcs8_der()?)?;
        let mut config = server.config().clone();
        config.dpop.algorithms.clear();
        let mut server = self.sim.env_for("as-without-dpop", |env| AuthorizationServer::new(config, env))?;
        server.replace_signing_key(key);
        self.sim.add_service(AS, server);
        Ok(())
    }

    /// The simulated server at `origin` is also reached at `alias` (a client process is
    /// given loopback origins): its DPoP proofs may name `alias` in `htu`, and
    /// [`World::unaliased`] reads such URLs back.
    pub fn reached_at(&mut self, alias: &str, origin: &str) {
        if let Some(server) = self.sim.service::<AuthorizationServer>(origin) {
            server.dpop_also_reached_at(alias);
        }
        if let Some(server) = self.sim.service::<McpServer>(origin) {
            server.dpop_also_reached_at(alias);
        }
        self.aliases.push((alias.to_string(), origin.to_string()));
    }

    /// `url` with an alias origin ([`World::reached_at`]) replaced by the simulated one.
    pub fn unaliased(&self, url: &str) -> String {
        mcp_authz_reference::dpop::unaliased(url, &self.aliases)
    }

    /// Makes the authorization server under test show its login and consent forms (see
    /// [`Target::show_login_forms`]); `Ok(true)` when a new AS was put in place.
    pub fn show_login_forms(&mut self) -> Result<bool, Skip> {
        self.target.show_login_forms(&mut self.sim, &mut self.as_under_test)
    }
}
