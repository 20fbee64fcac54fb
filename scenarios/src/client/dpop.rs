//! DPoP at the client (CL-DPOP-*; the DPoP extension, SEP-1932, on RFC 9449): the
//! harness's AS lists `dpop_signing_alg_values_supported` and binds tokens to proofs, its
//! MCP server takes them; the client, given a DPoP key where it takes one (the reference
//! client's `dpop` switch), must put a fresh proof on every request to the MCP server,
//! with `Authorization: DPoP` and `ath` (CL-62), a proof on every token request, refresh
//! included (CL-63), and answer `use_dpop_nonce` with one retry carrying the nonce, at
//! the AS and at the MCP server (CL-64).
//!
//! A client that sends no proof to the token endpoint does not use DPoP: the cases are
//! then not applicable. What the client sent is judged from the wire (the proofs are
//! read, not verified: the harness's AS and MCP server verify them).

use super::hostile::{challenged, echo, prm_url, seen};
use crate::world::{Log, MCP, MCP_ORIGIN, OTHER_MCP, Seen, World, all_variants};
use http::{HeaderValue, StatusCode, header};
use mcp_authz_reference::client::PublicClient;
use mcp_authz_reference::dpop::{self, ProofClaims};
use mcp_authz_reference::jwt;
use mcp_authz_reference::wire;
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Verdict};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

/// The nonce the harness's AS asks for in CL-DPOP-03.
const AS_NONCE: &str = "harness-as-dpop-nonce";
/// The nonce the harness's MCP server asks for in CL-DPOP-03.
const RS_NONCE: &str = "harness-rs-dpop-nonce";

/// The reference client with DPoP on (a client process keeps its own configuration).
fn dpop_client(w: &World) -> PublicClient {
    w.public_client_with(MCP, |c| c.dpop = true).expect("valid client config")
}

/// The one `DPoP` header of a request, if it has exactly one.
fn proof_of(s: &Seen) -> Option<&str> {
    let mut values = s.headers.get_all(dpop::HEADER).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok(),
        _ => None,
    }
}

/// A proof's claims and its key's thumbprint, read without verification.
fn read_proof(proof: &str) -> Option<(ProofClaims, String)> {
    let claims = serde_json::from_slice(&jwt::split(proof).ok()?.payload).ok()?;
    Some((claims, dpop::proof_jkt(proof)?))
}

/// True when `htu` names `url` (scheme, host, port and path; query and fragment aside),
/// `htu` read at the simulated origin it may stand for ([`World::unaliased`]: a client
/// process is given loopback origins).
fn same_url(w: &World, htu: &str, url: &str) -> bool {
    let htu = &w.unaliased(htu);
    let parts = |u: &str| url::Url::parse(u).ok().map(|u| (u.origin(), u.path().to_string()));
    parts(htu).is_some_and(|p| Some(p) == parts(url))
}

/// The `cnf.jkt` of an access token (a JWT of the harness's AS), read without
/// verification.
fn bound_jkt(token: &str) -> Option<String> {
    let claims: serde_json::Value = serde_json::from_slice(&jwt::split(token).ok()?.payload).ok()?;
    claims["cnf"]["jkt"].as_str().map(String::from)
}

/// Requests to a token endpoint.
fn token_requests(log: &Log) -> Vec<Seen> {
    seen(log, |s| s.channel == Channel::Token && s.method == "POST" && s.path().ends_with("/token"))
}

/// The key thumbprint of the client's first proof at the token endpoint: the key its
/// tokens are bound to; not applicable when it sent none.
fn dpop_key(log: &Log) -> Result<String, Check> {
    let first = token_requests(log).into_iter().find_map(|s| proof_of(&s).and_then(read_proof));
    first.map(|(_, jkt)| jkt).ok_or_else(|| {
        Check::NotApplicable(
            "the client sent no DPoP proof to the token endpoint, though the AS lists \
             dpop_signing_alg_values_supported: it does not use DPoP"
                .into(),
        )
    })
}

/// What is wrong with the proof of `s`, a request to the MCP server carrying `token`
/// with `Authorization: DPoP`, given the client's key and the `jti`s seen before.
fn proof_fault(
    w: &World,
    s: &Seen,
    token: &str,
    jkt: &str,
    now: u64,
    jtis: &mut BTreeSet<String>,
) -> Option<String> {
    let Some(proof) = proof_of(s) else {
        return Some(format!("{} DPoP headers", s.headers.get_all(dpop::HEADER).iter().count()));
    };
    let Some((claims, key)) = read_proof(proof) else { return Some("a proof that does not parse".into()) };
    // The key the presented token is bound to (a client process run twice has a key per
    // run), else the key of the client's first token request.
    let bound = bound_jkt(token);
    let jkt = bound.as_deref().unwrap_or(jkt);
    let fault = if claims.htm != s.method {
        format!("htm `{}` for a {}", claims.htm, s.method)
    } else if !same_url(w, &claims.htu, &s.url) {
        format!("htu `{}` for {}", claims.htu, s.url)
    } else if claims.ath.as_deref() != Some(dpop::ath(token).as_str()) {
        format!("ath {:?}, not the token's hash", claims.ath)
    } else if key != jkt {
        format!("a proof by key `{key}`, not the bound key `{jkt}`")
    } else if claims.iat.abs_diff(now) > dpop::DEFAULT_WINDOW.as_secs() {
        format!("iat {} at {now}", claims.iat)
    } else if !jtis.insert(claims.jti.clone()) {
        format!("jti `{}` again (a proof sent before)", claims.jti)
    } else {
        return None;
    };
    Some(fault)
}

