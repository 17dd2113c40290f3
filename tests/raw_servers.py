"""Raw-socket servers on 127.0.0.1 for the faults the fake server cannot script: bodies without a
Content-Length, bytes that trickle in, a connection whose close must be seen, arrival times of
retries, and a listener whose backlog is full so that connecting hangs.

Every server here is a context manager; leaving it closes the listener and every connection it
accepted and joins its threads, also when the test failed.
"""

from __future__ import annotations

import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

_Listener = TypeVar("_Listener", bound="LoopbackListener")


# A chat answer the client accepts, for handlers that must answer well.
def chat_json(chat: str, presence: str = "online") -> bytes:
    participant = f'{{"participant": "{chat}", "lastKnownPresence": "{presence}", "lastSeen": null}}'
    return f'{{"id": "{chat}", "presences": [{participant}]}}'.encode()


# How long blocking socket operations wait before looking at the stop flag.
_POLL = 0.05


class Stopped(Exception):
    """The server is stopping: the handler should return."""


class Connection:
    """One accepted connection, handed to a handler. Reads and writes give up when the server
    stops, so a handler that loops forever still ends."""

    def __init__(self, sock: socket.socket, server: RawServer):
        self.sock = sock
        self.server = server
        self.buffer = b""
        sock.settimeout(_POLL)

    def _check(self) -> None:
        if self.server.stopping.is_set():
            raise Stopped

    def recv_some(self) -> bytes:
        """Bytes from the client; b"" once the client closed its side."""
        while True:
            self._check()
            try:
                return self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return b""

    def read_request(self) -> bytes | None:
        """The next request's head and body, or None if the client closed first."""
        while b"\r\n\r\n" not in self.buffer:
            data = self.recv_some()
            if not data:
                return None
            self.buffer += data
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(rest) < length:
            data = self.recv_some()
            if not data:
                return None
            rest += data
        self.buffer = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]

    def send(self, data: bytes) -> bool:
        """Sends all of `data`; False when the client has gone (or the server stops)."""
        view = memoryview(data)
        while view:
            self._check()
            try:
                sent = self.sock.send(view)
            except TimeoutError:
                continue
            except OSError:
                return False
            view = view[sent:]
        return True

    def wait_for_eof(self) -> None:
        """Blocks until the client closes the connection (any bytes it sends are dropped)."""
        while self.recv_some():
            pass


Handler = Callable[[Connection], None]


