//! The anti-patterns that cost a network round trip, in the simulator
//! (`sim/src/sim/mod.rs`): the JWKS fetched again for every request, and every token
//! introspected at the AS (RFC 7662). The CPU cost is what criterion measures; the
//! simulated network time (the simulator draws 1–20 ms per message) is what
//! [`simulated_ms`] adds up.

use crate::{EXP, SCOPE};
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, Validator};
use mcp_authz_reference::authorization_server::RegisteredClient;
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::jwt::{Jwks, KeySet};
use mcp_authz_reference::mcp_server::{Introspection, McpServer};
use mcp_authz_scenarios::World;
use mcp_authz_scenarios::world::{AS, OTHER_MCP};
use serde_json::json;

/// The MCP server that validates tokens locally (the world's MCP server B).
pub const LOCAL: &str = OTHER_MCP;
/// An MCP server that also introspects every token at the AS.
pub const INTROSPECTING: &str = "https://introspecting.example/mcp";
const INTROSPECTING_ORIGIN: &str = "https://introspecting.example";
const CLIENT_ID: &str = "introspecting-server";
const CLIENT_SECRET: &str = "bench-secret";

/// The simulated world: the reference AS, MCP server B ([`LOCAL`]) and an introspecting
/// MCP server ([`INTROSPECTING`]), with a session open at each.
pub struct SimBench {
    /// The world.
    pub world: World,
    /// A token for [`LOCAL`] and its session there.
    pub local: (String, String),
    /// A token for [`INTROSPECTING`] and its session there.
    pub introspecting: (String, String),
}

impl SimBench {
    /// Builds the world and opens both sessions.
    pub fn new() -> Self {
        let mut world = World::with_resources(1, &Defects::none(), &[INTROSPECTING]).expect("world");
        world.authorization_server().expect("the simulated AS").register_client(RegisteredClient {
            client_id: CLIENT_ID.into(),
            client_secret: Some(CLIENT_SECRET.into()),
            redirect_uris: vec![],
            grant_types: vec!["client_credentials".into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            scopes: vec![],
            jwks: None,
            client_name: Some("introspecting MCP server".into()),
            ..RegisteredClient::default()
        });
        let mut config = world.mcp_config(INTROSPECTING, AS);
        config.introspection = Some(Introspection {
            endpoint: format!("{AS}/introspect"),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        });
        world.sim.add_service(INTROSPECTING_ORIGIN, McpServer::new(config).expect("config"));
        let local = session(&mut world, LOCAL);
        let introspecting = session(&mut world, INTROSPECTING);
        SimBench { world, local, introspecting }
    }

    /// A `tools/call` of `echo` at `server` ([`LOCAL`] or [`INTROSPECTING`]) in its
    /// session; the HTTP status. Each message moves the simulated clock (1–20 ms), so a
    /// long criterion run outlives a session: on 404 (the session gone) a new one is
    /// opened and the call made again, once per session lifetime.
    pub fn call(&mut self, server: &str) -> u16 {
        match self.call_once(server) {
            404 => {
                let (_, session) = session(&mut self.world, server);
                let kept = if server == LOCAL { &mut self.local } else { &mut self.introspecting };
                kept.1 = session;
                self.call_once(server)
            }
            status => status,
        }
    }

    fn call_once(&mut self, server: &str) -> u16 {
        let (token, session) = if server == LOCAL { &self.local } else { &self.introspecting };
        let headers = [("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-11-25")];
        let body = World::call_body("echo", json!({"text": "hi"}));
        let request = World::rpc_request(server, Some(token), &body, &headers);
        self.world.send("client", request).map_or(0, |r| r.status().as_u16())
    }

    /// The anti-pattern: [`LOCAL`]'s token validated after fetching and parsing the
    /// issuer's JWKS again.
    pub fn validate_after_jwks_fetch(&mut self) -> bool {
        let Ok(r) = self.world.get(LOCAL, &format!("{AS}/jwks")) else { return false };
        let Ok(keys) = Jwks::parse(r.body()).and_then(|j| KeySet::from_jwks(&j)) else { return false };
        let now = self.world.now();
        Validator::new(AS, LOCAL, keys).validate(&self.local.0, now).is_ok_and(|c| c.has_scope(SCOPE))
    }
}

impl Default for SimBench {
    fn default() -> Self {
        SimBench::new()
    }
}

/// A token for `server` (granting [`SCOPE`]) and the session it opened there.
fn session(world: &mut World, server: &str) -> (String, String) {
    let claims = AccessTokenClaims {
        aud: Audience::one(server),
        exp: Some(EXP),
        ..world.claims("mcp:read mcp:write")
    };
    let token = world.mint(&claims);
    let (r, session) = world.open("client", server, Some(&token));
    let status = r.map_or(0, |r| r.status().as_u16());
    (token, session.unwrap_or_else(|| panic!("initialize at {server}: http {status}, expected a session")))
}

/// Mean simulated network time, in ms, of `n` runs of each operation: a `tools/call` at
/// [`LOCAL`], one at [`INTROSPECTING`], and a JWKS fetch with validation.
pub fn simulated_ms(n: u32) -> [(&'static str, f64); 3] {
    let mut b = SimBench::new();
    let mut mean = |op: &mut dyn FnMut(&mut SimBench)| {
        let start = b.world.now();
        for _ in 0..n {
            op(&mut b);
        }
        b.world.now().since(start).as_secs_f64() * 1000.0 / f64::from(n)
    };
    let local = mean(&mut |b| assert_eq!(b.call(LOCAL), 200));
    let introspecting = mean(&mut |b| assert_eq!(b.call(INTROSPECTING), 200));
    let jwks = mean(&mut |b| assert!(b.validate_after_jwks_fetch()));
    [
        ("tools/call, local validation", local),
        ("tools/call, introspection per request", introspecting),
        ("jwks fetched per request + validation", jwks),
    ]
}
