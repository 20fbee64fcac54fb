//! Reports of a run: a terminal table (coloured on a TTY), JSON (one object per case),
//! JUnit XML for CI, SARIF for code scanning ([`sarif`]), and a self-contained HTML page
//! ([`html`]) with a sequence diagram ([`sequence_diagram`]) of every failed case.

pub mod grade;
pub mod html;
pub mod sarif;
pub mod sequence_diagram;

use crate::baseline::Baseline;
use crate::scenario::{CaseResult, Role, Verdict, revisions_line};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Counts of each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Passed cases.
    pub pass: usize,
    /// Failed cases (MUST violated).
    pub fail: usize,
    /// Warned cases (SHOULD violated).
    pub warn: usize,
    /// Skipped cases.
    pub skip: usize,
    /// Cases the harness could not decide.
    pub error: usize,
}

impl Summary {
    /// Counts the verdicts of `cases`.
    pub fn of(cases: &[CaseResult]) -> Self {
        let mut s = Summary::default();
        for c in cases {
            *match c.verdict {
                Verdict::Pass => &mut s.pass,
                Verdict::Fail => &mut s.fail,
                Verdict::Warn => &mut s.warn,
                Verdict::Skip => &mut s.skip,
                Verdict::Error => &mut s.error,
            } += 1;
        }
        s
    }

    /// The closing line: `N passed, N failed, N warned, N skipped, N errors`.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} warned, {} skipped, {} errors",
            self.pass, self.fail, self.warn, self.skip, self.error
        )
    }
}

fn paint(v: Verdict, color: bool) -> String {
    let code = match v {
        Verdict::Pass => "32",
        Verdict::Fail => "31",
        Verdict::Warn => "33",
        Verdict::Skip => "90",
        Verdict::Error => "35",
    };
    if color { format!("\x1b[{code}m{:<5}\x1b[0m", v.to_string()) } else { format!("{:<5}", v.to_string()) }
}

/// The terminal table, grouped by role, with details and evidence for every case that
/// did not pass, and the summary line. `replay` renders the command that re-runs one
/// case alone. A failure the `baseline` lists is shown as an expected failure, with its
/// reason and without evidence.
pub fn text(
    cases: &[CaseResult],
    color: bool,
    replay: &dyn Fn(&CaseResult) -> String,
    baseline: Option<&Baseline>,
) -> String {
    let mut by_role: BTreeMap<Role, Vec<&CaseResult>> = BTreeMap::new();
    for c in cases {
        by_role.entry(c.meta.role).or_default().push(c);
    }
    let mut out = String::new();
    if let Some(line) = revisions_line(cases) {
        let _ = writeln!(out, "{line}");
    }
    for (role, cases) in by_role {
        let _ = writeln!(out, "\n{role}");
        for c in cases {
            let _ = writeln!(
                out,
                "  {} {:<14} {:<60} {}",
                paint(c.verdict, color),
                c.meta.id,
                c.meta.title,
                c.meta.requirements.join(",")
            );
            let expected = baseline
                .and_then(|b| b.reason(c.meta.id))
                .filter(|_| matches!(c.verdict, Verdict::Fail | Verdict::Warn));
            if let Some(reason) = expected {
                let _ = writeln!(out, "        expected failure (baseline: {reason})");
                let _ = writeln!(out, "        {}", c.detail);
            } else if c.verdict != Verdict::Pass {
                let _ = writeln!(out, "        {}", c.detail);
                if matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error) {
                    for e in c.evidence.iter().rev().take(12).rev() {
                        let _ = writeln!(out, "          | {e}");
                    }
                    let _ = writeln!(out, "        seed {}; replay: {}", c.seed, replay(c));
                }
            }
        }
    }
    let _ = writeln!(out, "\n{}", Summary::of(cases).line());
    out
}

/// One JSON object per case, as an array.
pub fn json(cases: &[CaseResult]) -> String {
    serde_json::to_string_pretty(cases).unwrap_or_else(|_| "[]".into())
}

