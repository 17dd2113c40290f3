"""Receiving presence.update webhooks: parse_event, verify_signature and PresenceEvent.

Signatures here are computed with Python's own hmac module, independently of the Rust code under
test; deliveries go over real HTTP to a receiver on 127.0.0.1, as a user's endpoint gets them.
"""

from __future__ import annotations

import email.message
import hashlib
import hmac
import json
import pickle
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from presence_helpers import CHAT, GROUP, LID, assert_no_secret, contract_path, texts_of_exception

import wawp_presence
from wawp_presence import (
    ChatPresence,
    InvalidEventError,
    InvalidSignatureError,
    ParticipantPresence,
    PresenceEvent,
    PresenceState,
    WawpError,
    parse_event,
    verify_signature,
)

SECRET = "whsec-TOP-SECRET-987654"
EVENT_ID = "evt_01jnmx2n4r8x9c2v3b4n5m6k7j"
EVENT_MILLIS = 1741249702485
EVENT_TIME = datetime(2025, 3, 6, 8, 28, 22, 485000, tzinfo=timezone.utc)

# wire.md's signing check value: HMAC-SHA512, key `my-secret-key`, over these exact bytes.
VECTOR_BODY = b'{"event":"message","session":"default","engine":"WEBJS"}'
VECTOR_KEY = "my-secret-key"


def envelope(**fields: Any) -> dict[str, Any]:
    """wire.md's WAHA envelope for a group with two participants; `fields` replace its keys."""
    body = {
        "id": EVENT_ID,
        "timestamp": EVENT_MILLIS,
        "event": "presence.update",
        "session": "default",
        "engine": "NOWEB",
        "me": {"id": "447700900000@c.us", "pushName": "Me"},
        "environment": {"version": "2026.7.1", "engine": "NOWEB", "tier": "CORE"},
        "payload": {
            "id": GROUP,
            "presences": [
                {"participant": CHAT, "lastKnownPresence": "typing", "lastSeen": None},
                {"participant": LID, "lastKnownPresence": "offline", "lastSeen": 1741249000},
            ],
        },
    }
    body.update(fields)
    return body


def raw(body: dict[str, Any]) -> bytes:
    """The bytes a sender posts (compact, as Node's JSON.stringify writes them)."""
    return json.dumps(body, separators=(",", ":")).encode()


WAHA_BODY = raw(envelope())
WAWP_BODY = raw(
    envelope(
        id="evt_wawp_1",
        payload={"chatId": "447441429009@s.whatsapp.net", "type": "composing", "from": "447441429009@s.whatsapp.net"},
    )
)


def hmac_hex(body: bytes, secret: str = SECRET, algorithm: str = "sha512") -> str:
    return hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


def signed_headers(
    body: bytes, *, secret: str = SECRET, algorithm: str = "sha512", sent_ms: int | None = None
) -> dict[str, str]:
    """The headers WAHA sends with a signed delivery."""
    return {
        "X-Webhook-Hmac": hmac_hex(body, secret, algorithm),
        "X-Webhook-Hmac-Algorithm": algorithm,
        "X-Webhook-Timestamp": str(now_ms() if sent_ms is None else sent_ms),
        "X-Webhook-Request-Id": "req-0001",
    }


# ============================================================================== payload shapes


def test_waha_payload_is_read_into_the_client_models():
    event = parse_event(WAHA_BODY)
    assert isinstance(event, PresenceEvent)
    assert event.id == EVENT_ID
    assert event.timestamp == EVENT_TIME  # the envelope is milliseconds, kept to the millisecond
    assert event.timestamp.tzinfo is not None and event.timestamp.utcoffset() == timedelta(0)
    assert (event.session, event.engine) == ("default", "NOWEB")
    assert isinstance(event.chat, ChatPresence)
    assert event.chat.id == GROUP and event.chat.is_group and event.chat.is_online
    assert [(p.participant, p.last_known_presence) for p in event.chat.presences] == [
        (CHAT, PresenceState.TYPING),
        (LID, PresenceState.OFFLINE),
    ]
    # lastSeen inside the payload is seconds, unlike the envelope.
    assert event.chat.presences[1].last_seen == datetime.fromtimestamp(1741249000, timezone.utc)
    assert event.chat.presences[0].last_seen is None


