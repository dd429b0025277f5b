"""Publishing the analyst tables as Parquet plus a views-only DuckDB file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from warehouse.publish import MANIFEST, analytics_db_path, current_dir, publish
from warehouse.store import Store

DAY0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def article(i: int, day: int, *, title: str | None = None) -> dict[str, Any]:
    """A core.articles row, first seen on day ``day`` after DAY0."""
    seen = DAY0 + timedelta(days=day, minutes=i)
    return {
        "article_key": f"https://example.org/a/{i}", "url": f"https://example.org/a/{i}",
        "canonical_url": None, "feed_id": "f1", "outlet": "example", "title": title or f"T{i}",
        "authors": ["A"], "published_at": seen, "published_source": "meta", "date_suspect": False,
        "feed_page_date_disagree": False, "modified_at": None, "language": "en",
        "declared_language": "en", "site_name": "Example", "description": None, "image": None,
        "tags": [], "text": f"text of article {i} " * 40, "word_count": 200,
        "content_hash": f"h{i}", "extractor": "trafilatura", "extractor_version": "2.3.1",
        "page_fetch_id": f"p{i}", "first_seen_at": seen, "last_seen_at": seen, "version_count": 1,
    }


def run_row(run_id: str, when: datetime) -> dict[str, Any]:
    return {"event_id": f"e-{run_id}", "run_id": run_id, "flow": "pipeline",
            "stage": "extract_articles", "status": "ok", "parameters": "{}", "counts": "{}",
            "versions": "{}", "message": None, "started_at": when, "finished_at": when,
            "occurred_at": when, "recorded_at": when, "schema_version": 1}


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "newsflow.duckdb")
    yield s
    s.close()


def add(store: Store, rows: list[dict[str, Any]]) -> None:
    with store.transaction("test"):
        store.replace("core.articles", "article_key", rows)


def analyst_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def rows_in_new_process(db: Path, sql: str) -> list[list[Any]]:
    """What a new session sees (in this process DuckDB would hand back the open database)."""
    code = ("import duckdb, json, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(json.dumps(con.execute(sys.argv[2]).fetchall(), default=str))")
    done = subprocess.run([sys.executable, "-c", code, str(db), sql], capture_output=True,
                          text=True, check=True, timeout=60)
    return list(json.loads(done.stdout))


def test_publish_materialises_every_analytics_view(store: Store, tmp_path: Path) -> None:
    add(store, [article(i, i % 3) for i in range(9)])
    store.insert("raw.runs", [run_row("r1", DAY0)])
    out = tmp_path / "published"
    result = publish(store, out)
    db = analytics_db_path(out)
    assert result["tables"]["articles"] == 9
    assert {"articles", "runs", "feed_health", "quality"} <= set(result["tables"])
    assert sorted(p.parent.name for p in (current_dir(out) / "articles").glob("*/*.parquet")) == [
        "first_seen_day=2026-11-01", "first_seen_day=2026-11-02", "first_seen_day=2026-11-03"]
    # The analyst's file holds views only and answers the same as the store's views.
    assert analyst_rows(db, "SELECT count(*) FROM analytics.articles") == [(9,)]
    mine = analyst_rows(db, "SELECT article_key, title, text, authors FROM analytics.articles "
                            "ORDER BY 1")
    theirs = store.con.execute("SELECT article_key, title, text, authors FROM analytics.articles "
                               "ORDER BY 1").fetchall()
    assert mine == theirs
    assert analyst_rows(db, "SELECT run_id, status FROM analytics.runs") == [("r1", "ok")]
    kinds = analyst_rows(db, "SELECT DISTINCT table_type FROM information_schema.tables")
    assert kinds == [("VIEW",)]


def test_second_publish_rewrites_only_touched_partitions(store: Store, tmp_path: Path) -> None:
    add(store, [article(i, i % 3) for i in range(9)])
    out = tmp_path / "published"
    publish(store, out)
    files = {p.relative_to(current_dir(out).resolve()): p.stat().st_ino
             for p in (current_dir(out).resolve() / "articles").glob("*/*.parquet")}
    unchanged = publish(store, out)
    # Nothing changed: the new generation is made of hard links to the previous one's files.
    assert unchanged["files_written"] == 0
    assert unchanged["files_linked"] > 0 and unchanged["bytes_written"] == 0
    # One article changes on day 2 and one new article arrives on a new day 5.
    add(store, [article(1, 1, title="Changed"), article(100, 5)])
    result = publish(store, out)
    # Day 2's partition and the new day 6's; no other day of articles.
    assert sorted(p for p in result["written"] if p.startswith("articles/")) == [
        "articles/first_seen_day=2026-11-02/part.parquet",
        "articles/first_seen_day=2026-11-06/part.parquet"]
    after = {p.relative_to(current_dir(out).resolve()): p.stat().st_ino
             for p in (current_dir(out).resolve() / "articles").glob("*/*.parquet")}
    kept = [p for p in files if after.get(p) == files[p]]
    assert sorted(p.parent.name for p in kept) == ["first_seen_day=2026-11-01",
                                                   "first_seen_day=2026-11-03"]
    db = analytics_db_path(out)
    assert analyst_rows(db, "SELECT title FROM analytics.articles WHERE article_key LIKE '%/1'") \
        == [("Changed",)]
    assert analyst_rows(db, "SELECT count(*) FROM analytics.articles") == [(10,)]
    days = analyst_rows(db, "SELECT DISTINCT first_seen_day FROM analytics.articles ORDER BY 1")
    assert days[-1][0].isoformat() == "2026-11-06"


def test_removed_day_is_removed_and_full_republish_on_none(store: Store, tmp_path: Path) -> None:
    add(store, [article(1, 0), article(2, 1)])
    out = tmp_path / "published"
    first = publish(store, out)
    store.con.execute("DELETE FROM core.articles WHERE article_key LIKE '%/2'")
    result = publish(store, out, since_marker=first["marker"])
    assert result["files_removed"] == 1
    assert not (current_dir(out) / "articles" / "first_seen_day=2026-11-02").exists()
    full = publish(store, out, since_marker=None)
    # Everything published was rewritten (empty tables keep their schema-only stand-in).
    now = current_dir(out).resolve()
    on_disk = {str(p.relative_to(now)) for p in now.rglob("*.parquet")}
    assert set(full["written"]) == on_disk
    # A stale marker (someone published in between) means "assume nothing is published".
    stale = publish(store, out, since_marker=first["marker"])
    assert stale["files_written"] == full["files_written"]


def test_empty_store_publishes_queryable_empty_views(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "published"
    publish(store, out)
    db = analytics_db_path(out)
    assert analyst_rows(db, "SELECT count(*) FROM analytics.articles") == [(0,)]
    cols = [r[0] for r in analyst_rows(db, "DESCRIBE analytics.articles")]
    assert "article_key" in cols and "text" in cols
    add(store, [article(1, 0)])
    result = publish(store, out)
    assert result["analytics_db_rewritten"]  # the view now reads the partitions
    assert not (current_dir(out) / "articles" / "_schema.parquet").exists()
    assert analyst_rows(db, "SELECT count(*) FROM analytics.articles") == [(1,)]


def test_publish_never_waits_for_an_analyst_holding_the_views_file(store: Store,
                                                                    tmp_path: Path) -> None:
    add(store, [article(1, 0)])
    out = tmp_path / "published"
    publish(store, out)
    db = analytics_db_path(out)
    # The analyst opens the views file read-write (DuckDB's default) and keeps it open.
    analyst = duckdb.connect(str(db))
    try:
        assert analyst.execute("SELECT count(*) FROM analytics.articles").fetchone() == (1,)
        add(store, [article(2, 0), article(3, 4)])
        result = publish(store, out)
        assert result["analytics_db_rewritten"] is True
        # The open session keeps the generation it opened, whole (a snapshot, never torn);
        # a new session sees the new generation.
        assert analyst.execute("SELECT count(*) FROM analytics.articles").fetchone() == (1,)
        assert rows_in_new_process(db, "SELECT count(*) FROM analytics.articles") == [[3]]
        # A broken manifest forces a full republish, again under the open session.
        (out / MANIFEST).write_text(json.dumps({"format": 0}), encoding="utf-8")
        full = publish(store, out)
        assert full["files_linked"] == 0 and full["files_written"] > 0
        assert analyst.execute("SELECT count(*) FROM analytics.articles").fetchone() == (1,)
    finally:
        analyst.close()
    assert analyst_rows(db, "SELECT count(*) FROM analytics.articles") == [(3,)]


def test_old_generations_are_kept_for_open_sessions_and_bounded(store: Store,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "published"
    add(store, [article(0, 0)])
    publish(store, out)
    analyst = duckdb.connect(str(analytics_db_path(out)), read_only=True)
    try:
        for i in range(1, 3):  # two more publishes: the session's generation is still kept
            add(store, [article(i, i)])
            publish(store, out, keep=3)
            assert analyst.execute("SELECT count(*) FROM analytics.articles").fetchone() == (1,)
        add(store, [article(9, 9)])
        result = publish(store, out, keep=3)
    finally:
        analyst.close()
    assert result["generations_removed"] == [1]
    assert sorted(p.name for p in out.glob("gen-*")) == ["gen-000002", "gen-000003", "gen-000004"]
    assert current_dir(out).resolve().name == "gen-000004"
    assert analyst_rows(analytics_db_path(out), "SELECT count(*) FROM analytics.articles") == [(4,)]


def test_killed_publish_leaves_only_ignorable_temporaries(store: Store, tmp_path: Path) -> None:
    add(store, [article(1, 0)])
    out = tmp_path / "published"
    publish(store, out)
    # What a publish killed half-way leaves: a half-built generation and a half-written file.
    half_gen = out / f".gen-000002.{os.getpid()}.tmp"
    (half_gen / "articles").mkdir(parents=True)
    (half_gen / "articles" / "part.parquet").write_bytes(b"half a file")
    junk = out / f".{MANIFEST}.{os.getpid()}.tmp"
    junk.write_bytes(b"half a")
    db = analytics_db_path(out)
    assert analyst_rows(db, "SELECT count(*) FROM analytics.articles") == [(1,)]
    publish(store, out)
    assert not junk.exists() and not half_gen.exists()
    assert analyst_rows(db, "SELECT count(*) FROM analytics.articles") == [(1,)]


def test_layout_before_generations_is_replaced_and_nothing_else_removed(store: Store,
                                                                        tmp_path: Path) -> None:
    add(store, [article(1, 0)])
    out = tmp_path / "published"
    # What a publish before generations left: tables directly under out, manifest format 1.
    (out / "articles" / "first_seen_day=2026-11-01").mkdir(parents=True)
    (out / "articles" / "first_seen_day=2026-11-01" / "part.parquet").write_bytes(b"PAR1")
    (out / "mine").mkdir()
    (out / "mine" / "notes.parquet").write_bytes(b"PAR1")  # not publish's: left alone
    (out / MANIFEST).write_text(json.dumps({"format": 1, "tables": {"articles": {}}}),
                                encoding="utf-8")
    result = publish(store, out)
    assert result["generation"] == 1 and result["files_linked"] == 0
    assert not (out / "articles").exists()
    assert (out / "mine" / "notes.parquet").exists()
    assert analyst_rows(analytics_db_path(out), "SELECT count(*) FROM analytics.articles") == [(1,)]
