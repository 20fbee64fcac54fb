//! Configuration of the reference authorization server: issuer, resources, users,
//! pre-registered clients, lifetimes.

use crate::defects::Defects;
use crate::jwt::{Algorithm, Jwks};
use crate::resource_indicator::{Resource, canonical_resource};
use crate::{Error, Result};
use std::time::Duration;

/// The longest authorization code lifetime allowed (OAuth 2.1 §4.1.2: "a maximum
/// authorization code lifetime of 10 minutes is RECOMMENDED"; this server is stricter).
pub const MAX_CODE_TTL: Duration = Duration::from_secs(60);

/// Everything the authorization server needs to know before it starts.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer identifier, e.g. `http://127.0.0.1:9000`. No trailing slash, query or
    /// fragment. With a path, metadata is served path-inserted (RFC 8414 §3.1).
    pub issuer: String,
    /// The resources (MCP servers, downstream APIs) this server issues tokens for.
    pub resources: Vec<ResourceConfig>,
    /// The algorithm of the access-token signing key.
    pub signing_alg: Algorithm,
    /// Lifetime of access tokens.
    pub access_token_ttl: Duration,
    /// Lifetime of authorization codes (at most [`MAX_CODE_TTL`]).
    pub code_ttl: Duration,
    /// Lifetime of each refresh token (renewed on every rotation).
    pub refresh_token_ttl: Duration,
    /// Answer a valid authorization request at once with the code, without showing the
    /// login and consent form: signed in as the user its `login_hint` names, else the
    /// first user.
    pub auto_approve: bool,
    /// The resource owners who can sign in at the consent form.
    pub users: Vec<User>,
    /// Pre-registered clients.
    pub clients: Vec<RegisteredClient>,
    /// The scopes dynamically registered and client-ID-metadata-document clients may use.
    pub registration_scopes: Vec<String>,
    /// A dynamically registered client may later ask for any of [`Config::registration_scopes`],
    /// not only those its registration named: the `scope` it registers is taken as a hint
    /// (RFC 7591 §2 leaves the policy to the server). `false` by default: what it
    /// registered is what it may ask for. The harness's AS in client scenarios sets it,
    /// so that a client's step-up is not refused by a policy the scenario is not about.
    pub registered_scope_is_a_hint: bool,
    /// Development switch: allow `http` and loopback client ID metadata document URLs.
    pub allow_insecure_client_id_urls: bool,
    /// How much the server takes and keeps before it refuses: the rate of dynamic
    /// registration and the size of its stores, so that a flood cannot exhaust it.
    pub limits: Limits,
    /// DPoP at the token endpoint (RFC 9449 §5, §8).
    pub dpop: TokenDpop,
    /// The issuers whose JWTs this server takes as authorization grants (RFC 7523 §2.1):
    /// enterprise IdPs' ID-JAGs and workload platforms' JWTs. Empty by default: the JWT
    /// bearer grant is then neither offered nor taken.
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// Mistakes to commit on purpose, so that the harness can show its scenarios fail
    /// against them (the `AuthorizationServer` defects of [`crate::defects`]; others are
    /// ignored). Empty by default: a correct server.
    pub defects: Defects,
}

/// Bounds under floods. Every store the server fills on a stranger's request is bounded
/// here, and expires besides: dynamically registered clients (RFC 7591 §3: open
/// registration "MAY be rate-limited or otherwise limited to prevent a denial-of-service
/// attack"), login and consent forms waiting for the user, authorization codes, refresh
/// tokens, client ID metadata documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Dynamic registrations (`POST /register`, valid or not) taken in one
    /// [`registration_window`](Self::registration_window), from all senders together: a
    /// sans-IO request carries no peer address to count them by. Beyond it, 429 with
    /// `Retry-After` (the seconds until the window ends).
    pub registrations_per_window: u32,
    /// The fixed window of [`registrations_per_window`](Self::registrations_per_window):
    /// it starts with the first registration after the previous one ended.
    pub registration_window: Duration,
    /// Most dynamically registered clients kept; beyond it registration is refused
    /// (503) until the server restarts (clients are kept in memory).
    pub max_registered_clients: usize,
    /// Most login and consent forms waiting for the user at once (each expires after
    /// [`CONSENT_TTL`](super::authorize::CONSENT_TTL)); beyond it an authorization request is
    /// answered `temporarily_unavailable`.
    pub max_pending_authorizations: usize,
    /// Most authorization codes kept, unredeemed (until they expire) or redeemed (to revoke
    /// what they bought if replayed). When full, the oldest redeemed code is forgotten; with
    /// none redeemed, an authorization is answered `temporarily_unavailable`.
    pub max_codes: usize,
    /// Most refresh tokens kept, current or rotated (a rotated one is kept until it
    /// expires, to detect its reuse). When full, a code is redeemed without a refresh
    /// token (the AS's discretion, MCP §Refresh Tokens) and a refresh forgets the token it
    /// rotates instead of keeping it (presented again, it is unknown: still refused, but its
    /// family is not revoked).
    pub max_refresh_tokens: usize,
    /// Most client ID metadata documents kept (each by its URL, which anyone can choose).
    /// When full, the stale ones are forgotten, then the one that goes stale first: a
    /// forgotten document is fetched again when needed.
    pub max_client_metadata_documents: usize,
}

