//! `mcp-authz run`: the scenario catalog in the simulator against the reference roles.

use crate::common::defects_named;
use crate::reporting::{ReportArgs, read_baseline};
use mcp_authz_scenarios::{catalog, run_traced_at};
use mcp_authz_sim::scenario::{CaseResult, Revision};
use std::process::ExitCode;

/// Arguments of `mcp-authz run`.
#[derive(clap::Args)]
pub struct Args {
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
    /// Grade by this MCP revision (2025-06-18, 2025-11-25, 2026-07-28): a case that does
    /// not apply to it is skipped, the others take the level it gives their requirement.
    /// Default: every revision, each case graded by the newest it applies to.
    #[arg(long, value_name = "REVISION")]
    revision: Option<Revision>,
    #[command(flatten)]
    report: ReportArgs,
}

/// Runs `mcp-authz run`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let defects = defects_named(&args.defects)?;
    let all = catalog();
    for id in &args.scenarios {
        if !all.iter().any(|s| s.meta.id == id) {
            anyhow::bail!("no scenario `{id}`; `mcp-authz list` shows them");
        }
    }
    let baseline = match &args.report.baseline {
        Some(path) => Some(read_baseline(path, &|id| all.iter().any(|s| s.meta.id == id))?),
        None => None,
    };
    let (ids, tags) = (&args.scenarios, &args.tags);
    let selected: Vec<_> = all
        .into_iter()
        .filter(|s| ids.is_empty() || ids.iter().any(|id| id == s.meta.id))
        .filter(|s| tags.is_empty() || tags.iter().any(|t| s.meta.tags.contains(&t.as_str())))
        .collect();
    if selected.is_empty() {
        anyhow::bail!("no scenario matches the selection");
    }
    let results: Vec<_> =
        selected.iter().map(|s| run_traced_at(s, args.seed, &defects, args.revision).0).collect();
    let mut defect_args: String = args.defects.iter().map(|d| format!(" --defect {d}")).collect();
    if let Some(r) = args.revision {
        defect_args.push_str(&format!(" --revision {r}"));
    }
    let replay =
        |c: &CaseResult| format!("mcp-authz run --scenario {} --seed {}{defect_args}", c.meta.id, c.seed);
    let subtitle = format!("mcp-authz run --seed {}{defect_args} · {} cases", args.seed, results.len());
    args.report.emit(&results, baseline.as_ref(), &replay, &subtitle)
}
