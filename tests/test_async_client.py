"""AsyncPresenceClient used the way asyncio code uses it: `async with`, awaits, and an event loop
left free while a request waits.

The operations themselves are checked with both client kinds by test_client.py's parity test,
and the asyncio idioms (tasks, gather, TaskGroup, anyio, cancelling) by test_asyncio_semantics.py;
here is what only the async client has.
"""

from __future__ import annotations

import asyncio

import pytest
from presence_helpers import CHAT, build_client

from wawp_presence import AsyncPresenceClient, ClientClosedError

ONLINE_BODY = {"id": CHAT, "presences": [{"participant": CHAT, "lastKnownPresence": "online", "lastSeen": None}]}


def aclient_for(server, **options) -> AsyncPresenceClient:
    options.setdefault("max_retries", 0)
    return build_client(AsyncPresenceClient, server, **options)


async def test_the_event_loop_stays_free_while_a_request_waits(server):
    server.set_presence(CHAT, "online")
    ticks = 0
    stop = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.02)

    async with aclient_for(server) as aclient:
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        ticks = 0
        server.fail_next(status=200, body=ONLINE_BODY, delay=0.5)  # a good answer, half a second late
        chat = await aclient.get(CHAT)
        stop.set()
        await task
    assert chat.has_data
    # A client that blocked the loop would let the ticker run once at most; a free loop runs it
    # about 25 times (fewer on a loaded machine).
    assert ticks >= 3


async def test_async_with_closes_the_client(server):
    async with aclient_for(server) as aclient:
        assert isinstance(aclient, AsyncPresenceClient)
        assert await aclient.get_all() == []
    before = len(server.requests)
    with pytest.raises(ClientClosedError):
        await aclient.get(CHAT)
    assert len(server.requests) == before


async def test_explicit_close_is_awaitable(server):
    aclient = aclient_for(server)
    assert await aclient.get_all() == []
    closing = aclient.close()
    assert asyncio.iscoroutine(closing)
    await closing
    with pytest.raises(ClientClosedError):
        await aclient.get_all()
    assert len(server.requests) == 1
