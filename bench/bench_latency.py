"""wawp_presence where its users are: a server in another process that answers after 1 or 10 ms.

    pip install . aiohttp requests
    python bench/bench_latency.py [--quick] [--rounds N] [--seconds S] [--uvloop] [--pin]

Users' servers are a network away, so a call spends nearly all its time waiting. What users feel
is not the loopback microseconds of bench_wire.py but what each call costs their process in CPU
while it waits, how many calls go through at once, and whether the event loop their other tasks
share stays responsive. This script measures those, against peers doing the same work.

It starts three fake WAHA servers (bench/latency_server.py: the package's own `FakeServer`, in
child processes of their own, stopped at the end, also on an error or Ctrl-C) that answer every
``GET /api/default/presence/<chatId>`` after 0, 1 and 10 ms. Nothing leaves the machine.

Measured in steady state, after a ramp-up, each the median of several rounds; a round runs every
figure once, alternating the sides (ours then the peer's, then the peer's then ours, ...), so a
machine getting busier or quieter moves both sides of a ratio alike:

1. async, 1 ms and 10 ms: 64 asyncio tasks each awaiting ``aclient.get(chat)`` in a loop, vs
   64 tasks on one aiohttp ``ClientSession`` (``TCPConnector(limit=64)``) doing the same work
   (GET, ``json.loads``, frozen dataclasses with timezone-aware datetimes: peer_models.to_chat).
   Beside them on the same loop, a ticker task sleeps 1 ms at a time and records how late each
   wake-up is (when it woke minus when it asked to).
2. threads, 1 ms and 10 ms: 16 threads calling the sync ``client.get(chat)`` on one shared
   ``PresenceClient``, vs 16 threads with ``requests`` (one ``Session`` each), same work.
3. 0 ms: one task awaiting ``aclient.get`` in a loop beside the same ticker, vs aiohttp: does a
   client whose server answers at once leave the loop's other tasks any time?
4. For reference, the ticker alone on an idle loop: the loop's own timer lateness.

Per figure: calls/s, and each call's time end to end (calls in flight / calls per second);
this process's CPU time per call (user + system, all its threads, over the timed window only)
and its CPU use; the server's CPU per call and use, the most requests it had in flight at once
(to see that it is not the bottleneck, and that each side really keeps 64 or 16 calls in
flight), and how busy the whole machine was (/proc/stat, Linux); the ticker's wake-ups per
second and its lateness (median, p99, max). A lone sync call's time against each server, the
server's delay as a client sees it, bounds calls/s at (calls in flight / that time).

Printed: two tables of the medians (calls and CPU; the ticker), their spread over the rounds,
one ``ratio NAME=VALUE`` line per ratio with the target it is held to (CPU per call and ticker
lateness: lower is better; throughput and wake-ups: higher), notes (the ticker's own CPU, which
the async rows' CPU per call includes; rows bound by the server's delay or by a machine whose
CPUs were all busy), then the machine. Timings are only printed, never checked. ``--quick``
(1 s windows, 1 round) takes under 30 s, a full run (3 s windows, 5 rounds) about 3 minutes on
2 CPUs. ``--uvloop`` runs the async figures on uvloop. ``--pin`` runs the servers on the first
CPU and the clients on the others: a server a network away does not compete with its client for
CPU time, as these do on a small machine, where the scheduler's choices move the figures that
depend on the server's answer times (throughput, lateness) by several percent from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import math
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from latency_server import CHAT_ID, LAST_SEEN
from peer_models import Chat, to_chat
from timing import cpu_count, die_with_parent, event_loop, importable, open_on, pin_cpus

import wawp_presence
from wawp_presence import AsyncPresenceClient, PresenceClient, PresenceState

if TYPE_CHECKING:
    import aiohttp
    import requests

SESSION = "default"
SERVER_SCRIPT = Path(__file__).with_name("latency_server.py")
LATENCIES = {"0ms": 0.0, "1ms": 0.001, "10ms": 0.010}
TASKS = 64  # asyncio tasks in flight, and aiohttp's connector limit
THREADS = 16
TICK = 0.001  # the ticker's sleep
LONE_CALLS = 50  # sync calls, one at a time, timed to find each server's delay as a client sees it
SERVER_TIMEOUT = 20.0  # seconds to wait for a server's line before giving up on it


@dataclass(frozen=True)
class Settings:
    """How long each figure is measured for."""

    seconds: float  # each async and threads window
    zero_seconds: float  # each 0 ms window
    idle_seconds: float  # the ticker alone
    ramp: float  # before each window: connections in use, calls in flight
    warmup: float  # each window of the warm-up round, not reported
    rounds: int


FULL = Settings(seconds=3.0, zero_seconds=2.0, idle_seconds=1.0, ramp=0.2, warmup=0.5, rounds=5)
QUICK = Settings(seconds=1.0, zero_seconds=1.0, idle_seconds=0.5, ramp=0.1, warmup=0.2, rounds=1)


# --------------------------------------------------------------------------- the servers


class Server:
    """One bench/latency_server.py child: its URL, and its answers to ``reset`` and ``stats``."""

    def __init__(self, latency: float, cpu: int | None) -> None:
        self.latency = latency

        def in_child() -> None:
            die_with_parent()
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})

        # Its own session: Ctrl-C reaches only this script, which then stops the child itself.
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), "--latency", repr(latency), "--chat", CHAT_ID],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,
            preexec_fn=in_child,  # preexec_fn is safe: the servers start before any thread
        )
        self.url = ""

    def wait_ready(self) -> None:
        line = self.read_line()
        if not line.startswith("url="):
            raise RuntimeError(f"the {self.latency * 1e3:g} ms server said {line!r}, not its url")
        self.url = line.removeprefix("url=")

    def read_line(self) -> str:
        """One line from the child, waiting at most SERVER_TIMEOUT: a child that hangs or dies
        ends the run with an error instead of blocking it."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + SERVER_TIMEOUT
        buf = bytearray()
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError(f"the {self.latency * 1e3:g} ms server did not answer in {SERVER_TIMEOUT:g} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"the {self.latency * 1e3:g} ms server exited (code {self.proc.wait()})")
            buf += chunk
        return buf.decode().strip()

    def command(self, name: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"{name}\n".encode())
        except BrokenPipeError:
            raise RuntimeError(f"the {self.latency * 1e3:g} ms server exited (code {self.proc.wait()})") from None
        answer: dict[str, Any] = json.loads(self.read_line())
        if "error" in answer:
            raise RuntimeError(f"the {self.latency * 1e3:g} ms server: {answer['error']}")
        return answer

    def stop(self) -> None:
        """Close its stdin (it stops on EOF), then SIGTERM, then SIGKILL."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        for escalate in (None, self.proc.terminate, self.proc.kill):
            if escalate is not None and self.proc.poll() is None:
                escalate()
            try:
                self.proc.wait(timeout=3)
                break
            except subprocess.TimeoutExpired:
                continue
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextlib.contextmanager
def running_servers(cpu: int | None) -> Iterator[dict[str, Server]]:
    """One server per latency, all started before this process has any other thread (on `cpu`
    alone when given)."""
    with contextlib.ExitStack() as stack:
        servers: dict[str, Server] = {}
        for name, latency in LATENCIES.items():
            servers[name] = server = Server(latency, cpu)
            stack.callback(server.stop)
        for server in servers.values():
            server.wait_ready()
        yield servers


# --------------------------------------------------------------------------- the peers' work


def presence_url(base: str) -> str:
    return f"{base}/api/{SESSION}/presence/{quote(CHAT_ID, safe='@')}"


async def aiohttp_fetch(session: aiohttp.ClientSession, url: str) -> Chat:
    async with session.get(url) as resp:
        resp.raise_for_status()
        return to_chat(json.loads(await resp.read()))


def requests_fetch(session: requests.Session, url: str) -> Chat:
    resp = session.get(url, timeout=30)
    resp.raise_for_status()
    return to_chat(json.loads(resp.content))


def aiohttp_session() -> aiohttp.ClientSession:
    """The peer's session: connector limit TASKS. Only called when aiohttp is importable."""
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=TASKS))


