//! One client's connections in one process: a reqwest client (its pool of kept connections,
//! HTTP/1.1 or HTTP/2 by ALPN, TLS, proxies from the environment) and the bound on requests in
//! flight. A forked child builds its own (`Exchange::pool`): the parent's connections belong to
//! the parent's runtime and sockets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};

use super::proxy::{shown_proxy, system_proxy};
use crate::core::config::ClientConfig;
use crate::core::error::{Error, ErrorKind, Result};

/// An idle connection is closed after this long, so a burst does not hold descriptors for
/// minutes after it is over (long enough to keep one across `watch`'s default 5 s polls).
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// A client idle at least this long gives its kept connections a turn of the runtime before a
/// request (see `Pool::send`); back-to-back calls do not pay for it.
const RECHECK_AFTER: Duration = Duration::from_millis(1);

/// What went wrong, by the stage it went wrong at; the exchange words the message.
#[derive(Debug)]
pub enum Failure {
    /// No connection: DNS, TCP, the proxy, or TLS.
    Connect(String),
    /// The connection failed while the request was written or before an answer began.
    Send(String),
    /// The connection failed while the answer was read.
    Read(String),
    /// The answer (its status given) is larger than the caller's limit.
    TooLarge(u16),
}

/// A complete answer.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct Pool {
    /// The `fork::generation()` this pool was built in.
    pub generation: u64,
    http: reqwest::Client,
    /// One permit per request on the wire: a request holds one from sending until its answer is
    /// read, so no more than `max_connections` requests are in flight (and so no more HTTP/1.1
    /// connections are open), whatever the fan-out. reqwest itself has no such bound.
    pub connections: tokio::sync::Semaphore,
    /// The proxy the environment sends this client's requests through, credentials hidden, for
    /// error messages (a dead proxy otherwise reads as a dead server).
    pub proxy: Option<String>,
    /// When a request last started or ended (`micros_now`).
    active_at: AtomicU64,
}

/// Microseconds since the first call, a clock for `Pool::active_at`.
fn micros_now() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    u64::try_from(EPOCH.get_or_init(Instant::now).elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The TLS configuration: rustls with ring, the operating system's trust store (through the
/// platform verifier), and ALPN offering HTTP/2 before HTTP/1.1 (reqwest leaves ALPN to a
/// ready-made configuration).
pub fn tls_config() -> std::result::Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(rustls_platform_verifier::BuilderVerifierExt::with_platform_verifier)
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl Pool {
    pub fn new(config: &ClientConfig) -> Result<Pool> {
        let failed = |e: String| Error::new(ErrorKind::Configuration, format!("cannot set up the HTTP client: {e}"));
        let proxy = system_proxy(&config.base_url);
        // Headers every request carries; reqwest adds them without our building a map per call.
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let (crate::core::routes::Auth::ApiKeyHeader, Some(key)) = (config.backend.spec().auth, &config.api_key) {
            let mut value = HeaderValue::from_str(key.expose())
                .map_err(|_| Error::invalid_argument("api_key is not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(http::HeaderName::from_static("x-api-key"), value);
        }
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| Error::invalid_argument("user_agent must be visible ASCII text"))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config().map_err(failed)?)
            .user_agent(user_agent)
            .default_headers(headers)
            // A presence API never redirects; following one would carry the credentials along.
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(config.max_connections)
            .tcp_nodelay(true)
            // Retrying is the exchange's decision (`max_retries`, backoff, Retry-After).
            .retry(reqwest::retry::never())
            .build()
            .map_err(|e| failed(chain(&e)))?;
        Ok(Pool {
            generation: crate::core::fork::generation(),
            http,
            connections: tokio::sync::Semaphore::new(config.max_connections),
            proxy: proxy.as_ref().map(shown_proxy),
            active_at: AtomicU64::new(0),
        })
    }

    /// Sends one request and reads the whole answer, refusing one larger than `max_body`
    /// bytes. Dropping the future drops the request, and a connection with a request half done
    /// is closed rather than kept.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &url::Url,
        body: Option<Bytes>,
        max_body: usize,
    ) -> std::result::Result<Reply, Failure> {
        // A kept connection that the server closed while the client sat idle (its keep-alive
        // timer) has a FIN nobody has read: the runtime runs only while calls are made. Sent on,
        // the request would fail as "connection closed before message completed". Yielding once
        // lets the runtime look at its sockets before this task goes on, so such a connection
        // reads its end and leaves the pool, and the request goes on a live one. (A yielded
        // task is woken from a list that a `block_on` drops when it returns, and several threads
        // take turns driving this runtime: the short timer wakes the task if that happened.)
        let now = micros_now();
        let idle = now.saturating_sub(self.active_at.swap(now, Ordering::Relaxed));
        if Duration::from_micros(idle) >= RECHECK_AFTER {
            tokio::select! {
                biased;
                () = tokio::task::yield_now() => {}
                () = tokio::time::sleep(RECHECK_AFTER) => {}
            }
        }
        let reply = self.exchange(method, url, body, max_body).await;
        self.active_at.store(micros_now(), Ordering::Relaxed);
        reply
    }

    async fn exchange(
        &self,
        method: reqwest::Method,
        url: &url::Url,
        body: Option<Bytes>,
        max_body: usize,
    ) -> std::result::Result<Reply, Failure> {
        let mut request = self.http.request(method, url.clone());
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json")).body(body);
        }
        let mut response = request.send().await.map_err(|e| classify(&e))?;
        let status = response.status().as_u16();
        let declared = response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body as u64) {
            return Err(Failure::TooLarge(status));
        }
        // Most answers come in one chunk: kept as it is, copied only when a second follows.
        let mut whole = Bytes::new();
        let mut joined: Option<BytesMut> = None;
        while let Some(chunk) = response.chunk().await.map_err(|e| Failure::Read(chain(&e)))? {
            let held = joined.as_ref().map_or(whole.len(), BytesMut::len);
            if held + chunk.len() > max_body {
                return Err(Failure::TooLarge(status));
            }
            match &mut joined {
                Some(buf) => buf.extend_from_slice(&chunk),
                None if whole.is_empty() => whole = chunk,
                None => {
                    let mut buf = BytesMut::with_capacity(whole.len() + chunk.len());
                    buf.extend_from_slice(&whole);
                    buf.extend_from_slice(&chunk);
                    joined = Some(buf);
                }
            }
        }
        let headers = std::mem::take(response.headers_mut());
        Ok(Reply { status, headers, body: joined.map_or(whole, BytesMut::freeze) })
    }
}

/// A reqwest error by the stage it happened at.
fn classify(e: &reqwest::Error) -> Failure {
    let text = chain(e);
    if e.is_connect() {
        Failure::Connect(text)
    } else if e.is_body() || e.is_decode() {
        Failure::Read(text)
    } else {
        Failure::Send(text)
    }
}

/// An error's causes, "outer: inner: innermost", without repeats. reqwest's own outermost words
/// ("error sending request for url (...)") are left out: they add nothing to what the exchange
/// says, and they quote the URL, credentials included.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = if e.is::<reqwest::Error>() { e.source() } else { Some(e) };
    if next.is_none() {
        parts.push(e.to_string());
    }
    while let Some(s) = next {
        let text = s.to_string();
        // hyper-util's "client error (Connect)" says only which stage, which the caller knows.
        let wrapper = text.starts_with("client error (");
        if !wrapper && parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        next = s.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    parts.join(": ")
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
