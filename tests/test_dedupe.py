"""EventDeduplicator (python-api.md, "Webhook de-duplication"): WAHA and Wawp deliver a webhook at
least once, so a receiver asks `seen(event)` and drops what it has seen within `ttl`. Time is
driven by a fake clock on the instance (its `_clock`, `time.monotonic` by default)."""

from __future__ import annotations

import json
import textwrap
import threading
from typing import Any

import pytest
from presence_helpers import CHAT, contract_path

from wawp_presence import EventDeduplicator, PresenceEvent, parse_event


def delivery(event_id: str | None, *, millis: int = 1741249702485) -> bytes:
    """The bytes of a WAHA presence.update delivery with this id (omitted when None)."""
    body: dict[str, Any] = {
        "timestamp": millis,
        "event": "presence.update",
        "session": "default",
        "engine": "NOWEB",
        "payload": {"id": CHAT, "presences": [{"participant": CHAT, "lastKnownPresence": "online"}]},
    }
    if event_id is not None:
        body["id"] = event_id
    return json.dumps(body, separators=(",", ":")).encode()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def with_clock(dedupe: EventDeduplicator) -> FakeClock:
    clock = FakeClock()
    dedupe._clock = clock
    return clock


# ============================================================================== repeats


def test_a_replayed_delivery_is_a_repeat():
    dedupe = EventDeduplicator(max_size=10, ttl=60.0)
    first, replay = parse_event(delivery("evt_1")), parse_event(delivery("evt_1"))
    assert isinstance(first, PresenceEvent) and first == replay
    assert dedupe.seen(first) is False
    assert dedupe.seen(replay) is True
    assert dedupe.seen(first) is True
    other = parse_event(delivery("evt_2"))
    assert dedupe.seen(other) is False
    assert len(dedupe) == 2


def test_plain_ids_work_like_events():
    dedupe = EventDeduplicator(max_size=10, ttl=60.0)
    assert dedupe.seen("evt_1") is False
    assert dedupe.seen("evt_1") is True
    # an id string and an event with that id are the same delivery
    assert dedupe.seen(parse_event(delivery("evt_1"))) is True
    assert dedupe.seen(parse_event(delivery("evt_2"))) is False
    assert dedupe.seen("evt_2") is True


def test_an_event_without_an_id_is_never_a_repeat():
    dedupe = EventDeduplicator(max_size=10, ttl=60.0)
    no_id = parse_event(delivery(None))
    assert no_id.id is None
    empty_id = parse_event(delivery(""))
    for _ in range(3):
        assert dedupe.seen(no_id) is False
        assert dedupe.seen(empty_id) is False
        assert dedupe.seen(None) is False
        assert dedupe.seen("") is False
    assert len(dedupe) == 0


# ============================================================================== ttl


def test_an_id_is_forgotten_after_ttl():
    dedupe = EventDeduplicator(max_size=10, ttl=30.0)
    clock = with_clock(dedupe)
    assert dedupe.seen("evt_1") is False
    clock.now += 29.0
    assert dedupe.seen("evt_1") is True
    clock.now += 2.0  # 31 s after it was recorded
    assert dedupe.seen("evt_1") is False  # a new delivery, recorded afresh
    assert dedupe.seen("evt_1") is True
    clock.now += 31.0
    assert dedupe.seen(parse_event(delivery("evt_1"))) is False


def test_expiry_is_per_id():
    dedupe = EventDeduplicator(max_size=10, ttl=30.0)
    clock = with_clock(dedupe)
    dedupe.seen("old")
    clock.now += 20.0
    dedupe.seen("young")
    clock.now += 15.0  # old: 35 s, young: 15 s
    assert dedupe.seen("young") is True
    assert dedupe.seen("old") is False


# ============================================================================== the bound


