//! The fake, exercised over real HTTP on 127.0.0.1 the way the client will use it.

use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

pub(super) const ALICE: &str = "447441429009@c.us";
pub(super) const BOB: &str = "447700900123@c.us";
pub(super) const GROUP: &str = "120363025555555555@g.us";

fn http() -> reqwest::Client {
    // No proxy: a proxy from the environment must not see (or break) loopback traffic.
    let tls = crate::core::http::tls_config().expect("TLS configuration");
    reqwest::Client::builder().tls_backend_preconfigured(tls).no_proxy().build().expect("reqwest client")
}

pub(super) fn enc(chat: &str) -> String {
    utf8_percent_encode(chat, NON_ALPHANUMERIC).to_string()
}

fn seconds(n: u64) -> Option<serde_json::Number> {
    Some(n.into())
}

/// A running fake and a client that speaks its backend's dialect.
pub(super) struct Api {
    pub(super) server: FakeServer,
    pub(super) http: reqwest::Client,
}

impl Api {
    pub(super) async fn start(config: FakeConfig) -> Api {
        let server = FakeServer::start(config).await.expect("fake server starts");
        Api { server, http: http() }
    }

    pub(super) async fn of(backend: Backend) -> Api {
        Api::start(FakeConfig { backend, ..FakeConfig::default() }).await
    }

    /// `route` is what follows the backend's prefix, e.g. "/presence/<chat>".
    fn url(&self, route: &str) -> String {
        let config = self.server.config();
        match config.backend {
            Backend::Waha => format!("{}/api/{}{route}", self.server.url(), config.session),
            Backend::Wawp => {
                let sep = if route.contains('?') { '&' } else { '?' };
                format!(
                    "{}/v2{route}{sep}instance_id={}&access_token={}",
                    self.server.url(),
                    config.instance_id,
                    config.access_token
                )
            }
        }
    }

    pub(super) fn request(&self, method: Method, route: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, self.url(route));
        match &self.server.config().api_key {
            Some(key) => builder.header("X-Api-Key", key),
            None => builder,
        }
    }

    pub(super) async fn get(&self, route: &str) -> (StatusCode, Value) {
        let response = self.request(Method::GET, route).send().await.expect("GET");
        read_json(response).await
    }

    pub(super) async fn post(&self, route: &str, body: Option<Value>) -> reqwest::Response {
        let builder = self.request(Method::POST, route);
        let builder = match body {
            Some(body) => with_json(builder, &body),
            None => builder,
        };
        builder.send().await.expect("POST")
    }

    async fn set(&self, body: Value) -> (StatusCode, Value) {
        read_json(self.post("/presence", Some(body)).await).await
    }

    pub(super) async fn chat(&self, chat: &str) -> Value {
        let (status, body) = self.get(&format!("/presence/{}", enc(chat))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// The project's reqwest has no `json` feature.
fn with_json(builder: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    builder.header("content-type", "application/json").body(body.to_string())
}

/// Status and JSON body; an empty body reads as null. Every JSON answer must say it is JSON.
async fn read_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap_or_default().to_owned());
    let bytes = response.bytes().await.expect("body");
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    // Wawp's bare type, or a WAHA's (Express's) with its charset.
    let json_types = [Some("application/json"), Some("application/json; charset=utf-8")];
    assert!(json_types.contains(&content_type.as_deref()), "status {status}: {content_type:?}");
    let body = serde_json::from_slice(&bytes).expect("a JSON body");
    (status, body)
}

fn presence_words(chat: &Value) -> Vec<(String, String)> {
    chat["presences"]
        .as_array()
        .expect("presences is an array")
        .iter()
        .map(|p| {
            let field = |name: &str| p[name].as_str().unwrap_or_default().to_owned();
            (field("participant"), field("lastKnownPresence"))
        })
        .collect()
}

/// Polls until a new connection to `url`'s port is refused, or gives up after about 2 s.
async fn refused_soon(port: u16) -> bool {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Sends raw bytes and returns everything the server writes back before closing.
async fn raw_exchange(server: &FakeServer, request: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port())).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    // A reset also ends the answer; what was read before it is what counts.
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server neither answered nor closed");
    answer
}

