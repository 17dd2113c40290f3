//! One error type for the whole core, and the rules that read a server's answer into it.
//! The Python bindings map `ErrorKind` to the exception hierarchy in one place.

use std::fmt;

use serde_json::Value;

/// What went wrong, as the caller can act on it. Each kind is one Python exception class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Could not connect, the connection dropped, TLS failed.
    Transport,
    /// The request took longer than the timeout.
    Timeout,
    /// The server answered something that is not the API's shape.
    Protocol,
    /// A non-2xx answer (or a 2xx error body) of no more specific kind.
    Api,
    BadRequest,
    Authentication,
    PermissionDenied,
    NotFound,
    SessionNotReady,
    NotSupported,
    RateLimit,
    Server,
    /// A chat id that is none of the accepted forms; nothing was sent.
    InvalidChatId,
    /// Any other argument the caller got wrong; nothing was sent.
    InvalidArgument,
    /// The client cannot be built from this configuration (missing variable, bad URL, ...).
    Configuration,
    /// The client was closed.
    Closed,
    /// A webhook body that is not a `presence.update` event we can read (not JSON, another
    /// event, no payload). Retrying cannot help: the same bytes give the same answer.
    InvalidEvent,
    /// A webhook delivery whose signature or age does not check.
    InvalidSignature,
    /// A bug inside the client (a panic caught before it reached the caller).
    Internal,
}

impl ErrorKind {
    /// Kinds worth another attempt: the same request may well succeed a moment later.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::RateLimit | ErrorKind::Server)
    }
}

/// A failure of the client: its kind, and what is known of the request it happened to. Boxed,
/// so that a `Result` of this crate stays the size of its value (an error's fields are many).
#[derive(Clone, Debug, PartialEq)]
pub struct Error(Box<ErrorInfo>);

/// What an `Error` carries; read and set through the error itself (`err.kind`, `err.status`).
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    /// What the server said (or what the client found), without secrets.
    pub message: String,
    pub status: Option<u16>,
    /// Redacted, cut excerpt of the answer's body.
    pub body: Option<String>,
    pub method: Option<String>,
    /// Redacted URL of the request.
    pub url: Option<String>,
    /// Seconds the server asked us to wait (`Retry-After`).
    pub retry_after: Option<f64>,
    /// For `SessionNotReady`: the session's status as the server named it (e.g. `SCAN_QR_CODE`).
    pub session_status: Option<String>,
    /// For `Api` errors that did not come from a status code: the server's `code` field.
    pub code: Option<String>,
    /// How many requests were made for this call (0 when nothing was sent).
    pub attempts: u32,
    /// The chat the failed call was about: its canonical id, or the text given when that was not
    /// a chat id. None for a call about no one chat.
    pub chat_id: Option<String>,
}

impl std::ops::Deref for Error {
    type Target = ErrorInfo;

