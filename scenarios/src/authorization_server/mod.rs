//! Authorization server scenarios: code interception, PKCE downgrade, code injection and
//! reuse; refresh-token theft under rotation; scope escalation at the AS; redirect URI
//! matching and the front channel; token responses and resource indicators.
//!
//! Each scenario but AS-META-01, AS-CC-01, AS-CC-02, AS-EMA-*, AS-WIF-01, AS-REG-01 and AS-REG-02 starts with two public clients registered
//! at the AS: `notes-app`, the victim's app (on the loopback redirect URI and on
//! `https://app.example/callback`), and `evil-app`, the attacker's app, registered on
//! the same loopback redirect URI (a malicious native app claiming the same port).
//!
//! The OAuth steps the scenarios are made of are in [`oauth`]; the scenarios, by
//! concern, in [`code`], [`refresh`], [`scope`], [`front_channel`] (redirect URIs and
//! the front channel), [`iss`] (RFC 9207 `iss` and its metadata flag), [`token`] (token
//! responses and resource indicators), [`metadata`] (metadata documents and
//! registration), [`client_credentials`] (the client credentials extension), [`dpop`]
//! (the DPoP extension) and [`jwt_bearer`] (the JWT bearer grant of the
//! enterprise-managed authorization and workload identity federation extensions).

use crate::Scenario;
use crate::world::World;
use mcp_authz_sim::scenario::{Capability, Check, Level, Need, Revision, Role};

/// The value of a step, or the verdict it already reached.
macro_rules! step {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(check) => return check,
        }
    };
}

// After `step!`, which they use.
mod client_credentials;
mod code;
mod dpop;
mod front_channel;
mod iss;
mod jwt_bearer;
mod metadata;
mod oauth;
mod refresh;
mod scope;
mod token;

use client_credentials::{assertion_validation, client_credentials_metadata};
use code::{
    code_client_binding, code_expiry, code_injection, code_interception, code_redirect_binding, code_reuse,
    code_reuse_revokes, pkce_downgrade, pkce_plain,
};
use front_channel::{
    consent_framing, login_redirect_status, open_redirect_on_error, redirect_exact_match, state_and_iss,
};
use iss::{iss_advertised, iss_on_every_response};
use metadata::{hostile_registration, jwks_public_keys_only, metadata_documents, registration_flood};
use oauth::register_apps;
use refresh::{
    refresh_attacker_first, refresh_concurrent, refresh_other_client, refresh_resource_change,
    refresh_rotation, refresh_scope_widening, refresh_victim_first,
};
use scope::{authorization_scope, registration_scope, token_request_scope};
use token::{
    introspection_requires_authorization, legacy_grants, resource_binding, short_lived_tokens, token_no_store,
};

