//! `mcp-authz bench-server`: what per-request token validation costs a live MCP server,
//! seen from the outside. It sends the same cheap authenticated request (`tools/list` by
//! default, in a session opened with a valid token) in classes — with a valid token,
//! with a bad signature, with an expired token, with no token — each for a bounded time
//! and count from N concurrent tasks, and reports latency percentiles (HDR histogram)
//! and throughput per class, plus the load generator's own ceiling against a trivial
//! loopback endpoint. Loopback targets only. With `--dpop` the tokens are DPoP-bound
//! (RFC 9449) and every request carries a fresh proof.

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use mcp_authz_live::serve::{os_rng, system_now};
use mcp_authz_live::test_authority::TestAuthority;
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, Confirmation};
use mcp_authz_reference::dpop::{self, ProofClaims};
use mcp_authz_reference::jwt::{Algorithm, SigningKey};
use mcp_authz_reference::sans_io::Env;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The command line of `mcp-authz bench-server`.
#[derive(clap::Args)]
pub struct Args {
    /// The MCP endpoint, on a loopback address (e.g. http://127.0.0.1:9001/mcp).
    #[arg(long)]
    url: String,
    /// How long each class runs (`500ms`, `10s`, `1m`).
    #[arg(long, default_value = "10s")]
    duration: String,
    /// Concurrent request loops.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// At most this many requests per class.
    #[arg(long, default_value_t = 1_000_000)]
    max_requests: u64,
    /// A token the server accepts (e.g. from `mcp-authz client --url URL --print-token`);
    /// the bad-signature variant is derived from it, and no expired token can be.
    /// Without it the harness plays the authorization server the server trusts.
    #[arg(long)]
    token: Option<String>,
    /// Without --token: the port of the authorization server the harness plays
    /// (issuer http://127.0.0.1:PORT, JWKS at <issuer>/jwks).
    #[arg(long, default_value_t = 9000)]
    as_port: u16,
    /// Without --token: the scope of the minted tokens.
    #[arg(long, default_value = "mcp:read")]
    scope: String,
    /// The JSON-RPC method sent (in a session opened first, except for `initialize`).
    #[arg(long, default_value = "tools/list")]
    method: String,
    /// DPoP-bound tokens (RFC 9449): the minted tokens carry the `cnf.jkt` of a key the
    /// harness makes, and every request with a token presents it as `Authorization: DPoP`
    /// with a fresh proof by that key (signed before the request's clock starts).
    #[arg(long, conflicts_with = "token")]
    dpop: bool,
    /// With --dpop: the proof key's algorithm, ES256 or EdDSA.
    #[arg(long, default_value = "ES256", requires = "dpop")]
    dpop_alg: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Parses `500ms`, `10s`, `2m`.
fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let t = s.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 =
        digits.parse().with_context(|| format!("--duration `{s}`: expected a number with ms, s or m"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => bail!("--duration `{s}`: unit `{unit}`, expected ms, s or m"),
    })
}

