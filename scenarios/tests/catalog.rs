//! The catalog's own guarantees: every scenario passes against the correct reference
//! roles; the same seed gives a byte-identical trace; every defect is caught by some
//! scenario and every scenario catches some defect (so no check is one that cannot
//! fail); IDs are unique and name known requirements.

use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_scenarios::{catalog, run_case, run_traced};
use mcp_authz_sim::scenario::Verdict;
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn every_scenario_passes_against_the_reference_roles() {
    for seed in [1, 2] {
        let failures: Vec<String> = catalog()
            .iter()
            .map(|s| run_case(s, seed, &Defects::none()))
            .filter(|r| r.verdict != Verdict::Pass)
            .map(|r| format!("{} ({}): {}\n  {}", r.meta.id, r.verdict, r.detail, r.evidence.join("\n  ")))
            .collect();
        assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
    }
}

#[test]
fn same_seed_same_trace() {
    for s in catalog() {
        let (_, a) = run_traced(&s, 42, &Defects::none());
        let (_, b) = run_traced(&s, 42, &Defects::none());
        assert_eq!(a, b, "{} is not deterministic", s.meta.id);
    }
}

#[test]
fn defect_matrix_every_defect_caught_and_every_scenario_can_fail() {
    let scenarios = catalog();
    let mut caught_by: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut uncaught = Vec::new();
    for &d in Defect::ALL {
        let defects = Defects::of([d]);
        let mut caught = false;
        for s in &scenarios {
            let r = run_case(s, 1, &defects);
            if matches!(r.verdict, Verdict::Fail | Verdict::Warn) {
                caught = true;
                caught_by.entry(s.meta.id).or_default().insert(d.name());
            }
        }
        if !caught {
            uncaught.push(d.name());
        }
    }
    let never_fail: Vec<&str> =
        scenarios.iter().map(|s| s.meta.id).filter(|id| !caught_by.contains_key(id)).collect();
    assert!(uncaught.is_empty(), "defects no scenario catches: {uncaught:?}");
    assert!(never_fail.is_empty(), "scenarios no defect makes fail: {never_fail:?}");
}

#[test]
fn ids_are_unique_and_requirements_known() {
    let requirements = include_str!("../requirements.md");
    let mut seen = BTreeSet::new();
    for s in catalog() {
        assert!(seen.insert(s.meta.id), "duplicate id {}", s.meta.id);
        assert!(!s.meta.requirements.is_empty(), "{} names no requirement", s.meta.id);
        for r in s.meta.requirements {
            assert!(requirements.contains(&format!("| {r} |")), "{}: unknown requirement {r}", s.meta.id);
        }
    }
}

#[test]
fn each_revision_grades_the_cases_that_apply_to_it() {
    use mcp_authz_scenarios::run_traced_at;
    use mcp_authz_sim::scenario::Revision;
    for revision in Revision::ALL {
        for s in catalog() {
            let (r, _) = run_traced_at(&s, 1, &Defects::none(), Some(revision));
            let expected = if s.meta.applies_to(revision) { Verdict::Pass } else { Verdict::Skip };
            assert_eq!(r.verdict, expected, "{} graded by {revision}: {}", s.meta.id, r.detail);
        }
    }
    // The wire of 2026-07-28 applies to it alone; sessions to the revisions that had them.
    let wire = catalog().into_iter().find(|s| s.meta.id == "RS-WIRE-01").expect("RS-WIRE-01");
    assert!(wire.meta.applies_to(Revision::R2026_07_28) && !wire.meta.applies_to(Revision::R2025_11_25));
    let session = catalog().into_iter().find(|s| s.meta.id == "RS-SESS-01").expect("RS-SESS-01");
    assert!(
        session.meta.applies_to(Revision::R2025_11_25) && !session.meta.applies_to(Revision::R2026_07_28)
    );
    // A defect of the 2026-07-28 wire fails its case under that revision and is not
    // graded under an older one.
    let defects = Defects::of([Defect::ModernHeadersUnchecked]);
    assert_eq!(run_traced_at(&wire, 1, &defects, Some(Revision::R2026_07_28)).0.verdict, Verdict::Fail);
    assert_eq!(run_traced_at(&wire, 1, &defects, Some(Revision::R2025_11_25)).0.verdict, Verdict::Skip);
}

