"""What the bench scripts share: the best of several timed rounds, an event loop with the async
resources opened on it, child processes that die with the script, and the machine's CPUs."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
PR_SET_PDEATHSIG = 1


def best_of(rounds: int, fn: Callable[[], object]) -> float:
    """The shortest wall time of `rounds` calls of `fn`, in seconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def new_loop(use_uvloop: bool) -> asyncio.AbstractEventLoop:
    if use_uvloop:
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Stop the tasks an error or a Ctrl-C left on the loop. A KeyboardInterrupt stored in a task
    is raised again when the task that awaits it ends, hence the rounds."""
    for _ in range(5):
        leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not leftover:
            return
        for task in leftover:
            task.cancel()
        with contextlib.suppress(KeyboardInterrupt):
            loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))


@contextlib.contextmanager
def event_loop(use_uvloop: bool = False) -> Iterator[tuple[asyncio.AbstractEventLoop, contextlib.AsyncExitStack]]:
    """One event loop for every async figure, and a stack closing what was opened on it."""
    loop = new_loop(use_uvloop)
    stack = contextlib.AsyncExitStack()
    try:
        yield loop, stack
    finally:
        try:
            cancel_leftovers(loop)
            loop.run_until_complete(stack.aclose())
        finally:
            loop.close()


def open_on(
    loop: asyncio.AbstractEventLoop,
    stack: contextlib.AsyncExitStack,
    make: Callable[[], contextlib.AbstractAsyncContextManager[T]],
) -> T:
    """Create an async resource inside the running loop and have ``stack`` close it."""

    async def enter() -> T:
        return await stack.enter_async_context(make())

    return loop.run_until_complete(enter())


def die_with_parent() -> None:
    """In a child process (Linux): get SIGTERM if this script dies without cleaning up."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def pin_cpus() -> tuple[int, set[int]] | None:
    """For --pin: the first CPU (for the server), and the others (for this process); None when there
    are fewer than two or the affinity cannot be set."""
    if not hasattr(os, "sched_setaffinity") or cpu_count() < 2:
        return None
    first, *rest = sorted(os.sched_getaffinity(0))
    return first, set(rest)
