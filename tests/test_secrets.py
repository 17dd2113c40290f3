"""The access token and the API key never show: not in a client's repr, an error, a URL, a log line.

The Wawp fake checks TOKEN and the WAHA fake API_KEY (see presence_helpers.start_server), so
every request made here carries a real secret that could leak.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from collections.abc import Callable
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from presence_helpers import (
    API_KEY,
    BOTH_BACKENDS,
    CHAT,
    SECRETS,
    TOKEN,
    assert_no_secret,
    build_client,
    secret_of,
    start_server,
    texts_of_exception,
)
from raw_servers import RawServer, answer, chat_json, response_head

from wawp_presence import (
    APIError,
    AsyncPresenceClient,
    AuthenticationError,
    ConfigurationError,
    PresenceClient,
    ProtocolError,
    ServerError,
    TransportError,
    WawpError,
)


def echo(server, template: str) -> str:
    return template.format(secret=secret_of(server))


@BOTH_BACKENDS
def test_pickled_client_repr_holds_no_secret(api, server):
    copy = api.pickled()
    assert_no_secret([repr(copy.client), str(copy.client)])


@pytest.mark.parametrize("cls", [PresenceClient, AsyncPresenceClient], ids=["sync", "async"])
def test_repr_of_clients_built_every_way(cls, monkeypatch):
    monkeypatch.setenv("WAWP_INSTANCE_ID", "inst-env")
    monkeypatch.setenv("WAWP_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("WAWP_BASE_URL", "http://127.0.0.1:9")

    def build_all():
        return [
            cls(instance_id="inst-1", access_token=TOKEN),
            cls(instance_id="inst-1", access_token=TOKEN, base_url="http://127.0.0.1:9"),
            cls.from_env(),
            cls.waha("http://127.0.0.1:9", session="default", api_key=API_KEY),
        ]

    def texts(clients):
        return [text for c in clients for text in (repr(c), str(c))]

    if cls is PresenceClient:
        clients = build_all()
        seen = texts(clients)
        for c in clients:
            c.close()
    else:

        async def in_loop():
            clients = build_all()
            seen = texts(clients)
            for c in clients:
                await c.close()
            return seen

        seen = asyncio.run(in_loop())
    assert len(seen) == 8
    assert_no_secret(seen)


def assert_error_holds_no_secret(exc: BaseException) -> None:
    assert isinstance(exc, WawpError)
    assert_no_secret(texts_of_exception(exc))


# name -> (fail_next arguments, with {secret} for the server's own secret; expected class)
ECHO_CASES = {
    "500-text-echo": (dict(status=500, body="bad token {secret}"), ServerError),
    "500-text-echo-twice": (dict(status=503, body="{secret} / {secret}"), ServerError),
    "400-json-echo": (
        dict(status=400, body={"message": "credential {secret} is not valid", "error": "Bad Request"}),
        APIError,
    ),
    "401-json-echo": (
        dict(status=401, body={"message": "Unauthorized: {secret}", "statusCode": 401}),
        AuthenticationError,
    ),
    "200-error-body-echo": (
        dict(status=200, body={"code": "invalid_token", "message": "token {secret} revoked"}),
        APIError,
    ),
    "200-html-echo": (dict(status=200, body="<html><body>signed in as {secret}</body></html>"), ProtocolError),
}


def fill(value, server):
    if isinstance(value, str):
        return echo(server, value)
    if isinstance(value, dict):
        return {k: fill(v, server) for k, v in value.items()}
    return value


@BOTH_BACKENDS
@pytest.mark.parametrize("case", list(ECHO_CASES))
def test_an_error_body_that_echoes_the_secret_is_redacted(api, server, case):
    arguments, expected = ECHO_CASES[case]
    server.fail_next(**fill(arguments, server))
    with pytest.raises(expected) as caught:
        api.get(CHAT)
    exc = caught.value
    assert_error_holds_no_secret(exc)
    if isinstance(exc, APIError):
        assert exc.body is not None  # redacted, not dropped


def test_the_rest_of_an_echoing_body_is_kept(api, server):
    server.fail_next(status=500, body=echo(server, "bad token {secret} for this instance"))
    with pytest.raises(ServerError) as caught:
        api.get(CHAT)
    assert "bad token" in caught.value.body
    assert "for this instance" in caught.value.body
    assert_error_holds_no_secret(caught.value)


def test_the_literal_echo_of_the_brief(make_api, make_server):
    server = make_server("wawp")
    api = make_api(server)
    server.fail_next(status=500, body="bad token tok-SECRET-123456")
    with pytest.raises(ServerError) as caught:
        api.set("online")
    assert_error_holds_no_secret(caught.value)


def test_wawp_error_url_has_the_token_masked(make_api, make_server):
    server = make_server("wawp")
    api = make_api(server)
    server.fail_next(status=404, body={"message": "not found", "statusCode": 404})
    with pytest.raises(APIError) as caught:
        api.get(CHAT)
    url = caught.value.url
    assert TOKEN not in url
    assert "access_token" in url
    assert "***" in url or "%2A%2A%2A" in url


@BOTH_BACKENDS
def test_a_wrong_secret_error_holds_neither_secret(wrong_secret_api):
    # The fake expects other secrets; the client sends ours, which must not show in the 401.
    with pytest.raises(AuthenticationError) as caught:
        wrong_secret_api.get(CHAT)
    assert_error_holds_no_secret(caught.value)


def test_a_dropped_connection_error_holds_no_secret(api, server):
    server.fail_next(drop=True)
    with pytest.raises(TransportError) as caught:
        api.subscribe(CHAT)
    assert_error_holds_no_secret(caught.value)


def test_a_refused_connection_error_holds_no_secret(make_api, backend):
    with start_server(backend) as gone:
        pass
    api = make_api(gone)
    with pytest.raises(TransportError) as caught:
        api.get(CHAT)
    assert_error_holds_no_secret(caught.value)


def test_errors_in_get_many_hold_no_secret(api, server):
    server.fail_next(status=500, body=echo(server, "boom {secret}"), times=2)
    results = api.get_many([CHAT, "447700900123@c.us"], return_exceptions=True, concurrency=1)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 2
    for error in errors:
        assert_error_holds_no_secret(error)


def test_a_configuration_error_holds_no_secret(monkeypatch):
    monkeypatch.delenv("WAWP_INSTANCE_ID", raising=False)
    monkeypatch.setenv("WAWP_ACCESS_TOKEN", TOKEN)
    with pytest.raises(ConfigurationError) as caught:
        PresenceClient.from_env()
    assert_error_holds_no_secret(caught.value)


@BOTH_BACKENDS
def test_secrets_are_the_ones_the_fake_checks(server):
    # Guards the tests above: the fakes really were given the distinctive secrets.
    assert secret_of(server) in SECRETS


# ============================================================================== every encoding of a secret
#
# A server that echoes the request (URL, headers) hands a secret back in whatever encoding it
# chose: percent-encoded in either case, form-encoded, JSON-escaped, HTML-escaped, encoded
# twice. The echo server below answers 401 with the credential it received in all of those.


def json_every_unit(s: str) -> str:
    """JSON's \\uXXXX for every UTF-16 code unit (surrogate pairs for emoji), as some encoders write."""
    units = s.encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2))


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "percent-upper": lambda s: quote(s, safe=""),
    "percent-lower": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(s, safe="")),
    "percent-path": lambda s: quote(s),  # leaves / raw
    "form": lambda s: quote_plus(s, safe=""),
    "form-lower": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote_plus(s, safe="")),
    "json-ascii": lambda s: json.dumps(s)[1:-1],
    "json-utf8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json-slash": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "json-every-char": lambda s: json_every_unit(s),
    "html": lambda s: html.escape(s),
    "html-numeric": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html-hex": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "percent-twice": lambda s: quote(quote(s, safe=""), safe=""),
    "json-of-percent": lambda s: json.dumps(quote(s, safe=""))[1:-1],
}


