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
    parse_event,
    verify_signature,
)


def __getattr__(name: str) -> object:
    # PresenceState is an enum, and `enum` (with what it imports) costs more than the rest of the
    # package together: it is loaded when first asked for.
    if name == "PresenceState":
        from ._state import PresenceState

        globals()[name] = PresenceState
        return PresenceState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AsyncPresenceClient",
    "ChatPresence",
    "ParticipantPresence",
    "PresenceChange",
    "PresenceClient",
    "PresenceEvent",
    "PresenceState",  # noqa: F405 - made by __getattr__ on first use, not by the star import
    "__version__",
    "parse_event",
    "verify_signature",
]
__all__ += _errors.__all__
