//! The deterministic network simulator: every role of a scenario runs here, in one
//! thread, on a virtual clock, with all randomness drawn from one seed.
//!
//! - **Hosts** are addressed by origin (`https://as.example`). A host is any sans-IO
//!   [`Service`]; its fetches (a JWKS, a client ID metadata document, a downstream
//!   call) are routed through the same network.
//! - **The clock** starts at a fixed instant and advances by a seeded latency on every
//!   message, or explicitly with [`Sim::advance`].
//! - **The trace** has one stable line per message; same seed and same scenario give a
//!   byte-identical trace.
//! - **Faults** (drop/timeout, 5xx, duplicate, delay, reorder) are drawn from the seed with the
//!   probabilities in [`Faults`]. A copy a `duplicate` or `reorder` makes is a delivery
//!   of its own: the interceptor sees it on the sender's channel (as the sender sent it),
//!   and the trace marks it `(duplicate)` or `(late copy, after …)`.
//! - **The adversary** is an [`Interceptor`] that sees every message on the channels it
//!   was granted and may drop, rewrite, replay or answer them itself.
//! - **User agents** carry front-channel redirects: [`Sim::browse`] follows an
//!   authorization URL through the AS until it reaches the client's redirect URI.
//!
//! ```
//! use mcp_authz_sim::sim::Sim;
//! use mcp_authz_reference::sans_io::Response;
//! let mut sim = Sim::new(7);
//! sim.add_fn("https://echo.example", |req| Response::new(req.uri().path().to_string().into()));
//! let r = sim.get("client", "https://echo.example/hello").unwrap();
//! assert_eq!(&r.body()[..], b"/hello");
//! assert!(sim.trace().contains("client -> https://echo.example GET /hello"));
//! ```

use crate::driver;
use crate::network::Network;
pub use crate::network::origin_of;
use crate::party::Party;
use bytes::Bytes;
use mcp_authz_reference::client::{ClientStep, Outcome, PublicClient};
use mcp_authz_reference::sans_io::{Env, FetchError, FetchResult, Request, Response, Service, Step, Time};
use mcp_authz_reference::{Error, wire};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rules::Rules;
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Where the simulated clock starts: 2025-11-25T00:00:00Z.
pub const EPOCH: Time = Time::from_unix_secs(1_764_028_800);

/// A sans-IO service with its continuation type erased, so hosts of different roles
/// share one map.
trait Host {
    fn handle(&mut self, req: Request, env: &mut Env<'_>) -> Step<Box<dyn Any + Send>>;
    fn resume(
        &mut self,
        p: Box<dyn Any + Send>,
        r: FetchResult,
        env: &mut Env<'_>,
    ) -> Step<Box<dyn Any + Send>>;
    fn as_any(&mut self) -> &mut dyn Any;
}

struct ServiceHost<S>(S);

fn erase<P: Any + Send>(s: Step<P>) -> Step<Box<dyn Any + Send>> {
    match s {
        Step::Respond(r) => Step::Respond(r),
        Step::Fetch { request, pending } => Step::Fetch { request, pending: Box::new(pending) },
    }
}

impl<S: Service + 'static> Host for ServiceHost<S> {
    fn handle(&mut self, req: Request, env: &mut Env<'_>) -> Step<Box<dyn Any + Send>> {
        erase(self.0.handle(req, env))
    }
    fn resume(
        &mut self,
        p: Box<dyn Any + Send>,
        r: FetchResult,
        env: &mut Env<'_>,
    ) -> Step<Box<dyn Any + Send>> {
        match p.downcast::<S::Pending>() {
            Ok(p) => erase(self.0.resume(*p, r, env)),
            Err(_) => Step::Respond(wire::oauth_error(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "simulator: continuation of another type",
            )),
        }
    }
    fn as_any(&mut self) -> &mut dyn Any {
        &mut self.0
    }
}

struct FnHost<F>(F);

impl<F: FnMut(Request) -> Response + 'static> Host for FnHost<F> {
    fn handle(&mut self, req: Request, _env: &mut Env<'_>) -> Step<Box<dyn Any + Send>> {
        Step::Respond((self.0)(req))
    }
    fn resume(
        &mut self,
        _p: Box<dyn Any + Send>,
        _r: FetchResult,
        _env: &mut Env<'_>,
    ) -> Step<Box<dyn Any + Send>> {
        Step::Respond(wire::oauth_error(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "no fetch pending",
        ))
    }
    fn as_any(&mut self) -> &mut dyn Any {
        &mut self.0
    }
}