# --------------------------------------------------------------------------- one timed window


@dataclass(frozen=True)
class Mark:
    """Where the counters stood at one edge of the timed window."""

    at: float
    cpu: float
    calls: int
    ticks: int
    box: tuple[int, int] | None  # the machine's busy and total CPU time (jiffies, all CPUs)


def box_cpu() -> tuple[int, int] | None:
    """Busy and total CPU time of the whole machine, every process, from /proc/stat (Linux);
    None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            values = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice, already in user and nice]
    total = sum(values[:8])
    return total - values[3] - values[4], total


class Window:
    """The counters of one figure, and the edges of its timed window.

    Whoever runs first after an edge (a worker after a call, the ticker after a wake-up) marks
    it, so the window ends on time even if a client never lets the loop run anything else. Safe
    to share between threads.
    """

    def __init__(self, ramp: float, seconds: float) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.lateness: list[float] = []  # seconds, one per ticker wake-up
        self.tick_due: float | None = None  # when the ticker's pending wake-up is due
        self.overdue = 0.0  # how late that pending wake-up already was when the window ended
        self.start_at = time.perf_counter() + ramp
        self.end_at = self.start_at + seconds
        self.first: Mark | None = None
        self.last: Mark | None = None
        self.aborted = False
        INTERRUPTS.window = self

    def _mark(self, now: float) -> Mark:
        return Mark(now, time.process_time(), self.calls, len(self.lateness), box_cpu())

    def _open(self) -> bool:
        if self.last is not None or self.aborted:
            return False
        now = time.perf_counter()
        if self.first is None:
            if now >= self.start_at:
                self.first = self._mark(now)
        elif now >= self.end_at:
            self.last = self._mark(now)
            if self.tick_due is not None:
                self.overdue = max(0.0, now - self.tick_due)
            return False
        return True

    def open(self) -> bool:
        with self.lock:
            return self._open()

    def count(self) -> bool:
        """One call done; whether to go on."""
        with self.lock:
            self.calls += 1
            return self._open()

    def sleeping(self, due: float) -> None:
        with self.lock:
            self.tick_due = due

    def tick(self, late: float) -> bool:
        """One ticker wake-up, ``late`` seconds after it was due; whether to go on."""
        with self.lock:
            self.tick_due = None
            self.lateness.append(late)
            return self._open()

    def abort(self) -> None:
        # No lock: the signal handler calls this, maybe while its own thread holds the lock.
        self.aborted = True


class Interrupts:
    """Ctrl-C and ``kill`` (SIGTERM) unwind the script, so the servers are stopped too.

    Outside a timed window they raise KeyboardInterrupt at once. Inside one they end the window
    (its callers stop after their current call) and the KeyboardInterrupt comes once it is over,
    from plain code: raised inside an asyncio task, it would leave the loop's tasks half-stopped.
    """

    def __init__(self) -> None:
        self.window: Window | None = None  # the window being measured
        self.requested = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self.handler)
        signal.signal(signal.SIGTERM, self.handler)

    def handler(self, signum: int, frame: object) -> None:
        self.requested = True
        if self.window is None:
            raise KeyboardInterrupt
        self.window.abort()

    def window_over(self) -> None:
        self.window = None
        if self.requested:
            raise KeyboardInterrupt


INTERRUPTS = Interrupts()


@dataclass(frozen=True)
class Figure:
    """One side of one figure in one round. None: not measured (no calls, no ticker, ...)."""

    calls_per_s: float
    ms_per_call: float | None  # calls in flight / calls per second: each call's time, end to end
    cpu_us_per_call: float | None
    cpu_share: float  # this process's CPU seconds per second (1.0 = one CPU busy)
    box_share: float | None = None  # the whole machine's busy share of all its CPUs (1.0 = all busy)
    server_us_per_call: float | None = None
    server_share: float | None = None
    peak_in_flight: float | None = None
    ticks_per_s: float | None = None
    late_median_ms: float | None = None
    late_p99_ms: float | None = None
    late_max_ms: float | None = None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, q in [0, 1]."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def figure(
    w: Window, in_flight: int, with_ticker: bool, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> Figure:
    if w.first is None or w.last is None:
        raise RuntimeError("the timed window never opened or closed")
    first, last = w.first, w.last
    wall = last.at - first.at
    calls = last.calls - first.calls
    cpu = last.cpu - first.cpu
    found: dict[str, Any] = {
        "calls_per_s": calls / wall,
        "ms_per_call": in_flight / calls * wall * 1e3 if calls and in_flight else None,
        "cpu_us_per_call": cpu / calls * 1e6 if calls else None,
        "cpu_share": cpu / wall,
    }
    if first.box is not None and last.box is not None and last.box[1] > first.box[1]:
        found["box_share"] = (last.box[0] - first.box[0]) / (last.box[1] - first.box[1])
    if before is not None and after is not None and w.calls:
        # The server's figures cover everything since its reset: the ramp, the window and the
        # calls still in flight when it closed, so they are divided by every call made.
        server_per_call = (after["cpu_s"] - before["cpu_s"]) / w.calls
        found["server_us_per_call"] = server_per_call * 1e6
        found["server_share"] = server_per_call * found["calls_per_s"]
        found["peak_in_flight"] = float(after["peak_in_flight"])
    if with_ticker:
        late = w.lateness[first.ticks : last.ticks]
        if w.overdue > 0:
            late.append(w.overdue)  # a wake-up the window ended waiting for: at least this late
        found["ticks_per_s"] = (last.ticks - first.ticks) / wall
        if late:
            found["late_median_ms"] = statistics.median(late) * 1e3
            found["late_p99_ms"] = percentile(late, 0.99) * 1e3
            found["late_max_ms"] = max(late) * 1e3
    return Figure(**found)


async def ticker(w: Window) -> None:
    """Sleep TICK at a time; record how late each wake-up is."""
    while True:
        due = time.perf_counter() + TICK
        w.sleeping(due)
        await asyncio.sleep(TICK)
        if not w.tick(time.perf_counter() - due):
            return


async def caller(fetch: Callable[[], Awaitable[object]], w: Window) -> None:
    while w.open():
        await fetch()
        if not w.count():
            return


async def async_window(fetch: Callable[[], Awaitable[object]], tasks: int, ramp: float, seconds: float) -> Window:
    """``tasks`` tasks awaiting ``fetch`` in a loop, and the ticker, until the window closes."""
    w = Window(ramp, seconds)
    jobs = [asyncio.ensure_future(caller(fetch, w)) for _ in range(tasks)]
    jobs.append(asyncio.ensure_future(ticker(w)))
    try:
        await asyncio.gather(*jobs)
    finally:
        w.abort()
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
    return w


async def idle_window(ramp: float, seconds: float) -> Window:
    """The ticker alone, closing its own window."""
    w = Window(ramp, seconds)
    await ticker(w)
    return w


def threads_window(calls: list[Callable[[], object]], ramp: float, seconds: float) -> Window:
    """One thread per entry of ``calls``, each calling it in a loop, until the window closes."""
    w = Window(ramp, seconds)
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            while w.open():
                call()
                if not w.count():
                    return
        except BaseException as exc:
            errors.append(exc)
            w.abort()

    threads = [threading.Thread(target=run, args=(call,), name=f"bench-caller-{i}") for i, call in enumerate(calls)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        w.abort()  # on Ctrl-C: the threads end after their current call
        for thread in threads:
            if thread.is_alive():
                thread.join()
    if errors:
        raise errors[0]
    return w


# --------------------------------------------------------------------------- the figures

Probe = Callable[[float, float], Figure]
"""One side of one figure: given (ramp, seconds), measures once."""
Samples = dict[str, list[Figure]]
"""Each row's figures, one per round."""


