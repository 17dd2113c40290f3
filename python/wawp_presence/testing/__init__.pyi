from datetime import datetime
from types import TracebackType
from typing import Any, Literal, final

from typing_extensions import Self

from .._state import PresenceState

@final
class FakeServer:
    """A real HTTP server on 127.0.0.1 that behaves like Wawp or WAHA."""

    def __new__(
        cls,
        backend: Literal["wawp", "waha"] = ...,
        *,
        host: str = ...,
        port: int | None = None,
        instance_id: str | None = None,
        access_token: str | None = None,
        api_key: str | None = None,
        session: str = ...,
        engine: str = ...,
        request_log: int | None = None,
    ) -> Self:
        """Defaults: ``backend="wawp"``, ``host="127.0.0.1"``, ``port`` None or 0 (a free one),
        ``session="default"``, ``engine="NOWEB"``, ``request_log`` None (10,000)."""
    @property
    def url(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def host(self) -> str: ...
    @property
    def backend(self) -> Literal["wawp", "waha"]: ...
    @property
    def instance_id(self) -> str | None: ...
    @property
    def access_token(self) -> str | None: ...
    @property
    def api_key(self) -> str | None: ...
    @property
    def session(self) -> str: ...
    @property
    def engine(self) -> str: ...
    def set_presence(
        self,
        chat_id: str,
        presence: PresenceState | str,
        last_seen: datetime | float | None = None,
        *,
        participant: str | None = None,
        empty_reads: int | None = None,
    ) -> None: ...
    def fail_next(
        self,
        status: int | None = None,
        *,
        body: str | bytes | dict[str, Any] | list[Any] | None = None,
        headers: dict[str, str] | None = None,
        retry_after: float | str | None = None,
        delay: float | None = None,
        drop: bool = False,
        malformed: bool = False,
        hang: bool = False,
        times: int | None = None,
    ) -> None:
        """``times`` None means 1."""
    @property
    def requests(self) -> list[dict[str, Any]]:
        """The most recent `request_log` requests (10,000 by default), oldest first."""
    def clear_requests(self) -> None: ...
    @property
    def request_log(self) -> int:
        """How many of the most recent requests `requests` keeps; older ones are forgotten."""
    @property
    def traffic(self) -> dict[str, int]:
        """connections_opened, open_connections, peak_open_connections, in_flight, peak_in_flight."""
    @property
    def own_presence(self) -> str | None: ...
    @property
    def chat_states(self) -> dict[str, str]: ...
    @property
    def subscriptions(self) -> list[str]: ...
    def set_session_status(self, status: str) -> None: ...
    def reset(self) -> None: ...
    def stop(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> Literal[False]: ...

__all__ = ["FakeServer"]
