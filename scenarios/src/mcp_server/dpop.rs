//! DPoP at the MCP server (RS-DPOP-*; the DPoP extension, SEP-1932, on RFC 9449): an
//! access token bound to the client's key (`cnf.jkt`) is accepted with `Authorization:
//! DPoP` and a proof made for that request by that key, and refused otherwise: without a
//! proof, with a proof for another method, URL, time, token or key, a replayed proof, an
//! unsigned or HMAC proof, a proof without the server's nonce, presented as `Bearer`, or
//! for another server. Each case first checks that an honest proof is accepted (else it
//! cannot judge), and sends one request per proof: the opening request of the world's
//! wire (`initialize`, or a 2026-07-28 `tools/list`), which the server authorizes first.
//!
//! The harness mints the bound tokens, so a live server is tested only when it trusts the
//! harness's authorization server and the operator says it takes DPoP (`test-server
//! --dpop`: [`Need::Dpop`]). Proof algorithm: ES256, the one the extension requires.

use super::*;
use mcp_authz_reference::access_token::Confirmation;
use mcp_authz_reference::dpop::{self, ProofClaims, ProofHeader};
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_reference::sans_io::Response;
use std::time::Duration;

/// The DPoP scenarios, registered by [`super::scenarios`].
pub(super) fn scenarios() -> Vec<Scenario> {
    use Capability::*;
    use Level::*;
    use Role::McpServer;
    const TAGS: &[&str] = &["dpop", "extension"];
    vec![
        Scenario::new(
            McpServer,
            "RS-DPOP-01",
            "a DPoP-bound token without a proof is refused with a DPoP challenge",
        )
        .requirements(&["RS-34", "RS-35"])
        .level(Must)
        .tags(TAGS)
        .grants(&[MaliciousClient])
        .needs(&[Need::Dpop])
        .body(proof_required),
        Scenario::new(McpServer, "RS-DPOP-02", "a DPoP proof for another HTTP method is refused")
            .requirements(&["RS-34"])
            .level(Must)
            .tags(TAGS)
            .grants(&[MaliciousClient])
            .needs(&[Need::Dpop])
            .body(other_method),
        Scenario::new(
            McpServer,
            "RS-DPOP-03",
            "a DPoP proof for another URL is refused; its query does not matter",
        )
        .requirements(&["RS-34"])
        .level(Must)
        .tags(TAGS)
        .grants(&[MaliciousClient])
        .needs(&[Need::Dpop])
        .body(other_url),
        Scenario::new(McpServer, "RS-DPOP-04", "a DPoP proof made 6 minutes ago or ahead is refused")
            .requirements(&["RS-34", "RS-36"])
            .level(Must)
            .tags(TAGS)
            .grants(&[MaliciousClient])
            .needs(&[Need::Dpop])
            .body(stale_or_future_iat),
        Scenario::new(McpServer, "RS-DPOP-05", "a replayed DPoP proof (same jti) is refused")
            .requirements(&["RS-36"])
            .level(Should)
            .tags(TAGS)
            .grants(&[ReadResourceRequests, MaliciousClient])
            .needs(&[Need::Dpop])
            .body(replayed_proof),
        Scenario::new(McpServer, "RS-DPOP-06", "a DPoP proof whose ath is not the token's hash is refused")
            .requirements(&["RS-34"])
            .level(Must)
            .tags(TAGS)
            .grants(&[MaliciousClient])
            .needs(&[Need::Dpop])
            .body(wrong_ath),
        Scenario::new(
            McpServer,
            "RS-DPOP-07",
            "a DPoP proof by a key other than the token's cnf.jkt is refused",
        )
        .requirements(&["RS-34"])
        .level(Must)
        .tags(TAGS)
        .grants(&[ReadResourceRequests, MaliciousClient])
        .needs(&[Need::Dpop])
        .body(other_key),
        Scenario::new(McpServer, "RS-DPOP-08", "a DPoP-bound token presented as Bearer is refused")
            .requirements(&["RS-37"])
            .level(Must)
            .tags(TAGS)
            .grants(&[ReadResourceRequests, MaliciousClient])
            .needs(&[Need::Dpop])
            .body(downgraded_to_bearer),
        Scenario::new(McpServer, "RS-DPOP-09", "unsigned (alg none) and HMAC DPoP proofs are refused")
            .requirements(&["RS-34"])
            .level(Must)
            .tags(TAGS)
            .grants(&[MaliciousClient])
            .needs(&[Need::Dpop])
            .body(unsigned_and_hmac),
        Scenario::new(McpServer, "RS-DPOP-10", "after handing out a DPoP nonce the server requires it")
            .requirements(&["RS-34", "RS-36"])
            .level(Must)
            .tags(TAGS)
            .grants(&[MaliciousClient])
            .needs(&[Need::Dpop])
            .body(nonce_required),
        Scenario::new(
            McpServer,
            "RS-DPOP-11",
            "a DPoP-bound token for another server is refused, proof or not",
        )
        .requirements(&["RS-38", "RS-08"])
        .level(Must)
        .tags(TAGS)
        .grants(&[ReadResourceRequests, MaliciousClient])
        .needs(&[Need::Dpop])
        .body(bound_token_for_another_server),
    ]
}

