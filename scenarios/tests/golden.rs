//! Golden traces of the four attacks of the catalog's first points: code interception,
//! token replay across audiences, refresh-token theft and scope escalation. A change in
//! what goes over the simulated network shows up here as a snapshot diff to review
//! (`INSTA_UPDATE=always cargo test -p mcp-authz-scenarios --test golden`, or
//! `cargo insta review`).

use mcp_authz_reference::defects::Defects;
use mcp_authz_scenarios::{Scenario, catalog, run_traced};

fn trace(id: &str) -> String {
    let scenario: Scenario =
        catalog().into_iter().find(|s| s.meta.id == id).expect("scenario in the catalog");
    run_traced(&scenario, 1, &Defects::none()).1
}

#[test]
fn code_interception() {
    insta::assert_snapshot!(trace("AS-CODE-01"));
}

#[test]
fn token_replay_across_audiences() {
    insta::assert_snapshot!(trace("RS-AUD-05"));
}

#[test]
fn refresh_token_theft() {
    insta::assert_snapshot!(trace("AS-REFRESH-02"));
}

#[test]
fn scope_escalation() {
    insta::assert_snapshot!(trace("RS-SCOPE-02"));
}
