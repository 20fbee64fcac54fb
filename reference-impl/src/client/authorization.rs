//! The authorization request and response (OAuth 2.1 §4.1): PKCE S256 and `state` fresh
//! per flow (CL-28/30/32), the `resource` indicator (RFC 8707, CL-19), the scope
//! selection strategy (CL-05..07), and the checks on the redirect back: `state` equal,
//! then `iss` by the table of MCP 2026-07-28 §Authorization Response Validation
//! (RFC 9207 §2.4, mix-up defence): compared byte for byte with the issuer recorded with
//! the PKCE verifier whenever present, required when the AS advertises it (CL-45..48).

use super::discovery::check_server_url;
use crate::defects::{Defect, Defects};
use crate::oauth_error::ErrorCode;
use crate::pkce::{self, Pkce};
use crate::sans_io::Env;
use crate::wire::Params;
use crate::{Error, Result};

/// One authorization request: the URL to open and the secrets to check the response and
/// redeem the code with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The full authorization URL (endpoint plus query).
    pub url: String,
    /// The `state` sent; the response must carry it back unchanged.
    pub state: String,
    /// The PKCE pair; the verifier goes to the token request.
    pub pkce: Pkce,
    /// The `scope` requested, if any.
    pub scope: Option<String>,
    /// The `issuer` of the validated metadata of the authorization server the request
    /// goes to, recorded before redirecting (CL-45): the only `iss` the response may
    /// carry.
    pub issuer: String,
    /// That metadata's `authorization_response_iss_parameter_supported` is `true`: the
    /// response must carry `iss` (RFC 9207 §2.4).
    pub iss_advertised: bool,
}

/// The parameters of an authorization request besides the fresh secrets.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationParams<'a> {
    /// The authorization endpoint from the AS metadata.
    pub endpoint: &'a str,
    /// The client id.
    pub client_id: &'a str,
    /// The redirect URI (registered).
    pub redirect_uri: &'a str,
    /// The canonical URI of the MCP server (`None` only for the `client-no-resource-param`
    /// defect).
    pub resource: Option<&'a str>,
    /// The scope to request, if any.
    pub scope: Option<&'a str>,
    /// The user the authorization server should sign in (`login_hint`), if any.
    pub login_hint: Option<&'a str>,
    /// The `issuer` of the authorization server's validated metadata.
    pub issuer: &'a str,
    /// Its metadata advertises `authorization_response_iss_parameter_supported`.
    pub iss_advertised: bool,
    /// The defects to commit (`client-follows-insecure-urls` skips the endpoint check).
    pub defects: &'a Defects,
}

impl AuthorizationRequest {
    /// Builds a request with a fresh PKCE pair (S256; `plain` with defect
    /// `client-pkce-plain`) and `state` drawn from `env`. The endpoint
    /// must be https (or loopback http): `javascript:`, `file:` and the like are refused
    /// (CL-41). Query parameters already in the endpoint are kept.
    pub fn new(p: AuthorizationParams<'_>, env: &mut Env<'_>) -> Result<Self> {
        let mut url = check_server_url("authorization_endpoint", p.endpoint, p.defects)?;
        let pkce = Pkce::generate(env);
        let state = env.random_string(32);
        let (challenge, method) = if p.defects.has(Defect::ClientPkcePlain) {
            (pkce.verifier.as_str(), "plain")
        } else {
            (pkce.challenge.as_str(), pkce::S256)
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", p.client_id)
                .append_pair("redirect_uri", p.redirect_uri)
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", method)
                .append_pair("state", &state);
            if let Some(resource) = p.resource {
                q.append_pair("resource", resource);
            }
            if let Some(scope) = p.scope {
                q.append_pair("scope", scope);
            }
            if let Some(hint) = p.login_hint {
                q.append_pair("login_hint", hint);
            }
        }
        Ok(AuthorizationRequest {
            url: url.into(),
            state,
            pkce,
            scope: p.scope.map(str::to_string),
            issuer: p.issuer.to_string(),
            iss_advertised: p.iss_advertised,
        })
    }
}

