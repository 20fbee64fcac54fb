//! `mcp-authz merge`: the JSON reports of several `explore --shard` runs as one.

use crate::common::{ListFormat, say};
use anyhow::Context as _;
use mcp_authz_scenarios::explore;
use std::process::ExitCode;

/// Arguments of `mcp-authz merge`.
#[derive(clap::Args)]
pub struct Args {
    /// The reports (`explore --format json` output).
    #[arg(required = true)]
    reports: Vec<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Json)]
    format: ListFormat,
}

/// Runs `mcp-authz merge`: prints the merged report; exit status 1 when it holds a
/// violation.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut all = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let r: explore::Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an explore report", path.display()))?;
        all.push(r);
    }
    let merged = explore::Report::merge(all)?;
    match args.format {
        ListFormat::Json => say!("{}", serde_json::to_string_pretty(&merged)?),
        ListFormat::Text => say!("{}", merged.text()),
    }
    Ok(if merged.violations.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
