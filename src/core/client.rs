//! The async presence client: the one implementation of every operation. The Python sync client
//! runs these same futures on the shared runtime; nothing here knows about Python.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::stream::{self, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{json, Value};

use super::chat_id;
use super::error::{Error, ErrorKind, Result};
use super::fast_parse;
use super::model::{self, unwrap_data, ChatPresence, PresenceState};
use super::routes::{self, Auth, Backend, Method, Operation, TypingStyle};
use super::secret::{Redactor, Secret};
use super::transport::{Failure, Transport};
use hyper_util::client::proxy::matcher::Intercept;

/// Largest answer body read; anything larger is a protocol error, not an out-of-memory.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// `Retry-After` is honoured up to this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// First and largest pause between attempts (before jitter).
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Polling pace of `get(wait=...)`: starts quick, since data usually follows in a moment.
const WAIT_POLL_FIRST: Duration = Duration::from_millis(200);
const WAIT_POLL_MAX: Duration = Duration::from_secs(1);
/// WhatsApp clears "typing..." by itself after several seconds; a typing block re-sends it at
/// this pace by default so it keeps showing.
pub const TYPING_REFRESH: Duration = Duration::from_secs(8);

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_RETRIES: u32 = 2;
pub const DEFAULT_SESSION: &str = "default";
/// Requests in flight at once per client, and so connections in use to its one host: every
/// `concurrency` above it waits for a free connection instead of opening another descriptor.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
pub const MAX_MAX_CONNECTIONS: usize = 4096;
/// An idle connection is closed after this long, so a burst does not hold descriptors for
/// minutes after it is over (long enough to keep one across `watch`'s default 5 s polls).
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

pub fn default_user_agent() -> String {
    format!("wawp-presence/{}", env!("CARGO_PKG_VERSION"))
}

/// Everything a client is made from; also what a pickled Python client carries.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    pub backend: Backend,
    pub base_url: String,
    pub session: String,
    pub instance_id: Option<String>,
    pub access_token: Option<Secret>,
    pub api_key: Option<Secret>,
    /// Bound on one whole attempt: connect, send, and read the answer.
    pub timeout: Duration,
    pub max_retries: u32,
    /// Most requests per second across the whole client.
    pub rate_limit: Option<f64>,
    pub user_agent: String,
    /// Most requests in flight at once, which bounds the connections the client opens.
    pub max_connections: usize,
}

