//! The results tables, in Markdown: validator vs raw verify per algorithm against the
//! targets (from the paired measurement, [`crate::paired`]), then criterion's medians
//! (`<target>/criterion/<group>/<bench>/new/{benchmark,estimates}.json`): the anti-pattern
//! and the peers, the request path, and the simulated anti-patterns.

use crate::ALGORITHMS;
use crate::paired::Paired;
use mcp_authz_reference::jwt::Algorithm;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where criterion writes: `$CARGO_TARGET_DIR/criterion`, else the workspace's
/// `target/criterion`.
pub fn criterion_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => PathBuf::from(t).join("criterion"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion"),
    }
}

/// Median time in ns of every benchmark found under `dir`, by `(group, function)`.
pub fn medians(dir: &Path) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    let read = |p: PathBuf| -> Option<Value> { serde_json::from_slice(&std::fs::read(p).ok()?).ok() };
    let Ok(groups) = std::fs::read_dir(dir) else { return out };
    for bench in groups.flatten().filter_map(|g| std::fs::read_dir(g.path()).ok()).flatten().flatten() {
        let new = bench.path().join("new");
        let (Some(id), Some(est)) = (read(new.join("benchmark.json")), read(new.join("estimates.json")))
        else {
            continue;
        };
        let name = |k: &str| id.get(k).and_then(Value::as_str).map(String::from);
        let median = est.pointer("/median/point_estimate").and_then(Value::as_f64);
        if let (Some(g), Some(f), Some(m)) = (name("group_id"), name("function_id"), median) {
            out.insert((g, f), m);
        }
    }
    out
}

/// What the issue asks of `alg`: `(description, met)` given the validator / raw ratio
/// and the overhead in µs.
fn target(alg: Algorithm, ratio: f64, overhead_us: f64) -> Option<(&'static str, bool)> {
    match alg {
        Algorithm::ES256 | Algorithm::EdDSA | Algorithm::RS256 => Some(("ratio ≤ 1.10", ratio <= 1.10)),
        Algorithm::HS256 => Some(("overhead ≤ 2 µs", overhead_us <= 2.0)),
        Algorithm::PS256 => None,
    }
}

/// The DPoP tables: the full check of a DPoP request against two raw verifies per proof
/// algorithm, from the paired measurement `dpop` (target ratio ≤ 1.10), with criterion's
/// medians of the same; then the `jti` replay cache's cost per request.
pub fn render_dpop(dpop: &[Paired], m: &BTreeMap<(String, String), f64>) -> String {
    let us = |g: &str, f: &str| m.get(&(g.to_string(), f.to_string())).map(|ns| ns / 1000.0);
    let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| DPoP request, {} token | two raw verifies µs | full check µs | ratio | overhead µs | target | met | criterion: raw, full µs |",
        crate::dpop::TOKEN_ALGORITHM
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---|---|---:|");
    for p in dpop {
        let (raw, v, overhead) = (p.raw_ns / 1000.0, p.validator_ns / 1000.0, p.overhead_ns / 1000.0);
        let met = if p.ratio <= 1.10 { "yes" } else { "**no**" };
        let g = crate::dpop::group(p.alg);
        let criterion = format!("{}, {}", cell(us(&g, "two raw verifies")), cell(us(&g, "full check")));
        let _ = writeln!(
            s,
            "| {} proof | {raw:.2} | {v:.2} | {:.3} | {overhead:.2} | ratio ≤ 1.10 | {met} | {criterion} |",
            p.alg, p.ratio
        );
    }
    let _ = writeln!(
        s,
        "\n| DPoP full check (criterion), a new client key per request | µs | × two raw verifies |"
    );
    let _ = writeln!(s, "|---|---:|---:|");
    for p in dpop {
        let g = crate::dpop::group(p.alg);
        let (raw, cold) = (us(&g, "two raw verifies"), us(&g, "full check, a new client key"));
        let ratio = raw.zip(cold).map_or("–".to_string(), |(r, c)| format!("{:.2}", c / r));
        let _ = writeln!(s, "| {} proof | {} | {ratio} |", p.alg, cell(cold));
    }
    let _ = writeln!(s, "\n| `jti` replay cache (criterion), a new `jti` per request | live entries | ns |");
    let _ = writeln!(s, "|---|---:|---:|");
    for live in [mcp_authz_reference::dpop::REPLAY_CAPACITY, crate::dpop::LIVE_JTIS] {
        let key = (crate::dpop::REPLAY_GROUP.to_string(), crate::dpop::replay_bench(live));
        let ns = m.get(&key).map_or("–".to_string(), |ns| format!("{ns:.0}"));
        let _ = writeln!(s, "| looked up, remembered, the oldest forgotten | {live} | {ns} |");
    }
    s
}