/// A host outside the simulator (a live server over real HTTP, an in-process router):
/// it answers at once, or fails as a network does.
type Remote = Box<dyn FnMut(Request) -> FetchResult>;

struct Node {
    host: Option<Box<dyn Host>>,
    remote: Option<Remote>,
    rng: ChaCha20Rng,
}

/// Which channel a message travels on; an adversary is granted channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Browser traffic: authorization requests and the redirects that carry codes.
    FrontChannel,
    /// Requests to token, registration, revocation and introspection endpoints.
    Token,
    /// Requests to MCP servers (carrying access tokens).
    Resource,
    /// Everything else: metadata, JWKS, documents.
    Other,
}

impl Channel {
    fn classify(from: &str, req: &Request) -> Channel {
        let path = req.uri().path();
        if Party::names_a_browser(from) {
            Channel::FrontChannel
        } else if ["/token", "/register", "/revoke", "/introspect"].iter().any(|p| path.ends_with(p)) {
            Channel::Token
        } else if path.contains("/.well-known/") || path.ends_with("/jwks") {
            Channel::Other
        } else {
            Channel::Resource
        }
    }
}

/// A message as an [`Interceptor`] sees it.
#[derive(Debug, Clone)]
pub struct Message {
    /// The sender: a client, a browser acting for one, or a host fetching.
    pub from: Party,
    /// Destination origin.
    pub to: String,
    /// The channel.
    pub channel: Channel,
    /// Virtual time of sending.
    pub at: Time,
}

/// What an interceptor does with a request.
pub enum Verdict {
    /// Deliver it (possibly rewritten in place).
    Pass,
    /// Drop it: the sender sees a timeout.
    Drop,
    /// Answer it without delivering.
    Respond(Response),
}

/// The adversary's hook into the network. It sees only messages on channels it was
/// granted (see [`Sim::set_interceptor`]).
pub trait Interceptor {
    /// Called before delivery; may rewrite `req`.
    fn on_request(&mut self, msg: &Message, req: &mut Request) -> Verdict;
    /// Called with the response before the sender gets it; may rewrite it.
    fn on_response(&mut self, _msg: &Message, _req: &Request, _resp: &mut Response) {}
}

/// Seeded network faults: each a probability in `[0, 1]` per message.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// The request is lost; the sender sees a timeout.
    pub drop: f64,
    /// The server is not reached; the sender gets a 503.
    pub server_error: f64,
    /// The request is delivered twice; the sender gets the second answer.
    pub duplicate: f64,
    /// The message takes an extra 0–30 s.
    pub delay: f64,
    /// A copy of the request is held back and delivered after the next message: a late
    /// duplicate, out of order.
    pub reorder: f64,
}

/// A fault the network commits on one message (drawn with the probabilities of
/// [`Faults`]); the trace shows it by its `Display` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request is lost.
    Drop,
    /// The server is not reached: a 503.
    ServerError,
    /// The request is delivered twice.
    Duplicate,
    /// The message takes longer.
    Delay,
    /// A copy is delivered late, after the next message.
    Reorder,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Fault::Drop => "drop",
            Fault::ServerError => "503",
            Fault::Duplicate => "duplicate",
            Fault::Delay => "delay",
            Fault::Reorder => "reorder",
        })
    }
}

/// The simulator.
pub struct Sim {
    start: Time,
    now: Time,
    rng: ChaCha20Rng,
    seed: u64,
    nodes: BTreeMap<String, Node>,
    trace: String,
    faults: Faults,
    /// The adversary's interceptors and the harness's observers.
    rules: Rules,
    messages: u64,
    /// Copies held back by `reorder`, with the message they copy.
    late: Vec<(Message, Request)>,
    granted: Option<Vec<Channel>>,
}

fn derive_rng(seed: u64, name: &str) -> ChaCha20Rng {
    // FNV-1a of the name, mixed with the seed: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    ChaCha20Rng::seed_from_u64(seed ^ h)
}

impl Sim {
    /// A simulator whose every random choice follows `seed`.
    pub fn new(seed: u64) -> Self {
        Sim::starting_at(seed, EPOCH)
    }

