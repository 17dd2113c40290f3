"""Presence lookups with wawp_presence vs requests, httpx and aiohttp, measured in one run.

    pip install . requests httpx aiohttp && python bench/bench_clients.py [--chats 400] [--rounds 3]

All clients talk to the same fake Wawp server on 127.0.0.1 (Rust, so the server is not the
bottleneck) and do the same work a user would otherwise write by hand: the GET, the JSON, and
immutable objects with timezone-aware datetimes. Printed: the best round's time per client and
its ratio to wawp_presence (above 1.0 = slower than wawp_presence).
"""

from __future__ import annotations

import argparse
import asyncio
from urllib.parse import quote

from peer_models import Chat
from peer_models import to_chat as parse
from timing import best_of

from wawp_presence import AsyncPresenceClient, PresenceClient
from wawp_presence.testing import FakeServer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chats", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()

    with FakeServer(backend="wawp") as server:
        ids = [f"4477009{i:05d}@c.us" for i in range(args.chats)]
        for i, chat in enumerate(ids):
            server.set_presence(chat, "online" if i % 3 else "offline", last_seen=None if i % 3 else 1_700_000_000 + i)
        creds = {"instance_id": server.instance_id, "access_token": server.access_token}
        url = lambda chat: f"{server.url}/v2/presence/{quote(chat, safe='@')}"  # noqa: E731

        results: dict[str, dict[str, float]] = {"sequential": {}, "concurrent": {}}

        # ---- one lookup after another (a loop in a notebook or a request handler)
        client = PresenceClient(base_url=server.url, **creds)
        results["sequential"]["wawp_presence"] = best_of(args.rounds, lambda: [client.get(c) for c in ids])
        try:
            import requests

            with requests.Session() as s:
                results["sequential"]["requests"] = best_of(
                    args.rounds, lambda: [parse(s.get(url(c), params=creds, timeout=10).json()) for c in ids]
                )
        except ImportError:
            print("requests is not installed: skipped")
        try:
            import httpx

            with httpx.Client(timeout=10) as h:
                results["sequential"]["httpx"] = best_of(
                    args.rounds, lambda: [parse(h.get(url(c), params=creds).json()) for c in ids]
                )
        except ImportError:
            print("httpx is not installed: skipped")

        # ---- all at once, at most --concurrency in flight
        results["concurrent"]["wawp_presence (sync get_many)"] = best_of(
            args.rounds, lambda: client.get_many(ids, concurrency=args.concurrency)
        )

        async def ours() -> None:
            async with AsyncPresenceClient(base_url=server.url, **creds) as a:
                await a.get_many(ids, concurrency=args.concurrency)

        results["concurrent"]["wawp_presence (async get_many)"] = best_of(args.rounds, lambda: asyncio.run(ours()))
        try:
            import httpx

            async def with_httpx() -> None:
                gate = asyncio.Semaphore(args.concurrency)
                async with httpx.AsyncClient(timeout=10) as h:

                    async def one(c: str) -> Chat:
                        async with gate:
                            return parse((await h.get(url(c), params=creds)).json())

                    await asyncio.gather(*(one(c) for c in ids))

            results["concurrent"]["httpx (async)"] = best_of(args.rounds, lambda: asyncio.run(with_httpx()))
        except ImportError:
            pass
        try:
            import aiohttp

            async def with_aiohttp() -> None:
                gate = asyncio.Semaphore(args.concurrency)
                async with aiohttp.ClientSession() as s:

                    async def one(c: str) -> Chat:
                        async with gate, s.get(url(c), params=creds) as r:
                            return parse(await r.json())

                    await asyncio.gather(*(one(c) for c in ids))

            results["concurrent"]["aiohttp"] = best_of(args.rounds, lambda: asyncio.run(with_aiohttp()))
        except ImportError:
            print("aiohttp is not installed: skipped")
        client.close()

    print(f"\n{args.chats} presence lookups, best of {args.rounds} rounds, same fake server on 127.0.0.1\n")
    for kind, timings in results.items():
        base = next(iter(timings.values()))
        print(f"{kind}:")
        for name, secs in timings.items():
            print(f"  {name:<32} {secs * 1000:8.1f} ms  {secs / args.chats * 1e6:7.1f} us/lookup  x{secs / base:5.2f}")
        print()


if __name__ == "__main__":
    main()