@dataclass
class Clients:
    """Everything that talks to the servers, opened once and shared by all rounds."""

    loop: asyncio.AbstractEventLoop
    servers: dict[str, Server]
    aclients: dict[str, AsyncPresenceClient] = field(default_factory=dict)
    clients: dict[str, PresenceClient] = field(default_factory=dict)
    sessions: dict[str, aiohttp.ClientSession] = field(default_factory=dict)
    requests_sessions: dict[str, list[requests.Session]] = field(default_factory=dict)


def on_server(server: Server | None, measure: Callable[[], Window], in_flight: int, with_ticker: bool) -> Figure:
    """Reset the server's counters, measure, and read what the server spent meanwhile."""
    before = None
    if server is not None:
        server.command("reset")
        before = server.command("stats")
    try:
        w = measure()
    finally:
        INTERRUPTS.window_over()
    after = server.command("stats") if server is not None else None
    return figure(w, in_flight, with_ticker, before, after)


def async_probe(c: Clients, key: str, fetch: Callable[[], Awaitable[object]], tasks: int) -> Probe:
    def probe(ramp: float, seconds: float) -> Figure:
        async def run() -> Window:  # run_until_complete wants a coroutine, not any awaitable
            return await async_window(fetch, tasks, ramp, seconds)

        return on_server(c.servers[key], lambda: c.loop.run_until_complete(run()), tasks, with_ticker=True)

    return probe


