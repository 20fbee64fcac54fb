//! `mcp-authz run`: the scenario catalog in the simulator against the reference roles.

use crate::common::defects_named;
use crate::reporting::{GradeArgs, ReportArgs, read_baseline};
use mcp_authz_scenarios::{catalog, run_traced_at};
use mcp_authz_sim::scenario::CaseResult;
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
    #[command(flatten)]
    grade: GradeArgs,
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
        selected.iter().map(|s| run_traced_at(s, args.seed, &defects, args.grade.revision).0).collect();
    let mut defect_args: String = args.defects.iter().map(|d| format!(" --defect {d}")).collect();
    defect_args.push_str(&args.grade.flag());
    let replay =
        |c: &CaseResult| format!("mcp-authz run --scenario {} --seed {}{defect_args}", c.meta.id, c.seed);
    let subtitle = format!("mcp-authz run --seed {}{defect_args} · {} cases", args.seed, results.len());
    args.report.emit(&results, baseline.as_ref(), &replay, &subtitle)
}