#[test]
fn default_config_has_fresh_random_credentials() {
    let (a, b) = (FakeConfig::default(), FakeConfig::default());
    assert_ne!(a.access_token, b.access_token);
    assert_eq!(a.access_token.len(), 32);
    let hex = a.instance_id.strip_prefix("fake-instance-").expect("prefix");
    assert!(hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!((a.host.as_str(), a.port, a.session.as_str()), ("127.0.0.1", 0, "default"));
    assert_eq!(a.engine, "NOWEB");
}

#[test]
fn server_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<FakeServer>();
}

#[tokio::test]
async fn set_presence_updates_own_and_chat_state() {
    for backend in [Backend::Waha, Backend::Wawp] {
        let api = Api::of(backend).await;
        let response = api.post("/presence", Some(json!({"presence": "online"}))).await;
        match backend {
            // WAHA: bare 201. Wawp: 200 with a small JSON body.
            Backend::Waha => {
                assert_eq!(response.status(), StatusCode::CREATED);
                assert!(response.bytes().await.expect("body").is_empty());
            }
            Backend::Wawp => {
                assert_eq!(read_json(response).await, (StatusCode::OK, json!({"success": true})));
            }
        }
        assert_eq!(api.server.own_presence().as_deref(), Some("online"));

        for (presence, chat) in [("typing", ALICE), ("recording", BOB), ("paused", ALICE)] {
            let (status, _) = api.set(json!({"presence": presence, "chatId": chat})).await;
            assert!(status.is_success(), "{backend}: {presence}");
        }
        let (status, _) = api.set(json!({"presence": "offline", "chatId": null})).await;
        assert!(status.is_success());
        assert_eq!(api.server.own_presence().as_deref(), Some("offline"));
        let expected =
            BTreeMap::from([(ALICE.to_owned(), "paused".to_owned()), (BOB.to_owned(), "recording".to_owned())]);
        assert_eq!(api.server.chat_states(), expected);
    }
}

