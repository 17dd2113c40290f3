"""wawp_presence against the wire: one local nginx, wrk as the floor, aiohttp and pydantic as peers.

    pip install . aiohttp pydantic && python bench/bench_wire.py [--quick] [--pin]

Needs nginx and wrk (``apt-get install nginx wrk``). The script starts its own nginx (one
worker, keep-alive, no access log) on a free 127.0.0.1 port from a temporary directory, serves
a fixed WAHA ``GET /api/default/presence/<chatId>`` answer, and stops it at the end, also on an
error or Ctrl-C. Nothing leaves the machine.

Measured after a warm-up, each the median of several rounds; a round runs every figure once,
so that a machine getting busier or quieter moves both sides of a ratio alike:

1. wrk -t1 -c1 (latency per call, 1e6 / req/s) and wrk -t1 -c64 (req/s): what the machine and
   nginx allow, with no Python at all.
2. sync ``client.get`` one call at a time.
3. async ``await aclient.get`` one call at a time.
4. aiohttp one call at a time, doing the same work (read, json.loads, frozen dataclasses with
   timezone-aware datetimes).
5. 64 in flight: ``asyncio.gather`` of ``aclient.get`` in batches of 64, vs aiohttp with a
   semaphore of 64 (connector limit 64).
6. ``get_many`` (sync and async, concurrency 16 and 64): best throughput.
7. ``parse_event(body)`` vs pydantic v2 ``model_validate_json(body)`` on WAHA webhook bodies.
8. ``import wawp_presence`` extra wall time over a bare interpreter start.

Printed: a table of the raw figures, then one ``ratio NAME=VALUE`` line per figure (times over
times where lower is better, throughput over throughput where higher is better;
``import_extra_ms`` is milliseconds), then the machine. Timings are only printed, never checked.

On VMs a wake-up across CPUs can cost tens of µs, and whether nginx and its client share a CPU
is up to the scheduler, so one-at-a-time figures can flip between two levels from one round to
the next (the min - max column shows it). ``--pin`` puts nginx's worker on the first CPU and
everything else on the others, which steadies them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from peer_models import Chat, to_chat
from timing import cpu_count, die_with_parent, event_loop, importable, open_on, pin_cpus

import wawp_presence
from wawp_presence import (
    AsyncPresenceClient,
    PresenceClient,
    parse_event,
)

if TYPE_CHECKING:
    import aiohttp

CHAT_ID = "447441429009@c.us"
SESSION = "default"
ROUTE = f"/api/{SESSION}/presence/"
ANSWER = (
    '{"id":"447441429009@c.us","presences":[{"participant":"447441429009@c.us",'
    '"lastKnownPresence":"online","lastSeen":1700000000}]}'
)
NGINX_CONF = """\
worker_processes 1;
{affinity}
daemon off;
master_process on;
pid {root}/nginx.pid;
error_log {root}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    keepalive_timeout 75s;
    keepalive_requests 100000000;
    client_body_temp_path {root}/tmp/client_body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;

    server {{
        listen 127.0.0.1:{port} backlog=1024;
        location {route} {{
            default_type application/json;
            return 200 '{answer}';
        }}
    }}
}}
"""
TOOL_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")
WRK_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")
GET_MANY_CONCURRENCY = (16, 64)
IN_FLIGHT = 64

GROUP_ID = "120363025246125486@g.us"
SINGLE_EVENT = (
    b'{"id": "evt_01JX7Q2V4M3K8R5T6Y9W0Z1A2B", "timestamp": 1741249702485, '
    b'"event": "presence.update", "session": "default", "engine": "NOWEB", '
    b'"me": {"id": "447441429009@c.us", "pushName": "Me"}, '
    b'"environment": {"version": "2026.7.1", "engine": "NOWEB", "tier": "CORE"}, '
    b'"payload": {"id": "447441429009@c.us", "presences": [{"participant": "447441429009@c.us", '
    b'"lastKnownPresence": "typing", "lastSeen": null}]}}'
)
GROUP_WORDS = ("online", "offline", "typing", "recording", "paused")


@dataclass(frozen=True)
class Settings:
    """How long each figure is measured for."""

    wrk_seconds: int
    reps: int
    sequential_calls: int
    in_flight_calls: int
    get_many_ids: int
    parse_loops: int
    parse_repeat: int
    import_runs: int


FULL = Settings(
    wrk_seconds=3,
    reps=5,
    sequential_calls=2000,
    in_flight_calls=3200,
    get_many_ids=4000,
    parse_loops=20000,
    parse_repeat=5,
    import_runs=30,
)
QUICK = Settings(
    wrk_seconds=1,
    reps=3,
    sequential_calls=600,
    in_flight_calls=1280,
    get_many_ids=1500,
    parse_loops=5000,
    parse_repeat=3,
    import_runs=10,
)


# --------------------------------------------------------------------------- the peers' work


def group_event() -> bytes:
    """A presence.update body for a group of 10, some with a last-seen time."""
    presences = [
        {
            "participant": f"4474414290{i:02d}@c.us",
            "lastKnownPresence": GROUP_WORDS[i % len(GROUP_WORDS)],
            "lastSeen": 1741249000 + i if i % 2 else None,
        }
        for i in range(10)
    ]
    doc = json.loads(SINGLE_EVENT)
    doc["payload"] = {"id": GROUP_ID, "presences": presences}
    return json.dumps(doc).encode()


def pydantic_event_model() -> type[Any] | None:
    """A pydantic v2 model of the whole webhook body (nested models, a datetime, an enum for the
    presence word), or None without pydantic."""
    try:
        from pydantic import BaseModel, ConfigDict, Field
    except ImportError:
        return None

    class Presence(str, Enum):
        ONLINE = "online"
        OFFLINE = "offline"
        TYPING = "typing"
        RECORDING = "recording"
        PAUSED = "paused"

    class Frozen(BaseModel):
        model_config = ConfigDict(frozen=True, populate_by_name=True)

    class ParticipantModel(Frozen):
        participant: str
        last_known_presence: Presence = Field(alias="lastKnownPresence")
        last_seen: datetime | None = Field(default=None, alias="lastSeen")

    class ChatModel(Frozen):
        id: str
        presences: tuple[ParticipantModel, ...]

    class Me(Frozen):
        id: str
        push_name: str | None = Field(default=None, alias="pushName")

    class Environment(Frozen):
        version: str
        engine: str
        tier: str

    class EventModel(Frozen):
        id: str
        timestamp: datetime
        event: Literal["presence.update"]
        session: str
        engine: str
        me: Me | None = None
        environment: Environment | None = None
        payload: ChatModel

    EventModel.model_rebuild()
    return EventModel


# --------------------------------------------------------------------------- tools and nginx


def find_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in TOOL_DIRS:
        path = Path(folder) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
        conn.request("GET", ROUTE + CHAT_ID)
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def nginx_version(nginx: str) -> tuple[int, ...]:
    out = subprocess.run([nginx, "-v"], check=False, capture_output=True, text=True).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(part) for part in match.groups()) if match else (0,)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()  # SIGTERM: nginx's fast shutdown, workers included
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_nginx(nginx: str, root: Path, cpu: int | None) -> tuple[subprocess.Popen[bytes], int]:
    """Start nginx in the foreground from ``root``; a few ports are tried if one is taken."""
    affinity = "" if cpu is None else f"worker_cpu_affinity {1 << cpu:b};"
    # -e (nginx 1.19.5+) keeps even the log written before nginx.conf is read in ``root``.
    startup_log = ["-e", str(root / "error.log")] if nginx_version(nginx) >= (1, 19, 5) else []
    (root / "tmp").mkdir(exist_ok=True)
    for _ in range(5):
        port = free_port()
        conf = root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=root, port=port, route=ROUTE, answer=ANSWER, affinity=affinity))
        # Its own session: Ctrl-C reaches only this script, which then stops nginx itself.
        proc = subprocess.Popen(
            [nginx, "-p", str(root), "-c", str(conf), *startup_log],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,  # preexec_fn is safe: no threads yet
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            if answers(port):
                return proc, port
            time.sleep(0.05)
        stop(proc)
    log = (root / "error.log").read_text(errors="replace") if (root / "error.log").exists() else ""
    raise RuntimeError(f"nginx did not start; its error log:\n{log}")


@contextlib.contextmanager
def running_nginx(nginx: str, cpu: int | None = None) -> Iterator[int]:
    with tempfile.TemporaryDirectory(prefix="bench-wire-nginx-") as tmp:
        proc, port = start_nginx(nginx, Path(tmp), cpu)
        try:
            yield port
        finally:
            stop(proc)


def raise_on_sigterm() -> None:
    """A ``kill`` of the script unwinds like Ctrl-C, so nginx is stopped too."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


