//! INV-DPOP: a DPoP-bound access token (`cnf.jkt`, RFC 9449 §6.1) never serves a request
//! without a proof by its key made for that request: exactly one `DPoP` proof, signed by
//! the key whose thumbprint is `cnf.jkt`, naming the request's method and URL and the
//! token (`ath`), made within the ±5 minute window, and not one the server served before.

use super::{Exchange, Invariant, Spec, Verdict};
use crate::explore::model::Server;
use mcp_authz_reference::dpop::{self, Expectation};
use std::collections::BTreeMap;

/// INV-DPOP. The ground truth: a proof validator of its own per MCP server (every check
/// of RFC 9449 §4.3 but the server's nonces, which are not about the key), which
/// remembers the proofs of the requests the server served. A proof that reached a server
/// without being served there (refused, or lost on the way) is not remembered: the
/// server had no chance to see it used, and no server could refuse it later.
#[derive(Default)]
pub(super) struct DpopBinding {
    proofs: BTreeMap<Server, dpop::Validator>,
}

impl Invariant for DpopBinding {
    const SPEC: Spec = Spec {
        id: "INV-DPOP",
        statement: "a DPoP-bound access token never serves a request without a proof by its key (cnf.jkt) made for that request: its method, URL and token, fresh, not served before",
        requirements: &["RS-34", "RS-36", "RS-37"],
    };

    /// Judges every request an MCP server served (2xx) with a DPoP-bound token.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let (Some(server), Some(token), Some(claims)) = (exchange.server, &exchange.bearer, &exchange.claims)
        else {
            return Verdict::Untouched;
        };
        let o = exchange.seen;
        let Some(jkt) = claims.bound_jkt() else { return Verdict::Untouched };
        if !(200..300).contains(&o.status) {
            return Verdict::Untouched;
        }
        let url = format!("{}{}", o.to, o.path());
        let expected = Expectation {
            method: o.request.method().as_str(),
            url: &url,
            access_token: Some(token),
            jkt: Some(jkt),
            nonces: None,
        };
        let validator = self.proofs.entry(server).or_default();
        let scheme = match dpop::dpop_token(o.request.headers()) {
            Ok(Some(_)) => "DPoP",
            _ => "Bearer",
        };
        Verdict::from(validator.validate(o.request.headers(), &expected, o.at).err().map(|e| {
            format!(
                "{server:?} served {} a request with a DPoP-bound token (Authorization: {scheme}) without a proof by its key for that request: {e}",
                o.from
            )
        }))
    }
}
