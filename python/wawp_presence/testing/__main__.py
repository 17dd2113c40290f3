"""Run the fake server on its own: ``python -m wawp_presence.testing --backend waha --port 8080``."""

from __future__ import annotations

import argparse
import time

from . import FakeServer


def _seconds(text: str) -> float:
    """A number of seconds >= 0, for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (0.0 <= value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, not {text!r}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m wawp_presence.testing",
        description="A fake Wawp or WAHA presence server on this machine, for development and tests.",
    )
    parser.add_argument("--backend", choices=["wawp", "waha"], default="wawp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--instance-id", help="Wawp instance id to accept (random if not given)")
    parser.add_argument("--access-token", help="Wawp access token to accept (random if not given)")
    parser.add_argument("--api-key", help="WAHA API key to require (none if not given)")
    parser.add_argument("--session", default="default", help="the WAHA session that exists")
    parser.add_argument("--engine", default="NOWEB", help="WEBJS answers 422 to get-all, as that engine does")
    parser.add_argument(
        "--edition",
        choices=["plus", "core"],
        default="plus",
        help="WAHA only: core serves one session and answers 422 to subscribe, as WAHA Core with NOWEB does",
    )
    parser.add_argument(
        "--session-wait",
        type=_seconds,
        default=0.05,
        metavar="SECONDS",
        help="how long a request waits for a session that is not WORKING (a real WAHA: about 5)",
    )
    parser.add_argument(
        "--request-log",
        type=int,
        default=10_000,
        metavar="N",
        help="keep only the N most recent requests in memory (default 10000)",
    )
    args = parser.parse_args(argv)
    if args.edition == "core" and args.backend != "waha":
        parser.error("--edition core is a WAHA edition: use it with --backend waha")
    server = FakeServer(
        args.backend,
        host=args.host,
        port=args.port,
        instance_id=args.instance_id,
        access_token=args.access_token,
        api_key=args.api_key,
        session=args.session,
        engine=args.engine,
        request_log=args.request_log,
        edition=args.edition,
        session_wait=args.session_wait,
    )
    print(f"fake {server.backend} server listening on {server.url}", flush=True)
    if server.backend == "wawp":
        # These are the fake's own throwaway credentials, printed so a client can use them.
        print(f"  instance_id={server.instance_id}", flush=True)
        print(f"  access_token={server.access_token}", flush=True)
    else:
        key = "(none)" if server.api_key is None else "(as given)"
        print(f"  session={server.session}  edition={server.edition}  api_key={key}", flush=True)
    print("Ctrl-C stops it.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
