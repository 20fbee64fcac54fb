//! `mcp-authz run` reports: a baseline of expected failures decides the exit status (new
//! failures and stale entries fail the run), and `--format html` writes one page with
//! sequence diagrams.

use std::path::PathBuf;
use std::process::{Command, Output};

const DEFECT: &str = "skip-audience-check";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["run", "--defect", DEFECT])
        .args(args)
        .output()
        .expect("mcp-authz runs")
}

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("reports-{}-{name}", std::process::id()))
}

/// The IDs of the cases that fail or warn under the defect, and of those that pass.
fn failing_and_passing() -> (Vec<String>, Vec<String>) {
    let out = run(&["--format", "json"]);
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let (mut failing, mut passing) = (Vec::new(), Vec::new());
    for c in cases.as_array().expect("an array of cases") {
        let id = c["id"].as_str().expect("id").to_string();
        match c["verdict"].as_str() {
            Some("fail" | "warn") => failing.push(id),
            Some("pass") => passing.push(id),
            _ => {}
        }
    }
    (failing, passing)
}

fn run_with_baseline(name: &str, ids: &[&String]) -> (Option<i32>, String, String) {
    let path = tmp(name);
    let mut text = String::from("# expected failures under skip-audience-check\n\n");
    for id in ids {
        text.push_str(&format!("{id}  the audience is not checked\n"));
    }
    std::fs::write(&path, text).expect("baseline written");
    let out = run(&["--baseline", path.to_str().expect("utf-8 path")]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn baseline_expected_new_and_stale() {
    let (failing, passing) = failing_and_passing();
    assert!(failing.len() >= 2, "the defect makes several cases fail: {failing:?}");
    let first_pass = passing.first().expect("some case passes");

    // Exactly the failing cases: the run passes, and says they are expected.
    let all: Vec<&String> = failing.iter().collect();
    let (code, stdout, stderr) = run_with_baseline("exact", &all);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("expected failure (baseline: the audience is not checked)"), "{stdout}");
    assert!(
        stderr.contains(&format!("baseline: {} expected failures, 0 new, 0 stale", failing.len())),
        "{stderr}"
    );

    // One failure left out: it is a new failure.
    let (code, _, stderr) = run_with_baseline("missing", &all[1..]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("new failures (not in the baseline):\n  fail  {}\n", failing[0])),
        "{stderr}"
    );

    // A passing case listed: the entry is stale.
    let mut with_stale = all.clone();
    with_stale.push(first_pass);
    let (code, _, stderr) = run_with_baseline("stale", &with_stale);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("stale baseline entries (the case now passes; remove them):"), "{stderr}");
    assert!(stderr.contains(&format!(": {first_pass}  the audience is not checked")), "{stderr}");
}

#[test]
fn a_bad_baseline_is_a_usage_error_naming_the_line() {
    let path = tmp("bad");
    std::fs::write(&path, "# ok\nRS-AUD-01 fine\nNO-SUCH-CASE-99 reason\n").expect("baseline written");
    let out = run(&["--baseline", path.to_str().expect("utf-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("baseline line 3: no case `NO-SUCH-CASE-99` exists"), "{stderr}");
}

#[test]
fn html_report_is_one_page_with_diagrams() {
    let path = tmp("report.html");
    let out = run(&["--format", "html", "--output", path.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&path).expect("the report is written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"));
    assert!(html.contains("RS-AUD-01"));
    assert!(!html.contains("<script"));
}

/// `--format sarif`: a SARIF 2.1.0 log with one rule per case and one result per failed
/// case (level `error`), each naming its rule by ID and index, with a message, a location
/// and a stable fingerprint; the exit status is the run's.
#[test]
fn sarif_report_has_a_rule_per_case_and_a_result_per_finding() {
    let out = run(&["--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1), "a failing run exits 1");
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif is json");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "mcp-authz");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let (failing, passing) = failing_and_passing();
    assert_eq!(rules.len(), failing.len() + passing.len(), "a rule per case");
    let results = run["results"].as_array().expect("results");
    let ids: Vec<&str> = results.iter().map(|r| r["ruleId"].as_str().unwrap()).collect();
    assert_eq!(ids, failing.iter().map(String::as_str).collect::<Vec<_>>(), "a result per finding");
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"], "ruleIndex points at its rule");
        assert_eq!(r["level"], "error");
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        assert!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
        assert_eq!(r["partialFingerprints"]["mcpAuthzCase/v1"], r["ruleId"]);
    }
}

/// One run, several reports: `--also FORMAT=FILE` writes each beside the main report, with
/// the same cases.
#[test]
fn also_writes_further_reports_from_the_one_run() {
    let dir = std::env::temp_dir().join(format!("mcp-authz-also-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let (sarif, junit) = (dir.join("r.sarif"), dir.join("r.xml"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["run", "--scenario", "RS-VAL-02", "--defect", "accept-alg-none", "--format", "json"])
        .arg("--also")
        .arg(format!("sarif={}", sarif.display()))
        .arg("--also")
        .arg(format!("junit={}", junit.display()))
        .output()
        .expect("mcp-authz runs");
    assert_eq!(out.status.code(), Some(1), "the defect fails the case");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the main report is JSON");
    assert_eq!(json[0]["id"], "RS-VAL-02");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).expect("the SARIF report"))
            .expect("SARIF JSON");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "RS-VAL-02");
    let junit = std::fs::read_to_string(&junit).expect("the JUnit report");
    assert!(junit.contains("RS-VAL-02") && junit.contains("<failure"), "{junit}");
    let _ = std::fs::remove_dir_all(&dir);
}
