//! The public client against the reference authorization server and MCP server, all
//! sans-IO in one process.

use super::*;
use crate::authorization_server::{self as authz, AuthorizationServer};
use crate::mcp_server::{self, McpServer};
use crate::sans_io::{Response, Time, drive};
use crate::wire;
use http::header;
use rand_core::SeedableRng;
use serde_json::json;

const ISSUER: &str = "http://127.0.0.1:9000";
const MCP_URL: &str = "http://127.0.0.1:9001/mcp";
const REDIRECT: &str = "http://127.0.0.1:8765/callback";

struct Stack {
    authorization_server: AuthorizationServer,
    /// The client ID metadata document the AS may fetch, and its URL.
    document: Option<(String, crate::registration::ClientMetadata)>,
    mcp_server: McpServer,
    rng: rand_chacha::ChaCha20Rng,
    now: Time,
    log: Vec<String>,
}

impl Stack {
    fn new(now: Time) -> Self {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let config = authz::Config { auto_approve: true, ..authz::Config::default() };
        let authorization_server = AuthorizationServer::new(config, &mut Env::new(now, &mut rng)).unwrap();
        let mcp_server = McpServer::new(mcp_server::Config::new(MCP_URL, ISSUER)).unwrap();
        Stack { authorization_server, document: None, mcp_server, rng, now, log: Vec::new() }
    }

    fn send(&mut self, req: Request) -> Response {
        self.log.push(format!("{} {}", req.method(), req.uri()));
        let mut env = Env::new(self.now, &mut self.rng);
        let authorization_server = &mut self.authorization_server;
        if req.uri().to_string().starts_with(ISSUER) {
            let document = self.document.clone();
            let log = &mut self.log;
            drive(authorization_server, req, &mut env, |r| {
                log.push(format!("  AS fetches {}", r.uri()));
                match &document {
                    Some((url, doc)) if r.uri() == url.as_str() => Ok(wire::json(http::StatusCode::OK, doc)),
                    _ => Ok(wire::json(http::StatusCode::NOT_FOUND, &json!({}))),
                }
            })
        } else {
            let mut as_rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
            let now = self.now;
            drive(&mut self.mcp_server, req, &mut env, |r| {
                Ok(drive(authorization_server, r, &mut Env::new(now, &mut as_rng), |_| {
                    panic!("nested fetch")
                }))
            })
        }
    }

    fn run(
        &mut self,
        client: &mut PublicClient,
        mut step: ClientStep,
        client_rng: &mut rand_chacha::ChaCha20Rng,
    ) -> ClientStep {
        for _ in 0..50 {
            step = match step {
                ClientStep::Send(req) => {
                    let r = self.send(req);
                    self.log.push(format!("  <- {}", r.status()));
                    client.on_response(Ok(r), &mut Env::new(self.now, client_rng))
                }
                ClientStep::Authorize { url } => {
                    let r = self.send(http::Request::get(url.as_str()).body(bytes::Bytes::new()).unwrap());
                    let location = r.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
                    self.log.push(format!("  <- {} {location:?} {:?}", r.status(), r.body()));
                    client.on_redirect(&location.unwrap_or_default(), &mut Env::new(self.now, client_rng))
                }
                done => return done,
            };
        }
        panic!("did not finish")
    }
}

fn tool_text(step: &ClientStep) -> &str {
    match step {
        ClientStep::Done(out) => out.result["content"][0]["text"].as_str().unwrap_or(""),
        _ => "",
    }
}

#[test]
fn flow_against_the_reference_servers() {
    let now = Time::from_unix_secs(1_700_000_000);
    let mut stack = Stack::new(now);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let mut c = PublicClient::new(PublicClientConfig::new(MCP_URL, REDIRECT, "interop")).unwrap();
    let call =
        |name: &str, text: &str| Operation::CallTool { name: name.into(), arguments: json!({"text": text}) };

    // 401 → PRM → AS metadata → DCR → authorize → token → initialize → echo.
    let step = c.start(call("echo", "hi"), &mut Env::new(now, &mut rng));
    let end = stack.run(&mut c, step, &mut rng);
    assert_eq!(tool_text(&end), "hi", "{end:?}\n{}", stack.log.join("\n"));
    assert!(c.client_id().is_some_and(|id| id.starts_with("dcr-")));
    let first = c.tokens().unwrap().clone();
    assert_eq!((first.resource.as_str(), first.scope.as_deref()), (MCP_URL, Some("mcp:read")));

    // The reference AS rotates the refresh token.
    let step = c.refresh(&mut Env::new(now, &mut rng));
    assert!(matches!(stack.run(&mut c, step, &mut rng), ClientStep::Done(_)));
    assert_ne!(c.tokens().unwrap().refresh_token, first.refresh_token);

    // write_note needs mcp:write: one step-up.
    let step = c.start(call("write_note", "n"), &mut Env::new(now, &mut rng));
    let end = stack.run(&mut c, step, &mut rng);
    assert!(matches!(end, ClientStep::Done(Outcome { authorizations: 1, .. })), "{end:?}");
    assert_eq!(c.tokens().unwrap().scope.as_deref(), Some("mcp:read mcp:write"));

    // mcp:admin is not available to registered clients: the AS refuses the step-up.
    let step = c.start(call("admin_reset", ""), &mut Env::new(now, &mut rng));
    let ClientStep::Failed(e) = stack.run(&mut c, step, &mut rng) else { panic!("expected a failure") };
    assert!(
        matches!(e, Error::OAuth { endpoint: "authorization endpoint", ref error, .. } if *error == ErrorCode::InvalidScope),
        "{e}"
    );
}

#[test]
fn client_id_metadata_document_against_the_reference_server() {
    let now = Time::from_unix_secs(1_700_000_000);
    let mut stack = Stack::new(now);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
    let url = "https://client.example/mcp-client.json";
    let mut config = PublicClientConfig::new(MCP_URL, REDIRECT, "interop");
    config.client_id_metadata_url = Some(url.into());
    let mut c = PublicClient::new(config).unwrap();
    let document = c.metadata_document().unwrap();
    assert_eq!(document.client_id.as_deref(), Some(url));
    stack.document = Some((url.into(), document));
    let op = Operation::CallTool { name: "echo".into(), arguments: json!({"text": "cimd"}) };
    let step = c.start(op, &mut Env::new(now, &mut rng));
    let end = stack.run(&mut c, step, &mut rng);
    assert_eq!(tool_text(&end), "cimd", "{end:?}\n{}", stack.log.join("\n"));
    assert_eq!(c.client_id(), Some(url));
    assert!(stack.log.iter().all(|l| !l.contains("/register")));
    assert!(stack.log.iter().any(|l| l.contains("AS fetches https://client.example/mcp-client.json")));
}
