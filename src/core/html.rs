//! The notebook view of a result: a small HTML table (what Jupyter shows through `_repr_html_`).
//! Every value from a server or a user is escaped, so no answer can inject markup.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::model::{ChatPresence, PresenceEvent};
use super::watch::PresenceChange;

/// Text as HTML: the five characters with a meaning in markup or in an attribute are escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// How long ago `then` was, as a person says it: "just now", "5 min ago", "3 h ago", "2 days ago"
/// (or "in 5 min" for a time ahead of the clock).
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds();
    let (n, ahead) = (seconds.unsigned_abs(), seconds < 0);
    let amount = match n {
        0..=9 => return "just now".to_owned(),
        10..=59 => format!("{n} s"),
        60..=3599 => format!("{} min", n / 60),
        3600..=172_799 => format!("{} h", n / 3600),
        _ => format!("{} days", n / 86_400),
    };
    if ahead {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

fn when(time: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match time {
        Some(t) => format!("{} <small>({})</small>", t.format("%Y-%m-%d %H:%M:%S UTC"), ago(t, now)),
        None => "—".to_owned(),
    }
}

const STYLE: &str = "<table style=\"border-collapse:collapse;text-align:left\">";

fn table(caption: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = format!("{STYLE}<caption style=\"text-align:left\">{caption}</caption><thead><tr>");
    for h in head {
        let _ = write!(html, "<th>{h}</th>");
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{cell}</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

fn chat_table(chat: &ChatPresence, caption: String, now: DateTime<Utc>) -> String {
    let rows: Vec<Vec<String>> = if chat.presences.is_empty() {
        vec![vec!["—".to_owned(), "no data yet".to_owned(), "—".to_owned()]]
    } else {
        chat.presences
            .iter()
            .map(|p| vec![escape(&p.participant), escape(p.state.as_str()), when(p.last_seen, now)])
            .collect()
    };
    table(&caption, &["participant", "state", "last seen"], &rows)
}

pub fn chat_html(chat: &ChatPresence, now: DateTime<Utc>) -> String {
    chat_table(chat, format!("ChatPresence <code>{}</code>", escape(&chat.id)), now)
}

pub fn change_html(change: &PresenceChange, now: DateTime<Utc>) -> String {
    let previous = change.previous.map_or("—", |p| p.as_str());
    let row = vec![
        escape(&change.participant),
        format!("{} → {}", escape(previous), escape(change.current.as_str())),
        when(change.last_seen, now),
        when(Some(change.observed_at), now),
    ];
    let caption = format!("PresenceChange in <code>{}</code>", escape(&change.chat_id));
    table(&caption, &["participant", "state", "last seen", "observed at"], &[row])
}

pub fn event_html(event: &PresenceEvent, now: DateTime<Utc>) -> String {
    let mut caption = format!("PresenceEvent <code>{}</code>", escape(&event.chat.id));
    for (name, value) in [("id", &event.id), ("session", &event.session), ("engine", &event.engine)] {
        if let Some(value) = value {
            let _ = write!(caption, ", {name} <code>{}</code>", escape(value));
        }
    }
    if event.timestamp.is_some() {
        let _ = write!(caption, ", sent {}", when(event.timestamp, now));
    }
    chat_table(&event.chat, caption, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{ParticipantPresence, PresenceState};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn ago_reads_like_speech() {
        let now = at(1_000_000);
        for (seconds_before, want) in [
            (0, "just now"),
            (9, "just now"),
            (10, "10 s ago"),
            (59, "59 s ago"),
            (60, "1 min ago"),
            (300, "5 min ago"),
            (3599, "59 min ago"),
            (3600, "1 h ago"),
            (47 * 3600, "47 h ago"),
            (48 * 3600, "2 days ago"),
            (-300, "in 5 min"),
        ] {
            assert_eq!(ago(at(1_000_000 - seconds_before), now), want, "{seconds_before}");
        }
    }

    #[test]
    fn every_value_is_escaped() {
        let hostile = "<script>alert('x')</script>&\"";
        let chat = ChatPresence {
            id: hostile.to_owned(),
            presences: vec![ParticipantPresence {
                participant: hostile.to_owned(),
                state: PresenceState::Online,
                last_seen: Some(at(0)),
                raw_presence: None,
            }],
        };
        let event = PresenceEvent {
            id: Some(hostile.to_owned()),
            timestamp: Some(at(0)),
            session: Some(hostile.to_owned()),
            engine: Some(hostile.to_owned()),
            chat: chat.clone(),
        };
        for html in [chat_html(&chat, at(300)), event_html(&event, at(300))] {
            assert!(!html.contains("<script>") && !html.contains("'x'"), "{html}");
            assert!(html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;"), "{html}");
            assert!(html.contains("1970-01-01 00:00:00 UTC <small>(5 min ago)</small>"), "{html}");
        }
    }
}
