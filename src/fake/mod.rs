//! A fake Wawp / WAHA server for tests and benchmarks: real HTTP/1.1 on loopback, presence
//! routes only. It shares no code with the client on purpose, so that each can catch the
//! other's misreading of the wire.

mod http;
mod routes;
#[cfg(test)]
mod tests;
mod traffic;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use tokio::sync::watch;

/// Which server the fake imitates: the client's own list of backends.
pub use crate::core::routes::Backend;
pub use traffic::Traffic;

#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub backend: Backend,
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// Wawp credentials, expected as query parameters on every request.
    pub instance_id: String,
    pub access_token: String,
    /// WAHA: `Some(key)` makes `X-Api-Key: key` mandatory.
    pub api_key: Option<String>,
    /// The one WAHA session that exists.
    pub session: String,
    /// "WEBJS" answers 422 to get-all, as that engine does.
    pub engine: String,
    /// How many of the most recent requests the log keeps; older ones are forgotten, so a
    /// long-running fake (standalone, or under a benchmark) keeps a bounded memory.
    pub request_log: usize,
}

/// The default length of the request log.
pub const DEFAULT_REQUEST_LOG: usize = 10_000;

impl Default for FakeConfig {
    /// Random Wawp credentials, so that a client that ignores them cannot pass by luck.
    fn default() -> Self {
        let mut rng = rand::rng();
        FakeConfig {
            backend: Backend::Wawp,
            host: "127.0.0.1".to_owned(),
            port: 0,
            instance_id: format!("fake-instance-{:08x}", rng.random::<u32>()),
            access_token: Alphanumeric.sample_string(&mut rng, 32),
            api_key: None,
            session: "default".to_owned(),
            engine: "NOWEB".to_owned(),
            request_log: DEFAULT_REQUEST_LOG,
        }
    }
}

/// A scripted misbehaviour, taken by the next request whatever its route.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer `status`; `body: None` gives a JSON body fitting the status. Waits `delay` first.
    Status { status: u16, body: Option<Vec<u8>>, headers: Vec<(String, String)>, delay: Option<Duration> },
    /// Wait, then answer normally.
    Delay(Duration),
    /// Close the connection without any answer.
    Drop,
    /// 200 with an HTML page instead of JSON.
    Malformed,
    /// Never answer (until the server stops).
    Hang,
}

/// One request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Raw, still percent-encoded, as on the wire.
    pub path: String,
    /// Decoded.
    pub query: Vec<(String, String)>,
    /// Names lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

struct PresenceEntry {
    participant: String,
    /// Stored raw so that tests can feed engine words such as "composing".
    presence: String,
    last_seen: Option<serde_json::Number>,
}

#[derive(Default)]
struct Chat {
    presences: Vec<PresenceEntry>,
    /// Reads still to answer with no presences, as engines do right after subscribing.
    empty_reads: u32,
}

struct State {
    chats: HashMap<String, Chat>,
    subscriptions: Vec<String>,
    subscribed: HashSet<String>,
    faults: VecDeque<Fault>,
    requests: VecDeque<RecordedRequest>,
    traffic: Traffic,
    own_presence: Option<String>,
    chat_states: BTreeMap<String, String>,
    session_status: String,
}

impl Default for State {
    fn default() -> Self {
        State {
            chats: HashMap::new(),
            subscriptions: Vec::new(),
            subscribed: HashSet::new(),
            faults: VecDeque::new(),
            requests: VecDeque::new(),
            traffic: Traffic::default(),
            own_presence: None,
            chat_states: BTreeMap::new(),
            session_status: "WORKING".to_owned(),
        }
    }
}

