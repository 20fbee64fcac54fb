//! The exploration's guarantees: a bounded run against the correct roles breaks no
//! invariant; with a defect that breaks safety, a fixed seed finds a violation and
//! shrinks it to at most 12 actions; a case replays to the same trace; shards split the
//! seed space; and every committed regression case still behaves as recorded, and breaks
//! nothing once its defects are removed.

use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_scenarios::explore::case::Case;
use mcp_authz_scenarios::explore::{Explorer, Report, Settings, Shard, explore};
use std::collections::BTreeSet;

fn settings(defects: &[Defect]) -> Settings {
    Settings { defects: Defects::of(defects.iter().copied()), ..Settings::default() }
}

#[test]
fn bounded_exploration_of_the_correct_roles_finds_nothing() {
    let mut explorer = Explorer::new(settings(&[]));
    let report = explore(&mut explorer, Some(500), |_| true, |_| {}).unwrap();
    assert!(report.violations.is_empty(), "{}", report.text());
    assert_eq!(report.cases, 500);
    let exercised: BTreeSet<&str> = report.invariants_exercised.iter().map(String::as_str).collect();
    for id in [
        "INV-TOOL",
        "INV-CODE",
        "INV-FAMILY",
        "INV-SEND",
        "INV-URL",
        "INV-SESSION",
        "INV-REVOKE",
        "INV-REGISTER",
        "INV-ASMETA",
        "INV-REDIRECT",
        "INV-DPOP",
        "INV-LIVE",
    ] {
        assert!(exercised.contains(id), "{id} was never exercised: {exercised:?}");
    }
}

/// Each defect that breaks a safety property, and the invariant that catches it (or the
/// invariants, separated by `|`, when the cases show it breaking either first).
const DEFECTS: &[(Defect, &str)] = &[
    (Defect::SkipAudienceCheck, "INV-TOOL"),
    (Defect::ScopeCheckAtConnectOnly, "INV-TOOL"),
    (Defect::NoReuseDetection, "INV-FAMILY"),
    (Defect::NoRefreshRotation, "INV-FAMILY"),
    (Defect::CodeReusable, "INV-CODE"),
    (Defect::NoCodeReuseRevocation, "INV-CODE"),
    (Defect::SessionNotBound, "INV-SESSION"),
    (Defect::SessionAsAuthentication, "INV-SESSION"),
    (Defect::TokenPassthrough, "INV-SEND"),
    // A stolen code redeemed after the honest client's redemption breaks INV-CODE too.
    (Defect::PkceVerifierIgnored, "INV-LOOT|INV-CODE"),
    (Defect::TokenRequestScopeWidening, "INV-SCOPE"),
    (Defect::RefreshScopeWidening, "INV-SCOPE"),
    (Defect::ClientTokenToAnyServer, "INV-SEND"),
    (Defect::RegistrationScopeUnchecked, "INV-REGISTER"),
    (Defect::LooseRedirectMatch, "INV-REDIRECT"),
    (Defect::ClientNoPkceCheck, "INV-ASMETA"),
    (Defect::ClientNoIssuerCheck, "INV-ASMETA"),
    (Defect::CodeNotClientBound, "INV-LOOT"),
    // An expired code redeemed after an attacker's refused try breaks INV-CODE as well.
    (Defect::CodeNoExpiry, "INV-LOOT|INV-CODE"),
    (Defect::BatchSkipsScopeCheck, "INV-TOOL"),
    (Defect::ScopeCaseInsensitive, "INV-TOOL"),
    // The DPoP key thief's ways in (the tokens it steals are DPoP-bound in DPoP cases).
    (Defect::DpopBoundTokenAsBearer, "INV-DPOP"),
    (Defect::DpopProofNotRequired, "INV-DPOP"),
    (Defect::DpopJktUnchecked, "INV-DPOP"),
    (Defect::DpopJtiReplayAllowed, "INV-DPOP"),
    (Defect::DpopAlgNoneAccepted, "INV-DPOP"),
];

