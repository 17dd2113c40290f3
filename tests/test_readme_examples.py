"""Every Python example in README.md runs as written, with only the endpoint moved to fake
servers: `PresenceClient(...)` and `AsyncPresenceClient(...)` get a Wawp fake's `base_url` when
none is given, `waha("http://localhost:3000", session=s)` a WAHA fake serving session `s`, and a
`watch` loop ends after each chat's first sight instead of running forever. Names an example
takes from the text around it (`client`, `ids`) are given to it. A few examples' results are
then checked: the webhook receiver's answers, the table's columns, the session's presence."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import re
import time
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from presence_helpers import start_server
from test_contract_examples import namespace_with

import wawp_presence
from wawp_presence import AsyncPresenceClient, PresenceClient
from wawp_presence.testing import FakeServer

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLES = README.parent / "examples"
IDS = ["447441429009@c.us", "447700900123@c.us", "120363041234567890@g.us"]


def python_blocks() -> list[tuple[str, str]]:
    """(heading, code) of every ```python block, in order."""
    blocks, heading, inside = [], "", None
    for line in README.read_text(encoding="utf-8").splitlines():
        if inside is not None:
            if line.startswith("```"):
                blocks.append((heading, "\n".join(inside) + "\n"))
                inside = None
            else:
                inside.append(line)
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.strip() == "```python":
            inside = []
    return blocks


BLOCKS = python_blocks()


class Watched:
    """A real client whose `watch` ends after each chat's first sight (an example's loop would
    otherwise run until interrupted)."""

    def __init__(self, real: Any):
        self._real = real

    def __getattr__(self, name: str) -> Any:
        if name == "_real":  # while unpickling, before __init__
            raise AttributeError(name)
        return getattr(self._real, name)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Travels (to a Dask worker, say) as the real client it stands for.
        return self._real.__reduce_ex__(protocol)

    def __enter__(self) -> Watched:
        self._real.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._real.__exit__(*exc)

    async def __aenter__(self) -> Watched:
        await self._real.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._real.__aexit__(*exc)

    def watch(self, chat_ids: Any, **options: Any) -> Any:
        ids = list(chat_ids)
        changes = self._real.watch(ids, **options)
        if isinstance(self._real, AsyncPresenceClient):
            return first_async(changes, len(ids))
        return itertools.islice(changes, len(ids))


async def first_async(changes: Any, n: int) -> AsyncIterator[Any]:
    for _ in range(n):
        yield await changes.__anext__()


