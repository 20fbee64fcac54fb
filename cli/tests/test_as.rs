//! `mcp-authz test-as` with `--authorize-hook`: the authorization runs in an outside
//! command (here curl following the auto-approving reference AS's one redirect), the
//! scenarios that need the front channel or the login pages are skipped, the rest pass;
//! and a hook that fails makes the cases that need it `error`, saying why; so does a login
//! form with no `--login`, and an issuer where nothing answers.

use mcp_authz_live::stack::{Stack, StackOptions};
use serde_json::Value;
use std::process::Command;

async fn test_as(issuer: String, resource: String, hook: &'static str) -> (Option<i32>, Vec<Value>) {
    let args = vec!["--authorize-hook".into(), hook.into(), "--hook-timeout".into(), "10".into()];
    test_as_with(issuer, resource, args).await
}

async fn test_as_with(issuer: String, resource: String, args: Vec<String>) -> (Option<i32>, Vec<Value>) {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
            .args(["test-as", "--issuer", &issuer, "--resource", &resource, "--format", "json"])
            .args(&args)
            .output()
            .expect("mcp-authz runs")
    })
    .await
    .expect("joined");
    let cases: Value = serde_json::from_slice(&out.stdout).expect("a json report");
    (out.status.code(), cases.as_array().expect("cases").clone())
}

fn ids<'a>(cases: &'a [Value], verdict: &str) -> Vec<&'a str> {
    cases.iter().filter(|c| c["verdict"] == verdict).filter_map(|c| c["id"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorize_hook_completes_the_authorizations() {
    // The AS trusts the harness's grant issuers, whose keys both read from one state
    // folder (`serve --jwt-bearer-client`): the JWT bearer grant cases run too.
    let state = std::env::temp_dir().join(format!("mcp-authz-test-as-{}", std::process::id()));
    let client = ("enterprise-agent".to_string(), "enterprise-agent-secret".to_string());
    let issuers = mcp_authz_live::harness_key::grant_issuers(&state, client).expect("grant keys");
    let opts = StackOptions {
        as_port: 0,
        rs_port: 0,
        auto_approve: true,
        grant_issuers: Some(issuers),
        ..StackOptions::default()
    };
    let stack = Stack::start(&opts).await.expect("stack");
    let curl = r#"curl -s -o /dev/null -w '%{redirect_url}'"#;
    let args = vec![
        "--authorize-hook".into(),
        curl.into(),
        "--hook-timeout".into(),
        "10".into(),
        "--jwt-bearer-client=enterprise-agent:enterprise-agent-secret".into(),
        format!("--state-dir={}", state.display()),
    ];
    let (code, cases) = test_as_with(stack.issuer.clone(), stack.mcp_url.clone(), args).await;
    let _ = std::fs::remove_dir_all(&state);
    for id in ["AS-EMA-01", "AS-EMA-02", "AS-EMA-03", "AS-WIF-01"] {
        assert!(ids(&cases, "pass").contains(&id), "{id}: {cases:#?}");
    }
    let mut skipped = ids(&cases, "skip");
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "AS-CODE-01",
            "AS-CODE-02",
            "AS-CODE-04",
            "AS-CODE-08",
            "AS-FRONT-02",
            "AS-FRONT-03",
            "AS-REFRESH-07",
            "AS-REG-02"
        ],
        "{cases:#?}"
    );
    assert_eq!(ids(&cases, "pass").len(), cases.len() - skipped.len(), "{cases:#?}");
    assert_eq!(code, Some(0));

    let (code, cases) = test_as(stack.issuer.clone(), stack.mcp_url.clone(), "false").await;
    stack.shutdown().await;
    let errors = ids(&cases, "error");
    assert!(errors.contains(&"AS-CODE-05"), "{cases:#?}");
    let detail =
        cases.iter().find(|c| c["id"] == "AS-CODE-05").and_then(|c| c["detail"].as_str()).unwrap_or("");
    assert!(detail.contains("`false` failed"), "{detail}");
    assert_eq!(code, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_registered_confidential_client_authenticates_with_its_secret() {
    let opts = StackOptions { as_port: 0, rs_port: 0, auto_approve: true, ..StackOptions::default() };
    let stack = Stack::start(&opts).await.expect("stack");
    // The operator's client, registered beforehand (here by DCR) with a secret.
    let metadata = serde_json::json!({"redirect_uris": ["http://127.0.0.1:7777/callback"],
        "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"], "scope": "mcp:read mcp:write", "client_name": "operator's app"});
    let req = mcp_authz_reference::wire::post_json_request(&format!("{}/register", stack.issuer), &metadata)
        .unwrap();
    let r = mcp_authz_live::fetch::Fetcher::trusted().unwrap().fetch(req).await.expect("registered");
    let info: Value = serde_json::from_slice(r.body()).unwrap();
    let (id, secret) = (info["client_id"].as_str().unwrap(), info["client_secret"].as_str().unwrap());
    // `--name=value`: a random id or secret may begin with `-`, which would read as an option.
    let args = vec![format!("--client-id={id}"), format!("--client-secret={secret}")];
    let (code, cases) = test_as_with(stack.issuer.clone(), stack.mcp_url.clone(), args).await;
    stack.shutdown().await;
    let mut skipped = ids(&cases, "skip");
    skipped.sort();
    // No attacker app, no code aging, no second resource, no --login for the forms, no
    // --flood, a confidential app (RFC 9449 §5 binds public clients' refresh tokens
    // only: AS-DPOP-04), and no --jwt-bearer-client (AS-EMA-*, AS-WIF-01).
    let expected = [
        "AS-CODE-01",
        "AS-CODE-08",
        "AS-CODE-09",
        "AS-DPOP-04",
        "AS-EMA-01",
        "AS-EMA-02",
        "AS-EMA-03",
        "AS-FRONT-02",
        "AS-FRONT-03",
        "AS-REFRESH-05",
        "AS-REFRESH-07",
        "AS-REG-02",
        "AS-WIF-01",
    ];
    assert_eq!(skipped, expected, "{cases:#?}");
    assert_eq!(ids(&cases, "pass").len(), cases.len() - skipped.len(), "{cases:#?}");
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_form_without_login_and_an_absent_as_are_explained() {
    // The reference AS shows its login form; without --login the case says what to give.
    let opts = StackOptions { as_port: 0, rs_port: 0, auto_approve: false, ..StackOptions::default() };
    let stack = Stack::start(&opts).await.expect("stack");
    let args = ["--scenario", "AS-TOKEN-01"].map(String::from).to_vec();
    let (code, cases) = test_as_with(stack.issuer.clone(), stack.mcp_url.clone(), args).await;
    stack.shutdown().await;
    assert_eq!(ids(&cases, "error"), ["AS-TOKEN-01"], "{cases:#?}");
    let detail = cases[0]["detail"].as_str().unwrap_or("");
    assert!(detail.contains("login or consent form") && detail.contains("--login USER:PASSWORD"), "{detail}");
    assert_eq!(code, Some(2));

    // Nothing listens at the issuer: every case is `error`, and stderr says what to check.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let issuer = format!("http://127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["test-as", "--issuer", &issuer, "--scenario", "AS-TOKEN-01"])
        .output()
        .expect("mcp-authz runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot read the metadata of {issuer}")), "{stderr}");
    assert!(stderr.contains("is the authorization server running"), "{stderr}");
    assert_eq!(out.status.code(), Some(2));
}

