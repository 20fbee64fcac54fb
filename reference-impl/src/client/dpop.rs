//! DPoP at the client (RFC 9449; the MCP DPoP extension, SEP-1932): with
//! [`PublicClientConfig::dpop`](super::PublicClientConfig), the client proves possession
//! of a key of its own (ES256, drawn from the `Env` at the first proof).
//!
//! - It uses DPoP when the authorization server lists ES256 in
//!   `dpop_signing_alg_values_supported` (RFC 9449 §5.1) or the MCP server challenged
//!   with the `DPoP` scheme (§7.1).
//! - Every token request, code exchange, client credentials grant, JWT bearer grant and
//!   refresh alike, carries a fresh proof of `POST` at the token endpoint (§5, CL-63).
//! - A token of `token_type` `DPoP` goes to the MCP server as `Authorization: DPoP
//!   <token>` with a fresh proof of that request: a new `jti`, its method and URL, `iat`
//!   now, `ath` the token's hash (§7.1, CL-62). A proof is made for one request of one
//!   server and never sent again.
//! - A `DPoP-Nonce` in any answer is kept for that origin and put in the next proofs to
//!   it (§8.2, §9); a 400 `use_dpop_nonce` from the token endpoint, or a 401 whose `DPoP`
//!   challenge says `use_dpop_nonce`, is answered by one retry whose proof carries the
//!   nonce (CL-64). A second nonce refusal in a row is not retried.

use super::{ClientStep, PublicClient, Waiting};
use crate::bearer::{self, Challenge};
use crate::defects::Defect;
use crate::dpop::{self, ProofClaims};
use crate::jwt::{Algorithm, SigningKey};
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, FetchResult, Request, Response};
use crate::{Error, Result};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use std::collections::BTreeMap;

/// The algorithm of the client's DPoP key: the one the extension requires.
const ALG: Algorithm = Algorithm::ES256;

/// What a DPoP client keeps between requests.
#[derive(Debug, Default)]
pub(super) struct DpopState {
    /// Drawn at the first proof.
    key: Option<SigningKey>,
    /// An MCP server challenged with the `DPoP` scheme.
    challenged: bool,
    /// The last `DPoP-Nonce` of each origin.
    nonces: BTreeMap<String, String>,
    /// The last token request, to send again with a new proof after `use_dpop_nonce`.
    token_request: Option<Request>,
    /// The last request was a nonce retry: a nonce refusal of it is not retried.
    retried: bool,
    /// The last proof sent to an MCP server and that server's origin (kept for
    /// `client-dpop-proof-reused` and `client-dpop-proof-across-servers`).
    last_proof: Option<(String, String)>,
}

