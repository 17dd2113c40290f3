"""pytest plugin (entry point ``pytest11``): fixtures with a running fake server.

``wawp_server`` is a Wawp fake, ``waha_server`` a WAHA fake (no API key); each test gets a
fresh one, stopped afterwards. Either takes `FakeServer`'s keyword options through indirect
parametrization, e.g. a WAHA Core that answers as a real one does::

    @pytest.mark.parametrize("waha_server", [{"edition": "core", "session_wait": 5.0}], indirect=True)
    def test_core(waha_server): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from . import FakeServer


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keyword options given by indirect parametrization, if any."""
    options = getattr(request, "param", None) or {}
    if not isinstance(options, dict):
        raise TypeError(f"{request.fixturename} takes a dict of FakeServer options, not {options!r}")
    return options


@pytest.fixture
def wawp_server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A running Wawp FakeServer; connect with its instance_id, access_token and url."""
    with FakeServer(backend="wawp", **_options(request)) as server:
        yield server


@pytest.fixture
def waha_server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A running WAHA FakeServer with session "default" and no API key (unless given)."""
    with FakeServer(backend="waha", **_options(request)) as server:
        yield server
