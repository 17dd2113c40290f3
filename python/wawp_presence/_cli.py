"""The ``wawp-presence`` command (also ``python -m wawp_presence``): read, set and watch WhatsApp
presence from a shell, and run the fake server. Only the command imports this module."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from collections.abc import Callable

from . import WawpError, __version__
from ._cli_commands import SETTABLE, UsageError, report, run_fake, run_get, run_set, run_watch

PROG = "wawp-presence"

DESCRIPTION = """\
Read and set WhatsApp presence (online, typing, last seen) through the Wawp API or a
self-hosted WAHA server."""

EPILOG = """\
connection:
  Wawp API:     WAWP_INSTANCE_ID and WAWP_ACCESS_TOKEN, and WAWP_BASE_URL if needed
  WAHA server:  --waha URL or WAHA_BASE_URL; WAHA_SESSION (or --session, default
                "default") and WAHA_API_KEY when the server wants a key
  --waha or --session choose WAHA; otherwise the WAWP_ variables are used when set,
  else WAHA_BASE_URL. --base-url replaces the chosen server's URL. Secrets are read
  from the environment only. The connection options may come before or after the
  command.

exit status:
  0    success
  1    the server or the network failed (one line on stderr); for get, any chat failed
  2    usage error: a bad option, chat id or state, a broken set rule, no settings
  130  interrupted (Ctrl-C)

examples:
  export WAWP_INSTANCE_ID=... WAWP_ACCESS_TOKEN=...
  wawp-presence get 447441429009@c.us "+44 7700 900123"
  wawp-presence --waha http://localhost:3000 get 447441429009@c.us --format json
  wawp-presence set typing --chat 447441429009@c.us
  wawp-presence watch 447441429009@c.us --format jsonl | jq .state
  wawp-presence fake --backend waha"""

ROWS = """\
Output, one row per participant (a group gives one per member):
  table  for people: chat, participant, state, last seen (UTC, and how long ago),
         and an error column when a chat failed; "no data yet" for a chat whose
         answer had no presence (often the first read of a chat; see --wait)
  json   a list of objects with the keys chat_id, participant, state, last_seen,
         observed_at, previous, error; datetimes ISO 8601 in UTC, null for none
  csv    the same columns, with a header line; empty for none"""

GET_DESCRIPTION = f"""\
Print the presence of one or more chats. A chat id is a phone number (447441429009,
"+44 7441 429009") or <digits>@c.us, <id>@g.us, <id>@lid, <id>@newsletter; "-" reads
ids from stdin, one a line (blank lines are skipped). Every id is checked before any
request: one of no accepted form is a usage error (exit status 2).

A chat whose lookup failed still gets a row, with its error in the error column; the
other rows are printed as usual, the first error is also written to stderr, and the
exit status is 1.

{ROWS}"""

GET_EPILOG = """\
examples:
  wawp-presence get 447441429009@c.us "+44 7700 900123"
  wawp-presence get 120363041234567890@g.us --wait 3 --format json
  cut -d, -f1 contacts.csv | wawp-presence get - --format csv > presence.csv"""

SET_DESCRIPTION = """\
Set your own presence. online and offline are global: give no --chat. typing,
recording and paused are shown in one chat: --chat is required (paused clears
typing). A state that cannot be sent ("unknown", any other word) or a broken rule is
refused before any request (exit status 2). Being online stops the notifications on
your phone: set offline when done."""

SET_EPILOG = """\
examples:
  wawp-presence set online
  wawp-presence set typing --chat 447441429009@c.us
  wawp-presence set paused --chat 447441429009@c.us
  wawp-presence set offline"""

WATCH_DESCRIPTION = """\
Print each change of the chats' presence as it happens, until Ctrl-C: subscribes to
the chats, then asks for their presence every --interval seconds. The first sight of
each participant counts as a change. "-" reads ids from stdin, one a line.

