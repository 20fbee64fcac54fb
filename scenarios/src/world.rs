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
//!
//! A live world ([`World::live`]) puts an implementer's MCP server in the place of MCP
//! server A, reached over real HTTP (or in-process), and the harness's own authorization
//! server ([`TestAuthority`]) in the place of the AS; server B and the attacker stay
//! simulated. The MCP server scenarios read `w.issuer`, `w.mcp` and `w.tools` rather
//! than the constants, so the same bodies run in both worlds.

use crate::Scenario;
use crate::client_under_test::{ClientUnderTest, LiveClient};
use bytes::Bytes;
use http::StatusCode;
use mcp_authz_harness::browser::{Browser, Login};
use mcp_authz_harness::sim::{Channel, Interceptor, Message, Sim, Verdict, origin_of};
use mcp_authz_harness::target::Authorize;
use mcp_authz_harness::test_authority::TestAuthority;
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, Validator};
use mcp_authz_reference::authorization_server::{self as authz, AuthorizationServer, RegisteredClient};
use mcp_authz_reference::client::mcp;
use mcp_authz_reference::client::token::token_request;
use mcp_authz_reference::client::{
    ClientAuth, ClientStep, Operation, Outcome, PublicClient, PublicClientConfig,
};
use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_reference::jwt::{KeySet, SigningKey};
use mcp_authz_reference::mcp_server::{self, McpServer};
use mcp_authz_reference::metadata::{AuthorizationServerMetadata, discovery_urls};
use mcp_authz_reference::sans_io::Time;
use mcp_authz_reference::sans_io::{Env, FetchResult, Request, Response};
use mcp_authz_reference::{Error, bearer, wire};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// The trusted issuer.
pub const AS: &str = "https://as.example";
/// MCP server A.
pub const MCP: &str = "https://mcp.example/mcp";
/// MCP server A's origin.
pub const MCP_ORIGIN: &str = "https://mcp.example";
/// MCP server B.
pub const OTHER_MCP: &str = "https://other.example/mcp";
/// The downstream API MCP server A calls with its own token.
pub const DOWNSTREAM: &str = "https://api.example/downstream";
/// The downstream API's origin.
pub const DOWNSTREAM_ORIGIN: &str = "https://api.example";
/// The attacker's origin.
pub const EVIL: &str = "https://evil.example";
/// The honest public client's redirect URI (a native app on loopback).
pub const REDIRECT: &str = "http://127.0.0.1:7777/callback";
/// The MCP server's own client at the AS.
pub const RS_CLIENT_ID: &str = "mcp-server";
const RS_SECRET: &str = "rs-secret-for-the-simulation";

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
    /// The `Authorization` headers the downstream API received (simulated worlds only).
    downstream_seen: Option<Rc<RefCell<Vec<String>>>>,
    /// The live parts, in a live world.
    live: Option<Live>,
    /// The client under test, when it is a process of its own (`test-client`).
    client_under_test: Option<ClientUnderTest>,
}

/// A tool of the server under test, with the scope it needs and arguments it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// Its name.
    pub name: String,
    /// The scope a token needs to run it (may be empty: none).
    pub scope: String,
    /// Arguments valid for its input schema.
    pub arguments: Value,
}

impl Tool {
    /// A tool named `name` needing `scope`, called with `arguments`.
    pub fn new(name: &str, scope: &str, arguments: Value) -> Tool {
        Tool { name: name.into(), scope: scope.into(), arguments }
    }
}

/// The tools the MCP server scenarios call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    /// A tool a token with the least scope can run (the reference server's `echo`).
    pub read: Tool,
    /// A tool needing a scope `read` does not (`write_note`), if the server has one.
    pub write: Option<Tool>,
    /// A tool needing yet more (`admin_reset`), if the server has one.
    pub admin: Option<Tool>,
    /// A tool that calls a downstream API with the server's own token (`fetch_report`).
    pub downstream: Option<Tool>,
}

impl Tools {
    /// The reference MCP server's tools.
    pub fn reference() -> Tools {
        Tools {
            read: Tool::new("echo", "mcp:read", json!({"text": "x"})),
            write: Some(Tool::new("write_note", "mcp:write", json!({"text": "x"}))),
            admin: Some(Tool::new("admin_reset", "mcp:admin", json!({}))),
            downstream: Some(Tool::new("fetch_report", "mcp:read", json!({}))),
        }
    }

