//! DPoP at the MCP endpoint (RFC 9449 §7): which tokens must come with a proof, the
//! proof checked against the request and the token ([`crate::dpop`]), and the answers
//! to a refusal.
//!
//! Decisions, each tested:
//! - A token without `cnf.jkt` presented as `Bearer` is served as before: DPoP changes
//!   nothing for unbound tokens.
//! - A token with `cnf.jkt` presented as `Bearer` is refused (§7.2: "MUST reject a
//!   DPoP-bound access token received as a bearer token"): 401 `invalid_token`.
//! - `Authorization: DPoP` with a token without `cnf.jkt` is refused: nothing binds the
//!   proof's key to it (401 `invalid_token`).
//! - `Authorization: DPoP` with a bound token needs exactly one valid proof for this
//!   request (§4.3): its method, this endpoint's URL (the configured resource's origin and
//!   the request's path), a hash of that token, the key `cnf.jkt` names, `iat` within
//!   [`Dpop::window`], a `jti` not seen before. Else 401 with `WWW-Authenticate: DPoP
//!   error="invalid_dpop_proof"` and the accepted `algs` (§7.1).
//! - With [`Dpop::require_nonce`], a proof without a current server nonce gets 401
//!   `error="use_dpop_nonce"` and a `DPoP-Nonce` header (§9); every answer to a DPoP
//!   request carries a current nonce.

use super::config::{Config, Dpop};
use super::token_validation::header_safe;
use crate::access_token::AccessTokenClaims;
use crate::bearer::Challenge;
use crate::defects::{Defect, Defects};
use crate::dpop::{self, Expectation, Nonces, ProofCheck, Validator};
use crate::error::TokenError;
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, Request, Response, Step};
use crate::wire;
use http::{HeaderValue, StatusCode, header};

/// The defects that leave out a check of the proof, each with its check.
const SKIPPED: [(Defect, ProofCheck); 8] = [
    (Defect::DpopAlgNoneAccepted, ProofCheck::Alg),
    (Defect::DpopHtmUnchecked, ProofCheck::Htm),
    (Defect::DpopHtuUnchecked, ProofCheck::Htu),
    (Defect::DpopIatUnchecked, ProofCheck::Iat),
    (Defect::DpopJtiReplayAllowed, ProofCheck::Jti),
    (Defect::DpopAthUnchecked, ProofCheck::Ath),
    (Defect::DpopJktUnchecked, ProofCheck::Jkt),
    (Defect::DpopNonceUnchecked, ProofCheck::Nonce),
];

/// True when the request's `Authorization` scheme is `DPoP`.
pub(super) fn uses_dpop_scheme(request: &Request) -> bool {
    let mut values = request.headers().get_all(header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.as_bytes().get(..5).is_some_and(|s| s.eq_ignore_ascii_case(b"dpop ")),
        _ => false,
    }
}

/// The proof checks of one MCP server: its validator (and replay cache) and nonces.
pub(super) struct DpopBinding {
    config: Dpop,
    defects: Defects,
    validator: Validator,
    /// Drawn when first needed (the secret comes from a request's `Env`).
    nonces: Option<Nonces>,
    /// The origin of the configured resource: a proof's `htu` names it.
    origin: String,
}

impl DpopBinding {
    /// The checks `config` asks for, with its defects.
    pub(super) fn new(config: &Config) -> Self {
        let mut validator = Validator::new();
        validator.algorithms.clone_from(&config.dpop.algorithms);
        validator.window = config.dpop.window;
        validator.skipped = SKIPPED.iter().filter(|(d, _)| config.defects.has(*d)).map(|(_, c)| *c).collect();
        DpopBinding {
            config: config.dpop.clone(),
            defects: config.defects.clone(),
            validator,
            nonces: None,
            origin: url::Url::parse(&config.resource)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default(),
        }
    }

    /// Proofs with an `htu` at `alias` name this server's origin ([`Validator::aliases`]).
    pub(super) fn also_reached_at(&mut self, alias: &str) {
        self.validator.aliases.push((alias.to_string(), self.origin.clone()));
    }

    fn nonces(&mut self, env: &mut Env<'_>) -> &Nonces {
        let lifetime = self.config.nonce_lifetime;
        let never_stale = self.defects.has(Defect::DpopNonceNeverStale);
        self.nonces.get_or_insert_with(|| {
            let nonces = Nonces::new(lifetime, env);
            if never_stale { nonces.never_stale() } else { nonces }
        })
    }

