//! `scan` against the reference stack over loopback HTTP: nothing fails on the correct
//! roles, and every MCP server defect a black box can see fails (or warns) the case that
//! sees it. The defects not listed here need a token the server accepts: their cases are
//! skipped by a scan and run by `test-server`.

use mcp_authz_live::runs::{LiveRun, Progress};
use mcp_authz_live::scan::{ACTIVE_AS_CASES, PASSIVE_AS_CASES, Scan, scan};
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

/// The authorization server defects `scan --active` sees (AS-META-01 and AS-JWKS-01 without
/// --active too) on an AS that approves without a sign-in (one that asks for a sign-in first shows nothing more from outside: its
/// authorization cases are skipped), and the cases that see each.
const SEEN_WITH_ACTIVE: &[(&str, &[&str])] = &[
    ("accept-pkce-plain", &["AS-CODE-03"]),
    ("no-pkce-required", &["AS-CODE-02"]),
    ("redirect-on-invalid-client", &["AS-REDIR-02"]),
    ("password-grant", &["AS-TOKEN-03"]),
    ("metadata-issuer-mismatch", &["AS-META-01"]),
    ("metadata-without-s256", &["AS-META-01"]),
    ("registration-unvalidated", &["AS-REG-01"]),
    ("jwks-private-key", &["AS-JWKS-01"]),
    ("client-credentials-metadata-incomplete", &["AS-CC-01"]),
    ("assertion-signature-unchecked", &["AS-CC-02"]),
    ("assertion-audience-unchecked", &["AS-CC-02"]),
    ("assertion-expiry-unchecked", &["AS-CC-02"]),
];

async fn scanned(defects: Defects) -> LiveRun {
    scan_stack(defects, false, false).await
}

/// A scan with `--active` of the reference stack with `defects`, its AS approving without
/// a sign-in.
async fn scanned_with(defects: Defects, active: bool) -> LiveRun {
    scan_stack(defects, active, active).await
}

/// A scan with `--active` of the reference stack with `defects`, its AS approving without
/// a sign-in when `auto_approve`.
async fn scanned_as(defects: Defects, auto_approve: bool) -> LiveRun {
    scan_stack(defects, true, auto_approve).await
}

async fn scan_stack(defects: Defects, active: bool, auto_approve: bool) -> LiveRun {
    let opts = StackOptions { as_port: 0, rs_port: 0, auto_approve, defects, ..StackOptions::default() };
    let stack = Stack::start(&opts).await.expect("stack starts");
    let url = stack.mcp_url.clone();
    let handle = tokio::runtime::Handle::current();
    let scanned_as_cases = [PASSIVE_AS_CASES, ACTIVE_AS_CASES].concat();
    let scenarios: Vec<_> = catalog()
        .into_iter()
        .filter(|s| s.meta.role == Role::McpServer || scanned_as_cases.contains(&s.meta.id))
        .collect();
    let run = tokio::task::spawn_blocking(move || {
        let connect = target::over_http(handle, Limits::default()).expect("connects");
        let scan_of = Scan { url: &url, connect, revision: None, active };
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_active_the_authorization_server_defects_seen_before_a_sign_in_fail_their_case() {
    let clean = scanned_with(Defects::none(), true).await;
    let ran: Vec<&str> = with(&clean, &[Verdict::Pass]);
    assert!(ACTIVE_AS_CASES.iter().all(|id| ran.contains(id)), "{:#?}", clean.results);
    assert!(with(&clean, &[Verdict::Fail, Verdict::Warn, Verdict::Error]).is_empty(), "{:#?}", clean.results);
    let mut missed = Vec::new();
    for defect in Defect::ALL.iter().filter(|d| d.role() == DefectRole::AuthorizationServer) {
        let run = scanned_with(Defects::of([*defect]), true).await;
        let found = with(&run, &[Verdict::Fail, Verdict::Warn]);
        assert!(with(&run, &[Verdict::Error]).is_empty(), "{defect}: {:#?}", run.results);
        match SEEN_WITH_ACTIVE.iter().find(|(name, _)| *name == defect.name()) {
            Some((_, cases)) if !cases.iter().all(|id| found.contains(id)) => {
                missed.push(format!("{defect}: expected {cases:?} to fail, found {found:?}"))
            }
            Some(_) => {}
            None => assert!(
                found.is_empty(),
                "{defect} is not listed as seen by --active, yet {found:?} found it"
            ),
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_server_that_asks_for_a_sign_in_first_is_not_judged_past_it() {
    // The reference AS refuses `plain` before its login form: AS-CODE-03 passes. With
    // accept-pkce-plain it shows the form, and the case cannot see what follows a sign-in.
    let verdict =
        |run: &LiveRun| run.results.iter().find(|r| r.meta.id == "AS-CODE-03").cloned().expect("ran");
    let clean = verdict(&scanned_as(Defects::none(), false).await);
    assert_eq!(clean.verdict, Verdict::Pass, "{clean:#?}");
    let defective = verdict(&scanned_as(Defects::of([Defect::AcceptPkcePlain]), false).await);
    assert_eq!(defective.verdict, Verdict::Skip, "{defective:#?}");
    assert!(defective.detail.contains("needs a sign-in"), "{}", defective.detail);
}
