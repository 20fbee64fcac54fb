//! The safety invariants checked after every step of an explored case (and the liveness
//! property checked at its end), each a type implementing the trait `Invariant`: a stable
//! ID and the requirements of `spec/requirements.md` it protects (its [`Spec`]), the
//! ground truth it keeps from watching the network, and its judgement of every exchange
//! the runner's tap sees. `Invariants` holds one of each for a run and hands them every
//! exchange in a fixed order; the runner drives the actions and reads the tap.
//!
//! - `tool_calls`: INV-TOOL. `sessions`: INV-SESSION. `dpop_binding`: INV-DPOP.
//! - `code_reuse`: INV-CODE. `refresh_reuse`: INV-FAMILY. `attacker_loot`: INV-LOOT.
//!   `revocation`: INV-REVOKE. `consent`: INV-SCOPE.
//! - `token_leaks`: INV-URL and INV-SEND. `registration`: INV-REGISTER and INV-REDIRECT.
//!   `as_metadata`: INV-ASMETA. `liveness`: INV-LIVE.

mod as_metadata;
mod attacker_loot;
mod code_reuse;
mod consent;
mod dpop_binding;
mod liveness;
mod refresh_reuse;
mod registration;
mod revocation;
mod sessions;
mod token_leaks;
mod tool_calls;

use super::model::{Server, ToolTable};
use super::runner::{AS2, SERVICE};
use super::tap::{Observed, unverified_claims};
use crate::world::AS;
use as_metadata::RogueAsUse;
use attacker_loot::AttackerLoot;
use code_reuse::CodeReuse;
use consent::ConsentedScope;
use dpop_binding::DpopBinding;
use liveness::Liveness;
use mcp_authz_reference::access_token::{AccessTokenClaims, Validator};
use mcp_authz_sim::party::Party;
use refresh_reuse::RefreshReuse;
use registration::{RegisteredRedirects, RegistrationPolicy};
use revocation::Revocation;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sessions::SessionOwners;
use std::collections::{BTreeMap, BTreeSet};
use token_leaks::{TokenAudience, TokenInUrl};
use tool_calls::ToolCalls;

/// What an invariant is: its stable ID, what must hold, and the requirements it protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Stable ID, e.g. `INV-TOOL`.
    pub id: &'static str,
    /// What must hold.
    pub statement: &'static str,
    /// The requirement IDs it protects.
    pub requirements: &'static [&'static str],
}

/// Every invariant, in the order of the exploration chapter's table (docs/src/exploration.md).
pub const ALL: &[Spec] = &[
    ToolCalls::SPEC,
    CodeReuse::SPEC,
    RefreshReuse::SPEC,
    AttackerLoot::SPEC,
    TokenAudience::SPEC,
    TokenInUrl::SPEC,
    SessionOwners::SPEC,
    ConsentedScope::SPEC,
    Revocation::SPEC,
    RegistrationPolicy::SPEC,
    RogueAsUse::SPEC,
    RegisteredRedirects::SPEC,
    DpopBinding::SPEC,
    Liveness::SPEC,
];

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
    /// A violation of `spec` after action `step`.
    pub fn new(spec: Spec, step: usize, detail: impl Into<String>) -> Self {
        Violation {
            invariant: spec.id.to_string(),
            requirements: spec.requirements.iter().map(|r| r.to_string()).collect(),
            step,
            detail: detail.into(),
        }
    }
}

/// What an invariant made of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Nothing it judges (its ground truth may have grown).
    Untouched,
    /// It judged the exchange, and it holds.
    Holds,
    /// It judged the exchange, and it is broken: what was observed.
    Broken(String),
}

impl From<Option<String>> for Verdict {
    /// A judgement: broken with the evidence given, else holds.
    fn from(evidence: Option<String>) -> Verdict {
        evidence.map_or(Verdict::Holds, Verdict::Broken)
    }
}

/// An invariant of the explored world, with the ground truth it needs to judge it.
pub(super) trait Invariant {
    /// Its ID, statement and the requirements it protects.
    const SPEC: Spec;

    /// Takes in one exchange seen on the network: records what its ground truth needs
    /// and judges the exchange.
    fn observe(&mut self, _exchange: &Exchange<'_>) -> Verdict {
        Verdict::Untouched
    }

