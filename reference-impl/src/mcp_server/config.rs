//! What an operator configures: the resource's canonical URI, the trusted issuer, the
//! tools with their scopes, accepted origins, and the optional introspection and
//! downstream credentials.

use crate::defects::Defects;
use crate::jwt::Algorithm;
use crate::protected_resource_metadata::well_known_urls;
use crate::resource_indicator::canonical_resource;
use crate::{Error, Result};
use std::collections::BTreeSet;
use std::time::Duration;
use url::Url;

/// The tool names this server knows how to run.
pub const KNOWN_TOOLS: [&str; 8] = [
    "echo",
    "write_note",
    "admin_reset",
    "fetch_report",
    "open_cart",
    "cart_show",
    "publish_note",
    "confirm_action",
];

/// Configuration of the reference MCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Canonical server URI including its path (`http://127.0.0.1:9001/mcp`); the MCP
    /// endpoint is served at its path.
    pub resource: String,
    /// Issuers listed in the protected resource metadata.
    pub authorization_servers: Vec<String>,
    /// The trusted issuer, compared byte for byte with `iss`.
    pub issuer: String,
    /// Where the issuer's JWKS is fetched.
    pub jwks_uri: String,
    /// Further issuers whose tokens are accepted, each with its own keys (a token's
    /// `iss` picks the keys it is checked with). List them in `authorization_servers`
    /// too when clients should discover them.
    pub also_trusted: Vec<TrustedIssuer>,
    /// The tools offered, each with the scope a `tools/call` needs.
    pub tools: Vec<ToolConfig>,
    /// Scopes published in the protected resource metadata. The first one is the scope
    /// challenged for when a request names no tool.
    pub scopes_supported: Vec<String>,
    /// The scope hierarchy: `(broader, narrower)` pairs, read transitively — a token with
    /// the broader scope may do what the narrower one allows (MCP 2026-07-28 §Step-Up
    /// Authorization Flow: "Servers MUST account for scope hierarchies"). Empty by default.
    pub scope_implies: Vec<(String, String)>,
    /// Accepted `Origin` values; requests without `Origin` are accepted (non-browser
    /// clients).
    pub allowed_origins: Vec<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// The signature algorithms a token may be signed with: every asymmetric one by
    /// default; one, to pin the verifier to the AS's algorithm as many deployments do.
    pub algorithms: Vec<Algorithm>,
    /// Minimum time between JWKS refetches triggered by an unknown `kid`.
    pub jwks_refetch_interval: Duration,
    /// Sessions unused for this long are forgotten (a later request with the id gets 404).
    pub session_idle_timeout: Duration,
    /// The most live sessions one principal may hold: opening one more closes that
    /// principal's oldest, so a flood of `initialize` calls with one token stays bounded.
    pub max_sessions_per_principal: usize,
    /// Serve legacy requests (2025-11-25 and 2025-06-18: `initialize`, sessions) beside
    /// 2026-07-28 ones, the era chosen per request. `false`: 2026-07-28 only — `initialize`
    /// is refused with `-32022` naming the supported version, GET and DELETE get 405.
    pub legacy: bool,
    /// DPoP (RFC 9449) at the MCP endpoint: a DPoP-bound token (`cnf.jkt`) is accepted
    /// only with `Authorization: DPoP` and a valid proof; unbound tokens as `Bearer`.
    pub dpop: Dpop,
    /// When set, every locally valid token is also checked at the AS (RFC 7662).
    pub introspection: Option<Introspection>,
    /// When set, the `fetch_report` tool is offered and the downstream API is served.
    pub downstream: Option<Downstream>,
    /// Mistakes to commit on purpose, so that the harness can show its scenarios fail
    /// against them (the `McpServer` defects of [`crate::defects`]; others are ignored).
    /// Empty by default: a correct server.
    pub defects: Defects,
}

/// A further trusted issuer and where its keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// The issuer, compared byte for byte with `iss`.
    pub issuer: String,
    /// Where its JWKS is fetched.
    pub jwks_uri: String,
}

impl TrustedIssuer {
    /// `issuer` with its JWKS at `<issuer>/jwks`.
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        TrustedIssuer { jwks_uri: format!("{}/jwks", issuer.trim_end_matches('/')), issuer }
    }
}

/// One tool and the scope it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolConfig {
    /// The tool name (one of [`KNOWN_TOOLS`]).
    pub name: String,
    /// The scopes a token must carry to call it (space-separated; usually one).
    pub required_scope: String,
    /// Shown in `tools/list`.
    pub description: String,
}

