//! What an explored case is made of, as data: the topology (how many honest clients,
//! which attackers with which capabilities) and the actions, honest and hostile, with the
//! proptest strategies that draw them.
//!
//! Actions name clients, attackers and loot by small numbers taken modulo what exists
//! when the action runs, so every subsequence of a case is still a valid case: proptest
//! can shrink by deleting actions.

use crate::world::{MCP, OTHER_MCP};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// MCP server C, which exists only in cases that draw three MCP servers.
pub const THIRD_MCP: &str = "https://third.example/mcp";

/// One of the MCP servers of a case. An action naming a server the case did not draw
/// means the drawn server of that number modulo their count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Server {
    /// MCP server A (`https://mcp.example/mcp`), with the downstream `fetch_report` tool.
    A,
    /// MCP server B (`https://other.example/mcp`).
    B,
    /// MCP server C (`https://third.example/mcp`).
    C,
}

impl Server {
    /// Every server, in order.
    pub const ALL: [Server; 3] = [Server::A, Server::B, Server::C];

    /// The server's canonical URI.
    pub fn url(self) -> &'static str {
        match self {
            Server::A => MCP,
            Server::B => OTHER_MCP,
            Server::C => THIRD_MCP,
        }
    }

    /// The server whose canonical URI is `url`.
    pub fn of_url(url: &str) -> Option<Server> {
        Server::ALL.into_iter().find(|s| s.url() == url)
    }
}

/// The tools an MCP server offers and the scope each needs: one of a small pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolTable {
    /// `echo` (mcp:read), `write_note` (mcp:write), `admin_reset` (mcp:admin),
    /// `fetch_report` (mcp:read, server A only).
    Default,
    /// As [`ToolTable::Default`], but `echo` needs `mcp:write`.
    EchoNeedsWrite,
    /// Only `admin_reset` (mcp:admin).
    AdminOnly,
}

impl ToolTable {
    /// The table's name, as in case files.
    pub fn name(self) -> &'static str {
        match self {
            ToolTable::Default => "default",
            ToolTable::EchoNeedsWrite => "echo-needs-write",
            ToolTable::AdminOnly => "admin-only",
        }
    }

    /// The tools offered, each with the scope a call needs (`fetch_report` runs only at
    /// server A, which has the downstream API).
    pub fn tools(self) -> Vec<(Tool, &'static str)> {
        let default = [
            (Tool::Echo, "mcp:read"),
            (Tool::WriteNote, "mcp:write"),
            (Tool::AdminReset, "mcp:admin"),
            (Tool::FetchReport, "mcp:read"),
        ];
        match self {
            ToolTable::Default => default.to_vec(),
            ToolTable::EchoNeedsWrite => {
                default.map(|(t, s)| (t, if t == Tool::Echo { "mcp:write" } else { s })).to_vec()
            }
            ToolTable::AdminOnly => vec![(Tool::AdminReset, "mcp:admin")],
        }
    }

    /// The scope a call of `tool` needs, or `None` when the table does not offer it.
    pub fn required_scope(self, tool: Tool) -> Option<&'static str> {
        self.tools().into_iter().find(|(t, _)| *t == tool).map(|(_, s)| s)
    }

    /// The scopes the server publishes, in order (the first is challenged for at
    /// `initialize`).
    pub fn scopes_supported(self) -> Vec<&'static str> {
        match self {
            ToolTable::AdminOnly => vec!["mcp:admin"],
            ToolTable::Default | ToolTable::EchoNeedsWrite => vec!["mcp:read", "mcp:write", "mcp:admin"],
        }
    }
}

/// A tool of the MCP servers (the scope a call needs is in the server's [`ToolTable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tool {
    /// `echo` (mcp:read).
    Echo,
    /// `write_note` (mcp:write).
    WriteNote,
    /// `admin_reset` (mcp:admin).
    AdminReset,
    /// `fetch_report` (mcp:read; server A calls the downstream API).
    FetchReport,
}

impl Tool {
    /// The tool's name.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Echo => "echo",
            Tool::WriteNote => "write_note",
            Tool::AdminReset => "admin_reset",
            Tool::FetchReport => "fetch_report",
        }
    }

    /// The tool named `name`.
    pub fn named(name: &str) -> Option<Tool> {
        [Tool::Echo, Tool::WriteNote, Tool::AdminReset, Tool::FetchReport]
            .into_iter()
            .find(|t| t.name() == name)
    }

    /// Arguments that fit the tool's input schema.
    pub fn arguments(self) -> serde_json::Value {
        match self {
            Tool::Echo | Tool::WriteNote => serde_json::json!({"text": "hi"}),
            Tool::AdminReset | Tool::FetchReport => serde_json::json!({}),
        }
    }
}