/// `s` escaped for XML and HTML text and attribute values; control characters other
/// than newline and tab become spaces.
fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// JUnit XML: one `<testsuite>` per role; `fail` is a failure, `error` an error, `skip`
/// skipped; `warn` passes with the warning in `<system-out>`.
pub fn junit(cases: &[CaseResult]) -> String {
    let s = Summary::of(cases);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"mcp-authz\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        cases.len(),
        s.fail,
        s.error,
        s.skip
    );
    let mut by_role: BTreeMap<Role, Vec<&CaseResult>> = BTreeMap::new();
    for c in cases {
        by_role.entry(c.meta.role).or_default().push(c);
    }
    for (role, cs) in by_role {
        let owned: Vec<CaseResult> = cs.iter().map(|c| (*c).clone()).collect();
        let rs = Summary::of(&owned);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            xml_escape(&role.to_string()),
            cs.len(),
            rs.fail,
            rs.error,
            rs.skip
        );
        if let Some(line) = revisions_line(&owned) {
            let _ = writeln!(
                out,
                "    <properties><property name=\"mcp-revisions\" value=\"{}\"/></properties>",
                xml_escape(&line)
            );
        }
        for c in cs {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{} {}\">",
                xml_escape(&c.meta.requirements.join(",")),
                c.meta.id,
                xml_escape(c.meta.title)
            );
            let evidence = xml_escape(&c.evidence.join("\n"));
            match c.verdict {
                Verdict::Pass => {}
                Verdict::Fail => {
                    let _ = write!(
                        out,
                        "<failure message=\"{}\">seed {}\n{evidence}</failure>",
                        xml_escape(&c.detail),
                        c.seed
                    );
                }
                Verdict::Error => {
                    let _ = write!(out, "<error message=\"{}\">{evidence}</error>", xml_escape(&c.detail));
                }
                Verdict::Skip => {
                    let _ = write!(out, "<skipped message=\"{}\"/>", xml_escape(&c.detail));
                }
                Verdict::Warn => {
                    let _ =
                        write!(out, "<system-out>warn: {}\n{evidence}</system-out>", xml_escape(&c.detail));
                }
            }
            let _ = writeln!(out, "</testcase>");
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Check, Level, Meta, Violation};

    const META: Meta = Meta {
        id: "RS-AUD-01",
        title: "token for another server <refused>",
        role: Role::McpServer,
        requirements: &["RS-08"],
        rfc9700: Some("4.9"),
        level: Level::Must,
        tags: &[],
        capabilities: &[],
        needs: &[],
        revisions: crate::scenario::Revisions::ALL,
    };

    fn cases() -> Vec<CaseResult> {
        vec![
            CaseResult::new(&META, Check::Holds, vec![], 1),
            CaseResult::new(
                &META,
                Check::Violated(Violation::new("a refusal", "accepted \"aud\" of B")),
                vec!["a -> b <- 200".into()],
                2,
            ),
            CaseResult::new(
                &Meta { level: Level::Should, ..META },
                Check::Violated(Violation::new("x", "y")),
                vec![],
                3,
            ),
        ]
    }

    #[test]
    fn summary_and_text() {
        let c = cases();
        assert_eq!(Summary::of(&c), Summary { pass: 1, fail: 1, warn: 1, skip: 0, error: 0 });
        let replay = |c: &CaseResult| format!("mcp-authz run --scenario {} --seed {}", c.meta.id, c.seed);
        let t = text(&c, false, &replay, None);
        assert!(t.contains("fail  RS-AUD-01"));
        assert!(t.contains("replay: mcp-authz run --scenario RS-AUD-01 --seed 2"));
        assert!(t.trim_end().ends_with("1 passed, 1 failed, 1 warned, 0 skipped, 0 errors"));
    }

    #[test]
    fn text_shows_baselined_failures_as_expected() {
        let b = Baseline::parse("RS-AUD-01 known, fix in 2.0\n").unwrap();
        let t = text(&cases(), false, &|_| "replay".into(), Some(&b));
        assert_eq!(t.matches("expected failure (baseline: known, fix in 2.0)").count(), 2, "{t}");
        assert!(!t.contains("| a -> b <- 200"), "{t}");
    }

    #[test]
    fn junit_escapes_and_counts() {
        let x = junit(&cases());
        assert!(x.contains("tests=\"3\" failures=\"1\""));
        assert!(x.contains("&lt;refused&gt;"));
        assert!(x.contains("accepted &quot;aud&quot; of B"));
    }

    #[test]
    fn json_has_the_fields() {
        let v: serde_json::Value = serde_json::from_str(&json(&cases())).unwrap();
        assert_eq!(v[1]["verdict"], "fail");
        assert_eq!(v[1]["requirements"][0], "RS-08");
        assert_eq!(v[1]["level"], "MUST");
        assert_eq!(v[1]["rfc9700"], "4.9");
        assert_eq!(v[1]["seed"], 2);
        assert_eq!(v[1]["detail"], "expected a refusal, got accepted \"aud\" of B");
        assert_eq!(v[1]["expected"], "a refusal");
        assert_eq!(v[1]["observed"], "accepted \"aud\" of B");
        assert!(v[0].get("expected").is_none() && v[0].get("observed").is_none());
    }
}
