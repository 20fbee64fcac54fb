//! INV-SCOPE: no token from a code or a refresh carries scope beyond the consent of its
//! authorization request.

use super::{Exchange, Grant, Invariant, Spec, Verdict, scope_set};
use crate::explore::tap::query_param;
use std::collections::{BTreeMap, BTreeSet};

/// INV-SCOPE. The ground truth: the scope each authorization request asked for (every
/// request is auto-approved, so that is the consent), by the code it gave, and the
/// consent each refresh token descends from (`None`: not known).
#[derive(Default)]
pub(super) struct ConsentedScope {
    /// Code → the scope its authorization request asked for.
    by_code: BTreeMap<String, BTreeSet<String>>,
    /// Refresh token → the consent of its family.
    by_refresh: BTreeMap<String, Option<BTreeSet<String>>>,
}

/// The evidence when `granted` holds a scope outside `consent` (both known).
fn beyond_consent(
    consent: Option<&BTreeSet<String>>,
    granted: Option<&BTreeSet<String>>,
    to: &str,
) -> Option<String> {
    let (consent, granted) = (consent?, granted?);
    let extra: Vec<&str> = granted.difference(consent).map(String::as_str).collect();
    (!extra.is_empty()).then(|| {
        let consent: Vec<&str> = consent.iter().map(String::as_str).collect();
        format!("{to} was granted {extra:?} beyond the consented {consent:?}")
    })
}

impl Invariant for ConsentedScope {
    const SPEC: Spec = Spec {
        id: "INV-SCOPE",
        statement: "no token issued from a code or a refresh carries a scope beyond the one consented to at its authorization request",
        requirements: &["AS-01"],
    };

    /// Records the consent of every authorization response with a code; judges the scope
    /// granted at every code redemption and refresh.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let o = exchange.seen;
        if o.from.is_browser()
            && let Some(code) = o.location.as_deref().and_then(|l| query_param(l, "code"))
            && let Some(scope) = query_param(&o.request.uri().to_string(), "scope")
        {
            self.by_code.insert(code, scope_set(&scope));
        }
        let Some(request) = &exchange.token else { return Verdict::Untouched };
        let granted = request.scope.as_ref();
        match request.grant() {
            Grant::Code(code) => {
                let mut found = None;
                if request.answered {
                    let consent = self.by_code.get(code).cloned();
                    found = beyond_consent(consent.as_ref(), granted, o.from.name());
                    if let Some(rt) = &request.refresh_token {
                        self.by_refresh.insert(rt.clone(), consent);
                    }
                }
                Verdict::from(found)
            }
            Grant::Refresh(rt) => {
                let consent = match self.by_refresh.get(rt) {
                    Some(consent) => consent.clone(),
                    None if request.answered => None,
                    None => return Verdict::Untouched,
                };
                if !request.answered {
                    return Verdict::Untouched;
                }
                let found = beyond_consent(consent.as_ref(), granted, o.from.name());
                self.by_refresh.insert(rt.to_string(), consent.clone());
                if let Some(new) = &request.refresh_token {
                    self.by_refresh.entry(new.clone()).or_insert(consent);
                }
                // A consent is known only from a redemption, which already counted as
                // exercising this invariant.
                found.map_or(Verdict::Untouched, Verdict::Broken)
            }
            Grant::Other => Verdict::Untouched,
        }
    }
}
