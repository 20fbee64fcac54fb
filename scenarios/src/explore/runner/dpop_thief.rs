//! The DPoP key thief: an attacker that reads resource requests steals the DPoP-bound
//! access tokens honest clients send, with the proof each came with, but never the key
//! they are bound to. It presents one at an MCP server as a Bearer token, as DPoP without
//! a proof, with proofs by its own key, with the honest proof replayed, or with unsigned
//! proofs naming the token's key (INV-DPOP judges what the server serves).

use super::*;
use crate::explore::model::DpopTheft;
use base64::Engine as _;
use mcp_authz_reference::dpop::{self, ProofClaims, ProofHeader};

/// A stolen bound token, the honest proof that came with it, and how it is presented.
#[derive(Clone, Copy)]
struct Stolen<'a> {
    token: &'a str,
    proof: &'a str,
    how: DpopTheft,
}

impl Runner {
    /// Attacker `a` presents its stolen bound token `loot` (modulo) at `server` as `how`
    /// says: the opening request of the world's wire, then, in the session it opened,
    /// a call of `tool`.
    pub(super) fn steal_dpop_token(
        &mut self,
        a: usize,
        loot: u8,
        server: Server,
        tool: Tool,
        how: DpopTheft,
    ) -> Result<(), Error> {
        let stolen = &self.attackers[a].dpop_tokens;
        if stolen.is_empty() {
            return Ok(());
        }
        let (token, proof) = stolen[usize::from(loot) % stolen.len()].clone();
        let stolen = Stolen { token: &token, proof: &proof, how };
        let opened = self.present_stolen(a, server, stolen, &self.world.opening_body(), None)?;
        let Some(session) = opened.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()) else {
            return Ok(());
        };
        let (session, call) = (session.to_string(), World::call_body(tool.name(), tool.arguments()));
        self.present_stolen(a, server, stolen, &call, Some(&session))?;
        Ok(())
    }

    /// Sends `body` to `server` (in `session`) from attacker `a` with the `stolen` token,
    /// presented as it says. A fresh proof that a server refused for want of its nonce
    /// (`use_dpop_nonce`: nonces are no secret) is made again with the nonce it gave, once.
    fn present_stolen(
        &mut self,
        a: usize,
        server: Server,
        stolen: Stolen<'_>,
        body: &Value,
        session: Option<&str>,
    ) -> Result<Response, Error> {
        let answer = self.present_stolen_once(a, server, stolen, body, session)?;
        let nonce = answer.headers().get(dpop::NONCE_HEADER).and_then(|v| v.to_str().ok()).map(String::from);
        let fresh = matches!(stolen.how, DpopTheft::OwnKey | DpopTheft::Unsigned);
        let challenge = answer.headers().get(http::header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok());
        let asks_for_nonce = challenge.is_some_and(|c| c.contains("use_dpop_nonce"));
        match nonce {
            Some(n) if fresh && asks_for_nonce && answer.status() == http::StatusCode::UNAUTHORIZED => {
                self.attackers[a].dpop_nonce = Some(n);
                self.present_stolen_once(a, server, stolen, body, session)
            }
            _ => Ok(answer),
        }
    }

    /// [`Runner::present_stolen`] without the retry.
    fn present_stolen_once(
        &mut self,
        a: usize,
        server: Server,
        stolen: Stolen<'_>,
        body: &Value,
        session: Option<&str>,
    ) -> Result<Response, Error> {
        let Stolen { token, proof, how } = stolen;
        let url = server.url();
        let headers: Vec<(&str, &str)> = match session {
            Some(s) => vec![("mcp-session-id", s), ("mcp-protocol-version", "2025-11-25")],
            None => vec![],
        };
        let mut req = self.world.mcp_request(url, None, body, &headers);
        let scheme = if how == DpopTheft::AsBearer { "Bearer" } else { dpop::SCHEME };
        let proof = match how {
            DpopTheft::AsBearer | DpopTheft::NoProof => None,
            DpopTheft::ReplayedProof => Some(proof.to_string()),
            DpopTheft::OwnKey => Some(self.own_proof(a, url, token)?),
            DpopTheft::Unsigned => Some(self.unsigned_proof(a, url, token, proof)?),
        };
        let value = |v: &str| {
            http::HeaderValue::from_str(v).map_err(|e| Error::malformed("stolen token or proof", e))
        };
        req.headers_mut().insert(http::header::AUTHORIZATION, value(&format!("{scheme} {token}"))?);
        if let Some(p) = proof {
            req.headers_mut().insert(dpop::HEADER, value(&p)?);
        }
        Ok(self.world.send(&format!("attacker{a}"), req)?)
    }

    /// Fresh claims of attacker `a`'s for a POST to `url` with `token` (a `jti` drawn
    /// from the seed under a name of their own).
    fn thief_claims(&mut self, a: usize, url: &str, token: &str) -> ProofClaims {
        let made = &mut self.attackers[a].dpop_proofs_made;
        *made += 1;
        let name = format!("thief{a}-proof-{made}");
        let nonce = self.attackers[a].dpop_nonce.clone();
        self.world.sim.env_for(&name, |env| ProofClaims::new("POST", url, Some(token), nonce.as_deref(), env))
    }

    /// A fresh proof for a POST to `url` with `token`, signed by attacker `a`'s own key
    /// (made from the seed the first time).
    fn own_proof(&mut self, a: usize, url: &str, token: &str) -> Result<String, Error> {
        let key = match self.attackers[a].dpop_key.take() {
            Some(k) => k,
            None => self.world.generate_key(Algorithm::ES256, &format!("thief{a}")),
        };
        let proof = self.thief_claims(a, url, token).sign(&key);
        self.attackers[a].dpop_key = Some(key);
        proof
    }

    /// A fresh unsigned proof (`alg: none`) for a POST to `url` with `token`, whose
    /// header names the public key of the honest proof `seen`.
    fn unsigned_proof(&mut self, a: usize, url: &str, token: &str, seen: &str) -> Result<String, Error> {
        let header = seen.split('.').next().unwrap_or_default();
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|e| Error::malformed("stolen proof header", e))?;
        let header: ProofHeader =
            serde_json::from_slice(&header).map_err(|e| Error::malformed("stolen proof header", e))?;
        let claims = self.thief_claims(a, url, token);
        dpop::encode_unsigned_proof(&header, &claims)
    }
}