def threads_probe(c: Clients, key: str, calls: list[Callable[[], object]]) -> Probe:
    def probe(ramp: float, seconds: float) -> Figure:
        return on_server(c.servers[key], lambda: threads_window(calls, ramp, seconds), len(calls), with_ticker=False)

    return probe


def idle_probe(c: Clients) -> Probe:
    def probe(ramp: float, seconds: float) -> Figure:
        async def run() -> Window:
            return await idle_window(ramp, seconds)

        return on_server(None, lambda: c.loop.run_until_complete(run()), 0, with_ticker=True)

    return probe


@dataclass(frozen=True)
class Pair:
    """Ours and the peer's side of one figure (the peer None when its library is missing)."""

    ours: tuple[str, Probe]
    peer: tuple[str, Probe] | None
    zero: bool = False  # measured for Settings.zero_seconds, not Settings.seconds


def pairs(c: Clients) -> list[Pair]:
    found: list[Pair] = []
    for key in ("1ms", "10ms"):
        ours = async_probe(c, key, partial(c.aclients[key].get, CHAT_ID), TASKS)
        peer = None
        if key in c.sessions:
            fetch = partial(aiohttp_fetch, c.sessions[key], presence_url(c.servers[key].url))
            peer = (f"async_{key}_aiohttp", async_probe(c, key, fetch, TASKS))
        found.append(Pair((f"async_{key}_wawp", ours), peer))
    for key in ("1ms", "10ms"):
        ours = threads_probe(c, key, [partial(c.clients[key].get, CHAT_ID)] * THREADS)
        peer = None
        if key in c.requests_sessions:
            url = presence_url(c.servers[key].url)
            calls: list[Callable[[], object]] = [partial(requests_fetch, s, url) for s in c.requests_sessions[key]]
            peer = (f"threads_{key}_requests", threads_probe(c, key, calls))
        found.append(Pair((f"threads_{key}_wawp", ours), peer))
    ours = async_probe(c, "0ms", partial(c.aclients["0ms"].get, CHAT_ID), 1)
    peer = None
    if "0ms" in c.sessions:
        fetch = partial(aiohttp_fetch, c.sessions["0ms"], presence_url(c.servers["0ms"].url))
        peer = ("zero_aiohttp", async_probe(c, "0ms", fetch, 1))
    found.append(Pair(("zero_wawp", ours), peer, zero=True))
    return found


