//! Property tests (proptest): what a server or a user can hand the core never makes it panic.
//! The parsers take any bytes and any JSON and answer a chat or a protocol error; chat ids are
//! accepted only in forms that stay accepted and stay inside one path segment; redaction leaves
//! no known secret behind.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use super::answer::{chat as parse_chat, chat_list as parse_chat_list};
use super::chat_id::{encode_path_segment, normalize_lenient, ChatId};
use super::error::{Error, ErrorKind};
use super::model::{unix_to_datetime, ChatPresence};
use super::secret::{Redactor, Secret};

const CHAT: &str = "447441429009@c.us";

const KEYS: &[&str] = &[
    "id",
    "chatId",
    "presences",
    "data",
    "participant",
    "from",
    "lastKnownPresence",
    "presence",
    "type",
    "lastSeen",
    "code",
    "error",
    "message",
    "detail",
    "status",
    "expected",
    "statusCode",
];

const WORDS: &[&str] = &[
    "online",
    "offline",
    "available",
    "unavailable",
    "composing",
    "typing",
    "recording",
    "paused",
    "away",
    "",
    "447441429009@c.us",
    "447441429009@s.whatsapp.net",
    "120363041234567890@g.us",
    "1700000000",
    "-1",
    "1e300",
];

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_filter_map("a JSON number is finite", |f| Number::from_f64(f).map(Value::Number)),
        prop::sample::select(vec![0.0, -0.0, 1e11, 1e11 - 1.0, 9.2e18, 1.7e9, -1e300, 1e300, 5e-324])
            .prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![prop::sample::select(WORDS).prop_map(str::to_owned), any::<String>()]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), number(), text().prop_map(Value::String),]
}

fn object_key() -> impl Strategy<Value = String> {
    prop_oneof![3 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => any::<String>()]
}

/// Any JSON value, with keys that are mostly the API's own so the parsers get past the surface.
fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((object_key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
    let map: Map<String, Value> = fields.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))).collect();
    Value::Object(map)
}

fn participant() -> impl Strategy<Value = Value> {
    let field = || proptest::option::of(prop_oneof![leaf(), json()]);
    (field(), field(), proptest::option::of(prop_oneof![number(), leaf()]), field(), field()).prop_map(
        |(participant, word, last_seen, from, kind)| {
            object(vec![
                ("participant", participant),
                ("lastKnownPresence", word),
                ("lastSeen", last_seen),
                ("from", from),
                ("type", kind),
            ])
        },
    )
}

/// An object shaped almost like `WAHAChatPresences`: each field present or not, right or wrong.
fn chat_like() -> impl Strategy<Value = Value> {
    let presences = prop_oneof![
        3 => prop::collection::vec(prop_oneof![4 => participant(), 1 => json()], 0..5).prop_map(Value::Array),
        1 => json(),
    ];
    (
        proptest::option::of(prop_oneof![leaf(), Just(Value::String(CHAT.to_owned()))]),
        proptest::option::of(leaf()),
        proptest::option::of(presences),
        proptest::option::of(leaf()),
        proptest::option::of(leaf()),
    )
        .prop_map(|(id, chat_id, presences, code, error)| {
            object(vec![("id", id), ("chatId", chat_id), ("presences", presences), ("code", code), ("error", error)])
        })
}

fn api_like() -> impl Strategy<Value = Value> {
    prop_oneof![
        chat_like(),
        prop::collection::vec(chat_like(), 0..4).prop_map(Value::Array),
        prop_oneof![chat_like(), prop::collection::vec(chat_like(), 0..3).prop_map(Value::Array)]
            .prop_map(|inner| object(vec![("data", Some(inner))])),
    ]
}

/// Bytes mostly made of JSON punctuation: deep, broken and unbalanced nesting.
fn json_punctuation() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(b"[]{}\":,1 \\nu".to_vec()), 0..6000)
}

/// The kinds an answer's body can name itself: an error object where a result belongs.
const ERROR_OBJECT_KINDS: [ErrorKind; 5] =
    [ErrorKind::Api, ErrorKind::PermissionDenied, ErrorKind::NotFound, ErrorKind::Authentication, ErrorKind::RateLimit];