#[tokio::test]
async fn set_presence_rules_answer_400_in_each_backends_shape() {
    for backend in [Backend::Waha, Backend::Wawp] {
        let api = Api::of(backend).await;
        let mut broken = vec![
            json!({"presence": "online", "chatId": ALICE}),
            json!({"presence": "offline", "chatId": ALICE}),
            json!({"presence": "typing"}),
            json!({"presence": "paused", "chatId": ""}),
            json!({"presence": "available"}),
            json!({"presence": "typing", "chatId": 42}),
            json!(["online"]),
        ];
        // WAHA's rules let a chatId without a presence through to its engine, which answers 422
        // (waha_tests.rs); Wawp's fake refuses it.
        if backend == Backend::Wawp {
            broken.push(json!({"chatId": ALICE}));
        }
        for body in broken {
            let (status, answer) = api.set(body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
            match backend {
                Backend::Waha => assert!(answer["detail"].is_string(), "{answer}"),
                Backend::Wawp => {
                    assert_eq!(answer["status"], 400);
                    assert_eq!(answer["error"], "Bad Request");
                    assert!(answer["message"].is_string(), "{answer}");
                }
            }
        }
        let not_json = api
            .request(Method::POST, "/presence")
            .header("content-type", "application/json")
            .body("{presence: online")
            .send()
            .await
            .expect("POST");
        assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
        assert_eq!(api.server.own_presence(), None, "a refused set changes nothing");
        assert!(api.server.chat_states().is_empty());
    }
}

#[tokio::test]
async fn reading_a_chat_answers_what_was_stored_and_subscribes() {
    for backend in [Backend::Waha, Backend::Wawp] {
        let api = Api::of(backend).await;
        api.server.set_presence(ALICE, "online", None, None, 0);
        api.server.set_presence(BOB, "offline", seconds(1_686_568_773), None, 0);

        let alice = api.chat(ALICE).await;
        assert_eq!(
            alice,
            json!({"id": ALICE, "presences": [
                {"participant": ALICE, "lastKnownPresence": "online", "lastSeen": null}]})
        );
        let bob = api.chat(BOB).await;
        assert_eq!(bob["presences"][0]["lastSeen"], 1_686_568_773);
        // A chat nobody set is known to have no data, not to be offline.
        assert_eq!(api.chat("unknown@c.us").await, json!({"id": "unknown@c.us", "presences": []}));

        assert_eq!(api.server.subscriptions(), [ALICE, BOB, "unknown@c.us"]);
    }
}

#[tokio::test]
async fn empty_reads_answer_no_presences_before_the_data() {
    let api = Api::of(Backend::Waha).await;
    api.server.set_presence(ALICE, "typing", None, None, 2);
    for _ in 0..2 {
        assert_eq!(api.chat(ALICE).await["presences"], json!([]));
    }
    assert_eq!(presence_words(&api.chat(ALICE).await), [(ALICE.into(), "typing".into())]);
    assert_eq!(presence_words(&api.chat(ALICE).await).len(), 1, "data stays once shown");
}

#[tokio::test]
async fn group_participants_are_replaced_one_by_one() {
    let api = Api::of(Backend::Wawp).await;
    api.server.set_presence(GROUP, "online", None, Some(ALICE), 0);
    api.server.set_presence(GROUP, "offline", seconds(1_700_000_000), Some(BOB), 0);
    api.server.set_presence(GROUP, "typing", None, Some(ALICE), 0);

    let group = api.chat(GROUP).await;
    assert_eq!(group["id"], GROUP);
    assert_eq!(presence_words(&group), [(ALICE.into(), "typing".into()), (BOB.into(), "offline".into())]);
    assert_eq!(group["presences"][1]["lastSeen"], 1_700_000_000);
}

#[tokio::test]
async fn engine_words_and_last_seen_forms_pass_through_unchanged() {
    let api = Api::of(Backend::Waha).await;
    let float = serde_json::Number::from_f64(1_686_568_773.25);
    api.server.set_presence(ALICE, "composing", float, None, 0);
    api.server.set_presence(BOB, "available", seconds(1_686_568_773_000), None, 0);

    let alice = api.chat(ALICE).await;
    assert_eq!(alice["presences"][0]["lastKnownPresence"], "composing");
    assert_eq!(alice["presences"][0]["lastSeen"].as_f64(), Some(1_686_568_773.25));
    let bob = api.chat(BOB).await;
    assert_eq!(bob["presences"][0]["lastKnownPresence"], "available");
    assert_eq!(bob["presences"][0]["lastSeen"].as_u64(), Some(1_686_568_773_000));
}

#[tokio::test]
async fn subscribe_and_get_all_keep_first_subscribed_order() {
    for backend in [Backend::Waha, Backend::Wawp] {
        let api = Api::of(backend).await;
        api.server.set_presence(ALICE, "online", None, None, 0);
        api.server.set_presence(GROUP, "offline", None, Some(BOB), 0);

        assert_eq!(api.get("/presence").await, (StatusCode::OK, json!([])));
        let response = api.post(&format!("/presence/{}/subscribe", enc(GROUP)), None).await;
        assert!(response.status().is_success());
        if backend == Backend::Waha {
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        api.chat(ALICE).await;
        api.post(&format!("/presence/{}/subscribe", enc(GROUP)), None).await;
        api.post(&format!("/presence/{}/subscribe", enc(BOB)), None).await;

        assert_eq!(api.server.subscriptions(), [GROUP, ALICE, BOB]);
        let (status, all) = api.get("/presence").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            all,
            json!([
                {"id": GROUP, "presences": [{"participant": BOB, "lastKnownPresence": "offline", "lastSeen": null}]},
                {"id": ALICE, "presences": [{"participant": ALICE, "lastKnownPresence": "online", "lastSeen": null}]},
                {"id": BOB, "presences": []},
            ])
        );
    }
}

#[tokio::test]
async fn webjs_engine_refuses_get_all_but_reads_one_chat() {
    let api = Api::start(FakeConfig { backend: Backend::Waha, engine: "WEBJS".into(), ..FakeConfig::default() }).await;
    let (status, body) = api.get("/presence").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["statusCode"], 422);
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("The method is not implemented by the engine"), "{message}");
    assert_eq!(api.chat(ALICE).await["id"], ALICE);
}

