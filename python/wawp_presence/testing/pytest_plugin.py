"""pytest plugin (entry point ``pytest11``): fixtures with a running fake server.

``wawp_server`` is a Wawp fake, ``waha_server`` a WAHA fake (no API key); each test gets a
fresh one, stopped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import FakeServer


@pytest.fixture
def wawp_server() -> Iterator[FakeServer]:
    """A running Wawp FakeServer; connect with its instance_id, access_token and url."""
    with FakeServer(backend="wawp") as server:
        yield server


@pytest.fixture
def waha_server() -> Iterator[FakeServer]:
    """A running WAHA FakeServer with session "default" and no API key."""
    with FakeServer(backend="waha") as server:
        yield server
