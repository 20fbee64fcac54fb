//! Bounds under floods ([`Limits`](super::Limits)): the fixed-window rate limit of
//! dynamic registration, the cap on registered clients, and room in the stores of
//! waiting login forms, authorization codes and client ID metadata documents. (The
//! refresh-token store bounds itself, in [`refresh`](super::refresh).)

use super::authorize::CONSENT_TTL;
use super::{AuthorizationServer, Rejection};
use crate::defects::Defect;
use crate::oauth_error::ErrorCode;
use crate::sans_io::Time;
use std::time::Duration;

/// A fixed-window counter: the window starts with the first request after the previous
/// window ended.
#[derive(Debug, Default)]
pub(super) struct FixedWindow {
    /// When the current window started (`None`: no request yet).
    started: Option<Time>,
    /// Requests taken in it.
    taken: u32,
}

impl FixedWindow {
    /// Takes one request at `now` if fewer than `max` were taken in the current window
    /// (of length `window`); else how long until the window ends.
    pub(super) fn take(&mut self, now: Time, max: u32, window: Duration) -> Result<(), Duration> {
        match self.started {
            Some(start) if now.since(start) < window => {}
            _ => *self = FixedWindow { started: Some(now), taken: 0 },
        }
        if self.taken >= max {
            let start = self.started.unwrap_or(now);
            return Err(window.saturating_sub(now.since(start)));
        }
        self.taken += 1;
        Ok(())
    }
}

/// Whole seconds to wait for `d`, at least 1 (the form `Retry-After` takes).
fn retry_after_secs(d: Duration) -> u64 {
    u64::try_from(d.as_millis().div_ceil(1000)).unwrap_or(u64::MAX).max(1)
}

impl AuthorizationServer {
    /// Takes one dynamic registration request at `now`: a 429 when the window's are all
    /// taken, a 503 when the registered clients are at their cap. Nothing is refused with
    /// [`Defect::RegistrationUnthrottled`].
    pub(super) fn admit_registration(&mut self, now: Time) -> Result<(), Rejection> {
        if self.config.defects.has(Defect::RegistrationUnthrottled) {
            return Ok(());
        }
        let l = &self.config.limits;
        if let Err(wait) = self.registrations.take(now, l.registrations_per_window, l.registration_window) {
            let secs = retry_after_secs(wait);
            return Err(Rejection::too_many_requests(
                secs,
                format!(
                    "more than {} registrations in {} s; retry after {secs} s",
                    l.registrations_per_window,
                    l.registration_window.as_secs()
                ),
            ));
        }
        if self.registered_clients >= l.max_registered_clients {
            return Err(Rejection::unavailable(format!(
                "this server keeps at most {} dynamically registered clients",
                l.max_registered_clients
            )));
        }
        Ok(())
    }

    /// Room for one more login and consent form waiting for the user, expired ones
    /// forgotten first when the store is full; else `temporarily_unavailable`.
    pub(super) fn room_for_pending(&mut self, now: Time) -> Result<(), Rejection> {
        let max = self.config.limits.max_pending_authorizations;
        if self.pending.len() >= max {
            self.pending.retain(|_, p| now.since(p.created) <= CONSENT_TTL);
        }
        match self.pending.len() < max {
            true => Ok(()),
            false => Err(overloaded(format!("{max} authorization requests are waiting for their users"))),
        }
    }

    /// Makes room for one more authorization code when the store is full: forgets the
    /// codes that can no longer be redeemed (unredeemed and expired), then the oldest
    /// redeemed one. With every code unredeemed and live, there is none:
    /// `temporarily_unavailable`.
    pub(super) fn room_for_code(&mut self, now: Time) -> Result<(), Rejection> {
        let max = self.config.limits.max_codes;
        if self.codes.len() < max {
            return Ok(());
        }
        let ttl = self.config.code_ttl;
        self.codes.retain(|_, c| c.redeemed.is_some() || now.since(c.issued) <= ttl);
        if self.codes.len() >= max {
            let oldest =
                self.codes.iter().filter(|(_, c)| c.redeemed.is_some()).min_by_key(|(_, c)| c.issued);
            if let Some(code) = oldest.map(|(code, _)| code.clone()) {
                self.codes.remove(&code);
            }
        }
        self.oldest_code = self.codes.values().map(|c| c.issued).min();
        match self.codes.len() < max {
            true => Ok(()),
            false => Err(overloaded(format!("{max} authorization codes are waiting to be redeemed"))),
        }
    }

