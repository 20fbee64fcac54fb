//! Prints the results tables: the targets from a paired measurement it runs (raw verify
//! and validator in alternating blocks, about 5 s), then the medians of the last
//! `cargo bench -p mcp-authz-benches` run and the simulated network time of the
//! simulator's anti-patterns; then the same for DPoP requests (a paired measurement of
//! the full check against two raw verifies per proof algorithm) and the `jti` cache.
//! Run: `cargo run -p mcp-authz-benches --release --bin bench-summary`.

use mcp_authz_benches::summary::{criterion_dir, medians, render, render_dpop};

fn main() {
    let dir = criterion_dir();
    let m = medians(&dir);
    if m.is_empty() {
        eprintln!(
            "no criterion results under {}: run `cargo bench -p mcp-authz-benches` first",
            dir.display()
        );
        std::process::exit(2);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("medians from {} (load average now: {})\n", dir.display(), load.trim());
    let paired = mcp_authz_benches::paired::all(200);
    print!("{}", render(&paired, &m, &mcp_authz_benches::sim::simulated_ms(200)));
    let dpop = mcp_authz_benches::paired::dpop(200);
    print!("\n{}", render_dpop(&dpop, &m));
}
