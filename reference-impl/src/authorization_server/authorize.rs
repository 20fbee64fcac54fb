//! The authorization endpoint (OAuth 2.1 §4.1.1) and its login and consent form.
//!
//! Order of checks (OAuth 2.1 §4.1.2.1): the client and the redirect URI first; while
//! either is in doubt the answer is an HTML error page, never a redirect (open-redirect
//! protection, RFC 9700 §4.11.2). After that every error is a redirect to the client
//! with `error`, `state` and `iss` (RFC 9207). A query that does not parse (a repeated
//! parameter, say) gets the error page too: nothing in it can be trusted.

use super::client_id_metadata::{self, ClientIdMetadataFetch};
use super::config::AUTHORIZATION_CODE;
use super::{AuthorizationServer, RegisteredClient, Rejection};
use crate::defects::Defect;
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, FetchResult, Request, Response, Step, Time};
use crate::wire::{self, Params, html_escape as esc};
use http::StatusCode;
use std::fmt::Display;
use std::time::Duration;

/// How long the login and consent form stays valid.
pub const CONSENT_TTL: Duration = Duration::from_secs(600);

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    /// Always present, except with [`Defect::NoPkceRequired`].
    pub code_challenge: Option<CodeChallenge>,
    /// The canonical URI of the resource (the token's audience).
    pub resource: String,
    pub scope: Vec<String>,
}

/// The PKCE challenge (RFC 7636) an authorization code is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CodeChallenge {
    /// `code_challenge_method=S256`.
    S256(String),
    /// `code_challenge_method=plain`, or no method (RFC 7636 §4.3's default): only with
    /// [`Defect::AcceptPkcePlain`].
    Plain(String),
}

impl CodeChallenge {
    /// Checks a `code_verifier` against this challenge.
    pub fn verify(&self, verifier: &str) -> crate::Result<()> {
        match self {
            CodeChallenge::S256(challenge) => crate::pkce::verify_s256(verifier, challenge),
            CodeChallenge::Plain(challenge) => {
                crate::pkce::check_verifier_syntax(verifier)?;
                aws_lc_rs::constant_time::verify_slices_are_equal(verifier.as_bytes(), challenge.as_bytes())
                    .map_err(|_| {
                        crate::Error::unexpected(
                            "code_verifier",
                            "a verifier that differs",
                            "the plain code_challenge",
                        )
                    })
            }
        }
    }
}

/// An authorization request waiting for the user at the consent form.
#[derive(Debug)]
pub(super) struct PendingAuthorization {
    request: AuthorizationRequest,
    client_name: String,
    pub created: Time,
}

/// An issued authorization code.
#[derive(Debug)]
pub(super) struct CodeGrant {
    pub request: AuthorizationRequest,
    pub sub: String,
    pub issued: Time,
    /// Set at the first redemption: what was issued, to revoke on a second one.
    pub redeemed: Option<Redemption>,
}

/// The tokens issued for a code.
#[derive(Debug, Clone)]
pub(super) struct Redemption {
    pub jti: String,
    pub exp: u64,
    pub refresh_family: Option<String>,
}

/// Where authorization responses go: the validated redirect URI, with `state` and `iss`
/// (RFC 9207 §2: "In authorization responses to the client, including error responses").
struct Callback<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    /// `None` only with [`Defect::NoIssParameter`].
    iss: Option<String>,
    /// Error responses carry `iss` too: false only with [`Defect::NoIssOnErrorResponses`].
    iss_on_errors: bool,
}

impl Callback<'_> {
    fn respond(&self, status: StatusCode, params: &[(&str, &str)]) -> Response {
        self.redirect(status, params, self.iss.as_deref())
    }

    fn error(&self, status: StatusCode, r: Rejection) -> Response {
        let params = [("error", r.error.as_str()), ("error_description", &r.description)];
        self.redirect(status, &params, self.iss.as_deref().filter(|_| self.iss_on_errors))
    }

    fn redirect(&self, status: StatusCode, params: &[(&str, &str)], iss: Option<&str>) -> Response {
        let mut pairs = params.to_vec();
        if let Some(state) = self.state {
            pairs.push(("state", state));
        }
        if let Some(iss) = iss {
            pairs.push(("iss", iss));
        }
        let sep = if self.redirect_uri.contains('?') { '&' } else { '?' };
        wire::redirect(status, &format!("{}{sep}{}", self.redirect_uri, wire::encode_pairs(pairs)))
    }
}

