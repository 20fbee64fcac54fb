//! INV-CODE: a code is redeemed at most once; after a second attempt no token from it is
//! valid. A request the AS refused for its DPoP proof (a replayed or duplicated one, say)
//! is no attempt: the AS refused it before reading its code.

use super::{Exchange, Grant, Invariant, Spec, Verdict};
use std::collections::BTreeMap;

/// An authorization code as observed at the token endpoint.
#[derive(Default)]
struct Code {
    attempts: u32,
    redemptions: u32,
    /// The tokens its redemptions issued.
    tokens: Vec<String>,
}

/// INV-CODE. The ground truth: every code presented at a token endpoint, how often, how
/// often it was redeemed, and the tokens it gave.
#[derive(Default)]
pub(super) struct CodeReuse {
    codes: BTreeMap<String, Code>,
}

impl Invariant for CodeReuse {
    const SPEC: Spec = Spec {
        id: "INV-CODE",
        statement: "every authorization code is redeemed at most once; after a second attempt no token from it is valid",
        requirements: &["AS-01"],
    };

    /// Judges every code presented at a token endpoint.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let Some(request) = &exchange.token else { return Verdict::Untouched };
        let Grant::Code(code) = request.grant() else { return Verdict::Untouched };
        if request.refused_for_its_proof() {
            return Verdict::Untouched;
        }
        let entry = self.codes.entry(code.to_string()).or_default();
        entry.attempts += 1;
        if request.answered {
            entry.redemptions += 1;
            entry.tokens.extend(request.issued.iter().cloned());
        }
        Verdict::from((entry.redemptions > 1).then(|| {
            format!("a code was redeemed {} times (last by {})", entry.redemptions, exchange.seen.from)
        }))
    }

    /// Every token from a code presented more than once.
    fn must_be_inactive(&self) -> Vec<(String, String)> {
        let reused = self.codes.values().filter(|c| c.attempts > 1);
        reused
            .flat_map(|c| {
                let why =
                    format!("a code was presented {} times, yet a token from it is still active", c.attempts);
                c.tokens.iter().map(move |t| (t.clone(), why.clone()))
            })
            .collect()
    }
}