/// What an attacker can see and do (a point of the attacker lattice of the design).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    /// Reads (and may intercept) authorization responses on the front channel: codes.
    pub front_channel: bool,
    /// Reads requests to MCP servers: access tokens and session ids.
    pub resource: bool,
    /// Reads code and refresh token requests the AS answered with tokens: codes with their
    /// verifiers and refresh tokens, already used; and may withhold an honest code request
    /// from the AS, keeping its code and verifier (see [`Action::WithholdNextTokenRequest`]).
    pub token_requests: bool,
    /// Registers a client of its own and completes its own authorizations.
    pub own_client: bool,
}

fn one() -> u8 {
    1
}

/// The parties of a case. The servers are those of [`crate::World`] (an authorization
/// server, the downstream API) with the MCP servers drawn (A, B, C in order), and a
/// second authorization server for B when drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// The tool tables of MCP servers A, B, C (1–3 of them). Empty in case files written
    /// before servers were drawn: A and B, both with the default table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<ToolTable>,
    /// Number of authorization servers (1–2). With 2, MCP server B trusts its own
    /// authorization server `https://as2.example` instead of `https://as.example`.
    #[serde(default = "one")]
    pub authorization_servers: u8,
    /// Number of honest public clients (1–3), named `honest0`…
    pub honest_clients: u8,
    /// Number of honest confidential clients (0–1, client credentials, pre-registered
    /// with scope `mcp:read`), named `service0`.
    #[serde(default)]
    pub confidential_clients: u8,
    /// The attackers (0–2), named `attacker0`… (their own client is `mallory0`…).
    pub attackers: Vec<Capabilities>,
    /// The honest public clients use DPoP (RFC 9449): the authorization servers bind
    /// their tokens to the client's key (`cnf.jkt`), and every request to an MCP server
    /// carries a proof by that key. An attacker that reads resource requests then steals
    /// bound tokens and the proofs that came with them, never the key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop: bool,
}

impl Topology {
    /// The MCP servers of the case with their tool tables, in order.
    pub fn servers(&self) -> Vec<(Server, ToolTable)> {
        let tables: &[ToolTable] =
            if self.mcp_servers.is_empty() { &[ToolTable::Default; 2] } else { &self.mcp_servers };
        Server::ALL.into_iter().zip(tables.iter().copied()).collect()
    }

    /// The drawn server an action's `server` means: the one of its number modulo the
    /// number of servers.
    pub fn server(&self, server: Server) -> Server {
        let n = self.servers().len().max(1);
        Server::ALL[(server as usize) % n]
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} AS, MCP servers", self.authorization_servers)?;
        for (server, table) in self.servers() {
            write!(f, " {server:?} [{}]", table.name())?;
        }
        write!(
            f,
            ", {} honest client(s){}, {} confidential client(s)",
            self.honest_clients,
            if self.dpop { " with DPoP" } else { "" },
            self.confidential_clients
        )?;
        for (i, c) in self.attackers.iter().enumerate() {
            let can: Vec<&str> = [
                (c.front_channel, "front-channel"),
                (c.resource, "resource"),
                (c.token_requests, "token-requests"),
                (c.own_client, "own-client"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| *name)
            .collect();
            write!(f, ", attacker{i} [{}]", can.join(" "))?;
        }
        Ok(())
    }
}

/// A network condition set by an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultProfile {
    /// A perfect network.
    Calm,
    /// Each message: 4 % drop, 4 % 503, 4 % duplicate, 4 % delay, 4 % reorder.
    Flaky,
}

/// What is hostile about the client metadata an attacker registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostileRegistration {
    /// It asks for `reports:read`, beyond the registration policy (`mcp:*`).
    ScopeBeyondPolicy,
    /// It sends a `client_id` of its choosing: an honest client's.
    ChosenClientId,
    /// Its redirect URI is plain `http` on a host that is not loopback.
    InsecureRedirect,
}

/// What is hostile about the metadata of the attacker's authorization server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostileAsMetadata {
    /// No `code_challenge_methods_supported` (no PKCE S256).
    NoS256,
    /// Its `issuer` is the trusted AS, not the origin it is served from.
    OtherIssuer,
}

