//! DPoP at the token endpoint (RFC 9449 §5, §8): a token request with a valid proof gets
//! tokens bound to the proof's key.
//!
//! Decisions, each tested:
//! - A token request without a `DPoP` header is served as before, with `Bearer` tokens,
//!   unless its client registered `dpop_bound_access_tokens: true` (§5.2: the server
//!   "MUST reject token requests from the client that do not contain the DPoP header"):
//!   400 `invalid_dpop_proof`.
//! - An AS configured with no DPoP algorithms does not do DPoP: it ignores the header and
//!   issues `Bearer` tokens.
//! - A `DPoP` header must hold exactly one valid proof (§4.3) of `POST` at this token
//!   endpoint, else 400 `invalid_dpop_proof` (§5).
//! - A valid proof binds the access token: `cnf.jkt` is the proof key's thumbprint
//!   (§6.1) and the response says `token_type: DPoP` (§5).
//! - A public client's refresh token is bound to the key of the proof it was issued with
//!   (§5, "the refresh token MUST be bound to the respective public key"): a refresh
//!   without a proof is 400 `invalid_dpop_proof`, with another key's 400 `invalid_grant`.
//!   A confidential client's refresh tokens are bound to its credentials, not to a key.
//! - With [`TokenDpop::require_nonce`](super::TokenDpop), a proof without a current
//!   server nonce is 400 `use_dpop_nonce` (§8); every token endpoint answer then carries
//!   a current `DPoP-Nonce`.

use super::config::{Config, RegisteredClient};
use super::{AuthorizationServer, Rejection};
use crate::defects::Defect;
use crate::dpop::{self, Expectation, Nonces, ProofCheck, Validator};
use crate::error::TokenError;
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, Request, Response};
use http::HeaderValue;
use std::time::Duration;

/// The checks [`Defect::DpopTokenProofUnchecked`] leaves out: all but the signature by
/// the header's key, which gives the thumbprint.
const UNCHECKED: [ProofCheck; 5] =
    [ProofCheck::Alg, ProofCheck::Htm, ProofCheck::Htu, ProofCheck::Iat, ProofCheck::Jti];

/// The proof checks of the token endpoint: a validator (and its replay cache) and the
/// server's nonces.
#[derive(Debug)]
pub(super) struct TokenProofs {
    validator: Validator,
    require_nonce: bool,
    nonce_lifetime: Duration,
    /// Drawn when first needed (the secret comes from a request's `Env`).
    nonces: Option<Nonces>,
}

impl TokenProofs {
    /// The checks `config` asks for, with its defects.
    pub(super) fn new(config: &Config) -> Self {
        let mut validator = Validator::new();
        validator.algorithms.clone_from(&config.dpop.algorithms);
        if config.defects.has(Defect::DpopTokenProofUnchecked) {
            validator.skipped = UNCHECKED.into_iter().collect();
        }
        if config.defects.has(Defect::DpopTokenProofReplayAllowed) {
            validator.skipped.insert(ProofCheck::Jti);
        }
        TokenProofs {
            validator,
            require_nonce: config.dpop.require_nonce,
            nonce_lifetime: config.dpop.nonce_lifetime,
            nonces: None,
        }
    }

    /// Proofs with an `htu` at `alias` name the origin of `issuer` (see
    /// [`Validator::aliases`]).
    pub(super) fn also_reached_at(&mut self, alias: &str, issuer: &str) {
        if let Ok(own) = url::Url::parse(issuer) {
            self.validator.aliases.push((alias.to_string(), own.origin().ascii_serialization()));
        }
    }

    fn nonces(&mut self, env: &mut Env<'_>) -> &Nonces {
        let lifetime = self.nonce_lifetime;
        self.nonces.get_or_insert_with(|| Nonces::new(lifetime, env))
    }

    /// Checks the proof of a token request at `endpoint`: the thumbprint of its key.
    fn check(&mut self, request: &Request, endpoint: &str, env: &mut Env<'_>) -> Result<String, TokenError> {
        if self.require_nonce {
            self.nonces(env);
        }
        let expected = Expectation {
            method: "POST",
            url: endpoint,
            access_token: None,
            jkt: None,
            nonces: self.nonces.as_ref().filter(|_| self.require_nonce),
        };
        self.validator.validate(request.headers(), &expected, env.now)?;
        let proof = request.headers().get(dpop::HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        dpop::proof_jkt(proof).ok_or_else(|| TokenError::Malformed("dpop proof: no usable jwk".into()))
    }
}

impl AuthorizationServer {
    /// The key a token request's DPoP proof binds the tokens to (its thumbprint), `None`
    /// without a `DPoP` header; a refusal for an invalid proof, or for none from a client
    /// registered with `dpop_bound_access_tokens: true`.
    pub(super) fn token_proof(
        &mut self,
        request: &Request,
        client: &RegisteredClient,
        env: &mut Env<'_>,
    ) -> Result<Option<String>, Rejection> {
        // An AS configured without DPoP algorithms does not do DPoP: it lists none, ignores
        // the header and issues Bearer tokens, which a client must then accept (RFC 9449 §5:
        // the `token_type` says which it got).
        if self.config.dpop.algorithms.is_empty() {
            return Ok(None);
        }
        if !request.headers().contains_key(dpop::HEADER) {
            if client.dpop_bound_access_tokens
                && !self.config.defects.has(Defect::DpopBoundClientWithoutProof)
            {
                return Err(Rejection::new(
                    ErrorCode::InvalidDpopProof,
                    "received no DPoP proof, expected one: the client registered dpop_bound_access_tokens: true \
                     (RFC 9449 §5.2)",
                ));
            }
            return Ok(None);
        }
        let endpoint = self.config.token_endpoint();
        match self.dpop.check(request, &endpoint, env) {
            Ok(jkt) => Ok(Some(jkt).filter(|_| !self.config.defects.has(Defect::DpopTokenNotBound))),
            Err(e @ TokenError::ProofNonce(_)) => Err(Rejection::new(ErrorCode::UseDpopNonce, e)),
            Err(e) => Err(Rejection::new(ErrorCode::InvalidDpopProof, e)),
        }
    }

    /// Adds a current `DPoP-Nonce` to a token endpoint answer when nonces are required.
    pub(super) fn with_dpop_nonce(&mut self, mut response: Response, env: &mut Env<'_>) -> Response {
        if self.dpop.require_nonce {
            let nonce = self.dpop.nonces(env).current(env.now);
            if let Ok(v) = HeaderValue::from_str(&nonce) {
                response.headers_mut().insert(dpop::NONCE_HEADER, v);
            }
        }
        response
    }
}

/// Checks that a refresh whose proof has the key `jkt` (if any) may use a refresh token
/// bound to the key `bound` (if it is).
pub(super) fn check_refresh_binding(bound: Option<&str>, jkt: Option<&str>) -> Result<(), Rejection> {
    match (bound, jkt) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(Rejection::new(
            ErrorCode::InvalidDpopProof,
            "received no DPoP proof, expected one by the key the refresh token is bound to (RFC 9449 §5)",
        )),
        (Some(b), Some(k)) if b != k => Err(Rejection::new(
            ErrorCode::InvalidGrant,
            format!("refresh token is bound to the DPoP key `{b}`, received a proof by `{k}` (RFC 9449 §5)"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
