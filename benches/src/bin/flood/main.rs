//! A flood of the reference stack — the authorization server and MCP server that
//! `mcp-authz serve` runs, started in this process on loopback ports the OS picks — over
//! real HTTP, with this process's resident memory (`VmRSS`, Linux) read after each phase:
//!
//! 1. `initialize` (MCP 2025-11-25) N times with ONE valid token, the first 1,000 a
//!    warm-up: each may open a session, and the server keeps at most
//!    `max_sessions_per_principal` of a principal's sessions live;
//! 2. a `tools/list` in every session that got an id: how many are still live;
//! 3. M dynamic registrations (RFC 7591) at the AS: at most its window's allowance
//!    created, the rest refused with 429 and `Retry-After`;
//! 4. N 2026-07-28 stateless `tools/call`s of `echo`: answered, and no session opened.
//!
//! The token is signed with the stack's own AS key (what its token endpoint would issue:
//! `iss` the stack's AS, `aud` its MCP server, scope `mcp:read`), so the MCP server
//! validates it against the JWKS it fetches from that AS.
//!
//! Memory and time are figures, printed, never judged. What fails the run (exit 1) is
//! behaviour that contradicts the bounds: more live sessions than the cap, registrations
//! past the rate limit without a 429, a 429 without `Retry-After`, a stateless request
//! that got or opened a session. The client's own bookkeeping (every session id it got)
//! is allocated and touched before the first reading, so the deltas are the stack's and
//! the HTTP client's.
//!
//! `--unbounded` switches both bounds off (no session cap; the `registration-unthrottled`
//! defect) to measure what they save: the run then fails its checks.
//!
//! Run: `cargo run --release -p mcp-authz-benches --bin flood [-- --initialize N
//! --registrations M --concurrency C --warm-up W --unbounded]` (defaults 20,000, 10,000, 8
//! and 1,000).
#![forbid(unsafe_code)]

use mcp_authz_live::serve::system_now;
use mcp_authz_live::stack::{Stack, StackOptions};
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience};
use mcp_authz_reference::authorization_server as authz;
use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_reference::mcp_server::{self, MODERN_PROTOCOL_VERSION};
use mcp_authz_reference::sans_io::Request;
use mcp_authz_scenarios::World;
use mcp_authz_scenarios::world::stateless::{modern_body, modern_request};
use reqwest::header::{HeaderValue, RETRY_AFTER};
use serde_json::json;
use std::collections::BTreeMap;
use std::ops::Range;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const USAGE: &str =
    "usage: flood [--initialize N] [--registrations M] [--concurrency C] [--warm-up W] [--unbounded]
  --initialize N     initialize calls with one token, and as many 2026-07-28 requests (default 20000)
  --registrations M  dynamic registrations at the AS (default 10000)
  --concurrency C    requests in flight at once (default 8)
  --warm-up W        the first W initialize calls, after which deltas are taken (default 1000)
  --unbounded        switch the bounds off (no session cap; the registration-unthrottled defect) to see
                     what they save: the run then fails its checks";

/// The session id header (Streamable HTTP).
const SESSION_ID: &str = "mcp-session-id";

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Args {
    initialize: usize,
    registrations: usize,
    concurrency: usize,
    warm_up: usize,
    /// Switch both bounds off: no session cap, registration unthrottled.
    unbounded: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args { initialize: 20_000, registrations: 10_000, concurrency: 8, warm_up: 1_000, unbounded: false }
    }
}

/// The arguments after the program name; `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut a = Args::default();
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--unbounded" => {
                a.unbounded = true;
                continue;
            }
            "--initialize" => &mut a.initialize,
            "--registrations" => &mut a.registrations,
            "--concurrency" => &mut a.concurrency,
            "--warm-up" => &mut a.warm_up,
            other => return Err(format!("unknown argument `{other}`; expected one of the flags below")),
        };
        let value = args.next().ok_or_else(|| format!("{flag} takes a count; got nothing after it"))?;
        *slot = value
            .replace('_', "")
            .parse()
            .map_err(|_| format!("{flag} takes a whole number; got `{value}`"))?;
    }
    if a.initialize == 0 || a.concurrency == 0 {
        return Err(format!(
            "--initialize and --concurrency must be at least 1; got {} and {}",
            a.initialize, a.concurrency
        ));
    }
    a.warm_up = a.warm_up.min(a.initialize);
    Ok(Some(a))
}

/// This process's resident set size in KiB, from `/proc/self/status`.
fn vm_rss_kib() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status ({e}): VmRSS is read there, on Linux only"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "/proc/self/status has no `VmRSS: <n> kB` line".into())
}

