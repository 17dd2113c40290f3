"""The code of python-api.md's later sections runs as written against a fake server: "Staying
online" (sync as written, and its async variant named in the comment) and "Tables and
notebooks" (each function on real get_many results). "Webhook de-duplication" runs in
test_dedupe.py, the Clients block in test_contract_examples.py."""

from __future__ import annotations

import asyncio

from presence_helpers import build_client, start_server
from test_contract_examples import block, namespace_with

import wawp_presence
from wawp_presence import AsyncPresenceClient, PresenceClient

IDS = ["447441429009@c.us", "447700900123@c.us", "120363041234567890@g.us"]
COLUMNS = ["chat_id", "participant", "state", "last_seen", "observed_at", "previous", "error"]


def own_presences(server) -> list[str]:
    return [r["json"]["presence"] for r in server.requests if r["method"] == "POST"]


def test_staying_online_runs_as_written():
    server = start_server("wawp")
    client = build_client(PresenceClient, server)
    namespace = namespace_with(wawp_presence, client=client)
    exec(compile(block("Staying online"), "python-api.md#Staying online", "exec"), namespace)
    assert own_presences(server) == ["online", "offline"]
    client.close()


def test_staying_online_in_its_async_form():
    server = start_server("waha")

    async def main() -> None:
        aclient = build_client(AsyncPresenceClient, server)
        async with aclient.keep_online():
            assert server.own_presence == "online"

    asyncio.run(main())
    assert own_presences(server) == ["online", "offline"]


def test_tables_and_notebooks_runs_as_written():
    server = start_server("wawp")
    for chat_id in IDS:
        server.set_presence(chat_id, "online")
    client = build_client(PresenceClient, server)
    chats = client.get_many(IDS)
    namespace = namespace_with(wawp_presence, client=client, ids=[*IDS, "not a chat"], chats=chats)
    exec(compile(block("Tables and notebooks"), "python-api.md#Tables and notebooks", "exec"), namespace)
    rows = namespace["rows"]
    assert [list(row) for row in rows] == [COLUMNS] * 4
    assert rows[-1]["chat_id"] == "not a chat" and rows[-1]["error"].startswith("InvalidChatIdError: ")
    assert list(namespace["df"].columns) == COLUMNS == list(namespace["pl_df"].columns)
    assert namespace["table"].column_names == COLUMNS
    assert len(namespace["df"]) == len(namespace["pl_df"]) == namespace["table"].num_rows == 3
    client.close()
