"""Bounds that hold whatever a caller asks for: connections per client, the watcher's pace, the
fake server's request log, and int arguments of any size.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from presence_helpers import CHAT, build_client
from process_helpers import FakeServerProcess

from wawp_presence import AsyncPresenceClient, PresenceClient
from wawp_presence.testing import FakeServer

IDS = [f"4474414{i:05d}@c.us" for i in range(200)]


# ============================================================================== connections


def test_a_huge_concurrency_opens_no_more_connections_than_max_connections(backend, make_server):
    server = make_server(backend)
    server.fail_next(delay=0.01, times=len(IDS))  # slow enough that every lookup would overlap
    with build_client(PresenceClient, server, max_connections=4) as client:
        chats = client.get_many(IDS, concurrency=10**9)
    assert [c.id for c in chats] == IDS
    traffic = server.traffic
    assert 2 <= traffic["peak_in_flight"] <= 4, traffic  # requests on the wire: strictly bounded
    # A request puts its connection back in the pool before it lets the next one start, so the
    # next one reuses it: never more connections than the bound, let alone one per lookup.
    assert traffic["peak_open_connections"] <= 4, traffic
    assert traffic["connections_opened"] <= 4, traffic


async def test_async_fan_out_and_gathered_calls_share_the_bound(make_server):
    import asyncio

    server = make_server("waha")
    server.fail_next(delay=0.01, times=60)
    async with build_client(AsyncPresenceClient, server, max_connections=3) as client:
        many, *single = await asyncio.gather(
            client.get_many(IDS[:30], concurrency=2**63), *(client.get(c) for c in IDS[30:60])
        )
    assert [c.id for c in many] + [c.id for c in single] == IDS[:60]
    assert server.traffic["peak_in_flight"] <= 3, server.traffic
    assert server.traffic["peak_open_connections"] <= 6, server.traffic


def test_the_default_bound_is_64(make_server):
    server = make_server("waha")
    server.fail_next(delay=0.02, times=len(IDS))
    with build_client(PresenceClient, server) as client:
        client.get_many(IDS, concurrency=len(IDS))
    traffic = server.traffic
    assert 8 < traffic["peak_in_flight"] <= 64, traffic  # beyond get_many's default, within the bound
    assert traffic["peak_open_connections"] <= 2 * 64, traffic  # in use plus idle, never one per id


FD_CHILD = r"""
import json, os, resource, sys
soft = 256
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from wawp_presence import PresenceClient

client = PresenceClient.waha(sys.argv[1], api_key=sys.argv[2], timeout=30, max_retries=0)
ids = ["4474414%05d@c.us" % i for i in range(5000)]
results = client.get_many(ids, concurrency=10**9, return_exceptions=True)
failed = [r for r in results if isinstance(r, Exception)]
# The open descriptors: /proc/self/fd on Linux, /dev/fd on macOS.
fds_after = len(os.listdir("/proc/self/fd" if sys.platform.startswith("linux") else "/dev/fd"))
# The process can still open files and import modules right after the fan-out.
files = [open(os.devnull) for _ in range(soft - fds_after - 16)]
for f in files:
    f.close()
