"""Every row of waha-real-answers.md (what a real WAHA answers on the presence routes, shapes A
to G), replayed against the fake in the matching state.

First over plain HTTP (urllib): the fake's status, body bytes and Content-Type must be the
document's. Then through the client, sync and async, built with ``.waha(...)`` and the default
``max_retries``: the error class, its message, ``status_code`` and ``attempts`` (no 4xx is
retried). The bodies are read from the repository's copy of the document
(tests/contract/waha-real-answers.md), never retyped; a state without a row of its own (another
status word, another presence word) expects the row's body with that word swapped.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from presence_helpers import CHAT, contract_copy

from wawp_presence import (
    BadRequestError,
    NotFoundError,
    NotSupportedError,
    SessionNotReadyError,
    WawpError,
)
from wawp_presence.testing import FakeServer

DOCUMENT = contract_copy("waha-real-answers.md").read_text(encoding="utf-8")
JSON_UTF8 = "application/json; charset=utf-8"
NOT_READY = ("STARTING", "SCAN_QR_CODE", "FAILED")


def read_table() -> dict[str, tuple[int, list[str]]]:
    """{shape: (status, bodies)}: the code spans of the body column that are JSON objects."""
    rows = {}
    for line in DOCUMENT.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) != 6:
            continue
        _, shape, _when, status, body, _ = cells
        if len(shape) != 1 or not status.isdigit():
            continue
        rows[shape] = (int(status), [span for span in body.split("`")[1::2] if span.startswith("{")])
    return rows


TABLE = read_table()


def body_of(shape: str, index: int = 0) -> str:
    return TABLE[shape][1][index]


def swapped(body: str, old: str, new: str) -> str:
    assert body.count(old) == 1, (old, body)
    return body.replace(old, new)


def not_ready_body(status: str) -> str:
    return swapped(body_of("C"), '"STARTING"', f'"{status}"')


def test_the_document_has_the_seven_shapes():
    shapes = {shape: (status, len(bodies)) for shape, (status, bodies) in TABLE.items()}
    assert shapes == {
        "A": (404, 1),
        "B": (422, 1),
        "C": (422, 1),
        "D": (400, 1),
        "E": (400, 2),
        "F": (422, 1),
        "G": (422, 1),
    }
    for _, bodies in TABLE.values():
        for body in bodies:
            assert isinstance(json.loads(body), dict)


# ============================================================================== the fake, over HTTP


def http(server: FakeServer, method: str, path: str, body: bytes | None = None) -> tuple[int, dict, bytes]:
    """(status, lowercase headers, body bytes) of one request, sent with the standard library."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(server.url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


ENCODED_CHAT = urllib.request.quote(CHAT, safe="")
SET = "/api/default/presence"
GET_ALL = "/api/default/presence"
GET_CHAT = f"/api/default/presence/{ENCODED_CHAT}"
SUBSCRIBE = f"/api/default/presence/{ENCODED_CHAT}/subscribe"
TYPING = b'{"presence":"typing"}'
ONLINE_IN_CHAT = json.dumps({"presence": "online", "chatId": CHAT}).encode()
FLYING = json.dumps({"presence": "flying", "chatId": CHAT}).encode()
CORE = {"edition": "core"}

