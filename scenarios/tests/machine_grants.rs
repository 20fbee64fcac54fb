//! The cases of the machine grants — client credentials, enterprise-managed authorization
//! and workload identity federation — at the authorization server (AS-EMA-*, AS-WIF-01,
//! the JWT bearer grant) and at the client (CL-CC-01, CL-EMA-01/02, CL-WIF-01): each
//! passes against the reference role, and each of their defects fails its case — a
//! failure, never only a warning: the cases are MUSTs — and no other case of the catalog.

use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_scenarios::{catalog, run_case};
use mcp_authz_sim::scenario::Verdict;
use std::collections::BTreeSet;

/// The authorization server's cases, each defect of the JWT bearer grant and the one case
/// it fails.
const AS_CASES: [&str; 4] = ["AS-EMA-01", "AS-EMA-02", "AS-EMA-03", "AS-WIF-01"];
const AS_KILLS: &[(Defect, &str)] = &[
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

/// The client's cases, each client defect of the grants and the one case it fails.
const CLIENT_CASES: [&str; 4] = ["CL-CC-01", "CL-EMA-01", "CL-EMA-02", "CL-WIF-01"];
const CLIENT_KILLS: &[(Defect, &str)] = &[
    (Defect::ClientCcUnauthenticated, "CL-CC-01"),
    (Defect::ClientCcAssertionWrongAudience, "CL-CC-01"),
    (Defect::ClientEmaAudienceResource, "CL-EMA-01"),
    (Defect::ClientEmaWrongGrant, "CL-EMA-02"),
    (Defect::ClientWifNoResource, "CL-WIF-01"),
];

fn pass_against_the_reference(ids: &[&str]) {
    let cases: Vec<_> = catalog().into_iter().filter(|s| ids.contains(&s.meta.id)).collect();
    assert_eq!(cases.len(), ids.len());
    for s in &cases {
        let r = run_case(s, 1, &Defects::none());
        assert_eq!(r.verdict, Verdict::Pass, "{}: {}\n  {}", s.meta.id, r.detail, r.evidence.join("\n  "));
    }
}

fn each_fails_its_case_and_no_other(kills: &[(Defect, &str)]) {
    let scenarios = catalog();
    for (defect, case) in kills {
        let mut failed = BTreeSet::new();
        for s in &scenarios {
            let verdict = run_case(s, 1, &Defects::of([*defect])).verdict;
            if matches!(verdict, Verdict::Fail | Verdict::Warn) {
                assert_eq!(verdict, Verdict::Fail, "{defect}: {}", s.meta.id);
                failed.insert(s.meta.id);
            }
        }
        assert_eq!(failed, BTreeSet::from([*case]), "{defect}");
    }
}

#[test]
fn the_as_cases_pass_against_the_reference_as() {
    pass_against_the_reference(&AS_CASES);
}

#[test]
fn each_as_defect_fails_its_case_and_no_other() {
    each_fails_its_case_and_no_other(AS_KILLS);
}

#[test]
fn the_client_cases_pass_against_the_reference_client() {
    pass_against_the_reference(&CLIENT_CASES);
}

#[test]
fn each_client_defect_fails_its_case_and_no_other() {
    each_fails_its_case_and_no_other(CLIENT_KILLS);
}

/// The baseline `resource` defect fails the machine grants' client cases too (and
/// CL-EMA-01 not: `resource` is OPTIONAL in the stable token exchange).
#[test]
fn no_resource_fails_the_machine_grants() {
    let defects = Defects::of([Defect::ClientNoResourceParam]);
    let failed: BTreeSet<&str> = catalog()
        .iter()
        .filter(|s| CLIENT_CASES.contains(&s.meta.id))
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
