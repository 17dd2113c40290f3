"""The client as a citizen of the event loop it runs on (python-api.md, "Asyncio semantics"):
other tasks keep running while calls go over the network, every awaited call suspends its task,
it works on every loop that implements the documented loop API (asyncio's default loop, uvloop,
and a loop without `add_reader`, as Windows' ProactorEventLoop is), and a process whose main
thread ends while calls are in flight exits at once and cleanly.

The loop kinds are defined here and shared with test_asyncio_semantics.py (EVERY_LOOP, LoopKind).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from presence_helpers import CHAT, CHAT2, HANG_BOUND_SECONDS, build_client
from raw_servers import RawServer, hold_until_closed

from wawp_presence import AsyncPresenceClient, RequestTimeout, TransportError

try:
    import uvloop
except ImportError:  # e.g. on Windows, which uvloop does not support
    uvloop = None

# ============================================================================== the loop kinds


class LoopWithoutAddReader(asyncio.SelectorEventLoop):
    """A selector loop whose public `add_reader`, `remove_reader`, `add_writer` and
    `remove_writer` raise NotImplementedError, as those of Windows' ProactorEventLoop do.

    asyncio's own machinery (the self-pipe, transports, `sock_recv`...) registers through the
    private `_add_reader` and friends, so the loop itself works in full; only a client that
    relies on the public methods notices. `sock_recv`/`sock_sendall` end with the public
    `remove_reader`/`remove_writer` in their done callbacks: those are let through.
    """

    _internal = 0

    @contextlib.contextmanager
    def _asyncio_itself(self) -> Iterator[None]:
        self._internal += 1
        try:
            yield
        finally:
            self._internal -= 1

    def _refuse(self, name: str) -> None:
        if not self._internal:
            raise NotImplementedError(f"{name} is not supported by this loop (as on ProactorEventLoop)")

    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        self._refuse("add_reader")
        super().add_reader(fd, callback, *args)

    def remove_reader(self, fd: Any) -> bool:
        self._refuse("remove_reader")
        return super().remove_reader(fd)

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        self._refuse("add_writer")
        super().add_writer(fd, callback, *args)

    def remove_writer(self, fd: Any) -> bool:
        self._refuse("remove_writer")
        return super().remove_writer(fd)

    def _sock_read_done(self, *args: Any, **kwargs: Any) -> Any:
        with self._asyncio_itself():
            return super()._sock_read_done(*args, **kwargs)

    def _sock_write_done(self, *args: Any, **kwargs: Any) -> Any:
        with self._asyncio_itself():
            return super()._sock_write_done(*args, **kwargs)


if sys.platform == "win32":
    # The real thing: Windows' default loop has no add_reader.
    NO_ADD_READER_LOOP: type = asyncio.ProactorEventLoop
else:
    NO_ADD_READER_LOOP = LoopWithoutAddReader

LOOP_KINDS = ("asyncio", "uvloop", "no_add_reader")
NEEDS_UVLOOP = pytest.mark.skipif(uvloop is None, reason="uvloop is not installed (it does not support Windows)")
LOOP_PARAMS = [
    pytest.param("asyncio", id="asyncio"),
    pytest.param("uvloop", id="uvloop", marks=NEEDS_UVLOOP),
    pytest.param("no_add_reader", id="no_add_reader"),
]
# A test that takes `loop_kind` runs on each kind of loop.
EVERY_LOOP = pytest.mark.parametrize("loop_kind", LOOP_PARAMS)


class LoopKind:
    """One kind of event loop: `run(coro)` is `asyncio.run` on a loop of that kind, and
    `anyio_options()` the `backend_options` that ask anyio for it. Loops made here are recorded
    (and `seen` holds the classes of loops seen running that were made elsewhere, e.g. by anyio),
    so a test can check that its code really ran on the kind it is about (`check_used()`)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.made: list[asyncio.AbstractEventLoop] = []
        self.seen: list[type] = []

    @property
    def loop_class(self) -> type | None:
        if self.kind == "uvloop":
            return uvloop.Loop
        if self.kind == "no_add_reader":
            return NO_ADD_READER_LOOP
        return None  # the default, whatever the platform's is

    def factory(self) -> asyncio.AbstractEventLoop:
        loop = uvloop.new_event_loop() if self.kind == "uvloop" else NO_ADD_READER_LOOP()
        self.made.append(loop)
        return loop

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """What `asyncio.run(coro)` does, on a new loop of this kind."""
        if self.kind == "asyncio":
            return asyncio.run(coro)
        if sys.version_info >= (3, 12):
            return asyncio.run(coro, loop_factory=self.factory)
        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=self.factory) as runner:
                return runner.run(coro)
        return _run_on_310(coro, self.factory)

    def anyio_options(self) -> dict[str, Any]:
        if self.kind == "asyncio":
            return {}
        # `use_uvloop` for an anyio that predates `loop_factory` (which wins where both exist).
        return {"loop_factory": self.factory} | ({"use_uvloop": True} if self.kind == "uvloop" else {})

    def check_used(self) -> None:
        """Fails unless the code ran on loops of this kind, and on at least one."""
        if self.loop_class is None:
            return
        seen = [type(loop) for loop in self.made] + self.seen
        assert seen and all(issubclass(t, self.loop_class) for t in seen), (self.kind, seen)


