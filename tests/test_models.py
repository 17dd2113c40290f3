"""The models on their own: PresenceState, ParticipantPresence, ChatPresence (python-api.md, Models)."""

from __future__ import annotations

import enum
import pickle
from datetime import datetime, timedelta, timezone

import pytest
from presence_helpers import CHAT, CHAT2, GROUP, LID, NEWSLETTER

from wawp_presence import ChatPresence, ParticipantPresence, PresenceState

T1 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
T2 = datetime(2024, 5, 1, 12, 30, 0, tzinfo=timezone.utc)
T3 = datetime(2023, 1, 1, 0, 0, 0, tzinfo=timezone.utc)

PARTICIPANT_FIELDS = ("participant", "last_known_presence", "last_seen")
CHAT_FIELDS = ("id", "presences")


def p(who: str = CHAT, state: PresenceState = PresenceState.ONLINE, last_seen: datetime | None = None):
    return ParticipantPresence(who, state, last_seen)


# ------------------------------------------------------------------------------ PresenceState


def test_presence_state_members_and_values():
    assert [(m.name, m.value) for m in PresenceState] == [
        ("ONLINE", "online"),
        ("OFFLINE", "offline"),
        ("TYPING", "typing"),
        ("RECORDING", "recording"),
        ("PAUSED", "paused"),
        ("UNKNOWN", "unknown"),
    ]


def test_presence_state_is_a_str_enum_equal_to_its_string():
    assert issubclass(PresenceState, str)
    assert issubclass(PresenceState, enum.Enum)
    assert PresenceState.ONLINE == "online"
    assert "offline" == PresenceState.OFFLINE
    assert PresenceState.TYPING != "online"
    assert PresenceState("recording") is PresenceState.RECORDING
    assert isinstance(PresenceState.PAUSED, str)


def test_presence_state_pickles_to_the_same_member():
    for member in PresenceState:
        assert pickle.loads(pickle.dumps(member)) is member


# ------------------------------------------------------------------------------ construction


def test_participant_positional_and_keyword_construction_agree():
    positional = ParticipantPresence(CHAT, PresenceState.OFFLINE, T1)
    keyword = ParticipantPresence(participant=CHAT, last_known_presence=PresenceState.OFFLINE, last_seen=T1)
    assert positional == keyword
    assert positional.participant == CHAT
    assert positional.last_known_presence is PresenceState.OFFLINE
    assert positional.last_seen == T1


def test_participant_raw_presence_is_optional_and_keyword_only_field():
    plain = ParticipantPresence(CHAT, PresenceState.ONLINE, None)
    assert plain.raw_presence is None
    odd = ParticipantPresence(CHAT, PresenceState.UNKNOWN, None, raw_presence="weird")
    assert odd.raw_presence == "weird"
    assert odd.last_known_presence is PresenceState.UNKNOWN


def test_chat_positional_and_keyword_construction_agree():
    members = (p(CHAT), p(CHAT2, PresenceState.OFFLINE, T1))
    positional = ChatPresence(GROUP, members)
    keyword = ChatPresence(id=GROUP, presences=members)
    assert positional == keyword
    assert positional.id == GROUP
    assert positional.presences == members
    assert isinstance(positional.presences, tuple)


# ------------------------------------------------------------------------------ immutability


@pytest.mark.parametrize(
    "field, value", [("participant", CHAT2), ("last_known_presence", PresenceState.OFFLINE), ("last_seen", T1)]
)
def test_participant_is_immutable(field, value):
    model = p()
    before = getattr(model, field)
    with pytest.raises((AttributeError, TypeError)):
        setattr(model, field, value)
    assert getattr(model, field) == before


@pytest.mark.parametrize("field, value", [("id", CHAT2), ("presences", ())])
def test_chat_is_immutable(field, value):
    model = ChatPresence(CHAT, (p(),))
    before = getattr(model, field)
    with pytest.raises((AttributeError, TypeError)):
        setattr(model, field, value)
    assert getattr(model, field) == before


def test_chat_presences_cannot_be_changed_in_place():
    model = ChatPresence(CHAT, (p(),))
    with pytest.raises((AttributeError, TypeError)):
        model.presences.append(p(CHAT2))  # a tuple has no append; a list would be mutable
    with pytest.raises(TypeError):
        model.presences[0] = p(CHAT2)
    assert model.presences == (p(),)