# name: (server options, session status, method, path, body, shape, expected body)
ROWS: dict[str, tuple[dict[str, Any], str, str, str, bytes | None, str, str]] = {
    "A stopped": ({}, "STOPPED", "GET", GET_CHAT, None, "A", body_of("A")),
    "A never started": ({"session": "work"}, "WORKING", "GET", GET_CHAT, None, "A", body_of("A")),
    "B": (CORE, "WORKING", "GET", GET_CHAT.replace("/default/", "/other/"), None, "B", body_of("B")),
    **{f"C {status}": ({}, status, "GET", GET_ALL, None, "C", not_ready_body(status)) for status in NOT_READY},
    "D": ({}, "WORKING", "POST", SET, b"{presence: online", "D", body_of("D")),
    "E typing": ({}, "WORKING", "POST", SET, TYPING, "E", body_of("E", 0)),
    "E online": ({}, "WORKING", "POST", SET, ONLINE_IN_CHAT, "E", body_of("E", 1)),
    "F": (CORE, "WORKING", "POST", SUBSCRIBE, None, "F", body_of("F")),
    "G": (CORE, "WORKING", "POST", SET, FLYING, "G", body_of("G")),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_the_fake_answers_each_row_byte_for_byte(make_server, name):
    options, status, method, path, body, shape, expected = ROWS[name]
    server = make_server("waha", api_key=None, session_wait=0.3, **options)
    server.set_session_status(status)
    # perf_counter: on Windows before Python 3.13, time.monotonic moves in 15.6 ms steps.
    started = time.perf_counter()
    code, headers, answer = http(server, method, path, body)
    took = time.perf_counter() - started
    assert code == TABLE[shape][0]
    assert answer == expected.encode()
    assert headers["content-type"] == JSON_UTF8
    assert headers["content-length"] == str(len(answer))
    if shape == "C":
        assert took >= 0.3, "C comes after the session wait"


@pytest.mark.parametrize("status", ["STOPPED", *NOT_READY])
def test_while_the_session_is_not_working_every_well_formed_request_gets_a_or_c(make_server, status):
    server = make_server("waha", api_key=None, session_wait=0.05)
    server.set_session_status(status)
    expected = body_of("A") if status == "STOPPED" else not_ready_body(status)
    requests = [
        ("POST", SET, TYPING),  # a broken rule: the session comes first
        ("POST", SET, FLYING),  # a word the engine lacks: so does it
        ("GET", GET_ALL, None),
        ("GET", GET_CHAT, None),
        ("POST", SUBSCRIBE, None),
    ]
    for method, path, body in requests:
        code, _, answer = http(server, method, path, body)
        assert (code, answer.decode()) == (404 if status == "STOPPED" else 422, expected), (method, path)
    assert server.own_presence is None and server.subscriptions == []


@pytest.mark.parametrize("edition", ["plus", "core"])
def test_a_body_that_is_not_json_is_d_whatever_the_session(make_server, edition):
    server = make_server("waha", api_key=None, edition=edition, session_wait=5.0)
    for status in ("WORKING", "STOPPED", "STARTING"):
        server.set_session_status(status)
        for session in ("default", "other"):
            started = time.monotonic()
            code, _, answer = http(server, "POST", SET.replace("default", session), b"{presence: online")
            assert (code, answer.decode()) == (400, body_of("D")), (status, session)
            assert time.monotonic() - started < 4.0, "D comes before the session's wait"


def test_the_other_words_follow_the_rows_wording(make_server):
    server = make_server("waha", api_key=None, edition="core")
    cases = [
        ({"presence": "recording"}, swapped(body_of("E", 0), "'typing'", "'recording'")),
        ({"presence": "paused"}, swapped(body_of("E", 0), "'typing'", "'paused'")),
        ({"presence": "offline", "chatId": CHAT}, swapped(body_of("E", 1), "'online'", "'offline'")),
        ({"presence": "composing", "chatId": CHAT}, swapped(body_of("G"), "'flying'", "'composing'")),
    ]
    for request, expected in cases:
        code, _, answer = http(server, "POST", SET, json.dumps(request).encode())
        assert answer.decode() == expected, request
        assert code == (422 if "composing" in expected else 400)


def test_plus_subscribes_with_an_empty_201(make_server):
    server = make_server("waha", api_key=None)
    code, headers, answer = http(server, "POST", SUBSCRIBE)
    assert (code, answer, headers.get("content-length")) == (201, b"", "0")
    assert server.subscriptions == [CHAT]


# ============================================================================== through the client

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@pytest.fixture
def waha_api(make_api, make_server):
    """connect(session=..., **server options) -> (client driver, server): a `.waha(...)` client
    of the current kind for `session`, with the default max_retries, and the fake it talks to
    (whose own session is `server_session`)."""

    def connect(session: str = "default", *, server_session: str = "default", **options: Any):
        server = make_server("waha", api_key=None, session=server_session, **options)
        driver = make_api(factory=lambda cls: cls.waha(server.url, session=session))
        return driver, server

    return connect


def failure(call, expected: type[BaseException]) -> BaseException:
    with pytest.raises(expected) as caught:
        call()
    return caught.value


def assert_one_attempt(exc: WawpError, server: FakeServer, status: int) -> None:
    assert exc.status_code == status
    assert exc.attempts == 1, "a 4xx is never retried"
    assert len(server.requests) == 1


OPERATIONS = {
    "get": lambda api: api.get(CHAT),
    "set": lambda api: api.set("online"),
    "get_all": lambda api: api.get_all(),
    "subscribe": lambda api: api.subscribe(CHAT),
}


@MODES
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_a_stopped_session_is_not_found_and_keeps_the_servers_hint(waha_api, op):
    api, server = waha_api()
    server.set_session_status("STOPPED")
    exc = failure(lambda: OPERATIONS[op](api), NotFoundError)
    assert_one_attempt(exc, server, 404)
    assert "Please start it first" in exc.message, exc.message
    assert "We didn't find a session with name 'default'" in exc.message, exc.message


@MODES
def test_a_session_that_was_never_started_is_not_found(waha_api):
    api, server = waha_api(session="default", server_session="work")
    exc = failure(lambda: api.get(CHAT), NotFoundError)
    assert_one_attempt(exc, server, 404)
    assert "Please start it first" in exc.message, exc.message


@MODES
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_core_with_another_session_is_not_supported(waha_api, op):
    api, server = waha_api(session="other", edition="core")
    exc = failure(lambda: OPERATIONS[op](api), NotSupportedError)
    assert_one_attempt(exc, server, 422)
    assert not isinstance(exc, SessionNotReadyError)
    assert "WAHA Core support only 'default' session" in exc.message, exc.message


@MODES
@pytest.mark.parametrize("status", NOT_READY)
def test_a_session_not_working_is_not_ready_and_says_so(waha_api, status):
    api, server = waha_api(session_wait=0.05)
    server.set_session_status(status)
    exc = failure(lambda: api.get(CHAT), SessionNotReadyError)
    assert_one_attempt(exc, server, 422)
    assert exc.session_status == status
    assert status in exc.message and "WORKING" in exc.message, exc.message


@MODES
def test_a_body_the_server_cannot_parse_is_a_bad_request(waha_api):
    # The client always sends JSON, so the fake cannot be made to parse a broken body of the
    # client's: D's recorded answer is scripted instead, status and bytes as the document has them.
    api, server = waha_api()
    server.fail_next(status=TABLE["D"][0], body=body_of("D").encode())
    exc = failure(lambda: api.set("online"), BadRequestError)
    assert_one_attempt(exc, server, 400)
    assert exc.message == json.loads(body_of("D"))["message"]


@MODES
@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("typing",), {}),
        (("recording",), {}),
        (("paused",), {}),
        (("online",), {"chat_id": CHAT}),
        (("offline",), {"chat_id": CHAT}),
    ],
    ids=["typing", "recording", "paused", "online+chat", "offline+chat"],
)
def test_a_broken_rule_is_refused_before_any_request(waha_api, args, kwargs):
    api, server = waha_api()
    failure(lambda: api.set(*args, **kwargs), ValueError)
    assert server.requests == []


@MODES
def test_subscribe_on_core_is_not_supported(waha_api):
    api, server = waha_api(edition="core")
    exc = failure(lambda: api.subscribe(CHAT), NotSupportedError)
    assert_one_attempt(exc, server, 422)
    assert exc.message.startswith("The method is not implemented by the engine"), exc.message
    assert server.subscriptions == []


@MODES
@pytest.mark.parametrize("word", ["flying", "available", "composing"])
def test_a_word_the_engine_lacks_is_refused_before_any_request(waha_api, word):
    api, server = waha_api(edition="core")
    failure(lambda: api.set(word, chat_id=CHAT), ValueError)
    assert server.requests == []


@MODES
def test_core_serves_its_own_session(waha_api):
    api, server = waha_api(edition="core")
    api.set("online")
    api.set("typing", chat_id=CHAT)
    assert api.get(CHAT).has_data is False
    assert server.own_presence == "online" and server.chat_states == {CHAT: "typing"}
