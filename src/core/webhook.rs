//! The `presence.update` webhook: reading the envelope WAHA (and Wawp) post, and checking a
//! delivery's HMAC signature and age. Pure functions of the bytes and headers as received.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Sha256, Sha512};

use super::chat_id;
use super::error::{Error, ErrorKind, Result};
use super::model::{self, ChatPresence};

pub use super::model::{PresenceEvent, EVENT_NAME};
pub const SIGNATURE_HEADER: &str = "X-Webhook-Hmac";
pub const ALGORITHM_HEADER: &str = "X-Webhook-Hmac-Algorithm";
pub const TIMESTAMP_HEADER: &str = "X-Webhook-Timestamp";

/// Longest piece of untrusted text (an event name, an algorithm name) quoted in a message.
const QUOTE_CHARS: usize = 64;

fn invalid_event(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidEvent, message)
}

fn invalid_signature(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidSignature, message)
}

/// Untrusted text cut short and quoted, so that a message stays readable whatever was sent.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// Reads a `presence.update` envelope. The payload is WAHA's `WAHAChatPresences`
/// (`{"id", "presences": [...]}`) or Wawp's one-participant `{"chatId", "type", "from"}`.
pub fn parse_event(body: &[u8]) -> Result<PresenceEvent> {
    match super::fast_parse::event(body) {
        Some(event) => Ok(event),
        None => parse_event_tolerantly(body),
    }
}

/// `parse_event` for any body: through a JSON tree, every shape and every error.
pub(crate) fn parse_event_tolerantly(body: &[u8]) -> Result<PresenceEvent> {
    let json: Value =
        serde_json::from_slice(body).map_err(|e| invalid_event(format!("the webhook body is not valid JSON ({e})")))?;
    let envelope = json.as_object().ok_or_else(|| {
        invalid_event(format!("the webhook body should be a JSON object, got {}", model::kind_of(&json)))
    })?;
    // A missing `event` is not held against a body (its payload is checked all the same); one
    // that names another event is a mistake in the receiver's routing, said plainly.
    match envelope.get("event") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) if name.trim() == EVENT_NAME => {}
        Some(Value::String(name)) => {
            return Err(invalid_event(format!("this is a {} event, not {EVENT_NAME}", quoted(name))));
        }
        Some(other) => {
            return Err(invalid_event(format!("\"event\" should be a string, got {}", model::kind_of(other))));
        }
    }
    let payload = match envelope.get("payload") {
        Some(payload @ Value::Object(_)) => payload,
        None | Some(Value::Null) => return Err(invalid_event("the webhook has no \"payload\"")),
        Some(other) => {
            return Err(invalid_event(format!("\"payload\" should be an object, got {}", model::kind_of(other))));
        }
    };
    Ok(PresenceEvent {
        id: text_or_number(envelope, "id"),
        timestamp: envelope_timestamp(envelope.get("timestamp")),
        session: text_or_number(envelope, "session"),
        engine: text_or_number(envelope, "engine"),
        chat: chat_from_payload(payload)?,
    })
}

/// `payload` is a JSON object (checked by the caller).
fn chat_from_payload(payload: &Value) -> Result<ChatPresence> {
    let as_event_error = |e: Error| invalid_event(format!("the presence payload is not readable: {}", e.message));
    let has = |key: &str| payload.get(key).is_some();
    if has("presences") || !(has("type") || has("from")) {
        return model::chat_from_value(payload, None).map_err(as_event_error);
    }
    // Wawp's shape. `chatId` is its own name for the chat; `id` is accepted as in WAHA's shape.
    let chat = ["chatId", "id"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(Value::as_str).filter(|s| !s.trim().is_empty()))
        .map(chat_id::normalize_lenient)
        .ok_or_else(|| invalid_event("the presence payload names no chat (\"chatId\" or \"id\")"))?;
    // `from` (or, without it, the chat itself) is the participant; `type` is the presence word.
    let participant = model::participant_from_value(payload, &chat).map_err(as_event_error)?;
    Ok(ChatPresence { id: chat, presences: vec![participant] })
}

/// A string field, or a number written as text (an id sent as a number still deduplicates).
fn text_or_number(obj: &Map<String, Value>, name: &str) -> Option<String> {
    match obj.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The envelope's `timestamp` is Unix milliseconds (an integer, a float, or a numeric string).
/// Zero, negatives and values out of chrono's range are no time at all.
fn envelope_timestamp(value: Option<&Value>) -> Option<DateTime<Utc>> {
    model::millis_to_datetime(model::positive_number(value?)?)
}

/// The HMAC hash a delivery is signed with: WAHA uses SHA-512, Wawp's tools SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha512,
    Sha256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha512 => "sha512",
            Algorithm::Sha256 => "sha256",
        }
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// `sha512` or `sha256`, any case, surrounding space ignored (as the header sends them).
    fn from_str(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sha512" => Ok(Algorithm::Sha512),
            "sha256" => Ok(Algorithm::Sha256),
            _ => Err(Error::invalid_argument(format!(
                "unknown signature algorithm {}: expected \"sha512\" or \"sha256\"",
                quoted(name)
            ))),
        }
    }
}

