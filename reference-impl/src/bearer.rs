//! Bearer tokens in HTTP (RFC 6750): the `Authorization: Bearer` request header and the
//! `WWW-Authenticate` challenges (RFC 7235 §4.1 / RFC 9110 §11.6.1) a resource server
//! sends with 401 and 403.
//!
//! ```
//! use mcp_authz_reference::bearer::{Challenge, parse_www_authenticate};
//! let header = Challenge::bearer()
//!     .with("error", "insufficient_scope")
//!     .with("scope", "mcp:write")
//!     .with("error_description", r#"needs "mcp:write""#)
//!     .to_header_value();
//! assert_eq!(header, r#"Bearer error="insufficient_scope", scope="mcp:write", error_description="needs \"mcp:write\"""#);
//! let parsed = parse_www_authenticate(&header).unwrap();
//! assert_eq!(parsed[0].get("Scope"), Some("mcp:write"));
//! assert_eq!(parsed[0].get("error_description"), Some(r#"needs "mcp:write""#));
//! ```

use crate::oauth_error::ErrorCode;
use crate::{Error, Result};
use http::{HeaderMap, header};

/// One challenge: a scheme and its parameters (or a token68).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    /// The auth scheme as received (`Bearer`, `Basic`, `DPoP`, ...).
    pub scheme: String,
    /// Parameters in the order received; names as received (compare case-insensitively).
    pub params: Vec<(String, String)>,
    /// A token68 in place of parameters (rare; RFC 7235 §2.1).
    pub token68: Option<String>,
}

impl Challenge {
    /// An empty `Bearer` challenge.
    pub fn bearer() -> Self {
        Challenge { scheme: "Bearer".into(), ..Default::default() }
    }

    /// Adds a parameter.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// The value of parameter `name` (case-insensitive); the first one if repeated.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `error` parameter as an [`ErrorCode`], if present.
    pub fn error(&self) -> Option<ErrorCode> {
        self.get("error").map(ErrorCode::parse)
    }

