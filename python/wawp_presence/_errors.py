"""The exception hierarchy. The Rust core raises these classes; every one derives from
:class:`WawpError` and carries what went wrong without any credential in it."""

from __future__ import annotations

# `typing` is only for the type checker: importing it costs more than the rest of the package.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _rebuild(cls: type[WawpError], message: str, state: dict[str, Any]) -> WawpError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class WawpError(Exception):
    """Base of every error this package raises on purpose.

    Attributes: ``status_code`` (or None), ``message``, ``body`` (redacted excerpt or None),
    ``method``, ``url`` (redacted), ``retry_after`` (seconds or None), ``attempts`` (requests
    made for the call), ``code`` (the server's error code, when it sent one), ``chat_id`` (the
    chat a failed call was about, as given when it was no valid id; None for no one chat).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: str | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
        attempts: int = 0,
        code: str | None = None,
        chat_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.method = method
        self.url = url
        self.retry_after = retry_after
        self.attempts = attempts
        self.code = code
        self.chat_id = chat_id

    def __str__(self) -> str:
        # An error the client raises carries the core's summary of it (the message, the status,
        # the request and the attempts); one built in Python shows its message.
        summary = self.__dict__.get("_summary")
        return summary if isinstance(summary, str) else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


class ConfigurationError(WawpError, ValueError):
    """The client cannot be built as configured (e.g. an environment variable is missing)."""


class ClientClosedError(WawpError, RuntimeError):
    """The client was closed before this call."""


class TransportError(WawpError, ConnectionError):
    """Could not connect, the connection dropped, or TLS failed."""


class RequestTimeout(WawpError, TimeoutError):
    """The request took longer than the client's ``timeout``."""


class ProtocolError(WawpError):
    """The server answered something that is not the API's shape."""


class APIError(WawpError):
    """The server answered with an error: a non-2xx status, or a 2xx carrying an error body."""


class BadRequestError(APIError, ValueError):
    """400: the server rejected the request."""


class AuthenticationError(APIError):
    """401: missing or wrong credentials."""


class PermissionDeniedError(APIError):
    """403: the plan or quota forbids it."""


class NotFoundError(APIError):
    """404: unknown session or chat. WAHA also answers 404 for its own session while that is
    stopped (never started, or stopped): start it (the message keeps the server's hint)."""


class SessionNotReadyError(APIError):
    """422: the WhatsApp session is not WORKING; ``session_status`` says what it is, and the
    message names it and what to do (e.g. "session 'default' is SCAN_QR_CODE, not WORKING: scan
    its QR code to log in to WhatsApp")."""

    def __init__(self, message: str, *, session_status: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.session_status = session_status


class NotSupportedError(APIError):
    """422: the server's engine does not implement this feature (e.g. subscribing on WAHA's NOWEB
    engine), or its edition lacks it (WAHA Core serves only the session named 'default')."""


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` says how long the server asked to wait."""


class ServerError(APIError):
    """5xx: trouble on the server's side."""


class InternalError(WawpError, RuntimeError):
    """A bug inside wawp_presence stopped this call (the message says what); please report it.
    The call ended instead of leaving its caller waiting."""


class InvalidArgumentError(WawpError, ValueError):
    """An argument refused before any request: a state word that cannot be sent, the chat-id rule
    of ``set``, an option value out of range. Nothing was sent. A ``ValueError`` too, so code that
    catches that keeps working, and ``except WawpError`` catches every refusal as well as every
    failure."""


class InvalidChatIdError(InvalidArgumentError):
    """A chat id that is none of the accepted forms; nothing was sent."""


class InvalidSignatureError(WawpError, ValueError):
    """A webhook whose signature or age does not check."""


class InvalidEventError(WawpError, ValueError):
    """A webhook body that is not a readable ``presence.update`` event: not JSON, another event,
    or no payload. Answer such a delivery with a 4xx; sending it again will not help."""


__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidChatIdError",
    "InvalidEventError",
    "InvalidSignatureError",
    "NotFoundError",
    "NotSupportedError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RequestTimeout",
    "ServerError",
    "SessionNotReadyError",
    "TransportError",
    "WawpError",
]

# Tracebacks and reprs name the public path (wawp_presence.NotFoundError), where users import
# them from; pickling finds them there too.
for _name in __all__:
    globals()[_name].__module__ = "wawp_presence"
del _name
