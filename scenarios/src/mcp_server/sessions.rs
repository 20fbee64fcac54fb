//! Sessions (MCP 2025-11-25 §Session Management; Security Best Practices §Session
//! Hijacking): a session id is no authentication, is bound to the user who opened it, and
//! is unpredictable. 2026-07-28 has no sessions; its state handles are judged alike
//! (`state_handles`).

use super::{CALL_ID, ran, read_claims, status};
use crate::world::{World, describe};
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_sim::scenario::{Check, Violation};

/// Opens a session with `token`: its id, or why the session scenarios cannot run.
pub(super) fn open_session(w: &mut World, from: &str, token: &str) -> Result<String, Check> {
    let url = w.mcp.clone();
    let (r, session) = w.open(from, &url, Some(token));
    match session {
        Some(id) => Ok(id),
        None if status(&r) == 200 => Err(Check::NotApplicable(
            "the server issues no Mcp-Session-Id (stateless): there is no session to bind".into(),
        )),
        None => Err(Check::Undecided(format!("initialize failed: {}", describe(&r)))),
    }
}

pub(super) fn session_headers(session: &str) -> [(&str, &str); 2] {
    [("mcp-session-id", session), ("mcp-protocol-version", "2025-11-25")]
}

pub(super) fn session_without_token(w: &mut World) -> Check {
    let token = w.mint(&w.claims(&w.tools.all_scopes()));
    let session = match open_session(w, "alice", &token) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let tool = w.tools.write.clone().unwrap_or_else(|| w.tools.read.clone());
    let before = w.side_effects();
    let body = World::call_body(&tool.name, tool.arguments.clone());
    let r = w.send("attacker", World::rpc_request(&w.mcp, None, &body, &session_headers(&session)));
    let ran = ran(w, before, &r, CALL_ID);
    Check::expect(status(&r) == 401 && !ran, || {
        Violation::about("a session id without a token", "401", describe(&r))
    })
}

pub(super) fn session_other_user(w: &mut World) -> Check {
    let alice = w.mint(&w.claims(&w.tools.all_scopes()));
    let session = match open_session(w, "alice", &alice) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let mallory = w.mint(&AccessTokenClaims {
        sub: Some("mallory".into()),
        client_id: Some("mallory-app".into()),
        ..w.claims(&w.tools.all_scopes())
    });
    let read = w.tools.read.clone();
    let body = World::call_body(&read.name, read.arguments);
    let r = w.send("attacker", World::rpc_request(&w.mcp, Some(&mallory), &body, &session_headers(&session)));
    Check::expect(!(200..300).contains(&status(&r)), || {
        Violation::about("mallory's token in alice's session", "a refusal", describe(&r))
    })
}

pub(super) fn session_ids_random(w: &mut World) -> Check {
    let token = w.mint(&read_claims(w));
    let mut ids = Vec::new();
    for _ in 0..8 {
        match open_session(w, "client", &token) {
            Ok(id) => ids.push(id),
            Err(c) => return c,
        }
    }
    unpredictable(&ids, "session ids")
}

/// Whether `ids` (`what`, in the order they were issued) look drawn from a CSPRNG:
/// distinct, at least 22 visible ASCII characters (128 bits of base64), and no two
/// consecutive ones sharing a prefix of 8 characters or more (sequential ids do).
pub(super) fn unpredictable(ids: &[String], what: &str) -> Check {
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    let short = ids.iter().find(|id| id.len() < 22 || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if unique.len() != ids.len() {
        return Check::Violated(Violation::new(format!("distinct {what}"), format!("{ids:?}")));
    }
    if let Some(s) = short {
        return Check::Violated(Violation::new(
            format!("{what} of at least 128 bits of base64, in visible ascii"),
            format!("`{s}`"),
        ));
    }
    let common = ids
        .windows(2)
        .map(|p| p[0].bytes().zip(p[1].bytes()).take_while(|(a, b)| a == b).count())
        .max()
        .unwrap_or(0);
    Check::expect(common < 8, || {
        let observed = format!("a {common}-character prefix: {ids:?}");
        Violation::new(format!("consecutive {what} sharing less than 8 characters"), observed)
    })
}