impl ClientConfig {
    pub fn wawp(instance_id: impl Into<String>, access_token: impl Into<String>) -> Self {
        ClientConfig {
            backend: Backend::Wawp,
            base_url: Backend::Wawp.spec().default_base_url.unwrap_or_default().to_owned(),
            session: DEFAULT_SESSION.to_owned(),
            instance_id: Some(instance_id.into()),
            access_token: Some(Secret::new(access_token)),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            rate_limit: None,
            user_agent: default_user_agent(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    pub fn waha(base_url: impl Into<String>, session: impl Into<String>, api_key: Option<String>) -> Self {
        ClientConfig {
            backend: Backend::Waha,
            base_url: base_url.into(),
            session: session.into(),
            instance_id: None,
            access_token: None,
            api_key: api_key.map(Secret::new),
            ..ClientConfig::wawp("", "")
        }
    }

    /// Checks every option; a bad one is an `InvalidArgument` naming it. A URL quoted in a
    /// message has its credentials hidden.
    pub fn validate(&self) -> Result<url::Url> {
        let bad = |msg: String| Err(Error::invalid_argument(msg));
        if self.backend == Backend::Wawp {
            if self.instance_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
                return bad("instance_id must be a non-empty string".into());
            }
            if self.access_token.as_ref().is_none_or(|s| s.expose().trim().is_empty()) {
                return bad("access_token must be a non-empty string".into());
            }
        }
        if self
            .api_key
            .as_ref()
            .is_some_and(|k| k.expose().is_empty() || http::HeaderValue::from_str(k.expose()).is_err())
        {
            return bad("api_key must be a non-empty string of visible ASCII characters".into());
        }
        check_session(&self.session)?;
        if !(self.timeout > Duration::ZERO && self.timeout <= Duration::from_secs(24 * 3600)) {
            return bad(format!("timeout must be more than 0 seconds (and at most a day), not {:?}", self.timeout));
        }
        if self.max_retries > 100 {
            return bad(format!("max_retries must be between 0 and 100, not {}", self.max_retries));
        }
        if !(1..=MAX_MAX_CONNECTIONS).contains(&self.max_connections) {
            return bad(format!(
                "max_connections must be between 1 and {MAX_MAX_CONNECTIONS}, not {}",
                self.max_connections
            ));
        }
        if let Some(rate) = self.rate_limit {
            // At least one request a day, so the pacing period stays a sane Duration.
            if !(rate.is_finite() && rate >= 1.0 / (24.0 * 3600.0)) {
                return bad(format!(
                    "rate_limit must be a positive number of requests per second (at least one a day), not {rate:?}"
                ));
            }
        }
        if http::HeaderValue::from_str(&self.user_agent).is_err() {
            return bad("user_agent must be visible ASCII text".into());
        }
        let shown = || without_credentials(self.base_url.trim());
        let url = url::Url::parse(self.base_url.trim())
            .map_err(|e| Error::invalid_argument(format!("base_url {:?} is not a URL ({e})", shown())))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return bad(format!("base_url must be an http:// or https:// URL with a host, not {:?}", shown()));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
            return bad("base_url must not carry credentials, a query or a fragment; use access_token / api_key".into());
        }
        Ok(url)
    }
}

/// A WAHA session name goes into the path as one segment. `.` and `..` (in any encoding: URL
/// parsers resolve `%2E%2E` too) would change which route is asked, so they are refused.
fn check_session(session: &str) -> Result<()> {
    let name = session.trim();
    if name.is_empty() {
        return Err(Error::invalid_argument("session must be a non-empty string"));
    }
    let mut decoded = name.to_owned();
    // Each round peels one layer of percent-encoding; a name that decodes to a dot segment at any
    // depth is refused. Five layers is more than any server decodes.
    for _ in 0..5 {
        if decoded == "." || decoded == ".." {
            return Err(Error::invalid_argument(format!(
                "session {name:?} is a path step (\".\" or \"..\"), not a session name"
            )));
        }
        let next = percent_encoding::percent_decode_str(&decoded).decode_utf8_lossy().into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_argument("session must not hold control characters"));
    }
    Ok(())
}

/// A URL (or text meant as one) with any `user:password@` before its host replaced by `***@`,
/// so that a refused `base_url` or a proxy can be named in a message.
pub fn without_credentials(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(i) => text.split_at(i + 3),
        None => ("", text),
    };
    let (authority, after) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}***@{host}{after}"),
        None => text.to_owned(),
    }
}

