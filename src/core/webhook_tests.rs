//! Tests of the webhook parser and the delivery checks, including fuzzing with proptest.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::core::error::ErrorKind;
use crate::core::model::PresenceState;
use crate::core::webhook::{check_delivery, parse_event, sign, verify_signature, Algorithm, PresenceEvent};

/// wire.md's check value: HMAC-SHA512, key `my-secret-key`, over these exact bytes.
const VECTOR_BODY: &[u8] = br#"{"event":"message","session":"default","engine":"WEBJS"}"#;
const VECTOR_KEY: &[u8] = b"my-secret-key";
/// The same body and key with HMAC-SHA256, computed independently with Python's `hmac` module:
/// hmac.new(b"my-secret-key", body, hashlib.sha256).hexdigest()
const VECTOR_SHA256: &str = "46270e6ad829217a54d67026afb4ef20e76d3a4ea36d64b140834b5fb3e8b83a";

const SECRET: &[u8] = b"whsec-TOP-SECRET-42";

/// wire.md's WAHA envelope, filled in.
const WAHA_EVENT: &str = r#"{"id":"evt_01jnmx2n4r8x9c2v3b4n5m6k7j","timestamp":1741249702485,"event":"presence.update",
  "session":"default","engine":"NOWEB","me":{"id":"447700900000@c.us","pushName":"Me"},
  "environment":{"version":"2026.7.1","engine":"NOWEB","tier":"CORE","browser":null,"platform":"linux/x64","worker":{"id":null}},
  "payload":{"id":"120363041234567890@g.us","presences":[
    {"participant":"447441429009@c.us","lastKnownPresence":"typing","lastSeen":null},
    {"participant":"123456789012345@lid","lastKnownPresence":"offline","lastSeen":1741249000}]}}"#;

fn event(body: &str) -> PresenceEvent {
    parse_event(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"))
}

fn kind_of_failure(body: &str) -> ErrorKind {
    parse_event(body.as_bytes()).expect_err(body).kind
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

fn now() -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_741_249_702_485).unwrap()
}

// ------------------------------------------------------------------------------- signatures

#[test]
fn sha512_matches_the_wire_check_value() {
    let signature = sign(VECTOR_BODY, VECTOR_KEY, Algorithm::Sha512);
    assert!(signature.starts_with("208f8a55") && signature.ends_with("53fa89"), "{signature}");
    assert_eq!(signature.len(), 128);
    assert_eq!(signature, signature.to_ascii_lowercase());
    assert!(verify_signature(VECTOR_BODY, &signature, VECTOR_KEY, Algorithm::Sha512));
}

#[test]
fn sha256_matches_an_independent_computation() {
    assert_eq!(sign(VECTOR_BODY, VECTOR_KEY, Algorithm::Sha256), VECTOR_SHA256);
    assert!(verify_signature(VECTOR_BODY, VECTOR_SHA256, VECTOR_KEY, Algorithm::Sha256));
    // The right signature under the other algorithm is not accepted.
    assert!(!verify_signature(VECTOR_BODY, VECTOR_SHA256, VECTOR_KEY, Algorithm::Sha512));
}

#[test]
fn verification_tolerates_case_and_space_but_nothing_else() {
    let good = sign(VECTOR_BODY, VECTOR_KEY, Algorithm::Sha512);
    assert!(verify_signature(VECTOR_BODY, &good.to_ascii_uppercase(), VECTOR_KEY, Algorithm::Sha512));
    assert!(verify_signature(VECTOR_BODY, &format!("  {good}\r\n"), VECTOR_KEY, Algorithm::Sha512));

    let mut tampered = VECTOR_BODY.to_vec();
    tampered[10] ^= 1;
    assert!(!verify_signature(&tampered, &good, VECTOR_KEY, Algorithm::Sha512));
    assert!(!verify_signature(VECTOR_BODY, &good, b"my-secret-kez", Algorithm::Sha512));
    let mut flipped = good.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    assert!(!verify_signature(VECTOR_BODY, std::str::from_utf8(&flipped).unwrap(), VECTOR_KEY, Algorithm::Sha512));
    for bad in ["", "zz", "208f8a55", &good[..127], &format!("{good}00"), &format!("sha512={good}"), "ünïcode"] {
        assert!(!verify_signature(VECTOR_BODY, bad, VECTOR_KEY, Algorithm::Sha512), "{bad}");
    }
}

