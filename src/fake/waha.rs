//! What a real WAHA answers when it refuses a presence request, as `waha-real-answers.md`
//! recorded it (shapes A to G): the bodies byte for byte, fields in the server's order, with its
//! Content-Type; and the rules of its set-presence route as its source writes them, down to
//! JavaScript's notions of a missing field and of truth.

use std::fmt;
use std::str::FromStr;

use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub(super) const WORKING: &str = "WORKING";
pub(super) const STOPPED: &str = "STOPPED";

/// The statuses a WAHA session reports, in the order a session goes through them.
pub const SESSION_STATUSES: [&str; 5] = ["STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED"];

/// Express's Content-Type for every JSON answer of a WAHA.
pub(super) const JSON_UTF8: &str = "application/json; charset=utf-8";

/// The presence words WAHA's engines know (NOWEB's `ToEnginePresenceStatus`).
const ENGINE_WORDS: [&str; 5] = ["online", "offline", "typing", "recording", "paused"];

/// Which WAHA the fake is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Edition {
    /// WAHA Plus: any number of sessions; subscribing works.
    #[default]
    Plus,
    /// WAHA Core as recorded, with its NOWEB engine: one session, and no subscribe.
    Core,
}

impl Edition {
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Plus => "plus",
            Edition::Core => "core",
        }
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Edition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "plus" => Ok(Edition::Plus),
            "core" => Ok(Edition::Core),
            _ => Err(format!("edition must be \"plus\" or \"core\", not {s:?}")),
        }
    }
}

/// A compact JSON object with its fields in the order given, as JavaScript's `JSON.stringify`
/// writes it (serde_json's own maps would sort the fields).
pub(super) fn object(fields: &[(&str, Value)]) -> String {
    let members: Vec<String> = fields.iter().map(|(name, value)| format!("{}:{value}", Value::from(*name))).collect();
    format!("{{{}}}", members.join(","))
}

/// NestJS's body for its HTTP exceptions: statusCode, message, error.
fn nest_error(status: StatusCode, message: &str) -> String {
    let error = status.canonical_reason().unwrap_or("Error");
    object(&[("statusCode", status.as_u16().into()), ("message", message.into()), ("error", error.into())])
}

/// `body` as given, with `content_type`.
pub(super) fn json_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(CONTENT_TYPE, content_type)], body).into_response()
}

/// A WAHA's 201: no body, no Content-Type, `Content-Length: 0`.
pub(super) fn created() -> Response {
    (StatusCode::CREATED, [(CONTENT_LENGTH, "0")]).into_response()
}

/// A: the session is not running (never started, stopped, or unknown to a WAHA Plus).
pub(super) fn session_not_found(session: &str) -> (StatusCode, String) {
    let message = format!(
        "We didn't find a session with name '{session}'.\nPlease start it first by using POST /api/sessions/{session}/start request"
    );
    (StatusCode::NOT_FOUND, nest_error(StatusCode::NOT_FOUND, &message))
}

/// B: WAHA Core asked for any session but its own.
pub(super) fn core_serves_one_session() -> (StatusCode, String) {
    let message = "WAHA Core support only 'default' session. If you want to run more then one WhatsApp account - \
                   please get WAHA PLUS version. Check this out: https://waha.devlike.pro/";
    (StatusCode::UNPROCESSABLE_ENTITY, nest_error(StatusCode::UNPROCESSABLE_ENTITY, message))
}

/// C: the session is started but not WORKING (no statusCode, no message).
pub(super) fn session_not_ready(session: &str, status: &str) -> (StatusCode, String) {
    let body = object(&[
        ("error", "Session status is not as expected. Try again later or restart the session".into()),
        ("session", session.into()),
        ("status", status.into()),
        ("expected", Value::from(vec![WORKING])),
    ]);
    (StatusCode::UNPROCESSABLE_ENTITY, body)
}

/// D: Express's JSON parser refused the body. The message is the one recorded, whatever the
/// bytes (the real one names the first thing its parser stumbled on).
pub(super) fn body_not_json() -> (StatusCode, String) {
    let message = "Expected property name or '}' in JSON at position 1";
    (StatusCode::BAD_REQUEST, nest_error(StatusCode::BAD_REQUEST, message))
}

/// E and the fake's other refusals in WAHA's set-presence shape.
pub(super) fn detail(text: &str) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, object(&[("detail", text.into())]))
}

/// F (no details) and G: the engine lacks the method, or the word.
pub(super) fn not_implemented(details: Option<&str>) -> (StatusCode, String) {
    let mut message = "The method is not implemented by the engine.".to_owned();
    if let Some(details) = details {
        message.push(' ');
        message.push_str(details);
    }
    (StatusCode::UNPROCESSABLE_ENTITY, nest_error(StatusCode::UNPROCESSABLE_ENTITY, &message))
}

/// Whether Express's JSON parser, which a WAHA runs on every request before anything else,
/// lets `body` through: nothing at all, or a JSON object or array (its strict mode).
pub(super) fn passes_json_parser(body: &[u8]) -> bool {
    body.is_empty() || matches!(serde_json::from_slice::<Value>(body), Ok(Value::Object(_) | Value::Array(_)))
}

/// The route `GET /api/sessions/{session}`: the session's status, or 404 for another name.
pub(super) fn session_info(asked: &str, own: &str, status: &str, engine: &str) -> (StatusCode, String) {
    if asked != own {
        return (StatusCode::NOT_FOUND, nest_error(StatusCode::NOT_FOUND, "Session not found"));
    }
    let engine = object(&[("engine", engine.into())]);
    let body = object(&[
        ("name", own.into()),
        ("status", status.into()),
        ("config", Value::Null),
        ("me", Value::Null),
        ("engine", serde_json::from_str(&engine).unwrap_or(Value::Null)),
    ]);
    (StatusCode::OK, body)
}

