//! `mcp-authz explore`: random interleavings of honest flows, attacks and faults in the
//! simulator, with the safety invariants checked after every step.

use crate::common::{ListFormat, defects_named, say};
use anyhow::Context as _;
use mcp_authz_scenarios::explore;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `mcp-authz explore`.
#[derive(clap::Args)]
pub struct Args {
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
}

/// Runs `mcp-authz explore`: writes a shrunk case file per violation and prints the
/// summary; exit status 1 on a violation.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let budget = match (&args.budget, args.cases) {
        (Some(b), _) => Some(parse_duration(b)?),
        (None, None) => Some(Duration::from_secs(60)),
        (None, Some(_)) => None,
    };
    let mut settings =
        explore::Settings { seed: args.seed, max_actions: args.max_actions, ..explore::Settings::default() };
    settings.shard = args.shard.parse()?;
    settings.defects = defects_named(&args.defects)?;
    // The wall clock reads here only: the budget and the progress line; the exploration
    // itself runs on the simulator's virtual clock.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let progress = crate::progress::Progress::spinner();
    let mut explorer = explore::Explorer::new(settings);
    let mut report = explore::explore(
        &mut explorer,
        args.cases,
        |_| budget.is_none_or(|b| started.elapsed() < b),
        |r| {
            let rate = r.flows as f64 / started.elapsed().as_secs_f64().max(1e-3);
            progress.message(format!(
                "cases {}  flows/s {rate:.0}  violations {}",
                r.cases,
                r.violations.len()
            ));
        },
    )?;
    progress.finish();
    if !report.violations.is_empty() {
        std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    }
    for f in &mut report.violations {
        let path =
            args.out.join(format!("{}-case-{}.json", f.violation.invariant.to_lowercase(), f.case_number));
        std::fs::write(&path, f.case.to_json()).with_context(|| format!("writing {}", path.display()))?;
        f.case_file = Some(path.display().to_string());
    }
    match args.format {
        ListFormat::Json => say!("{}", serde_json::to_string_pretty(&report)?),
        ListFormat::Text => {
            let _ = std::io::stdout().lock().write_all(report.text().as_bytes());
        }
    }
    Ok(if report.violations.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
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
