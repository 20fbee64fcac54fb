//! The client cases of the client credentials, enterprise-managed authorization and
//! workload identity federation extensions (CL-CC-01, CL-EMA-01/02, CL-WIF-01): each
//! passes against the reference client, and each of their client defects fails its case
//! and no other case of the catalog.

use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_scenarios::{catalog, run_case};
use mcp_authz_sim::scenario::Verdict;
use std::collections::BTreeSet;

/// Each client defect of the extensions' grants, and the one case it fails.
const KILLS: &[(Defect, &str)] = &[
    (Defect::ClientCcUnauthenticated, "CL-CC-01"),
    (Defect::ClientCcAssertionWrongAudience, "CL-CC-01"),
    (Defect::ClientEmaAudienceResource, "CL-EMA-01"),
    (Defect::ClientEmaWrongGrant, "CL-EMA-02"),
    (Defect::ClientWifNoResource, "CL-WIF-01"),
];

const CASES: [&str; 4] = ["CL-CC-01", "CL-EMA-01", "CL-EMA-02", "CL-WIF-01"];

#[test]
fn the_cases_pass_against_the_reference_client() {
    let cases: Vec<_> = catalog().into_iter().filter(|s| CASES.contains(&s.meta.id)).collect();
    assert_eq!(cases.len(), CASES.len());
    for s in &cases {
        let r = run_case(s, 1, &Defects::none());
        assert_eq!(r.verdict, Verdict::Pass, "{}: {}\n  {}", s.meta.id, r.detail, r.evidence.join("\n  "));
    }
}

#[test]
fn each_defect_fails_its_case_and_no_other() {
    let scenarios = catalog();
    for (defect, case) in KILLS {
        let failed: BTreeSet<&str> = scenarios
            .iter()
            .filter(|s| {
                matches!(run_case(s, 1, &Defects::of([*defect])).verdict, Verdict::Fail | Verdict::Warn)
            })
            .map(|s| s.meta.id)
            .collect();
        assert_eq!(failed, BTreeSet::from([*case]), "{defect}");
        let r = run_case(
            scenarios.iter().find(|s| s.meta.id == *case).expect("case"),
            1,
            &Defects::of([*defect]),
        );
        assert_eq!(r.verdict, Verdict::Fail, "{defect}: {}", r.detail);
    }
}

/// The baseline `resource` defect fails the machine grants' cases too (and CL-EMA-01 not:
/// `resource` is OPTIONAL in the stable token exchange).
#[test]
fn no_resource_fails_the_machine_grants() {
    let defects = Defects::of([Defect::ClientNoResourceParam]);
    let failed: BTreeSet<&str> = catalog()
        .iter()
        .filter(|s| CASES.contains(&s.meta.id))
        .filter(|s| run_case(s, 1, &defects).verdict == Verdict::Fail)
        .map(|s| s.meta.id)
        .collect();
    assert_eq!(failed, BTreeSet::from(["CL-CC-01", "CL-WIF-01"]));
}

/// What a failing case says: CL-EMA-01 names the audience sent and the issuer expected.
#[test]
fn the_audience_finding_names_both() {
    let case = catalog().into_iter().find(|s| s.meta.id == "CL-EMA-01").expect("CL-EMA-01");
    let r = run_case(&case, 1, &Defects::of([Defect::ClientEmaAudienceResource]));
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.detail.contains("https://as.example") && r.detail.contains("https://mcp.example/mcp"),
        "{}",
        r.detail
    );
}