    /// Makes room for one more client ID metadata document when the store is full: forgets
    /// the stale ones, then the one that goes stale first. (A document is only a cache
    /// entry: forgotten, it is fetched again.)
    pub(super) fn room_for_client_document(&mut self, now: Time) {
        let max = self.config.limits.max_client_metadata_documents;
        if self.metadata_clients.len() < max {
            return;
        }
        self.metadata_clients.retain(|_, (_, until)| *until > now);
        while self.metadata_clients.len() >= max {
            let first_stale = self.metadata_clients.iter().min_by_key(|(_, (_, until))| *until);
            let Some(url) = first_stale.map(|(url, _)| url.clone()) else { break };
            self.metadata_clients.remove(&url);
        }
    }
}

/// The authorization error for a full store (RFC 6749 §4.1.2.1: "unable to handle the
/// request due to a temporary overloading").
fn overloaded(why: String) -> Rejection {
    Rejection::new(ErrorCode::TemporarilyUnavailable, format!("{why}; try again later"))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{Config, Limits};
    use super::*;
    use http::StatusCode;

    /// A dynamic registration of a public client on the loopback redirect URI.
    fn register(t: &mut Tester) -> crate::sans_io::Response {
        let body = r#"{"redirect_uris": ["http://127.0.0.1:4000/cb"], "token_endpoint_auth_method": "none"}"#;
        t.post_json("/register", body)
    }

    fn with_limits(limits: Limits) -> Tester {
        Tester::with_config(Config { auto_approve: true, limits, ..Config::default() })
    }

    /// 10 000 registrations in one burst: the window's 500 are registered, every other
    /// one is a 429 saying when to retry; no more clients are kept than that.
    #[test]
    fn a_burst_of_registrations_is_throttled_and_kept_clients_stay_bounded() {
        let mut t = Tester::new();
        let before = t.server.clients.len();
        let limits = Limits::default();
        let (mut created, mut throttled) = (0, 0);
        for _ in 0..10_000 {
            let r = register(&mut t);
            match r.status() {
                StatusCode::CREATED => created += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    throttled += 1;
                    assert_eq!(r.headers()["retry-after"], "60", "the burst takes no time");
                    assert_eq!(json_of(&r)["error"], "temporarily_unavailable");
                }
                other => panic!("{other}"),
            }
        }
        assert_eq!((created, throttled), (limits.registrations_per_window, 10_000 - 500));
        assert_eq!(t.server.clients.len() - before, 500);
        t.advance(30);
        assert_eq!(register(&mut t).headers()["retry-after"], "30");
        t.advance(30);
        assert_eq!(register(&mut t).status(), StatusCode::CREATED, "a new window");
    }

    /// Window after window, the registered clients never pass their cap.
    #[test]
    fn registered_clients_stay_under_their_cap() {
        let limits = Limits { registrations_per_window: 10, max_registered_clients: 25, ..Limits::default() };
        let mut t = with_limits(limits);
        let before = t.server.clients.len();
        let mut unavailable = 0;
        for _ in 0..10 {
            for _ in 0..20 {
                let r = register(&mut t);
                unavailable += usize::from(r.status() == StatusCode::SERVICE_UNAVAILABLE);
                assert!(t.server.clients.len() - before <= 25);
            }
            t.advance(60);
        }
        assert_eq!(t.server.clients.len() - before, 25);
        assert_eq!(unavailable, 10 * 10 - 25, "the rest of each window's 10 after the cap");
    }

    #[test]
    fn registration_unthrottled_defect() {
        let mut t = Tester::with_defect(Defect::RegistrationUnthrottled);
        let limits = Limits::default();
        let n = limits.registrations_per_window as usize + 100;
        assert!((0..n).all(|_| register(&mut t).status() == StatusCode::CREATED));
    }

    #[test]
    fn waiting_forms_are_bounded() {
        let limits = Limits { max_pending_authorizations: 3, ..Limits::default() };
        let mut t = Tester::with_config(Config { limits, ..Config::default() });
        for _ in 0..3 {
            assert_eq!(t.authorize(&[]).status(), StatusCode::OK, "the form");
        }
        let q = location_params(&t.authorize(&[]));
        assert_eq!(q.get("error"), Some("temporarily_unavailable"));
        assert_eq!((q.get("state"), q.get("iss")), (Some(STATE), Some(ISSUER)));
        assert_eq!(t.server.pending.len(), 3);
        t.advance(CONSENT_TTL.as_secs() + 1);
        assert_eq!(t.authorize(&[]).status(), StatusCode::OK, "the expired forms are forgotten");
        assert_eq!(t.server.pending.len(), 1);
    }

    #[test]
    fn codes_are_bounded() {
        let mut t = with_limits(Limits { max_codes: 3, ..Limits::default() });
        let codes: Vec<String> = (0..3).map(|_| t.code()).collect();
        let q = location_params(&t.authorize(&[]));
        assert_eq!(q.get("error"), Some("temporarily_unavailable"), "three live unredeemed codes");
        assert_eq!(t.server.codes.len(), 3);
        t.exchange(&codes[0]);
        let fourth = t.code();
        assert!(!t.server.codes.contains_key(&codes[0]), "the redeemed code made room");
        assert_eq!(error_of(&t.token(&code_pairs(&codes[0]))), (400, "invalid_grant".into()));
        t.exchange(&fourth);
        t.advance(61);
        for _ in 0..3 {
            t.code();
        }
        assert_eq!(t.server.codes.len(), 3, "expired unredeemed codes made room");
    }

    #[test]
    fn refresh_tokens_are_bounded() {
        let mut t = with_limits(Limits { max_refresh_tokens: 2, ..Limits::default() });
        let first = t.tokens();
        let second = t.tokens();
        let third = t.tokens();
        assert!(third.get("refresh_token").is_none(), "full: no refresh token");
        assert!(third["access_token"].is_string());
        let rt1 = first["refresh_token"].as_str().unwrap();
        let rotated = json_of(&t.refresh(rt1, &[]));
        assert_eq!(t.server.refresh.len(), 2, "full: the rotated token was forgotten");
        assert_eq!(error_of(&t.refresh(rt1, &[])), (400, "invalid_grant".into()));
        let rt = rotated["refresh_token"].as_str().unwrap();
        assert_eq!(t.refresh(rt, &[]).status(), StatusCode::OK, "the family lives on");
        assert!(second["refresh_token"].is_string());
    }

    #[test]
    fn client_metadata_documents_are_bounded() {
        let mut t = with_limits(Limits { max_client_metadata_documents: 3, ..Limits::default() });
        for i in 0..10 {
            let url = format!("https://app{i}.example/client.json");
            let document = serde_json::json!({"client_id": url, "client_name": "App",
                "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});
            let mut r = json_response(200, &document.to_string());
            r.headers_mut().insert("cache-control", "max-age=600".parse().unwrap());
            t.documents.insert(url.clone(), Ok(r));
            let q = location_params(&t.authorize(&[("client_id", Some(&url))]));
            assert!(q.get("code").is_some(), "{url}: {}", q.encode());
            assert!(t.server.metadata_clients.len() <= 3);
        }
        assert_eq!(t.server.metadata_clients.len(), 3);
    }

    #[test]
    fn families_are_forgotten_once_nothing_of_them_is_valid() {
        let mut t = Tester::new();
        let rt = t.refresh_token();
        t.refresh(&rt, &[]);
        assert_eq!((t.server.refresh.len(), t.server.refresh.families()), (2, 1));
        t.advance(24 * 3600 + 1);
        t.refresh_token();
        assert_eq!((t.server.refresh.len(), t.server.refresh.families()), (1, 1), "only the new one");
    }

    #[test]
    fn a_fixed_window_takes_max_then_says_how_long_to_wait() {
        let (max, window) = (3, Duration::from_secs(60));
        let mut w = FixedWindow::default();
        let t0 = Time::from_unix_secs(1_000);
        for _ in 0..max {
            assert_eq!(w.take(t0, max, window), Ok(()));
        }
        assert_eq!(
            w.take(t0.plus(Duration::from_millis(20_500)), max, window),
            Err(Duration::from_millis(39_500))
        );
        assert_eq!(w.take(t0.plus(window), max, window), Ok(()), "a new window");
        assert_eq!(retry_after_secs(Duration::from_millis(39_500)), 40);
        assert_eq!(retry_after_secs(Duration::from_secs(7)), 7);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
