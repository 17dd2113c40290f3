from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Literal, Protocol, final, overload

from typing_extensions import Self

from ._dedupe import EventDeduplicator as EventDeduplicator

# The exception classes, as _errors.__all__ lists them (stubtest checks the two agree).
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    InternalError,
    InvalidArgumentError,
    InvalidChatIdError,
    InvalidEventError,
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
from ._native import ClientBase, PresenceBlock, Watch
from ._state import PresenceState
from ._tables import to_arrow as to_arrow
from ._tables import to_pandas as to_pandas
from ._tables import to_polars as to_polars
from ._tables import to_records as to_records

__version__: str

@final
class ParticipantPresence:
    __match_args__: ClassVar[tuple[str, str, str]]
    def __new__(
        cls,
        participant: str,
        last_known_presence: PresenceState | str,
        last_seen: datetime | float | None = None,
        raw_presence: str | None = None,
    ) -> Self: ...
    @property
    def participant(self) -> str: ...
    @property
    def last_known_presence(self) -> PresenceState: ...
    @property
    def last_seen(self) -> datetime | None:
        """Timezone-aware UTC; None when hidden, not shared, or the contact is online."""
    @property
    def raw_presence(self) -> str | None:
        """The server's word when it was none we know (the state is then UNKNOWN)."""
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ChatPresence:
    __match_args__: ClassVar[tuple[str, str]]
    def __new__(cls, id: str, presences: Iterable[ParticipantPresence] | None = None) -> Self: ...
    @property
    def id(self) -> str: ...
    @property
    def presences(self) -> tuple[ParticipantPresence, ...]: ...
    @property
    def is_group(self) -> bool: ...
    @property
    def has_data(self) -> bool:
        """False means "no data yet" (not "offline")."""
    @property
    def is_online(self) -> bool:
        """Any participant online, typing or recording."""
    @property
    def last_seen(self) -> datetime | None:
        """The latest last_seen among participants."""
    def to_dict(self) -> dict[str, Any]: ...
    def _repr_html_(self) -> str:
        """The notebook view: a small table (state, last seen in UTC and how long ago), escaped."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class PresenceEvent:
    """A parsed ``presence.update`` webhook delivery."""

    __match_args__: ClassVar[tuple[str, str, str, str, str]]
    def __new__(
        cls,
        id: str | None,
        timestamp: datetime | None,
        session: str | None,
        engine: str | None,
        chat: ChatPresence,
    ) -> Self: ...
    @property
    def id(self) -> str | None:
        """The sender's event id; a retried delivery repeats it, so drop events already seen."""
    @property
    def timestamp(self) -> datetime | None:
        """When the sender created the event (the envelope's milliseconds), timezone-aware UTC."""
    @property
    def session(self) -> str | None: ...
    @property
    def engine(self) -> str | None: ...
    @property
    def chat(self) -> ChatPresence:
        """The chat and its participants' presence, as ``PresenceClient.get`` returns it."""
    def to_dict(self) -> dict[str, Any]: ...
    def _repr_html_(self) -> str:
        """The notebook view: a small table (state, last seen in UTC and how long ago), escaped."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

class _HeaderItems(Protocol):
    """Anything with ``.items()``: a dict, Flask/Werkzeug, Django or Starlette headers."""
    def items(self) -> Iterable[tuple[str | bytes, str | bytes]]: ...

_Headers = Mapping[str, str] | _HeaderItems | Iterable[tuple[str | bytes, str | bytes]]

def normalize_chat_id(chat_id: str) -> str:
    """The canonical form of a chat id (``"+44 7441 429009"`` -> ``"447441429009@c.us"``), as
    every method reads the ids it is given; raises InvalidChatIdError for an id of no accepted
    form."""

def parse_event(
    body: bytes | bytearray | memoryview | str | dict[str, Any],
    *,
    headers: _Headers | None = None,
    secret: str | bytes | None = None,
    max_age: float | timedelta | None = None,
) -> PresenceEvent:
    """Parse a ``presence.update`` webhook body into a :class:`PresenceEvent`.

    Accepts both payload shapes: WAHA's ``{"id", "presences": [...]}`` and Wawp's
    ``{"chatId", "type", "from"}``.

    With ``secret``, the ``X-Webhook-Hmac`` header (found in ``headers``, names matched in any
    case) must be the HMAC of the raw ``body`` bytes, with the algorithm named by
    ``X-Webhook-Hmac-Algorithm`` (``sha512`` when absent, or ``sha256``); otherwise
    :class:`InvalidSignatureError`. Pass the bytes exactly as received: a ``dict`` body with a
    ``secret`` raises ``TypeError``.

    With ``max_age`` (seconds or a timedelta), ``X-Webhook-Timestamp`` (Unix ms) must be present
    and at most that old (nor that far in the future); otherwise :class:`InvalidSignatureError`.

    A body that is not a readable ``presence.update`` event raises :class:`InvalidEventError`.
    An empty ``secret`` or a negative ``max_age`` raises ``ValueError``.
    """

def verify_signature(
    body: bytes | bytearray | memoryview | str,
    signature: str | bytes | None,
    secret: str | bytes,
    algorithm: Literal["sha512", "sha256"] | str = ...,
) -> bool:
    """Whether ``signature`` (hex, any case) is the HMAC of ``body`` under ``secret``.

    ``algorithm`` is ``"sha512"`` by default. Compared in constant time. A ``None`` or non-hex
    signature is ``False``; an algorithm other than ``"sha512"`` or ``"sha256"``, or an empty
    ``secret``, raises ``ValueError``.
    """

@final
class PresenceChange:
    """One participant's state or last-seen time changing, as ``watch()`` saw it."""

    __match_args__: ClassVar[tuple[str, str, str, str, str, str]]
    def __new__(
        cls,
        chat_id: str,
        participant: str,
        previous: PresenceState | str | None,
        current: PresenceState | str,
        last_seen: datetime | float | None,
        observed_at: datetime,
    ) -> Self: ...
    @property
    def chat_id(self) -> str: ...
    @property
    def participant(self) -> str: ...
    @property
    def previous(self) -> PresenceState | None:
        """None the first time the participant is seen."""
    @property
    def current(self) -> PresenceState: ...
    @property
    def last_seen(self) -> datetime | None: ...
    @property
    def observed_at(self) -> datetime: ...
    def to_dict(self) -> dict[str, Any]: ...
    def _repr_html_(self) -> str:
        """The notebook view: a small table (state, last seen in UTC and how long ago), escaped."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

_ManyResults = list[ChatPresence] | list[ChatPresence | WawpError]

@final
class PresenceClient(ClientBase):
    """Blocking client; safe to share between threads, works inside a running event loop."""

    def __new__(
        cls,
        instance_id: str | None = None,
        access_token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int | None = None,
        rate_limit: float | None = None,
        user_agent: str | None = None,
        backend: Literal["wawp", "waha"] = ...,
        session: str | None = None,
        api_key: str | None = None,
        max_connections: int | None = None,
    ) -> Self:
        """``instance_id`` and ``access_token`` for Wawp (``backend="wawp"``, the default);
        ``backend="waha"`` with ``base_url``, ``session`` (None: ``"default"``) and ``api_key``
        for a WAHA server. ``max_retries`` None means 2, ``max_connections`` None means 64."""
    def get(self, chat_id: str, *, wait: float = 0.0) -> ChatPresence: ...
    def set(self, state: PresenceState | str, *, chat_id: str | None = None) -> None: ...
    def subscribe(self, chat_id: str) -> None: ...
    def get_all(self) -> list[ChatPresence]: ...
    @overload
    def get_many(
        self,
        chat_ids: Iterable[str],
        *,
        concurrency: int | None = None,
        return_exceptions: Literal[False] = False,
        wait: float = 0.0,
        progress: bool | Callable[[int, int], object] | None = None,
    ) -> list[ChatPresence]: ...
    @overload
    def get_many(
        self,
        chat_ids: Iterable[str],
        *,
        concurrency: int | None = None,
        return_exceptions: Literal[True],
        wait: float = 0.0,
        progress: bool | Callable[[int, int], object] | None = None,
    ) -> list[ChatPresence | WawpError]: ...
    @overload
    def get_many(
        self,
        chat_ids: Iterable[str],
        *,
        concurrency: int | None = None,
        return_exceptions: bool = False,
        wait: float = 0.0,
        progress: bool | Callable[[int, int], object] | None = None,
    ) -> _ManyResults: ...
    def watch(self, chat_ids: Iterable[str], *, interval: float = 5.0, resubscribe: float = ...) -> Watch:
        """``for change in client.watch(ids): ...`` -- subscribes, then polls every ``interval``
        seconds (at least 0.05) and yields a PresenceChange per participant whose state or
        last-seen changed; subscriptions are renewed every ``resubscribe`` seconds (300)."""
    def typing(self, chat_id: str, *, refresh: float | None = ...) -> PresenceBlock:
        """``with client.typing(chat_id): ...`` shows typing while the body runs, re-sent every
        ``refresh`` seconds (8 by default; None: once) since WhatsApp clears it by itself."""
    def keep_online(self, interval: float = ...) -> PresenceBlock:
        """``with client.keep_online(): ...`` sets the session online now and every ``interval``
        seconds (20 by default) while the body runs (a failed refresh is logged at WARNING, not raised), and
        offline on exit, also when the body raises, so the phone gets its notifications back."""
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> Literal[False]: ...

@final
class AsyncPresenceClient(ClientBase):
    """asyncio client; safe to share between tasks."""

    def __new__(
        cls,
        instance_id: str | None = None,
        access_token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int | None = None,
        rate_limit: float | None = None,
        user_agent: str | None = None,
        backend: Literal["wawp", "waha"] = ...,
        session: str | None = None,
        api_key: str | None = None,
        max_connections: int | None = None,
    ) -> Self:
        """``instance_id`` and ``access_token`` for Wawp (``backend="wawp"``, the default);
        ``backend="waha"`` with ``base_url``, ``session`` (None: ``"default"``) and ``api_key``
        for a WAHA server. ``max_retries`` None means 2, ``max_connections`` None means 64."""
    def get(self, chat_id: str, *, wait: float = 0.0) -> Coroutine[Any, Any, ChatPresence]: ...
    def set(self, state: PresenceState | str, *, chat_id: str | None = None) -> Coroutine[Any, Any, None]: ...
    def subscribe(self, chat_id: str) -> Coroutine[Any, Any, None]: ...
    def get_all(self) -> Coroutine[Any, Any, list[ChatPresence]]: ...
    @overload
    def get_many(
        self,
        chat_ids: Iterable[str],
        *,
        concurrency: int | None = None,
        return_exceptions: Literal[False] = False,
        wait: float = 0.0,
        progress: bool | Callable[[int, int], object] | None = None,
    ) -> Coroutine[Any, Any, list[ChatPresence]]: ...
    @overload
    def get_many(
        self,
        chat_ids: Iterable[str],
        *,
        concurrency: int | None = None,
        return_exceptions: Literal[True],
        wait: float = 0.0,
        progress: bool | Callable[[int, int], object] | None = None,
    ) -> Coroutine[Any, Any, list[ChatPresence | WawpError]]: ...
    @overload
    def get_many(
        self,
        chat_ids: Iterable[str],
        *,
        concurrency: int | None = None,
        return_exceptions: bool = False,
        wait: float = 0.0,
        progress: bool | Callable[[int, int], object] | None = None,
    ) -> Coroutine[Any, Any, _ManyResults]: ...
    def watch(self, chat_ids: Iterable[str], *, interval: float = 5.0, resubscribe: float = ...) -> Watch:
        """``async for change in aclient.watch(ids): ...`` -- subscribes, then polls every
        ``interval`` seconds (at least 0.05) and yields a PresenceChange per participant whose
        state or last-seen changed; subscriptions are renewed every ``resubscribe`` seconds (300)."""
    def typing(self, chat_id: str, *, refresh: float | None = ...) -> PresenceBlock:
        """``async with aclient.typing(chat_id): ...`` shows typing while the body runs, re-sent
        every ``refresh`` seconds (8 by default; None: once) since WhatsApp clears it by itself."""
    def keep_online(self, interval: float = ...) -> PresenceBlock:
        """``async with aclient.keep_online(): ...`` sets the session online now and every
        ``interval`` seconds (20 by default) while the body runs (a failed refresh is logged at WARNING, not
        raised), and offline on exit, also when the body raises."""
    def close(self) -> Coroutine[Any, Any, None]:
        """Closes at once; the coroutine it returns is already done (awaiting it is optional)."""
    def aclose(self) -> Coroutine[Any, Any, None]:
        """The same as ``close()``, under httpx's name."""
    def __aenter__(self) -> Coroutine[Any, Any, Self]: ...
    def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> Coroutine[Any, Any, Literal[False]]: ...

__all__ = [
    "APIError",
    "AsyncPresenceClient",
    "AuthenticationError",
    "BadRequestError",
    "ChatPresence",
    "ClientClosedError",
    "ConfigurationError",
    "EventDeduplicator",
    "InternalError",
    "InvalidArgumentError",
    "InvalidChatIdError",
    "InvalidEventError",
    "InvalidSignatureError",
    "NotFoundError",
    "NotSupportedError",
    "ParticipantPresence",
    "PermissionDeniedError",
    "PresenceChange",
    "PresenceClient",
    "PresenceEvent",
    "PresenceState",
    "ProtocolError",
    "RateLimitError",
    "RequestTimeout",
    "ServerError",
    "SessionNotReadyError",
    "TransportError",
    "WawpError",
    "__version__",
    "normalize_chat_id",
    "parse_event",
    "to_arrow",
    "to_pandas",
    "to_polars",
    "to_records",
    "verify_signature",
]