/// The honest client: its DPoP key, a token bound to it, the last nonce the server gave.
struct Client {
    /// Names its proofs' random draws (with the count and the time): two clients of a
    /// case never make the same `jti`.
    name: &'static str,
    key: SigningKey,
    token: String,
    nonce: Option<String>,
    /// Proofs made so far (each draws its `jti` from the seed under its own name).
    made: u32,
}

impl Client {
    /// A client `name` with a key from the seed and a read token bound to it, for `aud`.
    fn new(w: &mut World, name: &'static str, aud: Option<String>) -> Client {
        let key = w.generate_key(Algorithm::ES256, "dpop-client");
        let mut claims = read_claims(w);
        claims.cnf = Some(Confirmation::jkt(dpop::jkt(&key.public_jwk())));
        if let Some(aud) = aud {
            claims.aud = Audience::one(aud);
        }
        let token = w.mint(&claims);
        Client { name, key, token, nonce: None, made: 0 }
    }

    /// The claims of an honest proof for the opening POST to the server, made now, with
    /// the last nonce.
    fn claims(&mut self, w: &mut World) -> ProofClaims {
        self.made += 1;
        let (url, token, nonce) = (w.mcp.clone(), self.token.clone(), self.nonce.clone());
        // The time too: a live server keeps the `jti`s of every case, each run with the
        // same seed and key.
        let name = format!("dpop-proof-{}-{}-{}", self.name, self.made, w.now().unix_millis());
        w.sim.env_for(&name, |env| ProofClaims::new("POST", &url, Some(&token), nonce.as_deref(), env))
    }

    /// An honest proof with `edit` applied to its claims, signed by the client's key.
    fn proof(&mut self, w: &mut World, edit: impl FnOnce(&mut ProofClaims)) -> String {
        let mut claims = self.claims(w);
        edit(&mut claims);
        claims.sign(&self.key).expect("an ES256 key signs")
    }

    /// Sends the opening request with `Authorization: SCHEME token` and `proofs` as
    /// `DPoP` headers, from the client; remembers a `DPoP-Nonce` in the answer.
    fn send(&mut self, w: &mut World, scheme: &str, proofs: &[String]) -> FetchResult {
        let url = w.mcp.clone();
        let mut req = w.mcp_request(&url, None, &w.opening_body(), &[]);
        if let Ok(v) = http::HeaderValue::from_str(&format!("{scheme} {}", self.token)) {
            req.headers_mut().insert(http::header::AUTHORIZATION, v);
        }
        for p in proofs {
            if let Ok(v) = http::HeaderValue::from_str(p) {
                req.headers_mut().append(dpop::HEADER, v);
            }
        }
        let r = w.send("client", req);
        if let Some(n) = response(&r).and_then(|r| r.headers().get(dpop::NONCE_HEADER)?.to_str().ok()) {
            self.nonce = Some(n.to_string());
        }
        r
    }

    /// `Authorization: DPoP` with the proofs `make` builds; when the server answers 401
    /// `use_dpop_nonce` with a new nonce, once more with proofs made with it (so that a
    /// proof is judged for what it was made to break, not for a nonce it could not know).
    fn present(
        &mut self,
        w: &mut World,
        make: &mut dyn FnMut(&mut Client, &mut World) -> Vec<String>,
    ) -> FetchResult {
        let before = self.nonce.clone();
        let proofs = make(self, w);
        let r = self.send(w, dpop::SCHEME, &proofs);
        if asks_for_nonce(&r) && self.nonce != before {
            let proofs = make(self, w);
            return self.send(w, dpop::SCHEME, &proofs);
        }
        r
    }

