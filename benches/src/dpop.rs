//! DPoP (RFC 9449) at the resource server: an ES256 access token bound to the client's
//! proof key (`cnf.jkt`), a fresh proof per request (ES256 or EdDSA), and the full check
//! the reference MCP server makes of such a request (`mcp_server::dpop_binding`): the
//! token validated, then the proof (syntax, `typ`, `alg` allow-list, signature by the
//! embedded `jwk`, `htm`, `htu`, `iat`, `ath`, thumbprint = `cnf.jkt`, `jti` into the
//! replay cache). The floor is two raw signature checks: the token's and the proof's,
//! keys already parsed, signatures already decoded.
//!
//! Every measured proof has a `jti` the server has not seen: proofs are signed before the
//! timed region, and a proof used twice would be refused as a replay (and cost less).

use crate::{AUDIENCE, ISSUER, KID, NOW, SCOPE, claims};
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::access_token::{Confirmation, Validator};
use mcp_authz_reference::dpop::{self, Expectation, ProofClaims, ReplayCache};
use mcp_authz_reference::jwt::{self, Algorithm, KeySet, SigningKey, VerifyingKey};
use mcp_authz_reference::sans_io::Env;
use rand_core::SeedableRng;
use std::time::Duration;

/// The proof algorithms benchmarked, in table order.
pub const PROOF_ALGORITHMS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::EdDSA];
/// The access token's algorithm (the AS's key), whatever the proof's.
pub const TOKEN_ALGORITHM: Algorithm = Algorithm::ES256;
/// The request's method.
pub const METHOD: &str = "POST";
/// The path of the MCP endpoint ([`AUDIENCE`]'s).
pub const PATH: &str = "/mcp";
/// The live `jti` entries of the replay-cache benchmark.
pub const LIVE_JTIS: usize = 100_000;

/// One request's DPoP material, made before the timed region.
pub struct Request {
    /// `Authorization: DPoP <token>` and `DPoP: <proof>`.
    pub headers: http::HeaderMap,
    /// The proof's signing input (for the floor).
    pub proof_input: String,
    /// The proof's decoded signature (for the floor).
    pub proof_signature: Vec<u8>,
}

/// A client's proof key, a token bound to it, the floor, and the resource server that
/// checks both. Three parts, so that a bench can make requests with one while it checks
/// them with another.
pub struct Fixture {
    /// The client: its proof key and token, and the requests it makes.
    pub client: Client,
    /// The floor: the two keys, parsed.
    pub floor: Floor,
    /// The resource server.
    pub server: Server,
}

/// The client of a [`Fixture`]: it makes a proof per request.
pub struct Client {
    /// The proof key's algorithm.
    pub proof_alg: Algorithm,
    /// The client's proof key.
    pub key: SigningKey,
    /// The DPoP-bound access token (ES256, `cnf.jkt` = the client key's thumbprint).
    pub token: String,
    /// The AS's key, which signs the tokens.
    as_key: SigningKey,
    rng: rand_chacha::ChaCha20Rng,
}

/// Two raw signature checks: the token's and a proof's.
pub struct Floor {
    /// The token's signing input and decoded signature.
    token_parts: (String, Vec<u8>),
    /// The AS's key, parsed.
    token_key: VerifyingKey,
    /// The client's public key, parsed.
    proof_key: VerifyingKey,
}

impl Floor {
    /// The token's signature and `request`'s proof's, each checked by aws-lc-rs with a
    /// parsed key on decoded bytes.
    pub fn verify(&self, request: &Request) -> bool {
        self.token_key.verify(self.token_parts.0.as_bytes(), &self.token_parts.1).is_ok()
            && self.proof_key.verify(request.proof_input.as_bytes(), &request.proof_signature).is_ok()
    }
}

/// What the reference MCP server holds for DPoP requests: its token validator and its
/// proof validator (with its replay cache), configured as `McpServer::new` configures
/// them by default.
pub struct Server {
    /// The access-token validator, keys cached.
    pub tokens: Validator,
    /// The proof validator and its replay cache.
    pub proofs: dpop::Validator,
    /// The origin of the resource (a proof's `htu` names it).
    pub origin: String,
}

impl Server {
    /// The full check of a DPoP request to `path` with `headers`, in the order of the
    /// reference MCP server (`McpServer::introspect` → `DpopBinding::check`): the token
    /// from `Authorization: DPoP`, validated, with the tool's scope; then the proof
    /// against the request, the token and its `cnf.jkt`.
    pub fn check(&mut self, path: &str, headers: &http::HeaderMap) -> bool {
        let Ok(Some(token)) = dpop::dpop_token(headers) else { return false };
        let Ok(claims) = self.tokens.validate(&token, NOW) else { return false };
        if !claims.has_scope(SCOPE) {
            return false;
        }
        let Some(bound) = claims.bound_jkt() else { return false };
        let url = format!("{}{path}", self.origin);
        let expected = Expectation {
            method: METHOD,
            url: &url,
            access_token: Some(&token),
            jkt: Some(bound),
            nonces: None,
        };
        self.proofs.validate(headers, &expected, NOW).is_ok()
    }