def echo_every_encoding(conn) -> None:
    """Answers 401 with the request's credential (query access_token or X-Api-Key) in every
    encoding of ENCODINGS, and the request line as it arrived."""
    request = conn.read_request()
    if request is None:
        return
    conn.server.request_received(request)
    head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    request_line, *header_lines = head.split("\r\n")
    target = request_line.split(" ")[1]
    secret = parse_qs(urlsplit(target).query).get("access_token", [None])[0]
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-api-key":
            secret = value.strip().encode("latin-1").decode("utf-8")
    forms = {name: encode(secret) for name, encode in ENCODINGS.items()} if secret else {}
    body = json.dumps(
        {"message": f"Unauthorized {request_line}", "echo": forms, "html": f"<p>{html.escape(target)}</p>"}
    )
    data = body.encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(data)), "Connection": "close"}
    conn.send(response_head(401, headers) + data)


def forms_of(secret: str) -> list[str]:
    return sorted({encode(secret) for encode in ENCODINGS.values()}, key=len, reverse=True)


@pytest.fixture(scope="module")
def echo_server():
    with RawServer(echo_every_encoding) as raw:
        yield raw


TOKEN_ALPHABET = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc"),
    exclude_characters="*",  # "***" is what a secret becomes; a secret made of it cannot be told apart
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # The "Tk" start keeps a generated token from being a word the test itself prints ("None").
    token=st.text(TOKEN_ALPHABET | st.sampled_from("+/= %&?#\"\\<>'é😀"), min_size=2, max_size=24).map(
        lambda t: "Tk" + t
    )
)
def test_a_token_echoed_in_any_encoding_never_shows(echo_server, caplog, token):
    caplog.set_level(logging.DEBUG, logger="wawp_presence")
    caplog.clear()
    client = PresenceClient(instance_id="inst-1", access_token=token, base_url=echo_server.url, max_retries=0)
    with client, pytest.raises(AuthenticationError) as caught:
        client.get(CHAT)
    texts = [*texts_of_exception(caught.value), caplog.text]
    for form in forms_of(token):
        for text in texts:
            assert form not in text, f"{form!r} (of token {token!r}) shows in {text[:400]!r}"
    assert "***" in caught.value.body  # redacted, not dropped
    assert "Unauthorized" in caught.value.body


