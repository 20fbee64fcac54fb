//! `mcp-authz test-client`: the client scenarios against a client under test that is a
//! program of its own.
//!
//! The harness plays the MCP servers and authorization servers of each scenario (honest
//! and hostile) on loopback ports, runs the client command with the server URL appended,
//! serves its requests from the simulator, and judges by what the client sent.

use crate::reporting::{GradeArgs, ReportArgs, read_baseline};
use anyhow::Context as _;
use mcp_authz_live::client_network::ClientNetwork;
use mcp_authz_live::client_under_test::LiveClient;
use mcp_authz_live::runs::{self as live, Progress};
use mcp_authz_scenarios::catalog;
use mcp_authz_sim::scenario::{CaseResult, Role};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

/// Loopback ports standing in for the simulated hosts: the most any client scenario
/// shows a client is about a dozen.
const HOSTS: usize = 24;

/// Arguments of `mcp-authz test-client`.
#[derive(clap::Args)]
pub struct Args {
    /// The client under test: a shell command, run once or more per scenario with the
    /// MCP server URL appended as its last argument (e.g. "mcp-authz client", "node
    /// client.mjs"). It must complete the authorization without a person: follow the
    /// authorization server's redirects itself (the harness's AS approves at once).
    #[arg(long, value_name = "CMD")]
    command: String,
    /// Longest one run of the client may take, in seconds; it is killed then.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// The URL of the client's metadata document, if it has one (its `client_id` where
    /// the AS accepts them): CL-REG-01 checks that the client uses it instead of
    /// registering; without it CL-REG-01 is skipped. On a `https://….example` host the
    /// harness serves the document itself.
    #[arg(long, value_name = "URL")]
    client_metadata_url: Option<String>,
    /// Run only this scenario (repeatable).
    #[arg(long = "scenario", value_name = "ID")]
    scenarios: Vec<String>,
    #[command(flatten)]
    grade: GradeArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// Runs `mcp-authz test-client`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.command.trim().is_empty() {
        anyhow::bail!("--command is empty: give the command that starts the client under test");
    }
    let all = catalog();
    for id in &args.scenarios {
        match all.iter().find(|s| s.meta.id == id) {
            None => anyhow::bail!("no scenario `{id}`; `mcp-authz list` shows them"),
            Some(s) if s.meta.role != Role::Client => {
                anyhow::bail!("`{id}` tests the {}, not the client", s.meta.role)
            }
            Some(_) => {}
        }
    }
    let selected: Vec<_> = all
        .iter()
        .filter(|s| s.meta.role == Role::Client)
        .filter(|s| args.scenarios.is_empty() || args.scenarios.iter().any(|id| id == s.meta.id))
        .copied()
        .collect();
    let baseline = match &args.report.baseline {
        Some(path) => Some(read_baseline(path, &|id| all.iter().any(|s| s.meta.id == id))?),
        None => None,
    };
    let (command, timeout) = (args.command.clone(), Duration::from_secs(args.timeout.max(1)));
    let client_metadata_url = args.client_metadata_url.clone();
    if let Some(u) = &client_metadata_url {
        url::Url::parse(u)
            .ok()
            .filter(|p| p.scheme() == "https" && p.path() != "/")
            .with_context(|| format!("--client-metadata-url `{u}`: expected an https URL with a path"))?;
    }
    let revision = args.grade.revision;
    let results = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<CaseResult>> {
        let network = ClientNetwork::start(HOSTS).context("cannot bind loopback listeners")?;
        crate::common::tell!(
            "client under test: `{command} <server url>`; simulated hosts on 127.0.0.1 ports {}-{}, proxy {}",
            network.ports().first().unwrap_or(&0),
            network.ports().last().unwrap_or(&0),
            network.proxy_port()
        );
        let exe = std::env::current_exe().context("cannot find the mcp-authz executable")?;
        let browser = Some(format!("'{}' open-url", exe.display().to_string().replace('\'', r"'\''")));
        let target = LiveClient {
            command,
            timeout,
            network: Rc::new(network),
            browser,
            client_metadata_url,
            revision,
        };
        let bar = crate::progress::Progress::cases(selected.len());
        let run = live::test_client(&target, &selected, |p| {
            if let Progress::Case(_, r) = p {
                bar.case(r.meta.id, &r.verdict);
            }
        });
        bar.finish();
        Ok(run.results)
    })
    .await
    .context("the test run stopped")??;

    let command = args.command.replace('"', "\\\"");
    let replay = crate::reporting::Replay::of_this_run(&[]);
    let replay = |c: &CaseResult| replay.line(c.meta.id);
    let subtitle = format!("mcp-authz test-client --command \"{command}\" · {} cases", results.len());
    args.report.emit(&crate::redact::results(&results), baseline.as_ref(), &replay, &subtitle)
}
