"""FakeServer's presence scripts, latency and count of requests in flight, used as a test writer
would: the real clients talk to the fake over HTTP on 127.0.0.1.

Timing checks are lower bounds only: a loaded machine makes everything slower, never faster.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from presence_helpers import BOTH_BACKENDS, CHAT, CHAT2, CHAT3, GROUP, TWO_WAYS, build_client

from wawp_presence import AsyncPresenceClient, PresenceClient, PresenceState, RequestTimeout, ServerError

ONLINE, OFFLINE, TYPING = PresenceState.ONLINE, PresenceState.OFFLINE, PresenceState.TYPING
IDS = [f"4474414{i:05d}@c.us" for i in range(12)]


def state(chat) -> PresenceState | None:
    """The state of a direct chat's one participant, or None for "no data"."""
    if not chat.has_data:
        return None
    (participant,) = chat.presences
    return participant.last_known_presence


def sleep_until(deadline: float) -> None:
    """Sleeps until time.perf_counter() reaches `deadline`. (On Windows before Python 3.13,
    time.monotonic moves in 15.6 ms steps, and time.sleep may end up to one of them early.)"""
    while (left := deadline - time.perf_counter()) > 0:
        time.sleep(left)


def eventually(done: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def elapsed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


# ============================================================================== script_presence


@BOTH_BACKENDS
def test_a_script_answers_what_was_set_until_its_step_then_the_step(server, client):
    server.set_presence(CHAT, "online")
    wall_before = time.time()
    server.script_presence(CHAT, [(2.0, "offline")])
    # The script's clock starts while the call is made: counted from its end, the step is due.
    wall_after, started = time.time(), time.perf_counter()

    # Before the step: what was set before, for one chat and for get_all (the get subscribed).
    assert state(client.get(CHAT)) is ONLINE
    assert [(c.id, state(c)) for c in client.get_all()] == [(CHAT, ONLINE)]

    sleep_until(started + 2.0)
    chat = client.get(CHAT)
    assert state(chat) is OFFLINE
    # No last_seen in the step: the moment the contact went offline, as a real server says.
    last_seen = chat.presences[0].last_seen.timestamp()
    assert math.floor(wall_before + 2.0) <= last_seen <= math.floor(wall_after + 2.0)
    assert [(c.id, state(c), c.last_seen) for c in client.get_all()] == [(CHAT, OFFLINE, chat.last_seen)]


def test_a_script_read_before_its_first_step_shows_no_data_when_nothing_was_set(server, client):
    server.script_presence(CHAT, [(3600, "online")])
    chat = client.get(CHAT)
    assert chat.id == CHAT and not chat.has_data


def test_steps_take_states_engine_words_and_last_seen_as_set_presence_does(server, client):
    seen_at = datetime(2025, 3, 1, 12, 30, tzinfo=timezone.utc)
    server.script_presence(CHAT, [(0, PresenceState.TYPING)])
    server.script_presence(CHAT2, [(0, "available"), (0.1, "unavailable", seen_at)])
    server.script_presence(CHAT3, [(0, "online"), (0.1, "offline", 1_700_000_000)])
    server.script_presence(GROUP, [(0, "composing", None)])
    sleep_until(time.perf_counter() + 0.1)
    chats = client.get_many([CHAT, CHAT2, CHAT3, GROUP])
    assert [state(c) for c in chats] == [TYPING, OFFLINE, OFFLINE, TYPING]
    # A given last_seen wins over the moment of the step.
    assert [c.last_seen for c in chats] == [None, seen_at, datetime.fromtimestamp(1_700_000_000, timezone.utc), None]


def test_chat_ids_are_normalised_like_set_presence(server, client):
    server.script_presence("+44 7441 429009", [(0, "recording")])
    assert state(client.get(CHAT)) is PresenceState.RECORDING


def test_a_watcher_sees_a_scripted_contact_go_offline(server, client):
    server.set_presence(CHAT, "online")
    wall = time.time()
    server.script_presence(CHAT, [(0.2, "typing"), (0.4, "offline")])
    changes = client.watch([CHAT], interval=0.05)
    seen = [next(changes)]
    while seen[-1].current is not OFFLINE:
        seen.append(next(changes))
    # A slow poll may miss the short typing step, never reorder the steps.
    assert [c.current for c in seen] in ([ONLINE, TYPING, OFFLINE], [ONLINE, OFFLINE])
    assert seen[-1].last_seen.timestamp() >= math.floor(wall + 0.4)


def test_a_later_set_presence_or_script_replaces_the_script(server, client):
    server.script_presence(CHAT, [(0, "online"), (0.3, "offline")])
    server.set_presence(CHAT, "typing")
    server.script_presence(CHAT2, [(0, "online"), (0.3, "offline")])
    server.script_presence(CHAT2, [(0, "recording")])
    time.sleep(0.4)
    assert [state(c) for c in client.get_many([CHAT, CHAT2])] == [TYPING, PresenceState.RECORDING]


def test_an_empty_script_keeps_what_the_chat_shows(server, client):
    server.set_presence(CHAT, "online")
    server.script_presence(CHAT, [])
    server.script_presence(CHAT2, [(0, "typing")])
    server.script_presence(CHAT2, [])
    time.sleep(0.05)
    assert [state(c) for c in client.get_many([CHAT, CHAT2])] == [ONLINE, TYPING]


def test_reset_forgets_scripts(server, client):
    server.script_presence(CHAT, [(0, "online"), (0.1, "typing")])
    server.reset()
    time.sleep(0.15)
    assert not client.get(CHAT).has_data


@pytest.mark.parametrize(
    "steps, error",
    [
        ([(1.0, "online"), (0.5, "offline")], ValueError),  # out of order
        ([(0, "online"), (2, "typing"), (1.999, "offline")], ValueError),
        ([(-0.1, "online")], ValueError),
        ([(math.nan, "online")], ValueError),
        ([(math.inf, "online")], ValueError),
        ([(0, "online", None, "extra")], ValueError),
        ([(0,)], ValueError),
        ([("1", "online")], TypeError),
        ([(True, "online")], TypeError),
        ([(0, 1)], TypeError),
        ([[0, "online"]], TypeError),
        ("online", TypeError),
    ],
)
def test_bad_steps_are_refused_and_change_nothing(server, client, steps, error):
    server.set_presence(CHAT, "online")
    server.script_presence(CHAT2, [(0, "typing")])
    with pytest.raises(error):
        server.script_presence(CHAT, steps)
    with pytest.raises(error):
        server.script_presence(CHAT2, steps)
    time.sleep(0.05)
    assert [state(c) for c in client.get_many([CHAT, CHAT2])] == [ONLINE, TYPING]


# ============================================================================== latency


@BOTH_BACKENDS
def test_latency_makes_every_request_take_at_least_that_long(make_server, backend):
    server = make_server(backend, latency=0.3)
    assert server.latency == 0.3
    server.set_presence(CHAT, "online")
    with build_client(PresenceClient, server, max_retries=0) as client:
        assert elapsed(lambda: client.get(CHAT)) >= 0.3
        assert elapsed(lambda: client.set("offline")) >= 0.3
        server.latency = 0.6
        assert server.latency == 0.6
        assert elapsed(lambda: client.get_all()) >= 0.6
        server.latency = 0
        assert state(client.get(CHAT)) is ONLINE
    assert server.own_presence == "offline"
    server.reset()
    assert server.latency == 0.3, "reset goes back to the constructor's latency"


def test_a_faulted_answer_waits_out_the_latency_too(make_server):
    server = make_server("waha", latency=0.4)
    server.fail_next(status=503)
    with build_client(PresenceClient, server, max_retries=0) as client:
        started = time.perf_counter()
        with pytest.raises(ServerError):
            client.get(CHAT)
        assert time.perf_counter() - started >= 0.4


def test_latency_defaults_to_zero(server):
    assert server.latency == 0.0


@pytest.mark.parametrize("bad", [-0.001, -1, math.nan, math.inf, -math.inf, 1e300])
def test_bad_latencies_are_value_errors_and_change_nothing(make_server, server, bad):
    with pytest.raises(ValueError, match="latency"):
        make_server("wawp", latency=bad)
    server.latency = 0.25
    with pytest.raises(ValueError, match="latency"):
        server.latency = bad
    assert server.latency == 0.25


def test_latency_is_a_number(server):
    with pytest.raises(TypeError):
        server.latency = "1"  # type: ignore[assignment]
    assert server.latency == 0.0


def test_a_client_that_gives_up_leaves_the_fake_working(make_server):
    server = make_server("wawp", latency=3.0)
    server.set_presence(CHAT, "online")
    with build_client(PresenceClient, server, max_retries=0, timeout=0.3) as impatient:
        with pytest.raises(RequestTimeout):
            impatient.get(CHAT)
    assert eventually(lambda: server.requests_in_flight == 0), "the abandoned request is still counted"
    server.latency = 0
    with build_client(PresenceClient, server, max_retries=0) as client:
        assert state(client.get(CHAT)) is ONLINE


# ============================================================================== requests in flight


def test_requests_in_flight_are_counted_while_answered(server, client):
    assert (server.requests_in_flight, server.max_requests_in_flight) == (0, 0)
    client.get(CHAT)
    assert (server.requests_in_flight, server.max_requests_in_flight) == (0, 1)

    server.latency = 1.0
    reader = threading.Thread(target=client.get, args=(CHAT,))
    reader.start()
    try:
        assert eventually(lambda: server.requests_in_flight == 1), "a request waiting out its latency"
    finally:
        reader.join()
    assert server.requests_in_flight == 0
    server.reset()
    assert (server.requests_in_flight, server.max_requests_in_flight) == (0, 0)


@TWO_WAYS
def test_get_many_reaches_its_concurrency_under_latency(make_server, mode, backend):
    server = make_server(backend, latency=0.5)
    if mode == "sync":
        with build_client(PresenceClient, server, max_retries=0) as client:
            chats = client.get_many(IDS[:8], concurrency=4)
    else:

        async def run():
            async with build_client(AsyncPresenceClient, server, max_retries=0) as client:
                return await client.get_many(IDS[:8], concurrency=4)

        chats = asyncio.run(run())
    assert [c.id for c in chats] == IDS[:8]
    assert server.max_requests_in_flight == 4
    assert server.requests_in_flight == 0


def test_requests_in_flight_never_exceed_max_connections(make_server):
    server = make_server("waha", latency=0.3)
    with build_client(PresenceClient, server, max_retries=0, max_connections=3) as client:
        chats = client.get_many(IDS, concurrency=len(IDS))
    assert [c.id for c in chats] == IDS
    assert server.max_requests_in_flight == 3
