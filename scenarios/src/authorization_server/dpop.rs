//! DPoP at the authorization server (AS-DPOP-*; the DPoP extension, SEP-1932, on RFC
//! 9449): the metadata names the proof algorithms, asymmetric only (AS-39); a token
//! request with a valid proof gets a token bound to the proof's key (`token_type: DPoP`,
//! `cnf.jkt`), an invalid proof is `invalid_dpop_proof`, and a public client's refresh
//! token is bound to its key (AS-40); a client registered with `dpop_bound_access_tokens:
//! true` gets nothing without a proof (AS-41).
//!
//! An AS whose metadata does not list `dpop_signing_alg_values_supported` does not offer
//! DPoP (RFC 9449 §5.1): the cases are then not applicable, except AS-DPOP-01, which
//! checks that such an AS does not bind tokens all the same. The harness's proofs are
//! ES256 (the algorithm the extension requires); a `use_dpop_nonce` answer (RFC 9449 §8)
//! is followed by one retry with the server's nonce.

use super::oauth::{
    VERIFIER, VICTIM, app, authorization_url, claims, code, field, token_request_with_proof, tokens,
    victim_code,
};
use crate::world::{REDIRECT, World, all_variants, describe, oauth_error_code};
use mcp_authz_reference::authorization_server::RegisteredClient;
use mcp_authz_reference::dpop::{self, ProofClaims, ProofHeader};
use mcp_authz_reference::jwt::{Algorithm, SigningKey};
use mcp_authz_reference::metadata::AuthorizationServerMetadata;
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Value, json};

/// Where the metadata rule is.
const METADATA_RULE: &str = "dpop §Authorization Server Metadata; RFC 9449 §5.1";

/// A DPoP key of the harness, making fresh proofs for the AS's token endpoint.
struct Prover {
    /// Names the proofs' random draws: the case and the key (a live AS keeps the `jti`s
    /// of every case, each run with the same seed).
    name: String,
    key: SigningKey,
    made: u32,
    /// The last `DPoP-Nonce` the AS gave.
    nonce: Option<String>,
}

impl Prover {
    fn new(w: &mut World, case: &str, kid: &str) -> Prover {
        let key = w.generate_key(Algorithm::ES256, kid);
        Prover { name: format!("{case}-{kid}"), key, made: 0, nonce: None }
    }

    /// The key's RFC 7638 thumbprint: the `jkt` a token bound to it carries.
    fn jkt(&self) -> String {
        dpop::jkt(&self.key.public_jwk())
    }

    /// The claims of an honest proof for `POST` at the token endpoint, made now.
    fn claims(&mut self, w: &mut World) -> ProofClaims {
        self.made += 1;
        let (url, nonce) = (w.as_under_test.token_endpoint.clone(), self.nonce.clone());
        let name = format!("dpop-proof-{}-{}-{}", self.name, self.made, w.now().unix_millis());
        w.sim.env_for(&name, |env| ProofClaims::new("POST", &url, None, nonce.as_deref(), env))
    }

    /// An honest proof with `edit` applied to its claims.
    fn proof(&mut self, w: &mut World, edit: impl FnOnce(&mut ProofClaims)) -> String {
        let mut claims = self.claims(w);
        edit(&mut claims);
        claims.sign(&self.key).expect("an ES256 key signs")
    }

    /// A token request with `pairs` and an honest proof; on `use_dpop_nonce` with a
    /// `DPoP-Nonce`, once more with a new proof carrying it.
    fn send(&mut self, w: &mut World, pairs: &[(&str, &str)]) -> FetchResult {
        let proof = self.proof(w, |_| {});
        let r = token_request_with_proof(w, VICTIM, pairs, Some(&proof));
        match nonce_asked(&r) {
            Some(nonce) => {
                w.note("the AS asks for a DPoP nonce: once more with it");
                self.nonce = Some(nonce);
                let proof = self.proof(w, |_| {});
                token_request_with_proof(w, VICTIM, pairs, Some(&proof))
            }
            None => r,
        }
    }
}

