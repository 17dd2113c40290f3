//! The HTTP/1.1 transport: hyper's connection API under a small pool of our own.
//!
//! A client talks to one server, so the pool is a stack of idle connections, not a map keyed by
//! host; a request takes the most recently used one (warm in every cache) or opens another.
//! General-purpose clients pay per request for what a one-host presence client never uses:
//! reqwest re-parses the URL (with IDNA) for its redirect policy and goes through a stack of tower
//! layers, and hyper-util's pool hashes a key and takes a lock per checkout. Measured against a
//! local nginx (bench/bench_wire.py), this shape costs about 70 µs a sequential call where reqwest
//! took 105, and reaches the wire's own throughput with 64 in flight where reqwest reached half.
//!
//! What is reused, not rewritten: hyper for HTTP/1.1, hyper-util's `HttpConnector` (DNS, happy
//! eyeballs, `TCP_NODELAY`) and its CONNECT `Tunnel`, hyper-rustls for TLS with the platform's
//! trust store.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, HeaderValue, CONNECTION, CONTENT_LENGTH, HOST, PROXY_AUTHORIZATION, USER_AGENT};
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Intercept;
use tower_service::Service;

use super::connection::{now_ms, Conn, Stream, BUSY, RECHECK_AFTER_MS};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong, by the stage it went wrong at; the client words the message.
#[derive(Debug)]
pub enum Failure {
    /// No connection: DNS, TCP, the proxy's CONNECT, or TLS.
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

/// How connections are made, decided once from the proxy settings.
enum Connector {
    /// To the server itself (TLS when it is https).
    Direct(HttpsConnector<HttpConnector>),
    /// Through an HTTP proxy's CONNECT tunnel, then TLS to the server.
    Tunnel(HttpsConnector<Tunnel<HttpConnector>>),
    /// To a forward proxy (plain-http servers): requests name the absolute URL.
    Forward(HttpsConnector<HttpConnector>, Uri),
}

pub struct Transport {
    connector: Connector,
    /// `scheme://authority/` of the server, what a direct or tunnelled connection is made to.
    server: Uri,
    host: HeaderValue,
    user_agent: HeaderValue,
    proxy_authorization: Option<HeaderValue>,
    idle: Mutex<Vec<Conn>>,
    max_idle: usize,
}

impl Transport {
    /// `base_url` has been validated (http or https, a host). An unsupported proxy scheme is an
    /// error naming what is supported.
    pub fn new(
        base_url: &url::Url,
        user_agent: &str,
        max_idle: usize,
        proxy: Option<&Intercept>,
    ) -> std::result::Result<Transport, String> {
        let https = base_url.scheme() == "https";
        let host = base_url.host_str().ok_or("base_url has no host")?;
        let authority = match base_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let server: Uri =
            format!("{}://{authority}/", base_url.scheme()).parse().map_err(|e| format!("base_url: {e}"))?;
        let host = HeaderValue::from_str(&authority).map_err(|e| format!("base_url: {e}"))?;
        let user_agent = HeaderValue::from_str(user_agent).map_err(|_| "user_agent is not a valid header value")?;

        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        // The scheme is the TLS layer's business, and a tunnel hands this connector https URIs.
        tcp.enforce_http(false);
        let tls = || -> std::result::Result<_, String> {
            let config =
                rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .and_then(rustls_platform_verifier::BuilderVerifierExt::with_platform_verifier)
                    .map_err(|e| format!("cannot set up TLS: {e}"))?
                    .with_no_client_auth();
            Ok(hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config).https_or_http().enable_http1())
        };
        let mut proxy_authorization = None;
        let connector = match proxy {
            None => Connector::Direct(tls()?.wrap_connector(tcp)),
            Some(p) => {
                let mut auth = p.basic_auth().cloned();
                if let Some(a) = &mut auth {
                    a.set_sensitive(true);
                }
                match (p.uri().scheme_str(), https) {
                    (Some("http"), true) => {
                        let mut tunnel = Tunnel::new(p.uri().clone(), tcp);
                        if let Some(a) = auth {
                            tunnel = tunnel.with_auth(a);
                        }
                        Connector::Tunnel(tls()?.wrap_connector(tunnel))
                    }
                    (Some("http" | "https"), false) => {
                        proxy_authorization = auth;
                        Connector::Forward(tls()?.wrap_connector(tcp), p.uri().clone())
                    }
                    (scheme, _) => {
                        return Err(format!(
                            "the proxy's scheme {:?} is not supported for {} servers: use an http:// proxy",
                            scheme.unwrap_or(""),
                            base_url.scheme()
                        ))
                    }
                }
            }
        };
        Ok(Transport {
            connector,
            server,
            host,
            user_agent,
            proxy_authorization,
            idle: Mutex::new(Vec::new()),
            max_idle,
        })
    }

