//! `mcp-authz explore`, `replay` and `merge` as a user runs them.

use std::process::Command;

fn mcp_authz(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz")).args(args).output().expect("the binary runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn explore_shards_merge_and_replay() {
    let dir = std::env::temp_dir().join(format!("mcp-authz-explore-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.to_str().unwrap();
    let mut reports = vec![];
    for shard in ["1/2", "2/2"] {
        let args = [
            "explore",
            "--cases",
            "6",
            "--defect",
            "scope-check-at-connect-only",
            "--shard",
            shard,
            "--format",
            "json",
            "--out",
            out,
        ];
        let (code, json) = mcp_authz(&args);
        assert_eq!(code, 1, "the defect is found in shard {shard}: {json}");
        let path = dir.join(format!("report-{}.json", &shard[..1]));
        std::fs::write(&path, &json).unwrap();
        reports.push(path.to_str().unwrap().to_string());
    }
    let (code, merged) = mcp_authz(&["merge", &reports[0], &reports[1]]);
    assert_eq!(code, 1);
    let merged: serde_json::Value = serde_json::from_str(&merged).unwrap();
    assert_eq!(merged["cases"], 12);
    assert_eq!(merged["violations"][0]["violation"]["invariant"], "INV-TOOL");
    let case_file = merged["violations"][0]["case_file"].as_str().unwrap().to_string();
    let (code, first) = mcp_authz(&["replay", &case_file]);
    assert_eq!(code, 1);
    assert!(first.contains("# VIOLATION INV-TOOL"), "{first}");
    assert_eq!(mcp_authz(&["replay", &case_file]).1, first, "same case, same trace");
    let (code, text) = mcp_authz(&["explore", "--cases", "3"]);
    assert_eq!((code, text.contains("no violation")), (0, true), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
