//! `mcp-authz list`: the scenarios of the catalog.

use crate::common::{ListFormat, say};
use mcp_authz_scenarios::catalog;
use mcp_authz_sim::scenario::Level;
use std::process::ExitCode;

/// Arguments of `mcp-authz list`.
#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
}

/// Runs `mcp-authz list`: ID, title, role, requirement IDs and level of every scenario.
pub fn run(args: Args) -> ExitCode {
    let all = catalog();
    match args.format {
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
    ExitCode::SUCCESS
}
