"""Issue 7: extraction on a Dask cluster gives the same core.articles as the local process pool,
on the offline sample. Feeds and pages are fetched once; the extraction stage then runs on two
copies of that store, one per path chosen by the ``dask_address`` setting, and the two
``core.articles`` tables are compared with EXCEPT both ways."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.sample_mode import sample_settings


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    from distributed import LocalCluster

    # Non-daemonic worker processes may start the per-page isolation pool (docs/operations.md).
    with dask_config(), LocalCluster(
            n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
            dashboard_address=None, worker_dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def dask_config() -> object:
    import dask

    return dask.config.set({"distributed.worker.daemon": False})


def test_dask_path_gives_the_same_core_articles_on_the_sample(
        tmp_path: Path, dask_address: str) -> None:
    from flows.extract_articles import extract
    from flows.fetch_pages import fetch
    from flows.ingest_feeds import ingest
    from flows.settings import load_feed_list
    from sample.server import SampleServer
    from warehouse.store import Store
    from workers.dask_extraction import DaskExtractionPool, extraction_pool

    base = tmp_path / "fetched.duckdb"
    with SampleServer() as server:
        settings = sample_settings(server, tmp_path, base.name, extract_workers=2)
        with Store.open(base) as store:
            ingest(store, settings, load_feed_list(settings.feeds_file), run_id="fetch",
                   only_due=False)
            fetch(store, settings, run_id="fetch")
        n_articles = len(server.site.articles)

    for name, address in (("local", None), ("dask", dask_address)):
        db = tmp_path / f"{name}.duckdb"
        shutil.copy(base, db)
        chosen = settings.model_copy(update={"db_path": db, "dask_address": address})
        assert isinstance(extraction_pool(chosen), DaskExtractionPool) is (address is not None)
        with Store.open(db) as store:
            result = extract(store, chosen, run_id="extract")
        assert result["status"] == "ok", result

    # the pages really went through the cluster
    from distributed import Client

    with Client(dask_address) as client:
        prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert "extract_chunk" in prefixes

    con = duckdb.connect(str(tmp_path / "local.duckdb"), read_only=True)
    con.execute(f"ATTACH '{tmp_path / 'dask.duckdb'}' AS dask (READ_ONLY)")
    only_local = con.execute("SELECT * FROM core.articles EXCEPT "
                             "SELECT * FROM dask.core.articles").fetchall()
    only_dask = con.execute("SELECT * FROM dask.core.articles EXCEPT "
                            "SELECT * FROM core.articles").fetchall()
    count = con.execute("SELECT count(*) FROM core.articles").fetchone()
    con.close()
    assert only_local == [] and only_dask == []
    assert count is not None and count[0] == n_articles
