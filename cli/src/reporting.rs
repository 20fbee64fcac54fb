//! How a run of cases reports (`run`, `test-server`, `test-as`, `test-client`): the
//! report options, the baseline file, and the exit status the results give.

use anyhow::Context as _;
use clap::ValueEnum;
use mcp_authz_sim::baseline::Baseline;
use mcp_authz_sim::report::html::HtmlOptions;
use mcp_authz_sim::report::{self, Summary};
use mcp_authz_sim::scenario::{CaseResult, Revision};
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

/// How a run of cases reports (`run`, `test-server`).
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long)]
    output: Option<std::path::PathBuf>,
    /// Expected failures: one `ID  reason` a line, `#` comments and blank lines allowed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<std::path::PathBuf>,
    /// Also write the report in FORMAT to FILE, beside the main one (repeatable): one run,
    /// several reports, e.g. `--also sarif=results.sarif --also junit=results.xml` in CI.
    #[arg(long, value_name = "FORMAT=FILE", value_parser = parse_also)]
    also: Vec<(Format, std::path::PathBuf)>,
}

/// `FORMAT=FILE` of `--also`.
fn parse_also(s: &str) -> Result<(Format, std::path::PathBuf), String> {
    let (format, file) = s
        .split_once('=')
        .filter(|(f, p)| !f.is_empty() && !p.is_empty())
        .ok_or_else(|| format!("received `{s}`, expected FORMAT=FILE (e.g. sarif=results.sarif)"))?;
    let format = Format::from_str(format, true).map_err(|_| {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        format!("received format `{format}`, expected one of {}", names.join(", "))
    })?;
    Ok((format, file.into()))
}

/// Which MCP revision grades the cases (`run`, `test-server`, `test-as`, `test-client`).
#[derive(clap::Args)]
pub struct GradeArgs {
    /// Grade by this MCP revision (2025-06-18, 2025-11-25, 2026-07-28): a case that does
    /// not apply to it is skipped, the others take the level it gives their requirement.
    /// An MCP server under test must speak it and is spoken to in its era (2026-07-28:
    /// stateless requests; before: `initialize` and sessions). Default: the revisions the
    /// target speaks (all of them for the simulator, an authorization server or a
    /// client), each case graded by the newest it applies to.
    #[arg(long, value_name = "REVISION")]
    pub revision: Option<Revision>,
}

impl GradeArgs {
    /// ` --revision R` when one was given, for replay commands.
    pub fn flag(&self) -> String {
        self.revision.map(|r| format!(" --revision {r}")).unwrap_or_default()
    }
}

/// Format of a report of case results.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    /// One self-contained HTML page with a sequence diagram of every failed case.
    Html,
    /// SARIF 2.1.0 for code scanning (GitHub's upload-sarif): a rule per case, a result
    /// per failed (error), warned (warning) or undecided (note) case.
    Sarif,
}

impl ReportArgs {
    /// Writes the report of a run as these arguments ask (see [`emit_report`]).
    pub fn emit(
        &self,
        results: &[CaseResult],
        baseline: Option<&Baseline>,
        replay: &dyn Fn(&CaseResult) -> String,
        subtitle: &str,
    ) -> anyhow::Result<ExitCode> {
        self.emit_with_footer(results, baseline, replay, subtitle, "")
    }

    /// As [`ReportArgs::emit`], with `footer` (a grade, a summary) after the text report;
    /// the other formats keep their shape, and its first line goes to stderr.
    pub fn emit_with_footer(
        &self,
        results: &[CaseResult],
        baseline: Option<&Baseline>,
        replay: &dyn Fn(&CaseResult) -> String,
        subtitle: &str,
        footer: &str,
    ) -> anyhow::Result<ExitCode> {
        let how = Emit {
            format: self.format,
            output: self.output.as_deref(),
            also: &self.also,
            baseline,
            replay,
            subtitle,
            footer,
        };
        if self.format != Format::Text && !footer.is_empty() {
            crate::common::tell!("{}", footer.lines().next().unwrap_or_default());
        }
        emit_report(results, &how)
    }

