//! The thin real-HTTP adapter: any sans-IO [`Service`] behind an axum `Router`, with the
//! system clock, an OS-seeded RNG, a body size limit and a [`Fetcher`] for the fetches
//! the role asks for.
//!
//! ```no_run
//! # async fn demo(service: mcp_authz_reference::authorization_server::AuthorizationServer) {
//! use mcp_authz_live::{fetch::Fetcher, serve::Served};
//! let app = Served::new(service, Fetcher::trusted().unwrap()).router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

use crate::fetch::Fetcher;
use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use mcp_authz_reference::sans_io::{Connection, Env, Service, Step, Time};
use mcp_authz_reference::wire;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::{Arc, Mutex};

/// The current wall-clock time. The one place the real-HTTP drivers read the clock.
#[allow(clippy::disallowed_methods)]
pub fn system_now() -> Time {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Time::from_unix_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A random source seeded from the OS, for real-HTTP drivers. The one place they seed
/// from the OS.
#[allow(clippy::disallowed_methods)]
pub fn os_rng() -> ChaCha20Rng {
    ChaCha20Rng::from_os_rng()
}

struct Shared<S> {
    service: Mutex<(S, ChaCha20Rng)>,
    fetcher: Fetcher,
}

/// A role served over HTTP. Cloning shares the role, so a test can look at its state
/// while it serves.
pub struct Served<S>(Arc<Shared<S>>);

impl<S> Clone for Served<S> {
    fn clone(&self) -> Self {
        Served(Arc::clone(&self.0))
    }
}

impl<S: Service + Send + 'static> Served<S> {
    /// Wraps `service`; its fetches go through `fetcher`.
    pub fn new(service: S, fetcher: Fetcher) -> Self {
        Served(Arc::new(Shared { service: Mutex::new((service, os_rng())), fetcher }))
    }

    /// An axum `Router` that hands every request to the role.
    pub fn router(&self) -> axum::Router {
        let shared = Arc::clone(&self.0);
        axum::Router::new().fallback(move |req: axum::extract::Request| {
            let shared = Arc::clone(&shared);
            async move { handle(&shared, req).await }
        })
    }

    /// Runs `f` on the role (with the lock held) and an environment at the current time.
    pub fn with<T>(&self, f: impl FnOnce(&mut S, &mut Env<'_>) -> T) -> T {
        with_service(&self.0, f)
    }
}

async fn handle<S: Service>(shared: &Shared<S>, req: axum::extract::Request) -> http::Response<Body> {
    let (parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, wire::MAX_BODY_BYTES);
    let bytes = match limited.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            let too_large = e.downcast_ref::<http_body_util::LengthLimitError>().is_some();
            let (status, msg) = if too_large {
                (http::StatusCode::PAYLOAD_TOO_LARGE, format!("body over {} bytes", wire::MAX_BODY_BYTES))
            } else {
                (http::StatusCode::BAD_REQUEST, format!("cannot read body: {e}"))
            };
            return into_axum(wire::oauth_error(status, "invalid_request", msg));
        }
    };
    let mut request = http::Request::from_parts(parts, bytes);
    let peer = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
    if let Some(peer) = peer {
        request.extensions_mut().insert(Connection(peer.to_string()));
    }
    let mut step = with_service(shared, |s, env| s.handle(request, env));
    loop {
        match step {
            Step::Respond(r) => return into_axum(r),
            Step::Fetch { request, pending } => {
                let fetched = shared.fetcher.fetch(request).await;
                step = with_service(shared, |s, env| s.resume(pending, fetched, env));
            }
        }
    }
}

fn with_service<S: Service, T>(shared: &Shared<S>, f: impl FnOnce(&mut S, &mut Env<'_>) -> T) -> T {
    // A panic in a role poisons the lock; the state is still consistent enough to serve.
    let mut guard = shared.service.lock().unwrap_or_else(|p| p.into_inner());
    let (service, rng) = &mut *guard;
    let mut env = Env::new(system_now(), rng);
    f(service, &mut env)
}

fn into_axum(r: http::Response<Bytes>) -> http::Response<Body> {
    r.map(Body::from)
}

/// A served role can also be a host in the simulator: the simulator's environment
/// (virtual clock, seeded RNG) drives it, and it keeps its state between both uses. A
/// live run uses this so that the harness's authorization server answers the server
/// under test over HTTP and the simulated roles in-process.
impl<S: Service + Send + 'static> Service for Served<S> {
    type Pending = S::Pending;

    fn handle(
        &mut self,
        request: mcp_authz_reference::sans_io::Request,
        env: &mut Env<'_>,
    ) -> Step<S::Pending> {
        self.with_env(env, |s, env| s.handle(request, env))
    }

    fn resume(
        &mut self,
        pending: S::Pending,
        fetched: mcp_authz_reference::sans_io::FetchResult,
        env: &mut Env<'_>,
    ) -> Step<S::Pending> {
        self.with_env(env, |s, env| s.resume(pending, fetched, env))
    }
}

impl<S> Served<S> {
    fn with_env<T>(&self, env: &mut Env<'_>, f: impl FnOnce(&mut S, &mut Env<'_>) -> T) -> T {
        let mut guard = self.0.service.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard.0, env)
    }
}
