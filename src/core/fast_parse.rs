//! The common shape of a chat answer and of a `presence.update` delivery, read straight from the
//! bytes into the models, without building a JSON tree first (which allocated a map per object
//! and a string per key). Only well-formed common input is read here; anything else (a `data`
//! wrapper, a number where text belongs, a duplicate key, Wawp's one-participant payload) gives
//! `None`, and the caller reads the body the tolerant way (`model::chat_from_value`), which also
//! words the errors. Where both read a body, they read it the same: a test holds them to it.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::chat_id;
use super::model::{unix_to_datetime, ChatPresence, ParticipantPresence, PresenceEvent, PresenceState, EVENT_NAME};

#[derive(Deserialize)]
struct Chat<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    presences: Option<Vec<Participant<'a>>>,
}

#[derive(Deserialize)]
struct Participant<'a> {
    #[serde(borrow)]
    participant: Cow<'a, str>,
    #[serde(borrow, rename = "lastKnownPresence")]
    last_known_presence: Cow<'a, str>,
    #[serde(rename = "lastSeen", default)]
    last_seen: Option<f64>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    session: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    engine: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload: Chat<'a>,
}

/// A chat answer of the common shape: `{"id": ..., "presences": [...]}`.
pub fn chat(body: &[u8]) -> Option<ChatPresence> {
    serde_json::from_slice::<Chat<'_>>(body).ok()?.into_model()
}

/// A WAHA `presence.update` delivery of the common shape.
pub fn event(body: &[u8]) -> Option<PresenceEvent> {
    let envelope: Envelope<'_> = serde_json::from_slice(body).ok()?;
    if envelope.event.as_deref().is_some_and(|name| name.trim() != EVENT_NAME) {
        return None;
    }
    // A payload without `presences` may be Wawp's one-participant shape.
    envelope.payload.presences.as_ref()?;
    Some(PresenceEvent {
        id: non_empty(envelope.id),
        timestamp: envelope.timestamp.filter(|t| *t > 0.0).and_then(super::model::millis_to_datetime),
        session: non_empty(envelope.session),
        engine: non_empty(envelope.engine),
        chat: envelope.payload.into_model()?,
    })
}

fn non_empty(text: Option<Cow<'_, str>>) -> Option<String> {
    text.filter(|t| !t.is_empty()).map(Cow::into_owned)
}

impl Chat<'_> {
    fn into_model(self) -> Option<ChatPresence> {
        let id = chat_id::normalize_lenient(self.id.as_deref().filter(|id| !id.is_empty())?);
        let presences = self.presences.unwrap_or_default().into_iter().map(|p| p.into_model(&id)).collect();
        Some(ChatPresence { id, presences })
    }
}

impl Participant<'_> {
    fn into_model(self, chat: &str) -> ParticipantPresence {
        let participant =
            if self.participant.is_empty() { chat.to_owned() } else { chat_id::normalize_lenient(&self.participant) };
        let word = Some(self.last_known_presence.as_ref()).filter(|w| !w.is_empty());
        let state = word.map_or(PresenceState::Unknown, PresenceState::from_wire);
        let raw_presence = match (state, word) {
            (PresenceState::Unknown, Some(w)) => Some(w.to_owned()),
            _ => None,
        };
        ParticipantPresence { participant, state, last_seen: seen(self.last_seen), raw_presence }
    }
}