impl Default for Limits {
    /// 500 registrations a minute (a live run of the whole AS catalog registers about a
    /// hundred), 10 000 registered clients, 10 000 waiting forms, 10 000 codes, 100 000
    /// refresh tokens, 10 000 client ID metadata documents.
    fn default() -> Self {
        Limits {
            registrations_per_window: 500,
            registration_window: Duration::from_secs(60),
            max_registered_clients: 10_000,
            max_pending_authorizations: 10_000,
            max_codes: 10_000,
            max_refresh_tokens: 100_000,
            max_client_metadata_documents: 10_000,
        }
    }
}

/// How the token endpoint takes DPoP proofs (RFC 9449 §5): a token request with a valid
/// proof gets tokens bound to the proof's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDpop {
    /// The proof algorithms accepted (asymmetric only), advertised as
    /// `dpop_signing_alg_values_supported`.
    pub algorithms: Vec<Algorithm>,
    /// Require a server nonce in every proof (RFC 9449 §8): a proof without a current one
    /// gets 400 `use_dpop_nonce` with a `DPoP-Nonce` header, and every token response
    /// carries a current nonce.
    pub require_nonce: bool,
    /// How long a nonce stays current: at least this, at most twice this.
    pub nonce_lifetime: Duration,
}

impl Default for TokenDpop {
    /// Every asymmetric algorithm, no nonce (nonces current for 5 minutes once required).
    fn default() -> Self {
        TokenDpop {
            algorithms: Algorithm::ASYMMETRIC.to_vec(),
            require_nonce: false,
            nonce_lifetime: Duration::from_secs(300),
        }
    }
}

/// An issuer of JWT authorization grants (RFC 7523 §3: "The JWT MUST contain an "iss"
/// (issuer) claim"; the authorization server trusts it by configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// Its issuer identifier: the `iss` of its JWTs.
    pub issuer: String,
    /// Its public keys (the workload identity extension fetches them from a TLS-protected
    /// URI; here they are configured).
    pub jwks: Jwks,
    /// What its JWTs are.
    pub kind: AssertionKind,
    /// The scopes its JWTs may buy (an ID-JAG's are narrowed further by its `scope` and its
    /// client's scopes): the claim-based authorization rule of the workload identity
    /// extension, here per issuer.
    pub scopes: Vec<String>,
}

/// What an issuer's JWTs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionKind {
    /// Identity Assertion JWT Authorization Grants of an enterprise IdP
    /// (enterprise-managed authorization): `typ` `oauth-id-jag+jwt`, `aud` this server's
    /// issuer, a `client_id` naming the client that presents it.
    IdJag,
    /// Workload JWTs of a workload platform (workload identity federation): `aud` this
    /// server's token endpoint, no client.
    Workload,
}

/// A resource this server issues tokens for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceConfig {
    /// The canonical URI (RFC 8707, MCP canonical server URI): the tokens' `aud`.
    pub uri: String,
    /// The scopes that exist at this resource.
    pub scopes: Vec<String>,
}

/// A resource owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The login name typed at the form.
    pub username: String,
    /// The password typed at the form.
    pub password: String,
    /// The subject identifier put in `sub`.
    pub sub: String,
}

