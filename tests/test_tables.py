"""Presence as a table: to_records, to_pandas, to_polars and to_arrow (python-api.md, "Tables and
notebooks"), over what the clients really return from the fake servers, over changes from watch
and webhook events, and over mistakes. Every format is read back into plain rows and compared
with the rows the contract names, so the four functions are held to the same table."""

from __future__ import annotations

import json
import pickle
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from presence_helpers import API_KEY, BOTH_BACKENDS, CHAT, CHAT2, GROUP, LID, TOKEN, build_client, utc

from wawp_presence import (
    AsyncPresenceClient,
    AuthenticationError,
    ChatPresence,
    InvalidChatIdError,
    NotFoundError,
    ParticipantPresence,
    PresenceChange,
    PresenceClient,
    PresenceState,
    ProtocolError,
    RequestTimeout,
    ServerError,
    TransportError,
    WawpError,
    parse_event,
    to_arrow,
    to_pandas,
    to_polars,
    to_records,
)

COLUMNS = ["chat_id", "participant", "state", "last_seen", "observed_at", "previous", "error"]
ALICE = "447700900001@c.us"
BOB = "447700900002@c.us"
EMPTY = "447700900999@c.us"
INVALID = "not a chat"
SEEN = 1_700_000_000
FORMATS = ("records", "pandas", "polars", "arrow")
CONVERT = {"records": to_records, "pandas": to_pandas, "polars": to_polars, "arrow": to_arrow}
# A WAHA presence.update delivery for a group of two (wire.md's envelope).
EVENT_BODY = json.dumps(
    {
        "id": "evt_01jnmx2n4r8x9c2v3b4n5m6k7j",
        "timestamp": 1741249702485,
        "event": "presence.update",
        "session": "default",
        "engine": "NOWEB",
        "payload": {
            "id": GROUP,
            "presences": [
                {"participant": CHAT, "lastKnownPresence": "typing", "lastSeen": None},
                {"participant": LID, "lastKnownPresence": "offline", "lastSeen": 1741249000},
            ],
        },
    }
)


def row(chat_id=None, participant=None, state=None, last_seen=None, observed_at=None, previous=None, error=None):
    return dict(zip(COLUMNS, (chat_id, participant, state, last_seen, observed_at, previous, error), strict=True))


