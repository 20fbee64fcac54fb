//! `mcp-authz test-server --token-command` against the reference stack (`mcp-authz
//! serve --auto-approve`), whose own authorization server the command gets real tokens
//! from with `mcp-authz client --print-token`; the harness's AS is not involved (the
//! stack trusts no other issuer).

use mcp_authz_live::stack::{Stack, StackOptions};
use mcp_authz_reference::defects::{Defect, Defects};
use serde_json::Value;
use std::process::Command;

/// The reference stack, trusting its own AS alone, which also issues tokens for a second
/// resource (`/second-mcp` on another port: nothing is served there).
async fn stack(defects: Defects) -> (Stack, String) {
    start(StackOptions { defects, ..StackOptions::default() }).await
}

/// [`stack`], its access tokens valid for `ttl`, its MCP server allowing 1 s of clock leeway.
async fn stack_issuing_for(defects: Defects, ttl: std::time::Duration) -> (Stack, String) {
    start(StackOptions { defects, access_token_ttl: ttl, leeway_secs: Some(1), ..StackOptions::default() })
        .await
}

/// Starts `base` as [`stack`] describes.
async fn start(base: StackOptions) -> (Stack, String) {
    let other = "http://127.0.0.1:1/second-mcp".to_string();
    let opts = StackOptions {
        as_port: 0,
        rs_port: 0,
        auto_approve: true,
        also_trust: vec![],
        other_resources: vec![other.clone()],
        ..base
    };
    (Stack::start(&opts).await.expect("stack"), other)
}

/// The token command: `mcp-authz client --print-token` for what the harness asks, the
/// user signed in by `login_hint`; with `keep`, each token is also appended to that file.
fn token_command(keep: Option<&std::path::Path>, login_hint: bool) -> String {
    let hint = if login_hint { r#" --login-hint "$MCP_AUTHZ_PRINCIPAL""# } else { "" };
    let client = format!(
        r#"{} client --url "$MCP_AUTHZ_URL" --resource "$MCP_AUTHZ_RESOURCE" --scope "$MCP_AUTHZ_SCOPE"{hint} --print-token"#,
        env!("CARGO_BIN_EXE_mcp-authz")
    );
    match keep {
        Some(file) => format!(r#"t=$({client}) && echo "$t" >> '{}' && echo "$t""#, file.display()),
        None => client,
    }
}

/// Runs `mcp-authz test-server --url URL --token-command CMD --other-resource OTHER ARGS`
/// off the runtime: `(exit code, stdout, stderr)`.
async fn test_server(
    url: &str,
    command: String,
    other: &str,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcp-authz"));
    c.args(["test-server", "--url", url, "--token-command", &command, "--other-resource", other]).args(args);
    let out = tokio::task::spawn_blocking(move || c.output().expect("mcp-authz runs")).await.expect("joined");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// The cases of a JSON report.
fn cases(stdout: &str, stderr: &str) -> Vec<Value> {
    let cases: Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("json report ({e}); stderr:\n{stderr}"));
    cases.as_array().expect("cases").clone()
}

fn case<'a>(cases: &'a [Value], id: &str) -> &'a Value {
    cases.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id} in the report"))
}

