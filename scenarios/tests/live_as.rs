//! The AS scenarios over real HTTP: the reference authorization server served on
//! loopback (its login form on: the harness signs in through it), tested as a live AS.
//! Correct, every scenario passes (but code expiry, which a live run cannot wait out);
//! with each AS defect, some scenario fails — the live path can fail, not just pass.

use mcp_authz_harness::browser::Login;
use mcp_authz_harness::scenario::{CaseResult, Verdict};
use mcp_authz_harness::serve::system_now;
use mcp_authz_harness::stack::{Stack, StackOptions};
use mcp_authz_harness::target::{self, Limits};
use mcp_authz_reference::defects::{Defect, DefectRole, Defects};
use mcp_authz_scenarios::catalog;
use mcp_authz_scenarios::live;
use mcp_authz_scenarios::world::LiveAs;

/// Defects only the simulator can show: a live run cannot age a code by ten minutes.
const SIMULATOR_ONLY: &[Defect] = &[Defect::CodeNoExpiry];

fn run_against(runtime: &tokio::runtime::Runtime, defects: Defects) -> Vec<CaseResult> {
    let opts = StackOptions { as_port: 0, rs_port: 0, defects, ..StackOptions::default() };
    let stack = runtime.block_on(Stack::start(&opts)).unwrap();
    let target = LiveAs {
        issuer: stack.issuer.clone(),
        resource: stack.mcp_url.clone(),
        other_resource: Some(stack.mcp_url.replace("/mcp", "/downstream")),
        login: Some(Login { username: "alice".into(), password: "alice".into() }),
        connect: target::over_http(runtime.handle().clone(), Limits::default()).unwrap(),
    };
    let scenarios: Vec<_> = catalog().into_iter().filter(|s| s.meta.id.starts_with("AS-")).collect();
    let run = live::test_authorization_server(&target, &scenarios, &system_now, |_| {});
    runtime.block_on(stack.shutdown());
    assert_eq!(run.setup_error, None);
    run.results
}

#[test]
fn reference_as_over_http_passes_and_each_defect_is_caught() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let results = run_against(&runtime, Defects::none());
    let bad: Vec<String> = results
        .iter()
        .filter(|r| {
            !(r.verdict == Verdict::Pass || (r.meta.id == "AS-CODE-08" && r.verdict == Verdict::Skip))
        })
        .map(|r| format!("{} {}: {}\n  {}", r.meta.id, r.verdict, r.detail, r.evidence.join("\n  ")))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));

    let mut missed = Vec::new();
    for &d in Defect::ALL.iter().filter(|d| d.role() == DefectRole::AuthorizationServer) {
        let results = run_against(&runtime, Defects::of([d]));
        let caught: Vec<&str> = results
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Warn))
            .map(|r| r.meta.id)
            .collect();
        if caught.is_empty() != SIMULATOR_ONLY.contains(&d) {
            missed.push(format!("{}: caught by {caught:?}", d.name()));
        }
    }
    assert!(missed.is_empty(), "defects the live path misjudges:\n{}", missed.join("\n"));
}