/// A request as the operations describe it; `send` turns it into HTTP.
struct Call {
    op: Operation,
    chat: Option<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Call {
    fn new(op: Operation) -> Self {
        Call { op, chat: None, query: Vec::new(), body: None }
    }
}

/// A 2xx answer.
struct Answer {
    status: u16,
    body: bytes::Bytes,
    method: Method,
    /// As sent, credentials included: redacted only when an error or a log line shows it.
    url: url::Url,
}

/// A connection pool and the process it belongs to: connections made before a fork are tied
/// to the parent's runtime, so a child builds its own pool.
struct Pool {
    generation: u64,
    http: Transport,
    /// One permit per request on the wire: a request holds one from sending until its answer is
    /// read, so no more than `max_connections` connections are in use, whatever the fan-out
    /// (and the pool keeps at most as many idle).
    connections: tokio::sync::Semaphore,
    /// The proxy the environment sends this client's requests through, credentials hidden, for
    /// error messages (a dead proxy otherwise reads as a dead server).
    proxy: Option<String>,
}

impl Pool {
    fn new(config: &ClientConfig, base: &url::Url) -> Result<Pool> {
        let proxy = system_proxy(&config.base_url);
        let http = Transport::new(base, &config.user_agent, config.max_connections, proxy.as_ref())
            .map_err(|e| Error::new(ErrorKind::Configuration, format!("cannot set up the HTTP client: {e}")))?;
        Ok(Pool {
            generation: super::fork::generation(),
            http,
            connections: tokio::sync::Semaphore::new(config.max_connections),
            proxy: proxy.as_ref().map(shown_proxy),
        })
    }
}

pub struct Client {
    config: ClientConfig,
    /// `base_url`, parsed once: a request's URL is a copy with its path (and query) set.
    base: url::Url,
    /// The `X-Api-Key` header, built once.
    api_key_header: Option<http::HeaderValue>,
    /// The path part of `base`, which every request path starts with.
    base_path: String,
    session_segment: String,
    /// `None` once closed; taken out so the pool goes with the last in-flight call.
    pool: ArcSwapOption<Pool>,
    redactor: Redactor,
    limiter: Option<DefaultDirectRateLimiter>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client> {
        let url = config.validate()?;
        let pool = Pool::new(&config, &url)?;
        let limiter = config.rate_limit.map(|rate| {
            // validate() bounds the rate, so the period is a representable Duration.
            let period = Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::from_secs(24 * 3600));
            let quota = Quota::with_period(period)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
                .allow_burst(NonZeroU32::MIN);
            RateLimiter::direct(quota)
        });
        let api_key_header = match (config.backend.spec().auth, &config.api_key) {
            (Auth::ApiKeyHeader, Some(key)) => {
                let mut value = http::HeaderValue::from_str(key.expose())
                    .map_err(|_| Error::invalid_argument("api_key is not a valid header value"))?;
                value.set_sensitive(true);
                Some(value)
            }
            _ => None,
        };
        Ok(Client {
            base_path: url.path().trim_end_matches('/').to_owned(),
            base: url,
            api_key_header,
            session_segment: chat_id::encode_path_segment(config.session.trim()),
            redactor: Redactor::new([config.access_token.as_ref(), config.api_key.as_ref()]),
            pool: ArcSwapOption::from_pointee(pool),
            limiter,
            config,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Closes the client: calls after this fail with `Closed`; calls in flight finish.
    pub fn close(&self) {
        self.pool.store(None);
    }

    pub fn is_closed(&self) -> bool {
        self.pool.load().is_none()
    }

    /// The pool for this process: the current one, or a new one after a fork.
    fn pool(&self) -> Result<Arc<Pool>> {
        let closed = || Error::new(ErrorKind::Closed, "the client is closed");
        let current = self.pool.load_full().ok_or_else(closed)?;
        let generation = super::fork::generation();
        if current.generation == generation {
            return Ok(current);
        }
        let fresh = Arc::new(Pool::new(&self.config, &self.base)?);
        // Only replace the pool we saw: a close() in between must stay closed.
        let previous = self.pool.compare_and_swap(&Some(current), Some(Arc::clone(&fresh)));
        match &*previous {
            Some(p) if p.generation == generation => Ok(Arc::clone(p)),
            Some(_) => Ok(fresh),
            None => Err(closed()),
        }
    }

    /// One chat's presence. With a non-zero `wait`, an answer without data is asked again until
    /// data comes or `wait` has passed; the last answer is returned either way.
    pub async fn get(&self, chat_id: &str, wait: Duration) -> Result<ChatPresence> {
        let id = chat_id::normalize(chat_id)?;
        self.get_normalized(&id, wait).await
    }

    async fn get_normalized(&self, id: &str, wait: Duration) -> Result<ChatPresence> {
        let started = Instant::now();
        let mut pause = WAIT_POLL_FIRST;
        loop {
            let answer = self.send(Call { chat: Some(id.to_owned()), ..Call::new(Operation::GetChat) }).await?;
            let chat = match fast_parse::chat(&answer.body) {
                Some(chat) => chat,
                None => {
                    let json = self.read_json(&answer, &["id", "chatId", "presences"])?;
                    model::chat_from_value(unwrap_data(&json), Some(id)).map_err(|e| self.protocol(e, &answer))?
                }
            };
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
    /// it is not a chat id (`chat_id::normalize`). With `fail_fast`, the first failure (a bad id
    /// before anything is sent) ends the call and cancels what is in flight; otherwise each
    /// chat's place holds its own result.
    pub async fn get_many(
        &self,
        ids: Vec<Result<String>>,
        concurrency: usize,
        wait: Duration,
        fail_fast: bool,
    ) -> Result<Vec<Result<ChatPresence>>> {
        if concurrency == 0 {
            return Err(Error::invalid_argument("concurrency must be at least 1"));
        }
        if fail_fast {
            if let Some(Err(e)) = ids.iter().find(|r| r.is_err()) {
                return Err(e.clone());
            }
        }
        // More in flight than connections would only queue at the connection bound.
        let concurrency = concurrency.min(self.config.max_connections);
        let mut results: Vec<Option<Result<ChatPresence>>> = vec![None; ids.len()];
        let mut pending = stream::iter(ids.into_iter().enumerate())
            .map(|(i, id)| async move {
                match id {
                    Ok(id) => (i, self.get_normalized(&id, wait).await),
                    Err(e) => (i, Err(e)),
                }
            })
            .buffer_unordered(concurrency);
        while let Some((i, result)) = pending.next().await {
            if fail_fast {
                if let Err(e) = result {
                    return Err(e);
                }
            }
            results[i] = Some(result);
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::protocol("a lookup produced no result"))))
            .collect())
    }

    /// Every chat the session is subscribed to.
    pub async fn get_all(&self) -> Result<Vec<ChatPresence>> {
        let answer = self.send(Call::new(Operation::GetAll)).await?;
        let json = self.read_json(&answer, &[])?;
        let items = match unwrap_data(&json) {
            Value::Array(items) => items,
            other => {
                let kind = if other.is_object() { "an object" } else { "not a list" };
                return Err(
                    self.protocol(Error::protocol(format!("expected a JSON list of chats, got {kind}")), &answer)
                );
            }
        };
        items
            .iter()
            .map(|item| model::chat_from_value(item, None))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| self.protocol(e, &answer))
    }