    /// The full check of `request` at the MCP endpoint.
    pub fn check_request(&mut self, request: &Request) -> bool {
        self.check(PATH, &request.headers)
    }
}

impl Fixture {
    /// A fixture whose client proves with a `proof_alg` key.
    pub fn new(proof_alg: Algorithm) -> Self {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let mut env = Env::new(NOW, &mut rng);
        let as_key = SigningKey::generate(TOKEN_ALGORITHM, KID, &mut env).expect("key generation");
        let key = SigningKey::generate(proof_alg, "client", &mut env).expect("key generation");
        let bound = dpop::jkt(&key.public_jwk());
        let token = AccessTokenClaims { cnf: Some(Confirmation::jkt(bound)), ..claims() }
            .sign(&as_key)
            .expect("signing");
        let parts = jwt::split(&token).expect("token");
        let floor = Floor {
            token_parts: (parts.signing_input.to_string(), parts.signature),
            token_key: VerifyingKey::from_jwk(&as_key.public_jwk()).expect("key"),
            proof_key: VerifyingKey::from_jwk(&key.public_jwk()).expect("key"),
        };
        let keys = KeySet::from_jwks(&as_key.public_jwks()).expect("jwks");
        let origin = AUDIENCE.strip_suffix(PATH).expect("the audience ends with the path").to_string();
        let server =
            Server { tokens: Validator::new(ISSUER, AUDIENCE, keys), proofs: dpop::Validator::new(), origin };
        Fixture { client: Client { proof_alg, key, token, as_key, rng }, floor, server }
    }

    /// Fills the server's replay cache to its capacity with accepted proofs, as on a busy
    /// server: from then on every new `jti` also evicts the oldest.
    pub fn fill_replay_cache(&mut self) {
        while self.server.proofs.replay_cache().len() < dpop::REPLAY_CAPACITY {
            let request = self.client.request();
            assert!(self.server.check_request(&request), "a fresh proof is accepted");
        }
    }
}

impl Client {
    /// A new request: a proof with a fresh `jti` for a POST to the endpoint with the token.
    pub fn request(&mut self) -> Request {
        let mut env = Env::new(NOW, &mut self.rng);
        let proof = ProofClaims::new(METHOD, AUDIENCE, Some(&self.token), None, &mut env)
            .sign(&self.key)
            .expect("proof");
        let parts = jwt::split(&proof).expect("proof");
        let mut headers = http::HeaderMap::new();
        let authorization = format!("{} {}", dpop::SCHEME, self.token);
        headers.insert(http::header::AUTHORIZATION, authorization.parse().expect("header"));
        headers.insert(dpop::HEADER, proof.parse().expect("header"));
        Request { headers, proof_input: parts.signing_input.to_string(), proof_signature: parts.signature }
    }

    /// `n` new requests.
    pub fn requests(&mut self, n: usize) -> Vec<Request> {
        (0..n).map(|_| self.request()).collect()
    }

    /// A new proof key, and a new token bound to it: the next requests come from a client
    /// the server has not seen.
    pub fn rekey(&mut self) {
        let mut env = Env::new(NOW, &mut self.rng);
        self.key = SigningKey::generate(self.proof_alg, "client", &mut env).expect("key generation");
        let bound = dpop::jkt(&self.key.public_jwk());
        self.token = AccessTokenClaims { cnf: Some(Confirmation::jkt(bound)), ..claims() }
            .sign(&self.as_key)
            .expect("signing");
    }
}

/// A replay cache holding `live` entries shaped as the proof validator's (a key
/// thumbprint, a space, a 22-character `jti`), none expiring before [`NOW`] + 10 min;
/// and the generator of further distinct entries.
pub fn replay_cache(live: usize) -> (ReplayCache, impl FnMut() -> String) {
    let thumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let mut next = 0u64;
    let mut key = move || {
        next += 1;
        format!("{thumbprint} {next:022}")
    };
    let mut cache = ReplayCache::new(live);
    for _ in 0..live {
        assert!(cache.remember(&key(), NOW, KEEP));
    }
    (cache, key)
}

/// The criterion group of the DPoP benches with `proof_alg` proofs.
pub fn group(proof_alg: Algorithm) -> String {
    format!("DPoP {proof_alg} proof, {TOKEN_ALGORITHM} token")
}

/// The criterion group of the replay-cache benches.
pub const REPLAY_GROUP: &str = "DPoP jti cache";

/// The replay-cache bench at `live` entries.
pub fn replay_bench(live: usize) -> String {
    format!("new jti, {live} live")
}

/// How long the proof validator remembers a `jti`: twice the ±5 min `iat` window.
pub const KEEP: Duration = Duration::from_secs(600);
