"""Presence as a table: one row per participant, the same seven columns for every kind of result
(see ``TABLE_COLUMNS``). The rows are made once, in the extension; each DataFrame library then
builds every column from a list in one call, with no Python loop per cell."""

from __future__ import annotations

import importlib

from ._native import TABLE_COLUMNS, table_columns, table_records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    import pandas as _pandas
    import polars as _polars
    import pyarrow as _pyarrow

# The values of PresenceState, the categories of the `state` and `previous` columns in pandas.
_STATES = ["online", "offline", "typing", "recording", "paused", "unknown"]


def _require(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f'{module} is needed for this: pip install "wawp-presence[{extra}]" ({e})', name=module
        ) from e


def to_records(results: object) -> list[dict[str, Any]]:
    """One dict per participant with the keys of ``TABLE_COLUMNS``; datetimes are aware, in UTC."""
    return table_records(results)


def to_arrow(results: object) -> _pyarrow.Table:
    """A ``pyarrow.Table``; ``last_seen`` and ``observed_at`` are ``timestamp[us, tz=UTC]``."""
    pa = _require("pyarrow", "arrow")
    columns = table_columns(results)
    text, when = pa.string(), pa.timestamp("us", tz="UTC")
    types = [text, text, text, when, when, text, text]
    schema = pa.schema([pa.field(name, kind) for name, kind in zip(TABLE_COLUMNS, types, strict=True)])
    arrays = [pa.array(values, type=kind) for values, kind in zip(columns, types, strict=True)]
    table: _pyarrow.Table = pa.Table.from_arrays(arrays, schema=schema)
    return table


def to_pandas(results: object) -> _pandas.DataFrame:
    """A ``pandas.DataFrame``; ``last_seen`` and ``observed_at`` are ``datetime64[us, UTC]``
    (NaT for none), ``state`` and ``previous`` categoricals of the presence states."""
    pd = _require("pandas", "pandas")
    chat_id, participant, state, last_seen, observed_at, previous, error = table_columns(results)

    def when(micros: list[int | None]) -> Any:
        return pd.to_datetime(pd.array(micros, dtype="Int64"), unit="us", utc=True).as_unit("us")

    states = pd.CategoricalDtype(_STATES)
    columns = {
        "chat_id": pd.array(chat_id, dtype="string"),
        "participant": pd.array(participant, dtype="string"),
        "state": pd.Categorical(state, dtype=states),
        "last_seen": when(last_seen),
        "observed_at": when(observed_at),
        "previous": pd.Categorical(previous, dtype=states),
        "error": pd.array(error, dtype="string"),
    }
    frame: _pandas.DataFrame = pd.DataFrame(columns, columns=TABLE_COLUMNS)
    return frame


def to_polars(results: object) -> _polars.DataFrame:
    """A ``polars.DataFrame``; ``last_seen`` and ``observed_at`` are ``Datetime("us", "UTC")``."""
    pl = _require("polars", "polars")
    columns = table_columns(results)
    series = []
    for name, values in zip(TABLE_COLUMNS, columns, strict=True):
        if name in ("last_seen", "observed_at"):
            series.append(pl.Series(name, values, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        else:
            series.append(pl.Series(name, values, dtype=pl.String))
    frame: _polars.DataFrame = pl.DataFrame(series)
    return frame