impl State {
    /// Logs a request, forgetting the oldest beyond `limit`.
    fn record(&mut self, request: RecordedRequest, limit: usize) {
        if limit == 0 {
            return;
        }
        while self.requests.len() >= limit {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
    }

    fn subscribe(&mut self, chat: &str) {
        // A set beside the ordered list: a long run reads many chats, and each read subscribes.
        if self.subscribed.insert(chat.to_owned()) {
            self.subscriptions.push(chat.to_owned());
        }
    }

    /// One chat as `WAHAChatPresences`; each read uses up one pending empty read.
    fn read_chat(&mut self, chat: &str) -> serde_json::Value {
        let presences: Vec<serde_json::Value> = match self.chats.get_mut(chat) {
            Some(c) if c.empty_reads > 0 => {
                c.empty_reads -= 1;
                Vec::new()
            }
            Some(c) => c
                .presences
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "participant": p.participant,
                        "lastKnownPresence": p.presence,
                        "lastSeen": p.last_seen,
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        serde_json::json!({ "id": chat, "presences": presences })
    }
}

/// What the connection tasks and the handle share.
struct Shared {
    config: FakeConfig,
    state: Mutex<State>,
}

impl Shared {
    /// A panic elsewhere must not turn every later request into another panic.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running fake server. Stops on `shutdown()` or when dropped.
pub struct FakeServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer").field("backend", &self.shared.config.backend).field("url", &self.url()).finish()
    }
}

impl FakeServer {
    /// Binds and spawns the server on the current tokio runtime.
    pub async fn start(cfg: FakeConfig) -> std::io::Result<FakeServer> {
        Self::start_on(cfg, &tokio::runtime::Handle::current())
    }

    /// Binds and spawns the server on `handle`'s runtime; callable from any thread.
    pub fn start_on(cfg: FakeConfig, handle: &tokio::runtime::Handle) -> std::io::Result<FakeServer> {
        let listener = std::net::TcpListener::bind((cfg.host.as_str(), cfg.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        // Registering with the reactor needs the runtime's context, which this thread may lack.
        let listener = {
            let _context = handle.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared { config: cfg, state: Mutex::new(State::default()) });
        let (stop, stopped) = watch::channel(false);
        handle.spawn(http::serve(listener, Arc::clone(&shared), stopped));
        Ok(FakeServer { shared, addr, stop })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn config(&self) -> &FakeConfig {
        &self.shared.config
    }

    /// Stores what a read of `chat_id` answers. `participant` defaults to the chat and replaces
    /// only that participant's entry; the next `empty_reads` reads of the chat answer no presences.
    pub fn set_presence(
        &self,
        chat_id: &str,
        presence: &str,
        last_seen: Option<serde_json::Number>,
        participant: Option<&str>,
        empty_reads: u32,
    ) {
        let entry = PresenceEntry {
            participant: participant.unwrap_or(chat_id).to_owned(),
            presence: presence.to_owned(),
            last_seen,
        };
        let mut state = self.shared.lock();
        let chat = state.chats.entry(chat_id.to_owned()).or_default();
        match chat.presences.iter_mut().find(|p| p.participant == entry.participant) {
            Some(existing) => *existing = entry,
            None => chat.presences.push(entry),
        }
        chat.empty_reads = empty_reads;
    }

    /// Queues `times` copies of `fault` after any already queued.
    pub fn fail_next(&self, fault: Fault, times: u32) {
        let mut state = self.shared.lock();
        state.faults.extend(std::iter::repeat_n(fault, times as usize));
    }

    /// The most recent requests (at most `FakeConfig::request_log`), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.iter().cloned().collect()
    }

    /// Connection and in-flight counts (see `Traffic`).
    pub fn traffic(&self) -> Traffic {
        self.shared.lock().traffic
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// The last global presence set: "online" or "offline".
    pub fn own_presence(&self) -> Option<String> {
        self.shared.lock().own_presence.clone()
    }

    /// The last per-chat state set: typing, recording or paused.
    pub fn chat_states(&self) -> BTreeMap<String, String> {
        self.shared.lock().chat_states.clone()
    }

    /// Subscribed chat ids, in first-subscribed order.
    pub fn subscriptions(&self) -> Vec<String> {
        self.shared.lock().subscriptions.clone()
    }

    /// Anything but "WORKING" makes every presence route answer 422.
    pub fn set_session_status(&self, status: &str) {
        self.shared.lock().session_status = status.to_owned();
    }

    /// Back to a fresh server with the same config and port (connections already open stay
    /// open and counted).
    pub fn reset(&self) {
        let mut state = self.shared.lock();
        let traffic = state.traffic.since_now();
        *state = State { traffic, ..State::default() };
    }

    /// Stops accepting and ends every open connection, hanging ones too. Idempotent.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