/// The scope to request (CL-05..07): a step-up union first, then the configured
/// override, then the challenge's `scope`, then all of the PRM `scopes_supported`, else
/// none (the parameter is omitted).
pub fn select_scope(
    step_up: Option<&str>,
    configured: Option<&str>,
    challenged: Option<&str>,
    scopes_supported: Option<&[String]>,
) -> Option<String> {
    step_up
        .or(configured)
        .or(challenged)
        .map(str::to_string)
        .or_else(|| scopes_supported.filter(|s| !s.is_empty()).map(|s| s.join(" ")))
}

/// The parameters of an authorization response (RFC 6749 §4.1.2, RFC 9207).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` returned.
    pub state: Option<String>,
    /// The issuer (RFC 9207).
    pub iss: Option<String>,
    /// An error code.
    pub error: Option<ErrorCode>,
    /// The error's description.
    pub error_description: Option<String>,
}

/// Parses the query of the URL the AS redirected the user agent to. A repeated
/// parameter is an error.
pub fn redirect_params(url: &str) -> Result<AuthorizationResponse> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::unexpected("redirect url", format!("`{url}` ({e})"), "an absolute url"))?;
    let p = Params::parse(parsed.query().unwrap_or("").as_bytes())?;
    let get = |n: &str| p.get(n).map(str::to_string);
    Ok(AuthorizationResponse {
        code: get("code"),
        state: get("state"),
        iss: get("iss"),
        error: p.get("error").map(ErrorCode::parse),
        error_description: get("error_description"),
    })
}

impl AuthorizationResponse {
    /// Checks the response to `request` with [`AuthorizationResponse::validate`], against
    /// the state and issuer recorded in it (CL-45), and returns the code. With defects:
    /// `no-state-check` takes any `state`; `client-no-iss-check` ignores `iss`;
    /// `client-iss-unadvertised-ignored` ignores it when the AS does not advertise it
    /// (RFC 9207 §2.4 without the MCP rule of row 3); `client-iss-normalized` accepts
    /// an `iss` equal to the issuer once both are normalized ([`normalized_url`]);
    /// `client-error-before-iss-check` reports an `error` without checking `iss`.
    pub fn check(mut self, request: &AuthorizationRequest, defects: &Defects) -> Result<String> {
        if defects.has(Defect::NoStateCheck) {
            self.state = Some(request.state.clone());
        }
        let mut iss_required = request.iss_advertised;
        let ignored = defects.has(Defect::ClientNoIssCheck)
            || (defects.has(Defect::ClientIssUnadvertisedIgnored) && !request.iss_advertised)
            || (defects.has(Defect::ClientErrorBeforeIssCheck) && self.error.is_some());
        if ignored {
            self.iss = None;
            iss_required = false;
        }
        if defects.has(Defect::ClientIssNormalized)
            && self
                .iss
                .as_deref()
                .and_then(normalized_url)
                .is_some_and(|i| Some(i) == normalized_url(&request.issuer))
        {
            self.iss = Some(request.issuer.clone());
        }
        self.validate(&request.state, &request.issuer, iss_required)
    }

    /// Checks the response and returns the code: `state` equal to `expected_state`
    /// (CL-32); then `iss` by the table of RFC 9207 §2.4 as MCP 2026-07-28 states it
    /// (CL-46): present, it must equal `issuer` byte for byte, with no case folding,
    /// default-port, trailing-slash or percent-encoding normalization (CL-47), whether
    /// or not the AS advertises it; absent, it is refused when `iss_required` (the AS
    /// metadata says `authorization_response_iss_parameter_supported`), else accepted.
    /// Only then does an `error` become [`Error::OAuth`]: the `error`,
    /// `error_description` and `error_uri` of a response from another issuer are never
    /// acted on or shown (CL-48).
    pub fn validate(self, expected_state: &str, issuer: &str, iss_required: bool) -> Result<String> {
        match self.state.as_deref() {
            Some(s) if s == expected_state => {}
            Some(s) => {
                return Err(Error::unexpected(
                    "state in the authorization response",
                    format!("`{s}`"),
                    "the state sent in the authorization request",
                ));
            }
            None => return Err(Error::Missing("state in the authorization response".into())),
        }
        match self.iss.as_deref() {
            Some(i) if i == issuer => {}
            Some(i) => {
                return Err(Error::unexpected(
                    "iss in the authorization response",
                    format!("`{i}`"),
                    format!("`{issuer}` (RFC 9207)"),
                ));
            }
            None if iss_required => {
                return Err(Error::Missing(format!(
                    "iss in the authorization response; the metadata of `{issuer}` advertises it (RFC 9207)"
                )));
            }
            None => {}
        }
        if let Some(error) = self.error {
            return Err(Error::OAuth {
                endpoint: "authorization endpoint",
                status: 302,
                error,
                description: self.error_description,
            });
        }
        match self.code {
            Some(c) if !c.is_empty() => Ok(c),
            _ => Err(Error::Missing("code in the authorization response".into())),
        }
    }
}