def test_wawp_payload_becomes_one_participant():
    event = parse_event(WAWP_BODY)
    assert event.id == "evt_wawp_1"
    assert event.chat == ChatPresence(CHAT, (ParticipantPresence(CHAT, PresenceState.TYPING, None),))
    assert event.chat.is_online and not event.chat.is_group

    in_group = parse_event(
        raw({"event": "presence.update", "payload": {"chatId": GROUP, "type": "paused", "from": LID}})
    )
    assert in_group.chat.id == GROUP
    assert [(p.participant, p.last_known_presence) for p in in_group.chat.presences] == [(LID, PresenceState.PAUSED)]

    unknown = parse_event(raw({"payload": {"chatId": CHAT, "type": "hovering"}}))
    only = unknown.chat.presences[0]
    assert (only.participant, only.last_known_presence, only.raw_presence) == (CHAT, PresenceState.UNKNOWN, "hovering")


def test_bytes_str_bytearray_and_dict_bodies_agree():
    expected = parse_event(WAHA_BODY)
    assert parse_event(WAHA_BODY.decode()) == expected
    assert parse_event(bytearray(WAHA_BODY)) == expected
    assert parse_event(memoryview(WAHA_BODY)) == expected
    assert parse_event(envelope()) == expected  # e.g. Flask's request.get_json()
    with pytest.raises(TypeError, match="bytes, str or dict"):
        parse_event([envelope()])  # type: ignore[arg-type]


def test_repeated_deliveries_are_dropped_by_event_id():
    seen: set[str | None] = set()
    handled = []
    for body in (WAHA_BODY, WAHA_BODY, WAWP_BODY, WAHA_BODY):  # the sender retried the first one
        event = parse_event(body)
        if event.id in seen:
            continue
        seen.add(event.id)
        handled.append(event.id)
    assert handled == [EVENT_ID, "evt_wawp_1"]


def test_an_event_without_a_name_is_read_but_another_event_is_refused():
    assert parse_event(raw({"payload": {"id": CHAT, "presences": []}})).chat.has_data is False
    with pytest.raises(InvalidEventError, match='"message"'):
        parse_event(VECTOR_BODY)


# ============================================================================== the contract


