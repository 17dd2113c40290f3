"""Test helpers: a real HTTP server on 127.0.0.1 that behaves like Wawp or WAHA.

>>> from wawp_presence import PresenceClient
>>> from wawp_presence.testing import FakeServer
>>> with FakeServer(backend="wawp") as server:
...     server.set_presence("447441429009@c.us", "online")
...     client = PresenceClient(instance_id=server.instance_id, access_token=server.access_token,
...                             base_url=server.url)
...     client.get("447441429009@c.us").is_online
True

Installing the package also registers a pytest plugin with the fixtures ``wawp_server`` and
``waha_server``.
"""

from __future__ import annotations

from .._native import FakeServer

__all__ = ["FakeServer"]