/// Runs `mcp-authz bench-server`.
pub async fn command(args: Args) -> anyhow::Result<std::process::ExitCode> {
    check_loopback(&args.url)?;
    // Without --token the authority serves until the report is printed.
    let prover = match args.dpop {
        true => Some(Arc::new(Prover::new(&args.dpop_alg)?)),
        false => None,
    };
    let (authority, tokens) = match args.token {
        Some(valid) => (None, Tokens { valid, expired: None, dpop: None }),
        None => {
            let (authority, tokens) = minted_tokens(args.as_port, &args.url, &args.scope, prover).await?;
            crate::common::tell!(
                "playing the authorization server {} (jwks {}): the server under test must trust it",
                authority.issuer(),
                authority.jwks_uri()
            );
            (Some(authority), tokens)
        }
    };
    let opts = Options {
        url: args.url,
        duration: parse_duration(&args.duration)?,
        max_requests: args.max_requests,
        concurrency: args.concurrency,
        method: args.method,
        tokens,
    };
    let report = run(&opts).await?;
    let text = if args.json { serde_json::to_string_pretty(&report)? } else { render(&report) };
    println!("{text}");
    if let Some(a) = authority {
        a.shutdown();
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Plays the authorization server on `as_port` and mints a valid and an expired token
/// for `url`, bound to `prover`'s key when given. The authority serves (its JWKS above
/// all) until shut down.
async fn minted_tokens(
    as_port: u16,
    url: &str,
    scope: &str,
    prover: Option<Arc<Prover>>,
) -> anyhow::Result<(TestAuthority, Tokens)> {
    let authority = TestAuthority::start(as_port, &[url]).await?;
    let now = system_now().unix_secs();
    let cnf = prover.as_ref().map(|p| Confirmation::jkt(dpop::jkt(&p.key.public_jwk())));
    let claims = |iat: u64, exp: u64, jti: &str| AccessTokenClaims {
        cnf: cnf.clone(),
        iss: authority.issuer().to_string(),
        sub: Some("bench-user".into()),
        aud: Audience::one(url),
        client_id: Some("mcp-authz-bench-server".into()),
        scope: Some(scope.to_string()),
        exp: Some(exp),
        iat: Some(iat),
        nbf: None,
        jti: Some(format!("bench-{jti}-{now}")),
    };
    let valid = authority.mint(&claims(now, now + 3600, "valid"))?;
    let expired = authority.mint(&claims(now - 7200, now - 3600, "expired"))?;
    Ok((authority, Tokens { valid, expired: Some(expired), dpop: prover }))
}

/// The DPoP key of `--dpop` and the proofs it signs, one per request.
pub struct Prover {
    key: SigningKey,
    rng: Mutex<ChaCha20Rng>,
    /// The server's nonce, once it asked for one (`use_dpop_nonce`).
    nonce: Mutex<Option<String>>,
}

impl Prover {
    /// A new key for `alg` (`ES256` or `EdDSA`).
    pub fn new(alg: &str) -> anyhow::Result<Self> {
        let alg = match Algorithm::parse(alg) {
            Some(a @ (Algorithm::ES256 | Algorithm::EdDSA)) => a,
            _ => bail!("--dpop-alg `{alg}`: expected ES256 or EdDSA"),
        };
        let mut rng = os_rng();
        let key = SigningKey::generate(alg, "bench-server-dpop", &mut Env::new(system_now(), &mut rng))?;
        Ok(Prover { key, rng: Mutex::new(rng), nonce: Mutex::new(None) })
    }

    /// A fresh proof (new `jti`, `iat` now) for a POST to `url` with `token`.
    fn proof(&self, url: &str, token: &str) -> String {
        let nonce = self.nonce.lock().map(|n| n.clone()).unwrap_or_default();
        let mut rng = self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut env = Env::new(system_now(), &mut *rng);
        ProofClaims::new("POST", url, Some(token), nonce.as_deref(), &mut env)
            .sign(&self.key)
            .unwrap_or_default()
    }
}

/// What to run.
pub struct Options {
    /// The MCP endpoint (loopback).
    pub url: String,
    /// How long each class runs.
    pub duration: Duration,
    /// At most this many requests per class.
    pub max_requests: u64,
    /// Concurrent request loops per class.
    pub concurrency: usize,
    /// The JSON-RPC method sent (`tools/list`, `ping` or `initialize`).
    pub method: String,
    /// The valid token and, when the harness minted it, an expired one.
    pub tokens: Tokens,
}

/// The tokens of the classes.
pub struct Tokens {
    /// A token the server accepts.
    pub valid: String,
    /// A token the server must refuse as expired, when one can be made.
    pub expired: Option<String>,
    /// The key the tokens are bound to, with `--dpop`: every token goes with a proof.
    pub dpop: Option<Arc<Prover>>,
}

/// One class's results.
#[derive(Debug, Serialize)]
pub struct ClassReport {
    /// `valid token`, `bad signature`, `expired token`, `no token`, `loopback ceiling`.
    pub class: String,
    /// Requests answered (any status).
    pub requests: u64,
    /// Requests that got no HTTP answer.
    pub errors: u64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Answers per second over the class's wall-clock time.
    pub requests_per_sec: f64,
    /// Latency percentiles in microseconds.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Slowest answer.
    pub max_us: u64,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The target.
    pub url: String,
    /// The method sent.
    pub method: String,
    /// Concurrent loops per class.
    pub concurrency: usize,
    /// Seconds per class.
    pub duration_secs: f64,
    /// Whether a session was opened first (and its id sent with every request).
    pub session: bool,
    /// The DPoP proof algorithm, with `--dpop` (tokens DPoP-bound, a proof per request).
    pub dpop: Option<String>,
    /// One entry per class, in the order run.
    pub classes: Vec<ClassReport>,
}

/// The wall clock: a load generator measures real latency (the one place in the CLI).
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// Refuses anything but a loopback http(s) URL: this is a load generator.
pub fn check_loopback(url: &str) -> anyhow::Result<()> {
    let u = url::Url::parse(url).with_context(|| format!("--url `{url}` is not an absolute url"))?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if !loopback || !matches!(u.scheme(), "http" | "https") {
        bail!("--url `{url}`: expected an http(s) url on a loopback address (127.0.0.0/8, [::1], localhost)");
    }
    Ok(())
}

/// `token` with one character in the middle of its signature changed: same length,
/// still base64url, a signature that does not verify.
pub fn bad_signature(token: &str) -> anyhow::Result<String> {
    let Some(dot) = token.rfind('.') else { bail!("--token: expected a JWS compact token (three segments)") };
    let signature = &token[dot + 1..];
    if signature.len() < 4 {
        bail!("--token: its signature segment is {} characters, expected a signature", signature.len());
    }
    let i = dot + 1 + signature.len() / 2;
    let mut bytes = token.as_bytes().to_vec();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).context("--token is not ASCII")
}

fn body(method: &str, id: u64) -> String {
    let params = if method == "initialize" {
        r#","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcp-authz bench-server","version":"1"}}"#
    } else {
        ""
    };
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}"{params}}}"#)
}