impl HostileAsMetadata {
    /// Both kinds.
    pub const ALL: [HostileAsMetadata; 2] = [HostileAsMetadata::NoS256, HostileAsMetadata::OtherIssuer];

    /// The origin of the attacker's MCP server and authorization server serving this
    /// metadata.
    pub fn origin(self) -> &'static str {
        match self {
            HostileAsMetadata::NoS256 => "https://rogue-pkce.example",
            HostileAsMetadata::OtherIssuer => "https://rogue-issuer.example",
        }
    }
}

/// A parameter of an honest authorization request an attacker rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TamperedParam {
    /// `resource` becomes MCP server B.
    Resource,
    /// `redirect_uri` gets an extra path segment (`…/callback/evil`).
    RedirectUri,
}

/// How an attacker presents a code it withheld from the AS, with its verifier. Never as
/// the client it was issued to while the code is live: against that, no authorization
/// server has a defence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WithheldCodeUse {
    /// With its own client's registration (`client_id`): the code was issued to another
    /// client (RFC 6749 §4.1.3).
    OwnClient,
    /// As the client it was issued to, once the code's lifetime (at most 60 s) is over:
    /// time passes first when needed.
    AfterLifetime,
}

/// How an attacker presents a DPoP-bound access token it stole (with the honest proofs
/// it saw, never the key the token is bound to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DpopTheft {
    /// `Authorization: Bearer`, no proof (RFC 9449 §7.2: must be refused).
    AsBearer,
    /// `Authorization: DPoP`, no `DPoP` header.
    NoProof,
    /// `Authorization: DPoP` with a fresh proof for the request by the attacker's own key
    /// (its thumbprint is not the token's `cnf.jkt`).
    OwnKey,
    /// `Authorization: DPoP` with the honest proof it saw with the token, replayed on
    /// new requests (at the server of the action: the same URL, or another).
    ReplayedProof,
    /// `Authorization: DPoP` with a fresh unsigned proof (`alg: none`) whose header
    /// carries the public key of the honest proof: the token's key, which it cannot sign
    /// with.
    Unsigned,
}

impl DpopTheft {
    /// Every way.
    pub const ALL: [DpopTheft; 5] = [
        DpopTheft::AsBearer,
        DpopTheft::NoProof,
        DpopTheft::OwnKey,
        DpopTheft::ReplayedProof,
        DpopTheft::Unsigned,
    ];
}

