//! The scenario model: what a case checks, the verdict it reaches, and the evidence.
//!
//! A [`Scenario`] has a stable ID (`RS-AUD-01`), the role it tests, the requirement IDs
//! it checks (from the project's requirements list), the RFC 9700 section where one
//! applies, a level (MUST → `fail`, SHOULD → `warn`), what it lets the adversary do
//! ([`Capability`]), what it needs of its target ([`Need`]), and a body. The body drives
//! roles and attackers and returns a [`Check`]; the runner turns it into a
//! [`CaseResult`] with the trace lines as evidence and the seed that replays it.

use serde::Serialize;
use std::fmt;

/// The role a scenario tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The authorization server.
    AuthorizationServer,
    /// The MCP server (resource server).
    McpServer,
    /// The MCP client.
    Client,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::AuthorizationServer => "authorization server",
            Role::McpServer => "MCP server",
            Role::Client => "client",
        })
    }
}

/// What a scenario lets the adversary do, in the spirit of the FAPI 2.0 attacker model.
/// The simulator refuses an interceptor on a channel no declared capability grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Read (and, with [`Capability::Rewrite`], alter) authorization requests and
    /// responses in the browser.
    ReadFrontChannel,
    /// Read requests to token, registration, revocation and introspection endpoints.
    ReadTokenRequests,
    /// Read requests to MCP servers, with the access tokens they carry.
    ReadResourceRequests,
    /// Rewrite, drop, inject or replay messages on a channel it can read.
    Rewrite,
    /// Act as a client of its own (register, authorize, call).
    MaliciousClient,
    /// Run an authorization server of its own.
    MaliciousAuthorizationServer,
    /// Run an MCP server of its own (or control a compromised one).
    MaliciousMcpServer,
    /// Register a second app on the victim's redirect URI (code interception).
    SameRedirectUri,
}

impl Capability {
    /// The simulator channels this capability lets the adversary intercept. A malicious
    /// server controls what it sends: in the standard topology that is the traffic of
    /// the server it stands in for.
    pub fn channels(self) -> &'static [crate::sim::Channel] {
        use crate::sim::Channel;
        match self {
            Capability::ReadFrontChannel => &[Channel::FrontChannel],
            Capability::ReadTokenRequests => &[Channel::Token],
            Capability::ReadResourceRequests => &[Channel::Resource],
            Capability::MaliciousMcpServer => &[Channel::Resource, Channel::Other],
            Capability::MaliciousAuthorizationServer => {
                &[Channel::FrontChannel, Channel::Token, Channel::Other]
            }
            Capability::Rewrite | Capability::MaliciousClient | Capability::SameRedirectUri => &[],
        }
    }

    /// The channels all of `caps` grant.
    pub fn granted_channels(caps: &[Capability]) -> Vec<crate::sim::Channel> {
        let mut v: Vec<_> = caps.iter().flat_map(|c| c.channels().iter().copied()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// What a scenario needs of its target before it can start; the runner skips the case,
/// with the reason, when the target cannot provide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Need {
    /// The adversary reaches the browser's front channel (not when an authorize hook
    /// completes authorizations outside the harness).
    FrontChannel,
    /// The AS shows login and consent forms the harness can fill.
    LoginForms,
    /// The AS's authorization-code lifetime is known.
    CodeLifetime,
    /// A second MCP server (resource) the AS knows.
    SecondResource,
    /// The AS's introspection endpoint, with credentials to call it.
    Introspection,
    /// The MCP server speaks MCP 2026-07-28's stateless wire.
    ModernWire,
    /// Leave to flood the AS with a burst of requests: a live AS that throttles them may
    /// then refuse its clients until its window passes, so only when the operator says so.
    Flood,
    /// Client credentials registered for the client under test out of band, bound to the
    /// harness's AS (a client process cannot be given them).
    PreRegistration,
    /// Access tokens bound to a DPoP key of the harness's (`cnf.jkt`, RFC 9449) that the
    /// MCP server accepts with `Authorization: DPoP`: the harness mints them, and the
    /// operator says the server takes them.
    Dpop,
    /// A JWT the client under test presents as its authorization grant, handed to it by
    /// the harness: an ID token of the harness's enterprise IdP to exchange for an ID-JAG
    /// (enterprise-managed authorization), or a workload JWT of its workload platform
    /// (workload identity federation). A client process cannot be given one.
    GrantAssertion,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Need::FrontChannel => "the front channel",
            Need::LoginForms => "the AS's login and consent forms",
            Need::CodeLifetime => "the AS's code lifetime",
            Need::SecondResource => "a second resource",
            Need::Introspection => "introspection",
            Need::ModernWire => "the 2026-07-28 stateless wire",
            Need::Flood => "leave to flood the AS",
            Need::PreRegistration => "credentials pre-registered for the client",
            Need::Dpop => "DPoP-bound access tokens",
            Need::GrantAssertion => "an ID token or workload JWT handed to the client",
        })
    }
}

