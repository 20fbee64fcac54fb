//! The token validation matrix (RS-VAL-*, RS-CHAL-04): malformed, unsigned, HMAC-confused,
//! expired, `exp`-less, wrongly typed, foreign-issuer, attacker-signed and `aud`-less
//! tokens are refused with 401 (the MUST), the code `invalid_token` graded once as the
//! SHOULD it is; unknown `kid`s trigger at most one JWKS refetch.

use super::*;
use mcp_authz_reference::jwt::{Algorithm, Jwk};

/// Tokens that are not JWTs, or JWTs that do not parse.
const MALFORMED_TOKENS: [&str; 5] =
    ["garbage", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30", "eyJ0eXAiOiJKV1QifQ.e30.AAAA", "e30.e30.e30"];

pub(super) fn malformed_tokens(w: &mut World) -> Check {
    let outcomes = MALFORMED_TOKENS
        .into_iter()
        .map(|token| {
            let what = format!("token `{token}`");
            let check = expect_invalid_token(w, token, &what);
            (what, check)
        })
        .collect();
    all_variants(w, outcomes)
}

/// RS-09 through OAuth 2.1 §5.3.1 (RFC 6750 §3.1): "If the protected resource request
/// included an access token and failed authentication, the resource server SHOULD include
/// the `error` attribute" — `invalid_token` for a malformed, expired or foreign token. The
/// refusal itself (401) is each validation case's MUST; this case grades the code once.
pub(super) fn refusal_names_invalid_token(w: &mut World) -> Check {
    let now = w.now().unix_secs();
    let expired =
        w.try_mint(&AccessTokenClaims { exp: Some(now - 3600), iat: Some(now - 4200), ..read_claims(w) });
    let foreign = w.try_mint(&AccessTokenClaims { aud: Audience::one(OTHER_MCP), ..read_claims(w) });
    let read = w.tools.read.clone();
    let tokens = [
        ("malformed", Ok(MALFORMED_TOKENS[0].to_string())),
        ("expired", expired),
        ("for another server", foreign),
    ];
    let outcomes = tokens
        .into_iter()
        .map(|(what, token)| {
            let token = match token {
                Ok(token) => token,
                Err(skip) => return (format!("a {what} token"), Check::NotApplicable(skip.0)),
            };
            let r = w.call("attacker", &token, &read);
            let check = match response(&r).map(status_and_challenge_error) {
                Some((401, Some(ErrorCode::InvalidToken))) => Check::Holds,
                Some((401, _)) => Check::Violated(Violation::about(
                    format!("a {what} token"),
                    "a challenge with error=\"invalid_token\"",
                    describe(&r),
                )),
                _ => Check::NotApplicable(format!("the {what} token was not answered 401: {}", describe(&r))),
            };
            (format!("a {what} token"), check)
        })
        .collect();
    all_variants(w, outcomes)
}

pub(super) fn alg_none(w: &mut World) -> Check {
    let token = jwt::encode_unsigned(&read_claims(w));
    expect_invalid_token(w, &token, "alg none")
}

/// HS256 keyed with each public key the trusted AS publishes, under its `kid`, in each
/// form a verifier may hold it in as a "secret": the JSON of its JWK, its
/// SubjectPublicKeyInfo PEM, and an RSA key's PKCS #1 PEM. A verifier that takes the
/// algorithm from the token verifies one of them.
pub(super) fn hmac_confusion(w: &mut World) -> Check {
    let keys = w.trusted_keys();
    if keys.is_empty() {
        return Check::NotApplicable(
            "no published key of the trusted AS is known (its JWKS was not read)".into(),
        );
    }
    let mut outcomes = Vec::new();
    for jwk in &keys {
        let kid = jwk.kid.clone().unwrap_or_default();
        let forms = [
            ("the JSON of its JWK", serde_json::to_vec(jwk).ok()),
            ("its PEM", jwk.spki_pem().map(String::into_bytes)),
            ("its PKCS #1 PEM", jwk.pkcs1_pem().map(String::into_bytes)),
        ];
        for (form, secret) in forms {
            let Some(secret) = secret else { continue };
            let what = format!("HS256 keyed with {form}, kid `{kid}`");
            let check = match read_claims(w).sign(&SigningKey::hmac(kid.as_str(), &secret)) {
                Ok(token) => expect_invalid_token(w, &token, &what),
                Err(e) => Check::Undecided(format!("cannot sign HS256: {e}")),
            };
            outcomes.push((what, check));
        }
    }
    all_variants(w, outcomes)
}

pub(super) fn time_claims(w: &mut World) -> Check {
    let now = w.now().unix_secs();
    let variants = [
        (
            "expired an hour ago",
            AccessTokenClaims { exp: Some(now - 3600), iat: Some(now - 4200), ..read_claims(w) },
        ),
        ("nbf an hour ahead", AccessTokenClaims { nbf: Some(now + 3600), ..read_claims(w) }),
    ];
    let outcomes = variants
        .into_iter()
        .map(|(what, claims)| {
            // A target with real tokens may give the expired one (waited out) but not the other.
            let check = match w.try_mint(&claims) {
                Ok(token) => expect_invalid_token(w, &token, what),
                Err(skip) => Check::NotApplicable(skip.0),
            };
            (what.to_string(), check)
        })
        .collect();
    all_variants(w, outcomes)
}

pub(super) fn missing_exp(w: &mut World) -> Check {
    let token = w.mint(&AccessTokenClaims { exp: None, ..read_claims(w) });
    expect_invalid_token(w, &token, "no exp")
}

pub(super) fn wrong_typ(w: &mut World) -> Check {
    let claims = read_claims(w);
    let token = w.with_signing_key(|key| {
        let header = JoseHeader {
            alg: key.alg().name().into(),
            typ: Some("JWT".into()),
            kid: Some(key.kid().into()),
            crit: None,
        };
        jwt::encode_with_header(key, &header, &claims)
    });
    let token = match token {
        Ok(Ok(token)) => token,
        Ok(Err(e)) => return Check::Undecided(format!("cannot sign: {e}")),
        Err(cannot) => return cannot,
    };
    // The level is the source sentence's: the resource server's own MUST.
    let why = "RFC 9068 §4: the resource server MUST verify that typ is at+jwt or application/at+jwt and \
               reject tokens carrying any other value";
    refused_because(w, &token, "typ JWT (an ID token, say)", why)
}

pub(super) fn wrong_issuer(w: &mut World) -> Check {
    let token = w.mint(&AccessTokenClaims { iss: EVIL.into(), ..read_claims(w) });
    expect_invalid_token(w, &token, "iss https://evil.example")
}

pub(super) fn attacker_signed(w: &mut World) -> Check {
    let Some((kid, alg)) = w.trusted_keys().first().and_then(kid_and_alg) else {
        return Check::NotApplicable("no published key of the trusted AS with a kid is known".into());
    };
    let key = w.generate_key(alg, &kid);
    let token = w.claims(&w.tools.all_scopes()).sign(&key).expect("signs");
    expect_invalid_token(w, &token, "signed by the attacker under the AS's kid")
}

/// A hardening, graded as a SHOULD: no sentence of MCP, OAuth 2.1 §5.2, RFC 9068 or RFC
/// 7517 bounds how often a resource server fetches the JWKS, but one that fetches it for
/// every unknown `kid` lets anyone make it hammer the AS.
pub(super) fn jwks_refetch_limited(w: &mut World) -> Check {
    let good = w.mint(&read_claims(w));
    let read = w.tools.read.clone();
    let _ = w.call("client", &good, &read);
    let before = match w.jwks_requests() {
        Ok(n) => n,
        Err(cannot) => return cannot,
    };
    let Some((_, alg)) = w.trusted_keys().first().and_then(kid_and_alg) else {
        return Check::NotApplicable("no published key of the trusted AS is known".into());
    };
    let url = w.mcp.clone();
    for i in 0..10 {
        let key = w.generate_key(alg, &format!("unknown-{i}"));
        let token = read_claims(w).sign(&key).expect("signs");
        let _ = w.open("attacker", &url, Some(&token));
    }
    let fetched = match w.jwks_requests() {
        Ok(n) => n - before,
        Err(cannot) => return cannot,
    };
    Check::expect(fetched <= 1, || {
        Violation::about("10 tokens with unknown kids", "at most 1 JWKS fetch at the AS", fetched.to_string())
    })
}

pub(super) fn missing_audience(w: &mut World) -> Check {
    let token = w.mint(&AccessTokenClaims { aud: Audience::None, ..read_claims(w) });
    expect_invalid_token(w, &token, "no aud")
}

/// The `kid` and algorithm of a published key: its `alg`, else the one its type signs
/// with (`EC` P-256: ES256, `OKP`: EdDSA, `RSA`: RS256).
fn kid_and_alg(jwk: &Jwk) -> Option<(String, Algorithm)> {
    let alg = match jwk.alg.as_deref() {
        Some(alg) => Algorithm::parse(alg)?,
        None => match jwk.kty.as_str() {
            "EC" => Algorithm::ES256,
            "OKP" => Algorithm::EdDSA,
            "RSA" => Algorithm::RS256,
            _ => return None,
        },
    };
    Some((jwk.kid.clone()?, alg))
}
