from datetime import datetime
from types import TracebackType
from typing import Any, Literal

from .._state import PresenceState

class FakeServer:
    """A real HTTP server on 127.0.0.1 that behaves like Wawp or WAHA."""

    def __init__(
        self,
        backend: Literal["wawp", "waha"] = "wawp",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        instance_id: str | None = None,
        access_token: str | None = None,
        api_key: str | None = None,
        session: str = "default",
        engine: str = "NOWEB",
        request_log: int = 10_000,
    ) -> None: ...
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
        empty_reads: int = 0,
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
        times: int = 1,
    ) -> None: ...
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
    def __enter__(self) -> FakeServer: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]: ...

__all__ = ["FakeServer"]
