"""The contract's "Asyncio semantics" over real HTTP: coroutines that work with every asyncio
idiom and anyio on every kind of loop (asyncio's, uvloop, one without add_reader: see
test_event_loop.py), send nothing until awaited, warn when never awaited, raise argument errors
at the call, close their connection when cancelled, and outlive neither their task nor their
loop. Also what the bridge promises beyond the contract: no runtime thread waits for the GIL
(DEBUG logging with a thread holding it), an async call in a late atexit handler, forked
children that exit at once.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import gc
import importlib.metadata
import logging
import pickle
import re
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import anyio
import pytest
from presence_helpers import CHAT, CHAT2, build_client
from raw_servers import RawServer, hold_until_closed
from test_event_loop import EVERY_LOOP, LOOP_KINDS, LoopKind, uvloop

from wawp_presence import AsyncPresenceClient, InvalidChatIdError, PresenceClient

# Python 3.11+ (as is asyncio.TaskGroup, which raises it).
ExceptionGroup = getattr(builtins, "ExceptionGroup", Exception)


def aclient_for(server, **options) -> AsyncPresenceClient:
    options.setdefault("max_retries", 0)
    return build_client(AsyncPresenceClient, server, **options)


def gets(server) -> int:
    return sum(1 for r in server.requests if r["method"] == "GET")


# ============================================================================== coroutines


def every_awaitable(aclient):
    typing = aclient.typing(CHAT)
    watch = aclient.watch([CHAT])
    return {
        "get": aclient.get(CHAT),
        "set": aclient.set("online"),
        "subscribe": aclient.subscribe(CHAT),
        "get_all": aclient.get_all(),
        "get_many": aclient.get_many([CHAT]),
        "typing.__aenter__": typing.__aenter__(),
        "typing.__aexit__": typing.__aexit__(None, None, None),
        "watch.__anext__": watch.__anext__(),
        "__aenter__": aclient.__aenter__(),
        "__aexit__": aclient.__aexit__(None, None, None),
        "close": aclient.close(),
        "aclose": aclient.aclose(),
    }


def never_awaited_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "never awaited" in str(w.message)]


def test_every_awaitable_method_returns_a_coroutine_and_calling_it_sends_nothing(server):
    aclient = aclient_for(server)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        made = every_awaitable(aclient)
        for name, coro in made.items():
            assert asyncio.iscoroutine(coro), name
            coro.close()
        del made, coro
        gc.collect()
    time.sleep(0.2)
    assert server.requests == []  # none of them was awaited
    assert never_awaited_warnings(caught) == []  # closed, not forgotten


def test_a_coroutine_never_awaited_sends_nothing_even_in_a_running_loop(server):
    server.set_presence(CHAT, "online")
    aclient = aclient_for(server)

    async def main():
        pending = [aclient.get(CHAT), aclient.set("offline"), aclient.get_many([CHAT, CHAT2])]
        await asyncio.sleep(0.15)
        assert server.requests == []
        with pytest.warns(RuntimeWarning, match="was never awaited") as caught:
            del pending
            gc.collect()
        assert len(never_awaited_warnings(caught.list)) == 3  # each forgotten one is noticed
        await asyncio.sleep(0.05)
        assert server.requests == []
        return await aclient.get(CHAT)  # the one awaited is the one sent

    assert asyncio.run(main()).is_online
    assert len(server.requests) == 1


# What each awaitable's coroutine is called, as Python would call the `async def` it stands for.
OWN_COROUTINES = {
    "get": lambda c: c.get(CHAT),
    "set": lambda c: c.set("online"),
    "subscribe": lambda c: c.subscribe(CHAT),
    "get_all": lambda c: c.get_all(),
    "get_many": lambda c: c.get_many([CHAT, CHAT2]),
}


@pytest.mark.parametrize("where", ["no loop", "in a loop"])
@pytest.mark.parametrize(
    "make",
    [*OWN_COROUTINES, "watch.__anext__", "typing.__aenter__"],
)
def test_a_coroutine_never_awaited_warns_when_collected(server, make, where):
    """As Python's own coroutines do: `RuntimeWarning: coroutine '<qualname>' was never
    awaited`, so a forgotten `await aclient.set(...)` is noticed."""
    aclient = aclient_for(server)

    def forget() -> None:
        if make == "watch.__anext__":
            coro = aclient.watch([CHAT]).__anext__()
        elif make == "typing.__aenter__":
            coro = aclient.typing(CHAT).__aenter__()
        else:
            coro = OWN_COROUTINES[make](aclient)
        name = coro.__qualname__
        if make in OWN_COROUTINES:
            assert name == f"AsyncPresenceClient.{make}"
        with pytest.warns(RuntimeWarning, match=rf"^coroutine '{re.escape(name)}' was never awaited$"):
            del coro
            gc.collect()

    if where == "no loop":
        forget()
    else:

        async def main() -> None:
            forget()

        asyncio.run(main())
    time.sleep(0.1)
    assert server.requests == []


def test_a_coroutine_closed_awaited_or_cancelled_does_not_warn(server):
    server.set_presence(CHAT, "online")
    aclient = aclient_for(server)

    async def main() -> None:
        closed = [make(aclient) for make in OWN_COROUTINES.values()]
        for coro in closed:
            coro.close()
        awaited = aclient.get(CHAT)
        assert (await awaited).is_online
        await aclient.set("offline")
        # Cancelled before its task ever ran it (the task throws into it), and after it started.
        unstarted = asyncio.create_task(aclient.get(CHAT))
        unstarted.cancel()
        started = asyncio.create_task(aclient.get(CHAT))
        await asyncio.sleep(0)
        started.cancel()
        for task in (unstarted, started):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        del closed, coro, awaited, unstarted, started
        gc.collect()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    assert never_awaited_warnings(caught) == []


def test_each_coroutine_names_its_own_owner(server):
    aclient = aclient_for(server)
    for name, make in OWN_COROUTINES.items():
        coro = make(aclient)
        try:
            assert coro.__qualname__ == f"AsyncPresenceClient.{name}"
            assert coro.__name__ == name
        finally:
            coro.close()
    watch = aclient.watch([CHAT])
    block = aclient.typing(CHAT)
    # Not the client's: the watch's step and the typing block's enter and exit.
    for owner, coro, method in [
        (watch, watch.__anext__(), "__anext__"),
        (block, block.__aenter__(), "__aenter__"),
        (block, block.__aexit__(None, None, None), "__aexit__"),
    ]:
        try:
            qualname = coro.__qualname__
            assert qualname.endswith(f".{method}"), qualname
            assert type(owner).__name__ in qualname, qualname
            assert not qualname.startswith("AsyncPresenceClient."), qualname
        finally:
            coro.close()
    assert server.requests == []


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda c: c.get("not a chat"), InvalidChatIdError),
        (lambda c: c.get(CHAT, wait=-1), ValueError),
        (lambda c: c.set("dancing"), ValueError),
        (lambda c: c.set("typing"), ValueError),
        (lambda c: c.get_many([CHAT, "nope"]), InvalidChatIdError),
        (lambda c: c.get_many(CHAT), TypeError),
        (lambda c: c.subscribe("../x@c.us"), InvalidChatIdError),
        (lambda c: c.watch([CHAT], interval=0), ValueError),
        (lambda c: c.typing("x"), InvalidChatIdError),
    ],
    ids=["get", "get-wait", "set-word", "set-rule", "get_many", "get_many-str", "subscribe", "watch", "typing"],
)
def test_argument_errors_are_raised_at_the_call_with_or_without_a_loop(server, call, error):
    aclient = aclient_for(server)
    with pytest.raises(error):
        call(aclient)

    async def in_loop():
        with pytest.raises(error):
            call(aclient)

    asyncio.run(in_loop())
    assert server.requests == []


# ============================================================================== the idioms


async def _get(aclient):
    return await aclient.get(CHAT)


# Each idiom runs `aclient.get(CHAT)` its way on a new loop of the kind `loops` stands for
# (LoopKind of test_event_loop.py: `loops.run` is asyncio.run on that kind of loop).


def run_with_asyncio_run(aclient, loops):
    return loops.run(aclient.get(CHAT))


def run_with_create_task(aclient, loops):
    async def main():
        return await asyncio.create_task(aclient.get(CHAT))

    return loops.run(main())


def run_with_task_group(aclient, loops):
    async def main():
        async with asyncio.TaskGroup() as group:
            task = group.create_task(aclient.get(CHAT))
        return task.result()

    return loops.run(main())


def run_with_wait_for(aclient, loops):
    return loops.run(asyncio.wait_for(aclient.get(CHAT), 10))


def run_with_gather(aclient, loops):
    async def main():
        first, second = await asyncio.gather(aclient.get(CHAT), aclient.get(CHAT))
        assert first == second
        return first

    return loops.run(main())


def run_with_anyio(aclient, loops):
    results = []
    ran_on = []

    async def one():
        results.append(await aclient.get(CHAT))

    async def main():
        ran_on.append(type(asyncio.get_running_loop()))
        async with anyio.create_task_group() as group:
            group.start_soon(one)
            group.start_soon(one)

    anyio.run(main, backend="asyncio", backend_options=loops.anyio_options())
    if loops.loop_class is not None and not issubclass(ran_on[0], loops.loop_class):
        version = importlib.metadata.version("anyio")
        pytest.skip(f"anyio {version} cannot be asked for a {loops.kind} loop (no loop_factory backend option)")
    loops.seen.append(ran_on[0])
    assert len(results) == 2
    return results[0]


IDIOMS = [
    run_with_asyncio_run,
    run_with_create_task,
    pytest.param(
        run_with_task_group,
        marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in Python 3.11"),
    ),
    run_with_wait_for,
    run_with_gather,
    run_with_anyio,
]


def idiom_id(idiom) -> str:
    return idiom.__name__.removeprefix("run_with_")


@EVERY_LOOP
@pytest.mark.parametrize("idiom", IDIOMS, ids=idiom_id)
def test_every_asyncio_idiom_works(server, idiom, loop_kind):
    server.set_presence(CHAT, "online")
    aclient = aclient_for(server)
    loops = LoopKind(loop_kind)
    chat = idiom(aclient, loops)
    assert chat.id == CHAT and chat.is_online
    loops.check_used()


def test_one_client_serves_several_event_loops_in_turn(server):
    server.set_presence(CHAT, "online")
    aclient = aclient_for(server)  # made outside any loop
    for _ in range(3):
        assert asyncio.run(_get(aclient)).is_online
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(_get(aclient)).is_online
    finally:
        loop.close()
    assert gets(server) == 4


def test_one_client_serves_loops_of_every_kind_in_turn(server):
    server.set_presence(CHAT, "online")
    aclient = aclient_for(server)
    kinds = [kind for kind in LOOP_KINDS if kind != "uvloop" or uvloop is not None]
    for kind in kinds * 2:
        loops = LoopKind(kind)
        assert loops.run(_get(aclient)).is_online, kind
        loops.check_used()
    assert gets(server) == 2 * len(kinds)


def test_loops_in_two_threads_share_one_client(server):
    server.set_presence(CHAT, "online")
    aclient = aclient_for(server)
    results: list[bool] = []

    def in_thread():
        async def main():
            chats = await asyncio.gather(*(aclient.get(CHAT) for _ in range(20)))
            results.extend(c.is_online for c in chats)

        asyncio.run(main())

    threads = [threading.Thread(target=in_thread) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [True] * 80


def test_a_coroutine_is_awaited_once(server):
    server.set_presence(CHAT, "online")
    aclient = aclient_for(server)

    async def main():
        coro = aclient.get(CHAT)
        await coro
        with pytest.raises(RuntimeError, match="already awaited"):
            await coro

    asyncio.run(main())


# ============================================================================== cancellation


async def until_request_seen(raw: RawServer, task: asyncio.Task | None = None) -> None:
    """Until `raw` has the request (failing, not hanging, if it never comes or `task` ended)."""
    deadline = time.monotonic() + 10
    while not raw.request_seen.is_set():
        if task is not None and task.done():
            raise AssertionError(f"the call ended before its request was seen: {task!r}") from task.exception()
        assert time.monotonic() < deadline, "the request never reached the server"
        await asyncio.sleep(0.01)


@EVERY_LOOP
@pytest.mark.parametrize(
    "how",
    [
        "cancel",
        "wait_for",
        pytest.param(
            "task_group_error",
            marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in Python 3.11"),
        ),
    ],
)
def test_cancelling_closes_the_connection_and_leaves_the_client_usable(server, how, loop_kind):
    server.set_presence(CHAT, "online")
    loops = LoopKind(loop_kind)

    async def main():
        with RawServer(hold_until_closed) as raw:
            aclient = AsyncPresenceClient.waha(raw.url, timeout=30, max_retries=0)
            if how == "cancel":
                task = asyncio.create_task(aclient.get(CHAT))
                await until_request_seen(raw, task)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            elif how == "wait_for":
                # asyncio.TimeoutError: the builtin TimeoutError on 3.11+, not on 3.10
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(aclient.get(CHAT), 0.3)
            else:

                async def fail_soon():
                    await until_request_seen(raw)
                    raise LookupError("boom")

                with pytest.raises(ExceptionGroup):
                    async with asyncio.TaskGroup() as group:
                        group.create_task(aclient.get(CHAT))
                        group.create_task(fail_soon())
            cancelled_at = time.monotonic()
            assert await asyncio.to_thread(raw.client_closed.wait, 5.0), "the connection stayed open"
            assert raw.closed_at[0] - cancelled_at < 2.5  # at once, not at the 30 s timeout
        # The client still works, against a server that answers.
        good = aclient_for(server)
        assert (await good.get(CHAT)).is_online

    loops.run(main())
    loops.check_used()


# ============================================================================== nothing outlives its task or loop


def test_a_dropped_watch_step_stops_polling_when_its_loop_ends(server):
    server.set_presence(CHAT, "online")
    aclient = aclient_for(server)

    async def main():
        changes = aclient.watch([CHAT], interval=0.05)
        await changes.__anext__()  # the first sight
        # Nothing changes now: the next step waits, is raced with a timeout and left behind.
        step = asyncio.ensure_future(changes.__anext__())
        done, _ = await asyncio.wait({step}, timeout=0.3)
        assert not done

    asyncio.run(main())  # cancels the step left behind
    settled = gets(server)
    time.sleep(0.4)  # 8 polls, if it went on
    assert gets(server) == settled, "the watcher went on polling after its loop ended"


def test_a_step_left_in_a_closed_loop_stops_when_collected(server):
    server.set_presence(CHAT, "online")
    aclient = aclient_for(server)
    loop = asyncio.new_event_loop()

    async def main():
        changes = aclient.watch([CHAT], interval=0.05)
        await changes.__anext__()
        left_behind = asyncio.ensure_future(changes.__anext__())
        await asyncio.sleep(0.15)
        assert not left_behind.done()  # nothing changed: the step still waits

    loop.run_until_complete(main())
    loop.close()  # without cancelling the pending step
    del loop
    gc.collect()
    settled = gets(server)
    time.sleep(0.4)  # 8 polls, if it went on
    assert gets(server) <= settled + 1, "the watcher went on polling after its loop was closed"


# ============================================================================== no runtime thread waits for the GIL


def hold_the_gil(seconds: float) -> None:
    """One C call that keeps the GIL for about `seconds` (no bytecode runs, so no switch)."""
    n = 10_000_000
    started = time.perf_counter()
    sum(range(n))
    per = time.perf_counter() - started
    sum(range(int(n * seconds / max(per, 1e-3))))


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_debug_logging_while_a_thread_holds_the_gil_causes_no_timeout(make_server, caplog, mode):
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    caplog.set_level(logging.DEBUG, logger="wawp_presence")
    ids = [f"4474414{i:05d}@c.us" for i in range(256)]
    # The GIL is held for three times the timeout: a runtime thread that waited for it would
    # time out.
    holder = threading.Thread(target=hold_the_gil, args=(1.5,))
    if mode == "async":

        async def main():
            aclient = aclient_for(server, timeout=0.5)
            started = asyncio.gather(*(aclient.get(c) for c in ids), return_exceptions=True)
            await asyncio.sleep(0)  # the calls are on their way
            holder.start()
            return await started

        results = asyncio.run(main())
    else:
        client = build_client(PresenceClient, server, timeout=0.5, max_retries=0)
        holder.start()
        results = client.get_many(ids, concurrency=64, return_exceptions=True)
    holder.join()
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == [], f"{len(failures)} of 256 failed, e.g. {failures[0]!r}"
    assert sum("-> 200" in r.getMessage() for r in caplog.records) == 256  # every request logged


LATE_ATEXIT = textwrap.dedent(
    """
    import asyncio, atexit

    def late():  # registered before the package is imported, so it runs after the package's own
        chat = asyncio.run(client.get("447441429009@c.us"))
        print("late", chat.is_online, flush=True)

    atexit.register(late)
    from wawp_presence import AsyncPresenceClient
    from wawp_presence.testing import FakeServer

    server = FakeServer("waha")
    server.set_presence("447441429009@c.us", "online")
    client = AsyncPresenceClient.waha(server.url, max_retries=0, timeout=5)
    print("main done", flush=True)
    """
)


def test_an_async_call_in_an_early_registered_atexit_handler_completes():
    done = subprocess.run([sys.executable, "-c", LATE_ATEXIT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["main done", "late True"], done.stdout + done.stderr[-2000:]


FORKS = textwrap.dedent(
    """
    import asyncio, os, threading, time
    from wawp_presence import AsyncPresenceClient
    from wawp_presence.testing import FakeServer

    def spin():  # keeps the GIL contended, as a busy application does
        while True:
            sum(range(1000))

    threading.Thread(target=spin, daemon=True).start()
    server = FakeServer("waha")
    server.set_presence("447441429009@c.us", "online")
    client = AsyncPresenceClient.waha(server.url, max_retries=0)
    slowest = 0.0
    for _ in range(10):
        async def burst():
            await asyncio.gather(*(client.get("447441429009@c.us") for _ in range(30)))
        asyncio.run(burst())
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            raise SystemExit(0)  # a normal exit, atexit handlers and all
        os.waitpid(pid, 0)
        slowest = max(slowest, time.monotonic() - started)
    print("slowest %.3f" % slowest, flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork does not exist on Windows")
def test_forked_children_exit_without_a_stall():
    done = subprocess.run([sys.executable, "-c", FORKS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    slowest = float(done.stdout.split()[-1])
    assert slowest < 1.5, f"a forked child took {slowest:.2f} s to exit"


# ============================================================================== values Python sees


def test_a_change_from_watch_equals_its_pickled_copy(server):
    server.set_presence(CHAT, "online", last_seen=1_700_000_000.123456)
    with build_client(PresenceClient, server) as client:
        change = next(iter(client.watch([CHAT], interval=0.05)))
    copy = pickle.loads(pickle.dumps(change))
    assert copy == change
    assert hash(copy) == hash(change)
    assert {change, copy} == {change}