    /// Sets the session's own presence. Online/offline are global; typing, recording and paused
    /// need the chat. Broken rules fail before anything is sent.
    pub async fn set(&self, state: PresenceState, chat_id: Option<&str>) -> Result<()> {
        let chat = check_set(state, chat_id)?;
        let mut body = json!({ "presence": state.as_str() });
        if let Some(chat) = chat {
            body["chatId"] = Value::String(chat);
        }
        let answer = self.send(Call { body: Some(body), ..Call::new(Operation::SetPresence) }).await?;
        self.check_no_error_body(&answer)
    }

    /// Subscribes to a chat's presence updates.
    pub async fn subscribe(&self, chat_id: &str) -> Result<()> {
        let id = chat_id::normalize(chat_id)?;
        let answer = self.send(Call { chat: Some(id), ..Call::new(Operation::Subscribe) }).await?;
        self.check_no_error_body(&answer)
    }

    /// Shows "typing..." in a chat.
    pub async fn start_typing(&self, chat_id: &str) -> Result<()> {
        self.typing(chat_id, true).await
    }

    /// Clears "typing..." in a chat.
    pub async fn stop_typing(&self, chat_id: &str) -> Result<()> {
        self.typing(chat_id, false).await
    }

    /// Re-sends "typing..." every `every` until dropped (abort the task that runs it). A failed
    /// refresh is logged and the next one tried: the indicator is cosmetic, and the stop that
    /// ends a typing block reports its own failure.
    pub async fn keep_typing(&self, chat_id: &str, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.start_typing(chat_id).await {
                log::debug!(target: "wawp_presence", "refreshing typing in {chat_id} failed: {e}");
            }
        }
    }

