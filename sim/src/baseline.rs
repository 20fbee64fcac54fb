//! Baselines: the failures a run expects, each with its reason.
//!
//! A baseline file has one entry per line, the case ID, whitespace, and a one-line
//! reason; `#` starts a comment line; blank lines are ignored:
//!
//! ```text
//! # Known findings in our server (tracked in issue 42).
//! RS-AUD-01   accepts tokens for other audiences until the verifier upgrade
//! RS-SCOPE-02 insufficient_scope answered with 401, fix scheduled
//! ```
//!
//! A run with a baseline fails on a failure or warning the baseline does not list (a new
//! failure) and on an entry whose case now passes (a stale entry, to be removed).

use crate::scenario::{CaseResult, Verdict};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// A parsed baseline: case ID → reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    line: usize,
    reason: String,
}

/// A line of a baseline file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("baseline line {line}: {message}")]
pub struct BaselineError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl Baseline {
    /// Parses a baseline file. Errors name the line: a malformed ID, a missing reason,
    /// a duplicate ID.
    pub fn parse(text: &str) -> Result<Baseline, BaselineError> {
        let mut entries = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (id, reason) = match trimmed.split_once(char::is_whitespace) {
                Some((id, reason)) => (id, reason.trim()),
                None => (trimmed, ""),
            };
            if !is_case_id(id) {
                return Err(BaselineError {
                    line,
                    message: format!(
                        "expected `ID  reason` with an ID like RS-AUD-01, received {:?}",
                        shorten(trimmed)
                    ),
                });
            }
            if reason.is_empty() {
                return Err(BaselineError {
                    line,
                    message: format!("`{id}` has no reason; expected `{id}  <why it is expected to fail>`"),
                });
            }
            if let Some(first) = entries.get(id).map(|e: &Entry| e.line) {
                return Err(BaselineError {
                    line,
                    message: format!("`{id}` is listed again (first on line {first})"),
                });
            }
            entries.insert(id.to_string(), Entry { line, reason: reason.to_string() });
        }
        Ok(Baseline { entries })
    }

    /// Fails on the first entry whose ID is not a case `known` (e.g. the catalog's IDs).
    pub fn check_known(&self, known: &dyn Fn(&str) -> bool) -> Result<(), BaselineError> {
        let mut unknown: Vec<(&String, &Entry)> = self.entries.iter().filter(|(id, _)| !known(id)).collect();
        unknown.sort_by_key(|(_, e)| e.line);
        match unknown.first() {
            Some((id, e)) => Err(BaselineError { line: e.line, message: format!("no case `{id}` exists") }),
            None => Ok(()),
        }
    }

    /// The reason the baseline gives for `id`, if it lists it.
    pub fn reason(&self, id: &str) -> Option<&str> {
        self.entries.get(id).map(|e| e.reason.as_str())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the baseline lists nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Compares the results of a run with the baseline. Entries whose case was not run
    /// (filtered out) are neither expected nor stale.
    pub fn compare(&self, cases: &[CaseResult]) -> Comparison {
        let mut c = Comparison::default();
        for case in cases {
            let failed = matches!(case.verdict, Verdict::Fail | Verdict::Warn);
            match (self.entries.get(case.meta.id), failed) {
                (Some(e), true) => c.expected.push((case.meta.id.to_string(), e.reason.clone())),
                (None, true) => c.new_failures.push((case.meta.id.to_string(), case.verdict)),
                (Some(e), false) if case.verdict == Verdict::Pass => {
                    c.stale.push((case.meta.id.to_string(), e.line, e.reason.clone()))
                }
                _ => {}
            }
        }
        c
    }
}

impl Baseline {
    /// The results as CI tools should count them: a failure or warning the baseline
    /// expects becomes `skip`, its detail prefixed with the baseline's reason (used for
    /// JUnit, where an expected failure must not fail the build).
    pub fn as_expected(&self, cases: &[CaseResult]) -> Vec<CaseResult> {
        cases
            .iter()
            .map(|case| match self.entries.get(case.meta.id) {
                Some(e) if matches!(case.verdict, Verdict::Fail | Verdict::Warn) => CaseResult {
                    verdict: Verdict::Skip,
                    detail: format!("expected failure (baseline: {}): {}", e.reason, case.detail),
                    ..case.clone()
                },
                _ => case.clone(),
            })
            .collect()
    }
}

/// A case ID: upper-case letters, digits and hyphens, starting with a letter.
fn is_case_id(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

/// The outcome of [`Baseline::compare`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Failures and warnings the baseline lists: (ID, reason).
    pub expected: Vec<(String, String)>,
    /// Failures and warnings the baseline does not list: (ID, verdict).
    pub new_failures: Vec<(String, Verdict)>,
    /// Entries whose case passed: (ID, line, reason).
    pub stale: Vec<(String, usize, String)>,
}

impl Comparison {
    /// True when the run matches the baseline: no new failure, no stale entry.
    pub fn ok(&self) -> bool {
        self.new_failures.is_empty() && self.stale.is_empty()
    }
}

