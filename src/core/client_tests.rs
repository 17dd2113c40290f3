//! The core client against the fake server over real HTTP on 127.0.0.1.

use std::time::{Duration, Instant};

use super::chat_id::ChatId;
use super::client::{Client, ClientConfig, OnFailure, MAX_BODY_BYTES};
use super::error::ErrorKind;
use super::model::PresenceState;
use crate::fake::{Backend, FakeConfig, FakeServer, Fault};

const CHAT: &str = "447441429009@c.us";

fn chat() -> ChatId {
    ChatId::parse(CHAT).unwrap()
}

async fn wawp() -> (FakeServer, Client) {
    let server = FakeServer::start(FakeConfig::default()).await.expect("fake server starts");
    let cfg = ClientConfig {
        base_url: server.url(),
        ..ClientConfig::wawp(server.config().instance_id.clone(), server.config().access_token.clone())
    };
    let client = Client::new(cfg).expect("valid config");
    (server, client)
}

fn status(status: u16, headers: &[(&str, &str)]) -> Fault {
    Fault::Status {
        status,
        body: None,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        delay: None,
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let (server, client) = wawp().await;
    server.set_presence(CHAT, "online", None, None, 0);
    server.fail_next(status(503, &[]), 2);
    let chat = client.get(&chat(), Duration::ZERO).await.expect("third attempt succeeds");
    assert!(chat.is_online());
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn retries_stop_at_max_retries_and_say_how_many_attempts() {
    let (server, client) = wawp().await;
    server.fail_next(status(500, &[]), 10);
    let err = client.get(&chat(), Duration::ZERO).await.unwrap_err();
    assert_eq!((err.kind, err.status, err.attempts), (ErrorKind::Server, Some(500), 3));
    assert_eq!(server.requests().len(), 3);
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let (server, client) = wawp().await;
    for code in [400, 401, 403, 404, 422] {
        server.clear_requests();
        server.fail_next(status(code, &[]), 5);
        let err = client.subscribe(&chat()).await.unwrap_err();
        assert_eq!((err.status, err.attempts), (Some(code), 1), "{code}");
        assert_eq!(server.requests().len(), 1, "{code} was retried");
        server.reset();
    }
}

#[tokio::test]
async fn retry_after_is_waited_for() {
    let (server, client) = wawp().await;
    server.fail_next(status(429, &[("Retry-After", "1")]), 1);
    let started = Instant::now();
    client.set(PresenceState::Online, None).await.expect("second attempt succeeds");
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
    assert_eq!(server.own_presence().as_deref(), Some("online"));
}

#[tokio::test]
async fn a_hanging_answer_times_out_per_attempt() {
    let (server, _) = wawp().await;
    let cfg = ClientConfig {
        base_url: server.url(),
        timeout: Duration::from_millis(300),
        max_retries: 0,
        ..ClientConfig::wawp(server.config().instance_id.clone(), server.config().access_token.clone())
    };
    let client = Client::new(cfg).unwrap();
    server.fail_next(Fault::Hang, 1);
    let started = Instant::now();
    let err = client.get(&chat(), Duration::ZERO).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_oversized_answer_is_a_protocol_error() {
    let (server, client) = wawp().await;
    let huge = format!("{{\"id\":\"{CHAT}\",\"presences\":[],\"pad\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
    server.fail_next(Fault::Status { status: 200, body: Some(huge.into_bytes()), headers: vec![], delay: None }, 1);
    let err = client.get(&chat(), Duration::ZERO).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Protocol);
    assert!(err.message.contains("larger than"), "{}", err.message);
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_without_the_token() {
    let (server, _) = wawp().await;
    let token = server.config().access_token.clone();
    let cfg = ClientConfig {
        base_url: server.url(),
        max_retries: 0,
        ..ClientConfig::wawp(server.config().instance_id.clone(), token.clone())
    };
    let client = Client::new(cfg).unwrap();
    server.fail_next(Fault::Drop, 1);
    let err = client.get(&chat(), Duration::ZERO).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transport);
    let everything = format!("{err} {err:?}");
    assert!(!everything.contains(&token), "{everything}");
    assert!(err.url.as_deref().unwrap_or_default().contains("access_token=***"));
}

#[tokio::test]
async fn a_closed_client_refuses_calls() {
    let (server, client) = wawp().await;
    client.close();
    assert!(client.is_closed());
    let err = client.get(&chat(), Duration::ZERO).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Closed);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn get_many_keeps_order_and_bounds_concurrency() {
    let (server, client) = wawp().await;
    let ids: Vec<String> = (0..12).map(|i| format!("44744142{i:04}@c.us")).collect();
    for (i, id) in ids.iter().enumerate() {
        let word = if i % 2 == 0 { "online" } else { "offline" };
        server.set_presence(id, word, None, None, 0);
    }
    // Every answer is slow, so in-flight requests overlap as much as the bound allows.
    server.fail_next(Fault::Delay(Duration::from_millis(150)), 12);
    let started = Instant::now();
    let results = client
        .get_many(ids.iter().map(|id| ChatId::parse(id)).collect(), 4, Duration::ZERO, OnFailure::Stop, None)
        .await
        .unwrap();
    let took = started.elapsed();
    let got: Vec<(String, bool)> =
        results.into_iter().map(|r| r.map(|c| (c.id.clone(), c.is_online())).unwrap()).collect();
    let want: Vec<(String, bool)> = ids.iter().enumerate().map(|(i, id)| (id.clone(), i % 2 == 0)).collect();
    assert_eq!(got, want);
    // 12 requests of 150 ms, 4 at a time: three waves, not one (unbounded) and not twelve.
    assert!(took >= Duration::from_millis(440), "{took:?}: more than 4 in flight");
    assert!(took < Duration::from_millis(1500), "{took:?}: requests did not overlap");
}

#[tokio::test]
async fn waha_typing_goes_through_set_presence() {
    let server = FakeServer::start(FakeConfig { backend: Backend::Waha, ..FakeConfig::default() }).await.unwrap();
    let client = Client::new(ClientConfig::waha(server.url(), "default", None)).unwrap();
    client.start_typing(&chat()).await.unwrap();
    assert_eq!(server.chat_states().get(CHAT).map(String::as_str), Some("typing"));
    client.stop_typing(&chat()).await.unwrap();
    assert_eq!(server.chat_states().get(CHAT).map(String::as_str), Some("paused"));
    let bodies: Vec<String> = server.requests().iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect();
    assert_eq!(
        bodies,
        [
            format!(r#"{{"chatId":"{CHAT}","presence":"typing"}}"#),
            format!(r#"{{"chatId":"{CHAT}","presence":"paused"}}"#),
        ]
    );
}

#[tokio::test]
async fn a_huge_fan_out_keeps_connections_in_use_within_the_bound() {
    let server = FakeServer::start(FakeConfig::default()).await.expect("fake server starts");
    let cfg = ClientConfig {
        base_url: server.url(),
        max_connections: 3,
        ..ClientConfig::wawp(server.config().instance_id.clone(), server.config().access_token.clone())
    };
    let client = Client::new(cfg).expect("valid config");
    let ids: Vec<String> = (0..60).map(|i| format!("44744142{i:04}@c.us")).collect();
    // Slow answers, so that every lookup would be in flight at once if nothing bounded them.
    server.fail_next(Fault::Delay(Duration::from_millis(20)), 60);
    let results = client
        .get_many(ids.iter().map(|id| ChatId::parse(id)).collect(), usize::MAX, Duration::ZERO, OnFailure::Stop, None)
        .await
        .unwrap();
    assert_eq!(results.len(), 60);
    assert!(results.iter().all(Result::is_ok));
    let traffic = server.traffic();
    assert!(traffic.peak_in_flight <= 3, "{traffic:?}");
    // 3 in use and at most 3 idle (see `Pool::connections`), not one per lookup.
    assert!(traffic.peak_open_connections <= 6, "{traffic:?}");
    assert!(traffic.peak_in_flight >= 2, "{traffic:?}: the lookups did not overlap at all");
}
