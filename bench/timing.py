"""What the bench scripts share: the best of several timed rounds."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(rounds: int, fn: Callable[[], object]) -> float:
    """The shortest wall time of `rounds` calls of `fn`, in seconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)
