"""README.md's fault table stays true: every row of `## Faults` has a scenario here, keyed by the
row's first cell, that makes the fault happen over real HTTP on 127.0.0.1 and checks what the
row says: the exception classes named in backticks in "what you see" (`.name` there is an
attribute each exception must carry), or "works". A row without a scenario fails, and so does a
scenario without a row.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from presence_helpers import CHAT, HANG_BOUND_SECONDS, build_client, start_server
from process_helpers import FakeServerProcess, interrupt_blocking_call, run_in_fork, run_with_deadline
from raw_servers import RawServer, answer, drip, hold_until_closed, stream_body

import wawp_presence
from wawp_presence import AsyncPresenceClient, PresenceClient

README = Path(__file__).resolve().parent.parent / "README.md"
HEADER = ["fault", "what the client does", "what you see"]
WORKS = "works"


# ============================================================================== reading the table


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def read_fault_table(path: Path = README) -> dict[str, list[str]]:
    """{first cell: the row's cells} of the table under `## Faults`."""
    text = path.read_text(encoding="utf-8")
    section = re.search(r"^## Faults[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, f"{path.name} has no '## Faults' section"
    lines = [line for line in section.group(1).splitlines() if line.strip().startswith("|")]
    assert len(lines) >= 3, "the Faults section has no table"
    assert cells(lines[0]) == HEADER, cells(lines[0])
    assert all(set(cell) <= set("-: ") for cell in cells(lines[1])), "the table's second line is not a separator"
    rows: dict[str, list[str]] = {}
    for line in lines[2:]:
        row = cells(line)
        assert len(row) == len(HEADER), f"row {line!r} does not have {len(HEADER)} cells"
        assert row[0] not in rows, f"two rows for {row[0]!r}"
        rows[row[0]] = row
    return rows


def resolve(name: str) -> type[BaseException] | None:
    for namespace in (wawp_presence, builtins, asyncio):
        found = getattr(namespace, name, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    return None


def what_you_see(cell: str) -> tuple[list[type[BaseException]], list[str], bool]:
    """(exception classes named, attributes named as `.name`, whether the cell says "works")."""
    classes, attributes = [], []
    for token in re.findall(r"`([^`]+)`", cell):
        if token.startswith("."):
            attributes.append(token[1:])
        elif token[:1].isupper():
            cls = resolve(token)
            assert cls is not None, f"`{token}` names no exception class"
            classes.append(cls)
        # anything else in backticks (e.g. `code`) is prose
    works = cell.strip().lower() == WORKS
    assert classes or works, f"{cell!r} names no exception class and does not say {WORKS!r}"
    return classes, attributes, works


# ============================================================================== scenarios
#
# Each returns what the user saw, one item per time the fault was made to happen: the exception
# raised, or WORKS. Each also checks "what the client does" where a test can see it.


def sync_client(server, **options) -> PresenceClient:
    return build_client(PresenceClient, server, **options)


def raised(call: Callable[[], object], unstick: Callable[[], None] = lambda: None) -> BaseException:
    """The exception `call()` raises; `unstick()` ends it if it hangs (and the test fails)."""
    _, outcome = run_with_deadline(call, HANG_BOUND_SECONDS * 2, unstick)
    if not isinstance(outcome, BaseException):
        pytest.fail(f"the call did not fail: it returned {outcome!r}")
    return outcome


def with_client(server, call, **options) -> BaseException:
    client = sync_client(server, **options)
    try:
        return raised(lambda: call(client), server.stop)
    finally:
        client.close()


def connection_refused_or_dropped():
    outcomes = []
    with start_server("waha") as gone:
        pass  # stopped: its port refuses connections
    refused = with_client(gone, lambda c: c.get(CHAT), max_retries=1)
    assert getattr(refused, "attempts", None) == 2  # retried
    outcomes.append(refused)
    with start_server("wawp") as server:
        server.fail_next(drop=True, times=5)
        outcomes.append(with_client(server, lambda c: c.set("online"), max_retries=1))
        assert len(server.requests) == 2  # retried
    return outcomes


def no_answer_within_timeout():
    with start_server("wawp") as server:
        server.fail_next(hang=True, times=5)
        started = time.monotonic()
        exc = with_client(server, lambda c: c.get(CHAT), max_retries=1, timeout=0.2)
        assert len(server.requests) == 2  # retried; each attempt bounded
        assert time.monotonic() - started < 0.4 + HANG_BOUND_SECONDS
    return [exc]


def as_waha(raw: RawServer) -> SimpleNamespace:
    """What build_client needs to aim a WAHA client at a raw server."""
    return SimpleNamespace(backend="waha", session="default", api_key=None, url=raw.url, stop=raw.stop)


def too_many_requests():
    # Backoff alone would retry within 0.5 s; the server asks for 0.7 s (a fraction is allowed).
    too_many = answer(429, b'{"message": "Too Many Requests", "statusCode": 429}', {"Retry-After": "0.7"})
    with RawServer(too_many) as raw:
        exc = with_client(as_waha(raw), lambda c: c.get(CHAT), max_retries=1)
        arrivals = list(raw.arrivals)
    assert len(arrivals) == 2  # retried ...
    assert arrivals[1] - arrivals[0] >= 0.65  # ... after the Retry-After
    assert exc.retry_after == pytest.approx(0.7)  # the final error keeps what the server said
    assert exc.attempts == 2 and "after 2 attempts" in str(exc)
    return [exc]


def server_error():
    with start_server("waha") as server:
        server.fail_next(status=503, body="<html>down</html>", times=5)

        async def run():
            async with build_client(AsyncPresenceClient, server, max_retries=1) as client:
                await client.get(CHAT)

        exc = raised(lambda: asyncio.run(run()))
        assert len(server.requests) == 2  # retried
    return [exc]


CLIENT_ERRORS = [
    (400, {"detail": "chatId is not valid"}),
    (401, {"message": "Unauthorized", "statusCode": 401}),
    (403, {"code": "quota_reached", "message": "Quota reached"}),
    (404, {"message": "We didn't find a session with name 'default'.", "statusCode": 404}),
    (422, {"error": "Session status is not as expected", "status": "SCAN_QR_CODE", "expected": ["WORKING"]}),
    (422, {"message": "The method is not implemented by the engine WEBJS", "statusCode": 422}),
]


def client_errors():
    outcomes = []
    with start_server("wawp") as server:
        for status, body in CLIENT_ERRORS:
            server.reset()
            server.fail_next(status=status, body=body, times=5)
            outcomes.append(with_client(server, lambda c: c.get(CHAT), max_retries=2))
            assert len(server.requests) == 1  # never retried
            assert outcomes[-1].attempts == 1 and "attempts" not in str(outcomes[-1])
    return outcomes


def error_body_in_2xx():
    outcomes = []
    with start_server("wawp") as server:
        for body in (
            {"code": "instance_not_found", "message": "Instance not found"},
            {"code": "quota_reached", "message": "Quota reached"},
        ):
            server.reset()
            server.fail_next(status=200, body=body, times=5)
            outcomes.append(with_client(server, lambda c: c.subscribe(CHAT), max_retries=2))
            assert len(server.requests) == 1  # never retried
    assert type(outcomes[1]) is wawp_presence.PermissionDeniedError  # the subclass its code names
    return outcomes


def not_the_api_shape():
    outcomes = []
    with start_server("waha") as server:
        for fault in (
            dict(status=200, body="<!DOCTYPE html><html>Sign in</html>"),
            dict(status=200, body={"foo": 1}),
            dict(malformed=True),
        ):
            server.reset()
            server.fail_next(times=5, **fault)
            outcomes.append(with_client(server, lambda c: c.get(CHAT), max_retries=2))
            assert len(server.requests) == 1  # never retried
    return outcomes


def larger_than_8_mib():
    head, tail = b'{"id": "%s", "presences": [], "pad": "' % CHAT.encode(), b'"}'
    outcomes = []
    with start_server("wawp") as server:
        server.fail_next(status=200, body=head + b"x" * (9 * 1024 * 1024) + tail)
        outcomes.append(with_client(server, lambda c: c.get(CHAT), max_retries=0))
    with RawServer(stream_body(64 * 1024 * 1024, framing="chunked", head=head, tail=tail)) as raw:
        outcomes.append(with_client(as_waha(raw), lambda c: c.get(CHAT), max_retries=0, timeout=20))
    return outcomes


def nested_or_invalid_utf8():
    outcomes = []
    with start_server("wawp") as server:
        for body in ("[" * 100_000, b'{"id": "\xff\xfe", "presences": []}'):
            server.fail_next(status=200, body=body)
            outcomes.append(with_client(server, lambda c: c.get(CHAT), max_retries=0))
    return outcomes


def trickling_body():
    # One byte of the body every 0.1 s, forever: each read makes progress, the attempt has 0.5 s.
    with RawServer(drip(interval=0.1)) as raw:
        started = time.monotonic()
        exc = with_client(as_waha(raw), lambda c: c.get(CHAT), max_retries=0, timeout=0.5)
        assert 0.45 <= time.monotonic() - started < 0.5 + HANG_BOUND_SECONDS
    return [exc]


def ctrl_c():
    # The timing (within 0.5 s, allowing for a loaded machine) is test_interrupts.py's.
    result = interrupt_blocking_call("hang")
    assert "delay" in result, result
    assert result["closed"] is not None, result  # the request is aborted
    assert result["after"] == "after True 1", result  # the client stays usable
    return [KeyboardInterrupt()]


def task_cancelled():
    async def run():
        with RawServer(hold_until_closed) as raw:
            async with AsyncPresenceClient.waha(raw.url, timeout=30, max_retries=0) as client:

                async def call():
                    return await client.get(CHAT)

                task = asyncio.create_task(call())
                while not raw.request_seen.is_set():
                    await asyncio.sleep(0.02)
                cancelled_at = time.monotonic()
                task.cancel()
                try:
                    await task
                except BaseException as exc:
                    outcome = exc
                else:
                    pytest.fail("the cancelled task returned")
                assert await asyncio.to_thread(raw.client_closed.wait, 5.0), "the connection stayed open"
                # closed at once, not at the 30 s timeout (loose for a loaded machine)
                assert raw.closed_at[0] - cancelled_at < 2.5
        return outcome

    return [asyncio.run(asyncio.wait_for(run(), 20))]


def process_forked():
    with FakeServerProcess("wawp") as outside:
        client = sync_client(outside, max_retries=0, timeout=5)
        try:
            client.subscribe(CHAT)

            def child():
                client.subscribe(CHAT)  # the same client
                with sync_client(outside, max_retries=0, timeout=5) as fresh:  # and a new one
                    assert fresh.get(CHAT).id == CHAT

            status, output = run_in_fork(child, 10.0)
        finally:
            client.close()
    assert status == "ok", f"the forked child {status}: {output}"
    return [WORKS]


def more_requests_than_max_connections():
    ids = [f"4474414{i:05d}@c.us" for i in range(40)]
    with start_server("waha") as server:
        server.fail_next(delay=0.02, times=len(ids))
        with sync_client(server, max_connections=2, timeout=0.5) as client:
            # 40 lookups of 20 ms, two at a time: 0.4 s of queueing that the timeout ignores.
            chats = client.get_many(ids, concurrency=1000)
        assert [c.id for c in chats] == ids
        assert server.traffic["peak_in_flight"] <= 2, server.traffic
        assert server.traffic["peak_open_connections"] <= 4, server.traffic  # in use + idle
    return [WORKS]


def unreachable_proxy():
    import os

    with RawServer(answer(200, b"")) as gone:
        port = gone.port
    saved = {name: os.environ.pop(name, None) for name in ("NO_PROXY", "no_proxy", "REQUEST_METHOD")}
    os.environ["HTTP_PROXY"] = f"http://user:pw-SECRET@127.0.0.1:{port}"
    try:
        with start_server("waha") as server:
            exc = with_client(server, lambda c: c.get(CHAT), max_retries=1)
            assert server.requests == []
    finally:
        del os.environ["HTTP_PROXY"]
        os.environ.update({k: v for k, v in saved.items() if v is not None})
    assert getattr(exc, "attempts", None) == 2  # retried
    assert f"proxy http://***@127.0.0.1:{port}" in str(exc)
    assert "pw-SECRET" not in str(exc)
    return [exc]


def echoed_credential():
    from urllib.parse import quote, quote_plus

    token = "tok_SECRET+abc/def== x"
    forms = [
        token,
        quote(token, safe=""),
        quote_plus(token, safe=""),
        quote(token, safe="").lower(),
        json.dumps(token)[1:-1],
    ]
    body = json.dumps({"message": "Unauthorized", "forms": forms}).encode()
    with RawServer(answer(401, body)) as raw:
        client = PresenceClient(instance_id="i", access_token=token, base_url=raw.url, max_retries=0)
        exc = raised(lambda: client.get(CHAT), raw.stop)
        client.close()
    assert "SECRET" not in f"{exc} {exc.body} {exc.url}"
    return [exc]


SCENARIOS: dict[str, Callable[[], list]] = {
    "connection refused or dropped": connection_refused_or_dropped,
    "no complete answer within `timeout`": no_answer_within_timeout,
    "429 Too Many Requests": too_many_requests,
    "5xx server error": server_error,
    "400, 401, 403, 404, 422": client_errors,
    "2xx carrying an error body": error_body_in_2xx,
    "2xx that is not JSON, or not the API's shape": not_the_api_shape,
    "answer larger than 8 MiB": larger_than_8_mib,
    "deeply nested or invalid UTF-8 JSON": nested_or_invalid_utf8,
    "body that trickles in slowly": trickling_body,
    "Ctrl-C during a blocking call": ctrl_c,
    "asyncio task cancelled": task_cancelled,
    "process forked": process_forked,
    "more requests at once than `max_connections`": more_requests_than_max_connections,
    "proxy from `HTTP_PROXY` / `HTTPS_PROXY` unreachable": unreachable_proxy,
    "server echoes a credential back": echoed_credential,
}

# Rows whose fault cannot happen on some platform.
PLATFORM_SKIPS = {
    "process forked": pytest.mark.skipif(sys.platform == "win32", reason="os.fork does not exist on Windows"),
}


# ============================================================================== the tests


def table_keys() -> list[str]:
    try:
        return list(read_fault_table())
    except AssertionError:
        return []  # test_the_readme_has_a_fault_table says why


def test_the_readme_has_a_fault_table():
    rows = read_fault_table()
    assert rows
    for row in rows.values():
        what_you_see(row[2])


@pytest.mark.parametrize(
    "key", [pytest.param(key, marks=PLATFORM_SKIPS.get(key, ())) for key in sorted(set(table_keys()) | set(SCENARIOS))]
)
def test_fault_row(key):
    rows = read_fault_table()
    assert key in SCENARIOS, f"README row {key!r} has no scenario in {Path(__file__).name}"
    assert key in rows, f"scenario {key!r} has no row in README.md's fault table"
    classes, attributes, works = what_you_see(rows[key][2])
    outcomes = SCENARIOS[key]()
    assert outcomes, "the scenario saw nothing"
    for outcome in outcomes:
        if outcome == WORKS:
            assert works, f"the row says {rows[key][2]!r}, but it worked"
            continue
        assert isinstance(outcome, BaseException), outcome
        assert any(isinstance(outcome, cls) for cls in classes), (
            f"saw {type(outcome).__name__}: {outcome}; the row says {rows[key][2]!r}"
        )
        for attribute in attributes:
            assert getattr(outcome, attribute, None) is not None, f"{type(outcome).__name__} has no .{attribute}"
    for cls in classes:
        assert any(isinstance(o, cls) for o in outcomes if o != WORKS), f"the row names {cls.__name__}, never seen"
    if works:
        assert WORKS in outcomes
