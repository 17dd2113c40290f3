"""Presence results into tables: wawp_presence's `to_*` functions vs the same table built by hand.

    pip install ".[pandas,polars,arrow]" && python bench/bench_tables.py [--participants 100000]

The input is what a large lookup returns: ChatPresence objects (here 1,000 groups of 100
participants, a fifth of them without a last-seen time), plus a few errors. The hand-made way is
what a user writes without these functions: a comprehension over `to_dict()` into a list of
dicts, then `pandas.DataFrame(rows)` with `pd.to_datetime(..., utc=True)`, or
`polars.DataFrame(rows)` / `pyarrow.Table.from_pylist(rows)`. Printed: the best of `--rounds`
for each, and the ratio (hand-made time / wawp_presence time).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

import pandas as pd
import polars as pl
import pyarrow as pa
from timing import best_of

from wawp_presence import ChatPresence, NotFoundError, ParticipantPresence, to_arrow, to_pandas, to_polars, to_records


def make_results(participants: int) -> list[object]:
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    chats: list[object] = []
    per_chat = 100
    for c in range(participants // per_chat):
        people = [
            ParticipantPresence(
                f"4477{c:04d}{p:04d}@c.us",
                "online" if p % 5 == 0 else "offline",
                None if p % 5 == 0 else start + timedelta(seconds=c * per_chat + p),
            )
            for p in range(per_chat)
        ]
        chats.append(ChatPresence(f"1203630{c:08d}@g.us", people))
    chats += [NotFoundError("no such chat", chat_id=f"4470000{n:05d}@c.us") for n in range(10)]
    return chats


def by_hand(results: list[object]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for r in results:
        if isinstance(r, Exception):
            rows.append({"chat_id": getattr(r, "chat_id", None), "error": f"{type(r).__name__}: {r}"})
            continue
        assert isinstance(r, ChatPresence)
        for p in r.presences:
            d = p.to_dict()
            rows.append(
                {
                    "chat_id": r.id,
                    "participant": d["participant"],
                    "state": str(d["last_known_presence"]),
                    "last_seen": d["last_seen"],
                }
            )
    return rows


def pandas_by_hand(results: list[object]) -> pd.DataFrame:
    df = pd.DataFrame(by_hand(results))
    df["last_seen"] = pd.to_datetime(df["last_seen"], utc=True)
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = make_results(args.participants)
    cases = [
        ("records", lambda: to_records(results), lambda: by_hand(results)),
        ("pandas", lambda: to_pandas(results), lambda: pandas_by_hand(results)),
        ("polars", lambda: to_polars(results), lambda: pl.DataFrame(by_hand(results))),
        ("arrow", lambda: to_arrow(results), lambda: pa.Table.from_pylist(by_hand(results))),
    ]
    print(f"{args.participants:,} participants, best of {args.rounds}")
    print(f"{'table':<8} {'wawp_presence':>14} {'by hand':>10} {'ratio':>7}")
    for name, ours, theirs in cases:
        t_ours, t_theirs = best_of(args.rounds, ours), best_of(args.rounds, theirs)
        print(f"{name:<8} {t_ours * 1000:>11.1f} ms {t_theirs * 1000:>7.1f} ms {t_theirs / t_ours:>6.1f}x")


if __name__ == "__main__":
    main()