#[test]
fn algorithm_names() {
    for (name, want) in [("sha512", Algorithm::Sha512), ("SHA256", Algorithm::Sha256), (" Sha512 ", Algorithm::Sha512)]
    {
        assert_eq!(name.parse::<Algorithm>().unwrap(), want, "{name}");
    }
    for name in ["", "md5", "sha1", "sha-512", "hmac-sha512", "sha384"] {
        let err = name.parse::<Algorithm>().unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{name}");
        assert!(err.message.contains("sha512") && err.message.contains("sha256"));
    }
    assert_eq!(Algorithm::Sha256.as_str(), "sha256");
}

// ------------------------------------------------------------------------------- parsing

#[test]
fn waha_envelope_with_a_group() {
    let e = event(WAHA_EVENT);
    assert_eq!(e.id.as_deref(), Some("evt_01jnmx2n4r8x9c2v3b4n5m6k7j"));
    // The envelope is milliseconds, to the millisecond.
    assert_eq!(e.timestamp.unwrap().timestamp_millis(), 1_741_249_702_485);
    assert_eq!((e.session.as_deref(), e.engine.as_deref()), (Some("default"), Some("NOWEB")));
    assert_eq!(e.chat.id, "120363041234567890@g.us");
    assert!(e.chat.is_group() && e.chat.is_online());
    let states: Vec<_> = e.chat.presences.iter().map(|p| (p.participant.as_str(), p.state)).collect();
    assert_eq!(states, [("447441429009@c.us", PresenceState::Typing), ("123456789012345@lid", PresenceState::Offline)]);
    // lastSeen inside the payload stays seconds.
    assert_eq!(e.chat.presences[1].last_seen.unwrap().timestamp(), 1_741_249_000);
    assert_eq!(e.chat.presences[0].last_seen, None);
}