/// CL-DPOP-01: two tool calls, then one at a second MCP server; every request carrying a
/// token to an MCP server says `Authorization: DPoP` and has one proof of that request
/// (`htm`, `htu`: no proof made for one server reaches the other), by the bound key, made
/// now, with `ath`, and a `jti` never sent before.
pub(super) fn fresh_proofs(w: &mut World) -> Check {
    let log = w.record(&[Channel::Token, Channel::Resource]);
    let mut client = dpop_client(w);
    let mut outcome = w.run_client("victim", &mut client, echo());
    if outcome.is_ok() {
        outcome = w.run_client("victim", &mut client, echo());
    }
    // Then a second server: no proof made for the first may reach it (its `htu` and
    // `jti` are the first server's).
    if outcome.is_ok() {
        outcome = match client.connect(OTHER_MCP) {
            Ok(()) => w.run_client("victim", &mut client, echo()),
            Err(e) => Err(e),
        };
    }
    let jkt = match dpop_key(&log) {
        Ok(jkt) => jkt,
        Err(check) => return check,
    };
    let sent =
        seen(&log, |s| s.channel == Channel::Resource && s.headers.contains_key(header::AUTHORIZATION));
    if sent.is_empty() {
        return Check::Undecided(format!("the client sent no token to the MCP server ({outcome:?})"));
    }
    let (now, mut jtis, mut faults) = (w.now().unix_secs(), BTreeSet::new(), Vec::new());
    for s in &sent {
        let authorization = s.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let fault = match authorization.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case(dpop::SCHEME) => {
                proof_fault(w, s, token.trim(), &jkt, now, &mut jtis)
            }
            _ => Some(format!(
                "`Authorization: {}` (not the DPoP scheme)",
                authorization.split(' ').next().unwrap_or("")
            )),
        };
        faults.extend(fault.map(|f| format!("{} {}: {f}", s.method, s.url)));
    }
    if let Some(first) = faults.first() {
        return Check::Violated(Violation::about(
            format!("{} of {} requests to the MCP servers", faults.len(), sent.len()),
            "Authorization: DPoP and a fresh proof of each request with ath (dpop §Access Token Presentation; \
             RFC 9449 §4.2, §7.1)",
            first.clone(),
        ));
    }
    match outcome {
        Ok(_) => Check::Holds,
        Err(e) => Check::Undecided(format!("the proofs sent are right, but the client stopped: {e}")),
    }
}