    /// `Ok` when `token` (valid, with `claims`) may be used as `request` presents it;
    /// else the 401 to answer, naming `metadata_url`.
    pub(super) fn check(
        &mut self,
        request: &Request,
        token: &str,
        claims: &AccessTokenClaims,
        metadata_url: Option<&str>,
        env: &mut Env<'_>,
    ) -> Result<(), Box<Response>> {
        let bound = claims.bound_jkt();
        if !uses_dpop_scheme(request) {
            return match bound {
                Some(_) if !self.defects.has(Defect::DpopBoundTokenAsBearer) => {
                    Err(Box::new(self.refusal(&TokenError::BoundTokenAsBearer, metadata_url, env)))
                }
                _ => Ok(()),
            };
        }
        if bound.is_none() && !self.defects.has(Defect::DpopJktUnchecked) {
            return Err(Box::new(self.refusal(&TokenError::NotBound, metadata_url, env)));
        }
        if request.headers().get(dpop::HEADER).is_none() && self.defects.has(Defect::DpopProofNotRequired) {
            return Ok(());
        }
        let url = format!("{}{}", self.origin, request.uri().path());
        if self.config.require_nonce {
            self.nonces(env);
        }
        let expected = Expectation {
            method: request.method().as_str(),
            url: &url,
            access_token: Some(token),
            jkt: bound,
            nonces: self.nonces.as_ref().filter(|_| self.config.require_nonce),
        };
        match self.validator.validate(request.headers(), &expected, env.now) {
            Ok(_) => Ok(()),
            Err(e) => Err(Box::new(self.refusal(&e, metadata_url, env))),
        }
    }

    /// The 401 for `error` (of the proof, or of how the token was presented): a `DPoP`
    /// challenge with its code (`use_dpop_nonce` with a `DPoP-Nonce` for a nonce,
    /// `invalid_token` for the presentation, else `invalid_dpop_proof`).
    pub(super) fn refusal(
        &mut self,
        error: &TokenError,
        metadata_url: Option<&str>,
        env: &mut Env<'_>,
    ) -> Response {
        let code = match error {
            TokenError::ProofNonce(_) => ErrorCode::UseDpopNonce,
            TokenError::BoundTokenAsBearer | TokenError::NotBound => ErrorCode::InvalidToken,
            _ => ErrorCode::InvalidDpopProof,
        };
        self.respond(code, &error.to_string(), metadata_url, env)
    }

    /// The 401 for a DPoP request whose access token itself was refused (`invalid_token`).
    pub(super) fn token_refusal(
        &mut self,
        description: &str,
        metadata_url: Option<&str>,
        env: &mut Env<'_>,
    ) -> Response {
        self.respond(ErrorCode::InvalidToken, description, metadata_url, env)
    }

    /// A 401 with a `DPoP` challenge naming `code`, `description`, the accepted `algs`
    /// and the metadata URL (RFC 9449 §7.1), and a current nonce when nonces are on.
    fn respond(
        &mut self,
        code: ErrorCode,
        description: &str,
        metadata_url: Option<&str>,
        env: &mut Env<'_>,
    ) -> Response {
        let description = header_safe(description);
        let mut challenge = Challenge { scheme: dpop::SCHEME.into(), ..Challenge::default() };
        if let Some(m) = metadata_url {
            challenge = challenge.with("resource_metadata", m);
        }
        let algs: Vec<&str> = self.config.algorithms.iter().map(|a| a.name()).collect();
        challenge = challenge
            .with("error", code.as_str())
            .with("error_description", description.as_str())
            .with("algs", algs.join(" "));
        let nonce = code == ErrorCode::UseDpopNonce || self.config.require_nonce;
        let mut r = wire::oauth_error(StatusCode::UNAUTHORIZED, code, description);
        if let Ok(v) = HeaderValue::from_str(&challenge.to_header_value()) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if nonce {
            let nonce = self.nonces(env).current(env.now);
            if let Ok(v) = HeaderValue::from_str(&nonce) {
                r.headers_mut().insert(dpop::NONCE_HEADER, v);
            }
        }
        r
    }

    /// `step` with a current `DPoP-Nonce` on its answer, when `dpop` (the request used
    /// the DPoP scheme) and nonces are required.
    pub(super) fn with_nonce<P>(&mut self, dpop: bool, step: Step<P>, env: &mut Env<'_>) -> Step<P> {
        match step {
            Step::Respond(mut r) if dpop && self.config.require_nonce => {
                let nonce = self.nonces(env).current(env.now);
                if let Ok(v) = HeaderValue::from_str(&nonce) {
                    r.headers_mut().insert(dpop::NONCE_HEADER, v);
                }
                Step::Respond(r)
            }
            step => step,
        }
    }
}
