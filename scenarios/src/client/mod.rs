//! Client scenarios: the world's reference client (with the run's defects) against
//! hostile or odd servers — discovery (protected resource metadata, authorization
//! server metadata, the 401 challenge), mix-up, `state`, the `resource` indicator,
//! where tokens go, step-up, and URLs a server hands the client (SSRF, dangerous
//! authorization URLs).
//!
//! What the client can enforce about URLs, and so what is tested here: only `https`,
//! `http` on loopback only, no other scheme (`javascript:`, `file:`, `data:`). IP
//! literals are judged in canonical form, so decimal, octal, hex and IPv4-mapped
//! spellings of an internal address are refused like the address itself. Loopback
//! stays reachable over `http` by design (local servers, RFC 8252). Internal addresses
//! behind `https` names, or `https` to a private IP, are the fetcher's to refuse (it
//! resolves names; see the harness's `AddressPolicy`): not simulated here.
//!
//! The hostile servers and the readers of what the client sent are in [`hostile`]; the
//! scenarios, by concern, in [`discovery`] (and registration), [`authorization`] (the
//! flow: mix-up, scope, `state`, PKCE, `resource`), [`iss`] (the `iss` of the
//! authorization response), [`registration`] (the registration rows of MCP 2026-07-28:
//! the refresh grant, a refused registration, a client ID obtained before authorizing),
//! [`tokens`] (where tokens go, step-up, no refresh token), [`caching`] (a `private`
//! cached result stays with its token), [`wire`] (the client's side of the 2026-07-28
//! wire: request metadata, `-32022`, the dual-era fallback, `resultType`) and [`ssrf`].

mod authorization;
mod caching;
mod client_credentials;
mod discovery;
mod dpop;
mod hostile;
mod iss;
mod jwt_bearer;
mod registration;
mod ssrf;
mod tokens;
mod wire;

use crate::Scenario;
use authorization::{
    challenged_scope_requested, mix_up, pkce_s256, resource_everywhere, resource_without_added_slash,
    state_tampering,
};
use caching::private_cache_stays_with_its_token;
use discovery::{
    application_type_fits_redirect, application_type_named, as_discovery_order, challenge_syntax,
    credentials_stay_with_their_as, issuer_mismatch, metadata_document_preferred, no_s256,
    prm_discovery_order, prm_names_another_server, prm_naming_a_prefix_not_used,
};
use iss::{foreign_error_not_shown, iss_compared_byte_for_byte, iss_table};
use mcp_authz_sim::scenario::{Capability, Level, Need, Revision, Role};
use registration::{
    client_id_obtained, pre_registered_credentials_stay_home, refresh_grant_registered,
    registration_failure_handled,
};
use ssrf::{
    dangerous_authorization_endpoints, encoded_addresses, insecure_http_urls, redirects_not_followed,
};
use tokens::{
    no_refresh_token_reauthorizes, step_up_asks_for_the_challenged_scope, step_up_bounded,
    step_up_keeps_earlier_scopes, step_up_with_challenged_scope, token_only_to_its_server,
};
use wire::{
    era_fallback_only_without_a_modern_error, modern_requests_carry_their_metadata, result_type_read_right,
    unsupported_version_retried_once,
};

