"""The connection pool under the client, as a server sees it: connections kept and reused, a
connection the server ends never costs a request, and proxies from the environment (http forward
proxies, CONNECT tunnels, SOCKS5) are asked correctly.
"""

from __future__ import annotations

import asyncio
import base64
import select
import time

import pytest
from presence_helpers import CHAT, assert_no_secret, build_client, texts_of_exception
from raw_servers import Connection, RawServer, chat_json, response_head
from socks_proxy import Socks5Proxy

from wawp_presence import AsyncPresenceClient, PresenceClient, TransportError


def test_sequential_calls_share_one_connection(backend, make_server):
    server = make_server(backend)
    with build_client(PresenceClient, server) as client:
        for _ in range(50):
            client.get(CHAT)
    assert server.traffic["connections_opened"] == 1, server.traffic


async def test_async_sequential_calls_share_one_connection(backend, make_server):
    server = make_server(backend)
    async with build_client(AsyncPresenceClient, server) as client:
        for _ in range(50):
            await client.get(CHAT)
    assert server.traffic["connections_opened"] == 1, server.traffic


KEEP_ALIVE = 0.02


def short_keep_alive(conn: Connection) -> None:
    """Answers as if the connection were kept (no `Connection: close`), then ends it after
    `KEEP_ALIVE` seconds without a request: a server with a short keep-alive timer."""
    body = chat_json(CHAT)
    while True:
        readable, _, _ = select.select([conn.sock], [], [], KEEP_ALIVE)
        if not readable:
            return
        request = conn.read_request()
        if request is None:
            return
        conn.server.request_received(request)
        conn.send(response_head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))}) + body)


def test_a_kept_connection_the_server_ended_is_not_used():
    # No retries allowed: a request sent on the closed connection would fail the call.
    with RawServer(short_keep_alive) as server:
        with PresenceClient.waha(server.url, max_retries=0) as client:
            for _ in range(5):
                assert client.get(CHAT).is_online
                time.sleep(KEEP_ALIVE * 3)
        assert len(server.requests) == 5
        assert len(server.arrivals) == 5
        assert not server.errors


async def test_async_a_kept_connection_the_server_ended_is_not_used():
    with RawServer(short_keep_alive) as server:
        async with AsyncPresenceClient.waha(server.url, max_retries=0) as client:
            for _ in range(5):
                assert (await client.get(CHAT)).is_online
                await asyncio.sleep(KEEP_ALIVE * 3)
        assert len(server.requests) == 5
        assert len(server.arrivals) == 5


def answers_keeping_alive(conn: Connection) -> None:
    body = chat_json(CHAT)
    while (request := conn.read_request()) is not None:
        conn.server.request_received(request)
        conn.send(response_head(200, {"Content-Length": str(len(body))}) + body)


def test_an_answer_with_connection_close_is_not_reused():
    # Every answer of `answer(...)`-style servers says `Connection: close`; here half of them do.
    def handler(conn: Connection) -> None:
        body = chat_json(CHAT)
        while (request := conn.read_request()) is not None:
            conn.server.request_received(request)
            closing = len(conn.server.requests) % 2 == 0
            headers = {"Content-Length": str(len(body))} | ({"Connection": "close"} if closing else {})
            conn.send(response_head(200, headers) + body)
            if closing:
                return

    with RawServer(handler) as server:
        with PresenceClient.waha(server.url, max_retries=0) as client:
            for _ in range(10):
                assert client.get(CHAT).is_online
        assert len(server.requests) == 10
        assert len(server.arrivals) == 5  # a new connection after each `Connection: close`


def test_requests_carry_host_user_agent_and_the_api_key():
    with RawServer(answers_keeping_alive) as server:
        with PresenceClient.waha(server.url, api_key="k-123", user_agent="probe/1.0", max_retries=0) as client:
            client.get(CHAT)
        port = server.port
        head = server.requests[0].split(b"\r\n\r\n")[0].decode().lower().split("\r\n")
    assert head[0].startswith("get /api/default/presence/")
    assert head[0].endswith(" http/1.1")
    assert f"host: 127.0.0.1:{port}" in head
    assert "user-agent: probe/1.0" in head
    assert "x-api-key: k-123" in head
    assert "accept: application/json" in head


# ============================================================================== proxies


@pytest.fixture
def proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def header_lines(head: list[str]) -> list[tuple[str, str]]:
    """(lower-case name, value) of each header line of a request head."""
    pairs = [line.partition(":") for line in head[1:]]
    return [(name.strip().lower(), value.strip()) for name, _, value in pairs]


def refuses_with_407(conn: Connection) -> None:
    request = conn.read_request()
    if request is None:
        return
    conn.server.request_received(request)
    conn.send(response_head(407, {"Content-Length": "0", "Connection": "close"}))


def test_an_https_server_is_reached_through_the_proxys_connect_tunnel(proxy_env):
    # The server's name is never looked up here: the proxy is asked to connect to it.
    with RawServer(refuses_with_407) as proxy:
        port = proxy.port
        proxy_env.setenv("HTTPS_PROXY", f"http://proxyuser:hunter2@127.0.0.1:{port}")
        with PresenceClient.waha("https://waha.example.invalid:8443", max_retries=0) as client:
            with pytest.raises(TransportError) as caught:
                client.get(CHAT)
        head = proxy.requests[0].split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert head[0] == "CONNECT waha.example.invalid:8443 HTTP/1.1", head
    credentials = base64.b64encode(b"proxyuser:hunter2").decode()
    assert ("proxy-authorization", f"Basic {credentials}") in header_lines(head)
    # What a user checks, whatever words the HTTP library has for the refused tunnel: the proxy
    # is named, its credentials as ***.
    message = str(caught.value)
    assert f"proxy http://***@127.0.0.1:{port}" in message, message
    assert_no_secret(texts_of_exception(caught.value), ("hunter2", "proxyuser", credentials))