    /// Sends one request to `url` (on this transport's server) and reads the whole answer,
    /// refusing one larger than `max_body` bytes.
    pub async fn send(
        &self,
        method: http::Method,
        url: &url::Url,
        headers: &[(http::HeaderName, &HeaderValue)],
        body: Option<Bytes>,
        max_body: usize,
    ) -> std::result::Result<Reply, Failure> {
        let target = match self.connector {
            Connector::Forward(..) => &url[..url::Position::AfterQuery],
            _ => &url[url::Position::BeforePath..url::Position::AfterQuery],
        };
        let uri: Uri = target.parse().map_err(|e| Failure::Send(format!("the URL cannot be sent: {e}")))?;
        let body = body.unwrap_or_default();
        let build = || {
            let mut request = Request::new(Full::new(body.clone()));
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri.clone();
            let h = request.headers_mut();
            h.insert(HOST, self.host.clone());
            h.insert(USER_AGENT, self.user_agent.clone());
            if let Some(auth) = &self.proxy_authorization {
                h.insert(PROXY_AUTHORIZATION, auth.clone());
            }
            for (name, value) in headers {
                h.insert(name.clone(), (*value).clone());
            }
            request
        };

        // A request goes on a kept connection only if it is still open. A server that ended it
        // while it sat idle (its keep-alive timer) has sent a FIN that nobody has read yet, as the
        // runtime runs only while calls are made: after a pause the socket is asked, as urllib3
        // does, before the connection is trusted. A request that hyper hands back unsent goes on
        // the next connection; one that was sent is never sent twice (retrying is the caller's
        // decision).
        let (conn, response) = loop {
            let (mut conn, fresh) = match self.checkout() {
                Some(conn) => (conn, false),
                None => (self.connect().await?, true),
            };
            if !fresh && now_ms().saturating_sub(conn.idle_ms) >= RECHECK_AFTER_MS && conn.peer_has_closed() {
                continue;
            }
            if conn.sender.ready().await.is_err() {
                if fresh {
                    return Err(Failure::Send("the connection closed before the request was sent".into()));
                }
                continue;
            }
            match conn.sender.try_send_request(build()).await {
                Ok(response) => break (conn, response),
                Err(mut e) => {
                    if !fresh && e.take_message().is_some() {
                        continue;
                    }
                    return Err(Failure::Send(chain(e.error())));
                }
            }
        };

        let (parts, mut body) = response.into_parts();
        let status = parts.status.as_u16();
        let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body as u64) {
            return Err(Failure::TooLarge(status));
        }
        // Most answers come in one chunk: kept as it is, copied only when a second follows.
        let mut whole = Bytes::new();
        let mut joined: Option<BytesMut> = None;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Failure::Read(chain(&e)))?;
            let Ok(chunk) = frame.into_data() else { continue };
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
        let closing = parts.headers.get_all(CONNECTION).iter().any(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        // A connection the server ends is dropped, not pooled.
        if !closing {
            conn.state.idle_since.store(now_ms(), Ordering::Relaxed);
            self.checkin(conn);
        }
        Ok(Reply { status, headers: parts.headers, body: joined.map_or(whole, BytesMut::freeze) })
    }

    /// The most recently used idle connection that is still open.
    fn checkout(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(conn) = idle.pop() {
            if !conn.sender.is_closed() {
                let mut conn = conn;
                conn.idle_ms = conn.state.idle_since.swap(BUSY, Ordering::Relaxed);
                return Some(conn);
            }
        }
        None
    }

    fn checkin(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.retain(|c| !c.sender.is_closed());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    async fn connect(&self) -> std::result::Result<Conn, Failure> {
        let stream: Stream = match &self.connector {
            Connector::Direct(c) => call(c.clone(), self.server.clone()).await?,
            Connector::Tunnel(c) => call(c.clone(), self.server.clone()).await?,
            Connector::Forward(c, proxy) => call(c.clone(), proxy.clone()).await?,
        };
        Conn::start(stream).await.map_err(|e| Failure::Connect(format!("HTTP handshake: {}", chain(&e))))
    }
}

async fn call<S>(mut service: S, to: Uri) -> std::result::Result<Stream, Failure>
where
    S: Service<Uri, Response = Stream>,
    S::Error: Into<BoxError>,
{
    let made = std::future::poll_fn(|cx| service.poll_ready(cx)).await;
    made.map_err(|e| Failure::Connect(chain(&*e.into())))?;
    service.call(to).await.map_err(|e| Failure::Connect(chain(&*e.into())))
}

/// An error and its causes, "outer: inner: innermost", without repeats.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