#[tokio::test]
async fn a_session_not_working_refuses_every_presence_route() {
    for backend in [Backend::Waha, Backend::Wawp] {
        let api = Api::of(backend).await;
        api.server.set_session_status("SCAN_QR_CODE");
        let mut routes = vec![
            (Method::POST, "/presence".to_owned()),
            (Method::GET, "/presence".to_owned()),
            (Method::GET, format!("/presence/{}", enc(ALICE))),
            (Method::POST, format!("/presence/{}/subscribe", enc(ALICE))),
        ];
        if backend == Backend::Wawp {
            routes.push((Method::POST, format!("/send/start-typing?chatId={}", enc(ALICE))));
            routes.push((Method::POST, format!("/send/stop-typing?chatId={}", enc(ALICE))));
        }
        for (method, route) in routes {
            let request = api.request(method.clone(), &route);
            let response = with_json(request, &json!({"presence": "online"})).send().await.expect("request");
            let (status, body) = read_json(response).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{backend} {method} {route}");
            assert_eq!(body["status"], "SCAN_QR_CODE");
            assert_eq!(body["expected"], json!(["WORKING"]));
            assert!(body["session"].is_string() && body["error"].is_string(), "{body}");
        }
        assert_eq!(api.server.own_presence(), None);
        assert!(api.server.subscriptions().is_empty());

        api.server.reset();
        assert_eq!(api.get("/presence").await.0, StatusCode::OK, "reset means WORKING again");
    }
}

#[tokio::test]
async fn waha_unknown_session_is_404() {
    let api = Api::of(Backend::Waha).await;
    let url = format!("{}/api/other/presence/{}", api.server.url(), enc(ALICE));
    let (status, body) = read_json(api.http.get(url).send().await.expect("GET")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["statusCode"], 404);
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("We didn't find a session with name 'other'"), "{message}");
}

#[tokio::test]
async fn waha_api_key_is_enforced_when_set() {
    let api =
        Api::start(FakeConfig { backend: Backend::Waha, api_key: Some("s3cret".into()), ..FakeConfig::default() })
            .await;
    let unauthorized = json!({"message": "Unauthorized", "statusCode": 401});
    let url = api.url("/presence");
    let missing = api.http.get(&url).send().await.expect("GET");
    assert_eq!(read_json(missing).await, (StatusCode::UNAUTHORIZED, unauthorized.clone()));
    let wrong = api.http.get(&url).header("X-Api-Key", "guess").send().await.expect("GET");
    assert_eq!(read_json(wrong).await, (StatusCode::UNAUTHORIZED, unauthorized));
    assert_eq!(api.get("/presence").await.0, StatusCode::OK);
}

#[tokio::test]
async fn wawp_credentials_are_enforced() {
    let api = Api::of(Backend::Wawp).await;
    let config = api.server.config().clone();
    let base = format!("{}/v2/presence", api.server.url());
    let unauthorized = json!({"message": "Unauthorized", "statusCode": 401});
    let cases = [
        format!("{base}?instance_id={}", config.instance_id),
        format!("{base}?instance_id={}&access_token=wrong", config.instance_id),
    ];
    for url in cases {
        let response = api.http.get(&url).send().await.expect("GET");
        assert_eq!(read_json(response).await, (StatusCode::UNAUTHORIZED, unauthorized.clone()));
    }
    for instance in ["&instance_id=someone-else", ""] {
        let url = format!("{base}?access_token={}{instance}", config.access_token);
        let (status, body) = read_json(api.http.get(&url).send().await.expect("GET")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "invalid_session");
    }
    assert_eq!(api.get("/presence").await.0, StatusCode::OK);
}