def contract_block(heading: str) -> str:
    """The first ```python block under `## heading` in python-api.md."""
    text = contract_path("spec", "python-api.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_contract_webhooks_block_runs_as_written():
    # The block uses `secret` and the literal "..." as the same key; the request is a delivery.
    secret = "..."
    headers = signed_headers(WAHA_BODY, secret=secret)
    namespace: dict[str, Any] = {
        "body": WAHA_BODY,
        "signature": headers["X-Webhook-Hmac"],
        "secret": secret,
        "request": SimpleNamespace(headers=headers),
    }
    exec(compile(contract_block("Webhooks"), "python-api.md#Webhooks", "exec"), namespace)
    assert namespace["ok"] is True
    assert isinstance(namespace["event"], PresenceEvent) and namespace["event"].id == EVENT_ID


def test_contract_presence_event_fields_are_the_constructor():
    models = contract_block("Models")
    fields = re.findall(r"(\w+)\s*:", re.search(r"^PresenceEvent\(([^)]*)\)", models, flags=re.M).group(1))
    assert fields == ["id", "timestamp", "session", "engine", "chat"]
    assert PresenceEvent.__match_args__ == tuple(fields)
    chat = parse_event(WAHA_BODY).chat
    values = [EVENT_ID, EVENT_TIME, "default", "NOWEB", chat]
    by_position = PresenceEvent(*values)
    assert by_position == PresenceEvent(**dict(zip(fields, values, strict=False))) == parse_event(WAHA_BODY)
    for field, value in zip(fields, values, strict=False):
        assert getattr(by_position, field) == value


def test_names_are_exported():
    for name in ("parse_event", "verify_signature", "PresenceEvent", "InvalidEventError", "InvalidSignatureError"):
        assert name in wawp_presence.__all__ and hasattr(wawp_presence, name)
    assert issubclass(InvalidEventError, WawpError) and issubclass(InvalidEventError, ValueError)
    assert issubclass(InvalidSignatureError, WawpError) and issubclass(InvalidSignatureError, ValueError)


# ============================================================================== the model


def test_presence_event_is_an_immutable_value():
    event = parse_event(WAHA_BODY)
    with pytest.raises(AttributeError):
        event.id = "other"  # type: ignore[misc]
    twin = PresenceEvent(event.id, event.timestamp, event.session, event.engine, event.chat)
    assert twin == event and hash(twin) == hash(event) and len({twin, event}) == 1
    assert PresenceEvent("other", event.timestamp, event.session, event.engine, event.chat) != event
    assert event != "not an event"
    assert pickle.loads(pickle.dumps(event)) == event

    match event:
        case PresenceEvent(event_id, when, session, engine, ChatPresence(chat_id, presences)):
            assert (event_id, when, session, engine, chat_id) == (EVENT_ID, EVENT_TIME, "default", "NOWEB", GROUP)
            assert len(presences) == 2
        case _:
            pytest.fail("PresenceEvent did not match positionally")


def test_presence_event_repr_and_to_dict():
    event = parse_event(WAWP_BODY)
    text = repr(event)
    assert text.startswith("PresenceEvent(id='evt_wawp_1', timestamp=datetime.datetime(2025, 3, 6, 8, 28, 22, 485000")
    assert "session='default', engine='NOWEB', chat=ChatPresence(id='447441429009@c.us'" in text
    assert text == repr(pickle.loads(pickle.dumps(event)))
    assert event.to_dict() == {
        "id": "evt_wawp_1",
        "timestamp": EVENT_TIME,
        "session": "default",
        "engine": "NOWEB",
        "chat": {
            "id": CHAT,
            "presences": [
                {"participant": CHAT, "last_known_presence": "typing", "last_seen": None, "raw_presence": None}
            ],
        },
    }
    bare = PresenceEvent(None, None, None, None, ChatPresence(CHAT))
    assert repr(bare) == (
        "PresenceEvent(id=None, timestamp=None, session=None, engine=None,"
        " chat=ChatPresence(id='447441429009@c.us', presences=()))"
    )


def test_presence_event_constructor_checks_its_arguments():
    chat = ChatPresence(CHAT)
    two_hours_ahead = timezone(timedelta(hours=2))
    event = PresenceEvent("e", datetime(2025, 3, 6, 10, 28, 22, 485000, tzinfo=two_hours_ahead), None, None, chat)
    assert event.timestamp == EVENT_TIME and event.timestamp.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        PresenceEvent("e", datetime(2025, 3, 6), None, None, chat)
    with pytest.raises(TypeError):
        PresenceEvent("e", EVENT_MILLIS, None, None, chat)
    with pytest.raises(TypeError, match="ChatPresence"):
        PresenceEvent("e", None, None, None, {"id": CHAT})
    with pytest.raises(TypeError):
        PresenceEvent("e", None, None, None)  # type: ignore[call-arg]


# ============================================================================== a real delivery


class Receiver:
    """A webhook endpoint on 127.0.0.1, written as a user would: read the raw body, hand it and
    the request's headers to parse_event, answer 401/400 on a bad delivery, drop repeats."""

    def __init__(self, *, max_age: float | None = 300.0):
        self.deliveries: list[tuple[bytes, Any]] = []
        self.events: list[PresenceEvent] = []
        self.failures: list[BaseException] = []
        self.seen: set[str | None] = set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.deliveries.append((body, self.headers))
                try:
                    event = parse_event(body, headers=self.headers, secret=SECRET, max_age=max_age)
                except InvalidSignatureError as exc:
                    owner.failures.append(exc)
                    status = 401
                except InvalidEventError as exc:
                    owner.failures.append(exc)
                    status = 400
                except BaseException as exc:  # anything else is a bug the test must see
                    owner.failures.append(exc)
                    status = 500
                else:
                    if event.id not in owner.seen:
                        owner.seen.add(event.id)
                        owner.events.append(event)
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/waha"

    def post(self, body: bytes, headers: Mapping[str, str]) -> int:
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def test_a_signed_delivery_over_http_is_accepted_and_its_retry_dropped(receiver):
    headers = signed_headers(WAHA_BODY)
    assert receiver.post(WAHA_BODY, headers) == 200
    assert receiver.post(WAHA_BODY, headers) == 200  # the sender retried
    assert [e.id for e in receiver.events] == [EVENT_ID]
    assert receiver.failures == []

    # What the endpoint received, checked again as a user would after the fact.
    body, received = receiver.deliveries[0]
    assert body == WAHA_BODY
    assert parse_event(body, headers=received, secret=SECRET, max_age=300).chat.id == GROUP
    assert verify_signature(body, received["X-Webhook-Hmac"], SECRET, received["X-Webhook-Hmac-Algorithm"])
    assert parse_event(body, headers=dict(received.items()), secret=SECRET.encode()).id == EVENT_ID


def test_bad_deliveries_over_http_are_refused(receiver):
    # The README's endpoint maps each kind of failure to its status. Every way a signature or an
    # age fails is checked once, without HTTP, in the sections below (and tabled by `cargo test`).
    tampered = WAHA_BODY.replace(b'"typing"', b'"paused"')
    garbage = b"<html>not an event</html>"
    assert receiver.post(tampered, signed_headers(WAHA_BODY)) == 401
    # Correctly signed, but not an event: the signature passes and the body is refused.
    assert receiver.post(garbage, signed_headers(garbage)) == 400
    assert receiver.events == []
    assert [type(e) for e in receiver.failures] == [InvalidSignatureError, InvalidEventError]


# ============================================================================== signatures


def test_the_wire_check_value():
    expected = hmac.new(VECTOR_KEY.encode(), VECTOR_BODY, hashlib.sha512).hexdigest()
    assert expected.startswith("208f8a55") and expected.endswith("53fa89")  # wire.md's value
    assert verify_signature(VECTOR_BODY, expected, VECTOR_KEY) is True
    assert verify_signature(VECTOR_BODY, expected, VECTOR_KEY, algorithm="sha512") is True
    assert verify_signature(VECTOR_BODY.decode(), expected, VECTOR_KEY.encode()) is True
    assert verify_signature(VECTOR_BODY, expected, VECTOR_KEY, algorithm="sha256") is False
    sha256 = hmac.new(VECTOR_KEY.encode(), VECTOR_BODY, hashlib.sha256).hexdigest()
    assert verify_signature(VECTOR_BODY, sha256, VECTOR_KEY, algorithm="sha256") is True
    assert verify_signature(VECTOR_BODY, sha256, VECTOR_KEY, algorithm="SHA256") is True


@pytest.mark.parametrize(
    "signature, ok",
    [
        (lambda s: s, True),
        (str.upper, True),
        (lambda s: f"  {s}\n", True),
        (str.encode, True),
        (lambda s: s[:-2] + ("00" if s[-2:] != "00" else "11"), False),
        (lambda s: s[:64], False),
        (lambda s: "sha512=" + s, False),
        (lambda s: "not hex", False),
        (lambda s: "", False),
        (lambda s: None, False),
    ],
    ids=["exact", "upper", "spaces", "bytes", "last-byte", "half", "prefixed", "not-hex", "empty", "none"],
)
def test_verify_signature_forms(signature: Callable[[str], Any], ok: bool):
    assert verify_signature(WAHA_BODY, signature(hmac_hex(WAHA_BODY)), SECRET) is ok


def test_verify_signature_refuses_what_cannot_be_checked():
    good = hmac_hex(WAHA_BODY)
    assert verify_signature(WAHA_BODY + b" ", good, SECRET) is False
    assert verify_signature(WAHA_BODY, good, SECRET + "x") is False
    with pytest.raises(ValueError, match="sha512"):
        verify_signature(WAHA_BODY, good, SECRET, algorithm="md5")
    with pytest.raises(ValueError, match="sha512"):
        verify_signature(WAHA_BODY, good, SECRET, algorithm="hmac-sha512")
    with pytest.raises(ValueError, match="empty"):
        verify_signature(WAHA_BODY, hmac_hex(WAHA_BODY, ""), "")
    with pytest.raises(TypeError, match="raw body"):
        verify_signature(envelope(), good, SECRET)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="secret"):
        verify_signature(WAHA_BODY, good, 12345)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda h: {k: v for k, v in h.items() if k != "X-Webhook-Hmac"}, id="missing"),
        pytest.param(lambda h: {**h, "X-Webhook-Hmac": hmac_hex(WAHA_BODY, "wrong-secret")}, id="wrong-secret"),
        pytest.param(lambda h: {**h, "X-Webhook-Hmac": "zz" * 64}, id="not-hex"),
        pytest.param(lambda h: {**h, "X-Webhook-Hmac": ""}, id="empty"),
        pytest.param(lambda h: {**h, "X-Webhook-Hmac-Algorithm": "sha256"}, id="algorithm-mismatch"),
        pytest.param(lambda h: {**h, "X-Webhook-Hmac-Algorithm": "md5"}, id="unknown-algorithm"),
        pytest.param(lambda h: None, id="no-headers"),
    ],
)
def test_signature_failures_raise_invalid_signature(change):
    with pytest.raises(InvalidSignatureError) as caught:
        parse_event(WAHA_BODY, headers=change(signed_headers(WAHA_BODY)), secret=SECRET)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, WawpError)


