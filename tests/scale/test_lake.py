"""The store on DuckLake (catalog in a local PostgreSQL, Parquet in a temp folder).

Migrations, idempotent appends, the writer door, the fence that serialises writers, and two
writer processes (no shared lock file) appending the same and different raw rows at once,
compared row by row with a single writer's result.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from warehouse import lake, localpg
from warehouse.access import open_reader, open_writer
from warehouse.migrate import available_migrations
from warehouse.store import event_id

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("lake_writer.py")


def new_lake(pg: localpg.LocalPg, workdir: Path, name: str) -> lake.LakeSpec:
    pg.create_database(name)
    return lake.LakeSpec.parse(f"ducklake:postgres:{pg.dsn(name)} data_path={workdir / name}")


def fetch_rows(feed: str, n: int, start: datetime) -> list[dict[str, Any]]:
    """``n`` raw.feed_fetches rows of one feed; ids deterministic from their content."""
    rows = []
    for i in range(n):
        at = start + timedelta(minutes=i)
        body = f"<rss>{feed} {i}</rss>".encode()
        rows.append({
            "event_id": event_id("feed_fetched", feed, i, at), "run_id": f"run-{feed}",
            "occurred_at": at, "recorded_at": at, "schema_version": 4, "feed_id": feed,
            "url": f"http://127.0.0.1/{feed}.xml", "attempt": 1, "final_url": None,
            "redirect_chain": [f"http://127.0.0.1/{feed}"] if i % 3 == 0 else None,
            "status": 200, "error_class": None, "error_detail": None, "not_modified": False,
            "etag": f'"{i}"', "last_modified": None, "retry_after_s": None,
            "headers": json.dumps({"n": i}), "content_type": "application/rss+xml",
            "body": body, "body_sha256": event_id("body", body.decode()), "body_bytes": len(body),
            "elapsed_ms": i, "parse_outcome": "ok", "parse_reason": None, "feed_version": "rss20",
            "bozo": False, "entry_count": i % 7, "feed_title": feed, "ttl_minutes": None})
    return rows


def test_migrations_apply_to_a_lake_and_inserts_are_idempotent(
        postgres: localpg.LocalPg, workdir: Path) -> None:
    spec = new_lake(postgres, workdir, "idem")
    t0 = time.monotonic()
    with lake.LakeStore.open_lake(spec) as store:
        print(f"migrations on the lake: {time.monotonic() - t0:.1f}s")
        versions = [r["version"] for r in store.rows("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == [m.version for m in available_migrations()]
        # The later migrations' changes are there too (0003 renamed a table, 0004 added columns).
        cols = {r["column_name"] for r in store.rows(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ?"
            " AND schema_name = 'raw' AND table_name = 'feed_fetches'", [store.database])}
        assert "permanent_redirect" in cols
        assert store.count("core.page_extractions") == 0

        rows = fetch_rows("a", 5, datetime(2026, 1, 1, tzinfo=UTC))
        assert store.insert("raw.feed_fetches", rows + rows[:2]) == 5  # in-batch duplicates too
        assert store.insert("raw.feed_fetches", rows) == 0
        assert store.insert("raw.feed_fetches", fetch_rows("a", 7, datetime(2026, 1, 1, tzinfo=UTC))) == 2
        assert store.count("raw.feed_fetches") == 7
        # A composite key (core.article_feeds) is honoured column by column.
        link = {"article_key": "k", "feed_id": "a", "entry_key": "e", "first_seen_at":
                datetime(2026, 1, 1, tzinfo=UTC)}
        assert store.insert("core.article_feeds", [link, dict(link, entry_key="f")]) == 2
        assert store.insert("core.article_feeds", [link]) == 0
        assert lake.declared_keys()["core.feeds"] == ("feed_id",)
    # Through the writer door, reopened: nothing migrates again, the rows are there.
    with open_writer(str(spec), min_free_mb=1) as store:
        assert isinstance(store, lake.LakeStore)
        assert store.insert("raw.feed_fetches", rows) == 0
        assert store.count("raw.feed_fetches") == 7
    reader = open_reader(str(spec))
    try:
        assert reader.count("raw.feed_fetches") == 7
        with pytest.raises(duckdb.Error):
            reader.insert("raw.feed_fetches", fetch_rows("b", 1, datetime(2026, 1, 2, tzinfo=UTC)))
    finally:
        reader.close()
    # Small commits are inlined in the catalog (DuckLake's data inlining); flushed, they are
    # Parquet under data_path, and the rows are the same.
    with open_writer(str(spec), min_free_mb=1) as store:
        store.con.execute("CALL ducklake_flush_inlined_data(?)", [store.database])
    # the rows are Parquet under the table's folder (DuckLake keeps the folder of the name a
    # table was created under: migration 0013 made raw.feed_fetches again as feed_fetches_next)
    assert list(Path(spec.data_path).glob("raw/feed_fetches*/**/*.parquet"))
    # Any DuckDB client that attaches the lake reads them.
    con = lake.connect(spec, read_only=True)
    try:
        assert con.execute("SELECT count(DISTINCT event_id) FROM raw.feed_fetches").fetchone() == (7,)
        # The analyst views live in the lake's catalog too, with their descriptions.
        assert con.execute("SELECT count(*) FROM analytics.articles").fetchone() == (0,)
        comment = con.execute("SELECT comment FROM duckdb_views() WHERE database_name ="
                              " current_database() AND schema_name = 'analytics'"
                              " AND view_name = 'articles'").fetchone()
        assert comment is not None and comment[0]
    finally:
        con.close()


def test_the_fence_turns_a_concurrent_duplicate_into_a_conflict(
        postgres: localpg.LocalPg, workdir: Path) -> None:
    """Two writers that both checked an id is absent: without the fence DuckLake commits both
    appends (a duplicate); with it, the second COMMIT fails and its retry finds the row."""
    spec = new_lake(postgres, workdir, "fence")
    a, b = (lake.LakeStore.open_lake(spec) for _ in range(2))
    try:
        schema = a.arrow_schema("raw.feed_fetches")
        batch = pa.Table.from_pylist(fetch_rows("f", 1, datetime(2026, 1, 1, tzinfo=UTC)), schema)
        # Unfenced: what plain DuckLake appends do.
        a.con.execute("BEGIN")
        b.con.execute("BEGIN")
        assert a._insert_new("raw.feed_fetches", batch) == 1
        assert b._insert_new("raw.feed_fetches", batch) == 1
        a.con.execute("COMMIT")
        b.con.execute("COMMIT")
        assert a.scalar("SELECT count(*) FROM raw.feed_fetches") == 2  # the race, shown
        a.con.execute("DELETE FROM raw.feed_fetches")

        batch2 = pa.Table.from_pylist(fetch_rows("g", 1, datetime(2026, 1, 1, tzinfo=UTC)), schema)
        with pytest.raises(lake.LakeConflictError), a.transaction("first"):
            assert a._insert_new("raw.feed_fetches", batch2) == 1
            with b.transaction("second"):
                assert b._insert_new("raw.feed_fetches", batch2) == 1
                # b committed first; a's COMMIT must now fail
        assert a.count("raw.feed_fetches") == 1
        # The single-write path retries on the newer snapshot and finds the row there.
        assert a.insert_arrow("raw.feed_fetches", batch2) == 0
        assert a.count("raw.feed_fetches") == 1
    finally:
        a.close()
        b.close()


def single_writer(spec: lake.LakeSpec, table: pa.Table) -> None:
    with lake.LakeStore.open_lake(spec) as store:
        store.insert_arrow("raw.feed_fetches", table)


@pytest.mark.slow
def test_two_writer_processes_append_without_duplicates_or_losses(
        postgres: localpg.LocalPg, workdir: Path) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    shared = fetch_rows("shared", 120, start)
    own = {w: fetch_rows(w, 80, start) for w in ("w1", "w2")}
    inputs = {}
    for n, w in enumerate(own):
        rows = shared + own[w]
        random.Random(n).shuffle(rows)  # each writer meets the shared ids in its own order
        inputs[w] = workdir / f"{w}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), inputs[w])
    both = pa.concat_tables([pq.read_table(p) for p in inputs.values()])

    spec = new_lake(postgres, workdir, "concurrent")
    lake.LakeStore.open_lake(spec).close()  # migrate once, so the race is about rows
    go = workdir / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, str(WRITER), str(spec), str(inputs[w]), str(go), "10"],
                              stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) for w in own]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        go.touch()
        reports = []
        for p in procs:
            out, _ = p.communicate(timeout=300)
            assert p.returncode == 0, out
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    print("writers:", reports)
    # They did run at the same time.
    assert max(r["start"] for r in reports) < min(r["end"] for r in reports)
    # Every distinct row went in exactly once, whichever writer got there first.
    assert sum(r["inserted"] for r in reports) == 120 + 80 + 80

    reference = new_lake(postgres, workdir, "reference")
    single_writer(reference, both)
    con = lake.connect(spec, read_only=True)
    try:
        con.execute(f"ATTACH '{lake.PREFIX}{reference.catalog}' AS ref "
                    f"(DATA_PATH '{reference.data_path}', READ_ONLY)")
        cols = ", ".join(c for c in both.column_names)
        assert con.execute("SELECT count(*) - count(DISTINCT event_id) FROM raw.feed_fetches"
                           ).fetchone() == (0,)
        extra = con.execute(f"SELECT {cols} FROM raw.feed_fetches EXCEPT ALL "
                            f"SELECT {cols} FROM ref.raw.feed_fetches").fetchall()
        lost = con.execute(f"SELECT {cols} FROM ref.raw.feed_fetches EXCEPT ALL "
                           f"SELECT {cols} FROM raw.feed_fetches").fetchall()
        assert (extra, lost) == ([], [])
        assert con.execute("SELECT count(*) FROM ref.raw.feed_fetches").fetchone() == (280,)
        # Commits were serialised: every writer commit is its own DuckLake snapshot.
        name = con.execute("SELECT current_database()").fetchone()
        assert name is not None
        snapshots = con.execute("SELECT count(*) FROM ducklake_snapshots('"
                                + str(name[0]).replace("'", "''") + "')").fetchone()
        assert snapshots is not None and snapshots[0] >= 2 * (200 // 10)  # one per writer batch
    finally:
        con.close()


def test_lake_address_parsing_and_migration_rewrite() -> None:
    spec = lake.LakeSpec.parse("ducklake:postgres:dbname=nf host=10.0.0.5 port=5432 data_path=/srv/lake")
    assert spec == lake.LakeSpec("postgres:dbname=nf host=10.0.0.5 port=5432", "/srv/lake/")
    assert lake.LakeSpec.parse(str(spec)) == spec  # round trip
    assert lake.is_lake(str(spec)) and lake.is_lake(Path(str(spec)))  # settings hold a Path
    assert not lake.is_lake("data/newsflow.duckdb") and not lake.is_lake(None)
    for bad in ("ducklake:postgres:dbname=nf", "ducklake: data_path=/x", "data/newsflow.duckdb",
                "ducklake:a data_path=/x data_path=/y"):
        with pytest.raises(ValueError):
            lake.LakeSpec.parse(bad)
    sql = ("CREATE TABLE raw.x (\n    event_id VARCHAR PRIMARY KEY,   -- id\n    n INTEGER\n);\n"
           "CREATE TABLE core.y (\n    a VARCHAR NOT NULL,\n    b VARCHAR NOT NULL,\n"
           "    PRIMARY KEY (a, b)\n);")
    adapted = lake.adapt_sql(sql)
    assert "PRIMARY KEY" not in adapted
    assert "event_id VARCHAR,   -- id" in adapted and "b VARCHAR NOT NULL\n);" in adapted
    # Every migration shipped rewrites to SQL without keys, and every key is still known.
    keys = lake.declared_keys()
    assert keys["raw.feed_fetches"] == ("event_id",)
    assert keys["core.page_extractions"] == ("page_fetch_id", "extractor_version")
    for migration in available_migrations():
        assert "PRIMARY KEY" not in lake.adapt_sql(migration.sql).upper()
    views = lake.adapt_view_sql("COMMENT ON VIEW a.b IS 'x';\n-- note\nCOMMENT ON COLUMN a.b.c IS 'y';\n")
    assert "COMMENT ON VIEW" in views and "COLUMN" not in views