@pytest.mark.parametrize("max_size, extra", [(1, 1), (5, 3), (100, 250)])
def test_memory_is_bounded_and_the_oldest_are_forgotten(max_size, extra):
    dedupe = EventDeduplicator(max_size=max_size, ttl=3600.0)
    ids = [f"evt_{n}" for n in range(max_size + extra)]
    for n, event_id in enumerate(ids):
        assert dedupe.seen(event_id) is False
        assert len(dedupe) <= max_size, n
    assert len(dedupe) == max_size
    newest, oldest = ids[-max_size:], ids[:extra]
    # The newest are asked first: a repeat records nothing, so it forgets nothing.
    assert [dedupe.seen(i) for i in newest] == [True] * max_size
    assert dedupe.seen(oldest[0]) is False
    assert len(dedupe) == max_size


def test_a_flood_of_events_stays_within_the_bound():
    dedupe = EventDeduplicator(max_size=1000, ttl=3600.0)
    for n in range(20_000):
        dedupe.seen(parse_event(delivery(f"flood_{n}")) if n % 100 == 0 else f"flood_{n}")
    assert len(dedupe) == 1000
    assert dedupe.seen("flood_19999") is True
    assert dedupe.seen("flood_0") is False


# ============================================================================== threads


def test_eight_threads_agree_on_what_is_new():
    dedupe = EventDeduplicator(max_size=10_000, ttl=3600.0)
    ids = [f"evt_{n}" for n in range(1000)]
    start = threading.Barrier(8)
    answers: list[list[bool]] = [[] for _ in range(8)]

    def worker(k: int) -> None:
        start.wait()
        answers[k] = [dedupe.seen(i) for i in ids]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(a.count(False) for a in answers) == 1000
    assert sum(len(a) for a in answers) == 8000
    # each id was new to exactly one thread
    for n in range(1000):
        assert [a[n] for a in answers].count(False) == 1, ids[n]
    assert len(dedupe) == 1000


# ============================================================================== arguments


@pytest.mark.parametrize("max_size", [0, -1, True, 1.5, "10"])
def test_a_bad_max_size_is_refused(max_size):
    with pytest.raises(ValueError):
        EventDeduplicator(max_size=max_size, ttl=60.0)


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), 0.0, float("-inf")])
def test_a_bad_ttl_is_refused(ttl):
    with pytest.raises(ValueError):
        EventDeduplicator(max_size=10, ttl=ttl)


def test_the_defaults_and_good_arguments():
    dedupe = EventDeduplicator()
    assert (dedupe.max_size, dedupe.ttl) == (100_000, 3600.0)
    assert EventDeduplicator(1, 0.001).seen("a") is False
    assert EventDeduplicator(max_size=3, ttl=5).seen("a") is False


# ============================================================================== the contract's example


def contract_example() -> tuple[str, str]:
    """The python block of "## Webhook de-duplication": (setup lines, the `if` and its body)."""
    text = contract_path("spec", "python-api.md").read_text(encoding="utf-8")
    section = text.split("\n## Webhook de-duplication\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    lines = code.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("if "))
    return "\n".join(lines[:start]) + "\n", "\n".join(lines[start:]) + "\n"


def test_the_contract_example_runs_as_written():
    setup, check = contract_example()
    assert "EventDeduplicator(" in setup and "dedupe.seen(event)" in check
    namespace: dict[str, Any] = {}
    exec(setup, namespace)
    # The check is the body of a webhook handler, which falls through to handle a new event.
    handler = "def receive(event):\n" + textwrap.indent(check, "    ") + '    return "handled", 200\n'
    exec(handler, namespace)
    receive = namespace["receive"]
    assert isinstance(namespace["dedupe"], EventDeduplicator)
    body = delivery("evt_contract")
    assert receive(parse_event(body)) == ("handled", 200)
    assert receive(parse_event(body)) == ("", 200)  # the same delivery again
    assert receive(parse_event(delivery("evt_other"))) == ("handled", 200)
    assert receive(parse_event(delivery(None))) == ("handled", 200)
    assert receive(parse_event(delivery(None))) == ("handled", 200)
