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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The harness's authorization server, serving on loopback until shut down. Clones
/// share it.
#[derive(Clone)]
pub struct TestAuthority {
    issuer: String,
    served: Served<AuthorizationServer>,
    jwks_fetches: Arc<AtomicU64>,
    probes: Probes,
    stop: Arc<watch::Sender<bool>>,
}

/// Keys published beside the AS's own, over HTTP only: the setup's probe keys.
type Probes = Arc<Mutex<Vec<Arc<SigningKey>>>>;

/// The scopes the harness's AS knows for every resource.
pub const SCOPES: [&str; 3] = ["mcp:read", "mcp:write", "mcp:admin"];

impl TestAuthority {
    /// Starts the AS on `127.0.0.1:port` (0: the OS picks) with a fresh ES256 key;
    /// `resources` are the resource indicators it issues tokens for (the server under
    /// test, and any the harness simulates beside it).
    pub async fn start(port: u16, resources: &[&str]) -> anyhow::Result<TestAuthority> {
        TestAuthority::start_with(port, resources, Algorithm::ES256).await
    }

    /// As [`TestAuthority::start`], signing with a fresh `alg` key.
    pub async fn start_with(port: u16, resources: &[&str], alg: Algorithm) -> anyhow::Result<TestAuthority> {
        TestAuthority::start_inner(port, resources, alg, None).await
    }

    /// As [`TestAuthority::start`], signing with `key` (kept across runs, see
    /// [`crate::harness_key`]; or an HS256 secret shared with the server under test),
    /// the only key in its JWKS.
    pub async fn start_with_key(
        port: u16,
        resources: &[&str],
        key: SigningKey,
    ) -> anyhow::Result<TestAuthority> {
        TestAuthority::start_inner(port, resources, key.alg(), Some(key)).await
    }

    async fn start_inner(
        port: u16,
        resources: &[&str],
        alg: Algorithm,
        key: Option<SigningKey>,
    ) -> anyhow::Result<TestAuthority> {
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
        let mut service = AuthorizationServer::new(config, &mut Env::new(system_now(), &mut rng))?;
        if let Some(key) = key {
            service.replace_signing_key(key);
        }
        let served = Served::new(service, Fetcher::untrusted()?);
        let jwks_fetches = Arc::new(AtomicU64::new(0));
        let probes: Probes = Arc::default();
        let (counter, shown, keys) = (Arc::clone(&jwks_fetches), Arc::clone(&probes), served.clone());
        let router = served.router().layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let is_jwks = req.method() == http::Method::GET && req.uri().path() == "/jwks";
                if is_jwks {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                let extra: Vec<_> = match shown.lock() {
                    Ok(probes) if is_jwks => probes.iter().map(|k| k.public_jwk()).collect(),
                    _ => vec![],
                };
                let own = (!extra.is_empty()).then(|| keys.with(|a, _| a.jwks()));
                async move {
                    match own {
                        Some(mut jwks) => {
                            jwks.keys.extend(extra);
                            let body = serde_json::to_vec(&jwks).unwrap_or_default();
                            let json = [(http::header::CONTENT_TYPE, "application/json")];
                            axum::response::IntoResponse::into_response((json, body))
                        }
                        None => next.run(req).await,
                    }
                }
            },
        ));
        let (stop, rx) = watch::channel(false);
        tokio::spawn(stack::serve(listener, router, rx));
        Ok(TestAuthority { issuer, served, jwks_fetches, probes, stop: Arc::new(stop) })
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

    /// Publishes `key`'s public half in the JWKS the server under test fetches, beside
    /// the AS's own key: a key of another algorithm, which the setup signs a token with
    /// when the server refuses the harness's (see [`TestAuthority::probe_keys`]).
    /// Publish it before the run, so that the server's first fetch of the JWKS already
    /// holds it. The simulated roles do not see it.
    pub fn publish_probe_key(&self, key: SigningKey) {
        if let Ok(mut probes) = self.probes.lock() {
            probes.push(Arc::new(key));
        }
    }

    /// The keys published with [`TestAuthority::publish_probe_key`].
    pub fn probe_keys(&self) -> Vec<Arc<SigningKey>> {
        self.probes.lock().map(|p| p.clone()).unwrap_or_default()
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
