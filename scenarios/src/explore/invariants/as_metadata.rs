//! INV-ASMETA: no honest client registers, authorizes or redeems at an AS whose metadata
//! names another issuer or lacks S256.

use super::{Exchange, Invariant, Spec, Verdict, is_honest};
use crate::explore::model::HostileAsMetadata;

/// INV-ASMETA. The ground truth is fixed: the origins of the attacker's authorization
/// servers, by the hostile metadata each serves.
pub(super) struct RogueAsUse;

impl Invariant for RogueAsUse {
    const SPEC: Spec = Spec {
        id: "INV-ASMETA",
        statement: "no honest client registers, authorizes or redeems at an authorization server whose metadata names another issuer or lacks PKCE S256",
        requirements: &["CL-09", "CL-29"],
    };

    /// Judges every request an honest party sends to an attacker's authorization server.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let o = exchange.seen;
        let Some(rogue) = HostileAsMetadata::ALL.into_iter().find(|k| k.origin() == o.to) else {
            return Verdict::Untouched;
        };
        if !is_honest(&o.from) {
            return Verdict::Untouched;
        }
        Verdict::from(
            ["/register", "/authorize", "/token"].contains(&o.path()).then(|| {
                format!("{} used {} at an AS whose metadata is hostile ({rogue:?})", o.from, o.path())
            }),
        )
    }
}