/// A client known to this server: pre-registered, dynamically registered (RFC 7591) or
/// described by a client ID metadata document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegisteredClient {
    /// The client identifier.
    pub client_id: String,
    /// The secret of a `client_secret_basic` / `client_secret_post` client.
    pub client_secret: Option<String>,
    /// Redirect URIs, compared byte for byte (the port of a loopback `http` URI may vary).
    pub redirect_uris: Vec<String>,
    /// Grant types the client may use at the token endpoint.
    pub grant_types: Vec<String>,
    /// `none` (public client), `client_secret_basic`, `client_secret_post` or
    /// `private_key_jwt`.
    pub token_endpoint_auth_method: String,
    /// Scopes the client may be granted.
    pub scopes: Vec<String>,
    /// The client's public keys, for `private_key_jwt`.
    pub jwks: Option<Jwks>,
    /// Name shown on the consent form.
    pub client_name: Option<String>,
    /// The client registered `dpop_bound_access_tokens: true` (RFC 9449 §5.2): every token
    /// request of it must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
}

impl RegisteredClient {
    /// A public client (`token_endpoint_auth_method: none`) using the authorization code
    /// and refresh token grants.
    pub fn public(client_id: &str, redirect_uris: &[&str], scopes: &[&str]) -> Self {
        RegisteredClient {
            client_id: client_id.to_string(),
            redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
            grant_types: vec![AUTHORIZATION_CODE.into(), REFRESH_TOKEN.into()],
            token_endpoint_auth_method: NONE.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    /// True for a client that has no credentials (`token_endpoint_auth_method: none`).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == NONE
    }

    /// True when `grant_type` is one this client registered.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }

    /// The name shown to the user: `client_name`, else the client ID.
    pub fn display_name(&self) -> &str {
        self.client_name.as_deref().unwrap_or(&self.client_id)
    }
}

/// `grant_type=authorization_code`.
pub const AUTHORIZATION_CODE: &str = "authorization_code";
/// `grant_type=refresh_token`.
pub const REFRESH_TOKEN: &str = "refresh_token";
/// `grant_type=client_credentials`.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";
/// `grant_type` of the JWT bearer grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT: &str = crate::id_jag::JWT_BEARER;
/// `token_endpoint_auth_method=none`: a public client.
pub const NONE: &str = "none";

impl Default for Config {
    /// Issuer `http://127.0.0.1:9000`; one resource `http://127.0.0.1:9001/mcp` with
    /// scopes `mcp:read mcp:write mcp:admin`; ES256; access tokens 600 s, codes 60 s,
    /// refresh tokens 24 h; the login form is shown (no auto-approve); one user `alice`
    /// with password `alice`; no pre-registered clients; registered clients get
    /// `mcp:read mcp:write`; the default [`Limits`]; DPoP proofs taken without nonces; no
    /// trusted assertion issuers; no defects.
    fn default() -> Self {
        Config {
            issuer: "http://127.0.0.1:9000".into(),
            resources: vec![ResourceConfig {
                uri: "http://127.0.0.1:9001/mcp".into(),
                scopes: vec!["mcp:read".into(), "mcp:write".into(), "mcp:admin".into()],
            }],
            signing_alg: Algorithm::ES256,
            access_token_ttl: Duration::from_secs(600),
            code_ttl: MAX_CODE_TTL,
            refresh_token_ttl: Duration::from_secs(24 * 3600),
            auto_approve: false,
            users: vec![User { username: "alice".into(), password: "alice".into(), sub: "alice".into() }],
            clients: vec![],
            registration_scopes: vec!["mcp:read".into(), "mcp:write".into()],
            registered_scope_is_a_hint: false,
            allow_insecure_client_id_urls: false,
            limits: Limits::default(),
            dpop: TokenDpop::default(),
            trusted_issuers: vec![],
            defects: Defects::none(),
        }
    }
}

impl Config {
    /// Checks the configuration and canonicalizes the resource URIs.
    pub(super) fn checked(mut self) -> Result<Self> {
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| Error::Config(format!("issuer `{}` is not an absolute url: {e}", self.issuer)))?;
        if issuer.query().is_some() || self.issuer.contains('#') || self.issuer.ends_with('/') {
            return Err(Error::Config(format!(
                "issuer `{}` must have no query, fragment or trailing slash",
                self.issuer
            )));
        }
        if self.code_ttl > MAX_CODE_TTL {
            return Err(Error::Config(format!("code_ttl is {:?}, expected at most 60 s", self.code_ttl)));
        }
        let l = &self.limits;
        if l.registrations_per_window == 0 || l.registration_window.is_zero() {
            return Err(Error::Config("the registration rate limit must let some registrations in".into()));
        }
        if self.dpop.algorithms.iter().any(|a| !Algorithm::ASYMMETRIC.contains(a)) {
            return Err(Error::Config("dpop algorithms must be asymmetric (RFC 9449 §4.2)".into()));
        }
        if self.auto_approve && self.users.is_empty() {
            return Err(Error::Config("auto_approve needs at least one user to sign in as".into()));
        }
        for t in &self.trusted_issuers {
            let keys = crate::jwt::KeySet::from_jwks(&t.jwks).map_err(|e| {
                Error::Config(format!("trusted issuer `{}`: its jwks are not usable: {e}", t.issuer))
            })?;
            if keys.is_empty() || t.jwks.keys.iter().any(|k| k.kty == "oct") {
                return Err(Error::Config(format!(
                    "trusted issuer `{}` needs public keys (no symmetric key), got {} keys",
                    t.issuer,
                    t.jwks.keys.len()
                )));
            }
        }
        for r in &mut self.resources {
            r.uri = canonical_resource(&r.uri).map_err(|e| Error::Config(e.to_string()))?;
        }
        for c in &self.clients {
            if self.users.iter().any(|u| u.sub == c.client_id) {
                return Err(Error::Config(format!(
                    "client_id `{}` equals a user's sub; tokens would confuse them (RFC 9700 §4.15)",
                    c.client_id
                )));
            }
        }
        Ok(self)
    }