#[test]
fn each_safety_defect_is_found_and_shrunk_to_at_most_12_actions() {
    for &(defect, invariant) in DEFECTS {
        let mut explorer = Explorer::new(settings(&[defect]));
        let report = explore(&mut explorer, Some(800), |r| r.violations.is_empty(), |_| {}).unwrap();
        let Some(found) = report.violations.first() else {
            panic!("{defect}: nothing found in {} cases", report.cases);
        };
        assert!(invariant.split('|').any(|i| i == found.violation.invariant), "{defect}: {}", report.text());
        assert!(found.case.actions.len() <= 12, "{defect}: {} actions left", found.case.actions.len());
        let (first, as_recorded) = found.case.replay().unwrap();
        assert!(as_recorded, "{defect}: the shrunk case does not replay: {:?}", first.violation);
        let (second, _) = found.case.replay().unwrap();
        assert_eq!(first.trace, second.trace, "{defect}: replay is not deterministic");
    }
}

#[test]
fn a_case_file_round_trips_and_replays_the_same_trace() {
    let mut explorer = Explorer::new(settings(&[Defect::TokenPassthrough]));
    let found =
        (0..20).find_map(|k| explorer.run_case(k).unwrap().violation).expect("20 cases find the passthrough");
    let case = Case::from_json(&found.case.to_json()).unwrap();
    assert_eq!(case, found.case);
    assert_eq!(case.run().unwrap().trace, found.case.run().unwrap().trace);
    assert!(Case::from_json("{\"seed\": 1}").is_err());
}

#[test]
fn shards_split_the_seed_space_and_merge_back() {
    let run = |shard: Shard| {
        let mut explorer = Explorer::new(Settings { shard, ..settings(&[Defect::ScopeCheckAtConnectOnly]) });
        explore(&mut explorer, Some(6), |_| true, |_| {}).unwrap()
    };
    let halves: Vec<Report> = ["1/2", "2/2"].iter().map(|s| run(s.parse().unwrap())).collect();
    let numbers: Vec<BTreeSet<u64>> = ["1/2", "2/2"]
        .iter()
        .map(|s| (0..6).map(|k| s.parse::<Shard>().unwrap().case_number(k)).collect())
        .collect();
    assert!(numbers[0].is_disjoint(&numbers[1]));
    let merged = Report::merge(halves).unwrap();
    assert_eq!(merged.cases, 12);
    assert_eq!(merged.shards, ["1/2", "2/2"]);
    assert_eq!(merged.violations.len(), 1, "one violation per invariant");
    assert!(
        "0/2".parse::<Shard>().is_err() && "3/2".parse::<Shard>().is_err() && "x".parse::<Shard>().is_err()
    );
    let other_seed = Report { seed: 2, ..Report::default() };
    assert!(Report::merge(vec![Report::default(), other_seed]).is_err());
}

#[test]
fn committed_regression_cases_replay_as_recorded() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(!files.is_empty(), "no regression cases in {}", dir.display());
    for path in files {
        let case = Case::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (outcome, as_recorded) = case.replay().unwrap();
        assert!(
            as_recorded,
            "{}: expected {:?}, got {:?}\n{}",
            path.display(),
            case.expect,
            outcome.violation,
            outcome.trace
        );
        let repaired = Case { defects: vec![], expect: None, ..case };
        let (outcome, as_recorded) = repaired.replay().unwrap();
        assert!(as_recorded, "{}: without its defects: {:?}", path.display(), outcome.violation);
    }
}

#[test]
fn a_code_reuse_made_by_a_duplicate_delivery_is_seen() {
    use mcp_authz_scenarios::explore::model::{Action, FaultProfile, Server, Tool, Topology};
    let topology = Topology {
        mcp_servers: vec![],
        authorization_servers: 1,
        honest_clients: 3,
        confidential_clients: 0,
        attackers: vec![],
        dpop: false,
    };
    let mut actions = vec![Action::Network { faults: FaultProfile::Flaky }];
    for client in 0..3 {
        for server in [Server::A, Server::B] {
            actions.push(Action::Call { client, server, tool: Tool::Echo });
        }
    }
    let case = |seed, defects: &[&str]| Case {
        seed,
        defects: defects.iter().map(|d| d.to_string()).collect(),
        topology: topology.clone(),
        actions: actions.clone(),
        expect: None,
    };
    let seed = (0..100)
        .find(|&seed| {
            let trace = case(seed, &[]).run().unwrap().trace;
            trace.lines().any(|l| l.contains("(duplicate) honest") && l.contains("POST /token"))
        })
        .expect("a token request is duplicated within 100 seeds");
    let (correct, as_recorded) = case(seed, &[]).replay().unwrap();
    assert!(as_recorded, "the correct roles: {:?}", correct.violation);
    let found = case(seed, &["code-reusable"]).run().unwrap().violation;
    assert_eq!(found.map(|v| v.invariant), Some("INV-CODE".to_string()), "seed {seed}");
}

