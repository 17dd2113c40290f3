from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeAlias, final

from typing_extensions import Self

from .._state import PresenceState

# One step of `FakeServer.script_presence`: (after_seconds, state) or
# (after_seconds, state, last_seen).
_Step: TypeAlias = tuple[float, PresenceState | str] | tuple[float, PresenceState | str, datetime | float | None]

# A WAHA session's status, as `FakeServer.set_session_status` takes it.
_SessionStatus: TypeAlias = Literal["STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED"]

@final
class FakeServer:
    """A real HTTP server on 127.0.0.1 that behaves like Wawp or WAHA.

    In WAHA mode its refusals are the answers of a real WAHA, byte for byte (status, body,
    ``Content-Type: application/json; charset=utf-8``; a 201 is empty with
    ``Content-Length: 0``), checked in the real server's order:

    1. a body that is not JSON (nor empty): 400, whatever the route, session or state;
    2. the session: `edition` ``"core"`` answers 422 "WAHA Core support only 'default'
       session..." to any name but `session`; ``"plus"`` answers 404 "We didn't find a session
       with name ..." to another name, and so does either to `session` while it is
       ``"STOPPED"``; a session ``"STARTING"``, ``"SCAN_QR_CODE"`` or ``"FAILED"`` is waited
       for `session_wait` seconds, then 422 "Session status is not as expected..." with that
       status (see `set_session_status`);
    3. the set-presence rules: 400 ``{"detail": "'typing' presence requires 'chatId'
       field."}`` and its like for a per-chat word without a chat id, and ``"'online' presence
       works on the global scope..."`` for online or offline with one;
    4. the engine: 422 "The method is not implemented by the engine." to every subscribe on
       ``"core"``, and, with a chat id, to a presence word the engine lacks ("... NOWEB engine
       doesn't support 'flying' presence.").

    ``GET /api/sessions/{session}`` answers the session's name and status. In Wawp mode a
    session that is not WORKING answers that 422 (after the same wait) on every route.
    """

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
        latency: float = 0.0,
        edition: Literal["plus", "core"] = ...,
        session_wait: float = 0.05,
    ) -> Self:
        """Defaults: ``backend="wawp"``, ``host="127.0.0.1"``, ``port`` None or 0 (a free one),
        ``session="default"``, ``engine="NOWEB"``, ``request_log`` None (10,000), ``latency``
        0.0 (see the `latency` property), ``edition="plus"``, ``session_wait=0.05``.

        ``edition`` (WAHA only): ``"core"`` behaves as the recorded WAHA Core with its NOWEB
        engine (one session, no subscribe); ``"plus"`` serves `session` and subscribes, and
        any other session name is not running (404). ``edition="core"`` with
        ``backend="wawp"`` raises ValueError.

        ``session_wait``: seconds a request waits for a session that is started but not
        WORKING before it is refused; 5.0 mimics a real WAHA, the default keeps tests fast.
        Negative, NaN or infinite values raise ValueError."""
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
    @property
    def edition(self) -> Literal["plus", "core"]:
        """The WAHA edition the fake imitates (``"plus"`` for a Wawp fake)."""
    @property
    def session_wait(self) -> float:
        """Seconds a request waits for a session that is not WORKING (the constructor's)."""
    @property
    def session_status(self) -> _SessionStatus:
        """The WhatsApp session's status: ``"WORKING"`` until `set_session_status` changes it,
        and again after `reset`."""
    def set_presence(
        self,
        chat_id: str,
        presence: PresenceState | str,
        last_seen: datetime | float | None = None,
        *,
        participant: str | None = None,
        empty_reads: int | None = None,
    ) -> None:
        """Store what a read of ``chat_id`` answers; ends the chat's `script_presence` script."""
    def script_presence(self, chat_id: str, steps: Iterable[_Step]) -> None:
        """Make ``chat_id``'s presence change on a schedule.

        Each step is ``(after_seconds, state)`` or ``(after_seconds, state, last_seen)``, with
        ``after_seconds`` counted from this call (numbers >= 0, in non-decreasing order), and
        ``state`` and ``last_seen`` as `set_presence` takes them. A read of the chat (``get``,
        ``get_all``) answers the step in force at the time of the read: before the first step,
        whatever it answered before; after the last, the last. A step that takes the chat
        from online, typing, recording or paused to offline without a ``last_seen`` gets the
        moment of that step as ``last_seen``.

        A later `set_presence` or `script_presence` of the chat replaces the script, keeping
        what it showed at that moment; an empty ``steps`` only ends the current script.
        `reset` forgets scripts. Steps out of order, or a negative, NaN or infinite
        ``after_seconds``, raise ValueError and change nothing.
        """
    @property
    def latency(self) -> float:
        """Seconds every request waits, after it is read and before it is answered (faulted
        answers too). Settable; negative, NaN or infinite values raise ValueError. `reset`
        sets it back to the constructor's value."""
    @latency.setter
    def latency(self, value: float) -> None: ...
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
    def requests_in_flight(self) -> int:
        """Requests the fake is handling now: received, not yet answered (0 when idle). A
        request whose client gives up stops counting when its connection closes."""
    @property
    def max_requests_in_flight(self) -> int:
        """The most requests in flight at once since the server started or `reset` was called;
        with a `latency`, this shows a client's concurrency bound from the server's side."""
    @property
    def own_presence(self) -> str | None: ...
    @property
    def chat_states(self) -> dict[str, str]: ...
    @property
    def subscriptions(self) -> list[str]: ...
    def set_session_status(self, status: _SessionStatus) -> None:
        """Put the WhatsApp session in ``status`` (case-insensitive; another word raises
        ValueError).

        WAHA: ``"STOPPED"`` makes every presence route answer 404 "We didn't find a session
        with name '...'. Please start it first..."; ``"STARTING"``, ``"SCAN_QR_CODE"`` and
        ``"FAILED"`` make each request wait up to `session_wait` seconds, then answer 422
        ``{"error": "Session status is not as expected...", "session": ..., "status": ...,
        "expected": ["WORKING"]}`` with the status it has then; a request still waiting when
        the status is set to ``"WORKING"`` is served. Wawp: any status but ``"WORKING"`` gives
        that 422."""
    def reset(self) -> None:
        """Forget presences, scripts, faults, requests and subscriptions; set `latency` back to
        the constructor's value and the session to ``"WORKING"`` (open connections stay
        counted)."""
    def stop(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> Literal[False]: ...

__all__ = ["FakeServer"]