/// The client scenarios.
pub fn scenarios() -> Vec<Scenario> {
    use Capability::*;
    use Level::*;
    use Role::Client;
    vec![
        Scenario::new(Client, "CL-DISC-01", "resource metadata naming another server is refused")
            .requirements(&["CL-01", "CL-25"])
            .level(Must)
            .tags(&["discovery", "attack"])
            .grants(&[MaliciousMcpServer])
            .body(prm_names_another_server),
        Scenario::new(
            Client,
            "CL-DISC-07",
            "resource metadata naming the origin or a parent path is not used",
        )
        .requirements(&["CL-01", "CL-25"])
        .level(Must)
        .tags(&["discovery", "attack"])
        .grants(&[MaliciousMcpServer])
        .body(prm_naming_a_prefix_not_used),
        Scenario::new(Client, "CL-DISC-02", "AS metadata with another issuer is refused")
            .requirements(&["CL-09"])
            .level(Must)
            .tags(&["discovery", "attack"])
            .grants(&[MaliciousAuthorizationServer])
            .body(issuer_mismatch),
        Scenario::new(Client, "CL-DISC-03", "AS without S256 gets no authorization request")
            .requirements(&["CL-29", "CL-28"])
            .rfc9700("4.8")
            .level(Must)
            .tags(&["discovery", "pkce"])
            .grants(&[MaliciousAuthorizationServer])
            .body(no_s256),
        Scenario::new(Client, "CL-DISC-04", "resource metadata: challenge URL, else path then root")
            .requirements(&["CL-04", "CL-01"])
            .level(Must)
            .tags(&["discovery"])
            .grants(&[MaliciousMcpServer, Rewrite])
            .body(prm_discovery_order),
        Scenario::new(Client, "CL-DISC-05", "AS metadata discovery order for an issuer with a path")
            .requirements(&["CL-08", "CL-02"])
            .level(Must)
            .tags(&["discovery"])
            .body(as_discovery_order),
        Scenario::new(Client, "CL-DISC-06", "odd but valid WWW-Authenticate challenges are read right")
            .requirements(&["CL-03", "CL-04"])
            .level(Must)
            .tags(&["discovery"])
            .grants(&[MaliciousMcpServer, Rewrite])
            .body(challenge_syntax),
        Scenario::new(Client, "CL-REG-01", "a client ID metadata document is used when the AS accepts it")
            .requirements(&["CL-10", "CL-15", "CL-12"])
            .level(Should)
            .tags(&["registration"])
            // Every row it names begins with 2025-11-25.
            .since(Revision::R2025_11_25)
            .body(metadata_document_preferred),
        Scenario::new(Client, "CL-REG-02", "a dynamic registration names its application_type")
            .requirements(&["CL-50", "CL-17"])
            .level(Must)
            .tags(&["registration", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .body(application_type_named),
        Scenario::new(Client, "CL-REG-03", "application_type native for loopback, web for remote redirects")
            .requirements(&["CL-50"])
            .level(Should)
            .tags(&["registration", "2026-07-28"])
            .since(Revision::R2026_07_28)
            .body(application_type_fits_redirect),
        Scenario::new(
            Client,
            "CL-REG-04",
            "credentials from one AS never reach another; the client re-registers",
        )
        .requirements(&["CL-52", "CL-54", "CL-25"])
        .level(Must)
        .tags(&["registration", "2026-07-28"])
        .grants(&[MaliciousMcpServer, ReadFrontChannel, ReadTokenRequests])
        .since(Revision::R2026_07_28)
        .body(credentials_stay_with_their_as),
        Scenario::new(
            Client,
            "CL-REG-05",
            "a client that uses refresh tokens registers the refresh_token grant",
        )
        .requirements(&["CL-56"])
        .level(Should)
        .tags(&["registration", "refresh", "2026-07-28"])
        .grants(&[ReadTokenRequests, ReadResourceRequests, Rewrite])
        .since(Revision::R2026_07_28)
        .body(refresh_grant_registered),
        Scenario::new(Client, "CL-REG-06", "a refused registration (invalid_redirect_uri) is not repeated")
            .requirements(&["CL-51"])
            .level(Must)
            .tags(&["registration", "2026-07-28"])
            .grants(&[ReadTokenRequests, Rewrite])
            .since(Revision::R2026_07_28)
            .body(registration_failure_handled),
        Scenario::new(Client, "CL-REG-07", "the client_id of an authorization request was obtained first")
            .requirements(&["CL-49"])
            .level(Must)
            .tags(&["registration", "2026-07-28"])
            .grants(&[ReadFrontChannel, ReadTokenRequests])
            .since(Revision::R2026_07_28)
            .body(client_id_obtained),
        Scenario::new(
            Client,
            "CL-REG-08",
            "pre-registered credentials are not used at an AS other than theirs",
        )
        .requirements(&["CL-53"])
        .level(Should)
        .tags(&["registration", "2026-07-28"])
        .grants(&[MaliciousMcpServer])
        .needs(&[Need::PreRegistration])
        .since(Revision::R2026_07_28)
        .body(pre_registered_credentials_stay_home),
        Scenario::new(Client, "CL-CACHE-01", "a private cached result is not served with another token")
            .requirements(&["CL-58"])
            .level(Must)
            .tags(&["caching", "2026-07-28"])
            .grants(&[ReadResourceRequests, Rewrite])
            .since(Revision::R2026_07_28)
            .body(private_cache_stays_with_its_token),
        Scenario::new(Client, "CL-WIRE-01", "2026-07-28 requests carry the headers and _meta of their body")
            .requirements(&["X-11", "X-12", "X-13"])
            .level(Must)
            .tags(&["wire", "2026-07-28"])
            .grants(&[ReadResourceRequests])
            .since(Revision::R2026_07_28)
            .body(modern_requests_carry_their_metadata),
        Scenario::new(Client, "CL-WIRE-02", "-32022 is answered by a bounded retry with a listed version")
            .requirements(&["X-14"])
            .level(Should)
            .tags(&["wire", "2026-07-28"])
            .grants(&[ReadResourceRequests, Rewrite])
            .since(Revision::R2026_07_28)
            .body(unsupported_version_retried_once),
        Scenario::new(
            Client,
            "CL-WIRE-03",
            "dual-era fallback only without a modern error body; the era is kept",
        )
        .requirements(&["X-19"])
        .level(Should)
        .tags(&["wire", "2026-07-28"])
        .grants(&[ReadResourceRequests, Rewrite])
        .since(Revision::R2026_07_28)
        .body(era_fallback_only_without_a_modern_error),
        Scenario::new(Client, "CL-WIRE-04", "an unknown resultType is treated as invalid")
            .requirements(&["X-17"])
            .level(Must)
            .tags(&["wire", "2026-07-28"])
            .grants(&[ReadResourceRequests, Rewrite])
            .since(Revision::R2026_07_28)
            .body(result_type_read_right),
        Scenario::new(Client, "CL-MIX-01", "mix-up: a response from another issuer is not redeemed")
            .requirements(&["CL-09", "X-05"])
            .rfc9700("4.4")
            .level(Must)
            .tags(&["mix-up", "attack"])
            .grants(&[MaliciousAuthorizationServer, Rewrite])
            .body(mix_up),
        Scenario::new(Client, "CL-ISS-01", "the RFC 9207 iss table decides before any code redemption")
            .requirements(&["CL-46", "CL-45"])
            .rfc9700("4.4")
            .level(Must)
            .tags(&["mix-up", "2026-07-28"])
            .grants(&[MaliciousAuthorizationServer, Rewrite])
            .since(Revision::R2026_07_28)
            .body(iss_table),
        Scenario::new(Client, "CL-ISS-02", "iss is compared byte for byte, never normalized")
            .requirements(&["CL-47", "CL-46"])
            .rfc9700("4.4")
            .level(Must)
            .tags(&["mix-up", "2026-07-28"])
            .grants(&[MaliciousAuthorizationServer, Rewrite])
            .since(Revision::R2026_07_28)
            .body(iss_compared_byte_for_byte),
        Scenario::new(
            Client,
            "CL-ISS-03",
            "an error response from another issuer is neither shown nor followed",
        )
        .requirements(&["CL-48"])
        .rfc9700("4.4")
        .level(Must)
        .tags(&["mix-up", "2026-07-28"])
        .grants(&[MaliciousAuthorizationServer, Rewrite])
        .since(Revision::R2026_07_28)
        .body(foreign_error_not_shown),
        Scenario::new(Client, "CL-SCOPE-01", "the challenged scope is requested, not scopes_supported")
            .requirements(&["CL-05", "CL-06"])
            .level(Must)
            .tags(&["scope"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel, Rewrite])
            // Every row it names begins with 2025-11-25.
            .since(Revision::R2025_11_25)
            .body(challenged_scope_requested),
        Scenario::new(Client, "CL-STATE-01", "missing or altered state: no token request")
            .requirements(&["CL-32"])
            .rfc9700("4.7")
            .level(Should)
            .tags(&["front-channel", "attack"])
            .grants(&[ReadFrontChannel, ReadTokenRequests, Rewrite])
            .body(state_tampering),
        Scenario::new(Client, "CL-PKCE-01", "PKCE S256 with a fresh verifier on every flow")
            .requirements(&["CL-28", "CL-30"])
            .rfc9700("4.8")
            .level(Must)
            .tags(&["pkce"])
            .body(pkce_s256),
        Scenario::new(Client, "CL-RES-01", "resource names the server on authorize, token, refresh")
            .requirements(&["CL-19", "CL-20", "CL-21"])
            .level(Must)
            .tags(&["resource"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel, ReadTokenRequests])
            .body(resource_everywhere),
        Scenario::new(Client, "CL-RES-02", "resource is the server's URI without an added trailing slash")
            .requirements(&["CL-22"])
            .level(Should)
            .tags(&["resource"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel, ReadTokenRequests])
            .body(resource_without_added_slash),
        Scenario::new(Client, "CL-TOKEN-01", "a token goes only to the server it was issued for")
            .requirements(&["CL-25"])
            .rfc9700("4.9")
            .level(Must)
            .tags(&["audience", "attack"])
            .grants(&[MaliciousMcpServer])
            .body(token_only_to_its_server),
        Scenario::new(
            Client,
            "CL-TOKEN-02",
            "no refresh token issued: at expiry the client authorizes again",
        )
        .requirements(&["CL-57"])
        .level(Must)
        .tags(&["refresh", "2026-07-28"])
        .grants(&[ReadTokenRequests, Rewrite])
        .since(Revision::R2026_07_28)
        .body(no_refresh_token_reauthorizes),
        Scenario::new(Client, "CL-STEP-01", "step-up re-authorizes with the challenged scope")
            .requirements(&["CL-26"])
            .level(Should)
            .tags(&["scope"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel, ReadTokenRequests])
            // Every row it names begins with 2025-11-25.
            .since(Revision::R2025_11_25)
            .body(step_up_with_challenged_scope),
        Scenario::new(Client, "CL-STEP-04", "a step-up authorization asks for the challenged scope")
            .requirements(&["CL-06"])
            .level(Must)
            .tags(&["scope"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel, ReadTokenRequests])
            // CL-06 begins with 2025-11-25.
            .since(Revision::R2025_11_25)
            .body(step_up_asks_for_the_challenged_scope),
        Scenario::new(Client, "CL-STEP-03", "step-up asks for the earlier scopes and the challenged one")
            .requirements(&["CL-55", "CL-26"])
            .level(Should)
            .tags(&["scope", "2026-07-28"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel, ReadTokenRequests])
            .since(Revision::R2026_07_28)
            .body(step_up_keeps_earlier_scopes),
        Scenario::new(Client, "CL-STEP-02", "step-up stops when the server always answers 403")
            .requirements(&["CL-27"])
            .level(Should)
            .tags(&["scope"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel])
            // Every row it names begins with 2025-11-25.
            .since(Revision::R2025_11_25)
            .body(step_up_bounded),
        Scenario::new(Client, "CL-SSRF-01", "plain-http OAuth URLs from a server are never fetched")
            .requirements(&["CL-37", "CL-38"])
            .level(Should)
            .tags(&["ssrf", "attack"])
            .grants(&[MaliciousMcpServer, MaliciousAuthorizationServer])
            .body(insecure_http_urls),
        Scenario::new(Client, "CL-SSRF-02", "internal IPs in decimal, octal, hex, v6 form never fetched")
            .requirements(&["CL-37", "CL-39"])
            .level(Should)
            .tags(&["ssrf", "attack"])
            .grants(&[MaliciousMcpServer, MaliciousAuthorizationServer])
            .body(encoded_addresses),
        Scenario::new(Client, "CL-SSRF-03", "javascript:, file:, data:, http authorize URLs never opened")
            .requirements(&["CL-41", "CL-43"])
            .level(Must)
            .tags(&["ssrf", "attack"])
            .grants(&[MaliciousMcpServer, MaliciousAuthorizationServer])
            .body(dangerous_authorization_endpoints),
        Scenario::new(
            Client,
            "CL-DPOP-01",
            "DPoP: every MCP request carries Authorization: DPoP and a fresh proof with ath",
        )
        .requirements(&["CL-62"])
        .level(Must)
        .tags(&["dpop", "extension", "token"])
        .grants(&[ReadTokenRequests, ReadResourceRequests])
        .needs(&[Need::Dpop])
        .body(dpop::fresh_proofs),
        Scenario::new(Client, "CL-DPOP-02", "DPoP: a proof on every token request, refresh included")
            .requirements(&["CL-63"])
            .level(Must)
            .tags(&["dpop", "extension", "refresh"])
            .grants(&[ReadTokenRequests, ReadResourceRequests, Rewrite])
            .needs(&[Need::Dpop])
            .body(dpop::proof_at_the_token_endpoint),
        Scenario::new(
            Client,
            "CL-DPOP-03",
            "DPoP: use_dpop_nonce at the AS and at the MCP server is retried once with the nonce",
        )
        .requirements(&["CL-64"])
        .level(Must)
        .tags(&["dpop", "extension"])
        .grants(&[ReadTokenRequests, ReadResourceRequests, Rewrite])
        .needs(&[Need::Dpop])
        .body(dpop::nonces_honoured),
        Scenario::new(
            Client,
            "CL-CC-01",
            "client credentials: grant_type, resource and client authentication",
        )
        .requirements(&["CL-59"])
        .level(Must)
        .tags(&["client-credentials", "extension", "token"])
        .grants(&[ReadTokenRequests])
        .needs(&[Need::PreRegistration])
        .body(client_credentials::client_credentials_flow),
        Scenario::new(
            Client,
            "CL-EMA-01",
            "enterprise-managed: the token exchange asks the IdP for an ID-JAG for the AS's issuer",
        )
        .requirements(&["CL-60"])
        .level(Must)
        .tags(&["enterprise-managed", "extension", "token"])
        .grants(&[ReadTokenRequests])
        .needs(&[Need::GrantAssertion])
        .body(jwt_bearer::token_exchange_at_the_idp),
        Scenario::new(
            Client,
            "CL-EMA-02",
            "enterprise-managed: the ID-JAG is the assertion of the JWT bearer grant",
        )
        .requirements(&["CL-61"])
        .level(Must)
        .tags(&["enterprise-managed", "extension", "token"])
        .grants(&[ReadFrontChannel, ReadTokenRequests])
        .needs(&[Need::GrantAssertion])
        .body(jwt_bearer::id_jag_presented_as_assertion),
        Scenario::new(
            Client,
            "CL-WIF-01",
            "workload identity: the workload JWT is the JWT bearer grant's assertion, with resource",
        )
        .requirements(&["CL-65"])
        .level(Must)
        .tags(&["workload-identity", "extension", "token"])
        .grants(&[ReadTokenRequests])
        .needs(&[Need::GrantAssertion])
        .body(jwt_bearer::workload_jwt_presented),
        Scenario::new(Client, "CL-SSRF-04", "metadata redirects to internal addresses are not followed")
            .requirements(&["CL-37", "CL-40"])
            .level(Should)
            .tags(&["ssrf", "attack"])
            .grants(&[MaliciousMcpServer, MaliciousAuthorizationServer])
            .body(redirects_not_followed),
    ]
}
