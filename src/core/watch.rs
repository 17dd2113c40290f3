//! Watching chats for presence changes: subscribe, poll, and report each participant whose
//! state or last-seen time changed since the last look.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use futures::future::try_join_all;

use super::chat_id::ChatId;
use super::client::{Client, OnFailure};
use super::error::{Error, ErrorKind, Result};
use super::model::PresenceState;

/// Subscriptions are lost when the WhatsApp session reconnects; a watcher renews them this often.
pub const RESUBSCRIBE_EVERY: Duration = Duration::from_secs(300);
/// Lookups in flight at once while polling.
const POLL_CONCURRENCY: usize = 8;
/// The fastest a watcher polls (and a typing block re-sends): each poll is a GET per chat, and
/// WhatsApp bans numbers that poll aggressively; faster than this is a mistake, not a wish.
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PresenceChange {
    pub chat_id: String,
    pub participant: String,
    /// None the first time the participant is seen.
    pub previous: Option<PresenceState>,
    pub current: PresenceState,
    pub last_seen: Option<DateTime<Utc>>,
    pub observed_at: DateTime<Utc>,
}

/// What was last reported for one (chat, participant): the state and the last-seen time.
type Reported = (PresenceState, Option<DateTime<Utc>>);

pub struct Watcher {
    client: Arc<Client>,
    ids: Vec<ChatId>,
    interval: Duration,
    resubscribe: Duration,
    seen: HashMap<(String, String), Reported>,
    pending: VecDeque<PresenceChange>,
    subscribed_at: Option<Instant>,
    /// The engine does not implement subscribing (WAHA's NOWEB answers every subscribe 422);
    /// every GET subscribes by itself, so polling alone goes on.
    polling_only: bool,
    polled: bool,
}

impl Watcher {
    /// Checks the ids and the pace now, so a bad argument fails before anything is sent.
    pub fn new(client: Arc<Client>, chat_ids: Vec<ChatId>, interval: Duration, resubscribe: Duration) -> Result<Self> {
        if chat_ids.is_empty() {
            return Err(Error::invalid_argument("watch needs at least one chat id"));
        }
        for (name, value) in [("interval", interval), ("resubscribe", resubscribe)] {
            if value < MIN_INTERVAL {
                return Err(Error::invalid_argument(format!(
                    "{name} must be at least {} seconds, not {}",
                    MIN_INTERVAL.as_secs_f64(),
                    value.as_secs_f64()
                )));
            }
        }
        let mut ids = chat_ids;
        let mut unique = std::collections::HashSet::new();
        ids.retain(|id| unique.insert(id.clone()));
        Ok(Watcher {
            client,
            ids,
            interval,
            resubscribe,
            seen: HashMap::new(),
            pending: VecDeque::new(),
            subscribed_at: None,
            polling_only: false,
            polled: false,
        })
    }

