//! The authorization server the harness plays when it tests a live MCP server: the
//! reference AS on loopback, whose issuer and JWKS the server under test is told to
//! trust. The harness mints tokens with its key directly — valid ones, and the hostile
//! variants of the validation matrix — and counts how often the server under test
//! fetches the JWKS (fetch amplification is counted where it hurts).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use mcp_authz_live::test_authority::TestAuthority;
//! let authority = TestAuthority::start(9000, &["http://127.0.0.1:9001/mcp"]).await?;
//! println!("trust issuer {} with keys at {}", authority.issuer(), authority.jwks_uri());
//! # Ok(()) }
//! ```

use crate::fetch::Fetcher;
use crate::serve::{Served, os_rng, system_now};
use crate::stack;
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::authorization_server::{self as authz, AuthorizationServer};
use mcp_authz_reference::jwt::{Algorithm, SigningKey};
use mcp_authz_reference::sans_io::Env;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

/// The harness's authorization server, serving on loopback until shut down. Clones
/// share it.
#[derive(Clone)]
pub struct TestAuthority {
    issuer: String,
    served: Served<AuthorizationServer>,
    jwks_fetches: Arc<AtomicU64>,
    stop: Arc<watch::Sender<bool>>,
}

/// The scopes the harness's AS knows for every resource.
pub const SCOPES: [&str; 3] = ["mcp:read", "mcp:write", "mcp:admin"];

impl TestAuthority {
    /// Starts the AS on `127.0.0.1:port` (0: the OS picks) with ES256 keys; `resources`
    /// are the resource indicators it issues tokens for (the server under test, and any
    /// the harness simulates beside it).
    pub async fn start(port: u16, resources: &[&str]) -> anyhow::Result<TestAuthority> {
        TestAuthority::start_with(port, resources, Algorithm::ES256).await
    }

    /// As [`TestAuthority::start`], signing with `alg`.
    pub async fn start_with(port: u16, resources: &[&str], alg: Algorithm) -> anyhow::Result<TestAuthority> {
        let listener = stack::bind(port).await?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let config = authz::Config {
            issuer: issuer.clone(),
            auto_approve: true,
            signing_alg: alg,
            resources: resources
                .iter()
                .map(|uri| authz::ResourceConfig {
                    uri: uri.to_string(),
                    scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            registration_scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            ..authz::Config::default()
        };
        let mut rng = os_rng();
        let service = AuthorizationServer::new(config, &mut Env::new(system_now(), &mut rng))?;
        let served = Served::new(service, Fetcher::untrusted()?);
        let jwks_fetches = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&jwks_fetches);
        let router = served.router().layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                if req.method() == http::Method::GET && req.uri().path() == "/jwks" {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                next.run(req)
            },
        ));
        let (stop, rx) = watch::channel(false);
        tokio::spawn(stack::serve(listener, router, rx));
        Ok(TestAuthority { issuer, served, jwks_fetches, stop: Arc::new(stop) })
    }

    /// The issuer the server under test must trust, e.g. `http://127.0.0.1:9000`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where the server under test fetches the keys.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// Signs `claims` as an RFC 9068 access token with the current key.
    pub fn mint(&self, claims: &AccessTokenClaims) -> Result<String, mcp_authz_reference::Error> {
        self.served.with(|a, _| a.sign_access_token(claims))
    }

    /// Runs `f` with the current signing key (to forge variants: another `typ`, HMAC
    /// keyed with the public key).
    pub fn with_signing_key<T>(&self, f: impl FnOnce(&SigningKey) -> T) -> T {
        self.served.with(|a, _| f(a.signing_key()))
    }

    /// How many times the JWKS has been fetched over HTTP.
    pub fn jwks_fetches(&self) -> u64 {
        self.jwks_fetches.load(Ordering::Relaxed)
    }

    /// The AS itself, shared with the server: a simulation can host it too.
    pub fn served(&self) -> Served<AuthorizationServer> {
        self.served.clone()
    }

    /// Stops serving (for every clone).
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}
