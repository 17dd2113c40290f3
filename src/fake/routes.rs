//! The presence routes of both servers. Only paths, success codes and error shapes differ by
//! backend; the behaviour is one set of handlers.

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

use super::{Backend, Shared};

type PathParams = Result<Path<HashMap<String, String>>, PathRejection>;

const PRESENCES: &str = "online, offline, typing, recording, paused";

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let routes = match shared.config.backend {
        Backend::Waha => Router::new()
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

pub(super) fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// NestJS's default error body, which both servers use for most statuses.
pub(super) fn error_json(status: StatusCode) -> Response {
    let message = status.canonical_reason().unwrap_or("Error");
    json_answer(status, json!({ "message": message, "statusCode": status.as_u16() }))
}

pub(super) fn unauthorized() -> Response {
    error_json(StatusCode::UNAUTHORIZED)
}

async fn not_found(method: Method, uri: Uri) -> Response {
    json_answer(
        StatusCode::NOT_FOUND,
        json!({
            "message": format!("Cannot {method} {}", uri.path()),
            "error": "Not Found",
            "statusCode": 404,
        }),
    )
}

impl Shared {
    fn bad_request(&self, message: &str) -> Response {
        let body = match self.config.backend {
            Backend::Waha => json!({ "detail": message }),
            Backend::Wawp => json!({ "status": 400, "message": message, "error": "Bad Request" }),
        };
        json_answer(StatusCode::BAD_REQUEST, body)
    }

    /// Success of a POST: WAHA's bare 201, Wawp's 200 with a small JSON body.
    fn post_success(&self) -> Response {
        match self.config.backend {
            Backend::Waha => StatusCode::CREATED.into_response(),
            Backend::Wawp => json_answer(StatusCode::OK, json!({ "success": true })),
        }
    }

    /// What every presence route checks first: the path decodes, the session exists and works.
    /// Returns the decoded chat id when the route has one, else the refusal to answer.
    fn check_route(&self, params: PathParams) -> Result<Option<String>, Box<Response>> {
        let params = match params {
            Ok(Path(params)) => params,
            Err(PathRejection::MissingPathParams(_)) => HashMap::new(),
            Err(rejection) => return Err(Box::new(self.bad_request(&rejection.body_text()))),
        };
        let config = &self.config;
        if let Some(session) = params.get("session") {
            if *session != config.session {
                let message = format!(
                    "We didn't find a session with name '{session}'. \
                     Please start it first by using POST /api/sessions/{session}/start request"
                );
                return Err(Box::new(json_answer(
                    StatusCode::NOT_FOUND,
                    json!({ "message": message, "statusCode": 404 }),
                )));
            }
        }
        let status = self.lock().session_status.clone();
        if status != "WORKING" {
            let session = match config.backend {
                Backend::Waha => &config.session,
                Backend::Wawp => &config.instance_id,
            };
            return Err(Box::new(json_answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "error": "Session status is not as expected. Try again later or restart the session",
                    "session": session,
                    "status": status,
                    "expected": ["WORKING"],
                }),
            )));
        }
        Ok(params.get("chat_id").cloned())
    }
}

/// The set-presence rules: a known word, chatId absent for online/offline, present otherwise.
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
    if let Err(refused) = shared.check_route(params) {
        return *refused;
    }
    let (presence, chat) = match parse_set(&body) {
        Ok(parsed) => parsed,
        Err(message) => return shared.bad_request(&message),
    };
    let mut state = shared.lock();
    match chat {
        None => state.own_presence = Some(presence),
        Some(chat) => {
            state.chat_states.insert(chat, presence);
        }
    }
    drop(state);
    shared.post_success()
}

async fn get_one(State(shared): State<Arc<Shared>>, params: PathParams) -> Response {
    let chat = match shared.check_route(params) {
        Ok(chat) => chat.unwrap_or_default(),
        Err(refused) => return *refused,
    };
    let now = Instant::now();
    let mut state = shared.lock();
    // A read subscribes, as on the real servers.
    state.subscribe(&chat);
    json_answer(StatusCode::OK, state.read_chat(&chat, now))
}

async fn get_all(State(shared): State<Arc<Shared>>, params: PathParams) -> Response {
    if let Err(refused) = shared.check_route(params) {
        return *refused;
    }
    if shared.config.engine.eq_ignore_ascii_case("WEBJS") {
        let message =
            format!("The method is not implemented by the engine {}. Try another engine.", shared.config.engine);
        return json_answer(StatusCode::UNPROCESSABLE_ENTITY, json!({ "message": message, "statusCode": 422 }));
    }
    let now = Instant::now();
    let mut state = shared.lock();
    let chats: Vec<Value> = state.subscriptions.clone().iter().map(|chat| state.read_chat(chat, now)).collect();
    json_answer(StatusCode::OK, Value::Array(chats))
}

async fn subscribe(State(shared): State<Arc<Shared>>, params: PathParams) -> Response {
    match shared.check_route(params) {
        Ok(chat) => shared.lock().subscribe(&chat.unwrap_or_default()),
        Err(refused) => return *refused,
    }
    shared.post_success()
}

async fn start_typing(state: State<Arc<Shared>>, params: PathParams, uri: Uri) -> Response {
    typing(state, params, uri, "typing")
}

async fn stop_typing(state: State<Arc<Shared>>, params: PathParams, uri: Uri) -> Response {
    typing(state, params, uri, "paused")
}

/// Wawp's typing helpers: the chat comes as the `chatId` query parameter.
fn typing(State(shared): State<Arc<Shared>>, params: PathParams, uri: Uri, state: &str) -> Response {
    if let Err(refused) = shared.check_route(params) {
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
