//! TEMPORARY local stand-in for the lead's bearer.rs (not committed).
use crate::{Error, Result};
use http::HeaderMap;

/// A challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Scheme.
    pub scheme: String,
    /// Params.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Bearer.
    pub fn bearer() -> Challenge {
        Challenge { scheme: "Bearer".into(), params: vec![] }
    }
    /// Add.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Challenge {
        self.params.push((name.to_string(), value.into()));
        self
    }
    /// Get.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// Header value.
    pub fn to_header_value(&self) -> String {
        let ps: Vec<String> = self
            .params
            .iter()
            .map(|(n, v)| format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        if ps.is_empty() { self.scheme.clone() } else { format!("{} {}", self.scheme, ps.join(", ")) }
    }
}

/// Parse (naive).
pub fn parse_www_authenticate(s: &str) -> Result<Vec<Challenge>> {
    let (scheme, rest) = s.split_once(' ').unwrap_or((s, ""));
    let mut c = Challenge { scheme: scheme.to_string(), params: vec![] };
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(' ') | Some(',')) { chars.next(); }
        let mut name = String::new();
        while let Some(&ch) = chars.peek() { if ch == '=' { break; } name.push(ch); chars.next(); }
        if name.is_empty() { break; }
        chars.next();
        if chars.next() != Some('"') { return Err(Error::malformed("www-authenticate header", "x")); }
        let mut v = String::new();
        loop {
            match chars.next() {
                Some('\\') => { if let Some(c2) = chars.next() { v.push(c2) } }
                Some('"') => break,
                Some(ch) => v.push(ch),
                None => return Err(Error::malformed("www-authenticate header", "x")),
            }
        }
        c.params.push((name, v));
    }
    Ok(vec![c])
}

/// Bearer token.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let mut it = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(v) = it.next() else { return Ok(None) };
    if it.next().is_some() { return Err(Error::RepeatedParameter("header authorization".into())); }
    let v = v.to_str().map_err(|_| Error::malformed("authorization header", "not ascii"))?;
    let (scheme, tok) = v.split_once(' ').unwrap_or((v, ""));
    if !scheme.eq_ignore_ascii_case("bearer") { return Err(Error::unexpected("authorization scheme", scheme, "Bearer")); }
    let tok = tok.trim();
    if tok.is_empty() { return Err(Error::Missing("bearer token".into())); }
    if !tok.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)) { return Err(Error::malformed("bearer token", "bad token68")); }
    Ok(Some(tok.to_string()))
}
