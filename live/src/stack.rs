//! The reference authorization server and MCP server wired together and served on
//! loopback: what `mcp-authz serve` runs and what the end-to-end tests start (on ports
//! the OS picks).

use crate::fetch::Fetcher;
use crate::serve::{Served, os_rng, system_now};
use mcp_authz_reference::authorization_server::{self as authz, AuthorizationServer};
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_reference::mcp_server::{self, McpServer};
use mcp_authz_reference::sans_io::Env;
use mcp_authz_scenarios::world::Enterprise;
use std::time::Duration;
use tokio::sync::watch;

/// What to start.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Port of the authorization server (0: the OS picks).
    pub as_port: u16,
    /// Port of the MCP server (0: the OS picks).
    pub rs_port: u16,
    /// Answer valid authorization requests at once, signed in as the default user (alice),
    /// or the one a `login_hint` names ([`STACK_USERS`]).
    pub auto_approve: bool,
    /// Access-token signing algorithm.
    pub alg: Algorithm,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// Authorization-code lifetime (at most 60 s).
    pub code_ttl: Duration,
    /// Let the AS fetch client ID metadata documents from http and loopback URLs.
    pub allow_insecure_client_id_urls: bool,
    /// Make the MCP server ask the AS (RFC 7662) about every token, so revocation
    /// takes effect at once.
    pub introspect: bool,
    /// Further issuers the MCP server trusts (keys at `<issuer>/jwks`) and lists in its
    /// metadata after its own AS — `mcp-authz test-server`'s AS, say.
    pub also_trust: Vec<String>,
    /// Mistakes the roles commit on purpose (each role takes its own).
    pub defects: Defects,
    /// Further resources the AS issues tokens for, with the MCP server's scopes: stand-ins
    /// for a second MCP server, whose tokens the MCP server must refuse
    /// (`test-server --other-resource`).
    pub other_resources: Vec<String>,
    /// Most live sessions per principal at the MCP server (`None`: its default, 64;
    /// `Some(0)`: no limit, only to measure what the limit saves).
    pub max_sessions_per_principal: Option<usize>,
    /// The MCP server accepts tokens signed with `alg` only, as a verifier pinned to its
    /// AS's algorithm does; `false`: every asymmetric algorithm.
    pub pin_alg: bool,
    /// The MCP server's clock leeway for `exp` and `nbf` (`None`: its default, 30 s).
    pub leeway_secs: Option<u64>,
    /// The MCP server requires a nonce of its own in every DPoP proof (RFC 9449 §9).
    pub dpop_nonce: bool,
    /// Issuers of JWT authorization grants the AS trusts (the harness's, `serve
    /// --jwt-bearer-client`), their client registered for the grant.
    pub grant_issuers: Option<Enterprise>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            as_port: 9002,
            rs_port: 9001,
            auto_approve: false,
            alg: Algorithm::ES256,
            access_token_ttl: Duration::from_secs(600),
            code_ttl: Duration::from_secs(60),
            allow_insecure_client_id_urls: false,
            introspect: false,
            also_trust: vec![TEST_AUTHORITY.into()],
            defects: Defects::none(),
            other_resources: Vec::new(),
            max_sessions_per_principal: None,
            pin_alg: false,
            leeway_secs: None,
            dpop_nonce: false,
            grant_issuers: None,
        }
    }
}

/// Where `mcp-authz test-server` serves its AS by default: the stack's MCP server trusts
/// it too, so `serve` and `test-server` work together out of the box.
pub const TEST_AUTHORITY: &str = "http://127.0.0.1:9000";

/// The users of the stack's AS (username = password = `sub`): alice signs in by default,
/// mallory is the second user of the cross-user cases (`login_hint=mallory` with
/// auto-approve).
pub const STACK_USERS: [&str; 2] = ["alice", "mallory"];

