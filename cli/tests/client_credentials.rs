//! `mcp-authz client --grant client-credentials` against `mcp-authz serve` over loopback:
//! a machine client registered out of band (here by dynamic registration, as a deployer
//! would script it) gets its token with `client_secret_basic` or a `private_key_jwt`
//! assertion the reference AS validates (RFC 7523 §3), and calls a tool; bad input is an
//! error that says what was received and what was expected, never a panic.

mod common;

use mcp_authz_live::harness_key::{fresh, pem};
use mcp_authz_reference::jwt::Algorithm;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Output};

fn serve() -> (common::Peer, String, String) {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_mcp-authz"));
    serve.args(["serve", "--auto-approve", "--as-port", "0", "--rs-port", "0"]);
    let (peer, found) = common::start_lines(serve, &["authorization server", "MCP server"]);
    (peer, found[0].clone(), found[1].clone())
}

async fn register(issuer: &str, metadata: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{issuer}/register"))
        .header("content-type", "application/json")
        .body(metadata.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "registration refused");
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

fn client(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz")).arg("client").args(args).output().unwrap();
    println!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-authz-cc-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const ECHO: [&str; 4] = ["--tool", "echo", "--arguments", r#"{"text":"machine"}"#];

#[tokio::test]
async fn a_secret_and_a_private_key_each_get_a_token_and_the_tool_result() {
    let (_serve, issuer, mcp_url) = serve();
    let secret_client = register(
        &issuer,
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic",
               "client_name": "machine"}),
    )
    .await;
    let id = secret_client["client_id"].as_str().unwrap();
    let secret = secret_client["client_secret"].as_str().unwrap();
    // `--name=value`: a random id or secret may begin with `-`, which would read as an option.
    let (id, secret) = (format!("--client-id={id}"), format!("--client-secret={secret}"));
    let out = client(&[&["--grant", "client-credentials", &id, &secret], &ECHO[..], &[&mcp_url]].concat());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("machine"));

    // A P-256 key: its kid is its RFC 7638 thumbprint, as the client names it.
    let named = fresh(Algorithm::ES256).unwrap();
    let der = named.to_pkcs8_der().unwrap();
    let jwt_client = register(
        &issuer,
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt",
               "jwks": named.public_jwks()}),
    )
    .await;
    let id = format!("--client-id={}", jwt_client["client_id"].as_str().unwrap());
    let dir = scratch("jwt");
    let file = dir.join("key.pem");
    std::fs::write(&file, pem(&der)).unwrap();
    let file = file.to_str().unwrap();
    let out = client(
        &[&["--grant", "client-credentials", &id, "--private-key-file", file], &ECHO[..], &[&mcp_url]]
            .concat(),
    );
    assert!(out.status.success());
    // The token alone, for scripts.
    let out = client(&[
        "--grant",
        "client-credentials",
        &id,
        "--private-key-file",
        file,
        "--print-token",
        &mcp_url,
    ]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).trim().split('.').count() == 3);
    // A key the client did not register: the AS refuses the assertion, and the client says so.
    let other = fresh(Algorithm::ES256).unwrap();
    let forged = dir.join("other.pem");
    std::fs::write(&forged, pem(&other.to_pkcs8_der().unwrap())).unwrap();
    let out = client(&[
        "--grant",
        "client-credentials",
        &id,
        "--private-key-file",
        forged.to_str().unwrap(),
        &mcp_url,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_client"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_input_is_an_error_that_says_what_was_expected() {
    let dir = scratch("bad");
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let not_pem = not_pem.to_str().unwrap();
    let missing = dir.join("missing.pem");
    let missing = missing.to_str().unwrap();
    let url = "http://127.0.0.1:9/mcp";
    let cc = ["--grant", "client-credentials"];
    let cases: [(Vec<&str>, &str); 6] = [
        (
            [&cc[..], &["--client-id", "a", "--private-key-file", not_pem, url]].concat(),
            "expected a PEM block",
        ),
        ([&cc[..], &["--client-id", "a", "--private-key-file", missing, url]].concat(), "cannot read it"),
        (
            [&cc[..], &["--client-id", "a", url]].concat(),
            "needs --client-secret, --client-secret-file or --private-key-file",
        ),
        ([&cc[..], &["--client-secret", "s", url]].concat(), "--client-id"),
        ([&cc[..], &["--client-id", "a", "--client-secret", "s", "--browser", url]].concat(), "no use"),
        (vec!["--client-id", "a", "--private-key-file", not_pem, url], "needs --grant client-credentials"),
    ];
    for (args, expected) in cases {
        let out = client(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
