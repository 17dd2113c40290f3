//! The presence routes of both servers. Only paths, success codes and error shapes differ by
//! backend; the behaviour is one set of handlers. In WAHA mode every refusal is one of the
//! recorded answers of `waha-real-answers.md` (see `waha.rs`), checked in the real server's
//! order: the JSON body (before routing, in `http.rs`), the session, the route's rules, the
//! engine.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::waha::{self, Edition, SetPresence};
use super::{Backend, Shared};

type PathParams = Result<Path<HashMap<String, String>>, PathRejection>;

/// Wawp's word list in its 400s.
const PRESENCES: &str = "online, offline, typing, recording, paused";

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let routes = match shared.config.backend {
        Backend::Waha => Router::new()
            .route("/api/sessions/{session}", get(session_info))
            .route("/api/{session}/presence", get(get_all).post(set))
            .route("/api/{session}/presence/{chat_id}", get(get_one))
            .route("/api/{session}/presence/{chat_id}/subscribe", post(subscribe)),
        Backend::Wawp => Router::new()
            .route("/v2/presence", get(get_all).post(set))
            .route("/v2/presence/{chat_id}", get(get_one))
            .route("/v2/presence/{chat_id}/subscribe", post(subscribe))
            .route("/v2/send/start-typing", post(start_typing))
            .route("/v2/send/stop-typing", post(stop_typing)),
    };
    routes.fallback(not_found).method_not_allowed_fallback(not_found).with_state(shared)
}

/// A JSON answer for a scripted fault, typed plain `application/json` whatever the backend.
pub(super) fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// NestJS's default error body for a scripted fault: message, statusCode.
pub(super) fn error_json(status: StatusCode) -> Response {
    let message = status.canonical_reason().unwrap_or("Error");
    json_answer(status, json!({ "message": message, "statusCode": status.as_u16() }))
}

/// NestJS's answer to a route it does not have.
async fn not_found(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    let message = format!("Cannot {method} {}", uri.path());
    let body = waha::object(&[("message", message.into()), ("error", "Not Found".into()), ("statusCode", 404.into())]);
    shared.answer((StatusCode::NOT_FOUND, body))
}

/// A refusal on its way out of a handler.
type Refused = Box<Response>;

impl Shared {
    /// A JSON answer, `body` sent as given, with the backend's Content-Type (a WAHA's, Express's,
    /// names the charset).
    pub(super) fn answer(&self, (status, body): (StatusCode, String)) -> Response {
        let content_type = match self.config.backend {
            Backend::Waha => waha::JSON_UTF8,
            Backend::Wawp => "application/json",
        };
        waha::json_response(status, content_type, body)
    }

    fn refuse(&self, answer: (StatusCode, String)) -> Refused {
        Box::new(self.answer(answer))
    }

    /// NestJS's body for a status: message, statusCode (401 and 413).
    pub(super) fn error(&self, status: StatusCode) -> Response {
        let message = status.canonical_reason().unwrap_or("Error");
        self.answer((status, waha::object(&[("message", message.into()), ("statusCode", status.as_u16().into())])))
    }

    fn bad_request(&self, message: &str) -> Response {
        match self.config.backend {
            Backend::Waha => self.answer(waha::detail(message)),
            Backend::Wawp => {
                let body = json!({ "status": 400, "message": message, "error": "Bad Request" });
                self.answer((StatusCode::BAD_REQUEST, body.to_string()))
            }
        }
    }

    /// Success of a POST: WAHA's bare 201, Wawp's 200 with a small JSON body.
    fn post_success(&self) -> Response {
        match self.config.backend {
            Backend::Waha => waha::created(),
            Backend::Wawp => self.answer((StatusCode::OK, json!({ "success": true }).to_string())),
        }
    }

    /// What every presence route checks first: the path decodes, then the session (exists,
    /// runs, works). Returns the decoded chat id when the route has one, else the refusal.
    async fn check_route(&self, params: PathParams) -> Result<Option<String>, Refused> {
        let params = match params {
            Ok(Path(params)) => params,
            Err(PathRejection::MissingPathParams(_)) => HashMap::new(),
            Err(rejection) => return Err(Box::new(self.bad_request(&rejection.body_text()))),
        };
        self.check_session(params.get("session").map(String::as_str)).await?;
        Ok(params.get("chat_id").cloned())
    }

    /// WAHA's session check, as its session pipe makes it. At once: a name other than its own
    /// session is B on Core, A on Plus (a session that is not running); its own session while
    /// STOPPED is A. A session started but not WORKING is waited for, up to `session_wait`,
    /// then answered C with the status it has then. Wawp (no session in its paths): only the
    /// wait and C, with the instance id as the session.
    async fn check_session(&self, asked: Option<&str>) -> Result<(), Refused> {
        let config = &self.config;
        let own = match config.backend {
            Backend::Waha => config.session.as_str(),
            Backend::Wawp => config.instance_id.as_str(),
        };
        if config.backend == Backend::Waha {
            if let Some(asked) = asked.filter(|asked| *asked != own) {
                return Err(self.refuse(match config.edition {
                    Edition::Core => waha::core_serves_one_session(),
                    Edition::Plus => waha::session_not_found(asked),
                }));
            }
            if *self.session_status.borrow() == waha::STOPPED {
                return Err(self.refuse(waha::session_not_found(own)));
            }
        }
        let status = self.wait_for_working().await;
        if status != waha::WORKING {
            return Err(self.refuse(waha::session_not_ready(own, &status)));
        }
        Ok(())
    }

