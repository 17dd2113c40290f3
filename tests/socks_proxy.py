"""A tiny SOCKS5 proxy on 127.0.0.1 (RFC 1928, with RFC 1929's username/password), for the tests
of proxies read from the environment (`ALL_PROXY=socks5://...`).

It records what each client asked for (the destination of CONNECT, its address type, the
credentials given) and then relays bytes both ways. It only ever connects to loopback
addresses: a domain name other than `localhost`, or any other address, is refused with the
matching SOCKS reply, so a test can never reach the internet through it.

A context manager, like RawServer: leaving it closes the listener and every connection and joins
its threads, also when the test failed.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from dataclasses import dataclass

from raw_servers import _POLL, LoopbackListener

# SOCKS5 replies (RFC 1928, section 6).
SUCCEEDED = 0x00
NOT_ALLOWED = 0x02
HOST_UNREACHABLE = 0x04
CONNECTION_REFUSED = 0x05
COMMAND_NOT_SUPPORTED = 0x07
ADDRESS_TYPE_NOT_SUPPORTED = 0x08

NO_AUTH = 0x00
USERNAME_PASSWORD = 0x02
NO_ACCEPTABLE_METHOD = 0xFF

# The only names this proxy resolves, so that nothing leaves the machine.
LOCAL_NAMES = {"localhost": "127.0.0.1"}


class _Closed(Exception):
    """The client went away, or the proxy is stopping."""


@dataclass
class Handshake:
    """What one client told the proxy."""

    methods: bytes = b""  # the authentication methods it offered
    credentials: tuple[str, str] | None = None  # (username, password), if it sent any
    command: int | None = None
    address_type: str | None = None  # "ipv4", "domain" or "ipv6"
    host: str | None = None
    port: int | None = None
    reply: int | None = None  # what the proxy answered to the command


class Socks5Proxy(LoopbackListener):
    """SOCKS5 on 127.0.0.1. With `username` and `password`, only that username/password method
    is accepted (a client offering no credentials is refused); without, "no authentication"."""

    thread_name = "socks"

    def __init__(self, *, username: str | None = None, password: str | None = None):
        self.username = username
        self.password = password
        self.handshakes: list[Handshake] = []
        super().__init__()

    def url(self, scheme: str = "socks5", *, credentials: str | None = None) -> str:
        """The proxy's URL, e.g. url("socks5h", credentials="user:pw")."""
        at = f"{credentials}@" if credentials else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}"

    @property
    def connects(self) -> list[tuple[str | None, int | None]]:
        """(host, port) of every CONNECT asked for, in order."""
        with self.lock:
            return [(h.host, h.port) for h in self.handshakes if h.command == 1]

    # ------------------------------------------------------------------ serving

    def accepted(self, sock: socket.socket) -> None:
        self.spawn(self._serve, sock)

    def _recv_exactly(self, sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            if self.stopping.is_set():
                raise _Closed
            try:
                chunk = sock.recv(n - len(data))
            except TimeoutError:
                continue
            except OSError as exc:
                raise _Closed from exc
            if not chunk:
                raise _Closed
            data += chunk
        return data

    def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.sendall(data)
        except OSError as exc:
            raise _Closed from exc

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(_POLL)
        handshake = Handshake()
        with self.lock:
            self.handshakes.append(handshake)

        def work() -> None:
            upstream = self._negotiate(sock, handshake)
            if upstream is not None:
                self._relay(sock, upstream)

        self.serve(sock, work, ended_by=_Closed)

    def _negotiate(self, sock: socket.socket, handshake: Handshake) -> socket.socket | None:
        version, count = self._recv_exactly(sock, 2)
        if version != 5:
            return None
        handshake.methods = self._recv_exactly(sock, count)
        wanted = USERNAME_PASSWORD if self.username is not None else NO_AUTH
        if wanted not in handshake.methods:
            self._send(sock, bytes([5, NO_ACCEPTABLE_METHOD]))
            return None
        self._send(sock, bytes([5, wanted]))
        if wanted == USERNAME_PASSWORD:
            # RFC 1929: VER=1, ULEN, UNAME, PLEN, PASSWD; answered with VER=1, STATUS.
            (_version,) = self._recv_exactly(sock, 1)
            (length,) = self._recv_exactly(sock, 1)
            username = self._recv_exactly(sock, length).decode("utf-8", "replace")
            (length,) = self._recv_exactly(sock, 1)
            password = self._recv_exactly(sock, length).decode("utf-8", "replace")
            handshake.credentials = (username, password)
            if (username, password) != (self.username, self.password):
                self._send(sock, bytes([1, 1]))
                return None
            self._send(sock, bytes([1, 0]))
        version, command, _reserved, address_type = self._recv_exactly(sock, 4)
        handshake.command = command
        if address_type == 1:
            handshake.address_type = "ipv4"
            handshake.host = socket.inet_ntop(socket.AF_INET, self._recv_exactly(sock, 4))
        elif address_type == 3:
            handshake.address_type = "domain"
            (length,) = self._recv_exactly(sock, 1)
            handshake.host = self._recv_exactly(sock, length).decode("idna")
        elif address_type == 4:
            handshake.address_type = "ipv6"
            handshake.host = socket.inet_ntop(socket.AF_INET6, self._recv_exactly(sock, 16))
        else:
            return self._reply(sock, handshake, ADDRESS_TYPE_NOT_SUPPORTED)
        (handshake.port,) = struct.unpack("!H", self._recv_exactly(sock, 2))
        if command != 1:  # only CONNECT
            return self._reply(sock, handshake, COMMAND_NOT_SUPPORTED)
        host = LOCAL_NAMES.get(handshake.host.lower(), handshake.host)
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return self._reply(sock, handshake, NOT_ALLOWED)
        except ValueError:  # a name this proxy does not resolve
            return self._reply(sock, handshake, HOST_UNREACHABLE)
        try:
            upstream = socket.create_connection((host, handshake.port), timeout=5)
        except OSError:
            return self._reply(sock, handshake, CONNECTION_REFUSED)
        self.track(upstream)
        self._reply(sock, handshake, SUCCEEDED, upstream.getsockname())
        return upstream

    def _reply(
        self, sock: socket.socket, handshake: Handshake, code: int, bound: tuple | None = None
    ) -> socket.socket | None:
        handshake.reply = code
        host, port = (bound[0], bound[1]) if bound and ":" not in bound[0] else ("0.0.0.0", 0)
        self._send(sock, bytes([5, code, 0, 1]) + socket.inet_aton(host) + struct.pack("!H", port))
        return None

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        """Copies bytes both ways until either side closes (then closes both)."""
        upstream.settimeout(_POLL)
        done = threading.Event()

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while not self.stopping.is_set() and not done.is_set():
                    try:
                        data = source.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    try:
                        sink.sendall(data)
                    except OSError:
                        return
            finally:
                done.set()

        back = threading.Thread(target=pump, args=(upstream, client), name="socks-relay", daemon=True)
        with self.lock:
            self.threads.append(back)
        back.start()
        pump(client, upstream)
        back.join()
        for sock in (upstream, client):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        upstream.close()
