"""The commands a user runs: the demo (README's first command) and the standalone fake server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

from wawp_presence import PresenceClient


def test_demo_prints_presences_read_from_the_fake_server():
    done = subprocess.run([sys.executable, "-m", "wawp_presence.demo"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # Presences read through the client: an online contact, a last-seen time, a group's members.
    assert re.search(r"447441429009@c\.us\s+online=True", out), out
    assert re.search(r"447700900123@c\.us\s+online=False last_seen=\d{4}-\d\d-\d\dT", out), out
    assert "447000000001@c.us            typing" in out
    assert "AuthenticationError" in out
    assert re.search(r"(\d+) requests went over real HTTP", out)
    # The demo's fake credentials are printed in the repr's instance id only, never the token.
    assert "access_token=***" in out and "access_token=" not in out.replace("access_token=***", "")


def test_fake_server_runs_standalone():
    proc = subprocess.Popen(
        [sys.executable, "-m", "wawp_presence.testing", "--backend", "waha", "--port", "0", "--api-key", "k-123"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert match, first + proc.stderr.read()
        url = match.group(1)
        # A real client can use it...
        client = PresenceClient.waha(url, api_key="k-123", max_retries=0)
        client.set("online")
        assert client.get("447441429009@c.us").has_data is False
        # ...and it checks the key like WAHA does.
        req = urllib.request.Request(f"{url}/api/default/presence", headers={"X-Api-Key": "wrong"})
        try:
            urllib.request.urlopen(req, timeout=5)
            raise AssertionError("a wrong API key was accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 401
            assert json.loads(e.read())["statusCode"] == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "k-123" not in first


EXIT_RIGHT_AFTER_ASYNC = r"""
import asyncio, threading
from wawp_presence import AsyncPresenceClient
from wawp_presence.testing import FakeServer

def spin():  # contends for the GIL, as a busy application does
    while True:
        sum(range(1000))

threading.Thread(target=spin, daemon=True).start()
server = FakeServer()
server.set_presence("447441429009@c.us", "online")

async def main():
    client = AsyncPresenceClient(server.instance_id, server.access_token, base_url=server.url)
    await asyncio.gather(*(client.get("447441429009@c.us") for _ in range(20)))

asyncio.run(main())
print("done", flush=True)
"""


def test_the_interpreter_exits_cleanly_right_after_async_calls():
    # A runtime thread inside Python while the interpreter finalizes would crash the process;
    # none ever enters it (results reach asyncio through a socket), and this keeps it so. Each
    # run ends straight after its last awaited call, with another thread contending for the GIL.
    for _ in range(12):
        done = subprocess.run(
            [sys.executable, "-c", EXIT_RIGHT_AFTER_ASYNC], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0 and done.stdout == "done\n", done.stderr[-2000:]
        assert "Fatal Python error" not in done.stderr
