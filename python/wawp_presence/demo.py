"""A tour of the client against the built-in fake server: ``python -m wawp_presence.demo``.

The real Wawp API needs an account; the fake answers like it on 127.0.0.1, so this runs
anywhere.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from . import AsyncPresenceClient, PresenceClient, PresenceState, WawpError
from .testing import FakeServer

ALICE = "447441429009@c.us"
BOB = "+44 7700 900123"  # a bare phone number works too
GROUP = "120363025246125486@g.us"


def main() -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with FakeServer(backend="wawp") as server:
        server.set_presence(ALICE, "online")
        server.set_presence(BOB, "offline", last_seen=now - timedelta(minutes=7))
        server.set_presence(GROUP, "composing", participant="447000000001@c.us")
        server.set_presence(GROUP, "unavailable", last_seen=now - timedelta(hours=2), participant="447000000002@c.us")

        with PresenceClient(
            instance_id=server.instance_id, access_token=server.access_token, base_url=server.url
        ) as client:
            print(f"{client!r}\n")
            print("One chat at a time:")
            for chat_id in (ALICE, BOB):
                chat = client.get(chat_id)
                seen = chat.last_seen.isoformat() if chat.last_seen else "-"
                print(f"  {chat.id:<28} online={chat.is_online!s:<5} last_seen={seen}")

            print("\nA group, one row per participant:")
            for p in client.get(GROUP).presences:
                print(f"  {p.participant:<28} {p.last_known_presence.value:<8} last_seen={p.last_seen}")

            print("\nMany at once (in input order):")
            for chat in client.get_many([ALICE, BOB, GROUP], concurrency=3):
                print(f"  {chat.id:<28} has_data={chat.has_data} online={chat.is_online}")

            client.set(PresenceState.ONLINE)
            with client.typing(ALICE):
                print(f"\nWhile typing, the server shows: {server.chat_states}")
            print(f"After typing:                   {server.chat_states}")
            client.set("offline")
            print(f"Own presence on the server:     {server.own_presence}")

            try:
                client.set("typing")  # per-chat states need chat_id: refused before sending
            except ValueError as e:
                print(f"\nRefused before sending: {e}")
            server.fail_next(status=401, body={"message": "Unauthorized", "statusCode": 401})
            try:
                client.get(ALICE)
            except WawpError as e:
                print(f"A typed error: {type(e).__name__}: {e}")

        async def tour_async() -> None:
            async with AsyncPresenceClient(
                instance_id=server.instance_id, access_token=server.access_token, base_url=server.url
            ) as aclient:
                chats = await asyncio.gather(aclient.get(ALICE), aclient.get(BOB))
                print(
                    "\nThe same with asyncio:",
                    ", ".join(f"{c.id}={'online' if c.is_online else 'offline'}" for c in chats),
                )

        asyncio.run(tour_async())
    print(f"\n{len(server.requests)} requests went over real HTTP to {server.url}.")


if __name__ == "__main__":
    main()
