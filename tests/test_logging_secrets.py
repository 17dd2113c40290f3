"""Logging and secrets.

Each request and answer is logged at DEBUG through Python's `logging`, logger `wawp_presence`
(or its children), e.g. `GET http://127.0.0.1:PORT/v2/presence/...?instance_id=...&access_token=***
-> 200 in 3 ms`, and each retry once, e.g. `... -> 503; retrying in 0.25 s (attempt 1 of 3)`.
No record, error, repr or panic message holds the access token or the API key, whatever went
wrong.
"""

from __future__ import annotations

import logging
import traceback
from urllib.parse import unquote

import pytest
from presence_helpers import (
    BOTH_BACKENDS,
    CHAT,
    TOKEN,
    TWO_WAYS,
    assert_no_secret,
    build_client,
    route,
    secret_of,
    start_server,
)

from wawp_presence import (
    AsyncPresenceClient,
    AuthenticationError,
    PresenceClient,
    ProtocolError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    TransportError,
    WawpError,
)
from wawp_presence.testing import FakeServer

LOGGER = "wawp_presence"


def package_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER or r.name.startswith(LOGGER + ".")]


def texts_of_record(record: logging.LogRecord) -> list[str]:
    """Everything a handler could write of a record: its formatted message, its raw message and
    arguments, any exception or stack text, and every other attribute."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = [formatter.format(record), str(record.msg), repr(record.args)]
    if record.exc_info:
        texts.append(formatter.formatException(record.exc_info))
    if record.stack_info:
        texts.append(record.stack_info)
    texts.extend(repr(value) for value in vars(record).values())
    return texts


def assert_no_secret_in_records(records: list[logging.LogRecord]) -> None:
    for record in records:
        assert_no_secret(texts_of_record(record))


def message_naming(records, method: str, path: str) -> list[str]:
    found = []
    for record in records:
        text = unquote(record.getMessage())
        if method in text and path in text:
            found.append(text)
    return found


# ============================================================================== logging


@BOTH_BACKENDS
def test_a_get_is_logged_with_method_and_path(make_api, server, caplog):
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        api = make_api(server)
        server.set_presence(CHAT, "online")
        api.get(CHAT)
    records = package_records(caplog)
    assert message_naming(records, "GET", route(server, "get", CHAT)), [r.getMessage() for r in records]
    assert_no_secret_in_records(records)


def test_a_retry_is_logged(make_api, server, caplog):
    # A retried status and a retried transport failure each log the retry.
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        api = make_api(server, max_retries=1)
        server.set_presence(CHAT, "online")
        server.fail_next(status=503)
        api.get(CHAT)
        retried_status = [r.getMessage() for r in package_records(caplog)]
        caplog.clear()
        server.fail_next(drop=True)
        api.set("online")
        retried_drop = [r.getMessage() for r in package_records(caplog)]
    assert any("retry" in m.lower() and "503" in m for m in retried_status), retried_status
    assert any("retry" in m.lower() for m in retried_drop), retried_drop
    assert_no_secret_in_records(caplog.records)


def test_a_successful_call_logs_at_debug_only(make_api, server, caplog):
    # A successful call is DEBUG chatter, not something a WARNING-level application sees.
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        api = make_api(server)
        api.set("online")
    records = package_records(caplog)
    assert records, "nothing was logged"
    assert all(r.levelno == logging.DEBUG for r in records), [(r.levelname, r.getMessage()) for r in records]


def failing_calls(api, server):
    """One call per kind of failure, each with the server's secret echoed where it can be."""
    secret = secret_of(server)
    server.fail_next(status=500, body=f"bad token {secret}")
    with pytest.raises(ServerError):
        api.get(CHAT)
    server.fail_next(status=429, body={"message": f"slow down {secret}"}, retry_after=0)
    with pytest.raises(RateLimitError):
        api.get_all()
    server.fail_next(status=200, body=f"<html>signed in as {secret}</html>")
    with pytest.raises(ProtocolError):
        api.get(CHAT)
    server.fail_next(status=401, body={"message": f"Unauthorized {secret}", "statusCode": 401})
    with pytest.raises(AuthenticationError):
        api.subscribe(CHAT)
    server.fail_next(drop=True)
    with pytest.raises(TransportError):
        api.set("online")
    server.fail_next(hang=True)
    with pytest.raises(RequestTimeout):
        api.get(CHAT)


