"""Deadlines: `timeout` bounds each attempt (connect, send, read the whole answer), so no call
waits longer than about `timeout * (max_retries + 1)` plus the pauses between attempts.

Bounds here are loose on purpose: they tell "waited for the timeout" from "hung", not fast from
slow. This is the one place for a hung answer's RequestTimeout (what it carries, and that the
client recovers), with both client kinds, since each kind waits in its own way.
"""

from __future__ import annotations

import asyncio

import pytest
from presence_helpers import CHAT, HANG_BOUND_SECONDS, TWO_WAYS
from process_helpers import run_with_deadline
from raw_servers import FullBacklogListener

from wawp_presence import AsyncPresenceClient, PresenceClient, RequestTimeout

# A call that has not ended after this is a hang: its server is stopped to end it, and the test
# fails (rather than the run hanging).
HUNG_AFTER_SECONDS = 10.0


def timed(call, stop):
    """(seconds taken, the exception raised or the result) of `call()`; `stop()` ends a hang."""
    return run_with_deadline(call, HUNG_AFTER_SECONDS, stop)


@TWO_WAYS
@pytest.mark.parametrize("op, method", [("get", "GET"), ("set", "POST"), ("get_all", "GET")])
def test_an_answer_that_never_comes_times_out(make_api, server, op, method):
    api = make_api(server, timeout=0.3, max_retries=0)
    calls = {"get": lambda: api.get(CHAT), "set": lambda: api.set("online"), "get_all": api.get_all}
    server.set_presence(CHAT, "online")
    server.fail_next(hang=True)
    elapsed, exc = timed(calls[op], server.stop)
    assert isinstance(exc, RequestTimeout), exc
    assert isinstance(exc, TimeoutError)
    assert 0.28 <= elapsed < HANG_BOUND_SECONDS
    assert (exc.attempts, exc.status_code, exc.method) == (1, None, method)
    assert len(server.requests) == 1
    # The client still works afterwards.
    assert api.get(CHAT).is_online


def test_every_attempt_is_bounded_so_the_whole_call_is(make_api, server):
    # Timeouts are retried, each attempt with its own `timeout`.
    timeout, retries = 0.2, 1
    api = make_api(server, timeout=timeout, max_retries=retries)
    server.fail_next(hang=True, times=10)
    elapsed, exc = timed(lambda: api.get(CHAT), server.stop)
    assert isinstance(exc, RequestTimeout), exc
    assert len(server.requests) == retries + 1
    assert exc.attempts == retries + 1
    assert f"after {retries + 1} attempts" in str(exc)
    # Two attempts of 0.2 s and a pause of 0.25-0.5 s between them.
    assert elapsed >= timeout * (retries + 1) + 0.2
    assert elapsed < timeout * (retries + 1) + 5
    # One hung attempt, then an answer: the retry returns it.
    server.reset()
    server.set_presence(CHAT, "offline")
    server.fail_next(hang=True, times=1)
    assert api.get(CHAT).presences[0].last_known_presence == "offline"
    assert len(server.requests) == 2


def test_a_late_answer_is_a_timeout_and_an_early_one_is_not(make_api, server):
    server.set_presence(CHAT, "online")
    api = make_api(server, timeout=0.3, max_retries=0)
    server.fail_next(delay=3.0)
    elapsed, exc = timed(lambda: api.get(CHAT), server.stop)
    assert isinstance(exc, RequestTimeout), exc
    assert elapsed < 2.9  # it did not wait for the late answer
    server.fail_next(delay=0.1)
    assert api.get(CHAT).is_online


@pytest.mark.parametrize("cls", [PresenceClient, AsyncPresenceClient], ids=["sync", "async"])
def test_connecting_that_hangs_times_out(cls):
    # A listener whose backlog is full on 127.0.0.1: the TCP handshake never completes, so
    # the client waits in connect() until its timeout.
    with FullBacklogListener() as listener:
        if cls is PresenceClient:
            client = PresenceClient.waha(listener.url, timeout=0.3, max_retries=0)
            try:
                elapsed, exc = timed(lambda: client.get(CHAT), listener.close)
            finally:
                client.close()
        else:

            async def run():
                async with AsyncPresenceClient.waha(listener.url, timeout=0.3, max_retries=0) as client:
                    await client.get(CHAT)

            elapsed, exc = timed(lambda: asyncio.run(run()), listener.close)
    # A connect timeout is a timeout (not a TransportError), whichever layer noticed it first.
    assert isinstance(exc, RequestTimeout), f"{type(exc).__name__}: {exc}"
    assert exc.attempts == 1
    # The attempt waits its 0.3 s (retrying timeouts: test_every_attempt_is_bounded...).
    assert 0.28 <= elapsed < 0.3 + 5
