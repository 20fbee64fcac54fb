//! INV-LIVE: with no attacker, once faults stop, every honest client completes a call
//! (3 attempts). The runner makes the attempts; this judges them.

use super::{Invariant, Spec, Verdict};

/// INV-LIVE. It observes no exchange: the runner reports each honest client's attempts.
pub(super) struct Liveness;

impl Liveness {
    /// The verdict on honest client `client`, which completed a call (`done`) or not.
    pub(super) fn judge(client: usize, done: bool) -> Verdict {
        Verdict::from((!done).then(|| format!("honest{client} did not complete a call in 3 attempts")))
    }
}

impl Invariant for Liveness {
    const SPEC: Spec = Spec {
        id: "INV-LIVE",
        statement: "with no attacker, once faults stop, every honest client completes a call within 3 attempts",
        requirements: &[],
    };
}