def test_a_tampered_body_fails_its_signature():
    headers = signed_headers(WAHA_BODY)
    for changed in (WAHA_BODY.replace(b"typing", b"paused"), WAHA_BODY + b"\n", json.dumps(envelope()).encode()):
        with pytest.raises(InvalidSignatureError, match="does not match"):
            parse_event(changed, headers=headers, secret=SECRET)


def test_the_algorithm_header_picks_sha256():
    sha256 = signed_headers(WAWP_BODY, algorithm="sha256")
    assert parse_event(WAWP_BODY, headers=sha256, secret=SECRET).id == "evt_wawp_1"
    assert parse_event(WAWP_BODY, headers={**sha256, "X-Webhook-Hmac-Algorithm": "SHA256"}, secret=SECRET)
    # Without the header SHA-512 is assumed, so a SHA-256 signature no longer matches.
    unlabelled = {k: v for k, v in sha256.items() if k != "X-Webhook-Hmac-Algorithm"}
    with pytest.raises(InvalidSignatureError):
        parse_event(WAWP_BODY, headers=unlabelled, secret=SECRET)
    only_sha512 = {"X-Webhook-Hmac": hmac_hex(WAWP_BODY)}
    assert parse_event(WAWP_BODY, headers=only_sha512, secret=SECRET).id == "evt_wawp_1"


