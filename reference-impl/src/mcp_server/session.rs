//! MCP sessions (Streamable HTTP §Session Management), bound to the principal that
//! opened them (MCP security best practices §Session Hijacking).
//!
//! A session id is 256 bits from the CSPRNG of the [`Env`](crate::sans_io::Env). It is
//! never a credential: every request still carries and validates its own token, and the
//! session is only found when that token's principal (`sub` + `client_id`) is the one
//! that opened it. Another principal presenting the id gets the same 404 as for an unknown
//! id, so a stolen id cannot even be confirmed to exist.

use crate::access_token::AccessTokenClaims;
use crate::defects::{Defect, Defects};
use crate::sans_io::{Env, Time};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Who a token speaks for: the resource owner and the client acting for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Principal {
    /// The `sub` claim.
    pub sub: String,
    /// The `client_id` claim.
    pub client_id: String,
}

impl Principal {
    /// The principal of validated claims (the validator guarantees both are present).
    pub fn of(claims: &AccessTokenClaims) -> Self {
        Principal {
            sub: claims.sub.clone().unwrap_or_default(),
            client_id: claims.client_id.clone().unwrap_or_default(),
        }
    }

    /// True when `claims` speak for this principal: `Principal::of(claims) == *self`,
    /// without copying them.
    fn opened(&self, claims: &AccessTokenClaims) -> bool {
        claims.sub.as_deref().unwrap_or_default() == self.sub
            && claims.client_id.as_deref().unwrap_or_default() == self.client_id
    }
}

#[derive(Debug)]
struct Session {
    /// The claims of the token that opened the session (its principal owns it).
    opened_by: AccessTokenClaims,
    protocol_version: String,
    last_used: Time,
}

/// The open sessions, keyed by id.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: BTreeMap<String, Session>,
    idle_timeout: Duration,
    defects: Defects,
    opened: u64,
    /// No session in `by_id` was last used before this (`None`: there is none): the sweep
    /// of idle sessions walks them only once one may have idled out.
    oldest_use: Option<Time>,
    /// Each principal's session ids, oldest opened first.
    by_principal: BTreeMap<Principal, VecDeque<String>>,
    /// The most live sessions a principal may hold (0: no limit).
    per_principal: usize,
}

impl Sessions {
    /// No sessions; each is forgotten after `idle_timeout` without use. `defects` may
    /// unbind sessions from principals or make their ids sequential.
    pub fn new(idle_timeout: Duration, defects: &Defects) -> Self {
        Sessions {
            by_id: BTreeMap::new(),
            idle_timeout,
            defects: defects.clone(),
            opened: 0,
            oldest_use: None,
            by_principal: BTreeMap::new(),
            per_principal: 0,
        }
    }

    /// At most `n` live sessions per principal: opening one more closes its oldest.
    pub fn at_most_per_principal(mut self, n: usize) -> Self {
        self.per_principal = n;
        self
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Forgets the ids of `principal` no longer in `by_id`.
    fn forget_closed(&mut self) {
        let by_id = &self.by_id;
        self.by_principal.retain(|_, ids| {
            ids.retain(|id| by_id.contains_key(id));
            !ids.is_empty()
        });
    }

    /// Opens a session for the principal of `claims` and returns its fresh id.
    pub fn open(&mut self, claims: &AccessTokenClaims, protocol_version: &str, env: &mut Env<'_>) -> String {
        let now = env.now;
        if self.oldest_use.is_some_and(|t| now.since(t) >= self.idle_timeout) {
            self.by_id.retain(|_, s| now.since(s.last_used) < self.idle_timeout);
            self.oldest_use = self.by_id.values().map(|s| s.last_used).min();
            self.forget_closed();
        }
        self.opened += 1;
        let id = if self.defects.has(Defect::PredictableSessionId) {
            format!("session-{}", self.opened)
        } else {
            env.random_string(32)
        };
        let session =
            Session { opened_by: claims.clone(), protocol_version: protocol_version.into(), last_used: now };
        self.by_id.insert(id.clone(), session);
        self.oldest_use = Some(used(self.oldest_use, now));
        let (by_id, cap) = (&mut self.by_id, self.per_principal);
        let ids = self.by_principal.entry(Principal::of(claims)).or_default();
        // Without a cap (0) nothing is evicted, so there is nothing to prune: skipping the
        // scan keeps an uncapped flood linear.
        if cap > 0 {
            ids.retain(|id| by_id.contains_key(id));
        }
        ids.push_back(id.clone());
        while cap > 0 && ids.len() > cap {
            if let Some(oldest) = ids.pop_front() {
                by_id.remove(&oldest);
            }
        }
        id
    }

    /// The negotiated protocol version of session `id`, when it exists, has not idled
    /// out, and belongs to `principal`; marks it used.
    pub fn resume(&mut self, id: &str, principal: &Principal, now: Time) -> Option<&str> {
        if self.by_id.get(id).is_some_and(|s| now.since(s.last_used) >= self.idle_timeout) {
            self.by_id.remove(id);
        }
        let bound = !self.defects.has(Defect::SessionNotBound);
        let s = self.by_id.get_mut(id).filter(|s| !bound || principal.opened(&s.opened_by))?;
        s.last_used = now;
        self.oldest_use = Some(used(self.oldest_use, now));
        Some(&s.protocol_version)
    }

    /// The claims that opened session `id`, if it is open (only the
    /// `session-as-authentication` defect asks).
    pub fn opened_by(&self, id: &str, now: Time) -> Option<AccessTokenClaims> {
        let s = self.by_id.get(id).filter(|s| now.since(s.last_used) < self.idle_timeout)?;
        Some(s.opened_by.clone())
    }

    /// Ends session `id` if `principal` owns it; false when there was no such session.
    pub fn terminate(&mut self, id: &str, principal: &Principal, now: Time) -> bool {
        self.resume(id, principal, now).is_some() && self.by_id.remove(id).is_some()
    }
}

/// The lower bound of every session's `last_used` once one was used at `now`, from the
/// bound `oldest` before.
fn used(oldest: Option<Time>, now: Time) -> Time {
    oldest.map_or(now, |t| t.min(now))
}
