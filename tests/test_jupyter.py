"""The sync client inside a running event loop, as in a Jupyter cell (python-api.md, Clients).

A notebook runs every cell inside an asyncio loop; a blocking client built on asyncio would fail
there with "this event loop is already running". These tests call PresenceClient from coroutines.
"""

from __future__ import annotations

import asyncio

import pytest
from presence_helpers import CHAT, CHAT2, build_client, typing_states

from wawp_presence import AsyncPresenceClient, NotFoundError, PresenceClient, PresenceState


def every_operation(client, server) -> None:
    """What a notebook user would run in one cell with the sync client."""
    server.set_presence(CHAT, "online")
    server.set_presence(CHAT2, "composing", empty_reads=1)
    chat = client.get(CHAT)
    assert chat.presences[0].last_known_presence is PresenceState.ONLINE
    assert client.get(CHAT2, wait=5).presences[0].last_known_presence is PresenceState.TYPING
    client.set("online")
    assert server.own_presence == "online"
    client.set("recording", chat_id=CHAT)
    assert server.chat_states[CHAT] == "recording"
    client.subscribe(CHAT)
    assert CHAT in server.subscriptions
    assert CHAT in {item.id for item in client.get_all()}
    assert [item.id for item in client.get_many([CHAT2, CHAT], concurrency=2)] == [CHAT2, CHAT]
    with client.typing(CHAT2):
        pass
    assert typing_states(server, CHAT2) == ["typing", "paused"]


def test_sync_client_built_and_used_inside_a_running_loop(server):
    async def cell():
        assert asyncio.get_running_loop().is_running()
        with build_client(PresenceClient, server, max_retries=0) as client:
            every_operation(client, server)
        return "done"

    assert asyncio.run(cell()) == "done"


def test_sync_client_built_outside_and_used_inside_a_running_loop(client, server):
    async def cell():
        every_operation(client, server)

    asyncio.run(cell())
    # and it still works outside a loop afterwards
    assert client.get(CHAT).has_data


@pytest.mark.asyncio
async def test_sync_client_from_an_async_test(client, server):
    every_operation(client, server)


def test_errors_inside_a_running_loop_are_the_usual_ones(client, server):
    async def cell():
        server.fail_next(status=404, body={"message": "We didn't find a session", "statusCode": 404})
        with pytest.raises(NotFoundError):
            client.get(CHAT)
        with pytest.raises(ValueError):
            client.set("typing")

    asyncio.run(cell())


def test_sync_and_async_clients_side_by_side_in_one_loop(server):
    server.set_presence(CHAT, "online")

    async def cell():
        with build_client(PresenceClient, server, max_retries=0) as client:
            async with build_client(AsyncPresenceClient, server, max_retries=0) as aclient:
                sync_chat = client.get(CHAT)
                async_chat = await aclient.get(CHAT)
                assert sync_chat == async_chat
                # a task scheduled on the loop still runs after a blocking call
                task = asyncio.ensure_future(aclient.get(CHAT))
                client.set("online")
                assert (await task) == sync_chat

    asyncio.run(cell())
    assert server.own_presence == "online"