#[test]
fn wawp_payload_becomes_one_participant() {
    let e = event(
        r#"{"id":"evt_2","timestamp":1741249702485,"event":"presence.update","session":"default",
            "payload":{"chatId":"447441429009@s.whatsapp.net","type":"composing","from":"447441429009@s.whatsapp.net"}}"#,
    );
    assert_eq!(e.chat.id, "447441429009@c.us");
    assert_eq!(e.chat.presences.len(), 1);
    let p = &e.chat.presences[0];
    assert_eq!((p.participant.as_str(), p.state, p.last_seen), ("447441429009@c.us", PresenceState::Typing, None));
    assert_eq!(p.raw_presence, None);
    assert_eq!(e.engine, None);

    // In a group, `from` is the member; without it the chat itself is the participant.
    let g = event(r#"{"payload":{"chatId":"120363041234567890@g.us","type":"available","from":"1234567@lid"}}"#);
    assert_eq!(
        (g.chat.id.as_str(), g.chat.presences[0].participant.as_str()),
        ("120363041234567890@g.us", "1234567@lid")
    );
    assert_eq!(g.chat.presences[0].state, PresenceState::Online);
    let alone = event(r#"{"payload":{"chatId":"447441429009@c.us","type":"unavailable"}}"#);
    assert_eq!(alone.chat.presences[0].participant, "447441429009@c.us");
    assert_eq!(alone.chat.presences[0].state, PresenceState::Offline);

    // An engine's unknown word is kept, never a failure.
    let odd = event(r#"{"payload":{"chatId":"447441429009@c.us","type":"hovering","from":"447441429009@c.us"}}"#);
    assert_eq!(odd.chat.presences[0].state, PresenceState::Unknown);
    assert_eq!(odd.chat.presences[0].raw_presence.as_deref(), Some("hovering"));
    // Also accepted with `id` in place of `chatId`.
    assert_eq!(
        event(r#"{"payload":{"id":"447441429009@c.us","type":"paused"}}"#).chat.presences[0].state,
        PresenceState::Paused
    );
}

/// Builds the example the OpenAPI document gives for a schema, from its `example`, `default`
/// and first `enum` values, following `$ref`s.
fn example(schema: &Value, root: &Value) -> Option<Value> {
    if let Some(Value::String(r)) = schema.get("$ref") {
        let name = r.strip_prefix("#/components/schemas/")?;
        return example(&root["components"]["schemas"][name], root);
    }
    if let Some(v) = schema.get("example").or_else(|| schema.get("default")) {
        return Some(v.clone());
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.first().cloned();
    }
    if let Some(Value::Object(props)) = schema.get("properties") {
        return Some(Value::Object(props.iter().filter_map(|(k, s)| Some((k.clone(), example(s, root)?))).collect()));
    }
    if schema.get("type") == Some(&json!("array")) {
        return Some(Value::Array(vec![example(&schema["items"], root)?]));
    }
    None
}

#[test]
fn the_openapi_example_parses() {
    let spec: Value = serde_json::from_str(include_str!("../../tests/contract/waha-presence.openapi.json")).unwrap();
    let envelope = example(&json!({"$ref": "#/components/schemas/WAHAWebhookPresenceUpdate"}), &spec).unwrap();
    // The document's own example, as a sender would post it.
    assert_eq!(envelope["event"], "presence.update");
    assert!(
        envelope.get("me").is_some() && envelope.get("environment").is_some() && envelope.get("metadata").is_some()
    );
    let e = parse_event(envelope.to_string().as_bytes()).unwrap();
    assert_eq!(e.id.as_deref(), Some("evt_01aaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_eq!(e.timestamp.unwrap().timestamp_millis(), 1_634_567_890_123);
    assert_eq!((e.session.as_deref(), e.engine.as_deref()), (Some("default"), Some("WEBJS")));
    assert_eq!(e.chat.id, "11111111111@c.us");
    let p = &e.chat.presences[0];
    assert_eq!((p.participant.as_str(), p.state), ("11111111111@c.us", PresenceState::Offline));
    assert_eq!(p.last_seen.unwrap().timestamp(), 1_686_568_773);
}

#[test]
fn duplicate_deliveries_keep_their_id() {
    let first = event(WAHA_EVENT);
    let retry = event(WAHA_EVENT);
    assert_eq!(first, retry);
    let mut seen = HashSet::new();
    let fresh: Vec<_> = [first, retry].into_iter().filter(|e| seen.insert(e.id.clone())).collect();
    assert_eq!(fresh.len(), 1);
    // A different event about the same chat is not a duplicate.
    let other = event(&WAHA_EVENT.replace("evt_01jnmx2n4r8x9c2v3b4n5m6k7j", "evt_01jnmx2n4r8x9c2v3b4n5m6k7k"));
    assert!(seen.insert(other.id.clone()));
    // A numeric id still identifies the event.
    assert_eq!(event(r#"{"id":42,"payload":{"id":"1234567@c.us","presences":[]}}"#).id.as_deref(), Some("42"));
}

#[test]
fn envelope_timestamp_is_milliseconds_whatever_its_size() {
    let at = |ts: &str| {
        event(&format!(r#"{{"timestamp":{ts},"payload":{{"id":"1234567@c.us","presences":[]}}}}"#)).timestamp
    };
    assert_eq!(at("1741249702485.9").unwrap().timestamp_micros(), 1_741_249_702_485_900);
    assert_eq!(at(r#""1741249702485""#).unwrap().timestamp_millis(), 1_741_249_702_485);
    // A value that would be seconds for lastSeen is still milliseconds here.
    assert_eq!(at("1741249702").unwrap().timestamp_millis(), 1_741_249_702);
    for none in ["0", "-5", "1e300", "null", "true", r#""soon""#, "[]"] {
        assert_eq!(at(none), None, "{none}");
    }
    let e = event(r#"{"payload":{"id":"1234567@c.us","presences":[]}}"#);
    assert_eq!((e.id, e.timestamp, e.session, e.engine), (None, None, None, None));
    assert!(!e.chat.has_data());
}

#[test]
fn bad_bodies_are_invalid_events() {
    for body in [
        "",
        "not json",
        "<html>hi</html>",
        "[]",
        "42",
        r#""presence.update""#,
        "{}",
        r#"{"event":"presence.update"}"#,
        r#"{"event":"presence.update","payload":null}"#,
        r#"{"event":"presence.update","payload":[]}"#,
        r#"{"event":"presence.update","payload":"x"}"#,
        r#"{"event":{"name":"presence.update"},"payload":{"id":"1234567@c.us","presences":[]}}"#,
        r#"{"payload":{"presences":[]}}"#,
        r#"{"payload":{"foo":1}}"#,
        r#"{"payload":{"id":"1234567@c.us","presences":"x"}}"#,
        r#"{"payload":{"id":"1234567@c.us","presences":[1]}}"#,
        r#"{"payload":{"type":"composing","from":"1234567@c.us"}}"#,
        r#"{"payload":{"chatId":"  ","type":"composing"}}"#,
        r#"{"payload":{"id":"1234567@c.us","presences":[]}"#,
    ] {
        let kind = kind_of_failure(body);
        assert_eq!(kind, ErrorKind::InvalidEvent, "{body}");
        assert!(!kind.is_retryable());
    }
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(kind_of_failure(&nested), ErrorKind::InvalidEvent);
    assert_eq!(parse_event(&[0xff, 0xfe, b'{']).unwrap_err().kind, ErrorKind::InvalidEvent);
}

#[test]
fn another_event_is_named() {
    let err = parse_event(VECTOR_BODY).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidEvent);
    assert!(err.message.contains("\"message\"") && err.message.contains("presence.update"), "{}", err.message);
    let long = format!(r#"{{"event":"{}","payload":{{}}}}"#, "x".repeat(10_000));
    assert!(parse_event(long.as_bytes()).unwrap_err().message.len() < 300);
}

// ------------------------------------------------------------------------------- deliveries

fn signed(body: &[u8], algorithm: Algorithm) -> Vec<(String, String)> {
    headers(&[
        ("X-Webhook-Hmac", &sign(body, SECRET, algorithm)),
        ("X-Webhook-Hmac-Algorithm", algorithm.as_str()),
        ("X-Webhook-Timestamp", "1741249702485"),
        ("X-Webhook-Request-Id", "req-1"),
    ])
}

fn delivery_error(
    body: &[u8],
    h: &[(String, String)],
    secret: Option<&[u8]>,
    max_age: Option<Duration>,
) -> crate::core::error::Error {
    let err = check_delivery(body, h, secret, max_age, now()).expect_err("should fail");
    // Whatever failed, the message holds neither the secret nor the signature that would pass.
    for algorithm in [Algorithm::Sha512, Algorithm::Sha256] {
        let expected = sign(body, SECRET, algorithm);
        assert!(!err.message.contains(&expected[..16]), "{}", err.message);
    }
    assert!(!err.message.contains("TOP-SECRET"), "{}", err.message);
    assert!(!format!("{err:?}").contains("TOP-SECRET"));
    err
}

#[test]
fn nothing_to_check_passes() {
    assert!(check_delivery(b"anything", &[], None, None, now()).is_ok());
}

#[test]
fn signed_deliveries_pass_in_either_algorithm_and_any_header_case() {
    let body = WAHA_EVENT.as_bytes();
    for algorithm in [Algorithm::Sha512, Algorithm::Sha256] {
        let h = signed(body, algorithm);
        assert!(check_delivery(body, &h, Some(SECRET), Some(Duration::from_secs(300)), now()).is_ok());
        let lower: Vec<_> = h.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
        assert!(check_delivery(body, &lower, Some(SECRET), Some(Duration::from_secs(300)), now()).is_ok());
        let upper: Vec<_> = h.iter().map(|(n, v)| (n.to_ascii_uppercase(), v.to_ascii_uppercase())).collect();
        assert!(check_delivery(body, &upper, Some(SECRET), None, now()).is_ok());
    }
    // Without the algorithm header, SHA-512 is assumed (WAHA's default).
    let only = headers(&[("x-webhook-hmac", &sign(body, SECRET, Algorithm::Sha512))]);
    assert!(check_delivery(body, &only, Some(SECRET), None, now()).is_ok());
}

#[test]
fn signature_failures() {
    let body = WAHA_EVENT.as_bytes();
    let good = signed(body, Algorithm::Sha512);

    let missing: Vec<_> = good.iter().filter(|(n, _)| n != "X-Webhook-Hmac").cloned().collect();
    let err = delivery_error(body, &missing, Some(SECRET), None);
    assert_eq!(err.kind, ErrorKind::InvalidSignature);
    assert!(err.message.contains("X-Webhook-Hmac"), "{}", err.message);

    let err = delivery_error(body, &good, Some(b"another-secret"), None);
    assert_eq!(err.kind, ErrorKind::InvalidSignature);
    assert!(err.message.contains("does not match"), "{}", err.message);

    let tampered = WAHA_EVENT.replace("typing", "paused");
    assert_eq!(delivery_error(tampered.as_bytes(), &good, Some(SECRET), None).kind, ErrorKind::InvalidSignature);

    // A SHA-256 signature sent without saying so is checked as SHA-512 and fails.
    let unlabelled = headers(&[("X-Webhook-Hmac", &sign(body, SECRET, Algorithm::Sha256))]);
    assert_eq!(delivery_error(body, &unlabelled, Some(SECRET), None).kind, ErrorKind::InvalidSignature);

    // The header names an algorithm we do not know: refused, not guessed.
    let mut odd = good.clone();
    odd[1].1 = "md5".into();
    let err = delivery_error(body, &odd, Some(SECRET), None);
    assert_eq!(err.kind, ErrorKind::InvalidSignature);
    assert!(err.message.contains("\"md5\""), "{}", err.message);

    let mut garbage = good.clone();
    garbage[0].1 = "not hex at all".into();
    assert_eq!(delivery_error(body, &garbage, Some(SECRET), None).kind, ErrorKind::InvalidSignature);

    // An empty secret would accept anyone's signature: refused as a bad argument.
    let empty_key = headers(&[("X-Webhook-Hmac", &sign(body, b"", Algorithm::Sha512))]);
    assert_eq!(delivery_error(body, &empty_key, Some(b""), None).kind, ErrorKind::InvalidArgument);
}

#[test]
fn age_checks() {
    let body = b"{}";
    let max = Some(Duration::from_secs(300));
    let at = |millis: i64| headers(&[("X-Webhook-Timestamp", &millis.to_string())]);
    let sent = now().timestamp_millis();
    assert!(check_delivery(body, &at(sent), None, max, now()).is_ok());
    assert!(check_delivery(body, &at(sent - 300_000), None, max, now()).is_ok());
    // Clock skew within the window is tolerated both ways.
    assert!(check_delivery(body, &at(sent + 60_000), None, max, now()).is_ok());

    let err = delivery_error(body, &at(sent - 300_001), None, max);
    assert_eq!(err.kind, ErrorKind::InvalidSignature);
    assert!(err.message.contains("old"), "{}", err.message);
    let err = delivery_error(body, &at(sent + 3_600_000), None, max);
    assert_eq!(err.kind, ErrorKind::InvalidSignature);
    assert!(err.message.contains("future"), "{}", err.message);

    let err = delivery_error(body, &[], None, max);
    assert!(err.message.contains("X-Webhook-Timestamp"), "{}", err.message);
    for bad in ["", "yesterday", "1e999", "99999999999999999999999", "NaN"] {
        let h = headers(&[("x-webhook-timestamp", bad)]);
        assert_eq!(delivery_error(body, &h, None, max).kind, ErrorKind::InvalidSignature, "{bad}");
    }
    // Signature and age are both required when both are asked for.
    let stale = headers(&[("X-Webhook-Hmac", &sign(body, SECRET, Algorithm::Sha512)), ("X-Webhook-Timestamp", "1000")]);
    assert_eq!(delivery_error(body, &stale, Some(SECRET), max).kind, ErrorKind::InvalidSignature);
    assert!(check_delivery(body, &stale, Some(SECRET), None, now()).is_ok());
}

// ------------------------------------------------------------------------------- fuzzing

/// Object keys the parser looks at, so random documents reach its deeper branches.
fn object_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "id",
            "timestamp",
            "event",
            "session",
            "engine",
            "payload",
            "presences",
            "participant",
            "lastKnownPresence",
            "lastSeen",
            "chatId",
            "type",
            "from",
            "presence",
            "me",
        ])
        .prop_map(str::to_owned),
        ".{0,8}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON numbers are finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        prop::sample::select(vec![
            "presence.update",
            "message",
            "composing",
            "online",
            "447441429009@c.us",
            "1@g.us",
            ""
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        ".{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((object_key(), inner), 0..8).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn header_list() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "X-Webhook-Hmac",
            "x-webhook-hmac",
            "X-WEBHOOK-HMAC-ALGORITHM",
            "x-webhook-hmac-algorithm",
            "X-Webhook-Timestamp",
            "x-webhook-timestamp",
        ])
        .prop_map(str::to_owned),
        ".{0,12}",
    ];
    let value = prop_oneof![
        ".{0,140}",
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        prop::sample::select(vec!["sha512", "SHA256", "md5", ""]).prop_map(str::to_owned),
        "[0-9a-fA-F]{0,130}",
    ];
    prop::collection::vec((name, value), 0..6)
}

proptest! {
    #[test]
    fn parse_event_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_event(&body);
    }

    #[test]
    fn parse_event_never_panics_on_json(value in json_value(), payload in json_value()) {
        for candidate in [value.clone(), json!({"event": "presence.update", "payload": payload.clone()}), json!({"id": value, "timestamp": payload.clone(), "payload": {"id": "1234567@c.us", "presences": [payload]}})] {
            match parse_event(candidate.to_string().as_bytes()) {
                Ok(_) => {}
                Err(e) => prop_assert_eq!(e.kind, ErrorKind::InvalidEvent),
            }
        }
    }

    #[test]
    fn check_delivery_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..256),
        headers in header_list(),
        secret in prop::option::of(prop::collection::vec(any::<u8>(), 0..80)),
        max_age in prop::option::of((any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n))),
        now_millis in prop_oneof![any::<i64>(), -8_200_000_000_000_000i64..8_200_000_000_000_000],
    ) {
        let now = DateTime::from_timestamp_millis(now_millis).unwrap_or_else(Utc::now);
        match check_delivery(&body, &headers, secret.as_deref(), max_age, now) {
            Ok(()) => {}
            Err(e) => prop_assert!(matches!(e.kind, ErrorKind::InvalidSignature | ErrorKind::InvalidArgument)),
        }
    }

    #[test]
    fn signatures_round_trip(body in prop::collection::vec(any::<u8>(), 0..256), secret in prop::collection::vec(any::<u8>(), 1..200), flip in any::<prop::sample::Index>()) {
        for algorithm in [Algorithm::Sha512, Algorithm::Sha256] {
            let signature = sign(&body, &secret, algorithm);
            prop_assert!(verify_signature(&body, &signature, &secret, algorithm));
            let mut changed = body.clone();
            if changed.is_empty() { changed.push(0) } else { let i = flip.index(changed.len()); changed[i] ^= 0x01; }
            prop_assert!(!verify_signature(&changed, &signature, &secret, algorithm));
        }
    }
}