/// The nonce of a 400 `use_dpop_nonce` answer (RFC 9449 §8).
fn nonce_asked(r: &FetchResult) -> Option<String> {
    let r = r.as_ref().ok().filter(|r| r.status() == 400)?;
    (oauth_error_code(r) == Some(ErrorCode::UseDpopNonce)).then_some(())?;
    r.headers().get(dpop::NONCE_HEADER)?.to_str().ok().map(String::from)
}

/// A refresh of `refresh_token` by `client` for `resource`.
fn refresh_pairs<'a>(client: &'a str, resource: &'a str, refresh_token: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client),
        ("resource", resource),
    ]
}

/// The redemption of `code` by `client`, with the victim's verifier.
fn redemption<'a>(code: &'a str, client: &'a str, resource: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client),
        ("code_verifier", VERIFIER),
        ("resource", resource),
    ]
}

/// The AS's metadata, discovered from its issuer.
fn metadata(w: &mut World) -> Result<AuthorizationServerMetadata, Check> {
    let issuer = w.as_under_test.issuer.clone();
    crate::world::discover(&mut w.sim, &issuer)
        .map_err(|e| Check::Undecided(format!("no authorization server metadata: {e}")))
}

/// The metadata of an AS that offers DPoP (lists `dpop_signing_alg_values_supported`).
fn offering(w: &mut World) -> Result<AuthorizationServerMetadata, Check> {
    let m = metadata(w)?;
    match m.dpop_signing_alg_values_supported {
        Some(_) => Ok(m),
        None => Err(Check::NotApplicable(
            "the AS does not offer DPoP: its metadata has no dpop_signing_alg_values_supported".into(),
        )),
    }
}

/// The victim's tokens, redeemed with a proof by `prover`.
fn bound_tokens(w: &mut World, prover: &mut Prover) -> Result<Value, Check> {
    let code = victim_code(w, super::oauth::SCOPE)?;
    let (app, resource) = (app(w), w.as_under_test.resource.clone());
    let r = prover.send(w, &redemption(&code, &app, &resource));
    tokens(&r, "the victim's redemption with a valid DPoP proof")
}

/// True for `token_type` `DPoP` (compared case-insensitively, RFC 6749 §7.1).
fn is_dpop(body: &Value) -> bool {
    field(body, "token_type").eq_ignore_ascii_case(dpop::SCHEME)
}

/// AS-DPOP-01: `dpop_signing_alg_values_supported` lists asymmetric algorithms only
/// (never `none`, never an HMAC one); an AS that leaves it out binds no token to a proof
/// (a redemption with a proof gets no `DPoP` token).
pub(super) fn algorithms_advertised(w: &mut World) -> Check {
    let m = step!(metadata(w));
    if let Some(algs) = &m.dpop_signing_alg_values_supported {
        // RFC 9449 §5.1: "the JWS algorithms supported for DPoP proof JWTs"; what is
        // forbidden is `none` and a symmetric (MAC) algorithm (§4.3: "not none or an
        // identifier for a symmetric algorithm"). Any other registered name is asymmetric,
        // those this harness does not sign with among them (`Ed25519` of RFC 9864, `ES384`).
        let symmetric_or_none =
            |a: &String| a.eq_ignore_ascii_case("none") || a.to_ascii_uppercase().starts_with("HS");
        return Check::expect(!algs.is_empty() && !algs.iter().any(symmetric_or_none), || {
            Violation::new(
                format!(
                    "dpop_signing_alg_values_supported with asymmetric algorithms only, not none ({METADATA_RULE})"
                ),
                format!("{algs:?}"),
            )
        });
    }
    let mut prover = Prover::new(w, "AS-DPOP-01", "dpop-key");
    let body = match bound_tokens(w, &mut prover) {
        Ok(body) => body,
        Err(_) => {
            return Check::NotApplicable(
                "the AS does not offer DPoP: no dpop_signing_alg_values_supported, and no DPoP token".into(),
            );
        }
    };
    if !is_dpop(&body) {
        return Check::NotApplicable(
            "the AS does not offer DPoP: no dpop_signing_alg_values_supported, and it answers a proof with a \
             Bearer token"
                .into(),
        );
    }
    Check::Violated(Violation::new(
        format!(
            "dpop_signing_alg_values_supported in the metadata of an AS that binds tokens ({METADATA_RULE})"
        ),
        "no dpop_signing_alg_values_supported, yet a redemption with a proof got token_type DPoP",
    ))
}

