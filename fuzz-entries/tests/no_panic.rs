//! No-panic properties for every parser of peer input, on the stable toolchain: the fuzz
//! target bodies over arbitrary bytes and over inputs shaped like their format.

use mcp_authz_fuzz_entries::{differential, parsers, roles};
use proptest::prelude::*;

/// Text drawn from the characters the formats are made of, so that the parsers get past
/// their first check.
fn shaped(alphabet: &'static str) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(alphabet.as_bytes().to_vec()), 0..160)
}

const JSON: &str = "{}[]\":,0123456789.eE-+ truefalsnul\\abcxyz_/";
const HEADER: &str = "Bearer bearer Basic realm=\"\\, \t=abc+/-._~";
const FORM: &str = "&=%+0123456789ABCDEFabcdef_-.~ ";
const URL: &str = "https://127.0.0.1:7777/cb?#&=%+codestaiserrorx";
const JWT: &str = "eyJhbGciOiJFUzI1NiJ9.-_ABCDEFabcdef0123456789";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn json_parsers_never_panic(data in prop_oneof![any::<Vec<u8>>(), shaped(JSON)]) {
        parsers::jwks(&data);
        parsers::metadata_documents(&data);
        parsers::client_id_metadata(&data);
        parsers::registration(&data);
        parsers::token_response(&data);
        parsers::jsonrpc(&data);
    }

    #[test]
    fn header_parsers_never_panic(data in prop_oneof![any::<Vec<u8>>(), shaped(HEADER)]) {
        parsers::www_authenticate(&data);
        parsers::authorization_header(&data);
    }

    #[test]
    fn form_and_url_parsers_never_panic(data in prop_oneof![any::<Vec<u8>>(), shaped(FORM), shaped(URL)]) {
        parsers::form_params(&data);
        parsers::authorization_response(&data);
    }

    #[test]
    fn jwt_parser_never_panics(data in prop_oneof![any::<Vec<u8>>(), shaped(JWT)]) {
        parsers::jwt_compact(&data);
        differential::replay(&data);
    }

    #[test]
    fn role_engines_never_break_an_invariant(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        roles::authorization_server(&data);
        roles::mcp_server(&data);
    }
}
