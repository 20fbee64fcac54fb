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

/// The command line that runs one case of a live run again: the run's own words, the
/// program named `mcp-authz`, without its case selection (`--scenario`) and report
/// options (`--format`, `--output`, `--baseline`, `--also`), each secret option's value
/// replaced by a placeholder (and the switches not to repeat left out), quoted for a
/// POSIX shell; [`Replay::line`] adds `--scenario ID`. Every option that shapes a case
/// (`--resource`, `--login`, `--token-command`, `--dpop`, `--revision`, …) is kept as it
/// was typed.
pub struct Replay {
    words: Vec<String>,
}

/// What a replay line hides of an option.
#[derive(Clone, Copy)]
pub enum Hide {
    /// Its value, shown as this placeholder (`--client-secret SECRET`).
    Value(&'static str),
    /// What follows the first `:` of its value, shown as this placeholder
    /// (`--login alice:PASSWORD`).
    AfterColon(&'static str),
    /// The whole option, a switch without a value that must not run twice
    /// (`--rotate-key`).
    Switch,
}

/// The options a replay line leaves out, each with its value.
const NOT_REPLAYED: [&str; 5] = ["--scenario", "--format", "--output", "--baseline", "--also"];

impl Replay {
    /// The replay of this process's run, hiding what `hidden` says.
    pub fn of_this_run(hidden: &[(&str, Hide)]) -> Replay {
        Replay::of(std::env::args_os().map(|a| a.to_string_lossy().into_owned()), hidden)
    }

    /// The replay of the run of `argv` (the program first).
    pub fn of(argv: impl IntoIterator<Item = String>, hidden: &[(&str, Hide)]) -> Replay {
        let mut words = vec!["mcp-authz".to_string()];
        let mut argv = argv.into_iter().skip(1);
        while let Some(word) = argv.next() {
            let (name, inline) = match word.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (word.clone(), None),
            };
            let hide = hidden.iter().find(|(n, _)| *n == name).map(|(_, h)| *h);
            if matches!(hide, Some(Hide::Switch)) {
                continue;
            }
            if !NOT_REPLAYED.contains(&name.as_str()) && hide.is_none() {
                words.push(quote(&word));
                continue;
            }
            let Some(value) = inline.or_else(|| argv.next()) else { continue };
            let shown = match hide {
                Some(Hide::Value(placeholder)) => placeholder.to_string(),
                Some(Hide::AfterColon(placeholder)) => match value.split_once(':') {
                    Some((before, _)) => format!("{before}:{placeholder}"),
                    None => placeholder.to_string(),
                },
                Some(Hide::Switch) | None => continue,
            };
            words.push(name);
            words.push(quote(&shown));
        }
        Replay { words }
    }

    /// The line that runs case `id` again.
    pub fn line(&self, id: &str) -> String {
        format!("{} --scenario {id}", self.words.join(" "))
    }
}

/// Asserts that each option `hidden` names is a long option of the arguments `A` (a
/// test helper: a hidden option renamed would leave its value in every replay line).
#[cfg(test)]
pub fn assert_options_of<A: clap::Args>(hidden: &[(&str, Hide)]) {
    let command = A::augment_args(clap::Command::new("mcp-authz"));
    for (name, _) in hidden {
        assert!(
            command.get_arguments().any(|a| a.get_long().is_some_and(|l| format!("--{l}") == *name)),
            "{name} is not an option"
        );
    }
}

/// `word` as one word of a POSIX shell: as it is when it has only characters the shell
/// takes literally, else in single quotes.
fn quote(word: &str) -> String {
    let literal = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,^".contains(c);
    if !word.is_empty() && word.chars().all(literal) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(argv: &[&str], hidden: &[(&str, Hide)]) -> Replay {
        Replay::of(argv.iter().map(|w| w.to_string()), hidden)
    }

    #[test]
    fn a_replay_keeps_what_shapes_the_case_and_drops_the_selection_and_the_reports() {
        let r = replay(
            &[
                "target/release/mcp-authz",
                "test-as",
                "--issuer",
                "http://127.0.0.1:9",
                "--scenario",
                "AS-PKCE-01",
                "--resource=http://127.0.0.1:8/mcp",
                "--format",
                "json",
                "--output=report.json",
                "--also",
                "sarif=r.sarif",
                "--baseline",
                "known.txt",
                "--scenario=AS-CODE-01",
                "--revision",
                "2025-11-25",
                "--flood",
            ],
            &[],
        );
        assert_eq!(
            r.line("AS-REG-02"),
            "mcp-authz test-as --issuer http://127.0.0.1:9 --resource=http://127.0.0.1:8/mcp \
             --revision 2025-11-25 --flood --scenario AS-REG-02"
        );
    }

    #[test]
    fn a_replay_never_shows_a_secret() {
        let hidden = [
            ("--client-secret", Hide::Value("SECRET")),
            ("--login", Hide::AfterColon("PASSWORD")),
            ("--jwt-bearer-client", Hide::AfterColon("SECRET")),
            ("--rotate-key", Hide::Switch),
        ];
        let r = replay(
            &[
                "mcp-authz",
                "test-as",
                "--client-id",
                "app",
                "--client-secret",
                "s3cr3t",
                "--login=alice:pa:ss",
                "--jwt-bearer-client",
                "agent:an0ther",
                "--rotate-key",
                "--login",
                "nocolon",
            ],
            &hidden,
        );
        let line = r.line("AS-EMA-01");
        assert_eq!(
            line,
            "mcp-authz test-as --client-id app --client-secret SECRET --login alice:PASSWORD \
             --jwt-bearer-client agent:SECRET --login PASSWORD --scenario AS-EMA-01"
        );
        for s in ["s3cr3t", "pa:ss", "an0ther", "nocolon"] {
            assert!(!line.contains(s), "{line}");
        }
    }

    #[test]
    fn a_replay_quotes_what_the_shell_would_read_otherwise() {
        let r = replay(
            &["mcp-authz", "test-client", "--command", "node client.mjs $URL 'x'", "--timeout", "5"],
            &[],
        );
        assert_eq!(
            r.line("CL-PKCE-01"),
            r#"mcp-authz test-client --command 'node client.mjs $URL '\''x'\''' --timeout 5 --scenario CL-PKCE-01"#
        );
        assert_eq!(quote(""), "''");
    }
}
