"""The notebook views (python-api.md, "Tables and notebooks"): ChatPresence, PresenceChange and
PresenceEvent show as small HTML tables through `_repr_html_`, with the state, the last-seen time
in UTC and how long ago it was; every value in that HTML is escaped. The HTML is read back with
the standard library's parser, as a browser would read it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import pytest
from presence_helpers import CHAT, GROUP

from wawp_presence import ChatPresence, ParticipantPresence, PresenceChange, PresenceState, parse_event

HOSTILE = "<script>alert('x')</script>&\"'"
ALICE = "447700900001@c.us"
BOB = "447700900002@c.us"


class Page(HTMLParser):
    """The start tags and the text chunks (character references resolved) of an HTML fragment."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


def five_minutes_ago() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)


def shown(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def event_body(**fields: Any) -> str:
    """A WAHA presence.update delivery; `fields` replace the envelope's keys."""
    body: dict[str, Any] = {
        "id": "evt_1",
        "timestamp": int(five_minutes_ago().timestamp() * 1000),
        "event": "presence.update",
        "session": "default",
        "engine": "NOWEB",
        "payload": {
            "id": GROUP,
            "presences": [
                {"participant": ALICE, "lastKnownPresence": "typing", "lastSeen": None},
                {"participant": BOB, "lastKnownPresence": "offline", "lastSeen": int(five_minutes_ago().timestamp())},
            ],
        },
    }
    body.update(fields)
    return json.dumps(body)


# ============================================================================== what is shown


def test_a_chat_shows_each_participant_state_and_last_seen():
    seen = five_minutes_ago()
    chat = ChatPresence(GROUP, (ParticipantPresence(ALICE, "online", None), ParticipantPresence(BOB, "offline", seen)))
    html = chat._repr_html_()
    page = Page(html)
    assert "table" in page.tags
    for text in (GROUP, ALICE, BOB, "online", "offline", shown(seen), "5 min ago"):
        assert text in page.text, (text, html)
    # the time is in BOB's row, not ALICE's
    assert page.text.index(shown(seen)) > page.text.index(BOB)


def test_a_chat_without_data_says_so():
    page = Page(ChatPresence(CHAT, ())._repr_html_())
    assert CHAT in page.text
    assert "no data yet" in page.text


def test_a_change_shows_both_states_and_its_times():
    seen = five_minutes_ago()
    observed = seen + timedelta(seconds=1)
    change = PresenceChange(CHAT, CHAT, PresenceState.ONLINE, PresenceState.OFFLINE, seen, observed)
    page = Page(change._repr_html_())
    for text in (CHAT, "online", "offline", shown(seen), shown(observed), "5 min ago"):
        assert text in page.text, (text, page.text)
    assert page.text.index("online") < page.text.index("offline")


def test_an_event_shows_its_chat_session_and_sending_time():
    event = parse_event(event_body(session="sales", engine="GOWS"))
    assert event.timestamp is not None
    page = Page(event._repr_html_())
    for text in (GROUP, "evt_1", "sales", "GOWS", ALICE, BOB, "typing", "offline", shown(event.timestamp)):
        assert text in page.text, (text, page.text)
    assert page.text.count("5 min ago") == 2  # the sending time and BOB's last seen


def test_the_time_shown_is_utc_whatever_zone_the_model_was_given():
    seen = five_minutes_ago().astimezone(timezone(timedelta(hours=-7)))
    page = Page(ChatPresence(CHAT, (ParticipantPresence(CHAT, "offline", seen),))._repr_html_())
    assert shown(seen) in page.text and "5 min ago" in page.text


# ============================================================================== escaping


def hostile_views() -> dict[str, str]:
    seen = five_minutes_ago()
    return {
        "chat": ChatPresence(HOSTILE, (ParticipantPresence(HOSTILE, "online", seen),))._repr_html_(),
        "empty chat": ChatPresence(HOSTILE, ())._repr_html_(),
        "change": PresenceChange(HOSTILE, HOSTILE, None, "typing", seen, seen)._repr_html_(),
        "event": parse_event(
            event_body(
                id=HOSTILE,
                session=HOSTILE,
                engine=HOSTILE,
                payload={"id": GROUP, "presences": [{"participant": HOSTILE, "lastKnownPresence": "online"}]},
            )
        )._repr_html_(),
    }


@pytest.mark.parametrize("view", ["chat", "empty chat", "change", "event"])
def test_hostile_values_are_escaped_not_stripped(view):
    html = hostile_views()[view]
    page = Page(html)
    assert "script" not in page.tags, html
    assert set(page.tags) <= {"table", "caption", "code", "thead", "tbody", "tr", "th", "td", "small"}, page.tags
    assert HOSTILE not in html  # the raw text never reaches the markup
    # The text a browser shows holds the value exactly: each place it goes is one text chunk.
    assert HOSTILE in page.texts, page.texts


def test_every_hostile_field_of_an_event_round_trips():
    page = Page(hostile_views()["event"])
    # id, session, engine and the participant
    assert page.texts.count(HOSTILE) == 4, page.texts
    assert "script" not in page.tags