/// Graded by 2026-07-28 the MCP server scenarios speak its stateless wire (no
/// `initialize`, no session): each server defect fails the same scenarios as over the
/// 2025-11-25 wire (those that apply to both revisions), except a defect of sessions.
#[test]
fn mcp_server_scenarios_catch_the_same_defects_over_the_2026_07_28_wire() {
    use mcp_authz_reference::defects::DefectRole;
    use mcp_authz_scenarios::run_traced_at;
    use mcp_authz_sim::scenario::{Revision, Role};
    // The scenarios that apply to both revisions: each is judged over both wires.
    let both = |s: &mcp_authz_scenarios::Scenario| {
        s.meta.applies_to(Revision::R2025_11_25) && s.meta.applies_to(Revision::R2026_07_28)
    };
    let scenarios: Vec<_> =
        catalog().into_iter().filter(|s| s.meta.role == Role::McpServer && both(s)).collect();
    let mut differ = Vec::new();
    // Scope checked when a session opens only: a stateless request opens none, so the
    // reference server checks every one of them. Access by `cacheScope`: legacy results
    // carry none.
    let legacy_only = [Defect::ScopeCheckAtConnectOnly, Defect::PublicListGrantsAccess];
    for &d in Defect::ALL.iter().filter(|d| d.role() == DefectRole::McpServer && !legacy_only.contains(d)) {
        let defects = Defects::of([d]);
        let failing = |revision: Revision| -> BTreeSet<&str> {
            scenarios
                .iter()
                .filter(|s| {
                    let v = run_traced_at(s, 1, &defects, Some(revision)).0.verdict;
                    matches!(v, Verdict::Fail | Verdict::Warn)
                })
                .map(|s| s.meta.id)
                .collect()
        };
        let (legacy, modern) = (failing(Revision::R2025_11_25), failing(Revision::R2026_07_28));
        if legacy != modern {
            differ.push(format!("{}: 2025-11-25 {legacy:?}, 2026-07-28 {modern:?}", d.name()));
        }
    }
    assert!(differ.is_empty(), "defects caught differently over the two wires:\n{}", differ.join("\n"));
}

/// A scenario whose every requirement exists only in MCP 2026-07-28 (its row in
/// `requirements.md` ends in `26-07` or `2026`) applies from 2026-07-28 on: graded by an
/// older revision it would hold a server or client to a sentence that revision lacks.
#[test]
fn scenarios_of_2026_07_28_requirements_apply_from_2026_07_28() {
    use mcp_authz_sim::scenario::Revision;
    let requirements = include_str!("../requirements.md");
    let only_2026 = |id: &str| {
        requirements.lines().filter(|l| l.starts_with(&format!("| {id} |"))).any(|l| {
            let last = l.trim().trim_end_matches('|').rsplit('|').next().unwrap_or("").trim();
            matches!(last, "26-07" | "2026" | "2026-07-28")
        })
    };
    let wrong: Vec<&str> = catalog()
        .into_iter()
        .filter(|s| s.meta.requirements.iter().all(|r| only_2026(r)))
        .filter(|s| s.meta.revisions.since != Revision::R2026_07_28)
        .map(|s| s.meta.id)
        .collect();
    assert!(wrong.is_empty(), "scenarios of 2026-07-28 requirements graded by older revisions: {wrong:?}");
}

/// A server that refuses every bad token with 401 but names no `error` in its challenge
/// breaks one SHOULD (RFC 6750 §3.1, graded by RS-CHAL-04), not the MUST of every
/// validation case: the refusal is what those judge.
#[test]
fn a_refusal_without_an_error_code_is_one_should_finding() {
    let defects = Defects::of([Defect::ChallengeWithoutErrorCode]);
    let findings: Vec<(&str, Verdict)> = catalog()
        .iter()
        .map(|s| run_case(s, 1, &defects))
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| (r.meta.id, r.verdict))
        .collect();
    assert_eq!(findings, [("RS-CHAL-04", Verdict::Warn)]);
}

/// A case runs every variant and reports each: with a defect that breaks two variants of
/// CL-DISC-07, the verdict names both and the evidence has a line per variant.
#[test]
fn every_variant_runs_and_is_reported() {
    let scenario = catalog().into_iter().find(|s| s.meta.id == "CL-DISC-07").expect("CL-DISC-07");
    let r = run_case(&scenario, 1, &Defects::of([Defect::ClientPrmResourcePrefix]));
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.detail.starts_with("2 variants: "), "{}", r.detail);
    let reported: Vec<&String> = r.evidence.iter().filter(|l| l.contains("# variant ")).collect();
    assert_eq!(reported.len(), 2, "{reported:#?}");
    assert!(reported.iter().all(|l| l.contains(": violated: ")), "{reported:#?}");
    let honest = run_case(&scenario, 1, &Defects::none());
    let held = honest.evidence.iter().filter(|l| l.contains("# variant ") && l.ends_with(": holds")).count();
    assert_eq!(held, 2, "{:#?}", honest.evidence);
}