def one_round(c: Clients, s: Settings, index: int, warmup: bool) -> Samples:
    """Every figure once: the ticker alone, then each pair, ours first in even rounds and the
    peer first in odd ones."""
    samples: Samples = {}
    idle_seconds = s.warmup if warmup else s.idle_seconds
    samples["idle_ticker"] = [idle_probe(c)(0.0 if warmup else s.ramp, idle_seconds)]
    for pair in pairs(c):
        sides = [pair.ours] if pair.peer is None else [pair.ours, pair.peer]
        if index % 2:
            sides.reverse()
        seconds = s.warmup if warmup else (s.zero_seconds if pair.zero else s.seconds)
        for name, probe in sides:
            samples[name] = [probe(0.0 if warmup else s.ramp, seconds)]
    return samples


def check_answers(c: Clients) -> None:
    """One call through each client, to fail loudly before timing a wrong answer."""
    for key, server in c.servers.items():
        url = presence_url(server.url)
        chat = c.clients[key].get(CHAT_ID)
        seen = datetime.fromtimestamp(LAST_SEEN, timezone.utc)
        if chat.id != CHAT_ID or not chat.is_online or chat.last_seen != seen:
            raise RuntimeError(f"unexpected answer from the {key} server: {chat!r}")

        async def through_async(key: str = key) -> object:
            return await c.aclients[key].get(CHAT_ID)

        if c.loop.run_until_complete(through_async()) != chat:
            raise RuntimeError("the async client read the answer differently from the sync one")
        peers: list[Chat] = []
        if key in c.sessions:

            async def through_aiohttp(key: str = key, url: str = url) -> Chat:
                return await aiohttp_fetch(c.sessions[key], url)

            peers.append(c.loop.run_until_complete(through_aiohttp()))
        if key in c.requests_sessions:
            peers.append(requests_fetch(c.requests_sessions[key][0], url))
        for peer in peers:
            p = peer.presences[0]
            if p.last_known_presence is not PresenceState.ONLINE or p.last_seen != seen:
                raise RuntimeError(f"a peer read the answer wrongly: {peer!r}")


def lone_call_ms(client: PresenceClient, calls: int = LONE_CALLS) -> float:
    """The median time of a sync ``client.get``, one call at a time: the server's delay as a
    client sees it (timer granularity and wake-ups included), which bounds calls/s at
    calls in flight / this."""
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        client.get(CHAT_ID)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def measure(servers: dict[str, Server], s: Settings, use_uvloop: bool) -> tuple[Samples, dict[str, float]]:
    """Each row's figures, one per round, and each server's lone-call time (ms)."""
    with contextlib.ExitStack() as stack, event_loop(use_uvloop) as (loop, astack):
        c = Clients(loop, servers)
        with_aiohttp, with_requests = importable("aiohttp"), importable("requests")
        for key, server in servers.items():
            c.clients[key] = stack.enter_context(PresenceClient.waha(server.url, session=SESSION, max_retries=0))
            c.aclients[key] = open_on(
                loop, astack, partial(AsyncPresenceClient.waha, server.url, session=SESSION, max_retries=0)
            )
            if with_aiohttp:
                c.sessions[key] = open_on(loop, astack, aiohttp_session)
            if with_requests and key != "0ms":
                import requests

                c.requests_sessions[key] = [requests.Session() for _ in range(THREADS)]
                for session in c.requests_sessions[key]:
                    stack.callback(session.close)
        check_answers(c)
        started = time.perf_counter()
        one_round(c, s, 0, warmup=True)  # connections, caches, CPU clocks
        lone = {key: lone_call_ms(client) for key, client in c.clients.items()}
        print(f"  warm-up in {time.perf_counter() - started:.1f} s", flush=True)
        samples: Samples = {}
        for index in range(s.rounds):
            started = time.perf_counter()
            for name, found in one_round(c, s, index, warmup=False).items():
                samples.setdefault(name, []).extend(found)
            print(f"  round {index + 1}/{s.rounds} in {time.perf_counter() - started:.1f} s", flush=True)
    return samples, lone


# --------------------------------------------------------------------------- report


def medians(samples: Samples) -> dict[str, Figure]:
    """Each row's figure with every field the median over the rounds (None if never measured)."""
    found: dict[str, Figure] = {}
    for name, figures in samples.items():
        values: dict[str, Any] = {}
        for f in fields(Figure):
            measured = [getattr(one, f.name) for one in figures if getattr(one, f.name) is not None]
            values[f.name] = statistics.median(measured) if measured else None
        found[name] = Figure(**values)
    return found