class Endpoints:
    """The fakes the examples talk to: one Wawp fake, and a WAHA fake per session asked for."""

    def __init__(self) -> None:
        self.wawp = start_server("wawp", instance_id="...", access_token="...")
        self.waha: dict[str, FakeServer] = {}
        self.clients: list[Any] = []
        self.seed(self.wawp)

    @staticmethod
    def seed(server: FakeServer) -> None:
        for n, chat_id in enumerate(IDS):
            server.set_presence(chat_id, "online" if n == 0 else "offline", last_seen=None if n == 0 else 1_764_000_000)

    def waha_for(self, session: str) -> FakeServer:
        if session not in self.waha:
            self.waha[session] = start_server("waha", api_key=None, session=session)
            self.seed(self.waha[session])
        return self.waha[session]

    def stand_in(self, real: type) -> Any:
        endpoints = self

        class StandIn:
            __name__ = real.__name__

            def __new__(cls, *args: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("base_url", endpoints.wawp.url)
                return endpoints.keep(real(*args, **kwargs))

            @staticmethod
            def waha(base_url: str, session: str | None = None, *args: Any, **kwargs: Any) -> Any:
                assert base_url == "http://localhost:3000", f"an example names a WAHA URL not mapped here: {base_url}"
                server = endpoints.waha_for(session or "default")
                return endpoints.keep(real.waha(server.url, server.session, *args, **kwargs))

            @staticmethod
            def from_env(*args: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("base_url", endpoints.wawp.url)
                return endpoints.keep(real("...", "...", *args, **kwargs))

        return StandIn

    def keep(self, client: Any) -> Watched:
        self.clients.append(client)
        return Watched(client)

    def close(self) -> None:
        for server in [self.wawp, *self.waha.values()]:
            server.stop()


@pytest.fixture
def endpoints(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the Dask example imports the recipe from there
    monkeypatch.setenv("WEBHOOK_SECRET", "readme-webhook-secret")
    made = Endpoints()
    try:
        yield made
    finally:
        made.close()


def run_block(code: str, endpoints: Endpoints, where: str) -> dict[str, Any]:
    module = types.ModuleType("wawp_presence")
    module.__dict__.update({name: getattr(wawp_presence, name) for name in wawp_presence.__all__})
    module.PresenceClient = endpoints.stand_in(PresenceClient)
    module.AsyncPresenceClient = endpoints.stand_in(AsyncPresenceClient)
    # One id is enough for every example, and keeps the rate-limited ones (1 a second) quick.
    names = {"ids": IDS[:1], "PresenceClient": module.PresenceClient, "to_pandas": wawp_presence.to_pandas}
    names["client"] = module.PresenceClient(instance_id="...", access_token="...")
    namespace = namespace_with(module, **names)
    level = logging.getLogger("wawp_presence").level
    try:
        exec(compile(code, where, "exec"), namespace)
    finally:
        logging.getLogger("wawp_presence").setLevel(level)
    return namespace


def test_the_readme_has_the_examples_run_here():
    headings = {heading for heading, _ in BLOCKS}
    for needed in ("A short tour", "Tables and notebooks", "Staying online", "Webhooks", "Beyond one machine"):
        assert needed in headings, needed
    assert len(BLOCKS) >= 12


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[f"{i}-{h}" for i, (h, _) in enumerate(BLOCKS)])
def test_each_python_example_runs_as_written(index, endpoints, capsys):
    heading, code = BLOCKS[index]
    namespace = run_block(code, endpoints, f"README.md#{heading} (block {index})")
    if "def presence_webhook" in code:
        check_the_webhook_receiver(namespace, capsys)
    if "test_my_dashboard" in namespace:
        namespace["test_my_dashboard"](start_server("wawp"))


def check_the_webhook_receiver(namespace: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    receive = namespace["presence_webhook"]
    body = json.dumps(
        {
            "event": "presence.update",
            "id": "evt-1",
            "timestamp": 1_764_000_000_000,
            "session": "default",
            "payload": {"id": IDS[0], "presences": [{"participant": IDS[0], "lastKnownPresence": "online"}]},
        }
    ).encode()
    signature = hmac.new(b"readme-webhook-secret", body, hashlib.sha512).hexdigest()
    sent = str(int(time.time() * 1000))
    headers = {"X-Webhook-Hmac": signature, "X-Webhook-Hmac-Algorithm": "sha512", "X-Webhook-Timestamp": sent}
    capsys.readouterr()
    assert receive(body, headers) == 200
    assert receive(body, headers) == 200  # the repeat is dropped...
    assert capsys.readouterr().out.count("\n") == 1  # ...so handled once
    assert receive(body, {**headers, "X-Webhook-Hmac": "0" * 128}) == 401
    garbage = hmac.new(b"readme-webhook-secret", b"not json", hashlib.sha512).hexdigest()
    assert receive(b"not json", {**headers, "X-Webhook-Hmac": garbage}) == 400


def test_the_tables_example_gives_the_seven_columns(endpoints):
    [code] = [c for h, c in BLOCKS if h == "Tables and notebooks"]
    namespace = run_block(code, endpoints, "README.md#Tables and notebooks")
    columns = ["chat_id", "participant", "state", "last_seen", "observed_at", "previous", "error"]
    assert list(namespace["df"].columns) == columns == list(namespace["pl_df"].columns)
    assert namespace["table"].column_names == columns and list(namespace["rows"][0]) == columns


def test_the_staying_online_example_ends_offline(endpoints):
    [code] = [c for h, c in BLOCKS if h == "Staying online"]
    run_block(code, endpoints, "README.md#Staying online")
    posts = [r["json"] for r in endpoints.wawp.requests if r["method"] == "POST"]
    assert posts == [{"presence": "online"}, {"presence": "offline"}]
    assert endpoints.wawp.own_presence == "offline"


def test_no_example_is_left_out_of_the_blocks_read_here():
    # An example in a ```py or unlabelled fence would escape this test.
    fences = re.findall(r"^```(\w*)$", README.read_text(encoding="utf-8"), flags=re.M)
    opened = fences[0::2]
    assert set(opened) <= {"python", "bash"}, opened
