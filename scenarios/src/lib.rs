//! The scenario catalog: scripted attacks and checks, each with a stable ID tied to the
//! requirements it checks, run in the simulator against the reference roles (with the
//! defects of the run injected).
//!
//! ```
//! use mcp_authz_scenarios::{catalog, run_case};
//! use mcp_authz_reference::defects::Defects;
//! let s = catalog().into_iter().find(|s| s.meta.id == "RS-AUD-01").unwrap();
//! let result = run_case(&s, 1, &Defects::none());
//! assert_eq!(result.verdict.to_string(), "pass");
//! ```
#![forbid(unsafe_code)]

pub mod explore;
pub mod requirements;
pub mod world;

mod authorization_server;
mod client;
mod mcp_server;

use mcp_authz_reference::defects::Defects;
use mcp_authz_sim::scenario::{Capability, CaseResult, Check, Level, Meta, Need, Revision, Role};
use std::panic::{AssertUnwindSafe, catch_unwind};
use world::TargetKind;
pub use world::World;

/// A scenario: its description and its body. A catalog row builds one with
/// [`Scenario::new`] and the methods that set each field, the body last:
///
/// ```
/// # use mcp_authz_scenarios::{Scenario, World};
/// # use mcp_authz_sim::scenario::{Capability::*, Check, Level::*, Role::*};
/// # fn replay_other_server(_: &mut World) -> Check { Check::Holds }
/// let s = Scenario::new(McpServer, "RS-AUD-01", "token for MCP server B replayed at A is refused")
///     .requirements(&["RS-08", "RS-11", "RS-12"])
///     .rfc9700("4.10")
///     .level(Must)
///     .tags(&["audience", "replay"])
///     .grants(&[ReadResourceRequests, MaliciousClient])
///     .body(replay_other_server);
/// assert_eq!(s.meta.requirements, ["RS-08", "RS-11", "RS-12"]);
/// ```
#[derive(Clone, Copy)]
pub struct Scenario {
    /// ID, title, role, requirements, level, tags, adversary capabilities, needs.
    pub meta: Meta,
    /// Drives the world and concludes.
    pub body: fn(&mut World) -> Check,
}

impl Scenario {
    /// The scenario `id` of `role`, titled `title`: a MUST, with no requirement, RFC 9700
    /// section, tag, capability or need, and a body that only says it has none, until the
    /// methods below set them.
    pub const fn new(role: Role, id: &'static str, title: &'static str) -> Self {
        let meta = Meta {
            id,
            title,
            role,
            requirements: &[],
            rfc9700: None,
            level: Level::Must,
            tags: &[],
            capabilities: &[],
            needs: &[],
            revisions: mcp_authz_sim::scenario::Revisions::ALL,
        };
        Scenario { meta, body: no_body }
    }

    /// The requirement IDs it checks (`RS-08`, from `scenarios/requirements.md`).
    pub const fn requirements(mut self, requirements: &'static [&'static str]) -> Self {
        self.meta.requirements = requirements;
        self
    }

    /// The RFC 9700 section it applies (`4.10`).
    pub const fn rfc9700(mut self, section: &'static str) -> Self {
        self.meta.rfc9700 = Some(section);
        self
    }

    /// MUST (a violation fails) or SHOULD (a violation warns).
    pub const fn level(mut self, level: Level) -> Self {
        self.meta.level = level;
        self
    }

    /// Tags to select it by (`pkce`, `refresh`, ...).
    pub const fn tags(mut self, tags: &'static [&'static str]) -> Self {
        self.meta.tags = tags;
        self
    }

    /// Declares what the adversary may do in this scenario; the simulator refuses an
    /// interception these capabilities do not grant.
    pub const fn grants(mut self, capabilities: &'static [Capability]) -> Self {
        self.meta.capabilities = capabilities;
        self
    }

    /// Declares what it needs of its target beyond the role under test; the runner skips
    /// the case, with the reason, when the target cannot give it.
    pub const fn needs(mut self, needs: &'static [Need]) -> Self {
        self.meta.needs = needs;
        self
    }

    /// The first MCP revision it applies to (a requirement a revision added).
    pub const fn since(mut self, revision: Revision) -> Self {
        self.meta.revisions.since = revision;
        self
    }

    /// The last MCP revision it applies to (a requirement a later revision removed).
    pub const fn until(mut self, revision: Revision) -> Self {
        self.meta.revisions.until = revision;
        self
    }

    /// The levels revisions give its requirement where they differ from [`Scenario::level`].
    pub const fn level_in(mut self, levels: &'static [(Revision, Level)]) -> Self {
        self.meta.revisions.level_in = levels;
        self
    }

    /// What drives the world and concludes.
    pub const fn body(mut self, body: fn(&mut World) -> Check) -> Self {
        self.body = body;
        self
    }
}

/// The body of a scenario whose row sets none.
fn no_body(_: &mut World) -> Check {
    Check::Undecided("the scenario has no body".into())
}