/// No live credential in a report: a failing live run's JSON report shows no JWT and no
/// value of `code`, `refresh_token` or `access_token` (AS-CODE-05's detail quotes the
/// token response the second redemption got).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_report_holds_no_credential() {
    use mcp_authz_reference::defects::{Defect, Defects};
    let defects = Defects::of([Defect::CodeReusable]);
    let opts =
        StackOptions { as_port: 0, rs_port: 0, auto_approve: true, defects, ..StackOptions::default() };
    let stack = Stack::start(&opts).await.expect("stack");
    let (code, cases) = test_as_with(stack.issuer.clone(), stack.mcp_url.clone(), vec![]).await;
    stack.shutdown().await;
    assert_eq!(code, Some(1), "the reusable code is found: {cases:#?}");
    let report = serde_json::to_string(&cases).unwrap();
    assert!(report.contains(r#"access_token\":\"[redacted]"#), "a token response was quoted: {report}");
    assert_eq!(report.matches("eyJ").count(), report.matches("eyJ…[redacted]").count(), "a JWT left");
    for name in ["code", "refresh_token", "access_token"] {
        for quoted in [format!("{name}="), format!(r#"{name}\":\""#)] {
            for (i, _) in report.match_indices(&quoted) {
                let value = &report[i + quoted.len()..];
                let redacted = value.starts_with("[redacted]") || value.starts_with(['&', '"', '\\']);
                assert!(redacted, "{quoted}{}", &value[..value.len().min(40)]);
            }
        }
    }
}
