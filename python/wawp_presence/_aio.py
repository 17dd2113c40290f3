"""The pump of an event loop without ``add_reader`` (Windows' ``ProactorEventLoop``): while calls
of the async client wait on that loop, it awaits the wake-up socket with ``loop.sock_recv``, which
every loop has, and hands what arrived to the loop's port. Loops with ``add_reader`` (the selector
loops, uvloop) watch the socket directly and need no pump."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    import socket

    from ._native import Port


async def pump(loop: asyncio.AbstractEventLoop, sock: socket.socket, port: Port) -> None:
    try:
        while port.waiting():
            await loop.sock_recv(sock, 256)
            port.drain()
    finally:
        port.pump_ended()