    /// The tokens the authorization servers must no longer accept, each with why; after
    /// every step they are checked against the servers' introspection.
    fn must_be_inactive(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// One exchange the tap saw, with what several invariants read of it decoded once.
pub(super) struct Exchange<'a> {
    /// The request as delivered, and its answer.
    pub(super) seen: &'a Observed,
    /// The access token the request carried (`Bearer` or `DPoP`).
    pub(super) bearer: Option<String>,
    /// That token's claims, unverified (to attribute it, never to trust it).
    pub(super) claims: Option<AccessTokenClaims>,
    /// The MCP server the request was addressed to.
    pub(super) server: Option<Server>,
    /// The request, when it went to an authorization server's token endpoint.
    pub(super) token: Option<TokenRequest>,
}

impl<'a> Exchange<'a> {
    /// Decodes `seen`.
    pub(super) fn new(seen: &'a Observed) -> Exchange<'a> {
        let bearer = seen.access_token();
        let claims = bearer.as_deref().and_then(unverified_claims);
        let server = Server::of_url(&format!("{}{}", seen.to, seen.path()));
        let token = (server.is_none() && is_issuer(&seen.to) && seen.path() == "/token")
            .then(|| TokenRequest::of(seen));
        Exchange { seen, bearer, claims, server, token }
    }

    /// The principal (`sub`, `client_id`) the bearer token speaks for, by its claims.
    pub(super) fn principal(&self) -> Option<(String, String)> {
        let c = self.claims.as_ref()?;
        Some((c.sub.clone().unwrap_or_default(), c.client_id.clone().unwrap_or_default()))
    }
}

/// A token request and the authorization server's answer.
pub(super) struct TokenRequest {
    /// The form sent.
    pub(super) form: BTreeMap<String, String>,
    /// Whether the AS answered 200.
    pub(super) answered: bool,
    /// The tokens it issued: the access token, then the refresh token.
    pub(super) issued: Vec<String>,
    /// The refresh token it issued.
    pub(super) refresh_token: Option<String>,
    /// The scope it says it granted.
    pub(super) scope: Option<BTreeSet<String>>,
    /// The OAuth `error` of a refusal.
    pub(super) error: Option<String>,
}

/// What a token request presents.
pub(super) enum Grant<'a> {
    /// An authorization code.
    Code(&'a str),
    /// A refresh token.
    Refresh(&'a str),
    /// Anything else, or a grant without what it presents.
    Other,
}

impl TokenRequest {
    fn of(seen: &Observed) -> TokenRequest {
        let answered = seen.status == 200;
        let answer = serde_json::from_slice::<Value>(&seen.response_body).ok();
        let field =
            |k: &str| answer.as_ref().filter(|_| answered).and_then(|b| b.get(k)).and_then(Value::as_str);
        let error =
            answer.as_ref().filter(|_| !answered).and_then(|b| b.get("error")).and_then(Value::as_str);
        TokenRequest {
            form: seen.form(),
            answered,
            issued: ["access_token", "refresh_token"]
                .into_iter()
                .filter_map(field)
                .map(String::from)
                .collect(),
            refresh_token: field("refresh_token").map(String::from),
            scope: field("scope").map(scope_set),
            error: error.map(String::from),
        }
    }

    /// True when the AS refused the request for its DPoP proof (RFC 9449 §5, §8:
    /// `invalid_dpop_proof`, `use_dpop_nonce`), before reading its grant.
    pub(super) fn refused_for_its_proof(&self) -> bool {
        matches!(self.error.as_deref(), Some("invalid_dpop_proof" | "use_dpop_nonce"))
    }

    /// What the request presents.
    pub(super) fn grant(&self) -> Grant<'_> {
        match self.form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.form.get("code").map_or(Grant::Other, |c| Grant::Code(c)),
            Some("refresh_token") => {
                self.form.get("refresh_token").map_or(Grant::Other, |t| Grant::Refresh(t))
            }
            _ => Grant::Other,
        }
    }
}

/// The scopes of a space-separated `scope` value.
pub(super) fn scope_set(scope: &str) -> BTreeSet<String> {
    scope.split(' ').filter(|s| !s.is_empty()).map(String::from).collect()
}

/// True for the origin of an authorization server.
pub(super) fn is_issuer(origin: &str) -> bool {
    origin == AS || origin == AS2
}

/// Honest senders: honest clients, their browsers, the confidential client, and the
/// servers themselves.
pub(super) fn is_honest(party: &Party) -> bool {
    party.acts_for("honest") || *party == SERVICE || party.name().starts_with("https://")
}

/// One of each invariant for a run, with the ground truth each keeps.
pub(super) struct Invariants {
    url: TokenInUrl,
    send: TokenAudience,
    register: RegistrationPolicy,
    rogue: RogueAsUse,
    redirect: RegisteredRedirects,
    session: SessionOwners,
    tool: ToolCalls,
    dpop: DpopBinding,
    code: CodeReuse,
    scope: ConsentedScope,
    family: RefreshReuse,
    loot: AttackerLoot,
    revoke: Revocation,
    /// IDs of the invariants that had something to examine.
    exercised: BTreeSet<&'static str>,
    /// Tokens known to be inactive for good (expired or revoked never comes back).
    dead: BTreeSet<String>,
}

impl Invariants {
    /// The invariants of a run whose MCP servers trust the issuers of `validators` and
    /// offer the tools of `tables`.
    pub(super) fn new(validators: BTreeMap<Server, Validator>, tables: BTreeMap<Server, ToolTable>) -> Self {
        Invariants {
            url: TokenInUrl,
            send: TokenAudience,
            register: RegistrationPolicy,
            rogue: RogueAsUse,
            redirect: RegisteredRedirects::default(),
            session: SessionOwners::default(),
            tool: ToolCalls::new(validators, tables),
            dpop: DpopBinding::default(),
            code: CodeReuse::default(),
            scope: ConsentedScope::default(),
            family: RefreshReuse::default(),
            loot: AttackerLoot::default(),
            revoke: Revocation::default(),
            exercised: BTreeSet::new(),
            dead: BTreeSet::new(),
        }
    }