ROWS = (
    ("idle_ticker", "ticker alone, idle loop"),
    ("async_1ms_wawp", "async 1 ms, 64 tasks: wawp_presence"),
    ("async_1ms_aiohttp", "async 1 ms, 64 tasks: aiohttp"),
    ("async_10ms_wawp", "async 10 ms, 64 tasks: wawp_presence"),
    ("async_10ms_aiohttp", "async 10 ms, 64 tasks: aiohttp"),
    ("threads_1ms_wawp", "threads 1 ms, 16 threads: wawp_presence"),
    ("threads_1ms_requests", "threads 1 ms, 16 threads: requests"),
    ("threads_10ms_wawp", "threads 10 ms, 16 threads: wawp_presence"),
    ("threads_10ms_requests", "threads 10 ms, 16 threads: requests"),
    ("zero_wawp", "0 ms, 1 task: wawp_presence"),
    ("zero_aiohttp", "0 ms, 1 task: aiohttp"),
)
Column = tuple[str, str, str, float]
"""(Figure field, heading, format, scale)."""
CALL_COLUMNS: tuple[Column, ...] = (
    ("calls_per_s", "calls/s", "{:,.0f}", 1.0),
    ("ms_per_call", "ms/call", "{:.2f}", 1.0),
    ("cpu_us_per_call", "CPU µs/call", "{:,.1f}", 1.0),
    ("cpu_share", "CPU %", "{:.0f}", 100.0),
    ("server_us_per_call", "srv µs/call", "{:,.1f}", 1.0),
    ("server_share", "srv CPU %", "{:.0f}", 100.0),
    ("box_share", "box busy %", "{:.0f}", 100.0),
    ("peak_in_flight", "in flight", "{:.0f}", 1.0),
)
TICKER_COLUMNS: tuple[Column, ...] = (
    ("ticks_per_s", "wake-ups/s", "{:,.0f}", 1.0),
    ("late_median_ms", "late p50 ms", "{:.2f}", 1.0),
    ("late_p99_ms", "late p99 ms", "{:.2f}", 1.0),
    ("late_max_ms", "late max ms", "{:.2f}", 1.0),
)
SPREAD = (
    ("calls_per_s", "calls/s", "{:,.0f}"),
    ("cpu_us_per_call", "CPU µs/call", "{:,.1f}"),
    ("late_p99_ms", "late p99 ms", "{:.2f}"),
)
LABEL_WIDTH = max(len(label) for _, label in ROWS)


def cell(value: float | None, fmt: str, scale: float = 1.0) -> str:
    return "-" if value is None else fmt.format(value * scale)


def print_table(title: str, figures: dict[str, Figure], columns: tuple[Column, ...], ticker: bool) -> None:
    print(f"  {title:<{LABEL_WIDTH}}" + "".join(f" {heading:>11}" for _, heading, _, _ in columns))
    for key, label in ROWS:
        f = figures.get(key)
        if ticker and key.startswith("threads"):
            continue  # no event loop, no ticker
        if f is None:
            print(f"  {label:<{LABEL_WIDTH}}  skipped")
        else:
            print(
                f"  {label:<{LABEL_WIDTH}}"
                + "".join(f" {cell(getattr(f, name), fmt, scale):>11}" for name, _, fmt, scale in columns)
            )


def print_spread(samples: Samples) -> None:
    print(f"  {'min - max over the rounds':<{LABEL_WIDTH}}" + "".join(f" {heading:>19}" for _, heading, _ in SPREAD))
    for key, label in ROWS:
        if key not in samples:
            continue
        line = f"  {label:<{LABEL_WIDTH}}"
        for name, _, fmt in SPREAD:
            values = [getattr(one, name) for one in samples[key] if getattr(one, name) is not None]
            span = f"{fmt.format(min(values))} - {fmt.format(max(values))}" if values else "-"
            line += f" {span:>19}"
        print(line)


@dataclass(frozen=True)
class Ratio:
    name: str
    ours: str
    peer: str
    field: str
    target: str  # "<= 0.5", ">= 1.0", or "" for information only


RATIOS = (
    Ratio("cpu_per_call_1ms_vs_aiohttp", "async_1ms_wawp", "async_1ms_aiohttp", "cpu_us_per_call", "<= 0.5"),
    Ratio("cpu_per_call_10ms_vs_aiohttp", "async_10ms_wawp", "async_10ms_aiohttp", "cpu_us_per_call", "<= 0.5"),
    Ratio(
        "cpu_per_call_threads_1ms_vs_requests", "threads_1ms_wawp", "threads_1ms_requests", "cpu_us_per_call", "<= 0.3"
    ),
    Ratio(
        "cpu_per_call_threads_10ms_vs_requests",
        "threads_10ms_wawp",
        "threads_10ms_requests",
        "cpu_us_per_call",
        "<= 0.3",
    ),
    Ratio("throughput_1ms_vs_aiohttp", "async_1ms_wawp", "async_1ms_aiohttp", "calls_per_s", ">= 1.0"),
    Ratio("throughput_10ms_vs_aiohttp", "async_10ms_wawp", "async_10ms_aiohttp", "calls_per_s", ">= 1.0"),
    Ratio("ticker_p99_1ms_vs_aiohttp", "async_1ms_wawp", "async_1ms_aiohttp", "late_p99_ms", "<= 1.0"),
    Ratio("ticker_p99_10ms_vs_aiohttp", "async_10ms_wawp", "async_10ms_aiohttp", "late_p99_ms", "<= 1.0"),
    Ratio("ticker_wakeups_0ms_vs_aiohttp", "zero_wawp", "zero_aiohttp", "ticks_per_s", ">= 0.5"),
    Ratio("throughput_threads_1ms_vs_requests", "threads_1ms_wawp", "threads_1ms_requests", "calls_per_s", ""),
    Ratio("throughput_threads_10ms_vs_requests", "threads_10ms_wawp", "threads_10ms_requests", "calls_per_s", ""),
)


