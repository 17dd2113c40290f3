//! The fake's chats: what each one shows (set directly, or by a script over time) and how a
//! read of it reads.

use tokio::time::Instant;

use super::script::Script;

#[derive(Clone)]
pub(super) struct PresenceEntry {
    pub(super) participant: String,
    /// Stored raw so that tests can feed engine words such as "composing".
    pub(super) presence: String,
    pub(super) last_seen: Option<serde_json::Number>,
}

#[derive(Default)]
pub(super) struct Chat {
    pub(super) presences: Vec<PresenceEntry>,
    /// Reads still to answer with no presences, as engines do right after subscribing.
    pub(super) empty_reads: u32,
    /// Changes the chat's own entry (participant = the chat) over time, until the next set.
    pub(super) script: Option<Script>,
}

impl Chat {
    /// What a read at `now` answers (empty reads aside): the stored presences, with the chat's
    /// own entry as the script's step in force says.
    pub(super) fn presences_at(&self, chat: &str, now: Instant) -> Vec<PresenceEntry> {
        let mut presences = self.presences.clone();
        if let Some(step) = self.script.as_ref().and_then(|script| script.current(now)) {
            let own = PresenceEntry {
                participant: chat.to_owned(),
                presence: step.presence.clone(),
                last_seen: step.last_seen.clone(),
            };
            put(&mut presences, own);
        }
        presences
    }

    /// Stops the script, keeping what it shows at `now` as the stored presences.
    pub(super) fn end_script(&mut self, chat: &str, now: Instant) {
        if self.script.is_some() {
            self.presences = self.presences_at(chat, now);
            self.script = None;
        }
    }
}

/// Replaces the entry of `entry`'s participant, or adds it at the end.
pub(super) fn put(presences: &mut Vec<PresenceEntry>, entry: PresenceEntry) {
    match presences.iter_mut().find(|p| p.participant == entry.participant) {
        Some(existing) => *existing = entry,
        None => presences.push(entry),
    }
}
