from collections.abc import Awaitable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Literal, TypeVar

from ._errors import (
    APIError as APIError,
    AuthenticationError as AuthenticationError,
    BadRequestError as BadRequestError,
    ClientClosedError as ClientClosedError,
    ConfigurationError as ConfigurationError,
    InvalidChatIdError as InvalidChatIdError,
    InvalidSignatureError as InvalidSignatureError,
    NotFoundError as NotFoundError,
    NotSupportedError as NotSupportedError,
    PermissionDeniedError as PermissionDeniedError,
    ProtocolError as ProtocolError,
    RateLimitError as RateLimitError,
    RequestTimeout as RequestTimeout,
    ServerError as ServerError,
    SessionNotReadyError as SessionNotReadyError,
    TransportError as TransportError,
    WawpError as WawpError,
)
from ._state import PresenceState as PresenceState

__version__: str

_C = TypeVar("_C")

class ParticipantPresence:
    __match_args__: ClassVar[tuple[str, str, str]]
    def __init__(
        self,
        participant: str,
        last_known_presence: PresenceState | str,
        last_seen: datetime | float | None = None,
        raw_presence: str | None = None,
    ) -> None: ...
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
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class ChatPresence:
    __match_args__: ClassVar[tuple[str, str]]
    def __init__(self, id: str, presences: Iterable[ParticipantPresence] = ()) -> None: ...
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
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class Typing:
    """What ``client.typing(chat_id)`` returns: "typing" on enter, "paused" on exit."""
    @property
    def chat_id(self) -> str: ...
    def __enter__(self) -> None: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]: ...
    async def __aenter__(self) -> None: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]: ...

class PresenceClient:
    """Blocking client; safe to share between threads, works inside a running event loop."""
    @property
    def backend(self) -> Literal["wawp", "waha"]: ...
    @property
    def base_url(self) -> str: ...
    @property
    def session(self) -> str | None: ...
    @property
    def closed(self) -> bool: ...
    def __init__(
        self,
        instance_id: str | None = None,
        access_token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 2,
        rate_limit: float | None = None,
        user_agent: str | None = None,
        backend: Literal["wawp", "waha"] = "wawp",
        session: str | None = None,
        api_key: str | None = None,
    ) -> None: ...
    @classmethod
    def waha(
        cls: type[_C],
        base_url: str,
        session: str = "default",
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 2,
        rate_limit: float | None = None,
        user_agent: str | None = None,
    ) -> _C: ...
    @classmethod
    def from_env(
        cls: type[_C],
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 2,
        rate_limit: float | None = None,
        user_agent: str | None = None,
    ) -> _C: ...
    def get(self, chat_id: str, *, wait: float = 0.0) -> ChatPresence: ...
    def set(self, state: PresenceState | str, *, chat_id: str | None = None) -> None: ...
    def subscribe(self, chat_id: str) -> None: ...
    def get_all(self) -> list[ChatPresence]: ...
    def get_many(
        self,
        chat_ids: Iterable[str],
        *,
        concurrency: int = 8,
        return_exceptions: bool = False,
        wait: float = 0.0,
    ) -> list[ChatPresence] | list[ChatPresence | WawpError]: ...
    def typing(self, chat_id: str, *, refresh: float | None = 8.0) -> Typing:
        """``with client.typing(chat_id): ...`` shows typing while the body runs, re-sent every
        ``refresh`` seconds (None: once) since WhatsApp clears it by itself."""
    def close(self) -> None: ...
    def __enter__(self) -> PresenceClient: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]: ...

class AsyncPresenceClient:
    """asyncio client; safe to share between tasks."""
    @property
    def backend(self) -> Literal["wawp", "waha"]: ...
    @property
    def base_url(self) -> str: ...
    @property
    def session(self) -> str | None: ...
    @property
    def closed(self) -> bool: ...
    def __init__(
        self,
        instance_id: str | None = None,
        access_token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 2,
        rate_limit: float | None = None,
        user_agent: str | None = None,
        backend: Literal["wawp", "waha"] = "wawp",
        session: str | None = None,
        api_key: str | None = None,
    ) -> None: ...
    @classmethod
    def waha(
        cls: type[_C],
        base_url: str,
        session: str = "default",
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 2,
        rate_limit: float | None = None,
        user_agent: str | None = None,
    ) -> _C: ...
    @classmethod
    def from_env(
        cls: type[_C],
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 2,
        rate_limit: float | None = None,
        user_agent: str | None = None,
    ) -> _C: ...
    def get(self, chat_id: str, *, wait: float = 0.0) -> Awaitable[ChatPresence]: ...
    def set(self, state: PresenceState | str, *, chat_id: str | None = None) -> Awaitable[None]: ...
    def subscribe(self, chat_id: str) -> Awaitable[None]: ...
    def get_all(self) -> Awaitable[list[ChatPresence]]: ...
    def get_many(
        self,
        chat_ids: Iterable[str],
        *,
        concurrency: int = 8,
        return_exceptions: bool = False,
        wait: float = 0.0,
    ) -> Awaitable[list[ChatPresence] | list[ChatPresence | WawpError]]: ...
    def typing(self, chat_id: str, *, refresh: float | None = 8.0) -> Typing:
        """``async with aclient.typing(chat_id): ...`` shows typing while the body runs, re-sent
        every ``refresh`` seconds (None: once) since WhatsApp clears it by itself."""
    def close(self) -> Awaitable[None]:
        """Closes at once; the awaitable is already done."""
    async def aclose(self) -> None: ...
    async def __aenter__(self) -> AsyncPresenceClient: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]: ...

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