def meets(value: float, target: str) -> bool:
    op, bound = target.split()
    return value <= float(bound) if op == "<=" else value >= float(bound)


def ratio_lines(figures: dict[str, Figure]) -> list[str]:
    lines = []
    for r in RATIOS:
        ours = getattr(figures[r.ours], r.field) if r.ours in figures else None
        peer = getattr(figures[r.peer], r.field) if r.peer in figures else None
        if r.peer not in figures:
            lines.append(f"{r.name}: skipped (pip install {r.peer.rsplit('_', 1)[1]})")
            continue
        if ours is None or peer is None or peer == 0:
            lines.append(f"{r.name}: not measured ({r.field} missing or 0 on one side)")
            continue
        value = ours / peer
        if not r.target:
            lines.append(f"ratio {r.name}={value:.2f}   (information, no target)")
            continue
        verdict = "met" if meets(value, r.target) else "MISSED"
        lines.append(f"ratio {r.name}={value:.2f}   target {r.target}: {verdict}")
    return lines


def ticker_cost(figures: dict[str, Figure]) -> str | None:
    """The ticker's own CPU, priced from the idle row, as a share of each async row's CPU per call."""
    idle = figures.get("idle_ticker")
    if idle is None or not idle.ticks_per_s:
        return None
    per_tick = idle.cpu_share / idle.ticks_per_s
    groups: list[str] = []
    for group, label in (("async_1ms", "async 1 ms"), ("async_10ms", "async 10 ms"), ("zero", "0 ms")):
        sides = [
            f"{f.ticks_per_s * per_tick / f.calls_per_s * 1e6:.1f} µs {side}"
            for key, side in ((f"{group}_wawp", "ours"), (f"{group}_aiohttp", "aiohttp"))
            if (f := figures.get(key)) is not None and f.ticks_per_s is not None and f.calls_per_s
        ]
        if sides:
            groups.append(f"{label}: {', '.join(sides)}")
    return (
        f"the ticker alone costs {per_tick * 1e6:.0f} µs of CPU per wake-up (idle row); at that price, which "
        f"a busy loop lowers, the async rows' CPU per call includes at most {'; '.join(groups)}"
    )


def notes(figures: dict[str, Figure], lone: dict[str, float], nproc: int) -> list[str]:
    """What a reader of the figures should know: the ticker's own cost, figures taken with the
    machine's CPUs all busy, a busy server, fewer calls in flight than asked for."""
    found: list[str] = []
    cost = ticker_cost(figures)
    if cost is not None:
        found.append(cost)
    concurrency = {"async": TASKS, "threads": THREADS, "zero": 1}
    capped: list[str] = []  # rows whose calls/s the server's delay bounds
    busy: list[tuple[str, float]] = []  # (row, share of a CPU used by other processes)
    measured = [(key, label, f) for key, label in ROWS if (f := figures.get(key)) is not None]
    for key, label, f in measured:
        if f.box_share is not None and f.box_share >= 0.9:
            busy.append((label, max(0.0, f.box_share * nproc - f.cpu_share - (f.server_share or 0.0))))
        if (f.server_share or 0.0) >= 0.8:
            found.append(f"{label}: the server used {f.server_share:.0%} of a CPU; it may be holding calls back")
        kind, _, rest = key.partition("_")
        wanted = concurrency.get(kind)
        if wanted is not None and f.peak_in_flight is not None and f.peak_in_flight < wanted:
            found.append(f"{label}: the server saw at most {f.peak_in_flight:.0f} requests in flight, not {wanted}")
        delay = lone.get(rest.split("_")[0]) if kind in ("async", "threads") else None
        if wanted is not None and delay and f.calls_per_s >= 0.85 * wanted / delay * 1e3:
            capped.append(f"{label} ({f.calls_per_s / (wanted / delay * 1e3):.0%})")
    if capped:
        found.append(
            "calls/s reached 85% or more of (calls in flight / a lone call's time), the most the server's "
            f"delay allows, in: {', '.join(capped)}; a throughput ratio between two such rows is 1.0 give or take noise"
        )
    if busy:
        rows = "every figure" if len(busy) == len(measured) else ", ".join(label for label, _ in busy)
        others = [share for _, share in busy]
        found.append(
            f"all {nproc} CPUs were busy (>= 90%) during {rows}; other processes took "
            f"{min(others):.0%} - {max(others):.0%} of a CPU: calls/s and the ticker's lateness there measure "
            "CPU contention more than the server's delay (CPU per call holds up better)"
        )
    return found