    /// A simulator whose clock starts at `now` rather than [`EPOCH`]: a run that includes
    /// a live server starts at the real time, so the tokens it mints are current there.
    pub fn starting_at(seed: u64, now: Time) -> Self {
        Sim {
            start: now,
            now,
            rng: derive_rng(seed, "network"),
            seed,
            nodes: BTreeMap::new(),
            trace: String::new(),
            faults: Faults::default(),
            rules: Rules::default(),
            messages: 0,
            late: Vec::new(),
            granted: None,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current virtual time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.plus(d);
        self.note(&format!("clock +{}s", d.as_secs()));
    }

    /// Sets fault probabilities from now on.
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// Limits the channels an adversary may ever be installed on (a scenario's declared
    /// capabilities). Without a grant, any channel may be intercepted.
    pub fn grant(&mut self, channels: Vec<Channel>) {
        self.granted = Some(channels);
    }

    /// Installs the adversary on `channels`.
    ///
    /// # Panics
    /// When a channel was not granted with [`Sim::grant`]: a scenario that uses more
    /// power than it declares is a bug in the scenario, and the runner reports it.
    pub fn set_interceptor(&mut self, channels: Vec<Channel>, interceptor: Box<dyn Interceptor>) {
        if let Some(granted) = &self.granted {
            let extra: Vec<_> = channels.iter().filter(|c| !granted.contains(c)).collect();
            assert!(extra.is_empty(), "the adversary was not granted the channels {extra:?}");
        }
        self.note(&format!("adversary intercepts {channels:?}"));
        self.rules.clear_adversary();
        self.rules.add_adversary(channels, interceptor);
    }

    /// Adds an adversary rule after those installed: messages pass the rules in the
    /// order they were added, until one drops or answers them. Channels as for
    /// [`Sim::set_interceptor`].
    ///
    /// # Panics
    /// When a channel was not granted with [`Sim::grant`].
    pub fn add_interceptor(&mut self, channels: Vec<Channel>, interceptor: Box<dyn Interceptor>) {
        if let Some(granted) = &self.granted {
            let extra: Vec<_> = channels.iter().filter(|c| !granted.contains(c)).collect();
            assert!(extra.is_empty(), "the adversary was not granted the channels {extra:?}");
        }
        self.note(&format!("adversary intercepts {channels:?}"));
        self.rules.add_adversary(channels, interceptor);
    }

    /// Adds a read-only watcher of `channels`, kept apart from the adversary: the
    /// harness observing the role under test (which requests a client sends, say). It
    /// needs no grant, sees what is delivered (after the adversary's rules) and gets
    /// copies: it changes nothing.
    pub fn observe(&mut self, channels: Vec<Channel>, watcher: Box<dyn Interceptor>) {
        self.note(&format!("harness observes {channels:?}"));
        self.rules.add_observer(channels, watcher);
    }

    /// Removes the adversary's rules (the observers stay).
    pub fn clear_interceptor(&mut self) {
        self.rules.clear_adversary();
    }

    /// Removes the harness's observers (the adversary's rules stay).
    pub fn clear_observers(&mut self) {
        self.rules.clear_observers();
    }

    /// An environment for code outside the network (a scenario building a role) with
    /// randomness derived from the seed and `name`.
    pub fn env_for<T>(&mut self, name: &str, f: impl FnOnce(&mut Env<'_>) -> T) -> T {
        let mut rng = derive_rng(self.seed, &format!("setup:{name}"));
        let mut env = Env::new(self.now, &mut rng);
        f(&mut env)
    }

    /// Adds a host serving `service` at `origin`.
    pub fn add_service<S: Service + 'static>(&mut self, origin: &str, service: S) {
        self.add_host(origin, Box::new(ServiceHost(service)));
    }

    /// Adds a host answering with a plain function (a fake API, a hostile server).
    pub fn add_fn(&mut self, origin: &str, f: impl FnMut(Request) -> Response + 'static) {
        self.add_host(origin, Box::new(FnHost(f)));
    }

    /// Adds a host outside the simulator at `origin` (a live server over real HTTP, an
    /// in-process router): `call` answers each request or fails as a network would.
    /// Messages to it are traced and intercepted like any other.
    pub fn add_remote(&mut self, origin: &str, call: impl FnMut(Request) -> FetchResult + 'static) {
        let rng = derive_rng(self.seed, origin);
        self.nodes.insert(origin.to_string(), Node { host: None, remote: Some(Box::new(call)), rng });
    }

    fn add_host(&mut self, origin: &str, host: Box<dyn Host>) {
        let rng = derive_rng(self.seed, origin);
        self.nodes.insert(origin.to_string(), Node { host: Some(host), remote: None, rng });
    }

    /// Borrows the service at `origin` to inspect or change it (e.g. rotate a key).
    pub fn service<S: Service + 'static>(&mut self, origin: &str) -> Option<&mut S> {
        let host = self.nodes.get_mut(origin)?.host.as_mut()?;
        host.as_any().downcast_mut::<S>()
    }

