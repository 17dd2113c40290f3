"""What each subcommand of ``wawp-presence`` does, once its arguments are read: the connection
from the options and the environment, then ``get``, ``set``, ``watch`` or ``fake``."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from . import (
    ConfigurationError,
    InvalidArgumentError,
    PresenceClient,
    PresenceState,
    normalize_chat_id,
    to_records,
)
from ._cli_output import ChangeTable, one_line, write_csv, write_json, write_jsonl, write_table

# The states `set` can send: all but "unknown". Which need --chat is the client's rule (`set`).
SETTABLE = tuple(state.value for state in PresenceState if state is not PresenceState.UNKNOWN)

NO_SETTINGS = (
    "no connection settings: set WAWP_INSTANCE_ID and WAWP_ACCESS_TOKEN (and WAWP_BASE_URL if needed) "
    "for the Wawp API, or WAHA_BASE_URL (or --waha URL), WAHA_SESSION and WAHA_API_KEY for a WAHA server"
)


class UsageError(Exception):
    """Arguments or settings that cannot work; reported like argparse's errors (exit status 2)."""


@contextmanager
def refused() -> Iterator[None]:
    """Turns the client's own refusals, raised before any request (a chat id of no accepted form,
    a state or option it cannot send, settings it cannot use), into usage errors. Errors of a
    request that was made pass through."""
    try:
        yield
    except (InvalidArgumentError, ConfigurationError) as e:
        raise UsageError(e.message) from None


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value is not None and value.strip() else None


def connect(args: argparse.Namespace) -> PresenceClient:
    """The client the options and the environment describe.

    ``--waha URL`` or ``--session`` choose a WAHA server; without them, the Wawp variables are
    used when set, else ``WAHA_BASE_URL``. ``--base-url`` replaces the chosen server's URL.
    Secrets come only from the environment."""
    instance_id, access_token = _env("WAWP_INSTANCE_ID"), _env("WAWP_ACCESS_TOKEN")
    waha_url = _env("WAHA_BASE_URL")
    wawp_given = instance_id is not None or access_token is not None
    if args.waha is not None or args.session is not None or (not wawp_given and waha_url is not None):
        if args.waha is not None and args.base_url is not None:
            raise UsageError("--waha and --base-url both name the server: give one of them")
        url = args.waha if args.waha is not None else args.base_url if args.base_url is not None else waha_url
        if url is None:
            raise UsageError("--session is for a WAHA server: give --waha URL or set WAHA_BASE_URL")
        session = args.session if args.session is not None else _env("WAHA_SESSION")
        with refused():
            return PresenceClient.waha(url, session=session, api_key=_env("WAHA_API_KEY"))
    if not wawp_given:
        raise UsageError(NO_SETTINGS)
    if instance_id is None or access_token is None:
        missing = "WAWP_INSTANCE_ID" if instance_id is None else "WAWP_ACCESS_TOKEN"
        raise UsageError(f"{missing} is not set: the Wawp API needs WAWP_INSTANCE_ID and WAWP_ACCESS_TOKEN")
    base_url = args.base_url if args.base_url is not None else _env("WAWP_BASE_URL")
    with refused():
        return PresenceClient(instance_id, access_token, base_url=base_url)


def chat_ids(given: list[str], stdin: TextIO | None) -> list[str]:
    """The ids as given, with ``-`` replaced by the lines of stdin (blank lines skipped)."""
    ids: list[str] = []
    if given.count("-") > 1:
        raise UsageError('"-" (read chat ids from stdin) can be given only once')
    for item in given:
        if item != "-":
            ids.append(item)
        elif stdin is None:
            raise UsageError('"-" reads chat ids from stdin, and there is none')
        else:
            ids.extend(line.strip() for line in stdin if line.strip())
    if not ids:
        raise UsageError("no chat ids: stdin had none")
    return ids


def report(error: BaseException, note: str = "") -> None:
    """The one stderr line of a failure: the error class and its message (already redacted)."""
    sys.stderr.write(f"{type(error).__name__}: {one_line(str(error))}{note}\n")
    sys.stderr.flush()


def run_get(args: argparse.Namespace) -> int:
    ids = chat_ids(args.chat_ids, sys.stdin)
    with refused():  # a bad id is a usage error, found before any request
        ids = [normalize_chat_id(chat_id) for chat_id in ids]
    with connect(args) as client:
        results = client.get_many(ids, return_exceptions=True, wait=args.wait)
    rows = to_records(results)
    if args.format == "json":
        write_json(rows, sys.stdout)
    elif args.format == "csv":
        write_csv(rows, sys.stdout)
    else:
        write_table(rows, sys.stdout)
    sys.stdout.flush()
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        note = f" ({len(failures)} of {len(results)} chats failed)" if len(failures) > 1 else ""
        report(failures[0], note)
        return 1
    return 0


def run_set(args: argparse.Namespace) -> int:
    state: str = args.state
    with connect(args) as client:
        try:
            # The client checks the rule (typing, recording and paused need a chat; online and
            # offline have none) before it sends anything.
            with refused():
                client.set(state, chat_id=args.chat)
        except UsageError as e:
            raise UsageError(f"{e} (the chat is --chat CHAT_ID here)") from None
    where = "" if args.chat is None else f" in {args.chat}"
    sys.stdout.write(f"presence set: {state}{where}\n")
    return 0


def run_watch(args: argparse.Namespace) -> int:
    ids = chat_ids(args.chat_ids, sys.stdin)
    with connect(args) as client:
        with refused():
            changes = client.watch(ids, interval=args.interval)
        table = None if args.format == "jsonl" else ChangeTable(sys.stdout, ids)
        for change in changes:
            for row in to_records(change):
                if table is None:
                    write_jsonl(row, sys.stdout)
                else:
                    table.write(row)
    return 0


def run_fake(args: argparse.Namespace) -> int:
    from .testing import FakeServer

    if args.waha is not None or args.base_url is not None:
        raise UsageError("fake serves on this machine; --waha and --base-url are for the other commands")
    if args.session is not None and args.backend != "waha":
        raise UsageError("--session names the session of a fake WAHA server: add --backend waha")
    server = None
    try:
        if args.backend == "waha":
            server = FakeServer(
                "waha", port=args.port, api_key=secrets.token_hex(16), session=args.session or "default"
            )
            credentials = {"session": server.session, "api_key": server.api_key}
        else:
            server = FakeServer("wawp", port=args.port)
            credentials = {"instance_id": server.instance_id, "access_token": server.access_token}
        # The fake's own throwaway credentials, printed so that a client can use them.
        lines = [f"url={server.url}"] + [f"{name}={value}" for name, value in credentials.items()]
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()
        sys.stderr.write(f"A fake {args.backend} server is serving on {server.url}; Ctrl-C stops it.\n")
        sys.stderr.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            server.stop()
