//! The HTTP plumbing of the core. `Exchange` is one call over HTTP: the request built from its
//! route, the attempts with backoff and `Retry-After`, the answer classified, and every error
//! told without a secret in it. `pool` holds the connections (reqwest) of a client in one process,
//! `proxy` names the proxy in errors, `retry` decides the pauses.

mod pool;
mod proxy;
pub mod retry;

pub use pool::{tls_config, POOL_IDLE_TIMEOUT};

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;

use self::pool::{Failure, Pool};
use self::retry::{parse_retry_after, retry_pause};
use super::chat_id;
use super::config::ClientConfig;
use super::error::{Error, ErrorKind, Result};
use super::routes::{self, Auth, Backend, Method, Operation};
use super::secret::{Redactor, Secret};

/// A WAHA session that is starting is waited for this long before the server answers (C of
/// `waha-real-answers.md` takes about 5 s): a shorter timeout hides the answer.
const WAHA_SESSION_WAIT: Duration = Duration::from_secs(6);

/// Largest answer body read; anything larger is a protocol error, not an out-of-memory.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// A request as the operations describe it; `send` turns it into HTTP.
pub(super) struct Call {
    pub(super) op: Operation,
    pub(super) chat: Option<String>,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) body: Option<Value>,
}

impl Call {
    pub(super) fn new(op: Operation) -> Self {
        Call { op, chat: None, query: Vec::new(), body: None }
    }
}

/// A 2xx answer.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: bytes::Bytes,
    pub(super) method: Method,
    /// As sent, credentials included: redacted only when an error or a log line shows it.
    pub(super) url: url::Url,
}

/// What every call goes through: the server's URL parsed once, the credentials, the pool of
/// this process, redaction and pacing.
pub(super) struct Exchange {
    pub(super) config: ClientConfig,
    /// `base_url`, parsed once: a request's URL is a copy with its path (and query) set.
    pub(super) base: url::Url,
    /// The path part of `base`, which every request path starts with.
    pub(super) base_path: String,
    pub(super) session_segment: String,
    /// `None` once closed; taken out so the pool goes with the last in-flight call.
    pub(super) pool: ArcSwapOption<Pool>,
    pub(super) redactor: Redactor,
    pub(super) limiter: Option<DefaultDirectRateLimiter>,
}

impl Exchange {
    pub(super) fn new(config: ClientConfig) -> Result<Exchange> {
        let url = config.validate()?;
        let pool = Pool::new(&config)?;
        let limiter = config.rate_limit.map(|rate| {
            // validate() bounds the rate, so the period is a representable Duration.
            let period = Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::from_secs(24 * 3600));
            let quota = Quota::with_period(period)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
                .allow_burst(NonZeroU32::MIN);
            RateLimiter::direct(quota)
        });
        Ok(Exchange {
            base_path: url.path().trim_end_matches('/').to_owned(),
            base: url,
            session_segment: chat_id::encode_path_segment(config.session.trim()),
            redactor: Redactor::new([config.access_token.as_ref(), config.api_key.as_ref()]),
            pool: ArcSwapOption::from_pointee(pool),
            limiter,
            config,
        })
    }
}

impl Exchange {
    /// The pool for this process: the current one, or a new one after a fork.
    pub(super) fn pool(&self) -> Result<Arc<Pool>> {
        let closed = || Error::new(ErrorKind::Closed, "the client is closed");
        let current = self.pool.load_full().ok_or_else(closed)?;
        let generation = super::fork::generation();
        if current.generation == generation {
            return Ok(current);
        }
        let fresh = Arc::new(Pool::new(&self.config)?);
        // Only replace the pool we saw: a close() in between must stay closed.
        let previous = self.pool.compare_and_swap(&Some(current), Some(Arc::clone(&fresh)));
        match &*previous {
            Some(p) if p.generation == generation => Ok(Arc::clone(p)),
            Some(_) => Ok(fresh),
            None => Err(closed()),
        }
    }

    /// Sends a call, retrying what is worth retrying, and returns its 2xx answer.
    pub(super) async fn send(&self, call: Call) -> Result<Answer> {
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

        let mut backoff = retry::backoff(self.config.max_retries);
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
            let mut err = err;
            err.attempts = attempts;
            return Err(err);
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
        let method = match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let body = body.map(|b| bytes::Bytes::copy_from_slice(b.as_bytes()));
        let exchange = pool.send(method, url, body, MAX_BODY_BYTES);
        let reply = match tokio::time::timeout(self.config.timeout, exchange).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(failure)) => return Err(self.transport(failure, pool.proxy.as_deref())),
            Err(_) => return Err(self.timed_out()),
        };
        if (200..300).contains(&reply.status) {
            Ok((reply.status, reply.body))
        } else {
            let retry_after = reply.headers.get(http::header::RETRY_AFTER).and_then(parse_retry_after);
            let mut err =
                Error::from_status(reply.status, &reply.body, self.redactor.body_excerpt(&reply.body), retry_after);
            if err.kind == ErrorKind::Authentication && self.config.backend == Backend::Waha {
                err.message = self.waha_unauthorized(&err.message);
            }
            Err(err)
        }
    }

    /// A WAHA 401 says what to do: a newer WAHA checks `X-Api-Key`, and one started without a
    /// key makes one up, so the first request of a fresh install meets this.
    fn waha_unauthorized(&self, said: &str) -> String {
        let todo = match self.config.api_key {
            None => "this WAHA server wants an API key: pass api_key=... (or set WAHA_API_KEY)",
            Some(_) => "this WAHA server refused the API key given: pass the key it was started with as api_key=... (or WAHA_API_KEY)",
        };
        format!("{said}: {todo}")
    }

    fn timed_out(&self) -> Error {
        let mut message = format!("no complete answer within {:.3} s", self.config.timeout.as_secs_f64());
        if self.config.backend == Backend::Waha && self.config.timeout < WAHA_SESSION_WAIT {
            message.push_str(
                "; WAHA holds a request for about 5 s while its session is starting, so the answer may have been a \
                 SessionNotReadyError: a timeout of at least 6 s lets it arrive",
            );
        }
        Error::new(ErrorKind::Timeout, message)
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

    /// An error about an answer's body, with the request, the status and the redacted body.
    pub(super) fn about_answer(&self, e: Error, answer: &Answer) -> Error {
        let mut e = self.on_request(e, answer);
        e.status = Some(answer.status);
        e.body = Some(self.redactor.body_excerpt(&answer.body)).filter(|b| !b.is_empty());
        e
    }

    pub(super) fn on_request(&self, e: Error, answer: &Answer) -> Error {
        let mut e = e.with_request(answer.method.as_str(), &self.redactor.redact_url(answer.url.as_str()));
        e.attempts = e.attempts.max(1);
        self.redactor.scrub(e)
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