import decimal, fractions, statistics  # noqa: F401 - modules not loaded yet
print(json.dumps({"ok": len(results) - len(failed), "failed": [repr(f) for f in failed[:3]], "fds": fds_after}))
"""


@pytest.mark.skipif(
    sys.platform == "win32",
    reason="Windows has no limit on open descriptors to lower (no resource.RLIMIT_NOFILE), nor a list of "
    "a process's open ones (/proc/self/fd, /dev/fd)",
)
def test_a_fan_out_of_5000_with_1024_file_descriptors_spare_leaves_the_process_usable():
    # The server runs in its own process, so its sockets do not count against the child's limit.
    with FakeServerProcess("waha") as outside:
        done = subprocess.run(
            [sys.executable, "-c", FD_CHILD, outside.url, outside.api_key],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["failed"] == [], report
    assert report["ok"] == 5000
    assert report["fds"] <= 64 + 32, report  # the connection bound plus what Python itself holds


@pytest.mark.parametrize("bad", [0, -1, 4097, 2**63, -(2**70)])
def test_max_connections_out_of_range_is_a_value_error(bad):
    with pytest.raises(ValueError, match="max_connections must be between 1 and 4096"):
        PresenceClient.waha("http://127.0.0.1:9", max_connections=bad)


def test_max_connections_survives_pickling():
    import pickle

    client = PresenceClient.waha("http://127.0.0.1:9", max_connections=5)
    copy = pickle.loads(pickle.dumps(client))
    assert copy.__getnewargs_ex__()[1]["max_connections"] == 5


# ============================================================================== int arguments of any size


def test_concurrency_of_any_size_works_and_below_one_is_a_value_error(make_server):
    server = make_server("waha")
    with build_client(PresenceClient, server) as client:
        assert [c.id for c in client.get_many(IDS[:5], concurrency=2**63)] == IDS[:5]
        assert [c.id for c in client.get_many(IDS[:5], concurrency=10**100)] == IDS[:5]
        for bad in (0, -1, -(2**63) - 1, -(10**100)):
            with pytest.raises(ValueError, match="concurrency must be at least 1"):
                client.get_many(IDS[:5], concurrency=bad)
        with pytest.raises(TypeError):
            client.get_many(IDS[:5], concurrency=2.5)
    assert len(server.requests) == 10  # the refused calls sent nothing


@pytest.mark.parametrize("bad", [-1, 101, 2**63, 2**64 + 1, -(2**70)])
def test_max_retries_out_of_range_is_a_value_error(bad):
    with pytest.raises(ValueError, match="max_retries must be between 0 and 100"):
        PresenceClient.waha("http://127.0.0.1:9", max_retries=bad)


@pytest.mark.parametrize(
    "option, value", [("port", 2**16), ("port", -1), ("port", 2**64), ("request_log", -1), ("request_log", 2**70)]
)
def test_fake_server_int_options_out_of_range_are_value_errors(option, value):
    with pytest.raises(ValueError, match=option):
        FakeServer("waha", **{option: value})


def test_fake_server_fail_next_ints_out_of_range_are_value_errors(make_server):
    server = make_server("waha")
    for kwargs in ({"status": 2**64}, {"status": 99}, {"delay": 0.1, "times": 2**63}, {"delay": 0.1, "times": -1}):
        with pytest.raises(ValueError):
            server.fail_next(**kwargs)


# ============================================================================== the watcher's pace


@pytest.mark.parametrize("cls", [PresenceClient, AsyncPresenceClient], ids=["sync", "async"])
@pytest.mark.parametrize("interval", [0.0, 1e-6, 0.049])
def test_watch_refuses_an_interval_below_the_floor(cls, interval):
    client = cls.waha("http://127.0.0.1:9")
    with pytest.raises(ValueError, match=r"interval must be at least 0\.05 seconds"):
        client.watch([CHAT], interval=interval)
    with pytest.raises(ValueError, match=r"resubscribe must be at least 0\.05 seconds"):
        client.watch([CHAT], interval=1.0, resubscribe=interval)


def test_watch_at_the_floor_polls_at_most_twenty_times_a_second(make_server):
    server = make_server("waha")
    server.set_presence(CHAT, "online")
    with build_client(PresenceClient, server) as client:
        changes = client.watch([CHAT], interval=0.05)
        assert next(changes).current == "online"
        server.clear_requests()
        started = time.monotonic()
        seen = 0
        while time.monotonic() - started < 0.5:
            server.set_presence(CHAT, "online" if seen % 2 else "offline")
            next(changes)
            seen += 1
        elapsed = time.monotonic() - started
    gets = [r for r in server.requests if r["method"] == "GET"]
    assert len(gets) <= elapsed / 0.05 + 2, (len(gets), elapsed)


# ============================================================================== the fake's request log


def test_fake_request_log_keeps_the_most_recent(make_server):
    server = make_server("waha", request_log=5)
    assert server.request_log == 5
    with build_client(PresenceClient, server) as client:
        for chat in IDS[:20]:
            client.get(chat)
    assert [r["path"].rsplit("/", 1)[-1].replace("%40", "@") for r in server.requests] == IDS[15:20]
    assert server.traffic["connections_opened"] >= 1


def test_fake_request_log_defaults_to_10_000_and_zero_keeps_none(make_server):
    assert make_server("wawp").request_log == 10_000
    silent = make_server("waha", request_log=0)
    with build_client(PresenceClient, silent) as client:
        client.get(CHAT)
    assert silent.requests == []


def test_standalone_fake_takes_request_log():
    done = subprocess.run(
        [sys.executable, "-m", "wawp_presence.testing", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "--request-log" in done.stdout
