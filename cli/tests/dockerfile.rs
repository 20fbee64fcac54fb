//! The Dockerfile builds what this repository builds, and ships it as the issue asks: a
//! static binary, on a distroless or scratch base, as a non-root user, with `mcp-authz` as
//! its entry point. Docker is absent on this project's build machines, so the test runs
//! the build stage's own commands where it can: `cargo metadata --locked` (the lockfile the
//! `--locked` build needs is current), and, where the musl target's standard library is
//! installed, the build stage's `cargo build` itself. Where it is not (no rustup access to
//! fetch it here), the test says so.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The instructions of the Dockerfile, continuation lines joined: `(KEYWORD, rest)`.
fn instructions() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("Dockerfile")).expect("the Dockerfile");
    let joined = text.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(' ').map(|(k, r)| (k.to_ascii_uppercase(), r.trim().to_string())))
        .collect()
}

#[test]
fn the_image_is_a_static_binary_on_a_minimal_base_run_as_non_root() {
    let all = instructions();
    let froms: Vec<&str> = all.iter().filter(|(k, _)| k == "FROM").map(|(_, r)| r.as_str()).collect();
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage: {froms:?}");
    let runtime = froms[1];
    assert!(runtime.contains("distroless/static") || runtime == "scratch", "a minimal base: {runtime}");
    let last_stage: Vec<&(String, String)> =
        all.iter().skip_while(|(k, r)| !(k == "FROM" && r.as_str() == runtime)).collect();
    let user = last_stage.iter().rev().find(|(k, _)| k == "USER").map(|(_, r)| r.as_str());
    assert!(user.is_some_and(|u| u != "root" && u != "0"), "a non-root user: {user:?}");
    let entry = last_stage.iter().find(|(k, _)| k == "ENTRYPOINT").map(|(_, r)| r.as_str());
    assert_eq!(entry, Some(r#"["mcp-authz"]"#));
    let build = build_command(&all);
    assert!(
        build.contains("--locked") && build.contains("-p mcp-authz") && build.contains("--release"),
        "{build}"
    );
    assert!(build.contains("--target x86_64-unknown-linux-musl"), "a static (musl) binary: {build}");
}

/// The build stage's `cargo build` line.
fn build_command(all: &[(String, String)]) -> String {
    all.iter()
        .filter(|(k, _)| k == "RUN")
        .map(|(_, r)| r.clone())
        .find(|r| r.starts_with("cargo build"))
        .expect("the build stage runs cargo build")
}

#[test]
fn the_build_stage_commands_run_here_as_far_as_this_machine_allows() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let metadata = Command::new(&cargo)
        .args(["metadata", "--locked", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output()
        .expect("cargo runs");
    assert!(
        metadata.status.success(),
        "the lockfile is current: {}",
        String::from_utf8_lossy(&metadata.stderr)
    );

    let libdir = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", "x86_64-unknown-linux-musl"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let has_std = libdir.as_ref().and_then(|d| std::fs::read_dir(d).ok()).is_some_and(|mut entries| {
        entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd-")))
    });
    if !has_std {
        eprintln!(
            "not run: the build stage's `cargo build --target x86_64-unknown-linux-musl` needs the musl \
             target's standard library (`rustup target add x86_64-unknown-linux-musl`), which is not \
             installed here and cannot be fetched (this machine reaches crates.io, not the Rust \
             distribution server)"
        );
        return;
    }
    let build = build_command(&instructions());
    let args: Vec<&str> = build.split_whitespace().skip(1).collect();
    let out = Command::new(&cargo)
        .args(&args)
        .env("CC_x86_64_unknown_linux_musl", "musl-gcc")
        .current_dir(root())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "{build}: {}", String::from_utf8_lossy(&out.stderr));
}
