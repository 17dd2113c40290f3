//! Presence as the client reports it, and the tolerant reading of the servers' answers into it.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::chat_id;
use super::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PresenceState {
    Online,
    Offline,
    Typing,
    Recording,
    Paused,
    Unknown,
}

impl PresenceState {
    pub const ALL: [PresenceState; 6] = [
        PresenceState::Online,
        PresenceState::Offline,
        PresenceState::Typing,
        PresenceState::Recording,
        PresenceState::Paused,
        PresenceState::Unknown,
    ];

    /// The word on the wire and the value of Python's `PresenceState`.
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceState::Online => "online",
            PresenceState::Offline => "offline",
            PresenceState::Typing => "typing",
            PresenceState::Recording => "recording",
            PresenceState::Paused => "paused",
            PresenceState::Unknown => "unknown",
        }
    }

    /// Index into `ALL`, for tables kept per state.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Exactly one of the six values (any case, surrounding white space ignored, as for chat
    /// ids), as a user names a state.
    pub fn from_value(word: &str) -> Option<Self> {
        let word = word.trim();
        PresenceState::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(word))
    }

    /// A server's word, whatever the engine: never fails, unknown words are `Unknown`.
    pub fn from_wire(word: &str) -> Self {
        // Compared without making a lowercase copy: this runs for every participant read.
        const WORDS: [(&str, PresenceState); 8] = [
            ("online", PresenceState::Online),
            ("available", PresenceState::Online),
            ("offline", PresenceState::Offline),
            ("unavailable", PresenceState::Offline),
            ("typing", PresenceState::Typing),
            ("composing", PresenceState::Typing),
            ("recording", PresenceState::Recording),
            ("paused", PresenceState::Paused),
        ];
        let word = word.trim();
        WORDS.iter().find(|(w, _)| w.eq_ignore_ascii_case(word)).map_or(PresenceState::Unknown, |(_, state)| *state)
    }

    /// Typing, recording and paused are about one chat and need its id; online and offline are
    /// global and must not carry one.
    pub fn is_per_chat(self) -> bool {
        matches!(self, PresenceState::Typing | PresenceState::Recording | PresenceState::Paused)
    }

    /// A contact counts as online while online, typing or recording.
    pub fn is_active(self) -> bool {
        matches!(self, PresenceState::Online | PresenceState::Typing | PresenceState::Recording)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParticipantPresence {
    pub participant: String,
    pub state: PresenceState,
    pub last_seen: Option<DateTime<Utc>>,
    /// The server's own word, kept when it was not one we know (`state` is then `Unknown`).
    pub raw_presence: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChatPresence {
    pub id: String,
    pub presences: Vec<ParticipantPresence>,
}

impl ChatPresence {
    pub fn is_group(&self) -> bool {
        self.id.ends_with("@g.us")
    }

    pub fn has_data(&self) -> bool {
        !self.presences.is_empty()
    }

    pub fn is_online(&self) -> bool {
        self.presences.iter().any(|p| p.state.is_active())
    }

    pub fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.presences.iter().filter_map(|p| p.last_seen).max()
    }
}

/// The webhook event this package reads.
pub const EVENT_NAME: &str = "presence.update";

/// One `presence.update` delivery. `id` is the sender's event id: a retried delivery repeats
/// it, so it is the key for dropping duplicates.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PresenceEvent {
    pub id: Option<String>,
    /// When the sender created the event (the envelope's milliseconds).
    pub timestamp: Option<DateTime<Utc>>,
    pub session: Option<String>,
    pub engine: Option<String>,
    pub chat: ChatPresence,
}

/// A `lastSeen` at or above this is milliseconds (10^11 seconds is the year 5138).
const MILLIS_THRESHOLD: f64 = 1e11;

/// Unix time in seconds, or milliseconds when that large, as a UTC time. Out-of-range,
/// negative-infinite or NaN values are no time at all.
pub fn unix_to_datetime(value: f64) -> Option<DateTime<Utc>> {
    if value.abs() >= MILLIS_THRESHOLD {
        millis_to_datetime(value)
    } else {
        micros_to_datetime(in_micros(value, 1_000_000)?)
    }
}

/// Unix milliseconds whatever their size, as the webhook envelope's `timestamp` always is (no
/// seconds guess as in `unix_to_datetime`).
pub fn millis_to_datetime(millis: f64) -> Option<DateTime<Utc>> {
    micros_to_datetime(in_micros(millis, 1_000)?)
}

/// `value` units of `1/per` s in microseconds: the whole part scaled exactly as an integer (an
/// f64 is exact only to some tens of µs near year 9999), the fraction rounded.
fn in_micros(value: f64, micros_per_unit: i64) -> Option<i64> {
    let whole = value.trunc();
    if !(i64::MIN as f64..i64::MAX as f64).contains(&whole) {
        return None; // NaN and infinities too
    }
    let fraction = ((value - whole) * micros_per_unit as f64).round() as i64;
    (whole as i64).checked_mul(micros_per_unit)?.checked_add(fraction)
}