def _run_on_310(coro: Coroutine[Any, Any, Any], factory: Callable[[], asyncio.AbstractEventLoop]) -> Any:
    """asyncio.run with a loop factory, for Python 3.10 (which has neither asyncio.Runner nor
    asyncio.run's loop_factory): the same steps, on a loop of our own."""
    loop = factory()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro)
    finally:
        try:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def test_the_loop_without_add_reader_refuses_it_and_still_runs_asyncio():
    """The simulated ProactorEventLoop is what it claims: public add_reader refused; asyncio's
    own sockets, timers and threads working, without an error in any callback."""
    loops = LoopKind("no_add_reader")
    errors: list[dict] = []

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        left, right = socket.socketpair()
        with left, right:
            with pytest.raises(NotImplementedError):
                loop.add_reader(left.fileno(), lambda: None)
            with pytest.raises(NotImplementedError):
                loop.add_writer(left.fileno(), lambda: None)
            left.setblocking(False)
            right.setblocking(False)
            receiving = asyncio.ensure_future(loop.sock_recv(left, 4))
            await asyncio.sleep(0.01)  # it waits for data: registered with the selector
            await asyncio.to_thread(right.send, b"ping")
            got = await asyncio.wait_for(receiving, 5)
            await asyncio.sleep(0.01)  # its done callbacks have run
            return got

    assert loops.run(main()) == b"ping"
    loops.check_used()
    assert errors == []


# ============================================================================== helpers


def aclient_for(server: Any, **options: Any) -> AsyncPresenceClient:
    options.setdefault("max_retries", 0)
    return build_client(AsyncPresenceClient, server, **options)


def gets(server: Any) -> int:
    return sum(1 for r in server.requests if r["method"] == "GET")


# ============================================================================== the ticker

# How long the gets run, and what a loop that runs at all gives a 1 ms ticker meanwhile. A good
# client leaves it hundreds of wake-ups a second (aiohttp doing the same: about 1,500 a second on
# a 2-core machine); a client that keeps the loop's thread busy leaves it a handful. The bounds
# have a wide margin for a loaded 2-core CI machine running 4 pytest workers. Where the loop
# cannot tick that often even when idle (Windows' timers tick every 15.6 ms), a quarter of its
# idle rate is asked for instead.
TICKER_RUN_SECONDS = 1.0
MIN_TICKS_PER_SECOND = 100
IDLE_SECONDS = 0.3
MAX_TICK_LATENESS = 0.25  # seconds later than asked for, at worst (a starving client: ~0.5 s)
MIN_GETS = 20


@EVERY_LOOP
def test_a_loop_of_gets_leaves_a_1ms_ticker_ticking(make_server, loop_kind):
    server = make_server("waha", request_log=1_000_000)  # answers at once, and keeps count
    server.set_presence(CHAT, "online")
    loops = LoopKind(loop_kind)
    stats = {"ticks": 0, "worst": 0.0, "gets": 0, "elapsed": 0.0, "before": 0, "idle_rate": 0.0}

    async def main() -> None:
        aclient = aclient_for(server, timeout=10)
        await aclient.get(CHAT)  # connected and warm: every later call is as fast as it gets
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                asked = time.monotonic()
                await asyncio.sleep(0.001)
                late = time.monotonic() - asked - 0.001
                stats["ticks"] += 1
                stats["worst"] = max(stats["worst"], late)

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)  # the ticker is going
        stats["ticks"] = 0
        await asyncio.sleep(IDLE_SECONDS)  # how often it ticks with nothing else to do
        stats["idle_rate"] = stats["ticks"] / IDLE_SECONDS
        stats["ticks"], stats["worst"], stats["before"] = 0, 0.0, gets(server)
        started = time.monotonic()
        try:
            while time.monotonic() - started < TICKER_RUN_SECONDS:
                chat = await aclient.get(CHAT)
                assert chat.is_online
                stats["gets"] += 1
        finally:
            stats["elapsed"] = time.monotonic() - started
            stop.set()
            await asyncio.wait_for(ticking, 5)

    loops.run(main())
    loops.check_used()
    summary = (
        f"{stats['ticks']} ticks and {stats['gets']} gets in {stats['elapsed']:.2f} s, "
        f"worst lateness {stats['worst'] * 1000:.0f} ms (idle: {stats['idle_rate']:.0f} ticks a second)"
    )
    # The gets went over the network: many of them, each one a request the server saw.
    assert stats["gets"] >= MIN_GETS, summary
    assert gets(server) - stats["before"] == stats["gets"], summary
    # ... and the loop ran meanwhile.
    per_second = min(MIN_TICKS_PER_SECOND, stats["idle_rate"] / 4)
    assert stats["ticks"] >= per_second * stats["elapsed"], summary
    assert stats["worst"] < MAX_TICK_LATENESS, summary