    /// Hands `exchange` to every invariant; the first violation, found after action
    /// `step`.
    pub(super) fn observe(&mut self, exchange: &Exchange<'_>, step: usize) -> Option<Violation> {
        let mut judged = Judged { step, exercised: &mut self.exercised, first: None };
        judged.observe(&mut self.url, exchange);
        judged.observe(&mut self.send, exchange);
        judged.observe(&mut self.register, exchange);
        judged.observe(&mut self.rogue, exchange);
        judged.observe(&mut self.redirect, exchange);
        // A session served to another principal: what ran in it is not judged as well.
        if !judged.observe(&mut self.session, exchange) {
            judged.observe(&mut self.tool, exchange);
        }
        judged.observe(&mut self.dpop, exchange);
        judged.observe(&mut self.code, exchange);
        judged.observe(&mut self.scope, exchange);
        judged.observe(&mut self.family, exchange);
        judged.observe(&mut self.loot, exchange);
        judged.observe(&mut self.revoke, exchange);
        judged.first
    }

    /// The invariants about what the authorization servers still accept, after action
    /// `step`: `active` says whether a token is (by their introspection).
    pub(super) fn check_inactive(
        &mut self,
        step: usize,
        mut active: impl FnMut(&str) -> bool,
    ) -> Option<Violation> {
        let mut suspects = Vec::new();
        let exercised = &mut self.exercised;
        must_be_inactive(&self.code, exercised, &mut suspects);
        must_be_inactive(&self.family, exercised, &mut suspects);
        must_be_inactive(&self.loot, exercised, &mut suspects);
        must_be_inactive(&self.revoke, exercised, &mut suspects);
        for (spec, token, why) in suspects {
            if self.dead.contains(&token) {
                continue;
            }
            if active(&token) {
                let short: String = token.chars().take(12).collect();
                return Some(Violation::new(spec, step, format!("{why} ({short}…)")));
            }
            self.dead.insert(token);
        }
        None
    }

    /// INV-LIVE for honest client `client`, which completed a call (`done`) or not,
    /// checked after action `step`.
    pub(super) fn liveness(&mut self, client: usize, done: bool, step: usize) -> Option<Violation> {
        let mut judged = Judged { step, exercised: &mut self.exercised, first: None };
        judged.record::<Liveness>(Liveness::judge(client, done));
        judged.first
    }

    /// The principal (`sub`, `client_id`) that opened `session` at `server`.
    pub(super) fn session_owner(&self, server: Server, session: &str) -> Option<&(String, String)> {
        self.session.owner(server, session)
    }

    /// IDs of the invariants that had something to examine.
    pub(super) fn exercised(&self) -> &BTreeSet<&'static str> {
        &self.exercised
    }
}

/// Adds to `out` the tokens `invariant` says must be inactive, each with the invariant and
/// why; an invariant with any counts as exercised.
fn must_be_inactive<I: Invariant>(
    invariant: &I,
    exercised: &mut BTreeSet<&'static str>,
    out: &mut Vec<(Spec, String, String)>,
) {
    let tokens = invariant.must_be_inactive();
    if !tokens.is_empty() {
        exercised.insert(I::SPEC.id);
    }
    out.extend(tokens.into_iter().map(|(token, why)| (I::SPEC, token, why)));
}

/// The verdicts on one exchange, as they come.
struct Judged<'a> {
    step: usize,
    exercised: &'a mut BTreeSet<&'static str>,
    first: Option<Violation>,
}

impl Judged<'_> {
    /// Hands `exchange` to `invariant`; true when it found it broken.
    fn observe<I: Invariant>(&mut self, invariant: &mut I, exchange: &Exchange<'_>) -> bool {
        self.record::<I>(invariant.observe(exchange))
    }

    /// Records `I`'s verdict; true when it is broken.
    fn record<I: Invariant>(&mut self, verdict: Verdict) -> bool {
        if verdict != Verdict::Untouched {
            self.exercised.insert(I::SPEC.id);
        }
        let Verdict::Broken(evidence) = verdict else { return false };
        self.first.get_or_insert_with(|| Violation::new(I::SPEC, self.step, evidence));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_name_known_requirements() {
        let spec = include_str!("../../../requirements.md");
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
