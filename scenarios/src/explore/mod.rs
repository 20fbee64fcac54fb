//! Property-based exploration: random interleavings of honest flows, attacker moves and
//! network faults over the simulated world, with safety invariants checked after every
//! step, failures shrunk by proptest and written as replayable case files.
//!
//! - [`model`]: the topology and the actions, as serializable data, and their strategies.
//! - [`invariants`]: the invariants, each a type with its ID, the requirements it
//!   protects, the ground truth it keeps and its judgement of what the network carries.
//! - [`runner`]: applies actions to a [`crate::World`], taps the network and hands what
//!   it carried to the invariants.
//! - [`case`]: case files and replay.
//! - `tap`: the runner's view of the network, and what attackers do to messages.
//!
//! Case `k` of a run draws its topology and actions from a proptest RNG seeded with
//! `(seed, k)` alone, so any case can be re-drawn on its own and the seed space splits
//! into disjoint shards: shard `K/N` runs the cases `k ≡ K-1 (mod N)`.
//!
//! ```
//! use mcp_authz_scenarios::explore::{Explorer, Settings};
//! let mut explorer = Explorer::new(Settings::default());
//! let found = explorer.run_case(0).unwrap();
//! assert!(found.violation.is_none(), "the reference roles break no invariant");
//! ```

pub mod case;
pub mod invariants;
pub mod model;
pub mod runner;
mod tap;

use case::Case;
use invariants::Violation;
use mcp_authz_reference::Error;
use mcp_authz_reference::defects::Defects;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Most shrink steps (runs of a candidate) spent on one failure.
const MAX_SHRINK_RUNS: u32 = 400;

/// One part of the seed space: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 1, count: 1 }
    }
}

