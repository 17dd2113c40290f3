"""os.fork: clients used before a fork still work in the child, and new ones do too (POSIX).

The I/O runtime's threads do not survive a fork; the child must start a fresh runtime and fresh
connections. A FakeServer running on the parent's threads does not exist in the child either,
so the child talks to a fake server running in a process of its own
(`python -m wawp_presence.testing`), or to one it starts itself.

Each child runs under a deadline and is killed when it passes, so a hang fails the test.
"""

from __future__ import annotations

import asyncio
import sys

import pytest
from presence_helpers import CHAT, CHAT2, build_client, start_server
from process_helpers import FakeServerProcess, run_in_fork

from wawp_presence import AsyncPresenceClient, PresenceClient

CHILD_DEADLINE_SECONDS = 10.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="os.fork does not exist on Windows")


@pytest.fixture(scope="module")
def outside_server():
    """A fake Wawp server in a process of its own, reachable from forked children."""
    with FakeServerProcess("wawp") as server:
        yield server


@pytest.fixture
def busy_runtime():
    """An in-process FakeServer with a client that has used it: the runtime's threads, timers
    and a pooled connection are all live when the test forks."""
    server = start_server("waha")
    server.set_presence(CHAT, "online")
    client = build_client(PresenceClient, server, max_retries=0)
    assert client.get(CHAT).is_online
    yield client
    client.close()
    server.stop()


def assert_child_ok(outcome: tuple[str, str]) -> None:
    status, output = outcome
    assert status == "ok", f"the forked child {status}:\n{output}"
    assert output == "ok", output


def test_the_same_sync_client_works_in_a_forked_child(outside_server, busy_runtime):
    client = build_client(PresenceClient, outside_server, max_retries=0, timeout=5)
    try:
        client.subscribe(CHAT)  # used, with a pooled connection, before the fork
        assert CHAT in [c.id for c in client.get_all()]

        def child() -> None:
            client.subscribe(CHAT2)
            ids = [c.id for c in client.get_all()]
            assert CHAT in ids and CHAT2 in ids, ids

        assert_child_ok(run_in_fork(child, CHILD_DEADLINE_SECONDS))
        # The parent's client is unharmed and sees what the child did.
        assert CHAT2 in [c.id for c in client.get_all()]
    finally:
        client.close()


def test_a_new_sync_client_works_in_a_forked_child(outside_server, busy_runtime):
    def child() -> None:
        with build_client(PresenceClient, outside_server, max_retries=0, timeout=5) as fresh:
            fresh.set("online")
            assert fresh.get(CHAT).id == CHAT

    assert_child_ok(run_in_fork(child, CHILD_DEADLINE_SECONDS))
    # The parent's own clients and servers still work after the fork.
    assert busy_runtime.get(CHAT).is_online


def test_a_fake_server_started_in_a_forked_child_works(busy_runtime):
    def child() -> None:
        server = start_server("wawp")
        try:
            server.set_presence(CHAT, "typing")
            with build_client(PresenceClient, server, max_retries=0, timeout=5) as fresh:
                assert fresh.get(CHAT).presences[0].last_known_presence == "typing"
        finally:
            server.stop()

    assert_child_ok(run_in_fork(child, CHILD_DEADLINE_SECONDS))


def test_async_clients_work_in_a_forked_child(outside_server, busy_runtime):
    used = build_client(AsyncPresenceClient, outside_server, max_retries=0, timeout=5)

    async def use(client) -> list[str]:
        await client.subscribe(CHAT)
        return [c.id for c in await client.get_all()]

    assert CHAT in asyncio.run(use(used))  # the async bridge has run before the fork

    def child() -> None:
        async def both() -> None:
            assert CHAT in await use(used)  # the same async client
            async with build_client(AsyncPresenceClient, outside_server, max_retries=0, timeout=5) as fresh:
                assert CHAT in await use(fresh)

        asyncio.run(both())

    try:
        assert_child_ok(run_in_fork(child, CHILD_DEADLINE_SECONDS))
    finally:
        used.close()
