"""The installed ``wawp-presence`` command, run as a user runs it: a separate process talking to a
fake server that this test process serves (from its own thread)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from presence_helpers import API_KEY, CHAT, CHAT2, GROUP, TOKEN, assert_no_secret, start_server
from process_helpers import LineReader, ctrl_c_options, press_ctrl_c

from wawp_presence import PresenceClient

COLUMNS = ["chat_id", "participant", "state", "last_seen", "observed_at", "previous", "error"]
MEMBER1 = "447000000001@c.us"
MEMBER2 = "447000000002@c.us"
LAST_SEEN = 1_700_000_000  # 2023-11-14 22:13:20 UTC
DEADLINE = 20.0  # seconds a running command gets to show what the test waits for


def _command() -> str:
    # Windows: the console script is wawp-presence.exe, in the environment's Scripts folder.
    beside_python = Path(sys.executable).with_name("wawp-presence.exe" if sys.platform == "win32" else "wawp-presence")
    found = str(beside_python) if beside_python.exists() else shutil.which("wawp-presence")
    if found is None:
        pytest.fail("the wawp-presence command is not installed (run `maturin develop` in the venv)")
    return found


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any WAWP_/WAHA_ variable, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAWP_", "WAHA_"))}
    env.update(values)
    return env


def wawp_env(server, token: str = TOKEN) -> dict[str, str]:
    return clean_env(WAWP_INSTANCE_ID=server.instance_id, WAWP_ACCESS_TOKEN=token, WAWP_BASE_URL=server.url)


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Runs the command to its end; no run may show a secret, nor a traceback."""
    done = subprocess.run([_command(), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)
    assert_no_secret([done.stdout, done.stderr])
    assert "Traceback" not in done.stderr, done.stderr
    return done


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [_command(), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **ctrl_c_options(),
    )


def interrupt(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl-C (SIGINT; Ctrl-Break on Windows), then the exit status and stderr."""
    try:
        press_ctrl_c(proc)
        code = proc.wait(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return code, stderr


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def wawp():
    server = start_server("wawp")
    yield server
    server.stop()


@pytest.fixture
def waha():
    server = start_server("waha", session="work")
    yield server
    server.stop()


def seed(server) -> None:
    """CHAT online, GROUP with two members (one last seen at LAST_SEEN), CHAT2 without data."""
    server.set_presence(CHAT, "online")
    server.set_presence(GROUP, "typing", participant=MEMBER1)
    server.set_presence(GROUP, "offline", last_seen=LAST_SEEN, participant=MEMBER2)


def waha_args(server) -> list[str]:
    return ["--waha", server.url, "--session", server.session]


# --------------------------------------------------------------------------------------------
# get


def test_get_prints_a_table_for_people(wawp):
    seed(wawp)
    done = run(["get", CHAT, GROUP, CHAT2], wawp_env(wawp))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["CHAT", "PARTICIPANT", "STATE", "LAST", "SEEN"]
    assert lines[1].split()[:4] == [CHAT, CHAT, "online", "-"]
    member2 = next(line for line in lines if MEMBER2 in line)
    assert "offline" in member2 and "2023-11-14 22:13:20 UTC (" in member2
    assert any(MEMBER1 in line and "typing" in line for line in lines)
    no_data = next(line for line in lines if line.startswith(CHAT2))
    assert "no data yet" in no_data
    # aligned: the state column starts at the same place on every line
    assert lines[1].index("online") == lines[0].index("STATE")
    assert no_data.index("no data yet") == lines[0].index("STATE")


def test_get_json_gives_the_seven_columns_with_iso_datetimes(wawp):
    seed(wawp)
    done = run(["get", CHAT, GROUP, "+44 7700 900123", "--format", "json"], wawp_env(wawp))
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [list(row) for row in rows] == [COLUMNS] * 4
    assert rows[0] == dict.fromkeys(COLUMNS) | {"chat_id": CHAT, "participant": CHAT, "state": "online"}
    by_member = {row["participant"]: row for row in rows if row["chat_id"] == GROUP}
    assert by_member[MEMBER1]["state"] == "typing"
    assert by_member[MEMBER2]["state"] == "offline"
    seen = datetime.fromisoformat(by_member[MEMBER2]["last_seen"])
    assert seen == datetime.fromtimestamp(LAST_SEEN, timezone.utc) and seen.utcoffset().total_seconds() == 0
    # a chat without data: one row, with no participant, state or last-seen time
    assert rows[3] == dict.fromkeys(COLUMNS) | {"chat_id": CHAT2}


def test_get_csv_reads_ids_from_stdin_on_waha(waha):
    seed(waha)
    env = clean_env(WAHA_API_KEY=API_KEY)
    done = run(
        [*waha_args(waha), "get", "-", "--format", "csv"], env, stdin=f"{CHAT}\n\n  +44 7700 900123 \n\n{GROUP}\n"
    )
    assert done.returncode == 0, done.stderr
    table = list(csv.reader(io.StringIO(done.stdout)))
    assert table[0] == COLUMNS
    rows = [dict(zip(COLUMNS, values, strict=True)) for values in table[1:]]
    assert [row["chat_id"] for row in rows] == [CHAT, CHAT2, GROUP, GROUP]
    assert rows[0]["state"] == "online" and rows[0]["last_seen"] == ""
    assert rows[1] == dict.fromkeys(COLUMNS, "") | {"chat_id": CHAT2}
    member2 = next(row for row in rows if row["participant"] == MEMBER2)
    assert datetime.fromisoformat(member2["last_seen"]) == datetime.fromtimestamp(LAST_SEEN, timezone.utc)
    assert all(r["path"].startswith("/api/work/presence/") for r in waha.requests)


def test_get_a_failed_chat_is_an_error_row_and_exit_status_1(wawp):
    seed(wawp)
    wawp.fail_next(status=404, body={"message": "We didn't find a session", "statusCode": 404})
    done = run(["get", CHAT, GROUP, "--format", "json"], wawp_env(wawp))
    assert done.returncode == 1
    rows = json.loads(done.stdout)
    failed = [row for row in rows if row["error"] is not None]
    assert len(failed) == 1 and failed[0]["chat_id"] in (CHAT, GROUP)
    assert failed[0]["error"].startswith("NotFoundError: ")
    assert failed[0]["participant"] is None and failed[0]["state"] is None
    assert {row["chat_id"] for row in rows if row["error"] is None} == {CHAT, GROUP} - {failed[0]["chat_id"]}
    assert error_line(done).startswith("NotFoundError: ")


def test_get_waits_for_data_with_wait(wawp):
    wawp.set_presence(CHAT, "online", empty_reads=1)
    done = run(["get", CHAT, "--wait", "5", "--format", "json"], wawp_env(wawp))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["state"] == "online"


# --------------------------------------------------------------------------------------------
# connection: options before or after the command, the environment, both backends


@pytest.mark.parametrize(
    "where",
    [
        lambda url: ["--waha", url, "--session", "work", "get", CHAT],
        lambda url: ["get", CHAT, "--waha", url, "--session", "work"],
        lambda url: ["--waha", url, "get", "--session", "work", CHAT],
        lambda url: ["--session", "work", "get", CHAT, "--waha", url],
    ],
    ids=["before", "after", "url-before-session-after", "session-before-url-after"],
)
def test_connection_options_before_or_after_the_command(waha, where):
    waha.set_presence(CHAT, "recording")
    done = run([*where(waha.url), "--format", "json"], clean_env(WAHA_API_KEY=API_KEY))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["state"] == "recording"
    assert waha.requests[0]["headers"]["x-api-key"] == API_KEY


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_base_url_replaces_the_wawp_url(wawp, before):
    wawp.set_presence(CHAT, "online")
    env = clean_env(WAWP_INSTANCE_ID=wawp.instance_id, WAWP_ACCESS_TOKEN=TOKEN, WAWP_BASE_URL="http://127.0.0.1:9")
    option = ["--base-url", wawp.url]
    args = [*option, "get", CHAT] if before else ["get", CHAT, *option]
    done = run([*args, "--format", "csv"], env)
    assert done.returncode == 0, done.stderr
    assert "online" in done.stdout


def test_waha_from_the_environment_alone(waha):
    waha.set_presence(CHAT, "online")
    env = clean_env(WAHA_BASE_URL=waha.url, WAHA_SESSION="work", WAHA_API_KEY=API_KEY)
    done = run(["get", CHAT, "--format", "json"], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["state"] == "online"


def test_no_connection_settings_is_a_usage_error():
    done = run(["get", CHAT], clean_env())
    assert done.returncode == 2
    for name in ("WAWP_INSTANCE_ID", "WAWP_ACCESS_TOKEN", "WAHA_BASE_URL"):
        assert name in done.stderr
    half = run(["set", "online"], clean_env(WAWP_INSTANCE_ID="inst"))
    assert half.returncode == 2 and "WAWP_ACCESS_TOKEN is not set" in half.stderr


# --------------------------------------------------------------------------------------------
# set


@pytest.mark.parametrize("backend", ["wawp", "waha"])
def test_set_sends_global_and_per_chat_states(backend, wawp, waha):
    server, env, options = (
        (wawp, wawp_env(wawp), []) if backend == "wawp" else (waha, clean_env(WAHA_API_KEY=API_KEY), waha_args(waha))
    )
    done = run([*options, "set", "online"], env)
    assert done.returncode == 0, done.stderr
    assert server.own_presence == "online"
    done = run(["set", "TYPING", "--chat", "+44 7441 429009", *options], env)
    assert done.returncode == 0, done.stderr
    assert server.chat_states == {CHAT: "typing"}
    assert [r["json"] for r in server.requests] == [{"presence": "online"}, {"presence": "typing", "chatId": CHAT}]


@pytest.mark.parametrize(
    "args, stdin, says",
    [
        (["set", "unknown"], "", "cannot be set"),
        (["set", "sleeping"], "", "cannot be set"),
        (["set", "typing"], "", "--chat"),
        (["set", "paused"], "", "--chat"),
        (["set", "online", "--chat", CHAT], "", "global"),
        (["set", "recording", "--chat", "not a chat"], "", "invalid chat id"),
        (["get", CHAT, "../etc@c.us"], "", "invalid chat id"),
        (["get", "-"], f"{CHAT}\nnot a chat\n", "invalid chat id"),
        (["get", "-"], "\n\n", "no chat ids"),
        (["get", CHAT, "--wait", "-1"], "", "--wait"),
        (["watch", CHAT, "bad id"], "", "invalid chat id"),
        (["watch", CHAT, "--interval", "0"], "", "--interval"),
        (["get", CHAT, "--format", "xml"], "", "--format"),
        (["--session", "work", "get", CHAT], "", "WAHA_BASE_URL"),
        (["--waha", "http://127.0.0.1:9", "get", CHAT, "--base-url", "http://127.0.0.1:9"], "", "give one"),
        (["--waha", "not a url", "get", CHAT], "", "base_url"),
        (["fake", "--port", "70000"], "", "--port"),
        (["fake", "--session", "work"], "", "--backend waha"),
        ([], "", "COMMAND"),
    ],
)
def test_usage_errors_are_refused_before_any_request(wawp, args, stdin, says):
    done = run(args, wawp_env(wawp), stdin=stdin)
    assert done.returncode == 2, done.stderr
    assert "error:" in done.stderr and says in done.stderr
    assert done.stdout == ""
    assert wawp.requests == []


# --------------------------------------------------------------------------------------------
# failures: exit status 1, one redacted line


@pytest.mark.parametrize(
    "args",
    [["get", CHAT], ["get", CHAT, CHAT2, "--format", "json"], ["set", "offline"], ["watch", CHAT, "--interval", "0.1"]],
    ids=["get", "get-json", "set", "watch"],
)
def test_a_wrong_token_is_one_redacted_line_and_exit_status_1(args):
    server = start_server("wawp", access_token="server-side-token")
    try:
        done = run(args, wawp_env(server, token=TOKEN))  # run() checks that TOKEN shows nowhere
    finally:
        server.stop()
    assert done.returncode == 1
    line = error_line(done)
    assert line.startswith("AuthenticationError: ")
    if args[0] == "get":
        assert "AuthenticationError" in done.stdout  # the rows are printed as well
        if "json" in args:
            assert all(row["error"].startswith("AuthenticationError") for row in json.loads(done.stdout))


def test_a_wrong_api_key_on_waha_is_exit_status_1():
    server = start_server("waha", api_key="server-side-key")
    try:
        done = run(["--waha", server.url, "set", "online"], clean_env(WAHA_API_KEY=API_KEY))
    finally:
        server.stop()
    assert done.returncode == 1
    assert error_line(done).startswith("AuthenticationError: ")


# --------------------------------------------------------------------------------------------
# watch, and Ctrl-C


def test_watch_jsonl_prints_each_change_as_it_happens(waha):
    # perf_counter: on Windows before Python 3.13, time.monotonic moves in 15.6 ms steps.
    began = time.perf_counter()
    waha.script_presence(CHAT, [(0.0, "online"), (0.5, "offline")])
    proc = start(
        [*waha_args(waha), "watch", CHAT, "--interval", "0.1", "--format", "jsonl"], clean_env(WAHA_API_KEY=API_KEY)
    )
    assert proc.stdout is not None
    reader = LineReader(proc.stdout)
    try:
        end = time.monotonic() + DEADLINE
        first = json.loads(reader.wait_for("{", end))
        assert list(first) == COLUMNS
        assert first["chat_id"] == CHAT and first["participant"] == CHAT
        assert first["state"] == "online" and first["previous"] is None
        assert datetime.fromisoformat(first["observed_at"]).utcoffset().total_seconds() == 0
        second = json.loads(reader.wait_for("{", end))
        assert time.perf_counter() - began >= 0.5
        assert second["state"] == "offline" and second["previous"] == "online"
        assert datetime.fromisoformat(second["last_seen"]) <= datetime.fromisoformat(second["observed_at"])
        # the process is still watching: a change made now shows up too
        waha.set_presence(CHAT, "typing")
        third = json.loads(reader.wait_for("{", end))
        assert (third["previous"], third["state"]) == ("offline", "typing")
    finally:
        code, stderr = interrupt(proc)
    assert code == 130
    assert "Traceback" not in stderr
    assert_no_secret([*reader.seen, stderr])


def test_watch_table_and_ctrl_c_exits_130(wawp):
    wawp.set_presence(CHAT, "online")
    proc = start(["watch", CHAT, "--interval", "0.1"], wawp_env(wawp))
    assert proc.stdout is not None
    reader = LineReader(proc.stdout)
    try:
        end = time.monotonic() + DEADLINE
        header = reader.next_line(end)
        assert header is not None and header.split()[:4] == ["TIME", "(UTC)", "CHAT", "PARTICIPANT"]
        line = reader.wait_for("", end)
        assert line.split()[1:5] == [CHAT, CHAT, "online", "(first)"]
    finally:
        code, stderr = interrupt(proc)
    assert code == 130
    assert "Traceback" not in stderr
    assert_no_secret([*reader.seen, stderr])


def test_ctrl_c_stops_a_blocked_get_with_130(wawp):
    wawp.latency = 30.0
    proc = start(["get", CHAT], wawp_env(wawp))
    try:
        end = time.monotonic() + DEADLINE
        while wawp.requests_in_flight == 0:
            assert time.monotonic() < end, "the request never reached the server"
            time.sleep(0.02)
    finally:
        code, stderr = interrupt(proc)
    assert code == 130
    assert "Traceback" not in stderr


# --------------------------------------------------------------------------------------------
# fake


def read_settings(reader: LineReader, names: list[str]) -> dict[str, str]:
    end = time.monotonic() + DEADLINE
    settings = {}
    for name in names:
        line = reader.next_line(end)
        assert line is not None and line.startswith(f"{name}="), reader.seen
        settings[name] = line.split("=", 1)[1]
    return settings


def test_fake_waha_prints_its_url_and_credentials_then_serves():
    proc = start(["fake", "--backend", "waha", "--session", "work"], clean_env())
    assert proc.stdout is not None
    try:
        settings = read_settings(LineReader(proc.stdout), ["url", "session", "api_key"])
        assert settings["url"].startswith("http://127.0.0.1:")
        assert settings["session"] == "work" and len(settings["api_key"]) >= 16
        with PresenceClient.waha(settings["url"], session=settings["session"], api_key=settings["api_key"]) as client:
            client.set("online")
            assert client.get(CHAT).has_data is False
        # the key is checked, as on a real WAHA server
        wrong = run(["--waha", settings["url"], "get", CHAT], clean_env(WAHA_API_KEY=API_KEY))
        assert wrong.returncode == 1 and error_line(wrong).startswith("AuthenticationError")
    finally:
        code, stderr = interrupt(proc)
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_fake_wawp_serves_the_other_commands():
    proc = start(["fake"], clean_env())
    assert proc.stdout is not None
    try:
        settings = read_settings(LineReader(proc.stdout), ["url", "instance_id", "access_token"])
        env = clean_env(
            WAWP_BASE_URL=settings["url"],
            WAWP_INSTANCE_ID=settings["instance_id"],
            WAWP_ACCESS_TOKEN=settings["access_token"],
        )
        assert run(["set", "online"], env).returncode == 0
        done = run(["get", CHAT, "--format", "json"], env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)[0]["chat_id"] == CHAT
    finally:
        code, stderr = interrupt(proc)
    assert code == 0, stderr


# --------------------------------------------------------------------------------------------
# help


@pytest.mark.parametrize("command", [[], ["get"], ["set"], ["watch"], ["fake"]])
def test_help_describes_each_command_with_an_example(command):
    done = run([*command, "--help"], clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: wawp-presence {' '.join(command)}".rstrip())
    assert "example" in done.stdout
    if command != ["fake"]:
        assert "--base-url" in done.stdout and "--waha" in done.stdout and "--session" in done.stdout


def test_python_m_wawp_presence_is_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "wawp_presence", "--help"], capture_output=True, text=True, env=clean_env(), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: wawp-presence")
    for command in ("get", "set", "watch", "fake"):
        assert command in done.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "wawp_presence", "get", CHAT],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert usage.returncode == 2 and "WAWP_INSTANCE_ID" in usage.stderr