    async fn typing(&self, chat_id: &str, start: bool) -> Result<()> {
        match self.config.backend.spec().typing {
            TypingStyle::Presence => {
                let state = if start { PresenceState::Typing } else { PresenceState::Paused };
                self.set(state, Some(chat_id)).await
            }
            TypingStyle::Routes => {
                let id = chat_id::normalize(chat_id)?;
                let op = if start { Operation::StartTyping } else { Operation::StopTyping };
                let answer = self.send(Call { query: vec![("chatId", id)], ..Call::new(op) }).await?;
                self.check_no_error_body(&answer)
            }
        }
    }

    /// Sends a call, retrying what is worth retrying, and returns its 2xx answer.
    async fn send(&self, call: Call) -> Result<Answer> {
        let spec = self.config.backend.spec();
        let route = spec.route(call.op);
        let chat_segment = call.chat.as_deref().map(chat_id::encode_path_segment);
        let path = routes::fill_path(route, &self.session_segment, chat_segment.as_deref());
        let mut url = self.base.clone();
        url.set_path(&format!("{}{}", self.base_path, path));
        // The URL parser resolves dot segments, encoded ones too: a request must go to exactly
        // the route that was filled in, or not at all.
        if url.path().strip_prefix(self.base_path.as_str()) != Some(path.as_str()) {
            return Err(Error::invalid_argument(format!(
                "a path segment would change the request's route ({})",
                self.redactor.redact(url.path())
            )));
        }
        {
            let mut q = url.query_pairs_mut();
            if spec.auth == Auth::InstanceQuery {
                q.append_pair("instance_id", self.config.instance_id.as_deref().unwrap_or_default());
                q.append_pair("access_token", self.config.access_token.as_ref().map_or("", Secret::expose));
            }
            for (k, v) in &call.query {
                q.append_pair(k, v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        // What errors and log lines show, made only when one does.
        let shown = Shown(&self.redactor, &url);
        let body = call.body.as_ref().map(|b| b.to_string());

        let mut backoff = ExponentialBuilder::new()
            .with_min_delay(BACKOFF_MIN)
            .with_max_delay(BACKOFF_MAX)
            .with_jitter()
            .with_max_times(self.config.max_retries as usize)
            .build();
        let method = route.method.as_str();
        let tries = self.config.max_retries + 1;
        let mut attempts = 0;
        loop {
            let pool = self.pool()?;
            if let Some(limiter) = &self.limiter {
                limiter.until_ready().await;
            }
            // Waiting for a free connection is not part of the attempt's timeout: a large fan-out
            // queues here instead of timing out behind its own requests. The permit is let go
            // as soon as the answer is read, not held through a retry's pause.
            let Ok(connection) = pool.connections.acquire().await else {
                return Err(Error::new(ErrorKind::Closed, "the client is closed"));
            };
            attempts += 1;
            let started = Instant::now();
            let outcome = self.attempt(&pool, route.method, &url, body.as_deref()).await;
            drop(connection);
            let took = started.elapsed().as_millis();
            let err = match outcome {
                Ok((status, bytes)) => {
                    log::debug!(target: "wawp_presence", "{method} {shown} -> {status} in {took} ms");
                    return Ok(Answer { status, body: bytes, method: route.method, url });
                }
                Err(e) => self.redactor.scrub(e.with_request(method, &shown.to_string())),
            };
            let what = err.status.map_or_else(|| err.message.clone(), |s| s.to_string());
            if err.kind.is_retryable() {
                if let Some(delay) = backoff.next() {
                    let pause = retry_pause(err.retry_after, delay);
                    log::debug!(
                        target: "wawp_presence",
                        "{method} {shown} -> {what} in {took} ms; retrying in {:.2} s (attempt {attempts} of {tries})",
                        pause.as_secs_f64()
                    );
                    tokio::time::sleep(pause).await;
                    continue;
                }
            }
            log::debug!(target: "wawp_presence", "{method} {shown} -> {what} in {took} ms; giving up after {attempts} attempt(s)");
            return Err(Error { attempts, ..err });
        }
    }

    /// One HTTP exchange, bounded by the timeout as a whole (connect, send, read).
    async fn attempt(
        &self,
        pool: &Pool,
        method: Method,
        url: &url::Url,
        body: Option<&str>,
    ) -> Result<(u16, bytes::Bytes)> {
        let accept = http::HeaderValue::from_static("application/json");
        let mut headers = Vec::with_capacity(3);
        headers.push((http::header::ACCEPT, &accept));
        if let Some(value) = &self.api_key_header {
            headers.push((http::HeaderName::from_static("x-api-key"), value));
        }
        if body.is_some() {
            headers.push((http::header::CONTENT_TYPE, &accept));
        }
        let method = match method {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
        };
        let body = body.map(|b| bytes::Bytes::copy_from_slice(b.as_bytes()));
        let exchange = pool.http.send(method, url, &headers, body, MAX_BODY_BYTES);
        let reply = match tokio::time::timeout(self.config.timeout, exchange).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(failure)) => return Err(self.transport(failure, pool.proxy.as_deref())),
            Err(_) => return Err(self.timed_out()),
        };
        if (200..300).contains(&reply.status) {
            Ok((reply.status, reply.body))
        } else {
            let retry_after = reply.headers.get(http::header::RETRY_AFTER).and_then(parse_retry_after);
            Err(Error::from_status(reply.status, &reply.body, self.redactor.body_excerpt(&reply.body), retry_after))
        }
    }

    fn timed_out(&self) -> Error {
        Error::new(ErrorKind::Timeout, format!("no complete answer within {:.3} s", self.config.timeout.as_secs_f64()))
    }

    /// A transport failure as our error, with the URL (and its token) left out of the text,
    /// and the proxy named when the request went through one.
    fn transport(&self, failure: Failure, proxy: Option<&str>) -> Error {
        let (kind, what, detail) = match failure {
            Failure::TooLarge(status) => return too_large(status),
            Failure::Connect(d) => (ErrorKind::Transport, "could not connect", d),
            Failure::Send(d) => (ErrorKind::Transport, "the request failed", d),
            Failure::Read(d) => (ErrorKind::Transport, "the connection failed while reading the answer", d),
        };
        let through = proxy.map_or_else(String::new, |p| {
            format!(" (through the proxy {p}, from the HTTP_PROXY / HTTPS_PROXY / ALL_PROXY environment; NO_PROXY exempts hosts)")
        });
        Error::new(kind, self.redactor.redact(&format!("{what}: {detail}{through}")))
    }

    /// A JSON read: not JSON, or an error object without the fields a read expects, fails.
    fn read_json(&self, answer: &Answer, expected: &[&str]) -> Result<Value> {
        let json = model::parse_json(&answer.body).map_err(|e| self.protocol(e, answer))?;
        let unwrapped = unwrap_data(&json);
        let has_expected = match unwrapped {
            Value::Object(obj) => expected.iter().any(|k| obj.contains_key(*k)),
            _ => true,
        };
        if !has_expected {
            if let Some(e) =
                Error::from_success_body(answer.status, unwrapped, || self.redactor.body_excerpt(&answer.body))
            {
                return Err(self.on_request(e, answer));
            }
        }
        Ok(json)
    }

    /// Writes answer nothing on success; an error object in their body is still a failure.
    fn check_no_error_body(&self, answer: &Answer) -> Result<()> {
        let Ok(json) = serde_json::from_slice::<Value>(&answer.body) else {
            return Ok(());
        };
        match Error::from_success_body(answer.status, unwrap_data(&json), || self.redactor.body_excerpt(&answer.body)) {
            Some(e) => Err(self.on_request(e, answer)),
            None => Ok(()),
        }
    }

    fn protocol(&self, e: Error, answer: &Answer) -> Error {
        let mut e = self.on_request(e, answer);
        e.status = Some(answer.status);
        e.body = Some(self.redactor.body_excerpt(&answer.body)).filter(|b| !b.is_empty());
        e
    }

    fn on_request(&self, e: Error, answer: &Answer) -> Error {
        let mut e = e.with_request(answer.method.as_str(), &self.redactor.redact_url(answer.url.as_str()));
        e.attempts = e.attempts.max(1);
        self.redactor.scrub(e)
    }
}

/// The rules of setting presence, checked before anything is sent: `unknown` cannot be sent,
/// typing/recording/paused need a chat, online/offline must not have one. Returns the
/// normalised chat id.
pub fn check_set(state: PresenceState, chat_id: Option<&str>) -> Result<Option<String>> {
    match (state, state.is_per_chat(), chat_id) {
        (PresenceState::Unknown, _, _) => Err(Error::invalid_argument(
            "\"unknown\" is not a presence that can be sent: use online, offline, typing, recording or paused",
        )),
        (_, true, None) => {
            Err(Error::invalid_argument(format!("presence {:?} is about one chat: pass chat_id=...", state.as_str())))
        }
        (_, false, Some(_)) => {
            Err(Error::invalid_argument(format!("presence {:?} is global: it is sent without chat_id", state.as_str())))
        }
        (_, _, chat) => chat.map(chat_id::normalize).transpose(),
    }
}

/// The proxy the environment (and, on macOS and Windows, the system settings) names for
/// `base_url`, read as curl and reqwest read it: decided once, since
/// the client talks to one host.
fn system_proxy(base_url: &str) -> Option<Intercept> {
    let uri: http::Uri = base_url.trim().parse().ok()?;
    hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&uri)
}

