"""Retries: what is retried (connection failures, timeouts, 429, 5xx), how often (`max_retries`,
counted at the server), how long between attempts (exponential backoff, `Retry-After` in both
forms), what is never retried, and what the final error says. Plus client-wide pacing
(`rate_limit`).

The backoff starts at 0.25 s and doubles, with jitter that only adds (up to as much again), so
the waits before retries 1, 2, 3 are at least 0.25, 0.5 and 1 s.
"""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time

import pytest

from presence_helpers import CHAT, CHAT2, build_client, start_server
from process_helpers import run_with_deadline
from raw_servers import RawServer, answer
from wawp_presence import (
    APIError,
    AsyncPresenceClient,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    PresenceClient,
    ProtocolError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    SessionNotReadyError,
    TransportError,
)

RETRYABLE_STATUSES = {429: RateLimitError, 500: ServerError, 502: ServerError, 503: ServerError, 504: ServerError}

NEVER_RETRIED = [
    (400, {"detail": "chatId is not valid"}, BadRequestError),
    (401, {"message": "Unauthorized", "statusCode": 401}, AuthenticationError),
    (403, {"code": "quota_reached", "message": "Quota reached"}, PermissionDeniedError),
    (404, {"message": "We didn't find a session with name 'default'.", "statusCode": 404}, NotFoundError),
    (
        422,
        {"error": "Session status is not as expected", "status": "STARTING", "expected": ["WORKING"]},
        SessionNotReadyError,
    ),
]


def attempts_said(exc, n: int) -> None:
    """The error counts the requests made, as an attribute and in its text."""
    assert exc.attempts == n
    if n > 1:
        assert f"after {n} attempts" in str(exc)
    else:
        assert "attempts" not in str(exc)


# Both client kinds and both backends, without running every slow test four ways: the retry
# logic is one implementation in the core, and these two ways cover every binding path.
TWO_WAYS = pytest.mark.parametrize("mode, backend", [("sync", "wawp"), ("async", "waha")], ids=["sync-wawp", "async-waha"])


def gets(server) -> int:
    return sum(1 for r in server.requests if r["method"] == "GET")


# ============================================================================== what is retried


@pytest.mark.parametrize(
    "status, mode, backend",
    [(429, "sync", "wawp"), (500, "async", "waha"), (503, "sync", "waha")],
)
def test_429_and_5xx_are_retried(make_api, server, status):
    api = make_api(server, max_retries=1)
    server.fail_next(status=status, times=10)
    with pytest.raises(RETRYABLE_STATUSES[status]) as caught:
        api.get(CHAT)
    assert len(server.requests) == 2
    attempts_said(caught.value, 2)
    assert caught.value.status_code == status


@pytest.mark.parametrize("max_retries, mode, backend", [(0, "async", "waha"), (2, "sync", "wawp")])
def test_max_retries_is_the_number_of_extra_requests(make_api, server, max_retries):
    api = make_api(server, max_retries=max_retries)
    server.fail_next(status=503, times=10)
    with pytest.raises(ServerError) as caught:
        api.get(CHAT)
    assert len(server.requests) == max_retries + 1
    attempts_said(caught.value, max_retries + 1)


@pytest.mark.parametrize("mode, backend", [("async", "waha")])
def test_a_retry_that_succeeds_returns_the_answer(make_api, server):
    api = make_api(server, max_retries=2)
    server.set_presence(CHAT, "online")
    server.fail_next(status=503, times=1)
    server.fail_next(status=429, times=1)
    chat = api.get(CHAT)
    assert chat.is_online
    assert gets(server) == 3


@TWO_WAYS
def test_dropped_connections_are_retried(make_api, server):
    api = make_api(server, max_retries=1)
    server.fail_next(drop=True, times=10)
    with pytest.raises(TransportError) as caught:
        api.set("online")
    assert len(server.requests) == 2
    attempts_said(caught.value, 2)
    server.reset()
    server.fail_next(drop=True, times=1)
    api.set("online")
    assert len(server.requests) == 2
    assert server.own_presence == "online"


