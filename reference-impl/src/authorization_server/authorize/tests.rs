//! Tests of the authorization endpoint and its login and consent form.

use super::super::test_support::*;
use super::*;

#[test]
fn loopback_port_may_vary_but_nothing_else() {
    let reg = "http://127.0.0.1:1234/cb";
    assert!(redirect_uri_matches(reg, "http://127.0.0.1:5555/cb"));
    assert!(redirect_uri_matches(reg, "http://127.0.0.1/cb"));
    assert!(redirect_uri_matches("http://[::1]/cb", "http://[::1]:80/cb"));
    for bad in [
        "http://127.0.0.1:1234/cb/",
        "http://127.0.0.1:1234/CB",
        "http://127.0.0.1:1234/cb?x=1",
        "http://127.0.0.1:1234/cb#f",
        "http://127.0.0.1.evil.example/cb",
        "http://127.0.0.1:1234@evil.example/cb",
        "https://127.0.0.1:1234/cb",
        "http://localhost:1234/cb",
    ] {
        assert!(!redirect_uri_matches(reg, bad), "{bad}");
    }
    assert!(!redirect_uri_matches("https://app.example/cb", "https://app.example:8443/cb"));
}

#[test]
fn auto_approve_redirects_with_code_state_and_iss() {
    let mut t = Tester::new();
    let r = t.authorize(&[]);
    assert_eq!(r.status(), StatusCode::FOUND);
    let q = location_params(&r);
    assert!(location(&r).starts_with(REDIRECT));
    assert_eq!(q.get("state"), Some(STATE));
    assert_eq!(q.get("iss"), Some(ISSUER));
    assert_eq!(q.get("code").map(str::len), Some(43));
}