/// The HTML page shown when the server cannot redirect back to the client.
pub(super) fn error_page(status: StatusCode, error: &ErrorCode, description: impl Display) -> Response {
    wire::html(
        status,
        format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\
             <body><h1>Authorization error</h1><p id=\"error\">{}</p><p id=\"error_description\">{}</p></body></html>\n",
            esc(error.as_str()),
            esc(&description.to_string())
        ),
    )
}

fn bad_request_page(description: impl Display) -> Response {
    error_page(StatusCode::BAD_REQUEST, &ErrorCode::InvalidRequest, description)
}

/// True when `requested` equals `registered` byte for byte, or both are loopback `http`
/// URIs that differ only in the port (RFC 8252 §7.3).
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    registered == requested
        || matches!((without_loopback_port(registered), without_loopback_port(requested)), (Some(a), Some(b)) if a == b)
}

fn without_loopback_port(uri: &str) -> Option<String> {
    ["http://127.0.0.1", "http://[::1]", "http://localhost"].iter().find_map(|host| {
        let rest = uri.strip_prefix(host)?;
        let rest = match rest.strip_prefix(':') {
            Some(r) => r.trim_start_matches(|c: char| c.is_ascii_digit()),
            None => rest,
        };
        rest.starts_with('/').then(|| format!("{host}{rest}"))
    })
}

impl AuthorizationServer {
    /// `GET /authorize`: answers at once for a known client, or asks for the client ID
    /// metadata document first.
    pub(super) fn authorize(&mut self, request: &Request, env: &mut Env<'_>) -> Step<ClientIdMetadataFetch> {
        let params = match Params::from_query(request.uri()) {
            Ok(p) => p,
            Err(e) => return Step::Respond(bad_request_page(e)),
        };
        let client_id = match params.require("client_id") {
            Ok(c) => c.to_string(),
            Err(e) => return Step::Respond(bad_request_page(e)),
        };
        let fresh = |(client, until): &(RegisteredClient, Time)| (env.now < *until).then(|| client.clone());
        let known = self.clients.get(&client_id).cloned();
        if let Some(client) = known.or_else(|| self.metadata_clients.get(&client_id).and_then(fresh)) {
            return Step::Respond(self.authorize_client(client, &params, env));
        }
        if !client_id_metadata::is_url(&client_id) {
            return Step::Respond(self.untrusted_request(
                &params,
                ErrorCode::InvalidClient,
                format!(
                    "client_id `{client_id}` is not registered here and is not a client id metadata document url"
                ),
            ));
        }
        let allow_insecure = self.config.allow_insecure_client_id_urls;
        match ClientIdMetadataFetch::start(&client_id, params.clone(), allow_insecure) {
            Ok((request, pending)) => Step::Fetch { request, pending },
            Err(e) => Step::Respond(self.untrusted_request(&params, ErrorCode::InvalidClient, e)),
        }
    }

    /// Continues `GET /authorize` with the fetched client ID metadata document.
    pub(super) fn resume_authorize(
        &mut self,
        pending: ClientIdMetadataFetch,
        fetched: FetchResult,
        env: &mut Env<'_>,
    ) -> Response {
        match pending.finish(fetched, &self.config) {
            (params, Ok((client, fresh_for))) => {
                let until = env.now.plus(fresh_for);
                self.room_for_client_document(env.now);
                self.metadata_clients.insert(client.client_id.clone(), (client.clone(), until));
                self.authorize_client(client, &params, env)
            }
            (params, Err(e)) => self.untrusted_request(&params, ErrorCode::InvalidClient, e),
        }
    }

