//! The invariant checks of the stateful and differential targets can fail: each is run
//! on a script that a correct role passes and that the matching defect breaks.

use mcp_authz_fuzz_entries::roles::{
    AsOp, AsScript, Body, McpOp, McpScript, Session, Signer, Text, Token, minted_token,
    run_authorization_server, run_mcp_server,
};
use mcp_authz_reference::defects::{Defect, Defects};
use std::panic::{AssertUnwindSafe, catch_unwind};

const K: Text = Text::Known(0);

fn authorize() -> AsOp {
    AsOp::Authorize {
        client: None,
        redirect: None,
        challenge: None,
        method: None,
        state: Some(K),
        resource: None,
        scope: None,
        drop: None,
    }
}

fn redeem() -> AsOp {
    AsOp::Code { code: K, verifier: None, client: None, redirect: None, resource: None, basic: false }
}

fn refresh() -> AsOp {
    AsOp::Refresh { token: Text::Known(1), client: None, scope: None, resource: None }
}

fn as_script(ops: Vec<AsOp>) -> AsScript {
    AsScript { form: false, document: vec![], ops }
}

/// The panic message of `f`, or `None` when it returns.
fn panic_of(f: impl FnOnce()) -> Option<String> {
    let e = catch_unwind(AssertUnwindSafe(f)).err()?;
    Some(
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

#[test]
fn a_second_redemption_of_a_code_is_caught() {
    let script = as_script(vec![authorize(), redeem(), redeem()]);
    let s = run_authorization_server(&script, Defects::none());
    assert_eq!((s.codes_issued, s.codes_redeemed), (1, 1));
    let broken = panic_of(|| {
        run_authorization_server(&script, Defects::of([Defect::CodeReusable]));
    });
    assert!(broken.is_some_and(|m| m.contains("redeemed twice")));
}

#[test]
fn a_redemption_after_the_code_lifetime_is_caught() {
    let script = as_script(vec![authorize(), AsOp::Advance(120), redeem()]);
    assert_eq!(run_authorization_server(&script, Defects::none()).codes_redeemed, 0);
    let broken = panic_of(|| {
        run_authorization_server(&script, Defects::of([Defect::CodeNoExpiry]));
    });
    assert!(broken.is_some_and(|m| m.contains("after issue")), "");
}

#[test]
fn a_second_use_of_a_refresh_token_is_caught() {
    let script = as_script(vec![authorize(), redeem(), refresh(), refresh()]);
    assert_eq!(run_authorization_server(&script, Defects::none()).refreshes, 1);
    let broken = panic_of(|| {
        run_authorization_server(&script, Defects::of([Defect::NoRefreshRotation]));
    });
    assert!(broken.is_some_and(|m| m.contains("used twice")));
}

fn post(token: Token, session: Session, body: Body) -> McpOp {
    McpOp::Post { token, session, body, version: None, accept: None, content_type: None, origin: None }
}

/// `initialize` with a read-only token, then `write_note` with `call_token`.
fn mcp_script(call_token: Token) -> McpScript {
    let write = Body::Call { tool: None, text: "x".into() };
    McpScript {
        ops: vec![
            post(minted_token(Signer::Trusted, 0b001, None), Session::Absent, Body::Initialize(None)),
            post(call_token, Session::Seen(0), write),
        ],
    }
}

#[test]
fn a_tool_run_without_its_scope_is_caught() {
    assert_eq!(run_mcp_server(&mcp_script(minted_token(Signer::Trusted, 0b011, None)), Defects::none()), 1);
    let read_only = mcp_script(minted_token(Signer::Trusted, 0b001, None));
    assert_eq!(run_mcp_server(&read_only, Defects::none()), 0);
    let broken = panic_of(|| {
        run_mcp_server(&read_only, Defects::of([Defect::ScopeCheckAtConnectOnly]));
    });
    assert!(broken.is_some_and(|m| m.contains("without its scope")));
}

#[test]
fn a_tool_run_for_a_foreign_issuer_or_an_unsigned_token_is_caught() {
    let foreign = mcp_script(minted_token(Signer::Trusted, 0b011, Some(Text::Known(2))));
    assert_eq!(run_mcp_server(&foreign, Defects::none()), 0);
    let broken = panic_of(|| {
        run_mcp_server(&foreign, Defects::of([Defect::NoIssuerCheck]));
    });
    assert!(broken.is_some_and(|m| m.contains("wrong typ or issuer")));
    let unsigned = mcp_script(minted_token(Signer::Unsigned, 0b011, None));
    assert_eq!(run_mcp_server(&unsigned, Defects::none()), 0);
    let broken = panic_of(|| {
        run_mcp_server(&unsigned, Defects::of([Defect::AcceptAlgNone]));
    });
    assert!(broken.is_some_and(|m| m.contains("not signed by the trusted key")));
}

mod differential {
    use super::*;
    use mcp_authz_fuzz_entries::differential::{Aud, Case, NOW, Signer, build_case, compare, ours};

    fn case(typ: Option<Text>) -> Case {
        Case {
            signer: Signer::TrustedEs256,
            alg: None,
            typ,
            kid: None,
            crit: false,
            iss: K,
            aud: Aud::One(K),
            missing: 0,
            exp: Some(600),
            iat: Some(0),
            nbf: None,
            flip: None,
        }
    }

    #[test]
    fn only_the_deliberate_disagreements_pass() {
        let good = build_case(case(Some(K)), NOW).unwrap();
        let accepted = ours(&good);
        assert!(accepted.is_ok(), "{accepted:?}");
        compare(&good, &accepted, &accepted.clone());
        let refused = Err("refused".to_string());
        assert!(panic_of(|| compare(&good, &accepted, &refused)).is_some_and(|m| m.contains("disagreement")));
        assert!(panic_of(|| compare(&good, &refused, &accepted)).is_some_and(|m| m.contains("disagreement")));
        // `typ: JWT`: we refuse on purpose where jsonwebtoken accepts.
        let jwt_typ = build_case(case(Some(Text::Known(3))), NOW).unwrap();
        let verdict = ours(&jwt_typ);
        assert!(verdict.is_err());
        compare(&jwt_typ, &verdict, &accepted);
    }
}

/// The committed `mcp_server` seeds named `tool-runs-*` reach side-effecting tool runs, so
/// the replay exercises the invariant, and together they catch a per-call scope check
/// skipped.
#[test]
fn the_mcp_server_seeds_run_tools() {
    use arbitrary::{Arbitrary, Unstructured};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/mcp_server");
    let mut caught = false;
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if !entry.file_name().to_string_lossy().starts_with("tool-runs-") {
            continue;
        }
        seeds += 1;
        let data = std::fs::read(entry.path()).unwrap();
        let script = McpScript::arbitrary_take_rest(Unstructured::new(&data)).unwrap();
        assert!(run_mcp_server(&script, Defects::none()) > 0, "{:?} runs no tool", entry.path());
        caught |= panic_of(|| {
            run_mcp_server(&script, Defects::of([Defect::ScopeCheckAtConnectOnly]));
        })
        .is_some();
    }
    assert!(seeds > 0 && caught);
}
