"""Read and set WhatsApp presence through the Wawp API and self-hosted WAHA servers.

>>> from wawp_presence import PresenceClient
>>> with PresenceClient(instance_id="...", access_token="...") as client:   # doctest: +SKIP
...     chat = client.get("447441429009@c.us")
...     chat.is_online, chat.last_seen
"""

from . import _errors
from ._errors import *  # noqa: F403 - the exception classes: their one list is _errors.__all__
from ._native import (
    AsyncPresenceClient,
    ChatPresence,
    ParticipantPresence,
    PresenceChange,
    PresenceClient,
    PresenceEvent,
    __version__,
    normalize_chat_id,
    parse_event,
    verify_signature,
)

# Loaded when first asked for: `enum` (for PresenceState) and `threading` with `collections`
# (for EventDeduplicator) cost more than the rest of the package together, and most programs
# use neither them nor the table functions.
_LAZY = {
    "PresenceState": "_state",
    "EventDeduplicator": "_dedupe",
    "to_arrow": "_tables",
    "to_pandas": "_tables",
    "to_polars": "_tables",
    "to_records": "_tables",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AsyncPresenceClient",
    "ChatPresence",
    "ParticipantPresence",
    "PresenceChange",
    "PresenceClient",
    "PresenceEvent",
    "__version__",
    "normalize_chat_id",
    "parse_event",
    "verify_signature",
]
__all__ += sorted(_LAZY)
__all__ += _errors.__all__
