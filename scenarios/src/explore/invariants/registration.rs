//! What dynamic registration may give a client (INV-REGISTER), and where codes may go
//! once clients are registered (INV-REDIRECT).

use super::{Exchange, Invariant, Spec, Verdict, is_issuer};
use crate::explore::model::UPPER_CASE_SCOPES;
use crate::explore::tap::{Observed, query_param};
use crate::world::REDIRECT;
use mcp_authz_reference::authorization_server::authorize::redirect_uri_matches;
use mcp_authz_reference::metadata;
use serde_json::Value;
use std::collections::BTreeMap;

/// The scopes a dynamically registered client may get at either AS (with
/// [`UPPER_CASE_SCOPES`], which they also define).
const REGISTRATION_POLICY: [&str; 3] = ["mcp:read", "mcp:write", "mcp:admin"];

/// True for a registration an authorization server accepted.
fn accepted(o: &Observed) -> bool {
    is_issuer(&o.to) && o.path() == "/register" && o.status == 201
}

/// The client information an authorization server answered a registration with: the
/// document, its `client_id` and its redirect URIs.
fn client_information(o: &Observed) -> Option<(Value, String, Vec<String>)> {
    let info: Value = serde_json::from_slice(&o.response_body).ok()?;
    let client_id = info.get("client_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let redirects = info
        .get("redirect_uris")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    Some((info, client_id, redirects))
}

/// INV-REGISTER: the AS refuses or narrows hostile client metadata at registration. Each
/// registration and its answer speak for themselves.
pub(super) struct RegistrationPolicy;

impl Invariant for RegistrationPolicy {
    const SPEC: Spec = Spec {
        id: "INV-REGISTER",
        statement: "a dynamically registered client gets no scope beyond the registration policy, never a client_id it chose, and only https or loopback redirect URIs",
        requirements: &["AS-04", "AS-01", "CL-33"],
    };

    /// Judges every registration an authorization server accepted.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let o = exchange.seen;
        if !accepted(o) {
            return Verdict::Untouched;
        }
        let Some((info, client_id, redirects)) = client_information(o) else { return Verdict::Holds };
        let asked: Option<Value> = serde_json::from_slice(o.request.body()).ok();
        let registered = format!("{} registered `{client_id}`", o.from);
        let scope = info.get("scope").and_then(Value::as_str).unwrap_or_default();
        let allowed =
            |s: &&str| s.is_empty() || REGISTRATION_POLICY.contains(s) || UPPER_CASE_SCOPES.contains(s);
        if let Some(extra) = scope.split(' ').find(|s| !allowed(s)) {
            return Verdict::Broken(format!(
                "{registered} with scope `{extra}`, beyond the policy {REGISTRATION_POLICY:?}"
            ));
        }
        if asked.as_ref().and_then(|a| a.get("client_id")).and_then(Value::as_str) == Some(client_id.as_str())
        {
            return Verdict::Broken(format!("{registered}, the id it chose"));
        }
        let insecure = redirects.iter().find(|r| {
            url::Url::parse(r)
                .map(|u| !(u.scheme() == "https" || (u.scheme() == "http" && metadata::is_loopback(&u))))
                .unwrap_or(true)
        });
        Verdict::from(insecure.map(|r| format!("{registered} with redirect uri `{r}`")))
    }
}

/// INV-REDIRECT: codes go only to registered redirect URIs. The ground truth: the
/// redirect URIs of every dynamically registered client (the pre-registered ones use
/// [`REDIRECT`]).
#[derive(Default)]
pub(super) struct RegisteredRedirects {
    /// Redirect URIs by client id.
    redirects: BTreeMap<String, Vec<String>>,
}

impl Invariant for RegisteredRedirects {
    const SPEC: Spec = Spec {
        id: "INV-REDIRECT",
        statement: "the AS sends an authorization code only to a redirect URI registered for the client, compared exactly",
        requirements: &["AS-20", "AS-09"],
    };

    /// Records the redirect URIs of every registration an authorization server accepted;
    /// judges every authorization response that carries a code.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let o = exchange.seen;
        if accepted(o)
            && let Some((_, client_id, redirects)) = client_information(o)
        {
            self.redirects.entry(client_id).or_default().extend(redirects);
        }
        if !(o.from.is_browser() && is_issuer(&o.to) && o.path() == "/authorize") {
            return Verdict::Untouched;
        }
        let Some(location) = o.location.as_deref().filter(|l| query_param(l, "code").is_some()) else {
            return Verdict::Untouched;
        };
        let target = location.split('?').next().unwrap_or_default();
        let client_id = query_param(&o.request.uri().to_string(), "client_id").unwrap_or_default();
        let registered = self.redirects.get(&client_id);
        let mut known = std::iter::once(REDIRECT).chain(registered.into_iter().flatten().map(String::as_str));
        Verdict::from(
            (!known.any(|r| redirect_uri_matches(r, target))).then(|| {
                format!("a code for `{client_id}` went to `{target}`, not a registered redirect uri")
            }),
        )
    }
}
