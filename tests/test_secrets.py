"""The access token and the API key never show: not in a client's repr, an error, a URL, a log line.

The Wawp fake checks TOKEN and the WAHA fake API_KEY (see presence_helpers.start_server), so
every request made here carries a real secret that could leak.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from presence_helpers import (
    API_KEY,
    CHAT,
    HANG_BOUND_SECONDS,
    SECRETS,
    TOKEN,
    assert_no_secret,
    secret_of,
    start_server,
    texts_of_exception,
)
from wawp_presence import (
    APIError,
    AsyncPresenceClient,
    AuthenticationError,
    ConfigurationError,
    PresenceClient,
    ProtocolError,
    RequestTimeout,
    ServerError,
    TransportError,
    WawpError,
)


def echo(server, template: str) -> str:
    return template.format(secret=secret_of(server))


def test_client_repr_and_str_hold_no_secret(api, server):
    assert_no_secret([repr(api.client), str(api.client), format(api.client)])


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
    "400-json-echo": (dict(status=400, body={"message": "credential {secret} is not valid", "error": "Bad Request"}), APIError),
    "401-json-echo": (dict(status=401, body={"message": "Unauthorized: {secret}", "statusCode": 401}), AuthenticationError),
    "200-error-body-echo": (dict(status=200, body={"code": "invalid_token", "message": "token {secret} revoked"}), APIError),
    "200-html-echo": (dict(status=200, body="<html><body>signed in as {secret}</body></html>"), ProtocolError),
}


def fill(value, server):
    if isinstance(value, str):
        return echo(server, value)
    if isinstance(value, dict):
        return {k: fill(v, server) for k, v in value.items()}
    return value


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


def test_a_timeout_error_holds_no_secret(make_api, server):
    api = make_api(server, timeout=0.5)
    server.fail_next(hang=True)
    started = time.monotonic()
    with pytest.raises(RequestTimeout) as caught:
        api.get_all()
    assert time.monotonic() - started < HANG_BOUND_SECONDS
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


def test_no_log_line_or_output_holds_a_secret(api, server, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    server.set_presence(CHAT, "online")
    api.get(CHAT)
    api.set("online")
    api.subscribe(CHAT)
    api.get_all()
    with api.typing(CHAT):
        pass
    server.fail_next(status=500, body=echo(server, "bad {secret}"))
    with pytest.raises(ServerError):
        api.get(CHAT)
    server.fail_next(drop=True)
    with pytest.raises(TransportError):
        api.get(CHAT)
    assert_no_secret(caplog.text)
    assert_no_secret([record.getMessage() for record in caplog.records])
    out, err = capfd.readouterr()
    assert_no_secret([out, err])


def test_secrets_are_the_ones_the_fake_checks(server):
    # Guards the tests above: the fakes really were given the distinctive secrets.
    assert secret_of(server) in SECRETS