/// AS-DPOP-02: a redemption with a valid proof gets `token_type: DPoP` and an access token
/// whose `cnf.jkt` is the proof key's thumbprint (read from the JWT, else introspection).
pub(super) fn token_bound(w: &mut World) -> Check {
    step!(offering(w));
    let mut prover = Prover::new(w, "AS-DPOP-02", "dpop-key");
    let body = step!(bound_tokens(w, &mut prover));
    let source = "RFC 9449 §5, §6.1; dpop §Token Request";
    if !is_dpop(&body) {
        return Check::Violated(Violation::about(
            "a redemption with a valid DPoP proof",
            format!("token_type DPoP ({source})"),
            format!("token_type `{}`", field(&body, "token_type")),
        ));
    }
    let token = field(&body, "access_token");
    let jkt = match claims(&token) {
        Some(c) => c.cnf.and_then(|c| c.jkt),
        None => w.introspect(&token)["cnf"]["jkt"].as_str().map(String::from),
    };
    let Some(jkt) = jkt else {
        w.note(
            "the token's cnf.jkt shows neither in its claims nor by introspection; token_type alone judged",
        );
        return Check::Holds;
    };
    Check::expect(jkt == prover.jkt(), || {
        Violation::about(
            "the DPoP-bound access token",
            format!("cnf.jkt `{}`, the proof key's thumbprint ({source})", prover.jkt()),
            format!("cnf.jkt `{jkt}`"),
        )
    })
}

/// The answer refuses a token request for its proof: 400 `invalid_dpop_proof` (RFC 9449
/// §5, "with invalid_dpop_proof as the value of the error parameter").
fn refused_proof(r: &FetchResult, what: &str) -> Check {
    let got = r.as_ref().ok().map(|r| (r.status().as_u16(), oauth_error_code(r)));
    Check::expect(matches!(&got, Some((400, Some(ErrorCode::InvalidDpopProof)))), || {
        Violation::about(what, "400 invalid_dpop_proof (RFC 9449 §5)", describe(r))
    })
}

/// AS-DPOP-03: an invalid proof at the token endpoint is 400 `invalid_dpop_proof`: for
/// `GET`, for another URL, made 10 minutes ago, unsigned (`alg: none`), signed by another
/// key than its `jwk`. Each variant redeems a fresh code; a valid proof first gets a
/// token (else refusals say nothing).
pub(super) fn invalid_proofs(w: &mut World) -> Check {
    step!(offering(w));
    let mut prover = Prover::new(w, "AS-DPOP-03", "dpop-key");
    step!(bound_tokens(w, &mut prover));
    let stranger = w.generate_key(Algorithm::ES256, "dpop-stranger");
    let other_url = format!("{}/elsewhere", w.as_under_test.issuer);
    type Edit = Box<dyn FnOnce(&mut Prover, &mut World) -> String>;
    let variants: Vec<(&str, Edit)> = vec![
        ("htm GET", Box::new(|p: &mut Prover, w: &mut World| p.proof(w, |c| c.htm = "GET".into()))),
        ("htu another URL", Box::new(move |p: &mut Prover, w: &mut World| p.proof(w, |c| c.htu = other_url))),
        ("iat 10 minutes ago", Box::new(|p: &mut Prover, w: &mut World| p.proof(w, |c| c.iat -= 600))),
        (
            "alg none",
            Box::new(|p: &mut Prover, w: &mut World| {
                let claims = p.claims(w);
                dpop::encode_unsigned_proof(&ProofHeader::for_key(&p.key), &claims).unwrap_or_default()
            }),
        ),
        (
            "signed by another key than its jwk",
            Box::new(move |p: &mut Prover, w: &mut World| {
                let claims = p.claims(w);
                dpop::encode_proof(&stranger, &ProofHeader::for_key(&p.key), &claims).unwrap_or_default()
            }),
        ),
    ];
    let mut outcomes = vec![];
    for (what, make) in variants {
        let code = step!(victim_code(w, super::oauth::SCOPE));
        let (app, resource) = (app(w), w.as_under_test.resource.clone());
        let proof = make(&mut prover, w);
        let r = token_request_with_proof(w, VICTIM, &redemption(&code, &app, &resource), Some(&proof));
        outcomes.push((what.to_string(), refused_proof(&r, &format!("a redemption with a proof: {what}"))));
    }
    all_variants(w, outcomes)
}

