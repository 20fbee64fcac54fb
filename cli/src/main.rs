//! `mcp-authz`: the command-line front of the MCP authorization harness.
//!
//! One module a subcommand, each with its `Args` and its `run`; this file only parses
//! the command line and dispatches.
#![forbid(unsafe_code)]

mod bench_server;
mod client;
mod common;
mod defects;
mod explore;
mod list;
mod merge;
mod open_url;
mod progress;
mod redact;
mod replay;
mod reporting;
mod run;
mod scan;
mod serve;
mod shell;
mod test_as;
mod test_client;
mod test_server;
mod token_command;
mod token_store;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// What `--version` prints: the crate version and the MCP revisions the harness speaks
/// (`Revision::ALL`; a test keeps the two in step).
const LONG_VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), "\nspeaks MCP 2025-06-18, 2025-11-25, 2026-07-28");

/// Test harness for MCP authorization (OAuth 2.1 for MCP servers, authorization servers
/// and clients).
#[derive(Parser)]
#[command(name = "mcp-authz", version, long_version = LONG_VERSION, about, long_about = None)]
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
    Run(run::Args),
    /// List the scenarios: ID, title, role, requirement IDs and level.
    List(list::Args),
    /// List the defect switches the reference roles can be told to commit.
    Defects,
    /// Serve the reference authorization server and MCP server on loopback.
    ///
    /// The MCP server trusts the authorization server, and also the one `mcp-authz
    /// test-server` serves on 127.0.0.1:9000 by default (see --also-trust), so the two
    /// commands work together. Its tools need scopes: echo → mcp:read, write_note →
    /// mcp:write, admin_reset → mcp:admin, fetch_report → mcp:read (it calls a downstream
    /// API with its own token).
    Serve(serve::Args),
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
    /// Scan a deployed MCP server from outside: no trust to configure, no token needed.
    ///
    /// The scan follows the discovery funnel a client follows — the 401 challenge, the
    /// protected resource metadata, the authorization server it names and that server's
    /// published keys — and runs the catalog's cases that need no token the server
    /// accepts, with the same IDs as everywhere else: the challenge and metadata, and
    /// forged tokens the server must refuse whatever it trusts (malformed, `alg: none`,
    /// HS256 keyed with each published key, another key under a published `kid`, odd
    /// Authorization headers); and the authorization server's metadata. Each case that
    /// needs a token the server accepts is skipped and says so (`test-server
    /// --token-command` runs it). After the report: a grade with its rule, and the worst
    /// verdict per requirement. Exit status as for `run`.
    Scan(scan::Args),
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
    OpenUrl(open_url::Args),
    /// Run the reference MCP client against an MCP server: discovery, registration,
    /// authorization (PKCE), token, then one MCP operation.
    ///
    /// With `--grant client-credentials` it is a machine client instead (the extension
    /// `io.modelcontextprotocol/oauth-client-credentials`): the same discovery, then a
    /// client credentials token request authenticated by `--client-secret` or
    /// `--private-key-file`, with no browser and no registration. With `--grant
    /// enterprise` (enterprise-managed authorization) it exchanges a user's ID token at the
    /// enterprise IdP for an ID-JAG and presents it with the JWT bearer grant; with
    /// `--grant jwt-bearer` (workload identity federation) it presents a workload's JWT.
    ///
    /// The endpoint may also be given as the last argument (`mcp-authz client URL`), the
    /// convention of `mcp-authz test-client` and the official conformance suite. The
    /// client honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
    Client(client::Args),
    /// Explore random interleavings of honest flows, attacks and faults in the simulator,
    /// checking safety invariants after every step.
    ///
    /// A violation is shrunk and written as a case file (`mcp-authz replay FILE` re-runs
    /// it). Exit status: 0 when nothing is violated, 1 on a violation, 2 on an error.
    Explore(explore::Args),
    /// Re-run a case file written by `explore` and print its trace.
    Replay(replay::Args),
    /// Measure what token validation costs a live MCP server: latency percentiles and
    /// throughput with a valid token, a bad signature, an expired token and no token.
    BenchServer(bench_server::Args),
    /// Combine the JSON reports of several `explore --shard` runs into one.
    Merge(merge::Args),
    /// Print a shell completion script: `mcp-authz completions bash > /etc/bash_completion.d/mcp-authz`
    /// (zsh: into a directory of `$fpath` as `_mcp-authz`; fish: `~/.config/fish/completions/mcp-authz.fish`).
    Completions(shell::CompletionsArgs),
    /// Write the man pages, `mcp-authz.1` and one per subcommand (`mcp-authz-scan.1`, …),
    /// into a directory: `mcp-authz man --out /usr/local/share/man/man1`.
    Man(shell::ManArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    match dispatch(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            crate::common::tell!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the subcommand the command line names.
async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::List(args) => Ok(list::run(args)),
        Command::Defects => Ok(defects::run()),
        Command::Serve(args) => serve::run(args).await,
        Command::TestServer(args) => test_server::run(args).await,
        Command::Scan(args) => scan::run(args).await,
        Command::TestAs(args) => test_as::run(args).await,
        Command::TestClient(args) => test_client::run(args).await,
        Command::OpenUrl(args) => open_url::run(args).await,
        Command::Client(args) => client::run(args).await,
        Command::Explore(args) => explore::run(args),
        Command::Replay(args) => replay::run(args),
        Command::BenchServer(args) => bench_server::command(args).await,
        Command::Merge(args) => merge::run(args),
        Command::Completions(args) => shell::completions::<Cli>(args),
        Command::Man(args) => shell::man::<Cli>(args),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_names_every_revision_the_harness_speaks() {
        let named: Vec<String> =
            mcp_authz_sim::scenario::Revision::ALL.iter().map(ToString::to_string).collect();
        assert!(
            super::LONG_VERSION.ends_with(&format!("speaks MCP {}", named.join(", "))),
            "{}",
            super::LONG_VERSION
        );
    }
}
