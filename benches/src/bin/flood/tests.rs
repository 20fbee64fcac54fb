//! The flood's own logic: its arguments, the session-id store and the checks, on
//! answers made up (the flood itself is a benchmark, run by hand).

use super::*;

fn parse(args: &[&str]) -> Result<Option<Args>, String> {
    parse_args(args.iter().map(|s| s.to_string()))
}

#[test]
fn arguments_default_and_parse() {
    assert_eq!(parse(&[]), Ok(Some(Args::default())));
    let a = parse(&["--initialize", "2_000", "--registrations", "600", "--concurrency", "2"]).unwrap();
    let expected = Args { initialize: 2_000, registrations: 600, concurrency: 2, ..Args::default() };
    assert_eq!(a, Some(expected));
    assert!(parse(&["--unbounded"]).unwrap().unwrap().unbounded);
    let small = parse(&["--initialize", "10"]).unwrap().unwrap();
    assert_eq!(small.warm_up, 10, "the warm-up is at most the initialize calls");
    assert_eq!(parse(&["--help"]), Ok(None));
    assert!(parse(&["--initialize"]).unwrap_err().contains("got nothing"));
    assert!(parse(&["--initialize", "many"]).unwrap_err().contains("got `many`"));
    assert!(parse(&["--concurrency", "0"]).unwrap_err().contains("at least 1"));
    assert!(parse(&["--sessions", "1"]).unwrap_err().contains("`--sessions`"));
}

#[test]
fn session_ids_are_kept_and_counted_once_each() {
    let mut ids = SessionIds::with_room_for(4);
    for id in ["b", "a", "b", "ccc"] {
        ids.push(id.as_bytes());
    }
    assert_eq!((ids.len(), ids.distinct()), (4, 3));
    assert_eq!(ids.get(3), b"ccc");
    assert_eq!(SessionIds::with_room_for(0).distinct(), 0);
}

fn tally(statuses: &[(u16, u64)]) -> Tally {
    Tally { statuses: statuses.iter().copied().collect(), ..Tally::default() }
}

const BOUNDS: Bounds =
    Bounds { sessions: 64, registrations_per_window: 500, window: Duration::from_secs(60) };

/// What the reference stack answers to the default flood.
fn bounded() -> Observed {
    Observed {
        initialize: tally(&[(200, 20_000)]),
        with_id: 20_000,
        distinct: 20_000,
        open_after_initialize: 64,
        probes: tally(&[(200, 64), (404, 19_936)]),
        registrations: tally(&[(201, 500), (429, 9_500)]),
        registrations_sent: 10_000,
        registration_time: Duration::from_millis(210),
        longest_retry_after: 60,
        stateless: tally(&[(200, 20_000)]),
        stateless_sent: 20_000,
        open_at_end: 64,
        ..Observed::default()
    }
}

#[test]
fn the_reference_answers_keep_the_bounds() {
    assert_eq!(broken_bounds(&bounded(), &BOUNDS), Vec::<String>::new());
    assert_eq!(Bounds::reference().sessions, 64);
}

#[test]
fn each_broken_bound_is_named() {
    let unbounded = Observed {
        probes: tally(&[(200, 20_000)]),
        open_after_initialize: 20_000,
        registrations: tally(&[(201, 10_000)]),
        ..bounded()
    };
    let broken = broken_bounds(&unbounded, &BOUNDS);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].contains("expected at most 64 of them live, found 20000 answering"), "{}", broken[0]);
    assert!(broken[1].contains("10000 registrations created in 0.2 s: expected at most 500"));
    assert!(broken[2].contains("no 429"));

    let no_retry_after = Observed { without_retry_after: 3, ..bounded() };
    assert!(
        broken_bounds(&no_retry_after, &BOUNDS)[0].contains("3 of 9500 registration 429s had no Retry-After")
    );
    let none_live = Observed { probes: tally(&[(404, 20_000)]), ..bounded() };
    assert!(broken_bounds(&none_live, &BOUNDS)[0].contains("none of the 20000 sessions answers"));
    let stateful = Observed { stateless_with_session: 1, open_at_end: 65, ..bounded() };
    assert!(broken_bounds(&stateful, &BOUNDS)[0].contains("1 answers carried a session id"));
    let unanswered = Observed {
        stateless: Tally {
            failed: 2,
            first_failure: Some("request 7: refused".into()),
            ..bounded().stateless
        },
        ..bounded()
    };
    assert!(
        broken_bounds(&unanswered, &BOUNDS)[0].contains("2 requests got no answer, the first: request 7")
    );
}

#[test]
fn a_run_across_window_starts_may_take_each_windows_allowance() {
    let slow = Observed {
        registrations: tally(&[(201, 1_000), (429, 9_000)]),
        registration_time: Duration::from_secs(61),
        ..bounded()
    };
    assert_eq!(broken_bounds(&slow, &BOUNDS), Vec::<String>::new());
    let fast = Observed { registration_time: Duration::from_secs(59), ..slow };
    assert!(broken_bounds(&fast, &BOUNDS)[0].contains("1000 registrations created"));
}