/// One step of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// An honest client calls a tool; on the way it discovers, registers, authorizes,
    /// exchanges the code, refreshes or steps up as it needs.
    Call {
        /// Which honest client (modulo their number).
        client: u8,
        /// Where.
        server: Server,
        /// Which tool.
        tool: Tool,
    },
    /// An honest client calls `echo` at the attacker's MCP server
    /// `https://evil.example/mcp`, whose protected resource metadata names the trusted AS
    /// and claims to be MCP server A.
    CallHostile {
        /// Which honest client.
        client: u8,
    },
    /// The confidential client gets a token (client credentials) and calls a tool.
    ServiceCall {
        /// Where.
        server: Server,
        /// Which tool.
        tool: Tool,
    },
    /// An honest client refreshes its access token.
    Refresh {
        /// Which honest client.
        client: u8,
    },
    /// An honest client revokes its refresh token (RFC 7009).
    Revoke {
        /// Which honest client.
        client: u8,
    },
    /// Time passes.
    Wait {
        /// Seconds (up to 900: past the 600 s access-token lifetime).
        secs: u16,
    },
    /// The network changes.
    Network {
        /// The new condition.
        faults: FaultProfile,
    },
    /// The attacker intercepts the next authorization response on the front channel:
    /// it keeps the code, the client gets `error=access_denied`.
    InterceptNextCode {
        /// Which attacker (modulo their number).
        attacker: u8,
    },
    /// From now on the attacker's own client asks for every scope in its token requests
    /// (code redemptions and refreshes), whatever was consented to; it refreshes at once
    /// when it holds tokens.
    TamperOwnTokenRequests {
        /// Which attacker.
        attacker: u8,
    },
    /// The attacker redeems a code it saw, as the client it was issued to, with a
    /// `code_verifier` of its own.
    RedeemCode {
        /// Which attacker.
        attacker: u8,
        /// Which code of its loot (modulo).
        loot: u8,
    },
    /// The attacker replays a token request it saw, byte for byte.
    ReplayTokenRequest {
        /// Which attacker.
        attacker: u8,
        /// Which request of its loot.
        loot: u8,
    },
    /// The attacker refreshes with a refresh token it saw, as the client it belongs to.
    RefreshStolen {
        /// Which attacker.
        attacker: u8,
        /// Which refresh token of its loot.
        loot: u8,
    },
    /// The attacker calls a tool with an access token it saw, at any server.
    ReplayToken {
        /// Which attacker.
        attacker: u8,
        /// Which access token of its loot.
        loot: u8,
        /// Where it presents it.
        server: Server,
        /// Which tool.
        tool: Tool,
    },
    /// The attacker's own client calls a tool, with its own registration and consent.
    OwnFlow {
        /// Which attacker.
        attacker: u8,
        /// Where.
        server: Server,
        /// Which tool.
        tool: Tool,
    },
    /// The attacker calls a tool in a session id it saw, with its own token, else a token
    /// it saw of another principal, else none.
    HijackSession {
        /// Which attacker.
        attacker: u8,
        /// Which session of its loot.
        loot: u8,
        /// Which tool.
        tool: Tool,
    },
    /// The attacker registers a client (RFC 7591) with hostile metadata; the AS must
    /// refuse or narrow it.
    RegisterHostile {
        /// Which attacker (it needs its own client).
        attacker: u8,
        /// What is hostile about it.
        metadata: HostileRegistration,
    },
    /// An honest client calls `echo` at an attacker's MCP server, whose protected
    /// resource metadata names the attacker's authorization server, which serves hostile
    /// metadata; the client must not register, authorize or redeem there.
    CallRogueAs {
        /// Which honest client.
        client: u8,
        /// What is hostile about the metadata.
        metadata: HostileAsMetadata,
    },
    /// The attacker rewrites a parameter of the next honest authorization request on the
    /// front channel.
    TamperAuthorization {
        /// Which attacker (it needs the front channel).
        attacker: u8,
        /// Which parameter.
        param: TamperedParam,
    },
    /// The attacker withholds the next honest code request from the AS (the client sees
    /// a timeout) and keeps its code with the `code_verifier`.
    WithholdNextTokenRequest {
        /// Which attacker (it needs to read token requests).
        attacker: u8,
    },
    /// The attacker redeems a code it withheld, with its verifier.
    RedeemWithheldCode {
        /// Which attacker.
        attacker: u8,
        /// Which withheld code (modulo).
        loot: u8,
        /// As which client, and when.
        how: WithheldCodeUse,
    },
    /// The attacker sends a JSON-RPC batch of two tool calls with its own client's token
    /// for the server (its own client first calls `first` there when it holds none).
    BatchCall {
        /// Which attacker (it needs its own client).
        attacker: u8,
        /// Where.
        server: Server,
        /// The first call of the batch.
        first: Tool,
        /// The second call.
        then: Tool,
    },
    /// The attacker (it needs to read resource requests) presents a DPoP-bound access
    /// token it saw at an MCP server, without the key it is bound to: it opens a session
    /// and calls a tool there, each request presented as `how` says.
    StealDpopToken {
        /// Which attacker.
        attacker: u8,
        /// Which bound token (with the proof it came with) of its loot (modulo).
        loot: u8,
        /// Where it presents it.
        server: Server,
        /// Which tool.
        tool: Tool,
        /// How it presents it.
        how: DpopTheft,
    },
    /// The attacker's second own client, which spells every scope it asks for in upper
    /// case (`MCP:WRITE`: a scope of its own, which the AS also defines; scope strings are
    /// case-sensitive, RFC 6749 §3.3), calls a tool.
    UpperCaseScopeFlow {
        /// Which attacker (it needs its own client).
        attacker: u8,
        /// Where.
        server: Server,
        /// Which tool.
        tool: Tool,
    },
}

