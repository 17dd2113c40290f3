"""Chat ids (wire.md, Chat ids): accepted forms, normalisation, and garbage refused before any request."""

from __future__ import annotations

import pytest

from presence_helpers import CHAT, GROUP, LID, NEWSLETTER, decoded_path, route, typing_states
from wawp_presence import InvalidChatIdError, WawpError

VALID = [
    ("447441429009@c.us", CHAT),
    ("447441429009", CHAT),
    ("+44 7441 429009", CHAT),
    ("447441429009@s.whatsapp.net", CHAT),
    (GROUP, GROUP),
    ("447441429009-1581234567@g.us", "447441429009-1581234567@g.us"),  # an older group's id
    (LID, LID),
    (NEWSLETTER, NEWSLETTER),
]
VALID_IDS = ["c.us", "digits", "phone-with-plus-and-spaces", "s.whatsapp.net", "g.us", "old-g.us", "lid", "newsletter"]

INVALID = [
    "",
    "abc",
    "abc@c.us",
    "@c.us",
    "447441429009@",
    "../x@c.us",
    "1/2@g.us",
    "x@c.us?y=1",
    "447441429009@c.us?y=1",
    "a#b@lid",
    "447441429009@c.us#frag",
    "447441429009@evil.com",
    "447441429009@c.us/subscribe",
    "../../admin",
]


def expected_segments(server, op: str, chat: str) -> int:
    """How many '/'-separated segments the raw path of `op` must have: a chat id is exactly one."""
    return route(server, op, chat).count("/") - chat.count("/")


@pytest.mark.parametrize("given, normalised", VALID, ids=VALID_IDS)
def test_get_accepts_and_normalises(api, server, given, normalised):
    server.set_presence(normalised, "online")
    chat = api.get(given)
    assert chat.id == normalised
    assert chat.has_data  # the server was asked for the normalised chat
    request = server.requests[-1]
    assert request["method"] == "GET"
    assert decoded_path(request) == route(server, "get", normalised)
    raw = request["path"]
    assert "?" not in raw and "#" not in raw and ".." not in raw
    assert raw.count("/") == expected_segments(server, "get", normalised)


@pytest.mark.parametrize("given, normalised", VALID, ids=VALID_IDS)
def test_subscribe_path_stays_under_the_presence_route(api, server, given, normalised):
    api.subscribe(given)
    request = server.requests[-1]
    assert decoded_path(request) == route(server, "subscribe", normalised)
    assert request["path"].endswith("/subscribe")
    assert request["path"].count("/") == expected_segments(server, "subscribe", normalised)
    assert normalised in server.subscriptions


@pytest.mark.parametrize("given, normalised", VALID[:4], ids=VALID_IDS[:4])
def test_set_and_typing_send_the_normalised_id(api, server, given, normalised):
    api.set("paused", chat_id=given)
    assert server.chat_states[normalised] == "paused"
    with api.typing(given):
        pass
    assert typing_states(server, normalised)[-2:] == ["typing", "paused"]


@pytest.mark.parametrize("bad", INVALID, ids=[repr(b) for b in INVALID])
def test_get_refuses_garbage_before_any_request(api, server, bad):
    with pytest.raises(InvalidChatIdError) as caught:
        api.get(bad)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, WawpError)
    assert server.requests == []


BAD = "../x@c.us"


def run_typing(api, chat_id):
    with api.typing(chat_id):
        pytest.fail("the body of typing() ran for an invalid chat id")


@pytest.mark.parametrize(
    "call",
    [
        lambda api: api.get(BAD, wait=1.0),
        lambda api: api.subscribe(BAD),
        lambda api: api.set("typing", chat_id=BAD),
        lambda api: api.set("paused", chat_id="447441429009@evil.com"),
        lambda api: api.get_many([CHAT, BAD]),
        lambda api: run_typing(api, BAD),
    ],
    ids=["get-wait", "subscribe", "set-typing", "set-paused", "get_many", "typing"],
)
def test_every_operation_refuses_garbage(api, server, call):
    with pytest.raises(InvalidChatIdError):
        call(api)
    assert all("x@c.us" not in decoded_path(r) and "evil.com" not in decoded_path(r) for r in server.requests)
    assert server.subscriptions == []
    assert server.chat_states == {}


def test_the_error_names_the_bad_id(api, server):
    with pytest.raises(InvalidChatIdError) as caught:
        api.get("447441429009@evil.com")
    assert "evil.com" in str(caught.value)