# ============================================================================== every call suspends


def calls(aclient: AsyncPresenceClient) -> dict[str, Callable[[], Any]]:
    return {
        "get": lambda: aclient.get(CHAT),
        "set": lambda: aclient.set("online"),
        "subscribe": lambda: aclient.subscribe(CHAT),
        "get_all": lambda: aclient.get_all(),
        "get_many": lambda: aclient.get_many([CHAT, CHAT2]),
    }


CALLS = ["get", "set", "subscribe", "get_all", "get_many"]


@EVERY_LOOP
@pytest.mark.parametrize("call", CALLS)
def test_every_awaited_call_suspends_its_task_at_least_once(make_server, loop_kind, call):
    """Work the loop has due when a call starts runs before the call returns: the awaiting task
    suspends, as with any network call in asyncio (whose task waits for a future that the loop
    completes after polling its I/O, and timers due by then run first).

    The due work is a timer for "now" (`call_later(0, ...)`), and also, in a second round, a
    callback already in the loop's queue (`call_soon`). Repeated on a warm connection to a fake
    that answers at once, where a client that finishes the call inline, without suspending,
    would return first."""
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    loops = LoopKind(loop_kind)
    returned_first: dict[str, int] = {"call_later": 0, "call_soon": 0}
    rounds = 50

    async def main() -> None:
        aclient = aclient_for(server)
        start = calls(aclient)[call]
        await start()  # warm: connected
        loop = asyncio.get_running_loop()
        for schedule in ("call_later", "call_soon"):
            for _ in range(rounds):
                ran: list[bool] = []
                if schedule == "call_later":
                    loop.call_later(0, ran.append, True)
                else:
                    loop.call_soon(ran.append, True)
                await start()
                if not ran:
                    returned_first[schedule] += 1
                await asyncio.sleep(0.002)  # the callback runs now, if it did not before

    loops.run(main())
    loops.check_used()
    assert returned_first == {"call_later": 0, "call_soon": 0}, (
        f"of {rounds} awaited {call}() calls, these returned before the loop ran the work it had due: {returned_first}"
    )


# ============================================================================== every call ends


@EVERY_LOOP
def test_every_awaited_call_ends_with_its_result_or_an_error_of_the_package(make_server, loop_kind):
    """Calls that succeed, time out (a server that never answers) and cannot connect (nothing
    listens), all at once: each ends, with its result or a WawpError, never anything else, and
    never hangs."""
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    with RawServer(lambda conn: None) as gone:
        closed_url = gone.url  # nothing listens there once the block ends
    loops = LoopKind(loop_kind)

    async def main() -> tuple[list, list, list]:
        with RawServer(hold_until_closed) as silent:
            good = aclient_for(server)
            slow = AsyncPresenceClient.waha(silent.url, timeout=0.5, max_retries=0)
            dead = AsyncPresenceClient.waha(closed_url, timeout=5, max_retries=0)
            outcomes = await asyncio.wait_for(
                asyncio.gather(
                    asyncio.gather(*(good.get(CHAT) for _ in range(10)), return_exceptions=True),
                    asyncio.gather(*(slow.get(CHAT) for _ in range(10)), return_exceptions=True),
                    asyncio.gather(*(dead.get(CHAT) for _ in range(10)), return_exceptions=True),
                ),
                HANG_BOUND_SECONDS * 2,
            )
        return outcomes

    started = time.monotonic()
    answered, timed_out, refused = loops.run(main())
    loops.check_used()
    assert time.monotonic() - started < HANG_BOUND_SECONDS * 2
    assert [type(r).__name__ for r in answered] == ["ChatPresence"] * 10, answered
    assert all(isinstance(r, RequestTimeout) for r in timed_out), timed_out
    assert all(isinstance(r, TransportError) for r in refused), refused