Output, one row per change:
  table  for people: time seen (UTC), chat, participant, state, the state before
         ("(first)" at the first sight), last seen
  jsonl  one JSON object a line, written as the change is seen, with the keys
         chat_id, participant, state, last_seen, observed_at, previous, error;
         datetimes ISO 8601 in UTC, null for none"""

WATCH_EPILOG = """\
examples:
  wawp-presence watch 447441429009@c.us 120363041234567890@g.us
  wawp-presence watch 447441429009@c.us --interval 2 --format jsonl | jq -r .state"""

FAKE_DESCRIPTION = """\
Run a fake Wawp or WAHA server on 127.0.0.1, which answers like the real one, for
trying the other commands and for tests. Prints one name=value line each for url and
the credentials a client needs (instance_id and access_token, or session and
api_key), then serves until Ctrl-C (exit status 0). The credentials are made up for
this run. With --backend waha, --session names the fake's session (default
"default")."""

FAKE_EPILOG = """\
example:
  wawp-presence fake --port 8080
  # in another shell, with the printed values:
  export WAWP_BASE_URL=http://127.0.0.1:8080 WAWP_INSTANCE_ID=... WAWP_ACCESS_TOKEN=...
  wawp-presence get 447441429009@c.us"""


def _seconds(minimum: float) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds, at least ``minimum``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be a number of seconds, at least {minimum:g}")
        return value

    return parse


def _state(text: str) -> str:
    word = text.strip().lower()
    if word not in SETTABLE:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be set: use {', '.join(SETTABLE)}")
    return word


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535; 0 picks a free one)")
    return port


def _connection_options(default: object) -> argparse.ArgumentParser:
    """The connection options, shared by the main parser (``default`` None) and each command
    (``default`` SUPPRESS, so a value given before the command is kept)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection options (before or after the command)")
    group.add_argument(
        "--base-url", metavar="URL", default=default, help="the server's URL (default: WAWP_BASE_URL or WAHA_BASE_URL)"
    )
    group.add_argument("--waha", metavar="URL", default=default, help="use the WAHA server at URL")
    group.add_argument(
        "--session", metavar="NAME", default=default, help='the WAHA session (default: WAHA_SESSION or "default")'
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=formatter,
        parents=[_connection_options(None)],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    connection = _connection_options(argparse.SUPPRESS)

    def command(name: str, summary: str, description: str, epilog: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=epilog,
            formatter_class=formatter,
            parents=[connection],
        )

    get = command("get", "print the presence of chats", GET_DESCRIPTION, GET_EPILOG)
    get.add_argument("chat_ids", nargs="+", metavar="CHAT_ID", help='a chat id or phone number; "-" reads stdin')
    get.add_argument(
        "--wait",
        type=_seconds(0.0),
        default=0.0,
        metavar="S",
        help="ask again for up to S seconds while a chat has no data yet (default 0)",
    )
    get.add_argument("--format", choices=["table", "json", "csv"], default="table", help="default: table")
    get.set_defaults(run=run_get, parser=get)

    set_ = command("set", "set your own presence", SET_DESCRIPTION, SET_EPILOG)
    set_.add_argument("state", type=_state, metavar="STATE", help=" | ".join(SETTABLE))
    set_.add_argument("--chat", metavar="CHAT_ID", help="the chat for typing, recording and paused")
    set_.set_defaults(run=run_set, parser=set_)

    watch = command("watch", "print presence changes as they happen", WATCH_DESCRIPTION, WATCH_EPILOG)
    watch.add_argument("chat_ids", nargs="+", metavar="CHAT_ID", help='a chat id or phone number; "-" reads stdin')
    watch.add_argument(
        "--interval",
        type=_seconds(0.05),
        default=5.0,
        metavar="S",
        help="seconds between two looks at the chats (default 5, at least 0.05)",
    )
    watch.add_argument("--format", choices=["table", "jsonl"], default="table", help="default: table")
    watch.set_defaults(run=run_watch, parser=watch)

    fake = command("fake", "run a fake Wawp or WAHA server here", FAKE_DESCRIPTION, FAKE_EPILOG)
    fake.add_argument("--backend", choices=["wawp", "waha"], default="wawp", help="default: wawp")
    fake.add_argument(
        "--port", type=_port, default=0, metavar="N", help="the port to listen on (default 0: a free one)"
    )
    fake.set_defaults(run=run_fake, parser=fake)
    return parser


def _exit_code(exit: SystemExit) -> int:
    if exit.code is None:
        return 0
    return exit.code if isinstance(exit.code, int) else 1


def main(argv: list[str] | None = None) -> int:
    """Runs the command with ``argv`` (default: the process's arguments); returns the exit status."""
    parser = build_parser()
    args: argparse.Namespace | None = None
    _ctrl_break_is_ctrl_c()
    try:
        args = parser.parse_args(argv)
        status: int = args.run(args)
        return status
    except SystemExit as exit:  # argparse: --help, --version, and its usage errors
        return _exit_code(exit)
    except UsageError as e:
        command_parser: argparse.ArgumentParser = getattr(args, "parser", parser)
        command_parser.print_usage(sys.stderr)
        sys.stderr.write(f"{command_parser.prog}: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    except (WawpError, OSError) as e:
        if isinstance(e, BrokenPipeError):
            return _reader_gone()
        report(e)
        return 1


def _ctrl_break_is_ctrl_c() -> None:
    """On Windows, Ctrl-Break stops the command as Ctrl-C does (status 130) rather than killing it
    outright; it is also the one console signal another program can send to one command alone."""
    if sys.platform == "win32" and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGBREAK, signal.default_int_handler)


def _reader_gone() -> int:
    """The program reading the output stopped (``| head``): end quietly, as a command stopped by
    SIGPIPE would (status 141); stdout goes to /dev/null so the exit's flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141
