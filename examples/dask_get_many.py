"""A large `get_many` spread over a Dask cluster.

Each worker process receives the pickled client (with its credentials: pickling a client keeps
them, so it works where it is unpickled), re-creates its connections there, looks up its chunk
with its own pacing, and sends back an Arrow table; the tables are joined into one. The
client's `rate_limit` applies per process, so with N workers the account sees up to N times it:
give each worker its share (`rate_limit=budget / N`).

    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=4, threads_per_worker=1) as cluster, Client(cluster) as dask:
        table = get_many_on_dask(dask, PresenceClient.from_env(rate_limit=2.0), chat_ids)
    df = table.to_pandas()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from wawp_presence import PresenceClient, to_arrow

if TYPE_CHECKING:
    from dask.distributed import Client


def lookup_chunk(client: PresenceClient, chat_ids: list[str]) -> pa.Table:
    """Runs on a worker: one chunk, every chat's result or error as rows."""
    return to_arrow(client.get_many(chat_ids, return_exceptions=True))


def get_many_on_dask(dask: Client, client: PresenceClient, chat_ids: list[str], chunk_size: int = 500) -> pa.Table:
    """Every chat's rows (the columns of `to_arrow`), in the order of `chat_ids`."""
    chunks = [chat_ids[i : i + chunk_size] for i in range(0, len(chat_ids), chunk_size)]
    if not chunks:
        return to_arrow([])
    # Sent to each worker once, not once per chunk.
    [shared] = dask.scatter([client], broadcast=True)
    futures = [dask.submit(lookup_chunk, shared, chunk, pure=False) for chunk in chunks]
    return pa.concat_tables(dask.gather(futures))