/// What a parser may answer: a chat, a protocol error, or the error an error object names. Any
/// other kind is a mistake.
fn check_chat(result: Result<ChatPresence, Error>) -> Result<(), TestCaseError> {
    match result {
        Ok(chat) => {
            prop_assert!(!chat.id.is_empty());
            // The derived values must work on whatever was parsed.
            let _ = (chat.is_online(), chat.has_data(), chat.is_group(), chat.last_seen());
            for p in &chat.presences {
                prop_assert!(!p.participant.is_empty());
            }
            Ok(())
        }
        Err(e) => {
            prop_assert!(
                e.kind == ErrorKind::Protocol || ERROR_OBJECT_KINDS.contains(&e.kind),
                "{:?}: {}",
                e.kind,
                e.message
            );
            Ok(())
        }
    }
}

fn check_list(result: Result<Vec<ChatPresence>, Error>) -> Result<(), TestCaseError> {
    match result {
        Ok(chats) => chats.into_iter().try_for_each(|c| check_chat(Ok(c))),
        Err(e) => check_chat(Err(e)),
    }
}

fn normalize(input: &str) -> Result<String, Error> {
    ChatId::parse(input).map(String::from)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_chat_takes_any_bytes(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_chat(parse_chat(&body, CHAT))?;
    }

    #[test]
    fn parse_chat_list_takes_any_bytes(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_list(parse_chat_list(&body))?;
    }

    #[test]
    fn parsers_take_any_nesting(body in json_punctuation()) {
        check_chat(parse_chat(&body, CHAT))?;
        check_list(parse_chat_list(&body))?;
    }

    #[test]
    fn parse_chat_takes_any_json(value in json()) {
        let body = serde_json::to_vec(&value).unwrap();
        check_chat(parse_chat(&body, CHAT))?;
    }

    #[test]
    fn parse_chat_list_takes_any_json(value in json()) {
        let body = serde_json::to_vec(&value).unwrap();
        check_list(parse_chat_list(&body))?;
    }

    #[test]
    fn parsers_take_any_near_api_json(value in api_like()) {
        let body = serde_json::to_vec(&value).unwrap();
        check_chat(parse_chat(&body, CHAT))?;
        check_list(parse_chat_list(&body))?;
    }

    #[test]
    fn a_well_formed_chat_keeps_its_participants(
        entries in prop::collection::vec((prop::sample::select(WORDS), proptest::option::of(number())), 0..6)
    ) {
        // Right shape, any words and any lastSeen numbers: never an error, one entry each.
        let presences: Vec<Value> = entries
            .iter()
            .map(|(word, last_seen)| object(vec![
                ("participant", Some(Value::String(CHAT.to_owned()))),
                ("lastKnownPresence", Some(Value::String((*word).to_owned()))),
                ("lastSeen", last_seen.clone()),
            ]))
            .collect();
        let body = serde_json::to_vec(&object(vec![("id", Some(CHAT.into())), ("presences", Some(Value::Array(presences)))])).unwrap();
        let chat = parse_chat(&body, CHAT).map_err(|e| TestCaseError::fail(e.message.clone()))?;
        prop_assert_eq!(chat.presences.len(), entries.len());
    }

    #[test]
    fn any_unix_time_is_a_time_or_none(value in any::<f64>()) {
        let _ = unix_to_datetime(value);
    }
}