/// A running stack.
pub struct Stack {
    /// The issuer, e.g. `http://127.0.0.1:9000`.
    pub issuer: String,
    /// The MCP endpoint, e.g. `http://127.0.0.1:9001/mcp`.
    pub mcp_url: String,
    /// The authorization server, inspectable while it serves.
    pub authorization_server: Served<AuthorizationServer>,
    /// The MCP server, inspectable while it serves.
    pub mcp_server: Served<McpServer>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The client id and secret the MCP server uses at the AS for its own calls
/// (downstream API, introspection).
pub const RS_CLIENT_ID: &str = "mcp-server";

impl Stack {
    /// Binds both ports, builds both roles and starts serving.
    pub async fn start(opts: &StackOptions) -> anyhow::Result<Stack> {
        let as_listener = bind(opts.as_port).await?;
        let rs_listener = bind(opts.rs_port).await?;
        let issuer = format!("http://{}", as_listener.local_addr()?);
        let rs_origin = format!("http://{}", rs_listener.local_addr()?);
        let mcp_url = format!("{rs_origin}/mcp");
        let downstream = format!("{rs_origin}/downstream");

        let mut rng = os_rng();
        let mut env = Env::new(system_now(), &mut rng);
        let rs_secret = env.random_string(24);

        let mut as_config = authz::Config {
            issuer: issuer.clone(),
            auto_approve: opts.auto_approve,
            signing_alg: opts.alg,
            access_token_ttl: opts.access_token_ttl,
            code_ttl: opts.code_ttl,
            allow_insecure_client_id_urls: opts.allow_insecure_client_id_urls,
            defects: opts.defects.clone(),
            ..authz::Config::default()
        };
        let mcp_scopes: Vec<String> = vec!["mcp:read".into(), "mcp:write".into(), "mcp:admin".into()];
        as_config.resources = vec![
            authz::ResourceConfig { uri: mcp_url.clone(), scopes: mcp_scopes.clone() },
            authz::ResourceConfig { uri: downstream.clone(), scopes: vec!["reports:read".into()] },
        ];
        for uri in &opts.other_resources {
            as_config.resources.push(authz::ResourceConfig { uri: uri.clone(), scopes: mcp_scopes.clone() });
        }
        as_config.users = STACK_USERS
            .iter()
            .map(|u| authz::User { username: (*u).into(), password: (*u).into(), sub: (*u).into() })
            .collect();
        as_config.clients.push(authz::RegisteredClient {
            client_id: RS_CLIENT_ID.into(),
            client_secret: Some(rs_secret.clone()),
            redirect_uris: vec![],
            grant_types: vec!["client_credentials".into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            scopes: vec!["reports:read".into()],
            jwks: None,
            client_name: Some("reference MCP server".into()),
            ..authz::RegisteredClient::default()
        });
        if let Some(issuers) = &opts.grant_issuers {
            as_config.trusted_issuers = issuers.trusted_issuers(&mcp_scopes)?;
            as_config.clients.push(issuers.registered_client(&mcp_scopes[..2]));
        }
        let authorization_server = AuthorizationServer::new(as_config, &mut env)?;
        let metadata = authorization_server.metadata();

        let mut rs_config = mcp_server::Config::new(mcp_url.clone(), issuer.clone());
        rs_config.defects = opts.defects.clone();
        if let Some(n) = opts.max_sessions_per_principal {
            rs_config.max_sessions_per_principal = n;
        }
        if let Some(leeway) = opts.leeway_secs {
            rs_config.leeway_secs = leeway;
        }
        rs_config.dpop.require_nonce = opts.dpop_nonce;
        for other in opts.also_trust.iter().filter(|i| **i != issuer) {
            rs_config.also_trusted.push(mcp_server::TrustedIssuer::new(other.clone()));
            rs_config.authorization_servers.push(other.clone());
        }
        if let Some(jwks_uri) = &metadata.jwks_uri {
            rs_config.jwks_uri = jwks_uri.clone();
        }
        let token_endpoint = metadata.token_endpoint.clone().unwrap_or_default();
        rs_config.downstream = Some(mcp_server::Downstream {
            token_endpoint,
            client_id: RS_CLIENT_ID.into(),
            client_secret: rs_secret.clone(),
            resource: downstream,
        });
        if opts.pin_alg {
            rs_config.algorithms = vec![opts.alg];
        }
        if opts.introspect {
            rs_config.introspection = Some(mcp_server::Introspection {
                endpoint: metadata.introspection_endpoint.clone().unwrap_or_default(),
                client_id: RS_CLIENT_ID.into(),
                client_secret: rs_secret,
            });
        }
        let mcp_server = McpServer::new(rs_config)?;

        let as_fetcher =
            if opts.allow_insecure_client_id_urls { Fetcher::trusted()? } else { Fetcher::untrusted()? };
        let authorization_server = Served::new(authorization_server, as_fetcher);
        let mcp_server = Served::new(mcp_server, Fetcher::trusted()?);

        let (stop, _) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(serve(as_listener, authorization_server.router(), stop.subscribe())),
            tokio::spawn(serve(rs_listener, mcp_server.router(), stop.subscribe())),
        ];
        Ok(Stack { issuer, mcp_url, authorization_server, mcp_server, stop, tasks })
    }

    /// Stops both servers and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

pub(crate) async fn bind(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}"))
}

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
}
