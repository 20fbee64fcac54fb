//! The client credentials extension at the client (CL-CC-01; `io.modelcontextprotocol/
//! oauth-client-credentials`, SEP-1046, ext-auth `specification/draft/
//! oauth-client-credentials.mdx`, row CL-59): a client configured with credentials
//! registered out of band at the harness's AS asks its token endpoint for a token with
//! `grant_type=client_credentials` and `resource`, authenticated by its secret or by a
//! `private_key_jwt` assertion.
//!
//! The client under test must be given the credentials: a client process cannot be
//! ([`Need::PreRegistration`](mcp_authz_sim::scenario::Need::PreRegistration)), so the
//! case is then not applicable. What the client sent is judged from the wire.

use super::hostile::{echo, seen};
use crate::world::{Log, MCP, Seen, World, all_variants};
use mcp_authz_reference::Error;
use mcp_authz_reference::authorization_server::RegisteredClient;
use mcp_authz_reference::client::token::JWT_BEARER_ASSERTION;
use mcp_authz_reference::client::{ClientCredentials, Credential, Outcome};
use mcp_authz_reference::jwt::{self, Algorithm, KeySet};
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::Channel;
use serde_json::Value;

/// The client registered with a secret (`client_secret_basic`), and its secret.
const SECRET_CLIENT: (&str, &str) = ("machine-agent", "machine-agent-secret");
/// The client registered with a public key (`private_key_jwt`).
const KEY_CLIENT: &str = "machine-agent-jwt";
/// The `kid` of its key.
const KEY_KID: &str = "machine-agent-key";
/// The sentence every authentication fault is judged by.
const AUTHENTICATE: &str = "oauth-client-credentials §Client Authentication Methods, \"Clients MUST \
    authenticate using one of these methods\": a private_key_jwt assertion (RFC 7523 §2.2) or the client \
    secret";

/// What a client credentials client holds, for the judge.
struct Holding<'a> {
    client_id: &'a str,
    secret: Option<&'a str>,
    keys: Option<&'a KeySet>,
}

/// A client registered at the AS for the client credentials grant.
fn machine_client(client_id: &str, secret: Option<&str>, method: &str) -> RegisteredClient {
    RegisteredClient {
        client_id: client_id.into(),
        client_secret: secret.map(String::from),
        grant_types: vec!["client_credentials".into()],
        token_endpoint_auth_method: method.into(),
        scopes: ["mcp:read", "mcp:write", "mcp:admin"].map(String::from).to_vec(),
        client_name: Some("machine agent".into()),
        ..RegisteredClient::default()
    }
}