    /// The next change; waits (polling every `interval`) until there is one. Errors that
    /// survive the client's retries end the call; the watcher can be asked again after one.
    pub async fn next(&mut self) -> Result<PresenceChange> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                return Ok(change);
            }
            if self.polled {
                tokio::time::sleep(self.interval).await;
            }
            self.poll().await?;
        }
    }

    async fn poll(&mut self) -> Result<()> {
        if !self.polling_only && self.subscribed_at.is_none_or(|at| at.elapsed() >= self.resubscribe) {
            match try_join_all(self.ids.iter().map(|id| self.client.subscribe(id))).await {
                Ok(_) => {}
                Err(e) if e.kind == ErrorKind::NotSupported => {
                    log::info!(
                        target: "wawp_presence",
                        "the server does not implement subscribing ({}); watching by polling alone, which subscribes too",
                        e.message
                    );
                    self.polling_only = true;
                }
                Err(e) => return Err(e),
            }
            self.subscribed_at = Some(Instant::now());
        }
        let ids = self.ids.iter().cloned().map(Ok).collect();
        let chats = self.client.get_many(ids, POLL_CONCURRENCY, Duration::ZERO, OnFailure::Stop, None).await?;
        self.polled = true;
        // Microseconds, as a Python datetime holds: a change must equal its own pickled copy.
        let observed_at = Utc::now().trunc_subsecs(6);
        for chat in chats.into_iter().flatten() {
            for p in chat.presences {
                let key = (chat.id.clone(), p.participant.clone());
                let now = (p.state, p.last_seen);
                let previous = self.seen.insert(key, now);
                if previous != Some(now) {
                    self.pending.push_back(PresenceChange {
                        chat_id: chat.id.clone(),
                        participant: p.participant,
                        previous: previous.map(|(state, _)| state),
                        current: p.state,
                        last_seen: p.last_seen,
                        observed_at,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[cfg(feature = "fake")]
mod tests {
    use super::*;
    use crate::core::client::ClientConfig;
    use crate::fake::{FakeConfig, FakeServer};

    fn id(text: &str) -> ChatId {
        ChatId::parse(text).unwrap()
    }

    #[tokio::test]
    async fn reports_first_sight_then_only_changes() {
        let server = FakeServer::start(FakeConfig::default()).await.unwrap();
        let client = Arc::new(
            Client::new(ClientConfig {
                base_url: server.url(),
                ..ClientConfig::wawp(server.config().instance_id.clone(), server.config().access_token.clone())
            })
            .unwrap(),
        );
        let (a, b) = ("447441429009@c.us".to_owned(), "447700900123@c.us".to_owned());
        server.set_presence(&a, "online", None, None, 0);
        server.set_presence(&b, "offline", Some(1_700_000_000.into()), None, 0);
        let mut w = Watcher::new(client, vec![id(&a), id(&b)], MIN_INTERVAL, RESUBSCRIBE_EVERY).unwrap();
        let first = [w.next().await.unwrap(), w.next().await.unwrap()];
        assert_eq!(
            first.iter().map(|c| (c.chat_id.as_str(), c.previous, c.current)).collect::<Vec<_>>(),
            [(a.as_str(), None, PresenceState::Online), (b.as_str(), None, PresenceState::Offline),]
        );
        // Both subscribed (concurrently, so in either order).
        let mut subscribed = server.subscriptions();
        subscribed.sort();
        let mut expected = vec![a.clone(), b.clone()];
        expected.sort();
        assert_eq!(subscribed, expected);
        server.set_presence(&a, "unavailable", Some(1_700_000_100.into()), None, 0);
        let change = tokio::time::timeout(Duration::from_secs(5), w.next()).await.unwrap().unwrap();
        assert_eq!(
            (change.chat_id, change.previous, change.current),
            (a, Some(PresenceState::Online), PresenceState::Offline)
        );
        assert_eq!(change.last_seen.unwrap().timestamp(), 1_700_000_100);
    }

    #[tokio::test]
    async fn where_subscribing_is_not_implemented_polling_alone_goes_on() {
        // WAHA Core with NOWEB answers every subscribe 422 "not implemented".
        let config = FakeConfig {
            backend: crate::fake::Backend::Waha,
            edition: crate::fake::Edition::Core,
            ..Default::default()
        };
        let server = FakeServer::start(config).await.unwrap();
        let client = Arc::new(Client::new(ClientConfig::waha(server.url(), "default", None)).unwrap());
        let a = "447441429009@c.us".to_owned();
        server.set_presence(&a, "online", None, None, 0);
        let mut w = Watcher::new(client, vec![id(&a)], MIN_INTERVAL, MIN_INTERVAL).unwrap();
        assert_eq!(w.next().await.unwrap().current, PresenceState::Online);
        server.set_presence(&a, "offline", None, None, 0);
        let change = tokio::time::timeout(Duration::from_secs(5), w.next()).await.unwrap().unwrap();
        assert_eq!((change.previous, change.current), (Some(PresenceState::Online), PresenceState::Offline));
        // Asked once, not at every renewal.
        let subscribes = server.requests().iter().filter(|r| r.path.ends_with("/subscribe")).count();
        assert_eq!(subscribes, 1);
    }

    #[test]
    fn bad_arguments_fail_before_anything_is_sent() {
        let client = Arc::new(Client::new(ClientConfig::wawp("i", "t")).unwrap());
        assert!(Watcher::new(Arc::clone(&client), vec![], Duration::from_secs(1), RESUBSCRIBE_EVERY).is_err());
        let one = vec![id("447441429009@c.us")];
        for too_fast in [Duration::ZERO, Duration::from_nanos(1000), MIN_INTERVAL - Duration::from_nanos(1)] {
            let err = Watcher::new(Arc::clone(&client), one.clone(), too_fast, RESUBSCRIBE_EVERY).err().unwrap();
            assert!(err.message.contains("interval must be at least 0.05 seconds"), "{}", err.message);
            assert!(Watcher::new(Arc::clone(&client), one.clone(), MIN_INTERVAL, too_fast).is_err());
        }
        assert!(Watcher::new(client, one, MIN_INTERVAL, MIN_INTERVAL).is_ok());
    }
}