impl ToolConfig {
    /// A tool entry.
    pub fn new(name: &str, required_scope: &str, description: &str) -> Self {
        ToolConfig {
            name: name.into(),
            required_scope: required_scope.into(),
            description: description.into(),
        }
    }

    /// A tool needing two scopes, not offered by default: `publish_note` (`mcp:write
    /// mcp:admin`), a note stored and published.
    pub fn two_scopes() -> Vec<ToolConfig> {
        vec![ToolConfig::new(
            "publish_note",
            "mcp:write mcp:admin",
            "Stores and publishes a note (a side effect).",
        )]
    }

    /// A tool needing the client's `elicitation` capability, not offered by default:
    /// `confirm_action` (mcp:read) asks the user to confirm (2026-07-28 requests only).
    pub fn needing_elicitation() -> Vec<ToolConfig> {
        vec![ToolConfig::new("confirm_action", "mcp:read", "Asks the user to confirm (needs elicitation).")]
    }

    /// The state handle tools, not offered by default: `open_cart` (mcp:write) mints a
    /// handle bound to its caller, `cart_show` (mcp:read) takes it back.
    pub fn state_handles() -> Vec<ToolConfig> {
        vec![
            ToolConfig::new("open_cart", "mcp:write", "Opens a cart holding `item`; returns its handle."),
            ToolConfig::new("cart_show", "mcp:read", "Shows the cart whose handle is `cart` (yours only)."),
        ]
    }

    /// The default catalog: `echo` (mcp:read), `write_note` (mcp:write), `admin_reset`
    /// (mcp:admin), `fetch_report` (mcp:read; offered only with a downstream).
    pub fn defaults() -> Vec<ToolConfig> {
        vec![
            ToolConfig::new("echo", "mcp:read", "Returns its `text` argument."),
            ToolConfig::new("write_note", "mcp:write", "Stores a note (a side effect)."),
            ToolConfig::new("admin_reset", "mcp:admin", "Deletes every note (a side effect)."),
            ToolConfig::new(
                "fetch_report",
                "mcp:read",
                "Fetches a report from the downstream API with the server's own token.",
            ),
        ]
    }
}

/// How the MCP endpoint checks DPoP proofs (RFC 9449 §4.3, §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dpop {
    /// The proof algorithms accepted (asymmetric), named in the challenge's `algs`.
    pub algorithms: Vec<Algorithm>,
    /// The window accepted either side of now for a proof's `iat`.
    pub window: Duration,
    /// Require a server nonce in every proof (RFC 9449 §9): a proof without a current
    /// one gets 401 `use_dpop_nonce` with a `DPoP-Nonce`, and every answer to a DPoP
    /// request carries a current nonce.
    pub require_nonce: bool,
    /// How long a nonce stays current: at least this, at most twice this.
    pub nonce_lifetime: Duration,
}

impl Default for Dpop {
    /// Every asymmetric algorithm, ±5 minutes, no nonce (nonces current for 5 minutes
    /// once required).
    fn default() -> Self {
        Dpop {
            algorithms: Algorithm::ASYMMETRIC.to_vec(),
            window: crate::dpop::DEFAULT_WINDOW,
            require_nonce: false,
            nonce_lifetime: Duration::from_secs(300),
        }
    }
}

/// Credentials for token introspection (RFC 7662) at the AS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    /// The introspection endpoint.
    pub endpoint: String,
    /// This server's client id at the AS.
    pub client_id: String,
    /// Its secret (sent with `client_secret_basic`).
    pub client_secret: String,
}

/// Credentials and address of the downstream API the `fetch_report` tool calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downstream {
    /// The AS token endpoint (client credentials grant).
    pub token_endpoint: String,
    /// This server's client id at the AS.
    pub client_id: String,
    /// Its secret (sent with `client_secret_basic`).
    pub client_secret: String,
    /// The downstream resource (`<origin>/downstream`); the report is at `<resource>/report`.
    pub resource: String,
}

impl Config {
    /// Defaults for `resource` protected by `issuer`: JWKS at `<issuer>/jwks`, the default
    /// tools, scopes `mcp:read mcp:write mcp:admin`, the resource's own origin allowed, 30 s
    /// leeway, 60 s between JWKS refetches, one hour idle sessions, 64 live sessions per
    /// principal.
    pub fn new(resource: impl Into<String>, issuer: impl Into<String>) -> Self {
        let resource = resource.into();
        let issuer = issuer.into();
        let origin = Url::parse(&resource).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        Config {
            authorization_servers: vec![issuer.clone()],
            jwks_uri: format!("{}/jwks", issuer.trim_end_matches('/')),
            also_trusted: vec![],
            issuer,
            tools: ToolConfig::defaults(),
            scopes_supported: ["mcp:read", "mcp:write", "mcp:admin"].map(String::from).to_vec(),
            scope_implies: vec![],
            allowed_origins: vec![origin],
            leeway_secs: 30,
            algorithms: Algorithm::ASYMMETRIC.to_vec(),
            jwks_refetch_interval: Duration::from_secs(60),
            session_idle_timeout: Duration::from_secs(3600),
            max_sessions_per_principal: 64,
            legacy: true,
            dpop: Dpop::default(),
            introspection: None,
            downstream: None,
            defects: Defects::none(),
            resource,
        }
    }

