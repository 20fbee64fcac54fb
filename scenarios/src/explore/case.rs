//! Case files: a case as JSON (seed, defects, topology, actions), written when a
//! violation is found and shrunk, and replayed by `mcp-authz replay FILE` and by
//! `cargo test` for the committed regressions.

use super::invariants::Violation;
use super::model::{Action, Topology};
use super::runner::{self, Outcome};
use mcp_authz_reference::Error;
use mcp_authz_reference::defects::{Defect, Defects};
use serde::{Deserialize, Serialize};

/// A replayable case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The simulator seed.
    pub seed: u64,
    /// The defects injected (names as `--defect` takes them).
    #[serde(default)]
    pub defects: Vec<String>,
    /// The parties.
    pub topology: Topology,
    /// The actions, in order.
    pub actions: Vec<Action>,
    /// The invariant this case breaks (as found), or `None` for a case that must pass.
    #[serde(default)]
    pub expect: Option<String>,
}

impl Case {
    /// The defect set named by [`Case::defects`].
    pub fn defect_set(&self) -> Result<Defects, Error> {
        Ok(Defects::of(self.defects.iter().map(|d| d.parse::<Defect>()).collect::<Result<Vec<_>, _>>()?))
    }

    /// Runs the case; same case, same trace.
    pub fn run(&self) -> Result<Outcome, Error> {
        runner::run(self.seed, &self.defect_set()?, &self.topology, &self.actions)
    }

    /// Reads a case file's JSON.
    pub fn from_json(text: &str) -> Result<Case, Error> {
        serde_json::from_str(text).map_err(|e| Error::malformed("case file", e))
    }

    /// The case as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Replays the case and checks it still behaves as recorded: the expected invariant
    /// breaks (or, with no expectation, none does). Returns the outcome either way.
    pub fn replay(&self) -> Result<(Outcome, bool), Error> {
        let outcome = self.run()?;
        let as_recorded =
            outcome.violation.as_ref().map(|v: &Violation| v.invariant.as_str()) == self.expect.as_deref();
        Ok((outcome, as_recorded))
    }
}
