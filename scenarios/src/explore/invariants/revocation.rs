//! INV-REVOKE: a revoked refresh token is no longer valid.

use super::{Exchange, Invariant, Spec, Verdict, is_honest, is_issuer};

/// INV-REVOKE. The ground truth: the refresh tokens an honest party revoked with a 200
/// answer.
#[derive(Default)]
pub(super) struct Revocation {
    revoked: Vec<String>,
}

impl Invariant for Revocation {
    const SPEC: Spec = Spec {
        id: "INV-REVOKE",
        statement: "a refresh token revoked with a 200 answer is no longer valid",
        requirements: &["AS-01"],
    };

    /// Records every revocation an authorization server confirmed to an honest party.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let o = exchange.seen;
        if is_issuer(&o.to)
            && o.path() == "/revoke"
            && o.status == 200
            && is_honest(&o.from)
            && let Some(t) = o.form().get("token")
        {
            self.revoked.push(t.clone());
        }
        Verdict::Untouched
    }

    /// Every revoked refresh token.
    fn must_be_inactive(&self) -> Vec<(String, String)> {
        let why = "a revoked refresh token is still active";
        self.revoked.iter().map(|t| (t.clone(), why.to_string())).collect()
    }
}
