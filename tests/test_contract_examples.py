"""The code in python-api.md runs as written, with only the endpoint pointed at the fake servers.

The contract's Clients block is executed (minus its `watch` lines, a later issue): the sync part
as it stands, the async part wrapped in an `async def`. `PresenceClient` and
`AsyncPresenceClient` in its namespace are thin stand-ins that give the real classes a fake's
`base_url` when none is passed, and send `waha("http://localhost:3000", ...)` to a WAHA fake.
Then the fakes' records show that every operation happened. The Models block is checked as far
as it can run: the enum is executed and compared, and each model is built from the fields shown.
"""

from __future__ import annotations

import asyncio
import builtins
import enum
import re
import textwrap
import types
from datetime import datetime, timezone
from typing import Any

import pytest
from presence_helpers import (
    contract_path,
    decoded_path,
    query_value,
    start_server,
)

import wawp_presence
from wawp_presence import (
    AsyncPresenceClient,
    ChatPresence,
    ParticipantPresence,
    PresenceClient,
    PresenceState,
)

DOC_PARTS = ("spec", "python-api.md")
EXAMPLE_CHAT = "447441429009@c.us"
EXAMPLE_IDS = ["447441429009@c.us", "447700900123@c.us", "120363041234567890@g.us"]


def contract_text() -> str:
    return contract_path(*DOC_PARTS).read_text(encoding="utf-8")


def python_blocks() -> dict[str, list[str]]:
    """```python blocks of the contract, by the `## ` heading they sit under."""
    blocks: dict[str, list[str]] = {}
    heading = ""
    inside: list[str] | None = None
    for line in contract_text().splitlines():
        if inside is not None:
            if line.startswith("```"):
                blocks.setdefault(heading, []).append("\n".join(inside) + "\n")
                inside = None
            else:
                inside.append(line)
        elif line.startswith("## "):
            heading = line[3:].strip()
        elif line.strip() == "```python":
            inside = []
    return blocks


def block(heading: str) -> str:
    found = python_blocks().get(heading)
    assert found, f"python-api.md has no python block under '## {heading}'"
    return found[0]


# ============================================================================== the copy


def test_the_contract_copy_has_the_sections_run_here():
    # tests/contract/python-api.md is the copy the tests read (nothing outside the repository is).
    text = contract_path(*DOC_PARTS).read_text(encoding="utf-8")
    for heading in (
        "Clients",
        "Models",
        "Webhooks",
        "Testing helpers",
        "Staying online",
        "Tables and notebooks",
        "Webhook de-duplication",
    ):
        assert f"\n## {heading}\n" in text, heading


# ============================================================================== Clients


def split_clients_block() -> tuple[str, str]:
    """(sync part, async part) of the Clients block, each without its single `watch` line."""
    lines = block("Clients").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("async with"))
    parts = []
    for part in (lines[:start], lines[start:]):
        watch = [line for line in part if ".watch(" in line]
        assert len(watch) == 1, f"expected one watch line, found {watch}"
        parts.append("\n".join(line for line in part if ".watch(" not in line) + "\n")
    return parts[0], parts[1]


