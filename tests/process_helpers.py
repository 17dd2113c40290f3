"""Deadlines for the fault tests: a call run in a thread that is unstuck if it hangs, the fake
server run on its own (`python -m wawp_presence.testing`), a Python child or a command that a
test interrupts with Ctrl-C, and a forked child.

Each waits with a deadline and ends what it started when the deadline passes, so a hang fails
the test instead of hanging the run.
"""

from __future__ import annotations

import os
import queue
import re
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable

from presence_helpers import API_KEY, INSTANCE_ID, TOKEN


def run_with_deadline(call: Callable[[], object], deadline: float, unstick: Callable[[], None]) -> tuple[float, object]:
    """Runs `call()` in a thread and returns (seconds taken, its result or the exception it
    raised). A call still running after `deadline` seconds is a hang: `unstick()` ends it (e.g.
    by stopping the server it waits on) and the test fails."""
    box: dict = {}

    def target() -> None:
        started = time.monotonic()
        try:
            box["outcome"] = call()
        except BaseException as exc:
            box["outcome"] = exc
        box["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=target, name="call-with-deadline", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        unstick()
        thread.join(10)
        raise AssertionError(f"the call was still running after {deadline} s: it hung")
    return box["elapsed"], box["outcome"]


class LineReader:
    """Reads a child's stdout lines in a thread, so the test can wait for one with a deadline."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, deadline: float) -> str | None:
        """The next line, or None at end of output; raises TimeoutError after `deadline`."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        try:
            line = self.lines.get(timeout=left)
        except queue.Empty:
            raise TimeoutError from None
        if line is not None:
            self.seen.append(line)
        return line

    def wait_for(self, prefix: str, deadline: float) -> str:
        while True:
            line = self.next_line(deadline)
            if line is None:
                raise EOFError(f"output ended before a line starting {prefix!r}; saw {self.seen}")
            if line.startswith(prefix):
                return line


def stop_process(proc: subprocess.Popen, grace: float = 3.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
    for stream in (proc.stdout, proc.stderr, proc.stdin):
        if stream is not None:
            stream.close()


class FakeServerProcess:
    """`python -m wawp_presence.testing --port 0` in its own process: a server that a forked child
    can reach, since a FakeServer running on the parent's threads does not exist in the child.
    Same credentials as presence_helpers.start_server (TOKEN / API_KEY)."""

    def __init__(self, backend: str = "wawp", startup_deadline: float = 20.0) -> None:
        self.backend = backend
        args = [sys.executable, "-m", "wawp_presence.testing", "--backend", backend, "--port", "0"]
        if backend == "wawp":
            args += ["--instance-id", INSTANCE_ID, "--access-token", TOKEN]
            self.instance_id, self.access_token, self.api_key = INSTANCE_ID, TOKEN, None
        else:
            args += ["--api-key", API_KEY]
            self.instance_id, self.access_token, self.api_key = None, None, API_KEY
        self.session = "default"
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            reader = LineReader(self.proc.stdout)
            line = reader.wait_for("fake ", time.monotonic() + startup_deadline)
            match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            assert match, f"no URL in {line!r}"
            self.url = match.group(1)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process(self.proc)

    def __enter__(self) -> FakeServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# Ctrl-C: a child blocked in a sync call, interrupted by the parent.

INTERRUPT_CHILD = r"""
import itertools, signal, sys, threading, time
sys.path.insert(0, sys.argv[2])
if sys.platform == "win32":
    # The parent's Ctrl-Break (see interrupt_blocking_call) raises KeyboardInterrupt, as Ctrl-C does.
    signal.signal(signal.SIGBREAK, signal.default_int_handler)
from wawp_presence import PresenceClient
from wawp_presence.testing import FakeServer
from raw_servers import RawServer, answer, chat_json, hold_until_closed

CHAT = "447441429009@c.us"
fault = sys.argv[1]
if fault == "hang":
    # The first request gets no answer (the server notes when its connection closes); later
    # ones get a good answer.
    connections = itertools.count()

    def handler(conn):
        if next(connections) == 0:
            hold_until_closed(conn)
        else:
            answer(200, chat_json(CHAT))(conn)

    raw = RawServer(handler)
    client = PresenceClient.waha(raw.url, timeout=30, max_retries=1)
    count = lambda: len(raw.requests)
elif fault == "retry-after":
    # The call waits 30 s before its retry.
    fake = FakeServer("waha")
    fake.fail_next(status=429, retry_after=30)
    fake.set_presence(CHAT, "online")
    client = PresenceClient.waha(fake.url, timeout=30, max_retries=1)
    count = lambda: len(fake.requests)
else:
    raise SystemExit("unknown fault " + fault)

def announce():
    # "waiting" once the request has reached the server: the call is blocked in Rust now.
    while count() == 0:
        time.sleep(0.01)
    time.sleep(0.2)
    print("waiting", flush=True)

threading.Thread(target=announce, daemon=True).start()
try:
    client.get(CHAT)
except KeyboardInterrupt:
    print("interrupted %.6f" % time.monotonic(), flush=True)
except BaseException as exc:
    print("raised %r" % (exc,), flush=True)
    raise SystemExit(3)
else:
    print("returned", flush=True)
    raise SystemExit(3)

if fault == "hang":
    closed = raw.client_closed.wait(5)
    print("closed %.6f" % raw.closed_at[0] if closed else "closed never", flush=True)
before = count()
chat = client.get(CHAT)
print("after %s %d" % (chat.is_online, count() - before), flush=True)
if fault == "hang":
    raw.stop()
"""

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

# Windows has no SIGINT to send to one process: a console's Ctrl-C reaches every process attached
# to it (this test run too), and a child in a process group of its own ignores it. Ctrl-Break
# can be sent to that group alone; the child maps it to KeyboardInterrupt, as Python does Ctrl-C.
if sys.platform == "win32":
    INTERRUPT_SIGNAL = signal.CTRL_BREAK_EVENT
    OWN_PROCESS_GROUP = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
else:
    INTERRUPT_SIGNAL = signal.SIGINT
    OWN_PROCESS_GROUP = {}


def interrupt_blocking_call(fault: str = "hang", deadline: float = 30.0) -> dict:
    """Runs a child blocked in `client.get` (on `fault`: "hang" or "retry-after"), sends it SIGINT
    (Ctrl-Break on Windows) once it waits, and returns what happened: `delay` (signal sent to
    KeyboardInterrupt caught, in seconds, on the system-wide monotonic clock), for "hang"
    `closed` (signal sent to the server seeing the connection closed, or None), `after` (the
    line of the call made afterwards with the same client), `returncode`, and `output` /
    `stderr` for messages."""
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPT_CHILD, fault, TESTS_DIR],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **OWN_PROCESS_GROUP,
    )
    result: dict = {}
    reader = LineReader(proc.stdout)
    try:
        end = time.monotonic() + deadline
        reader.wait_for("waiting", end)
        sent = time.monotonic()
        proc.send_signal(INTERRUPT_SIGNAL)
        line = reader.next_line(end)
        if line and line.startswith("interrupted "):
            result["delay"] = float(line.split()[1]) - sent
            if fault == "hang":
                closed = reader.wait_for("closed", end).split()[1]
                result["closed"] = None if closed == "never" else float(closed) - sent
            result["after"] = reader.wait_for("after", end)
        else:
            result["unexpected"] = line
        proc.wait(timeout=max(0.1, end - time.monotonic()))
        result["returncode"] = proc.returncode
    except (TimeoutError, subprocess.TimeoutExpired):
        result["timed_out"] = True
    except EOFError as exc:
        result["unexpected"] = str(exc)
    finally:
        stop_process_and_keep_stderr(proc, result)
        result["output"] = reader.seen
    return result