    /// The trace so far: one line per event.
    pub fn trace(&self) -> &str {
        &self.trace
    }

    /// Number of messages sent so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Appends a free-form line to the trace (scenario steps, verdict evidence).
    pub fn note(&mut self, line: &str) {
        let _ = writeln!(self.trace, "{:>8} # {line}", self.stamp());
    }

    fn stamp(&self) -> Stamp {
        Stamp(self.now.since(self.start).as_millis())
    }

    /// Sends a GET for `url` from `from`.
    pub fn get(&mut self, from: &str, url: &str) -> FetchResult {
        let req = http::Request::get(url)
            .body(Bytes::new())
            .map_err(|e| FetchError { url: url.to_string(), reason: format!("cannot build request: {e}") })?;
        self.send(from, req)
    }

    /// Delivers `req` (absolute URI) from `from` to the host of its origin, with faults
    /// and the interceptor applied, and returns the answer.
    pub fn send(&mut self, from: &str, mut req: Request) -> FetchResult {
        // Each party keeps one connection to everyone it talks to.
        req.extensions_mut().insert(mcp_authz_reference::sans_io::Connection(from.to_string()));
        let Some(mut to) = origin_of(req.uri()) else {
            return Err(FetchError { url: req.uri().to_string(), reason: "not an absolute url".into() });
        };
        // The URL as sent, for an error, when an interceptor may rewrite it.
        let sent_uri = (!self.rules.is_empty()).then(|| req.uri().clone());
        self.messages += 1;
        let channel = Channel::classify(from, &req);
        let latency = 1 + self.rng.next_u64() % 20;
        self.now = self.now.plus(Duration::from_millis(latency));
        let mut line = message_line(from, &to, &req);
        // The message as an interceptor or a fault's copy sees it: built only for them.
        let msg = (!self.rules.is_empty() || self.faults != Faults::default()).then(|| Message {
            from: Party::named(from),
            to: to.clone(),
            channel,
            at: self.now,
        });
        // What the sender sent, for a copy a fault may make.
        let sent = (self.faults != Faults::default()).then(|| clone_request(&req));

        if let Some(msg) = &msg {
            if self.rules.watch(channel) {
                let before = (req.uri().clone(), req.headers().clone(), req.body().clone());
                match self.rules.on_request(msg, &mut req) {
                    Verdict::Pass
                        if before != (req.uri().clone(), req.headers().clone(), req.body().clone()) =>
                    {
                        // Show what is delivered, and where.
                        to = origin_of(req.uri()).unwrap_or(to);
                        line = format!(
                            "{from} -> {to} {} {} [rewritten by adversary]",
                            req.method(),
                            path_and_query(&req)
                        );
                    }
                    Verdict::Pass => {}
                    Verdict::Drop => {
                        let _ = writeln!(self.trace, "{:>8} {line} !! dropped by adversary", self.stamp());
                        return Err(FetchError {
                            url: sent_uri.as_ref().unwrap_or(req.uri()).to_string(),
                            reason: "timed out (dropped)".into(),
                        });
                    }
                    Verdict::Respond(r) => {
                        let _ = writeln!(
                            self.trace,
                            "{:>8} {line} <- {} (adversary)",
                            self.stamp(),
                            r.status().as_u16()
                        );
                        return Ok(r);
                    }
                }
            }
        }
        if let Some(fault) = self.draw_fault() {
            let _ = writeln!(self.trace, "{:>8} {line} !! {fault}", self.stamp());
            match fault {
                Fault::Drop => {
                    return Err(FetchError {
                        url: sent_uri.as_ref().unwrap_or(req.uri()).to_string(),
                        reason: "timed out (dropped)".into(),
                    });
                }
                Fault::ServerError => {
                    return Ok(wire::oauth_error(
                        http::StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "simulated fault",
                    ));
                }
                Fault::Delay => {
                    let extra = self.rng.next_u64() % 30_000;
                    self.now = self.now.plus(Duration::from_millis(extra));
                }
                Fault::Duplicate => {
                    if let (Some(copy), Some(msg)) = (sent, &msg) {
                        self.deliver_copy(msg, copy, "(duplicate)");
                    }
                }
                Fault::Reorder => {
                    if let (Some(copy), Some(msg)) = (sent, &msg) {
                        self.late.push((msg.clone(), copy));
                    }
                }
            }
        }
        let req_copy = (!self.rules.is_empty()).then(|| clone_request(&req));
        let mut result = self.deliver(&to, req);
        if let (Ok(resp), Some(rq), Some(msg)) = (&mut result, &req_copy, &msg) {
            if self.rules.watch(channel) {
                self.rules.on_response(msg, rq, resp);
            }
        }
        match &result {
            Ok(r) => {
                // As `writeln!(self.trace, "{:>8} {line} <- {}{}", stamp, status, code)`.
                let mut buf = [0u8; 48];
                let stamp = self.stamp().digits(&mut buf);
                let t = &mut self.trace;
                t.extend(std::iter::repeat_n(' ', 8usize.saturating_sub(stamp.len())));
                for part in [stamp, " ", line.as_str(), " <- ", r.status().as_str(), &error_code(r), "\n"] {
                    t.push_str(part);
                }
            }
            Err(e) => {
                let _ = writeln!(self.trace, "{:>8} {line} <- error: {}", self.stamp(), e.reason);
            }
        }
        self.deliver_late(&line);
        result
    }

