"""How the ``wawp-presence`` command prints rows: ``table`` for people, ``json``, ``csv`` and
``jsonl`` for programs. Every format starts from the rows of :func:`wawp_presence.to_records`
(the seven columns of ``COLUMNS``)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, TextIO

COLUMNS = ("chat_id", "participant", "state", "last_seen", "observed_at", "previous", "error")

Row = dict[str, Any]


def plain(row: Row) -> dict[str, Any]:
    """The row with exactly the seven columns, in order; datetimes as ISO 8601 text in UTC."""
    out: dict[str, Any] = {}
    for name in COLUMNS:
        value = row.get(name)
        if isinstance(value, datetime):
            value = value.astimezone(timezone.utc).isoformat()
        out[name] = value
    return out


def write_json(rows: Iterable[Row], out: TextIO) -> None:
    json.dump([plain(row) for row in rows], out, indent=2)
    out.write("\n")


def write_csv(rows: Iterable[Row], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = plain(row)
        writer.writerow(["" if values[name] is None else values[name] for name in COLUMNS])


def write_jsonl(row: Row, out: TextIO) -> None:
    out.write(json.dumps(plain(row)) + "\n")
    out.flush()


def one_line(text: str) -> str:
    return " ".join(text.split())


def ago(seconds: float) -> str:
    """How long ago, in words: "12 s ago", "7 min ago", "3 h ago", "2 d ago"."""
    if seconds < 1:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def readable_time(when: datetime | None, now: datetime) -> str:
    """A time for people: "2026-05-09 07:35:25 UTC (7 min ago)", or "-" for none."""
    if when is None:
        return "-"
    text = when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{text} ({ago((now - when).total_seconds())})"


def aligned(lines: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart; no trailing spaces."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines]


def write_table(rows: Sequence[Row], out: TextIO) -> None:
    """The rows of ``get`` for people: chat, participant, state, last seen, and the error column
    when a chat failed."""
    now = datetime.now(timezone.utc)
    with_errors = any(row.get("error") for row in rows)
    header = ["CHAT", "PARTICIPANT", "STATE", "LAST SEEN"] + (["ERROR"] if with_errors else [])
    lines = [header]
    for row in rows:
        error = row.get("error")
        if row.get("state"):
            state = str(row["state"])
        else:
            state = "error" if error else "no data yet"
        line = [row.get("chat_id") or "-", row.get("participant") or "-", state, readable_time(row["last_seen"], now)]
        if with_errors:
            line.append(one_line(error) if error else "")
        lines.append(line)
    for text in aligned(lines):
        out.write(text + "\n")


class ChangeTable:
    """The changes of ``watch`` for people, one line each as they come: the time seen (UTC), the
    chat, the participant, the new state, the one before it, and the last-seen time. Columns grow
    when a longer value comes along; earlier lines stay as printed."""

    HEADER = ("TIME (UTC)", "CHAT", "PARTICIPANT", "STATE", "WAS", "LAST SEEN")

    def __init__(self, out: TextIO, chat_ids: Sequence[str]) -> None:
        self.out = out
        widest_id = max((len(chat_id) for chat_id in chat_ids), default=0)
        self.widths = [len(self.HEADER[0]), widest_id, widest_id, len("recording"), len("recording")]
        self.started = False

    def write(self, row: Row) -> None:
        if not self.started:
            self.started = True
            self._line(list(self.HEADER))
        observed: datetime = row["observed_at"] or datetime.now(timezone.utc)
        self._line(
            [
                observed.astimezone(timezone.utc).strftime("%H:%M:%S"),
                row["chat_id"] or "-",
                row["participant"] or "-",
                row["state"] or "-",
                row["previous"] or "(first)",
                readable_time(row["last_seen"], observed),
            ]
        )

    def _line(self, cells: list[str]) -> None:
        for i, cell in enumerate(cells[:-1]):
            self.widths[i] = max(self.widths[i], len(cell))
        padded = [cell.ljust(width) for cell, width in zip(cells, self.widths, strict=False)]
        self.out.write(("  ".join([*padded, cells[-1]])).rstrip() + "\n")
        self.out.flush()
