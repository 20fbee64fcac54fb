//! `mcp-authz client --grant enterprise` and `--grant jwt-bearer`: what the command line
//! refuses before any request, each with one message that names the option and what was
//! expected (a run against a server is the conformance suite's: `cli/tests/conformance.rs`,
//! scenarios `auth/enterprise-managed-authorization` and `auth/wif-jwt-bearer`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Nothing listens there: a case that got as far as a request would fail otherwise.
const URL: &str = "http://127.0.0.1:9/mcp";

fn client(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .arg("client")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-authz-jwt-bearer-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn each_unusable_combination_is_refused_with_one_message() {
    let dir = scratch();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let token = file("id-token", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln\n");
    let empty = file("empty", "\n");
    let not_jwt = file("not-jwt", "hello");
    let missing = dir.join("missing").to_str().unwrap().to_string();
    let idp = "--idp-token-endpoint=https://idp.example/token";
    let (id, secret) = ("--client-id=agent", "--client-secret=s3");
    let id_token = format!("--id-token-file={token}");
    let enterprise = ["--grant", "enterprise"];
    let jwt_bearer = ["--grant", "jwt-bearer"];
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        ([&enterprise[..], &[idp, id, secret, URL]].concat(), "", "--grant enterprise needs --id-token-file"),
        ([&enterprise[..], &[&id_token, id, secret, URL]].concat(), "", "needs --idp-token-endpoint"),
        ([&enterprise[..], &[&id_token, idp, URL]].concat(), "", "--grant enterprise needs --client-id"),
        (
            [&enterprise[..], &[&id_token, idp, id, URL]].concat(),
            "",
            "needs --client-secret, --client-secret-file or --private-key-file",
        ),
        ([&enterprise[..], &[&id_token, idp, id, secret, "--browser", URL]].concat(), "", "has no use"),
        (
            [&enterprise[..], &["--id-token-file", &empty, idp, id, secret, URL]].concat(),
            "",
            "received an empty file, expected the ID token",
        ),
        (
            [&enterprise[..], &[&id_token, "--idp-token-endpoint=http://idp.example/token", id, secret, URL]]
                .concat(),
            "",
            "idp_token_endpoint `http://idp.example/token` is not https",
        ),
        (vec![&id_token, URL], "", "--id-token-file needs --grant enterprise"),
        (
            [&enterprise[..], &["--assertion-file", &not_jwt, &id_token, idp, id, secret, URL]].concat(),
            "",
            "--assertion-file needs --grant jwt-bearer",
        ),
        ([&jwt_bearer[..], &[URL]].concat(), "", "--grant jwt-bearer needs --assertion-file"),
        (
            [&jwt_bearer[..], &["--assertion-file", &not_jwt, id, secret, URL]].concat(),
            "",
            "--client-secret has no use with --grant jwt-bearer",
        ),
        ([&jwt_bearer[..], &["--assertion-file", &missing, URL]].concat(), "", "cannot read it"),
        ([&jwt_bearer[..], &["--assertion-file", &not_jwt, URL]].concat(), "", "a compact JWS"),
        // `-`: standard input.
        ([&jwt_bearer[..], &["--assertion-file", "-", URL]].concat(), "not a jwt\n", "a compact JWS"),
        ([&jwt_bearer[..], &["--assertion-file", "-", URL]].concat(), " \n", "received an empty file"),
        (
            [&jwt_bearer[..], &["--assertion-file", &token, idp, URL]].concat(),
            "",
            "--idp-token-endpoint needs --grant enterprise",
        ),
    ];
    for (args, stdin, expected) in cases {
        let out = client(&args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("fetch of") && !stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one message, received {stderr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn help_explains_both_grants() {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz")).args(["client", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "enterprise-managed authorization",
        "--id-token-file",
        "--idp-token-endpoint",
        "workload identity federation",
        "--assertion-file",
        "no other grant is tried",
    ] {
        assert!(help.contains(needle), "`{needle}` missing from client --help");
    }
}
