"""A fake WAHA server in a process of its own that answers every request after a fixed delay,
for bench_latency.py.

    python bench/latency_server.py --latency 0.001 [--chat 447441429009@c.us]

It is the package's own `FakeServer` (Rust, on its own threads), with the chat's presence set
so that every answer carries data. Its first line on stdout is ``url=<base url>``; then it reads
commands on stdin, one a line, and answers each with one line of JSON:

- ``reset``: forget the requests counted so far (the peak in flight starts again from 0) and
  set the chat's presence again; answers ``{"ok": true}``.
- ``stats``: ``{"cpu_s": ..., "peak_in_flight": ..., "connections_opened": ...}``, where
  ``cpu_s`` is this process's CPU time so far (user + system, all threads) and the others are
  counted since the last ``reset``.

It stops when stdin closes (so also when its parent dies), on SIGTERM, and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from wawp_presence.testing import FakeServer

CHAT_ID = "447441429009@c.us"
LAST_SEEN = 1_700_000_000  # an answer with a last-seen time, so that every reader builds a datetime
REQUEST_LOG = 100  # the fake keeps only this many requests in memory, however long the run


def prepare(server: FakeServer, chat_id: str) -> None:
    server.set_presence(chat_id, "online", last_seen=LAST_SEEN)


def stats(server: FakeServer) -> dict[str, float]:
    traffic = server.traffic
    return {
        "cpu_s": time.process_time(),
        "peak_in_flight": server.max_requests_in_flight,
        "connections_opened": traffic.get("connections_opened", 0),
    }


def serve(latency: float, chat_id: str) -> None:
    with FakeServer("waha", latency=latency, request_log=REQUEST_LOG) as server:
        prepare(server, chat_id)
        print(f"url={server.url}", flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                server.reset()
                prepare(server, chat_id)
                answer: dict[str, object] = {"ok": True}
            elif command == "stats":
                answer = dict(stats(server))
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.0, help="seconds every answer waits (default 0)")
    ap.add_argument("--chat", default=CHAT_ID, help=f"the chat whose presence is set (default {CHAT_ID})")
    args = ap.parse_args(argv)
    try:
        serve(args.latency, args.chat)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
