//! Presence on a schedule, latency and requests in flight. Schedules and latency run on tokio's
//! paused clock, so each row of a table is read at an exact time and a long latency costs no
//! real time; requests in flight are counted on the real clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::tests::{enc, Api, ALICE, BOB, GROUP};
use super::*;

fn step(after_ms: u64, presence: &str) -> ScriptStep {
    ScriptStep { after: Duration::from_millis(after_ms), presence: presence.to_owned(), last_seen: None }
}

fn seen(after_ms: u64, presence: &str, last_seen: u64) -> ScriptStep {
    ScriptStep { last_seen: Some(last_seen.into()), ..step(after_ms, presence) }
}

/// What a row expects of `lastSeen`.
#[derive(Clone, Copy, Debug)]
enum Seen {
    Null,
    /// As given in the step.
    Given(u64),
    /// The wall-clock second of the step that starts this many ms after the script was set.
    StepAt(u64),
}

/// (participant, lastKnownPresence, lastSeen) of each entry a read of `chat` answers now,
/// taken from the state the routes read, without HTTP.
fn read(server: &FakeServer, chat: &str) -> Vec<(String, String, Value)> {
    let answer = server.shared.lock().read_chat(chat, Instant::now());
    answer["presences"]
        .as_array()
        .expect("presences is an array")
        .iter()
        .map(|p| {
            let word = |name: &str| p[name].as_str().expect("a string").to_owned();
            (word("participant"), word("lastKnownPresence"), p["lastSeen"].clone())
        })
        .collect()
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs_f64()
}

/// Moves the paused clock to `ms` after `origin` (never backwards).
async fn advance_to(origin: Instant, ms: u64) {
    let target = origin + Duration::from_millis(ms);
    let now = Instant::now();
    if target > now {
        tokio::time::advance(target - now).await;
    }
}

/// A script set on `chat` now, then its table played: at each time (ms since the script was
/// set), the chat's own entry must show that word and last seen.
async fn play(server: &FakeServer, chat: &str, steps: Vec<ScriptStep>, table: &[(u64, &str, Seen)]) {
    let wall_before = unix_now();
    let origin = Instant::now();
    server.script_presence(chat, steps).expect("steps in time order");
    let wall_after = unix_now();
    for &(at, word, expected) in table {
        advance_to(origin, at).await;
        let answer = read(server, chat);
        let own: Vec<_> = answer.iter().filter(|(participant, ..)| participant == chat).collect();
        let [(_, presence, last_seen)] = own.as_slice() else {
            panic!("at {at} ms: one entry for the chat expected, got {answer:?}");
        };
        assert_eq!(presence, word, "at {at} ms");
        match expected {
            Seen::Null => assert_eq!(*last_seen, Value::Null, "at {at} ms"),
            Seen::Given(n) => assert_eq!(*last_seen, json!(n), "at {at} ms"),
            Seen::StepAt(ms) => {
                let step = ms as f64 / 1000.0;
                let (low, high) = ((wall_before + step).floor() as u64, (wall_after + step).floor() as u64);
                let got = last_seen.as_u64().unwrap_or_else(|| panic!("at {at} ms: lastSeen {last_seen}"));
                assert!((low..=high).contains(&got), "at {at} ms: lastSeen {got} outside {low}..={high}");
            }
        }
    }
}

// ============================================================================== schedules

#[tokio::test(start_paused = true)]
async fn a_script_answers_the_step_in_force_at_each_time() {
    let api = Api::of(Backend::Waha).await;
    api.server.set_presence(ALICE, "online", None, None, 0);
    let steps = vec![
        step(1_000, "typing"),
        step(2_500, "paused"),
        step(2_500, "recording"),
        seen(4_000, "offline", 1_700_000_000),
        step(6_000, "available"),
    ];
    let table = [
        (0, "online", Seen::Null), // before the first step: what was set before
        (999, "online", Seen::Null),
        (1_000, "typing", Seen::Null), // a step starts at its time exactly
        (2_000, "typing", Seen::Null),
        (2_500, "recording", Seen::Null), // two steps at one time: the later one in the list
        (4_000, "offline", Seen::Given(1_700_000_000)),
        (5_999, "offline", Seen::Given(1_700_000_000)),
        (6_000, "available", Seen::Null),     // engine words are served as given
        (3_600_000, "available", Seen::Null), // the last step stays
    ];
    play(&api.server, ALICE, steps, &table).await;
}