@TWO_WAYS
def test_refused_connections_are_retried(make_api, backend):
    with start_server(backend) as gone:
        pass  # stopped: its port now refuses connections
    api = make_api(gone, max_retries=1)
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        api.get(CHAT)
    # Nothing counts requests on a closed port; the error does, and the backoff took its time.
    attempts_said(caught.value, 2)
    assert time.monotonic() - started >= 0.22


@pytest.mark.parametrize("mode, backend", [("async", "waha")])  # sync: test_deadlines.py
def test_timeouts_are_retried(make_api, server):
    api = make_api(server, max_retries=1, timeout=0.3)
    server.fail_next(hang=True, times=10)
    _, exc = run_with_deadline(api.get_all, 10, server.stop)
    assert isinstance(exc, RequestTimeout), exc
    assert len(server.requests) == 2
    attempts_said(exc, 2)
    server.reset()
    server.set_presence(CHAT, "offline")
    server.fail_next(hang=True, times=1)
    assert api.get(CHAT).presences[0].last_known_presence == "offline"
    assert gets(server) == 2


# ============================================================================== what is never retried


@TWO_WAYS
@pytest.mark.parametrize(
    "status, body, cls", NEVER_RETRIED, ids=[str(status) for status, _, _ in NEVER_RETRIED]
)
def test_client_errors_are_never_retried(make_api, server, status, body, cls):
    api = make_api(server, max_retries=3)
    server.fail_next(status=status, body=body, times=10)
    with pytest.raises(cls) as caught:
        api.get(CHAT)
    assert len(server.requests) == 1
    attempts_said(caught.value, 1)


@pytest.mark.parametrize(
    "fault, cls",
    [
        (dict(status=200, body={"code": "instance_not_found", "message": "Instance not found"}), APIError),
        (dict(status=200, body="<html>sign in</html>"), ProtocolError),
        (dict(malformed=True), ProtocolError),
        (dict(status=422, body={"message": "The method is not implemented by the engine", "statusCode": 422}), APIError),
    ],
    ids=["2xx-error-body", "2xx-html", "malformed", "422-not-implemented"],
)
def test_answers_that_will_not_change_are_never_retried(make_api, make_server, fault, cls):
    server = make_server("wawp")
    api = make_api(server, max_retries=3)
    server.fail_next(times=10, **fault)
    with pytest.raises(cls) as caught:
        api.get(CHAT)
    assert len(server.requests) == 1
    attempts_said(caught.value, 1)


# ============================================================================== how long between attempts


def test_backoff_grows_exponentially():
    # Arrival times at the server of the first request and 3 retries, all answered 503.
    with RawServer(answer(503, b'{"message": "down"}')) as raw:
        client = PresenceClient.waha(raw.url, max_retries=3, timeout=5)
        try:
            with pytest.raises(ServerError) as caught:
                client.get(CHAT)
        finally:
            client.close()
        arrivals = list(raw.arrivals)
    assert len(arrivals) == 4
    attempts_said(caught.value, 4)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    # Each pause at least its floor (0.25, 0.5, 1 s); none of them absurdly long.
    for gap, floor in zip(gaps, (0.25, 0.5, 1.0)):
        assert gap >= floor * 0.9, gaps
        assert gap < floor * 2 + 2.0, gaps


def test_retry_after_in_seconds_is_honoured():
    # Backoff alone would retry within 0.5 s; the server asks for 1 s.
    with RawServer(answer(429, b'{"message": "slow down"}', {"Retry-After": "1"})) as raw:
        elapsed, exc = timed_failure("sync", raw.url, max_retries=1)
        arrivals = list(raw.arrivals)
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after == pytest.approx(1.0)  # the final error keeps what the server said
    attempts_said(exc, 2)
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 0.95
    assert elapsed < 10


def test_retry_after_as_an_http_date_is_honoured():
    # A date 2 s ahead, which HTTP writes to the second: a wait of 1 to 2 s (backoff: < 0.5 s).
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    with RawServer(answer(503, b"down", {"Retry-After": when})) as raw:
        elapsed, exc = timed_failure("async", raw.url, max_retries=1)
        arrivals = list(raw.arrivals)
    assert isinstance(exc, ServerError)
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 0.9, f"retried {arrivals[1] - arrivals[0]:.2f} s after, Retry-After: {when}"
    assert elapsed < 10
    assert 0 <= exc.retry_after <= 2