    /// The answer while the client or its redirect URI is in doubt: an error page.
    ///
    /// With [`Defect::RedirectOnInvalidClient`], a 302 to whatever `redirect_uri` the
    /// request names, with `error=invalid_request`: an open redirector.
    fn untrusted_request(&self, params: &Params, error: ErrorCode, description: impl Display) -> Response {
        if self.config.defects.has(Defect::RedirectOnInvalidClient) {
            if let Ok(redirect_uri) = params.require("redirect_uri") {
                let callback = self.callback(redirect_uri, params.get("state"));
                return callback
                    .error(StatusCode::FOUND, Rejection::new(ErrorCode::InvalidRequest, description));
            }
        }
        error_page(StatusCode::BAD_REQUEST, &error, description)
    }

    /// True when `requested` is one of the client's redirect URIs
    /// ([`redirect_uri_matches`]); with [`Defect::LooseRedirectMatch`], also when it
    /// merely starts with one.
    fn redirect_uri_registered(&self, client: &RegisteredClient, requested: &str) -> bool {
        let loose = self.config.defects.has(Defect::LooseRedirectMatch);
        client
            .redirect_uris
            .iter()
            .any(|r| redirect_uri_matches(r, requested) || (loose && requested.starts_with(r.as_str())))
    }

    /// Where the authorization responses to `redirect_uri` go, with `state` and `iss`
    /// (RFC 9207): the issuer, advertised in the metadata; none with
    /// [`Defect::NoIssParameter`], none on errors with [`Defect::NoIssOnErrorResponses`].
    fn callback<'a>(&self, redirect_uri: &'a str, state: Option<&'a str>) -> Callback<'a> {
        let defects = &self.config.defects;
        Callback {
            redirect_uri,
            state,
            iss: (!defects.has(Defect::NoIssParameter)).then(|| self.config.issuer.clone()),
            iss_on_errors: !defects.has(Defect::NoIssOnErrorResponses),
        }
    }

    fn authorize_client(&mut self, client: RegisteredClient, params: &Params, env: &mut Env<'_>) -> Response {
        let redirect_uri = match params.require("redirect_uri") {
            Ok(r) => r,
            Err(e) => return bad_request_page(e),
        };
        if !self.redirect_uri_registered(&client, redirect_uri) {
            return self.untrusted_request(
                params,
                ErrorCode::InvalidRequest,
                format!(
                    "redirect_uri `{redirect_uri}` is not registered for client `{}`, expected one of {:?}",
                    client.client_id, client.redirect_uris
                ),
            );
        }
        let callback = self.callback(redirect_uri, params.get("state"));
        let request = match self.validate(&client, redirect_uri, params) {
            Ok(r) => r,
            Err(r) => return callback.error(StatusCode::FOUND, r),
        };
        if self.config.auto_approve {
            // The user a `login_hint` names (OpenID Connect Core §3.1.2.1), else the first.
            let hinted =
                params.get("login_hint").and_then(|h| self.config.users.iter().find(|u| u.username == h));
            let sub = hinted.or(self.config.users.first()).map(|u| u.sub.clone()).unwrap_or_default();
            return match self.issue_code(request, sub, env) {
                Ok(code) => callback.respond(StatusCode::FOUND, &[("code", &code)]),
                Err(r) => callback.error(StatusCode::FOUND, r),
            };
        }
        if let Err(r) = self.room_for_pending(env.now) {
            return callback.error(StatusCode::FOUND, r);
        }
        let pending = PendingAuthorization {
            request,
            client_name: client.display_name().to_string(),
            created: env.now,
        };
        self.show_consent(pending, None, StatusCode::OK, env)
    }

