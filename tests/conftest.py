"""Fixtures: fake servers of both backends, and clients of both kinds (sync and async).

Most behaviour tests take `api`: a client connected to a fake `server`. By default it is the
sync PresenceClient talking to a Wawp fake, since most behaviours do not depend on the client
kind or the backend (parsing, retries, signatures and ids are one implementation in the Rust
core, checked by `cargo test`). A test where the kind or the backend matters says so with the
markers of presence_helpers: BOTH_BACKENDS (routes, credentials, error bodies), TWO_WAYS (sync
on Wawp and async on WAHA: the binding paths of both kinds) or EVERY_MODE (the 2 x 2 matrix,
kept for the parity test of test_client.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

import pytest  # noqa: E402
from presence_helpers import (  # noqa: E402
    API_KEY,
    TOKEN,
    CountingServer,
    build_client,
    make_driver,
    start_server,
)

from wawp_presence import PresenceClient  # noqa: E402


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """ "wawp" unless the test parametrizes `backend` (e.g. with BOTH_BACKENDS)."""
    return getattr(request, "param", "wawp")


@pytest.fixture
def mode(request: pytest.FixtureRequest) -> str:
    """ "sync" unless the test parametrizes `mode` (e.g. with TWO_WAYS or EVERY_MODE)."""
    return getattr(request, "param", "sync")


@pytest.fixture
def make_server():
    """Start fake servers (stopped after the test): make_server("waha", engine="WEBJS")."""
    started = []

    def factory(backend: str, **options):
        server = start_server(backend, **options)
        started.append(server)
        return server

    yield factory
    for server in reversed(started):
        server.stop()


@pytest.fixture
def server(backend, make_server):
    """A running fake of the current backend, with known secrets (TOKEN / API_KEY)."""
    return make_server(backend)


@pytest.fixture
def make_api(mode):
    """Build drivers of the current kind: make_api(server, timeout=0.5) or make_api(factory=...).

    `factory` receives the client class (PresenceClient or AsyncPresenceClient) and returns a
    client; it runs inside the driver's event loop for the async kind. Retries are off unless
    asked for, so faults are deterministic and fast.
    """
    drivers = []

    def factory_of(server=None, *, factory=None, **options):
        if factory is None:
            options.setdefault("max_retries", 0)

            def factory(cls, _server=server, _options=options):
                return build_client(cls, _server, **_options)

        driver = make_driver(mode, factory)
        drivers.append(driver)
        return driver

    yield factory_of
    for driver in reversed(drivers):
        driver.shutdown()


@pytest.fixture
def wrong_secret_api(make_api, make_server, backend):
    """A client of the current kind whose secret (TOKEN / API_KEY) the server refuses with 401."""
    if backend == "wawp":
        server = make_server("wawp", access_token="server-side-token")
        return make_api(
            factory=lambda cls: cls(
                instance_id=server.instance_id, access_token=TOKEN, base_url=server.url, max_retries=0
            )
        )
    server = make_server("waha", api_key="server-side-key")
    return make_api(factory=lambda cls: cls.waha(server.url, api_key=API_KEY, max_retries=0))


@pytest.fixture
def api(make_api, server):
    """A client of the current kind connected to `server` (max_retries=0)."""
    return make_api(server)


@pytest.fixture
def client(server):
    """A sync PresenceClient connected to `server` (max_retries=0)."""
    c = build_client(PresenceClient, server, max_retries=0)
    yield c
    c.close()


@pytest.fixture
def counting_server():
    server = CountingServer()
    yield server
    server.stop()
