"""Dropping repeated webhook deliveries: WAHA and Wawp deliver each event at least once."""

from __future__ import annotations

import math
import operator
import threading
import time
from collections import OrderedDict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._native import PresenceEvent


class EventDeduplicator:
    """Remembers the ids of recent events, to tell a repeated delivery from a new event.

    ``seen(event)`` is True when the event's id was recorded within ``ttl`` seconds, and records
    it otherwise. At most ``max_size`` ids are kept (the oldest are forgotten first), so memory
    stays bounded whatever arrives; an event without an id is never called a repeat. Safe to
    share between threads.
    """

    def __init__(self, max_size: int = 100_000, ttl: float = 3600.0) -> None:
        try:
            size = operator.index(max_size)  # any int, NumPy's included
        except TypeError:
            size = 0
        if isinstance(max_size, bool) or size < 1:
            raise ValueError(f"max_size must be an int of at least 1, not {max_size!r}")
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not (math.isfinite(ttl) and ttl > 0):
            raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
        self.max_size = size
        self.ttl = float(ttl)
        # id -> when it was first recorded (monotonic seconds), oldest first.
        self._ids: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._clock = time.monotonic

    def seen(self, event: PresenceEvent | str | None) -> bool:
        """True when this event (or event id) was seen within ``ttl``; else records it."""
        event_id = event if isinstance(event, str) or event is None else event.id
        if not event_id:
            return False
        with self._lock:
            now = self._clock()
            ids = self._ids
            while ids:
                oldest, at = next(iter(ids.items()))
                if now - at < self.ttl:
                    break
                del ids[oldest]
            if event_id in ids:
                return True
            ids[event_id] = now
            if len(ids) > self.max_size:
                ids.popitem(last=False)
            return False

    def __len__(self) -> int:
        """How many ids are remembered now (expired ones may linger until the next ``seen``)."""
        return len(self._ids)

    def clear(self) -> None:
        """Forgets every id."""
        with self._lock:
            self._ids.clear()

    def __repr__(self) -> str:
        return f"EventDeduplicator(max_size={self.max_size}, ttl={self.ttl}, remembered={len(self)})"
