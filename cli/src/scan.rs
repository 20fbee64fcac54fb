//! `mcp-authz scan`: an MCP server as it is deployed, graded from outside — no trust to
//! configure, no token of its own (see `mcp_authz_live::scan`).

use crate::reporting::{GradeArgs, ReportArgs, read_baseline};
use crate::test_as::LiveArgs;
use anyhow::Context as _;
use mcp_authz_live::runs::Progress;
use mcp_authz_live::scan::{self as live, ACTIVE_AS_CASES, PASSIVE_AS_CASES, Scan};
use mcp_authz_live::serve::system_now;
use mcp_authz_live::target;
use mcp_authz_scenarios::{Scenario, catalog};
use mcp_authz_sim::report::grade;
use mcp_authz_sim::scenario::{CaseResult, Role};
use std::process::ExitCode;

/// Arguments of `mcp-authz scan`.
#[derive(clap::Args)]
pub struct Args {
    /// The MCP endpoint to scan, e.g. https://mcp.example.com/mcp. The scan reaches it,
    /// the metadata and authorization server it names, and that server's keys — nothing
    /// else.
    #[arg(long)]
    url: String,
    /// Also run the cases that write state at the authorization server: client
    /// registrations with hostile metadata (AS-REG-01), each deleted afterwards where the
    /// AS allows it (RFC 7592). Without it the scan only reads and sends requests the
    /// server must refuse.
    #[arg(long)]
    active: bool,
    #[command(flatten)]
    live: LiveArgs,
    #[command(flatten)]
    grade: GradeArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// Runs `mcp-authz scan`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let url = crate::common::mcp_endpoint(&args.url)?;
    let all = catalog();
    let baseline = match &args.report.baseline {
        Some(path) => Some(read_baseline(path, &|id| all.iter().any(|s| s.meta.id == id))?),
        None => None,
    };
    let selected = select(&args.live, &all)?;
    let limits = args.live.limits();
    let handle = tokio::runtime::Handle::current();
    let (target_url, revision, active) = (url.clone(), args.grade.revision, args.active);
    let run = tokio::task::spawn_blocking(move || -> anyhow::Result<mcp_authz_live::runs::LiveRun> {
        let connect = target::over_http(handle, limits)?;
        let bar = crate::progress::Progress::cases(selected.len());
        let scan = Scan { url: &target_url, connect, revision, active };
        let run = live::scan(&scan, &selected, &system_now, |p| match p {
            Progress::Learned(notes) => {
                bar.note("found:");
                notes.iter().for_each(|note| bar.note(&format!("  {note}")));
            }
            Progress::Case(_, r) => bar.case(r.meta.id, &r.verdict),
        });
        bar.finish();
        Ok(run)
    })
    .await
    .context("the scan stopped")??;

    let replay = crate::reporting::Replay::of_this_run(&[]);
    let replay = |c: &CaseResult| replay.line(c.meta.id);
    let subtitle = format!("mcp-authz scan --url {url} · {} cases", run.results.len());
    let results = crate::redact::results(&run.results);
    if let Some(why) = &run.setup_error {
        return args.report.emit_setup_failure(why, &results, &replay, &subtitle);
    }
    let footer = format!("\n{}\n\n{}", grade::grade_line(&results), grade::by_requirement_text(&results));
    args.report.emit_with_footer(&results, baseline.as_ref(), &replay, &subtitle, &footer)
}

/// The cases a scan can run: every MCP server case, and the authorization server cases
/// it runs from outside; or those named with --scenario.
fn select(live: &LiveArgs, all: &[Scenario]) -> anyhow::Result<Vec<Scenario>> {
    let scannable = |s: &Scenario| match s.meta.role {
        Role::McpServer => true,
        Role::AuthorizationServer => {
            PASSIVE_AS_CASES.contains(&s.meta.id) || ACTIVE_AS_CASES.contains(&s.meta.id)
        }
        Role::Client => false,
    };
    if live.named().is_empty() {
        return Ok(all.iter().filter(|s| scannable(s)).copied().collect());
    }
    let mut picked = Vec::new();
    for id in live.named() {
        match all.iter().find(|s| s.meta.id == id) {
            Some(s) if scannable(s) => picked.push(*s),
            Some(s) => anyhow::bail!(
                "`{id}` tests the {} and is not one a scan runs: `mcp-authz list` shows which command does",
                s.meta.role
            ),
            None => anyhow::bail!("no scenario `{id}`; `mcp-authz list` shows them"),
        }
    }
    Ok(picked)
}