/// Every scenario, in ID order.
pub fn catalog() -> Vec<Scenario> {
    let mut all = Vec::new();
    all.extend(authorization_server::scenarios());
    all.extend(client::scenarios());
    all.extend(mcp_server::scenarios());
    all.sort_by_key(|s| s.meta.id);
    all
}

/// The MCP server scenarios of `all`: those a live server can be tested with.
pub fn mcp_server_scenarios(all: &[Scenario]) -> Vec<Scenario> {
    all.iter().filter(|s| s.meta.role == Role::McpServer).copied().collect()
}

/// Runs `scenario` once with `seed` and `defects`; returns the result and the trace.
pub fn run_traced(scenario: &Scenario, seed: u64, defects: &Defects) -> (CaseResult, String) {
    run_traced_at(scenario, seed, defects, None)
}

/// [`run_traced`], graded by `revision` (`None`: every revision, each case by the newest
/// it applies to): a case that does not apply to it is skipped, one that does is graded
/// by the level `revision` gives its requirement.
pub fn run_traced_at(
    scenario: &Scenario,
    seed: u64,
    defects: &Defects,
    revision: Option<Revision>,
) -> (CaseResult, String) {
    match World::new(seed, defects) {
        Ok(world) => run_in(world.graded_by(revision), scenario, seed),
        Err(e) => {
            let check = Check::Undecided(format!("cannot build the world: {e}"));
            (CaseResult::new(&scenario.meta, check, vec![], seed), String::new())
        }
    }
}

/// Runs `scenario` with `seed` against a target of kind `kind`, in the world `build`
/// makes. The case is skipped, with the reason, when the target tests another role
/// than the scenario's (the world is then not built).
pub fn run_against(
    kind: TargetKind,
    scenario: &Scenario,
    seed: u64,
    build: impl FnOnce() -> Result<World, mcp_authz_reference::Error>,
) -> (CaseResult, String) {
    if kind.role().is_some_and(|r| r != scenario.meta.role) {
        let check = Check::NotApplicable(format!("a {} scenario; the target is {kind}", scenario.meta.role));
        return (CaseResult::new(&scenario.meta, check, vec![], seed), String::new());
    }
    match build() {
        Ok(world) => run_in(world, scenario, seed),
        Err(e) => {
            let check = Check::Undecided(format!("cannot build the world: {e}"));
            (CaseResult::new(&scenario.meta, check, vec![], seed), String::new())
        }
    }
}

/// Runs `scenario` in `world`. The case is skipped, with the reason, when the world's
/// target cannot give a need the scenario declares, or a token it asks for (a server
/// that trusts another authorization server, see [`World::mint`]); a transport failure
/// talking to a live role, or a failure getting a token, makes it `error`, whatever it
/// concluded.
fn run_in(mut world: World, scenario: &Scenario, seed: u64) -> (CaseResult, String) {
    world.note(&format!("scenario {} seed {seed}", scenario.meta.id));
    let graded = scenario.meta.graded_by(&world.revisions);
    let meta = graded.map_or(scenario.meta, |(_, meta)| meta);
    let unmet = scenario.meta.needs.iter().find_map(|need| world.provides(*need).err());
    let check = match (graded, unmet) {
        (None, _) => {
            let (since, until) = (scenario.meta.revisions.since, scenario.meta.revisions.until);
            let graded: Vec<String> = world.revisions.iter().map(Revision::to_string).collect();
            let applies = match since == until {
                true => since.to_string(),
                false => format!("{since}..{until}"),
            };
            Check::NotApplicable(format!("a requirement of MCP {applies}; graded by {}", graded.join(", ")))
        }
        (_, Some(skip)) => Check::NotApplicable(skip.0),
        (Some(_), None) => {
            world.sim.grant(Capability::granted_channels(scenario.meta.capabilities));
            if scenario.meta.role == Role::Client {
                // The AS the client meets grants what a permissive, correct AS would: a
                // client's step-up is not refused by a registration policy no client
                // scenario is about.
                if let Ok(authorization_server) = world.authorization_server() {
                    authorization_server.take_registered_scope_as_a_hint();
                }
            }
            catch_unwind(AssertUnwindSafe(|| (scenario.body)(&mut world))).unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Check::Undecided(format!("the scenario panicked: {msg}"))
            })
        }
    };
    let failure = world.transport_failures().first().map(|f| format!("a live exchange failed: {f}"));
    let failure =
        failure.or_else(|| world.harness_failures().first().map(|f| format!("getting a token failed: {f}")));
    let check = match (failure, world.cannot_run()) {
        (Some(failure), _) => Check::Undecided(format!("{failure}, so the case cannot judge")),
        (None, Some(skip)) => Check::NotApplicable(skip.0.clone()),
        (None, None) => check,
    };
    let trace = world.sim.trace().to_string();
    let evidence = trace.lines().map(String::from).collect();
    let mut result = CaseResult::new(&meta, check, evidence, seed);
    result.revision = graded.map(|(revision, _)| revision);
    (result, trace)
}

/// Runs `scenario` once with `seed` and `defects`.
pub fn run_case(scenario: &Scenario, seed: u64, defects: &Defects) -> CaseResult {
    run_traced(scenario, seed, defects).0
}