def plain(value: Any) -> Any:
    """A cell of a DataFrame as a plain Python value (None for NaT / NA / NaN)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if not isinstance(value, (list, tuple)) and pd.isna(value):
        return None
    return value


def table_rows(fmt: str, results: Any) -> list[dict[str, Any]]:
    """The rows `fmt` makes of `results`, read back as plain dicts (checking the column order)."""
    table = CONVERT[fmt](results)
    if fmt == "records":
        assert all(list(r) == COLUMNS for r in table)
        return table
    names = list(table.columns) if fmt != "arrow" else table.column_names
    assert names == COLUMNS
    if fmt == "pandas":
        return [{k: plain(v) for k, v in r.items()} for r in table.to_dict("records")]
    if fmt == "polars":
        return table.to_dicts()
    return table.to_pylist()


def every_cell(fmt: str, results: Any) -> list[str]:
    """Every column name and every cell of the table `fmt` makes, as text."""
    table = CONVERT[fmt](results)
    if fmt == "records":
        return [str(v) for r in table for item in r.items() for v in item]
    if fmt == "arrow":
        return [*table.column_names, *(str(v) for name in table.column_names for v in table[name].to_pylist())]
    return [*table.columns, *(str(v) for name in table.columns for v in table[name].to_list())]


def mixed_results(client: PresenceClient, server: Any) -> list[Any]:
    """get_many over a failing chat, a chat with data, one without, a group and an invalid id."""
    server.set_presence(CHAT, "online", last_seen=SEEN)
    server.set_presence(GROUP, "available", participant=ALICE)
    server.set_presence(GROUP, "unavailable", last_seen=SEEN + 60, participant=BOB)
    server.fail_next(status=404, body={"message": "We didn't find that chat", "statusCode": 404})
    # One at a time, so the scripted 404 answers the first chat asked for.
    return client.get_many([LID, CHAT, EMPTY, GROUP, INVALID], concurrency=1, return_exceptions=True)


def expected_mixed(results: list[Any]) -> list[dict[str, Any]]:
    invalid = results[-1]
    assert isinstance(invalid, InvalidChatIdError)
    assert INVALID in invalid.message
    return [
        row(LID, error="NotFoundError: We didn't find that chat"),
        row(CHAT, CHAT, "online", utc(SEEN)),
        row(EMPTY),
        row(GROUP, ALICE, "online"),
        row(GROUP, BOB, "offline", utc(SEEN + 60)),
        row(INVALID, error=f"InvalidChatIdError: {invalid.message}"),
    ]


# ============================================================================== get_many results


@BOTH_BACKENDS
@pytest.mark.parametrize("fmt", FORMATS)
def test_get_many_results_become_one_row_per_participant(client, server, fmt):
    results = mixed_results(client, server)
    assert isinstance(results[0], NotFoundError) and results[1].has_data and not results[2].has_data
    assert table_rows(fmt, results) == expected_mixed(results)


@BOTH_BACKENDS
async def test_async_get_many_to_pandas(server):
    server.set_presence(CHAT, "recording", last_seen=SEEN)
    server.fail_next(status=500, body="down")
    async with build_client(AsyncPresenceClient, server, max_retries=0) as aclient:
        results = await aclient.get_many([CHAT2, CHAT, INVALID], concurrency=1, return_exceptions=True)
    frame = to_pandas(results)
    assert list(frame.columns) == COLUMNS
    assert list(frame["chat_id"]) == [CHAT2, CHAT, INVALID]
    assert frame["error"][0] == f"ServerError: {results[0].message}"
    assert frame["state"][1] == "recording" and frame["last_seen"][1] == pd.Timestamp(SEEN, unit="s", tz="UTC")
    assert frame["error"][2].startswith("InvalidChatIdError: ")
    assert pd.isna(frame["error"][1]) and pd.isna(frame["last_seen"][0])


# ============================================================================== columns and types


NO_DATETIMES = {
    "empty input": [],
    "every datetime None": [
        ChatPresence(EMPTY, ()),
        ChatPresence(CHAT, (ParticipantPresence(CHAT, PresenceState.ONLINE, None),)),
        ValueError("boom"),
    ],
}


@pytest.mark.parametrize("results", list(NO_DATETIMES.values()), ids=list(NO_DATETIMES))
def test_columns_and_utc_types_hold_without_any_datetime(results):
    records = to_records(results)
    assert len(records) == len(results) and all(list(r) == COLUMNS for r in records)

    frame = to_pandas(results)
    assert list(frame.columns) == COLUMNS and len(frame) == len(results)
    for name in ("last_seen", "observed_at"):
        assert isinstance(frame[name].dtype, pd.DatetimeTZDtype), frame.dtypes
        assert str(frame[name].dt.tz) == "UTC"
        assert frame[name].isna().all()

    pl_frame = to_polars(results)
    assert pl_frame.columns == COLUMNS and pl_frame.height == len(results)
    for name in ("last_seen", "observed_at"):
        dtype = pl_frame.schema[name]
        assert isinstance(dtype, pl.Datetime) and dtype.time_zone == "UTC", pl_frame.schema

    table = to_arrow(results)
    assert table.column_names == COLUMNS and table.num_rows == len(results)
    for name in ("last_seen", "observed_at"):
        kind = table.schema.field(name).type
        assert pa.types.is_timestamp(kind) and kind.tz == "UTC", table.schema
    for name in ("chat_id", "participant", "state", "previous", "error"):
        assert pa.types.is_string(table.schema.field(name).type) or pa.types.is_large_string(
            table.schema.field(name).type
        )


def test_every_datetime_is_aware_utc_and_equals_the_model():
    kolkata = timezone(timedelta(hours=5, minutes=30))
    seen = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=kolkata)
    chat = ChatPresence(GROUP, (ParticipantPresence(ALICE, "offline", seen), ParticipantPresence(BOB, "online", None)))
    change = PresenceChange(CHAT, CHAT, "online", "offline", utc(SEEN), datetime(2025, 1, 1, tzinfo=kolkata))
    records = to_records([chat, change])
    assert records[0]["last_seen"] == chat.presences[0].last_seen == seen
    assert records[1]["last_seen"] is None
    assert records[2]["last_seen"] == change.last_seen and records[2]["observed_at"] == change.observed_at
    moments = [r[k] for r in records for k in ("last_seen", "observed_at") if r[k] is not None]
    assert len(moments) == 3
    for moment in moments:
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0), moment


# Times a server can send that a nanosecond column could not hold (before 1677, after 2262).
FAR_TIMES = [
    datetime(1, 1, 1, tzinfo=timezone.utc),
    datetime(1960, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc),
    datetime(2262, 4, 12, tzinfo=timezone.utc),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_far_times_survive_every_format(fmt):
    chats = [ChatPresence(f"{n}@g.us", (ParticipantPresence(CHAT, "offline", t),)) for n, t in enumerate(FAR_TIMES)]
    changes = [PresenceChange(CHAT, CHAT, None, "offline", None, t) for t in FAR_TIMES]
    rows = table_rows(fmt, [chats, changes])
    assert [r["last_seen"] for r in rows[:4]] == FAR_TIMES
    assert [r["observed_at"] for r in rows[4:]] == FAR_TIMES


# ============================================================================== changes and events


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_constructed_change_gives_current_previous_and_observed_at(fmt):
    observed = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    changes = [
        PresenceChange(CHAT, CHAT, PresenceState.ONLINE, PresenceState.OFFLINE, utc(SEEN), observed),
        PresenceChange(GROUP, ALICE, None, PresenceState.TYPING, None, observed),
    ]
    assert table_rows(fmt, changes) == [
        row(CHAT, CHAT, "offline", utc(SEEN), observed, "online"),
        row(GROUP, ALICE, "typing", None, observed, None),
    ]


def test_changes_collected_from_watch(client, server):
    server.set_presence(CHAT, "online")
    changes = client.watch([CHAT], interval=0.05)
    first = next(changes)
    server.set_presence(CHAT, "unavailable", last_seen=SEEN)
    second = next(changes)
    collected = [first, second]
    expected = [
        row(CHAT, CHAT, "online", None, first.observed_at, None),
        row(CHAT, CHAT, "offline", utc(SEEN), second.observed_at, "online"),
    ]
    for fmt in FORMATS:
        assert table_rows(fmt, collected) == expected, fmt
    assert to_polars(collected)["previous"].to_list() == [None, "online"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_webhook_event_gives_its_timestamp_as_observed_at(fmt):
    event = parse_event(EVENT_BODY)
    sent = datetime(2025, 3, 6, 8, 28, 22, 485000, tzinfo=timezone.utc)
    assert event.timestamp == sent
    expected = [row(GROUP, CHAT, "typing", None, sent), row(GROUP, LID, "offline", utc(1741249000), sent)]
    assert table_rows(fmt, event) == expected
    assert table_rows(fmt, [event, event]) == expected * 2


# ============================================================================== what is accepted


@pytest.mark.parametrize("fmt", FORMATS)
def test_nested_iterables_and_generators_flatten(fmt):
    a = ChatPresence(CHAT, (ParticipantPresence(CHAT, "online", utc(SEEN)),))
    b = ChatPresence(EMPTY, ())
    error, other = WawpError("it broke", chat_id=CHAT2), KeyError("k")  # other errors are about no chat
    nested = [[a], (x for x in [b, [error]]), (), [[other]]]
    expected = [row(CHAT, CHAT, "online", utc(SEEN)), row(EMPTY), row(CHAT2, error="WawpError: it broke")]
    expected.append(row(error="KeyError: 'k'"))
    assert table_rows(fmt, nested) == expected
    assert table_rows(fmt, (x for x in [a, b, error, other])) == expected
    assert table_rows(fmt, a) == expected[:1]


def self_holding_list() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


# Each makes a fresh input (a generator is used up by one call).
BAD_INPUTS = {
    "str": lambda: CHAT,
    "bytes": lambda: b"{}",
    "dict": lambda: {"id": CHAT},
    "int": lambda: 42,
    "None": lambda: None,
    "a list holding itself": self_holding_list,
    "a str among chats": lambda: [ChatPresence(CHAT, ()), CHAT],
    "an int in a generator": lambda: (x for x in [ChatPresence(CHAT, ()), 7]),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bad", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_what_is_not_a_result_is_a_type_error(fmt, bad):
    with pytest.raises(TypeError) as caught:
        CONVERT[fmt](BAD_INPUTS[bad]())
    message = str(caught.value)
    for expected in ("ChatPresence", "PresenceChange", "PresenceEvent", "exception", "iterable"):
        assert expected in message, message


# ============================================================================== errors


@BOTH_BACKENDS
@pytest.mark.parametrize("fmt", FORMATS)
def test_error_rows_never_hold_the_secret(make_server, backend, fmt):
    if backend == "wawp":
        server = make_server("wawp", access_token="server-side-token")
        client = PresenceClient(instance_id=server.instance_id, access_token=TOKEN, base_url=server.url, max_retries=0)
        secret = TOKEN
    else:
        server = make_server("waha", api_key="server-side-key")
        client = PresenceClient.waha(server.url, api_key=API_KEY, max_retries=0)
        secret = API_KEY
    with client:
        refused = client.get_many([CHAT], return_exceptions=True)
        # A server that quotes the credential back in its 401.
        server.fail_next(status=401, body={"message": f"invalid credential {secret}", "statusCode": 401})
        echoed = client.get_many([CHAT2], return_exceptions=True)
    results = refused + echoed
    assert all(isinstance(e, AuthenticationError) for e in results), results
    records = to_records(results)
    assert [r["error"] for r in records] == [f"AuthenticationError: {e.message}" for e in results]
    assert [r["chat_id"] for r in records] == [CHAT, CHAT2]
    assert "invalid credential" in records[1]["error"]
    cells = every_cell(fmt, results)
    assert any("AuthenticationError" in c for c in cells)
    for cell in cells:
        assert secret not in cell, cell


def test_every_error_names_its_chat_and_keeps_it_through_pickle(server):
    server.set_presence(CHAT, "online")
    client = build_client(PresenceClient, server, max_retries=0, timeout=0.5)
    ids = [LID, CHAT, CHAT2, GROUP, EMPTY, INVALID]
    server.fail_next(status=404, body={"message": "We didn't find that chat", "statusCode": 404})
    server.fail_next(status=500, body="down")
    server.fail_next(drop=True)
    server.fail_next(malformed=True)
    server.fail_next(hang=True)
    results = client.get_many(ids, concurrency=1, return_exceptions=True)
    kinds = [NotFoundError, ServerError, TransportError, ProtocolError, RequestTimeout, InvalidChatIdError]
    assert [type(e) for e in results] == kinds
    for chat_id, error in zip(ids, results, strict=True):
        assert error.chat_id == chat_id
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and copy.chat_id == chat_id and copy.message == error.message
    assert [r["chat_id"] for r in to_records(results)] == ids

    with pytest.raises(InvalidChatIdError) as bad:
        client.get("bad id")
    server.fail_next(status=404, body={"message": "We didn't find that chat", "statusCode": 404})
    with pytest.raises(NotFoundError) as failing:
        client.get(CHAT)
    for caught, chat_id in ((bad, "bad id"), (failing, CHAT)):
        assert caught.value.chat_id == chat_id
        assert pickle.loads(pickle.dumps(caught.value)).chat_id == chat_id
    client.close()


# ============================================================================== without the extras


@pytest.mark.parametrize(
    "convert, module, extra",
    [(to_pandas, "pandas", "pandas"), (to_polars, "polars", "polars"), (to_arrow, "pyarrow", "arrow")],
    ids=["pandas", "polars", "arrow"],
)
def test_a_missing_library_names_the_extra_to_install(monkeypatch, convert, module, extra):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError) as caught:
        convert([ChatPresence(CHAT, ())])
    assert f'pip install "wawp-presence[{extra}]"' in str(caught.value)
    for blocked in ("pandas", "polars", "pyarrow"):
        monkeypatch.setitem(sys.modules, blocked, None)
    assert to_records([ChatPresence(CHAT, ())]) == [row(CHAT)]  # records need no extra


# ============================================================================== scale


@pytest.fixture(scope="module")
def many_participants() -> list[ChatPresence]:
    """1,000 groups of 100 participants each: 100,000 rows."""
    chats = []
    for g in range(1_000):
        members = tuple(
            ParticipantPresence(
                f"4470{g * 100 + p:08d}@c.us",
                "online" if p % 2 else "offline",
                None if p % 10 == 0 else utc(SEEN + g * 100 + p),
            )
            for p in range(100)
        )
        chats.append(ChatPresence(f"{g}@g.us", members))
    return chats


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_hundred_thousand_participants(many_participants, fmt):
    table = CONVERT[fmt](many_participants)
    count = {"records": len, "pandas": len, "polars": lambda t: t.height, "arrow": lambda t: t.num_rows}[fmt]
    assert count(table) == 100_000
    for n in (0, 1, 54_321, 99_999):
        g, p = divmod(n, 100)
        if fmt == "records":
            got = table[n]
        elif fmt == "pandas":
            got = {k: plain(v) for k, v in table.iloc[n].to_dict().items()}
        elif fmt == "polars":
            got = table.row(n, named=True)
        else:
            got = table.slice(n, 1).to_pylist()[0]
        last_seen = None if p % 10 == 0 else utc(SEEN + n)
        state = "online" if p % 2 else "offline"
        assert got == row(f"{g}@g.us", f"4470{n:08d}@c.us", state, last_seen), n
