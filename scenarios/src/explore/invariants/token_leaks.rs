//! Where honest parties put tokens: never in a URL (INV-URL), and only at the server a
//! token was issued for (INV-SEND).

use super::{Exchange, Invariant, Spec, Verdict, is_honest};

/// INV-URL: no token appears in a URL. It keeps no ground truth: each request URL and
/// redirect location speaks for itself.
pub(super) struct TokenInUrl;

impl Invariant for TokenInUrl {
    const SPEC: Spec =
        Spec { id: "INV-URL", statement: "no token appears in a URL", requirements: &["CL-24"] };

    /// Judges every URL a party other than an attacker sent or was redirected to.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let o = exchange.seen;
        if !o.from.is_browser() && o.from.is_attacker() {
            return Verdict::Untouched;
        }
        let uri = o.request.uri().to_string();
        let leak = std::iter::once(uri.as_str()).chain(o.location.as_deref()).find_map(|u| {
            let url = url::Url::parse(u).ok()?;
            let (k, _) = url.query_pairs().find(|(k, v)| {
                k == "access_token"
                    || k == "refresh_token"
                    || (v.starts_with("eyJ") && v.matches('.').count() == 2)
            })?;
            Some(format!("`{k}` in the url `{u}` (from {})", o.from))
        });
        Verdict::from(leak)
    }
}

/// INV-SEND: no honest party sends a token to a server it was not issued for. The token's
/// own audience is the ground truth.
pub(super) struct TokenAudience;

/// True when `uri` is the resource `aud` or below it.
fn addressed_to(uri: &str, aud: &str) -> bool {
    uri.strip_prefix(aud)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

impl Invariant for TokenAudience {
    const SPEC: Spec = Spec {
        id: "INV-SEND",
        statement: "no honest party sends a token to a server it was not issued for",
        requirements: &["RS-12", "RS-18", "CL-25"],
    };

    /// Judges every bearer token an honest party sends.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let o = exchange.seen;
        let Some(claims) = exchange.claims.as_ref().filter(|_| is_honest(&o.from)) else {
            return Verdict::Untouched;
        };
        let uri = o.request.uri().to_string();
        Verdict::from((!claims.aud.iter().any(|aud| addressed_to(&uri, aud))).then(|| {
            let aud: Vec<&str> = claims.aud.iter().collect();
            format!("{} sent a token for {aud:?} to {uri}", o.from)
        }))
    }
}