#[tokio::test]
async fn wawp_typing_helpers_set_the_chat_state() {
    let api = Api::of(Backend::Wawp).await;
    let start = api.post(&format!("/send/start-typing?chatId={}", enc(ALICE)), None).await;
    assert!(start.status().is_success());
    assert_eq!(api.server.chat_states().get(ALICE).map(String::as_str), Some("typing"));
    let stop = api.post(&format!("/send/stop-typing?chatId={}", enc(ALICE)), None).await;
    assert!(stop.status().is_success());
    assert_eq!(api.server.chat_states().get(ALICE).map(String::as_str), Some("paused"));

    let (status, body) = read_json(api.post("/send/start-typing", None).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "Bad Request");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_404() {
    for backend in [Backend::Waha, Backend::Wawp] {
        let api = Api::of(backend).await;
        for (method, route) in [
            (Method::GET, "/presence/x/unknown"),
            (Method::DELETE, "/presence"),
            (Method::GET, "/presence/x/subscribe"),
        ] {
            let response = api.request(method, route).send().await.expect("request");
            let (status, body) = read_json(response).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{backend} {route}");
            assert_eq!(body["statusCode"], 404);
        }
    }
    // Each fake speaks one dialect only.
    let wawp = Api::of(Backend::Wawp).await;
    let url = wawp.url("/presence").replacen("/v2/", "/api/default/", 1);
    assert_eq!(read_json(wawp.http.get(url).send().await.expect("GET")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn encoded_slashes_in_chat_ids_do_not_change_the_route() {
    let api = Api::of(Backend::Waha).await;
    // Read: a chat id that looks like the subscribe route is still one chat id.
    let read = api.chat("x/subscribe").await;
    assert_eq!(read, json!({"id": "x/subscribe", "presences": []}));
    // Subscribe: a traversal attempt stays inside the chat id.
    let tricky = "../../sessions?#@c.us";
    let response = api.post(&format!("/presence/{}/subscribe", enc(tricky)), None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(api.server.subscriptions(), ["x/subscribe", tricky]);
    let paths: Vec<String> = api.server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/api/default/presence/x%2Fsubscribe".to_owned(), format!("/api/default/presence/{}/subscribe", enc(tricky)),]
    );
}

#[tokio::test]
async fn undecodable_chat_id_is_a_400_not_a_crash() {
    let api = Api::of(Backend::Waha).await;
    let (status, body) = api.get("/presence/%FF%FE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].is_string(), "{body}");
    assert_eq!(api.chat(ALICE).await["id"], ALICE, "the server still serves");
}

#[tokio::test]
async fn requests_are_recorded_as_on_the_wire_including_faulted_ones() {
    let api = Api::of(Backend::Wawp).await;
    api.server.fail_next(Fault::Status { status: 503, body: None, headers: vec![], delay: None }, 1);
    let route = format!("/presence/{}", enc(ALICE));
    assert_eq!(api.get(&route).await.0, StatusCode::SERVICE_UNAVAILABLE);
    api.post("/presence", Some(json!({"presence": "online"}))).await;

    let recorded = api.server.requests();
    assert_eq!(recorded.len(), 2);
    let config = api.server.config();
    assert_eq!(recorded[0].method, "GET");
    assert_eq!(recorded[0].path, "/v2/presence/447441429009%40c%2Eus");
    assert_eq!(
        recorded[0].query,
        [
            ("instance_id".to_owned(), config.instance_id.clone()),
            ("access_token".to_owned(), config.access_token.clone()),
        ]
    );
    let post = &recorded[1];
    assert_eq!((post.method.as_str(), post.path.as_str()), ("POST", "/v2/presence"));
    assert!(post.headers.contains(&("content-type".into(), "application/json".into())));
    assert_eq!(serde_json::from_slice::<Value>(&post.body).ok(), Some(json!({"presence": "online"})));

    api.server.clear_requests();
    assert!(api.server.requests().is_empty());
}

#[tokio::test]
async fn status_fault_comes_before_auth_with_its_headers_then_service_resumes() {
    let api = Api::of(Backend::Wawp).await;
    let fault =
        Fault::Status { status: 429, body: None, headers: vec![("Retry-After".into(), "3".into())], delay: None };
    api.server.fail_next(fault, 2);
    // No credentials at all: the fault still answers first.
    let url = format!("{}/anything", api.server.url());
    for _ in 0..2 {
        let response = api.http.get(&url).send().await.expect("GET");
        assert_eq!(response.headers().get("retry-after").map(|v| v.as_bytes()), Some(&b"3"[..]));
        let (status, body) = read_json(response).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body["statusCode"], 429);
    }
    assert_eq!(api.get("/presence").await.0, StatusCode::OK, "only two faults were queued");
}

#[tokio::test]
async fn status_fault_with_own_body_waits_its_delay() {
    let api = Api::of(Backend::Waha).await;
    api.server.fail_next(
        Fault::Status {
            status: 502,
            body: Some(b"<html><body>Bad gateway</body></html>".to_vec()),
            headers: vec![],
            delay: Some(Duration::from_millis(300)),
        },
        1,
    );
    let started = Instant::now();
    let response = api.request(Method::GET, "/presence").send().await.expect("GET");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let content_type = response.headers().get("content-type").cloned();
    assert_eq!(content_type.as_ref().map(|v| v.as_bytes()), Some(&b"text/html; charset=utf-8"[..]));
    assert_eq!(response.text().await.expect("body"), "<html><body>Bad gateway</body></html>");
}

#[tokio::test]
async fn delay_fault_answers_normally_afterwards() {
    let api = Api::of(Backend::Waha).await;
    api.server.set_presence(ALICE, "online", None, None, 0);
    api.server.fail_next(Fault::Delay(Duration::from_millis(300)), 1);
    let started = Instant::now();
    let alice = api.chat(ALICE).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(presence_words(&alice), [(ALICE.into(), "online".into())]);
}

#[tokio::test]
async fn drop_fault_closes_the_connection_without_an_answer() {
    let api = Api::of(Backend::Waha).await;
    api.server.fail_next(Fault::Drop, 2);
    let error = api.request(Method::GET, "/presence").send().await.expect_err("dropped");
    assert!(error.status().is_none() && !error.is_timeout(), "{error:?}");

    let request = "GET /api/default/presence HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_eq!(raw_exchange(&api.server, request).await, b"", "not one byte of answer");
    assert_eq!(api.get("/presence").await.0, StatusCode::OK);
}

#[tokio::test]
async fn malformed_fault_answers_200_with_a_page_that_is_not_json() {
    let api = Api::of(Backend::Wawp).await;
    api.server.fail_next(Fault::Malformed, 1);
    let response = api.request(Method::GET, "/presence").send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.expect("body");
    assert!(!bytes.is_empty());
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());
}

#[tokio::test]
async fn hang_fault_makes_a_client_time_out() {
    let api = Api::of(Backend::Waha).await;
    api.server.fail_next(Fault::Hang, 1);
    let started = Instant::now();
    let error =
        api.request(Method::GET, "/presence").timeout(Duration::from_secs(1)).send().await.expect_err("no answer");
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(api.get("/presence").await.0, StatusCode::OK, "other connections are served");
}

#[tokio::test]
async fn shutdown_ends_a_hanging_request_and_stops_accepting() {
    let api = Api::of(Backend::Waha).await;
    api.server.fail_next(Fault::Hang, 1);
    let hanging = tokio::spawn(api.request(Method::GET, "/presence").send());
    for _ in 0..250 {
        if !api.server.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(api.server.requests().len(), 1, "the hanging request arrived");

    api.server.shutdown();
    api.server.shutdown();
    let outcome = tokio::time::timeout(Duration::from_secs(5), hanging).await;
    let result = outcome.expect("shutdown ends the hang").expect("task");
    assert!(result.is_err(), "the connection was closed, not answered");
    assert!(refused_soon(api.server.port()).await);
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let api = Api::of(Backend::Wawp).await;
    assert_eq!(api.get("/presence").await.0, StatusCode::OK);
    let port = api.server.port();
    drop(api);
    assert!(refused_soon(port).await);
}

#[test]
fn start_on_serves_from_a_thread_outside_the_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let config = FakeConfig { backend: Backend::Waha, ..FakeConfig::default() };
    let server = FakeServer::start_on(config, runtime.handle()).expect("starts");
    server.set_presence(ALICE, "online", None, None, 0);
    assert_eq!(server.url(), format!("http://127.0.0.1:{}", server.port()));

    let url = format!("{}/api/default/presence/{}", server.url(), enc(ALICE));
    let (status, body) = runtime.block_on(async { read_json(http().get(url).send().await.expect("GET")).await });
    assert_eq!(status, StatusCode::OK);
    assert_eq!(presence_words(&body), [(ALICE.into(), "online".into())]);
}

#[tokio::test]
async fn reset_forgets_everything_but_the_config() {
    let api = Api::of(Backend::Waha).await;
    api.server.set_presence(ALICE, "online", None, None, 0);
    api.set(json!({"presence": "online"})).await;
    api.set(json!({"presence": "typing", "chatId": ALICE})).await;
    api.chat(ALICE).await;
    api.server.fail_next(Fault::Drop, 3);
    api.server.set_session_status("STOPPED");

    api.server.reset();
    assert_eq!(api.server.requests(), []);
    assert_eq!(api.server.own_presence(), None);
    assert!(api.server.chat_states().is_empty() && api.server.subscriptions().is_empty());
    assert_eq!(api.chat(ALICE).await["presences"], json!([]), "no fault, no stored data");
}

// --- the answers against WAHA's own OpenAPI schemas ---

fn openapi() -> Value {
    // The copy of WAHA's document kept in the repository (the Python tests read it too).
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/contract/waha-presence.openapi.json");
    let text = std::fs::read_to_string(path).expect("tests/contract/waha-presence.openapi.json");
    serde_json::from_str(&text).expect("the spec is JSON")
}

/// The 200 schema of one operation, e.g. ("/api/{session}/presence", "get").
fn response_schema<'a>(spec: &'a Value, path: &str, method: &str) -> &'a Value {
    &spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
}

/// A structural check of the parts of JSON Schema this spec uses: $ref, type, required,
/// properties, items, enum. Returns what does not match.
fn violations(spec: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let pointer = reference.trim_start_matches('#');
        let target = spec.pointer(pointer).unwrap_or(&Value::Null);
        assert!(target.is_object(), "unresolved {reference}");
        return violations(spec, target, value, at);
    }
    let mut found = Vec::new();
    let type_ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("number") => value.is_number(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        found.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return found;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            found.push(format!("{at}: {value} is not one of {}", schema["enum"]));
        }
    }
    let required: Vec<&str> =
        schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    for name in &required {
        if value.get(name).is_none() {
            found.push(format!("{at}: missing required {name}"));
        }
    }
    if let (Some(properties), Some(fields)) = (schema["properties"].as_object(), value.as_object()) {
        for (name, field) in fields {
            let Some(property) = properties.get(name) else {
                continue;
            };
            // WAHA itself sends `"lastSeen": null` (wire.md) though its schema has no
            // `nullable`: null stands for absent in optional fields.
            if field.is_null() && !required.contains(&name.as_str()) {
                continue;
            }
            found.extend(violations(spec, property, field, &format!("{at}.{name}")));
        }
    }
    if let (Some(items), Some(elements)) = (schema.get("items"), value.as_array()) {
        for (i, element) in elements.iter().enumerate() {
            found.extend(violations(spec, items, element, &format!("{at}[{i}]")));
        }
    }
    found
}

