"""``python -m wawp_presence``: the ``wawp-presence`` command."""

from __future__ import annotations

if __name__ == "__main__":
    from ._cli import main

    raise SystemExit(main())
