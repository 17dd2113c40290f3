"""`get_many(..., progress=...)`: a callable told `(done, total)` in the caller's thread (sync) or on
its event loop (async), at most about ten times a second and once at the end; `True` for a bar
(tqdm when installed, else one self-rewriting stderr line)."""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
import time

import pytest
from presence_helpers import CHAT, TWO_WAYS, build_client

from wawp_presence import AsyncPresenceClient, PresenceClient, ServerError

IDS = [f"4474414{n:05d}@c.us" for n in range(40)]


def slow_server(server, seconds: float = 0.05) -> None:
    """Each lookup answers after `seconds`, so a bulk lookup takes a while."""
    server.fail_next(status=200, body={"id": CHAT, "presences": []}, delay=seconds, times=len(IDS))


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, float, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total, time.monotonic(), threading.get_ident()))


@TWO_WAYS
def test_a_callable_is_told_at_most_ten_times_a_second_and_once_at_the_end(api, server):
    slow_server(server)
    recorder = Recorder()
    results = api.get_many(IDS, concurrency=2, progress=recorder)
    assert len(results) == len(IDS)
    calls = recorder.calls
    assert calls[-1][:2] == (len(IDS), len(IDS))
    assert len(calls) >= 3, calls  # about a second of lookups: reports along the way
    done = [c[0] for c in calls]
    assert done == sorted(done) and all(c[1] == len(IDS) for c in calls)
    assert done.count(len(IDS)) == 1  # the end is told once
    # At most one report per 0.1 s before the last (a little slack for the clock's grain).
    gaps = [b[2] - a[2] for a, b in itertools.pairwise(calls[:-1])]
    assert all(gap >= 0.09 for gap in gaps), gaps


def test_the_sync_callable_runs_in_the_calling_thread(client, server):
    slow_server(server)
    recorder = Recorder()
    client.get_many(IDS, concurrency=4, progress=recorder)
    assert {c[3] for c in recorder.calls} == {threading.get_ident()}


def test_the_async_callable_runs_on_the_event_loop(server):
    slow_server(server)
    recorder = Recorder()
    seen_loops = []

    def on_progress(done: int, total: int) -> None:
        seen_loops.append(asyncio.get_running_loop())
        recorder(done, total)

    async def main() -> asyncio.AbstractEventLoop:
        aclient = build_client(AsyncPresenceClient, server, max_retries=0)
        call = aclient.get_many(IDS, concurrency=4, progress=on_progress)
        assert asyncio.iscoroutine(call)
        await call
        return asyncio.get_running_loop()

    loop = asyncio.run(main())
    assert seen_loops and all(seen is loop for seen in seen_loops)
    assert recorder.calls[-1][:2] == (len(IDS), len(IDS))


@TWO_WAYS
def test_an_empty_input_reports_once(api):
    recorder = Recorder()
    assert api.get_many([], progress=recorder) == []
    assert [c[:2] for c in recorder.calls] == [(0, 0)]


@TWO_WAYS
def test_failures_count_as_done_and_the_end_is_reported(api, server):
    recorder = Recorder()
    results = api.get_many([CHAT, "not a chat id"], return_exceptions=True, progress=recorder)
    assert isinstance(results[1], ValueError)
    assert recorder.calls[-1][:2] == (2, 2)


def test_a_call_that_fails_reports_how_far_it_got(client, server):
    server.fail_next(status=500, times=100)
    recorder = Recorder()
    with pytest.raises(ServerError):
        client.get_many(IDS, progress=recorder)
    assert recorder.calls and recorder.calls[-1][1] == len(IDS)


def test_a_raising_callable_stops_the_lookup_with_its_exception(client, server):
    slow_server(server, 0.1)

    def broken(done: int, total: int) -> None:
        raise LookupError("progress broke")

    with pytest.raises(LookupError, match="progress broke"):
        client.get_many(IDS, concurrency=1, progress=broken)


def test_false_and_none_report_nothing(client, server, capsys):
    assert len(client.get_many([CHAT], progress=False)) == 1
    assert len(client.get_many([CHAT], progress=None)) == 1
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("progress", [1, "yes", object()])
def test_anything_else_is_a_type_error_before_anything_is_sent(client, server, progress):
    with pytest.raises(TypeError, match="progress must be"):
        client.get_many([CHAT], progress=progress)
    assert server.requests == []


def test_true_without_tqdm_draws_one_line_on_stderr(client, server, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    slow_server(server)
    client.get_many(IDS, concurrency=4, progress=True)
    err = capsys.readouterr().err
    assert err.endswith(f"get_many: {len(IDS)}/{len(IDS)} chats (100%)\n"), repr(err[-80:])
    assert err.count("\n") == 1 and err.startswith("\r")


def test_true_with_tqdm_draws_a_tqdm_bar(client, server, capsys):
    import tqdm  # noqa: F401 - installed with the test extra; this test is about it

    slow_server(server)
    client.get_many(IDS, concurrency=4, progress=True)
    err = capsys.readouterr().err
    assert "get_many" in err and f"{len(IDS)}/{len(IDS)}" in err and "chat" in err


def test_ctrl_c_stops_a_blocking_get_many_with_progress_promptly(server):
    import _thread

    server.fail_next(status=200, body={"id": CHAT, "presences": []}, delay=30, times=len(IDS))
    client = build_client(PresenceClient, server, max_retries=0, timeout=60)
    recorder = Recorder()
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        client.get_many(IDS, progress=recorder)
    stopped_after = time.monotonic() - started - 0.3
    timer.cancel()
    assert stopped_after < 10, stopped_after  # far below the 30 s the server would take
    assert recorder.calls[-1][:2] == (0, len(IDS))  # the end is reported (and a bar closed)
    client.close()
