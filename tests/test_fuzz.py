"""Fuzzing the client with whatever a server could answer: arbitrary bytes, arbitrary JSON,
JSON shaped almost like the API, secrets echoed back, under any status from 100 to 599.

Every call either returns the right type (`get` a ChatPresence, `get_all` a list of them, `set`
None) or raises a WawpError subclass holding no secret; never another exception (a Rust panic,
a RuntimeError, a TypeError), never a hang. One server and one client serve all the examples of
a test; the server is reset between examples.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from presence_helpers import (
    CHAT,
    SECRETS,
    assert_no_secret,
    build_client,
    make_driver,
    secret_of,
    start_server,
    texts_of_exception,
)

from wawp_presence import ChatPresence, WawpError

TIMEOUT = 2.0

# Half the statuses drawn are 2xx. The parser is fuzzed by `cargo test` as well; here, what
# crosses the binding, with each client kind.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ------------------------------------------------------------------------------ strategies

WORDS = ["online", "offline", "available", "unavailable", "composing", "typing", "recording", "paused", "away", ""]
KEYS = [
    "id",
    "chatId",
    "presences",
    "data",
    "participant",
    "from",
    "lastKnownPresence",
    "presence",
    "type",
    "lastSeen",
    "code",
    "error",
    "message",
    "detail",
    "status",
    "expected",
    "statusCode",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from([*WORDS, CHAT, "120363041234567890@g.us", "1700000000", "-1"])
)

json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)

last_seens = (
    st.none()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | json_values
)

participants = st.fixed_dictionaries(
    {},
    optional={
        "participant": st.sampled_from([CHAT, "123456789012345@lid", "x", ""]) | json_values,
        "lastKnownPresence": st.sampled_from(WORDS) | json_values,
        "lastSeen": last_seens,
        "from": st.text(max_size=20),
        "type": st.sampled_from(WORDS),
    },
)

chat_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from([CHAT, "447441429009@s.whatsapp.net", ""]) | json_values,
        "chatId": st.sampled_from([CHAT]) | json_values,
        "presences": st.lists(participants | json_values, max_size=4) | json_values,
        "code": st.sampled_from(["quota_reached", "invalid_session", "rate_limited", "x"]) | json_values,
        "error": json_values,
        "message": json_values,
    },
)

api_like = (
    chat_like
    | st.lists(chat_like, max_size=4)
    | st.fixed_dictionaries({"data": chat_like | st.lists(chat_like, max_size=3)})
)

with_secret = st.builds(lambda a, s, b: a + s + b, st.text(max_size=40), st.sampled_from(SECRETS), st.text(max_size=40))


def to_json_bytes(value) -> bytes:
    return json.dumps(value).encode()


bodies = (
    st.binary(max_size=600)
    | json_values.map(to_json_bytes)
    | api_like.map(to_json_bytes)
    | with_secret.map(str.encode)
    | api_like.map(lambda v: to_json_bytes(v)[: max(0, len(to_json_bytes(v)) // 2)])  # cut short
)

statuses = st.sampled_from([200, 201, 202, 204]) | st.integers(min_value=100, max_value=599)


# ------------------------------------------------------------------------------ fixtures and checks


@pytest.fixture(scope="module")
def fuzz_server():
    server = start_server("wawp")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sync_api(fuzz_server):
    driver = make_driver("sync", lambda cls: build_client(cls, fuzz_server, max_retries=0, timeout=TIMEOUT))
    yield driver
    driver.shutdown()


@pytest.fixture(scope="module")
def waha_server():
    server = start_server("waha")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def async_api(waha_server):
    driver = make_driver("async", lambda cls: build_client(cls, waha_server, max_retries=0, timeout=TIMEOUT))
    yield driver
    driver.shutdown()


OPERATIONS = {
    "get": (lambda api: api.get(CHAT), lambda r: isinstance(r, ChatPresence)),
    "get_all": (
        lambda api: api.get_all(),
        lambda r: isinstance(r, list) and all(isinstance(c, ChatPresence) for c in r),
    ),
    "set": (lambda api: api.set("online"), lambda r: r is None),
}


def serve_and_call(server, api, op: str, status: int, body: bytes) -> None:
    server.reset()
    server.fail_next(status=status, body=body)
    call, right_type = OPERATIONS[op]
    started = time.monotonic()
    try:
        result = call(api)
    except WawpError as exc:
        # The client can hide the secrets it knows: its own, echoed back by the server.
        assert_no_secret(texts_of_exception(exc), (secret_of(server),))
        assert isinstance(exc.message, str)
    else:
        assert right_type(result), f"{op} returned {result!r} for HTTP {status} {body[:200]!r}"
        if isinstance(result, ChatPresence):
            for p in result.presences:
                assert p.last_seen is None or p.last_seen.utcoffset() is not None
    # Never a hang: at most one attempt's timeout, and some slack for a busy machine.
    assert time.monotonic() - started < TIMEOUT + 3


# ------------------------------------------------------------------------------ the fuzz tests


@pytest.mark.parametrize("op", list(OPERATIONS))
@FUZZ
@given(status=statuses, body=bodies)
def test_any_status_and_body(fuzz_server, sync_api, op, status, body):
    serve_and_call(fuzz_server, sync_api, op, status, body)


@pytest.mark.parametrize("op", list(OPERATIONS))
@FUZZ
@given(status=statuses, body=bodies)
def test_any_answer_to_the_async_client(waha_server, async_api, op, status, body):
    serve_and_call(waha_server, async_api, op, status, body)


def test_the_fuzzed_bodies_reach_the_client(fuzz_server, sync_api):
    # Guards the tests above against a fake that would ignore its scripted body.
    fuzz_server.reset()
    fuzz_server.fail_next(
        status=200, body=b'{"id": "%s", "presences": [{"lastKnownPresence": "typing"}]}' % CHAT.encode()
    )
    assert sync_api.get(CHAT).presences[0].last_known_presence == "typing"
