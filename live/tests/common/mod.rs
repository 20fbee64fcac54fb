//! What the live tests share: the check that the live path judges each defect as the
//! simulator does.

use mcp_authz_reference::defects::{Defect, DefectRole, Defects};
use mcp_authz_scenarios::{Scenario, run_case};
use mcp_authz_sim::scenario::{CaseResult, Verdict};

/// For each defect of `role`, the cases a live run (`run_live`) fails or warns must be
/// those that fail or warn in the simulator against the same defect, over `scenarios`
/// (none for a defect of `simulator_only`; more for a defect of `live_also`, which names
/// the cases only a live run catches). Panics listing every defect judged otherwise.
pub fn assert_live_judges_as_the_simulator(
    role: DefectRole,
    scenarios: &[Scenario],
    simulator_only: &[Defect],
    live_also: &[(Defect, &[&str])],
    mut run_live: impl FnMut(Defects) -> Vec<CaseResult>,
) {
    let failing = |r: &&CaseResult| matches!(r.verdict, Verdict::Fail | Verdict::Warn);
    let mut missed = Vec::new();
    for &d in Defect::ALL.iter().filter(|d| d.role() == role) {
        let results = run_live(Defects::of([d]));
        let live: Vec<&str> = results.iter().filter(failing).map(|r| r.meta.id).collect();
        let simulated: Vec<CaseResult> =
            scenarios.iter().map(|s| run_case(s, 1, &Defects::of([d]))).collect();
        let also = live_also.iter().filter(|(l, _)| *l == d).flat_map(|(_, ids)| ids.iter().copied());
        let expected: Vec<&str> = match simulator_only.contains(&d) {
            true => vec![],
            false => scenarios
                .iter()
                .zip(&simulated)
                .filter(|(s, r)| failing(r) || also.clone().any(|id| id == s.meta.id))
                .map(|(s, _)| s.meta.id)
                .collect(),
        };
        if live != expected {
            missed.push(format!("{}: live {live:?}, simulator {expected:?}", d.name()));
        }
    }
    assert!(
        missed.is_empty(),
        "defects the live path judges otherwise than the simulator:\n{}",
        missed.join("\n")
    );
}