fn request(
    client: &reqwest::Client,
    url: &str,
    method: &str,
    token: Option<&str>,
    session: Option<&str>,
    dpop: Option<&Prover>,
) -> reqwest::RequestBuilder {
    let mut r = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body(method, 2));
    match (token, dpop) {
        (Some(t), Some(p)) => {
            r = r
                .header("authorization", format!("{} {t}", dpop::SCHEME))
                .header(dpop::HEADER, p.proof(url, t));
        }
        (Some(t), None) => r = r.header("authorization", format!("Bearer {t}")),
        (None, _) => {}
    }
    if let Some(s) = session {
        r = r.header("mcp-session-id", s).header("mcp-protocol-version", "2025-11-25");
    }
    r
}

/// `initialize` with the valid token: the session id the server returned, if any. With
/// DPoP, a server that asks for a nonce (`use_dpop_nonce`) gets it in a second try and in
/// every proof after.
async fn open_session(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    dpop: Option<&Prover>,
) -> anyhow::Result<Option<String>> {
    let send = || async {
        request(client, url, "initialize", Some(token), None, dpop)
            .send()
            .await
            .with_context(|| format!("initialize at {url}"))
    };
    let mut r = send().await?;
    let nonce = r.headers().get(dpop::NONCE_HEADER).and_then(|v| v.to_str().ok()).map(String::from);
    if let (Some(p), Some(nonce), reqwest::StatusCode::UNAUTHORIZED) = (dpop, nonce, r.status()) {
        if let Ok(mut n) = p.nonce.lock() {
            *n = Some(nonce);
        }
        r = send().await?;
    }
    let status = r.status();
    let session = r.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(String::from);
    if !status.is_success() {
        let text = r.text().await.unwrap_or_default();
        bail!(
            "initialize with the valid token: received http {status} {text}, expected 200: does the server trust this token's issuer?"
        );
    }
    Ok(session)
}

/// Sends `build()` from `concurrency` loops for at most `duration` and `max` requests.
async fn measure(
    class: &str,
    concurrency: usize,
    duration: Duration,
    max: u64,
    build: Arc<dyn Fn() -> reqwest::RequestBuilder + Send + Sync>,
) -> anyhow::Result<ClassReport> {
    let issued = Arc::new(AtomicU64::new(0));
    let start = now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (issued, build) = (Arc::clone(&issued), Arc::clone(&build));
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let (mut statuses, mut errors) = (BTreeMap::<u16, u64>::new(), 0u64);
            while start.elapsed() < duration && issued.fetch_add(1, Ordering::Relaxed) < max {
                // Built (a DPoP proof signed) before the clock starts: the latency is the
                // server's answer, not the client's signature.
                let request = build();
                let sent = now();
                match request.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        let _ =
                            h.record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
                        *statuses.entry(status).or_default() += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
            (h, statuses, errors)
        }));
    }
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let (mut statuses, mut errors) = (BTreeMap::new(), 0);
    for t in tasks {
        let (th, ts, te) = t.await.context("a request loop panicked")?;
        h.add(th).context("merging histograms")?;
        for (s, n) in ts {
            *statuses.entry(s).or_default() += n;
        }
        errors += te;
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(ClassReport {
        class: class.to_string(),
        requests: h.len(),
        errors,
        statuses,
        requests_per_sec: h.len() as f64 / elapsed,
        p50_us: h.value_at_quantile(0.5),
        p90_us: h.value_at_quantile(0.9),
        p99_us: h.value_at_quantile(0.99),
        max_us: h.max(),
    })
}

