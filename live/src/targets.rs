//! The catalog's live [`Target`]s. Each puts a live role in the place of a simulated
//! one, as a host of the simulator like any other, so the adversary, the trace and the
//! scenario bodies stay the same:
//!
//! - [`LiveTarget`] → [`live_server_world`]: an implementer's MCP server (over HTTP or an
//!   in-process tower `Service`) in the place of MCP server A, the harness's own
//!   authorization server ([`TestAuthority`]) in the place of the AS; server B and the
//!   attacker stay simulated.
//! - [`LiveAs`] → [`live_as_world`]: an authorization server in the place of the AS, its
//!   endpoints read from its metadata.
//! - [`LiveClient`] → [`client_process_world`]: a client that is a process of its own in
//!   the place of the reference client; every other role is simulated.

use crate::client_under_test::{ClientUnderTest, LiveClient};
use crate::target::Connect;
use crate::tokens::TokenSource;
use http::StatusCode;
use mcp_authz_reference::Error;
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::client::{Operation, Outcome, PublicClient};
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::jwt::{Jwk, SigningKey};
use mcp_authz_reference::mcp_server::{self, McpServer};
use mcp_authz_reference::sans_io::{FetchResult, Request};
use mcp_authz_reference::wire;
use mcp_authz_scenarios::Scenario;
use mcp_authz_scenarios::world::{
    AS, AsUnderTest, Authorize, ClientObservations, Enterprise, MCP_ORIGIN, MintError, OTHER_MCP,
    OTHER_ORIGIN, Route, SimulatedRoles, Skip, Target, TargetKind, Tools, World, discover,
};
use mcp_authz_sim::browser::Login;
use mcp_authz_sim::scenario::{Need, Revision};
use mcp_authz_sim::sim::{Sim, origin_of};
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Transport failures talking to a live role: they make a case `error`.
type Failures = Rc<RefCell<Vec<String>>>;

/// What a live MCP server target needs: where the server under test is, how to reach
/// it, and where the tokens it accepts come from.
#[derive(Clone)]
pub struct LiveTarget {
    /// The MCP endpoint under test.
    pub url: String,
    /// Where the tokens come from: the harness's authorization server, which the server
    /// trusts, or the server's own.
    pub tokens: TokenSource,
    /// The tools the scenarios call.
    pub tools: Tools,
    /// Opens a connection for one case: each call sends one request to the server
    /// under test and returns its answer or the transport failure.
    pub connect: Connect,
    /// The MCP revisions the server speaks: the 2025 ones when it answered `initialize`,
    /// 2026-07-28 when it answered stateless requests. The cases are graded by them, and
    /// spoken in their era ([`World::wire`]).
    pub speaks: Vec<Revision>,
    /// The operator says the server accepts DPoP-bound tokens (`--dpop`).
    pub dpop: bool,
}

/// A live MCP server in the place of MCP server A.
struct LiveMcpServer {
    url: String,
    tokens: TokenSource,
    failures: Failures,
    speaks: Vec<Revision>,
    dpop: bool,
}

impl Target for LiveMcpServer {
    fn kind(&self) -> TargetKind {
        TargetKind::McpServer
    }

    fn speaks(&self) -> Vec<Revision> {
        self.speaks.clone()
    }

    fn provides(&self, need: Need, _as_under_test: &AsUnderTest) -> Result<(), Skip> {
        match need {
            Need::ModernWire if !self.speaks.contains(&Revision::R2026_07_28) => Err(Skip::because(
                "the server answered no 2026-07-28 request: it does not speak the stateless wire",
            )),
            Need::Dpop if !self.dpop => {
                Err(Skip::because("run with --dpop against a server that accepts DPoP"))
            }
            Need::Dpop if !matches!(self.tokens, TokenSource::Harness(_)) => Err(Skip::because(
                "needs tokens bound to the harness's DPoP key, which only the harness's authorization server \
                 issues (this server trusts its own)",
            )),
            _ => Ok(()),
        }
    }

    fn transport_failures(&self) -> Vec<String> {
        self.failures.borrow().clone()
    }

    fn with_signing_key(&self, _sim: &mut Sim, f: &mut dyn FnMut(&SigningKey)) -> Result<(), Skip> {
        self.tokens.with_signing_key(f)
    }

    fn trusted_keys(&self, _sim: &mut Sim) -> Vec<Jwk> {
        self.tokens.keys()
    }

    fn mint(&self, sim: &mut Sim, claims: &AccessTokenClaims) -> Result<String, MintError> {
        self.tokens.mint(&self.url, sim.now(), claims)
    }

