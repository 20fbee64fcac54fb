//! `mcp-authz serve`: the reference authorization server and MCP server on loopback.

use crate::common::{Alg, defects_named};
use anyhow::Context as _;
use mcp_authz_live::stack::{Stack, StackOptions};
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

/// The port `mcp-authz serve` puts its authorization server on by default (9000 is
/// where `mcp-authz test-server` serves its own AS, which `serve` also trusts).
pub const SERVE_AS_PORT: u16 = 9002;

/// Arguments of `mcp-authz serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Port of the authorization server.
    #[arg(long, default_value_t = SERVE_AS_PORT)]
    as_port: u16,
    /// Port of the MCP server.
    #[arg(long, default_value_t = 9001)]
    rs_port: u16,
    /// Approve every valid authorization request at once, signed in as the default
    /// user (alice), so scripts need no login form; a request with `login_hint=mallory`
    /// signs in the second user, mallory (`mcp-authz client --login-hint mallory`).
    #[arg(long)]
    auto_approve: bool,
    /// Access-token signing algorithm (default es256). Given, the MCP server also
    /// accepts tokens of this algorithm only, as a verifier pinned to its identity
    /// provider's algorithm does; without it, every asymmetric algorithm.
    #[arg(long, value_enum)]
    alg: Option<Alg>,
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
    /// Make the MCP server require a nonce of its own in every DPoP proof (RFC 9449 §9:
    /// 401 `use_dpop_nonce` with a `DPoP-Nonce`), as RS-DPOP-10 of `test-server --dpop`
    /// checks.
    #[arg(long)]
    dpop_nonce: bool,
    /// A further issuer the MCP server trusts (keys at ISSUER/jwks; repeatable).
    /// Give `--also-trust none` to trust only the served AS.
    #[arg(long, value_name = "ISSUER", default_value = mcp_authz_live::stack::TEST_AUTHORITY)]
    also_trust: Vec<String>,
    /// A further resource the authorization server issues tokens for, with the MCP
    /// server's scopes (repeatable): a stand-in for a second MCP server, for
    /// `mcp-authz test-server --token-command … --other-resource URL`, whose tokens the
    /// MCP server must refuse.
    #[arg(long = "other-resource", value_name = "URL")]
    other_resources: Vec<String>,
    /// Make the roles commit this defect (repeatable; see `mcp-authz defects`), to
    /// see the harness catch it.
    #[arg(long = "defect", value_name = "NAME")]
    defects: Vec<String>,
    /// Let the AS take the JWT bearer grant (RFC 7523) from the harness's IdP (ID-JAGs)
    /// and workload platform, whose keys are kept in --state-dir, and register the client
    /// ID:SECRET for it (client_secret_basic, scopes mcp:read mcp:write): `mcp-authz
    /// test-as --jwt-bearer-client ID:SECRET` then runs AS-EMA-* and AS-WIF-01.
    #[arg(long, value_name = "ID:SECRET")]
    jwt_bearer_client: Option<String>,
    /// Where the harness keeps its keys between runs. Default: $XDG_STATE_HOME/mcp-authz,
    /// else ~/.local/state/mcp-authz.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<std::path::PathBuf>,
}

/// Runs `mcp-authz serve` until Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let opts = StackOptions {
        as_port: args.as_port,
        rs_port: args.rs_port,
        auto_approve: args.auto_approve,
        alg: args.alg.unwrap_or(Alg::Es256).into(),
        pin_alg: args.alg.is_some(),
        access_token_ttl: Duration::from_secs(args.access_token_ttl),
        code_ttl: Duration::from_secs(args.code_ttl),
        allow_insecure_client_id_urls: args.allow_insecure_client_id_urls,
        introspect: args.introspect,
        also_trust: args.also_trust.into_iter().filter(|i| i != "none").collect(),
        defects: defects_named(&args.defects)?,
        other_resources: args.other_resources,
        max_sessions_per_principal: None,
        leeway_secs: None,
        dpop_nonce: args.dpop_nonce,
        grant_issuers: match &args.jwt_bearer_client {
            Some(spec) => Some(crate::common::harness_grant_issuers(spec, args.state_dir.clone())?),
            None => None,
        },
    };
    let stack = Stack::start(&opts).await?;
    print_banner(&stack, args.auto_approve);
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    crate::common::tell!("stopping");
    stack.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// What is served where, and commands to try it with.
fn print_banner(stack: &Stack, auto_approve: bool) {
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
        if auto_approve {
            "auto-approve (user alice; login_hint=mallory: user mallory)"
        } else {
            "login form: alice / alice, or mallory / mallory"
        }
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
