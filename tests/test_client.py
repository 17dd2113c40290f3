"""Every client operation against the fake.

`test_every_operation_in_every_mode` runs each operation with both client kinds on both backends
(the parity of PresenceClient and AsyncPresenceClient). The other tests pick one way (the sync
client on Wawp, see conftest), both backends where the wire differs (routes, credentials), and
both client kinds where the kind has code of its own (typing's refresh, pickling, closing).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pytest
from presence_helpers import (
    API_KEY,
    BOTH_BACKENDS,
    CHAT,
    CHAT2,
    CHAT3,
    EVERY_MODE,
    GROUP,
    HANG_BOUND_SECONDS,
    INSTANCE_ID,
    LID,
    TOKEN,
    TWO_WAYS,
    build_client,
    construct,
    decoded_path,
    query_value,
    requests_for,
    route,
    typing_states,
    utc,
)

from wawp_presence import (
    AsyncPresenceClient,
    AuthenticationError,
    ChatPresence,
    ClientClosedError,
    ConfigurationError,
    InvalidChatIdError,
    NotFoundError,
    ParticipantPresence,
    PresenceClient,
    PresenceState,
    WawpError,
)

ALICE = "447700900001@c.us"
BOB = "447700900002@c.us"
CAROL = "447700900003@c.us"


def only(chat: ChatPresence) -> ParticipantPresence:
    assert len(chat.presences) == 1, chat
    return chat.presences[0]


def by_participant(chat: ChatPresence) -> dict[str, ParticipantPresence]:
    return {entry.participant: entry for entry in chat.presences}


def assert_utc(moment: datetime) -> None:
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)


# ============================================================================== parity


class BodyFailed(Exception):
    pass


@EVERY_MODE
def test_every_operation_in_every_mode(api, server):
    """Each operation, its argument checks and its error mapping, with both client kinds on both
    backends: what the sync and the async client return, send and raise is the same."""
    server.set_presence(CHAT, "online", last_seen=1700000000)
    server.set_presence(CHAT2, "composing", empty_reads=1)
    chat = api.get(CHAT)
    assert chat == ChatPresence(CHAT, (ParticipantPresence(CHAT, PresenceState.ONLINE, utc(1700000000)),))
    assert requests_for(server, "GET", route(server, "get", CHAT))
    waited = api.get(CHAT2, wait=5)  # the first answer is empty, the second has the data
    assert only(waited).last_known_presence is PresenceState.TYPING
    assert len(requests_for(server, "GET", route(server, "get", CHAT2))) == 2

    assert api.set("online") is None
    assert server.own_presence == "online"
    assert api.set(PresenceState.RECORDING, chat_id=CHAT) is None
    assert server.requests[-1]["json"] == {"presence": "recording", "chatId": CHAT}
    assert api.subscribe(GROUP) is None
    assert decoded_path(server.requests[-1]) == route(server, "subscribe", GROUP)
    assert {CHAT, CHAT2} <= {item.id for item in api.get_all()}
    many = api.get_many([CHAT2, CHAT], concurrency=2)
    assert [item.id for item in many] == [CHAT2, CHAT] and many[1] == chat

    with api.typing(CHAT3) as entered:
        assert entered is None
        assert typing_states(server, CHAT3) == ["typing"]
    with pytest.raises(BodyFailed):
        with api.typing(CHAT3):
            raise BodyFailed("boom")
    assert typing_states(server, CHAT3) == ["typing", "paused"] * 2

    # Argument errors are raised before anything is sent; server errors map to their class.
    before = len(server.requests)
    with pytest.raises(ValueError):
        api.set("typing")
    with pytest.raises(InvalidChatIdError):
        api.get("not a chat")
    with pytest.raises(ValueError):
        api.get_many([CHAT], concurrency=0)
    assert len(server.requests) == before
    server.fail_next(status=404, body={"message": "We didn't find that chat", "statusCode": 404})
    with pytest.raises(NotFoundError) as caught:
        api.get(CHAT)
    assert (caught.value.status_code, caught.value.method) == (404, "GET")
    server.fail_next(status=500, body="down")
    failed, fine = api.get_many([CHAT2, CHAT], concurrency=1, return_exceptions=True)
    assert failed.status_code == 500 and fine == chat

    api.close()
    with pytest.raises(ClientClosedError):
        api.get(CHAT)


# ============================================================================== get


@BOTH_BACKENDS
def test_get_direct_chat(api, server):
    server.set_presence(CHAT, "online")
    chat = api.get(CHAT)
    assert isinstance(chat, ChatPresence)
    assert chat == ChatPresence(CHAT, (ParticipantPresence(CHAT, PresenceState.ONLINE, None),))
    assert chat.has_data and chat.is_online and not chat.is_group
    assert len(requests_for(server, "GET", route(server, "get", CHAT))) == 1


@pytest.mark.parametrize(
    "word, state",
    [
        ("online", PresenceState.ONLINE),
        ("available", PresenceState.ONLINE),
        ("offline", PresenceState.OFFLINE),
        ("unavailable", PresenceState.OFFLINE),
        ("typing", PresenceState.TYPING),
        ("composing", PresenceState.TYPING),
        ("recording", PresenceState.RECORDING),
        ("paused", PresenceState.PAUSED),
    ],
)
def test_get_normalises_engine_words(api, server, word, state):
    server.set_presence(CHAT, word)
    entry = only(api.get(CHAT))
    assert entry.last_known_presence is state
    assert entry.last_known_presence == state.value
    assert entry.raw_presence is None


def test_get_accepts_a_presence_state_in_the_fake(api, server):
    server.set_presence(CHAT, PresenceState.RECORDING)
    assert only(api.get(CHAT)).last_known_presence is PresenceState.RECORDING


@pytest.mark.parametrize("word", ["weird", "AWAY-ish", "unknown"])
def test_get_unknown_word_is_unknown_with_the_raw_word_kept(api, server, word):
    server.set_presence(CHAT, word)
    chat = api.get(CHAT)
    entry = only(chat)
    assert entry.last_known_presence is PresenceState.UNKNOWN
    assert entry.raw_presence == word
    assert chat.has_data is True
    assert chat.is_online is False


@pytest.mark.parametrize(
    "served, expected",
    [
        (1686568773, utc(1686568773)),
        (1686568773.25, utc(1686568773.25)),
        (1.7e12, utc(1.7e9)),  # at or above 1e11: milliseconds
        (1686568773123, utc(1686568773.123)),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc), datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    ],
    ids=["int-seconds", "float-seconds", "float-ms", "int-ms", "datetime"],
)
def test_get_last_seen_forms(api, server, served, expected):
    server.set_presence(CHAT, "offline", last_seen=served)
    chat = api.get(CHAT)
    seen = only(chat).last_seen
    assert isinstance(seen, datetime)
    assert_utc(seen)
    assert abs(seen - expected) < timedelta(seconds=1)
    assert chat.last_seen == seen


def test_get_last_seen_exact_seconds(api, server):
    server.set_presence(CHAT, "offline", last_seen=1700000000)
    assert only(api.get(CHAT)).last_seen == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


def test_get_last_seen_null_is_none(api, server):
    server.set_presence(CHAT, "online", last_seen=None)
    entry = only(api.get(CHAT))
    assert entry.last_seen is None


def test_get_last_seen_missing_is_none(api, server):
    server.fail_next(
        status=200, body={"id": CHAT, "presences": [{"participant": CHAT, "lastKnownPresence": "offline"}]}
    )
    chat = api.get(CHAT)
    assert chat == ChatPresence(CHAT, (ParticipantPresence(CHAT, PresenceState.OFFLINE, None),))


def test_get_accepts_a_data_wrapper(api, server):
    server.fail_next(
        status=200,
        body={
            "data": {
                "id": CHAT,
                "presences": [{"participant": CHAT, "lastKnownPresence": "available", "lastSeen": 1700000000}],
            }
        },
    )
    chat = api.get(CHAT)
    assert chat == ChatPresence(CHAT, (ParticipantPresence(CHAT, PresenceState.ONLINE, utc(1700000000)),))


def test_get_ignores_unknown_extra_fields(api, server):
    server.fail_next(
        status=200,
        body={
            "id": CHAT,
            "presences": [
                {
                    "participant": CHAT,
                    "lastKnownPresence": "composing",
                    "lastSeen": None,
                    "deviceCount": 2,
                    "extra": {"x": [1]},
                }
            ],
            "engine": "GOWS",
            "requestId": "abc",
        },
    )
    chat = api.get(CHAT)
    assert chat == ChatPresence(CHAT, (ParticipantPresence(CHAT, PresenceState.TYPING, None),))


def test_get_group_with_several_participants(api, server):
    server.set_presence(GROUP, "available", participant=ALICE)
    server.set_presence(GROUP, "composing", 1700000000, participant=BOB)
    server.set_presence(GROUP, "unavailable", 1700000100, participant=CAROL)
    chat = api.get(GROUP)
    assert chat.id == GROUP
    assert chat.is_group is True
    assert chat.has_data is True
    members = by_participant(chat)
    assert set(members) == {ALICE, BOB, CAROL}
    assert members[ALICE].last_known_presence is PresenceState.ONLINE
    assert members[BOB].last_known_presence is PresenceState.TYPING
    assert members[BOB].last_seen == utc(1700000000)
    assert members[CAROL].last_known_presence is PresenceState.OFFLINE
    assert chat.last_seen == utc(1700000100)
    assert chat.is_online is True


def test_get_group_after_one_participant_changes(api, server):
    server.set_presence(GROUP, "available", participant=ALICE)
    server.set_presence(GROUP, "composing", participant=BOB)
    server.set_presence(GROUP, "unavailable", 1700000000, participant=ALICE)
    server.set_presence(GROUP, "paused", participant=BOB)
    chat = api.get(GROUP)
    members = by_participant(chat)
    assert set(members) == {ALICE, BOB}
    assert members[ALICE].last_known_presence is PresenceState.OFFLINE
    assert members[ALICE].last_seen == utc(1700000000)
    assert members[BOB].last_known_presence is PresenceState.PAUSED
    assert chat.is_online is False


def test_get_of_a_lid_and_group_ids(api, server):
    server.set_presence(LID, "online")
    assert api.get(LID).id == LID
    assert only(api.get(LID)).last_known_presence is PresenceState.ONLINE


# ------------------------------------------------------------------------------ get(wait=)


def test_get_with_wait_retries_until_data_comes(api, server):
    server.set_presence(CHAT, "online", empty_reads=2)
    chat = api.get(CHAT, wait=5)
    assert chat.has_data is True
    assert only(chat).last_known_presence is PresenceState.ONLINE
    assert len(requests_for(server, "GET", route(server, "get", CHAT))) == 3


def test_get_with_wait_returns_the_empty_answer_when_nothing_comes(api, server):
    server.set_presence(CHAT, "offline", 1700000000, empty_reads=1_000_000)
    started = time.monotonic()
    chat = api.get(CHAT, wait=0.3)
    assert time.monotonic() - started < HANG_BOUND_SECONDS
    assert isinstance(chat, ChatPresence)
    assert chat.id == CHAT
    assert chat.has_data is False
    assert chat.presences == ()
    # "no data yet" is not "offline"
    assert chat.is_online is False
    assert chat.last_seen is None
    assert len(requests_for(server, "GET", route(server, "get", CHAT))) >= 1


def test_get_without_wait_does_not_retry_an_empty_answer(api, server):
    server.set_presence(CHAT, "online", empty_reads=1)
    chat = api.get(CHAT)
    assert chat.has_data is False and chat.presences == ()
    assert len(requests_for(server, "GET", route(server, "get", CHAT))) == 1
    # the next read has the data
    assert only(api.get(CHAT)).last_known_presence is PresenceState.ONLINE


def test_get_with_wait_returns_at_once_when_data_is_there(api, server):
    server.set_presence(CHAT, "online")
    assert api.get(CHAT, wait=5).has_data
    assert len(requests_for(server, "GET", route(server, "get", CHAT))) == 1


# ============================================================================== set


@BOTH_BACKENDS
@pytest.mark.parametrize("as_enum", [True, False], ids=["enum", "string"])
@pytest.mark.parametrize("state", [PresenceState.ONLINE, PresenceState.OFFLINE])
def test_set_global_state(api, server, state, as_enum):
    api.set(state if as_enum else state.value)
    last = server.requests[-1]
    assert last["method"] == "POST"
    assert decoded_path(last) == route(server, "set")
    assert last["json"] == {"presence": state.value}
    assert server.own_presence == state.value


@BOTH_BACKENDS
@pytest.mark.parametrize("as_enum", [True, False], ids=["enum", "string"])
@pytest.mark.parametrize("state", [PresenceState.TYPING, PresenceState.RECORDING, PresenceState.PAUSED])
def test_set_per_chat_state(api, server, state, as_enum):
    api.set(state if as_enum else state.value, chat_id=CHAT)
    last = server.requests[-1]
    assert last["method"] == "POST"
    assert decoded_path(last) == route(server, "set")
    assert last["json"] == {"presence": state.value, "chatId": CHAT}
    assert server.chat_states[CHAT] == state.value


def test_set_per_chat_state_in_a_group(api, server):
    api.set("recording", chat_id=GROUP)
    assert server.requests[-1]["json"] == {"presence": "recording", "chatId": GROUP}
    assert server.chat_states[GROUP] == "recording"


def test_set_normalises_the_chat_id(api, server):
    api.set("typing", chat_id="+44 7441 429009")
    assert server.requests[-1]["json"] == {"presence": "typing", "chatId": CHAT}


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("online",), {"chat_id": CHAT}),
        ((PresenceState.ONLINE,), {"chat_id": CHAT}),
        (("offline",), {"chat_id": CHAT}),
        (("typing",), {}),
        ((PresenceState.TYPING,), {}),
        (("recording",), {}),
        (("paused",), {}),
        (("unknown",), {}),
        ((PresenceState.UNKNOWN,), {}),
        ((PresenceState.UNKNOWN,), {"chat_id": CHAT}),
        (("dancing",), {}),
        (("dancing",), {"chat_id": CHAT}),
        (("",), {}),
    ],
    ids=[
        "online-with-chat",
        "ONLINE-with-chat",
        "offline-with-chat",
        "typing-without-chat",
        "TYPING-without-chat",
        "recording-without-chat",
        "paused-without-chat",
        "unknown",
        "UNKNOWN",
        "UNKNOWN-with-chat",
        "dancing",
        "dancing-with-chat",
        "empty",
    ],
)
def test_set_rule_violations_raise_value_error_and_send_nothing(api, server, args, kwargs):
    before = len(server.requests)
    with pytest.raises(ValueError):
        api.set(*args, **kwargs)
    assert len(server.requests) == before
    assert server.own_presence is None
    assert server.chat_states == {}


# ============================================================================== subscribe


@BOTH_BACKENDS
def test_subscribe(api, server):
    api.subscribe(CHAT)
    last = server.requests[-1]
    assert last["method"] == "POST"
    assert decoded_path(last) == route(server, "subscribe", CHAT)
    assert CHAT in server.subscriptions


def test_subscribe_several_kinds_of_chat(api, server):
    for chat_id in (GROUP, LID, "+44 7441 429009"):
        api.subscribe(chat_id)
    assert {GROUP, LID, CHAT} <= set(server.subscriptions)


# ============================================================================== get_all


@BOTH_BACKENDS
def test_get_all_with_nothing_subscribed_is_an_empty_list(api, server):
    every = api.get_all()
    assert every == []
    assert isinstance(every, list)
    last = server.requests[-1]
    assert last["method"] == "GET" and decoded_path(last) == route(server, "get_all")


def test_get_all_lists_the_chats_read_with_get(api, server):
    server.set_presence(CHAT, "online")
    server.set_presence(GROUP, "composing", participant=ALICE)
    server.set_presence(GROUP, "unavailable", 1700000000, participant=BOB)
    one = api.get(CHAT)
    group = api.get(GROUP)
    every = api.get_all()
    assert isinstance(every, list)
    assert all(isinstance(item, ChatPresence) for item in every)
    by_id = {item.id: item for item in every}
    assert {CHAT, GROUP} <= set(by_id)
    assert by_id[CHAT] == one
    assert by_participant(by_id[GROUP]) == by_participant(group)


def test_a_chat_read_with_get_is_then_listed(api, server):
    api.get(CHAT2)  # never set: the first GET subscribes
    assert CHAT2 in {item.id for item in api.get_all()}


# ============================================================================== get_many


def test_get_many_keeps_input_order_and_duplicates(api, server):
    server.set_presence(CHAT, "online")
    server.set_presence(CHAT2, "unavailable", 1700000000)
    server.set_presence(GROUP, "composing", participant=ALICE)
    ids = [GROUP, CHAT, CHAT2, CHAT, GROUP]
    many = api.get_many(ids, concurrency=2)
    assert isinstance(many, list)
    assert [chat.id for chat in many] == ids
    assert many[1] == many[3]
    assert only(many[1]).last_known_presence is PresenceState.ONLINE
    assert only(many[2]).last_seen == utc(1700000000)
    assert by_participant(many[0])[ALICE].last_known_presence is PresenceState.TYPING


def test_get_many_default_concurrency(api, server):
    ids = [f"4477009{n:05d}@c.us" for n in range(20)]
    for n, chat_id in enumerate(ids):
        server.set_presence(chat_id, "online" if n % 2 else "offline")
    many = api.get_many(ids)
    assert [chat.id for chat in many] == ids
    assert [only(chat).last_known_presence for chat in many] == [
        PresenceState.ONLINE if n % 2 else PresenceState.OFFLINE for n in range(20)
    ]


def test_get_many_of_nothing(api, server):
    assert api.get_many([]) == []


def test_get_many_normalises_chat_ids(api, server):
    server.set_presence(CHAT, "online")
    many = api.get_many(["+44 7441 429009", "447441429009@s.whatsapp.net"])
    assert [chat.id for chat in many] == [CHAT, CHAT]
    assert all(chat.has_data for chat in many)


@pytest.mark.parametrize("concurrency", [0, -1])
def test_get_many_rejects_a_concurrency_below_one(api, server, concurrency):
    with pytest.raises(ValueError):
        api.get_many([CHAT, CHAT2], concurrency=concurrency)
    assert server.requests == []


def test_get_many_raises_the_first_failure_by_default(api, server):
    for chat_id in (CHAT, CHAT2, CHAT3):
        server.set_presence(chat_id, "online")
    server.fail_next(status=404, body={"message": "We didn't find that chat", "statusCode": 404})
    with pytest.raises(NotFoundError):
        api.get_many([CHAT, CHAT2, CHAT3])


def test_get_many_return_exceptions_puts_the_error_in_its_place(api, server):
    ids = [CHAT, CHAT2, CHAT3]
    for chat_id in ids:
        server.set_presence(chat_id, "online")
    server.fail_next(status=404, body={"message": "We didn't find that chat", "statusCode": 404})
    many = api.get_many(ids, return_exceptions=True)
    assert len(many) == 3
    failed = [i for i, item in enumerate(many) if isinstance(item, BaseException)]
    assert len(failed) == 1
    index = failed[0]
    error = many[index]
    assert isinstance(error, NotFoundError)
    assert error.status_code == 404
    # the failure sits in the place of the chat whose request failed
    assert ids[index] in unquote(error.url)
    for i, item in enumerate(many):
        if i != index:
            assert isinstance(item, ChatPresence)
            assert item.id == ids[i]
            assert only(item).last_known_presence is PresenceState.ONLINE


def test_get_many_return_exceptions_without_failures(api, server):
    server.set_presence(CHAT, "online")
    many = api.get_many([CHAT, CHAT2], return_exceptions=True)
    assert [chat.id for chat in many] == [CHAT, CHAT2]
    assert not any(isinstance(item, BaseException) for item in many)


@pytest.mark.parametrize("concurrency", [1, 3, None])
def test_get_many_respects_the_concurrency_bound(make_api, counting_server, concurrency):
    counting_server.delay = 0.05  # long enough for the lookups to overlap when allowed
    api = make_api(counting_server)
    ids = [f"4477009{n:05d}@c.us" for n in range(12)]
    if concurrency is None:
        many = api.get_many(ids)
        bound = 8
    else:
        many = api.get_many(ids, concurrency=concurrency)
        bound = concurrency
    assert [chat.id for chat in many] == ids
    assert sorted(counting_server.chats) == sorted(ids)
    assert counting_server.max_in_flight <= bound
    if bound > 1:
        # "all lookups at once": with 12 slow lookups the client does overlap them
        assert counting_server.max_in_flight >= 2


# ============================================================================== typing()


def test_typing_sends_typing_then_paused(api, server):
    with api.typing(CHAT):
        assert typing_states(server, CHAT) == ["typing"]
        assert server.chat_states[CHAT] == "typing"
    assert typing_states(server, CHAT) == ["typing", "paused"]
    assert server.chat_states[CHAT] == "paused"


@BOTH_BACKENDS
def test_typing_uses_the_backend_route(api, server):
    with api.typing(CHAT):
        pass
    posts = [r for r in server.requests if r["method"] == "POST"]
    assert len(posts) == 2
    if server.backend == "wawp":
        assert [decoded_path(r) for r in posts] == [route(server, "start_typing"), route(server, "stop_typing")]
        assert [query_value(r, "chatId") for r in posts] == [CHAT, CHAT]
    else:
        assert [decoded_path(r) for r in posts] == [route(server, "set")] * 2
        assert [r["json"] for r in posts] == [
            {"presence": "typing", "chatId": CHAT},
            {"presence": "paused", "chatId": CHAT},
        ]


def test_typing_sends_paused_even_when_the_body_raises(api, server):
    with pytest.raises(BodyFailed, match="boom"):
        with api.typing(CHAT):
            raise BodyFailed("boom")
    assert typing_states(server, CHAT) == ["typing", "paused"]
    assert server.chat_states[CHAT] == "paused"


@TWO_WAYS  # the sync client refreshes from a thread, the async one from a task
def test_typing_is_re_sent_while_a_long_block_runs_and_stops_at_exit(api, server):
    # WhatsApp drops "typing..." after a few seconds; the block keeps it showing.
    with api.typing(CHAT, refresh=0.1):
        time.sleep(0.45)
    states = typing_states(server, CHAT)
    assert states[-1] == "paused"
    assert states[:-1] == ["typing"] * (len(states) - 1) and len(states) - 1 >= 3, states
    time.sleep(0.3)  # nothing is re-sent once the block has ended
    assert typing_states(server, CHAT) == states


def test_typing_with_refresh_none_sends_typing_once(api, server):
    with api.typing(CHAT, refresh=None):
        time.sleep(0.2)
    assert typing_states(server, CHAT) == ["typing", "paused"]


@pytest.mark.parametrize("refresh", [0, -1, float("nan"), 0.01])
def test_typing_refuses_a_refresh_too_fast_to_be_sane(api, refresh):
    with pytest.raises(ValueError, match="refresh"):
        with api.typing(CHAT, refresh=refresh):
            pass


def test_typing_normalises_the_chat_id(api, server):
    with api.typing("+44 7441 429009"):
        pass
    assert typing_states(server, CHAT) == ["typing", "paused"]


def test_typing_in_a_group(api, server):
    with api.typing(GROUP):
        pass
    assert typing_states(server, GROUP) == ["typing", "paused"]


# ============================================================================== credentials, options


@BOTH_BACKENDS
def test_every_request_carries_the_credentials(api, server):
    server.set_presence(CHAT, "online")
    api.get(CHAT)
    api.set("online")
    api.set("typing", chat_id=CHAT)
    api.subscribe(CHAT)
    api.get_all()
    api.get_many([CHAT, CHAT2])
    with api.typing(CHAT):
        pass
    assert len(server.requests) >= 9
    for request in server.requests:
        if server.backend == "wawp":
            assert query_value(request, "instance_id") == INSTANCE_ID
            assert query_value(request, "access_token") == TOKEN
        else:
            assert request["headers"].get("x-api-key") == API_KEY


def test_waha_without_an_api_key_sends_none(make_api, make_server):
    server = make_server("waha", api_key=None)
    api = make_api(server)
    server.set_presence(CHAT, "online")
    assert api.get(CHAT).has_data
    api.set("offline")
    assert server.requests
    assert all("x-api-key" not in r["headers"] for r in server.requests)


def test_waha_session_name_is_in_the_path(make_api, make_server):
    server = make_server("waha", session="work")
    api = make_api(server)
    server.set_presence(CHAT, "online")
    assert api.get(CHAT).has_data
    api.set("online")
    api.subscribe(CHAT)
    paths = [decoded_path(r) for r in server.requests]
    assert paths == [f"/api/work/presence/{CHAT}", "/api/work/presence", f"/api/work/presence/{CHAT}/subscribe"]


@BOTH_BACKENDS
@pytest.mark.parametrize("case", ["wrong-secret", "missing-secret"])
def test_wrong_credentials_are_an_authentication_error(make_api, server, case):
    if server.backend == "wawp":
        # Wawp: a wrong access token, or an empty one the server cannot match
        token = "wrong-token" if case == "wrong-secret" else "x"

        def factory(cls):
            return cls(instance_id=server.instance_id, access_token=token, base_url=server.url, max_retries=0)

    else:
        # WAHA: a wrong API key, or none at all for a server that checks one
        key = "wrong-key" if case == "wrong-secret" else None

        def factory(cls):
            return cls.waha(server.url, session=server.session, api_key=key, max_retries=0)

    api = make_api(factory=factory)
    with pytest.raises(AuthenticationError) as caught:
        api.get(CHAT)
    assert caught.value.status_code == 401


def test_an_instance_the_token_does_not_own_is_not_found(make_api, make_server):
    # wire.md: Wawp answers an unknown instance with 404 {"code": "invalid_session", ...}
    server = make_server("wawp")
    api = make_api(
        factory=lambda cls: cls(
            instance_id="other-instance", access_token=server.access_token, base_url=server.url, max_retries=0
        )
    )
    with pytest.raises(NotFoundError) as caught:
        api.get(CHAT)
    assert caught.value.status_code == 404
    assert caught.value.code == "invalid_session"


def test_user_agent_option_is_sent(make_api, server):
    api = make_api(server, user_agent="presence-tests/1.0")
    server.set_presence(CHAT, "online")
    api.get(CHAT)
    api.set("online")
    assert [r["headers"].get("user-agent") for r in server.requests] == ["presence-tests/1.0"] * 2


def test_a_client_has_a_default_user_agent(api, server):
    api.get_all()
    assert server.requests[-1]["headers"].get("user-agent")


def test_documented_options_are_accepted(make_api, server):
    api = make_api(server, timeout=10.0, max_retries=2, rate_limit=None, user_agent="x/1")
    assert api.get_all() == []


# ============================================================================== lifecycle


@BOTH_BACKENDS
def test_repr_names_backend_and_base_url_and_no_secret(api, server):
    text = repr(api.client)
    assert server.backend in text.lower()
    assert server.url in text
    assert TOKEN not in text and API_KEY not in text
    assert TOKEN not in str(api.client) and API_KEY not in str(api.client)


def test_default_base_url_is_wawp(make_api):
    api = make_api(factory=lambda cls: cls(instance_id="i-1", access_token=TOKEN))
    text = repr(api.client)
    assert "https://api.wawp.net" in text
    assert "wawp" in text.lower()
    assert TOKEN not in text


@TWO_WAYS
def test_pickled_client_works(api, server):
    server.set_presence(CHAT, "online")
    copy = api.pickled()
    assert type(copy.client) is type(api.client)
    assert repr(copy.client) == repr(api.client)
    assert only(copy.get(CHAT)).last_known_presence is PresenceState.ONLINE
    copy.set("offline")
    assert server.own_presence == "offline"
    # the original keeps working too
    assert api.get(CHAT).has_data


@TWO_WAYS
def test_use_after_close_is_a_clear_error(api, server):
    api.get_all()
    api.close()
    before = len(server.requests)
    with pytest.raises(ClientClosedError) as caught:
        api.get(CHAT)
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, WawpError)
    with pytest.raises(ClientClosedError):
        api.set("online")
    with pytest.raises(ClientClosedError):
        api.get_many([CHAT])
    assert len(server.requests) == before


@TWO_WAYS
def test_close_twice_is_harmless(api, server):
    api.close()
    api.close()  # no error, and the client stays closed
    with pytest.raises(ClientClosedError):
        api.get_all()
    assert server.requests == []


def test_sync_with_block_closes_the_client(server):
    with build_client(PresenceClient, server, max_retries=0) as client:
        assert isinstance(client, PresenceClient)
        server.set_presence(CHAT, "online")
        assert client.get(CHAT).has_data
    with pytest.raises(ClientClosedError):
        client.get(CHAT)


# ============================================================================== from_env


@pytest.fixture
def wawp_env(monkeypatch):
    for name in ("WAWP_INSTANCE_ID", "WAWP_ACCESS_TOKEN", "WAWP_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_from_env_with_base_url(make_api, make_server, wawp_env):
    server = make_server("wawp")
    wawp_env.setenv("WAWP_INSTANCE_ID", server.instance_id)
    wawp_env.setenv("WAWP_ACCESS_TOKEN", server.access_token)
    wawp_env.setenv("WAWP_BASE_URL", server.url)
    api = make_api(factory=lambda cls: cls.from_env(max_retries=0))
    server.set_presence(CHAT, "online")
    assert only(api.get(CHAT)).last_known_presence is PresenceState.ONLINE
    assert query_value(server.requests[-1], "instance_id") == server.instance_id
    assert server.url in repr(api.client)
    assert TOKEN not in repr(api.client)


def test_from_env_without_base_url_uses_wawp(make_api, wawp_env):
    wawp_env.setenv("WAWP_INSTANCE_ID", "inst-env")
    wawp_env.setenv("WAWP_ACCESS_TOKEN", TOKEN)
    api = make_api(factory=lambda cls: cls.from_env())
    assert "https://api.wawp.net" in repr(api.client)
    assert TOKEN not in repr(api.client)


def test_from_env_takes_keyword_options(make_api, make_server, wawp_env):
    server = make_server("wawp")
    wawp_env.setenv("WAWP_INSTANCE_ID", server.instance_id)
    wawp_env.setenv("WAWP_ACCESS_TOKEN", server.access_token)
    api = make_api(factory=lambda cls: cls.from_env(base_url=server.url, max_retries=0, timeout=5.0))
    assert api.get_all() == []
    assert len(server.requests) == 1


@pytest.mark.parametrize("missing", ["WAWP_INSTANCE_ID", "WAWP_ACCESS_TOKEN"])
def test_from_env_names_a_missing_variable(wawp_env, missing):
    cls = PresenceClient
    present = {"WAWP_INSTANCE_ID": "inst-env", "WAWP_ACCESS_TOKEN": TOKEN}
    for name, value in present.items():
        if name != missing:
            wawp_env.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        construct(cls, lambda: cls.from_env())
    assert missing in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, WawpError)
    assert TOKEN not in str(caught.value)


# ============================================================================== bad options


@pytest.mark.parametrize(
    "bad",
    [
        {"timeout": 0},
        {"timeout": -1},
        {"max_retries": -1},
        {"access_token": ""},
        {"instance_id": ""},
        {"base_url": "ftp://x"},
    ],
    ids=["timeout-0", "timeout-negative", "retries-negative", "empty-token", "empty-instance", "ftp-url"],
)
@pytest.mark.parametrize("cls", [PresenceClient, AsyncPresenceClient], ids=["sync", "async"])
def test_bad_constructor_options_raise_value_error(cls, bad):
    options = {"instance_id": "inst-1", "access_token": TOKEN, "base_url": "http://127.0.0.1:9"}
    options.update(bad)
    with pytest.raises(ValueError):
        construct(cls, lambda: cls(**options))


@pytest.mark.parametrize(
    "base_url, bad",
    [("ftp://x", {}), ("http://127.0.0.1:9", {"timeout": 0}), ("http://127.0.0.1:9", {"max_retries": -1})],
    ids=["ftp-url", "timeout-0", "retries-negative"],
)
def test_bad_waha_options_raise_value_error(base_url, bad):
    with pytest.raises(ValueError):
        PresenceClient.waha(base_url, **bad)