#[allow(clippy::expect_used, reason = "HMAC takes a key of any length (longer keys are hashed): this cannot fail")]
fn mac<M: Mac + hmac::digest::KeyInit>(body: &[u8], secret: &[u8]) -> M {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac
}

/// The lowercase hex HMAC of `body`, as the sender puts it in `X-Webhook-Hmac`.
pub fn sign(body: &[u8], secret: &[u8], algorithm: Algorithm) -> String {
    match algorithm {
        Algorithm::Sha512 => hex::encode(mac::<Hmac<Sha512>>(body, secret).finalize().into_bytes()),
        Algorithm::Sha256 => hex::encode(mac::<Hmac<Sha256>>(body, secret).finalize().into_bytes()),
    }
}

/// Whether `signature` (hex, any case, surrounding space ignored) is the HMAC of `body`. The
/// comparison takes the same time wherever the first wrong byte is (`Mac::verify_slice`), so
/// timing does not tell a forger how much of a guess was right. Text that is not hex is false.
pub fn verify_signature(body: &[u8], signature: &str, secret: &[u8], algorithm: Algorithm) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else {
        return false;
    };
    match algorithm {
        Algorithm::Sha512 => mac::<Hmac<Sha512>>(body, secret).verify_slice(&given).is_ok(),
        Algorithm::Sha256 => mac::<Hmac<Sha256>>(body, secret).verify_slice(&given).is_ok(),
    }
}

/// Refuses an empty secret: anyone can compute an HMAC with an empty key, so checking against
/// one would accept forgeries (and an unset environment variable often reads as "").
pub fn check_secret(secret: &[u8]) -> Result<()> {
    if secret.is_empty() {
        return Err(Error::invalid_argument("the webhook secret is empty, so any sender could sign with it"));
    }
    Ok(())
}

/// The first value of a header, its name matched case-insensitively.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Checks a delivery before its body is trusted. With `secret`, `X-Webhook-Hmac` must be the
/// HMAC of the raw `body` (algorithm from `X-Webhook-Hmac-Algorithm`, SHA-512 when absent).
/// With `max_age`, `X-Webhook-Timestamp` (ms) must be within `max_age` of `now`. Messages name
/// what failed, never the secret or the expected signature.
pub fn check_delivery(
    body: &[u8],
    headers: &[(String, String)],
    secret: Option<&[u8]>,
    max_age: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(secret) = secret {
        check_secret(secret)?;
        let signature = header(headers, SIGNATURE_HEADER).ok_or_else(|| {
            invalid_signature(format!(
                "the delivery has no {SIGNATURE_HEADER} header: it is unsigned (is an HMAC key set on the sender?)"
            ))
        })?;
        let algorithm = match header(headers, ALGORITHM_HEADER) {
            None => Algorithm::Sha512,
            Some(name) => name.parse::<Algorithm>().map_err(|_| {
                invalid_signature(format!(
                    "unsupported {ALGORITHM_HEADER} {}: expected \"sha512\" or \"sha256\"",
                    quoted(name)
                ))
            })?,
        };
        if !verify_signature(body, signature, secret, algorithm) {
            return Err(invalid_signature(format!(
                "the {SIGNATURE_HEADER} signature ({}) does not match the body: a wrong secret, or the body \
                 changed after signing (verify the raw bytes as received, not re-encoded JSON)",
                algorithm.as_str()
            )));
        }
    }
    if let Some(max_age) = max_age {
        check_age(headers, max_age, now)?;
    }
    Ok(())
}

fn check_age(headers: &[(String, String)], max_age: Duration, now: DateTime<Utc>) -> Result<()> {
    let raw = header(headers, TIMESTAMP_HEADER).ok_or_else(|| {
        invalid_signature(format!("the delivery has no {TIMESTAMP_HEADER} header, so its age cannot be checked"))
    })?;
    let sent = raw
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(model::millis_to_datetime)
        .ok_or_else(|| invalid_signature(format!("{TIMESTAMP_HEADER} {} is not Unix milliseconds", quoted(raw))))?;
    let limit = chrono::TimeDelta::from_std(max_age).unwrap_or(chrono::TimeDelta::MAX);
    let age = now.signed_duration_since(sent);
    let seconds = |d: chrono::TimeDelta| d.num_milliseconds() as f64 / 1000.0;
    if age > limit {
        return Err(invalid_signature(format!(
            "the delivery is {:.1} s old, older than max_age ({:.1} s)",
            seconds(age),
            max_age.as_secs_f64()
        )));
    }
    // A timestamp from the future is refused by the same margin: it tolerates clock skew
    // between sender and receiver, but a far-future stamp would keep a captured delivery
    // "fresh" long after it was sent, which is what max_age is there to stop.
    if -age > limit {
        return Err(invalid_signature(format!(
            "{TIMESTAMP_HEADER} is {:.1} s in the future, more than max_age ({:.1} s) ahead of this clock",
            seconds(-age),
            max_age.as_secs_f64()
        )));
    }
    Ok(())
}