    fn validate(
        &self,
        client: &RegisteredClient,
        redirect_uri: &str,
        p: &Params,
    ) -> Result<AuthorizationRequest, Rejection> {
        match p.get("response_type") {
            Some("code") => {}
            None | Some("") => {
                return Err(Rejection::new(ErrorCode::InvalidRequest, "missing parameter `response_type`"));
            }
            Some(other) => {
                return Err(Rejection::new(
                    ErrorCode::UnsupportedResponseType,
                    format!("response_type `{other}` is not supported, expected `code`"),
                ));
            }
        }
        if !client.allows_grant(AUTHORIZATION_CODE) {
            return Err(Rejection::new(
                ErrorCode::UnauthorizedClient,
                "this client did not register the authorization_code grant",
            ));
        }
        let code_challenge = match p.require("code_challenge") {
            Err(_) if self.config.defects.has(Defect::NoPkceRequired) => None,
            challenge => Some(self.code_challenge(challenge, p.get("code_challenge_method"))?),
        };
        let resource = self.target(p.get("resource"))?;
        let scope = super::grant_scope(p.get("scope"), client, &resource, &self.config.defects)?;
        Ok(AuthorizationRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_string(),
            state: p.get("state").map(str::to_string),
            code_challenge,
            resource: resource.uri,
            scope,
        })
    }

    /// The `code_challenge` with its method: S256 only (`plain` too with
    /// [`Defect::AcceptPkcePlain`]).
    fn code_challenge(
        &self,
        challenge: crate::Result<&str>,
        method: Option<&str>,
    ) -> Result<CodeChallenge, Rejection> {
        let invalid_request = |e| Rejection::new(ErrorCode::InvalidRequest, e);
        let challenge = challenge.map_err(invalid_request)?;
        match method {
            Some(crate::pkce::S256) => {
                crate::pkce::check_challenge_syntax(challenge).map_err(invalid_request)?;
                Ok(CodeChallenge::S256(challenge.to_string()))
            }
            Some("plain") | None if self.config.defects.has(Defect::AcceptPkcePlain) => {
                crate::pkce::check_verifier_syntax(challenge).map_err(invalid_request)?;
                Ok(CodeChallenge::Plain(challenge.to_string()))
            }
            other => Err(Rejection::new(
                ErrorCode::InvalidRequest,
                match other {
                    Some(m) => format!("code_challenge_method: received `{m}`, expected `S256`"),
                    None => "code_challenge_method: missing (the default is plain), expected `S256`".into(),
                },
            )),
        }
    }

    /// A new authorization code for `request`, if the store has room for it
    /// ([`Self::room_for_code`]).
    fn issue_code(
        &mut self,
        request: AuthorizationRequest,
        sub: String,
        env: &mut Env<'_>,
    ) -> Result<String, Rejection> {
        let now = env.now;
        let keep = self.config.refresh_token_ttl.max(self.config.code_ttl);
        if self.oldest_code.is_some_and(|t| now.since(t) > keep) {
            self.codes.retain(|_, c| now.since(c.issued) <= keep);
            self.oldest_code = self.codes.values().map(|c| c.issued).min();
        }
        self.room_for_code(now)?;
        self.oldest_code = Some(self.oldest_code.map_or(now, |t| t.min(now)));
        let code = env.random_string(32);
        self.codes.insert(code.clone(), CodeGrant { request, sub, issued: now, redeemed: None });
        Ok(code)
    }

    /// Renders the login and consent form under a fresh one-time CSRF token.
    fn show_consent(
        &mut self,
        pending: PendingAuthorization,
        error: Option<&str>,
        status: StatusCode,
        env: &mut Env<'_>,
    ) -> Response {
        let now = env.now;
        self.pending.retain(|_, p| now.since(p.created) <= CONSENT_TTL);
        let csrf = env.random_string(32);
        let page = consent_page(&pending, &format!("{}/authorize", self.routes.prefix), &csrf, error);
        self.pending.insert(csrf, pending);
        let mut response = wire::html(status, page);
        if self.config.defects.has(Defect::NoFrameProtection) {
            response.headers_mut().remove(http::header::X_FRAME_OPTIONS);
            response.headers_mut().remove(http::header::CONTENT_SECURITY_POLICY);
        }
        response
    }

    /// `POST /authorize`: the login and consent form.
    pub(super) fn consent(&mut self, request: &Request, env: &mut Env<'_>) -> Response {
        let form = match Params::from_form_request(request) {
            Ok(f) => f,
            Err(e) => return bad_request_page(e),
        };
        let csrf = match form.require("csrf") {
            Ok(c) => c,
            Err(e) => return bad_request_page(e),
        };
        let Some(pending) = self.pending.remove(csrf) else {
            return bad_request_page(
                "the csrf token is unknown or was already used; start the authorization again",
            );
        };
        if env.now.since(pending.created) > CONSENT_TTL {
            return bad_request_page("the consent form expired; start the authorization again");
        }
        // 303 turns the browser's re-request into a GET; 307 would re-post the form, with
        // the credentials, to the client (RFC 9700 §4.12).
        let after_post = if self.config.defects.has(Defect::Redirect307AfterLogin) {
            StatusCode::TEMPORARY_REDIRECT
        } else {
            StatusCode::SEE_OTHER
        };
        let r = &pending.request;
        let callback = self.callback(&r.redirect_uri, r.state.as_deref());
        match form.get("action") {
            Some("approve") => {}
            Some("deny") => {
                return callback.error(
                    after_post,
                    Rejection::new(ErrorCode::AccessDenied, "the user denied the authorization request"),
                );
            }
            other => {
                return bad_request_page(format!("action: received {other:?}, expected `approve` or `deny`"));
            }
        }
        let user = self.config.users.iter().find(|u| {
            Some(u.username.as_str()) == form.get("username")
                && aws_lc_rs::constant_time::verify_slices_are_equal(
                    u.password.as_bytes(),
                    form.get("password").unwrap_or("").as_bytes(),
                )
                .is_ok()
        });
        let Some(sub) = user.map(|u| u.sub.clone()) else {
            return self.show_consent(pending, Some("Wrong username or password."), StatusCode::OK, env);
        };
        let (redirect_uri, state) = (r.redirect_uri.clone(), r.state.clone());
        let callback = self.callback(&redirect_uri, state.as_deref());
        match self.issue_code(pending.request, sub, env) {
            Ok(code) => callback.respond(after_post, &[("code", &code)]),
            Err(r) => callback.error(after_post, r),
        }
    }
}

