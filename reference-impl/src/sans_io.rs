//! The sans-IO contract every role follows.
//!
//! A role never touches a socket, the system clock or the OS RNG. A driver (the
//! simulator, or the real-HTTP adapters in `mcp-authz-live`) hands it a [`Request`]
//! plus an [`Env`] (the current [`Time`] and a random source) and gets back a [`Step`]:
//! either the [`Response`] to send, or an outbound request the role needs answered first
//! (a JWKS fetch, a client ID metadata document, a downstream API call). The driver
//! performs that fetch however it likes and feeds the result to [`Service::resume`].
//!
//! ```
//! use mcp_authz_reference::sans_io::{Env, Time};
//! use rand_core::SeedableRng;
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let mut env = Env::new(Time::from_unix_secs(1_700_000_000), &mut rng);
//! assert_eq!(env.now.unix_secs(), 1_700_000_000);
//! assert_eq!(env.random_string(32).len(), 43); // 32 bytes, base64url without padding
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use rand_core::RngCore;
use std::time::Duration;

/// An HTTP request as every role sees it: head plus the whole (size-limited) body.
pub type Request = http::Request<Bytes>;
/// The connection a request came on, as a request extension, when its driver knows it:
/// the peer's address and port over real HTTP, the sender's name in the simulator, one
/// value per case for the in-process target. MCP 2026-07-28 servers must not depend on
/// it (basic/index §Statelessness); the defects that do read it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Connection(pub String);

impl Connection {
    /// The connection `request` came on, if its driver said.
    pub fn of(request: &Request) -> Option<&Connection> {
        request.extensions().get::<Connection>()
    }
}

/// An HTTP response as every role produces it.
pub type Response = http::Response<Bytes>;

/// A point in time, in milliseconds since the Unix epoch. Roles get it from their
/// driver: the simulator's virtual clock or the system clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(u64);

impl Time {
    /// The instant `secs` seconds after the epoch.
    pub const fn from_unix_secs(secs: u64) -> Self {
        Time(secs.saturating_mul(1000))
    }
    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_unix_millis(millis: u64) -> Self {
        Time(millis)
    }
    /// Whole seconds since the epoch (what JWT `exp`/`iat` hold).
    pub const fn unix_secs(self) -> u64 {
        self.0 / 1000
    }
    /// Milliseconds since the epoch.
    pub const fn unix_millis(self) -> u64 {
        self.0
    }
    /// This instant plus `d` (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Time(self.0.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
    }
    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Time) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// What a driver lends a role for one call: the time and a random source.
pub struct Env<'a> {
    /// The current time.
    pub now: Time,
    /// The random source. The simulator derives it from its one seed; the real-HTTP
    /// adapters seed it from the OS.
    pub rng: &'a mut dyn RngCore,
}

impl<'a> Env<'a> {
    /// An environment at `now` drawing from `rng`.
    pub fn new(now: Time, rng: &'a mut dyn RngCore) -> Self {
        Env { now, rng }
    }

    /// `n` random bytes.
    pub fn random_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.rng.fill_bytes(&mut b);
        b
    }

    /// `n` random bytes, base64url-encoded without padding: codes, tokens, session ids,
    /// PKCE verifiers (32 bytes give 43 characters, 256 bits).
    pub fn random_string(&mut self, n: usize) -> String {
        URL_SAFE_NO_PAD.encode(self.random_bytes(n))
    }
}

/// Why an outbound fetch made on a role's behalf failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// The URL that was fetched.
    pub url: String,
    /// What went wrong: "connection refused", "timed out after 5s", "body over 64 KiB", ...
    pub reason: String,
}

impl From<FetchError> for crate::Error {
    fn from(e: FetchError) -> Self {
        crate::Error::Fetch { url: e.url, reason: e.reason }
    }
}

/// The result of a fetch, handed back to [`Service::resume`].
pub type FetchResult = Result<Response, FetchError>;

/// What a server role wants next.
#[derive(Debug)]
pub enum Step<P> {
    /// Send this response; the exchange is over.
    Respond(Response),
    /// Perform this request, then call [`Service::resume`] with `pending` and its result.
    Fetch {
        /// The outbound request (absolute URI).
        request: Request,
        /// The role's continuation: opaque to the driver.
        pending: P,
    },
}

/// A server role: the authorization server or the MCP server.
///
/// A driver calls [`Service::handle`] for each inbound request and loops on
/// [`Service::resume`] while the role asks for fetches. Between calls the driver may run
/// other exchanges: a role keeps everything it needs for the continuation in `Pending`.
pub trait Service {
    /// The continuation of an exchange waiting for a fetch.
    type Pending: Send + 'static;

    /// Handles one inbound request.
    fn handle(&mut self, request: Request, env: &mut Env<'_>) -> Step<Self::Pending>;

    /// Continues an exchange with the result of the fetch it asked for.
    fn resume(
        &mut self,
        pending: Self::Pending,
        fetched: FetchResult,
        env: &mut Env<'_>,
    ) -> Step<Self::Pending>;
}

/// Drives a [`Service`] to completion with a synchronous `fetch` function: the simplest
/// driver, used by unit tests and by the simulator.
pub fn drive<S: Service>(
    service: &mut S,
    request: Request,
    env: &mut Env<'_>,
    mut fetch: impl FnMut(Request) -> FetchResult,
) -> Response {
    let mut step = service.handle(request, env);
    loop {
        match step {
            Step::Respond(r) => return r,
            Step::Fetch { request, pending } => {
                let fetched = fetch(request);
                step = service.resume(pending, fetched, env);
            }
        }
    }
}