/// The mistake of defect `client-iss-normalized`: `s` percent-decoded, parsed as a URL
/// (scheme and host lower-cased, default port dropped) and without a trailing slash.
fn normalized_url(s: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(s).decode_utf8().ok()?;
    let url = url::Url::parse(&decoded).ok()?;
    Some(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    fn response(q: &str) -> AuthorizationResponse {
        redirect_params(&format!("http://127.0.0.1:8765/callback?{q}")).unwrap()
    }

    fn request(defects: &Defects) -> AuthorizationRequest {
        let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(7);
        let mut env = Env::new(crate::sans_io::Time::from_unix_secs(0), &mut rng);
        let params = AuthorizationParams {
            endpoint: "https://as.example/authorize",
            client_id: "c",
            redirect_uri: "http://127.0.0.1:8765/callback",
            resource: Some("https://mcp.example/mcp"),
            scope: None,
            login_hint: None,
            issuer: "https://as.example",
            iss_advertised: true,
            defects,
        };
        AuthorizationRequest::new(params, &mut env).unwrap()
    }

    #[test]
    fn challenge_is_s256_unless_the_plain_defect_is_on() {
        let r = request(&Defects::none());
        let q = Params::from_query(&r.url.parse().unwrap()).unwrap();
        assert_eq!(q.get("code_challenge_method"), Some("S256"));
        assert_eq!(q.get("code_challenge"), Some(r.pkce.challenge.as_str()));
        let r = request(&Defects::of([Defect::ClientPkcePlain]));
        let q = Params::from_query(&r.url.parse().unwrap()).unwrap();
        assert_eq!(q.get("code_challenge_method"), Some("plain"));
        assert_eq!(q.get("code_challenge"), Some(r.pkce.verifier.as_str()));
    }

    #[test]
    fn scope_selection_order() {
        let supported = ["a".to_string(), "b".to_string()];
        assert_eq!(select_scope(None, None, None, Some(&supported)).as_deref(), Some("a b"));
        assert_eq!(select_scope(None, None, Some("c"), Some(&supported)).as_deref(), Some("c"));
        assert_eq!(select_scope(None, Some("o"), Some("c"), None).as_deref(), Some("o"));
        assert_eq!(select_scope(Some("u v"), Some("o"), Some("c"), None).as_deref(), Some("u v"));
        assert_eq!(select_scope(None, None, None, None), None);
        assert_eq!(select_scope(None, None, None, Some(&[])), None);
    }

    #[test]
    fn missing_state_is_refused() {
        let e = response("code=c").validate("s", "https://as.example", false).unwrap_err();
        assert_eq!(e, Error::Missing("state in the authorization response".into()));
    }

    #[test]
    fn error_response_is_reported_after_state_check() {
        let e =
            response("error=access_denied&state=s").validate("s", "https://as.example", false).unwrap_err();
        assert!(matches!(e, Error::OAuth { ref error, .. } if *error == ErrorCode::AccessDenied));
        let e =
            response("error=access_denied&state=x").validate("s", "https://as.example", false).unwrap_err();
        assert!(matches!(e, Error::Unexpected { what: "state in the authorization response", .. }));
    }

    #[test]
    fn repeated_code_is_refused() {
        assert_eq!(
            redirect_params("http://127.0.0.1/cb?code=a&code=b&state=s"),
            Err(Error::RepeatedParameter("code".into()))
        );
    }

    const ISSUER: &str = "https://as.example";

    /// A request whose recorded issuer is [`ISSUER`], advertising `iss` or not, with
    /// `state` `s`.
    fn recorded(iss_advertised: bool) -> AuthorizationRequest {
        AuthorizationRequest { iss_advertised, state: "s".into(), ..request(&Defects::none()) }
    }

    fn with_iss(iss: &str) -> AuthorizationResponse {
        response(&format!("code=c&state=s&{}", wire::encode_pairs([("iss", iss)])))
    }

    #[test]
    fn the_request_records_the_issuer_with_the_pkce_verifier() {
        let r = request(&Defects::none());
        assert_eq!((r.issuer.as_str(), r.iss_advertised), (ISSUER, true));
        assert!(!r.pkce.verifier.is_empty());
    }

    #[test]
    fn iss_table_of_rfc9207_as_mcp_states_it() {
        let foreign = "https://as.attacker.example";
        // (advertised, iss in the response, accepted): the four rows, each with a
        // matching and a foreign iss where one is present.
        let rows = [
            (true, Some(ISSUER), true),
            (true, Some(foreign), false),
            (true, None, false),
            (false, Some(ISSUER), true),
            (false, Some(foreign), false),
            (false, None, true),
        ];
        for (advertised, iss, accepted) in rows {
            let r = iss.map_or_else(|| response("code=c&state=s"), with_iss);
            let got = r.check(&recorded(advertised), &Defects::none());
            assert_eq!(got.is_ok(), accepted, "advertised {advertised}, iss {iss:?}: {got:?}");
        }
        let unadvertised = Defects::of([Defect::ClientIssUnadvertisedIgnored]);
        assert_eq!(with_iss(foreign).check(&recorded(false), &unadvertised).unwrap(), "c");
        assert!(with_iss(foreign).check(&recorded(true), &unadvertised).is_err());
        let ignored = Defects::of([Defect::ClientNoIssCheck]);
        assert_eq!(with_iss(foreign).check(&recorded(true), &ignored).unwrap(), "c");
        assert_eq!(response("code=c&state=s").check(&recorded(true), &ignored).unwrap(), "c");
    }

    #[test]
    fn iss_is_compared_byte_for_byte() {
        let variants = [
            "HTTPS://AS.EXAMPLE",
            "https://As.example",
            "https://as.example:443",
            "https://as.example/",
            "https://as.%65xample",
        ];
        for variant in variants {
            let e = with_iss(variant).check(&recorded(true), &Defects::none());
            assert!(
                matches!(e, Err(Error::Unexpected { what: "iss in the authorization response", .. })),
                "{variant}"
            );
            let normalized = Defects::of([Defect::ClientIssNormalized]);
            assert_eq!(with_iss(variant).check(&recorded(true), &normalized).unwrap(), "c", "{variant}");
        }
        let normalized = Defects::of([Defect::ClientIssNormalized]);
        assert!(with_iss("https://as.example.evil").check(&recorded(true), &normalized).is_err());
    }

    #[test]
    fn an_error_response_from_another_issuer_is_not_shown() {
        let error = [
            ("error", "access_denied"),
            ("error_description", "MARKER call us"),
            ("error_uri", "https://evil.example/help"),
            ("state", "s"),
            ("iss", "https://evil.example"),
        ];
        let r = response(&wire::encode_pairs(error));
        let e = r.clone().check(&recorded(true), &Defects::none()).unwrap_err();
        assert!(matches!(e, Error::Unexpected { what: "iss in the authorization response", .. }), "{e}");
        let shown = e.to_string();
        assert!(
            !shown.contains("MARKER") && !shown.contains("access_denied") && !shown.contains("/help"),
            "{shown}"
        );
        let e = r.check(&recorded(true), &Defects::of([Defect::ClientErrorBeforeIssCheck])).unwrap_err();
        assert!(
            matches!(e, Error::OAuth { ref description, .. } if description.as_deref() == Some("MARKER call us"))
        );
        // From the recorded issuer, the error is the AS's to report.
        let own = response("error=access_denied&error_description=no&state=s&iss=https%3A%2F%2Fas.example");
        assert!(matches!(own.check(&recorded(true), &Defects::none()), Err(Error::OAuth { .. })));
    }

    #[test]
    fn unadvertised_iss_is_still_compared() {
        let e =
            response("code=c&state=s&iss=https://evil.example").validate("s", "https://as.example", false);
        assert!(matches!(e, Err(Error::Unexpected { what: "iss in the authorization response", .. })));
        assert_eq!(response("code=c&state=s").validate("s", "https://as.example", false).unwrap(), "c");
    }
}