    /// The resource whose canonical URI equals the canonical form of `uri`.
    pub fn resource(&self, uri: &str) -> Option<&ResourceConfig> {
        let wanted = Resource::parse(uri).ok()?;
        self.resources.iter().find(|r| r.uri == wanted.as_str())
    }

    /// Every scope of every resource, sorted, without duplicates.
    pub fn scopes_supported(&self) -> Vec<String> {
        let set: std::collections::BTreeSet<&String> =
            self.resources.iter().flat_map(|r| &r.scopes).collect();
        set.into_iter().cloned().collect()
    }

    /// The path of the issuer (`""` when it has none), prefix of every endpoint path.
    pub(super) fn issuer_path(&self) -> String {
        url::Url::parse(&self.issuer).map(|u| u.path().trim_end_matches('/').to_string()).unwrap_or_default()
    }

    /// `<issuer>/authorize`.
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/authorize", self.issuer)
    }

    /// `<issuer>/token`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// `<issuer>/register`.
    pub fn registration_endpoint(&self) -> String {
        format!("{}/register", self.issuer)
    }

    /// `<issuer>/revoke`.
    pub fn revocation_endpoint(&self) -> String {
        format!("{}/revoke", self.issuer)
    }

    /// The scopes a client registered by itself (dynamic registration or a client ID
    /// metadata document) may ask for, given the `scope` it named: those of
    /// [`Config::registration_scopes`] it named (all of them when it named none), or all
    /// of them when [`Config::registered_scope_is_a_hint`].
    pub fn scopes_of_registered(&self, named: Option<&str>) -> Vec<String> {
        match self.registered_scope_is_a_hint {
            true => self.registration_scopes.clone(),
            false => crate::registration::narrow_scope(named, &self.registration_scopes),
        }
    }

    /// `<issuer>/introspect`.
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.issuer)
    }

    /// `<issuer>/jwks`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_configurations() {
        let bad = [
            Config { issuer: "http://127.0.0.1:9000/".into(), ..Config::default() },
            Config { issuer: "not a url".into(), ..Config::default() },
            Config { code_ttl: Duration::from_secs(61), ..Config::default() },
            Config { auto_approve: true, users: vec![], ..Config::default() },
            Config { clients: vec![RegisteredClient::public("alice", &[], &[])], ..Config::default() },
        ];
        for c in bad {
            assert!(matches!(c.checked(), Err(Error::Config(_))));
        }
    }

    #[test]
    fn resources_are_canonicalized() {
        let c = Config {
            resources: vec![ResourceConfig { uri: "HTTP://LOCALHOST:9001/mcp/".into(), scopes: vec![] }],
            ..Config::default()
        };
        let c = c.checked().unwrap();
        assert_eq!(c.resources[0].uri, "http://localhost:9001/mcp");
        assert!(c.resource("http://localhost:9001/mcp").is_some());
        assert!(c.resource("http://localhost:9001/MCP").is_none());
    }
}