fn consent_page(p: &PendingAuthorization, action: &str, csrf: &str, error: Option<&str>) -> String {
    let r = &p.request;
    let url = url::Url::parse(&r.redirect_uri).ok();
    let host = url.as_ref().and_then(|u| u.host_str()).unwrap_or("(unknown)").to_string();
    let loopback = url.as_ref().is_some_and(crate::metadata::is_loopback);
    let warning = if loopback {
        "<p class=\"warning\"><strong>Warning:</strong> this application sends you back to a program on \
         this computer (localhost). Only continue if you started it yourself.</p>"
    } else {
        ""
    };
    let error = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", esc(e))).unwrap_or_default();
    let scopes: String = r.scope.iter().map(|s| format!("<li><code>{}</code></li>", esc(s))).collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Authorize {name}</title></head><body>\
         <h1>Authorize {name}</h1>{error}\
         <p><strong>{name}</strong> wants to access <code>{resource}</code> on your behalf.</p>\
         <p>After you decide you will be sent to <strong id=\"redirect-host\">{host}</strong> \
         (<code>{redirect}</code>).</p>{warning}\
         <p>Requested scopes:</p><ul>{scopes}</ul>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label>Username <input name=\"username\" autocomplete=\"username\"></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
         <button name=\"action\" value=\"approve\">Allow</button> <button name=\"action\" value=\"deny\">Deny</button>\
         </form></body></html>\n",
        name = esc(&p.client_name),
        resource = esc(&r.resource),
        host = esc(&host),
        redirect = esc(&r.redirect_uri),
        action = esc(action),
        csrf = esc(csrf),
    )
}

#[cfg(test)]
mod tests;