    fn jwks_requests(&self, _sim: &Sim) -> Result<u64, Skip> {
        self.tokens.jwks_fetches()
    }

    fn side_effects(&self, _sim: &mut Sim) -> Result<u64, Skip> {
        Err(Skip::because("a live server's effects are judged by its answers"))
    }

    fn downstream_authorizations_seen(&self) -> Result<Vec<String>, Skip> {
        Err(Skip::because("the harness cannot see a live server's outbound calls"))
    }

    fn wait(&self, d: Duration) {
        std::thread::sleep(d);
    }

    fn show_login_forms(&self, _sim: &mut Sim, _as_under_test: &mut AsUnderTest) -> Result<bool, Skip> {
        Err(Skip::because("the harness's authorization server approves by itself"))
    }
}

/// A world for the MCP server scenarios: the server under test at `target.url` in the
/// place of MCP server A, the harness's AS in the place of the AS, server B (trusting
/// the harness's AS) simulated. The clock starts at `now`, the real time, so minted
/// tokens are current at the server under test.
pub fn live_server_world(
    seed: u64,
    now: mcp_authz_reference::sans_io::Time,
    target: &LiveTarget,
) -> Result<World, Error> {
    let mut sim = Sim::starting_at(seed, now);
    let issuer = target.tokens.issuer();
    if let TokenSource::Harness(authority) = &target.tokens {
        sim.add_service(&origin(&issuer)?, authority.served());
        sim.add_service(&origin(OTHER_MCP)?, McpServer::new(mcp_server::Config::new(OTHER_MCP, &issuer))?);
    }
    let failures = add_live_host(&mut sim, &origin(&target.url)?, (target.connect)(), true);
    let live = LiveMcpServer {
        url: target.url.clone(),
        tokens: target.tokens.clone(),
        failures,
        speaks: target.speaks.clone(),
        dpop: target.dpop,
    };
    Ok(World::with_target(
        sim,
        Box::new(live),
        issuer,
        target.url.clone(),
        target.tools.clone(),
        AsUnderTest::simulated(),
    ))
}

/// What a live authorization server target needs.
#[derive(Clone)]
pub struct LiveAs {
    /// The issuer under test.
    pub issuer: String,
    /// The resource to ask tokens for (one the AS knows).
    pub resource: String,
    /// A second resource it knows, if any.
    pub other_resource: Option<String>,
    /// Its introspection endpoint (RFC 7662), when its metadata names none
    /// (`--introspection-endpoint`; on the issuer's origin).
    pub introspection_endpoint: Option<String>,
    /// `resource` checks every token at this AS by introspection (`mcp-authz serve
    /// --introspect`, say): whether it still accepts an access token shows whether the AS
    /// revoked it (`--resource-introspects`).
    pub resource_introspects: bool,
    /// Who signs in at its login form (`None`: it approves by itself).
    pub login: Option<Login>,
    /// Completes authorizations outside the harness (`--authorize-hook`), instead of
    /// the harness's browser.
    pub authorize_hook: Option<Authorize>,
    /// A pre-registered client (id, secret) to use instead of registering the victim's
    /// app; its redirect URIs must include `http://127.0.0.1:7777/callback`. The
    /// attacker then has no app of its own.
    pub client: Option<(String, Option<String>)>,
    /// Its authorization-code lifetime, when the operator tells it: AS-CODE-08 then
    /// waits that long (real time) before redeeming a code. `None`: AS-CODE-08 skipped.
    pub code_lifetime: Option<Duration>,
    /// The operator lets the harness flood it (AS-REG-02 sends a burst of registrations,
    /// after which an AS that throttles them may refuse registrations for a while).
    /// `false`: AS-REG-02 skipped.
    pub flood: bool,
    /// The harness signs in where the AS asks (with `login` or `authorize_hook`); `false`
    /// for a scan, which never does: a case whose authorization stops at a sign-in is
    /// skipped, not undecided.
    pub signs_in: bool,
    /// Opens a connection to it for one case.
    pub connect: Connect,
    /// Grade by this MCP revision alone (`--revision`); `None`: each case by the newest
    /// revision it applies to.
    pub revision: Option<Revision>,
    /// Issuers of JWT authorization grants the AS trusts whose keys the harness holds,
    /// with the client registered there for the grant (`--jwt-bearer-client`); `None`:
    /// the JWT bearer grant cases are skipped.
    pub grant_issuers: Option<Enterprise>,
}

/// A live authorization server in the place of the AS.
struct LiveAuthorizationServer {
    authorize_hook: Option<Authorize>,
    flood: bool,
    signs_in: bool,
    failures: Failures,
}

