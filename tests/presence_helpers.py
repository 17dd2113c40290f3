"""Plain helpers shared by the tests (the fixtures built on them live in conftest.py).

Kept in a module of its own so that every test file can import them by name, whatever pytest's
import mode: conftest.py puts this folder on ``sys.path`` before any test module is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

import pytest

from wawp_presence import AsyncPresenceClient, PresenceClient
from wawp_presence.testing import FakeServer

# --------------------------------------------------------------------------------------------
# Constants

TOKEN = "tok-SECRET-123456"
API_KEY = "key-SECRET-654321"
SECRETS = (TOKEN, API_KEY)
INSTANCE_ID = "inst-test-42"

CHAT = "447441429009@c.us"
CHAT2 = "447700900123@c.us"
CHAT3 = "447700900456@c.us"
GROUP = "120363041234567890@g.us"
LID = "123456789012345@lid"
NEWSLETTER = "120363123456789012@newsletter"

BACKENDS = ("wawp", "waha")
MODES = ("sync", "async")

# Where the backend or the client kind matters, a test runs more than the default (sync, Wawp):
BOTH_BACKENDS = pytest.mark.parametrize("backend", BACKENDS)
# both client kinds and both backends in two runs: every binding path, without the full matrix
TWO_WAYS = pytest.mark.parametrize(
    "mode, backend", [("sync", "wawp"), ("async", "waha")], ids=["sync-wawp", "async-waha"]
)
# the full 2 x 2 matrix, for the parity test only
EVERY_MODE = pytest.mark.parametrize(
    "mode, backend", [(m, b) for m in MODES for b in BACKENDS], ids=[f"{m}-{b}" for m in MODES for b in BACKENDS]
)

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
# Copies of the contract documents the tests read (python-api.md, WAHA's OpenAPI document):
# the tests depend on nothing outside the repository.
CONTRACT_COPY_DIR = TESTS_DIR / "contract"
PACKAGE_SOURCE_DIR = REPO_DIR / "python" / "wawp_presence"

# A call that should take about 0.5 s must come back within this ("did not hang", not speed).
HANG_BOUND_SECONDS = 5.0


def contract_copy(name: str) -> Path:
    """The copy kept in tests/contract/ of the contract document `name`, verbatim (ruff leaves
    the folder alone, so the code blocks stay as the contract wrote them)."""
    path = CONTRACT_COPY_DIR / name
    if not path.is_file():
        raise AssertionError(f"missing contract copy {path}")
    return path


def contract_path(*parts: str) -> Path:
    """The copy of the contract document at `parts` (e.g. "spec", "python-api.md") in tests/contract/."""
    return contract_copy(parts[-1])


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


def built_artifact(env_var: str, folder: str, pattern: str, how: str) -> Path:
    """The build output scripts/test.sh names in `env_var` (the wheel, the sdist); without it, the
    newest file matching `pattern` in REPO_DIR/`folder`, which `how` builds by hand."""
    named = os.environ.get(env_var)
    if named:
        return Path(named)
    built = sorted((REPO_DIR / folder).glob(pattern), key=lambda p: p.stat().st_mtime)
    assert built, f"nothing in {folder}: build it (scripts/test.sh does) with `{how}`"
    return built[-1]


# --------------------------------------------------------------------------------------------
# Servers and clients


def start_server(backend: str, **options: Any) -> FakeServer:
    """A fake with known secrets: the Wawp one checks TOKEN, the WAHA one checks API_KEY."""
    if backend == "wawp":
        options.setdefault("instance_id", INSTANCE_ID)
        options.setdefault("access_token", TOKEN)
    else:
        options.setdefault("api_key", API_KEY)
    return FakeServer(backend=backend, **options)


def build_client(cls: type, server: Any, **options: Any) -> Any:
    """A client of class `cls` (sync or async) that talks to `server`, as a user would build it."""
    if server.backend == "wawp":
        return cls(
            instance_id=server.instance_id,
            access_token=server.access_token,
            base_url=server.url,
            **options,
        )
    return cls.waha(server.url, session=server.session, api_key=server.api_key, **options)


def secret_of(server: Any) -> str:
    return server.access_token if server.backend == "wawp" else server.api_key


def route(server: Any, op: str, chat: str | None = None) -> str:
    """The decoded path `op` uses on `server`'s backend (wire.md's route table)."""
    if server.backend == "wawp":
        base = "/v2/presence"
        typing_routes = {"start_typing": "/v2/send/start-typing", "stop_typing": "/v2/send/stop-typing"}
    else:
        base = f"/api/{server.session}/presence"
        typing_routes = {}
    if op in ("set", "get_all"):
        return base
    if op == "get":
        return f"{base}/{chat}"
    if op == "subscribe":
        return f"{base}/{chat}/subscribe"
    return typing_routes[op]


def decoded_path(request: dict) -> str:
    return unquote(request["path"])


def query_value(request: dict, name: str) -> Any:
    value = request["query"].get(name)
    if isinstance(value, (list, tuple)):
        assert len(value) == 1, f"query parameter {name} sent {len(value)} times"
        return value[0]
    return value


def requests_for(server: Any, method: str, path: str) -> list[dict]:
    return [r for r in server.requests if r["method"] == method and decoded_path(r) == path]


def typing_states(server: Any, chat: str) -> list[str]:
    """The per-chat states the client sent for `chat`, in order, on either backend."""
    states = []
    for r in server.requests:
        path = decoded_path(r)
        if (
            server.backend == "wawp"
            and r["method"] == "POST"
            and path
            in (
                "/v2/send/start-typing",
                "/v2/send/stop-typing",
            )
        ):
            if query_value(r, "chatId") == chat:
                states.append("typing" if path.endswith("start-typing") else "paused")
        elif r["method"] == "POST" and path == route(server, "set"):
            body = r["json"] or {}
            if body.get("chatId") == chat:
                states.append(body["presence"])
    return states


def raw_call(
    server: Any,
    method: str,
    path: str,
    *,
    body: Any = None,
    credentials: bool = True,
    token: str | None = None,
    api_key: str | None = None,
    query: dict | None = None,
) -> tuple[int, dict, bytes]:
    """One HTTP request to the fake with the standard library, without the client under test.

    `path` is the decoded route; chat ids in it are percent-encoded here. Returns
    (status, lowercase headers, body bytes).
    """
    encoded = "/".join(quote(part, safe="") for part in path.split("/"))
    headers = {"Accept": "application/json"}
    parameters = dict(query or {})
    if server.backend == "wawp":
        if credentials:
            parameters.update(instance_id=server.instance_id, access_token=token or server.access_token)
    elif credentials and (api_key or server.api_key):
        headers["X-Api-Key"] = api_key or server.api_key
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    suffix = "?" + urlencode(parameters) if parameters else ""
    request = urllib.request.Request(server.url + encoded + suffix, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


# --------------------------------------------------------------------------------------------
# One interface over the sync and the async client, so each behaviour is written once and run
# both ways. The async driver keeps one event loop for the client's whole life and makes every
# call from inside it, as an application would.


class SyncDriver:
    mode = "sync"

    def __init__(self, factory: Callable[[type], Any]):
        self.client = factory(PresenceClient)
        self.closed = False
        self.copies: list[SyncDriver] = []

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.client, name)(*args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("set", *args, **kwargs)

    def subscribe(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("subscribe", *args, **kwargs)

    def get_all(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("get_all", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("get_many", *args, **kwargs)

    def typing(self, chat_id: str, **kwargs: Any) -> Any:
        return self.client.typing(chat_id, **kwargs)

    def keep_online(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.keep_online(*args, **kwargs)

    def close(self) -> None:
        self.client.close()
        self.closed = True

    def pickled(self) -> SyncDriver:
        """A driver around a pickled-and-unpickled copy of the client (shut down with this one)."""
        data = pickle.dumps(self.client)
        copy = type(self)(lambda cls: pickle.loads(data))
        self.copies.append(copy)
        return copy

    def shutdown(self) -> None:
        for copy in self.copies:
            copy.shutdown()
        if not self.closed:
            self.close()


class AsyncDriver(SyncDriver):
    mode = "async"

    def __init__(self, factory: Callable[[type], Any]):
        self.loop = asyncio.new_event_loop()
        self.closed = False
        self.copies = []
        try:
            self.client = self.in_loop(lambda: factory(AsyncPresenceClient))
        except BaseException:
            self.loop.close()
            raise

    def in_loop(self, fn: Callable[[], Any]) -> Any:
        """Run `fn()` inside this driver's running loop and return its plain result."""

        async def run() -> Any:
            return fn()

        return self.loop.run_until_complete(run())

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        async def run() -> Any:
            return await getattr(self.client, name)(*args, **kwargs)

        return self.loop.run_until_complete(run())

    def typing(self, chat_id: str, **kwargs: Any) -> Any:
        return self.block("typing", chat_id, **kwargs)

    def keep_online(self, *args: Any, **kwargs: Any) -> Any:
        return self.block("keep_online", *args, **kwargs)

    @contextlib.contextmanager
    def block(self, name: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """`async with client.<name>(...)` inside this driver's loop, used as a plain `with`."""
        manager = self.in_loop(lambda: getattr(self.client, name)(*args, **kwargs))

        async def enter() -> Any:
            return await manager.__aenter__()

        async def leave(exc: BaseException | None) -> Any:
            if exc is None:
                return await manager.__aexit__(None, None, None)
            return await manager.__aexit__(type(exc), exc, exc.__traceback__)

        entered = self.loop.run_until_complete(enter())
        try:
            yield entered
        except BaseException as exc:
            if not self.loop.run_until_complete(leave(exc)):
                raise
        else:
            self.loop.run_until_complete(leave(None))

    def close(self) -> None:
        self.call("close")
        self.closed = True

    def shutdown(self) -> None:
        try:
            for copy in self.copies:
                copy.shutdown()
            if not self.closed:
                self.close()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


def construct(cls: type, build: Callable[[], Any]) -> Any:
    """Call `build()` as an application would for `cls`: inside a running loop for the async client."""
    if cls is AsyncPresenceClient:

        async def run() -> Any:
            return build()

        return asyncio.run(run())
    return build()


def make_driver(mode: str, factory: Callable[[type], Any]) -> SyncDriver:
    return SyncDriver(factory) if mode == "sync" else AsyncDriver(factory)


# --------------------------------------------------------------------------------------------
# Secrets


def exception_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


ERROR_ATTRIBUTES = (
    "status_code",
    "message",
    "body",
    "method",
    "url",
    "retry_after",
    "attempts",
    "session_status",
)


def texts_of_exception(exc: BaseException) -> list[str]:
    """Every text a user or a log could see of `exc` and the exceptions chained to it."""
    texts = []
    for e in exception_chain(exc):
        texts.append(str(e))
        texts.append(repr(e))
        texts.extend(traceback.format_exception_only(type(e), e))
        texts.extend(repr(arg) for arg in e.args)
        texts.extend(str(note) for note in getattr(e, "__notes__", ()))
        for name in ERROR_ATTRIBUTES:
            if hasattr(e, name):
                texts.append(str(getattr(e, name)))
    return texts


def assert_no_secret(texts: list[str] | str, secrets: tuple[str, ...] = SECRETS) -> None:
    if isinstance(texts, str):
        texts = [texts]
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"secret leaked in: {text[:300]!r}"


# --------------------------------------------------------------------------------------------
# A tiny WAHA look-alike that counts requests in flight, to check get_many's concurrency bound.


class CountingServer:
    """Answers WAHA's GET /api/{session}/presence/{chatId} after `delay` seconds, counting overlap."""

    backend = "waha"
    session = "default"
    api_key = None

    def __init__(self, delay: float = 0.2):
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.chats: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The head and the body go out in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK hold the body back 40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                prefix = f"/api/{owner.session}/presence/"
                path = self.path.split("?", 1)[0]
                if not path.startswith(prefix):
                    self._answer(404, {"message": "not found", "statusCode": 404})
                    return
                chat = unquote(path[len(prefix) :])
                with owner.lock:
                    owner.chats.append(chat)
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    time.sleep(owner.delay)
                finally:
                    # Counted out before answering: the client cannot start another request in
                    # this slot until the answer arrives, so no overlap is over-counted.
                    with owner.lock:
                        owner.in_flight -= 1
                self._answer(
                    200,
                    {"id": chat, "presences": [{"participant": chat, "lastKnownPresence": "online", "lastSeen": None}]},
                )

            def _answer(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            # The default backlog of 5 drops the connections of a wider fan-out, which the
            # kernel then retries after a second.
            request_queue_size = 128

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