def test_a_dict_body_cannot_be_signature_checked():
    with pytest.raises(TypeError, match="raw body"):
        parse_event(envelope(), headers=signed_headers(WAHA_BODY), secret=SECRET)
    # Without a secret a dict is fine, and max_age reads only the headers.
    assert parse_event(envelope(), headers=signed_headers(WAHA_BODY), max_age=60).id == EVENT_ID


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="empty"):
        parse_event(WAHA_BODY, headers={"X-Webhook-Hmac": hmac_hex(WAHA_BODY, "")}, secret="")


# ============================================================================== age


def test_max_age_refuses_stale_and_far_future_deliveries():
    def at(offset_ms: int) -> dict[str, str]:
        return signed_headers(WAHA_BODY, sent_ms=now_ms() + offset_ms)

    assert parse_event(WAHA_BODY, headers=at(-1_000), secret=SECRET, max_age=300).id == EVENT_ID
    assert parse_event(WAHA_BODY, headers=at(-1_000), max_age=timedelta(minutes=5)).id == EVENT_ID
    assert parse_event(WAHA_BODY, headers=at(+30_000), max_age=300).id == EVENT_ID  # some clock skew
    with pytest.raises(InvalidSignatureError, match="old"):
        parse_event(WAHA_BODY, headers=at(-301_000), secret=SECRET, max_age=300)
    with pytest.raises(InvalidSignatureError, match="old"):
        parse_event(WAHA_BODY, headers=at(-5_000), max_age=timedelta(seconds=2))
    with pytest.raises(InvalidSignatureError, match="future"):
        parse_event(WAHA_BODY, headers=at(+3_600_000), max_age=300)
    # Without max_age the timestamp is not looked at.
    assert parse_event(WAHA_BODY, headers=at(-86_400_000), secret=SECRET).id == EVENT_ID