impl Target for LiveAuthorizationServer {
    fn kind(&self) -> TargetKind {
        TargetKind::AuthorizationServer
    }

    fn provides(&self, need: Need, as_under_test: &AsUnderTest) -> Result<(), Skip> {
        match need {
            Need::FrontChannel if self.authorize_hook.is_some() => Err(Skip::because(
                "authorizations run in the authorize hook, where the adversary cannot reach the front channel",
            )),
            Need::LoginForms if self.authorize_hook.is_some() => {
                Err(Skip::because("the login pages are in the authorize hook's hands"))
            }
            Need::LoginForms if as_under_test.login.is_none() => {
                Err(Skip::because("no login given (--login): the harness cannot reach the forms"))
            }
            Need::CodeLifetime if as_under_test.code_lifetime.is_none() => Err(Skip::because(
                "a live AS's codes age in real time: give --code-lifetime SECS (its code lifetime) to wait it out",
            )),
            Need::Flood if !self.flood => Err(Skip::because(
                "a burst of registrations may leave the AS refusing registrations for a while: give --flood to allow it",
            )),
            _ => Ok(()),
        }
    }

    fn transport_failures(&self) -> Vec<String> {
        self.failures.borrow().clone()
    }

    fn with_signing_key(&self, _sim: &mut Sim, _f: &mut dyn FnMut(&SigningKey)) -> Result<(), Skip> {
        Err(Skip::because("the harness holds no key of a live authorization server"))
    }

    fn never_signs_in(&self) -> Option<String> {
        (!self.signs_in).then(|| {
            "a scan never signs in; `mcp-authz test-as --login USER:PASSWORD` (or --authorize-hook CMD) runs it"
                .to_string()
        })
    }

    fn trusted_keys(&self, _sim: &mut Sim) -> Vec<Jwk> {
        Vec::new()
    }

    fn mint(&self, _sim: &mut Sim, _claims: &AccessTokenClaims) -> Result<String, MintError> {
        Err(MintError::Cannot(Skip::because("the harness holds no key of a live authorization server")))
    }

    fn jwks_requests(&self, _sim: &Sim) -> Result<u64, Skip> {
        Err(Skip::because("the MCP server is not under test"))
    }

    fn side_effects(&self, _sim: &mut Sim) -> Result<u64, Skip> {
        Err(Skip::because("the MCP server is not under test"))
    }

    fn downstream_authorizations_seen(&self) -> Result<Vec<String>, Skip> {
        Err(Skip::because("the MCP server is not under test"))
    }

    fn wait(&self, d: Duration) {
        std::thread::sleep(d);
    }

    fn authorize_hook(&self) -> Option<Authorize> {
        self.authorize_hook.clone()
    }

    fn show_login_forms(&self, _sim: &mut Sim, as_under_test: &mut AsUnderTest) -> Result<bool, Skip> {
        self.provides(Need::LoginForms, as_under_test).map(|()| false)
    }
}

/// A world for the AS scenarios: the authorization server under test at
/// `target.issuer`, its endpoints read from its metadata (RFC 8414, else OpenID
/// discovery). The clock starts at `now`, the real time.
pub fn live_as_world(
    seed: u64,
    now: mcp_authz_reference::sans_io::Time,
    target: &LiveAs,
) -> Result<World, Error> {
    let mut sim = Sim::starting_at(seed, now);
    let issuer_at = issuer_origin(&target.issuer)?;
    let failures = add_live_host(&mut sim, &issuer_at, (target.connect)(), false);
    let revocation_probe = target.resource_introspects.then(|| target.resource.clone());
    if let Some(resource) = &revocation_probe {
        let at = origin(resource)?;
        if at != issuer_at {
            add_live_host_to(&mut sim, &at, (target.connect)(), false, &failures);
        }
    }
    let metadata = discover(&mut sim, &target.issuer)?;
    let missing = |what: &str| Error::Missing(format!("{what} in the metadata of {}", target.issuer));
    let as_under_test = AsUnderTest {
        issuer: target.issuer.clone(),
        authorization_endpoint: metadata
            .authorization_endpoint
            .clone()
            .ok_or_else(|| missing("authorization_endpoint"))?,
        token_endpoint: metadata.token_endpoint.clone().ok_or_else(|| missing("token_endpoint"))?,
        registration_endpoint: metadata.registration_endpoint.clone(),
        introspection_endpoint: metadata
            .introspection_endpoint
            .clone()
            .or_else(|| target.introspection_endpoint.clone()),
        introspection: None,
        revocation_probe,
        resource: target.resource.clone(),
        other_resource: target.other_resource.clone(),
        beyond_policy: ("mcp-authz:beyond-policy".into(), target.resource.clone()),
        login: target.login.clone(),
        app: target.client.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
        app_secret: target.client.as_ref().and_then(|c| c.1.clone()),
        evil_app: String::new(),
        code_lifetime: target.code_lifetime,
    };
    let live = LiveAuthorizationServer {
        authorize_hook: target.authorize_hook.clone(),
        flood: target.flood,
        signs_in: target.signs_in,
        failures,
    };
    let mut w = World::with_target(
        sim,
        Box::new(live),
        target.issuer.clone(),
        target.resource.clone(),
        Tools::reference(),
        as_under_test,
    );
    if let Some(endpoint) = w.as_under_test.introspection_endpoint.clone() {
        w.as_under_test.introspection = w.register_introspector(endpoint);
    }
    if let Some(issuers) = &target.grant_issuers {
        w.with_grant_issuers(issuers.clone())?;
    }
    Ok(w.graded_by(target.revision))
}