/// What a set-presence request asks, once WAHA's rules and its engine accepted it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SetPresence {
    /// online or offline.
    Own(String),
    /// typing, recording or paused in a chat: (chat, word).
    InChat(String, String),
}

/// WAHA's set-presence route on a body that passed the JSON parser, the session being WORKING:
/// first the route's rules (E), then the engine's words (G). A per-chat word whose chatId is not
/// a string is refused too, in the same shape as E (a real engine fails on it some other way).
pub(super) fn set_presence(body: &[u8], engine: &str) -> Result<SetPresence, (StatusCode, String)> {
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    // On an array (which the parser lets through) both fields are undefined, as in JavaScript.
    let presence = request.get("presence");
    let chat = request.get("chatId");
    let word = js_text(presence);
    let global = matches!(presence, Some(Value::String(p)) if p == "online" || p == "offline");
    let has_chat = chat.is_some_and(js_truthy);
    if global && has_chat {
        return Err(detail(&format!(
            "'{word}' presence works on the global scope and doesn't require 'chatId' field."
        )));
    }
    if !global && !has_chat {
        return Err(detail(&format!("'{word}' presence requires 'chatId' field.")));
    }
    let known = match presence {
        Some(Value::String(p)) if ENGINE_WORDS.contains(&p.as_str()) => p.clone(),
        _ => {
            let engine = engine.to_ascii_uppercase();
            return Err(not_implemented(Some(&format!("{engine} engine doesn't support '{word}' presence."))));
        }
    };
    if global {
        return Ok(SetPresence::Own(known));
    }
    match chat {
        Some(Value::String(chat)) => Ok(SetPresence::InChat(chat.clone(), known)),
        _ => Err(detail("'chatId' must be a string.")),
    }
}

/// A value as a JavaScript template literal shows it (`${value}`); a missing field is
/// "undefined".
fn js_text(value: Option<&Value>) -> String {
    match value {
        None => "undefined".to_owned(),
        Some(Value::Null) => "null".to_owned(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => match n.as_f64() {
            // JavaScript writes integral numbers without a fraction.
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        Some(Value::String(s)) => s.clone(),
        // Array.prototype.toString: the items joined by commas, null and undefined as nothing.
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| if item.is_null() { String::new() } else { js_text(Some(item)) })
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(_)) => "[object Object]".to_owned(),
    }
}

/// JavaScript's truth: false, 0, NaN, "" and null are false; the rest, [] and {} too, true.
fn js_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_text_and_truth() {
        let text = |v: Value| js_text(Some(&v));
        assert_eq!(js_text(None), "undefined");
        assert_eq!(text(Value::Null), "null");
        assert_eq!(text(serde_json::json!(3.0)), "3");
        assert_eq!(text(serde_json::json!(2.5)), "2.5");
        assert_eq!(text(serde_json::json!(["a", null, 1])), "a,,1");
        assert_eq!(text(serde_json::json!({"a": 1})), "[object Object]");
        for falsy in [serde_json::json!(null), serde_json::json!(false), serde_json::json!(0), serde_json::json!("")] {
            assert!(!js_truthy(&falsy), "{falsy}");
        }
        for truthy in [serde_json::json!([]), serde_json::json!({}), serde_json::json!("0"), serde_json::json!(-1)] {
            assert!(js_truthy(&truthy), "{truthy}");
        }
    }

    #[test]
    fn the_json_parser_takes_nothing_objects_and_arrays_only() {
        for good in [&b""[..], b"{}", b" [1] ", b"{\"presence\":\"online\"}"] {
            assert!(passes_json_parser(good), "{good:?}");
        }
        for bad in [&b"{presence: online"[..], b"online", b"\"online\"", b"42", b"null", b" ", b"\xff"] {
            assert!(!passes_json_parser(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_set_rules_follow_the_route_then_the_engine() {
        let set = |body: &str| set_presence(body.as_bytes(), "NOWEB");
        assert_eq!(set(r#"{"presence":"online"}"#), Ok(SetPresence::Own("online".into())));
        // A falsy chatId counts as none, as in the server's `!request.chatId`.
        assert_eq!(set(r#"{"presence":"offline","chatId":""}"#), Ok(SetPresence::Own("offline".into())));
        assert_eq!(
            set(r#"{"presence":"paused","chatId":"x@c.us"}"#),
            Ok(SetPresence::InChat("x@c.us".into(), "paused".into()))
        );
        let refused = |body: &str| set(body).err().map(|(status, body)| (status.as_u16(), body));
        assert_eq!(refused(r#"{"presence":"typing","chatId":""}"#).map(|r| r.0), Some(400));
        assert_eq!(refused(r#"{"chatId":"x@c.us"}"#).map(|r| r.0), Some(422), "the engine has no 'undefined'");
        assert_eq!(
            refused("[]"),
            Some((400, r#"{"detail":"'undefined' presence requires 'chatId' field."}"#.to_owned()))
        );
        assert_eq!(refused(r#"{"presence":"flying","chatId":"x@c.us"}"#).map(|r| r.0), Some(422));
        assert_eq!(refused(r#"{"presence":"flying"}"#).map(|r| r.0), Some(400), "the rules come first");
        assert_eq!(refused(r#"{"presence":"typing","chatId":42}"#).map(|r| r.0), Some(400));
    }
}