/// CL-CC-01: two clients, each configured with credentials registered at the AS out of
/// band, call a tool of server A: one with a secret, one with a private key. Every token
/// request goes to the AS's token endpoint with `grant_type=client_credentials`,
/// `resource` naming server A (MCP §Resource Parameter Implementation: the `resource`
/// parameter "MUST be included in both authorization requests and token requests", which
/// the extension keeps: "Implementations MUST also conform to the baseline authorization
/// requirements"), and the client authenticated ("Clients **MUST** authenticate using
/// one of these methods"): with the secret — by HTTP Basic or in the request content,
/// both taken, since the extension's text says "transmitted in the request content" while
/// its metadata section names `client_secret_basic` — or with an assertion by its key
/// whose claims RFC 7523 §3 requires: `sub` the client id ("For client authentication,
/// the subject MUST be the client_id"), an `iss` (any: §3 asks only "a unique identifier
/// for the entity that issued the JWT"), `aud` naming the AS (its issuer
/// or its token endpoint: "The token endpoint URL of the authorization server MAY be
/// used"), `exp` ("The JWT MUST contain an exp"). A `jti` is RFC 7523's MAY: not graded.
/// A dynamic registration is noted, not graded: "This flow requires pre-registered client
/// credentials … Dynamic Client Registration is not used in this flow" (§Overview)
/// describes, with no MUST; a client that uses registered credentials other than its
/// own fails the authentication check. A client that runs
/// the authorization code flow instead is caught by its token request's `grant_type`; an
/// authorization request as such is not graded (no sentence of the extension forbids
/// one, though the flow is "without user interaction").
pub(super) fn client_credentials_flow(w: &mut World) -> Check {
    let key = w.generate_key(Algorithm::ES256, KEY_KID);
    let (Ok(pkcs8_der), Ok(keys)) = (key.to_pkcs8_der(), KeySet::from_jwks(&key.public_jwks())) else {
        return Check::Undecided("the harness could not encode its client key".into());
    };
    let mut with_key = machine_client(KEY_CLIENT, None, "private_key_jwt");
    with_key.jwks = Some(key.public_jwks());
    for client in [machine_client(SECRET_CLIENT.0, Some(SECRET_CLIENT.1), "client_secret_basic"), with_key] {
        if let Err(skip) = w.register_directly(client) {
            return w.cannot(skip);
        }
    }
    let secret = Credential::Secret(SECRET_CLIENT.1.into());
    let private_key = Credential::PrivateKey { alg: Algorithm::ES256, kid: KEY_KID.into(), pkcs8_der };
    let variants = [
        (
            "a client secret",
            SECRET_CLIENT.0,
            secret,
            Holding { client_id: SECRET_CLIENT.0, secret: Some(SECRET_CLIENT.1), keys: None },
        ),
        (
            "a private key (private_key_jwt)",
            KEY_CLIENT,
            private_key,
            Holding { client_id: KEY_CLIENT, secret: None, keys: Some(&keys) },
        ),
    ];
    let mut outcomes = Vec::new();
    for (variant, client_id, credential, holding) in variants {
        let credentials = ClientCredentials { client_id: client_id.into(), credential, issuer: None };
        let log = w.record(&[Channel::Token]);
        let client = w.public_client_with(MCP, |c| c.client_credentials = Some(credentials));
        let mut client = match client {
            Ok(c) => c,
            Err(e) => return Check::Undecided(format!("the client refuses its credentials: {e}")),
        };
        w.note(&format!("a machine client `{client_id}` with {variant}, registered at the AS out of band"));
        let outcome = w.run_client("machine", &mut client, echo());
        outcomes.push((format!("with {variant}"), judge(w, &log, &holding, outcome)));
    }
    all_variants(w, outcomes)
}

/// The verdict on what a client credentials client sent (see [`client_credentials_flow`]).
fn judge(w: &mut World, log: &Log, holding: &Holding<'_>, outcome: Result<Outcome, Error>) -> Check {
    let registrations = seen(log, |s| s.method == "POST" && s.path().ends_with("/register"));
    if let Some(s) = registrations.first() {
        // §Overview describes ("Dynamic Client Registration is not used in this flow")
        // and forbids nothing: noted, not graded. A client that then authenticates with
        // the registration's credentials instead of its own fails below.
        w.note(&format!(
            "the client registered dynamically ({} {}), which the flow does not use",
            s.method, s.url
        ));
    }
    let token_endpoint = &w.as_under_test.token_endpoint;
    let requests = seen(log, |s| s.method == "POST" && &s.url == token_endpoint);
    if requests.is_empty() {
        return Check::Undecided(format!("the client sent no token request ({outcome:?})"));
    }
    for request in &requests {
        if let Some(fault) = request_fault(w, request, holding) {
            return Check::Violated(fault);
        }
    }
    // What the AS made of them is not this case's; how the client ended goes to the trace.
    if let Err(e) = outcome {
        w.note(&format!("the token requests are right; the client then stopped: {e}"));
    }
    Check::Holds
}

/// What is wrong with one token request of a client credentials client.
fn request_fault(w: &World, request: &Seen, holding: &Holding<'_>) -> Option<Violation> {
    let at = format!("POST {}", request.url);
    let grant_type = request.param("grant_type");
    if grant_type.as_deref() != Some("client_credentials") {
        return Some(Violation::about(
            at,
            "grant_type=client_credentials (OAuth 2.1 §4.2.1; the extension's flow)",
            format!("grant_type {grant_type:?}"),
        ));
    }
    let resource = request.param("resource");
    let slashed = format!("{}/", w.mcp);
    if resource.as_deref() != Some(w.mcp.as_str()) && resource.as_deref() != Some(slashed.as_str()) {
        return Some(Violation::about(
            at,
            format!(
                "resource={} (MCP §Resource Parameter Implementation: it \"MUST be included in both \
                 authorization requests and token requests\"; the extension keeps \"the baseline authorization \
                 requirements\")",
                w.mcp
            ),
            format!("resource {resource:?}"),
        ));
    }
    let fault = authentication_fault(w, request, holding)?;
    Some(Violation::about(at, AUTHENTICATE, fault))
}