/// The scopes the authorization servers define besides the ones MCP servers' tables name:
/// the same words in upper case, distinct scopes (RFC 6749 §3.3) that no table names,
/// granted to any client registered for them.
pub const UPPER_CASE_SCOPES: [&str; 3] = ["MCP:READ", "MCP:WRITE", "MCP:ADMIN"];

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Call { client, server, tool } => {
                write!(f, "honest{client} calls {} at {server:?}", tool.name())
            }
            Action::CallHostile { client } => write!(f, "honest{client} calls echo at the hostile server"),
            Action::ServiceCall { server, tool } => write!(f, "service0 calls {} at {server:?}", tool.name()),
            Action::Refresh { client } => write!(f, "honest{client} refreshes"),
            Action::Revoke { client } => write!(f, "honest{client} revokes its refresh token"),
            Action::Wait { secs } => write!(f, "{secs} s pass"),
            Action::Network { faults } => write!(f, "network becomes {faults:?}"),
            Action::InterceptNextCode { attacker } => {
                write!(f, "attacker{attacker} intercepts the next code")
            }
            Action::TamperOwnTokenRequests { attacker } => {
                write!(f, "attacker{attacker} widens the scope of its own token requests")
            }
            Action::RedeemCode { attacker, loot } => {
                write!(f, "attacker{attacker} redeems stolen code #{loot}")
            }
            Action::ReplayTokenRequest { attacker, loot } => {
                write!(f, "attacker{attacker} replays token request #{loot}")
            }
            Action::RefreshStolen { attacker, loot } => {
                write!(f, "attacker{attacker} refreshes with stolen refresh token #{loot}")
            }
            Action::ReplayToken { attacker, loot, server, tool } => {
                write!(
                    f,
                    "attacker{attacker} calls {} at {server:?} with stolen access token #{loot}",
                    tool.name()
                )
            }
            Action::OwnFlow { attacker, server, tool } => {
                write!(f, "attacker{attacker}'s own client calls {} at {server:?}", tool.name())
            }
            Action::HijackSession { attacker, loot, tool } => {
                write!(f, "attacker{attacker} calls {} in stolen session #{loot}", tool.name())
            }
            Action::RegisterHostile { attacker, metadata } => {
                write!(f, "attacker{attacker} registers a client with hostile metadata ({metadata:?})")
            }
            Action::CallRogueAs { client, metadata } => {
                write!(
                    f,
                    "honest{client} calls echo at a server whose AS serves hostile metadata ({metadata:?})"
                )
            }
            Action::TamperAuthorization { attacker, param } => {
                write!(f, "attacker{attacker} rewrites {param:?} of the next authorization request")
            }
            Action::WithholdNextTokenRequest { attacker } => {
                write!(f, "attacker{attacker} withholds the next code request from the AS")
            }
            Action::RedeemWithheldCode { attacker, loot, how } => match how {
                WithheldCodeUse::OwnClient => {
                    write!(f, "attacker{attacker} redeems withheld code #{loot} as its own client")
                }
                WithheldCodeUse::AfterLifetime => write!(
                    f,
                    "attacker{attacker} redeems withheld code #{loot} as its client, after the code's lifetime"
                ),
            },
            Action::BatchCall { attacker, server, first, then } => write!(
                f,
                "attacker{attacker} calls {} then {} in one batch at {server:?} with its own token",
                first.name(),
                then.name()
            ),
            Action::UpperCaseScopeFlow { attacker, server, tool } => {
                write!(f, "attacker{attacker}'s upper-case-scope client calls {} at {server:?}", tool.name())
            }
            Action::StealDpopToken { attacker, loot, server, tool, how } => {
                let way = match how {
                    DpopTheft::AsBearer => "as a Bearer token",
                    DpopTheft::NoProof => "as DPoP without a proof",
                    DpopTheft::OwnKey => "with proofs by its own key",
                    DpopTheft::ReplayedProof => "with the honest proof replayed",
                    DpopTheft::Unsigned => "with unsigned proofs naming its key",
                };
                write!(
                    f,
                    "attacker{attacker} calls {} at {server:?} with stolen DPoP-bound token #{loot} {way}",
                    tool.name()
                )
            }
        }
    }
}

fn server() -> impl Strategy<Value = Server> {
    prop_oneof![Just(Server::A), Just(Server::B), Just(Server::C)]
}

fn tool_table() -> impl Strategy<Value = ToolTable> {
    prop_oneof![2 => Just(ToolTable::Default), 1 => Just(ToolTable::EchoNeedsWrite), 1 => Just(ToolTable::AdminOnly)]
}

fn tool() -> impl Strategy<Value = Tool> {
    prop_oneof![Just(Tool::Echo), Just(Tool::WriteNote), Just(Tool::AdminReset), Just(Tool::FetchReport)]
}