/// A proxy as a message names it: its URL, credentials as `***`.
fn shown_proxy(intercept: &Intercept) -> String {
    let proxy = intercept.uri();
    let shown = without_credentials(proxy.to_string().trim_end_matches('/'));
    // The matcher moves `user:password@` out of the URI; say that there were some, not what.
    match (intercept.basic_auth().is_some(), proxy.scheme_str()) {
        (true, Some(scheme)) if !shown.contains('@') => {
            shown.replacen(&format!("{scheme}://"), &format!("{scheme}://***@"), 1)
        }
        _ => shown,
    }
}

/// A request URL as errors and log lines show it: redacted when formatted, not before.
struct Shown<'a>(&'a Redactor, &'a url::Url);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.redact_url(self.1.as_str()))
    }
}

fn too_large(status: u16) -> Error {
    let mut e = Error::protocol(format!("the answer is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024)));
    e.status = Some(status);
    e
}

/// How long to wait before the next attempt: what the server asked for (capped at
/// `MAX_RETRY_AFTER`, and before converting, so a huge value cannot overflow), else the backoff.
pub fn retry_pause(retry_after: Option<f64>, backoff: Duration) -> Duration {
    match retry_after {
        Some(secs) => Duration::try_from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())).unwrap_or(MAX_RETRY_AFTER),
        None => backoff,
    }
}

