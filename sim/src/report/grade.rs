//! A letter grade for a run, and the per-requirement summary beside it (`scan`).
//!
//! The rule, written where the grade is printed:
//!
//! | grade | when |
//! |---|---|
//! | F | a MUST case failed |
//! | C | no failure; three or more SHOULD cases warned |
//! | B | no failure; one or two warned |
//! | A | no failure, no warning |
//!
//! A run with a case the harness could not decide gets no grade: an `error` hides what
//! the case would have found. Skipped cases do not count; the grade says how many cases
//! it rests on, so an A earned on four cases does not read like one earned on forty.

use crate::report::Summary;
use crate::scenario::{CaseResult, Verdict};
use std::collections::BTreeMap;
use std::fmt;

/// The rule, in one line, for reports.
pub const RULE: &str = "F: a MUST failed; C: no failure, 3 or more SHOULDs warned; B: 1 or 2 warned; A: none; no grade while a case is undecided";

/// A run's grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// No failure, no warning.
    A,
    /// No failure, one or two warnings.
    B,
    /// No failure, three or more warnings.
    C,
    /// A MUST failed.
    F,
    /// A case could not be decided.
    Withheld,
}

impl Grade {
    /// The grade of `cases` (see the module's rule).
    pub fn of(cases: &[CaseResult]) -> Grade {
        let s = Summary::of(cases);
        match (s.error, s.fail, s.warn) {
            (0, 0, 0) => Grade::A,
            (0, 0, 1..=2) => Grade::B,
            (0, 0, _) => Grade::C,
            (0, _, _) => Grade::F,
            _ => Grade::Withheld,
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::F => "F",
            Grade::Withheld => "none",
        })
    }
}

/// The grade line: the grade, the cases it rests on, and the rule.
pub fn grade_line(cases: &[CaseResult]) -> String {
    let s = Summary::of(cases);
    let judged = s.pass + s.fail + s.warn;
    let grade = Grade::of(cases);
    let why = match grade {
        Grade::Withheld => format!("{} case(s) undecided", s.error),
        _ => format!("{judged} case(s) judged, {} skipped", s.skip),
    };
    format!("grade {grade} ({why}; rule: {RULE})")
}

/// Per requirement ID: the worst verdict among the cases naming it, and those cases
/// (skipped cases left out; a requirement only skipped cases name is not listed).
pub fn by_requirement(cases: &[CaseResult]) -> BTreeMap<&'static str, (Verdict, Vec<&'static str>)> {
    let mut out: BTreeMap<&'static str, (Verdict, Vec<&'static str>)> = BTreeMap::new();
    for c in cases.iter().filter(|c| c.verdict != Verdict::Skip) {
        for req in c.meta.requirements {
            let entry = out.entry(req).or_insert((Verdict::Pass, Vec::new()));
            if c.verdict.severity() > entry.0.severity() {
                entry.0 = c.verdict;
            }
            entry.1.push(c.meta.id);
        }
    }
    out
}

/// The per-requirement summary as text: one line per requirement.
pub fn by_requirement_text(cases: &[CaseResult]) -> String {
    let mut out = String::from("by requirement:\n");
    for (req, (verdict, ids)) in by_requirement(cases) {
        out.push_str(&format!("  {req:<7} {:<5} {}\n", verdict.to_string(), ids.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Check, Level, Meta, Revisions, Role, Violation};

    fn case(
        id: &'static str,
        requirements: &'static [&'static str],
        level: Level,
        check: Check,
    ) -> CaseResult {
        let meta = Meta {
            id,
            title: "t",
            role: Role::McpServer,
            requirements,
            rfc9700: None,
            level,
            tags: &[],
            capabilities: &[],
            needs: &[],
            revisions: Revisions::ALL,
        };
        CaseResult::new(&meta, check, vec![], 1)
    }

    fn violated() -> Check {
        Check::Violated(Violation::new("a", "b"))
    }

    #[test]
    fn the_grade_follows_its_rule() {
        let pass = || case("P", &["RS-01"], Level::Must, Check::Holds);
        let warn = || case("W", &["RS-05"], Level::Should, violated());
        assert_eq!(Grade::of(&[pass()]), Grade::A);
        assert_eq!(Grade::of(&[pass(), warn()]), Grade::B);
        assert_eq!(Grade::of(&[warn(), warn(), warn()]), Grade::C);
        assert_eq!(Grade::of(&[pass(), case("F", &["RS-07"], Level::Must, violated())]), Grade::F);
        let undecided = case("E", &["RS-07"], Level::Must, Check::Undecided("?".into()));
        assert_eq!(Grade::of(&[undecided, case("F", &["RS-07"], Level::Must, violated())]), Grade::Withheld);
        let skipped = case("S", &["RS-07"], Level::Must, Check::NotApplicable("needs a token".into()));
        assert!(grade_line(&[pass(), skipped]).starts_with("grade A (1 case(s) judged, 1 skipped"));
    }

    #[test]
    fn each_requirement_takes_its_worst_case() {
        let cases = [
            case("RS-VAL-01", &["RS-07", "RS-09"], Level::Must, Check::Holds),
            case("RS-VAL-02", &["RS-07"], Level::Must, violated()),
            case("RS-VAL-05", &["RS-10"], Level::Must, Check::NotApplicable("needs a token".into())),
        ];
        let by = by_requirement(&cases);
        assert_eq!(by["RS-07"], (Verdict::Fail, vec!["RS-VAL-01", "RS-VAL-02"]));
        assert_eq!(by["RS-09"], (Verdict::Pass, vec!["RS-VAL-01"]));
        assert!(!by.contains_key("RS-10"), "only skipped cases name it");
        assert!(by_requirement_text(&cases).contains("RS-07   fail  RS-VAL-01, RS-VAL-02"));
    }
}