/// A revision of the MCP specification, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Revision {
    /// 2025-06-18: `initialize`, sessions, RFC 9728 discovery.
    #[serde(rename = "2025-06-18")]
    R2025_06_18,
    /// 2025-11-25: client ID metadata documents, step-up.
    #[serde(rename = "2025-11-25")]
    R2025_11_25,
    /// 2026-07-28: stateless (no `initialize`, no session), `server/discover`.
    #[serde(rename = "2026-07-28")]
    R2026_07_28,
}

impl Revision {
    /// Every revision, oldest first.
    pub const ALL: [Revision; 3] = [Revision::R2025_06_18, Revision::R2025_11_25, Revision::R2026_07_28];

    /// The revision's date, as the specification names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Revision::R2025_06_18 => "2025-06-18",
            Revision::R2025_11_25 => "2025-11-25",
            Revision::R2026_07_28 => "2026-07-28",
        }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Revision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Revision::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Revision::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown MCP revision `{s}`: expected one of {}", known.join(", "))
        })
    }
}

/// The revisions a scenario applies to, and the level each gives its requirement where
/// it differs from the scenario's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revisions {
    /// The first revision it applies to.
    pub since: Revision,
    /// The last revision it applies to.
    pub until: Revision,
    /// Levels that differ from [`Meta::level`] in a revision.
    pub level_in: &'static [(Revision, Level)],
}

impl Revisions {
    /// Every revision, at the scenario's own level.
    pub const ALL: Revisions =
        Revisions { since: Revision::R2025_06_18, until: Revision::R2026_07_28, level_in: &[] };
}

/// The strength of the requirement a scenario checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Level {
    /// A MUST / MUST NOT: a violation fails.
    #[serde(rename = "MUST")]
    Must,
    /// A SHOULD / SHOULD NOT: a violation warns.
    #[serde(rename = "SHOULD")]
    Should,
}

/// The outcome of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The requirement holds.
    Pass,
    /// A SHOULD is violated.
    Warn,
    /// Not applicable to this target.
    Skip,
    /// The harness could not decide.
    Error,
    /// A MUST is violated.
    Fail,
}

impl Verdict {
    /// How bad the verdict is, for the result of something several cases judge (a
    /// requirement): skip, pass, warn, error, fail, from least to worst.
    pub fn severity(self) -> u8 {
        match self {
            Verdict::Skip => 0,
            Verdict::Pass => 1,
            Verdict::Warn => 2,
            Verdict::Error => 3,
            Verdict::Fail => 4,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Skip => "skip",
            Verdict::Error => "error",
            Verdict::Fail => "fail",
        })
    }
}

/// How a requirement was violated: what the scenario expected and what it observed
/// instead, with what it was trying when the title does not say it. Shown as
/// `[context: ]expected {expected}, got {observed}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// What the scenario was trying or looking at (`a token with alg none`, `GET
    /// https://…`); empty when the title says it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub context: String,
    /// What the requirement asks for (`401 with error="invalid_token"`).
    pub expected: String,
    /// What happened instead (`HTTP 200 {…}`).
    pub observed: String,
}

impl Violation {
    /// Expected `expected`, got `observed`.
    pub fn new(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Violation { context: String::new(), expected: expected.into(), observed: observed.into() }
    }

    /// Trying `context`, expected `expected`, got `observed`.
    pub fn about(
        context: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        Violation { context: context.into(), ..Violation::new(expected, observed) }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.context.is_empty() {
            write!(f, "{}: ", self.context)?;
        }
        write!(f, "expected {}, got {}", self.expected, self.observed)
    }
}