@pytest.mark.parametrize("value", [None, "", "yesterday", "1.5e400", "NaN"])
def test_max_age_needs_a_readable_timestamp(value):
    headers = {k: v for k, v in signed_headers(WAHA_BODY).items() if k != "X-Webhook-Timestamp"}
    if value is not None:
        headers["X-Webhook-Timestamp"] = value
    with pytest.raises(InvalidSignatureError, match="X-Webhook-Timestamp"):
        parse_event(WAHA_BODY, headers=headers, secret=SECRET, max_age=300)


@pytest.mark.parametrize("max_age", [-1, float("nan"), float("inf"), timedelta(seconds=-1)])
def test_max_age_must_be_a_sensible_duration(max_age):
    with pytest.raises(ValueError, match="max_age"):
        parse_event(WAHA_BODY, headers=signed_headers(WAHA_BODY), max_age=max_age)


# ============================================================================== headers


class FrameworkHeaders(Mapping):
    """A case-insensitive mapping like Django's or Starlette's request.headers."""

    def __init__(self, items: dict[str, str]):
        self._items = {k.lower(): (k, v) for k, v in items.items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __iter__(self):
        return (k for k, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


def http_message(items: dict[str, str]) -> email.message.Message:
    """What http.server gives as self.headers."""
    message = email.message.Message()
    for k, v in items.items():
        message[k] = v
    return message


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda h: {k.lower(): v for k, v in h.items()}, id="lower"),
        pytest.param(lambda h: {k.upper(): v for k, v in h.items()}, id="upper"),
        pytest.param(lambda h: {k.swapcase(): v for k, v in h.items()}, id="swapped"),
        pytest.param(lambda h: {k.capitalize(): v for k, v in h.items()}, id="urllib-style"),
        pytest.param(lambda h: FrameworkHeaders(h), id="framework-mapping"),
        pytest.param(http_message, id="http.server"),
        pytest.param(lambda h: [(k.lower().encode(), v.encode()) for k, v in h.items()], id="asgi-pairs"),
    ],
)
def test_header_names_match_in_any_case_and_container(shape):
    headers = shape(signed_headers(WAWP_BODY, algorithm="sha256"))
    event = parse_event(WAWP_BODY, headers=headers, secret=SECRET, max_age=300)
    assert event.id == "evt_wawp_1"
    # The same container with the signature replaced is refused: the headers are really read.
    forged = shape(signed_headers(WAWP_BODY, secret="nope", algorithm="sha256"))
    with pytest.raises(InvalidSignatureError):
        parse_event(WAWP_BODY, headers=forged, secret=SECRET)


def test_headers_that_are_not_headers_are_a_type_error():
    with pytest.raises(TypeError, match="headers"):
        parse_event(WAHA_BODY, headers=42, secret=SECRET)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="headers"):
        parse_event(WAHA_BODY, headers=["X-Webhook-Hmac"], secret=SECRET)  # type: ignore[list-item]


# ============================================================================== garbage


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"null",
        b"[]",
        b"42",
        b'"presence.update"',
        b"{}",
        b"not json",
        b"<html><body>502 Bad Gateway</body></html>",
        b"\xff\xfe\x00{",
        "{\ud800}",
        raw({"event": "presence.update"}),
        raw({"event": "presence.update", "payload": None}),
        raw({"event": "presence.update", "payload": [1, 2]}),
        raw({"event": "presence.update", "payload": {"presences": []}}),
        raw({"event": "presence.update", "payload": {"id": CHAT, "presences": "online"}}),
        raw({"event": "presence.update", "payload": {"id": CHAT, "presences": [None]}}),
        raw({"event": "presence.update", "payload": {"type": "composing"}}),
        raw({"event": ["presence.update"], "payload": {"id": CHAT, "presences": []}}),
        raw({"event": "session.status", "payload": {"status": "WORKING"}}),
        WAHA_BODY[:-1],
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_garbage_bodies_raise_invalid_event(body):
    with pytest.raises(InvalidEventError) as caught:
        parse_event(body)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, WawpError)
    assert caught.value.message