/// The origin of `url` (`scheme://host:port`), the key of its nonce.
fn origin(url: &str) -> String {
    url::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// The `DPoP` challenge of an answer, if it has one.
pub(super) fn dpop_challenge(headers: &HeaderMap) -> Option<Challenge> {
    let challenges = bearer::challenges(headers).ok()?;
    challenges.into_iter().find(|c| c.scheme.eq_ignore_ascii_case(dpop::SCHEME))
}

/// The nonce an answer asks the next proof to carry: a `DPoP-Nonce` with a 400
/// `use_dpop_nonce` (token endpoint, §8) or a 401 `DPoP error="use_dpop_nonce"` (§9).
fn nonce_asked(r: &Response) -> Option<String> {
    let nonce = r.headers().get(dpop::NONCE_HEADER)?.to_str().ok()?.to_string();
    let asked = match r.status() {
        StatusCode::BAD_REQUEST => {
            let body: serde_json::Value = serde_json::from_slice(r.body()).ok()?;
            body.get("error")?.as_str() == Some(ErrorCode::UseDpopNonce.as_str())
        }
        StatusCode::UNAUTHORIZED => {
            dpop_challenge(r.headers()).is_some_and(|c| c.error() == Some(ErrorCode::UseDpopNonce))
        }
        _ => false,
    };
    asked.then_some(nonce)
}

impl PublicClient {
    /// True when the client proves possession: it has DPoP on, and the AS lists its
    /// algorithm or the MCP server challenged with `DPoP`.
    fn uses_dpop(&self) -> bool {
        let advertised = self.metadata.as_ref().and_then(|m| m.dpop_signing_alg_values_supported.as_ref());
        self.config.dpop
            && (self.dpop.challenged || advertised.is_some_and(|a| a.iter().any(|a| a == ALG.name())))
    }

    /// A fresh proof for `method` `url`, with the hash of `access_token` and the origin's
    /// nonce when there are.
    fn proof(
        &mut self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        env: &mut Env<'_>,
    ) -> Result<String> {
        let key = match self.dpop.key.take() {
            Some(k) => k,
            None => SigningKey::generate(ALG, "dpop", env)?,
        };
        let nonce = self.dpop.nonces.get(&origin(url)).filter(|_| !self.has(Defect::ClientDpopNonceIgnored));
        let claims = ProofClaims::new(method, url, access_token, nonce.map(String::as_str), env);
        let proof = claims.sign(&key);
        self.dpop.key = Some(key);
        proof
    }

    /// `request` (to the token endpoint) with a fresh proof, when the client uses DPoP;
    /// kept to be sent again with a nonce. `refresh`: a refresh request.
    pub(super) fn with_token_proof(
        &mut self,
        mut request: Request,
        refresh: bool,
        env: &mut Env<'_>,
    ) -> Result<Request> {
        self.dpop.retried = false;
        if !self.uses_dpop() || (refresh && self.has(Defect::ClientDpopRefreshWithoutProof)) {
            self.dpop.token_request = None;
            return Ok(request);
        }
        let url = request.uri().to_string();
        let proof = self.proof("POST", &url, None, env)?;
        request.headers_mut().insert(dpop::HEADER, header_value(&proof)?);
        self.dpop.token_request = Some(request.clone());
        Ok(request)
    }

    /// Presents a DPoP-bound token on `request` to the MCP server: `Authorization: DPoP`
    /// and a fresh proof of this request with `ath`. Nothing for a `Bearer` token.
    pub(super) fn present_dpop(&mut self, request: &mut Request, env: &mut Env<'_>) -> Result<()> {
        let Some(token) = self.current_tokens().filter(|t| t.dpop).map(|t| t.access_token.clone()) else {
            return Ok(());
        };
        let url = request.uri().to_string();
        let ath = Some(token.as_str()).filter(|_| !self.has(Defect::ClientDpopNoAth));
        let reuse = |(proof, at): (String, String)| {
            let another_server = at != origin(&url);
            (self.has(Defect::ClientDpopProofReused)
                || (another_server && self.has(Defect::ClientDpopProofAcrossServers)))
            .then_some(proof)
        };
        let proof = match self.dpop.last_proof.clone().and_then(reuse) {
            Some(reused) => reused,
            None => self.proof(request.method().as_str(), &url, ath, env)?,
        };
        self.dpop.last_proof = Some((proof.clone(), origin(&url)));
        let h = request.headers_mut();
        h.insert(header::AUTHORIZATION, header_value(&format!("{} {token}", dpop::SCHEME))?);
        h.insert(dpop::HEADER, header_value(&proof)?);
        Ok(())
    }

    /// Reads what an answer says of DPoP before anything else looks at it: a
    /// `DPoP-Nonce` is kept for the origin it came from, a `DPoP` challenge noted; a
    /// nonce refusal is answered by one retry with a new proof carrying the nonce (the
    /// step to take then).
    pub(super) fn on_dpop_answer(
        &mut self,
        fetched: &FetchResult,
        env: &mut Env<'_>,
    ) -> Option<Result<ClientStep>> {
        let r = fetched.as_ref().ok()?;
        let at_token_endpoint = matches!(
            self.waiting,
            Waiting::CodeExchange { .. }
                | Waiting::ClientCredentials { .. }
                | Waiting::JwtBearer { .. }
                | Waiting::Refresh
        );
        let url = match (&self.waiting, at_token_endpoint) {
            (Waiting::Mcp { .. }, _) => self.config.server_url.clone(),
            (_, true) => self.dpop.token_request.as_ref().map(|r| r.uri().to_string())?,
            _ => return None,
        };
        if !at_token_endpoint && dpop_challenge(r.headers()).is_some() {
            self.dpop.challenged = true;
        }
        if let Some(n) = r.headers().get(dpop::NONCE_HEADER).and_then(|v| v.to_str().ok()) {
            self.dpop.nonces.insert(origin(&url), n.to_string());
        }
        let asked = nonce_asked(r).filter(|_| !self.has(Defect::ClientDpopNonceIgnored));
        if asked.is_none() || std::mem::replace(&mut self.dpop.retried, true) || !self.config.dpop {
            self.dpop.retried = false;
            return None;
        }
        if !at_token_endpoint {
            return Some(self.send_mcp(env));
        }
        let mut request = self.dpop.token_request.clone()?;
        Some(self.proof("POST", &url, None, env).and_then(|p| {
            request.headers_mut().insert(dpop::HEADER, header_value(&p)?);
            Ok(ClientStep::Send(request))
        }))
    }
}

fn header_value(s: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(s).map_err(|e| Error::Config(format!("a dpop header value: {e}")))
}

#[cfg(test)]
mod tests;
