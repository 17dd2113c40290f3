"""Hostile answers: every one ends in a typed WawpError subclass (or, where model.rs documents a
value as tolerated, a normal result), within the deadline. And the fake's scripted faults as the
client sees them.

This is the one place for answers of the wrong shape. Parsing is the core's, the same for both
client kinds and backends (and tabled again by `cargo test`), so these run one way: the sync
client on Wawp. Timeouts of a hung answer are in test_deadlines.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import pytest
from presence_helpers import CHAT, HANG_BOUND_SECONDS
from process_helpers import run_with_deadline
from raw_servers import RawServer, drip, stream_body

from wawp_presence import (
    APIError,
    AsyncPresenceClient,
    ChatPresence,
    PresenceClient,
    PresenceState,
    ProtocolError,
    RequestTimeout,
    ServerError,
    TransportError,
)

MIB = 1024 * 1024
CAP = 8 * MIB


def valid_chat_of_size(size: int) -> bytes:
    """A chat answer the client would accept, padded with an extra field to exactly `size` bytes:
    only the size can make it fail."""
    head = b'{"id": "%s", "presences": [], "pad": "' % CHAT.encode()
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def timed(call):
    # perf_counter: on Windows before Python 3.13, time.monotonic moves in 15.6 ms steps.
    started = time.perf_counter()
    try:
        result = call()
    except Exception as exc:
        return time.perf_counter() - started, exc
    return time.perf_counter() - started, result


# ============================================================================== size


def test_a_body_just_under_the_cap_is_read(api, server):
    server.fail_next(status=200, body=valid_chat_of_size(CAP - 1024))
    assert api.get(CHAT).id == CHAT


@pytest.mark.parametrize("status, cls", [(200, ProtocolError), (503, ProtocolError)], ids=["200", "503"])
def test_a_body_over_8_mib_with_content_length_is_a_protocol_error(api, server, status, cls):
    server.fail_next(status=status, body=valid_chat_of_size(CAP + 1024))
    elapsed, exc = timed(lambda: api.get(CHAT))
    assert isinstance(exc, cls), exc
    assert "8 MiB" in str(exc)
    assert elapsed < HANG_BOUND_SECONDS


PADDED_HEAD, PADDED_TAIL = b'{"id": "%s", "presences": [], "pad": "' % CHAT.encode(), b'"}'


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_a_body_without_content_length_under_the_cap_is_read(framing):
    with RawServer(stream_body(CAP - 1024, framing=framing, head=PADDED_HEAD, tail=PADDED_TAIL)) as raw:
        _, chat = run_get(PresenceClient, raw.url, timeout=20)
    assert isinstance(chat, ChatPresence), chat
    assert chat.id == CHAT


@pytest.mark.parametrize("framing", ["chunked", "close"])
@pytest.mark.parametrize("cls", [PresenceClient, AsyncPresenceClient], ids=["sync", "async"])
def test_a_body_over_8_mib_without_content_length_is_a_protocol_error(framing, cls):
    # 64 MiB of a valid answer: a client without the cap would read it all and succeed.
    with RawServer(stream_body(64 * MIB, framing=framing, head=PADDED_HEAD, tail=PADDED_TAIL)) as raw:
        elapsed, exc = run_get(cls, raw.url, timeout=20)
        assert isinstance(exc, ProtocolError), exc
        assert "8 MiB" in str(exc)
        assert elapsed < HANG_BOUND_SECONDS
        assert len(raw.requests) == 1  # not retried: the next answer would be as large
        assert raw.errors == []


def run_get(cls, url: str, **options):
    options.setdefault("max_retries", 2)
    if cls is PresenceClient:
        client = PresenceClient.waha(url, **options)
        try:
            return timed(lambda: client.get(CHAT))
        finally:
            client.close()

    async def run():
        async with AsyncPresenceClient.waha(url, **options) as client:
            return await client.get(CHAT)

    return timed(lambda: asyncio.run(run()))


# ============================================================================== syntax


NESTED = {
    "lists": "[" * 100_000 + "]" * 100_000,
    "open-lists": "[" * 100_000,
    "objects": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "inside-presences": f'{{"id": "{CHAT}", "presences": ' + "[" * 100_000 + "]" * 100_001 + "}",
}


@pytest.mark.parametrize("body", list(NESTED.values()), ids=list(NESTED))
@pytest.mark.parametrize("op", ["get", "get_all"])
def test_deeply_nested_json_is_a_protocol_error(api, server, body, op):
    server.fail_next(status=200, body=body)
    elapsed, exc = timed(lambda: getattr(api, op)(*([CHAT] if op == "get" else [])))
    assert isinstance(exc, ProtocolError), exc
    assert elapsed < HANG_BOUND_SECONDS


INVALID_UTF8 = {
    "in-a-string": b'{"id": "\xff\xfe", "presences": []}',
    "in-a-participant": (
        b'{"id": "447441429009@c.us", "presences": [{"participant": "\xc3\x28", "lastKnownPresence": "online"}]}'
    ),
    "bare-bytes": b"\xff\xfe\xfd\x00\x80",
    "overlong-encoding": b'{"id": "\xc0\xaf", "presences": []}',
    "surrogate-escape": b'{"id": "\xed\xa0\x80", "presences": []}',
}


@pytest.mark.parametrize("body", list(INVALID_UTF8.values()), ids=list(INVALID_UTF8))
def test_invalid_utf8_is_a_protocol_error(api, server, body):
    server.fail_next(status=200, body=body)
    with pytest.raises(ProtocolError):
        api.get(CHAT)


def test_invalid_utf8_in_an_error_body_is_kept_readable(api, server):
    server.fail_next(status=500, body=b"upstream \xff\xfe failed")
    with pytest.raises(ServerError) as caught:
        api.get(CHAT)
    assert "upstream" in caught.value.body and "failed" in caught.value.body


# ============================================================================== types
#
# model.rs: `presences` must be a list of objects (else ProtocolError); a missing or non-string
# `id` falls back to the chat asked for (get) but is an error in a list (get_all, which has no
# chat to fall back to); `participant` and the presence word that are not strings fall back to
# the chat and UNKNOWN; a `lastSeen` that is not a number or numeric string is "hidden" (None),
# as are zero, negatives and out-of-range values; `presences: null` is "no data yet".


def chat_body(**participant) -> dict:
    return {"id": CHAT, "presences": [participant]}


def one(chat):
    assert isinstance(chat, ChatPresence)
    assert len(chat.presences) == 1
    return chat.presences[0]


GET_CASES = {
    # id: (body, expected: ProtocolError, or a check of the result)
    "presences-an-object": ({"id": 5, "presences": {"a": 1}}, ProtocolError),
    "presences-of-non-objects": ({"id": CHAT, "presences": [1, "x", None]}, ProtocolError),
    "presences-a-string": ({"id": CHAT, "presences": "online"}, ProtocolError),
    "presences-a-number": ({"id": CHAT, "presences": 3}, ProtocolError),
    "no-id-and-no-presences": ({"presence": "online"}, ProtocolError),
    "a-bare-string": ("online", ProtocolError),
    "a-bare-number": (42, ProtocolError),
    "null": (None, ProtocolError),
    "a-list": ([], ProtocolError),
    "unrelated-object": ({"foo": 1}, ProtocolError),
    "id-a-number": ({"id": 5, "presences": []}, lambda c: c.id == CHAT and not c.has_data),
    "presences-null": ({"id": CHAT, "presences": None}, lambda c: not c.has_data),
    "last-seen-a-word": (
        chat_body(participant=CHAT, lastKnownPresence="online", lastSeen="yesterday"),
        lambda c: one(c).last_seen is None and one(c).last_known_presence is PresenceState.ONLINE,
    ),
    "last-seen-a-list": (
        chat_body(participant=CHAT, lastKnownPresence="offline", lastSeen=[1]),
        lambda c: one(c).last_seen is None,
    ),
    "last-seen-negative": (
        chat_body(participant=CHAT, lastKnownPresence="offline", lastSeen=-5),
        lambda c: one(c).last_seen is None,
    ),
    "last-seen-huge": (
        chat_body(participant=CHAT, lastKnownPresence="offline", lastSeen=1e300),
        lambda c: one(c).last_seen is None,
    ),
    # Milliseconds that round to year 10000, beyond what a Python datetime holds.
    "last-seen-past-year-9999": (
        chat_body(participant=CHAT, lastKnownPresence="offline", lastSeen=253402300799999.9999),
        lambda c: one(c).last_seen is None,
    ),
    "last-seen-at-year-9999": (
        chat_body(participant=CHAT, lastKnownPresence="offline", lastSeen=253402300799999),
        lambda c: one(c).last_seen == datetime.fromisoformat("9999-12-31T23:59:59.999+00:00"),
    ),
    "last-seen-numeric-string": (
        chat_body(participant=CHAT, lastKnownPresence="offline", lastSeen="1700000000"),
        lambda c: one(c).last_seen == datetime.fromisoformat("2023-11-14T22:13:20+00:00"),
    ),
    "participant-and-word-not-strings": (
        chat_body(participant=7, lastKnownPresence=5, lastSeen=True),
        lambda c: (
            one(c).participant == CHAT
            and one(c).last_known_presence is PresenceState.UNKNOWN
            and one(c).last_seen is None
        ),
    ),
    "empty-entry": (
        chat_body(),
        lambda c: one(c).participant == CHAT and one(c).last_known_presence is PresenceState.UNKNOWN,
    ),
}


@pytest.mark.parametrize("body, expected", list(GET_CASES.values()), ids=list(GET_CASES))
def test_wrong_types_in_a_chat(api, server, body, expected):
    server.fail_next(status=200, body=json.dumps(body))
    if expected is ProtocolError:
        with pytest.raises(ProtocolError):
            api.get(CHAT)
    else:
        assert expected(api.get(CHAT))


GET_ALL_CASES = {
    "entry-without-an-id": ([{"id": 5, "presences": []}], ProtocolError),
    "entries-not-objects": ([1, "x", None], ProtocolError),
    "an-object": ({"id": CHAT, "presences": []}, ProtocolError),
    "a-string": ("[]", ProtocolError),
    "data-not-a-list": ({"data": {"a": 1}}, ProtocolError),
    "data-a-string": ({"data": "nothing"}, ProtocolError),
    "empty": ([], lambda chats: chats == []),
    "wrapped": ({"data": [{"id": CHAT, "presences": []}]}, lambda chats: [c.id for c in chats] == [CHAT]),
    "chat-id-key": ([{"chatId": CHAT, "presences": None}], lambda chats: [c.id for c in chats] == [CHAT]),
}


@pytest.mark.parametrize("body, expected", list(GET_ALL_CASES.values()), ids=list(GET_ALL_CASES))
def test_wrong_types_in_a_list(api, server, body, expected):
    server.fail_next(status=200, body=json.dumps(body))
    if expected is ProtocolError:
        with pytest.raises(ProtocolError):
            api.get_all()
    else:
        assert expected(api.get_all())


NOT_JSON = {
    "html-page": "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>",
    "truncated-json": '{"id": "447441429009@c.us", "presences": [',
    "text": "not json",
    "empty": "",
}
READS = {
    "get": ("GET", lambda api: api.get(CHAT)),
    "get_all": ("GET", lambda api: api.get_all()),
    "get_many": ("GET", lambda api: api.get_many([CHAT])),
}


@pytest.mark.parametrize("body", list(NOT_JSON.values()), ids=list(NOT_JSON))
@pytest.mark.parametrize("op", list(READS))
def test_a_2xx_that_is_not_json_is_a_protocol_error(api, server, op, body):
    method, call = READS[op]
    server.fail_next(status=200, body=body, headers={"Content-Type": "text/html"})
    with pytest.raises(ProtocolError) as caught:
        call(api)
    assert not isinstance(caught.value, APIError)
    assert (caught.value.status_code, caught.value.method) == (200, method)


# ============================================================================== slow bodies


def test_a_head_that_trickles_in_times_out_in_asyncio():
    # One byte every 0.1 s, forever: each read makes progress, but the attempt as a whole has
    # `timeout` seconds. (A trickling body, with the sync client, is a row of the fault table.)
    with RawServer(drip(interval=0.1, where="head")) as raw:
        elapsed, exc = run_with_deadline(
            lambda: run_get(AsyncPresenceClient, raw.url, timeout=0.5, max_retries=0)[1], 10, raw.stop
        )
        assert isinstance(exc, RequestTimeout), exc
        assert 0.45 <= elapsed < HANG_BOUND_SECONDS
        assert raw.errors == []


# ============================================================================== the fake's faults, seen by the client


def test_fail_next_status_with_body_and_headers(api, server):
    server.fail_next(
        status=503, body={"message": "maintenance until noon"}, headers={"Retry-After": "7", "X-Request-Id": "r-1"}
    )
    with pytest.raises(ServerError) as caught:
        api.get(CHAT)
    exc = caught.value
    assert exc.status_code == 503
    assert exc.message == "maintenance until noon"
    assert "maintenance until noon" in exc.body
    assert exc.retry_after == pytest.approx(7.0)  # a header the client reads


def test_fail_next_status_of_no_known_kind(api, server):
    server.fail_next(status=418, body="short and stout", headers={"Content-Type": "text/plain"})
    with pytest.raises(APIError) as caught:
        api.get(CHAT)
    assert type(caught.value) is APIError
    assert caught.value.status_code == 418
    assert caught.value.body == "short and stout"


def test_fail_next_delay(api, server):
    server.set_presence(CHAT, "recording")
    server.fail_next(delay=0.15)
    elapsed, chat = timed(lambda: api.get(CHAT))
    assert one(chat).last_known_presence is PresenceState.RECORDING
    assert elapsed >= 0.14
    server.fail_next(status=200, body={"id": CHAT, "presences": []}, delay=0.15)
    elapsed, chat = timed(lambda: api.get(CHAT))
    assert not chat.has_data
    assert elapsed >= 0.14


def test_fail_next_drop(api, server):
    server.fail_next(drop=True)
    with pytest.raises(TransportError) as caught:
        api.get(CHAT)
    assert caught.value.status_code is None
    assert len(server.requests) == 1  # it reached the server, which closed without a word


def test_fail_next_malformed(api, server):
    server.fail_next(malformed=True)
    with pytest.raises(ProtocolError) as caught:
        api.get(CHAT)
    assert caught.value.status_code == 200
    assert caught.value.body.lstrip().lower().startswith("<!doctype html")


def test_fail_next_times(api, server):
    server.set_presence(CHAT, "online")
    server.fail_next(status=500, times=2)
    for _ in range(2):
        with pytest.raises(ServerError):
            api.get(CHAT)
    assert api.get(CHAT).is_online
