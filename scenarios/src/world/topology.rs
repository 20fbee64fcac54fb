//! The standard topology: the fixed origins of the simulated roles, the tools of MCP
//! server A, and the configuration of the roles.

use bytes::Bytes;
use mcp_authz_reference::access_token::Validator;
use mcp_authz_reference::authorization_server::{self as authz, RegisteredClient};
use mcp_authz_reference::bearer;
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_reference::mcp_server;
use mcp_authz_reference::sans_io::{Request, Response};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::rc::Rc;

/// The trusted issuer.
pub const AS: &str = "https://as.example";
/// MCP server A.
pub const MCP: &str = "https://mcp.example/mcp";
/// MCP server A's origin.
pub const MCP_ORIGIN: &str = "https://mcp.example";
/// MCP server B.
pub const OTHER_MCP: &str = "https://other.example/mcp";
/// MCP server B's origin.
pub const OTHER_ORIGIN: &str = "https://other.example";
/// The downstream API MCP server A calls with its own token.
pub const DOWNSTREAM: &str = "https://api.example/downstream";
/// The downstream API's origin.
pub const DOWNSTREAM_ORIGIN: &str = "https://api.example";
/// The attacker's origin.
pub const EVIL: &str = "https://evil.example";
/// The honest public client's redirect URI (a native app on loopback).
pub const REDIRECT: &str = "http://127.0.0.1:7777/callback";
/// The MCP server's own client at the AS.
pub const RS_CLIENT_ID: &str = "mcp-server";
pub(crate) const RS_SECRET: &str = "rs-secret-for-the-simulation";

/// A tool of the server under test, with the scope it needs and arguments it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// Its name.
    pub name: String,
    /// The scope a token needs to run it (may be empty: none).
    pub scope: String,
    /// Arguments valid for its input schema.
    pub arguments: Value,
}

impl Tool {
    /// A tool named `name` needing `scope`, called with `arguments`.
    pub fn new(name: &str, scope: &str, arguments: Value) -> Tool {
        Tool { name: name.into(), scope: scope.into(), arguments }
    }
}

/// The tools the MCP server scenarios call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    /// A tool a token with the least scope can run (the reference server's `echo`).
    pub read: Tool,
    /// A tool needing a scope `read` does not (`write_note`), if the server has one.
    pub write: Option<Tool>,
    /// A tool needing yet more (`admin_reset`), if the server has one.
    pub admin: Option<Tool>,
    /// A tool that calls a downstream API with the server's own token (`fetch_report`).
    pub downstream: Option<Tool>,
    /// Tools that mint and take back a state handle (`open_cart`, `cart_show`).
    pub handles: Option<HandleTools>,
    /// A tool needing more than one scope (`publish_note`), if the server has one.
    pub multi_scope: Option<Tool>,
    /// A tool needing the client's `elicitation` capability (`confirm_action`), if the
    /// harness knows one.
    pub needs_elicitation: Option<Tool>,
    /// A scope the server declares broader than `read`'s, so that a token holding it alone
    /// may run `read` (the reference server's `mcp:admin`), if the harness knows one.
    pub broader_scope: Option<String>,
}

/// A pair of tools around a state handle (MCP 2026-07-28 server/tools §Stateful Tools):
/// `open` returns a new handle as the text of its result, `show` takes it back in its
/// `argument` and shows what `open` stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleTools {
    /// Mints a handle; called with an `item` to store.
    pub open: Tool,
    /// Takes the handle back.
    pub show: Tool,
    /// The argument of `show` that carries the handle.
    pub argument: String,
}

impl Tools {
    /// `read` alone: no tool needing more scope, no downstream, handle, multi-scope or
    /// capability tool.
    pub fn with_read(read: Tool) -> Tools {
        Tools {
            read,
            write: None,
            admin: None,
            downstream: None,
            handles: None,
            multi_scope: None,
            needs_elicitation: None,
            broader_scope: None,
        }
    }

    /// The reference MCP server's tools.
    pub fn reference() -> Tools {
        Tools {
            read: Tool::new("echo", "mcp:read", json!({"text": "x"})),
            write: Some(Tool::new("write_note", "mcp:write", json!({"text": "x"}))),
            admin: Some(Tool::new("admin_reset", "mcp:admin", json!({}))),
            downstream: Some(Tool::new("fetch_report", "mcp:read", json!({}))),
            handles: Some(HandleTools {
                open: Tool::new("open_cart", "mcp:write", json!({})),
                show: Tool::new("cart_show", "mcp:read", json!({})),
                argument: "cart".into(),
            }),
            multi_scope: Some(Tool::new("publish_note", "mcp:write mcp:admin", json!({"text": "x"}))),
            needs_elicitation: Some(Tool::new("confirm_action", "mcp:read", json!({}))),
            broader_scope: Some(REFERENCE_IMPLIES.0.into()),
        }
    }

