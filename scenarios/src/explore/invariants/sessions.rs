//! INV-SESSION: a session serves only the principal that opened it.

use super::{Exchange, Invariant, Spec, Verdict};
use crate::explore::model::Server;
use std::collections::BTreeMap;

/// INV-SESSION. The ground truth: the principal (`sub`, `client_id`) whose token opened
/// each session an MCP server handed out.
#[derive(Default)]
pub(super) struct SessionOwners {
    /// `(server, session id)` → principal that opened it.
    owners: BTreeMap<(Server, String), (String, String)>,
}

impl SessionOwners {
    /// The principal that opened `session` at `server`.
    pub(super) fn owner(&self, server: Server, session: &str) -> Option<&(String, String)> {
        self.owners.get(&(server, session.to_string()))
    }
}

impl Invariant for SessionOwners {
    const SPEC: Spec = Spec {
        id: "INV-SESSION",
        statement: "a session never serves a principal other than the one it was created for",
        requirements: &["RS-20", "RS-22"],
    };

    /// Records a session an MCP server opens; judges a request it serves in a session.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let (o, Some(server)) = (exchange.seen, exchange.server) else { return Verdict::Untouched };
        if !(200..300).contains(&o.status) {
            return Verdict::Untouched;
        }
        let principal = exchange.principal();
        if let Some(id) = &o.response_session {
            if let Some(p) = principal {
                self.owners.insert((server, id.clone()), p);
            }
            return Verdict::Untouched;
        }
        let Some(owner) = o.header("mcp-session-id").and_then(|id| self.owner(server, id)) else {
            return Verdict::Untouched;
        };
        Verdict::from((principal.as_ref() != Some(owner)).then(|| {
            format!("{server:?} served session of {owner:?} to {} presenting {principal:?}", o.from)
        }))
    }
}
