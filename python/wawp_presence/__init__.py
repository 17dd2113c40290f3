"""Read and set WhatsApp presence through the Wawp API and self-hosted WAHA servers.

>>> from wawp_presence import PresenceClient
>>> with PresenceClient(instance_id="...", access_token="...") as client:   # doctest: +SKIP
...     chat = client.get("447441429009@c.us")
...     chat.is_online, chat.last_seen
"""

from __future__ import annotations

from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    InvalidChatIdError,
    InvalidSignatureError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    SessionNotReadyError,
    TransportError,
    WawpError,
)
from ._state import PresenceState
from ._native import (
    AsyncPresenceClient,
    ChatPresence,
    ParticipantPresence,
    PresenceClient,
    __version__,
)

__all__ = [
    "PresenceClient",
    "AsyncPresenceClient",
    "PresenceState",
    "ChatPresence",
    "ParticipantPresence",
    "WawpError",
    "ConfigurationError",
    "ClientClosedError",
    "TransportError",
    "RequestTimeout",
    "ProtocolError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "SessionNotReadyError",
    "NotSupportedError",
    "RateLimitError",
    "ServerError",
    "InvalidChatIdError",
    "InvalidSignatureError",
    "__version__",
]
