"""Interrupts: Ctrl-C ends a blocking call at once and leaves the client usable; cancelling an
asyncio task that awaits a call aborts its HTTP request and closes the connection at once.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from presence_helpers import CHAT
from process_helpers import interrupt_blocking_call
from raw_servers import RawServer, hold_until_closed

from wawp_presence import AsyncPresenceClient

# The README promises Ctrl-C is seen within 0.5 s (the blocking wait looks for signals in 50 ms
# slices). The bounds below leave room for a loaded 2-core machine, where the child and the
# parent wait for a CPU too; they still catch a call that ignores the signal until its 30 s
# timeout, or a connection left open until then.
INTERRUPT_BOUND_SECONDS = 1.5
# A cancelled task's connection must be closed within this.
CLOSE_BOUND_SECONDS = 2.5


async def awaiting(awaitable):
    """A coroutine that awaits `awaitable`, as application code wraps a call in a task."""
    return await awaitable


@pytest.mark.parametrize(
    "fault",
    ["hang", "retry-after"],
    ids=["waiting-for-an-answer", "waiting-before-a-retry"],
)
def test_ctrl_c_stops_a_blocking_call_and_the_client_stays_usable(fault):
    # In a child process: the child blocks in client.get(...) with timeout=30 against a server
    # that never answers (or asks for a 30 s pause before the retry); we send SIGINT once it waits
    # (on Windows Ctrl-Break, which the child maps to KeyboardInterrupt: see process_helpers).
    result = interrupt_blocking_call(fault)
    context = f"child said {result.get('output')}; stderr: {result.get('stderr', '')[-1500:]}"
    assert not result.get("timed_out"), f"the blocking call ignored Ctrl-C; {context}"
    assert "delay" in result, f"no KeyboardInterrupt: {result.get('unexpected')!r}; {context}"
    assert result["delay"] < INTERRUPT_BOUND_SECONDS, (
        f"KeyboardInterrupt came {result['delay']:.2f} s after the signal; {context}"
    )
    if fault == "hang":
        # The request was aborted: its connection closed at once, not when the timeout ran out.
        assert result["closed"] is not None, f"the interrupted request's connection stayed open; {context}"
        assert result["closed"] < INTERRUPT_BOUND_SECONDS + 1.0, context
    # The same client then answers, with one request: the aborted call left nothing behind.
    assert result["after"] == "after True 1", context
    assert result["returncode"] == 0, context


async def test_cancelling_a_task_aborts_its_request_and_closes_the_connection():
    with RawServer(hold_until_closed) as server:
        client = AsyncPresenceClient.waha(server.url, timeout=30, max_retries=0)
        try:
            task = asyncio.create_task(awaiting(client.get(CHAT)))
            # Wait (without blocking the loop) until the request has reached the server.
            for _ in range(200):
                if server.request_seen.is_set() or task.done():
                    break
                await asyncio.sleep(0.025)
            assert server.request_seen.is_set(), "the request never reached the server"
            assert not task.done()
            cancelled_at = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The server sees the client close its connection: the request was aborted, not
            # left running until the 30 s timeout.
            closed = await asyncio.to_thread(server.client_closed.wait, 5.0)
            assert closed, "the connection stayed open after the task was cancelled"
            assert server.closed_at[0] - cancelled_at < CLOSE_BOUND_SECONDS
        finally:
            await client.close()
        assert server.errors == []


async def test_a_cancelled_call_leaves_the_async_client_usable(make_server):
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    async with AsyncPresenceClient.waha(server.url, api_key=server.api_key, timeout=30, max_retries=0) as client:
        server.fail_next(hang=True)
        task = asyncio.create_task(awaiting(client.get(CHAT)))
        for _ in range(200):
            if server.requests:
                break
            await asyncio.sleep(0.025)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        chat = await asyncio.wait_for(client.get(CHAT), 10)
    assert chat.is_online
