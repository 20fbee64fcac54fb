//! Side-by-side measurement for a machine shared with other builds: the floor and the
//! validator run in alternating blocks, each block timed in thread CPU time, so both
//! see the same load; the ratio is the median of the per-round ratios.

use crate::{ALGORITHMS, NOW, SCOPE, fixture};
use mcp_authz_reference::jwt::{self, Algorithm};
use std::hint::black_box;

/// One algorithm's paired result.
#[derive(Debug, Clone, Copy)]
pub struct Paired {
    /// The algorithm.
    pub alg: Algorithm,
    /// Median per-call CPU time of the raw signature check, ns.
    pub raw_ns: f64,
    /// Median per-call CPU time of the full validation, ns.
    pub validator_ns: f64,
    /// Median over rounds of validator / raw.
    pub ratio: f64,
    /// Median over rounds of validator − raw, ns.
    pub overhead_ns: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// CPU ns per call of `f` over a block of `n` calls.
pub fn block(n: u32, f: &mut impl FnMut() -> bool) -> f64 {
    let start = cpu_time::ThreadTime::now();
    for _ in 0..n {
        black_box(f());
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

/// Calls of about `per_call_ns` each that make a block of about 2 ms.
pub fn block_size(per_call_ns: f64) -> u32 {
    (2_000_000.0 / per_call_ns.max(1.0)).clamp(1.0, 100_000.0) as u32
}

/// `rounds` alternating blocks of `raw` and `full`, each block about 2 ms.
pub fn measure(
    alg: Algorithm,
    rounds: usize,
    raw: impl FnMut() -> bool,
    mut full: impl FnMut() -> bool,
) -> Paired {
    let n = block_size(block(50, &mut full));
    measure_blocks(alg, rounds, n, raw, full)
}

/// `rounds` alternating blocks of `n` calls of `raw` and of `full`: `rounds × n` calls
/// of each.
pub fn measure_blocks(
    alg: Algorithm,
    rounds: usize,
    n: u32,
    mut raw: impl FnMut() -> bool,
    mut full: impl FnMut() -> bool,
) -> Paired {
    let (mut a, mut b, mut ratio, mut overhead) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        // Alternate which goes first, so neither always runs on a warmer cache.
        let (r, v) = if round % 2 == 0 {
            let r = block(n, &mut raw);
            (r, block(n, &mut full))
        } else {
            let v = block(n, &mut full);
            (block(n, &mut raw), v)
        };
        a.push(r);
        b.push(v);
        ratio.push(v / r);
        overhead.push(v - r);
    }
    Paired {
        alg,
        raw_ns: median(a),
        validator_ns: median(b),
        ratio: median(ratio),
        overhead_ns: median(overhead),
    }
}

/// The paired measurement of every algorithm: raw verify of the fixture token's
/// signature vs the full validation with the scope check, as the `validation` bench.
pub fn all(rounds: usize) -> Vec<Paired> {
    ALGORITHMS
        .into_iter()
        .map(|alg| {
            let f = fixture(alg);
            let parts = jwt::split(&f.token).expect("token");
            let key = f.validator.keys.get(crate::KID).expect("key");
            let input = parts.signing_input.as_bytes();
            measure(
                alg,
                rounds,
                || key.verify(black_box(input), black_box(&parts.signature)).is_ok(),
                || f.validator.validate(black_box(&f.token), NOW).is_ok_and(|c| c.has_scope(SCOPE)),
            )
        })
        .collect()
}

/// The paired measurement of a DPoP request per proof algorithm
/// ([`crate::dpop::PROOF_ALGORITHMS`], token ES256): two raw verifies (the token's
/// signature and the proof's) vs the full check at the resource server
/// ([`crate::dpop::Server::check`]), its replay cache full (4096 proofs, so each new
/// `jti` also evicts the oldest). Every proof the full check sees is new: `rounds × n`
/// of them are signed before the timed region. Panics if any is refused.
pub fn dpop(rounds: usize) -> Vec<Paired> {
    crate::dpop::PROOF_ALGORITHMS
        .into_iter()
        .map(|alg| {
            let mut f = crate::dpop::Fixture::new(alg);
            f.fill_replay_cache();
            let calibration = f.client.requests(50);
            let mut calls = calibration.iter();
            let n = block_size(block(50, &mut || calls.next().is_some_and(|r| f.server.check_request(r))));
            let requests = f.client.requests(rounds * n as usize);
            let (mut raw_at, mut full_at, mut refused) = (0, 0, 0);
            let (floor, server) = (&f.floor, &mut f.server);
            let paired = measure_blocks(
                alg,
                rounds,
                n,
                || {
                    raw_at += 1;
                    floor.verify(black_box(&requests[raw_at - 1]))
                },
                || {
                    full_at += 1;
                    let ok = server.check_request(black_box(&requests[full_at - 1]));
                    refused += usize::from(!ok);
                    ok
                },
            );
            assert_eq!(refused, 0, "every fresh {alg} proof is accepted");
            paired
        })
        .collect()
}
