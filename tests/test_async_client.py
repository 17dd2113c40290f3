"""AsyncPresenceClient used the way asyncio code uses it: `async with`, awaits, tasks, gather.

The operations themselves are checked both ways in test_client.py; here is what only the async
client has: awaitables, `async with` for the client and for typing(), tasks sharing one client,
and an event loop left free while a request waits.
"""

from __future__ import annotations

import asyncio
import inspect
import time

import pytest

from presence_helpers import (
    CHAT,
    CHAT2,
    GROUP,
    HANG_BOUND_SECONDS,
    build_client,
    decoded_path,
    requests_for,
    route,
    typing_states,
)
from wawp_presence import (
    AsyncPresenceClient,
    ChatPresence,
    PresenceState,
    RequestTimeout,
    WawpError,
)


ONLINE_BODY = {"id": CHAT, "presences": [{"participant": CHAT, "lastKnownPresence": "online", "lastSeen": None}]}


def aclient_for(server, **options) -> AsyncPresenceClient:
    options.setdefault("max_retries", 0)
    return build_client(AsyncPresenceClient, server, **options)


@pytest.mark.asyncio
async def test_async_with_runs_every_operation(server):
    server.set_presence(CHAT, "online")
    server.set_presence(GROUP, "composing", participant=CHAT2)
    async with aclient_for(server) as aclient:
        assert isinstance(aclient, AsyncPresenceClient)
        chat = await aclient.get(CHAT)
        assert isinstance(chat, ChatPresence) and chat.is_online
        await aclient.set("online")
        assert server.own_presence == "online"
        await aclient.set(PresenceState.RECORDING, chat_id=CHAT)
        assert server.chat_states[CHAT] == "recording"
        await aclient.subscribe(GROUP)
        assert GROUP in server.subscriptions
        every = await aclient.get_all()
        assert CHAT in {item.id for item in every}
        many = await aclient.get_many([GROUP, CHAT], concurrency=2)
        assert [item.id for item in many] == [GROUP, CHAT]
        async with aclient.typing(CHAT2):
            assert typing_states(server, CHAT2) == ["typing"]
        assert typing_states(server, CHAT2) == ["typing", "paused"]
        await aclient.set("offline")
        assert server.own_presence == "offline"


@pytest.mark.asyncio
async def test_methods_return_awaitables(server):
    server.set_presence(CHAT, "online")
    async with aclient_for(server) as aclient:
        pending = aclient.get(CHAT)
        assert inspect.isawaitable(pending)
        assert (await pending).has_data
        pending = aclient.set("online")
        assert inspect.isawaitable(pending)
        await pending
        pending = aclient.get_all()
        assert inspect.isawaitable(pending)
        assert isinstance(await pending, list)


@pytest.mark.asyncio
async def test_tasks_share_one_client(server):
    ids = [f"4477009{n:05d}@c.us" for n in range(10)]
    for n, chat_id in enumerate(ids):
        server.set_presence(chat_id, "online" if n % 2 else "offline")
    async with aclient_for(server) as aclient:
        results = await asyncio.gather(*(aclient.get(ids[n % 10]) for n in range(40)))
    for n, chat in enumerate(results):
        assert chat.id == ids[n % 10]
        expected = PresenceState.ONLINE if (n % 10) % 2 else PresenceState.OFFLINE
        assert chat.presences[0].last_known_presence is expected


@pytest.mark.asyncio
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
        server.fail_next(status=200, body=ONLINE_BODY, delay=1.0)  # a good answer, one second late
        chat = await aclient.get(CHAT)
        stop.set()
        await task
    assert chat.has_data
    # a client that blocked the loop would let the ticker run once at most
    assert ticks >= 5


@pytest.mark.asyncio
async def test_get_with_wait_in_asyncio(server):
    server.set_presence(CHAT, "online", empty_reads=2)
    async with aclient_for(server) as aclient:
        chat = await aclient.get(CHAT, wait=5)
    assert chat.has_data
    assert len(requests_for(server, "GET", route(server, "get", CHAT))) == 3


class BodyFailed(Exception):
    pass


@pytest.mark.asyncio
async def test_async_typing_sends_paused_when_the_body_raises(server):
    async with aclient_for(server) as aclient:
        with pytest.raises(BodyFailed):
            async with aclient.typing(CHAT):
                assert server.chat_states[CHAT] == "typing"
                raise BodyFailed("boom")
        assert typing_states(server, CHAT) == ["typing", "paused"]
        assert server.chat_states[CHAT] == "paused"


@pytest.mark.asyncio
async def test_async_with_closes_the_client(server):
    async with aclient_for(server) as aclient:
        assert await aclient.get_all() == []
    before = len(server.requests)
    with pytest.raises((WawpError, RuntimeError)):
        await aclient.get(CHAT)
    assert len(server.requests) == before


@pytest.mark.asyncio
async def test_explicit_close_is_awaitable(server):
    aclient = aclient_for(server)
    assert await aclient.get_all() == []
    await aclient.close()
    with pytest.raises((WawpError, RuntimeError)):
        await aclient.get_all()


@pytest.mark.asyncio
async def test_async_rule_violation_sends_nothing(server):
    async with aclient_for(server) as aclient:
        with pytest.raises(ValueError):
            await aclient.set("online", chat_id=CHAT)
        with pytest.raises(ValueError):
            await aclient.set("typing")
    assert server.requests == []


@pytest.mark.asyncio
async def test_async_timeout(server):
    async with aclient_for(server, timeout=0.5) as aclient:
        server.fail_next(hang=True)
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            await aclient.get(CHAT)
        assert time.monotonic() - started < HANG_BOUND_SECONDS
        # the client still works afterwards
        server.set_presence(CHAT, "online")
        assert (await aclient.get(CHAT)).has_data


@pytest.mark.asyncio
async def test_async_paths(server):
    async with aclient_for(server) as aclient:
        await aclient.subscribe(CHAT)
        await aclient.get(CHAT)
    assert [(r["method"], decoded_path(r)) for r in server.requests] == [
        ("POST", route(server, "subscribe", CHAT)),
        ("GET", route(server, "get", CHAT)),
    ]