# ============================================================================== a clean exit

EXIT_RUNS = 10
EXIT_BOUND_SECONDS = 10.0  # far below the calls' 30 s timeout
CRASH_MARKERS = ("fatal python error", "panicked", "abort", "segmentation fault", "core dumped")

EXIT_SCRIPT = textwrap.dedent(
    """
    import asyncio, socket, sys, threading, time
    from wawp_presence import AsyncPresenceClient, PresenceClient

    KIND, HOW = sys.argv[1], sys.argv[2]
    {loop_class}

    def new_loop():
        if KIND == "uvloop":
            import uvloop
            return uvloop.new_event_loop()
        if KIND == "no_add_reader":
            return asyncio.ProactorEventLoop() if sys.platform == "win32" else LoopWithoutAddReader()
        return asyncio.new_event_loop()

    # A server that accepts and never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    url = "http://127.0.0.1:%d" % listener.getsockname()[1]
    CHAT = "447441429009@c.us"

    # A thread blocked in a sync call.
    client = PresenceClient.waha(url, timeout=30, max_retries=0)
    threading.Thread(target=client.get, args=(CHAT,), daemon=True).start()
    aclient = AsyncPresenceClient.waha(url, timeout=30, max_retries=0)

    def in_flight():  # the sync call and some of the async ones reached the server
        return len(accepted) >= 2

    async def start_calls():
        return [asyncio.create_task(aclient.get(CHAT)) for _ in range(100)]

    async def until_in_flight(tasks):  # the sync call and some async ones reached the server
        deadline = time.monotonic() + 10
        while len(accepted) < 2:
            failed = [t for t in tasks if t.done()]
            if failed or time.monotonic() > deadline:
                print("the calls did not reach the server:", failed[:1], flush=True)
                return False
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        print("calls in flight", flush=True)
        return True

    if HOW == "loop_thread":
        # The loop runs on in a daemon thread while the main thread ends.
        loop = new_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()
        tasks = asyncio.run_coroutine_threadsafe(start_calls(), loop).result(10)
        if not asyncio.run_coroutine_threadsafe(until_in_flight(tasks), loop).result(15):
            sys.exit(3)
    elif HOW == "loop_left":
        # The main thread's loop stops with the calls pending, and is never closed.
        loop = new_loop()
        asyncio.set_event_loop(loop)

        async def main():
            tasks = await start_calls()
            return tasks, await until_in_flight(tasks)

        tasks, ok = loop.run_until_complete(main())
        if not ok:
            sys.exit(3)
    else:
        # sys.exit inside the running loop: as asyncio.run does, the calls are cancelled on the
        # way out and the loop closed.
        async def main():
            tasks = await start_calls()
            sys.exit(0 if await until_in_flight(tasks) else 3)

        loop = new_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(loop), return_exceptions=True))
            loop.close()
    sys.exit(0)
    """
)

EXIT_WAYS = ["loop_thread", "loop_left", "sys_exit_in_loop"]


def exit_script() -> str:
    """The child's script, with this module's LoopWithoutAddReader and what its source uses."""
    imports = "import contextlib\nfrom collections.abc import Callable, Iterator\nfrom typing import Any\n"
    return EXIT_SCRIPT.replace("{loop_class}", imports + inspect.getsource(LoopWithoutAddReader))


@EVERY_LOOP
@pytest.mark.parametrize("how", EXIT_WAYS)
def test_the_process_exits_at_once_and_cleanly_with_calls_in_flight(loop_kind, how):
    """The main thread ends while 100 async calls and one sync call wait on a server that never
    answers (timeout 30 s): the process exits with status 0 within seconds, without a crash.
    Run several times, since an exit race shows up now and then."""
    script = exit_script()
    for run in range(EXIT_RUNS):
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-c", script, loop_kind, how],
                capture_output=True,
                text=True,
                timeout=EXIT_BOUND_SECONDS * 3,
            )
        except subprocess.TimeoutExpired as stuck:
            pytest.fail(f"run {run}: the process had not exited after {stuck.timeout} s")
        took = time.monotonic() - started
        said = f"run {run}: status {done.returncode} after {took:.1f} s\n{done.stdout}{done.stderr[-3000:]}"
        assert done.returncode == 0, said
        assert "calls in flight" in done.stdout, said
        assert took < EXIT_BOUND_SECONDS, said
        assert not any(marker in done.stderr.lower() for marker in CRASH_MARKERS), said