@settings(max_examples=30, deadline=None)
@given(
    key=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="*"), min_size=2, max_size=24
    ).map(lambda k: "Ky" + k)
)
def test_an_api_key_echoed_in_any_encoding_never_shows(echo_server, key):
    with (
        PresenceClient.waha(echo_server.url, api_key=key, max_retries=0) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.subscribe(CHAT)
    texts = texts_of_exception(caught.value)
    for form in forms_of(key):
        for text in texts:
            assert form not in text, f"{form!r} (of key {key!r}) shows in {text[:400]!r}"


@pytest.mark.parametrize("token", ["tok_SECRET+abc/def==", "SECRET with space", 'tok"SECRET\\quoted'])
def test_the_reported_tokens_never_show(echo_server, token):
    with PresenceClient(instance_id="i", access_token=token, base_url=echo_server.url, max_retries=0) as client:
        with pytest.raises(AuthenticationError) as caught:
            client.get(CHAT)
    assert_no_secret(texts_of_exception(caught.value), tuple(forms_of(token)))
    assert_no_secret(texts_of_exception(caught.value), ("SECRET",))


# ============================================================================== URLs quoted in messages


@pytest.mark.parametrize(
    "base_url",
    [
        "admin:hunter2@waha.internal:3000",
        "ftp://user:hunter2@waha.internal/api",
        "http://user:hunter2@/api",
        "https://:hunter2@",
        "waha.internal user:hunter2@x",
    ],
)
def test_a_refused_base_url_is_quoted_without_its_password(base_url):
    with pytest.raises(ValueError, match="base_url") as caught:
        PresenceClient.waha(base_url)
    assert_no_secret(texts_of_exception(caught.value), ("hunter2",))


def test_a_base_url_with_credentials_is_refused_without_quoting_them():
    with pytest.raises(ValueError, match="credentials") as caught:
        PresenceClient.waha("http://admin:hunter2@127.0.0.1:3000")
    assert_no_secret(texts_of_exception(caught.value), ("hunter2",))


# ============================================================================== proxies


@pytest.fixture
def no_proxy_settings(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_a_dead_proxy_is_named_in_the_error_without_its_credentials(no_proxy_settings, make_server):
    server = make_server("waha")
    with RawServer(answer(200, b"")) as gone:
        port = gone.port
    no_proxy_settings.setenv("HTTP_PROXY", f"http://proxyuser:hunter2@127.0.0.1:{port}")
    with build_client(PresenceClient, server, max_retries=0) as client, pytest.raises(TransportError) as caught:
        client.get(CHAT)
    message = str(caught.value)
    assert f"proxy http://***@127.0.0.1:{port}" in message, message
    assert "HTTP_PROXY" in message
    assert_no_secret(texts_of_exception(caught.value), ("hunter2", "proxyuser"))
    assert server.requests == []  # it never reached the server


def test_a_request_really_goes_through_the_proxy_the_error_would_name(no_proxy_settings, make_server):
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    with RawServer(answer(200, chat_json(CHAT))) as proxy:
        no_proxy_settings.setenv("http_proxy", proxy.url)
        with build_client(PresenceClient, server, max_retries=0) as client:
            assert client.get(CHAT).is_online
        request_line = proxy.requests[0].split(b"\r\n", 1)[0].decode()
    # A forward proxy is asked for the absolute URL of the server.
    assert request_line.startswith(f"GET {server.url}/api/default/presence/"), request_line
    assert server.requests == []


def test_without_a_proxy_a_refused_connection_does_not_mention_one(no_proxy_settings):
    with RawServer(answer(200, b"")) as gone:
        url = gone.url
    with PresenceClient.waha(url, max_retries=0) as client, pytest.raises(TransportError) as caught:
        client.get(CHAT)
    assert "proxy" not in str(caught.value)


def test_no_proxy_exempts_the_server(no_proxy_settings, make_server):
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    no_proxy_settings.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    no_proxy_settings.setenv("NO_PROXY", "127.0.0.1")
    with build_client(PresenceClient, server, max_retries=0) as client:
        assert client.get(CHAT).is_online
