//! The AS scenarios over real HTTP: the reference authorization server served on
//! loopback (its login form on: the harness signs in through it), tested as a live AS.
//! Correct, every scenario passes (but code expiry, which a live run waits out only when
//! told the code lifetime, and the registration flood, run only when allowed); with each
//! AS defect, exactly the cases fail that fail in the simulator — the live path reports
//! the right cases.

mod common;

use mcp_authz_live::harness_key;
use mcp_authz_live::runs as live;
use mcp_authz_live::serve::system_now;
use mcp_authz_live::stack::{Stack, StackOptions};
use mcp_authz_live::target::{self, Limits};
use mcp_authz_live::targets::LiveAs;
use mcp_authz_reference::defects::{Defect, DefectRole, Defects};
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_scenarios::catalog;
use mcp_authz_scenarios::world::{Enterprise, IssuerKey};
use mcp_authz_sim::browser::Login;
use mcp_authz_sim::scenario::{CaseResult, Verdict};
use std::time::Duration;

/// Defects only the simulator shows when the code lifetime is not given and no flood
/// allowed: a live run then does not age codes, nor flood the AS (see
/// `code_expiry_is_judged_live_when_the_lifetime_is_given` and
/// `registration_flood_is_judged_live_when_allowed`).
const SIMULATOR_ONLY: &[Defect] = &[Defect::CodeNoExpiry, Defect::RegistrationUnthrottled];

/// Runs the AS scenarios against the reference AS with `defects`; with `code_ttl`, its
/// codes live that long and the harness is told so, and only AS-CODE-08 runs; with
/// `flood`, the harness may flood it, and only AS-REG-02 runs.
fn run_against(
    runtime: &tokio::runtime::Runtime,
    defects: Defects,
    code_ttl: Option<Duration>,
    flood: bool,
) -> Vec<CaseResult> {
    let code = code_ttl.unwrap_or(StackOptions::default().code_ttl);
    // The AS trusts the harness's grant issuers (`serve --jwt-bearer-client`), so that the
    // JWT bearer grant cases run too.
    let issuers = grant_issuers();
    let opts = StackOptions {
        as_port: 0,
        rs_port: 0,
        defects,
        code_ttl: code,
        grant_issuers: Some(issuers.clone()),
        ..StackOptions::default()
    };
    let stack = runtime.block_on(Stack::start(&opts)).unwrap();
    let target = LiveAs {
        issuer: stack.issuer.clone(),
        resource: stack.mcp_url.clone(),
        other_resource: Some(stack.mcp_url.replace("/mcp", "/downstream")),
        introspection_endpoint: None,
        resource_introspects: false,
        login: Some(Login { username: "alice".into(), password: "alice".into() }),
        authorize_hook: None,
        client: None,
        code_lifetime: code_ttl,
        flood,
        signs_in: true,
        connect: target::over_http(runtime.handle().clone(), Limits::default()).unwrap(),
        revision: None,
        grant_issuers: Some(issuers),
    };
    let only = |id: &str| match (code_ttl, flood) {
        (Some(_), _) => id == "AS-CODE-08",
        (None, true) => id == "AS-REG-02",
        (None, false) => true,
    };
    let scenarios: Vec<_> =
        catalog().into_iter().filter(|s| s.meta.id.starts_with("AS-") && only(s.meta.id)).collect();
    let run = live::test_authorization_server(&target, &scenarios, &system_now, |_| {});
    runtime.block_on(stack.shutdown());
    assert_eq!(run.setup_error, None);
    run.results
}

/// The harness's IdP and workload platform with fresh ES256 keys, and a client for the
/// JWT bearer grant.
fn grant_issuers() -> Enterprise {
    let key = || IssuerKey::of(&harness_key::fresh(Algorithm::ES256).unwrap()).unwrap();
    Enterprise {
        idp: harness_key::HARNESS_IDP.into(),
        idp_key: key(),
        workload_issuer: harness_key::HARNESS_WORKLOAD_ISSUER.into(),
        workload_key: key(),
        client: ("enterprise-agent".into(), "enterprise-agent-secret".into()),
    }
}

