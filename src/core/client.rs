//! The async presence client: the one implementation of every operation. The Python sync client
//! runs these same futures on the shared runtime; nothing here knows about Python.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use super::answer;
use super::chat_id::ChatId;
use super::error::{Error, Result};
use super::http::{Call, Exchange};
use super::model::{ChatPresence, PresenceState};
use super::routes::{Operation, TypingStyle};
use super::secret::Redactor;

pub use super::config::{
    default_user_agent, ClientConfig, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RETRIES, DEFAULT_SESSION, DEFAULT_TIMEOUT,
    MAX_MAX_CONNECTIONS,
};
pub use super::http::retry::{parse_retry_after, retry_pause, MAX_RETRY_AFTER};
pub use super::http::MAX_BODY_BYTES;

/// Polling pace of `get(wait=...)`: starts quick, since data usually follows in a moment.
const WAIT_POLL_FIRST: Duration = Duration::from_millis(200);
const WAIT_POLL_MAX: Duration = Duration::from_secs(1);
/// WhatsApp clears "typing..." by itself after several seconds; a typing block re-sends it at
/// this pace by default so it keeps showing.
pub const TYPING_REFRESH: Duration = Duration::from_secs(8);
/// `keep_online()` re-sends "online" at this pace by default, well inside the time after which
/// WhatsApp counts a silent session as gone.
pub const ONLINE_REFRESH: Duration = Duration::from_secs(20);

/// What `get_many` does with a chat that fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// The call fails with it (and what is in flight is cancelled).
    Stop,
    /// Its place in the results holds the error; the others go on.
    Collect,
}

pub struct Client {
    /// Everything about sending: the parsed URL, the pool, redaction, pacing.
    http: Exchange,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client> {
        Ok(Client { http: Exchange::new(config)? })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.http.config
    }

    pub fn redactor(&self) -> &Redactor {
        &self.http.redactor
    }

    /// Closes the client: calls after this fail with `Closed`; calls in flight finish.
    pub fn close(&self) {
        self.http.pool.store(None);
    }

    pub fn is_closed(&self) -> bool {
        self.http.pool.load().is_none()
    }

    /// One chat's presence. With a non-zero `wait`, an answer without data is asked again until
    /// data comes or `wait` has passed; the last answer is returned either way.
    pub async fn get(&self, id: &ChatId, wait: Duration) -> Result<ChatPresence> {
        self.get_once_or_until_data(id, wait).await.map_err(|e| e.about_chat(id.as_str()))
    }

    async fn get_once_or_until_data(&self, id: &ChatId, wait: Duration) -> Result<ChatPresence> {
        let started = Instant::now();
        let mut pause = WAIT_POLL_FIRST;
        loop {
            let answer = self.http.send(Call { chat: Some(id.to_string()), ..Call::new(Operation::GetChat) }).await?;
            let chat = answer::chat(&answer.body, id.as_str()).map_err(|e| self.http.about_answer(e, &answer))?;
            let left = wait.saturating_sub(started.elapsed());
            if chat.has_data() || left.is_zero() {
                return Ok(chat);
            }
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(WAIT_POLL_MAX);
        }
    }