#[test]
fn each_drawn_server_has_its_own_tool_table() {
    use mcp_authz_scenarios::explore::model::{Action, Server, Tool, ToolTable, Topology};
    let topology = |mcp_servers: Vec<ToolTable>| Topology {
        mcp_servers,
        authorization_servers: 1,
        honest_clients: 1,
        confidential_clients: 0,
        attackers: vec![],
        dpop: false,
    };
    let case = |tables: Vec<ToolTable>, server, tool, defects: &[&str]| Case {
        seed: 3,
        defects: defects.iter().map(|d| d.to_string()).collect(),
        topology: topology(tables),
        actions: vec![Action::Call { client: 0, server, tool }],
        expect: None,
    };
    // Server B asks `mcp:write` for echo: a server that checks scopes only at connect
    // lets a `mcp:read` token run it, and INV-TOOL knows B's table.
    let tables = vec![ToolTable::Default, ToolTable::EchoNeedsWrite];
    let found = case(tables.clone(), Server::B, Tool::Echo, &["scope-check-at-connect-only"]).run().unwrap();
    let v = found.violation.expect("echo ran at B with mcp:read");
    assert_eq!(v.invariant, "INV-TOOL");
    assert!(v.detail.contains("lacks `mcp:write`"), "{}", v.detail);
    let at_a = case(tables.clone(), Server::A, Tool::Echo, &["scope-check-at-connect-only"]).run().unwrap();
    assert_eq!(at_a.violation, None, "echo needs only mcp:read at A");
    let correct = case(tables, Server::B, Tool::Echo, &[]).run().unwrap();
    assert_eq!(correct.violation, None);
    assert!(correct.flows >= 2, "the call and the liveness call complete");
    // Three servers: C exists and serves; one server: every action goes to A.
    let three = vec![ToolTable::Default, ToolTable::Default, ToolTable::AdminOnly];
    let at_c = case(three, Server::C, Tool::AdminReset, &[]).run().unwrap();
    assert_eq!(at_c.violation, None);
    assert!(at_c.trace.contains("honest0 -> https://third.example POST /mcp <- 200"), "{}", at_c.trace);
    let one = case(vec![ToolTable::AdminOnly], Server::C, Tool::AdminReset, &[]).run().unwrap();
    assert_eq!(one.violation, None);
    assert!(!one.trace.contains("third.example") && !one.trace.contains("other.example"), "{}", one.trace);
    // Case files written before servers were drawn have A and B with the default table.
    let legacy: Topology = serde_json::from_str(
        r#"{"authorization_servers":1,"honest_clients":1,"confidential_clients":0,"attackers":[]}"#,
    )
    .unwrap();
    assert_eq!(legacy.servers(), [(Server::A, ToolTable::Default), (Server::B, ToolTable::Default)]);
}

/// Runs `actions` with one honest client and one attacker with every capability: the
/// violation, as its invariant and detail.
fn attacked(actions: Vec<mcp_authz_scenarios::explore::model::Action>, defects: &[&str]) -> Option<String> {
    let outcome = attacked_run(actions, defects);
    outcome.violation.map(|v| format!("{} {}", v.invariant, v.detail))
}

/// Runs `actions` as [`attacked`] does: the outcome.
fn attacked_run(
    actions: Vec<mcp_authz_scenarios::explore::model::Action>,
    defects: &[&str],
) -> mcp_authz_scenarios::explore::runner::Outcome {
    attacked_run_with(actions, defects, false)
}