    /// The session's status once it is WORKING, or once `session_wait` has passed.
    async fn wait_for_working(&self) -> String {
        let mut status = self.session_status.subscribe();
        if *status.borrow_and_update() != waha::WORKING {
            let working = status.wait_for(|s| s == waha::WORKING);
            // The guard `wait_for` returns is not Send: it is dropped here, before any await.
            let _ = tokio::time::timeout(self.config.session_wait, working).await.map(|_| ());
        }
        let now = status.borrow().clone();
        now
    }
}

/// `GET /api/sessions/{session}`: the session's name and status (not a presence route: no
/// session check).
async fn session_info(State(shared): State<Arc<Shared>>, params: PathParams) -> Response {
    let asked = match params {
        Ok(Path(params)) => params.get("session").cloned().unwrap_or_default(),
        Err(rejection) => return shared.bad_request(&rejection.body_text()),
    };
    let config = &shared.config;
    let status = shared.session_status.borrow().clone();
    shared.answer(waha::session_info(&asked, &config.session, &status, &config.engine))
}

/// Wawp's set-presence rules: a known word, chatId absent for online/offline, present otherwise.
fn parse_set(body: &[u8]) -> Result<(String, Option<String>), String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("body must be a JSON object".to_owned());
    };
    let presence = match fields.get("presence") {
        Some(Value::String(p)) => p.as_str(),
        _ => return Err(format!("presence must be one of: {PRESENCES}")),
    };
    let chat = match fields.get("chatId") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if !c.is_empty() => Some(c.clone()),
        Some(_) => return Err("chatId must be a non-empty string".to_owned()),
    };
    match (presence, chat) {
        ("online" | "offline", None) => Ok((presence.to_owned(), None)),
        ("online" | "offline", Some(_)) => Err(format!("chatId must be omitted for {presence}")),
        ("typing" | "recording" | "paused", Some(chat)) => Ok((presence.to_owned(), Some(chat))),
        ("typing" | "recording" | "paused", None) => Err(format!("chatId is required for {presence}")),
        _ => Err(format!("presence must be one of: {PRESENCES}")),
    }
}

async fn set(State(shared): State<Arc<Shared>>, params: PathParams, body: Bytes) -> Response {
    if let Err(refused) = shared.check_route(params).await {
        return *refused;
    }
    let asked = match shared.config.backend {
        // The body passed the JSON parser already (`http.rs`): the route's rules, then the engine.
        Backend::Waha => match waha::set_presence(&body, &shared.config.engine) {
            Ok(asked) => asked,
            Err(refusal) => return shared.answer(refusal),
        },
        Backend::Wawp => match parse_set(&body) {
            Ok((presence, None)) => SetPresence::Own(presence),
            Ok((presence, Some(chat))) => SetPresence::InChat(chat, presence),
            Err(message) => return shared.bad_request(&message),
        },
    };
    let mut state = shared.lock();
    match asked {
        SetPresence::Own(presence) => state.own_presence = Some(presence),
        SetPresence::InChat(chat, presence) => {
            state.chat_states.insert(chat, presence);
        }
    }
    drop(state);
    shared.post_success()
}

async fn get_one(State(shared): State<Arc<Shared>>, params: PathParams) -> Response {
    let chat = match shared.check_route(params).await {
        Ok(chat) => chat.unwrap_or_default(),
        Err(refused) => return *refused,
    };
    let now = Instant::now();
    let mut state = shared.lock();
    // A read subscribes, as on the real servers.
    state.subscribe(&chat);
    let answer = state.read_chat(&chat, now).to_string();
    drop(state);
    shared.answer((StatusCode::OK, answer))
}

async fn get_all(State(shared): State<Arc<Shared>>, params: PathParams) -> Response {
    if let Err(refused) = shared.check_route(params).await {
        return *refused;
    }
    if shared.config.engine.eq_ignore_ascii_case("WEBJS") {
        // WEBJS's `getPresences` throws the engine's error without details, as F.
        return shared.answer(waha::not_implemented(None));
    }
    let now = Instant::now();
    let mut state = shared.lock();
    let chats: Vec<Value> = state.subscriptions.clone().iter().map(|chat| state.read_chat(chat, now)).collect();
    drop(state);
    shared.answer((StatusCode::OK, Value::Array(chats).to_string()))
}

async fn subscribe(State(shared): State<Arc<Shared>>, params: PathParams) -> Response {
    let chat = match shared.check_route(params).await {
        Ok(chat) => chat.unwrap_or_default(),
        Err(refused) => return *refused,
    };
    // WAHA Core's NOWEB engine does not implement subscribing (F).
    if shared.config.backend == Backend::Waha && shared.config.edition == Edition::Core {
        return shared.answer(waha::not_implemented(None));
    }
    shared.lock().subscribe(&chat);
    shared.post_success()
}

async fn start_typing(state: State<Arc<Shared>>, params: PathParams, uri: Uri) -> Response {
    typing(state, params, uri, "typing").await
}

async fn stop_typing(state: State<Arc<Shared>>, params: PathParams, uri: Uri) -> Response {
    typing(state, params, uri, "paused").await
}

/// Wawp's typing helpers: the chat comes as the `chatId` query parameter.
async fn typing(State(shared): State<Arc<Shared>>, params: PathParams, uri: Uri, state: &str) -> Response {
    if let Err(refused) = shared.check_route(params).await {
        return *refused;
    }
    let chat = decode_query(uri.query()).into_iter().find(|(name, value)| name == "chatId" && !value.is_empty());
    let Some((_, chat)) = chat else {
        return shared.bad_request("chatId query parameter is required");
    };
    shared.lock().chat_states.insert(chat, state.to_owned());
    shared.post_success()
}

/// A query string's pairs, percent-decoded.
pub(super) fn decode_query(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}
