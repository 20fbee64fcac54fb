//! The network a client under test sees (`mcp-authz test-client`): loopback listeners
//! that stand in for the simulator's hosts, and an HTTP proxy that catches what the
//! client sends anywhere else.
//!
//! The listeners only carry requests: each one is handed, as an [`Incoming`], to the
//! thread that owns the simulator, which answers it (see the scenarios' client world).
//! That thread translates between the simulator's origins (`https://as.example`) and
//! the loopback origins the client is given (`http://127.0.0.1:PORT`).
//!
//! The proxy is how requests to addresses the harness cannot listen on (SSRF canaries
//! such as `http://169.254.169.254`) are seen: the client under test runs with
//! `HTTP_PROXY`/`HTTPS_PROXY` naming it and `NO_PROXY` covering loopback. A plain-http
//! request arrives there in absolute form; an `https` one as a `CONNECT`, which is
//! refused. A client that ignores the proxy variables cannot be observed this way;
//! [`Incoming::proxied`] lets the caller tell.

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use mcp_authz_reference::sans_io::{Request, Response};
use mcp_authz_reference::wire;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Longest a listener waits for the simulator thread to answer one request.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// One request the client under test sent, waiting for its answer.
pub struct Incoming {
    /// The loopback port it arrived at (the proxy's, for a proxied request).
    pub port: u16,
    /// True when it came through the proxy: its URI is absolute (or, for `CONNECT`,
    /// the authority).
    pub proxied: bool,
    /// The request, its body read (at most [`wire::MAX_BODY_BYTES`]).
    pub request: Request,
    reply: oneshot::Sender<Response>,
}

impl Incoming {
    /// Sends `response` back to the client.
    pub fn answer(self, response: Response) {
        // The client may have gone: nothing to do then.
        let _ = self.reply.send(response);
    }
}

/// The listeners: `hosts` loopback ports and one proxy, served by a thread of their own.
pub struct ClientNetwork {
    ports: Vec<u16>,
    proxy: u16,
    incoming: mpsc::Receiver<Incoming>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ClientNetwork {
    /// Binds `hosts` listeners and a proxy on 127.0.0.1, on ports the OS picks.
    pub fn start(hosts: usize) -> std::io::Result<ClientNetwork> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let mut listeners = Vec::new();
        for _ in 0..=hosts {
            let l = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
            let port = l.local_addr()?.port();
            listeners.push((l, port));
        }
        let ports: Vec<u16> = listeners.iter().map(|(_, p)| *p).collect();
        let proxy = ports[hosts];
        let (tx, incoming) = mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("client-network".into()).spawn(move || {
            runtime.block_on(async move {
                for (listener, port) in listeners {
                    let tx = tx.clone();
                    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
                        let tx = tx.clone();
                        async move { carry(tx, port, port == proxy, req).await }
                    });
                    tokio::spawn(async move { axum::serve(listener, app).await });
                }
                let _ = stopped.await;
            });
        })?;
        Ok(ClientNetwork {
            ports: ports[..hosts].to_vec(),
            proxy,
            incoming,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The host ports, in order.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// The proxy's port.
    pub fn proxy_port(&self) -> u16 {
        self.proxy
    }

    /// The next request, if one arrives within `wait`.
    pub fn next(&self, wait: Duration) -> Option<Incoming> {
        self.incoming.recv_timeout(wait).ok()
    }
}

impl Drop for ClientNetwork {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads `req`, hands it to the simulator thread and returns its answer.
async fn carry(
    tx: mpsc::Sender<Incoming>,
    port: u16,
    proxied: bool,
    req: axum::extract::Request,
) -> http::Response<Body> {
    let (parts, body) = req.into_parts();
    let bytes = match http_body_util::Limited::new(body, wire::MAX_BODY_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            let r = wire::oauth_error(http::StatusCode::BAD_REQUEST, "invalid_request", format!("body: {e}"));
            return r.map(Body::from);
        }
    };
    let (reply, answer) = oneshot::channel();
    let incoming = Incoming { port, proxied, request: http::Request::from_parts(parts, bytes), reply };
    if tx.send(incoming).is_err() {
        return unavailable("the harness is no longer running scenarios");
    }
    match tokio::time::timeout(ANSWER_WITHIN, answer).await {
        Ok(Ok(r)) => r.map(Body::from),
        _ => unavailable("the harness did not answer this request"),
    }
}

fn unavailable(why: &str) -> http::Response<Body> {
    let mut r = http::Response::new(Body::from(Bytes::from(why.to_string())));
    *r.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    r
}