    /// Several chats at once, at most `concurrency` requests in flight (and never more than
    /// `max_connections`), results in input order. Each id is given normalised, or as the reason
    /// it is not a chat id (`chat_id::normalize`). With `OnFailure::Stop`, the first failure (a
    /// bad id before anything is sent) ends the call and cancels what is in flight; with
    /// `OnFailure::Collect` each chat's place holds its own result. `done`, when given, counts
    /// the lookups finished so far (for a progress report).
    pub async fn get_many(
        &self,
        ids: Vec<Result<ChatId>>,
        concurrency: usize,
        wait: Duration,
        on_failure: OnFailure,
        done: Option<Arc<AtomicUsize>>,
    ) -> Result<Vec<Result<ChatPresence>>> {
        if concurrency == 0 {
            return Err(Error::invalid_argument("concurrency must be at least 1"));
        }
        if on_failure == OnFailure::Stop {
            if let Some(Err(e)) = ids.iter().find(|r| r.is_err()) {
                return Err(e.clone());
            }
        }
        // More in flight than connections would only queue at the connection bound.
        let concurrency = concurrency.min(self.http.config.max_connections);
        let mut results: Vec<Option<Result<ChatPresence>>> = vec![None; ids.len()];
        let mut pending = stream::iter(ids.into_iter().enumerate())
            .map(|(i, id)| async move {
                match id {
                    Ok(id) => (i, self.get(&id, wait).await),
                    Err(e) => (i, Err(e)),
                }
            })
            .buffer_unordered(concurrency);
        while let Some((i, result)) = pending.next().await {
            if on_failure == OnFailure::Stop {
                if let Err(e) = result {
                    return Err(e);
                }
            }
            results[i] = Some(result);
            if let Some(done) = &done {
                done.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::protocol("a lookup produced no result"))))
            .collect())
    }

    /// Every chat the session is subscribed to.
    pub async fn get_all(&self) -> Result<Vec<ChatPresence>> {
        let answer = self.http.send(Call::new(Operation::GetAll)).await?;
        answer::chat_list(&answer.body).map_err(|e| self.http.about_answer(e, &answer))
    }

    /// Sets the session's own presence. Online/offline are global; typing, recording and paused
    /// need the chat. Broken rules fail before anything is sent.
    pub async fn set(&self, state: PresenceState, chat: Option<&ChatId>) -> Result<()> {
        check_set(state, chat.is_some())?;
        let mut body = json!({ "presence": state.as_str() });
        if let Some(chat) = chat {
            body["chatId"] = Value::String(chat.to_string());
        }
        self.write(Call { body: Some(body), ..Call::new(Operation::SetPresence) }, chat).await
    }

    /// Subscribes to a chat's presence updates.
    pub async fn subscribe(&self, id: &ChatId) -> Result<()> {
        self.write(Call { chat: Some(id.to_string()), ..Call::new(Operation::Subscribe) }, Some(id)).await
    }

    /// Shows "typing..." in a chat.
    pub async fn start_typing(&self, chat: &ChatId) -> Result<()> {
        self.typing(chat, true).await
    }

    /// Clears "typing..." in a chat.
    pub async fn stop_typing(&self, chat: &ChatId) -> Result<()> {
        self.typing(chat, false).await
    }

    /// Starts holding a presence for a with-block: "typing..." in its chat, or online.
    pub async fn hold(&self, held: &Held) -> Result<()> {
        match held {
            Held::Typing(chat) => self.start_typing(chat).await,
            Held::Online => self.set(PresenceState::Online, None).await,
        }
    }

    /// Lets it go at the block's end: "typing..." cleared, or the session offline, which gives
    /// the phone its notifications back.
    pub async fn release(&self, held: &Held) -> Result<()> {
        match held {
            Held::Typing(chat) => self.stop_typing(chat).await,
            Held::Online => self.set(PresenceState::Offline, None).await,
        }
    }

    /// Re-sends it every `every` until dropped (abort the task that runs it). A failed refresh
    /// (after the client's retries) is logged and the next one tried, never raised: the block's
    /// body goes on. Typing is cosmetic and logs at DEBUG; losing "online" logs at WARNING.
    pub async fn keep_holding(&self, held: &Held, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.hold(held).await {
                match held {
                    Held::Typing(chat) => {
                        log::debug!(target: "wawp_presence", "refreshing typing in {chat} failed: {e}");
                    }
                    Held::Online => log::warn!(target: "wawp_presence", "refreshing online failed: {e}"),
                }
            }
        }
    }

    async fn typing(&self, chat: &ChatId, start: bool) -> Result<()> {
        match self.http.config.backend.spec().typing {
            TypingStyle::Presence => {
                let state = if start { PresenceState::Typing } else { PresenceState::Paused };
                self.set(state, Some(chat)).await
            }
            TypingStyle::Routes => {
                let op = if start { Operation::StartTyping } else { Operation::StopTyping };
                self.write(Call { query: vec![("chatId", chat.to_string())], ..Call::new(op) }, Some(chat)).await
            }
        }
    }

    /// Sends a write and reads its answer; a failure names the chat the write was about.
    async fn write(&self, call: Call, chat: Option<&ChatId>) -> Result<()> {
        let result = match self.http.send(call).await {
            Ok(answer) => answer::write(&answer.body).map_err(|e| self.http.about_answer(e, &answer)),
            Err(e) => Err(e),
        };
        result.map_err(|e| match chat {
            Some(chat) => e.about_chat(chat.as_str()),
            None => e,
        })
    }
}

/// The words `set` accepts: every state but `unknown`.
pub const SETTABLE: &str = "online, offline, typing, recording or paused";

/// A state word as `set` takes it; one it cannot send is refused naming the words it can.
pub fn settable_state(word: &str) -> Result<PresenceState> {
    match PresenceState::from_value(word) {
        Some(state) if state != PresenceState::Unknown => Ok(state),
        _ => Err(Error::invalid_argument(format!("presence {:?} cannot be set: use {SETTABLE}", word.trim()))),
    }
}

/// The rules of setting presence, checked before anything is sent: `unknown` cannot be sent,
/// typing/recording/paused need a chat, online/offline must not have one.
pub fn check_set(state: PresenceState, has_chat: bool) -> Result<()> {
    match (state, state.is_per_chat(), has_chat) {
        (PresenceState::Unknown, _, _) => settable_state(state.as_str()).map(drop),
        (_, true, false) => {
            Err(Error::invalid_argument(format!("presence {:?} is about one chat: pass chat_id=...", state.as_str())))
        }
        (_, false, true) => {
            Err(Error::invalid_argument(format!("presence {:?} is global: it is sent without chat_id", state.as_str())))
        }
        _ => Ok(()),
    }
}

/// A presence a with-block holds while its body runs, refreshed at a pace, let go at its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    /// "typing..." in one chat (`client.typing(chat_id)`).
    Typing(ChatId),
    /// The session online (`client.keep_online()`).
    Online,
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Held::Typing(chat) => write!(f, "typing in {chat}"),
            Held::Online => f.write_str("online"),
        }
    }
}

/// A shared client, as the bindings and spawned tasks hold it.
pub type SharedClient = Arc<Client>;