    /// True when the scheme is `Bearer` (case-insensitive).
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }

    /// Serializes as a `WWW-Authenticate` value: every value a quoted-string with `"`
    /// and `\` escaped; control characters (which a header cannot carry) become spaces.
    pub fn to_header_value(&self) -> String {
        let mut out = self.scheme.clone();
        if let Some(t) = &self.token68 {
            out.push(' ');
            out.push_str(t);
            return out;
        }
        for (i, (name, value)) in self.params.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            out.push_str(name);
            out.push_str("=\"");
            for c in value.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_control() => out.push(' '),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// A byte of `token68` / `b64token` other than the trailing `=`: `ALPHA / DIGIT / "-" /
/// "." / "_" / "~" / "+" / "/"` (RFC 7235 §2.1, RFC 6750 §2.1).
pub(crate) fn is_token68_char(c: u8) -> bool {
    TOKEN68[usize::from(c)]
}

/// Which bytes [`is_token68_char`] accepts, as a table: every request's token is checked
/// byte by byte.
static TOKEN68: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        c += 1;
    }
    table
};

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }
    fn skip_ows_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }
    /// A quoted-string. Lenient on one point seen in real servers: a `"` inside the value
    /// that is not followed by a comma or the end is taken as a literal quote.
    fn quoted(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(Error::malformed("www-authenticate header", "unterminated quoted-string"));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(c) = self.peek() else {
                        return Err(Error::malformed("www-authenticate header", "escape at end of input"));
                    };
                    out.push(c);
                    self.pos += 1;
                }
                Some(b'"') => {
                    self.pos += 1;
                    let mut look = self.pos;
                    while matches!(self.s.get(look), Some(b' ' | b'\t')) {
                        look += 1;
                    }
                    if matches!(self.s.get(look), None | Some(b',')) {
                        return Ok(String::from_utf8_lossy(&out).into_owned());
                    }
                    out.push(b'"');
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

/// Parses a `WWW-Authenticate` header value into its challenges. Several challenges,
/// quoted strings with escapes, odd whitespace and case are handled; input that cannot
/// be a challenge list is an error, never a panic.
pub fn parse_www_authenticate(value: &str) -> Result<Vec<Challenge>> {
    let bad = |d: &str| Error::malformed("www-authenticate header", d);
    let mut c = Cursor { s: value.as_bytes(), pos: 0 };
    let mut out = Vec::new();
    loop {
        c.skip_ows_and_commas();
        if c.peek().is_none() {
            break;
        }
        let scheme = c.token().ok_or_else(|| bad(&format!("expected an auth scheme at byte {}", c.pos)))?;
        let mut ch = Challenge { scheme, ..Default::default() };
        c.skip_ows();
        // token68?
        let start = c.pos;
        while c.peek().is_some_and(is_token68_char) {
            c.pos += 1;
        }
        if c.pos > start {
            let mut end = c.pos;
            while c.s.get(end) == Some(&b'=') {
                end += 1;
            }
            let mut look = end;
            while matches!(c.s.get(look), Some(b' ' | b'\t')) {
                look += 1;
            }
            // `Scheme token68`: the run (with its trailing `=`s) is followed by a comma or
            // the end. `a=` before a value would have been a parameter instead.
            if matches!(c.s.get(look), None | Some(b',')) {
                ch.token68 = Some(String::from_utf8_lossy(&c.s[start..end]).into_owned());
                c.pos = end;
                out.push(ch);
                continue;
            }
            c.pos = start;
        }
        // auth-params
        loop {
            c.skip_ows();
            let before = c.pos;
            let Some(name) = c.token() else { break };
            c.skip_ows();
            if c.peek() != Some(b'=') {
                // A new challenge begins with this token.
                c.pos = before;
                break;
            }
            c.pos += 1;
            c.skip_ows();
            let value = match c.peek() {
                Some(b'"') => c.quoted()?,
                _ => c.token().ok_or_else(|| bad(&format!("parameter `{name}` has no value")))?,
            };
            ch.params.push((name, value));
            c.skip_ows();
            match c.peek() {
                None => break,
                Some(b',') => {
                    c.skip_ows_and_commas();
                }
                Some(other) => {
                    return Err(bad(&format!("unexpected `{}` after parameter value", other as char)));
                }
            }
        }
        out.push(ch);
    }
    if out.is_empty() {
        return Err(bad("no challenge"));
    }
    Ok(out)
}

/// Every challenge of every `WWW-Authenticate` header in `headers`.
pub fn challenges(headers: &HeaderMap) -> Result<Vec<Challenge>> {
    let mut out = Vec::new();
    for v in headers.get_all(header::WWW_AUTHENTICATE) {
        let v = v.to_str().map_err(|_| Error::malformed("www-authenticate header", "not visible ascii"))?;
        out.extend(parse_www_authenticate(v)?);
    }
    Ok(out)
}

/// The first `Bearer` challenge in `headers`, if any.
pub fn bearer_challenge(headers: &HeaderMap) -> Result<Option<Challenge>> {
    Ok(challenges(headers)?.into_iter().find(Challenge::is_bearer))
}

/// The bearer token of a request (RFC 6750 §2.1): `None` without an `Authorization`
/// header; an error when the header is repeated, not the `Bearer` scheme, empty, or not
/// b64token syntax.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = crate::wire::single_header(headers, header::AUTHORIZATION)? else {
        return Ok(None);
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::unexpected("authorization scheme", format!("`{scheme}`"), "Bearer"));
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(Error::Missing("token after `Bearer`".into()));
    }
    let body = token.trim_end_matches('=');
    if body.is_empty() || !body.bytes().all(is_token68_char) {
        return Err(Error::malformed("authorization header", "token is not b64token syntax (RFC 6750 §2.1)"));
    }
    Ok(Some(token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &str) -> Challenge {
        let mut c = parse_www_authenticate(v).unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        c.remove(0)
    }

    #[test]
    fn typical_mcp_challenge() {
        let c = one(
            r#"Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="mcp:read""#,
        );
        assert!(c.is_bearer());
        assert_eq!(
            c.get("resource_metadata"),
            Some("https://mcp.example/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(c.get("scope"), Some("mcp:read"));
    }

    #[test]
    fn several_challenges_and_odd_spacing() {
        let cs = parse_www_authenticate(
            r#"Basic realm="x" ,  bearer  error = invalid_token ,scope="a b", DPoP algs="ES256""#,
        )
        .unwrap();
        assert_eq!(cs.len(), 3);
        assert_eq!(cs[0].scheme, "Basic");
        assert_eq!(cs[1].get("ERROR"), Some("invalid_token"));
        assert_eq!(cs[1].get("scope"), Some("a b"));
        assert_eq!(cs[2].get("algs"), Some("ES256"));
    }

    #[test]
    fn escapes_and_unescaped_quote() {
        assert_eq!(
            one(r#"Bearer error_description="a \"b\" \\ c""#).get("error_description"),
            Some(r#"a "b" \ c"#)
        );
        // Seen from real servers: an unescaped quote inside the value.
        assert_eq!(
            one(r#"Bearer error_description="the "x" token", scope="s""#).get("error_description"),
            Some(r#"the "x" token"#)
        );
    }

    #[test]
    fn bare_scheme_and_token68() {
        assert_eq!(one("Bearer").scheme, "Bearer");
        assert_eq!(one("Negotiate abc+/def==").token68.as_deref(), Some("abc+/def=="));
        // `a=` with no value is a token68 (RFC 7235 allows trailing `=`).
        assert_eq!(one("Bearer a=").token68.as_deref(), Some("a="));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for g in ["", ",,,", "=x", r#"Bearer a="unterminated"#, r#"Bearer a="x" junk"#, "Bearer a=\"\\"] {
            assert!(parse_www_authenticate(g).is_err(), "{g:?}");
        }
    }

    #[test]
    fn serialize_round_trip() {
        let c = Challenge::bearer()
            .with("error", "invalid_token")
            .with("error_description", "bad \"sig\" \\ here\r\n");
        let back = one(&c.to_header_value());
        assert_eq!(back.get("error_description"), Some("bad \"sig\" \\ here  "));
        assert_eq!(back.get("error"), Some("invalid_token"));
    }

    fn auth(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn authorization_header() {
        assert_eq!(bearer_token(&auth(&[])).unwrap(), None);
        assert_eq!(bearer_token(&auth(&["Bearer abc.def-ghi"])).unwrap().as_deref(), Some("abc.def-ghi"));
        assert_eq!(bearer_token(&auth(&["bEaReR abc"])).unwrap().as_deref(), Some("abc"));
        assert!(matches!(bearer_token(&auth(&["Bearer a", "Bearer b"])), Err(Error::RepeatedParameter(_))));
        assert!(matches!(bearer_token(&auth(&["Basic dXNlcjpw"])), Err(Error::Unexpected { .. })));
        assert!(matches!(bearer_token(&auth(&["Bearer"])), Err(Error::Missing(_))));
        assert!(matches!(bearer_token(&auth(&["Bearer "])), Err(Error::Missing(_))));
        assert!(matches!(bearer_token(&auth(&["Bearer a b"])), Err(Error::Malformed { .. })));
    }
}
