"""The whole pipeline on a DuckLake store (catalog in a local PostgreSQL, Parquet in a folder):
the same articles as on a DuckDB file, and a second run adds nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.pipeline import run_pipeline
from sample.server import SampleServer
from tests.sample_mode import sample_settings
from warehouse import localpg
from warehouse.access import open_reader

pytestmark = pytest.mark.slow  # two pipeline runs on the lake and one on a file: ~2 minutes


def _articles(store_con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return store_con.execute(
        "SELECT article_key, title, content_hash FROM core.articles ORDER BY 1").fetchall()


def test_the_pipeline_on_a_lake_equals_the_pipeline_on_a_file(
        postgres: localpg.LocalPg, workdir: Path) -> None:
    postgres.create_database("pipeline")
    address = f"ducklake:postgres:{postgres.dsn('pipeline')} data_path={workdir / 'lake'}/"
    with SampleServer(n_articles=6) as server:
        on_file = sample_settings(server, workdir / "file")
        on_lake = sample_settings(server, workdir, db_path=address,
                                  publish_dir=workdir / "published", docs_dir=workdir / "docs")
        (workdir / "file").mkdir(exist_ok=True)
        assert run_pipeline(on_file, run_id="file-1", only_due=False)["status"] == "ok"
        first = run_pipeline(on_lake, run_id="lake-1", only_due=False)
        assert first["status"] == "ok", first
        again = run_pipeline(on_lake, run_id="lake-2", only_due=False)
        assert again["status"] == "ok", again
    assert first["stages"]["extract_articles"]["articles"] > 0
    assert again["stages"]["ingest_feeds"]["entries_new"] == 0
    assert again["stages"]["extract_articles"]["pages"] == 0
    lake_store = open_reader(address)
    file_con = duckdb.connect(str(on_file.db_path), read_only=True)
    try:
        assert _articles(lake_store.con) == _articles(file_con)
        runs = lake_store.con.execute(
            "SELECT run_id, status FROM raw.runs WHERE stage = 'run' AND status <> 'running' "
            "ORDER BY run_id").fetchall()
        assert runs == [("lake-1", "ok"), ("lake-2", "ok")]
    finally:
        lake_store.close()
        file_con.close()