    /// Every scope the tools need: a token that can run them all.
    pub fn all_scopes(&self) -> String {
        let mut scopes = vec![self.read.scope.as_str()];
        scopes.extend([&self.write, &self.admin].into_iter().flatten().map(|t| t.scope.as_str()));
        union_scopes(&scopes)
    }
}

/// The space-separated union of scope strings, in first-seen order.
pub fn union_scopes(scopes: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in scopes.iter().flat_map(|s| s.split(' ')) {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

/// What a live world needs: where the server under test is, how to reach it, and the
/// harness's authorization server it trusts.
#[derive(Clone)]
pub struct LiveTarget {
    /// The MCP endpoint under test.
    pub url: String,
    /// The harness's authorization server.
    pub authority: TestAuthority,
    /// The tools the scenarios call.
    pub tools: Tools,
    /// Opens a connection for one case: each call sends one request to the server
    /// under test and returns its answer or the transport failure.
    pub connect: Rc<dyn Fn() -> Box<dyn FnMut(Request) -> FetchResult>>,
}

/// The authorization server the AS scenarios test: its endpoints, the resources it
/// issues tokens for, how a person signs in, and the two public apps the scenarios
/// register (the victim's and the attacker's, on the same loopback redirect URI).
#[derive(Debug, Clone)]
pub struct AsUnderTest {
    /// Its issuer identifier.
    pub issuer: String,
    /// Its authorization endpoint.
    pub authorization_endpoint: String,
    /// Its token endpoint.
    pub token_endpoint: String,
    /// Its registration endpoint (RFC 7591), if it has one.
    pub registration_endpoint: Option<String>,
    /// Its introspection endpoint (RFC 7662) and the credentials to ask it with.
    pub introspection: Option<Introspector>,
    /// The resource the scenarios ask tokens for.
    pub resource: String,
    /// A second resource the AS serves (refreshing toward it must fail), if known.
    pub other_resource: Option<String>,
    /// A scope the AS must not grant to a client registered without it, and the
    /// resource to ask it for.
    pub beyond_policy: (String, String),
    /// Who signs in at its login form; `None` when it approves by itself.
    pub login: Option<Login>,
    /// The victim's app's client id.
    pub app: String,
    /// Its secret, when it is a pre-registered confidential client.
    pub app_secret: Option<String>,
    /// The attacker's app's client id.
    pub evil_app: String,
    /// A live AS's authorization-code lifetime, when told (see [`LiveAs::code_lifetime`]).
    pub code_lifetime: Option<Duration>,
}

/// An introspection endpoint and the client credentials to call it with.
#[derive(Debug, Clone)]
pub struct Introspector {
    /// The endpoint.
    pub endpoint: String,
    /// The client id.
    pub client_id: String,
    /// Its secret (`client_secret_basic`).
    pub client_secret: String,
}

impl AsUnderTest {
    /// The simulated reference AS at [`AS`].
    fn simulated() -> AsUnderTest {
        AsUnderTest {
            issuer: AS.into(),
            authorization_endpoint: format!("{AS}/authorize"),
            token_endpoint: format!("{AS}/token"),
            registration_endpoint: Some(format!("{AS}/register")),
            introspection: Some(Introspector {
                endpoint: format!("{AS}/introspect"),
                client_id: RS_CLIENT_ID.into(),
                client_secret: RS_SECRET.into(),
            }),
            resource: MCP.into(),
            other_resource: Some(OTHER_MCP.into()),
            beyond_policy: ("reports:read".into(), DOWNSTREAM.into()),
            login: None,
            app: "notes-app".into(),
            app_secret: None,
            evil_app: "evil-app".into(),
            code_lifetime: None,
        }
    }
}

/// What a live world for the AS scenarios needs.
#[derive(Clone)]
pub struct LiveAs {
    /// The issuer under test.
    pub issuer: String,
    /// The resource to ask tokens for (one the AS knows).
    pub resource: String,
    /// A second resource it knows, if any.
    pub other_resource: Option<String>,
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
    /// Opens a connection to it for one case.
    pub connect: Rc<dyn Fn() -> Box<dyn FnMut(Request) -> FetchResult>>,
}

struct Live {
    authority: Option<TestAuthority>,
    /// Completes authorizations outside the harness, if set.
    authorize_hook: Option<Authorize>,
    /// Transport failures talking to the server under test: they make a case `error`.
    failures: Rc<RefCell<Vec<String>>>,
}

impl World {
    /// The standard topology, with `defects` injected into the roles they belong to.
    pub fn new(seed: u64, defects: &Defects) -> Result<World, Error> {
        World::with_resources(seed, defects, &[])
    }

    /// The standard topology, whose authorization server also knows the resources
    /// `extra` (scopes `mcp:read mcp:write mcp:admin`); the caller adds their servers.
    pub fn with_resources(seed: u64, defects: &Defects, extra: &[&str]) -> Result<World, Error> {
        let mut sim = Sim::new(seed);
        let mut as_config = authz::Config {
            issuer: AS.into(),
            auto_approve: true,
            // Ed25519 signatures are deterministic: traces stay byte-identical per seed.
            signing_alg: Algorithm::EdDSA,
            defects: defects.clone(),
            ..authz::Config::default()
        };
        let scopes = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        as_config.resources = vec![
            authz::ResourceConfig {
                uri: MCP.into(),
                scopes: scopes(&["mcp:read", "mcp:write", "mcp:admin"]),
            },
            authz::ResourceConfig {
                uri: OTHER_MCP.into(),
                scopes: scopes(&["mcp:read", "mcp:write", "mcp:admin"]),
            },
            authz::ResourceConfig { uri: DOWNSTREAM.into(), scopes: scopes(&["reports:read"]) },
        ];
        as_config.resources.extend(extra.iter().map(|uri| authz::ResourceConfig {
            uri: uri.to_string(),
            scopes: scopes(&["mcp:read", "mcp:write", "mcp:admin"]),
        }));
        as_config.registration_scopes = scopes(&["mcp:read", "mcp:write", "mcp:admin"]);
        as_config.clients.push(RegisteredClient {
            client_id: RS_CLIENT_ID.into(),
            client_secret: Some(RS_SECRET.into()),
            redirect_uris: vec![],
            grant_types: vec!["client_credentials".into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            scopes: scopes(&["reports:read"]),
            jwks: None,
            client_name: Some("MCP server A".into()),
        });
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
        Ok(World {
            sim,
            defects: defects.clone(),
            issuer: AS.into(),
            mcp: MCP.into(),
            tools: Tools::reference(),
            as_under_test: AsUnderTest::simulated(),
            downstream_seen: Some(downstream_seen),
            live: None,
            client_under_test: None,
        })
    }

    /// A live world: the server under test at `target.url` in the place of MCP server A,
    /// the harness's AS in the place of the AS, server B (trusting the harness's AS)
    /// simulated. The clock starts at `now`, the real time, so minted tokens are current
    /// at the server under test.
    pub fn live(seed: u64, now: Time, target: &LiveTarget) -> Result<World, Error> {
        let mut sim = Sim::starting_at(seed, now);
        let issuer = target.authority.issuer().to_string();
        let origin = |url: &str| {
            url.parse::<http::Uri>()
                .ok()
                .as_ref()
                .and_then(origin_of)
                .ok_or_else(|| Error::malformed("url", format!("`{url}` is not an absolute http(s) url")))
        };
        sim.add_service(&origin(&issuer)?, target.authority.served());
        sim.add_service(&origin(OTHER_MCP)?, McpServer::new(mcp_server::Config::new(OTHER_MCP, &issuer))?);
        let failures = add_live_host(&mut sim, &origin(&target.url)?, (target.connect)(), true);
        Ok(World {
            sim,
            defects: Defects::none(),
            issuer,
            mcp: target.url.clone(),
            tools: target.tools.clone(),
            as_under_test: AsUnderTest::simulated(),
            downstream_seen: None,
            live: Some(Live { authority: Some(target.authority.clone()), authorize_hook: None, failures }),
            client_under_test: None,
        })
    }

    /// A live world for the AS scenarios: the authorization server under test at
    /// `target.issuer`, its endpoints read from its metadata (RFC 8414, else OpenID
    /// discovery). The clock starts at `now`, the real time.
    pub fn live_as(seed: u64, now: Time, target: &LiveAs) -> Result<World, Error> {
        let mut sim = Sim::starting_at(seed, now);
        let origin =
            target.issuer.parse::<http::Uri>().ok().as_ref().and_then(origin_of).ok_or_else(|| {
                Error::malformed("issuer", format!("`{}` is not an absolute url", target.issuer))
            })?;
        let failures = add_live_host(&mut sim, &origin, (target.connect)(), false);
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
            introspection: None,
            resource: target.resource.clone(),
            other_resource: target.other_resource.clone(),
            beyond_policy: ("mcp-authz:beyond-policy".into(), target.resource.clone()),
            login: target.login.clone(),
            app: target.client.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
            app_secret: target.client.as_ref().and_then(|c| c.1.clone()),
            evil_app: String::new(),
            code_lifetime: target.code_lifetime,
        };
        let mut w = World {
            sim,
            defects: Defects::none(),
            issuer: target.issuer.clone(),
            mcp: target.resource.clone(),
            tools: Tools::reference(),
            as_under_test,
            downstream_seen: None,
            live: Some(Live { authority: None, authorize_hook: target.authorize_hook.clone(), failures }),
            client_under_test: None,
        };
        if let Some(endpoint) = metadata.introspection_endpoint.clone() {
            w.as_under_test.introspection = w.register_introspector(endpoint);
        }
        Ok(w)
    }

    /// A world for the client scenario `scenario` whose client under test is the
    /// process `target` runs: the standard topology, without defects (the client brings
    /// its own).
    pub fn live_client(seed: u64, target: &LiveClient, scenario: &Scenario) -> Result<World, Error> {
        let mut w = World::new(seed, &Defects::none())?;
        let client = ClientUnderTest::new(target, scenario);
        let uri = target.client_metadata_url.as_deref().and_then(|u| u.parse::<http::Uri>().ok());
        let origin = uri.as_ref().and_then(origin_of).filter(|o| o.ends_with(".example"));
        if let (Some(origin), Some(uri)) = (origin, &uri) {
            // The client's metadata document, served where it says it is.
            let (id, redirect_uris) = (uri.to_string(), Rc::clone(&client.document_redirect_uris));
            let document: Route = Box::new(move |_| {
                let document = json!({"client_id": id, "client_name": "client under test",
                    "redirect_uris": *redirect_uris.borrow(), "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"], "token_endpoint_auth_method": "none"});
                wire::json(StatusCode::OK, &document)
            });
            w.fake_host(&origin, vec![(uri.path().to_string(), document)]);
        }
        w.client_under_test = Some(client);
        Ok(w)
    }

    /// True when the client under test is a process of its own, not the reference client.
    pub fn client_is_external(&self) -> bool {
        self.client_under_test.is_some()
    }

    /// Where the external client put a token it was issued where it must not: in a URL
    /// or body, or in an `Authorization` header to another server.
    pub fn client_token_leaks(&self) -> Vec<String> {
        self.client_under_test.as_ref().map(|c| c.leaks.clone()).unwrap_or_default()
    }

    /// What the external client sent through the harness's proxy: `METHOD url` or
    /// `CONNECT host:port`.
    pub fn client_proxied(&self) -> Vec<String> {
        self.client_under_test.as_ref().map(|c| c.proxied.clone()).unwrap_or_default()
    }

    /// The URL of the external client's metadata document, if it was given.
    pub fn client_metadata_url(&self) -> Option<String> {
        self.client_under_test.as_ref().and_then(ClientUnderTest::client_metadata_url)
    }

    /// The URLs the external client asked the browser (env `BROWSER`) to open.
    pub fn client_opened(&self) -> Vec<String> {
        self.client_under_test.as_ref().map(|c| c.opened.clone()).unwrap_or_default()
    }

    /// Registers (RFC 7591) a confidential client to introspect with, if the AS lets it.
    fn register_introspector(&mut self, endpoint: String) -> Option<Introspector> {
        let metadata = json!({"client_name": "mcp-authz introspection", "grant_types": ["client_credentials"],
            "response_types": [], "redirect_uris": [], "token_endpoint_auth_method": "client_secret_basic"});
        let info = self.register("harness", &metadata).ok()?;
        Some(Introspector {
            endpoint,
            client_id: info.get("client_id")?.as_str()?.to_string(),
            client_secret: info.get("client_secret")?.as_str()?.to_string(),
        })
    }

    /// Registers a client with `metadata` at the AS under test: the client information
    /// (201), or the answer.
    pub fn register(&mut self, from: &str, metadata: &Value) -> Result<Value, Box<FetchResult>> {
        let Some(endpoint) = self.as_under_test.registration_endpoint.clone() else {
            return Err(Box::new(Err(mcp_authz_reference::sans_io::FetchError {
                url: self.as_under_test.issuer.clone(),
                reason: "the AS has no registration endpoint".into(),
            })));
        };
        let r = match wire::post_json_request(&endpoint, metadata) {
            Ok(req) => self.send(from, req),
            Err(e) => {
                let failed =
                    mcp_authz_reference::sans_io::FetchError { url: endpoint, reason: e.to_string() };
                return Err(Box::new(Err(failed)));
            }
        };
        match r
            .as_ref()
            .ok()
            .filter(|r| r.status() == 201)
            .and_then(|r| serde_json::from_slice(r.body()).ok())
        {
            Some(info) => Ok(info),
            None => Err(Box::new(r)),
        }
    }

    /// The user agent `browser` opens `url` and walks until `arrived` holds (the client's
    /// redirect URI), signing in at the AS under test as it asks; returns the browser
    /// (cookies, pages seen) too.
    pub fn browse(
        &mut self,
        browser: &str,
        url: &str,
        arrived: impl Fn(&url::Url) -> bool,
    ) -> (Result<String, Error>, Browser) {
        let mut b = Browser::new(browser, self.as_under_test.login.clone());
        if let Some(hook) = self.live.as_ref().and_then(|l| l.authorize_hook.clone()) {
            self.note(&format!("{browser}: the authorize hook opens {url}"));
            let r = hook(url).map_err(Error::Refused);
            if let Ok(redirect) = &r {
                self.note(&format!("{browser}: the authorize hook ended at {redirect}"));
            }
            return (r, b);
        }
        let r = b.open(&mut self.sim, url, arrived);
        (r, b)
    }

    /// True when authorizations run outside the harness (an authorize hook): the
    /// front channel is then neither seen nor rewritten by the simulated adversary.
    pub fn front_channel_outside(&self) -> bool {
        self.live.as_ref().is_some_and(|l| l.authorize_hook.is_some())
    }
}

/// The AS metadata at `issuer`: RFC 8414 first, then OpenID discovery. A document that
/// names another issuer is used when no other is served, so that the scenarios still run
/// (AS-META-01 reports the mismatch).
fn discover(sim: &mut Sim, issuer: &str) -> Result<AuthorizationServerMetadata, Error> {
    let (mut last, mut other_issuer) = (String::new(), None);
    for url in discovery_urls(issuer)? {
        match sim.get("harness", &url) {
            Ok(r) if r.status() == 200 => match AuthorizationServerMetadata::parse(r.body()) {
                Ok(m) if m.issuer == issuer => return Ok(m),
                Ok(m) => {
                    last = format!("{url} names issuer `{}`", m.issuer);
                    other_issuer.get_or_insert(m);
                }
                Err(e) => last = format!("{url}: {e}"),
            },
            Ok(r) => last = format!("{url} answered {}", r.status().as_u16()),
            Err(e) => last = format!("{url}: {}", e.reason),
        }
    }
    other_issuer
        .ok_or_else(|| Error::Refused(format!("no authorization server metadata for {issuer} ({last})")))
}

/// Adds the live server at `origin`, reached through `send`; returns where its transport
/// failures (timeouts, refusals, oversized answers, redirects) are kept.
fn add_live_host(
    sim: &mut Sim,
    origin: &str,
    mut send: Box<dyn FnMut(Request) -> FetchResult>,
    redirects_fail: bool,
) -> Rc<RefCell<Vec<String>>> {
    let failures = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&failures);
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
    failures
}