/// The id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1), if a
/// well-formed one.
fn basic_credentials(request: &Seen) -> Option<(String, String)> {
    mcp_authz_reference::wire::basic_credentials(&request.headers).ok().flatten()
}

/// Why the request does not authenticate the client with what it holds; `None` when it
/// does.
fn authentication_fault(w: &World, request: &Seen, holding: &Holding<'_>) -> Option<String> {
    if let Some(assertion) = request.param("client_assertion") {
        return assertion_fault(w, &assertion, request.param("client_assertion_type"), holding);
    }
    let body = request.param("client_id").zip(request.param("client_secret"));
    match (holding.secret, basic_credentials(request).or(body)) {
        (Some(secret), Some((id, sent))) if id == holding.client_id && sent == secret => None,
        (_, Some((id, _))) => {
            Some(format!("credentials that are not `{}`'s secret (client id `{id}`)", holding.client_id))
        }
        (_, None) => Some(format!(
            "no client authentication: no Basic credentials, no client_secret, no client_assertion (client_id {})",
            request.param("client_id").map_or("absent".to_string(), |id| format!("`{id}`"))
        )),
    }
}

/// Why a `private_key_jwt` assertion does not authenticate the client (RFC 7523 §2.2,
/// §3); `None` when it does.
fn assertion_fault(
    w: &World,
    assertion: &str,
    kind: Option<String>,
    holding: &Holding<'_>,
) -> Option<String> {
    if kind.as_deref() != Some(JWT_BEARER_ASSERTION) {
        return Some(format!("client_assertion_type {kind:?}, not `{JWT_BEARER_ASSERTION}` (RFC 7523 §2.2)"));
    }
    let Some(keys) = holding.keys else {
        return Some("a client assertion, though the client holds a secret and no key".into());
    };
    let payload = match jwt::decode_verified(assertion, keys, &[Algorithm::ES256]) {
        Ok((_, payload)) => payload,
        Err(e) => return Some(format!("an assertion that does not verify with the client's key: {e}")),
    };
    let claims: Value = serde_json::from_slice(&payload).unwrap_or_default();
    let issuer = w.as_under_test.issuer.as_str();
    let audiences = [
        issuer.to_string(),
        format!("{}/", issuer.trim_end_matches('/')),
        w.as_under_test.token_endpoint.clone(),
    ];
    let aud: Vec<&str> = match &claims["aud"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let id = holding.client_id;
    if claims["sub"].as_str() != Some(id) {
        Some(format!(
            "an assertion with sub {}, not the client id `{id}` (RFC 7523 §3: \"For client authentication, \
             the subject MUST be the client_id\")",
            claims["sub"]
        ))
    } else if claims["iss"].as_str().is_none_or(str::is_empty) {
        Some(format!(
            "an assertion with iss {} (RFC 7523 §3: \"The JWT MUST contain an iss (issuer) claim that contains \
             a unique identifier for the entity that issued the JWT\")",
            claims["iss"]
        ))
    } else if !aud.iter().any(|a| audiences.iter().any(|x| x == a)) {
        Some(format!(
            "an assertion with aud {aud:?}, naming neither the AS's issuer `{issuer}` nor its token endpoint \
             (RFC 7523 §3: \"The JWT MUST contain an aud (audience) claim containing a value that identifies \
             the authorization server as an intended audience\")"
        ))
    } else if !claims["exp"].is_u64() {
        Some(format!(
            "an assertion with exp {} (RFC 7523 §3: \"The JWT MUST contain an exp\")",
            claims["exp"]
        ))
    } else {
        None
    }
}