@pytest.mark.parametrize("mode", ["async"])
def test_retry_after_on_a_5xx_is_honoured_and_then_succeeds(make_api, make_server):
    server = make_server("wawp")
    api = make_api(server, max_retries=1)
    server.set_presence(CHAT, "online")
    server.fail_next(status=503, retry_after=1)
    started = time.monotonic()
    assert api.get(CHAT).is_online
    assert time.monotonic() - started >= 0.95
    assert gets(server) == 2


async def test_a_huge_retry_after_never_crashes_the_call(make_server):
    # "Retry-After: 1e300" is a number; the wait is capped at 60 s. The call either waits (we
    # stop it after 2 s) or gives up with RateLimitError; anything else is a bug.
    server = make_server("waha")
    async with AsyncPresenceClient.waha(server.url, api_key=server.api_key, max_retries=1) as client:
        server.fail_next(status=429, retry_after="1e300", times=2)
        try:
            await asyncio.wait_for(client.get(CHAT), 1.0)
        except (asyncio.TimeoutError, RateLimitError):
            pass


def timed_failure(mode_: str, url: str, **options):
    """Calls get on a WAHA client at `url`; returns (seconds taken, the exception raised)."""
    started = time.monotonic()
    if mode_ == "sync":
        client = PresenceClient.waha(url, **options)
        try:
            client.get(CHAT)
        except Exception as exc:  # noqa: BLE001 - returned for the test to check
            return time.monotonic() - started, exc
        finally:
            client.close()
    else:

        async def run():
            async with AsyncPresenceClient.waha(url, **options) as client:
                await client.get(CHAT)

        try:
            asyncio.run(run())
        except Exception as exc:  # noqa: BLE001
            return time.monotonic() - started, exc
    pytest.fail("the call did not fail")


# ============================================================================== rate_limit


PACED_CALLS = 10
# 5 per second with no burst: the first call at once, the other 9 at 0.2 s steps = 1.8 s.
PACED_FLOOR = 1.6


def sync_calls_from_threads(client, chats: list[str]) -> float:
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def worker(mine: list[str]) -> None:
        try:
            barrier.wait(timeout=10)
            for chat in mine:
                client.get(chat)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(chats[i::5],)) for i in range(5)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    return elapsed


@pytest.mark.parametrize("rate_limit", [5.0, None], ids=["rate_limit=5", "unlimited"])
def test_rate_limit_paces_calls_from_several_threads(make_server, rate_limit):
    server = make_server("waha")
    chats = [f"4477009{n:05d}@c.us" for n in range(PACED_CALLS)]
    client = build_client(PresenceClient, server, max_retries=0, rate_limit=rate_limit)
    try:
        elapsed = sync_calls_from_threads(client, chats)
    finally:
        client.close()
    assert gets(server) == PACED_CALLS
    if rate_limit:
        assert elapsed >= PACED_FLOOR
    else:
        assert elapsed < PACED_FLOOR  # the pacing above is the rate limit's, not the machine's


@pytest.mark.parametrize("rate_limit", [5.0, None], ids=["rate_limit=5", "unlimited"])
async def test_rate_limit_paces_gathered_tasks(make_server, rate_limit):
    # 6 tasks at once, 5 per second: 5 steps of 0.2 s.
    server = make_server("wawp")
    chats = [f"4477009{n:05d}@c.us" for n in range(6)]
    async with build_client(AsyncPresenceClient, server, max_retries=0, rate_limit=rate_limit) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.get(chat) for chat in chats))
        elapsed = time.monotonic() - started
    assert gets(server) == 6
    if rate_limit:
        assert elapsed >= 0.9
    else:
        assert elapsed < 0.9


def test_rate_limit_is_client_wide_not_per_operation(make_server):
    server = make_server("wawp")
    client = build_client(PresenceClient, server, max_retries=0, rate_limit=5.0)
    try:
        started = time.monotonic()
        for n in range(2):
            client.get(CHAT)
            client.set("online")
            client.subscribe(CHAT2)
        elapsed = time.monotonic() - started
    finally:
        client.close()
    # 6 requests of three kinds, one pace: 5 steps of 0.2 s.
    assert len(server.requests) == 6
    assert elapsed >= 0.9