#[test]
fn unknown_client_or_redirect_uri_gets_an_error_page() {
    let mut t = Tester::new();
    let cases: [(Changes<'_>, &str); 5] = [
        (&[("client_id", Some("nobody"))], "invalid_client"),
        (&[("client_id", None)], "invalid_request"),
        (&[("redirect_uri", Some("https://evil.example/cb"))], "invalid_request"),
        (&[("redirect_uri", Some("http://127.0.0.1:7777/callback/x"))], "invalid_request"),
        (&[("redirect_uri", None)], "invalid_request"),
    ];
    for (changes, error) in cases {
        let r = t.authorize(changes);
        assert_eq!(page_error(&r), (400, error.to_string()), "{changes:?}");
        assert!(r.headers().get("location").is_none());
    }
}

#[test]
fn repeated_parameter_gets_an_error_page() {
    let mut t = Tester::new();
    let r = t.get(&format!("/authorize?{}&state=again", authorize_query(&[])));
    assert_eq!(page_error(&r), (400, "invalid_request".into()));
}

#[test]
fn request_errors_redirect_with_state_and_iss() {
    let mut t = Tester::new();
    let cases: [(Changes<'_>, &str); 10] = [
        (&[("response_type", Some("token"))], "unsupported_response_type"),
        (&[("response_type", None)], "invalid_request"),
        (&[("code_challenge", None)], "invalid_request"),
        (&[("code_challenge_method", Some("plain"))], "invalid_request"),
        (&[("code_challenge_method", None)], "invalid_request"),
        (&[("code_challenge", Some("short"))], "invalid_request"),
        (&[("resource", None)], "invalid_target"),
        (&[("resource", Some("http://127.0.0.1:9001/other"))], "invalid_target"),
        (&[("scope", Some("mcp:read mcp:admin"))], "invalid_scope"),
        (&[("scope", Some("unknown"))], "invalid_scope"),
    ];
    for (changes, error) in cases {
        let r = t.authorize(changes);
        assert_eq!(r.status(), StatusCode::FOUND, "{changes:?}");
        let q = location_params(&r);
        assert_eq!(q.get("error"), Some(error), "{changes:?}");
        assert_eq!(q.get("state"), Some(STATE));
        assert_eq!(q.get("iss"), Some(ISSUER));
    }
}

#[test]
fn client_without_the_code_grant_is_unauthorized() {
    let mut t = Tester::new();
    let mut c = t.server.clients[CLIENT].clone();
    c.grant_types = vec!["refresh_token".into()];
    t.server.register_client(c);
    assert_eq!(location_params(&t.authorize(&[])).get("error"), Some("unauthorized_client"));
}

#[test]
fn resource_is_compared_canonically() {
    let mut t = Tester::new();
    let r = t.authorize(&[("resource", Some("HTTP://127.0.0.1:9001/mcp/"))]);
    assert!(location_params(&r).get("code").is_some());
}

#[test]
fn consent_form_escapes_and_protects() {
    let mut t = Tester::with_form();
    let mut c = t.server.clients[CLIENT].clone();
    c.client_name = Some("<script>x</script>".into());
    t.server.register_client(c);
    let r = t.authorize(&[]);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let body = std::str::from_utf8(r.body()).unwrap();
    assert!(body.contains("&lt;script&gt;x&lt;/script&gt;") && !body.contains("<script>"));
    assert!(body.contains("<strong id=\"redirect-host\">127.0.0.1</strong>"));
    assert!(body.contains("localhost"), "loopback redirect warning");
    assert!(body.contains("mcp:read") && body.contains("mcp:write"));
}

#[test]
fn consent_approve_answers_303_with_the_code() {
    let mut t = Tester::with_form();
    let csrf = csrf_of(&t.authorize(&[]));
    let r = t.consent(&csrf, "alice", "alice", "approve");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let q = location_params(&r);
    assert_eq!((q.get("state"), q.get("iss")), (Some(STATE), Some(ISSUER)));
    let token = t.exchange(q.get("code").unwrap());
    assert_eq!(token["token_type"], "Bearer");
}

#[test]
fn consent_csrf_is_one_time() {
    let mut t = Tester::with_form();
    let csrf = csrf_of(&t.authorize(&[]));
    assert_eq!(
        page_error(&t.consent("forged", "alice", "alice", "approve")),
        (400, "invalid_request".into())
    );
    assert_eq!(t.consent(&csrf, "alice", "alice", "approve").status(), StatusCode::SEE_OTHER);
    assert_eq!(page_error(&t.consent(&csrf, "alice", "alice", "approve")), (400, "invalid_request".into()));
}

#[test]
fn consent_form_expires() {
    let mut t = Tester::with_form();
    let csrf = csrf_of(&t.authorize(&[]));
    t.advance(CONSENT_TTL.as_secs() + 1);
    assert_eq!(page_error(&t.consent(&csrf, "alice", "alice", "approve")), (400, "invalid_request".into()));
}

#[test]
fn wrong_password_shows_the_form_again() {
    let mut t = Tester::with_form();
    let csrf = csrf_of(&t.authorize(&[]));
    let r = t.consent(&csrf, "alice", "wrong", "approve");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("location").is_none());
    assert!(std::str::from_utf8(r.body()).unwrap().contains("Wrong username or password"));
    let again = csrf_of(&r);
    assert_ne!(again, csrf);
    assert_eq!(t.consent(&again, "alice", "alice", "approve").status(), StatusCode::SEE_OTHER);
}

#[test]
fn deny_redirects_with_access_denied() {
    let mut t = Tester::with_form();
    let csrf = csrf_of(&t.authorize(&[]));
    let r = t.consent(&csrf, "", "", "deny");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let q = location_params(&r);
    assert_eq!(q.get("error"), Some("access_denied"));
    assert_eq!((q.get("state"), q.get("iss")), (Some(STATE), Some(ISSUER)));
}

/// Every authorization response the server sends, a code or an error, with the `iss` it
/// carries (RFC 9207 §2): auto-approved and consented codes, `access_denied`, and the
/// request errors redirected to the client.
fn every_authorization_response(defect: Option<Defect>) -> Vec<(String, Params)> {
    let tester = |form: bool| match (form, defect) {
        (false, None) => Tester::new(),
        (true, None) => Tester::with_form(),
        (false, Some(d)) => Tester::with_defect(d),
        (true, Some(d)) => Tester::with_form_defect(d),
    };
    let mut out = vec![("code".to_string(), location_params(&tester(false).authorize(&[])))];
    let mut t = tester(true);
    for action in ["approve", "deny"] {
        let csrf = csrf_of(&t.authorize(&[]));
        let r = t.consent(&csrf, "alice", "alice", action);
        out.push((format!("consent {action}"), location_params(&r)));
    }
    let errors: [Changes<'_>; 4] = [
        &[("scope", Some("unknown"))],
        &[("response_type", Some("token"))],
        &[("code_challenge_method", Some("plain"))],
        &[("resource", Some("http://127.0.0.1:9001/other"))],
    ];
    let mut t = tester(false);
    for changes in errors {
        out.push((format!("{changes:?}"), location_params(&t.authorize(changes))));
    }
    out
}

#[test]
fn every_authorization_response_carries_iss_errors_included() {
    let responses = every_authorization_response(None);
    let errors = responses.iter().filter(|(_, q)| q.get("error").is_some()).count();
    assert_eq!(errors, 5, "access_denied and four request errors");
    for (what, q) in &responses {
        assert_eq!((q.get("state"), q.get("iss")), (Some(STATE), Some(ISSUER)), "{what}");
    }
    let metadata = Tester::new().server.metadata();
    assert_eq!(metadata.authorization_response_iss_parameter_supported, Some(true));
}

#[test]
fn consent_post_needs_a_form() {
    let mut t = Tester::with_form();
    let r = t.post_json("/authorize", "{}");
    assert_eq!(page_error(&r), (400, "invalid_request".into()));
    let csrf = csrf_of(&t.authorize(&[]));
    assert_eq!(page_error(&t.consent(&csrf, "alice", "alice", "maybe")), (400, "invalid_request".into()));
}

mod defects {
    use super::super::super::test_support::*;
    use crate::defects::Defect;
    use http::StatusCode;

    #[test]
    fn accept_pkce_plain() {
        let plain = [("code_challenge", Some(VERIFIER)), ("code_challenge_method", Some("plain"))];
        let r = Tester::new().authorize(&plain);
        assert_eq!(location_params(&r).get("error"), Some("invalid_request"));

        let mut t = Tester::with_defect(Defect::AcceptPkcePlain);
        for method in [Some("plain"), None] {
            let r = t.authorize(&[plain[0], ("code_challenge_method", method)]);
            let code = location_params(&r).get("code").unwrap().to_string();
            assert_eq!(t.token(&code_pairs(&code)).status(), StatusCode::OK, "{method:?}");
        }
        let code = location_params(&t.authorize(&plain)).get("code").unwrap().to_string();
        let wrong = changed(&code_pairs(&code), &[("code_verifier", Some(CHALLENGE))]);
        assert_eq!(error_of(&t.token(&wrong)), (400, "invalid_grant".into()));
    }

    #[test]
    fn no_pkce_required() {
        let no_pkce = [("code_challenge", None), ("code_challenge_method", None)];
        let r = Tester::new().authorize(&no_pkce);
        assert_eq!(location_params(&r).get("error"), Some("invalid_request"));

        let mut t = Tester::with_defect(Defect::NoPkceRequired);
        let code = location_params(&t.authorize(&no_pkce)).get("code").unwrap().to_string();
        let without_verifier = changed(&code_pairs(&code), &[("code_verifier", None)]);
        assert_eq!(t.token(&without_verifier).status(), StatusCode::OK);
        let code = location_params(&t.authorize(&no_pkce)).get("code").unwrap().to_string();
        assert_eq!(t.token(&code_pairs(&code)).status(), StatusCode::OK, "downgrade: any verifier");
        let code = t.code();
        let without_verifier = changed(&code_pairs(&code), &[("code_verifier", None)]);
        assert_eq!(
            error_of(&t.token(&without_verifier)),
            (400, "invalid_grant".into()),
            "a code with a challenge still needs its verifier"
        );
    }

    #[test]
    fn loose_redirect_match() {
        let longer = "http://127.0.0.1:7777/callback.evil/x";
        let r = Tester::new().authorize(&[("redirect_uri", Some(longer))]);
        assert_eq!(page_error(&r), (400, "invalid_request".into()));

        let r = Tester::with_defect(Defect::LooseRedirectMatch).authorize(&[("redirect_uri", Some(longer))]);
        assert_eq!(r.status(), StatusCode::FOUND);
        assert!(location(&r).starts_with(&format!("{longer}?")));
        assert!(location_params(&r).get("code").is_some());
    }

    #[test]
    fn redirect_on_invalid_client() {
        let evil = "https://evil.example/cb";
        let cases = [
            ([("client_id", Some("nobody")), ("redirect_uri", Some(evil))], "invalid_client"),
            (
                [("client_id", Some("https://app.example/gone.json")), ("redirect_uri", Some(evil))],
                "invalid_client",
            ),
            (
                [("client_id", Some("http://app.example/client.json")), ("redirect_uri", Some(evil))],
                "invalid_client",
            ),
            ([("client_id", Some(CLIENT)), ("redirect_uri", Some(evil))], "invalid_request"),
        ];
        for (changes, error) in cases {
            let r = Tester::new().authorize(&changes);
            assert_eq!(page_error(&r), (400, error.into()), "{changes:?}");

            let r = Tester::with_defect(Defect::RedirectOnInvalidClient).authorize(&changes);
            assert_eq!(r.status(), StatusCode::FOUND, "{changes:?}");
            assert!(location(&r).starts_with(&format!("{evil}?")));
            let q = location_params(&r);
            assert_eq!((q.get("error"), q.get("state")), (Some("invalid_request"), Some(STATE)));
        }
    }

    #[test]
    fn no_iss_parameter() {
        let mut t = Tester::with_defect(Defect::NoIssParameter);
        let granted = location_params(&t.authorize(&[]));
        assert!(granted.get("code").is_some());
        let refused = location_params(&t.authorize(&[("scope", Some("unknown"))]));
        assert_eq!(refused.get("error"), Some("invalid_scope"));
        for q in [granted, refused] {
            assert_eq!((q.get("state"), q.get("iss")), (Some(STATE), None));
        }
        assert_eq!(t.server.metadata().authorization_response_iss_parameter_supported, Some(true));
        assert_eq!(location_params(&Tester::new().authorize(&[])).get("iss"), Some(ISSUER));
    }

    #[test]
    fn no_iss_on_error_responses() {
        for (what, q) in super::every_authorization_response(Some(Defect::NoIssOnErrorResponses)) {
            let iss = if q.get("error").is_some() { None } else { Some(ISSUER) };
            assert_eq!((q.get("state"), q.get("iss")), (Some(STATE), iss), "{what}");
        }
        let metadata = Tester::with_defect(Defect::NoIssOnErrorResponses).server.metadata();
        assert_eq!(metadata.authorization_response_iss_parameter_supported, Some(true));
    }

    #[test]
    fn iss_not_advertised() {
        for (what, q) in super::every_authorization_response(Some(Defect::IssNotAdvertised)) {
            assert_eq!((q.get("state"), q.get("iss")), (Some(STATE), Some(ISSUER)), "{what}");
        }
        let server = Tester::with_defect(Defect::IssNotAdvertised).server;
        assert_eq!(server.metadata().authorization_response_iss_parameter_supported, None);
        assert_eq!(server.openid_configuration().authorization_response_iss_parameter_supported, None);
    }

    #[test]
    fn redirect_307_after_login() {
        for (mut t, status) in [
            (Tester::with_form(), StatusCode::SEE_OTHER),
            (Tester::with_form_defect(Defect::Redirect307AfterLogin), StatusCode::TEMPORARY_REDIRECT),
        ] {
            let csrf = csrf_of(&t.authorize(&[]));
            let r = t.consent(&csrf, "alice", "alice", "approve");
            assert_eq!(r.status(), status);
            assert!(location_params(&r).get("code").is_some());
        }
    }

    #[test]
    fn client_scope_unchecked() {
        // CLIENT may have `mcp:read mcp:write`; the resource also offers `mcp:admin`.
        let admin = [("scope", Some("mcp:read mcp:admin"))];
        let r = Tester::new().authorize(&admin);
        assert_eq!(location_params(&r).get("error"), Some("invalid_scope"));

        let mut t = Tester::with_defect(Defect::ClientScopeUnchecked);
        let code = location_params(&t.authorize(&admin)).get("code").unwrap().to_string();
        assert_eq!(t.exchange(&code)["scope"], "mcp:read mcp:admin");
        let r = t.authorize(&[("scope", Some("unknown"))]);
        assert_eq!(
            location_params(&r).get("error"),
            Some("invalid_scope"),
            "the resource's scopes still bound it"
        );
    }

    #[test]
    fn no_frame_protection() {
        let r = Tester::with_form().authorize(&[]);
        assert_eq!(r.headers()["x-frame-options"], "DENY");

        let r = Tester::with_form_defect(Defect::NoFrameProtection).authorize(&[]);
        assert_eq!(r.status(), StatusCode::OK);
        assert!(!csrf_of(&r).is_empty(), "the consent form");
        assert!(r.headers().get("x-frame-options").is_none());
        assert!(r.headers().get("content-security-policy").is_none());
    }
}
