//! The bodies of the fuzz targets of `fuzz/`, one function per target, each taking the
//! raw fuzzer input. The cargo-fuzz binaries are one-line wrappers around these, and the
//! corpus replay test (`tests/corpus_replay.rs`) runs every committed corpus file and
//! crash reproducer through the same functions on the stable toolchain.
//!
//! Every function panics only when an invariant breaks: a parser of peer input panics, a
//! round trip `parse(serialize(x)) == x` fails, an authorization code is redeemed twice,
//! a side-effecting tool runs without a valid token carrying its scope.
//!
//! The differential target compares [`differential::ours`] with `jsonwebtoken`, which
//! lives only in `fuzz/Cargo.toml`; here its input is built and checked without the
//! oracle (see [`differential`]).
#![forbid(unsafe_code)]

pub mod differential;
pub mod parsers;
pub mod roles;

/// A fuzz target body: the raw fuzzer input in, a panic on a broken invariant.
pub type Entry = fn(&[u8]);

/// Every target: its name (the cargo-fuzz binary and `fuzz/corpus/<name>/`) and its body.
pub const TARGETS: &[(&str, Entry)] = &[
    ("jwt_compact", parsers::jwt_compact),
    ("jwks", parsers::jwks),
    ("metadata_documents", parsers::metadata_documents),
    ("client_id_metadata", parsers::client_id_metadata),
    ("www_authenticate", parsers::www_authenticate),
    ("authorization_header", parsers::authorization_header),
    ("registration", parsers::registration),
    ("form_params", parsers::form_params),
    ("token_response", parsers::token_response),
    ("authorization_response", parsers::authorization_response),
    ("jsonrpc", parsers::jsonrpc),
    ("authorization_server", roles::authorization_server),
    ("mcp_server", roles::mcp_server),
    ("access_token_differential", differential::replay),
];