/// CL-DPOP-02: the MCP server refuses the client's first DPoP token once (`DPoP
/// error="invalid_token"`), so the client refreshes; its code redemption and its refresh
/// each carry one proof of `POST` at the token endpoint by the bound key.
pub(super) fn proof_at_the_token_endpoint(w: &mut World) -> Check {
    let refused = Rc::new(Cell::new(false));
    let once = refused.clone();
    let challenge = format!(r#"DPoP error="invalid_token", resource_metadata="{}""#, prm_url(MCP_ORIGIN));
    let log = w.tap(
        &[Channel::Token, Channel::Resource],
        move |msg, req| {
            let dpop_scheme = req
                .headers()
                .get(header::AUTHORIZATION)
                .is_some_and(|v| v.as_bytes().get(..5).is_some_and(|s| s.eq_ignore_ascii_case(b"dpop ")));
            if msg.channel == Channel::Resource && dpop_scheme && !once.replace(true) {
                return Verdict::Respond(challenged(StatusCode::UNAUTHORIZED, &[&challenge]));
            }
            Verdict::Pass
        },
        |_, _, _| {},
    );
    let mut client = dpop_client(w);
    let outcome = w.run_client("victim", &mut client, echo());
    let jkt = match dpop_key(&log) {
        Ok(jkt) => jkt,
        Err(check) => return check,
    };
    let grants: Vec<(String, Seen)> =
        token_requests(&log).into_iter().filter_map(|s| Some((s.param("grant_type")?, s))).collect();
    if !grants.iter().any(|(g, _)| g == "refresh_token") {
        let why = if refused.get() {
            "the MCP server refused its token once"
        } else {
            "it never presented a DPoP token"
        };
        return Check::Undecided(format!("the client did not refresh ({why}; {outcome:?})"));
    }
    let mut outcomes = Vec::new();
    for (grant, s) in &grants {
        let fault = match proof_of(s).and_then(read_proof) {
            None => Some("no proof (or more than one)".to_string()),
            Some((c, _)) if c.htm != "POST" || !same_url(w, &c.htu, &s.url) => {
                Some(format!("a proof of {} {}", c.htm, c.htu))
            }
            Some((_, key)) if key != jkt => {
                Some(format!("a proof by key `{key}`, not the bound key `{jkt}`"))
            }
            Some(_) => None,
        };
        let check = match fault {
            None => Check::Holds,
            Some(f) => Check::Violated(Violation::about(
                format!("the {grant} token request"),
                "a DPoP proof of POST at the token endpoint by the client's key (RFC 9449 §5)",
                f,
            )),
        };
        outcomes.push((format!("grant_type {grant}"), check));
    }
    all_variants(w, outcomes)
}

/// Which nonce challenges were made and answered.
#[derive(Debug, Default)]
struct NonceSeen {
    as_challenged: bool,
    as_honoured: bool,
    rs_challenged: bool,
    rs_honoured: bool,
}

/// The `nonce` of a request's proof.
fn nonce_of(req: &mcp_authz_reference::sans_io::Request) -> Option<String> {
    let proof = req.headers().get(dpop::HEADER)?.to_str().ok()?;
    read_proof(proof)?.0.nonce
}

/// CL-DPOP-03: the AS answers a token request whose proof lacks its nonce with 400
/// `use_dpop_nonce` and a `DPoP-Nonce` (RFC 9449 §8), the MCP server a DPoP request
/// whose proof lacks its nonce with 401 `DPoP error="use_dpop_nonce"` and a `DPoP-Nonce`
/// (§9); each must be retried with a proof carrying the nonce.
pub(super) fn nonces_honoured(w: &mut World) -> Check {
    let state: Rc<RefCell<NonceSeen>> = Rc::default();
    let watch = state.clone();
    let rs_challenge = format!(r#"DPoP error="use_dpop_nonce", resource_metadata="{}""#, prm_url(MCP_ORIGIN));
    let _log = w.tap(
        &[Channel::Token, Channel::Resource],
        move |msg, req| {
            if !req.headers().contains_key(dpop::HEADER) {
                return Verdict::Pass;
            }
            let nonce = nonce_of(req);
            let mut s = watch.borrow_mut();
            let to_token = msg.channel == Channel::Token && req.uri().path().ends_with("/token");
            if to_token {
                if nonce.as_deref() == Some(AS_NONCE) {
                    s.as_honoured |= s.as_challenged;
                    return Verdict::Pass;
                }
                s.as_challenged = true;
                let mut r = wire::json(StatusCode::BAD_REQUEST, &json!({"error": "use_dpop_nonce"}));
                r.headers_mut().insert(dpop::NONCE_HEADER, HeaderValue::from_static(AS_NONCE));
                return Verdict::Respond(r);
            }
            if msg.channel == Channel::Resource {
                if nonce.as_deref() == Some(RS_NONCE) {
                    s.rs_honoured |= s.rs_challenged;
                    return Verdict::Pass;
                }
                s.rs_challenged = true;
                let mut r = challenged(StatusCode::UNAUTHORIZED, &[&rs_challenge]);
                r.headers_mut().insert(dpop::NONCE_HEADER, HeaderValue::from_static(RS_NONCE));
                return Verdict::Respond(r);
            }
            Verdict::Pass
        },
        |_, _, _| {},
    );
    let mut client = dpop_client(w);
    let outcome = w.run_client("victim", &mut client, echo());
    let s = std::mem::take(&mut *state.borrow_mut());
    if !s.as_challenged {
        return Check::NotApplicable(
            "the client sent no DPoP proof to the token endpoint, though the AS lists \
             dpop_signing_alg_values_supported: it does not use DPoP"
                .into(),
        );
    }
    let judge = |where_: &str, challenged: bool, honoured: bool, code: u16| match (challenged, honoured) {
        (true, true) => Check::Holds,
        (true, false) => Check::Violated(Violation::about(
            format!("{code} use_dpop_nonce with a DPoP-Nonce from the {where_}"),
            "one retry whose proof carries the nonce (RFC 9449 §8, §9)",
            format!("no such retry ({outcome:?})"),
        )),
        (false, _) => {
            Check::Undecided(format!("the client never reached the {where_} with a proof ({outcome:?})"))
        }
    };
    let outcomes = vec![
        ("at the AS".to_string(), judge("authorization server", true, s.as_honoured, 400)),
        ("at the MCP server".to_string(), judge("MCP server", s.rs_challenged, s.rs_honoured, 401)),
    ];
    all_variants(w, outcomes)
}
