//! What a packaged `mcp-authz` brings: `--version` with the MCP revisions it speaks, shell
//! completions and man pages generated from the command line itself.

use std::process::Command;

fn mcp_authz(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-authz")).args(args).output().expect("mcp-authz runs")
}

#[test]
fn version_names_the_crate_version_and_the_revisions() {
    let out = mcp_authz(&["--version"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.starts_with(&format!("mcp-authz {}\n", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(text.contains("speaks MCP 2025-06-18, 2025-11-25, 2026-07-28"), "{text}");
}

#[test]
fn completions_cover_every_subcommand_in_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = mcp_authz(&["completions", shell]);
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        for sub in ["scan", "test-server", "test-as", "test-client", "run"] {
            assert!(script.contains(sub), "{shell} completes {sub}");
        }
    }
    let out = mcp_authz(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn man_pages_are_written_for_the_command_and_each_subcommand() {
    let dir = std::env::temp_dir().join(format!("mcp-authz-man-{}", std::process::id()));
    let out = mcp_authz(&["man", "--out", dir.to_str().expect("a utf-8 path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for page in ["mcp-authz.1", "mcp-authz-scan.1", "mcp-authz-test-server.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page} is roff: {}",
            &text[..text.len().min(80)]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Output into a closed pipe ends quietly: the run's own status, not a panic (101) on the
/// broken pipe. Here stderr's reader leaves before the summary line is written.
#[test]
fn a_closed_pipe_ends_the_run_with_its_own_status() {
    let dir = std::env::temp_dir().join(format!("mcp-authz-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["run", "--scenario", "RS-VAL-02", "--output"])
        .arg(dir.join("report.txt"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mcp-authz starts");
    drop(child.stderr.take());
    drop(child.stdout.take());
    let status = child.wait().expect("mcp-authz ends");
    assert_eq!(status.code(), Some(0), "the run passed; a panic on the broken pipe exits 101");
    let _ = std::fs::remove_dir_all(&dir);
}