# ------------------------------------------------------------------------------ equality, hashing


def test_participant_value_equality_and_hash():
    a = ParticipantPresence(CHAT, PresenceState.OFFLINE, T1)
    b = ParticipantPresence(CHAT, PresenceState.OFFLINE, T1)
    assert a == b and not (a != b)
    assert hash(a) == hash(b)
    assert a != ParticipantPresence(CHAT2, PresenceState.OFFLINE, T1)
    assert a != ParticipantPresence(CHAT, PresenceState.ONLINE, T1)
    assert a != ParticipantPresence(CHAT, PresenceState.OFFLINE, T2)
    assert a != ParticipantPresence(CHAT, PresenceState.OFFLINE, None)
    assert a != "not a model"
    assert {a, b} == {a}
    assert {a: "seen"}[b] == "seen"


def test_chat_value_equality_and_hash():
    a = ChatPresence(GROUP, (p(CHAT), p(CHAT2, PresenceState.TYPING)))
    b = ChatPresence(GROUP, (p(CHAT), p(CHAT2, PresenceState.TYPING)))
    assert a == b
    assert hash(a) == hash(b)
    assert a != ChatPresence(GROUP, (p(CHAT),))
    assert a != ChatPresence(CHAT, (p(CHAT), p(CHAT2, PresenceState.TYPING)))
    assert len({a, b, ChatPresence(CHAT, ())}) == 2
    assert {a: 1}[b] == 1


# ------------------------------------------------------------------------------ repr


def test_participant_repr_is_dataclass_style():
    text = repr(ParticipantPresence(CHAT, PresenceState.ONLINE, None))
    assert text.startswith("ParticipantPresence(")
    assert text.endswith(")")
    assert f"participant={CHAT!r}" in text
    assert "last_known_presence=" in text
    assert "ONLINE" in text or "'online'" in text
    assert "last_seen=None" in text


def test_participant_repr_shows_the_datetime():
    text = repr(ParticipantPresence(CHAT, PresenceState.OFFLINE, T1))
    assert "last_seen=" in text
    assert "2024" in text


def test_chat_repr_is_dataclass_style():
    text = repr(ChatPresence(CHAT, (p(),)))
    assert text.startswith("ChatPresence(")
    assert f"id={CHAT!r}" in text
    assert "presences=" in text
    assert "ParticipantPresence(" in text


# ------------------------------------------------------------------------------ match


def describe(model) -> str:
    match model:
        case ParticipantPresence(who, PresenceState.ONLINE, None):
            return f"{who} online"
        case ParticipantPresence(who, PresenceState.OFFLINE, datetime() as seen):
            return f"{who} seen {seen:%Y-%m-%d}"
        case ChatPresence(chat_id, ()):
            return f"{chat_id} no data"
        case ChatPresence(chat_id, (first, *rest)):
            return f"{chat_id} first {first.participant} +{len(rest)}"
        case _:
            return "other"


def test_match_args_order_matches_the_constructor():
    assert tuple(ParticipantPresence.__match_args__)[:3] == PARTICIPANT_FIELDS
    assert tuple(ChatPresence.__match_args__)[:2] == CHAT_FIELDS


def test_models_work_in_match_statements():
    assert describe(p(CHAT)) == f"{CHAT} online"
    assert describe(p(CHAT2, PresenceState.OFFLINE, T1)) == f"{CHAT2} seen 2024-05-01"
    assert describe(p(CHAT2, PresenceState.TYPING)) == "other"
    assert describe(ChatPresence(CHAT, ())) == f"{CHAT} no data"
    assert describe(ChatPresence(GROUP, (p(CHAT), p(CHAT2)))) == f"{GROUP} first {CHAT} +1"


def test_match_by_keyword():
    match ChatPresence(GROUP, (p(CHAT),)):
        case ChatPresence(id=chat_id, presences=(ParticipantPresence(last_known_presence=state),)):
            assert chat_id == GROUP
            assert state is PresenceState.ONLINE
        case _:
            pytest.fail("keyword pattern did not match")


# ------------------------------------------------------------------------------ pickle