impl fmt::Display for Comparison {
    /// Both lists, one case a line, then a one-line summary.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        if !self.new_failures.is_empty() {
            let _ = writeln!(out, "new failures (not in the baseline):");
            for (id, verdict) in &self.new_failures {
                let _ = writeln!(out, "  {:<5} {id}", verdict.to_string());
            }
        }
        if !self.stale.is_empty() {
            let _ = writeln!(out, "stale baseline entries (the case now passes; remove them):");
            for (id, line, reason) in &self.stale {
                let _ = writeln!(out, "  line {line}: {id}  {reason}");
            }
        }
        let _ = write!(
            out,
            "baseline: {} expected failures, {} new, {} stale",
            self.expected.len(),
            self.new_failures.len(),
            self.stale.len()
        );
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Check, Level, Meta, Role, Violation};

    fn case(id: &'static str, check: Check, level: Level) -> CaseResult {
        let meta = Meta {
            id,
            title: "t",
            role: Role::McpServer,
            requirements: &["RS-08"],
            rfc9700: None,
            level,
            tags: &[],
            capabilities: &[],
            needs: &[],
            revisions: crate::scenario::Revisions::ALL,
        };
        CaseResult::new(&meta, check, vec![], 1)
    }

    #[test]
    fn parses_entries_comments_and_blank_lines() {
        let b = Baseline::parse(
            "# header\n\n  RS-AUD-01   accepts other audiences  # see #12\nCL-PKCE-02\tno S256\n",
        )
        .unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.reason("RS-AUD-01"), Some("accepts other audiences  # see #12"));
        assert_eq!(b.reason("CL-PKCE-02"), Some("no S256"));
        assert_eq!(b.reason("RS-AUD-02"), None);
        assert!(Baseline::parse("").unwrap().is_empty());
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line_number() {
        let e = Baseline::parse("# ok\nRS-AUD-01: accepts tokens\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().starts_with("baseline line 2: expected `ID  reason`"), "{e}");
        let e = Baseline::parse("rs-aud-01 lower case\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = Baseline::parse("RS-AUD-01 x\n\nRS-AUD-02\n").unwrap_err();
        assert_eq!(
            e,
            BaselineError {
                line: 3,
                message: "`RS-AUD-02` has no reason; expected `RS-AUD-02  <why it is expected to fail>`"
                    .into()
            }
        );
    }

    #[test]
    fn duplicate_ids_are_errors() {
        let e = Baseline::parse("RS-AUD-01 a\nRS-AUD-02 b\nRS-AUD-01 c\n").unwrap_err();
        assert_eq!(
            e,
            BaselineError { line: 3, message: "`RS-AUD-01` is listed again (first on line 1)".into() }
        );
    }

    #[test]
    fn unknown_ids_are_errors() {
        let b = Baseline::parse("RS-AUD-01 a\nRS-NOPE-09 b\nRS-NOPE-01 c\n").unwrap();
        let e = b.check_known(&|id| id == "RS-AUD-01").unwrap_err();
        assert_eq!(e, BaselineError { line: 2, message: "no case `RS-NOPE-09` exists".into() });
        assert!(b.check_known(&|_| true).is_ok());
    }

    #[test]
    fn compare_finds_expected_new_and_stale() {
        let b = Baseline::parse("RS-A-01 known\nRS-B-01 fixed since\nRS-C-01 skipped\nRS-Z-01 not run\n")
            .unwrap();
        let cases = [
            case("RS-A-01", Check::Violated(Violation::new("x", "y")), Level::Must),
            case("RS-B-01", Check::Holds, Level::Must),
            case("RS-C-01", Check::NotApplicable("n/a".into()), Level::Must),
            case("RS-D-01", Check::Violated(Violation::new("y", "z")), Level::Should),
            case("RS-E-01", Check::Holds, Level::Must),
        ];
        let c = b.compare(&cases);
        assert_eq!(c.expected, vec![("RS-A-01".to_string(), "known".to_string())]);
        assert_eq!(c.new_failures, vec![("RS-D-01".to_string(), Verdict::Warn)]);
        assert_eq!(c.stale, vec![("RS-B-01".to_string(), 2, "fixed since".to_string())]);
        assert!(!c.ok());
        let text = c.to_string();
        assert!(text.contains("new failures (not in the baseline):\n  warn  RS-D-01\n"), "{text}");
        assert!(text.contains("  line 2: RS-B-01  fixed since\n"), "{text}");
        assert!(text.ends_with("baseline: 1 expected failures, 1 new, 1 stale"), "{text}");
        assert!(Baseline::parse("RS-A-01 known\n").unwrap().compare(&cases[..1]).ok());
    }

    #[test]
    fn expected_failures_count_as_skipped_for_ci() {
        let b = Baseline::parse("RS-AUD-01 audience not checked yet\n").unwrap();
        let cases = [
            case("RS-AUD-01", Check::Violated(Violation::new("a refusal", "accepted")), Level::Must),
            case("RS-AUD-02", Check::Violated(Violation::new("a refusal", "accepted")), Level::Must),
        ];
        let seen = b.as_expected(&cases);
        assert_eq!(seen[0].verdict, Verdict::Skip);
        assert_eq!(
            seen[0].detail,
            "expected failure (baseline: audience not checked yet): expected a refusal, got accepted"
        );
        assert_eq!(seen[1].verdict, Verdict::Fail, "a failure the baseline does not list stays one");
    }
}