#[tokio::test]
async fn answers_match_the_waha_openapi_schemas() {
    let spec = openapi();
    let one = response_schema(&spec, "/api/{session}/presence/{chatId}", "get");
    let all = response_schema(&spec, "/api/{session}/presence", "get");
    assert!(one.is_object() && all.is_object(), "both operations are in the spec");

    for backend in [Backend::Waha, Backend::Wawp] {
        let api = Api::of(backend).await;
        api.server.set_presence(GROUP, "online", seconds(1_686_568_773), Some(ALICE), 0);
        api.server.set_presence(GROUP, "typing", None, Some(BOB), 0);
        let float = serde_json::Number::from_f64(1_686_568_773.5);
        api.server.set_presence(BOB, "offline", float, None, 0);

        for chat in [GROUP, BOB, "nobody@c.us"] {
            let answer = api.chat(chat).await;
            assert_eq!(violations(&spec, one, &answer, "$"), Vec::<String>::new(), "{answer}");
        }
        let (_, answer) = api.get("/presence").await;
        assert_eq!(answer.as_array().map(Vec::len), Some(3));
        assert_eq!(violations(&spec, all, &answer, "$"), Vec::<String>::new(), "{answer}");
    }

    // The check itself can fail: an engine word outside the enum, a missing participant.
    let doctored = json!({"id": ALICE, "presences": [
        {"participant": ALICE, "lastKnownPresence": "composing"},
        {"lastKnownPresence": "online", "lastSeen": "yesterday"}]});
    assert_eq!(violations(&spec, one, &doctored, "$").len(), 3);
}

#[tokio::test]
async fn the_request_log_keeps_only_the_most_recent() {
    let api = Api::start(FakeConfig { backend: Backend::Waha, request_log: 3, ..FakeConfig::default() }).await;
    for i in 0..10 {
        api.get(&format!("/presence/{}", enc(&format!("4474414290{i:02}@c.us")))).await;
    }
    let paths: Vec<String> = api.server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, (7..10).map(|i| format!("/api/default/presence/4474414290{i:02}%40c%2Eus")).collect::<Vec<_>>());

    let silent = Api::start(FakeConfig { request_log: 0, ..FakeConfig::default() }).await;
    silent.get("/presence").await;
    assert!(silent.server.requests().is_empty());
    assert_eq!(silent.server.traffic().connections_opened, 1);
}
