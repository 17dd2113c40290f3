"""Deadlines: `timeout` bounds each attempt (connect, send, read the whole answer), so no call
waits longer than about `timeout * (max_retries + 1)` plus the pauses between attempts.

Bounds here are loose on purpose: they tell "waited for the timeout" from "hung", not fast from
slow.
"""

from __future__ import annotations

import asyncio

import pytest

from presence_helpers import CHAT, HANG_BOUND_SECONDS
from process_helpers import run_with_deadline
from raw_servers import FullBacklogListener
from wawp_presence import AsyncPresenceClient, PresenceClient, RequestTimeout

TWO_WAYS = pytest.mark.parametrize("mode, backend", [("sync", "wawp"), ("async", "waha")], ids=["sync-wawp", "async-waha"])


# A call that has not ended after this is a hang: its server is stopped to end it, and the test
# fails (rather than the run hanging).
HUNG_AFTER_SECONDS = 10.0


def timed(call, stop):
    """(seconds taken, the exception raised or the result) of `call()`; `stop()` ends a hang."""
    return run_with_deadline(call, HUNG_AFTER_SECONDS, stop)


@TWO_WAYS
def test_an_answer_that_never_comes_times_out(make_api, server):
    api = make_api(server, timeout=0.5, max_retries=0)
    server.fail_next(hang=True)
    elapsed, exc = timed(lambda: api.get(CHAT), server.stop)
    assert isinstance(exc, RequestTimeout), exc
    assert isinstance(exc, TimeoutError)
    assert 0.45 <= elapsed < HANG_BOUND_SECONDS
    assert exc.attempts == 1
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode, backend", [("sync", "waha")])
def test_every_attempt_is_bounded_so_the_whole_call_is(make_api, server):
    timeout, retries = 0.5, 2
    api = make_api(server, timeout=timeout, max_retries=retries)
    server.fail_next(hang=True, times=10)
    elapsed, exc = timed(lambda: api.get(CHAT), server.stop)
    assert isinstance(exc, RequestTimeout), exc
    assert len(server.requests) == retries + 1
    assert exc.attempts == retries + 1
    # Three attempts of 0.5 s and two pauses (0.25-0.5 s, then 0.5-1 s).
    assert elapsed >= timeout * (retries + 1)
    assert elapsed < timeout * (retries + 1) + 5


@TWO_WAYS
def test_a_late_answer_is_a_timeout_and_an_early_one_is_not(make_api, server):
    server.set_presence(CHAT, "online")
    api = make_api(server, timeout=0.5, max_retries=0)
    server.fail_next(delay=2.0)
    elapsed, exc = timed(lambda: api.get(CHAT), server.stop)
    assert isinstance(exc, RequestTimeout), exc
    assert elapsed < 1.9  # it did not wait for the late answer
    server.fail_next(delay=0.2)
    assert api.get(CHAT).is_online


@pytest.mark.parametrize("cls", [PresenceClient, AsyncPresenceClient], ids=["sync", "async"])
def test_connecting_that_hangs_times_out(cls):
    # A listener whose backlog is full on 127.0.0.1: the TCP handshake never completes, so
    # the client waits in connect() until its timeout.
    with FullBacklogListener() as listener:
        if cls is PresenceClient:
            client = PresenceClient.waha(listener.url, timeout=0.5, max_retries=1)
            try:
                elapsed, exc = timed(lambda: client.get(CHAT), listener.close)
            finally:
                client.close()
        else:

            async def run():
                async with AsyncPresenceClient.waha(listener.url, timeout=0.5, max_retries=0) as client:
                    await client.get(CHAT)

            elapsed, exc = timed(lambda: asyncio.run(run()), listener.close)
    # A connect timeout is a timeout (not a TransportError), whichever layer noticed it first.
    assert isinstance(exc, RequestTimeout), f"{type(exc).__name__}: {exc}"
    attempts = 2 if cls is PresenceClient else 1
    assert exc.attempts == attempts
    # Each attempt waits its 0.5 s (with a pause of 0.25-0.5 s between two).
    assert 0.5 * attempts <= elapsed < 0.5 * attempts + 5