/// A trivial endpoint on a loopback port (200 `{}` to any POST): the load generator's
/// own ceiling. Returns its URL; it serves until the process exits.
async fn trivial_endpoint() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.context("binding 127.0.0.1:0")?;
    let url = format!("http://{}/", listener.local_addr()?);
    let app = axum::Router::new().fallback(|| async { "{}" });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Runs every class and the ceiling.
pub async fn run(opts: &Options) -> anyhow::Result<Report> {
    check_loopback(&opts.url)?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let session = if opts.method == "initialize" {
        None
    } else {
        open_session(&client, &opts.url, &opts.tokens.valid, opts.tokens.dpop.as_deref()).await?
    };
    let bad = bad_signature(&opts.tokens.valid)?;
    let mut classes: Vec<(&str, Option<String>)> =
        vec![("valid token", Some(opts.tokens.valid.clone())), ("bad signature", Some(bad))];
    if let Some(expired) = &opts.tokens.expired {
        classes.push(("expired token", Some(expired.clone())));
    }
    classes.push(("no token", None));
    let mut reports = Vec::new();
    let progress = crate::progress::Progress::spinner();
    for (class, token) in classes {
        progress.message(format!("measuring: {class}"));
        let (client, url, method, session, dpop) = (
            client.clone(),
            opts.url.clone(),
            opts.method.clone(),
            session.clone(),
            opts.tokens.dpop.clone(),
        );
        let build = Arc::new(move || {
            request(&client, &url, &method, token.as_deref(), session.as_deref(), dpop.as_deref())
        });
        reports.push(measure(class, opts.concurrency, opts.duration, opts.max_requests, build).await?);
    }
    let trivial = trivial_endpoint().await?;
    let (client2, method) = (client.clone(), opts.method.clone());
    let build = Arc::new(move || request(&client2, &trivial, &method, None, None, None));
    progress.message("measuring: loopback ceiling".into());
    reports
        .push(measure("loopback ceiling", opts.concurrency, opts.duration, opts.max_requests, build).await?);
    progress.finish();
    Ok(Report {
        url: opts.url.clone(),
        method: opts.method.clone(),
        concurrency: opts.concurrency,
        duration_secs: opts.duration.as_secs_f64(),
        session: session.is_some(),
        dpop: opts.tokens.dpop.as_ref().map(|p| p.key.alg().name().to_string()),
        classes: reports,
    })
}

/// The report as a table.
pub fn render(r: &Report) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    let mut s = format!(
        "bench-server {} — {}{}{}, {} concurrent, {} s per class\n\n{:<17} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8}  statuses\n",
        r.url,
        r.method,
        if r.session { " in a session" } else { "" },
        r.dpop
            .as_ref()
            .map_or(String::new(), |alg| format!(", DPoP-bound tokens with a fresh {alg} proof per request")),
        r.concurrency,
        r.duration_secs,
        "class",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms"
    );
    for c in &r.classes {
        let mut statuses: Vec<String> = c.statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        if c.errors > 0 {
            statuses.push(format!("no answer×{}", c.errors));
        }
        s.push_str(&format!(
            "{:<17} {:>9} {:>10.0} {:>8.3} {:>8.3} {:>8.3} {:>8.3}  {}\n",
            c.class,
            c.requests,
            c.requests_per_sec,
            ms(c.p50_us),
            ms(c.p90_us),
            ms(c.p99_us),
            ms(c.max_us),
            statuses.join(" ")
        ));
    }
    let p50 = |name: &str| r.classes.iter().find(|c| c.class == name).map(|c| c.p50_us);
    if let (Some(valid), Some(none)) = (p50("valid token"), p50("no token")) {
        s.push_str(&format!(
            "\nvalid token p50 − no token p50 = {:.3} ms: validation and the authorized work \
             (the tool or list) together; bad signature and expired token should cost about what \
             a valid token's validation costs, no token almost nothing.\n",
            (valid as f64 - none as f64) / 1000.0
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        for ok in [
            "http://127.0.0.1:9001/mcp",
            "http://localhost:1/",
            "https://[::1]:8443/mcp",
            "http://127.1.2.3/",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for bad in ["http://example.com/mcp", "http://10.0.0.1/", "ftp://127.0.0.1/", "not a url"] {
            assert!(check_loopback(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_signature_changes_one_signature_character() {
        let t = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU";
        let b = bad_signature(t).unwrap();
        assert_eq!(b.len(), t.len());
        assert_eq!(b[..t.rfind('.').unwrap()], t[..t.rfind('.').unwrap()]);
        assert_eq!(b.chars().zip(t.chars()).filter(|(x, y)| x != y).count(), 1);
        assert!(bad_signature("no-dots").is_err());
    }
}