/// What a scenario body concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The requirement holds.
    Holds,
    /// The requirement is violated: what was expected and what happened.
    Violated(Violation),
    /// Not applicable, and why.
    NotApplicable(String),
    /// The harness could not decide, and why.
    Undecided(String),
}

impl Check {
    /// `Holds` when `ok`, else `Violated(violation())`.
    pub fn expect(ok: bool, violation: impl FnOnce() -> Violation) -> Check {
        if ok { Check::Holds } else { Check::Violated(violation()) }
    }
}

/// The static description of a scenario.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Meta {
    /// Stable ID, e.g. `RS-AUD-01`.
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// The role under test.
    pub role: Role,
    /// Requirement IDs checked (`RS-08`, ...).
    pub requirements: &'static [&'static str],
    /// RFC 9700 section, e.g. `4.9`.
    pub rfc9700: Option<&'static str>,
    /// MUST or SHOULD.
    pub level: Level,
    /// Free tags for selection (`pkce`, `refresh`, ...).
    pub tags: &'static [&'static str],
    /// What the adversary may do; empty when the harness only probes the role.
    pub capabilities: &'static [Capability],
    /// What the target must provide; the case is skipped when it cannot.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub needs: &'static [Need],
    /// The revisions it applies to, and their levels.
    #[serde(skip)]
    pub revisions: Revisions,
}

impl Meta {
    /// True when the scenario applies to `revision`.
    pub fn applies_to(&self, revision: Revision) -> bool {
        (self.revisions.since..=self.revisions.until).contains(&revision)
    }

    /// The level `revision` gives the scenario's requirement.
    pub fn level_in(&self, revision: Revision) -> Level {
        self.revisions.level_in.iter().find(|(r, _)| *r == revision).map_or(self.level, |(_, l)| *l)
    }

    /// The newest of `revisions` the scenario applies to, and the description graded by
    /// it (its level); `None` when it applies to none of them.
    pub fn graded_by(&self, revisions: &[Revision]) -> Option<(Revision, Meta)> {
        let newest = revisions.iter().copied().filter(|r| self.applies_to(*r)).max()?;
        Some((newest, Meta { level: self.level_in(newest), ..*self }))
    }
}

/// `cases`' grading revisions for a report's header: `graded by MCP 2026-07-28 (33
/// cases)`, each revision with its number of cases; `None` when no case was graded.
pub fn revisions_line(cases: &[CaseResult]) -> Option<String> {
    let mut counts: std::collections::BTreeMap<Revision, usize> = Default::default();
    for r in cases.iter().filter_map(|c| c.revision) {
        *counts.entry(r).or_default() += 1;
    }
    let parts: Vec<String> =
        counts.iter().map(|(r, n)| format!("{r} ({n} case{})", if *n == 1 { "" } else { "s" })).collect();
    (!parts.is_empty()).then(|| format!("graded by MCP {}", parts.join(", ")))
}

/// One case's result, as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The scenario's description (ID, title, role, requirements, RFC 9700 section, level).
    #[serde(flatten)]
    pub meta: Meta,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in one or two sentences (empty on pass).
    pub detail: String,
    /// For a violated requirement (`fail` or `warn`), what was expected and observed;
    /// `detail` shows it in one line.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub violation: Option<Violation>,
    /// The messages that show it: trace lines.
    pub evidence: Vec<String>,
    /// The seed that replays it.
    pub seed: u64,
    /// The MCP revision that graded it (`None`: it applies to none of those asked for, or
    /// it did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
}