/// A client process in the place of the reference client; every other role is the
/// simulated reference role.
struct ClientProcess {
    roles: SimulatedRoles,
    client: ClientUnderTest,
    /// What the harness's own roles could not do for this client (fetch its metadata
    /// document): each makes the case `error`, never the client's `fail`.
    failures: Failures,
}

impl Target for ClientProcess {
    fn kind(&self) -> TargetKind {
        TargetKind::ClientProcess
    }

    fn provides(&self, need: Need, as_under_test: &AsUnderTest) -> Result<(), Skip> {
        match need {
            Need::PreRegistration => Err(Skip::because(
                "the harness cannot give a client process pre-registered credentials: `test-client` runs \
                 the command as it is, with no client id or secret to pass it",
            )),
            Need::GrantAssertion => Err(Skip::because(
                "the harness cannot hand a client process the JWT it would present as its grant (an ID \
                 token of the harness's enterprise IdP, a workload JWT of its platform): `test-client` runs \
                 the command as it is, with nothing to pass it",
            )),
            _ => self.roles.provides(need, as_under_test),
        }
    }

    fn with_signing_key(&self, sim: &mut Sim, f: &mut dyn FnMut(&SigningKey)) -> Result<(), Skip> {
        self.roles.with_signing_key(sim, f)
    }

    fn trusted_keys(&self, sim: &mut Sim) -> Vec<Jwk> {
        self.roles.trusted_keys(sim)
    }

    fn mint(&self, sim: &mut Sim, claims: &AccessTokenClaims) -> Result<String, MintError> {
        self.roles.mint(sim, claims)
    }

    fn jwks_requests(&self, sim: &Sim) -> Result<u64, Skip> {
        self.roles.jwks_requests(sim)
    }

    fn side_effects(&self, sim: &mut Sim) -> Result<u64, Skip> {
        self.roles.side_effects(sim)
    }

    fn transport_failures(&self) -> Vec<String> {
        self.failures.borrow().clone()
    }

    fn downstream_authorizations_seen(&self) -> Result<Vec<String>, Skip> {
        self.roles.downstream_authorizations_seen()
    }

    fn show_login_forms(&self, sim: &mut Sim, as_under_test: &mut AsUnderTest) -> Result<bool, Skip> {
        self.roles.show_login_forms(sim, as_under_test)
    }

    fn new_client(&self) {
        self.client.new_client();
    }

    fn run_client(
        &mut self,
        sim: &mut Sim,
        name: &str,
        client: &mut PublicClient,
        _op: Operation,
    ) -> Result<Outcome, Error> {
        // A process does what it does: it is pointed at the server and runs to its end.
        self.client.run(sim, name, client.server_url())
    }

    fn client_observations(&self) -> ClientObservations {
        ClientObservations {
            token_leaks: self.client.leaks.clone(),
            proxied: self.client.proxied.clone(),
            opened: self.client.opened.clone(),
            output: self.client.printed.clone(),
        }
    }

    fn client_egress_via_proxy(&self) -> bool {
        true
    }

    fn client_metadata_document(&self) -> Result<Option<String>, Skip> {
        match self.client.client_metadata_url() {
            Some(url) => Ok(Some(url)),
            None => Err(Skip::because(
                "the client's metadata document URL is not known: give it with --client-metadata-url",
            )),
        }
    }
}