    fn deref(&self) -> &ErrorInfo {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorInfo {
        &mut self.0
    }
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorInfo {
            kind,
            message: message.into(),
            status: None,
            body: None,
            method: None,
            url: None,
            retry_after: None,
            session_status: None,
            code: None,
            attempts: 0,
            chat_id: None,
        }))
    }

    /// This error, as the failure of a call about one chat.
    pub fn about_chat(mut self, chat_id: &str) -> Self {
        self.chat_id = Some(chat_id.to_owned());
        self
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub fn protocol(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Protocol, message)
    }

    /// A panic caught in a call, as the call's error: a bug, said plainly, never a hang.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        Error::new(
            ErrorKind::Internal,
            format!("a bug inside wawp_presence stopped this call (please report it): {what}"),
        )
    }

    pub fn with_request(mut self, method: &str, url: &str) -> Self {
        self.method = Some(method.to_owned());
        self.url = Some(url.to_owned());
        self
    }

    /// Reads a non-2xx answer. `body_text` must already be redacted.
    pub fn from_status(status: u16, body: &[u8], body_text: String, retry_after: Option<f64>) -> Self {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let summary = json.as_ref().and_then(ErrorBody::read);
        let kind = match status {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Authentication,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            422 => classify_422(summary.as_ref()),
            429 => ErrorKind::RateLimit,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Api,
        };
        let message = match &summary {
            Some(s) if kind == ErrorKind::SessionNotReady && s.session_status.is_some() => s.not_ready(),
            Some(s) if !s.message.is_empty() => s.message.clone(),
            _ => format!("HTTP {status} {}", reason(status)),
        };
        let mut err = Error::new(kind, message);
        err.status = Some(status);
        err.body = if body_text.is_empty() { None } else { Some(body_text) };
        err.retry_after = retry_after;
        if let Some(s) = summary {
            err.session_status = if kind == ErrorKind::SessionNotReady { s.session_status } else { None };
            err.code = s.code;
        }
        err
    }

    /// Reads a 2xx answer whose body is an error object (Wawp does this). `None` when the body
    /// is not one.
    /// `body_text` gives the (redacted) body for the error; it is only asked for when there is
    /// one, since redacting costs more than the check.
    pub fn from_success_body(status: u16, json: &Value, body_text: impl FnOnce() -> String) -> Option<Self> {
        let obj = json.as_object()?;
        let has = |k: &str| obj.get(k).is_some_and(|v| !v.is_null() && v != &Value::Bool(false));
        if !(has("code") || has("error")) {
            return None;
        }
        let summary = ErrorBody::read(json)?;
        let kind = match summary.code.as_deref() {
            Some("quota_reached" | "subscription_required" | "forbidden") => ErrorKind::PermissionDenied,
            Some("invalid_session" | "not_found" | "session_not_found") => ErrorKind::NotFound,
            Some("unauthorized" | "invalid_token" | "invalid_access_token" | "invalid_credentials") => {
                ErrorKind::Authentication
            }
            Some("rate_limited" | "too_many_requests") => ErrorKind::RateLimit,
            _ => ErrorKind::Api,
        };
        let mut err = Error::new(kind, summary.message);
        err.status = Some(status);
        err.body = Some(body_text());
        err.code = summary.code;
        Some(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        let mut context = Vec::new();
        if let Some(s) = self.status.filter(|_| !self.message.starts_with("HTTP ")) {
            context.push(format!("HTTP {s}"));
        }
        if let (Some(m), Some(u)) = (&self.method, &self.url) {
            context.push(format!("{m} {u}"));
        }
        if self.attempts > 1 {
            context.push(format!("after {} attempts", self.attempts));
        }
        if !context.is_empty() {
            write!(f, " [{}]", context.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What an error body says, whichever of the servers' shapes it has.
struct ErrorBody {
    message: String,
    code: Option<String>,
    session_status: Option<String>,
    looks_like_session_status: bool,
    /// WAHA's "session status is not as expected" names the session and the statuses expected.
    session: Option<String>,
    expected: Vec<String>,
}

impl ErrorBody {
    fn read(json: &Value) -> Option<ErrorBody> {
        let obj = json.as_object()?;
        let text = |k: &str| -> Option<String> {
            match obj.get(k)? {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                // NestJS validation errors carry a list of messages.
                Value::Array(items) => {
                    let parts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    (!parts.is_empty()).then(|| parts.join("; "))
                }
                _ => None,
            }
        };
        let code = text("code");
        let message = text("message")
            .or_else(|| text("detail"))
            .or_else(|| text("error"))
            .or_else(|| code.clone())
            .unwrap_or_default();
        let session_status = text("status");
        let looks_like_session_status = obj.contains_key("expected")
            || text("error").is_some_and(|e| e.to_ascii_lowercase().contains("session status"));
        let expected = match obj.get("expected") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        Some(ErrorBody { message, code, session_status, looks_like_session_status, session: text("session"), expected })
    }

    /// The message of a session that is not WORKING: its status, the one expected, and what to
    /// do about it, so a log line tells "go scan" from "wait" from "restart".
    fn not_ready(&self) -> String {
        let status = self.session_status.as_deref().unwrap_or("not ready");
        let expected = if self.expected.is_empty() { "WORKING".to_owned() } else { self.expected.join(" or ") };
        let session = self.session.as_deref().map_or_else(|| "the session".to_owned(), |s| format!("session '{s}'"));
        let todo = match status {
            "STARTING" => ": it is starting, try again in a few seconds",
            "SCAN_QR_CODE" => ": scan its QR code to log in to WhatsApp",
            "FAILED" => ": restart it",
            "STOPPED" => ": start it",
            _ => "",
        };
        format!("{session} is {status}, not {expected}{todo}")
    }
}

fn classify_422(body: Option<&ErrorBody>) -> ErrorKind {
    match body {
        Some(b) if b.looks_like_session_status => ErrorKind::SessionNotReady,
        // The engine lacks the method (NOWEB's subscribe), or the edition the feature (WAHA Core
        // serves the 'default' session only).
        Some(b)
            if ["not implemented", "only 'default' session", "waha plus"]
                .iter()
                .any(|lacks| b.message.to_ascii_lowercase().contains(lacks)) =>
        {
            ErrorKind::NotSupported
        }
        _ => ErrorKind::Api,
    }
}

fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

/// Runs `fut`, turning a panic inside it into an `Internal` error: whatever goes wrong inside a
/// call, its caller gets an answer (a future that panicked would otherwise leave the caller
/// waiting forever, or unwind into Python).
pub async fn catch_panic<T>(fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(fut).catch_unwind().await.unwrap_or_else(|payload| Err(Error::from_panic(&*payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> Error {
        Error::from_status(status, body.as_bytes(), body.to_owned(), None)
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(err(400, r#"{"detail":"bad chat"}"#).kind, ErrorKind::BadRequest);
        assert_eq!(err(400, r#"{"detail":"bad chat"}"#).message, "bad chat");
        let wawp400 = err(400, r#"{"status":400,"message":"presence invalid","error":"Bad Request"}"#);
        assert_eq!(wawp400.message, "presence invalid");
        assert_eq!(err(401, r#"{"message":"Unauthorized","statusCode":401}"#).kind, ErrorKind::Authentication);
        let quota = err(403, r#"{"code":"quota_reached","message":"Quota reached"}"#);
        assert_eq!((quota.kind, quota.code.as_deref()), (ErrorKind::PermissionDenied, Some("quota_reached")));
        assert_eq!(err(404, r#"{"code":"invalid_session"}"#).message, "invalid_session");
        assert_eq!(err(429, "").kind, ErrorKind::RateLimit);
        assert_eq!(err(503, "<html>down</html>").kind, ErrorKind::Server);
        assert_eq!(err(503, "<html>down</html>").message, "HTTP 503 Service Unavailable");
        assert_eq!(err(418, "").kind, ErrorKind::Api);
    }

    #[test]
    fn nest_message_lists_are_joined() {
        let e = err(400, r#"{"message":["presence must be one of","chatId required"],"error":"Bad Request"}"#);
        assert_eq!(e.message, "presence must be one of; chatId required");
    }

    #[test]
    fn unprocessable_is_split_by_body() {
        let not_ready = err(
            422,
            r#"{"error":"Session status is not as expected. Try again later or restart the session","session":"default","status":"SCAN_QR_CODE","expected":["WORKING"]}"#,
        );
        assert_eq!(not_ready.kind, ErrorKind::SessionNotReady);
        assert_eq!(not_ready.session_status.as_deref(), Some("SCAN_QR_CODE"));
        let unsupported = err(422, r#"{"message":"The method is not implemented by the engine","statusCode":422}"#);
        assert_eq!(unsupported.kind, ErrorKind::NotSupported);
        assert_eq!(unsupported.session_status, None);
        assert_eq!(err(422, "{}").kind, ErrorKind::Api);
    }

    #[test]
    fn a_panic_inside_a_call_is_an_internal_error_not_an_unwind() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let run =
            |fut: std::pin::Pin<Box<dyn std::future::Future<Output = Result<u8>>>>| runtime.block_on(catch_panic(fut));
        let err = run(Box::pin(async { panic!("boom at {}", 42) })).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal);
        assert!(err.message.contains("boom at 42") && err.message.contains("bug"), "{}", err.message);
        let err = run(Box::pin(async { std::panic::panic_any(7u32) })).unwrap_err();
        assert!(err.message.ends_with("no message"), "{}", err.message);
        assert_eq!(run(Box::pin(async { Ok(3) })), Ok(3));
    }

    #[test]
    fn success_bodies_with_errors_are_failures() {
        let j: Value = serde_json::from_str(r#"{"code":"subscription_required","message":"Upgrade"}"#).unwrap();
        let e = Error::from_success_body(200, &j, String::new).unwrap();
        assert_eq!((e.kind, e.status, e.message.as_str()), (ErrorKind::PermissionDenied, Some(200), "Upgrade"));
        let j: Value = serde_json::from_str(r#"{"error":"boom"}"#).unwrap();
        assert_eq!(Error::from_success_body(200, &j, String::new).unwrap().kind, ErrorKind::Api);
        let ok: Value = serde_json::from_str(r#"{"id":"1@c.us","presences":[]}"#).unwrap();
        assert!(Error::from_success_body(200, &ok, String::new).is_none());
        let ok: Value = serde_json::from_str(r#"{"success":true,"error":null}"#).unwrap();
        assert!(Error::from_success_body(200, &ok, String::new).is_none());
    }

    #[test]
    fn display_names_status_request_and_attempts() {
        let mut e = err(500, "").with_request("GET", "http://h/x?access_token=***");
        e.attempts = 3;
        assert_eq!(e.to_string(), "HTTP 500 Internal Server Error [GET http://h/x?access_token=***, after 3 attempts]");
    }
}