    /// Delivers the requests a `reorder` fault held back, after the message `after`.
    fn deliver_late(&mut self, after: &str) {
        let held: Vec<_> = self.late.drain(..).collect();
        for (msg, req) in held {
            self.deliver_copy(&msg, req, &format!("(late copy, after `{after}`)"));
        }
    }

    /// Delivers `req`, a copy of the message `original` made by a fault, through the
    /// interceptor like any delivery, and traces it marked with `mark`. Its answer goes
    /// to no one.
    fn deliver_copy(&mut self, original: &Message, mut req: Request, mark: &str) {
        let msg = Message { at: self.now, ..original.clone() };
        let mut to = msg.to.clone();
        let mut line = format!("{mark} {} -> {to} {} {}", msg.from, req.method(), path_and_query(&req));
        let watched = self.rules.watch(msg.channel);
        if watched {
            match self.rules.on_request(&msg, &mut req) {
                Verdict::Pass => to = origin_of(req.uri()).unwrap_or(to),
                Verdict::Drop => {
                    let _ = writeln!(self.trace, "{:>8} {line} !! dropped by adversary", self.stamp());
                    return;
                }
                Verdict::Respond(r) => {
                    let status = r.status().as_u16();
                    let _ = writeln!(self.trace, "{:>8} {line} <- {status} (adversary)", self.stamp());
                    return;
                }
            }
            line = format!("{mark} {} -> {to} {} {}", msg.from, req.method(), path_and_query(&req));
        }
        let delivered = watched.then(|| clone_request(&req));
        let mut result = self.deliver(&to, req);
        if let (Ok(resp), Some(rq)) = (&mut result, &delivered) {
            self.rules.on_response(&msg, rq, resp);
        }
        let status = match &result {
            Ok(r) => format!("{}{}", r.status().as_u16(), error_code(r)),
            Err(e) => format!("error: {}", e.reason),
        };
        let _ = writeln!(self.trace, "{:>8} {line} <- {status}", self.stamp());
    }

    fn draw_fault(&mut self) -> Option<Fault> {
        let f = self.faults;
        if f == Faults::default() {
            return None;
        }
        let x = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let mut acc = 0.0;
        let table = [
            (f.drop, Fault::Drop),
            (f.server_error, Fault::ServerError),
            (f.duplicate, Fault::Duplicate),
            (f.delay, Fault::Delay),
            (f.reorder, Fault::Reorder),
        ];
        for (p, fault) in table {
            acc += p;
            if x < acc {
                return Some(fault);
            }
        }
        None
    }

    fn deliver(&mut self, to: &str, req: Request) -> FetchResult {
        let Some(node) = self.nodes.get_mut(to) else {
            let url = req.uri().to_string();
            return Err(FetchError { url, reason: format!("no host at {to} (connection refused)") });
        };
        if let Some(remote) = node.remote.as_mut() {
            return remote(req);
        }
        let Some(mut host) = node.host.take() else {
            let url = req.uri().to_string();
            return Err(FetchError { url, reason: format!("{to} is busy (re-entrant request)") });
        };
        let mut rng = node.rng.clone();
        let result = {
            let mut step = host.handle(req, &mut Env::new(self.now, &mut rng));
            loop {
                match step {
                    Step::Respond(r) => break Ok(r),
                    Step::Fetch { request, pending } => {
                        // Persist the host's RNG position across the nested exchange.
                        let fetched = self.send(to, request);
                        step = host.resume(pending, fetched, &mut Env::new(self.now, &mut rng));
                    }
                }
            }
        };
        if let Some(node) = self.nodes.get_mut(to) {
            node.host = Some(host);
            node.rng = rng;
        }
        result
    }