class LoopbackListener:
    """A listener on 127.0.0.1 whose accepted connections are each served by a thread (see
    `accepted`). `stop()`, or leaving the with-block, closes the listener and every socket it
    tracks and joins the threads. A subclass sets its own attributes before calling
    `super().__init__()`, which starts accepting."""

    thread_name = "loopback"

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.errors: list[BaseException] = []
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if sys.platform != "win32":  # there it would let another socket bind the same port
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(_POLL)
        self.acceptor = threading.Thread(target=self._accept_loop, name=f"{self.thread_name}-accept", daemon=True)
        self.acceptor.start()

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def track(self, sock: socket.socket) -> None:
        """Closes `sock` on stop."""
        with self.lock:
            self.sockets.append(sock)

    def spawn(self, target: Callable[..., None], *args: object) -> None:
        """Runs `target(*args)` in a thread joined on stop."""
        thread = threading.Thread(target=target, args=args, name=f"{self.thread_name}-conn", daemon=True)
        with self.lock:
            self.threads.append(thread)
        thread.start()

    def accepted(self, sock: socket.socket) -> None:
        raise NotImplementedError

    def serve(self, sock: socket.socket, work: Callable[[], None], *, ended_by: type[BaseException]) -> None:
        """Runs `work()` for the accepted `sock`, then closes it. `ended_by` is the quiet end (the
        peer or `stop()` closed the connection); anything else is kept in `errors` for the test
        to look at, so that a bug in the server is not silent."""
        try:
            work()
        except ended_by:
            pass
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.track(sock)
            self.accepted(sock)

    def stop(self) -> None:
        self.stopping.set()
        self.acceptor.join(timeout=5)
        self.listener.close()
        with self.lock:
            sockets, threads = list(self.sockets), list(self.threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(timeout=5)
        for sock in sockets:
            sock.close()

    def __enter__(self: _Listener) -> _Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RawServer(LoopbackListener):
    """Accepts connections on 127.0.0.1 and runs `handler(connection)` for each in a thread.

    Records `arrivals` (time.monotonic() of each accepted connection) and `closed_at` (when the
    handler saw the client close, for handlers that call `connection_closed()`).
    """

    thread_name = "raw-server"

    def __init__(self, handler: Handler):
        self.handler = handler
        self.arrivals: list[float] = []
        self.requests: list[bytes] = []
        self.closed_at: list[float] = []
        self.request_seen = threading.Event()
        self.client_closed = threading.Event()
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # What handlers call to report.
    def request_received(self, request: bytes) -> None:
        with self.lock:
            self.requests.append(request)
        self.request_seen.set()

    def connection_closed(self) -> None:
        with self.lock:
            self.closed_at.append(time.monotonic())
        self.client_closed.set()

    def accepted(self, sock: socket.socket) -> None:
        with self.lock:
            self.arrivals.append(time.monotonic())
        self.spawn(self._serve, sock)

    def _serve(self, sock: socket.socket) -> None:
        self.serve(sock, lambda: self.handler(Connection(sock, self)), ended_by=Stopped)


# --------------------------------------------------------------------------------------------
# Handlers


def response_head(status: int = 200, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> Handler:
    """Answers every request with `status` and `body`, then closes the connection."""

    def handle(conn: Connection) -> None:
        request = conn.read_request()
        if request is None:
            return
        conn.server.request_received(request)
        all_headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"}
        all_headers.update(headers or {})
        conn.send(response_head(status, all_headers) + body)

    return handle


def hold_until_closed(conn: Connection) -> None:
    """Reads the request, never answers, and records when the client closes the connection."""
    request = conn.read_request()
    if request is None:
        return
    conn.server.request_received(request)
    conn.wait_for_eof()
    conn.server.connection_closed()


def stream_body(total: int, *, framing: str, head: bytes = b'"', tail: bytes = b'"', chunk: int = 64 * 1024) -> Handler:
    """A 200 whose body is `head`, then "x" padding, then `tail`, `total` bytes in all, framed as
    "chunked" (Transfer-Encoding) or "close" (no length: the body ends when the connection
    closes). Stops early when the client goes."""

    def handle(conn: Connection) -> None:
        request = conn.read_request()
        if request is None:
            return
        conn.server.request_received(request)
        headers = {"Content-Type": "application/json"}
        if framing == "chunked":
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Connection"] = "close"
        if not conn.send(response_head(200, headers)):
            return
        padding = total - len(head) - len(tail)
        pieces = [head]
        sent = 0
        while True:
            while pieces:
                piece = pieces.pop(0)
                data = b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "chunked" else piece
                if not conn.send(data):
                    return
            if sent >= padding:
                break
            size = min(chunk, padding - sent)
            pieces.append(b"x" * size)
            sent += size
            if sent >= padding:
                pieces.append(tail)
        if framing == "chunked":
            conn.send(b"0\r\n\r\n")

    return handle


def drip(*, interval: float = 0.2, where: str = "body") -> Handler:
    """Sends one byte every `interval` seconds, forever: of the body after a complete head
    (`where="body"`, with a large Content-Length), or of the head itself (`where="head"`)."""

    def handle(conn: Connection) -> None:
        request = conn.read_request()
        if request is None:
            return
        conn.server.request_received(request)
        if where == "body":
            head = response_head(200, {"Content-Type": "application/json", "Content-Length": "1000000"})
            if not conn.send(head):
                return
            stream = b"[" * 1_000_000
        else:
            stream = (response_head(200, {"Content-Type": "application/json"}) * 1000)[:10_000]
        for byte in stream:
            if not conn.send(bytes([byte])):
                return
            # Sleeps in short steps so that stop() is not held up.
            deadline = time.monotonic() + interval
            while time.monotonic() < deadline:
                if conn.server.stopping.is_set():
                    return
                time.sleep(0.01)

    return handle


# --------------------------------------------------------------------------------------------
# A listener whose accept queue is full: connecting to it hangs, on loopback, without any
# routing trick. With listen(0) Linux keeps one finished handshake waiting for accept(); once
# that slot is taken, new SYNs are dropped and the client's connect() waits for retransmits.
# macOS drops them too. Windows answers them with a reset instead, but its client tries again
# for about 2 s before it reports the refusal: connect() waits all the same.


class FullBacklogListener:
    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.fillers: list[socket.socket] = []
        try:
            self._fill()
        except BaseException:
            self.close()
            raise

    def _fill(self) -> None:
        address = self.listener.getsockname()
        for _ in range(16):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            self.fillers.append(filler)
            filler.connect_ex(address)
            _, writable, _ = select.select([], [filler], [], 0.2)
            if not writable:
                return  # this connect hangs: the backlog is full
        raise RuntimeError("could not fill the listen backlog on 127.0.0.1; connect would not hang")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.listener.close()

    def __enter__(self) -> FullBacklogListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