#[test]
fn reference_as_over_http_passes_and_each_defect_is_caught() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let results = run_against(&runtime, Defects::none(), None, false);
    let waits = ["AS-CODE-08", "AS-REG-02"];
    let bad: Vec<String> = results
        .iter()
        .filter(|r| {
            !(r.verdict == Verdict::Pass || (waits.contains(&r.meta.id) && r.verdict == Verdict::Skip))
        })
        .map(|r| format!("{} {}: {}\n  {}", r.meta.id, r.verdict, r.detail, r.evidence.join("\n  ")))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));

    // The right cases: those that fail in the simulator against the same defect.
    let scenarios: Vec<_> = catalog().into_iter().filter(|s| s.meta.id.starts_with("AS-")).collect();
    common::assert_live_judges_as_the_simulator(
        DefectRole::AuthorizationServer,
        &scenarios,
        SIMULATOR_ONLY,
        &[],
        |d| run_against(&runtime, d, None, false),
    );
}

/// Told the code lifetime (`test-as --code-lifetime`), a live run waits it out: the
/// reference AS, its codes living 2 s here, passes AS-CODE-08, and fails it with
/// `code-no-expiry`.
#[test]
fn code_expiry_is_judged_live_when_the_lifetime_is_given() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ttl = Some(Duration::from_secs(2));
    for (defects, expected) in
        [(Defects::none(), Verdict::Pass), (Defects::of([Defect::CodeNoExpiry]), Verdict::Fail)]
    {
        let results = run_against(&runtime, defects, ttl, false);
        assert_eq!(results.len(), 1);
        let r = &results[0];
        assert_eq!(r.verdict, expected, "{}: {}\n  {}", r.meta.id, r.detail, r.evidence.join("\n  "));
    }
}

/// Allowed to flood it (`test-as --flood`), a live run sends AS-REG-02's burst of
/// registrations: the reference AS throttles it (429), and with `registration-unthrottled`
/// registers them all.
#[test]
fn registration_flood_is_judged_live_when_allowed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (defects, expected) in
        [(Defects::none(), Verdict::Pass), (Defects::of([Defect::RegistrationUnthrottled]), Verdict::Warn)]
    {
        let results = run_against(&runtime, defects, None, true);
        assert_eq!(results.len(), 1);
        let r = &results[0];
        assert_eq!(r.verdict, expected, "{}: {}\n  {}", r.meta.id, r.detail, r.evidence.join("\n  "));
    }
}

/// With `--resource-introspects`, revocation is judged by what the resource server
/// shows: the stack's MCP server checks every token at the AS (`serve --introspect`), so
/// a revoked access token gets 401 there. AS-CODE-06 passes against the reference AS and
/// fails with `no-code-reuse-revocation`, and its evidence shows the resource server's
/// answers.
#[test]
fn revocation_is_judged_at_a_resource_server_that_introspects() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let run = |defects: Defects| {
        let opts =
            StackOptions { as_port: 0, rs_port: 0, defects, introspect: true, ..StackOptions::default() };
        let stack = runtime.block_on(Stack::start(&opts)).unwrap();
        let target = LiveAs {
            issuer: stack.issuer.clone(),
            resource: stack.mcp_url.clone(),
            other_resource: None,
            introspection_endpoint: None,
            resource_introspects: true,
            login: Some(Login { username: "alice".into(), password: "alice".into() }),
            authorize_hook: None,
            client: None,
            code_lifetime: None,
            flood: false,
            signs_in: true,
            connect: target::over_http(runtime.handle().clone(), Limits::default()).unwrap(),
            revision: None,
            grant_issuers: None,
        };
        let scenarios: Vec<_> = catalog().into_iter().filter(|s| s.meta.id == "AS-CODE-06").collect();
        let run = live::test_authorization_server(&target, &scenarios, &system_now, |_| {});
        runtime.block_on(stack.shutdown());
        assert_eq!(run.setup_error, None);
        run.results.into_iter().next().expect("AS-CODE-06")
    };
    let honest = run(Defects::none());
    assert_eq!(honest.verdict, Verdict::Pass, "{}\n{}", honest.detail, honest.evidence.join("\n"));
    let by_resource = |r: &CaseResult| r.evidence.iter().any(|l| l.contains("answers the token with HTTP"));
    assert!(by_resource(&honest), "{}", honest.evidence.join("\n"));
    let lenient = run(Defects::of([Defect::NoCodeReuseRevocation]));
    assert_eq!(lenient.verdict, Verdict::Warn, "{}\n{}", lenient.detail, lenient.evidence.join("\n"));
    assert!(
        lenient.evidence.iter().any(|l| l.contains("answers the token with HTTP 200")),
        "{}",
        lenient.evidence.join("\n")
    );
}