/// The times a Python `datetime` can hold: 0001-01-01 to 9999-12-31T23:59:59.999999 (UTC), in
/// Unix microseconds. chrono reaches further, but a time Python cannot hold is no time to it.
const FIRST_MICROS: i64 = -62_135_596_800_000_000;
const LAST_MICROS: i64 = 253_402_300_799_999_999;

fn micros_to_datetime(micros: i64) -> Option<DateTime<Utc>> {
    (FIRST_MICROS..=LAST_MICROS).contains(&micros).then(|| DateTime::from_timestamp_micros(micros)).flatten()
}

/// The list of chats in an answer (wrapped in `{"data": ...}` or not).
pub fn chats_from_value(json: &Value) -> Result<Vec<ChatPresence>> {
    match unwrap_data(json) {
        Value::Array(items) => items.iter().map(|item| chat_from_value(item, None)).collect(),
        other => Err(Error::protocol(format!("expected a JSON list of chats, got {}", kind_of(other)))),
    }
}

pub fn parse_json(body: &[u8]) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| Error::protocol(format!("the answer is not valid JSON ({e})")))
}

/// `{"data": X}` -> `X`, for servers that wrap their answers.
pub fn unwrap_data(json: &Value) -> &Value {
    match json {
        Value::Object(obj) if !obj.contains_key("presences") && !obj.contains_key("id") => {
            obj.get("data").unwrap_or(json)
        }
        _ => json,
    }
}

/// Reads a `WAHAChatPresences` object; also serves the webhook payload.
pub fn chat_from_value(value: &Value, requested: Option<&str>) -> Result<ChatPresence> {
    let obj = value
        .as_object()
        .ok_or_else(|| Error::protocol(format!("expected a chat presence object, got {}", kind_of(value))))?;
    let id = str_field(obj, &["id", "chatId"])
        .map(chat_id::normalize_lenient)
        .or_else(|| requested.map(str::to_owned))
        .ok_or_else(|| Error::protocol("the chat presence has no \"id\""))?;
    let presences = match obj.get("presences") {
        Some(Value::Array(items)) => {
            items.iter().map(|item| participant_from_value(item, &id)).collect::<Result<Vec<_>>>()?
        }
        // An answer with no list yet is "no data yet", not an error: some engines send `null`.
        None | Some(Value::Null) if obj.contains_key("id") || obj.contains_key("chatId") => Vec::new(),
        Some(other) => {
            return Err(Error::protocol(format!("\"presences\" should be a list, got {}", kind_of(other))));
        }
        None => return Err(Error::protocol("the answer has neither \"id\" nor \"presences\"")),
    };
    Ok(ChatPresence { id, presences })
}

/// Reads one participant's entry; also serves Wawp's one-participant webhook payload, whose
/// `from` and `type` are read here as `participant` and `lastKnownPresence`.
pub fn participant_from_value(value: &Value, chat: &str) -> Result<ParticipantPresence> {
    let obj = value
        .as_object()
        .ok_or_else(|| Error::protocol(format!("a presence entry should be an object, got {}", kind_of(value))))?;
    let participant =
        str_field(obj, &["participant", "from"]).map_or_else(|| chat.to_owned(), chat_id::normalize_lenient);
    let word = str_field(obj, &["lastKnownPresence", "presence", "type"]);
    let state = word.map_or(PresenceState::Unknown, PresenceState::from_wire);
    let raw_presence = match (state, word) {
        (PresenceState::Unknown, Some(w)) => Some(w.to_owned()),
        _ => None,
    };
    Ok(ParticipantPresence { participant, state, last_seen: last_seen(obj.get("lastSeen")), raw_presence })
}

/// `lastSeen` is seconds (int or float), milliseconds when large, a numeric string on some
/// engines, or absent/`null` when hidden; anything else is treated as hidden.
fn last_seen(value: Option<&Value>) -> Option<DateTime<Utc>> {
    unix_to_datetime(positive_number(value?)?)
}

/// A time field's number: a JSON number or a numeric string (some engines send those). Zero
/// and negatives are engines' way of saying "unknown", so they are none.
pub fn positive_number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n > 0.0).then_some(n)
}

fn str_field<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| obj.get(*n).and_then(Value::as_str)).filter(|s| !s.is_empty())
}

pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorKind;

    fn chat(body: &str) -> Result<ChatPresence> {
        crate::core::answer::chat(body.as_bytes(), "447441429009@c.us")
    }

    #[test]
    fn engine_words_are_normalised() {
        for (word, want) in [
            ("online", PresenceState::Online),
            ("available", PresenceState::Online),
            ("OFFLINE", PresenceState::Offline),
            ("unavailable", PresenceState::Offline),
            ("composing", PresenceState::Typing),
            ("typing", PresenceState::Typing),
            ("recording", PresenceState::Recording),
            ("paused", PresenceState::Paused),
            ("dancing", PresenceState::Unknown),
        ] {
            assert_eq!(PresenceState::from_wire(word), want, "{word}");
        }
    }

    #[test]
    fn direct_chat_with_seconds() {
        let c = chat(r#"{"id":"447441429009@c.us","presences":[{"participant":"447441429009@c.us","lastKnownPresence":"offline","lastSeen":1686568773}]}"#).unwrap();
        assert_eq!(c.presences.len(), 1);
        assert_eq!(c.presences[0].state, PresenceState::Offline);
        assert_eq!(c.last_seen().unwrap().timestamp(), 1686568773);
        assert!(!c.is_online() && c.has_data() && !c.is_group());
    }

    #[test]
    fn times_python_cannot_hold_are_no_time() {
        // Year 1 and year 9999 are the ends; one microsecond past either is none.
        assert_eq!(
            unix_to_datetime(-62_135_596_800.0).map(|t| t.to_rfc3339()).as_deref(),
            Some("0001-01-01T00:00:00+00:00")
        );
        assert!(unix_to_datetime(-62_135_596_800.000_01).is_none());
        assert!(unix_to_datetime(253_402_300_799.999_999).is_some());
        // In milliseconds, rounding to the microsecond lands on year 10000.
        assert!(unix_to_datetime(253_402_300_799_999.999_9).is_none());
        assert!(millis_to_datetime(253_402_300_800_000.0).is_none());
        assert!(unix_to_datetime(f64::NAN).is_none());
    }

    #[test]
    fn last_seen_units_and_absence() {
        let one = |ls: &str| {
            chat(&format!(r#"{{"id":"1234567@c.us","presences":[{{"participant":"1234567@c.us","lastKnownPresence":"offline"{ls}}}]}}"#))
                .unwrap()
                .presences[0]
                .last_seen
        };
        assert_eq!(one(r#","lastSeen":1686568773"#).unwrap().timestamp(), 1686568773);
        assert_eq!(one(r#","lastSeen":1686568773123"#).unwrap().timestamp_millis(), 1686568773123);
        assert_eq!(one(r#","lastSeen":1686568773.5"#).unwrap().timestamp_millis(), 1686568773500);
        assert_eq!(one(r#","lastSeen":"1686568773""#).unwrap().timestamp(), 1686568773);
        assert_eq!(one(r#","lastSeen":null"#), None);
        assert_eq!(one(""), None);
        assert_eq!(one(r#","lastSeen":0"#), None);
        assert_eq!(one(r#","lastSeen":1e300"#), None);
        assert_eq!(one(r#","lastSeen":true"#), None);
    }

    #[test]
    fn wrapper_extra_fields_and_unknown_words() {
        let c = chat(r#"{"data":{"id":"447441429009@s.whatsapp.net","extra":1,"presences":[{"participant":"447441429009@s.whatsapp.net","lastKnownPresence":"away","x":[1]}]}}"#).unwrap();
        assert_eq!(c.id, "447441429009@c.us");
        assert_eq!(c.presences[0].participant, "447441429009@c.us");
        assert_eq!(c.presences[0].state, PresenceState::Unknown);
        assert_eq!(c.presences[0].raw_presence.as_deref(), Some("away"));
    }

    #[test]
    fn empty_answer_is_no_data_not_offline() {
        let c = chat(r#"{"id":"447441429009@c.us","presences":[]}"#).unwrap();
        assert!(!c.has_data() && !c.is_online() && c.last_seen().is_none());
    }

    #[test]
    fn group_with_several_participants() {
        let c = chat(
            r#"{"id":"120363025246125486@g.us","presences":[
            {"participant":"1111111@c.us","lastKnownPresence":"typing","lastSeen":null},
            {"participant":"2222222@lid","lastKnownPresence":"offline","lastSeen":1700000000},
            {"participant":"3333333@c.us","lastKnownPresence":"offline","lastSeen":1700000100}]}"#,
        )
        .unwrap();
        assert!(c.is_group() && c.is_online());
        assert_eq!(c.last_seen().unwrap().timestamp(), 1700000100);
    }

    #[test]
    fn wrong_shapes_are_protocol_errors() {
        for body in [
            "<html>oops</html>",
            "[]",
            "42",
            r#"{"presences":"x","id":"1"}"#,
            r#"{"foo":1}"#,
            r#"{"id":"1@c.us","presences":[1]}"#,
            "",
        ] {
            assert_eq!(chat(body).unwrap_err().kind, ErrorKind::Protocol, "{body}");
        }
        let list = crate::core::answer::chat_list;
        assert_eq!(list(br#"{"id":"1@c.us","presences":[]}"#).unwrap_err().kind, ErrorKind::Protocol);
        assert_eq!(list(br#"{"data":[]}"#).unwrap(), vec![]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(chat(&deep).unwrap_err().kind, ErrorKind::Protocol);
    }
}