def stop_process_and_keep_stderr(proc: subprocess.Popen, result: dict) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)
    try:
        result["stderr"] = proc.stderr.read()[-3000:] if proc.stderr else ""
    except (OSError, ValueError):
        result["stderr"] = ""
    stop_process(proc)


# --------------------------------------------------------------------------------------------
# Ctrl-C for the installed `wawp-presence` command. POSIX: SIGINT. Windows: Ctrl-Break to the
# command's own process group, as for the child above (a Ctrl-C would reach this run too); the
# command stops on Ctrl-Break as on Ctrl-C (`wawp_presence._cli.main`).


def ctrl_c_options() -> dict:
    """Popen options for a child that `press_ctrl_c` will interrupt."""
    return dict(OWN_PROCESS_GROUP)


def press_ctrl_c(proc: subprocess.Popen) -> None:
    """Ctrl-C for `proc`, started with `ctrl_c_options()` (Ctrl-Break on Windows)."""
    proc.send_signal(INTERRUPT_SIGNAL)


# --------------------------------------------------------------------------------------------
# os.fork: run a function in a forked child, with a deadline.


def run_in_fork(child: Callable[[], object], deadline: float = 10.0) -> tuple[str, str]:
    """Forks; the child runs `child()` and exits 0 (or 1 with the traceback) via os._exit. Returns
    ("ok" | "failed" | "timed out", what the child wrote). A child still running at `deadline`
    is killed."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a multi-threaded process may deadlock: that is the
        # very thing under test.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read_end)
            message = str(child() or "ok")
            code = 0
        except BaseException:
            message = traceback.format_exc()
        try:
            os.write(write_end, message.encode("utf-8", "replace")[:60000])
        finally:
            os._exit(code)
    os.close(write_end)
    output = b""
    end = time.monotonic() + deadline
    status = None
    try:
        while True:
            done, raw_status = os.waitpid(pid, os.WNOHANG)
            readable, _, _ = select.select([read_end], [], [], 0.05)
            if readable:
                output += os.read(read_end, 65536)
            if done:
                status = raw_status
                break
            if time.monotonic() > end:
                break
        while True:  # what the child wrote just before exiting
            readable, _, _ = select.select([read_end], [], [], 0)
            chunk = os.read(read_end, 65536) if readable else b""
            if not chunk:
                break
            output += chunk
    finally:
        if status is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        os.close(read_end)
    text = output.decode("utf-8", "replace")
    if status is None:
        return "timed out", text
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return "ok", text
    return "failed", text