/// Runs `actions` as [`attacked`] does, the honest client using DPoP when `dpop`.
fn attacked_run_with(
    actions: Vec<mcp_authz_scenarios::explore::model::Action>,
    defects: &[&str],
    dpop: bool,
) -> mcp_authz_scenarios::explore::runner::Outcome {
    use mcp_authz_scenarios::explore::model::{Capabilities, Topology};
    let all = Capabilities { front_channel: true, resource: true, token_requests: true, own_client: true };
    let case = Case {
        seed: 5,
        defects: defects.iter().map(|d| d.to_string()).collect(),
        topology: Topology {
            mcp_servers: vec![],
            authorization_servers: 1,
            honest_clients: 1,
            confidential_clients: 0,
            attackers: vec![all],
            dpop,
        },
        actions,
        expect: None,
    };
    case.run().unwrap()
}

#[test]
fn hostile_registrations_are_refused_or_narrowed() {
    use mcp_authz_scenarios::explore::model::{Action, HostileRegistration as H, Server, Tool};
    for metadata in [H::ScopeBeyondPolicy, H::ChosenClientId, H::InsecureRedirect] {
        let actions = vec![
            Action::Call { client: 0, server: Server::A, tool: Tool::Echo },
            Action::RegisterHostile { attacker: 0, metadata },
        ];
        assert_eq!(attacked(actions, &[]), None, "{metadata:?}");
    }
    let found = attacked(
        vec![Action::RegisterHostile { attacker: 0, metadata: H::ScopeBeyondPolicy }],
        &["registration-scope-unchecked"],
    );
    assert!(
        found.as_deref().is_some_and(|v| v.starts_with("INV-REGISTER") && v.contains("reports:read")),
        "{found:?}"
    );
}

#[test]
fn hostile_authorization_server_metadata_is_not_used() {
    use mcp_authz_scenarios::explore::model::{Action, HostileAsMetadata as M};
    for (metadata, defect) in
        [(M::NoS256, "client-no-pkce-check"), (M::OtherIssuer, "client-no-issuer-check")]
    {
        let actions = vec![Action::CallRogueAs { client: 0, metadata }];
        assert_eq!(attacked(actions.clone(), &[]), None, "{metadata:?}");
        let found = attacked(actions, &[defect]);
        assert!(found.as_deref().is_some_and(|v| v.starts_with("INV-ASMETA")), "{defect}: {found:?}");
    }
}

#[test]
fn tampered_authorization_requests_get_no_usable_code() {
    use mcp_authz_scenarios::explore::model::{Action, Server, TamperedParam as P, Tool};
    for (param, defect, invariant) in [
        (P::RedirectUri, "loose-redirect-match", "INV-REDIRECT"),
        (P::Resource, "ignore-resource", "INV-SEND"),
    ] {
        let actions = vec![
            Action::TamperAuthorization { attacker: 0, param },
            Action::Call { client: 0, server: Server::A, tool: Tool::Echo },
            Action::Call { client: 0, server: Server::A, tool: Tool::Echo },
        ];
        assert_eq!(attacked(actions.clone(), &[]), None, "{param:?}");
        let found = attacked(actions, &[defect]);
        assert!(found.as_deref().is_some_and(|v| v.starts_with(invariant)), "{defect}: {found:?}");
    }
}

#[test]
fn a_withheld_code_is_refused_to_another_client_and_after_its_lifetime() {
    use mcp_authz_scenarios::explore::model::{Action, Server, Tool, WithheldCodeUse as U};
    let actions = |how| {
        vec![
            Action::WithholdNextTokenRequest { attacker: 0 },
            Action::Call { client: 0, server: Server::A, tool: Tool::Echo },
            Action::RedeemWithheldCode { attacker: 0, loot: 0, how },
        ]
    };
    for (how, defect, other) in [
        (U::OwnClient, "code-not-client-bound", "code-no-expiry"),
        (U::AfterLifetime, "code-no-expiry", "code-not-client-bound"),
    ] {
        let correct = attacked_run(actions(how), &[]);
        assert_eq!(correct.violation, None, "{how:?}");
        assert!(correct.trace.contains("attacker0 withheld the code request of"), "{}", correct.trace);
        assert!(
            correct.trace.contains("invalid_grant"),
            "{how:?}: the AS refuses the code\n{}",
            correct.trace
        );
        // Each use of the code tests one binding: the other defect does not help it.
        assert_eq!(attacked(actions(how), &[other]), None, "{how:?} with {other}");
        let found = attacked(actions(how), &[defect]);
        assert!(found.as_deref().is_some_and(|v| v.starts_with("INV-LOOT")), "{defect}: {found:?}");
    }
}

