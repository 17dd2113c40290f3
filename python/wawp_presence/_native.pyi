"""The extension module built from the Rust sources (``src/py``).

The public classes are declared where their ``__module__`` says they live (``wawp_presence``,
``wawp_presence.testing``) and re-exported here; what is declared here is what only this module
holds: the clients' common base, and the objects their methods return.
"""

from collections.abc import Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any, Literal, final

from typing_extensions import Self, disjoint_base

from . import (
    AsyncPresenceClient,
    ChatPresence,
    ParticipantPresence,
    PresenceChange,
    PresenceClient,
    PresenceEvent,
    PresenceState,
    WawpError,
    normalize_chat_id,
    parse_event,
    verify_signature,
)
from .testing import FakeServer

@disjoint_base
class ClientBase:
    """What ``PresenceClient`` and ``AsyncPresenceClient`` share; it cannot be built itself.

    Each operation returns its result on ``PresenceClient`` and a coroutine of it on
    ``AsyncPresenceClient``; the subclasses' declarations say which.
    """

    @property
    def backend(self) -> Literal["wawp", "waha"]: ...
    @property
    def base_url(self) -> str: ...
    @property
    def session(self) -> str | None:
        """The WAHA session; None on a Wawp client."""
    @property
    def closed(self) -> bool: ...
    @classmethod
    def waha(
        cls,
        base_url: str,
        session: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int | None = None,
        rate_limit: float | None = None,
        user_agent: str | None = None,
        max_connections: int | None = None,
    ) -> Self:
        """A client for a self-hosted WAHA server; ``session`` None means ``"default"``."""
    @classmethod
    def from_env(
        cls,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int | None = None,
        rate_limit: float | None = None,
        user_agent: str | None = None,
        max_connections: int | None = None,
    ) -> Self:
        """A Wawp client from ``WAWP_INSTANCE_ID``, ``WAWP_ACCESS_TOKEN`` and, when set, ``WAWP_BASE_URL``."""
    def get(self, chat_id: str, *, wait: float = 0.0) -> ChatPresence | Coroutine[Any, Any, ChatPresence]: ...
    def set(self, state: PresenceState | str, *, chat_id: str | None = None) -> Coroutine[Any, Any, None] | None: ...
    def subscribe(self, chat_id: str) -> Coroutine[Any, Any, None] | None: ...
    def get_all(self) -> list[ChatPresence] | Coroutine[Any, Any, list[ChatPresence]]: ...
    def get_many(
        self,
        chat_ids: Iterable[str],
        *,
        concurrency: int | None = None,
        return_exceptions: bool = False,
        wait: float = 0.0,
        progress: bool | Callable[[int, int], object] | None = None,
    ) -> (
        list[ChatPresence]
        | list[ChatPresence | WawpError]
        | Coroutine[Any, Any, list[ChatPresence] | list[ChatPresence | WawpError]]
    ): ...
    def watch(self, chat_ids: Iterable[str], *, interval: float = 5.0, resubscribe: float = ...) -> Watch: ...
    def typing(self, chat_id: str, *, refresh: float | None = ...) -> PresenceBlock: ...
    def keep_online(self, interval: float = ...) -> PresenceBlock: ...
    def close(self) -> Coroutine[Any, Any, None] | None: ...
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]: ...

@final
class Watch:
    """What ``watch()`` returns: iterate it (``for``, or ``async for`` on the async client)."""

    def __iter__(self) -> Self: ...
    def __next__(self) -> PresenceChange: ...
    def __aiter__(self) -> Self: ...
    def __anext__(self) -> Coroutine[Any, Any, PresenceChange]: ...

@final
class PresenceBlock:
    """What ``client.typing(chat_id)`` and ``client.keep_online()`` return: the presence held on
    enter and refreshed while the block runs ("typing" in the chat, or online), let go on exit
    ("paused", or offline), also when the body raises."""

    @property
    def chat_id(self) -> str | None:
        """The chat of a typing block; None for ``keep_online()``."""
    def __enter__(self) -> None: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
        /,
    ) -> Literal[False]: ...
    def __aenter__(self) -> Coroutine[Any, Any, None]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
        /,
    ) -> Coroutine[Any, Any, Literal[False]]: ...

@final
class Call:
    """The coroutine an ``AsyncPresenceClient`` operation returns. It is a
    ``collections.abc.Coroutine`` by its methods; the public declarations say
    ``Coroutine[Any, Any, T]``."""

    @property
    def __name__(self) -> str: ...
    @property
    def __qualname__(self) -> str: ...
    def __await__(self) -> Self: ...
    def __next__(self) -> Any: ...
    def send(self, value: object) -> Any: ...
    def throw(
        self, exc: type[BaseException] | BaseException, value: object = None, traceback: TracebackType | None = None
    ) -> Any: ...
    def close(self) -> None: ...

@final
class Done:
    """An already finished coroutine (``AsyncPresenceClient.close()``, ``__aenter__``)."""

    def __await__(self) -> Self: ...
    def __next__(self) -> Any: ...
    def send(self, _value: object) -> Any: ...
    def throw(
        self, exc: type[BaseException] | BaseException, value: object = None, traceback: TracebackType | None = None
    ) -> Any: ...
    def close(self) -> None: ...

@final
class Port:
    """Where the work of one asyncio event loop's calls comes back to it (internal)."""

    def start_round(self) -> None: ...
    def drain(self) -> None: ...
    def waiting(self) -> bool: ...
    def pump_ended(self) -> None: ...

__version__: str

__all__ = [
    "TABLE_COLUMNS",
    "AsyncPresenceClient",
    "Call",
    "ChatPresence",
    "ClientBase",
    "Done",
    "FakeServer",
    "ParticipantPresence",
    "Port",
    "PresenceBlock",
    "PresenceChange",
    "PresenceClient",
    "PresenceEvent",
    "Watch",
    "__version__",
    "normalize_chat_id",
    "parse_event",
    "table_columns",
    "table_records",
    "verify_signature",
]

TABLE_COLUMNS: list[str]

def table_records(items: object) -> list[dict[str, Any]]:
    """The rows of ``to_records``."""

def table_columns(
    items: object,
) -> tuple[
    list[str | None],
    list[str | None],
    list[str | None],
    list[int | None],
    list[int | None],
    list[str | None],
    list[str | None],
]:
    """The seven columns, datetimes as Unix microseconds."""