@TWO_WAYS
def test_no_record_or_output_holds_a_secret_whatever_fails(make_api, server, caplog, capfd):
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        api = make_api(server, max_retries=0, timeout=0.2)
        server.set_presence(CHAT, "online")
        api.get(CHAT)
        api.set("online")
        api.get_all()
        with api.typing(CHAT):
            pass
        failing_calls(api, server)
    records = package_records(caplog)
    # Not a vacuous check: the calls were logged (at least those that got an answer).
    assert len(records) >= 5, [r.getMessage() for r in records]
    assert_no_secret_in_records(records)
    # And nothing else that was logged anywhere during the calls holds one either.
    assert_no_secret_in_records(caplog.records)
    assert_no_secret(caplog.text)
    assert_no_secret(list(capfd.readouterr()))


@BOTH_BACKENDS
def test_a_wrong_secret_sent_is_not_logged(wrong_secret_api, caplog):
    # The client's own (wrong) secret, refused with 401, is in no record.
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        with pytest.raises(AuthenticationError):
            wrong_secret_api.get(CHAT)
    records = package_records(caplog)
    assert records, "nothing was logged"
    assert_no_secret_in_records(records)


# ============================================================================== exceptions and reprs


def all_texts(value, seen=None) -> list[str]:
    """Every text reachable from `value` through attributes, containers and chained exceptions."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    texts = []
    if isinstance(value, (str, bytes)):
        return [value if isinstance(value, str) else value.decode("utf-8", "replace")]
    if isinstance(value, (int, float, bool, type(None))):
        return [repr(value)]
    texts.append(repr(value))
    if isinstance(value, BaseException):
        texts.append(str(value))
        texts.extend(traceback.format_exception(type(value), value, value.__traceback__))
        for inner in (value.args, value.__cause__, value.__context__, getattr(value, "__notes__", None)):
            texts.extend(all_texts(inner, seen))
    if isinstance(value, dict):
        for k, v in value.items():
            texts.extend(all_texts(k, seen) + all_texts(v, seen))
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            texts.extend(all_texts(item, seen))
    if hasattr(value, "__dict__") and not isinstance(value, type):
        texts.extend(all_texts(vars(value), seen))
    return texts


def caught_failures(api, server) -> list[BaseException]:
    caught = []
    secret = secret_of(server)
    faults = [
        dict(status=500, body=f"bad token {secret}"),
        dict(status=503, body={"message": f"down for {secret}", "code": secret}),
        dict(
            status=422, body={"error": "Session status is not as expected", "status": secret, "expected": ["WORKING"]}
        ),
        dict(status=200, body={"code": f"invalid_token {secret}", "message": f"token {secret} revoked"}),
        dict(status=200, body=f"<html>{secret}</html>"),
        dict(status=429, body=secret, retry_after=0),
        dict(drop=True),
        dict(hang=True),
    ]
    for fault in faults:
        server.fail_next(**fault)
        try:
            api.get(CHAT)
        except WawpError as exc:
            caught.append(exc)
    return caught


@TWO_WAYS
def test_no_exception_attribute_holds_a_secret(make_api, server):
    api = make_api(server, max_retries=0, timeout=0.2)
    caught = caught_failures(api, server)
    assert len(caught) == 8
    for exc in caught:
        assert_no_secret(all_texts(exc))


def test_a_retried_failure_holds_no_secret(make_api, server):
    api = make_api(server, max_retries=1)
    server.fail_next(status=503, body=f"nope {secret_of(server)}", times=2)
    with pytest.raises(ServerError) as caught:
        api.get(CHAT)
    assert caught.value.attempts == 2
    assert_no_secret(all_texts(caught.value))


@pytest.mark.parametrize("backend", ["wawp", "waha"])
def test_reprs_hold_no_secret(backend):
    with start_server(backend) as server:
        sync = build_client(PresenceClient, server)
        asynchronous = build_client(AsyncPresenceClient, server)
        texts = []
        for obj in (sync, asynchronous, server, sync.typing(CHAT), asynchronous.typing(CHAT)):
            texts += [repr(obj), str(obj)]
        sync.close()
        texts += [repr(sync)]
    assert_no_secret(texts)


# ============================================================================== panics

# Numbers too large for a Rust Duration. The right answer is a ValueError (or a WawpError) that
# names the option; a Rust panic is a crash report, and neither it nor what it prints may hold
# a secret.
HUGE_OPTIONS = [
    ("timeout", dict(timeout=1e300)),
    ("rate_limit", dict(rate_limit=1e-300)),
]


@pytest.mark.parametrize("name, options", HUGE_OPTIONS, ids=[name for name, _ in HUGE_OPTIONS])
def test_an_option_out_of_range_is_a_value_error_not_a_panic(name, options, capfd):
    cls = PresenceClient
    caught = None
    try:
        cls(instance_id="inst-1", access_token=TOKEN, base_url="http://127.0.0.1:9", **options)
    except BaseException as exc:
        caught = exc
    out, err = capfd.readouterr()
    assert_no_secret([out, err])
    assert caught is not None, f"{name}={options[name]} was accepted"
    assert_no_secret(all_texts(caught))
    assert isinstance(caught, ValueError), f"{type(caught).__module__}.{type(caught).__name__}: {caught}"
    assert name in str(caught)


def test_a_wait_out_of_range_is_a_value_error_not_a_panic(make_server, capfd):
    server = make_server("wawp")
    client = build_client(PresenceClient, server, max_retries=0)
    try:
        with pytest.raises(BaseException) as caught:
            client.get(CHAT, wait=1e300)
    finally:
        client.close()
    out, err = capfd.readouterr()
    assert_no_secret([out, err, *all_texts(caught.value)])
    assert isinstance(caught.value, ValueError), f"{type(caught.value).__name__}: {caught.value}"
    assert "wait" in str(caught.value)


def test_the_fake_refuses_a_delay_out_of_range(make_server):
    server: FakeServer = make_server("wawp")
    with pytest.raises(ValueError):
        server.fail_next(delay=1e300)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_level_changes_between_calls_take_effect_at_the_next_call(make_server):
    # The DEBUG question is answered from the logger's own cache when it can be: every way of
    # changing the level must still be seen by the very next call.
    server = make_server("waha")
    logger = logging.getLogger("wawp_presence")
    handler = Collect()
    logger.addHandler(handler)
    saved, saved_root = logger.level, logging.getLogger().level
    try:
        with build_client(PresenceClient, server) as client:
            logger.setLevel(logging.WARNING)
            client.get(CHAT)
            assert handler.messages == []
            logger.setLevel(logging.DEBUG)
            client.get(CHAT)
            assert len(handler.messages) == 1 and " -> 200 " in handler.messages[0]
            logging.disable(logging.DEBUG)
            client.get(CHAT)
            assert len(handler.messages) == 1
            logging.disable(logging.NOTSET)
            client.get(CHAT)
            assert len(handler.messages) == 2
            # A parent's level counts too.
            logger.setLevel(logging.NOTSET)
            logging.getLogger().setLevel(logging.INFO)
            client.get(CHAT)
            assert len(handler.messages) == 2
            logging.getLogger().setLevel(logging.DEBUG)
            client.get(CHAT)
            assert len(handler.messages) == 3
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)
        logging.getLogger().setLevel(saved_root)
