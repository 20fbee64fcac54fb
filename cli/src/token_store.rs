//! `mcp-authz client --token-store FILE`: the client's tokens kept between runs, as a
//! JSON object (the file holds secrets: it is written readable by its owner only).

use anyhow::Context as _;
use mcp_authz_reference::client::TokenSet;
use mcp_authz_reference::sans_io::Time;
use serde_json::{Value, json};
use std::path::Path;

/// The tokens kept in `path`; `None` when the file does not exist yet.
pub fn read(path: &Path) -> anyhow::Result<Option<TokenSet>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading the token store {}", path.display())),
    };
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("the token store {} is not JSON", path.display()))?;
    let text_field = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let (Some(access_token), Some(resource)) = (text_field("access_token"), text_field("resource")) else {
        anyhow::bail!("the token store {}: expected `access_token` and `resource` strings", path.display());
    };
    Ok(Some(TokenSet {
        access_token,
        refresh_token: text_field("refresh_token"),
        expires_at: v.get("expires_at_ms").and_then(Value::as_u64).map(Time::from_unix_millis),
        scope: text_field("scope"),
        requested_scope: text_field("requested_scope"),
        resource,
        issuer: text_field("issuer"),
        // A DPoP key is not kept: a restored token goes as Bearer.
        dpop: false,
    }))
}

/// Writes `tokens` to `path`, readable by its owner only.
pub fn write(path: &Path, tokens: &TokenSet) -> anyhow::Result<()> {
    let v = json!({
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at_ms": tokens.expires_at.map(Time::unix_millis),
        "scope": tokens.scope,
        "requested_scope": tokens.requested_scope,
        "resource": tokens.resource,
        "issuer": tokens.issuer,
    });
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing the token store {}", path.display()))?;
    file.write_all(v.to_string().as_bytes()).with_context(|| format!("writing {}", path.display()))
}
