//! The fake's WAHA mode against `waha-real-answers.md`, over real HTTP: every shape (A to G)
//! with its exact status, body bytes and Content-Type, the wait before C, and the order of the
//! server's checks. The expected bodies are read from the repository's copy of the document
//! (`tests/contract/waha-real-answers.md`), never retyped; where a state has no row of its own
//! (another status word, another presence word), its body is the row's with that word swapped.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use super::tests::{enc, Api, ALICE};
use super::timing_tests::unpooled;
use super::*;

const DOCUMENT: &str = include_str!("../../tests/contract/waha-real-answers.md");

const JSON_UTF8: &str = "application/json; charset=utf-8";

/// One row of the document's table.
#[derive(Debug)]
struct Row {
    status: u16,
    /// Every `code` span of the body column that is a JSON object (C's notes name fields too).
    bodies: Vec<String>,
}

/// The table, by shape letter.
fn table() -> BTreeMap<char, Row> {
    let mut rows = BTreeMap::new();
    for line in DOCUMENT.lines() {
        // "| A | when | 404 | `{...}` |" splits into "", "A", when, "404", body, "".
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, shape, _, status, body, _] = cells.as_slice() else {
            continue;
        };
        let (Some(shape), 1, Ok(status)) = (shape.chars().next(), shape.len(), status.parse::<u16>()) else {
            continue;
        };
        let spans = body.split('`').skip(1).step_by(2);
        let bodies = spans.filter(|span| span.starts_with('{')).map(str::to_owned).collect();
        rows.insert(shape, Row { status, bodies });
    }
    rows
}

/// The (first) body of `shape`, and its status.
fn shape(letter: char) -> (u16, String) {
    let rows = table();
    let row = rows.get(&letter).unwrap_or_else(|| panic!("no row {letter} in the document"));
    (row.status, row.bodies[0].clone())
}

/// The document's text between the backticks that start with `start`.
fn quoted(start: &str) -> String {
    let at = DOCUMENT.find(&format!("`{start}")).unwrap_or_else(|| panic!("`{start}` is not in the document"));
    let rest = &DOCUMENT[at + 1..];
    rest[..rest.find('`').expect("a closing backtick")].to_owned()
}

/// `body` with the one occurrence of `from` replaced by `to` (the row's word by another).
fn swapped(body: &str, from: &str, to: &str) -> String {
    assert_eq!(body.matches(from).count(), 1, "{from} in {body}");
    body.replacen(from, to, 1)
}

/// What came back: status, Content-Type, Content-Length, body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    content_length: Option<String>,
    body: String,
}

impl Answer {
    /// A JSON answer as a WAHA sends it.
    fn json(status: u16, body: &str) -> Answer {
        let content_length = Some(body.len().to_string());
        Answer { status, content_type: Some(JSON_UTF8.to_owned()), content_length, body: body.to_owned() }
    }

    fn shape(letter: char) -> Answer {
        let (status, body) = shape(letter);
        Answer::json(status, &body)
    }
}

/// A WAHA fake, on the paused clock's terms when the test pauses it.
async fn waha(edition: Edition, session_wait: Duration) -> Api {
    unpooled(FakeConfig { backend: Backend::Waha, edition, session_wait, ..FakeConfig::default() }).await
}

async fn send(api: &Api, method: Method, path: &str, body: Option<&[u8]>) -> Answer {
    let mut request = api.http.request(method, format!("{}{path}", api.server.url()));
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_vec());
    }
    let response = request.send().await.expect("an answer");
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap_or("(not text)").to_owned());
    let (content_type, content_length) = (header("content-type"), header("content-length"));
    let status = response.status().as_u16();
    let body = response.text().await.expect("a body");
    Answer { status, content_type, content_length, body }
}