    /// A user agent at `browser` opens `url` and follows redirects until one leads to
    /// a URL starting with `redirect_uri`, which it returns (see [`driver::browse`]).
    pub fn browse(&mut self, browser: &str, url: &str, redirect_uri: &str) -> Result<String, Error> {
        driver::browse(self, browser, url, redirect_uri)
    }

    /// Runs a public client named `name` from `start` to its end with the
    /// [`driver`]: its requests go over the network, its authorization requests through
    /// the browser `browser:name`. Its randomness is drawn from the seed, the name and
    /// the number of messages so far.
    pub fn run_client(
        &mut self,
        name: &str,
        client: &mut PublicClient,
        redirect_uri: &str,
        start: impl FnOnce(&mut PublicClient, &mut Env<'_>) -> ClientStep,
    ) -> Result<Outcome, Error> {
        self.run_client_watched(name, client, redirect_uri, start, &mut |_| {})
    }

    /// [`Sim::run_client`], telling `opened` each authorization URL the client hands
    /// its browser.
    pub fn run_client_watched(
        &mut self,
        name: &str,
        client: &mut PublicClient,
        redirect_uri: &str,
        start: impl FnOnce(&mut PublicClient, &mut Env<'_>) -> ClientStep,
        opened: &mut dyn FnMut(&str),
    ) -> Result<Outcome, Error> {
        let mut rng = derive_rng(self.seed, &format!("client:{name}:{}", self.messages));
        driver::run_client(self, &mut rng, name, client, redirect_uri, start, opened)
    }
}

impl Network for Sim {
    fn send(&mut self, from: &str, req: Request) -> FetchResult {
        Sim::send(self, from, req)
    }

    fn now(&self) -> Time {
        Sim::now(self)
    }

    fn note(&mut self, line: &str) {
        Sim::note(self, line);
    }
}

/// Simulated time since the start, `seconds.millis`, as a trace line begins with it;
/// formatted without allocating (width and alignment apply).
struct Stamp(u128);

impl Stamp {
    /// `{secs}.{millis:03}`, written at the end of `buf` (u128::MAX has 39 digits).
    fn digits(self, buf: &mut [u8; 48]) -> &str {
        let mut start = buf.len();
        let mut n = self.0;
        let mut digits = 0;
        loop {
            start -= 1;
            buf[start] = b'0' + (n % 10) as u8;
            n /= 10;
            digits += 1;
            if digits == 3 {
                start -= 1;
                buf[start] = b'.';
            }
            if digits > 3 && n == 0 {
                break;
            }
        }
        std::str::from_utf8(&buf[start..]).unwrap_or_default()
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(Stamp(self.0).digits(&mut [0u8; 48]))
    }
}

/// ` <code>` for an error answer: the OAuth `error` of a JSON body, else the `error`
/// of a Bearer challenge; empty otherwise.
fn error_code(r: &Response) -> String {
    if r.status().as_u16() < 400 {
        return String::new();
    }
    let from_body = serde_json::from_slice::<serde_json::Value>(r.body())
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from));
    let from_challenge = || {
        mcp_authz_reference::bearer::bearer_challenge(r.headers())
            .ok()
            .flatten()
            .and_then(|c| c.get("error").map(String::from))
    };
    from_body.or_else(from_challenge).map(|e| format!(" {e}")).unwrap_or_default()
}

/// `{from} -> {to} {method} {path and query}`: a message as its trace line names it.
fn message_line(from: &str, to: &str, req: &Request) -> String {
    let (method, path) = (req.method().as_str(), path_and_query(req));
    let mut line = String::with_capacity(from.len() + to.len() + method.len() + path.len() + 6);
    for part in [from, " -> ", to, " ", method, " ", path] {
        line.push_str(part);
    }
    line
}

fn path_and_query(req: &Request) -> &str {
    req.uri().path_and_query().map_or("/", |p| p.as_str())
}

/// A copy of a request (head and body).
pub fn clone_request(req: &Request) -> Request {
    let mut b =
        http::Request::builder().method(req.method().clone()).uri(req.uri().clone()).version(req.version());
    if let Some(h) = b.headers_mut() {
        *h = req.headers().clone();
    }
    b.body(req.body().clone()).unwrap_or_default()
}

mod rules;
#[cfg(test)]
mod tests;
