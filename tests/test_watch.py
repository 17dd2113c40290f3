"""watch(): subscribe, poll, and yield a PresenceChange per participant whose state or
last-seen time changed; sync `for` and async `for`, on both backends."""

from __future__ import annotations

import asyncio
import pickle
import threading
import time
from datetime import datetime, timezone

import pytest
from presence_helpers import build_client, decoded_path, route

from wawp_presence import (
    AsyncPresenceClient,
    InvalidChatIdError,
    PresenceChange,
    PresenceClient,
    PresenceState,
)

ALICE = "447441429009@c.us"
BOB = "447700900123@c.us"
GROUP = "120363025246125486@g.us"


def later(server, seconds, fn):
    """Changes the server's data from another thread while the watcher waits."""
    timer = threading.Timer(seconds, fn)
    timer.start()
    return timer


def test_first_sight_then_each_change(server):
    server.set_presence(ALICE, "online")
    server.set_presence(BOB, "offline", last_seen=1_700_000_000)
    client = build_client(PresenceClient, server)
    changes = client.watch([ALICE, "+44 7700 900123"], interval=0.05)
    first = [next(changes), next(changes)]
    assert [(c.chat_id, c.participant, c.previous, c.current) for c in first] == [
        (ALICE, ALICE, None, PresenceState.ONLINE),
        (BOB, BOB, None, PresenceState.OFFLINE),
    ]
    assert first[1].last_seen == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert first[0].observed_at.tzinfo is not None
    assert sorted(server.subscriptions) == sorted([ALICE, BOB])

    timer = later(server, 0.2, lambda: server.set_presence(ALICE, "unavailable", last_seen=1_700_000_500))
    started = time.monotonic()
    change = next(changes)
    timer.join()
    assert (change.chat_id, change.previous, change.current) == (ALICE, PresenceState.ONLINE, PresenceState.OFFLINE)
    assert change.last_seen.timestamp() == 1_700_000_500
    assert time.monotonic() - started < 5


def test_an_unchanged_poll_yields_nothing_and_a_last_seen_change_counts(server):
    server.set_presence(BOB, "offline", last_seen=1_700_000_000)
    client = build_client(PresenceClient, server)
    changes = client.watch([BOB], interval=0.05)
    assert next(changes).previous is None
    before = len(server.requests)
    # Same state, newer last-seen: a change. Several polls pass first, yielding nothing.
    timer = later(server, 0.3, lambda: server.set_presence(BOB, "offline", last_seen=1_700_000_100))
    change = next(changes)
    timer.join()
    assert (change.previous, change.current) == (PresenceState.OFFLINE, PresenceState.OFFLINE)
    assert change.last_seen.timestamp() == 1_700_000_100
    polls = [r for r in server.requests[before:] if r["method"] == "GET"]
    assert len(polls) >= 3, "the watcher should have polled quietly while nothing changed"


def test_group_participants_are_watched_one_by_one(server):
    server.set_presence(GROUP, "online", participant="447000000001@c.us")
    server.set_presence(GROUP, "offline", participant="447000000002@c.us")
    client = build_client(PresenceClient, server)
    changes = client.watch([GROUP], interval=0.05)
    seen = {next(changes).participant for _ in range(2)}
    assert seen == {"447000000001@c.us", "447000000002@c.us"}
    timer = later(server, 0.1, lambda: server.set_presence(GROUP, "composing", participant="447000000002@c.us"))
    change = next(changes)
    timer.join()
    assert (change.chat_id, change.participant, change.current) == (GROUP, "447000000002@c.us", PresenceState.TYPING)


def test_subscriptions_are_renewed(server):
    server.set_presence(ALICE, "online")
    client = build_client(PresenceClient, server)
    changes = client.watch([ALICE], interval=0.05, resubscribe=0.1)
    next(changes)
    timer = later(server, 0.4, lambda: server.set_presence(ALICE, "offline"))
    next(changes)
    timer.join()
    subscribes = [
        r for r in server.requests if r["method"] == "POST" and decoded_path(r) == route(server, "subscribe", ALICE)
    ]
    assert len(subscribes) >= 3


async def test_async_for_on_the_async_client(server):
    server.set_presence(ALICE, "online")
    client = build_client(AsyncPresenceClient, server)
    seen = []
    async for change in client.watch([ALICE], interval=0.05):
        seen.append(change)
        if len(seen) == 1:
            asyncio.get_running_loop().call_later(0.1, server.set_presence, ALICE, "recording")
        else:
            break
    assert [(c.previous, c.current) for c in seen] == [
        (None, PresenceState.ONLINE),
        (PresenceState.ONLINE, PresenceState.RECORDING),
    ]


async def test_cancelling_an_async_watch_leaves_the_client_usable(server):
    server.set_presence(ALICE, "online")
    client = build_client(AsyncPresenceClient, server)
    changes = client.watch([ALICE], interval=0.05)
    assert (await changes.__anext__()).current == PresenceState.ONLINE
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(changes.__anext__(), 0.3)  # nothing changes: waits, then is cancelled
    assert (await client.get(ALICE)).is_online


def test_bad_arguments_fail_before_anything_is_sent(server):
    client = build_client(PresenceClient, server)
    with pytest.raises(InvalidChatIdError):
        client.watch([ALICE, "not a chat"])
    for bad in ({"interval": 0}, {"interval": -1}, {"interval": float("nan")}, {"resubscribe": 0}):
        with pytest.raises(ValueError):
            client.watch([ALICE], **bad)
    with pytest.raises(ValueError):
        client.watch([])
    with pytest.raises(TypeError):
        client.watch(ALICE)  # one string, not a list of ids
    with pytest.raises(TypeError):
        for _ in build_client(AsyncPresenceClient, server).watch([ALICE]):
            pass
    assert server.requests == []


def test_presence_change_is_a_value():
    seen = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    change = PresenceChange(ALICE, ALICE, "offline", PresenceState.ONLINE, None, seen)
    same = PresenceChange(
        chat_id=ALICE,
        participant=ALICE,
        previous=PresenceState.OFFLINE,
        current="online",
        last_seen=None,
        observed_at=seen,
    )
    assert change == same and hash(change) == hash(same) and len({change, same}) == 1
    assert pickle.loads(pickle.dumps(change)) == change
    assert change.to_dict() == {
        "chat_id": ALICE,
        "participant": ALICE,
        "previous": "offline",
        "current": "online",
        "last_seen": None,
        "observed_at": seen,
    }
    match change:
        case PresenceChange(chat_id, _, previous, current):
            assert (chat_id, previous, current) == (ALICE, PresenceState.OFFLINE, PresenceState.ONLINE)
    assert repr(change).startswith("PresenceChange(chat_id='447441429009@c.us'")
    with pytest.raises((AttributeError, TypeError)):
        change.current = PresenceState.OFFLINE