def load_average() -> tuple[float, float, float]:
    return os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)


def version(name: str) -> str:
    try:
        return str(importlib.import_module(name).__version__)
    except (ImportError, AttributeError):
        return "-"


def machine_line(nproc: int, load_at_start: tuple[float, float, float], loop_name: str, pinned: bool) -> str:
    start = "/".join(f"{x:.2f}" for x in load_at_start)
    end = "/".join(f"{x:.2f}" for x in load_average())
    return (
        f"machine nproc={nproc} python={platform.python_version()} wawp_presence={wawp_presence.__version__} "
        f"aiohttp={version('aiohttp')} requests={version('requests')} loop={loop_name} "
        f"load_1/5/15_at_start={start} at_end={end} ({platform.system()} {platform.machine()}; "
        f"{'servers pinned apart from the clients' if pinned else 'servers and clients share the CPUs'})"
    )


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 s windows, 1 round (under 30 s, not 3 min)")
    ap.add_argument("--rounds", type=int, help="rounds to take the medians of (default 5; 1 with --quick)")
    ap.add_argument("--seconds", type=float, help="length of each timed window (default 3; 1 with --quick)")
    ap.add_argument("--uvloop", action="store_true", help="run the async figures on uvloop, when installed")
    ap.add_argument(
        "--pin",
        action="store_true",
        help="the servers on the first CPU, the clients on the others, as a server on another machine would be",
    )
    args = ap.parse_args()

    s = QUICK if args.quick else FULL
    if args.rounds is not None:
        if args.rounds < 1:
            ap.error("--rounds must be at least 1")
        s = replace(s, rounds=args.rounds)
    if args.seconds is not None:
        if not args.seconds > 0:
            ap.error("--seconds must be positive")
        s = replace(s, seconds=args.seconds, zero_seconds=min(args.seconds, FULL.zero_seconds))
    use_uvloop = args.uvloop and importable("uvloop")
    if args.uvloop and not use_uvloop:
        print("bench_latency: uvloop is not installed (pip install uvloop); using asyncio's loop", flush=True)
    loop_name = f"uvloop {version('uvloop')}" if use_uvloop else "asyncio"
    missing = [name for name in ("aiohttp", "requests") if not importable(name)]
    if missing:
        print(f"bench_latency: {' and '.join(missing)} not installed; their figures are skipped", flush=True)

    INTERRUPTS.install()
    load_at_start, nproc = load_average(), cpu_count()
    if load_at_start[0] > nproc / 4:
        print(
            f"bench_latency: note: the machine has been busy (1-minute load {load_at_start[0]:.2f} "
            f"on {nproc} CPUs); if it still is, the figures will be noisier",
            flush=True,
        )
    split = pin_cpus() if args.pin else None
    if args.pin and split is None:
        print("bench_latency: --pin needs 2 CPUs and sched_setaffinity; not pinning", flush=True)
    started = time.perf_counter()
    with running_servers(None if split is None else split[0]) as servers:
        print("servers: " + ", ".join(f"{key} on {server.url}" for key, server in servers.items()), flush=True)
        if split is not None:
            os.sched_setaffinity(0, split[1])  # before the clients start their threads
            print(f"pinned: servers on CPU {split[0]}, clients on CPUs {','.join(map(str, sorted(split[1])))}")
        samples, lone = measure(servers, s, use_uvloop)
    figures = medians(samples)

    print()
    print(
        f"wawp_presence against a server in another process ({'quick' if args.quick else 'full'} run, "
        f"{time.perf_counter() - started:.0f} s; {s.rounds} round(s) of {s.seconds:g} s windows "
        f"({s.zero_seconds:g} s at 0 ms); medians; CPU % = CPU seconds per second, 100 = one CPU)"
    )
    print(
        "  a lone call (sync client.get, one at a time, median of "
        f"{LONE_CALLS}): {', '.join(f'{key} server {ms:.2f} ms' for key, ms in lone.items())}"
    )
    print()
    print_table("calls, and the CPU they cost", figures, CALL_COLUMNS, ticker=False)
    print()
    print_table("the 1 ms ticker on the same loop", figures, TICKER_COLUMNS, ticker=True)
    if s.rounds > 1:
        print()
        print_spread(samples)
    print()
    for line in ratio_lines(figures):
        print(line)
    found = notes(figures, lone, nproc)
    if found:
        print()
        for line in found:
            print(f"note: {line}")
    print(machine_line(nproc, load_at_start, loop_name, pinned=split is not None))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nbench_latency: interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
