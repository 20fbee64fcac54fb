//! `mcp-authz`: the command-line front of the MCP authorization harness.
#![forbid(unsafe_code)]

mod bench_server;
mod common;
mod reporting;

use crate::common::{ListFormat, defects_named, say};
use crate::reporting::{ReportArgs, read_baseline};
use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use mcp_authz_harness::fetch::Fetcher;
use mcp_authz_harness::live_client::{ClientDriver, FrontChannel};
use mcp_authz_harness::scenario::{CaseResult, Level};
use mcp_authz_harness::stack::{Stack, StackOptions};
use mcp_authz_reference::client::{Operation, PreRegistered, PublicClient, PublicClientConfig};
use mcp_authz_reference::defects::Defect;
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_scenarios::{catalog, explore, run_case};
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

/// The port `mcp-authz serve` puts its authorization server on by default (9000 is
/// where `mcp-authz test-server` serves its own AS, which `serve` also trusts).
pub const SERVE_AS_PORT: u16 = 9002;

mod test_as;
mod test_client;
mod test_server;
mod token_store;

/// Test harness for MCP authorization (OAuth 2.1 for MCP servers, authorization servers
/// and clients).
#[derive(Parser)]
#[command(name = "mcp-authz", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scenario catalog in the simulator against the reference roles.
    ///
    /// Every case prints a verdict: pass, fail (a MUST is violated), warn (a SHOULD is
    /// violated), skip, or error (the harness could not decide). A failing case prints
    /// its seed, its evidence and the command that replays it. Exit status: 0 when
    /// nothing fails, 1 when a case fails, 2 on a usage or harness error.
    ///
    /// With --baseline, the failures and warnings the baseline lists are expected: the
    /// run fails (1) on a failure or warning it does not list and on an entry whose case
    /// now passes.
    Run {
        /// Run only this scenario (repeatable).
        #[arg(long = "scenario", value_name = "ID")]
        scenarios: Vec<String>,
        /// Run only scenarios with this tag (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// The simulator seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Inject this defect into the reference roles (repeatable; see `mcp-authz defects`).
        #[arg(long = "defect", value_name = "NAME")]
        defects: Vec<String>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// List the scenarios: ID, title, role, requirement IDs and level.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// List the defect switches the reference roles can be told to commit.
    Defects,
    /// Serve the reference authorization server and MCP server on loopback.
    ///
    /// The MCP server trusts the authorization server, and also the one `mcp-authz
    /// test-server` serves on 127.0.0.1:9000 by default (see --also-trust), so the two
    /// commands work together. Its tools need scopes: echo → mcp:read, write_note →
    /// mcp:write, admin_reset → mcp:admin, fetch_report → mcp:read (it calls a downstream
    /// API with its own token).
    Serve {
        /// Port of the authorization server.
        #[arg(long, default_value_t = SERVE_AS_PORT)]
        as_port: u16,
        /// Port of the MCP server.
        #[arg(long, default_value_t = 9001)]
        rs_port: u16,
        /// Approve every valid authorization request at once, signed in as the default
        /// user (alice), so scripts need no login form.
        #[arg(long)]
        auto_approve: bool,
        /// Access-token signing algorithm.
        #[arg(long, value_enum, default_value_t = Alg::Es256)]
        alg: Alg,
        /// Access-token lifetime in seconds.
        #[arg(long, default_value_t = 600)]
        access_token_ttl: u64,
        /// Authorization-code lifetime in seconds (`test-as --code-lifetime` waits it out).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=60))]
        code_ttl: u64,
        /// Development only: let the AS fetch client ID metadata documents from http
        /// and loopback URLs.
        #[arg(long)]
        allow_insecure_client_id_urls: bool,
        /// Make the MCP server introspect every token at the AS (revocation takes
        /// effect at once).
        #[arg(long)]
        introspect: bool,
        /// A further issuer the MCP server trusts (keys at ISSUER/jwks; repeatable).
        /// Give `--also-trust none` to trust only the served AS.
        #[arg(long, value_name = "ISSUER", default_value = mcp_authz_harness::stack::TEST_AUTHORITY)]
        also_trust: Vec<String>,
        /// Make the roles commit this defect (repeatable; see `mcp-authz defects`), to
        /// see the harness catch it.
        #[arg(long = "defect", value_name = "NAME")]
        defects: Vec<String>,
    },
    /// Test a live MCP server: the harness plays the authorization server it trusts.
    ///
    /// The harness serves its AS on 127.0.0.1:--as-port and prints what the server under
    /// test must trust (issuer, JWKS URL, audience = --url). It lists the server's tools,
    /// learns the scope each needs (from --scopes, else by probing with a scope-less
    /// token), then runs every MCP server scenario of the catalog against it with the
    /// same IDs as `mcp-authz run`: metadata and challenges, the token validation matrix,
    /// audience replay, per-tool scopes, session binding, Origin, token placement, JWKS
    /// fetch amplification. Scenarios call tools, including ones with side effects:
    /// point it at a test instance. Exit status as for `run`.
    TestServer(test_server::Args),
    /// Test a live authorization server with the catalog's AS scenarios.
    ///
    /// The harness reads the AS's metadata (RFC 8414, else OpenID discovery), registers
    /// its two public apps by dynamic registration (RFC 7591) — the victim's, and the
    /// attacker's on the same loopback redirect URI — and runs every AS scenario with the
    /// same IDs as `mcp-authz run`: PKCE enforcement and downgrade, code interception,
    /// injection, reuse and binding, refresh rotation and reuse detection, scope
    /// escalation, redirect URI matching, state and iss, the login and consent pages,
    /// token responses and resource indicators. With --login it signs in through the
    /// AS's HTML forms. Exit status as for `run`.
    TestAs(test_as::Args),
    /// Test an MCP client with the catalog's client scenarios.
    ///
    /// The harness plays the MCP servers and authorization servers (honest, and hostile
    /// per scenario) on loopback ports and runs the client under test, --command, with
    /// the MCP server URL appended as its last argument and the scenario ID in env
    /// MCP_AUTHZ_SCENARIO. It checks PKCE S256 with a fresh verifier, `resource` on every
    /// request, `state` and `iss` checked, AS metadata issuer and PKCE support checked,
    /// protected resource metadata naming another server refused, step-up with the
    /// challenged scope and a limit, where tokens go, and that the client fetches no
    /// internal address (seen through HTTP_PROXY/HTTPS_PROXY, which the harness sets).
    /// Exit status as for `run`.
    TestClient(test_client::Args),
    /// The browser `mcp-authz test-client` gives the client under test (env BROWSER):
    /// tells --report the URL it was asked to open, then, for an http(s) URL, follows the
    /// redirects as a user agent (the harness's AS approves at once), the last one to the
    /// client's redirect URI.
    #[command(hide = true)]
    OpenUrl {
        /// Where to POST the URL.
        #[arg(long)]
        report: Option<String>,
        /// The URL to open.
        url: String,
    },
    /// Run the reference MCP client against an MCP server: discovery, registration,
    /// authorization (PKCE), token, then one MCP operation.
    ///
    /// The endpoint may also be given as the last argument (`mcp-authz client URL`), the
    /// convention of `mcp-authz test-client` and the official conformance suite. The
    /// client honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
    Client {
        /// The MCP endpoint, e.g. http://127.0.0.1:9001/mcp.
        #[arg(long = "url", value_name = "URL")]
        url_option: Option<String>,
        /// The MCP endpoint, as the last argument (instead of --url).
        #[arg(value_name = "URL", conflicts_with = "url_option")]
        url: Option<String>,
        /// Tool to call; without it the client lists the tools.
        #[arg(long)]
        tool: Option<String>,
        /// Tool arguments as a JSON object.
        #[arg(long, default_value = "{}")]
        arguments: String,
        /// Print only the access token obtained (for scripts).
        #[arg(long)]
        print_token: bool,
        /// Print the authorization URL for a person to open, and wait for the redirect
        /// on a loopback port. Without it the client follows the AS's redirects itself,
        /// which works with an auto-approving AS.
        #[arg(long)]
        browser: bool,
        /// Redirect URI to register (ignored with --browser, which picks a free port).
        #[arg(long, default_value = "http://127.0.0.1:8765/callback")]
        redirect_uri: String,
        /// Use this pre-registered client id instead of registering.
        #[arg(long)]
        client_id: Option<String>,
        /// Secret of the pre-registered client.
        #[arg(long, requires = "client_id")]
        client_secret: Option<String>,
        /// Use this client ID metadata document URL as client id when the AS supports it.
        #[arg(long)]
        client_metadata_url: Option<String>,
        /// Scopes to request (default: the server's challenge, else its scopes_supported).
        #[arg(long)]
        scope: Option<String>,
        /// Print every request and response status to stderr.
        #[arg(long, short)]
        verbose: bool,
        /// Make the client commit this defect (repeatable; see `mcp-authz defects`), to
        /// see `mcp-authz test-client` catch it.
        #[arg(long = "defect", value_name = "NAME")]
        defects: Vec<String>,
        /// Keep the tokens in this JSON file between runs: read at the start (used only
        /// with the server they were issued for), written at the end. It holds secrets.
        #[arg(long, value_name = "FILE")]
        token_store: Option<std::path::PathBuf>,
    },
    /// Explore random interleavings of honest flows, attacks and faults in the simulator,
    /// checking safety invariants after every step.
    ///
    /// A violation is shrunk and written as a case file (`mcp-authz replay FILE` re-runs
    /// it). Exit status: 0 when nothing is violated, 1 on a violation, 2 on an error.
    Explore {
        /// Stop after this much wall-clock time (`90s`, `5m`); the default when
        /// `--cases` is not given is 60s.
        #[arg(long, conflicts_with = "cases")]
        budget: Option<String>,
        /// Stop after this many cases.
        #[arg(long)]
        cases: Option<u64>,
        /// The root seed: the same seed explores the same cases.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Inject this defect into the reference roles (repeatable).
        #[arg(long = "defect", value_name = "NAME")]
        defects: Vec<String>,
        /// Explore only shard K of N of the seed space (e.g. `2/8`), for CI matrices.
        #[arg(long, default_value = "1/1")]
        shard: String,
        /// Longest action sequence drawn per case.
        #[arg(long, default_value_t = 16)]
        max_actions: usize,
        /// Where shrunk case files are written.
        #[arg(long, default_value = "explore-cases")]
        out: std::path::PathBuf,
        /// Output format of the summary.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Re-run a case file written by `explore` and print its trace.
    Replay {
        /// The case file (JSON).
        file: std::path::PathBuf,
    },
    /// Measure what token validation costs a live MCP server: latency percentiles and
    /// throughput with a valid token, a bad signature, an expired token and no token.
    BenchServer(bench_server::Args),
    /// Combine the JSON reports of several `explore --shard` runs into one.
    Merge {
        /// The reports (`explore --format json` output).
        #[arg(required = true)]
        reports: Vec<std::path::PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Json)]
        format: ListFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Alg {
    Es256,
    Rs256,
    Eddsa,
}

impl From<Alg> for Algorithm {
    fn from(a: Alg) -> Self {
        match a {
            Alg::Es256 => Algorithm::ES256,
            Alg::Rs256 => Algorithm::RS256,
            Alg::Eddsa => Algorithm::EdDSA,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run { scenarios, tags, seed, defects, report } => {
            run_catalog(&Selection { ids: &scenarios, tags: &tags, seed, defect_names: &defects }, &report)
        }
        Command::TestServer(args) => test_server::run(args).await,
        Command::TestAs(args) => test_as::run(args).await,
        Command::TestClient(args) => test_client::run(args).await,
        Command::OpenUrl { report, url } => test_client::open_url(report.as_deref(), &url).await,
        Command::List { format } => {
            list(format);
            Ok(ExitCode::SUCCESS)
        }
        Command::Defects => {
            for d in Defect::ALL {
                say!("{:<38} {:<22} {}", d.name(), format!("{:?}", d.role()), d.description());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            as_port,
            rs_port,
            auto_approve,
            alg,
            access_token_ttl,
            code_ttl,
            allow_insecure_client_id_urls,
            introspect,
            also_trust,
            defects,
        } => {
            let injected = defects_named(&defects)?;
            let opts = StackOptions {
                as_port,
                rs_port,
                auto_approve,
                alg: alg.into(),
                access_token_ttl: Duration::from_secs(access_token_ttl),
                code_ttl: Duration::from_secs(code_ttl),
                allow_insecure_client_id_urls,
                introspect,
                also_trust: also_trust.into_iter().filter(|i| i != "none").collect(),
                defects: injected,
            };
            let stack = Stack::start(&opts).await?;
            print_serve_banner(&stack, auto_approve);
            tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
            eprintln!("stopping");
            stack.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Client {
            url_option,
            url,
            tool,
            arguments,
            print_token,
            browser,
            redirect_uri,
            client_id,
            client_secret,
            client_metadata_url,
            scope,
            verbose,
            defects,
            token_store,
        } => {
            let url = url
                .or(url_option)
                .context("give the MCP endpoint: --url URL, or URL as the last argument")?;
            let injected = defects_named(&defects)?;
            if let Some(d) =
                injected.iter().find(|d| d.role() != mcp_authz_reference::defects::DefectRole::Client)
            {
                anyhow::bail!("--defect {}: a defect of the {:?}, not of the client", d.name(), d.role());
            }
            let arguments: serde_json::Value =
                serde_json::from_str(&arguments).context("--arguments is not valid JSON")?;
            if !arguments.is_object() {
                anyhow::bail!("--arguments must be a JSON object, received {arguments}");
            }
            let (front, redirect_uri) =
                if browser { FrontChannel::person().await? } else { (FrontChannel::Follow, redirect_uri) };
            let config = PublicClientConfig {
                pre_registered: client_id.map(|client_id| PreRegistered { client_id, client_secret }),
                client_id_metadata_url: client_metadata_url,
                scope,
                defects: injected,
                ..PublicClientConfig::new(url, redirect_uri.clone(), "mcp-authz client")
            };
            let mut client = PublicClient::new(config)?;
            if let Some(kept) = token_store.as_deref().map(token_store::read).transpose()?.flatten() {
                client.restore_tokens(kept);
            }
            let mut driver = ClientDriver::new(Fetcher::with_env_proxies()?, front, redirect_uri);
            driver.verbose = verbose;
            let op = match tool {
                Some(name) => Operation::CallTool { name, arguments },
                None => Operation::ListTools,
            };
            let outcome = driver.run(&mut client, |c, env| c.start(op, env)).await;
            if let (Some(path), Some(tokens)) = (&token_store, client.tokens()) {
                token_store::write(path, tokens)?;
            }
            let outcome = outcome?;
            if print_token {
                let token = client.tokens().map(|t| t.access_token.clone()).unwrap_or_default();
                say!("{token}");
            } else {
                say!("{}", serde_json::to_string_pretty(&outcome.result)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explore { budget, cases, seed, defects, shard, max_actions, out, format } => {
            let budget = match (&budget, cases) {
                (Some(b), _) => Some(parse_duration(b)?),
                (None, None) => Some(Duration::from_secs(60)),
                (None, Some(_)) => None,
            };
            let mut settings = explore::Settings { seed, max_actions, ..explore::Settings::default() };
            settings.shard = shard.parse()?;
            settings.defects = defects_named(&defects)?;
            explore_cmd(settings, budget, cases, &out, format)
        }
        Command::Replay { file } => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let case = explore::case::Case::from_json(&text)?;
            let (outcome, as_recorded) = case.replay()?;
            let _ = std::io::stdout().lock().write_all(outcome.trace.as_bytes());
            match &outcome.violation {
                Some(v) => say!(
                    "violation {} [{}] after step {}: {}",
                    v.invariant,
                    v.requirements.join(","),
                    v.step,
                    v.detail
                ),
                None => say!("no violation"),
            }
            if !as_recorded {
                say!("differs from the case file, which expects {:?}", case.expect);
            }
            Ok(if outcome.violation.is_some() { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::BenchServer(args) => bench_server::command(args).await,
        Command::Merge { reports, format } => {
            let mut all = Vec::new();
            for path in &reports {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                let r: explore::Report = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not an explore report", path.display()))?;
                all.push(r);
            }
            let merged = explore::Report::merge(all)?;
            match format {
                ListFormat::Json => say!("{}", serde_json::to_string_pretty(&merged)?),
                ListFormat::Text => say!("{}", merged.text()),
            }
            Ok(if merged.violations.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// `90s`, `5m`, `1h` or plain seconds.
fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let (digits, unit) =
        s.trim().split_at(s.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(s.trim().len()));
    let n: u64 =
        digits.parse().with_context(|| format!("--budget `{s}`: expected a number with s, m or h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => anyhow::bail!("--budget `{s}`: unit `{unit}`, expected s, m or h"),
    };
    Ok(Duration::from_secs(secs))
}

fn explore_cmd(
    settings: explore::Settings,
    budget: Option<Duration>,
    cases: Option<u64>,
    out: &std::path::Path,
    format: ListFormat,
) -> anyhow::Result<ExitCode> {
    // The wall clock reads here only: the budget and the progress line; the exploration
    // itself runs on the simulator's virtual clock.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut explorer = explore::Explorer::new(settings);
    let mut report = explore::explore(
        &mut explorer,
        cases,
        |_| budget.is_none_or(|b| started.elapsed() < b),
        |r| {
            if tty {
                let rate = r.flows as f64 / started.elapsed().as_secs_f64().max(1e-3);
                eprint!("\rcases {}  flows/s {rate:.0}  violations {}   ", r.cases, r.violations.len());
            }
        },
    )?;
    if tty {
        eprintln!();
    }
    if !report.violations.is_empty() {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    }
    for f in &mut report.violations {
        let path = out.join(format!("{}-case-{}.json", f.violation.invariant.to_lowercase(), f.case_number));
        std::fs::write(&path, f.case.to_json()).with_context(|| format!("writing {}", path.display()))?;
        f.case_file = Some(path.display().to_string());
    }
    match format {
        ListFormat::Json => say!("{}", serde_json::to_string_pretty(&report)?),
        ListFormat::Text => {
            let _ = std::io::stdout().lock().write_all(report.text().as_bytes());
        }
    }
    Ok(if report.violations.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Which cases `mcp-authz run` runs, and how.
struct Selection<'a> {
    ids: &'a [String],
    tags: &'a [String],
    seed: u64,
    defect_names: &'a [String],
}

fn run_catalog(sel: &Selection<'_>, report: &ReportArgs) -> anyhow::Result<ExitCode> {
    let defects = defects_named(sel.defect_names)?;
    let all = catalog();
    for id in sel.ids {
        if !all.iter().any(|s| s.meta.id == id) {
            anyhow::bail!("no scenario `{id}`; `mcp-authz list` shows them");
        }
    }
    let baseline = match &report.baseline {
        Some(path) => Some(read_baseline(path, &|id| all.iter().any(|s| s.meta.id == id))?),
        None => None,
    };
    let selected: Vec<_> = all
        .into_iter()
        .filter(|s| sel.ids.is_empty() || sel.ids.iter().any(|id| id == s.meta.id))
        .filter(|s| sel.tags.is_empty() || sel.tags.iter().any(|t| s.meta.tags.contains(&t.as_str())))
        .collect();
    if selected.is_empty() {
        anyhow::bail!("no scenario matches the selection");
    }
    let results: Vec<_> = selected.iter().map(|s| run_case(s, sel.seed, &defects)).collect();
    let defect_args: String = sel.defect_names.iter().map(|d| format!(" --defect {d}")).collect();
    let replay =
        |c: &CaseResult| format!("mcp-authz run --scenario {} --seed {}{defect_args}", c.meta.id, c.seed);
    let subtitle = format!("mcp-authz run --seed {}{defect_args} · {} cases", sel.seed, results.len());
    report.emit(&results, baseline.as_ref(), &replay, &subtitle)
}

fn list(format: ListFormat) {
    let all = catalog();
    match format {
        ListFormat::Json => {
            let metas: Vec<_> = all.iter().map(|s| s.meta).collect();
            say!("{}", serde_json::to_string_pretty(&metas).unwrap_or_default());
        }
        ListFormat::Text => {
            for m in all.iter().map(|s| &s.meta) {
                let level = if m.level == Level::Must { "MUST" } else { "SHOULD" };
                let adversary: Vec<String> = m.capabilities.iter().map(|c| format!("{c:?}")).collect();
                let adversary = if adversary.is_empty() {
                    String::new()
                } else {
                    format!("  adversary: {}", adversary.join(", "))
                };
                say!(
                    "{:<14} {:<6} {:<22} {:<62} {}{adversary}",
                    m.id,
                    level,
                    m.role.to_string(),
                    m.title,
                    m.requirements.join(",")
                );
            }
            say!("{} scenarios", all.len());
        }
    }
}

fn print_serve_banner(stack: &Stack, auto_approve: bool) {
    // The servers keep running if stdout goes away (a closed pipe): write errors are ignored.
    let mut out = std::io::stdout().lock();
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}"#;
    let _ = writeln!(out, "authorization server  {}", stack.issuer);
    let _ = writeln!(out, "  metadata            {}/.well-known/oauth-authorization-server", stack.issuer);
    let _ = writeln!(out, "MCP server            {}", stack.mcp_url);
    let _ = writeln!(
        out,
        "  resource metadata   {}",
        mcp_authz_reference::protected_resource_metadata::well_known_urls(&stack.mcp_url)
            .ok()
            .and_then(|u| u.into_iter().next())
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "sign-in               {}",
        if auto_approve { "auto-approve (user alice)" } else { "login form: alice / alice" }
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Try:");
    let _ = writeln!(
        out,
        "  curl -i -X POST {} -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -d '{init}'",
        stack.mcp_url
    );
    if auto_approve {
        let _ = writeln!(
            out,
            "  mcp-authz client --url {} --tool echo --arguments '{{\"text\":\"hello\"}}'",
            stack.mcp_url
        );
    } else {
        let _ = writeln!(
            out,
            "  mcp-authz client --url {} --browser --tool echo --arguments '{{\"text\":\"hello\"}}'",
            stack.mcp_url
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "  mcp-authz test-server --url {}", stack.mcp_url);
    let _ = writeln!(out);
    let _ = writeln!(out, "Ctrl-C stops both servers.");
}