impl CaseResult {
    /// The result of `check` for scenario `meta`.
    pub fn new(meta: &Meta, check: Check, evidence: Vec<String>, seed: u64) -> Self {
        let (verdict, detail, violation) = match check {
            Check::Holds => (Verdict::Pass, String::new(), None),
            Check::Violated(v) => {
                let verdict = if meta.level == Level::Must { Verdict::Fail } else { Verdict::Warn };
                (verdict, v.to_string(), Some(v))
            }
            Check::NotApplicable(d) => (Verdict::Skip, d, None),
            Check::Undecided(d) => (Verdict::Error, d, None),
        };
        CaseResult { meta: *meta, verdict, detail, violation, evidence, seed, revision: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: Meta = Meta {
        id: "AS-CODE-01",
        title: "t",
        role: Role::AuthorizationServer,
        requirements: &["AS-01"],
        rfc9700: None,
        level: Level::Must,
        tags: &[],
        capabilities: &[],
        needs: &[],
        revisions: Revisions::ALL,
    };

    #[test]
    fn the_revisions_line_counts_the_cases_each_revision_graded() {
        let graded = |r: Option<Revision>| CaseResult {
            revision: r,
            ..CaseResult::new(&META, Check::Holds, vec![], 1)
        };
        let cases = [
            graded(Some(Revision::R2026_07_28)),
            graded(None),
            graded(Some(Revision::R2025_11_25)),
            graded(Some(Revision::R2026_07_28)),
        ];
        assert_eq!(
            revisions_line(&cases).as_deref(),
            Some("graded by MCP 2025-11-25 (1 case), 2026-07-28 (2 cases)")
        );
        assert_eq!(revisions_line(&[graded(None)]), None);
    }

    #[test]
    fn a_case_is_graded_by_the_newest_revision_it_applies_to_at_that_revision_s_level() {
        let meta = Meta {
            revisions: Revisions {
                since: Revision::R2025_06_18,
                until: Revision::R2025_11_25,
                level_in: &[(Revision::R2025_06_18, Level::Should)],
            },
            ..META
        };
        let (r, graded) = meta.graded_by(&Revision::ALL).expect("applies");
        assert_eq!((r, graded.level), (Revision::R2025_11_25, Level::Must));
        let (r, graded) = meta.graded_by(&[Revision::R2025_06_18]).expect("applies");
        assert_eq!((r, graded.level), (Revision::R2025_06_18, Level::Should));
        assert!(meta.graded_by(&[Revision::R2026_07_28]).is_none());
        assert_eq!("2026-07-28".parse::<Revision>(), Ok(Revision::R2026_07_28));
        assert!("2026-07-29".parse::<Revision>().is_err());
        let violated = Check::Violated(Violation::new("x", "y"));
        let graded = meta.graded_by(&[Revision::R2025_06_18]).expect("applies").1;
        assert_eq!(CaseResult::new(&graded, violated, vec![], 1).verdict, Verdict::Warn);
    }

    #[test]
    fn needs_are_serialized_kebab_case_and_only_when_declared() {
        let none = serde_json::to_value(META).unwrap();
        assert!(none.get("needs").is_none(), "{none}");
        let needs = &[
            Need::FrontChannel,
            Need::LoginForms,
            Need::CodeLifetime,
            Need::SecondResource,
            Need::Introspection,
            Need::Flood,
            Need::PreRegistration,
            Need::GrantAssertion,
        ];
        let some = serde_json::to_value(Meta { needs, ..META }).unwrap();
        let names = [
            "front-channel",
            "login-forms",
            "code-lifetime",
            "second-resource",
            "introspection",
            "flood",
            "pre-registration",
            "grant-assertion",
        ];
        assert_eq!(some["needs"], serde_json::json!(names));
    }

    #[test]
    fn a_violation_reads_expected_then_got_and_its_halves_are_in_json() {
        let v = Violation::about("alg none", "401 with error=\"invalid_token\"", "HTTP 200");
        assert_eq!(v.to_string(), "alg none: expected 401 with error=\"invalid_token\", got HTTP 200");
        assert_eq!(Violation::new("403", "HTTP 200").to_string(), "expected 403, got HTTP 200");
        let case = CaseResult::new(&META, Check::Violated(v), vec![], 1);
        let json = serde_json::to_value(&case).unwrap();
        assert_eq!(json["detail"], case.detail);
        assert_eq!(json["context"], "alg none");
        assert_eq!(json["expected"], "401 with error=\"invalid_token\"");
        assert_eq!(json["observed"], "HTTP 200");
        let skip = serde_json::to_value(CaseResult::new(&META, Check::NotApplicable("no".into()), vec![], 1));
        let skip = skip.unwrap();
        assert!(skip.get("expected").is_none() && skip.get("observed").is_none(), "{skip}");
        let plain = serde_json::to_value(CaseResult::new(
            &META,
            Check::Violated(Violation::new("403", "HTTP 200")),
            vec![],
            1,
        ));
        assert!(plain.unwrap().get("context").is_none());
    }
}
