"""Progress of a bulk lookup (``get_many(..., progress=...)``): the user's callable, called at most
about ten times a second and once at the end, or a bar (``tqdm.auto`` when installed, else one
line on stderr that rewrites itself). The extension counts the finished lookups and asks the
reporter now and then (in the calling thread, or on the event loop in the caller's context);
this module only decides when to tell."""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: Shortest time between two reports before the last.
INTERVAL = 0.1


class Reporter:
    """Tells ``callback(done, total)`` of progress: when the count moved, at most once per
    ``INTERVAL``, and always once at ``finish``."""

    def __init__(self, callback: Callable[[int, int], object], total: int, close: Callable[[], object] | None = None):
        self.callback = callback
        self.total = total
        self._close = close
        self._told = -1
        self._at = float("-inf")

    def update(self, done: int) -> None:
        # The full count is the end's to tell, so it is told once.
        now = time.monotonic()
        if done != self._told and done < self.total and now - self._at >= INTERVAL:
            self._told, self._at = done, now
            self.callback(done, self.total)

    def finish(self, done: int) -> None:
        try:
            self.callback(done, self.total)
        finally:
            if self._close is not None:
                self._close()


class _StderrLine:
    """One line on stderr that rewrites itself, for a terminal without tqdm."""

    def __init__(self) -> None:
        self.width = 0

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        text = f"get_many: {done}/{total} chats ({percent}%)"
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = len(text)

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def _bar(total: int) -> Reporter:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        line = _StderrLine()
        return Reporter(line, total, line.close)
    bar = tqdm(total=total, unit="chat", desc="get_many")

    def advance(done: int, total: int) -> None:
        bar.update(done - bar.n)

    return Reporter(advance, total, bar.close)


def reporter(progress: bool | Callable[[int, int], object] | None, total: int) -> Reporter | None:
    """The reporter for ``get_many``'s ``progress`` argument: None for None or False."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return _bar(total)
    if callable(progress):
        return Reporter(progress, total)
    raise TypeError(f"progress must be True, False, None or a callable(done, total), not {type(progress).__name__}")