/// AS-DPOP-04: a public client's refresh token is bound to its DPoP key: refreshed with a
/// proof by that key it works; without a proof, or with another key's, it is refused
/// (`invalid_dpop_proof` or `invalid_grant`).
pub(super) fn refresh_bound(w: &mut World) -> Check {
    step!(offering(w));
    if w.as_under_test.app_secret.is_some() {
        return Check::NotApplicable(
            "the app is a confidential client: RFC 9449 §5 binds only public clients' refresh tokens".into(),
        );
    }
    let mut prover = Prover::new(w, "AS-DPOP-04", "dpop-key");
    let body = step!(bound_tokens(w, &mut prover));
    let rt0 = field(&body, "refresh_token");
    if rt0.is_empty() {
        return Check::NotApplicable("the AS issued no refresh token".into());
    }
    let (app, resource) = (app(w), w.as_under_test.resource.clone());
    let honest = prover.send(w, &refresh_pairs(&app, &resource, &rt0));
    let honest = step!(tokens(&honest, "a refresh with a proof by the bound key"));
    let rt1 = match field(&honest, "refresh_token") {
        rt if rt.is_empty() => rt0,
        rt => rt,
    };
    let stolen = refresh_pairs(&app, &resource, &rt1);
    let source = "RFC 9449 §5, \"the refresh token MUST be bound to the respective public key\"";
    let refused = |r: &FetchResult, what: &str| {
        let got = r.as_ref().ok().map(|r| (r.status().as_u16(), oauth_error_code(r)));
        let ok = matches!(&got, Some((400, Some(ErrorCode::InvalidDpopProof | ErrorCode::InvalidGrant))));
        Check::expect(ok, || {
            Violation::about(what, format!("400 invalid_dpop_proof or invalid_grant ({source})"), describe(r))
        })
    };
    let mut outcomes = vec![];
    let r = token_request_with_proof(w, "attacker", &stolen, None);
    outcomes.push(("no proof".to_string(), refused(&r, "the bound refresh token without a proof")));
    let mut thief = Prover::new(w, "AS-DPOP-04", "dpop-thief");
    thief.nonce.clone_from(&prover.nonce);
    let r = thief.send(w, &stolen);
    outcomes
        .push(("another key".to_string(), refused(&r, "the bound refresh token with another key's proof")));
    all_variants(w, outcomes)
}

/// The harness's app registered with `dpop_bound_access_tokens: true`.
const BOUND_APP: &str = "mcp-authz-dpop-app";

