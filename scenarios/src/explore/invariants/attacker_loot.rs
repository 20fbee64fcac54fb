//! INV-LOOT: the attacker never holds a valid token the AS gave it without its own
//! consent.

use super::{Exchange, Invariant, Spec, Verdict};

/// INV-LOOT. The ground truth: the tokens a token endpoint issued in answer to an
/// attacker's own request (codes, refresh tokens or requests it stole: not its own
/// client's, which it consented to), with the attacker.
#[derive(Default)]
pub(super) struct AttackerLoot {
    held: Vec<(usize, String)>,
}

/// The attacker a party name is, e.g. 1 for `attacker1`.
impl Invariant for AttackerLoot {
    const SPEC: Spec = Spec {
        id: "INV-LOOT",
        statement: "the attacker never holds a valid token it did not obtain through its own legitimate registration and consent",
        requirements: &["AS-01", "AS-18", "CL-28"],
    };

    /// Records the tokens a token endpoint gives an attacker.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        if let Some(request) = &exchange.token
            && let Some(a) = exchange.seen.from.index_after("attacker")
        {
            self.held.extend(request.issued.iter().map(|t| (a, t.clone())));
        }
        Verdict::Untouched
    }

    /// Every token an attacker was given.
    fn must_be_inactive(&self) -> Vec<(String, String)> {
        let why =
            |a| format!("attacker{a} obtained a token from the AS without its own consent, and it is active");
        self.held.iter().map(|(a, t)| (t.clone(), why(a))).collect()
    }
}