#[tokio::test(start_paused = true)]
async fn a_step_to_offline_from_a_present_state_is_last_seen_at_that_step() {
    let api = Api::of(Backend::Wawp).await;
    api.server.set_presence(ALICE, "online", None, None, 0);
    let steps = vec![
        step(2_000, "offline"), // from the stored "online"
        step(3_000, "offline"), // already offline: nothing went offline here
        step(4_000, "composing"),
        step(5_000, "unavailable"), // engine words count the same
        step(6_000, "paused"),
        step(7_000, "offline"), // paused is still in the chat, so online
        step(8_000, "recording"),
        seen(9_000, "offline", 42), // a given last_seen wins
        step(10_000, "away"),
        step(11_000, "offline"), // from a word the fake does not know: nothing to derive
    ];
    let table = [
        (0, "online", Seen::Null),
        (2_000, "offline", Seen::StepAt(2_000)),
        (3_000, "offline", Seen::Null),
        (4_000, "composing", Seen::Null),
        (5_000, "unavailable", Seen::StepAt(5_000)),
        (6_000, "paused", Seen::Null),
        (7_000, "offline", Seen::StepAt(7_000)),
        (8_000, "recording", Seen::Null),
        (9_000, "offline", Seen::Given(42)),
        (10_000, "away", Seen::Null),
        (11_000, "offline", Seen::Null),
    ];
    play(&api.server, ALICE, steps, &table).await;

    // Without data before it, a first step to offline has nothing to derive from.
    play(&api.server, BOB, vec![step(0, "offline")], &[(0, "offline", Seen::Null)]).await;
    // Nor after a stored offline.
    api.server.set_presence(GROUP, "offline", None, None, 0);
    play(&api.server, GROUP, vec![step(500, "offline")], &[(500, "offline", Seen::Null)]).await;
}

#[tokio::test(start_paused = true)]
async fn a_later_set_or_script_replaces_the_script_where_it_stands() {
    let api = Api::of(Backend::Waha).await;
    let server = &api.server;
    let origin = Instant::now();
    let words = |chat: &str| read(server, chat).into_iter().map(|(_, word, _)| word).collect::<Vec<_>>();
    let shown = || [ALICE, BOB, GROUP].map(|chat| words(chat).join(" "));

    server.script_presence(ALICE, vec![step(1_000, "online"), step(2_000, "offline")]).expect("in order");
    server.script_presence(BOB, vec![step(0, "online"), step(5_000, "offline")]).expect("in order");
    server.script_presence(GROUP, vec![step(0, "typing"), step(2_000, "offline")]).expect("in order");
    advance_to(origin, 1_500).await;
    assert_eq!(words(ALICE), ["online"]);
    server.set_presence(ALICE, "recording", None, None, 0);
    server.script_presence(BOB, vec![step(1_000, "paused")]).expect("in order");
    server.script_presence(GROUP, vec![]).expect("no steps is a script too");

    // Right after: the set applies at once, the new script has not started, the empty one
    // keeps what the old one showed.
    assert_eq!(shown(), ["recording", "online", "typing"]);
    advance_to(origin, 2_500).await;
    assert_eq!(shown(), ["recording", "paused", "typing"]);
    // The replaced scripts' later steps never come.
    advance_to(origin, 60_000).await;
    assert_eq!(shown(), ["recording", "paused", "typing"]);
}