@pytest.mark.parametrize(
    "model",
    [
        ParticipantPresence(CHAT, PresenceState.ONLINE, None),
        ParticipantPresence(CHAT, PresenceState.OFFLINE, T1),
        ChatPresence(CHAT, ()),
        ChatPresence(GROUP, (p(CHAT), p(LID, PresenceState.RECORDING, T2))),
    ],
    ids=["participant", "participant-last-seen", "chat-empty", "group"],
)
def test_pickle_round_trip(model):
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(model, protocol=protocol))
        assert copy == model
        assert type(copy) is type(model)
        assert hash(copy) == hash(model)


def test_pickle_keeps_raw_presence():
    model = ParticipantPresence(CHAT, PresenceState.UNKNOWN, T1, raw_presence="weird")
    copy = pickle.loads(pickle.dumps(model))
    assert copy == model
    assert copy.raw_presence == "weird"
    assert copy.last_seen == T1


# ------------------------------------------------------------------------------ to_dict


def test_participant_to_dict_gives_plain_values():
    d = ParticipantPresence(CHAT, PresenceState.TYPING, T1).to_dict()
    assert isinstance(d, dict)
    assert set(PARTICIPANT_FIELDS) <= set(d) <= set(PARTICIPANT_FIELDS) | {"raw_presence"}
    assert d["participant"] == CHAT
    assert d["last_known_presence"] == "typing"
    assert type(d["last_known_presence"]) is str
    assert d["last_seen"] == T1
    assert isinstance(d["last_seen"], datetime)


def test_participant_to_dict_with_no_last_seen():
    d = ParticipantPresence(CHAT, PresenceState.ONLINE, None).to_dict()
    assert d["last_seen"] is None
    assert type(d["last_known_presence"]) is str and d["last_known_presence"] == "online"


def test_chat_to_dict_gives_a_list_of_dicts():
    members = (p(CHAT), p(CHAT2, PresenceState.OFFLINE, T1))
    d = ChatPresence(GROUP, members).to_dict()
    assert isinstance(d, dict)
    assert {"id", "presences"} <= set(d)
    assert d["id"] == GROUP
    assert type(d["presences"]) is list
    assert d["presences"] == [m.to_dict() for m in members]
    assert all(type(item) is dict for item in d["presences"])
    assert d["presences"][1]["last_seen"] == T1
    assert type(d["presences"][1]["last_known_presence"]) is str


# ------------------------------------------------------------------------------ properties


@pytest.mark.parametrize(
    "chat_id, expected",
    [(GROUP, True), (CHAT, False), (LID, False), (NEWSLETTER, False)],
)
def test_is_group(chat_id, expected):
    assert ChatPresence(chat_id, ()).is_group is expected


def test_has_data():
    assert ChatPresence(CHAT, ()).has_data is False
    assert ChatPresence(CHAT, (p(),)).has_data is True
    assert ChatPresence(CHAT, (p(CHAT, PresenceState.OFFLINE),)).has_data is True


@pytest.mark.parametrize(
    "state, expected",
    [
        (PresenceState.ONLINE, True),
        (PresenceState.TYPING, True),
        (PresenceState.RECORDING, True),
        (PresenceState.OFFLINE, False),
        (PresenceState.PAUSED, False),
        (PresenceState.UNKNOWN, False),
    ],
)
def test_is_online_for_one_participant(state, expected):
    assert ChatPresence(CHAT, (p(CHAT, state),)).is_online is expected


def test_is_online_when_any_group_member_is_active():
    quiet = (p(CHAT, PresenceState.OFFLINE, T1), p(CHAT2, PresenceState.PAUSED))
    assert ChatPresence(GROUP, quiet).is_online is False
    assert ChatPresence(GROUP, (*quiet, p(LID, PresenceState.RECORDING))).is_online is True
    assert ChatPresence(CHAT, ()).is_online is False


def test_last_seen_is_the_latest_among_participants():
    chat = ChatPresence(
        GROUP,
        (
            p(CHAT, PresenceState.OFFLINE, T1),
            p(CHAT2),
            p(LID, PresenceState.OFFLINE, T2),
            p(NEWSLETTER, PresenceState.OFFLINE, T3),
        ),
    )
    assert chat.last_seen == T2
    assert chat.last_seen.utcoffset() == timedelta(0)


def test_last_seen_none_without_any():
    assert ChatPresence(CHAT, ()).last_seen is None
    assert ChatPresence(GROUP, (p(CHAT), p(CHAT2))).last_seen is None
