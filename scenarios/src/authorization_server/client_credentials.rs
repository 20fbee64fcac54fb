//! The MCP extension `io.modelcontextprotocol/oauth-client-credentials` (SEP-1046; ext-auth
//! `specification/draft/oauth-client-credentials.mdx`) at the authorization server: what
//! its metadata must say (AS-33), and that it validates a `private_key_jwt` client
//! assertion by RFC 7523 §3 (AS-34). An AS whose metadata does not list
//! `client_credentials` does not offer the extension: both cases are then not applicable.

use super::oauth::field;
use crate::world::{World, all_variants, describe, oauth_error_code};
use mcp_authz_reference::authorization_server::RegisteredClient;
use mcp_authz_reference::client::token::JWT_BEARER_ASSERTION;
use mcp_authz_reference::jwt::{self, Algorithm, SigningKey};
use mcp_authz_reference::metadata::{AuthorizationServerMetadata, Grant};
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_reference::wire;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Value, json};

/// Where the extension's metadata rules are.
const METADATA_RULE: &str = "oauth-client-credentials §Server Metadata Requirements";

/// The metadata of the AS under test when it offers the client credentials grant.
fn offering(w: &mut World) -> Result<AuthorizationServerMetadata, Check> {
    let issuer = w.as_under_test.issuer.clone();
    let m = crate::world::discover(&mut w.sim, &issuer)
        .map_err(|e| Check::Undecided(format!("no authorization server metadata: {e}")))?;
    match m.check_grant_listed(Grant::ClientCredentials) {
        Ok(()) => Ok(m),
        Err(e) => {
            Err(Check::NotApplicable(format!("the AS does not offer the client credentials grant: {e}")))
        }
    }
}

/// AS-CC-01: an AS listing `client_credentials` lists `private_key_jwt` or
/// `client_secret_basic` in `token_endpoint_auth_methods_supported` (present: the
/// extension says the metadata "MUST include" it, RFC 8414's default does not count), and,
/// with `private_key_jwt`, the algorithms it accepts
/// (`token_endpoint_auth_signing_alg_values_supported`, never `none`).
pub(super) fn client_credentials_metadata(w: &mut World) -> Check {
    let m = step!(offering(w));
    let Some(methods) = &m.token_endpoint_auth_methods_supported else {
        return Check::Violated(Violation::new(
            format!(
                "token_endpoint_auth_methods_supported with private_key_jwt or client_secret_basic ({METADATA_RULE})"
            ),
            "no token_endpoint_auth_methods_supported",
        ));
    };
    let listed = |name: &str| methods.iter().any(|m| m == name);
    if !listed("private_key_jwt") && !listed("client_secret_basic") {
        return Check::Violated(Violation::new(
            format!(
                "token_endpoint_auth_methods_supported to include private_key_jwt or client_secret_basic ({METADATA_RULE})"
            ),
            format!("{methods:?}"),
        ));
    }
    if listed("private_key_jwt") {
        let algs = m.token_endpoint_auth_signing_alg_values_supported.as_deref().unwrap_or_default();
        if algs.is_empty() || algs.iter().any(|a| a == "none") {
            return Check::Violated(Violation::new(
                format!(
                    "token_endpoint_auth_signing_alg_values_supported, without none, with private_key_jwt \
                     ({METADATA_RULE}: \"Required when supporting JWT authentication\"; RFC 8414 §2)"
                ),
                format!("{:?}", m.token_endpoint_auth_signing_alg_values_supported),
            ));
        }
    }
    Check::Holds
}

/// The harness's machine client in the trace.
const MACHINE: &str = "machine-client";

