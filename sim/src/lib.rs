//! The mcp-authz simulator: the deterministic in-process network the reference roles of
//! `mcp-authz-reference` run in, the scenario model, and the reports.
//!
//! This crate has no async runtime and no sockets: everything in it is driven by an
//! explicit clock and one seeded RNG, so the same seed gives the same trace. Real HTTP
//! (serving the roles, reaching live targets, running a client under test as a process)
//! is the `mcp-authz-live` crate's.
//!
//! - [`sim`]: the simulator (hosts, channels, faults, the adversary's interceptors);
//!   [`trace`] reads its trace back.
//! - [`network`]: what a browser or a client driver needs of a network; the simulator is one.
//! - [`party`]: who sends a message ([`party::Party`]).
//! - [`browser`]: a user agent with cookies that signs in through login and consent forms.
//! - [`driver`]: runs a sans-IO client from its first step to its end over a [`network::Network`].
//! - [`scenario`]: the scenario model (roles, levels, needs, verdicts, adversary capabilities).
//! - [`report`]: text, JSON, JUnit and HTML reports; [`baseline`]: expected failures.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod baseline;
pub mod browser;
pub mod driver;
pub mod network;
pub mod party;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod trace;
