//! The JWT bearer grant cases (enterprise-managed authorization AS-EMA-*, workload
//! identity federation AS-WIF-01): each passes against the correct reference AS, and each
//! of their defects fails its case and no other case of the catalog.

use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_scenarios::{catalog, run_case};
use mcp_authz_sim::scenario::Verdict;
use std::collections::BTreeSet;

/// Each defect of the JWT bearer grant, and the one case it fails.
const KILLS: &[(Defect, &str)] = &[
    (Defect::IdJagSignatureUnchecked, "AS-EMA-01"),
    (Defect::IdJagTypUnchecked, "AS-EMA-01"),
    (Defect::IdJagClaimsUnchecked, "AS-EMA-01"),
    (Defect::IdJagAudienceUnchecked, "AS-EMA-01"),
    (Defect::IdJagResourceUnchecked, "AS-EMA-01"),
    (Defect::IdJagClientUnchecked, "AS-EMA-01"),
    (Defect::IdJagExpiryUnchecked, "AS-EMA-01"),
    (Defect::IdJagReplayAllowed, "AS-EMA-02"),
    (Defect::IdJagScopeNotIntersected, "AS-EMA-03"),
    (Defect::IdJagTokenAudienceIssuer, "AS-EMA-03"),
    (Defect::WorkloadAudienceUnchecked, "AS-WIF-01"),
    (Defect::WorkloadExpiryUnchecked, "AS-WIF-01"),
    (Defect::JwtBearerNotAdvertised, "AS-WIF-01"),
];

const CASES: [&str; 4] = ["AS-EMA-01", "AS-EMA-02", "AS-EMA-03", "AS-WIF-01"];

#[test]
fn the_cases_pass_against_the_reference_as() {
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
        let mut failed = BTreeSet::new();
        for s in &scenarios {
            let verdict = run_case(s, 1, &Defects::of([*defect])).verdict;
            if matches!(verdict, Verdict::Fail | Verdict::Warn) {
                // The cases are MUSTs: a defect fails them, never only warns.
                assert_eq!(verdict, Verdict::Fail, "{defect}: {}", s.meta.id);
                failed.insert(s.meta.id);
            }
        }
        assert_eq!(failed, BTreeSet::from([*case]), "{defect}");
    }
}
