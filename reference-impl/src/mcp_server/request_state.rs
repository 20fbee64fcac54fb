//! `requestState` (MCP 2026-07-28 basic/patterns/mrtr §Server Requirements): the opaque
//! state an `InputRequiredResult` hands the client, which the client echoes on its retry.
//!
//! It passes through the client, so it is "attacker-controlled input"; what it carries
//! here decides whether the confirmed action runs, so its integrity is protected ("MUST
//! protect its integrity (e.g. HMAC or AEAD) and MUST reject state that fails
//! verification") and it binds what the SHOULD list names: the principal, a short expiry,
//! and the originating request (the tool). The form is `base64url(payload) "."
//! base64url(HMAC-SHA256(key, payload))`; the payload is JSON, readable by anyone, so it
//! holds nothing secret. The key is drawn on first use from the server's random source.
//!
//! Defects: `request-state-unverified` (the payload is read without checking its tag)
//! and `request-state-not-bound` (the principal it names is not compared with the
//! caller's).

use super::session::Principal;
use crate::defects::{Defect, Defects};
use crate::sans_io::{Env, Time};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a `requestState` may be presented after it was minted.
pub const REQUEST_STATE_TTL: Duration = Duration::from_secs(300);

/// Mints and verifies the server's `requestState` values.
pub(super) struct RequestStates {
    key: Option<hmac::Key>,
    defects: Defects,
}

impl std::fmt::Debug for RequestStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestStates").field("keyed", &self.key.is_some()).finish()
    }
}

impl RequestStates {
    /// No key yet; it is drawn when the first state is minted.
    pub(super) fn new(defects: Defects) -> Self {
        RequestStates { key: None, defects }
    }

    /// A state for `principal`'s call of `tool`, valid for [`REQUEST_STATE_TTL`].
    pub(super) fn mint(&mut self, principal: &Principal, tool: &str, env: &mut Env<'_>) -> String {
        let key = self.key.get_or_insert_with(|| hmac::Key::new(hmac::HMAC_SHA256, &env.random_bytes(32)));
        let payload = json!({
            "sub": principal.sub,
            "client_id": principal.client_id,
            "tool": tool,
            "exp": env.now.plus(REQUEST_STATE_TTL).unix_secs(),
        })
        .to_string();
        let tag = hmac::sign(key, payload.as_bytes());
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// `Ok` when `state` is one this server minted, for `caller`'s call of `tool`, not
    /// expired at `now`; else why not.
    pub(super) fn verify(
        &self,
        state: &str,
        caller: &Principal,
        tool: &str,
        now: Time,
    ) -> Result<(), String> {
        let (payload, tag) =
            state.split_once('.').ok_or("requestState: expected `payload.tag`, as this server mints it")?;
        let payload =
            URL_SAFE_NO_PAD.decode(payload).map_err(|_| "requestState: payload is not base64url")?;
        if !self.defects.has(Defect::RequestStateUnverified) {
            let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| "requestState: tag is not base64url")?;
            let key = self.key.as_ref().ok_or("requestState: this server minted none")?;
            hmac::verify(key, &payload, &tag).map_err(|_| "requestState: integrity check failed")?;
        }
        let payload: Value =
            serde_json::from_slice(&payload).map_err(|_| "requestState: payload is not JSON")?;
        let field = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default();
        let owner = Principal { sub: field("sub").into(), client_id: field("client_id").into() };
        if owner != *caller && !self.defects.has(Defect::RequestStateNotBound) {
            return Err("requestState: minted for another principal".into());
        }
        if field("tool") != tool {
            return Err(format!("requestState: minted for tool `{}`, presented to `{tool}`", field("tool")));
        }
        match payload.get("exp").and_then(Value::as_u64) {
            Some(exp) if now.unix_secs() < exp => Ok(()),
            Some(_) => Err("requestState: expired".into()),
            None => Err("requestState: no expiry".into()),
        }
    }
}

/// Where a call of a tool that asks for confirmation stands.
#[derive(Debug)]
pub(super) enum Confirmation {
    /// A first call: ask, handing out this `requestState`.
    Ask(String),
    /// A retry whose `requestState` failed verification: why.
    Refused(String),
    /// A retry whose state verified and whose `inputResponses` confirm.
    Confirmed,
    /// A retry whose state verified, but the user did not confirm.
    Declined,
}

impl RequestStates {
    /// Where the call of `tool` with `params`, by `caller`, stands: a retry carries the
    /// `requestState` this server minted and the `inputResponses` answering its
    /// `confirm` request (an `ElicitResult`: `action` `accept`, `content.confirmed` true).
    pub(super) fn confirmation(
        &mut self,
        params: Option<&Value>,
        caller: &Principal,
        tool: &str,
        env: &mut Env<'_>,
    ) -> Confirmation {
        let Some(state) = params.and_then(|p| p.get("requestState")) else {
            return Confirmation::Ask(self.mint(caller, tool, env));
        };
        let Some(state) = state.as_str() else {
            return Confirmation::Refused(format!("requestState: expected a string, received {state}"));
        };
        if let Err(e) = self.verify(state, caller, tool, env.now) {
            return Confirmation::Refused(e);
        }
        let answer = params.and_then(|p| p.get("inputResponses")).and_then(|r| r.get("confirm"));
        let accepted = answer.and_then(|a| a.get("action")).and_then(Value::as_str) == Some("accept");
        let confirmed = answer.and_then(|a| a.pointer("/content/confirmed")).and_then(Value::as_bool);
        match accepted && confirmed == Some(true) {
            true => Confirmation::Confirmed,
            false => Confirmation::Declined,
        }
    }
}
