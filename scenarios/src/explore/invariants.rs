//! The safety invariants checked after every step of an explored case (and the liveness
//! property checked at its end), each with a stable ID and the requirements of
//! `spec/requirements.md` it protects. The checks themselves live in
//! [`super::runner`], which holds the ground truth they compare against.

use serde::{Deserialize, Serialize};

/// One invariant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invariant {
    /// Stable ID, e.g. `INV-TOOL`.
    pub id: &'static str,
    /// What must hold.
    pub statement: &'static str,
    /// The requirement IDs it protects.
    pub requirements: &'static [&'static str],
}

/// No tool runs unless the request carried a token valid at that instant, signed by the
/// trusted AS, whose audience is that server and whose scopes cover the tool.
pub const TOOL: Invariant = Invariant {
    id: "INV-TOOL",
    statement: "no tool runs unless the request carried a token, valid at that instant, issued by the trusted AS, whose audience is that server and whose scopes cover the tool",
    requirements: &["RS-07", "RS-08", "RS-11", "RS-13", "RS-17", "RS-20"],
};

/// Every authorization code is redeemed at most once; after a second attempt no token
/// from it is valid.
pub const CODE: Invariant = Invariant {
    id: "INV-CODE",
    statement: "every authorization code is redeemed at most once; after a second attempt no token from it is valid",
    requirements: &["AS-01"],
};

/// After a refresh-token reuse, no token of that family is valid.
pub const FAMILY: Invariant = Invariant {
    id: "INV-FAMILY",
    statement: "after a refresh-token reuse, no token of that family is valid",
    requirements: &["AS-18", "AS-01"],
};

/// The attacker never holds a valid token it did not obtain through its own
/// registration and consent.
pub const LOOT: Invariant = Invariant {
    id: "INV-LOOT",
    statement: "the attacker never holds a valid token it did not obtain through its own legitimate registration and consent",
    requirements: &["AS-01", "AS-18", "CL-28"],
};

/// No honest party sends a token to a server it was not issued for.
pub const AUDIENCE: Invariant = Invariant {
    id: "INV-SEND",
    statement: "no honest party sends a token to a server it was not issued for",
    requirements: &["RS-12", "RS-18", "CL-25"],
};

/// No token appears in a URL.
pub const URL: Invariant =
    Invariant { id: "INV-URL", statement: "no token appears in a URL", requirements: &["CL-24"] };

/// A session never serves a principal other than the one it was created for.
pub const SESSION: Invariant = Invariant {
    id: "INV-SESSION",
    statement: "a session never serves a principal other than the one it was created for",
    requirements: &["RS-20", "RS-22"],
};

/// No token carries a scope beyond the one consented to at the authorization request
/// it descends from.
pub const SCOPE: Invariant = Invariant {
    id: "INV-SCOPE",
    statement: "no token issued from a code or a refresh carries a scope beyond the one consented to at its authorization request",
    requirements: &["AS-01"],
};

/// A revoked refresh token is no longer valid.
pub const REVOKE: Invariant = Invariant {
    id: "INV-REVOKE",
    statement: "a refresh token revoked with a 200 answer is no longer valid",
    requirements: &["AS-01"],
};

/// The AS refuses or narrows hostile client metadata at registration.
pub const REGISTER: Invariant = Invariant {
    id: "INV-REGISTER",
    statement: "a dynamically registered client gets no scope beyond the registration policy, never a client_id it chose, and only https or loopback redirect URIs",
    requirements: &["AS-04", "AS-01", "CL-33"],
};

/// Honest clients use no authorization server whose metadata is hostile.
pub const AS_METADATA: Invariant = Invariant {
    id: "INV-ASMETA",
    statement: "no honest client registers, authorizes or redeems at an authorization server whose metadata names another issuer or lacks PKCE S256",
    requirements: &["CL-09", "CL-29"],
};

/// Codes go only to registered redirect URIs.
pub const REDIRECT: Invariant = Invariant {
    id: "INV-REDIRECT",
    statement: "the AS sends an authorization code only to a redirect URI registered for the client, compared exactly",
    requirements: &["AS-20", "AS-09"],
};

/// Liveness: with no attacker, once faults stop every honest client completes a call.
pub const LIVE: Invariant = Invariant {
    id: "INV-LIVE",
    statement: "with no attacker, once faults stop, every honest client completes a call within 3 attempts",
    requirements: &[],
};

/// Every invariant, in ID order of checking.
pub const ALL: &[Invariant] =
    &[TOOL, CODE, FAMILY, LOOT, AUDIENCE, URL, SESSION, SCOPE, REVOKE, REGISTER, AS_METADATA, REDIRECT, LIVE];

/// A broken invariant: which, where in the case, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The invariant ID.
    pub invariant: String,
    /// The requirements it protects.
    pub requirements: Vec<String>,
    /// Index of the action after which it was found (the number of actions for the
    /// final liveness check).
    pub step: usize,
    /// What was observed.
    pub detail: String,
}

impl Violation {
    /// A violation of `inv` after action `step`.
    pub fn new(inv: Invariant, step: usize, detail: impl Into<String>) -> Self {
        Violation {
            invariant: inv.id.to_string(),
            requirements: inv.requirements.iter().map(|r| r.to_string()).collect(),
            step,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_name_known_requirements() {
        let spec = include_str!("../../requirements.md");
        let mut ids: Vec<&str> = ALL.iter().map(|i| i.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        for inv in ALL {
            for r in inv.requirements {
                assert!(spec.contains(&format!("| {r} |")), "{} names unknown requirement {r}", inv.id);
            }
        }
    }
}