/// Topologies: 1–2 authorization servers, 1–3 MCP servers with drawn tool tables, 1–3
/// honest public clients (using DPoP in about a third of the cases), 0–1 confidential
/// client, 0–2 attackers with drawn capabilities.
pub fn topology() -> impl Strategy<Value = Topology> {
    let capabilities = (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(front_channel, resource, token_requests, own_client)| Capabilities {
            front_channel,
            resource,
            token_requests,
            own_client,
        },
    );
    let servers = proptest::collection::vec(tool_table(), 1..=3);
    let dpop = proptest::bool::weighted(1.0 / 3.0);
    (servers, 1u8..=2, 1u8..=3, 0u8..=1, proptest::collection::vec(capabilities, 0..=2), dpop).prop_map(
        |(mcp_servers, authorization_servers, honest_clients, confidential_clients, attackers, dpop)| {
            Topology {
                mcp_servers,
                authorization_servers,
                honest_clients,
                confidential_clients,
                attackers,
                dpop,
            }
        },
    )
}

/// One action; honest ones are drawn more often than hostile ones.
pub fn action() -> impl Strategy<Value = Action> {
    let small = 0u8..3;
    prop_oneof![
        6 => (small.clone(), server(), tool()).prop_map(|(client, server, tool)| Action::Call { client, server, tool }),
        1 => small.clone().prop_map(|client| Action::CallHostile { client }),
        2 => (server(), tool()).prop_map(|(server, tool)| Action::ServiceCall { server, tool }),
        2 => small.clone().prop_map(|client| Action::Refresh { client }),
        1 => small.clone().prop_map(|client| Action::Revoke { client }),
        1 => prop_oneof![1u16..60, 540u16..900].prop_map(|secs| Action::Wait { secs }),
        1 => prop_oneof![Just(FaultProfile::Calm), Just(FaultProfile::Flaky)].prop_map(|faults| Action::Network { faults }),
        2 => small.clone().prop_map(|attacker| Action::InterceptNextCode { attacker }),
        1 => small.clone().prop_map(|attacker| Action::TamperOwnTokenRequests { attacker }),
        2 => (small.clone(), small.clone()).prop_map(|(attacker, loot)| Action::RedeemCode { attacker, loot }),
        1 => (small.clone(), small.clone()).prop_map(|(attacker, loot)| Action::ReplayTokenRequest { attacker, loot }),
        1 => (small.clone(), small.clone()).prop_map(|(attacker, loot)| Action::RefreshStolen { attacker, loot }),
        2 => (small.clone(), small.clone(), server(), tool())
            .prop_map(|(attacker, loot, server, tool)| Action::ReplayToken { attacker, loot, server, tool }),
        1 => (small.clone(), server(), tool()).prop_map(|(attacker, server, tool)| Action::OwnFlow { attacker, server, tool }),
        1 => (small.clone(), small.clone(), tool()).prop_map(|(attacker, loot, tool)| Action::HijackSession { attacker, loot, tool }),
        1 => (small.clone(), prop_oneof![
            Just(HostileRegistration::ScopeBeyondPolicy),
            Just(HostileRegistration::ChosenClientId),
            Just(HostileRegistration::InsecureRedirect),
        ]).prop_map(|(attacker, metadata)| Action::RegisterHostile { attacker, metadata }),
        1 => (small.clone(), prop_oneof![Just(HostileAsMetadata::NoS256), Just(HostileAsMetadata::OtherIssuer)])
            .prop_map(|(client, metadata)| Action::CallRogueAs { client, metadata }),
        1 => (small.clone(), prop_oneof![Just(TamperedParam::Resource), Just(TamperedParam::RedirectUri)])
            .prop_map(|(attacker, param)| Action::TamperAuthorization { attacker, param }),
        2 => small.clone().prop_map(|attacker| Action::WithholdNextTokenRequest { attacker }),
        2 => (small.clone(), small.clone(), prop_oneof![Just(WithheldCodeUse::OwnClient), Just(WithheldCodeUse::AfterLifetime)])
            .prop_map(|(attacker, loot, how)| Action::RedeemWithheldCode { attacker, loot, how }),
        1 => (small.clone(), server(), tool(), tool())
            .prop_map(|(attacker, server, first, then)| Action::BatchCall { attacker, server, first, then }),
        1 => (small.clone(), server(), tool()).prop_map(|(attacker, server, tool)| Action::UpperCaseScopeFlow { attacker, server, tool }),
        2 => (small.clone(), small, server(), tool(), proptest::sample::select(DpopTheft::ALL.to_vec()))
            .prop_map(|(attacker, loot, server, tool, how)| Action::StealDpopToken { attacker, loot, server, tool, how }),
    ]
}

/// A topology and up to `max_actions` actions.
pub fn case(max_actions: usize) -> impl Strategy<Value = (Topology, Vec<Action>)> {
    (topology(), proptest::collection::vec(action(), 1..=max_actions.max(1)))
}