class Redirected:
    """Stands in for a client class: the real class, with the endpoint moved to a fake.

    Calls, `waha` and `from_env` return real client instances; only `base_url` changes (a
    default for the hosted API, a map for WAHA URLs). `from_env` reads WAWP_BASE_URL, which the
    test sets to the Wawp fake.
    """

    def __init__(self, real: type, wawp_url: str, waha_urls: dict[str, str]):
        self.real = real
        self.wawp_url = wawp_url
        self.waha_urls = waha_urls
        self.__name__ = real.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", self.wawp_url)
        return self.real(*args, **kwargs)

    def waha(self, base_url: str, *args: Any, **kwargs: Any) -> Any:
        assert base_url in self.waha_urls, f"the example names a WAHA URL the test did not map: {base_url}"
        return self.real.waha(self.waha_urls[base_url], *args, **kwargs)

    def from_env(self, *args: Any, **kwargs: Any) -> Any:
        return self.real.from_env(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def namespace_with(module: types.ModuleType, **names: Any) -> dict[str, Any]:
    """A globals dict in which `from wawp_presence import ...` yields `module`."""
    real_import = builtins.__import__

    def importer(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "wawp_presence" and level == 0:
            return module
        return real_import(name, globals, locals, fromlist, level)

    own_builtins = dict(vars(builtins))
    own_builtins["__import__"] = importer
    namespace = {"__builtins__": own_builtins, "__name__": "contract_example"}
    namespace.update(names)
    return namespace


@pytest.fixture
def example_servers(monkeypatch):
    wawp = start_server("wawp", instance_id="...", access_token="...")
    waha = start_server("waha", api_key=None, session="default")
    monkeypatch.setenv("WAWP_INSTANCE_ID", "...")
    monkeypatch.setenv("WAWP_ACCESS_TOKEN", "...")
    monkeypatch.setenv("WAWP_BASE_URL", wawp.url)
    for server in (wawp, waha):
        for chat_id in EXAMPLE_IDS:
            server.set_presence(chat_id, "online")
    try:
        yield wawp, waha
    finally:
        wawp.stop()
        waha.stop()


def test_clients_block_runs_as_written(example_servers):
    wawp, waha = example_servers
    sync_part, async_part = split_clients_block()

    module = types.ModuleType("wawp_presence")
    module.__dict__.update(vars(wawp_presence))
    module.PresenceClient = Redirected(PresenceClient, wawp.url, {"http://localhost:3000": waha.url})
    module.AsyncPresenceClient = Redirected(AsyncPresenceClient, wawp.url, {"http://localhost:3000": waha.url})
    namespace = namespace_with(module, ids=list(EXAMPLE_IDS), chat_id=EXAMPLE_CHAT)

    exec(compile(sync_part, "python-api.md#Clients (sync)", "exec"), namespace)
    wrapped = "async def contract_async_part():\n" + textwrap.indent(async_part, "    ") + "    return locals()\n"
    exec(compile(wrapped, "python-api.md#Clients (async)", "exec"), namespace)
    async_locals = asyncio.run(namespace["contract_async_part"]())

    # ---- the sync part: its last client is the WAHA one, so WAHA saw the operations
    chat = namespace["chat"]
    assert isinstance(chat, ChatPresence) and chat.id == EXAMPLE_CHAT and chat.is_online
    every = namespace["every"]
    assert isinstance(every, list) and EXAMPLE_CHAT in {c.id for c in every}
    many = namespace["many"]
    assert [c.id for c in many] == EXAMPLE_IDS

    seen = [(r["method"], decoded_path(r), r["json"]) for r in waha.requests]
    assert ("GET", f"/api/default/presence/{EXAMPLE_CHAT}", None) in seen
    assert ("POST", "/api/default/presence", {"presence": "online"}) in seen
    assert ("POST", "/api/default/presence", {"presence": "typing", "chatId": EXAMPLE_CHAT}) in seen
    assert ("POST", f"/api/default/presence/{EXAMPLE_CHAT}/subscribe", None) in seen
    assert ("GET", "/api/default/presence", None) in seen
    for chat_id in EXAMPLE_IDS:
        assert ("GET", f"/api/default/presence/{chat_id}", None) in seen
    # typing() ends with paused, after the explicit set("typing")
    typing_bodies = [
        body for method, path, body in seen if path == "/api/default/presence" and body and "chatId" in body
    ]
    assert [b["presence"] for b in typing_bodies] == ["typing", "typing", "paused"]
    assert waha.own_presence == "online"
    assert EXAMPLE_CHAT in waha.subscriptions

    # ---- the async part went to the hosted API (here its fake), with the example's credentials
    assert isinstance(async_locals["chat"], ChatPresence) and async_locals["chat"].id == EXAMPLE_CHAT
    paths = [(r["method"], decoded_path(r)) for r in wawp.requests]
    assert paths == [
        ("GET", f"/v2/presence/{EXAMPLE_CHAT}"),
        ("POST", "/v2/presence"),
        ("POST", "/v2/send/start-typing"),
        ("POST", "/v2/send/stop-typing"),
    ]
    assert wawp.requests[1]["json"] == {"presence": "offline"}
    assert [query_value(r, "chatId") for r in wawp.requests[2:]] == [EXAMPLE_CHAT, EXAMPLE_CHAT]
    assert all(
        query_value(r, "instance_id") == "..." and query_value(r, "access_token") == "..." for r in wawp.requests
    )
    assert wawp.own_presence == "offline"
    assert wawp.chat_states[EXAMPLE_CHAT] == "paused"


def test_testing_helpers_block_runs_as_written():
    namespace = namespace_with(wawp_presence, PresenceClient=PresenceClient)
    exec(compile(block("Testing helpers"), "python-api.md#Testing helpers", "exec"), namespace)
    client = namespace["client"]
    assert isinstance(client, PresenceClient)
    assert namespace["server"].backend == "wawp"
    client.close()


# ============================================================================== Models


def test_models_block_enum_is_the_real_one():
    source = block("Models")
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("class PresenceState"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(" ")), len(lines))
    namespace: dict[str, Any] = {"enum": enum}
    exec(compile("\n".join(lines[start:end]) + "\n", "python-api.md#Models", "exec"), namespace)
    documented = namespace["PresenceState"]
    assert [(m.name, m.value) for m in documented] == [(m.name, m.value) for m in PresenceState]
    assert issubclass(PresenceState, str) and issubclass(PresenceState, enum.Enum)


def documented_signatures() -> dict[str, list[str]]:
    """Model name -> field names, from the `Name(field: type, ...)` lines of the Models block."""
    source = block("Models")
    found = {}
    for match in re.finditer(r"^([A-Z]\w+)\(([^)]*)\)", source, flags=re.M | re.S):
        found[match.group(1)] = re.findall(r"(\w+)\s*:", match.group(2))
    return found


def documented_properties(model: str) -> list[str]:
    source = block("Models")
    after = source[source.index(f"\n{model}(") + 1 :]
    properties = []
    for line in after.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("."):
            properties.append(re.match(r"\.(\w+)", stripped).group(1))
        elif not line.startswith(" "):
            break  # the next model's signature
    return properties


SEEN = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_models_block_signatures_are_what_the_tests_expect():
    signatures = documented_signatures()
    assert signatures["ParticipantPresence"] == ["participant", "last_known_presence", "last_seen"]
    assert signatures["ChatPresence"] == ["id", "presences"]
    assert documented_properties("ChatPresence") == ["is_group", "has_data", "is_online", "last_seen"]


@pytest.mark.parametrize("model_name", ["ParticipantPresence", "ChatPresence"])
def test_models_block_models_are_built_from_the_fields_shown(model_name):
    samples = {
        "participant": EXAMPLE_CHAT,
        "last_known_presence": PresenceState.ONLINE,
        "last_seen": SEEN,
        "id": EXAMPLE_CHAT,
        "presences": (ParticipantPresence(EXAMPLE_CHAT, PresenceState.ONLINE, SEEN),),
    }
    model = getattr(wawp_presence, model_name)
    fields = documented_signatures()[model_name]
    values = [samples[field] for field in fields]
    by_position = model(*values)
    by_keyword = model(**dict(zip(fields, values, strict=False)))
    assert by_position == by_keyword
    for field, value in zip(fields, values, strict=False):
        assert getattr(by_position, field) == value
    assert tuple(model.__match_args__)[: len(fields)] == tuple(fields)
    if model_name == "ChatPresence":
        for name in documented_properties(model_name):
            assert hasattr(by_position, name)
        assert by_position.is_group is False
        assert by_position.has_data is True
        assert by_position.is_online is True
        assert by_position.last_seen == SEEN