impl Shard {
    /// The global number of the `k`-th case of this shard.
    pub fn case_number(&self, k: u64) -> u64 {
        k.saturating_mul(self.count).saturating_add(self.index - 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::unexpected("shard", format!("`{s}`"), "K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) =
            (k.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// What to explore.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The root seed: case `k` depends on it and on `k` only.
    pub seed: u64,
    /// Defects injected into the reference roles.
    pub defects: Defects,
    /// Longest action sequence drawn.
    pub max_actions: usize,
    /// The part of the seed space this run covers.
    pub shard: Shard,
}

impl Default for Settings {
    /// Seed 1, no defects, up to 16 actions, the whole seed space.
    fn default() -> Self {
        Settings { seed: 1, defects: Defects::none(), max_actions: 16, shard: Shard::default() }
    }
}

/// A violation found, shrunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// The global case number that found it.
    pub case_number: u64,
    /// The violation, as the shrunk case shows it.
    pub violation: Violation,
    /// Actions of the case as drawn.
    pub original_actions: usize,
    /// The shrunk, replayable case.
    pub case: Case,
    /// Where the case file was written, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_file: Option<String>,
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// Actions applied.
    pub actions: u64,
    /// Honest calls completed.
    pub flows: u64,
    /// Invariants exercised.
    pub exercised: BTreeSet<&'static str>,
    /// The violation, shrunk, if the case broke an invariant.
    pub violation: Option<Found>,
}

/// The summary of a run (or of several merged ones).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Root seed.
    pub seed: u64,
    /// The shards covered, e.g. `["1/4", "2/4"]`.
    pub shards: Vec<String>,
    /// Defects injected.
    pub defects: Vec<String>,
    /// Cases run.
    pub cases: u64,
    /// Actions applied.
    pub actions: u64,
    /// Honest calls completed.
    pub flows: u64,
    /// IDs of the invariants that had something to check.
    pub invariants_exercised: BTreeSet<String>,
    /// Violations, at most one per invariant (the first found), shrunk.
    pub violations: Vec<Found>,
    /// Cases whose violation repeated an invariant already reported.
    pub repeated_violations: u64,
}

impl Report {
    /// An empty report for `settings`.
    pub fn new(settings: &Settings) -> Report {
        Report {
            seed: settings.seed,
            shards: vec![settings.shard.to_string()],
            defects: settings.defects.iter().map(|d| d.name().to_string()).collect(),
            ..Report::default()
        }
    }

    /// True when `invariant` was already reported.
    pub fn has_violation_of(&self, invariant: &str) -> bool {
        self.violations.iter().any(|f| f.violation.invariant == invariant)
    }

    /// Adds one case's result.
    pub fn add(&mut self, case: CaseReport) {
        self.cases += 1;
        self.actions += case.actions;
        self.flows += case.flows;
        self.invariants_exercised.extend(case.exercised.iter().map(|s| s.to_string()));
        if let Some(found) = case.violation {
            if self.has_violation_of(&found.violation.invariant) {
                self.repeated_violations += 1;
            } else {
                self.violations.push(found);
            }
        }
    }

    /// Combines the reports of several shards of one exploration.
    pub fn merge(reports: Vec<Report>) -> Result<Report, Error> {
        let mut it = reports.into_iter();
        let Some(mut all) = it.next() else {
            return Err(Error::Missing("reports to merge".into()));
        };
        for r in it {
            if r.seed != all.seed || r.defects != all.defects {
                return Err(Error::unexpected(
                    "report",
                    format!("seed {} with defects {:?}", r.seed, r.defects),
                    format!("seed {} with defects {:?}, as the first report", all.seed, all.defects),
                ));
            }
            all.shards.extend(r.shards);
            all.cases += r.cases;
            all.actions += r.actions;
            all.flows += r.flows;
            all.invariants_exercised.extend(r.invariants_exercised);
            all.repeated_violations += r.repeated_violations;
            for f in r.violations {
                if all.has_violation_of(&f.violation.invariant) {
                    all.repeated_violations += 1;
                } else {
                    all.violations.push(f);
                }
            }
        }
        all.shards.sort();
        all.shards.dedup();
        Ok(all)
    }
}

/// Draws, runs and shrinks cases.
pub struct Explorer {
    settings: Settings,
}

impl Explorer {
    /// An explorer for `settings`.
    pub fn new(settings: Settings) -> Explorer {
        Explorer { settings }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The simulator seed and proptest RNG of global case `n`.
    fn seeds(&self, n: u64) -> (u64, TestRng) {
        let mixed = splitmix(self.settings.seed ^ splitmix(n));
        let mut bytes = [0u8; 32];
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&splitmix(mixed.wrapping_add(i as u64)).to_le_bytes());
        }
        (mixed, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
    }

    /// The simulator seed and the value tree (the case as drawn, and how to shrink it)
    /// of global case `number`.
    fn tree(
        &self,
        number: u64,
    ) -> Result<(u64, impl ValueTree<Value = (model::Topology, Vec<model::Action>)>), Error> {
        let (sim_seed, rng) = self.seeds(number);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        let tree = model::case(self.settings.max_actions)
            .new_tree(&mut runner)
            .map_err(|e| Error::Refused(format!("cannot draw case {number}: {e}")))?;
        Ok((sim_seed, tree))
    }

    /// The `k`-th case of this shard as drawn, without running it.
    pub fn draw(&self, k: u64) -> Result<Case, Error> {
        let (seed, tree) = self.tree(self.settings.shard.case_number(k))?;
        let (topology, actions) = tree.current();
        let defects = self.settings.defects.iter().map(|d| d.name().to_string()).collect();
        Ok(Case { seed, defects, topology, actions, expect: None })
    }

    /// Runs the `k`-th case of this shard; on a violation, shrinks it (keeping the same
    /// invariant broken) and returns the shrunk case.
    pub fn run_case(&mut self, k: u64) -> Result<CaseReport, Error> {
        let number = self.settings.shard.case_number(k);
        let (sim_seed, mut tree) = self.tree(number)?;
        let defects = &self.settings.defects;
        let (topology, actions) = tree.current();
        let outcome = runner::run(sim_seed, defects, &topology, &actions)?;
        let mut report = CaseReport {
            actions: outcome.actions_run as u64,
            flows: outcome.flows,
            exercised: outcome.exercised,
            violation: None,
        };
        let Some(violation) = outcome.violation else { return Ok(report) };
        let original_actions = actions.len();
        let mut best = (topology, actions, violation);
        let mut runs = 0;
        let mut last_failed = true;
        while runs < MAX_SHRINK_RUNS {
            let moved = if last_failed { tree.simplify() } else { tree.complicate() };
            if !moved {
                break;
            }
            runs += 1;
            let (topology, actions) = tree.current();
            let outcome = runner::run(sim_seed, defects, &topology, &actions)?;
            last_failed = false;
            if let Some(v) = outcome.violation
                && v.invariant == best.2.invariant
            {
                last_failed = true;
                best = (topology, actions, v);
            }
        }
        let (topology, actions, violation) = best;
        let case = Case {
            seed: sim_seed,
            defects: defects.iter().map(|d| d.name().to_string()).collect(),
            topology,
            actions,
            expect: Some(violation.invariant.clone()),
        };
        report.violation =
            Some(Found { case_number: number, violation, original_actions, case, case_file: None });
        Ok(report)
    }
}

/// SplitMix64: spreads consecutive numbers over the seed space.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Runs cases `0, 1, …` of the explorer's shard while `keep_going` says so (it sees the
/// report so far, before each case) and up to `cases` cases when given; `progress` is
/// called after each case. The caller owns the clock: a time budget is a `keep_going`
/// that reads it.
pub fn explore(
    explorer: &mut Explorer,
    cases: Option<u64>,
    mut keep_going: impl FnMut(&Report) -> bool,
    mut progress: impl FnMut(&Report),
) -> Result<Report, Error> {
    let mut report = Report::new(explorer.settings());
    let mut k = 0;
    while cases.is_none_or(|n| k < n) && keep_going(&report) {
        let case = explorer.run_case(k)?;
        report.add(case);
        progress(&report);
        k += 1;
    }
    Ok(report)
}

impl Report {
    /// The summary as text: cases, actions, invariants exercised, and each violation
    /// with its requirements, its shrunk actions and its case file.
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let defects = if self.defects.is_empty() { "none".to_string() } else { self.defects.join(", ") };
        let _ = writeln!(
            s,
            "explored {} cases ({} actions, {} honest flows), seed {}, shards {}, defects {defects}",
            self.cases,
            self.actions,
            self.flows,
            self.seed,
            self.shards.join(" ")
        );
        let exercised: Vec<&str> = self.invariants_exercised.iter().map(String::as_str).collect();
        let _ = writeln!(s, "invariants exercised ({}): {}", exercised.len(), exercised.join(" "));
        if self.violations.is_empty() {
            let _ = writeln!(s, "no violation");
        }
        for f in &self.violations {
            let v = &f.violation;
            let _ = writeln!(
                s,
                "\nVIOLATION {} [{}] in case {} (shrunk from {} to {} actions)\n  {}",
                v.invariant,
                v.requirements.join(","),
                f.case_number,
                f.original_actions,
                f.case.actions.len(),
                v.detail
            );
            let _ = writeln!(s, "  topology: {}", f.case.topology);
            for (i, a) in f.case.actions.iter().enumerate() {
                let _ = writeln!(s, "  {i:>2}. {a}");
            }
            if let Some(path) = &f.case_file {
                let _ = writeln!(s, "  replay: mcp-authz replay {path}");
            }
        }
        if self.repeated_violations > 0 {
            let _ =
                writeln!(s, "\n{} more cases broke an invariant already reported", self.repeated_violations);
        }
        s
    }
}