    /// Checks the configuration and puts `resource` in canonical form.
    pub(super) fn checked(mut self) -> Result<Self> {
        self.resource = canonical_resource(&self.resource).map_err(|e| Error::Config(e.to_string()))?;
        if self.issuer.is_empty() {
            return Err(Error::Config(
                "issuer: received an empty string, expected the trusted issuer".into(),
            ));
        }
        if let Some(a) = self.algorithms.iter().find(|a| !Algorithm::ASYMMETRIC.contains(a)) {
            return Err(Error::Config(format!(
                "algorithms: received {a:?}, expected asymmetric ones ({:?})",
                Algorithm::ASYMMETRIC
            )));
        }
        if self.dpop.algorithms.is_empty() || self.dpop.algorithms.contains(&Algorithm::HS256) {
            return Err(Error::Config(format!(
                "dpop.algorithms: received {:?}, expected asymmetric ones",
                self.dpop.algorithms
            )));
        }
        if self.algorithms.is_empty() {
            return Err(Error::Config("algorithms: received none, expected at least one".into()));
        }
        if self.authorization_servers.is_empty() {
            return Err(Error::Config("authorization_servers: received none, expected at least one".into()));
        }
        let mut urls = vec![&self.jwks_uri];
        urls.extend(self.also_trusted.iter().map(|t| &t.jwks_uri));
        urls.extend(self.introspection.as_ref().map(|i| &i.endpoint));
        urls.extend(self.downstream.as_ref().map(|d| &d.token_endpoint));
        for u in urls {
            Url::parse(u).map_err(|e| Error::Config(format!("`{u}` is not an absolute url: {e}")))?;
            crate::wire::get_json_request(u)?;
        }
        if let Some(d) = &mut self.downstream {
            d.resource = canonical_resource(&d.resource).map_err(|e| Error::Config(e.to_string()))?;
        }
        let mut seen = BTreeSet::new();
        for t in &self.tools {
            if !KNOWN_TOOLS.contains(&t.name.as_str()) {
                return Err(Error::Config(format!(
                    "tool `{}` is unknown, expected one of {KNOWN_TOOLS:?}",
                    t.name
                )));
            }
            if !seen.insert(t.name.as_str()) {
                return Err(Error::Config(format!("tool `{}` is listed twice", t.name)));
            }
            let tokens = t.required_scope.split(' ');
            if t.required_scope.is_empty() || tokens.clone().any(str::is_empty) {
                return Err(Error::Config(format!(
                    "tool `{}`: required_scope `{}`: expected scope tokens separated by single spaces",
                    t.name, t.required_scope
                )));
            }
        }
        for (broader, narrower) in &self.scope_implies {
            if [broader, narrower].iter().any(|s| s.is_empty() || s.contains(' ')) || broader == narrower {
                return Err(Error::Config(format!(
                    "scope_implies: received `{broader}` implies `{narrower}`, expected two different scope tokens"
                )));
            }
        }
        Ok(self)
    }

    /// The path-inserted protected resource metadata URL, named in every challenge.
    pub fn resource_metadata_url(&self) -> String {
        well_known_urls(&self.resource).ok().and_then(|v| v.into_iter().next()).unwrap_or_default()
    }

    /// The path of the MCP endpoint (`/mcp`; `/` for a resource without a path).
    pub fn endpoint_path(&self) -> String {
        Url::parse(&self.resource).map(|u| u.path().to_string()).unwrap_or_else(|_| "/".into())
    }

    /// The path at which the downstream API's report is served, when the downstream
    /// resource lives on this server's origin.
    pub fn downstream_report_path(&self) -> Option<String> {
        let d = self.downstream.as_ref()?;
        let ours = Url::parse(&self.resource).ok()?;
        let theirs = Url::parse(&d.resource).ok()?;
        (ours.origin() == theirs.origin()).then(|| format!("{}/report", theirs.path().trim_end_matches('/')))
    }

    /// The scope challenged for when a request names no tool.
    pub fn base_scope(&self) -> Option<&str> {
        self.scopes_supported.first().map(String::as_str)
    }
}
