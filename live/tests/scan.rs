//! `scan` against the reference stack over loopback HTTP: nothing fails on the correct
//! roles, and every MCP server defect a black box can see fails (or warns) the case that
//! sees it. The defects not listed here need a token the server accepts: their cases are
//! skipped by a scan and run by `test-server`.

use mcp_authz_live::runs::{LiveRun, Progress};
use mcp_authz_live::scan::{Scan, scan};
use mcp_authz_live::serve::system_now;
use mcp_authz_live::stack::{Stack, StackOptions};
use mcp_authz_live::target::{self, Limits};
use mcp_authz_reference::defects::{Defect, DefectRole, Defects};
use mcp_authz_scenarios::catalog;
use mcp_authz_sim::scenario::{Role, Verdict};

/// The MCP server defects a scan sees, and the cases that see each.
const SEEN_FROM_OUTSIDE: &[(&str, &[&str])] = &[
    ("accept-alg-none", &["RS-VAL-02"]),
    ("hmac-key-confusion", &["RS-VAL-03"]),
    ("no-signature-check", &["RS-VAL-02", "RS-VAL-08"]),
    ("500-on-bad-token", &["RS-VAL-01"]),
    ("prm-wrong-resource", &["RS-PRM-01", "RS-CHAL-01"]),
    ("challenge-without-scope", &["RS-CHAL-02"]),
    ("challenge-without-resource-metadata", &["RS-CHAL-01"]),
    ("offline-access-advertised", &["RS-CHAL-03"]),
    ("challenge-without-error-code", &["RS-CHAL-04"]),
];

async fn scanned(defects: Defects) -> LiveRun {
    let opts = StackOptions { as_port: 0, rs_port: 0, defects, ..StackOptions::default() };
    let stack = Stack::start(&opts).await.expect("stack starts");
    let url = stack.mcp_url.clone();
    let handle = tokio::runtime::Handle::current();
    let scenarios: Vec<_> = catalog()
        .into_iter()
        .filter(|s| s.meta.role == Role::McpServer || s.meta.id == "AS-META-01")
        .collect();
    let run = tokio::task::spawn_blocking(move || {
        let connect = target::over_http(handle, Limits::default()).expect("connects");
        let scan_of = Scan { url: &url, connect, revision: None, active: false };
        scan(&scan_of, &scenarios, &system_now, |_: Progress<'_>| {})
    })
    .await
    .expect("the scan runs");
    stack.shutdown().await;
    run
}

/// The IDs of the cases of `run` with `verdicts`.
fn with(run: &LiveRun, verdicts: &[Verdict]) -> Vec<&'static str> {
    run.results.iter().filter(|r| verdicts.contains(&r.verdict)).map(|r| r.meta.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_stack_scans_clean_and_the_cases_needing_tokens_say_so() {
    let run = scanned(Defects::none()).await;
    assert_eq!(run.setup_error, None);
    assert!(with(&run, &[Verdict::Fail, Verdict::Warn, Verdict::Error]).is_empty(), "{:#?}", run.results);
    let passed = with(&run, &[Verdict::Pass]);
    for id in ["RS-PRM-01", "RS-CHAL-01", "RS-VAL-01", "RS-VAL-02", "RS-VAL-03", "RS-VAL-08", "AS-META-01"] {
        assert!(passed.contains(&id), "{id} should run and pass from outside: {passed:?}");
    }
    let needs_token = run.results.iter().find(|r| r.meta.id == "RS-QUERY-01").expect("RS-QUERY-01 ran");
    assert_eq!(needs_token.verdict, Verdict::Skip);
    assert!(needs_token.detail.contains("--token-command"), "{}", needs_token.detail);
    let forged = run.results.iter().find(|r| r.meta.id == "RS-VAL-05").expect("RS-VAL-05 ran");
    assert!(forged.detail.contains("token without exp"), "{}", forged.detail);
    assert!(run.notes.iter().any(|n| n.contains("published key")), "{:?}", run.notes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_defect_a_black_box_can_see_fails_its_case_and_no_other_finds_a_false_one() {
    let mut missed = Vec::new();
    for defect in Defect::ALL.iter().filter(|d| d.role() == DefectRole::McpServer) {
        let run = scanned(Defects::of([*defect])).await;
        let found = with(&run, &[Verdict::Fail, Verdict::Warn]);
        assert!(with(&run, &[Verdict::Error]).is_empty(), "{defect}: {:#?}", run.results);
        match SEEN_FROM_OUTSIDE.iter().find(|(name, _)| *name == defect.name()) {
            Some((_, cases)) => {
                if !cases.iter().all(|id| found.contains(id)) {
                    missed.push(format!("{defect}: expected {cases:?} to fail, found {found:?}"));
                }
            }
            None => assert!(
                found.is_empty(),
                "{defect} is not listed as seen from outside, yet {found:?} found it: list it"
            ),
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}
