//! The authorization server the AS scenarios test, and what the scenarios do with it:
//! register clients (RFC 7591), introspect tokens (RFC 7662), walk the browser through
//! an authorization, read its metadata (RFC 8414, OpenID discovery).

use super::{AS, DOWNSTREAM, MCP, OTHER_MCP, RS_CLIENT_ID, RS_SECRET, Skip, World};
use mcp_authz_reference::Error;
use mcp_authz_reference::client::ClientAuth;
use mcp_authz_reference::client::token::token_request;
use mcp_authz_reference::metadata::{AuthorizationServerMetadata, discovery_urls};
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_reference::wire;
use mcp_authz_sim::browser::{Browser, Login};
use mcp_authz_sim::sim::Sim;
use serde_json::{Value, json};
use std::time::Duration;

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
    /// Its introspection endpoint (RFC 7662), from its metadata or the operator.
    pub introspection_endpoint: Option<String>,
    /// That endpoint and the credentials to ask it with, when the harness has some.
    pub introspection: Option<Introspector>,
    /// A resource server that checks every token at this AS (by introspection), where
    /// whether an access token is revoked shows: refused (401) or accepted. Asked before
    /// introspection when known (`test-as --resource-introspects`).
    pub revocation_probe: Option<String>,
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
    pub fn simulated() -> AsUnderTest {
        AsUnderTest {
            issuer: AS.into(),
            authorization_endpoint: format!("{AS}/authorize"),
            token_endpoint: format!("{AS}/token"),
            registration_endpoint: Some(format!("{AS}/register")),
            introspection_endpoint: Some(format!("{AS}/introspect")),
            revocation_probe: None,
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
            // RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes".
            code_lifetime: Some(Duration::from_secs(600)),
        }
    }
}

impl World {
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

    /// Registers (RFC 7591) a confidential client to introspect with, if the AS lets it.
    pub fn register_introspector(&mut self, endpoint: String) -> Option<Introspector> {
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

    /// Deletes the client `info` describes (a registration's answer) where the AS lets its
    /// registrant do so: a `registration_client_uri` and `registration_access_token`
    /// (RFC 7592 §2.3, `DELETE` with that token). Notes what happened; nothing is judged.
    pub fn unregister(&mut self, from: &str, info: &Value) {
        let member = |name: &str| info.get(name).and_then(Value::as_str).map(String::from);
        let (Some(uri), Some(token)) =
            (member("registration_client_uri"), member("registration_access_token"))
        else {
            return;
        };
        let request = http::Request::delete(&uri)
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(bytes::Bytes::new());
        let Ok(request) = request else { return };
        let r = self.send(from, request);
        let status = r.as_ref().map_or(0, |r| r.status().as_u16());
        self.note(&format!("cleanup: DELETE {uri} (RFC 7592) answered {status}"));
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
        if let Some(hook) = self.target.authorize_hook() {
            self.note(&format!("{browser}: the authorize hook opens {url}"));
            let r = hook(url).map_err(Error::Refused);
            if let Ok(redirect) = &r {
                self.note(&format!("{browser}: the authorize hook ended at {redirect}"));
            }
            return (r, b);
        }
        let r = b.open(&mut self.sim, url, arrived);
        if let Some(why) = self.target.never_signs_in().filter(|_| r.is_err() && b.stopped_at_sign_in) {
            // What the AS does after a sign-in is what the case is about: not seen.
            self.cannot(Skip::because(format!("needs a sign-in at {}: {why}", self.as_under_test.issuer)));
        }
        (r, b)
    }
}

/// The AS metadata at `issuer`: RFC 8414 first, then OpenID discovery. A document that
/// names another issuer is used when no other is served, so that the scenarios still run
/// (AS-META-01 reports the mismatch).
pub fn discover(sim: &mut Sim, issuer: &str) -> Result<AuthorizationServerMetadata, Error> {
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