    /// An honest request (a new proof, the current nonce): its answer.
    fn honest(&mut self, w: &mut World) -> FetchResult {
        self.present(w, &mut |c, w| vec![c.proof(w, |_| {})])
    }
}

/// True for a 401 whose DPoP challenge says `use_dpop_nonce`.
fn asks_for_nonce(r: &FetchResult) -> bool {
    response(r).is_some_and(|r| r.status() == 401 && dpop_error(r).as_deref() == Some("use_dpop_nonce"))
}

/// The `error` of the `DPoP` challenge of `r`, if it has one.
fn dpop_error(r: &Response) -> Option<String> {
    let challenges = bearer::challenges(r.headers()).ok()?;
    let c = challenges.iter().find(|c| c.scheme.eq_ignore_ascii_case(dpop::SCHEME))?;
    c.get("error").map(String::from)
}

fn accepted(r: &FetchResult) -> bool {
    (200..300).contains(&status(r))
}

/// A client of `case` (its proofs are the case's own: a live server remembers every
/// case's) whose honest, DPoP-bound request the server accepts; else the case cannot
/// judge the server's refusals.
fn accepted_client(w: &mut World, case: &'static str) -> Result<Client, Check> {
    let mut c = Client::new(w, case, None);
    let r = c.honest(w);
    if w.cannot_run().is_some() || accepted(&r) {
        return Ok(c);
    }
    Err(Check::Undecided(format!(
        "the server did not accept a DPoP-bound token with a valid proof (is it configured for DPoP?): {}",
        describe(&r)
    )))
}

/// Holds when `r` is a 401 (RFC 9449 §4.3 and the extension: "MUST reject the request
/// with an HTTP 401 response").
fn refused(what: &str, r: &FetchResult) -> Check {
    Check::expect(status(r) == 401, || {
        Violation::about(what, "401 (the DPoP proof refused, RFC 9449 §4.3)", describe(r))
    })
}

/// Each variant's proofs (made by `make`, after an honest request the server accepted)
/// must be refused with 401.
fn each_refused(w: &mut World, case: &'static str, variants: Vec<(&str, ProofMaker)>) -> Check {
    let mut c = match accepted_client(w, case) {
        Ok(c) => c,
        Err(check) => return check,
    };
    let outcomes = variants
        .into_iter()
        .map(|(what, mut make)| {
            let r = c.present(w, &mut make);
            (what.to_string(), refused(what, &r))
        })
        .collect();
    all_variants(w, outcomes)
}

type ProofMaker = Box<dyn FnMut(&mut Client, &mut World) -> Vec<String>>;

fn maker(f: impl FnMut(&mut Client, &mut World) -> Vec<String> + 'static) -> ProofMaker {
    Box::new(f)
}

/// RS-34, RS-35: `Authorization: DPoP` and no `DPoP` header: 401 with a `DPoP` challenge
/// naming an error (`invalid_dpop_proof`, `invalid_token` or `invalid_request` all fit).
fn proof_required(w: &mut World) -> Check {
    let mut c = match accepted_client(w, "RS-DPOP-01") {
        Ok(c) => c,
        Err(check) => return check,
    };
    let r = c.send(w, dpop::SCHEME, &[]);
    if status(&r) != 401 {
        return Check::Violated(Violation::about(
            "Authorization: DPoP without a DPoP header",
            "401",
            describe(&r),
        ));
    }
    let error = response(&r).and_then(dpop_error);
    Check::expect(error.is_some(), || {
        Violation::about(
            "Authorization: DPoP without a DPoP header",
            "a WWW-Authenticate: DPoP challenge with an error (RFC 9449 §7.1)",
            describe(&r),
        )
    })
}

fn other_method(w: &mut World) -> Check {
    each_refused(
        w,
        "RS-DPOP-02",
        vec![("htm GET on a POST", maker(|c, w| vec![c.proof(w, |p| p.htm = "GET".into())]))],
    )
}