/// The presence routes of `session`, each with a body it would accept when WORKING.
fn presence_routes(session: &str) -> Vec<(Method, String, Option<&'static [u8]>)> {
    vec![
        (Method::POST, format!("/api/{session}/presence"), Some(&br#"{"presence":"online"}"#[..])),
        (Method::GET, format!("/api/{session}/presence"), None),
        (Method::GET, format!("/api/{session}/presence/{}", enc(ALICE)), None),
        (Method::POST, format!("/api/{session}/presence/{}/subscribe", enc(ALICE)), None),
    ]
}

/// Bodies that break the presence/chat rule, for checks that come before the rules.
const BROKEN_RULE: &[u8] = br#"{"presence":"typing"}"#;
const NOT_JSON: &[u8] = b"{presence: online";

async fn set(api: &Api, body: &[u8]) -> Answer {
    send(api, Method::POST, "/api/default/presence", Some(body)).await
}

// ============================================================================== the document

#[test]
fn the_document_has_the_seven_shapes() {
    let rows = table();
    let statuses: Vec<(char, u16, usize)> = rows.iter().map(|(k, r)| (*k, r.status, r.bodies.len())).collect();
    assert_eq!(
        statuses,
        [('A', 404, 1), ('B', 422, 1), ('C', 422, 1), ('D', 400, 1), ('E', 400, 2), ('F', 422, 1), ('G', 422, 1)]
    );
    for row in rows.values() {
        for body in &row.bodies {
            assert!(serde_json::from_str::<serde_json::Value>(body).is_ok(), "not JSON: {body}");
        }
    }
}

// ============================================================================== A

#[tokio::test]
async fn a_stopped_session_is_a_on_every_route_whatever_the_body() {
    for edition in [Edition::Plus, Edition::Core] {
        let api = waha(edition, Duration::from_secs(600)).await;
        api.server.set_session_status("STOPPED");
        for (method, path, body) in presence_routes("default") {
            let answer = send(&api, method.clone(), &path, body).await;
            assert_eq!(answer, Answer::shape('A'), "{edition} {method} {path}");
        }
        // The session comes before the route's rules and the engine.
        assert_eq!(set(&api, BROKEN_RULE).await, Answer::shape('A'));
        assert_eq!(set(&api, br#"{"presence":"flying","chatId":"x@c.us"}"#).await, Answer::shape('A'));
        assert!(api.server.subscriptions().is_empty() && api.server.own_presence().is_none());

        api.server.set_session_status("WORKING");
        assert_eq!(set(&api, br#"{"presence":"online"}"#).await.status, 201, "{edition}");
    }
}

#[tokio::test]
async fn a_session_plus_does_not_have_is_a_with_its_name() {
    let api = unpooled(FakeConfig { backend: Backend::Waha, session: "work".into(), ..FakeConfig::default() }).await;
    // The document's own row: `default` asked of a server that does not run it.
    for (method, path, body) in presence_routes("default") {
        assert_eq!(send(&api, method, &path, body).await, Answer::shape('A'), "{path}");
    }
    let (status, body) = shape('A');
    let other = swapped(&swapped(&body, "name 'default'", "name 'other'"), "/sessions/default/", "/sessions/other/");
    let answer = send(&api, Method::GET, &format!("/api/other/presence/{}", enc(ALICE)), None).await;
    assert_eq!(answer, Answer::json(status, &other));
    assert_eq!(send(&api, Method::GET, "/api/work/presence", None).await.status, 200);
}

// ============================================================================== B

#[tokio::test(start_paused = true)]
async fn core_answers_b_to_any_other_session_in_any_state_at_once() {
    let api = waha(Edition::Core, Duration::from_secs(5)).await;
    for status in ["WORKING", "STOPPED", "STARTING"] {
        api.server.set_session_status(status);
        for session in ["other", "Default", "default2"] {
            for (method, path, body) in presence_routes(session) {
                let started = Instant::now();
                assert_eq!(send(&api, method, &path, body).await, Answer::shape('B'), "{status} {path}");
                assert_eq!(started.elapsed(), Duration::ZERO, "B comes before any wait");
            }
            let path = format!("/api/{session}/presence");
            assert_eq!(send(&api, Method::POST, &path, Some(BROKEN_RULE)).await, Answer::shape('B'));
        }
    }
    api.server.set_session_status("WORKING");
    assert_eq!(send(&api, Method::GET, "/api/default/presence", None).await.status, 200, "its own works");
}

// ============================================================================== C

#[tokio::test(start_paused = true)]
async fn a_session_not_working_is_c_after_the_wait() {
    for edition in [Edition::Plus, Edition::Core] {
        let api = waha(edition, Duration::from_secs(5)).await;
        let (status, starting) = shape('C');
        for word in ["STARTING", "SCAN_QR_CODE", "FAILED"] {
            api.server.set_session_status(word);
            let expected = Answer::json(status, &swapped(&starting, "\"STARTING\"", &format!("\"{word}\"")));
            for (method, path, body) in presence_routes("default") {
                let started = Instant::now();
                let answer = send(&api, method.clone(), &path, body).await;
                assert_eq!(answer, expected, "{edition} {word} {method} {path}");
                assert_eq!(started.elapsed(), Duration::from_secs(5), "{word} {method} {path}");
            }
            // The session comes before the route's rules.
            assert_eq!(set(&api, BROKEN_RULE).await, expected);
        }
    }
}

#[test]
fn the_wait_is_short_by_default() {
    assert_eq!(FakeConfig::default().session_wait, Duration::from_millis(50));
    assert_eq!(FakeConfig::default().edition, Edition::Plus);
}

#[tokio::test(start_paused = true)]
async fn the_default_wait_is_fifty_milliseconds() {
    let api = unpooled(FakeConfig { backend: Backend::Waha, ..FakeConfig::default() }).await;
    api.server.set_session_status("SCAN_QR_CODE");
    let started = Instant::now();
    assert_eq!(send(&api, Method::GET, "/api/default/presence", None).await.status, 422);
    assert_eq!(started.elapsed(), Duration::from_millis(50));
}

#[tokio::test]
async fn a_session_that_becomes_working_during_the_wait_is_served() {
    let api = waha(Edition::Plus, Duration::from_secs(30)).await;
    api.server.set_presence(ALICE, "online", None, None, 0);
    api.server.set_session_status("STARTING");
    let started = std::time::Instant::now();
    let path = format!("{}/api/default/presence/{}", api.server.url(), enc(ALICE));
    let waiting = tokio::spawn(api.http.get(path).send());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "the request waits for WORKING");
    api.server.set_session_status("WORKING");
    let response = waiting.await.expect("task").expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

// ============================================================================== D

#[tokio::test(start_paused = true)]
async fn a_body_that_is_not_json_is_d_before_anything_else() {
    for edition in [Edition::Plus, Edition::Core] {
        let api = waha(edition, Duration::from_secs(5)).await;
        for status in ["WORKING", "STOPPED", "STARTING", "FAILED"] {
            api.server.set_session_status(status);
            for session in ["default", "other"] {
                let mut paths: Vec<(Method, String)> =
                    presence_routes(session).into_iter().map(|(method, path, _)| (method, path)).collect();
                // Before routing: the parser answers for every path.
                paths.push((Method::POST, "/api/nothing/here".to_owned()));
                paths.push((Method::GET, format!("/api/sessions/{session}")));
                for (method, path) in paths {
                    for body in [NOT_JSON, b"online", b"\"online\"", b"42", b"null"] {
                        let started = Instant::now();
                        let answer = send(&api, method.clone(), &path, Some(body)).await;
                        assert_eq!(answer, Answer::shape('D'), "{edition} {status} {method} {path} {body:?}");
                        assert_eq!(started.elapsed(), Duration::ZERO, "no wait before D");
                    }
                }
            }
        }
        assert!(api.server.subscriptions().is_empty() && api.server.own_presence().is_none());
    }
}

#[tokio::test]
async fn credentials_are_checked_before_the_body() {
    let config = FakeConfig { backend: Backend::Waha, api_key: Some("s3cret".into()), ..FakeConfig::default() };
    let api = Api::start(config).await;
    let unauthorized = send(&api, Method::POST, "/api/default/presence", Some(NOT_JSON)).await;
    assert_eq!(unauthorized.status, 401);
    assert_eq!(unauthorized.content_type.as_deref(), Some(JSON_UTF8));
    let answer = api.request(Method::POST, "/presence").body(NOT_JSON).send().await.expect("an answer");
    assert_eq!(answer.status().as_u16(), 400);
    assert_eq!(answer.text().await.expect("a body"), shape('D').1);
}

// ============================================================================== E

#[tokio::test]
async fn a_broken_presence_rule_is_e() {
    let rows = table();
    let e = &rows[&'E'];
    let (requires, global) = (&e.bodies[0], &e.bodies[1]);
    for edition in [Edition::Plus, Edition::Core] {
        let api = waha(edition, Duration::from_secs(600)).await;
        let cases = [
            (r#"{"presence":"typing"}"#.to_owned(), requires.clone()),
            (r#"{"presence":"typing","chatId":""}"#.to_owned(), requires.clone()),
            (r#"{"presence":"recording","chatId":null}"#.to_owned(), swapped(requires, "'typing'", "'recording'")),
            (r#"{"presence":"paused"}"#.to_owned(), swapped(requires, "'typing'", "'paused'")),
            (format!(r#"{{"presence":"online","chatId":"{ALICE}"}}"#), global.clone()),
            (format!(r#"{{"presence":"offline","chatId":"{ALICE}"}}"#), swapped(global, "'online'", "'offline'")),
            // A word the engine lacks, without a chatId: the rules come before the engine.
            (r#"{"presence":"flying"}"#.to_owned(), swapped(requires, "'typing'", "'flying'")),
        ];
        for (body, expected) in cases {
            assert_eq!(set(&api, body.as_bytes()).await, Answer::json(e.status, &expected), "{edition} {body}");
        }
        assert!(api.server.own_presence().is_none() && api.server.chat_states().is_empty());
    }
}

#[tokio::test]
async fn the_session_comes_before_the_rules() {
    let api = waha(Edition::Core, Duration::from_millis(10)).await;
    let other = send(&api, Method::POST, "/api/other/presence", Some(BROKEN_RULE)).await;
    assert_eq!(other, Answer::shape('B'));
    api.server.set_session_status("STOPPED");
    assert_eq!(set(&api, BROKEN_RULE).await, Answer::shape('A'));
    api.server.set_session_status("SCAN_QR_CODE");
    assert_eq!(set(&api, BROKEN_RULE).await.status, shape('C').0);
    assert!(set(&api, BROKEN_RULE).await.body.contains("\"status\":\"SCAN_QR_CODE\""));
    api.server.set_session_status("WORKING");
    assert_eq!(set(&api, BROKEN_RULE).await, Answer::json(400, &table()[&'E'].bodies[0]));
}

// ============================================================================== F

#[tokio::test]
async fn core_answers_every_subscribe_with_f_and_plus_subscribes() {
    let core = waha(Edition::Core, Duration::from_millis(10)).await;
    let path = format!("/api/default/presence/{}/subscribe", enc(ALICE));
    assert_eq!(send(&core, Method::POST, &path, None).await, Answer::shape('F'));
    assert_eq!(send(&core, Method::POST, &path, Some(b"{}")).await, Answer::shape('F'));
    assert!(core.server.subscriptions().is_empty());
    // Reading a chat still subscribes to it on Core.
    assert_eq!(send(&core, Method::GET, &format!("/api/default/presence/{}", enc(ALICE)), None).await.status, 200);
    assert_eq!(core.server.subscriptions(), [ALICE]);
    // The session and the body come first.
    core.server.set_session_status("STOPPED");
    assert_eq!(send(&core, Method::POST, &path, None).await, Answer::shape('A'));
    assert_eq!(send(&core, Method::POST, &path, Some(NOT_JSON)).await, Answer::shape('D'));
    let other = format!("/api/other/presence/{}/subscribe", enc(ALICE));
    assert_eq!(send(&core, Method::POST, &other, None).await, Answer::shape('B'));

    let plus = waha(Edition::Plus, Duration::from_millis(10)).await;
    let answer = send(&plus, Method::POST, &path, None).await;
    let created = Answer { status: 201, content_type: None, content_length: Some("0".into()), body: String::new() };
    assert_eq!(answer, created);
    assert_eq!(plus.server.subscriptions(), [ALICE]);
}

// ============================================================================== G

#[tokio::test]
async fn a_word_the_engine_lacks_is_g() {
    let (status, flying) = shape('G');
    for edition in [Edition::Plus, Edition::Core] {
        let api = waha(edition, Duration::from_millis(10)).await;
        for word in ["flying", "available", "composing", "ONLINE"] {
            let body = format!(r#"{{"presence":"{word}","chatId":"{ALICE}"}}"#);
            let expected = swapped(&flying, "'flying'", &format!("'{word}'"));
            assert_eq!(set(&api, body.as_bytes()).await, Answer::json(status, &expected), "{edition} {word}");
        }
        assert!(api.server.chat_states().is_empty());
        api.server.set_session_status("STOPPED");
        let body = format!(r#"{{"presence":"flying","chatId":"{ALICE}"}}"#);
        assert_eq!(set(&api, body.as_bytes()).await, Answer::shape('A'), "the session comes first");
    }
}

#[tokio::test]
async fn g_names_the_configured_engine() {
    let config = FakeConfig { backend: Backend::Waha, engine: "WEBJS".into(), ..FakeConfig::default() };
    let api = unpooled(config).await;
    let body = format!(r#"{{"presence":"flying","chatId":"{ALICE}"}}"#);
    let (status, noweb) = shape('G');
    let expected = swapped(&noweb, "NOWEB engine", "WEBJS engine");
    assert_eq!(set(&api, body.as_bytes()).await, Answer::json(status, &expected));
    // WEBJS has no get-all: the engine's error without details, F's body.
    assert_eq!(send(&api, Method::GET, "/api/default/presence", None).await, Answer::shape('F'));
}

// ============================================================================== success

#[tokio::test]
async fn successful_answers_are_as_recorded() {
    for edition in [Edition::Plus, Edition::Core] {
        let api = waha(edition, Duration::from_millis(10)).await;
        let created = Answer { status: 201, content_type: None, content_length: Some("0".into()), body: String::new() };
        assert_eq!(set(&api, br#"{"presence":"online"}"#).await, created, "{edition}");
        let typing = format!(r#"{{"presence":"typing","chatId":"{ALICE}"}}"#);
        assert_eq!(set(&api, typing.as_bytes()).await, created);
        // online with a chatId that JavaScript finds false is accepted, as the server's rule has it.
        assert_eq!(set(&api, br#"{"presence":"offline","chatId":""}"#).await, created);
        assert_eq!(api.server.own_presence().as_deref(), Some("offline"));
        assert_eq!(api.server.chat_states().get(ALICE).map(String::as_str), Some("typing"));

        let first = send(&api, Method::GET, &format!("/api/default/presence/{}", enc(ALICE)), None).await;
        assert_eq!(first, Answer::json(200, &quoted(r#"{"id":"#)), "{edition}");
        let all = send(&api, Method::GET, "/api/default/presence", None).await;
        assert_eq!((all.status, all.content_type.as_deref()), (200, Some(JSON_UTF8)));
        api.server.set_presence(ALICE, "online", None, None, 0);
        let all = send(&api, Method::GET, "/api/default/presence", None).await;
        assert!(all.body.contains(r#""lastSeen":null"#), "{}", all.body);
    }
}

#[tokio::test]
async fn the_session_route_gives_the_status() {
    let api = waha(Edition::Core, Duration::from_millis(10)).await;
    api.server.set_session_status("STOPPED");
    let answer = send(&api, Method::GET, "/api/sessions/default", None).await;
    assert_eq!((answer.status, answer.content_type.as_deref()), (200, Some(JSON_UTF8)));
    let recorded = quoted(r#"{"name":"#);
    let start = recorded.strip_suffix(",...}").expect("the document elides the rest");
    assert!(answer.body.starts_with(start), "{} does not start with {start}", answer.body);
    assert!(serde_json::from_str::<serde_json::Value>(&answer.body).is_ok());

    let unknown = send(&api, Method::GET, "/api/sessions/other", None).await;
    assert_eq!(unknown, Answer::json(404, &quoted(r#"{"statusCode":404,"message":"Session not found""#)));
}

// ============================================================================== the order, as a table

/// edition, session status, method, path ("SESSION" stands for the session), session, body,
/// and the shape that must come back.
type OrderRow<'a> = (Edition, &'a str, Method, &'a str, &'a str, &'a [u8], char);

/// The state a request meets and the request; what the document says comes back.
#[tokio::test(start_paused = true)]
async fn the_checks_come_in_the_servers_order() {
    let flying = format!(r#"{{"presence":"flying","chatId":"{ALICE}"}}"#);
    let subscribe = format!("/api/SESSION/presence/{}/subscribe", enc(ALICE));
    #[rustfmt::skip]
    let table: Vec<OrderRow> = vec![
        // edition, status, method, path, session, body, shape
        (Edition::Core, "STOPPED",  Method::POST, "/api/SESSION/presence", "other",   NOT_JSON,          'D'),
        (Edition::Core, "STARTING", Method::POST, "/api/SESSION/presence", "default", NOT_JSON,          'D'),
        (Edition::Core, "STOPPED",  Method::POST, "/api/SESSION/presence", "other",   BROKEN_RULE,       'B'),
        (Edition::Core, "STARTING", Method::POST, "/api/SESSION/presence", "other",   BROKEN_RULE,       'B'),
        (Edition::Core, "STOPPED",  Method::POST, "/api/SESSION/presence", "default", BROKEN_RULE,       'A'),
        (Edition::Plus, "STOPPED",  Method::POST, "/api/SESSION/presence", "default", flying.as_bytes(), 'A'),
        (Edition::Core, "FAILED",   Method::POST, "/api/SESSION/presence", "default", BROKEN_RULE,       'C'),
        (Edition::Core, "WORKING",  Method::POST, "/api/SESSION/presence", "default", BROKEN_RULE,       'E'),
        (Edition::Core, "WORKING",  Method::POST, "/api/SESSION/presence", "default", flying.as_bytes(), 'G'),
        (Edition::Core, "STARTING", Method::POST, &subscribe,              "default", b"",               'C'),
        (Edition::Core, "WORKING",  Method::POST, &subscribe,              "default", b"",               'F'),
        (Edition::Core, "STOPPED",  Method::POST, &subscribe,              "other",   b"",               'B'),
    ];
    for (edition, status, method, path, session, body, expected) in table {
        let api = waha(edition, Duration::from_secs(5)).await;
        api.server.set_session_status(status);
        let path = path.replace("SESSION", session);
        let answer = send(&api, method, &path, Some(body)).await;
        let (want_status, want_body) = shape(expected);
        let row = format!("{edition} {status} {path} {}", String::from_utf8_lossy(body));
        assert_eq!(answer.status, want_status, "{row}: {}", answer.body);
        let want_body = match expected {
            'C' => swapped(&want_body, "\"STARTING\"", &format!("\"{status}\"")),
            _ => want_body,
        };
        assert_eq!(answer.body, want_body, "{row}");
    }
}