    /// Every scope the tools need: a token that can run them all.
    pub fn all_scopes(&self) -> String {
        let mut scopes = vec![self.read.scope.as_str()];
        scopes.extend([&self.write, &self.admin].into_iter().flatten().map(|t| t.scope.as_str()));
        union_scopes(&scopes)
    }
}

/// The space-separated union of scope strings, in first-seen order.
pub fn union_scopes(scopes: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in scopes.iter().flat_map(|s| s.split(' ')) {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

/// The reference server's scope hierarchy in the simulated worlds: `mcp:admin` implies
/// `mcp:read`.
pub const REFERENCE_IMPLIES: (&str, &str) = ("mcp:admin", "mcp:read");

/// See [`World::mcp_config`].
pub(crate) fn mcp_config(url: &str, issuer: &str, defects: &Defects) -> mcp_server::Config {
    let mut config = mcp_server::Config::new(url.to_string(), issuer.to_string());
    config.defects = defects.clone();
    config.tools.extend(mcp_server::ToolConfig::state_handles());
    config.tools.extend(mcp_server::ToolConfig::two_scopes());
    config.tools.extend(mcp_server::ToolConfig::needing_elicitation());
    config.scope_implies.push((REFERENCE_IMPLIES.0.into(), REFERENCE_IMPLIES.1.into()));
    // DPoP proofs must carry a nonce of the server's (RFC 9449 §9): RS-DPOP-10 judges it.
    config.dpop.require_nonce = true;
    if url == MCP {
        config.downstream = Some(mcp_server::Downstream {
            token_endpoint: format!("{AS}/token"),
            client_id: RS_CLIENT_ID.into(),
            client_secret: RS_SECRET.into(),
            resource: DOWNSTREAM.into(),
        });
    }
    config
}

/// The downstream API: records every `Authorization` header, answers 200 to a token
/// whose audience is the API, 401 otherwise.
pub(crate) fn downstream_api(
    validator: Validator,
    seen: Rc<RefCell<Vec<String>>>,
) -> impl FnMut(Request) -> Response {
    move |req| {
        let auth = req.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        seen.borrow_mut().push(auth.to_string());
        let ok = bearer::bearer_token(req.headers())
            .ok()
            .flatten()
            .is_some_and(|t| validator.validate(&t, mcp_authz_sim::sim::EPOCH).is_ok());
        let mut r = Response::new(Bytes::from(if ok {
            r#"{"report":"quarterly numbers"}"#
        } else {
            r#"{"error":"invalid_token"}"#
        }));
        *r.status_mut() = if ok { http::StatusCode::OK } else { http::StatusCode::UNAUTHORIZED };
        r.headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        r
    }
}

/// The configuration of the simulated reference AS at [`AS`], with `defects`: the
/// resources A, B, the downstream API and `extra`, each with the MCP scopes (the
/// downstream API's `reports:read`), and MCP server A's own client.
pub fn reference_as_config(defects: &Defects, extra: &[&str]) -> authz::Config {
    let mut as_config = authz::Config {
        issuer: AS.into(),
        auto_approve: true,
        // Ed25519 signatures are deterministic: traces stay byte-identical per seed.
        signing_alg: Algorithm::EdDSA,
        defects: defects.clone(),
        ..authz::Config::default()
    };
    let scopes = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    as_config.resources = vec![
        authz::ResourceConfig { uri: MCP.into(), scopes: scopes(&["mcp:read", "mcp:write", "mcp:admin"]) },
        authz::ResourceConfig {
            uri: OTHER_MCP.into(),
            scopes: scopes(&["mcp:read", "mcp:write", "mcp:admin"]),
        },
        authz::ResourceConfig { uri: DOWNSTREAM.into(), scopes: scopes(&["reports:read"]) },
    ];
    as_config.resources.extend(extra.iter().map(|uri| authz::ResourceConfig {
        uri: uri.to_string(),
        scopes: scopes(&["mcp:read", "mcp:write", "mcp:admin"]),
    }));
    as_config.registration_scopes = scopes(&["mcp:read", "mcp:write", "mcp:admin"]);
    as_config.clients.push(RegisteredClient {
        client_id: RS_CLIENT_ID.into(),
        client_secret: Some(RS_SECRET.into()),
        redirect_uris: vec![],
        grant_types: vec!["client_credentials".into()],
        token_endpoint_auth_method: "client_secret_basic".into(),
        scopes: scopes(&["reports:read"]),
        jwks: None,
        client_name: Some("MCP server A".into()),
        ..RegisteredClient::default()
    });
    as_config
}