def test_garbage_with_a_good_signature_is_still_an_invalid_event():
    body = b"this is not json"
    with pytest.raises(InvalidEventError):
        parse_event(body, headers=signed_headers(body), secret=SECRET, max_age=300)


JSON_KEYS = st.sampled_from(
    [
        "id",
        "timestamp",
        "event",
        "session",
        "engine",
        "payload",
        "presences",
        "participant",
        "lastKnownPresence",
        "lastSeen",
        "chatId",
        "type",
        "from",
    ]
) | st.text(max_size=8)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from(["presence.update", "composing", "online", CHAT, GROUP, ""])
    | st.text(max_size=16),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(JSON_KEYS, children, max_size=6),
    max_leaves=40,
)
# The parser is fuzzed by `cargo test` as well; here, what crosses the binding.
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_raises_wawp_error(body: Any, **options: Any) -> None:
    try:
        result = parse_event(body, **options)
    except WawpError:
        return
    assert isinstance(result, PresenceEvent)


@FUZZ
@given(st.binary(max_size=600))
def test_fuzz_bytes(body):
    parses_or_raises_wawp_error(body)


@FUZZ
@given(st.text(max_size=600))
def test_fuzz_text(body):
    parses_or_raises_wawp_error(body)


@FUZZ
@given(JSON_VALUES, JSON_VALUES)
def test_fuzz_json_documents(document, payload):
    parses_or_raises_wawp_error(json.dumps(document))
    parses_or_raises_wawp_error(json.dumps({"event": "presence.update", "id": document, "payload": payload}))
    if isinstance(document, dict):
        parses_or_raises_wawp_error(document)


@FUZZ
@given(
    st.binary(max_size=300),
    st.dictionaries(
        st.sampled_from(["X-Webhook-Hmac", "x-webhook-hmac-algorithm", "X-WEBHOOK-TIMESTAMP"]) | st.text(max_size=10),
        st.text(max_size=140) | st.integers().map(str) | st.sampled_from(["sha256", "sha512", "md5"]),
        max_size=4,
    ),
    st.floats(min_value=0, max_value=1e9),
)
def test_fuzz_signed_checks(body, headers, max_age):
    parses_or_raises_wawp_error(body, headers=headers, secret=SECRET, max_age=max_age)


# ============================================================================== secrets


def test_no_failure_shows_the_secret_or_the_expected_signature():
    expected = {hmac_hex(WAHA_BODY), hmac_hex(WAHA_BODY, algorithm="sha256")}
    good = signed_headers(WAHA_BODY)
    cases = [
        (WAHA_BODY, {**good, "X-Webhook-Hmac": "00" * 64}),
        (WAHA_BODY, {**good, "X-Webhook-Hmac": SECRET}),  # a sender that put the key itself there
        (WAHA_BODY, {}),
        (WAHA_BODY, {**good, "X-Webhook-Hmac-Algorithm": "md5"}),
        (WAHA_BODY, {**good, "X-Webhook-Timestamp": "1000"}),
        (b"garbage", signed_headers(b"garbage")),
        (envelope(), good),
    ]
    for body, headers in cases:
        with pytest.raises((WawpError, TypeError)) as caught:
            parse_event(body, headers=headers, secret=SECRET, max_age=300)
        texts = texts_of_exception(caught.value)
        assert_no_secret(texts, (SECRET, *expected))
    for bad_secret in (12345, ["list"]):
        with pytest.raises(TypeError) as caught:
            parse_event(WAHA_BODY, headers=good, secret=bad_secret)  # type: ignore[arg-type]
        assert_no_secret(texts_of_exception(caught.value), (SECRET, *expected))


def test_the_event_holds_nothing_of_the_secret():
    event = parse_event(WAHA_BODY, headers=signed_headers(WAHA_BODY), secret=SECRET, max_age=300)
    assert_no_secret([repr(event), str(event), repr(event.to_dict()), repr(pickle.dumps(event))], (SECRET,))