/// The authorization server scenarios. All but AS-META-01, AS-REG-01 and AS-REG-02 start with
/// the two apps of [`register_apps`] registered ([`with_apps`]).
pub fn scenarios() -> Vec<Scenario> {
    use Capability::*;
    use Level::*;
    use Need::*;
    use Role::AuthorizationServer;
    vec![
        Scenario::new(
            AuthorizationServer,
            "AS-CODE-01",
            "an intercepted code cannot be redeemed without the verifier",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.1")
        .level(Must)
        .tags(&["pkce", "code", "attack"])
        .grants(&[ReadFrontChannel, SameRedirectUri, MaliciousClient])
        .needs(&[FrontChannel])
        .body(|w| with_apps(w, code_interception)),
        Scenario::new(
            AuthorizationServer,
            "AS-CODE-02",
            "PKCE downgrade: a request stripped of its challenge gets no code",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.8")
        .level(Must)
        .tags(&["pkce", "code", "attack"])
        .grants(&[ReadFrontChannel, Rewrite])
        .needs(&[FrontChannel])
        .body(|w| with_apps(w, pkce_downgrade)),
        Scenario::new(AuthorizationServer, "AS-CODE-03", "code_challenge_method plain is refused")
            .requirements(&["AS-01"])
            .rfc9700("4.8")
            .level(Must)
            .tags(&["pkce", "code"])
            .body(|w| with_apps(w, pkce_plain)),
        Scenario::new(
            AuthorizationServer,
            "AS-CODE-04",
            "a code injected into the attacker's session is refused",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.5")
        .level(Must)
        .tags(&["pkce", "code", "attack"])
        .grants(&[ReadFrontChannel, MaliciousClient])
        .needs(&[FrontChannel])
        .body(|w| with_apps(w, code_injection)),
        Scenario::new(AuthorizationServer, "AS-CODE-05", "a second redemption of a code is invalid_grant")
            .requirements(&["AS-01"])
            .rfc9700("4.2")
            .level(Must)
            .tags(&["code", "replay"])
            .body(|w| with_apps(w, code_reuse)),
        Scenario::new(
            AuthorizationServer,
            "AS-CODE-06",
            "a second redemption revokes the tokens of the first",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.2")
        .level(Should)
        .tags(&["code", "replay"])
        .body(|w| with_apps(w, code_reuse_revokes)),
        Scenario::new(AuthorizationServer, "AS-CODE-07", "a code is bound to its redirect URI")
            .requirements(&["AS-01"])
            .rfc9700("4.1")
            .level(Must)
            .tags(&["code"])
            .body(|w| with_apps(w, code_redirect_binding)),
        Scenario::new(AuthorizationServer, "AS-CODE-08", "a code expires")
            .requirements(&["AS-01"])
            .rfc9700("4.2")
            .level(Must)
            .tags(&["code"])
            .needs(&[CodeLifetime])
            .body(|w| with_apps(w, code_expiry)),
        Scenario::new(AuthorizationServer, "AS-CODE-09", "a code is bound to the client it was issued to")
            .requirements(&["AS-01"])
            .rfc9700("4.5")
            .level(Must)
            .tags(&["code"])
            .grants(&[MaliciousClient])
            .body(|w| with_apps(w, code_client_binding)),
        Scenario::new(AuthorizationServer, "AS-REFRESH-01", "refresh tokens rotate and the old one dies")
            .requirements(&["AS-18"])
            .rfc9700("4.14")
            .level(Must)
            .tags(&["refresh"])
            .body(|w| with_apps(w, refresh_rotation)),
        Scenario::new(
            AuthorizationServer,
            "AS-REFRESH-02",
            "stolen refresh token used first by the attacker: the family dies",
        )
        .requirements(&["AS-18"])
        .rfc9700("4.14")
        .level(Must)
        .tags(&["refresh", "attack"])
        .grants(&[ReadTokenRequests, MaliciousClient])
        .body(|w| with_apps(w, refresh_attacker_first)),
        Scenario::new(
            AuthorizationServer,
            "AS-REFRESH-03",
            "stolen refresh token replayed after the client: the family dies",
        )
        .requirements(&["AS-18"])
        .rfc9700("4.14")
        .level(Must)
        .tags(&["refresh", "attack"])
        .grants(&[ReadTokenRequests, MaliciousClient])
        .body(|w| with_apps(w, refresh_victim_first)),
        Scenario::new(
            AuthorizationServer,
            "AS-REFRESH-04",
            "one refresh token presented twice at once: one wins, the family dies",
        )
        .requirements(&["AS-18"])
        .rfc9700("4.14")
        .level(Must)
        .tags(&["refresh", "attack"])
        .grants(&[ReadTokenRequests, MaliciousClient])
        .body(|w| with_apps(w, refresh_concurrent)),
        Scenario::new(
            AuthorizationServer,
            "AS-REFRESH-05",
            "a refresh token presented by another client is refused",
        )
        .requirements(&["AS-18"])
        .rfc9700("4.14")
        .level(Must)
        .tags(&["refresh", "attack"])
        .grants(&[ReadTokenRequests, MaliciousClient])
        .body(|w| with_apps(w, refresh_other_client)),
        Scenario::new(AuthorizationServer, "AS-REFRESH-06", "a refresh cannot widen the scope")
            .requirements(&["AS-18", "AS-01"])
            .rfc9700("4.14")
            .level(Must)
            .tags(&["refresh", "scope"])
            .body(|w| with_apps(w, refresh_scope_widening)),
        Scenario::new(AuthorizationServer, "AS-REFRESH-07", "a refresh cannot change the resource")
            .requirements(&["AS-18", "AS-01"])
            .rfc9700("4.14")
            .level(Must)
            .tags(&["refresh", "audience"])
            .needs(&[SecondResource])
            .body(|w| with_apps(w, refresh_resource_change)),
        Scenario::new(AuthorizationServer, "AS-SCOPE-01", "scope added at the token request is not granted")
            .requirements(&["AS-01"])
            .level(Must)
            .tags(&["scope"])
            .body(|w| with_apps(w, token_request_scope)),
        Scenario::new(AuthorizationServer, "AS-SCOPE-02", "DCR cannot register scopes beyond the policy")
            .requirements(&["AS-04", "AS-01"])
            .level(Must)
            .tags(&["scope", "registration"])
            .body(|w| with_apps(w, registration_scope)),
        Scenario::new(AuthorizationServer, "AS-SCOPE-03", "a scope the client may not have is never granted")
            .requirements(&["AS-01"])
            .level(Must)
            .tags(&["scope"])
            .body(|w| with_apps(w, authorization_scope)),
        Scenario::new(
            AuthorizationServer,
            "AS-REDIR-01",
            "redirect URIs match exactly (loopback port aside)",
        )
        .requirements(&["AS-20"])
        .rfc9700("4.1")
        .level(Must)
        .tags(&["redirect"])
        .body(|w| with_apps(w, redirect_exact_match)),
        Scenario::new(
            AuthorizationServer,
            "AS-REDIR-02",
            "unknown client or redirect URI: error page, no redirect",
        )
        .requirements(&["AS-21"])
        .rfc9700("4.11")
        .level(Must)
        .tags(&["redirect"])
        .body(|w| with_apps(w, open_redirect_on_error)),
        Scenario::new(
            AuthorizationServer,
            "AS-FRONT-01",
            "authorization responses return state unchanged and iss",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.4")
        .level(Must)
        .tags(&["front-channel"])
        .body(|w| with_apps(w, state_and_iss)),
        Scenario::new(AuthorizationServer, "AS-FRONT-02", "the login POST is answered with 303, not 307")
            .requirements(&["AS-01"])
            .rfc9700("4.12")
            .level(Must)
            .tags(&["front-channel"])
            .needs(&[LoginForms])
            .body(|w| with_apps(w, login_redirect_status)),
        Scenario::new(AuthorizationServer, "AS-FRONT-03", "the consent page cannot be framed")
            .requirements(&["AS-25"])
            .rfc9700("4.16")
            .level(Must)
            .tags(&["front-channel"])
            .needs(&[LoginForms])
            // Every row it names begins with 2025-11-25.
            .since(Revision::R2025_11_25)
            .body(|w| with_apps(w, consent_framing)),
        Scenario::new(
            AuthorizationServer,
            "AS-ISS-01",
            "iss is the issuer in every authorization response, errors included",
        )
        .requirements(&["AS-31"])
        .level(Should)
        .tags(&["front-channel", "iss"])
        .since(Revision::R2026_07_28)
        .body(|w| with_apps(w, iss_on_every_response)),
        Scenario::new(
            AuthorizationServer,
            "AS-ISS-02",
            "iss in responses if and only if the metadata advertises it",
        )
        .requirements(&["AS-32"])
        .level(Must)
        .tags(&["front-channel", "iss", "metadata"])
        .since(Revision::R2026_07_28)
        .body(|w| with_apps(w, iss_advertised)),
        Scenario::new(AuthorizationServer, "AS-TOKEN-01", "token responses carry Cache-Control: no-store")
            .requirements(&["AS-01"])
            .level(Must)
            .tags(&["token"])
            .body(|w| with_apps(w, token_no_store)),
        Scenario::new(AuthorizationServer, "AS-TOKEN-02", "access tokens are short-lived")
            .requirements(&["AS-17"])
            .level(Should)
            .tags(&["token"])
            .body(|w| with_apps(w, short_lived_tokens)),
        Scenario::new(
            AuthorizationServer,
            "AS-INTRO-01",
            "introspection answers only callers with credentials",
        )
        .requirements(&["AS-44"])
        .level(Must)
        .tags(&["token", "introspection"])
        .body(|w| with_apps(w, introspection_requires_authorization)),
        Scenario::new(AuthorizationServer, "AS-TOKEN-03", "implicit and password grants are refused")
            .requirements(&["AS-01"])
            .level(Must)
            .tags(&["token"])
            .body(|w| with_apps(w, legacy_grants)),
        Scenario::new(
            AuthorizationServer,
            "AS-RES-01",
            "unknown resource is invalid_target; aud is the requested resource",
        )
        .requirements(&["AS-01"])
        .rfc9700("4.10")
        // RFC 8707 §2: the AS "SHOULD audience-restrict issued access tokens".
        .level(Should)
        .tags(&["audience"])
        .body(|w| with_apps(w, resource_binding)),
        Scenario::new(
            AuthorizationServer,
            "AS-META-01",
            "metadata: issuer byte-exact, S256, code, endpoints",
        )
        .requirements(&["AS-02", "AS-03", "AS-19"])
        .level(Must)
        .tags(&["metadata"])
        .body(metadata_documents),
        Scenario::new(
            AuthorizationServer,
            "AS-JWKS-01",
            "the published keys are public keys, fit for their algorithm",
        )
        .requirements(&["AS-45"])
        .level(Must)
        .tags(&["metadata", "jwks"])
        .body(jwks_public_keys_only),
        Scenario::new(
            AuthorizationServer,
            "AS-CC-01",
            "client credentials: the metadata lists private_key_jwt or client_secret_basic",
        )
        .requirements(&["AS-33"])
        .level(Must)
        .tags(&["metadata", "client-credentials", "extension"])
        .body(client_credentials_metadata),
        Scenario::new(
            AuthorizationServer,
            "AS-CC-02",
            "client credentials: a forged, misaddressed or expired assertion is invalid_client",
        )
        .requirements(&["AS-34"])
        .level(Must)
        .tags(&["token", "client-credentials", "extension"])
        .body(assertion_validation),
        Scenario::new(
            AuthorizationServer,
            "AS-EMA-01",
            "enterprise-managed authorization: an ID-JAG with one defect each is invalid_grant",
        )
        .requirements(&["AS-35"])
        .level(Must)
        .tags(&["token", "enterprise-managed-authorization", "extension"])
        .body(jwt_bearer::id_jag_validation),
        Scenario::new(
            AuthorizationServer,
            "AS-EMA-02",
            "enterprise-managed authorization: an ID-JAG is taken once (jti replay refused)",
        )
        .requirements(&["AS-36"])
        .level(Must)
        .tags(&["token", "enterprise-managed-authorization", "extension", "replay"])
        .body(jwt_bearer::id_jag_replay),
        Scenario::new(
            AuthorizationServer,
            "AS-EMA-03",
            "enterprise-managed authorization: the token is for the ID-JAG's resource, within its scopes",
        )
        .requirements(&["AS-37"])
        .level(Must)
        .tags(&["token", "scope", "enterprise-managed-authorization", "extension"])
        .body(jwt_bearer::id_jag_audience_and_scope),
        Scenario::new(
            AuthorizationServer,
            "AS-WIF-01",
            "workload identity federation: jwt-bearer advertised; untrusted, expired or misaddressed JWT is invalid_grant",
        )
        .requirements(&["AS-42"])
        .level(Must)
        .tags(&["token", "metadata", "workload-identity-federation", "extension"])
        .body(jwt_bearer::workload_jwt_validation),
        Scenario::new(
            AuthorizationServer,
            "AS-DPOP-01",
            "DPoP: the metadata lists the proof algorithms, asymmetric only",
        )
        .requirements(&["AS-39"])
        .level(Must)
        .tags(&["metadata", "dpop", "extension"])
        .body(|w| with_apps(w, dpop::algorithms_advertised)),
        Scenario::new(
            AuthorizationServer,
            "AS-DPOP-02",
            "DPoP: a valid proof at the token endpoint binds the token (token_type DPoP, cnf.jkt)",
        )
        .requirements(&["AS-40"])
        .level(Must)
        .tags(&["token", "dpop", "extension"])
        .body(|w| with_apps(w, dpop::token_bound)),
        Scenario::new(
            AuthorizationServer,
            "AS-DPOP-03",
            "DPoP: an invalid proof at the token endpoint is invalid_dpop_proof",
        )
        .requirements(&["AS-40"])
        .level(Must)
        .tags(&["token", "dpop", "extension"])
        .grants(&[MaliciousClient])
        .body(|w| with_apps(w, dpop::invalid_proofs)),
        Scenario::new(
            AuthorizationServer,
            "AS-DPOP-04",
            "DPoP: a public client's refresh token needs a proof by its key",
        )
        .requirements(&["AS-40"])
        .level(Must)
        .tags(&["refresh", "dpop", "extension"])
        .grants(&[MaliciousClient])
        .body(|w| with_apps(w, dpop::refresh_bound)),
        Scenario::new(
            AuthorizationServer,
            "AS-DPOP-05",
            "DPoP: a client registered dpop_bound_access_tokens gets no token without a proof",
        )
        .requirements(&["AS-41"])
        .level(Must)
        .tags(&["token", "registration", "dpop", "extension"])
        .body(|w| with_apps(w, dpop::bound_client_needs_proof)),
        Scenario::new(
            AuthorizationServer,
            "AS-DPOP-06",
            "DPoP: a proof replayed at the token endpoint is refused",
        )
        .requirements(&["AS-40"])
        .level(Should)
        .tags(&["token", "dpop", "extension"])
        .grants(&[ReadTokenRequests, MaliciousClient])
        .body(|w| with_apps(w, dpop::replayed_proof)),
        Scenario::new(AuthorizationServer, "AS-REG-01", "hostile client metadata is not registered")
            .requirements(&["AS-04", "AS-01", "X-07"])
            .level(Must)
            .tags(&["registration"])
            .body(hostile_registration),
        // Last: it may leave a live AS refusing registrations until its window passes.
        Scenario::new(AuthorizationServer, "AS-REG-02", "a burst of registrations is throttled")
            .requirements(&["AS-43"])
            .level(Should)
            .tags(&["registration", "hardening"])
            .needs(&[Flood])
            .body(registration_flood),
    ]
}

/// Registers the apps of [`register_apps`], then runs `body`.
fn with_apps(w: &mut World, body: fn(&mut World) -> Check) -> Check {
    match register_apps(w) {
        Ok(()) => body(w),
        Err(check) => check,
    }
}
