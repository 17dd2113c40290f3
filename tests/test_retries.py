"""Retries: what is retried (connection failures, timeouts, 429, 5xx), how often (`max_retries`,
counted at the server), how long between attempts (exponential backoff, `Retry-After` in both
forms), what is never retried, and what the final error says. Plus client-wide pacing
(`rate_limit`).

The backoff starts at 0.25 s and doubles, with jitter that only adds (up to as much again), so
the waits before retries 1, 2, 3 are at least 0.25, 0.5 and 1 s.

The policy itself (what is retried, the pauses, Retry-After's forms and cap) is tabled by
`cargo test`; here is what reaches Python over real HTTP. Client errors and answers that will not
change are never retried: README's fault table checks that (test_fault_table.py), as it does the
wait for a 429's Retry-After. Timeouts are retried: test_deadlines.py.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import threading
import time

import pytest
from presence_helpers import CHAT, build_client, start_server
from raw_servers import RawServer, answer

from wawp_presence import (
    AsyncPresenceClient,
    PresenceClient,
    RateLimitError,
    ServerError,
    TransportError,
)

RETRYABLE_STATUSES = {429: RateLimitError, 500: ServerError, 502: ServerError, 503: ServerError, 504: ServerError}


def attempts_said(exc, n: int) -> None:
    """The error counts the requests made, as an attribute and in its text."""
    assert exc.attempts == n
    if n > 1:
        assert f"after {n} attempts" in str(exc)
    else:
        assert "attempts" not in str(exc)


def gets(server) -> int:
    return sum(1 for r in server.requests if r["method"] == "GET")


# ============================================================================== what is retried


@pytest.mark.parametrize(
    "status, max_retries, mode, backend",
    [(503, 0, "async", "waha"), (429, 1, "sync", "wawp"), (500, 1, "sync", "waha")],
)
def test_max_retries_is_the_number_of_extra_requests(make_api, server, status, max_retries):
    # 429 and 5xx are retried, `max_retries` times; the error says how often it tried.
    api = make_api(server, max_retries=max_retries)
    server.fail_next(status=status, times=10)
    with pytest.raises(RETRYABLE_STATUSES[status]) as caught:
        api.get(CHAT)
    assert len(server.requests) == max_retries + 1
    attempts_said(caught.value, max_retries + 1)
    assert caught.value.status_code == status


@pytest.mark.parametrize("mode, backend", [("async", "waha")])  # sync: the fault table
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


@pytest.mark.parametrize("mode, backend", [("async", "waha")])  # sync: the fault table
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


# ============================================================================== how long between attempts


def test_backoff_grows_exponentially():
    # Arrival times at the server of the first request and 2 retries, all answered 503.
    with RawServer(answer(503, b'{"message": "down"}')) as raw:
        client = PresenceClient.waha(raw.url, max_retries=2, timeout=5)
        try:
            with pytest.raises(ServerError) as caught:
                client.get(CHAT)
        finally:
            client.close()
        arrivals = list(raw.arrivals)
    assert len(arrivals) == 3
    attempts_said(caught.value, 3)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # Each pause at least its floor (0.25, then 0.5 s: the second is at least the first's
    # largest); none of them absurdly long.
    for gap, floor in zip(gaps, (0.25, 0.5), strict=False):
        assert gap >= floor * 0.9, gaps
        assert gap < floor * 2 + 2.0, gaps


def test_retry_after_as_an_http_date_reaches_the_error():
    # A date 30 s ahead, which HTTP writes to the second: 29 to 30 s from now. (Waiting for a
    # date is the core's, tabled by `cargo test`; no retry here, so nothing waits.)
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    with RawServer(answer(503, b"down", {"Retry-After": when})) as raw:
        _, exc = timed_failure("async", raw.url, max_retries=0)
    assert isinstance(exc, ServerError)
    assert 28 <= exc.retry_after <= 30, (exc.retry_after, when)


@pytest.mark.parametrize("mode", ["async"])
def test_retry_after_on_a_5xx_is_honoured_and_then_succeeds(make_api, make_server):
    # Backoff alone would retry within 0.5 s; the server asks for 0.7 s (a fraction is allowed).
    server = make_server("wawp")
    api = make_api(server, max_retries=1)
    server.set_presence(CHAT, "online")
    server.fail_next(status=503, retry_after="0.7")
    started = time.monotonic()
    assert api.get(CHAT).is_online
    assert time.monotonic() - started >= 0.65
    assert gets(server) == 2


async def test_a_huge_retry_after_is_capped_not_a_crash(make_server):
    # "Retry-After: 1e300" is a number; the wait is capped at 60 s, so the call is still waiting
    # for its retry when we stop it. Giving up at once, or any other error, is a bug.
    server = make_server("waha")
    async with AsyncPresenceClient.waha(server.url, api_key=server.api_key, max_retries=1) as client:
        server.fail_next(status=429, retry_after="1e300", times=2)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.get(CHAT), 0.5)
        assert len(server.requests) == 1  # the retry was not sent
        # Without retries the value reaches the error as the server said it.
        server.reset()
        server.fail_next(status=429, retry_after="1e300")
        async with AsyncPresenceClient.waha(server.url, api_key=server.api_key, max_retries=0) as once:
            with pytest.raises(RateLimitError) as caught:
                await once.get(CHAT)
        assert caught.value.retry_after >= 60


def timed_failure(mode_: str, url: str, **options):
    """Calls get on a WAHA client at `url`; returns (seconds taken, the exception raised)."""
    started = time.monotonic()
    if mode_ == "sync":
        client = PresenceClient.waha(url, **options)
        try:
            client.get(CHAT)
        except Exception as exc:
            return time.monotonic() - started, exc
        finally:
            client.close()
    else:

        async def run():
            async with AsyncPresenceClient.waha(url, **options) as client:
                await client.get(CHAT)

        try:
            asyncio.run(run())
        except Exception as exc:
            return time.monotonic() - started, exc
    pytest.fail("the call did not fail")


# ============================================================================== rate_limit


PACED_CALLS = 10
# 10 per second with no burst: the first call at once, the other 9 at 0.1 s steps = 0.9 s.
PACED_FLOOR = 0.8


def sync_calls_from_threads(client, chats: list[str]) -> float:
    """Each of 5 threads makes its share of the calls, of three kinds in turn."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)
    kinds = [client.get, lambda chat: client.set("typing", chat_id=chat), client.subscribe]

    def worker(mine: list[str]) -> None:
        try:
            barrier.wait(timeout=10)
            for n, chat in enumerate(mine):
                kinds[n % 3](chat)
        except BaseException as exc:
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