    /// Reports a run whose setup failed for the reason `why` (every case in `results`
    /// is `error`, not run): the text report is the message alone, said once; the JSON,
    /// JUnit and HTML reports hold every case, and the message goes to stderr once. The
    /// exit status is 2 whatever the baseline says.
    pub fn emit_setup_failure(
        &self,
        why: &str,
        results: &[CaseResult],
        replay: &dyn Fn(&CaseResult) -> String,
        subtitle: &str,
    ) -> anyhow::Result<ExitCode> {
        let message = format!("error: {why}\n{} cases not run\n", results.len());
        let how = Emit {
            format: self.format,
            output: self.output.as_deref(),
            also: &self.also,
            baseline: None,
            replay,
            subtitle,
            footer: "",
        };
        if self.format != Format::Text {
            crate::common::tell!("{}", message.trim_end_matches('\n'));
            emit_report(results, &how)?;
            return Ok(ExitCode::from(2));
        }
        // The text report is the message alone; the other reports (`--also`) hold every case.
        for (format, path) in &self.also {
            std::fs::write(path, render(results, *format, false, &how))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if let Some(path) = &self.output {
            crate::common::tell!("{}", message.trim_end_matches('\n'));
            std::fs::write(path, &message).with_context(|| format!("writing {}", path.display()))?;
        } else {
            let _ = std::io::stdout().lock().write_all(message.as_bytes());
        }
        Ok(ExitCode::from(2))
    }
}

/// How to write a report of case results.
struct Emit<'a> {
    format: Format,
    output: Option<&'a std::path::Path>,
    /// Further reports, each in its format to its file (`--also`).
    also: &'a [(Format, std::path::PathBuf)],
    baseline: Option<&'a Baseline>,
    /// The command that re-runs a case.
    replay: &'a dyn Fn(&CaseResult) -> String,
    /// What ran, for the HTML page's heading.
    subtitle: &'a str,
    /// What follows the text report (empty: nothing).
    footer: &'a str,
}

/// Writes the report and decides the exit status: 1 on a failure (or, with a baseline,
/// on any difference from it), 2 when a case could not be decided, else 0.
fn emit_report(results: &[CaseResult], how: &Emit<'_>) -> anyhow::Result<ExitCode> {
    let color = how.output.is_none() && how.format == Format::Text && std::io::stdout().is_terminal();
    let rendered = render(results, how.format, color, how);
    for (format, path) in how.also {
        std::fs::write(path, render(results, *format, false, how))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    match how.output {
        Some(path) => {
            std::fs::write(path, rendered).with_context(|| format!("writing {}", path.display()))?;
            crate::common::tell!("{}", Summary::of(results).line());
        }
        None => {
            let _ = std::io::stdout().lock().write_all(rendered.as_bytes());
        }
    }
    let summary = Summary::of(results);
    if let Some(b) = how.baseline {
        let comparison = b.compare(results);
        crate::common::tell!("{comparison}");
        if !comparison.ok() {
            return Ok(ExitCode::from(1));
        }
    } else if summary.fail > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(if summary.error > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// The report of `results` in `format` (text with `color`).
fn render(results: &[CaseResult], format: Format, color: bool, how: &Emit<'_>) -> String {
    match format {
        Format::Text => report::text(results, color, how.replay, how.baseline) + how.footer,
        Format::Json => report::json(results),
        Format::Junit => match how.baseline {
            Some(b) => report::junit(&b.as_expected(results)),
            None => report::junit(results),
        },
        Format::Sarif => {
            // What was tested: the URL the command names (server, issuer), else the run.
            let subject = how
                .subtitle
                .split_whitespace()
                .find(|w| url::Url::parse(w).is_ok_and(|u| matches!(u.scheme(), "http" | "https")))
                .unwrap_or("mcp-authz");
            report::sarif::sarif(results, subject)
        }
        Format::Html => {
            let requirements = mcp_authz_scenarios::requirements::texts();
            report::html::render(
                results,
                &HtmlOptions {
                    subtitle: how.subtitle,
                    requirements: &requirements,
                    replay: how.replay,
                    baseline: how.baseline,
                },
            )
        }
    }
}

/// Reads and checks a baseline file against the scenario IDs of `known`.
pub fn read_baseline(path: &std::path::Path, known: &dyn Fn(&str) -> bool) -> anyhow::Result<Baseline> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let b = Baseline::parse(&text).with_context(|| format!("in {}", path.display()))?;
    b.check_known(known).with_context(|| format!("in {}", path.display()))?;
    Ok(b)
}