/// Another path and another server must be refused; the same URL with a query in `htu`
/// must be accepted (RFC 9449 §4.3: `htu` matches "ignoring any query and fragment parts").
fn other_url(w: &mut World) -> Check {
    let path = format!("{}/other", w.mcp_origin());
    let mut c = match accepted_client(w, "RS-DPOP-03") {
        Ok(c) => c,
        Err(check) => return check,
    };
    let with_query = format!("{}?dpop=query", w.mcp);
    let r = c.present(w, &mut |c, w| vec![c.proof(w, |p| p.htu = with_query.clone())]);
    let control = Check::expect(accepted(&r), || {
        Violation::about(
            "htu with a query",
            "acceptance (htu is compared ignoring query and fragment, RFC 9449 §4.3)",
            describe(&r),
        )
    });
    let mut outcomes = vec![("htu with a query".to_string(), control)];
    for (what, htu) in [("htu of another path", path), ("htu of another server", OTHER_MCP.to_string())] {
        let r = c.present(w, &mut |c, w| vec![c.proof(w, |p| p.htu = htu.clone())]);
        outcomes.push((what.to_string(), refused(what, &r)));
    }
    all_variants(w, outcomes)
}

fn stale_or_future_iat(w: &mut World) -> Check {
    each_refused(
        w,
        "RS-DPOP-04",
        vec![
            ("iat 6 minutes ago", maker(|c, w| vec![c.proof(w, |p| p.iat -= 360)])),
            ("iat 6 minutes ahead", maker(|c, w| vec![c.proof(w, |p| p.iat += 360)])),
        ],
    )
}

/// A hardening graded as a SHOULD: the extension's MUST is replay protection, which the
/// `iat` window gives (RS-DPOP-04); tracking `jti`s is a MAY there and in RFC 9449 §11.1.
fn replayed_proof(w: &mut World) -> Check {
    let mut c = match accepted_client(w, "RS-DPOP-05") {
        Ok(c) => c,
        Err(check) => return check,
    };
    let proof = c.proof(w, |_| {});
    let first = c.send(w, dpop::SCHEME, std::slice::from_ref(&proof));
    if !accepted(&first) {
        return Check::Undecided(format!("the proof was not accepted the first time: {}", describe(&first)));
    }
    w.note("the attacker replays the proof it read, with the token");
    let again = c.send(w, dpop::SCHEME, &[proof]);
    refused("the same proof again", &again)
}

fn wrong_ath(w: &mut World) -> Check {
    each_refused(
        w,
        "RS-DPOP-06",
        vec![
            (
                "ath of another token",
                maker(|c, w| vec![c.proof(w, |p| p.ath = Some(dpop::ath("another-token")))]),
            ),
            ("no ath", maker(|c, w| vec![c.proof(w, |p| p.ath = None)])),
        ],
    )
}

fn other_key(w: &mut World) -> Check {
    let attacker = w.generate_key(Algorithm::ES256, "dpop-attacker");
    each_refused(
        w,
        "RS-DPOP-07",
        vec![(
            "a proof by the attacker's key",
            maker(move |c, w| vec![c.claims(w).sign(&attacker).expect("an ES256 key signs")]),
        )],
    )
}

/// RS-37 (RFC 9449 §7.2): "MUST reject a DPoP-bound access token received as a bearer
/// token" — alone, and with a valid proof beside it.
fn downgraded_to_bearer(w: &mut World) -> Check {
    let mut c = match accepted_client(w, "RS-DPOP-08") {
        Ok(c) => c,
        Err(check) => return check,
    };
    let alone = c.send(w, "Bearer", &[]);
    let proof = c.proof(w, |_| {});
    let with_proof = c.send(w, "Bearer", &[proof]);
    let outcomes = vec![
        ("Bearer, no proof".to_string(), refused("the bound token as Bearer", &alone)),
        ("Bearer with a proof".to_string(), refused("the bound token as Bearer with a proof", &with_proof)),
    ];
    all_variants(w, outcomes)
}