/// The wall clock, for the elapsed column only.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// Every session id the server handed out, in the order the answers came, kept in memory
/// allocated and touched up front: the readings then do not count it.
struct SessionIds {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Scratch for counting the distinct ids.
    order: Vec<usize>,
}

impl SessionIds {
    /// Room for `n` ids of up to 64 bytes (a reference id is 43), touched.
    fn with_room_for(n: usize) -> Self {
        let (mut bytes, mut ends, mut order) =
            (vec![0x5a_u8; n * 64], vec![usize::MAX; n], vec![usize::MAX; n]);
        bytes.clear();
        ends.clear();
        order.clear();
        SessionIds { bytes, ends, order }
    }

    fn push(&mut self, id: &[u8]) {
        self.bytes.extend_from_slice(id);
        self.ends.push(self.bytes.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// How many of the ids differ.
    fn distinct(&mut self) -> usize {
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(0..self.len());
        order.sort_unstable_by(|&a, &b| self.get(a).cmp(self.get(b)));
        let n = order.windows(2).filter(|w| self.get(w[0]) != self.get(w[1])).count()
            + usize::from(!order.is_empty());
        self.order = order;
        n
    }
}

/// What the answers to one phase's requests were.
#[derive(Debug, Default)]
struct Tally {
    statuses: BTreeMap<u16, u64>,
    /// Requests that got no (complete) HTTP answer.
    failed: u64,
    first_failure: Option<String>,
}

impl Tally {
    fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// `200×19000, 404×64`, then the requests that got no answer.
    fn outcomes(&self) -> String {
        let mut parts: Vec<String> = self.statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        if self.failed > 0 {
            parts.push(format!("no answer×{}", self.failed));
        }
        parts.join(", ")
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Builds request `i` of a phase.
type MakeRequest = Arc<dyn Fn(usize) -> reqwest::Request + Send + Sync>;
/// Looks at the answer to request `i` (before its body is read).
type Observe = Arc<dyn Fn(usize, &reqwest::Response) + Send + Sync>;

/// Sends the requests `range` from `concurrency` loops, each reading every answer whole.
async fn flood(
    client: &reqwest::Client,
    range: Range<usize>,
    concurrency: usize,
    make: MakeRequest,
    observe: Observe,
) -> Tally {
    let next = Arc::new(AtomicUsize::new(range.start));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut loops = JoinSet::new();
    for _ in 0..concurrency {
        let (client, next, tally) = (client.clone(), Arc::clone(&next), Arc::clone(&tally));
        let (make, observe, end) = (Arc::clone(&make), Arc::clone(&observe), range.end);
        loops.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let answer = match client.execute(make(i)).await {
                    Ok(r) => {
                        observe(i, &r);
                        let status = r.status().as_u16();
                        r.bytes().await.map(|_| status)
                    }
                    Err(e) => Err(e),
                };
                let mut t = lock(&tally);
                match answer {
                    Ok(status) => *t.statuses.entry(status).or_default() += 1,
                    Err(e) => {
                        t.failed += 1;
                        t.first_failure.get_or_insert_with(|| format!("request {i}: {e}"));
                    }
                }
            }
        });
    }
    while let Some(done) = loops.join_next().await {
        if let Err(e) = done {
            let mut t = lock(&tally);
            t.failed += 1;
            t.first_failure.get_or_insert_with(|| format!("a request loop ended early: {e}"));
        }
    }
    std::mem::take(&mut *lock(&tally))
}

/// A `reqwest` request from a sans-IO one (a body in memory: it can be cloned).
fn to_reqwest(req: Request) -> Result<reqwest::Request, String> {
    reqwest::Request::try_from(req).map_err(|e| format!("cannot send the request: {e}"))
}

/// Request `template` again (its body is in memory).
fn again(template: &reqwest::Request) -> reqwest::Request {
    template.try_clone().expect("a body in memory clones")
}

/// One line of the table.
struct Row {
    phase: &'static str,
    requests: usize,
    outcomes: String,
    elapsed: Duration,
    rss_kib: u64,
}

fn mib(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

fn render(rows: &[Row], warm_kib: u64) -> String {
    let mut out = format!(
        "{:<28} {:>9}  {:<38} {:>9} {:>10} {:>13}\n",
        "phase", "requests", "outcomes", "elapsed s", "VmRSS MiB", "Δ warm-up MiB"
    );
    for r in rows {
        let delta =
            i64::try_from(r.rss_kib).unwrap_or(i64::MAX) - i64::try_from(warm_kib).unwrap_or(i64::MAX);
        out += &format!(
            "{:<28} {:>9}  {:<38} {:>9.2} {:>10.2} {:>+13.2}\n",
            r.phase,
            r.requests,
            r.outcomes,
            r.elapsed.as_secs_f64(),
            mib(i64::try_from(r.rss_kib).unwrap_or(i64::MAX)),
            mib(delta)
        );
    }
    out
}

/// Claims of a valid token for the stack's MCP server: one principal, scope `mcp:read`,
/// an hour to live.
fn claims(stack: &Stack) -> AccessTokenClaims {
    let now = system_now().unix_secs();
    AccessTokenClaims {
        iss: stack.issuer.clone(),
        sub: Some("flood-user".into()),
        aud: Audience::one(stack.mcp_url.clone()),
        client_id: Some("flood-client".into()),
        scope: Some("mcp:read".into()),
        exp: Some(now + 3600),
        iat: Some(now),
        nbf: None,
        jti: Some(format!("flood-{now}")),
        cnf: None,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("flood: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(broken) if broken.is_empty() => ExitCode::SUCCESS,
        Ok(broken) => {
            for b in &broken {
                eprintln!("BOUND BROKEN: {b}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("flood: {e}");
            ExitCode::from(2)
        }
    }
}

/// The bounds a run is judged by: those the reference roles ship with.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    /// Live sessions per principal (`mcp_server::Config::max_sessions_per_principal`).
    sessions: usize,
    /// Dynamic registrations per window (`Limits::registrations_per_window`).
    registrations_per_window: u32,
    /// The registration window (`Limits::registration_window`).
    window: Duration,
}

impl Bounds {
    /// The defaults of the reference MCP server and AS.
    fn reference() -> Self {
        let limits = authz::Limits::default();
        Bounds {
            sessions: mcp_server::Config::new("http://127.0.0.1/mcp", "http://127.0.0.1")
                .max_sessions_per_principal,
            registrations_per_window: limits.registrations_per_window,
            window: limits.registration_window,
        }
    }
}

/// What the phases saw, for the checks.
#[derive(Debug, Default)]
struct Observed {
    initialize: Tally,
    /// `initialize` answers that were a success with a session id.
    with_id: usize,
    /// How many of those ids differ.
    distinct: usize,
    /// The server's own count of open sessions after the `initialize` calls.
    open_after_initialize: usize,
    /// A `tools/list` in each session that got an id (200: it is live).
    probes: Tally,
    registrations: Tally,
    registrations_sent: usize,
    registration_time: Duration,
    /// 429s without a `Retry-After` in seconds, and the longest one given.
    without_retry_after: u64,
    longest_retry_after: u64,
    stateless: Tally,
    stateless_sent: usize,
    /// 2026-07-28 answers that carried a session id.
    stateless_with_session: u64,
    open_at_end: usize,
}

impl Observed {
    /// Three lines: sessions, registrations, the 2026-07-28 requests.
    fn summary(&self, bounds: &Bounds) -> String {
        format!(
            "initialize: {} × 200, {} with a session id, {} distinct; {} of them live afterwards (bound {}); \
             the server counts {} open sessions\n\
             registrations: {} × 201, {} × 429 (longest Retry-After {} s, {} without one) in {:.2} s \
             (bound {} per {} s)\n\
             2026-07-28: {} × 200, {} answers with a session id; open sessions {} before, {} after",
            self.initialize.count(200),
            self.with_id,
            self.distinct,
            self.probes.count(200),
            bounds.sessions,
            self.open_after_initialize,
            self.registrations.count(201),
            self.registrations.count(429),
            self.longest_retry_after,
            self.without_retry_after,
            self.registration_time.as_secs_f64(),
            bounds.registrations_per_window,
            bounds.window.as_secs(),
            self.stateless.count(200),
            self.stateless_with_session,
            self.open_after_initialize,
            self.open_at_end,
        )
    }
}

/// What in `o` contradicts `bounds` (or left them unmeasured): empty when they held.
fn broken_bounds(o: &Observed, bounds: &Bounds) -> Vec<String> {
    let mut broken = Vec::new();
    let phases = [
        ("initialize", &o.initialize),
        ("session probes", &o.probes),
        ("registrations", &o.registrations),
        ("2026-07-28", &o.stateless),
    ];
    for (phase, t) in phases {
        if let Some(why) = &t.first_failure {
            broken.push(format!("{phase}: {} requests got no answer, the first: {why}", t.failed));
        }
    }
    let (cap, live) = (bounds.sessions, o.probes.count(200));
    if o.with_id == 0 {
        broken.push(format!("initialize: no answer carried a session id (got {})", o.initialize.outcomes()));
    } else if live == 0 {
        broken.push(format!(
            "none of the {} sessions answers: expected the newest ones (up to {cap}) live",
            o.with_id
        ));
    }
    if live > cap as u64 || o.open_after_initialize > cap {
        broken.push(format!(
            "{} distinct session ids with one token: expected at most {cap} of them live, found {live} \
             answering and {} open in the server",
            o.distinct, o.open_after_initialize
        ));
    }
    // The window is fixed: a run that spans k window starts may take k windows' allowance.
    let window = bounds.window.as_secs().max(1);
    let allowed = u64::from(bounds.registrations_per_window) * (1 + o.registration_time.as_secs() / window);
    let (created, throttled) = (o.registrations.count(201), o.registrations.count(429));
    if created > allowed {
        broken.push(format!(
            "{created} registrations created in {:.1} s: expected at most {allowed} ({} per {window} s window)",
            o.registration_time.as_secs_f64(),
            bounds.registrations_per_window,
        ));
    }
    if o.registrations_sent as u64 > allowed && throttled == 0 {
        broken.push(format!(
            "{} registrations in {:.1} s and no 429: expected 429s past the first {allowed} (got {})",
            o.registrations_sent,
            o.registration_time.as_secs_f64(),
            o.registrations.outcomes()
        ));
    }
    if o.without_retry_after > 0 {
        broken.push(format!(
            "{} of {throttled} registration 429s had no Retry-After in seconds: expected one on each",
            o.without_retry_after
        ));
    }
    if o.stateless.count(200) != o.stateless_sent as u64 {
        broken.push(format!(
            "2026-07-28 tools/call: expected 200 for all {}, got {}",
            o.stateless_sent,
            o.stateless.outcomes()
        ));
    }
    if o.stateless_with_session > 0 || o.open_at_end > o.open_after_initialize {
        broken.push(format!(
            "2026-07-28 requests are stateless: {} answers carried a session id, and the server's open \
             sessions went from {} to {}; expected none and no change",
            o.stateless_with_session, o.open_after_initialize, o.open_at_end
        ));
    }
    broken
}

/// Runs the phases and prints the table: the bounds the server's answers contradicted
/// (empty when they all held), or why the run could not be made.
async fn run(args: Args) -> Result<Vec<String>, String> {
    let (n, c) = (args.initialize, args.concurrency);
    let ids = Arc::new(Mutex::new(SessionIds::with_room_for(n)));
    let mut opts = StackOptions { as_port: 0, rs_port: 0, auto_approve: true, ..StackOptions::default() };
    if args.unbounded {
        opts.max_sessions_per_principal = Some(0);
        opts.defects = Defects::of([Defect::RegistrationUnthrottled]);
    }
    let stack = Stack::start(&opts).await.map_err(|e| format!("the stack did not start: {e}"))?;
    let token = stack
        .authorization_server
        .with(|a, _| a.sign_access_token(&claims(&stack)))
        .map_err(|e| format!("the stack's AS did not sign a token: {e}"))?;
    let registration_endpoint = stack
        .authorization_server
        .with(|a, _| a.metadata().registration_endpoint)
        .ok_or("the stack's AS publishes no registration_endpoint")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let bounds = Bounds::reference();
    let switched_off = match args.unbounded {
        true => " (switched off in this run: --unbounded)",
        false => "",
    };
    println!(
        "flood: AS {} and MCP server {} in this process, {c} requests in flight; bounds: {} live sessions \
         per principal, {} registrations per {} s{switched_off}",
        stack.issuer,
        stack.mcp_url,
        bounds.sessions,
        bounds.registrations_per_window,
        bounds.window.as_secs(),
    );

    let mut rows = vec![Row {
        phase: "start",
        requests: 0,
        outcomes: String::new(),
        elapsed: Duration::ZERO,
        rss_kib: vm_rss_kib()?,
    }];
    let mut o = Observed::default();

    // 1. initialize with one token: the warm-up, then the rest.
    let initialize =
        to_reqwest(World::rpc_request(&stack.mcp_url, Some(&token), &World::initialize_body(), &[]))?;
    let make: MakeRequest = Arc::new(move |_| again(&initialize));
    let got = Arc::clone(&ids);
    let observe: Observe = Arc::new(move |_, r| {
        if let (true, Some(id)) = (r.status().is_success(), r.headers().get(SESSION_ID)) {
            lock(&got).push(id.as_bytes());
        }
    });
    for (phase, range) in
        [("initialize, warm-up", 0..args.warm_up), ("initialize, the rest", args.warm_up..n)]
    {
        let requests = range.len();
        let start = now();
        let t = flood(&client, range, c, Arc::clone(&make), Arc::clone(&observe)).await;
        let elapsed = start.elapsed();
        rows.push(Row { phase, requests, outcomes: t.outcomes(), elapsed, rss_kib: vm_rss_kib()? });
        for (s, k) in t.statuses {
            *o.initialize.statuses.entry(s).or_default() += k;
        }
        o.initialize.failed += t.failed;
        o.initialize.first_failure = o.initialize.first_failure.take().or(t.first_failure);
    }
    let warm_kib = rows[1].rss_kib;
    o.open_after_initialize = stack.mcp_server.with(|s, _| s.open_sessions());
    (o.with_id, o.distinct) = {
        let mut ids = lock(&ids);
        (ids.len(), ids.distinct())
    };

    // 2. a request in every session that got an id: which are live?
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let headers = [("mcp-protocol-version", "2025-11-25")];
    let probe = to_reqwest(World::rpc_request(&stack.mcp_url, Some(&token), &list, &headers))?;
    let of = Arc::clone(&ids);
    let make: MakeRequest = Arc::new(move |i| {
        let mut r = again(&probe);
        if let Ok(id) = HeaderValue::from_bytes(lock(&of).get(i)) {
            r.headers_mut().insert(SESSION_ID, id);
        }
        r
    });
    let start = now();
    o.probes = flood(&client, 0..o.with_id, c, make, Arc::new(|_, _| {})).await;
    rows.push(Row {
        phase: "tools/list in each session",
        requests: o.with_id,
        outcomes: o.probes.outcomes(),
        elapsed: start.elapsed(),
        rss_kib: vm_rss_kib()?,
    });

    // 3. dynamic registrations.
    let body = r#"{"redirect_uris": ["http://127.0.0.1:4000/cb"], "token_endpoint_auth_method": "none", "client_name": "flood"}"#;
    let register = client
        .post(&registration_endpoint)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .build()
        .map_err(|e| format!("cannot build the registration request: {e}"))?;
    let without_retry_after = Arc::new(AtomicU64::new(0));
    let longest_retry_after = Arc::new(AtomicU64::new(0));
    let (missing, longest) = (Arc::clone(&without_retry_after), Arc::clone(&longest_retry_after));
    let observe: Observe = Arc::new(move |_, r| {
        if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            match r.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()?.parse::<u64>().ok()) {
                Some(secs) => _ = longest.fetch_max(secs, Ordering::Relaxed),
                None => _ = missing.fetch_add(1, Ordering::Relaxed),
            }
        }
    });
    o.registrations_sent = args.registrations;
    let start = now();
    o.registrations =
        flood(&client, 0..args.registrations, c, Arc::new(move |_| again(&register)), observe).await;
    o.registration_time = start.elapsed();
    o.without_retry_after = without_retry_after.load(Ordering::Relaxed);
    o.longest_retry_after = longest_retry_after.load(Ordering::Relaxed);
    rows.push(Row {
        phase: "registrations",
        requests: args.registrations,
        outcomes: o.registrations.outcomes(),
        elapsed: o.registration_time,
        rss_kib: vm_rss_kib()?,
    });

    // 4. 2026-07-28 stateless requests with the same token.
    let call = modern_body(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "flood"}}),
        MODERN_PROTOCOL_VERSION,
    );
    let modern = to_reqwest(modern_request(&stack.mcp_url, Some(&token), &call))?;
    let with_session = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&with_session);
    let observe: Observe = Arc::new(move |_, r| {
        if r.headers().contains_key(SESSION_ID) {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    });
    o.stateless_sent = n;
    let start = now();
    o.stateless = flood(&client, 0..n, c, Arc::new(move |_| again(&modern)), observe).await;
    rows.push(Row {
        phase: "2026-07-28 tools/call",
        requests: n,
        outcomes: o.stateless.outcomes(),
        elapsed: start.elapsed(),
        rss_kib: vm_rss_kib()?,
    });
    o.stateless_with_session = with_session.load(Ordering::Relaxed);
    o.open_at_end = stack.mcp_server.with(|s, _| s.open_sessions());
    stack.shutdown().await;

    println!("\n{}\n{}", render(&rows, warm_kib), o.summary(&bounds));
    let broken = broken_bounds(&o, &bounds);
    if broken.is_empty() {
        println!("bounds held");
    }
    Ok(broken)
}

#[cfg(test)]
mod tests;