fn with_verdict<'a>(cases: &'a [Value], verdict: &str) -> Vec<&'a str> {
    cases.iter().filter(|c| c["verdict"] == verdict).filter_map(|c| c["id"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_tokens_pass_what_needs_no_forged_claim_and_find_the_audience_defect() {
    let (correct, other) = stack(Defects::none()).await;
    let (code, stdout, stderr) =
        test_server(&correct.mcp_url, token_command(None, true), &other, &["--format", "json"]).await;
    let all = cases(&stdout, &stderr);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(with_verdict(&all, "fail").is_empty() && with_verdict(&all, "error").is_empty(), "{all:#?}");
    assert!(stderr.contains(&format!("authorization server {}", correct.issuer)), "{stderr}");
    // Real tokens: the audience replay (--other-resource), the scope matrix, the
    // cross-user session case, the forgeries the published keys allow.
    for id in ["RS-AUD-01", "RS-SCOPE-01", "RS-SCOPE-02", "RS-SESS-02", "RS-VAL-02", "RS-VAL-03", "RS-VAL-08"]
    {
        assert_eq!(case(&all, id)["verdict"], "pass", "{id}: {:#}", case(&all, id));
    }
    // Forged claims: skipped, saying so.
    for id in ["RS-VAL-05", "RS-VAL-07", "RS-VAL-10", "RS-AUD-02"] {
        let c = case(&all, id);
        assert_eq!(c["verdict"], "skip", "{id}");
        assert!(c.to_string().contains("a forged claim"), "{id}: {c:#}");
    }
    assert!(case(&all, "RS-AUD-05").to_string().contains("needs MCP server B"));

    // A command that signs in alice whoever is asked for: the cross-user case skips.
    let (code, stdout, stderr) =
        test_server(&correct.mcp_url, token_command(None, false), &other, &["--format", "json"]).await;
    let one_user = cases(&stdout, &stderr);
    assert_eq!(code, Some(0), "{stderr}");
    let sess = case(&one_user, "RS-SESS-02");
    assert_eq!(sess["verdict"], "skip");
    assert!(sess.to_string().contains("for alice's user"), "{sess:#}");
    correct.shutdown().await;

    let (broken, other) = stack(Defects::of([Defect::SkipAudienceCheck])).await;
    let (code, stdout, stderr) =
        test_server(&broken.mcp_url, token_command(None, true), &other, &["--format", "json"]).await;
    broken.shutdown().await;
    let all = cases(&stdout, &stderr);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(with_verdict(&all, "fail"), ["RS-AUD-01"], "{all:#?}");
    assert!(with_verdict(&all, "error").is_empty(), "{all:#?}");
}

/// No report of a token-command run, in any format, holds a token the command printed
/// (the failing run's evidence quotes the requests that carried them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_report_of_a_token_command_run_holds_a_token_it_printed() {
    let (broken, other) = stack(Defects::of([Defect::SkipAudienceCheck])).await;
    let kept = std::env::temp_dir().join(format!("mcp-authz-token-command-{}.txt", std::process::id()));
    for format in ["text", "json", "junit", "html", "sarif"] {
        let _ = std::fs::remove_file(&kept);
        let command = token_command(Some(&kept), true);
        let (code, stdout, stderr) =
            test_server(&broken.mcp_url, command, &other, &["--format", format]).await;
        assert_eq!(code, Some(1), "{format}: {stderr}");
        assert!(stdout.contains("RS-AUD-01"), "{format}: {stdout}");
        let tokens = std::fs::read_to_string(&kept).expect("the command kept its tokens");
        let tokens: Vec<&str> = tokens.lines().filter(|t| !t.is_empty()).collect();
        assert!(tokens.len() >= 3, "{format}: {tokens:?}");
        for token in tokens {
            // The signature alone is enough to use nothing, but no part of a token is shown.
            let signature = token.rsplit('.').next().unwrap_or(token);
            assert!(
                !stdout.contains(signature) && !stderr.contains(signature),
                "{format}: a token in the report"
            );
        }
    }
    let _ = std::fs::remove_file(&kept);
    broken.shutdown().await;
}

/// With --token-lifetime an expired token is a real one waited out: RS-VAL-04's expired
/// variant runs (its not-yet-valid one stays a forged claim), and finds a server that
/// does not check `exp`. The server allows 1 s of clock leeway here: a 2 s token is
/// refused 3 s after it was issued (the test waits 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_token_lifetime_is_waited_out_for_the_expired_token() {
    let ttl = std::time::Duration::from_secs(2);
    let args = |lifetime| ["--format", "json", "--scenario", "RS-VAL-04", "--token-lifetime", lifetime];
    let (correct, other) = stack_issuing_for(Defects::none(), ttl).await;
    let (code, stdout, stderr) =
        test_server(&correct.mcp_url, token_command(None, true), &other, &args("4")).await;
    correct.shutdown().await;
    let all = cases(&stdout, &stderr);
    assert_eq!(code, Some(0), "{stderr}");
    let expired = case(&all, "RS-VAL-04").to_string();
    assert_eq!(case(&all, "RS-VAL-04")["verdict"], "pass", "{expired}");
    assert!(expired.contains("variant expired an hour ago: holds"), "{expired}");
    assert!(expired.contains("variant nbf an hour ahead: not applicable"), "{expired}");

    let (broken, other) = stack_issuing_for(Defects::of([Defect::NoExpRequired]), ttl).await;
    let (code, stdout, stderr) =
        test_server(&broken.mcp_url, token_command(None, true), &other, &args("4")).await;
    broken.shutdown().await;
    let all = cases(&stdout, &stderr);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(case(&all, "RS-VAL-04")["verdict"], "fail", "{:#}", case(&all, "RS-VAL-04"));
}
