//! INV-FAMILY: after a refresh-token reuse no token of that family is valid.

use super::{Exchange, Grant, Invariant, Spec, Verdict};
use std::collections::BTreeMap;

/// A refresh-token family as observed: the tokens of one code redemption and of the
/// refreshes that descend from it.
#[derive(Default)]
struct Family {
    tokens: Vec<String>,
    reused: bool,
}

/// INV-FAMILY. The ground truth: the families, and for each refresh token its family and
/// whether it was already presented successfully.
#[derive(Default)]
pub(super) struct RefreshReuse {
    families: Vec<Family>,
    /// Refresh token → (family, already presented successfully).
    refresh: BTreeMap<String, (usize, bool)>,
}

impl Invariant for RefreshReuse {
    const SPEC: Spec = Spec {
        id: "INV-FAMILY",
        statement: "after a refresh-token reuse, no token of that family is valid",
        requirements: &["AS-18", "AS-01"],
    };

    /// Starts a family at every code redemption, grows it at every refresh, and marks it
    /// reused when one of its refresh tokens is presented again.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let Some(request) = &exchange.token else { return Verdict::Untouched };
        let answered = request.answered;
        match request.grant() {
            Grant::Code(_) if answered => {
                let family = self.families.len();
                self.families.push(Family { tokens: request.issued.clone(), reused: false });
                if let Some(rt) = &request.refresh_token {
                    self.refresh.insert(rt.clone(), (family, false));
                }
                Verdict::Untouched
            }
            Grant::Refresh(rt) => {
                let (family, presented) = match self.refresh.get(rt).copied() {
                    Some(known) => known,
                    None if answered => {
                        self.families.push(Family::default());
                        (self.families.len() - 1, false)
                    }
                    None => return Verdict::Untouched,
                };
                if presented && let Some(f) = self.families.get_mut(family) {
                    f.reused = true;
                }
                if answered {
                    self.refresh.insert(rt.to_string(), (family, true));
                    if let Some(f) = self.families.get_mut(family) {
                        f.tokens.extend(request.issued.iter().cloned());
                    }
                    if let Some(new) = &request.refresh_token {
                        self.refresh.entry(new.clone()).or_insert((family, false));
                    }
                }
                if presented { Verdict::Holds } else { Verdict::Untouched }
            }
            _ => Verdict::Untouched,
        }
    }

    /// Every token of a family one of whose refresh tokens was reused.
    fn must_be_inactive(&self) -> Vec<(String, String)> {
        let why = "a refresh token was reused, yet a token of its family is still active";
        let reused = self.families.iter().filter(|f| f.reused);
        reused.flat_map(|f| f.tokens.iter().map(|t| (t.clone(), why.to_string()))).collect()
    }
}