@pytest.mark.parametrize("rate_limit", [10.0, None], ids=["rate_limit=10", "unlimited"])
def test_rate_limit_paces_calls_of_every_kind_from_several_threads(make_server, rate_limit):
    # One pace for the whole client, whatever the operation and the thread.
    server = make_server("waha")
    chats = [f"4477009{n:05d}@c.us" for n in range(PACED_CALLS)]
    client = build_client(PresenceClient, server, max_retries=0, rate_limit=rate_limit)
    try:
        elapsed = sync_calls_from_threads(client, chats)
    finally:
        client.close()
    assert len(server.requests) == PACED_CALLS
    assert {r["method"] for r in server.requests} == {"GET", "POST"}
    if rate_limit:
        assert elapsed >= PACED_FLOOR
    else:
        assert elapsed < PACED_FLOOR  # the pacing above is the rate limit's, not the machine's


@pytest.mark.parametrize("rate_limit", [10.0, None], ids=["rate_limit=10", "unlimited"])
async def test_rate_limit_paces_gathered_tasks(make_server, rate_limit):
    # 8 tasks at once, 10 per second: 7 steps of 0.1 s.
    server = make_server("wawp")
    chats = [f"4477009{n:05d}@c.us" for n in range(8)]
    async with build_client(AsyncPresenceClient, server, max_retries=0, rate_limit=rate_limit) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.get(chat) for chat in chats))
        elapsed = time.monotonic() - started
    assert gets(server) == 8
    if rate_limit:
        assert elapsed >= 0.65
    else:
        assert elapsed < 0.65