def test_a_forward_proxys_credentials_go_in_proxy_authorization(proxy_env, make_server):
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    with RawServer(answers_keeping_alive) as proxy:
        proxy_env.setenv("HTTP_PROXY", f"http://proxyuser:hunter2@127.0.0.1:{proxy.port}")
        with build_client(PresenceClient, server, max_retries=0) as client:
            assert client.get(CHAT).is_online
        head = proxy.requests[0].split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert head[0].startswith(f"GET {server.url}/api/default/presence/"), head
    credentials = base64.b64encode(b"proxyuser:hunter2").decode()
    assert ("proxy-authorization", f"Basic {credentials}") in header_lines(head)


# ------------------------------------------------------------------------------ SOCKS5


def get_both_ways(make_client) -> list[bool]:
    """`get(CHAT)` with a sync client and with an async one made by `make_client(cls)`."""
    with make_client(PresenceClient) as client:
        sync = client.get(CHAT).is_online

    async def main() -> bool:
        async with make_client(AsyncPresenceClient) as aclient:
            return (await aclient.get(CHAT)).is_online

    return [sync, asyncio.run(main())]


@pytest.mark.parametrize("variable", ["ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"])
def test_a_socks5_proxy_from_the_environment_carries_the_calls(proxy_env, make_server, variable):
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    with Socks5Proxy() as proxy:
        proxy_env.setenv(variable, proxy.url("socks5"))
        assert get_both_ways(lambda cls: build_client(cls, server, max_retries=0)) == [True, True]
        connects = proxy.connects
        handshakes = list(proxy.handshakes)
        assert not proxy.errors
    # Each client asked the proxy to connect to the server (socks5: the client resolves names
    # itself; here the server is an address anyway), without credentials.
    assert len(connects) >= 2, handshakes
    assert set(connects) == {("127.0.0.1", server.port)}, handshakes
    assert all(h.credentials is None for h in handshakes), handshakes
    assert len(server.requests) == 2


def test_a_socks5h_proxy_with_credentials_gets_them_and_the_servers_name(proxy_env, make_server):
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    url = f"http://localhost:{server.port}"  # the proxy resolves `localhost` (and no other name)
    with Socks5Proxy(username="proxyuser", password="hunter2") as proxy:
        proxy_env.setenv("ALL_PROXY", proxy.url("socks5h", credentials="proxyuser:hunter2"))
        both = get_both_ways(lambda cls: cls.waha(url, session=server.session, api_key=server.api_key, max_retries=0))
        assert both == [True, True]
        handshakes = [h for h in proxy.handshakes if h.command is not None]
        assert not proxy.errors
    assert len(handshakes) >= 2, handshakes
    for handshake in handshakes:
        assert handshake.credentials == ("proxyuser", "hunter2"), handshake  # RFC 1929
        # socks5h: the name goes to the proxy unresolved.
        assert (handshake.address_type, handshake.host, handshake.port) == ("domain", "localhost", server.port)
    assert len(server.requests) == 2


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_dead_socks_proxy_is_named_in_the_error_without_its_credentials(proxy_env, make_server, kind):
    server = make_server("waha")
    with RawServer(lambda conn: None) as gone:
        port = gone.port  # closed when this block ends: nothing listens there
    proxy_env.setenv("ALL_PROXY", f"socks5h://proxyuser:hunter2@127.0.0.1:{port}")
    if kind == "sync":
        with build_client(PresenceClient, server, max_retries=0) as client, pytest.raises(TransportError) as caught:
            client.get(CHAT)
    else:

        async def main() -> None:
            async with build_client(AsyncPresenceClient, server, max_retries=0) as aclient:
                await aclient.get(CHAT)

        with pytest.raises(TransportError) as caught:
            asyncio.run(main())
    message = str(caught.value)
    # The proxy is named, so that a dead proxy does not read as a dead server.
    assert f"socks5h://***@127.0.0.1:{port}" in message, message
    assert_no_secret(texts_of_exception(caught.value), ("hunter2", "proxyuser"))
    assert server.requests == []


@pytest.mark.parametrize("variable", ["NO_PROXY", "no_proxy"])
def test_no_proxy_exempts_the_server_from_a_socks_proxy(proxy_env, make_server, variable):
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    with Socks5Proxy() as proxy:
        proxy_env.setenv("ALL_PROXY", proxy.url("socks5h"))
        proxy_env.setenv(variable, "127.0.0.1")
        assert get_both_ways(lambda cls: build_client(cls, server, max_retries=0)) == [True, True]
        assert proxy.handshakes == []  # never asked
    assert len(server.requests) == 2


def test_an_https_proxy_is_accepted_at_construction(proxy_env):
    # TLS to the proxy itself is supported: such a proxy is no configuration error.
    proxy_env.setenv("HTTPS_PROXY", "https://proxyuser:hunter2@127.0.0.1:3129")
    proxy_env.setenv("HTTP_PROXY", "https://proxyuser:hunter2@127.0.0.1:3129")
    with PresenceClient.waha("http://waha.internal:3000") as client:
        assert "hunter2" not in repr(client)
