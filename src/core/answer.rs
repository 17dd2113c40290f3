//! How an answer's body becomes a result, the one reading for the client and for the fuzz
//! tests: the fast reader for the common shape of a chat, else the tolerant one (`model`); and
//! an error object where a result belongs (Wawp answers some failures with a 2xx) is that error.
//! The errors carry no request context: the caller adds it (and redacts) from the exchange.

use serde_json::Value;

use super::error::{Error, Result};
use super::fast_parse;
use super::model::{self, unwrap_data, ChatPresence};

/// Fields one of which a chat answer has; an object with none of them may be an error object.
const CHAT_FIELDS: &[&str] = &["id", "chatId", "presences"];

/// One chat's presence. `requested` is the id asked for, used when the answer names none.
pub fn chat(body: &[u8], requested: &str) -> Result<ChatPresence> {
    if let Some(chat) = fast_parse::chat(body) {
        return Ok(chat);
    }
    let json = model::parse_json(body)?;
    let value = unwrap_data(&json);
    refuse_error_object(value, CHAT_FIELDS)?;
    model::chat_from_value(value, Some(requested))
}

/// The list of every subscribed chat.
pub fn chat_list(body: &[u8]) -> Result<Vec<ChatPresence>> {
    let json = model::parse_json(body)?;
    refuse_error_object(unwrap_data(&json), &[])?;
    model::chats_from_value(&json)
}

/// A write's answer: any body (often none, or not JSON) is success unless it is an error object.
pub fn write(body: &[u8]) -> Result<()> {
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => refuse_error_object(unwrap_data(&json), &[]),
        Err(_) => Ok(()),
    }
}

/// An object without any of the `expected` fields that reads as an error object is that error.
fn refuse_error_object(value: &Value, expected: &[&str]) -> Result<()> {
    let Value::Object(obj) = value else { return Ok(()) };
    if expected.iter().any(|k| obj.contains_key(*k)) {
        return Ok(());
    }
    // Status and body are the caller's to fill in, from the exchange, redacted.
    match Error::from_success_body(0, value, String::new) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorKind;

    #[test]
    fn an_error_object_instead_of_a_chat_is_that_error() {
        let body = br#"{"error":"quota reached","code":"quota_reached"}"#;
        assert_eq!(chat(body, "1@c.us").unwrap_err().kind, ErrorKind::PermissionDenied);
        assert_eq!(chat_list(body).unwrap_err().kind, ErrorKind::PermissionDenied);
        assert_eq!(write(body).unwrap_err().kind, ErrorKind::PermissionDenied);
        let wrapped = br#"{"data":{"error":"no such session","code":"session_not_found"}}"#;
        assert_eq!(chat(wrapped, "1@c.us").unwrap_err().kind, ErrorKind::NotFound);
    }

    #[test]
    fn a_chat_with_an_error_field_is_still_a_chat() {
        let body = br#"{"id":"1@c.us","presences":[],"error":"ignored"}"#;
        assert_eq!(chat(body, "1@c.us").unwrap().id, "1@c.us");
    }

    #[test]
    fn a_write_answer_that_is_not_json_or_not_an_error_is_success() {
        for body in [&b""[..], b"OK", br#"{"success":true}"#, b"[]", br#"{"error":false}"#] {
            assert!(write(body).is_ok(), "{}", String::from_utf8_lossy(body));
        }
    }
}
