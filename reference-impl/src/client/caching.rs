//! The client's cache of results (MCP 2026-07-28 §Caching): a `tools/list` result is
//! kept while its `ttlMs` says it is fresh, and served again only within the scope its
//! `cacheScope` allows.
//!
//! **Authorization context.** The specification does not define the term; it gives one
//! example: "Caches **MUST NOT** be shared across authorization contexts (e.g. a different
//! access token requires a different cache)" (§Cache Scope Field, CL-58). This client
//! takes the access token a request carries as its authorization context: a `private`
//! result is served again only to a request carrying the same token. A refreshed or
//! newly issued token is another context even for the same user, since the client cannot
//! tell that the grant behind it (user, scope, audience) is unchanged; a request without
//! a token is a context of its own. A `public` result "MAY" be served "to any user": it
//! is kept once for all contexts. A result without `cacheScope` is taken as `private`
//! (the safe reading), one without `ttlMs` or with a negative one as stale at once
//! ("SHOULD assume a default of `0`", "SHOULD ignore it and treat it as `0`"): it is
//! not kept.
//!
//! The cache key is the server URL, the method and its parameters (§Cache Key: "MUST NOT
//! serve a cached response for a request whose method or parameters differ"); only
//! `tools/list` of this client's operations is cacheable.

use super::Operation;
use crate::defects::{Defect, Defects};
use crate::sans_io::Time;
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Who may be served a cached result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Context {
    /// Any request (`cacheScope: "public"`).
    Shared,
    /// Requests without an access token.
    Anonymous,
    /// Requests carrying the access token of this SHA-256 digest (the cache keeps no
    /// token).
    Token(String),
}

impl Context {
    /// The context of a request carrying `bearer`.
    fn of(bearer: Option<&str>) -> Context {
        match bearer {
            None => Context::Anonymous,
            Some(token) => {
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
                Context::Token(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()))
            }
        }
    }
}

/// What identifies a cached result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    server: String,
    method: &'static str,
    context: Context,
}

/// A result, and until when it is fresh.
#[derive(Debug, Clone)]
struct Entry {
    result: Value,
    fresh_until: Time,
}

/// Cached results, by server, method and authorization context.
#[derive(Debug, Default)]
pub(super) struct ResultCache(BTreeMap<Key, Entry>);

impl ResultCache {
    /// A fresh cached result of `op` at `server` that a request carrying `bearer` may be
    /// served at `now`: one kept for its context, or a `public` one. With defect
    /// `client-cache-shared-across-tokens`, a `private` one kept for another context too.
    pub(super) fn get(
        &self,
        server: &str,
        op: &Operation,
        bearer: Option<&str>,
        now: Time,
        defects: &Defects,
    ) -> Option<Value> {
        let method = cacheable(op)?;
        let shared = defects.has(Defect::ClientCacheSharedAcrossTokens);
        let contexts = [Context::of(bearer), Context::Shared];
        let entries = self.0.iter().filter(|(k, e)| {
            let context = shared || contexts.contains(&k.context);
            k.server == server && k.method == method && context && now < e.fresh_until
        });
        entries.map(|(_, e)| e.result.clone()).next()
    }

    /// Keeps the `result` of `op` at `server`, received at `now` for a request carrying
    /// `bearer`, as its `ttlMs` and `cacheScope` allow.
    pub(super) fn put(
        &mut self,
        server: &str,
        op: &Operation,
        bearer: Option<&str>,
        result: &Value,
        now: Time,
    ) {
        let Some(method) = cacheable(op) else { return };
        let ttl = result.get("ttlMs").and_then(Value::as_i64).filter(|ms| *ms > 0);
        let Some(ttl) = ttl.and_then(|ms| u64::try_from(ms).ok()) else { return };
        let context = match result.get("cacheScope").and_then(Value::as_str) {
            Some("public") => Context::Shared,
            _ => Context::of(bearer),
        };
        let entry = Entry { result: result.clone(), fresh_until: now.plus(Duration::from_millis(ttl)) };
        self.0.insert(Key { server: server.to_string(), method, context }, entry);
    }
}

/// The method of `op` when its result is cacheable (§Cacheable Results), with no
/// parameters that vary (this client sends `tools/list` without a cursor).
fn cacheable(op: &Operation) -> Option<&'static str> {
    match op {
        Operation::ListTools => Some("tools/list"),
        Operation::CallTool { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SERVER: &str = "https://mcp.example/mcp";

    fn list(scope: &str, ttl: i64) -> Value {
        json!({"tools": [], "resultType": "complete", "ttlMs": ttl, "cacheScope": scope})
    }

    #[test]
    fn private_results_stay_with_their_token_public_ones_are_shared() {
        let now = Time::from_unix_secs(1_000);
        let none = Defects::none();
        let op = Operation::ListTools;
        let mut cache = ResultCache::default();
        cache.put(SERVER, &op, Some("token-a"), &list("private", 60_000), now);
        assert!(cache.get(SERVER, &op, Some("token-a"), now, &none).is_some());
        assert!(cache.get(SERVER, &op, Some("token-b"), now, &none).is_none());
        assert!(cache.get(SERVER, &op, None, now, &none).is_none());
        assert!(cache.get("https://other.example/mcp", &op, Some("token-a"), now, &none).is_none());
        // Stale once ttlMs has passed.
        assert!(cache.get(SERVER, &op, Some("token-a"), now.plus(Duration::from_secs(60)), &none).is_none());
        let shared = Defects::of([Defect::ClientCacheSharedAcrossTokens]);
        assert!(cache.get(SERVER, &op, Some("token-b"), now, &shared).is_some());
        cache.put(SERVER, &op, Some("token-c"), &list("public", 60_000), now);
        assert!(cache.get(SERVER, &op, Some("token-d"), now, &none).is_some());
    }

    #[test]
    fn no_ttl_a_negative_or_zero_one_is_not_kept_nor_are_calls() {
        let now = Time::from_unix_secs(1_000);
        let op = Operation::ListTools;
        let mut cache = ResultCache::default();
        cache.put(SERVER, &op, Some("t"), &list("public", 0), now);
        cache.put(SERVER, &op, Some("t"), &list("public", -5), now);
        cache.put(SERVER, &op, Some("t"), &json!({"tools": [], "cacheScope": "public"}), now);
        let call = Operation::CallTool { name: "echo".into(), arguments: json!({}) };
        cache.put(SERVER, &call, Some("t"), &list("public", 60_000), now);
        assert!(cache.0.is_empty());
        // No cacheScope: private.
        cache.put(SERVER, &op, Some("t"), &json!({"tools": [], "ttlMs": 1000}), now);
        assert!(cache.get(SERVER, &op, Some("u"), now, &Defects::none()).is_none());
        assert!(cache.get(SERVER, &op, Some("t"), now, &Defects::none()).is_some());
    }
}
