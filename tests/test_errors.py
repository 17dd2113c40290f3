"""Errors: the hierarchy, and every failure of wire.md mapped to its class with its attributes.

All through the fake with the sync client (the async client's mapping is the same code, checked
by test_client.py's parity test), on both backends where their error bodies differ, with
max_retries=0 so a scripted fault is seen exactly once. Answers of the wrong shape are in
test_hostile_answers.py, timeouts in test_deadlines.py.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from presence_helpers import BOTH_BACKENDS, CHAT, route, start_server

import wawp_presence
from wawp_presence import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    InvalidChatIdError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    SessionNotReadyError,
    TransportError,
    WawpError,
)

# ============================================================================== hierarchy

HIERARCHY = [
    (WawpError, (Exception,)),
    (TransportError, (WawpError, ConnectionError)),
    (RequestTimeout, (WawpError, TimeoutError)),
    (ProtocolError, (WawpError,)),
    (APIError, (WawpError,)),
    (BadRequestError, (APIError, ValueError)),
    (AuthenticationError, (APIError,)),
    (PermissionDeniedError, (APIError,)),
    (NotFoundError, (APIError,)),
    (SessionNotReadyError, (APIError,)),
    (NotSupportedError, (APIError,)),
    (RateLimitError, (APIError,)),
    (ServerError, (APIError,)),
    (InvalidChatIdError, (WawpError, ValueError)),
    (ConfigurationError, (WawpError, ValueError)),
    (ClientClosedError, (WawpError, RuntimeError)),
]


@pytest.mark.parametrize("cls, bases", HIERARCHY, ids=[c.__name__ for c, _ in HIERARCHY])
def test_hierarchy(cls, bases):
    for base in bases:
        assert issubclass(cls, base), f"{cls.__name__} should derive from {base.__name__}"
    assert issubclass(cls, WawpError)
    assert getattr(wawp_presence, cls.__name__) is cls


def test_sibling_api_errors_are_distinct():
    api_classes = [c for c, bases in HIERARCHY if APIError in bases]
    for a in api_classes:
        for b in api_classes:
            if a is not b:
                assert not issubclass(a, b)
    assert not issubclass(ProtocolError, APIError)
    assert not issubclass(TransportError, APIError)
    assert not issubclass(RequestTimeout, APIError)


# ============================================================================== helpers


def run_typing(api):
    with api.typing(CHAT):
        pass


# name -> (call, HTTP method, route op of the first request)
OPERATIONS = {
    "get": (lambda api: api.get(CHAT), "GET", "get"),
    "set-online": (lambda api: api.set("online"), "POST", "set"),
    "set-typing": (lambda api: api.set("typing", chat_id=CHAT), "POST", "set"),
    "subscribe": (lambda api: api.subscribe(CHAT), "POST", "subscribe"),
    "get_all": (lambda api: api.get_all(), "GET", "get_all"),
    "get_many": (lambda api: api.get_many([CHAT]), "GET", "get"),
    "typing": (run_typing, "POST", "typing"),
}


def expected_path(server, op: str) -> str:
    if op == "typing":
        return route(server, "start_typing") if server.backend == "wawp" else route(server, "set")
    return route(server, op, CHAT)


def raised(call, api, expected):
    with pytest.raises(expected) as caught:
        call(api)
    return caught.value


def assert_common_attributes(exc, server, *, status, method, path):
    assert exc.status_code == status
    assert exc.method == method
    assert isinstance(exc.url, str)
    assert path in unquote(exc.url)
    assert "127.0.0.1" in exc.url
    assert isinstance(exc.message, str) and exc.message
    assert exc.body is None or isinstance(exc.body, str)
    if isinstance(exc, APIError):
        assert exc.attempts == 1


# ============================================================================== the status table

STATUS_CASES = [
    # id, status, body, fail_next extras, class, fragments of the message (any one)
    ("400-waha", 400, {"detail": "chatId is not valid"}, {}, BadRequestError, ("chatId is not valid",)),
    (
        "400-wawp",
        400,
        {"status": 400, "message": "Invalid presence value", "error": "Bad Request"},
        {},
        BadRequestError,
        ("Invalid presence value",),
    ),
    ("401", 401, {"message": "Unauthorized", "statusCode": 401}, {}, AuthenticationError, ("Unauthorized",)),
    ("403-quota", 403, {"code": "quota_reached"}, {}, PermissionDeniedError, ("quota_reached",)),
    (
        "403-subscription",
        403,
        {"code": "subscription_required", "message": "A paid plan is required"},
        {},
        PermissionDeniedError,
        ("A paid plan is required", "subscription_required"),
    ),
    (
        "404-session",
        404,
        {"message": "We didn't find a session with name 'default'.", "statusCode": 404},
        {},
        NotFoundError,
        ("We didn't find a session",),
    ),
    (
        "404-invalid-session",
        404,
        {"code": "invalid_session", "message": "Instance is not valid"},
        {},
        NotFoundError,
        ("Instance is not valid", "invalid_session"),
    ),
    (
        "422-not-working",
        422,
        {
            "error": "Session status is not as expected. Try again later or restart the session",
            "session": "default",
            "status": "SCAN_QR_CODE",
            "expected": ["WORKING"],
        },
        {},
        SessionNotReadyError,
        # The message names the status and the one expected; the server's words stay in .body.
        ("'default' is SCAN_QR_CODE, not WORKING", "Session status is not as expected"),
    ),
    (
        "422-not-implemented",
        422,
        {"message": "The method is not implemented by the engine NOWEB", "statusCode": 422},
        {},
        NotSupportedError,
        ("not implemented",),
    ),
    (
        "429",
        429,
        {"message": "Too Many Requests", "statusCode": 429},
        {"retry_after": 7},
        RateLimitError,
        ("Too Many Requests",),
    ),
    ("500", 500, {"message": "Internal server error", "statusCode": 500}, {}, ServerError, ("Internal server error",)),
    (
        "502-html",
        502,
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        {"headers": {"Content-Type": "text/html"}},
        ServerError,
        None,
    ),
    ("503-text", 503, "upstream unavailable", {"headers": {"Content-Type": "text/plain"}}, ServerError, None),
]


@BOTH_BACKENDS
@pytest.mark.parametrize(
    "status, body, extras, cls, fragments",
    [case[1:] for case in STATUS_CASES],
    ids=[case[0] for case in STATUS_CASES],
)
def test_status_maps_to_its_class(api, server, status, body, extras, cls, fragments):
    server.fail_next(status=status, body=body, **extras)
    exc = raised(lambda a: a.get(CHAT), api, cls)
    assert_common_attributes(exc, server, status=status, method="GET", path=route(server, "get", CHAT))
    if fragments:
        assert any(f in exc.message for f in fragments), exc.message
        assert any(f in exc.body for f in fragments), exc.body
    if isinstance(body, str):
        assert body[:20] in exc.body
    if status == 429:
        assert exc.retry_after == pytest.approx(7.0)
    else:
        assert exc.retry_after is None
    if status == 422 and cls is SessionNotReadyError:
        assert exc.session_status == "SCAN_QR_CODE"


def test_long_bodies_are_cut(api, server):
    server.fail_next(status=500, body="x" * 20_000)
    exc = raised(lambda a: a.get(CHAT), api, ServerError)
    assert exc.body is not None
    assert 0 < len(exc.body) < 2_000


@BOTH_BACKENDS
@pytest.mark.parametrize("op", list(OPERATIONS), ids=list(OPERATIONS))
def test_every_operation_reports_a_404(api, server, op):
    call, method, route_op = OPERATIONS[op]
    server.fail_next(status=404, body={"message": "We didn't find a session with name 'default'.", "statusCode": 404})
    exc = raised(call, api, NotFoundError)
    assert_common_attributes(exc, server, status=404, method=method, path=expected_path(server, route_op))


PRESENCE_OPERATIONS = [op for op in OPERATIONS if op != "typing"]  # Wawp's typing route is not a presence route


@pytest.mark.parametrize("op", PRESENCE_OPERATIONS)
def test_a_session_that_is_not_working(api, server, op):
    call, method, _ = OPERATIONS[op]
    server.set_session_status("SCAN_QR_CODE")
    exc = raised(call, api, SessionNotReadyError)
    assert exc.status_code == 422
    assert exc.session_status == "SCAN_QR_CODE"
    assert exc.method == method


@BOTH_BACKENDS
def test_get_all_on_an_engine_without_it(make_api, make_server, backend):
    api = make_api(make_server(backend, engine="WEBJS"))
    exc = raised(lambda a: a.get_all(), api, NotSupportedError)
    assert exc.status_code == 422
    assert not isinstance(exc, SessionNotReadyError)
    assert exc.method == "GET"


def test_a_scripted_fault_is_used_once(api, server):
    server.set_presence(CHAT, "online")
    server.fail_next(status=500, body="oops")
    raised(lambda a: a.get(CHAT), api, ServerError)
    assert api.get(CHAT).has_data


# ============================================================================== 2xx error bodies


ERROR_BODY_OPERATIONS = ["get", "set-online", "set-typing", "subscribe", "get_all"]


@pytest.mark.parametrize("op", ERROR_BODY_OPERATIONS)
@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"code": "instance_not_found", "message": "Instance not found"}, "Instance not found"),
        ({"error": "Something went wrong upstream"}, "Something went wrong upstream"),
    ],
    ids=["code-message", "error"],
)
def test_a_2xx_error_body_is_an_api_error(api, server, op, body, fragment):
    call, method, _ = OPERATIONS[op]
    server.fail_next(status=200, body=body)
    exc = raised(call, api, APIError)
    assert fragment in exc.message
    assert exc.method == method
    assert not isinstance(exc, ProtocolError)


# ============================================================================== transport


@pytest.mark.parametrize("op", ["get", "set-online", "subscribe"])
def test_a_dropped_connection_is_a_transport_error(api, server, op):
    call, method, _ = OPERATIONS[op]
    server.fail_next(drop=True)
    exc = raised(call, api, TransportError)
    assert isinstance(exc, ConnectionError)
    assert exc.status_code is None
    assert exc.method == method


@BOTH_BACKENDS
def test_nothing_listening_is_a_transport_error(make_api, backend):
    with start_server(backend) as gone:
        pass  # stopped: nothing listens on its port any more
    api = make_api(gone)
    exc = raised(lambda a: a.get(CHAT), api, TransportError)
    assert isinstance(exc, ConnectionError)
    assert exc.status_code is None