/// Registers a `private_key_jwt` client for the client credentials grant with `key`'s
/// public JWK Set: at the AS directly where the target allows it, else by dynamic
/// registration (RFC 7591).
fn register_machine(w: &mut World, key: &SigningKey) -> Result<String, Check> {
    let client = RegisteredClient {
        client_id: "mcp-authz-machine".into(),
        grant_types: vec!["client_credentials".into()],
        token_endpoint_auth_method: "private_key_jwt".into(),
        scopes: vec!["mcp:read".into()],
        jwks: Some(key.public_jwks()),
        client_name: Some("mcp-authz machine client".into()),
        ..RegisteredClient::default()
    };
    let id = client.client_id.clone();
    if w.register_directly(client).is_ok() {
        return Ok(id);
    }
    let metadata = json!({"client_name": "mcp-authz machine client", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt", "jwks": key.public_jwks(), "scope": "mcp:read"});
    match w.register(MACHINE, &metadata) {
        Ok(info) => Ok(field(&info, "client_id")),
        Err(r) => Err(Check::NotApplicable(format!(
            "needs a client registered with private_key_jwt and the harness's key; dynamic registration \
             (RFC 7591) did not give one: {}",
            describe(&r)
        ))),
    }
}

/// A client credentials token request authenticated by an assertion with `claims`, signed
/// by `key`.
fn send_assertion(w: &mut World, key: &SigningKey, claims: &Value) -> FetchResult {
    let (endpoint, resource) = (w.as_under_test.token_endpoint.clone(), w.as_under_test.resource.clone());
    let assertion = jwt::encode(key, "JWT", claims).unwrap_or_default();
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", resource.as_str()),
        ("client_assertion_type", JWT_BEARER_ASSERTION),
        ("client_assertion", assertion.as_str()),
    ];
    match wire::post_form_request(&endpoint, &wire::encode_pairs(form)) {
        Ok(req) => w.send(MACHINE, req),
        Err(e) => Err(mcp_authz_reference::sans_io::FetchError { url: endpoint, reason: e.to_string() }),
    }
}

/// The answer refuses the client: `invalid_client` (RFC 7523 §3.2: "The value of the
/// "error" parameter MUST be the "invalid_client" error code"), with 400 or 401 (RFC 6749
/// §5.2).
fn refused(r: &FetchResult, what: &str) -> Check {
    let got = r.as_ref().ok().map(|r| (r.status().as_u16(), oauth_error_code(r)));
    let ok = matches!(&got, Some((400 | 401, Some(ErrorCode::InvalidClient))));
    Check::expect(ok, || {
        Violation::about(what, "400 or 401 with error invalid_client (RFC 7523 §3, §3.2)", describe(r))
    })
}

/// AS-CC-02: a `private_key_jwt` client assertion is validated by RFC 7523 §3: one signed
/// by a key the client did not register (under the registered key's `kid`), one whose
/// `aud` is another server, and an expired one are each refused with `invalid_client`,
/// where the same assertion, well formed, gets a token. A replayed assertion (same `jti`)
/// is reported: refusing it is RFC 7523 §3's MAY, so accepting it is not a violation.
pub(super) fn assertion_validation(w: &mut World) -> Check {
    let m = step!(offering(w));
    if !m.supports_auth_method("private_key_jwt") {
        return Check::NotApplicable(format!(
            "the AS does not list private_key_jwt in token_endpoint_auth_methods_supported ({:?})",
            m.token_endpoint_auth_methods_supported
        ));
    }
    let key = w.generate_key(Algorithm::ES256, "machine-key");
    let id = step!(register_machine(w, &key));
    // The issuer identifier the AS was found by: its metadata's `issuer` must be the same
    // (RFC 8414 §3.3), which AS-META-01 judges, not this case.
    let issuer = w.as_under_test.issuer.clone();
    let now = w.now().unix_secs();
    let claims = |aud: &str, iat: u64, jti: &str| json!({"iss": id, "sub": id, "aud": aud, "iat": iat, "exp": iat + 60, "jti": jti});
    let valid = claims(&issuer, now, "assertion-1");
    let first = send_assertion(w, &key, &valid);
    if first.as_ref().map_or(true, |r| r.status() != 200) {
        return Check::Undecided(format!(
            "a well-formed assertion of the registered client was refused, so refusals say nothing: {}",
            describe(&first)
        ));
    }
    // Another key under the registered key's `kid` (a key the harness draws under another
    // name: `World::generate_key` draws one key per `kid`).
    let foreign = w
        .sim
        .env_for("key:foreign machine-key", |env| SigningKey::generate(Algorithm::ES256, "machine-key", env));
    let Ok(foreign) = foreign else {
        return Check::Undecided("the harness could not make a second key".into());
    };
    let mut outcomes = Vec::new();
    let r = send_assertion(w, &foreign, &claims(&issuer, now, "assertion-2"));
    outcomes
        .push(("signed by a key the client did not register".to_string(), refused(&r, "a forged signature")));
    let r = send_assertion(w, &key, &claims("https://other.example/token", now, "assertion-3"));
    outcomes.push(("aud another server".to_string(), refused(&r, "an assertion for another audience")));
    let r = send_assertion(w, &key, &claims(&issuer, now.saturating_sub(600), "assertion-4"));
    outcomes.push(("expired 9 minutes ago".to_string(), refused(&r, "an expired assertion")));
    let r = send_assertion(w, &key, &valid);
    let replay = match refused(&r, "a replayed assertion") {
        Check::Violated(_) => Check::NotApplicable(format!(
            "the AS takes a replayed assertion ({}): RFC 7523 §3 lets it (\"MAY ensure that JWTs are not \
             replayed\")",
            describe(&r)
        )),
        held => held,
    };
    outcomes.push(("jti replayed".to_string(), replay));
    all_variants(w, outcomes)
}