impl World {
    /// True when MCP server A is a live server.
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// The transport failures talking to a live server so far (timeouts, refused
    /// connections, oversized answers, redirects).
    pub fn transport_failures(&self) -> Vec<String> {
        self.live.as_ref().map(|l| l.failures.borrow().clone()).unwrap_or_default()
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

    /// The `Authorization` header values the downstream API has received; `None` in a
    /// live world, where the harness cannot see the server's outbound calls.
    pub fn downstream_authorizations_seen(&self) -> Option<Vec<String>> {
        self.downstream_seen.as_ref().map(|s| s.borrow().clone())
    }

    /// True when `d` is injected.
    pub fn has(&self, d: Defect) -> bool {
        self.defects.has(d)
    }

    /// The authorization server.
    pub fn authorization_server(&mut self) -> &mut AuthorizationServer {
        self.sim.service::<AuthorizationServer>(AS).expect("the world has an AS")
    }

    /// MCP server A.
    pub fn mcp_server(&mut self) -> &mut McpServer {
        self.sim.service::<McpServer>(MCP_ORIGIN).expect("the world has MCP server A")
    }

    /// The current time.
    pub fn now(&self) -> Time {
        self.sim.now()
    }

    /// A GET for `url` from `from`.
    pub fn get(&mut self, from: &str, url: &str) -> FetchResult {
        self.sim.get(from, url)
    }

    /// The trusted AS's current signing key (to build tokens an attacker could not).
    pub fn signing_key(&mut self) -> &SigningKey {
        self.authorization_server().signing_key()
    }

    /// Runs `f` with the signing key of the AS server A trusts, in either world.
    pub fn with_signing_key<T>(&mut self, f: impl FnOnce(&SigningKey) -> T) -> T {
        match self.live.as_ref().and_then(|l| l.authority.clone()) {
            Some(authority) => authority.with_signing_key(f),
            None => f(self.signing_key()),
        }
    }

    /// A fresh key for `alg` with `kid`, drawn from the seed (an attacker's key).
    pub fn generate_key(&mut self, alg: Algorithm, kid: &str) -> SigningKey {
        self.sim
            .env_for(&format!("key:{kid}"), |env| SigningKey::generate(alg, kid, env))
            .expect("key generation from a seeded rng")
    }

    /// How many times the trusted AS has served its JWKS (fetch amplification is counted
    /// where it hurts: at the AS).
    pub fn jwks_requests(&self) -> u64 {
        if let Some(authority) = self.live.as_ref().and_then(|l| l.authority.as_ref()) {
            return authority.jwks_fetches();
        }
        let needle = format!("-> {AS} GET /jwks ");
        self.sim.trace().lines().filter(|l| l.contains(&needle)).count() as u64
    }

    /// How many side-effecting tool runs MCP server A has performed; `None` for a live
    /// server, whose effects the harness judges by its answers.
    pub fn side_effects(&mut self) -> Option<u64> {
        if self.is_live() {
            return None;
        }
        Some(self.mcp_server().side_effects())
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
        }
    }