#[tokio::test(start_paused = true)]
async fn a_script_changes_only_the_chats_own_entry_and_keeps_pending_empty_reads() {
    let api = Api::of(Backend::Waha).await;
    let server = &api.server;
    let origin = Instant::now();
    server.set_presence(GROUP, "online", None, Some(BOB), 0);
    server.script_presence(GROUP, vec![step(1_000, "typing")]).expect("in order");
    let entries = |chat: &str| read(server, chat).into_iter().map(|(who, word, _)| (who, word)).collect::<Vec<_>>();
    assert_eq!(entries(GROUP), [(BOB.to_owned(), "online".to_owned())]);
    advance_to(origin, 1_000).await;
    assert_eq!(entries(GROUP), [(BOB.to_owned(), "online".to_owned()), (GROUP.to_owned(), "typing".to_owned())]);

    server.set_presence(ALICE, "online", None, None, 1);
    server.script_presence(ALICE, vec![step(0, "offline")]).expect("in order");
    assert!(entries(ALICE).is_empty(), "the pending empty read comes first");
    assert_eq!(entries(ALICE), [(ALICE.to_owned(), "offline".to_owned())]);
}

#[tokio::test(start_paused = true)]
async fn steps_out_of_order_are_refused_and_change_nothing() {
    let api = Api::of(Backend::Wawp).await;
    let server = &api.server;
    let origin = Instant::now();
    server.script_presence(ALICE, vec![step(0, "online"), step(3_000, "offline")]).expect("in order");
    let refused = server.script_presence(ALICE, vec![step(1_000, "typing"), step(2_000, "paused"), step(1_500, "x")]);
    assert_eq!(refused, Err(ScriptError::OutOfOrder { index: 2 }));
    assert!(refused.is_err_and(|e| e.to_string().contains("step 2")));
    let refused = server.script_presence(BOB, vec![step(1, "online"), step(0, "offline")]);
    assert_eq!(refused, Err(ScriptError::OutOfOrder { index: 1 }));

    // The first script still plays; the refused one left no trace.
    let words = |chat: &str| read(server, chat).into_iter().map(|(_, word, _)| word).collect::<Vec<_>>();
    assert_eq!(words(ALICE), ["online"]);
    advance_to(origin, 3_000).await;
    assert_eq!(words(ALICE), ["offline"]);
    assert!(words(BOB).is_empty());
    assert!(!server.shared.lock().chats.contains_key(BOB));
}

#[tokio::test(start_paused = true)]
async fn reset_forgets_scripts() {
    let api = Api::of(Backend::Wawp).await;
    let origin = Instant::now();
    api.server.script_presence(ALICE, vec![step(0, "online"), step(1_000, "typing")]).expect("in order");
    api.server.reset();
    advance_to(origin, 2_000).await;
    assert!(read(&api.server, ALICE).is_empty());
}

/// A fake and a client that keeps no idle connection: on the paused clock, nothing but the
/// fake's own timers can move time on.
pub(super) async fn unpooled(config: FakeConfig) -> Api {
    let server = FakeServer::start(config).await.expect("fake server starts");
    let tls = crate::core::http::tls_config().expect("TLS configuration");
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .expect("reqwest client");
    Api { server, http }
}

#[tokio::test(start_paused = true)]
async fn reads_over_http_answer_the_step_in_force_on_both_backends() {
    for backend in [Backend::Wawp, Backend::Waha] {
        let api = unpooled(FakeConfig { backend, ..FakeConfig::default() }).await;
        let origin = Instant::now();
        api.server
            .script_presence(ALICE, vec![step(0, "online"), seen(30_000, "offline", 1_700_000_123)])
            .expect("in order");
        let alice = api.chat(ALICE).await;
        assert_eq!(alice["presences"][0]["lastKnownPresence"], "online", "{backend:?}");
        advance_to(origin, 30_000).await;
        let alice = api.chat(ALICE).await;
        assert_eq!(
            alice["presences"],
            json!([{"participant": ALICE, "lastKnownPresence": "offline", "lastSeen": 1_700_000_123}]),
            "{backend:?}"
        );
        // The earlier read subscribed the chat, so get-all lists it with the same step.
        let (status, all) = api.get("/presence").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(all, json!([alice]), "{backend:?}");
        assert_eq!(api.get(&format!("/presence/{}", enc(ALICE))).await.1, alice);
    }
}

// ============================================================================== latency