/// `Retry-After` in seconds, from either of its forms: a number of seconds or an HTTP date.
pub fn parse_retry_after(value: &http::HeaderValue) -> Option<f64> {
    let text = value.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(secs);
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(when.duration_since(SystemTime::now()).map_or(0.0, |d| d.as_secs_f64()))
}

/// A shared client, as the bindings and spawned tasks hold it.
pub type SharedClient = Arc<Client>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation_names_the_option() {
        let ok = ClientConfig::wawp("inst", "tok");
        assert!(ok.validate().is_ok());
        let cases: Vec<(ClientConfig, &str)> = vec![
            (ClientConfig::wawp("", "tok"), "instance_id"),
            (ClientConfig::wawp("i", " "), "access_token"),
            (ClientConfig { timeout: Duration::ZERO, ..ok.clone() }, "timeout"),
            (ClientConfig { max_retries: 1000, ..ok.clone() }, "max_retries"),
            (ClientConfig { rate_limit: Some(f64::NAN), ..ok.clone() }, "rate_limit"),
            (ClientConfig { rate_limit: Some(0.0), ..ok.clone() }, "rate_limit"),
            (ClientConfig { base_url: "ftp://x".into(), ..ok.clone() }, "base_url"),
            (ClientConfig { base_url: "not a url".into(), ..ok.clone() }, "base_url"),
            (ClientConfig { base_url: "http://u:p@h".into(), ..ok.clone() }, "base_url"),
            (ClientConfig::waha("http://h", "", None), "session"),
            (ClientConfig::waha("http://h", "..", None), "session"),
            (ClientConfig::waha("http://h", " . ", None), "session"),
            (ClientConfig::waha("http://h", "%2E%2e", None), "session"),
            (ClientConfig::waha("http://h", ".%2E", None), "session"),
            (ClientConfig::waha("http://h", "%252e%252E", None), "session"),
            (ClientConfig::waha("http://h", "a\nb", None), "session"),
            (ClientConfig { max_connections: 0, ..ok.clone() }, "max_connections"),
            (ClientConfig { max_connections: MAX_MAX_CONNECTIONS + 1, ..ok.clone() }, "max_connections"),
            (ClientConfig::waha("http://h", "s", Some("bad\nkey".into())), "api_key"),
        ];
        for (cfg, name) in cases {
            let err = cfg.validate().unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidArgument);
            assert!(err.message.contains(name), "{} should name {name}", err.message);
        }
    }

    #[test]
    fn sessions_with_dots_that_are_names_are_fine() {
        for session in ["default", "my.session", "...", "a..b", "%2E%2E%2E", "tenant-a"] {
            assert!(ClientConfig::waha("http://h", session, None).validate().is_ok(), "{session}");
        }
    }

    #[test]
    fn a_refused_base_url_is_quoted_without_its_password() {
        for url in [
            "admin:hunter2@waha.internal:3000",
            "ftp://user:hunter2@waha.internal/x",
            "http://user:hunter2@/api",
            "http://:hunter2@",
            "not a url user:hunter2@x",
        ] {
            let err = ClientConfig { base_url: url.into(), ..ClientConfig::wawp("i", "t") }.validate().unwrap_err();
            assert!(err.message.contains("base_url"), "{}", err.message);
            assert!(!err.message.contains("hunter2"), "{}", err.message);
        }
        assert_eq!(without_credentials("https://u:p@h:1/a?b#c"), "https://***@h:1/a?b#c");
        assert_eq!(without_credentials("http://h/a@b"), "http://h/a@b");
        assert_eq!(without_credentials("u:p@h"), "***@h");
    }

    #[test]
    fn config_debug_hides_secrets() {
        let cfg = ClientConfig { api_key: Some(Secret::new("key-SECRET")), ..ClientConfig::wawp("i", "tok-SECRET") };
        let text = format!("{cfg:?}");
        assert!(!text.contains("SECRET"), "{text}");
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_minute() {
        let backoff = Duration::from_millis(250);
        assert_eq!(retry_pause(None, backoff), backoff);
        assert_eq!(retry_pause(Some(3.0), backoff), Duration::from_secs(3));
        assert_eq!(retry_pause(Some(0.0), backoff), Duration::ZERO);
        assert_eq!(retry_pause(Some(120.0), backoff), MAX_RETRY_AFTER);
        assert_eq!(retry_pause(Some(1e300), backoff), MAX_RETRY_AFTER);
        assert_eq!(MAX_RETRY_AFTER, Duration::from_secs(60));
    }

    #[test]
    fn retry_after_both_forms() {
        let v = |s: &str| http::HeaderValue::from_str(s).unwrap();
        assert_eq!(parse_retry_after(&v("3")), Some(3.0));
        assert_eq!(parse_retry_after(&v("1.5")), Some(1.5));
        assert_eq!(parse_retry_after(&v("-1")), None);
        assert_eq!(parse_retry_after(&v("soon")), None);
        // A date in the past means "now".
        assert_eq!(parse_retry_after(&v("Wed, 21 Oct 2015 07:28:00 GMT")), Some(0.0));
        let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let secs = parse_retry_after(&v(&future)).unwrap();
        assert!((28.0..=30.0).contains(&secs), "{secs}");
    }
}
