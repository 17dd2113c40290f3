//! A fake Wawp / WAHA server for tests and benchmarks: real HTTP/1.1 on loopback, presence
//! routes only. It shares no code with the client on purpose, so that each can catch the
//! other's misreading of the wire.

mod chats;
mod http;
mod routes;
mod script;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timing_tests;
mod traffic;
mod waha;
#[cfg(test)]
mod waha_tests;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use chats::{put, Chat, PresenceEntry};
use script::Script;

/// Which server the fake imitates: the client's own list of backends.
pub use crate::core::routes::Backend;
pub use script::{ScriptError, ScriptStep};
pub use traffic::Traffic;
pub use waha::{Edition, SESSION_STATUSES};

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
    /// WAHA only: `Core` serves `session` alone (any other name is refused, shape B of
    /// `waha-real-answers.md`) and answers every subscribe with shape F, as the recorded WAHA
    /// Core with its NOWEB engine does; `Plus` (the default) subscribes, and any other session
    /// name is simply not running (shape A).
    pub edition: Edition,
    /// "WEBJS" answers 422 to get-all, as that engine does. Named in shape G's message.
    pub engine: String,
    /// How long a request waits for a session that is started but not WORKING to become
    /// WORKING before it is refused (shape C); a real WAHA waits about 5 s.
    pub session_wait: Duration,
    /// How many of the most recent requests the log keeps; older ones are forgotten, so a
    /// long-running fake (standalone, or under a benchmark) keeps a bounded memory.
    pub request_log: usize,
    /// How long every request waits before it is answered, until `set_latency` changes it.
    pub latency: Duration,
}

/// The default length of the request log.
pub const DEFAULT_REQUEST_LOG: usize = 10_000;

/// The default `FakeConfig::session_wait`: short, so that tests of a session that is not ready
/// stay fast.
pub const DEFAULT_SESSION_WAIT: Duration = Duration::from_millis(50);

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
            edition: Edition::Plus,
            engine: "NOWEB".to_owned(),
            session_wait: DEFAULT_SESSION_WAIT,
            request_log: DEFAULT_REQUEST_LOG,
            latency: Duration::ZERO,
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

struct State {
    chats: HashMap<String, Chat>,
    subscriptions: Vec<String>,
    subscribed: HashSet<String>,
    faults: VecDeque<Fault>,
    requests: VecDeque<RecordedRequest>,
    traffic: Traffic,
    own_presence: Option<String>,
    chat_states: BTreeMap<String, String>,
    latency: Duration,
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
            latency: Duration::ZERO,
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

    /// One chat as `WAHAChatPresences` at `now`; each read uses up one pending empty read.
    fn read_chat(&mut self, chat: &str, now: Instant) -> serde_json::Value {
        let presences: Vec<serde_json::Value> = match self.chats.get_mut(chat) {
            Some(c) if c.empty_reads > 0 => {
                c.empty_reads -= 1;
                Vec::new()
            }
            Some(c) => c
                .presences_at(chat, now)
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
    /// The WhatsApp session's status: a channel, so that a request waiting for WORKING wakes
    /// as soon as it is set.
    session_status: watch::Sender<String>,
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
    closed: Arc<http::Closed>,
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
        let state = State { latency: cfg.latency, ..State::default() };
        let session_status = watch::Sender::new(waha::WORKING.to_owned());
        let shared = Arc::new(Shared { config: cfg, state: Mutex::new(state), session_status });
        let (stop, stopped) = watch::channel(false);
        let closed = Arc::new(http::Closed::default());
        handle.spawn(http::serve(listener, Arc::clone(&shared), stopped, Arc::clone(&closed)));
        Ok(FakeServer { shared, addr, stop, closed })
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
    /// Ends the chat's script, if it has one, where it stands.
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
        let now = Instant::now();
        let mut state = self.shared.lock();
        let chat = state.chats.entry(chat_id.to_owned()).or_default();
        chat.end_script(chat_id, now);
        put(&mut chat.presences, entry);
        chat.empty_reads = empty_reads;
    }

    /// Plays `steps` on `chat_id`'s own entry, each from `after` the call on; before the first,
    /// reads answer what they did. Replaces the chat's previous script, which ends where it
    /// stands; pending empty reads stay. Steps out of time order are refused, changing nothing.
    pub fn script_presence(&self, chat_id: &str, steps: Vec<ScriptStep>) -> Result<(), ScriptError> {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut state = self.shared.lock();
        let before = state.chats.get(chat_id).and_then(|chat| {
            let own = chat.presences_at(chat_id, now).into_iter().find(|p| p.participant == chat_id);
            own.map(|p| p.presence)
        });
        let script = Script::new(steps, before.as_deref(), now, wall)?;
        let chat = state.chats.entry(chat_id.to_owned()).or_default();
        chat.end_script(chat_id, now);
        chat.script = Some(script);
        Ok(())
    }

    /// Makes every request wait `latency` before it is answered.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    pub fn latency(&self) -> Duration {
        self.shared.lock().latency
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

    /// The WhatsApp session's status, "WORKING" until set. WAHA: "STOPPED" makes every presence
    /// route answer 404 (shape A of `waha-real-answers.md`); any other word but "WORKING" makes
    /// it wait up to `session_wait` for WORKING, then answer 422 with that word (shape C). Wawp:
    /// any word but "WORKING" gives that 422. A request already waiting goes on as soon as the
    /// status is set back to "WORKING".
    pub fn set_session_status(&self, status: &str) {
        self.shared.session_status.send_replace(status.to_owned());
    }

    pub fn session_status(&self) -> String {
        self.shared.session_status.borrow().clone()
    }

    /// Back to a fresh server with the same config and port: scripts gone, the latency back to
    /// the config's, the session WORKING (connections already open stay open and counted).
    pub fn reset(&self) {
        let mut state = self.shared.lock();
        let traffic = state.traffic.since_now();
        *state = State { traffic, latency: self.shared.config.latency, ..State::default() };
        drop(state);
        self.set_session_status(waha::WORKING);
    }

    /// Stops accepting and ends every open connection, hanging ones too. Idempotent. Called
    /// outside the runtime (from Python, say), it returns once the port is closed, so a request
    /// made after it is refused; inside the runtime it cannot wait for the runtime's own work.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
        if tokio::runtime::Handle::try_current().is_err() {
            self.closed.wait(Duration::from_secs(5));
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