/// Registers a public client with `dpop_bound_access_tokens: true` on the loopback
/// redirect URI: at the AS directly where the target allows it, else by dynamic
/// registration (RFC 7591).
fn register_bound_app(w: &mut World) -> Result<String, Check> {
    let client = RegisteredClient {
        dpop_bound_access_tokens: true,
        ..RegisteredClient::public(BOUND_APP, &[REDIRECT], &["mcp:read", "mcp:write"])
    };
    if w.register_directly(client).is_ok() {
        return Ok(BOUND_APP.into());
    }
    let metadata = json!({"client_name": "mcp-authz DPoP app", "redirect_uris": [REDIRECT],
        "application_type": "native", "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "mcp:read mcp:write", "dpop_bound_access_tokens": true});
    match w.register("dpop-app", &metadata) {
        Ok(info) if info["dpop_bound_access_tokens"] == json!(true) => Ok(field(&info, "client_id")),
        Ok(_) => Err(Check::NotApplicable(
            "the AS registered the client without dpop_bound_access_tokens: it does not take the member"
                .into(),
        )),
        Err(r) => Err(Check::NotApplicable(format!(
            "needs a client registered with dpop_bound_access_tokens: true; dynamic registration (RFC 7591) \
             did not give one: {}",
            describe(&r)
        ))),
    }
}

/// AS-DPOP-05: a client registered with `dpop_bound_access_tokens: true` gets no token
/// from a redemption without a proof (RFC 9449 §5.2: the AS "MUST reject token requests
/// from the client that do not contain the DPoP header"); with a proof it does.
pub(super) fn bound_client_needs_proof(w: &mut World) -> Check {
    step!(offering(w));
    let client = step!(register_bound_app(w));
    let resource = w.as_under_test.resource.clone();
    let url = authorization_url(w, &client, VERIFIER, &[]);
    let first = step!(code(w, "browser:victim", &url));
    let r = token_request_with_proof(w, VICTIM, &redemption(&first, &client, &resource), None);
    let refused = r.as_ref().is_ok_and(|r| (400..500).contains(&r.status().as_u16()));
    if !refused {
        return Check::Violated(Violation::about(
            format!("a redemption without a DPoP proof by {client} (dpop_bound_access_tokens: true)"),
            "a refusal (RFC 9449 §5.2, \"MUST reject token requests from the client that do not contain the DPoP header\")",
            describe(&r),
        ));
    }
    let second = step!(code(w, "browser:victim", &url));
    let mut prover = Prover::new(w, "AS-DPOP-05", "dpop-key");
    let r = prover.send(w, &redemption(&second, &client, &resource));
    match tokens(&r, "") {
        Ok(_) => Check::Holds,
        Err(_) => Check::Undecided(format!(
            "the client's redemption with a valid proof was refused too, so the refusal says nothing: {}",
            describe(&r)
        )),
    }
}

/// AS-DPOP-06: a proof that got a token is refused on a second token request (a fresh
/// code): a SHOULD, as at the MCP server (RS-DPOP-05). RFC 9449 §11.1 names `jti`
/// tracking as how servers "can" stop "multiple uses of the same DPoP proof"; its MUST is
/// the short acceptance window, which AS-DPOP-03 judges. An attacker who reads a proof
/// off a token request replays it with a code of its own.
pub(super) fn replayed_proof(w: &mut World) -> Check {
    step!(offering(w));
    let mut prover = Prover::new(w, "AS-DPOP-06", "dpop-key");
    // Learns the AS's nonce, if it asks for one, so the replayed proof is otherwise valid.
    step!(bound_tokens(w, &mut prover));
    let (app, resource) = (app(w), w.as_under_test.resource.clone());
    let proof = prover.proof(w, |_| {});
    let first = step!(victim_code(w, super::oauth::SCOPE));
    let r = token_request_with_proof(w, VICTIM, &redemption(&first, &app, &resource), Some(&proof));
    step!(tokens(&r, "a redemption with a fresh proof"));
    w.note("the attacker replays the proof it read, with a code of its own");
    let second = step!(victim_code(w, super::oauth::SCOPE));
    let r = token_request_with_proof(w, "attacker", &redemption(&second, &app, &resource), Some(&proof));
    let got = r.as_ref().ok().map(|r| (r.status().as_u16(), oauth_error_code(r)));
    // §4.3's list of checks does not include `jti`, so §5's `invalid_dpop_proof` (for an
    // invalid proof) is not the only fitting answer: oidc-provider says `invalid_grant`.
    let refused = matches!(
        &got,
        Some((400, Some(ErrorCode::InvalidDpopProof | ErrorCode::InvalidGrant | ErrorCode::UseDpopNonce)))
    );
    Check::expect(refused, || {
        Violation::about(
            "a redemption with a DPoP proof already used on another token request",
            "400 invalid_dpop_proof, invalid_grant or use_dpop_nonce (RFC 9449 §11.1: servers can refuse \
             \"multiple uses of the same DPoP proof\")",
            describe(&r),
        )
    })
}