    /// Signs `claims` with the current key of the AS server A trusts.
    pub fn mint(&mut self, claims: &AccessTokenClaims) -> String {
        let signed = match self.live.as_ref().and_then(|l| l.authority.as_ref()) {
            Some(authority) => authority.mint(claims),
            None => self.authorization_server().sign_access_token(claims),
        };
        signed.expect("the AS signs")
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

    /// Sends `req` from `from`.
    pub fn send(&mut self, from: &str, req: Request) -> FetchResult {
        self.sim.send(from, req)
    }

    /// `initialize` at `url` with `token`; returns the response and the session id.
    pub fn initialize(
        &mut self,
        from: &str,
        url: &str,
        token: Option<&str>,
    ) -> (FetchResult, Option<String>) {
        let r = self.send(from, Self::rpc_request(url, token, &Self::initialize_body(), &[]));
        let session = r
            .as_ref()
            .ok()
            .and_then(|r| r.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(String::from));
        (r, session)
    }

    /// Opens a session at `url` with `token` and calls `tool` in it; returns the call's
    /// response (or the failed `initialize`'s).
    pub fn call_tool(
        &mut self,
        from: &str,
        url: &str,
        token: &str,
        tool: &str,
        arguments: Value,
    ) -> FetchResult {
        let (init, session) = self.initialize(from, url, Some(token));
        if !init.as_ref().is_ok_and(|r| r.status().is_success()) {
            return init;
        }
        let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
        // A server without sessions issues no id: the calls go without one.
        let mut headers = vec![("mcp-protocol-version", "2025-11-25")];
        if let Some(session) = &session {
            headers.push(("mcp-session-id", session.as_str()));
        }
        let _ = self.send(from, Self::rpc_request(url, Some(token), &initialized, &headers));
        self.send(from, Self::rpc_request(url, Some(token), &Self::call_body(tool, arguments), &headers))
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
        if let Some(external) = &self.client_under_test {
            external.new_client();
        }
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
        if let Some(external) = self.client_under_test.as_mut() {
            return external.run(&mut self.sim, name, client.server_url());
        }
        self.sim.run_client(name, client, REDIRECT, |c, env| c.start(op, env))
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

    /// What the AS under test says about `token` (RFC 7662 introspection, asked with
    /// [`AsUnderTest::introspection`]'s client): the response, or `Value::Null` when
    /// introspection fails or the AS offers none.
    pub fn introspect(&mut self, token: &str) -> Value {
        let Some(i) = self.as_under_test.introspection.clone() else { return Value::Null };
        let auth = ClientAuth::SecretBasic(i.client_secret.clone());
        let issuer = self.as_under_test.issuer.clone();
        let req = self.sim.env_for("introspect", |env| {
            token_request(&i.endpoint, &i.client_id, &auth, &issuer, &[("token", token)], env)
        });
        match req.map(|req| self.send(&i.client_id, req)) {
            Ok(Ok(r)) if r.status() == 200 => serde_json::from_slice(r.body()).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// Moves the clock.
    pub fn advance(&mut self, d: Duration) {
        self.sim.advance(d);
    }

    /// Lets `d` pass: the simulated clock advances, and with a live server under test
    /// the harness also sleeps, since the server's clock is the real one.
    pub fn wait(&mut self, d: Duration) {
        if self.is_live() {
            std::thread::sleep(d);
        }
        self.sim.advance(d);
    }

    /// A trace note.
    pub fn note(&mut self, s: &str) {
        self.sim.note(s);
    }
}

/// See [`World::mcp_config`].
fn mcp_config(url: &str, issuer: &str, defects: &Defects) -> mcp_server::Config {
    let mut config = mcp_server::Config::new(url.to_string(), issuer.to_string());
    config.defects = defects.clone();
    if url == MCP {
        config.downstream = Some(mcp_server::Downstream {
            token_endpoint: format!("{AS}/token"),
            client_id: RS_CLIENT_ID.into(),
            client_secret: RS_SECRET.into(),
            resource: DOWNSTREAM.into(),
        });
    }
    config
}

/// The downstream API: records every `Authorization` header, answers 200 to a token
/// whose audience is the API, 401 otherwise.
fn downstream_api(validator: Validator, seen: Rc<RefCell<Vec<String>>>) -> impl FnMut(Request) -> Response {
    move |req| {
        let auth = req.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        seen.borrow_mut().push(auth.to_string());
        let ok = bearer::bearer_token(req.headers())
            .ok()
            .flatten()
            .is_some_and(|t| validator.validate(&t, mcp_authz_harness::sim::EPOCH).is_ok());
        let mut r = Response::new(Bytes::from(if ok {
            r#"{"report":"quarterly numbers"}"#
        } else {
            r#"{"error":"invalid_token"}"#
        }));
        *r.status_mut() = if ok { http::StatusCode::OK } else { http::StatusCode::UNAUTHORIZED };
        r.headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        r
    }
}

/// True when `r` shows that the `tools/call` with JSON-RPC id `id` ran: a 2xx whose
/// JSON-RPC response (JSON or event stream) has a `result` that is not a tool error.
pub fn tool_ran(r: &FetchResult, id: u64) -> bool {
    let Ok(r) = r else { return false };
    r.status().is_success()
        && mcp::response_messages(r).unwrap_or_default().iter().any(|m| {
            m.get("id").and_then(Value::as_u64) == Some(id)
                && m.get("result").is_some_and(|result| result.get("isError") != Some(&Value::Bool(true)))
        })
}

/// `(status, error code of the Bearer challenge)` of a response.
pub fn status_and_challenge_error(r: &Response) -> (u16, Option<String>) {
    let err =
        bearer::bearer_challenge(r.headers()).ok().flatten().and_then(|c| c.get("error").map(String::from));
    (r.status().as_u16(), err)
}

/// The `error` of an OAuth JSON error body.
pub fn oauth_error_code(r: &Response) -> Option<String> {
    serde_json::from_slice::<Value>(r.body()).ok()?.get("error")?.as_str().map(String::from)
}

/// Renders a fetch result for a verdict message.
pub fn describe(r: &FetchResult) -> String {
    match r {
        Ok(r) => {
            // One line: event-stream bodies and pretty JSON have newlines.
            let body = String::from_utf8_lossy(r.body());
            let body: String =
                body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(160).collect();
            format!("HTTP {} {}", r.status().as_u16(), body)
        }
        Err(e) => format!("no answer ({})", e.reason),
    }
}

/// A request an adversary's tap saw (see [`World::tap`]).
#[derive(Debug, Clone)]
pub struct Seen {
    /// The channel it travelled on.
    pub channel: Channel,
    /// The sender.
    pub from: String,
    /// The method.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// The body, as text.
    pub body: String,
}

impl Seen {
    /// The path of the URL.
    pub fn path(&self) -> String {
        url::Url::parse(&self.url).map(|u| u.path().to_string()).unwrap_or_default()
    }

    /// Parameter `name` of the query, else of a form body.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = url::Url::parse(&self.url).ok().and_then(|u| u.query().map(String::from));
        [query.unwrap_or_default(), self.body.clone()].iter().find_map(|s| {
            url::form_urlencoded::parse(s.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
        })
    }
}

/// The requests a tap saw, in order.
pub type Log = Rc<RefCell<Vec<Seen>>>;

/// The `METHOD path` lines a fake host received, in order.
pub type Hits = Rc<RefCell<Vec<String>>>;

/// How a fake host answers one path.
pub type Route = Box<dyn FnMut(&Request) -> Response>;

/// An adversary made of two closures that logs every request it lets through.
struct Tap<Q, R> {
    log: Log,
    on_request: Q,
    on_response: R,
}

impl<Q, R> Interceptor for Tap<Q, R>
where
    Q: FnMut(&Message, &mut Request) -> Verdict,
    R: FnMut(&Message, &Request, &mut Response),
{
    fn on_request(&mut self, msg: &Message, req: &mut Request) -> Verdict {
        let verdict = (self.on_request)(msg, req);
        self.log.borrow_mut().push(Seen {
            channel: msg.channel,
            from: msg.from.clone(),
            method: req.method().to_string(),
            url: req.uri().to_string(),
            body: String::from_utf8_lossy(req.body()).into_owned(),
        });
        verdict
    }

    fn on_response(&mut self, msg: &Message, req: &Request, resp: &mut Response) {
        (self.on_response)(msg, req, resp);
    }
}

/// A copy of a response (status, headers, body).
pub fn copy_response(r: &Response) -> Response {
    let mut copy = Response::new(r.body().clone());
    *copy.status_mut() = r.status();
    *copy.headers_mut() = r.headers().clone();
    copy
}

/// A route that always answers with (a copy of) `r`.
pub fn fixed(r: Response) -> Route {
    Box::new(move |_| copy_response(&r))
}

impl World {
    /// Installs an adversary on `channels` (replacing any other) that may rewrite or
    /// answer requests with `on_request` and rewrite responses with `on_response`, and
    /// logs every request it sees as delivered.
    pub fn tap(
        &mut self,
        channels: &[Channel],
        on_request: impl FnMut(&Message, &mut Request) -> Verdict + 'static,
        on_response: impl FnMut(&Message, &Request, &mut Response) + 'static,
    ) -> Log {
        let log = Log::default();
        let tap = Tap { log: log.clone(), on_request, on_response };
        self.sim.set_interceptor(channels.to_vec(), Box::new(tap));
        log
    }

    /// Logs every request on `channels`, changing nothing: the harness watching the role
    /// under test, not an adversary, so no capability is needed.
    pub fn record(&mut self, channels: &[Channel]) -> Log {
        let log = Log::default();
        let tap = Tap {
            log: log.clone(),
            on_request: |_: &Message, _: &mut Request| Verdict::Pass,
            on_response: |_: &Message, _: &Request, _: &mut Response| {},
        };
        self.sim.observe(channels.to_vec(), Box::new(tap));
        log
    }

    /// Adds a fake host at `origin`: `routes` map a path (query ignored) to its answer,
    /// other paths get 404. Returns the log of what it received.
    pub fn fake_host(&mut self, origin: &str, mut routes: Vec<(String, Route)>) -> Hits {
        let hits = Hits::default();
        let log = hits.clone();
        self.sim.add_fn(origin, move |req| {
            log.borrow_mut().push(format!("{} {}", req.method(), req.uri().path()));
            match routes.iter_mut().find(|(path, _)| path == req.uri().path()) {
                Some((_, answer)) => answer(&req),
                None => wire::json(StatusCode::NOT_FOUND, &json!({"error": "not_found"})),
            }
        });
        hits
    }

    /// Adds an SSRF canary at each of `origins` (one address may have several
    /// spellings): every request is counted and answered 404. It must stay at 0.
    pub fn canary(&mut self, origins: &[&str]) -> Rc<Cell<u32>> {
        let count = Rc::new(Cell::new(0));
        for origin in origins {
            let c = count.clone();
            self.sim.add_fn(origin, move |_| {
                c.set(c.get() + 1);
                wire::json(StatusCode::NOT_FOUND, &json!({}))
            });
        }
        count
    }
}
