"""Sharing one client: many threads on one sync client, many tasks on one async client, each
getting its own answers; the GIL released while a sync call waits; and a clean exit while
threads wait in calls.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
import time

from presence_helpers import CHAT, build_client, utc

from wawp_presence import AsyncPresenceClient, PresenceClient, PresenceState

STATES = ["online", "offline", "typing", "recording", "paused"]


def chat_of(n: int) -> str:
    return f"4477{n:08d}@c.us"


def expected_of(n: int) -> tuple[PresenceState, object]:
    """What chat n holds: a state and a last-seen time of its own."""
    return PresenceState(STATES[n % len(STATES)]), utc(1_700_000_000 + 37 * n)


def store(server, numbers) -> None:
    for n in numbers:
        state, _ = expected_of(n)
        server.set_presence(chat_of(n), state.value, last_seen=1_700_000_000 + 37 * n)


def check(chat, n: int) -> None:
    state, last_seen = expected_of(n)
    assert chat.id == chat_of(n)
    assert len(chat.presences) == 1
    assert chat.presences[0].participant == chat_of(n)
    assert chat.presences[0].last_known_presence is state
    assert chat.presences[0].last_seen == last_seen


def test_32_threads_share_one_sync_client(make_server, backend):
    threads_n, chats_per_thread, rounds = 32, 4, 3
    server = make_server(backend)
    store(server, range(threads_n * chats_per_thread))
    client = build_client(PresenceClient, server, max_retries=0)
    barrier = threading.Barrier(threads_n)
    answers: dict[int, list[tuple[int, object]]] = {}
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        mine = [t * chats_per_thread + k for k in range(chats_per_thread)]
        got = []
        try:
            barrier.wait(timeout=20)
            for _ in range(rounds):
                order = random.sample(mine, len(mine))
                for n in order:
                    got.append((n, client.get(chat_of(n))))
        except BaseException as exc:
            errors.append(exc)
        answers[t] = got

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        barrier.abort()  # a thread stuck at the barrier leaves instead of hanging the run
        for t in threads:
            t.join(timeout=5)
        client.close()
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    for t in range(threads_n):
        assert len(answers[t]) == chats_per_thread * rounds
        for n, chat in answers[t]:
            assert n // chats_per_thread == t  # only the thread's own chats
            check(chat, n)
    assert sum(1 for r in server.requests if r["method"] == "GET") == threads_n * chats_per_thread * rounds


async def test_1000_gathered_tasks_share_one_async_client(make_server, backend):
    tasks_n, chats_n = 1000, 250
    server = make_server(backend)
    store(server, range(chats_n))
    numbers = [random.randrange(chats_n) for _ in range(tasks_n)]
    async with build_client(AsyncPresenceClient, server, max_retries=0, timeout=30) as client:
        results = await asyncio.wait_for(asyncio.gather(*(client.get(chat_of(n)) for n in numbers)), 60)
    assert len(results) == tasks_n
    for n, chat in zip(numbers, results, strict=False):
        check(chat, n)


def test_the_gil_is_released_while_a_sync_call_waits(make_server):
    server = make_server("wawp")
    server.set_presence(CHAT, "online")
    client = build_client(PresenceClient, server, max_retries=0, timeout=10)
    ticks: list[float] = []  # when a Python thread got to run, sampled
    stop = threading.Event()

    def count() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            if n % 1000 == 0:
                ticks.append(time.monotonic())

    thread = threading.Thread(target=count)
    thread.start()
    try:
        time.sleep(0.05)
        server.fail_next(delay=0.6)  # the answer comes 0.6 s late
        started = time.monotonic()
        chat = client.get(CHAT)
        ended = time.monotonic()
    finally:
        stop.set()
        thread.join(timeout=5)
        client.close()
    assert chat.is_online
    assert ended - started >= 0.55
    # The other thread ran all through the call, not just before and after it: a call holding
    # the GIL would leave no samples inside the window.
    inside = [t for t in ticks if started + 0.1 < t < ended - 0.1]
    assert inside, "no Python thread ran while the call waited"
    assert inside[-1] - inside[0] >= 0.25, f"Python threads ran for {inside[-1] - inside[0]:.2f} s of a 0.6 s call"


# The interpreter exits while 64 daemon threads call `get` in a loop on a server that answers after
# a second. At exit each of them wakes, wants the GIL, and is ended by the interpreter there
# (CPython up to 3.13 ends such a thread with pthread_exit, which unwinds it through the
# extension's frames with glibc's unwinder). The process must exit at once and cleanly: a Linux
# wheel linked with a second, static unwinder died here with SIGSEGV on every run (see
# scripts/manylinux_wheel.sh).
EXIT_WITH_THREADS_IN_CALLS = r"""
import threading, time
from wawp_presence import PresenceClient
from wawp_presence.testing import FakeServer

server = FakeServer(backend="wawp")
server.latency = 1.0
client = PresenceClient(
    instance_id=server.instance_id, access_token=server.access_token, base_url=server.url, timeout=30
)

def call_on():
    while True:
        try:
            client.get("447441429009@c.us")
        except Exception:
            pass

for _ in range(64):
    threading.Thread(target=call_on, daemon=True).start()
time.sleep(0.3)
print(server.requests_in_flight, flush=True)
"""


def test_the_process_exits_cleanly_with_threads_waiting_in_calls():
    for _ in range(3):
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", EXIT_WITH_THREADS_IN_CALLS], capture_output=True, text=True, timeout=60
        )
        took = time.monotonic() - started
        assert done.returncode == 0, f"exit status {done.returncode}; stderr: {done.stderr[-2000:]}"
        assert int(done.stdout) > 0, "no call was in flight at exit"
        assert took < 8, f"the exit waited for the calls ({took:.1f} s)"
        assert "Traceback" not in done.stderr and "panic" not in done.stderr, done.stderr[-2000:]
