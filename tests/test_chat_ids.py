"""Chat ids (wire.md, Chat ids): accepted forms, normalisation, and garbage refused before any request."""

from __future__ import annotations

import pytest
from presence_helpers import (
    BOTH_BACKENDS,
    CHAT,
    GROUP,
    LID,
    NEWSLETTER,
    build_client,
    decoded_path,
    route,
    typing_states,
)

from wawp_presence import InvalidChatIdError, PresenceClient, WawpError, normalize_chat_id

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
@BOTH_BACKENDS
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
@BOTH_BACKENDS
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


@pytest.mark.parametrize("given, normalised", VALID, ids=VALID_IDS)
def test_normalize_chat_id_gives_the_form_the_client_sends(given, normalised):
    assert normalize_chat_id(given) == normalised


@pytest.mark.parametrize("bad", [b for b in INVALID if isinstance(b, str)])
def test_normalize_chat_id_refuses_what_the_client_refuses(bad):
    with pytest.raises(InvalidChatIdError) as caught:
        normalize_chat_id(bad)
    assert caught.value.chat_id == bad


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


# ============================================================================== text that is not Unicode

SURROGATE = "\ud800@c.us"  # a lone surrogate: a Python str, but no Unicode text (no UTF-8 form)


@pytest.mark.parametrize(
    "call",
    [
        lambda api: api.get(SURROGATE),
        lambda api: api.subscribe("447441429009\udfff@c.us"),
        lambda api: api.set("typing", chat_id=SURROGATE),
        lambda api: api.get_many([CHAT, SURROGATE]),
        lambda api: run_typing(api, SURROGATE),
    ],
    ids=["get", "subscribe", "set", "get_many", "typing"],
)
def test_a_lone_surrogate_is_an_invalid_chat_id(api, server, call):
    with pytest.raises(InvalidChatIdError, match="surrogate"):
        call(api)
    assert server.requests == []


def test_a_lone_surrogate_takes_its_place_in_get_many_with_return_exceptions(api, server):
    server.set_presence(CHAT, "online")
    good, bad = api.get_many([CHAT, SURROGATE], return_exceptions=True)
    assert good.is_online
    assert isinstance(bad, InvalidChatIdError)
    assert len(server.requests) == 1


def test_watch_refuses_a_lone_surrogate(server):
    with build_client(PresenceClient, server) as client:
        with pytest.raises(InvalidChatIdError):
            client.watch([CHAT, SURROGATE])
    assert server.requests == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"session": "default\udc80"},
        {"api_key": "key\ud800"},
        {"user_agent": "ua\ud800"},
        {"base_url": "http://127.0.0.1:9/\ud800"},
    ],
    ids=["session", "api_key", "user_agent", "base_url"],
)
def test_constructor_text_with_a_lone_surrogate_is_a_value_error(kwargs):
    options = {"base_url": "http://127.0.0.1:9", **kwargs}
    with pytest.raises(ValueError, match="surrogate") as caught:
        PresenceClient(backend="waha", **options)
    assert not isinstance(caught.value, UnicodeError)
    with pytest.raises(ValueError, match="surrogate"):
        PresenceClient(instance_id="i\ud800", access_token="t")


def test_a_state_with_a_lone_surrogate_is_a_value_error(api, server):
    with pytest.raises(ValueError, match="surrogate") as caught:
        api.set("online\ud800")
    assert not isinstance(caught.value, UnicodeError)
    assert server.requests == []


# ============================================================================== one rule for white space


def test_white_space_around_ids_and_states_is_ignored_alike(api, server):
    server.set_presence(CHAT, "online")
    assert api.get(f"  {CHAT}\t").id == CHAT
    api.set(" Online ")
    api.set("\tTYPING\n", chat_id=f" {CHAT} ")
    assert server.own_presence == "online"
    assert server.chat_states == {CHAT: "typing"}


# ============================================================================== sessions are one path segment


@pytest.mark.parametrize("session", ["..", ".", " .. ", "%2E%2E", "%2e", ".%2E", "%2E.", "%252E%252E"])
def test_a_session_that_is_a_path_step_is_refused_at_construction(session):
    cls = PresenceClient
    with pytest.raises(ValueError, match="session"):
        cls.waha("http://127.0.0.1:9", session=session)
    with pytest.raises(ValueError, match="session"):
        cls(backend="waha", base_url="http://127.0.0.1:9", session=session)


@pytest.mark.parametrize("session", ["a..b", "...", "my.session", "tenant-a", "ümlaut"])
def test_sessions_with_dots_in_their_name_reach_their_own_route(make_server, session):
    server = make_server("waha", session=session)
    server.set_presence(CHAT, "online")
    with build_client(PresenceClient, server) as client:
        assert client.get(CHAT).is_online
        client.set("offline")
    assert [decoded_path(r) for r in server.requests] == [
        f"/api/{session}/presence/{CHAT}",
        f"/api/{session}/presence",
    ]


def test_models_and_webhook_helpers_refuse_lone_surrogates_with_a_value_error():
    from datetime import datetime, timezone

    from wawp_presence import ChatPresence, ParticipantPresence, PresenceChange, PresenceEvent, verify_signature

    now = datetime.now(timezone.utc)
    chat = ChatPresence(CHAT, ())
    for build in (
        lambda: ChatPresence("\ud800", ()),
        lambda: ParticipantPresence("\ud800", "online", None),
        lambda: PresenceChange(CHAT, "\udfff", None, "online", None, now),
        lambda: PresenceEvent("evt\ud800", None, None, None, chat),
        lambda: verify_signature(b"{}", "00", "secret", algorithm="sha512\ud800"),
    ):
        with pytest.raises(ValueError, match="surrogate") as caught:
            build()
        assert not isinstance(caught.value, UnicodeError)