fn unsigned_and_hmac(w: &mut World) -> Check {
    each_refused(
        w,
        "RS-DPOP-09",
        vec![
            (
                "alg none",
                maker(|c, w| {
                    let claims = c.claims(w);
                    vec![
                        dpop::encode_unsigned_proof(&ProofHeader::for_key(&c.key), &claims)
                            .unwrap_or_default(),
                    ]
                }),
            ),
            ("HS256 keyed with the header's oct key", maker(|c, w| vec![hmac_proof(&c.claims(w))])),
        ],
    )
}

/// An HS256 proof whose header carries the `oct` key (`k`) that signs it.
fn hmac_proof(claims: &ProofClaims) -> String {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let secret = b"the attacker's thirty-two bytes!";
    let header = json!({"typ": dpop::TYP, "alg": "HS256", "jwk": {"kty": "oct", "k": b64(secret)}});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(&serde_json::to_vec(claims).unwrap_or_default())
    );
    let tag = SigningKey::hmac("attacker", secret).sign(input.as_bytes()).unwrap_or_default();
    format!("{input}.{}", b64(&tag))
}

/// RS-34 (RFC 9449 §4.3: "if the server provided a nonce value to the client, the nonce
/// claim matches"), RS-36. A server that hands out no `DPoP-Nonce` uses no nonces: not
/// applicable (nonces are the extension's SHOULD for high security).
fn nonce_required(w: &mut World) -> Check {
    let mut c = Client::new(w, "RS-DPOP-10", None);
    let proof = c.proof(w, |_| {});
    let first = c.send(w, dpop::SCHEME, &[proof]);
    if c.nonce.is_none() {
        if w.cannot_run().is_none() && !accepted(&first) {
            return Check::Undecided(format!(
                "the server refused an honest DPoP request: {}",
                describe(&first)
            ));
        }
        return Check::NotApplicable("the server hands out no DPoP nonce (DPoP-Nonce): it uses none".into());
    }
    let variants: [(&str, Option<&str>); 2] =
        [("no nonce", None), ("a nonce it never issued", Some("not-a-nonce-of-this-server"))];
    let mut outcomes = Vec::new();
    for (what, nonce) in variants {
        let proof = c.proof(w, |p| p.nonce = nonce.map(String::from));
        let r = c.send(w, dpop::SCHEME, &[proof]);
        outcomes.push((what.to_string(), refused(what, &r)));
    }
    let r = c.honest(w);
    if !accepted(&r) {
        outcomes.push((
            "its own nonce".to_string(),
            Check::Undecided(format!("a proof with the server's nonce was not accepted: {}", describe(&r))),
        ));
    }
    if let Some(stale) = stale_nonce(w, &c) {
        outcomes.push(stale);
    }
    all_variants(w, outcomes)
}

/// A nonce the server gave, sent once it has gone stale: only where the server's nonce
/// lifetime is known (the simulated server's configuration). RFC 9449 §9 leaves the
/// lifetime to the server, so a live server's is not guessed. The wait outlives the
/// client's token, so a second client (its own key and token) sends the old nonce.
fn stale_nonce(w: &mut World, c: &Client) -> Option<(String, Check)> {
    let lifetime = w.mcp_server().ok()?.config().dpop.nonce_lifetime;
    let old = c.nonce.clone()?;
    w.wait(lifetime * 2 + Duration::from_secs(1));
    let mut late = Client::new(w, "RS-DPOP-10-late", None);
    let proof = late.proof(w, |p| p.nonce = Some(old));
    let r = late.send(w, dpop::SCHEME, &[proof]);
    let what = format!(
        "a nonce it gave {}s earlier (its nonces last {}s)",
        (lifetime * 2).as_secs() + 1,
        lifetime.as_secs()
    );
    let check = Check::expect(asks_for_nonce(&r), || {
        Violation::about(&what, "401 `use_dpop_nonce` with a new `DPoP-Nonce` (RFC 9449 §9)", describe(&r))
    });
    Some((what, check))
}

/// RS-38: the audience is still checked for bound tokens: one for server B, with a
/// valid proof for server A, is refused.
fn bound_token_for_another_server(w: &mut World) -> Check {
    if let Err(check) = accepted_client(w, "RS-DPOP-11") {
        return check;
    }
    let mut c = Client::new(w, "RS-DPOP-11-b", Some(OTHER_MCP.into()));
    let r = c.honest(w);
    refused("a bound token for https://other.example/mcp with a valid proof", &r)
}
