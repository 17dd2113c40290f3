"""The Dask recipe (examples/dask_get_many.py) on a LocalCluster of two worker processes: the
pickled client travels to the workers, each looks up its chunks, and the rows come back as one
Arrow table equal to a lookup made in this process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from dask.distributed import Client, LocalCluster
from presence_helpers import build_client, start_server

from wawp_presence import PresenceClient, to_arrow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from dask_get_many import get_many_on_dask  # the recipe lives in examples/


@pytest.fixture(scope="module")
def dask():
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_a_large_lookup_is_spread_over_worker_processes(dask):
    server = start_server("wawp")
    ids = [f"44770090{n:04d}@c.us" for n in range(2000)]
    for n, chat_id in enumerate(ids):
        server.set_presence(chat_id, "online" if n % 3 == 0 else "offline", last_seen=None if n % 3 == 0 else n)
    client = build_client(PresenceClient, server, rate_limit=5000)
    try:
        table = get_many_on_dask(dask, client, [*ids, "not-a-chat"], chunk_size=250)
        local = to_arrow(client.get_many([*ids, "not-a-chat"], return_exceptions=True))
    finally:
        client.close()
        server.stop()

    assert table.schema == local.schema
    assert table.to_pylist() == local.to_pylist()
    assert table.num_rows == 2001
    assert table.column("error").to_pylist()[-1].startswith("InvalidChatIdError")
    # The lookups were made by the workers, in processes of their own.
    worker_pids = set(dask.run(os.getpid).values())
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    assert len(server.requests) >= 2 * 2000  # the workers' lookups and this process's


def test_an_empty_list_gives_an_empty_table(dask):
    server = start_server("wawp")
    client = build_client(PresenceClient, server)
    try:
        assert get_many_on_dask(dask, client, []).num_rows == 0
    finally:
        client.close()
        server.stop()