/// The tables: the targets from the paired measurement, then criterion's `medians` (ns)
/// and the simulated network times (ms).
pub fn render(paired: &[Paired], m: &BTreeMap<(String, String), f64>, simulated: &[(&str, f64)]) -> String {
    let us = |g: &str, f: &str| m.get(&(g.to_string(), f.to_string())).map(|ns| ns / 1000.0);
    let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
    let mut s = String::new();
    let _ = writeln!(s, "| alg | raw verify µs | validator µs | ratio | overhead µs | target | met |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---|---|");
    for p in paired {
        let (raw, v, overhead) = (p.raw_ns / 1000.0, p.validator_ns / 1000.0, p.overhead_ns / 1000.0);
        let (goal, met) = match target(p.alg, p.ratio, overhead) {
            Some((goal, met)) => (goal, if met { "yes" } else { "**no**" }),
            None => ("–", "–"),
        };
        let _ = writeln!(
            s,
            "| {} | {raw:.2} | {v:.2} | {:.3} | {overhead:.2} | {goal} | {met} |",
            p.alg, p.ratio
        );
    }
    let _ = writeln!(
        s,
        "\n| criterion medians µs (× raw verify) | raw verify | validator | key parsed per request | jsonwebtoken aws-lc-rs | jsonwebtoken rust-crypto |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for alg in ALGORITHMS {
        let g = alg.name();
        let Some(raw) = us(g, "raw verify") else { continue };
        let rel = |f: &str| us(g, f).map_or("–".to_string(), |t| format!("{t:.1} ({:.2})", t / raw));
        let _ = writeln!(
            s,
            "| {g} | {raw:.1} | {} | {} | {} | {} |",
            rel("validator"),
            rel("validator, key parsed per request"),
            rel("jsonwebtoken aws-lc-rs"),
            rel("jsonwebtoken rust-crypto"),
        );
    }
    let _ = writeln!(
        s,
        "\n| request path (in-process `tools/call`) | token validated µs | validation skipped µs | validation's share |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|");
    for alg in ["ES256", "EdDSA", "RS256"] {
        let g = format!("request path {alg}");
        let (Some(on), Some(off)) =
            (us(&g, "tools/call, token validated"), us(&g, "tools/call, validation skipped"))
        else {
            continue;
        };
        let _ = writeln!(s, "| {alg} | {on:.1} | {off:.1} | {:.0} % |", (on - off) / on * 100.0);
    }
    let _ = writeln!(s, "\n| simulator, EdDSA | CPU µs | simulated network ms |");
    let _ = writeln!(s, "|---|---:|---:|");
    let g = "simulator EdDSA";
    let net = |name: &str| simulated.iter().find(|(n, _)| *n == name).map(|(_, ms)| *ms);
    for (f, sim) in [
        ("tools/call, local validation", "tools/call, local validation"),
        ("tools/call, introspection per request", "tools/call, introspection per request"),
        ("validation, key cached", ""),
        ("validation, jwks fetched per request", "jwks fetched per request + validation"),
    ] {
        let ms = if sim.is_empty() { Some(0.0) } else { net(sim) };
        let _ = writeln!(s, "| {f} | {} | {} |", cell(us(g, f)), cell(ms));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_states_ratio_overhead_and_target() {
        let paired = [
            Paired {
                alg: Algorithm::ES256,
                raw_ns: 50_000.0,
                validator_ns: 52_000.0,
                ratio: 1.04,
                overhead_ns: 2_000.0,
            },
            Paired {
                alg: Algorithm::HS256,
                raw_ns: 1_000.0,
                validator_ns: 4_000.0,
                ratio: 4.0,
                overhead_ns: 3_000.0,
            },
        ];
        let mut m = BTreeMap::new();
        let mut put = |g: &str, f: &str, ns: f64| m.insert((g.to_string(), f.to_string()), ns);
        put("ES256", "raw verify", 50_000.0);
        put("ES256", "jsonwebtoken aws-lc-rs", 75_000.0);
        put("request path EdDSA", "tools/call, token validated", 100_000.0);
        put("request path EdDSA", "tools/call, validation skipped", 25_000.0);
        let t = render(&paired, &m, &[("tools/call, local validation", 10.5)]);
        assert!(t.contains("| ES256 | 50.00 | 52.00 | 1.040 | 2.00 | ratio ≤ 1.10 | yes |"), "{t}");
        assert!(t.contains("| HS256 | 1.00 | 4.00 | 4.000 | 3.00 | overhead ≤ 2 µs | **no** |"), "{t}");
        assert!(t.contains("| ES256 | 50.0 | – | – | 75.0 (1.50) | – |"), "{t}");
        assert!(t.contains("| EdDSA | 100.0 | 25.0 | 75 % |"), "{t}");
        assert!(t.contains("| tools/call, local validation | – | 10.5 |"), "{t}");
    }

    #[test]
    fn dpop_table_states_ratio_overhead_target_and_the_jti_cache() {
        let paired = [Paired {
            alg: Algorithm::EdDSA,
            raw_ns: 200_000.0,
            validator_ns: 230_000.0,
            ratio: 1.15,
            overhead_ns: 30_000.0,
        }];
        let mut m = BTreeMap::new();
        m.insert((crate::dpop::group(Algorithm::EdDSA), "full check".to_string()), 240_000.0);
        m.insert((crate::dpop::REPLAY_GROUP.to_string(), crate::dpop::replay_bench(100_000)), 1_500.0);
        let t = render_dpop(&paired, &m);
        assert!(
            t.contains(
                "| EdDSA proof | 200.00 | 230.00 | 1.150 | 30.00 | ratio ≤ 1.10 | **no** | –, 240.0 |"
            ),
            "{t}"
        );
        assert!(t.contains("| looked up, remembered, the oldest forgotten | 100000 | 1500 |"), "{t}");
    }
}
