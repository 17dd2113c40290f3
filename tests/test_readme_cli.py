"""The command-line examples of README.md run as written in a shell, against fake servers: the
Wawp settings come from the environment (as the README says), `http://localhost:3000` and port
3000 become a free port of a WAHA fake, and the two commands that run until Ctrl-C get one. jq
writes to a pipe in blocks (to a terminal, line by line), so here it is told `--unbuffered`."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from presence_helpers import CHAT, TOKEN, assert_no_secret, start_server

README = Path(__file__).resolve().parent.parent / "README.md"


def command_lines() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The command line") : text.index("## Webhooks")]
    [fence] = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line.split("  #")[0].strip() for line in fence.splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    sys.platform == "win32",
    reason="the examples are bash command lines, and the two that run until Ctrl-C are stopped with "
    "SIGINT to their process group (os.killpg): Windows has no process-group signals",
)
def test_the_command_line_examples_run(tmp_path):
    wawp = start_server("wawp")
    port = free_port()
    waha = start_server("waha", api_key=None, port=port)
    for server in (wawp, waha):
        server.set_presence(CHAT, "online")
        server.set_presence("447700900123@c.us", "offline", last_seen=1_764_000_000)
    (tmp_path / "contacts.txt").write_text(f"{CHAT}\n+44 7700 900123\n")
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAWP_", "WAHA_"))}
    env.update(
        PATH=bin_dir + os.pathsep + env.get("PATH", ""),
        WAWP_INSTANCE_ID=wawp.instance_id,
        WAWP_ACCESS_TOKEN=TOKEN,
        WAWP_BASE_URL=wawp.url,
    )
    lines = command_lines()
    assert len(lines) >= 6 and all(line.startswith("wawp-presence ") for line in lines)
    for line in lines:
        line = line.replace("http://localhost:3000", f"http://127.0.0.1:{port}")
        if " fake " in f"{line} ":
            waha.stop()  # the example's own fake takes the port
            line = line.replace("--port 3000", f"--port {port}")
        if "| jq" in line and shutil.which("jq") is not None:
            line = line.replace("| jq ", "| jq --unbuffered ")
        elif "| jq" in line:
            line = (
                line.split("| jq")[0]
                + "| python -c 'import json,sys; [print(json.loads(l)[\"state\"]) for l in sys.stdin]'"
            )
        if " watch " in line or " fake " in line:
            output = run_until_first_line(line, env, tmp_path)
            assert output.strip(), line
            if " watch " in line:
                assert output.strip() == '"online"', output
            else:
                assert output.startswith("url=http://127.0.0.1:"), output
        else:
            done = subprocess.run(
                ["bash", "-c", line], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            assert_no_secret([done.stdout, done.stderr])
    csv_lines = (tmp_path / "presence.csv").read_text().splitlines()
    assert csv_lines[0] == "chat_id,participant,state,last_seen,observed_at,previous,error"
    assert len(csv_lines) == 3
    # (the other POST is the watch subscribing)
    assert [r["json"] for r in wawp.requests if r["method"] == "POST" and r["json"]] == [{"presence": "online"}]
    wawp.stop()


def run_until_first_line(line: str, env: dict[str, str], cwd: Path) -> str:
    """Starts a command that runs until Ctrl-C, reads its first line, then interrupts it."""
    proc = subprocess.Popen(
        ["bash", "-c", line],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20.0)
        assert ready, f"no output within 20 s from: {line}"
        first = proc.stdout.readline()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return first