fn seen(value: Option<f64>) -> Option<DateTime<Utc>> {
    value.filter(|v| *v > 0.0).and_then(unix_to_datetime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{chat_from_value, parse_json, unwrap_data};
    use crate::core::webhook;
    use proptest::prelude::*;

    fn slow_chat(body: &[u8]) -> Option<ChatPresence> {
        chat_from_value(unwrap_data(&parse_json(body).ok()?), Some("447441429009@c.us")).ok()
    }

    #[test]
    fn common_bodies_take_the_fast_way() {
        let one = br#"{"id":"447441429009@c.us","presences":[{"participant":"447441429009@c.us","lastKnownPresence":"available","lastSeen":1700000000}],"extra":{"x":[1,2]}}"#;
        assert!(chat(one).is_some());
        assert_eq!(chat(one), slow_chat(one));
        let event_body = br#"{"id":"evt_1","timestamp":1741249702485,"event":"presence.update","session":"default","engine":"NOWEB","me":{"id":"1@c.us"},"environment":{"tier":"CORE"},"payload":{"id":"120363025246125486@g.us","presences":[{"participant":"447441429009@c.us","lastKnownPresence":"composing","lastSeen":null},{"participant":"","lastKnownPresence":"weird","lastSeen":1741249702485}]}}"#;
        let fast = event(event_body);
        assert!(fast.is_some());
        assert_eq!(fast, webhook::parse_event_tolerantly(event_body).ok());
    }

    #[test]
    fn other_shapes_are_left_to_the_tolerant_reader() {
        for body in [
            &br#"{"data":{"id":"1@c.us","presences":[]}}"#[..],
            br#"{"id":"1@c.us","presences":[{"participant":"1@c.us","lastKnownPresence":"online","lastSeen":"1700000000"}]}"#,
            br#"{"id":"1@c.us","id":"2@c.us","presences":[]}"#,
            br#"{"id":"","chatId":"1@c.us","presences":[]}"#,
            br#"{"presences":[]}"#,
            br#"[]"#,
        ] {
            assert!(chat(body).is_none(), "{}", String::from_utf8_lossy(body));
        }
        for body in [
            &br#"{"id":7,"payload":{"id":"1@c.us","presences":[]}}"#[..],
            br#"{"event":"message","payload":{"id":"1@c.us","presences":[]}}"#,
            br#"{"payload":{"chatId":"1@c.us","type":"composing","from":"2@c.us"}}"#,
        ] {
            assert!(event(body).is_none(), "{}", String::from_utf8_lossy(body));
        }
    }

    fn participant_json() -> impl Strategy<Value = String> {
        let text = prop_oneof![
            Just(String::new()),
            "[0-9]{5,15}@(c\\.us|s\\.whatsapp\\.net|lid)",
            "(online|available|offline|unavailable|composing|typing|recording|paused|odd|ONLINE| online )",
            "\\PC{0,12}",
        ];
        let seen = prop_oneof![
            Just("null".to_owned()),
            Just("0".to_owned()),
            Just("-5".to_owned()),
            any::<u32>().prop_map(|n| n.to_string()),
            (1u64..=4_000_000_000_000u64).prop_map(|n| n.to_string()),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
        ];
        (text.clone(), text, seen, any::<bool>()).prop_map(|(p, w, s, with_seen)| {
            let p = serde_json::to_string(&p).unwrap_or_default();
            let w = serde_json::to_string(&w).unwrap_or_default();
            if with_seen {
                format!(r#"{{"participant":{p},"lastKnownPresence":{w},"lastSeen":{s}}}"#)
            } else {
                format!(r#"{{"participant":{p},"lastKnownPresence":{w}}}"#)
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Whatever the fast way reads, the tolerant way reads alike.
        #[test]
        fn both_ways_agree(
            id in prop_oneof![Just(String::new()), "[0-9]{5,20}@(c\\.us|g\\.us)", "\\PC{0,10}"],
            people in proptest::collection::vec(participant_json(), 0..5),
            timestamp in prop_oneof![Just("null".to_owned()), any::<u64>().prop_map(|n| n.to_string())],
        ) {
            let id = serde_json::to_string(&id).unwrap_or_default();
            let chat_body = format!(r#"{{"id":{id},"presences":[{}]}}"#, people.join(","));
            if let Some(fast) = chat(chat_body.as_bytes()) {
                prop_assert_eq!(Some(fast), slow_chat(chat_body.as_bytes()));
            }
            let event_body = format!(r#"{{"id":"e","timestamp":{timestamp},"event":"presence.update","payload":{chat_body}}}"#);
            if let Some(fast) = event(event_body.as_bytes()) {
                prop_assert_eq!(Some(fast), webhook::parse_event_tolerantly(event_body.as_bytes()).ok());
            }
        }
    }
}
