//! `mcp-authz replay`: re-runs a case file written by `explore` and prints its trace.

use crate::common::say;
use anyhow::Context as _;
use mcp_authz_scenarios::explore;
use std::io::Write as _;
use std::process::ExitCode;

/// Arguments of `mcp-authz replay`.
#[derive(clap::Args)]
pub struct Args {
    /// The case file (JSON).
    file: std::path::PathBuf,
}

/// Runs `mcp-authz replay`: exit status 1 when the case still violates an invariant.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let file = &args.file;
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
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