#[test]
fn batches_and_upper_case_scopes_run_no_tool_the_token_lacks_the_scope_for() {
    use mcp_authz_scenarios::explore::model::{Action, Server, Tool};
    let batch =
        Action::BatchCall { attacker: 0, server: Server::A, first: Tool::Echo, then: Tool::AdminReset };
    let upper = Action::UpperCaseScopeFlow { attacker: 0, server: Server::A, tool: Tool::WriteNote };
    for (action, defect, seen) in [
        (batch, "batch-skips-scope-check", "admin_reset ran at A in a batch"),
        (upper.clone(), "scope-case-insensitive", "MCP:WRITE`, which lacks `mcp:write`"),
    ] {
        let correct = attacked_run(vec![action.clone()], &[]);
        assert_eq!(correct.violation, None, "{action}");
        let found = attacked(vec![action.clone()], &[defect]);
        assert!(
            found.as_deref().is_some_and(|v| v.starts_with("INV-TOOL") && v.contains(seen)),
            "{defect}: {found:?}"
        );
    }
    // The AS grants the upper-case scope (the violation above shows the token carrying
    // it); the correct server refuses the call it does not cover.
    let trace = attacked_run(vec![upper], &[]).trace;
    assert!(trace.contains("mallory0-upper -> https://mcp.example POST /mcp <- 403"), "{trace}");
}

#[test]
fn a_dpop_key_thief_is_served_only_by_the_defect_its_way_in_needs() {
    use mcp_authz_scenarios::explore::model::{Action, DpopTheft as T, Server, Tool};
    let actions = |how| {
        vec![
            Action::Call { client: 0, server: Server::A, tool: Tool::Echo },
            Action::StealDpopToken { attacker: 0, loot: 0, server: Server::A, tool: Tool::Echo, how },
        ]
    };
    let found = |how, defects: &[&str]| {
        let outcome = attacked_run_with(actions(how), defects, true);
        outcome.violation.map(|v| format!("{} {}", v.invariant, v.detail))
    };
    for (how, defect, seen) in [
        (T::AsBearer, "dpop-bound-token-as-bearer", "Authorization: Bearer"),
        (T::NoProof, "dpop-proof-not-required", "expected exactly one"),
        (T::OwnKey, "dpop-jkt-unchecked", "cnf.jkt"),
        (T::ReplayedProof, "dpop-jti-replay-allowed", "again, expected a new one"),
        (T::Unsigned, "dpop-alg-none-accepted", "none"),
    ] {
        let correct = attacked_run_with(actions(how), &[], true);
        assert_eq!(correct.violation, None, "{how:?}");
        assert!(correct.exercised.contains("INV-DPOP"), "{how:?}: the honest DPoP requests were judged");
        assert!(
            correct.trace.contains("attacker0 -> https://mcp.example POST /mcp <- 401"),
            "{}",
            correct.trace
        );
        // Each way in needs its own defect: the others' do not let it through.
        for other in [
            "dpop-bound-token-as-bearer",
            "dpop-proof-not-required",
            "dpop-jkt-unchecked",
            "dpop-jti-replay-allowed",
            "dpop-alg-none-accepted",
            "dpop-htu-unchecked",
        ] {
            if other != defect {
                assert_eq!(found(how, &[other]), None, "{how:?} with {other}");
            }
        }
        let v = found(how, &[defect]);
        assert!(
            v.as_deref().is_some_and(|v| v.starts_with("INV-DPOP") && v.to_lowercase().contains(&seen.to_lowercase())),
            "{how:?} with {defect}: {v:?}"
        );
    }
    // Without DPoP there is no bound token to steal: the thief sends nothing.
    let plain = attacked_run_with(actions(T::AsBearer), &["dpop-bound-token-as-bearer"], false);
    assert_eq!(plain.violation, None);
    assert!(!plain.trace.contains("attacker0 ->"), "{}", plain.trace);
}
