"""What a hand-written client builds from one presence answer, for the peers in the benchmarks:
frozen dataclasses with timezone-aware datetimes, the same work wawp_presence does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from wawp_presence import PresenceState

WORDS = {"available": "online", "unavailable": "offline", "composing": "typing"}


@dataclass(frozen=True)
class Participant:
    participant: str
    last_known_presence: PresenceState
    last_seen: datetime | None


@dataclass(frozen=True)
class Chat:
    id: str
    presences: tuple[Participant, ...]


def to_chat(doc: dict[str, Any]) -> Chat:
    """One WAHA answer as a hand-written client reads it."""
    people = []
    for p in doc["presences"]:
        word = WORDS.get(p["lastKnownPresence"], p["lastKnownPresence"])
        seen = p.get("lastSeen")
        when = datetime.fromtimestamp(seen, timezone.utc) if seen is not None else None
        people.append(Participant(p["participant"], PresenceState(word), when))
    return Chat(doc["id"], tuple(people))
