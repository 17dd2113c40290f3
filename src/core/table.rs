//! Presence as rows of one table: one row per participant, the same seven columns whatever the
//! result was (a chat, a change from a watch, a webhook event, or the error of one chat). The
//! Python functions `to_records`, `to_pandas`, `to_polars` and `to_arrow` all read these rows.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::model::{ChatPresence, PresenceEvent};
use super::watch::PresenceChange;

/// The columns, in their order.
pub const COLUMNS: [&str; 7] = ["chat_id", "participant", "state", "last_seen", "observed_at", "previous", "error"];

/// One row, borrowing its text from the results it was made of (a table of 100,000 rows copies
/// no id on the way).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row<'a> {
    pub chat_id: Option<Cow<'a, str>>,
    /// None for a chat without data, and for an error.
    pub participant: Option<&'a str>,
    pub state: Option<&'static str>,
    pub last_seen: Option<DateTime<Utc>>,
    /// A change's `observed_at`, an event's `timestamp`.
    pub observed_at: Option<DateTime<Utc>>,
    /// A change's previous state.
    pub previous: Option<&'static str>,
    /// `"ClassName: message"` for the error of one chat.
    pub error: Option<String>,
}

/// One row per participant; a chat without data is one row with no participant.
pub fn chat_rows<'a>(chat: &'a ChatPresence, observed_at: Option<DateTime<Utc>>, rows: &mut Vec<Row<'a>>) {
    if chat.presences.is_empty() {
        rows.push(Row { chat_id: Some(Cow::Borrowed(&chat.id)), observed_at, ..Row::default() });
    }
    rows.extend(chat.presences.iter().map(|p| Row {
        chat_id: Some(Cow::Borrowed(&chat.id)),
        participant: Some(&p.participant),
        state: Some(p.state.as_str()),
        last_seen: p.last_seen,
        observed_at,
        ..Row::default()
    }));
}

pub fn change_row(change: &PresenceChange) -> Row<'_> {
    Row {
        chat_id: Some(Cow::Borrowed(&change.chat_id)),
        participant: Some(&change.participant),
        state: Some(change.current.as_str()),
        last_seen: change.last_seen,
        observed_at: Some(change.observed_at),
        previous: change.previous.map(|p| p.as_str()),
        error: None,
    }
}

pub fn event_rows<'a>(event: &'a PresenceEvent, rows: &mut Vec<Row<'a>>) {
    chat_rows(&event.chat, event.timestamp, rows);
}

/// The row of a failure: the chat it was about (None when it was about no one chat), and the
/// error as `"ClassName: message"`.
pub fn error_row(chat_id: Option<String>, class_name: &str, message: &str) -> Row<'static> {
    Row { chat_id: chat_id.map(Cow::Owned), error: Some(format!("{class_name}: {message}")), ..Row::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{ParticipantPresence, PresenceState};

    fn at(seconds: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(seconds, 0)
    }

    fn participant(id: &str, state: PresenceState, last_seen: Option<DateTime<Utc>>) -> ParticipantPresence {
        ParticipantPresence { participant: id.to_owned(), state, last_seen, raw_presence: None }
    }

    #[test]
    fn each_result_becomes_its_rows() {
        let group = ChatPresence {
            id: "120363@g.us".into(),
            presences: vec![
                participant("1@c.us", PresenceState::Online, None),
                participant("2@c.us", PresenceState::Offline, at(100)),
            ],
        };
        let empty = ChatPresence { id: "3@c.us".into(), presences: vec![] };
        let event = PresenceEvent { id: None, timestamp: at(7), session: None, engine: None, chat: empty.clone() };
        let change = PresenceChange {
            chat_id: "4@c.us".into(),
            participant: "4@c.us".into(),
            previous: Some(PresenceState::Online),
            current: PresenceState::Offline,
            last_seen: at(200),
            observed_at: at(201).unwrap_or_default(),
        };
        let mut rows = Vec::new();
        chat_rows(&group, None, &mut rows);
        chat_rows(&empty, None, &mut rows);
        event_rows(&event, &mut rows);
        rows.push(change_row(&change));
        rows.push(error_row(Some("5@c.us".into()), "NotFoundError", "no such chat"));
        let table: Vec<_> = rows
            .iter()
            .map(|r| (r.chat_id.as_deref(), r.participant, r.state, r.last_seen, r.observed_at, r.previous))
            .collect();
        assert_eq!(
            table,
            [
                (Some("120363@g.us"), Some("1@c.us"), Some("online"), None, None, None),
                (Some("120363@g.us"), Some("2@c.us"), Some("offline"), at(100), None, None),
                (Some("3@c.us"), None, None, None, None, None),
                (Some("3@c.us"), None, None, None, at(7), None),
                (Some("4@c.us"), Some("4@c.us"), Some("offline"), at(200), at(201), Some("online")),
                (Some("5@c.us"), None, None, None, None, None),
            ]
        );
        assert_eq!(rows[5].error.as_deref(), Some("NotFoundError: no such chat"));
        assert!(rows[..5].iter().all(|r| r.error.is_none()));
    }
}