#[tokio::test(start_paused = true)]
async fn latency_delays_every_answer_faulted_ones_too() {
    let config = FakeConfig { latency: Duration::from_secs(5), ..FakeConfig::default() };
    let api = unpooled(config).await;
    assert_eq!(api.server.latency(), Duration::from_secs(5));
    let timed = |route: &'static str| {
        let api = &api;
        async move {
            let started = Instant::now();
            let status = api.get(route).await.0;
            (status, started.elapsed())
        }
    };
    let (status, took) = timed("/presence").await;
    assert_eq!(status, StatusCode::OK);
    assert!(took >= Duration::from_secs(5), "{took:?}");

    api.server.fail_next(Fault::Status { status: 503, body: None, headers: vec![], delay: None }, 1);
    let (status, took) = timed("/presence").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(took >= Duration::from_secs(5), "{took:?}");

    api.server.set_latency(Duration::from_secs(20));
    assert_eq!(api.server.latency(), Duration::from_secs(20));
    let (_, took) = timed("/presence").await;
    assert!(took >= Duration::from_secs(20), "{took:?}");

    api.server.set_latency(Duration::ZERO);
    let (status, took) = timed("/presence").await;
    assert_eq!(status, StatusCode::OK);
    assert!(took < Duration::from_secs(5), "no latency, yet {took:?}");

    // A reset goes back to the configured latency.
    api.server.reset();
    assert_eq!(api.server.latency(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn latency_defaults_to_none() {
    assert_eq!(FakeConfig::default().latency, Duration::ZERO);
    let api = unpooled(FakeConfig::default()).await;
    assert_eq!(api.server.latency(), Duration::ZERO);
    let started = Instant::now();
    assert_eq!(api.get("/presence").await.0, StatusCode::OK);
    assert_eq!(started.elapsed(), Duration::ZERO, "paused time moves only for a timer");
}

// ============================================================================== requests in flight

/// Polls `done` for up to 10 s of real time.
async fn eventually(done: impl Fn() -> bool) -> bool {
    for _ in 0..500 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

#[tokio::test]
async fn requests_in_flight_are_counted_until_answered_or_abandoned() {
    let api = Api::of(Backend::Waha).await;
    let traffic = || api.server.traffic();
    assert_eq!((traffic().in_flight, traffic().peak_in_flight), (0, 0));
    assert_eq!(api.get("/presence").await.0, StatusCode::OK);
    assert_eq!((traffic().in_flight, traffic().peak_in_flight), (0, 1), "an answered request is no longer counted");

    // Requests held by a long latency stay in flight together.
    api.server.set_latency(Duration::from_secs(600));
    let waiting: Vec<_> = (0..3).map(|_| tokio::spawn(api.request(Method::GET, "/presence").send())).collect();
    assert!(eventually(|| traffic().in_flight == 3).await, "{:?}", traffic());
    assert_eq!(traffic().peak_in_flight, 3);

    // Clients that give up close their connections: the fake stops counting their requests.
    for request in &waiting {
        request.abort();
    }
    assert!(eventually(|| traffic().in_flight == 0).await, "{:?}", traffic());
    assert_eq!(traffic().peak_in_flight, 3, "the peak stays until a reset");

    api.server.set_latency(Duration::ZERO);
    assert_eq!(api.get("/presence").await.0, StatusCode::OK, "the fake still answers");
    api.server.reset();
    assert_eq!((traffic().in_flight, traffic().peak_in_flight), (0, 0));
}

#[tokio::test]
async fn shutdown_ends_requests_waiting_out_their_latency() {
    let api = Api::start(FakeConfig { latency: Duration::from_secs(600), ..FakeConfig::default() }).await;
    let waiting = tokio::spawn(api.request(Method::GET, "/presence").send());
    assert!(eventually(|| api.server.traffic().in_flight == 1).await);
    api.server.shutdown();
    let outcome = tokio::time::timeout(Duration::from_secs(10), waiting).await;
    assert!(matches!(outcome, Ok(Ok(Err(_)))), "the client sees the connection end, not an answer");
    assert!(eventually(|| api.server.traffic().in_flight == 0).await);
}