# --------------------------------------------------------------------------- measuring

Probe = Callable[[], float]
"""One repetition of one figure: runs, returns µs per call or calls per second."""
Samples = dict[str, list[float]]
"""Each figure's values, one per repetition."""


@dataclass(frozen=True)
class Wire:
    """Everything that talks to nginx, opened once and shared by all repetitions."""

    wrk: str
    url: str
    client: PresenceClient
    conn: http.client.HTTPConnection
    loop: asyncio.AbstractEventLoop
    aclient: AsyncPresenceClient
    session: aiohttp.ClientSession | None
    ids: list[str]


def chat_ids(n: int) -> list[str]:
    return [f"4477{i:08d}@c.us" for i in range(n)]


def wrk_rps(wrk: str, url: str, connections: int, seconds: int) -> float:
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = WRK_RPS.search(out)
    if match is None:
        raise RuntimeError(f"no Requests/sec line in wrk's output:\n{out}")
    return float(match.group(1))


def per_call_us(calls: int, fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls * 1e6


def throughput(calls: int, fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return calls / (time.perf_counter() - started)


async def aper_call_us(calls: int, fn: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await fn()
    return (time.perf_counter() - started) / calls * 1e6


async def athroughput(calls: int, fn: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await fn()
    return calls / (time.perf_counter() - started)


async def gather_batches(aclient: AsyncPresenceClient, total: int) -> None:
    """``total`` calls, IN_FLIGHT at a time: asyncio.gather of aclient.get, batch after batch."""
    for _ in range(total // IN_FLIGHT):
        await asyncio.gather(*(aclient.get(CHAT_ID) for _ in range(IN_FLIGHT)))


async def gather_semaphore(fetch: Callable[[], Awaitable[object]], total: int) -> None:
    """``total`` calls with at most IN_FLIGHT running: asyncio.gather under a semaphore."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> object:
        async with gate:
            return await fetch()

    await asyncio.gather(*(one() for _ in range(total)))


def stdlib_fetch(conn: http.client.HTTPConnection) -> Chat:
    """http.client on one kept-alive connection, same parsing: what plain Python reaches."""
    conn.request("GET", ROUTE + CHAT_ID)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"nginx answered {resp.status}")
    return to_chat(json.loads(body))


async def aiohttp_fetch(session: aiohttp.ClientSession, url: str) -> Chat:
    async with session.get(url) as resp:
        resp.raise_for_status()
        return to_chat(json.loads(await resp.read()))


def probes(w: Wire, s: Settings, scale: float) -> dict[str, Probe]:
    """Every figure measured against nginx; ``scale`` < 1 gives the short warm-up versions."""
    seconds = s.wrk_seconds if scale >= 1 else 1
    calls = max(IN_FLIGHT, int(s.sequential_calls * scale))
    total = max(IN_FLIGHT, int(s.in_flight_calls * scale) // IN_FLIGHT * IN_FLIGHT)
    ids = w.ids[: max(IN_FLIGHT, int(len(w.ids) * scale))]

    def on_loop(make: Callable[[], Awaitable[float]]) -> Probe:
        async def call() -> float:  # run_until_complete wants a coroutine, not any awaitable
            return await make()

        return lambda: w.loop.run_until_complete(call())

    found: dict[str, Probe] = {
        "wrk_c1_rps": partial(wrk_rps, w.wrk, w.url, 1, seconds),
        "wrk_c64_rps": partial(wrk_rps, w.wrk, w.url, IN_FLIGHT, seconds),
        "sync_get_us": partial(per_call_us, calls, partial(w.client.get, CHAT_ID)),
        "http_client_get_us": partial(per_call_us, calls, partial(stdlib_fetch, w.conn)),
        "async_get_us": on_loop(partial(aper_call_us, calls, partial(w.aclient.get, CHAT_ID))),
        "gather64_rps": on_loop(partial(athroughput, total, partial(gather_batches, w.aclient, total))),
        "sem64_rps": on_loop(
            partial(athroughput, total, partial(gather_semaphore, partial(w.aclient.get, CHAT_ID), total))
        ),
    }
    for c in GET_MANY_CONCURRENCY:
        found[f"sync_get_many_c{c}_rps"] = partial(throughput, len(ids), partial(w.client.get_many, ids, concurrency=c))
        found[f"async_get_many_c{c}_rps"] = on_loop(
            partial(athroughput, len(ids), partial(w.aclient.get_many, ids, concurrency=c))
        )
    if w.session is not None:
        fetch = partial(aiohttp_fetch, w.session, w.url)
        found["aiohttp_get_us"] = on_loop(partial(aper_call_us, calls, fetch))
        found["aiohttp_sem64_rps"] = on_loop(partial(athroughput, total, partial(gather_semaphore, fetch, total)))
    return found


def in_rounds(found: dict[str, Probe], reps: int) -> Samples:
    """``reps`` rounds, each running every probe once, so that a machine getting busier or
    quieter during the run moves all the figures of a ratio alike."""
    samples: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(reps):
        for name, probe in found.items():
            samples[name].append(probe())
    return samples


def check_answers(w: Wire) -> None:
    """One call through each client, to fail loudly before timing a wrong answer."""
    chat = w.client.get(CHAT_ID)
    if chat.id != CHAT_ID or not chat.is_online:
        raise RuntimeError(f"unexpected answer from nginx: {chat!r}")

    async def through_async() -> object:
        return await w.aclient.get(CHAT_ID)

    if w.loop.run_until_complete(through_async()) != chat:
        raise RuntimeError("the async client read nginx's answer differently")
    if stdlib_fetch(w.conn).id != CHAT_ID:
        raise RuntimeError("http.client read nginx's answer wrongly")


def aiohttp_session() -> aiohttp.ClientSession:
    """The peer's session: connector limit IN_FLIGHT. Only called when aiohttp is importable."""
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT))


def measure_wire(wrk: str, port: int, s: Settings) -> Samples:
    base = f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack, event_loop() as (loop, astack):
        client = stack.enter_context(PresenceClient.waha(base, session=SESSION, max_retries=0))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        stack.callback(conn.close)
        aclient = open_on(loop, astack, lambda: AsyncPresenceClient.waha(base, session=SESSION, max_retries=0))
        session = open_on(loop, astack, aiohttp_session) if importable("aiohttp") else None
        w = Wire(wrk, base + ROUTE + CHAT_ID, client, conn, loop, aclient, session, chat_ids(s.get_many_ids))
        check_answers(w)
        in_rounds(probes(w, s, scale=0.2), reps=1)  # warm-up: connections, caches, CPU clocks
        samples = in_rounds(probes(w, s, scale=1.0), reps=s.reps)
    samples["wrk_c1_us"] = [1e6 / rps for rps in samples["wrk_c1_rps"]]
    return samples


def measure_parse(s: Settings) -> Samples:
    """Best per-call time of parse_event and of pydantic on each body, alternating repeats."""
    model = pydantic_event_model()
    timers: dict[str, timeit.Timer] = {}
    for name, body in (("single", SINGLE_EVENT), ("group10", group_event())):
        event = parse_event(body)
        if len(event.chat.presences) != len(json.loads(body)["payload"]["presences"]):
            raise RuntimeError(f"parse_event read the {name} body wrongly: {event!r}")
        timers[f"parse_event_{name}_us"] = timeit.Timer(partial(parse_event, body))
        if model is not None:
            model.model_validate_json(body)
            timers[f"pydantic_{name}_us"] = timeit.Timer(partial(model.model_validate_json, body))
    best = {name: math.inf for name in timers}
    for _ in range(s.parse_repeat):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(s.parse_loops) / s.parse_loops * 1e6)
    return {name: [value] for name, value in best.items()}


def wall_ms(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1e3


def measure_import(s: Settings) -> Samples:
    wall_ms("import wawp_presence")
    wall_ms("pass")
    bare: list[float] = []
    loaded: list[float] = []
    for _ in range(s.import_runs):
        bare.append(wall_ms("pass"))
        loaded.append(wall_ms("import wawp_presence"))
    return {"python_pass_ms": bare, "python_import_ms": loaded}


def importtime(code: str) -> dict[str, tuple[int, int]]:
    """-X importtime: module -> (self µs, cumulative µs)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    ).stderr
    modules: dict[str, tuple[int, int]] = {}
    for line in err.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        modules[parts[2].strip()] = (int(parts[0]), int(parts[1]))
    return modules


def top_imports(n: int = 5, runs: int = 5) -> list[tuple[str, int, int]]:
    """The modules ``import wawp_presence`` adds to a bare start, largest self time first;
    each time the least of ``runs`` runs, as one run is easily disturbed."""
    baseline = importtime("pass")
    best: dict[str, tuple[int, int]] = {}
    for _ in range(runs):
        for name, (own, cum) in importtime("import wawp_presence").items():
            if name not in baseline:
                was = best.get(name, (own, cum))
                best[name] = (min(own, was[0]), min(cum, was[1]))
    added = [(name, own, cum) for name, (own, cum) in best.items()]
    return sorted(added, key=lambda row: row[1], reverse=True)[:n]


# --------------------------------------------------------------------------- report


def ratio(numerator: str, denominator: str, figures: dict[str, float]) -> float | None:
    if numerator in figures and denominator in figures:
        return figures[numerator] / figures[denominator]
    return None


def geometric_mean_ratio(pairs: list[tuple[str, str]], figures: dict[str, float]) -> float | None:
    ratios = [ratio(a, b, figures) for a, b in pairs]
    if any(r is None for r in ratios):
        return None
    return math.exp(statistics.fmean(math.log(r) for r in ratios if r is not None))


TABLE = (
    ("wrk_c1_us", "wrk -t1 -c1: time per call", "µs"),
    ("wrk_c1_rps", "wrk -t1 -c1: throughput", "req/s"),
    ("wrk_c64_rps", "wrk -t1 -c64: throughput", "req/s"),
    ("sync_get_us", "sync client.get, one at a time", "µs"),
    ("async_get_us", "async await aclient.get, one at a time", "µs"),
    ("aiohttp_get_us", "aiohttp get + json + dataclass, one at a time", "µs"),
    ("http_client_get_us", "http.client keep-alive + json + dataclass (info)", "µs"),
    ("gather64_rps", "gather of aclient.get, batches of 64", "req/s"),
    ("sem64_rps", "aclient.get under a semaphore of 64 (info)", "req/s"),
    ("aiohttp_sem64_rps", "aiohttp under a semaphore of 64, limit 64", "req/s"),
    ("sync_get_many_c16_rps", "sync get_many, concurrency 16", "req/s"),
    ("sync_get_many_c64_rps", "sync get_many, concurrency 64", "req/s"),
    ("async_get_many_c16_rps", "async get_many, concurrency 16", "req/s"),
    ("async_get_many_c64_rps", "async get_many, concurrency 64", "req/s"),
    ("get_many_best_rps", "get_many, best of the four", "req/s"),
    ("parse_event_single_us", "parse_event, 1 participant", "µs"),
    ("pydantic_single_us", "pydantic model_validate_json, 1 participant", "µs"),
    ("parse_event_group10_us", "parse_event, group of 10", "µs"),
    ("pydantic_group10_us", "pydantic model_validate_json, group of 10", "µs"),
    ("python_pass_ms", "python -c pass", "ms"),
    ("python_import_ms", "python -c 'import wawp_presence'", "ms"),
    ("import_extra_ms", "import wawp_presence, extra", "ms"),
)


def medians(samples: Samples) -> dict[str, float]:
    """Each figure's median, plus the figures derived from several."""
    figures = {name: statistics.median(values) for name, values in samples.items()}
    many = [f"{mode}_get_many_c{c}_rps" for mode in ("sync", "async") for c in GET_MANY_CONCURRENCY]
    if all(name in figures for name in many):
        figures["get_many_best_rps"] = max(figures[name] for name in many)
    if "python_import_ms" in figures and "python_pass_ms" in figures:
        figures["import_extra_ms"] = figures["python_import_ms"] - figures["python_pass_ms"]
    return figures


def shown(value: float, unit: str) -> str:
    return f"{value:,.0f}" if unit == "req/s" else f"{value:,.2f}"


def print_table(figures: dict[str, float], samples: Samples) -> None:
    width = max(len(label) for _, label, _ in TABLE)
    print(f"  {'':<{width}}  {'median':>12}        {'min - max over the rounds':>27}")
    for key, label, unit in TABLE:
        if key not in figures:
            print(f"  {label:<{width}}  {'-':>12}")
            continue
        line = f"  {label:<{width}}  {shown(figures[key], unit):>12} {unit:<6}"
        values = samples.get(key, [])
        if len(values) > 1:
            line += f" {shown(min(values), unit):>12} - {shown(max(values), unit)}"
        print(line)


def ratio_lines(figures: dict[str, float]) -> list[str]:
    missing_aiohttp = "skipped (pip install aiohttp)"
    missing_pydantic = "skipped (pip install pydantic)"
    parse_pairs = [("parse_event_single_us", "pydantic_single_us"), ("parse_event_group10_us", "pydantic_group10_us")]
    rows: list[tuple[str, float | None, str]] = [
        ("sync_get_per_call_vs_wrk_c1", ratio("sync_get_us", "wrk_c1_us", figures), ""),
        ("async_get_per_call_vs_wrk_c1", ratio("async_get_us", "wrk_c1_us", figures), ""),
        ("async_get_time_vs_aiohttp", ratio("async_get_us", "aiohttp_get_us", figures), missing_aiohttp),
        ("gather64_throughput_vs_aiohttp", ratio("gather64_rps", "aiohttp_sem64_rps", figures), missing_aiohttp),
        ("get_many_best_throughput_vs_wrk_c64", ratio("get_many_best_rps", "wrk_c64_rps", figures), ""),
        ("parse_event_time_vs_pydantic", geometric_mean_ratio(parse_pairs, figures), missing_pydantic),
        ("import_extra_ms", figures.get("import_extra_ms"), ""),
    ]
    return [f"ratio {name}={value:.2f}" if value is not None else f"{name}: {why}" for name, value, why in rows]


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def machine_line(nproc: int, load_at_start: float, pinned: bool) -> str:
    layout = "nginx pinned apart" if pinned else "nginx, wrk and Python share the cores"
    return (
        f"machine nproc={nproc} python={platform.python_version()} "
        f"wawp_presence={wawp_presence.__version__} load1_at_start={load_at_start:.2f} "
        f"({platform.system()} {platform.machine()}; {layout})"
    )


# --------------------------------------------------------------------------- main


def timed(name: str, step: Callable[[], Samples]) -> Samples:
    started = time.perf_counter()
    figures = step()
    print(f"  measured {name} in {time.perf_counter() - started:.1f} s", flush=True)
    return figures


def run(nginx: str, wrk: str, s: Settings, pin: bool) -> Samples:
    split = pin_cpus() if pin else None
    if pin and split is None:
        print("bench_wire: --pin needs 2 CPUs and sched_setaffinity; not pinning", flush=True)
    with running_nginx(nginx, None if split is None else split[0]) as port:
        if split is not None:
            os.sched_setaffinity(0, split[1])  # before the clients start their threads
            print(
                f"pinned: nginx on CPU {split[0]}, Python and wrk on CPUs {','.join(map(str, sorted(split[1])))}",
                flush=True,
            )
        print(f"nginx on http://127.0.0.1:{port}{ROUTE}{CHAT_ID}", flush=True)
        samples = timed("wrk and the clients, in rounds", lambda: measure_wire(wrk, port, s))
    samples.update(timed("parsing", lambda: measure_parse(s)))
    samples.update(timed("import", lambda: measure_import(s)))
    return samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs (under 30 s, not 2 min)")
    ap.add_argument(
        "--pin", action="store_true", help="nginx on one CPU, Python and wrk on the others (steadier figures on VMs)"
    )
    args = ap.parse_args()

    tools = {name: find_tool(name) for name in ("nginx", "wrk")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        print(
            f"bench_wire: {' and '.join(missing)} not found on PATH or in /usr/sbin; "
            f"install with: apt-get install nginx wrk (nothing measured)"
        )
        return 0

    raise_on_sigterm()
    settings = QUICK if args.quick else FULL
    load_at_start, nproc = load_average(), cpu_count()
    if load_at_start > nproc / 4:
        print(
            f"bench_wire: note: the machine has been busy (1-minute load {load_at_start:.2f} "
            f"on {nproc} CPUs); if it still is, the figures will be noisier",
            flush=True,
        )
    started = time.perf_counter()
    samples = run(tools["nginx"] or "nginx", tools["wrk"] or "wrk", settings, args.pin)
    figures = medians(samples)

    print()
    print(
        f"wawp_presence over the wire ({'quick' if args.quick else 'full'} run, "
        f"{time.perf_counter() - started:.0f} s; medians; "
        f"parsing: best of {settings.parse_repeat})"
    )
    print_table(figures, samples)
    print()
    print("import wawp_presence: top modules by self time that a bare start does not load (-X importtime, best of 5)")
    for name, own, cum in top_imports():
        print(f"  {name:<32} self {own / 1e3:6.2f} ms   cumulative {cum / 1e3:6.2f} ms")
    print()
    for line in ratio_lines(figures):
        print(line)
    print(machine_line(nproc, load_at_start, pinned=cpu_count() < nproc))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nbench_wire: interrupted; nginx stopped", file=sys.stderr)
        sys.exit(130)
