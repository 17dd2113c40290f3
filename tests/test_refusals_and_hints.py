"""What the client refuses before any request, and what its errors tell a reader of a log line:
every refusal is an `InvalidArgumentError` (a `WawpError` and a `ValueError`), naming only the
words that call accepts; a WAHA 401 says to pass the API key; a timeout shorter than WAHA's wait
for a starting session says so; `watch` goes on by polling where subscribing is not implemented.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from presence_helpers import CHAT, TWO_WAYS, assert_no_secret, texts_of_exception

from wawp_presence import (
    AsyncPresenceClient,
    AuthenticationError,
    InvalidArgumentError,
    InvalidChatIdError,
    PresenceClient,
    RequestTimeout,
    WawpError,
)

REFUSED_CALLS = {
    "set-word": lambda c: c.set("flying"),
    "set-unknown": lambda c: c.set("unknown"),
    "set-typing-without-chat": lambda c: c.set("typing"),
    "set-online-with-chat": lambda c: c.set("online", chat_id=CHAT),
    "get-wait": lambda c: c.get(CHAT, wait=-1),
    "get-chat": lambda c: c.get("not a chat"),
    "get_many-concurrency": lambda c: c.get_many([CHAT], concurrency=0),
    "watch-interval": lambda c: c.watch([CHAT], interval=0),
    "typing-refresh": lambda c: c.typing(CHAT, refresh=0.001),
    "keep_online-interval": lambda c: c.keep_online(interval=0),
}


@TWO_WAYS
@pytest.mark.parametrize("name", list(REFUSED_CALLS))
def test_every_refusal_before_a_request_is_an_invalid_argument_error(api, server, name):
    # Raised at the call, on either client (the async one before any coroutine exists).
    with pytest.raises(InvalidArgumentError) as caught:
        REFUSED_CALLS[name](api.client)
    assert isinstance(caught.value, WawpError) and isinstance(caught.value, ValueError)
    assert server.requests == []


@pytest.mark.parametrize(
    "option",
    [{"timeout": -1}, {"timeout": 0}, {"max_retries": 1000}, {"max_connections": 0}, {"rate_limit": 0}],
    ids=lambda o: next(iter(o)),
)
@pytest.mark.parametrize("cls", [PresenceClient, AsyncPresenceClient])
def test_a_bad_option_value_is_an_invalid_argument_error_naming_it(cls, option):
    with pytest.raises(InvalidArgumentError, match=next(iter(option))):
        cls(instance_id="i", access_token="t", **option)


def test_an_invalid_chat_id_is_an_invalid_argument_error():
    assert issubclass(InvalidChatIdError, InvalidArgumentError)


@pytest.mark.parametrize("word", ["flying", "unknown"])
def test_a_word_set_cannot_send_is_refused_with_the_words_it_can(client, word):
    with pytest.raises(InvalidArgumentError) as caught:
        client.set(word)
    message = caught.value.message
    assert word in message
    for accepted in ("online", "offline", "typing", "recording", "paused"):
        assert accepted in message, message
    assert message.count("unknown") == (1 if word == "unknown" else 0), message


# ============================================================================== hints


@TWO_WAYS
def test_a_waha_401_says_to_pass_the_api_key(make_api, make_server, mode, backend):
    server = make_server("waha", api_key="the-servers-key")
    api = make_api(factory=lambda cls: cls.waha(server.url, max_retries=0))
    with pytest.raises(AuthenticationError) as caught:
        api.get(CHAT)
    assert "api_key" in caught.value.message and "WAHA_API_KEY" in caught.value.message, caught.value.message


def test_a_waha_401_with_a_wrong_key_says_so_without_the_key(make_api, make_server):
    server = make_server("waha", api_key="the-servers-key")
    api = make_api(factory=lambda cls: cls.waha(server.url, api_key="a-WRONG-key-123", max_retries=0))
    with pytest.raises(AuthenticationError) as caught:
        api.get(CHAT)
    assert "refused the API key" in caught.value.message, caught.value.message
    assert_no_secret(texts_of_exception(caught.value), ("a-WRONG-key-123", "the-servers-key"))


@pytest.mark.parametrize("backend_kind", ["waha", "wawp"])
def test_a_timeout_shorter_than_wahas_session_wait_says_what_the_answer_may_have_been(make_server, backend_kind):
    server = make_server(backend_kind, latency=1.0)
    if backend_kind == "waha":
        client = PresenceClient.waha(server.url, api_key=server.api_key, timeout=0.2, max_retries=0)
    else:
        client = PresenceClient(
            instance_id=server.instance_id,
            access_token=server.access_token,
            base_url=server.url,
            timeout=0.2,
            max_retries=0,
        )
    with client, pytest.raises(RequestTimeout) as caught:
        client.get(CHAT)
    hinted = "WAHA holds a request for about 5 s" in caught.value.message
    assert hinted == (backend_kind == "waha"), caught.value.message
    if hinted:
        assert "SessionNotReadyError" in caught.value.message


# ============================================================================== watch on NOWEB


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_watch_goes_on_polling_where_subscribing_is_not_implemented(make_server, caplog, mode):
    server = make_server("waha", api_key=None, edition="core")
    server.set_presence(CHAT, "online")
    caplog.set_level(logging.INFO, logger="wawp_presence")

    def flip():
        server.set_presence(CHAT, "offline")

    if mode == "sync":
        with PresenceClient.waha(server.url, max_retries=0) as client:
            changes = client.watch([CHAT], interval=0.05, resubscribe=0.05)
            first = next(changes)
            flip()
            second = next(changes)
    else:

        async def main():
            async with AsyncPresenceClient.waha(server.url, max_retries=0) as aclient:
                changes = aclient.watch([CHAT], interval=0.05, resubscribe=0.05)
                first = await changes.__anext__()
                flip()
                return first, await changes.__anext__()

        first, second = asyncio.run(main())
    assert first.current == "online"
    assert (second.previous, second.current) == ("online", "offline")
    subscribes = [r for r in server.requests if r["path"].endswith("/subscribe")]
    assert len(subscribes) == 1, "asked once, then polled alone"
    said = [r for r in caplog.records if "does not implement subscribing" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO
