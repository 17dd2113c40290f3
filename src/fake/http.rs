//! Connections and the per-request steps that come before routing: record, latency, fault,
//! auth, and (WAHA) the JSON body parser.
//! Connections are served with hyper directly (not `axum::serve`) so that a fault can close
//! one without answering and shutdown can end one that hangs.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Request, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use super::routes::{decode_query, error_json};
use super::{waha, Backend, Fault, RecordedRequest, Shared};

/// Larger bodies get 413; presence bodies are a few dozen bytes.
const MAX_BODY: usize = 1 << 20;

const MALFORMED_PAGE: &str = "<!DOCTYPE html><html><head><title>Gateway</title></head>\
<body><h1>Please wait</h1><p>The service is being updated.</p></body></html>";

/// The service's error: hyper closes the connection without writing a response.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

/// Serves until shutdown is asked for; then closes the listener before telling `closed`, so that
/// once `FakeServer::shutdown` returns, nothing answers on the port any more.
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
    closed: Arc<Closed>,
) {
    serve_until_stopped(&listener, shared, &mut stopped).await;
    drop(listener);
    closed.set();
}

async fn serve_until_stopped(listener: &TcpListener, shared: Arc<Shared>, stopped: &mut watch::Receiver<bool>) {
    let app = App { router: super::routes::router(Arc::clone(&shared)), shared };
    loop {
        let stream = tokio::select! {
            () = until_stopped(stopped) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // E.g. out of file descriptors: keep serving once some are freed.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let mut stopped = stopped.clone();
        app.shared.lock().traffic.connection_opened();
        tokio::spawn(async move {
            let shared = Arc::clone(&app.shared);
            let service = service_fn(move |req| app.clone().handle(req));
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            // Dropping the connection future closes the socket, whatever it was waiting for.
            tokio::select! {
                _ = connection => {}
                () = until_stopped(&mut stopped) => {}
            }
            shared.lock().traffic.connection_closed();
        });
    }
}

/// Resolves once shutdown is asked for, or once the server handle is gone.
async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send: drop it here rather than across an await.
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Ends a request's count in flight however its future ends: answered, failed or dropped.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().traffic.request_ended();
    }
}

#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    router: Router,
}

impl App {
    /// Answers one request, counted in flight until its answer is ready (or it is dropped).
    async fn handle(self, req: Request<Incoming>) -> Result<Response, DropConnection> {
        self.shared.lock().traffic.request_started();
        let _in_flight = InFlight(Arc::clone(&self.shared));
        self.answer(req).await
    }

    async fn answer(self, req: Request<Incoming>) -> Result<Response, DropConnection> {
        let (parts, body) = req.into_parts();
        // A body that cannot be read (too large, or the client left) is recorded as empty.
        let body = axum::body::to_bytes(Body::new(body), MAX_BODY).await;
        let (fault, latency) = {
            let mut state = self.shared.lock();
            let request = record(&parts, body.as_deref().unwrap_or_default());
            state.record(request, self.shared.config.request_log);
            (state.faults.pop_front(), state.latency)
        };
        // Every answer waits, faulted ones too; a client that leaves meanwhile drops this future.
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match fault {
            None => {}
            Some(Fault::Status { status, body, headers, delay }) => {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                return Ok(fault_response(status, body, &headers));
            }
            Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::Drop) => return Err(DropConnection),
            Some(Fault::Malformed) => {
                return Ok(
                    (StatusCode::OK, [(CONTENT_TYPE, "text/html; charset=utf-8")], MALFORMED_PAGE).into_response()
                )
            }
            // Shutdown drops this future with its connection.
            Some(Fault::Hang) => std::future::pending::<()>().await,
        }
        let Ok(body) = body else {
            return Ok(self.shared.error(StatusCode::PAYLOAD_TOO_LARGE));
        };
        if let Some(refusal) = self.auth_refusal(&parts) {
            return Ok(refusal);
        }
        // A WAHA parses every body before routing: one that is not JSON is D, whatever the route,
        // the session or its state.
        if self.shared.config.backend == Backend::Waha && !waha::passes_json_parser(&body) {
            return Ok(self.shared.answer(waha::body_not_json()));
        }
        let answer = self.router.oneshot(Request::from_parts(parts, Body::from(body))).await;
        Ok(answer.unwrap_or_else(|never| match never {}))
    }

    /// The answer for a request whose credentials are missing or wrong, if it is one.
    fn auth_refusal(&self, parts: &Parts) -> Option<Response> {
        let config = &self.shared.config;
        match config.backend {
            Backend::Waha => {
                let key = config.api_key.as_ref()?;
                let given = parts.headers.get("x-api-key").map(HeaderValue::as_bytes);
                (given != Some(key.as_bytes())).then(|| self.shared.error(StatusCode::UNAUTHORIZED))
            }
            Backend::Wawp => {
                let query = decode_query(parts.uri.query());
                let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
                if param("access_token") != Some(config.access_token.as_str()) {
                    Some(self.shared.error(StatusCode::UNAUTHORIZED))
                } else if param("instance_id") != Some(config.instance_id.as_str()) {
                    let body = waha::object(&[
                        ("code", "invalid_session".into()),
                        ("message", "No instance with this instance_id belongs to this access token".into()),
                    ]);
                    Some(self.shared.answer((StatusCode::NOT_FOUND, body)))
                } else {
                    None
                }
            }
        }
    }
}

fn record(parts: &Parts, body: &[u8]) -> RecordedRequest {
    RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: decode_query(parts.uri.query()),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: body.to_vec(),
    }
}

fn fault_response(status: u16, body: Option<Vec<u8>>, headers: &[(String, String)]) -> Response {
    // A code that cannot go on the wire becomes the closest honest fault.
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match body {
        None => error_json(status),
        Some(bytes) => {
            let content_type = if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
                "application/json"
            } else if bytes.trim_ascii_start().starts_with(b"<") {
                "text/html; charset=utf-8"
            } else {
                "text/plain; charset=utf-8"
            };
            (status, [(CONTENT_TYPE, content_type)], bytes).into_response()
        }
    };
    for (name, value) in headers {
        // A header that cannot be sent is left out rather than losing the whole fault.
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Set once the server's listener is closed.
#[derive(Default)]
pub(super) struct Closed {
    done: std::sync::Mutex<bool>,
    changed: std::sync::Condvar,
}

impl Closed {
    pub(super) fn set(&self) {
        *self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// Waits until set, for at most `limit`.
    pub(super) fn wait(&self, limit: Duration) {
        let done = self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = self.changed.wait_timeout_while(done, limit, |done| !*done);
    }
}
