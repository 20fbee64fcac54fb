//! No live credential in a report: before a live run's report is written, the values of
//! credentials in its details and evidence are replaced by `[redacted]` — JWTs (anything
//! shaped `eyJ….….…`), the value after `Bearer`, `Basic` or `DPoP`, and the values of
//! credential parameters (`access_token`, `refresh_token`, `id_token`, `code`,
//! `code_verifier`, `client_secret`, `password`, `assertion`, `subject_token`) in a query,
//! a form or JSON. What a credential was for, and where it went, stays.

use mcp_authz_sim::scenario::CaseResult;

/// The parameters whose values are credentials.
const SECRET_PARAMETERS: [&str; 9] = [
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "client_secret",
    "password",
    "assertion",
    "subject_token",
];

/// What a redacted value becomes.
const REDACTED: &str = "[redacted]";

/// `results` with every credential in their text redacted.
pub fn results(results: &[CaseResult]) -> Vec<CaseResult> {
    results
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.detail = text(&r.detail);
            r.evidence = r.evidence.iter().map(|l| text(l)).collect();
            if let Some(v) = &mut r.violation {
                v.context = text(&v.context);
                v.expected = text(&v.expected);
                v.observed = text(&v.observed);
            }
            r
        })
        .collect()
}

/// `results` with every credential in their text redacted, and every one of `known`
/// (tokens a command printed, which need not look like credentials).
pub fn results_without(results: &[CaseResult], known: &[String]) -> Vec<CaseResult> {
    let mut results = self::results(results);
    for r in &mut results {
        r.detail = text_without(&r.detail, known);
        r.evidence = r.evidence.iter().map(|l| text_without(l, known)).collect();
        if let Some(v) = &mut r.violation {
            v.context = text_without(&v.context, known);
            v.expected = text_without(&v.expected, known);
            v.observed = text_without(&v.observed, known);
        }
    }
    results
}

/// `s` with every credential redacted, and every one of `known`.
pub fn text_without(s: &str, known: &[String]) -> String {
    let s =
        known.iter().filter(|k| !k.is_empty()).fold(s.to_string(), |s, k| s.replace(k.as_str(), REDACTED));
    text(&s)
}

/// `s` with every credential redacted.
pub fn text(s: &str) -> String {
    let s = jwts(s);
    let s = after_schemes(&s);
    SECRET_PARAMETERS.iter().fold(s, |s, name| parameter(&s, name))
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=' | '%')
}

/// `s` with every `eyJ…` run of base64url and two dots (a JWS compact JWT) redacted.
fn jwts(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("eyJ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(tail.len());
        let candidate = &tail[..end];
        if candidate.matches('.').count() >= 2 {
            out.push_str("eyJ…");
            out.push_str(REDACTED);
        } else {
            out.push_str(candidate);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `s` with the credential after `Bearer `, `Basic ` or `DPoP ` redacted.
fn after_schemes(s: &str) -> String {
    let mut out = s.to_string();
    for scheme in ["Bearer ", "Basic ", "DPoP "] {
        let mut done = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(i) = rest.find(scheme) {
            let start = i + scheme.len();
            done.push_str(&rest[..start]);
            let tail = &rest[start..];
            let end = tail.find(|c: char| !is_token_char(c)).unwrap_or(tail.len());
            // A challenge's parameters (`Bearer error="…"`) are not a credential.
            let value = &tail[..end];
            // A token68 has `=` only as trailing padding; `name=value` or `name="…"` is
            // a parameter.
            let is_parameter = value.is_empty()
                || value.trim_end_matches('=').contains('=')
                || value.ends_with('=') && tail[end..].starts_with('"');
            // Prose names the schemes too ("DPoP proofs", "Bearer tokens"): a short word of
            // lower-case letters is a word, not a credential.
            let is_word = value.len() <= 12 && value.bytes().all(|b| b.is_ascii_lowercase());
            done.push_str(if is_parameter || is_word || value.starts_with(REDACTED) {
                value
            } else {
                REDACTED
            });
            rest = &tail[end..];
        }
        done.push_str(rest);
        out = done;
    }
    out
}

/// `s` with the value of parameter `name` redacted wherever it stands as `name=value`
/// (query or form, after `?`, `&`, a space, a quote or the start) or `"name":"value"`.
fn parameter(s: &str, name: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut previous: Option<char> = None;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().next_back().or(previous);
        out.push_str(&rest[..i + name.len()]);
        let tail = &rest[i + name.len()..];
        let at_boundary = before.is_none_or(|c| matches!(c, '?' | '&' | ' ' | '"' | '\'' | '{' | ','));
        let (sep, value_start) = if let Some(t) = tail.strip_prefix('=') {
            ("=", t)
        } else if let Some(t) = tail.strip_prefix("\":\"").or_else(|| tail.strip_prefix("\": \"")) {
            (&tail[..tail.len() - t.len()], t)
        } else {
            ("", tail)
        };
        if at_boundary && !sep.is_empty() {
            out.push_str(sep);
            let end = value_start
                .find(|c: char| if sep == "=" { matches!(c, '&' | ' ' | '"' | '\'' | '#') } else { c == '"' })
                .unwrap_or(value_start.len());
            if end > 0 {
                out.push_str(REDACTED);
            }
            rest = &value_start[end..];
        } else {
            rest = tail;
        }
        previous = out.chars().next_back();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn credentials_are_redacted_and_their_context_kept() {
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
        assert_eq!(text(&format!("token {jwt} refused")), "token eyJ…[redacted] refused");
        assert_eq!(text("Authorization: Bearer abc.def"), "Authorization: Bearer [redacted]");
        assert_eq!(text("Authorization: DPoP eyJhbGciOi"), "Authorization: DPoP [redacted]");
        assert_eq!(text("the DPoP proofs and Bearer tokens"), "the DPoP proofs and Bearer tokens");
        assert_eq!(
            text(r#"WWW-Authenticate: Bearer error="invalid_token""#),
            r#"WWW-Authenticate: Bearer error="invalid_token""#
        );
        assert_eq!(text("Basic dXNlcjpwYXNz"), "Basic [redacted]");
        assert_eq!(
            text("GET /callback?code=SplxlOBe&state=xyz&iss=https://as"),
            "GET /callback?code=[redacted]&state=xyz&iss=https://as"
        );
        assert_eq!(text("response_type=code&client_id=app"), "response_type=code&client_id=app");
        assert_eq!(
            text(r#"{"access_token":"opaque-1","token_type":"Bearer","refresh_token": "r2","scope":"x"}"#),
            r#"{"access_token":"[redacted]","token_type":"Bearer","refresh_token": "[redacted]","scope":"x"}"#
        );
        assert_eq!(
            text("grant_type=password&password=alice&username=alice"),
            "grant_type=password&password=[redacted]&username=alice"
        );
        assert_eq!(text("error_code=x"), "error_code=x");
    }
}