/// Strings near the accepted chat-id forms, so the accepting branches run often.
fn id_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ \t]{0,2}\\+?[0-9 ().-]{0,22}[ \t\n]{0,2}",
        "[0-9]{0,34}(:[0-9]{0,5})?@(c\\.us|C\\.US|s\\.whatsapp\\.net|S\\.WhatsApp\\.Net|g\\.us|lid|newsletter|evil\\.com|)",
        "[0-9]{0,22}-[0-9]{0,22}@g\\.us",
        "[0-9./?#%@ -]{0,20}@(c\\.us|g\\.us|lid)",
        "[0-9]{5,15}@c\\.us[/?#.%]{0,3}[a-z]{0,3}",
        "[٠-٩0-9]{5,15}(@c\\.us)?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn chat_ids_accepted_are_canonical_and_stay_in_one_segment(input in id_like()) {
        let _ = normalize_lenient(&input);
        match normalize(&input) {
            Ok(id) => {
                let again = normalize(&id).map_err(|e| e.message.clone());
                prop_assert_eq!(again, Ok(id.clone()), "{:?} normalised to {:?}, which does not re-normalise to itself", input, id);
                prop_assert!(
                    [ "@c.us", "@g.us", "@lid", "@newsletter" ].iter().any(|d| id.ends_with(d)),
                    "{:?} normalised to {:?}, which is none of wire.md's forms", input, id
                );
                let segment = encode_path_segment(&id);
                prop_assert!(!segment.contains(['/', '?', '#']), "{:?} encodes to {:?}", id, segment);
                prop_assert!(segment != "." && segment != "..");
            }
            Err(e) => prop_assert_eq!(e.kind, ErrorKind::InvalidChatId),
        }
    }

    #[test]
    fn any_text_encodes_to_one_path_segment(input in prop_oneof![any::<String>(), "[.%2eE5]{1,6}"]) {
        let segment = encode_path_segment(&input);
        prop_assert!(!segment.contains(['/', '?', '#', '\\']), "{:?} encodes to {:?}", input, segment);
        prop_assert!(segment.is_ascii());
        // A URL parser keeps the segment where it was put, except a dot segment, which no
        // encoding can protect (and which sessions therefore refuse).
        let url = url::Url::parse(&format!("http://h/a/{segment}/b")).unwrap();
        let kept = url.path() == format!("/a/{segment}/b");
        prop_assert_eq!(kept, input != "." && input != "..", "{:?} encodes to {:?}, parsed as {}", input, segment, url.path());
    }
}

fn secret_text() -> impl Strategy<Value = String> {
    // Redaction skips values under 4 characters (they would blank ordinary words); a `*` in a
    // secret could re-form it out of the `***` written in its place.
    "[A-Za-z0-9_.~+/=-]{4,40}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn redaction_leaves_no_known_secret(
        secret in secret_text(),
        before in any::<String>(),
        after in any::<String>(),
        copies in 1usize..4,
    ) {
        let token = Secret::new(secret.clone());
        let redactor = Redactor::new([Some(&token)]);
        let encoded = percent_encoding::utf8_percent_encode(&secret, percent_encoding::NON_ALPHANUMERIC).to_string();
        let text = format!("{before}{}{after} {encoded}", secret.repeat(copies));
        prop_assert!(!redactor.redact(&text).contains(&secret));
        prop_assert!(!redactor.body_excerpt(text.as_bytes()).contains(&secret));
        let url = format!("http://127.0.0.1:1/v2/presence/{encoded}?instance_id={before}&access_token={encoded}&x={secret}");
        let shown = redactor.redact_url(&url);
        prop_assert!(!shown.contains(&secret) && !shown.contains(&encoded), "{}", shown);
        let error = redactor.scrub(
            Error::from_status(500, text.as_bytes(), redactor.body_excerpt(text.as_bytes()), None).with_request("GET", &url),
        );
        let all = format!("{error} {error:?}");
        prop_assert!(!all.contains(&secret), "{}", all);
    }

    #[test]
    fn any_error_answer_is_read_without_panicking(status in 100u16..600, body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]) {
        let e = Error::from_status(status, &body, String::from_utf8_lossy(&body).into_owned(), None);
        prop_assert_eq!(e.status, Some(status));
        match status {
            429 => prop_assert_eq!(e.kind, ErrorKind::RateLimit),
            500..=599 => prop_assert_eq!(e.kind, ErrorKind::Server),
            400 => prop_assert_eq!(e.kind, ErrorKind::BadRequest),
            401 => prop_assert_eq!(e.kind, ErrorKind::Authentication),
            _ => {}
        }
        if let Ok(json) = serde_json::from_slice::<Value>(&body) {
            let _ = Error::from_success_body(200, &json, String::new);
        }
        let _ = e.to_string();
    }
}