/// A world for the client scenario `scenario` whose client under test is the process
/// `target` runs: the standard topology, without defects (the client brings its own).
pub fn client_process_world(seed: u64, target: &LiveClient, scenario: &Scenario) -> Result<World, Error> {
    let mut client = ClientUnderTest::new(target, scenario);
    // The servers that take DPoP proofs get their loopback ports now, so that in the
    // DPoP cases they read the `htu` of a proof signed for a loopback address as their own.
    let aliases: Vec<(String, &str)> = [AS, MCP_ORIGIN, OTHER_ORIGIN]
        .into_iter()
        .filter_map(|origin| Some((format!("http://127.0.0.1:{}", client.port_for(origin)?), origin)))
        .collect();
    let redirect_uris = Rc::clone(&client.document_redirect_uris);
    let failures = Failures::default();
    let seen = Rc::clone(&failures);
    let mut w = World::simulated_at(crate::serve::system_now(), seed, &Defects::none(), &[], |roles| {
        Box::new(ClientProcess { roles, client, failures: seen })
    })?;
    if scenario.meta.needs.contains(&Need::Dpop) {
        for (alias, origin) in &aliases {
            w.reached_at(alias, origin);
        }
    } else {
        // Elsewhere the AS offers no DPoP to a process: the other cases read Bearer
        // tokens, and move the simulated clock where the process's (which signs its
        // proofs' `iat`) does not follow. RFC 9449 lets a client use Bearer where the AS
        // lists no DPoP algorithms.
        w.offer_no_dpop()?;
    }
    let uri = target.client_metadata_url.as_deref().and_then(|u| u.parse::<http::Uri>().ok());
    match uri.as_ref().and_then(|uri| Some((uri, origin_of(uri)?))) {
        Some((uri, origin)) if origin.ends_with(".example") => {
            // The client's metadata document, served where it says it is.
            let id = uri.to_string();
            let document: Route = Box::new(move |_| {
                let document = json!({"client_id": id, "client_name": "client under test",
                    "redirect_uris": *redirect_uris.borrow(), "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"], "token_endpoint_auth_method": "none"});
                wire::json(StatusCode::OK, &document)
            });
            w.fake_host(&origin, vec![(uri.path().to_string(), document)]);
        }
        Some((_, elsewhere)) => {
            // The simulated AS reaches simulated hosts only: a document elsewhere cannot be
            // fetched, which is the harness's limit, not the client's fault.
            w.sim.add_remote(&elsewhere, move |req| {
                let url = req.uri().to_string();
                let reason = format!(
                    "the harness's authorization server cannot fetch the client's metadata document at \
                     {url}: test-client serves it only on a simulated https://….example host (give the \
                     client and --client-metadata-url one such as https://app.example/client.json)"
                );
                failures.borrow_mut().push(reason.clone());
                Err(mcp_authz_reference::sans_io::FetchError { url, reason })
            });
        }
        None => {}
    }
    Ok(w.graded_by(target.revision))
}

/// The origin of `url`, or why it has none.
fn origin(url: &str) -> Result<String, Error> {
    url.parse::<http::Uri>()
        .ok()
        .as_ref()
        .and_then(origin_of)
        .ok_or_else(|| Error::malformed("url", format!("`{url}` is not an absolute http(s) url")))
}

/// The origin of the issuer `issuer`, or why it has none.
fn issuer_origin(issuer: &str) -> Result<String, Error> {
    issuer
        .parse::<http::Uri>()
        .ok()
        .as_ref()
        .and_then(origin_of)
        .ok_or_else(|| Error::malformed("issuer", format!("`{issuer}` is not an absolute url")))
}

/// Adds the live server at `origin`, reached through `send`; returns where its transport
/// failures (timeouts, refusals, oversized answers, redirects) are kept.
fn add_live_host(
    sim: &mut Sim,
    origin: &str,
    send: Box<dyn FnMut(Request) -> FetchResult>,
    redirects_fail: bool,
) -> Failures {
    let failures = Failures::default();
    add_live_host_to(sim, origin, send, redirects_fail, &failures);
    failures
}

/// [`add_live_host`], its failures kept in `failures`.
fn add_live_host_to(
    sim: &mut Sim,
    origin: &str,
    mut send: Box<dyn FnMut(Request) -> FetchResult>,
    redirects_fail: bool,
    failures: &Failures,
) {
    let seen = Rc::clone(failures);
    sim.add_remote(origin, move |req| {
        let url = req.uri().to_string();
        let result = send(req);
        match &result {
            Err(e) => seen.borrow_mut().push(format!("{url}: {}", e.reason)),
            Ok(r) if redirects_fail && r.status().is_redirection() => {
                let to = r.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok());
                seen.borrow_mut().push(format!(
                    "{url}: answered {} redirecting to `{}`; an MCP endpoint answers, it does not redirect",
                    r.status().as_u16(),
                    to.unwrap_or("")
                ));
            }
            Ok(_) => {}
        }
        result
    });
}
