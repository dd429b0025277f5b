"""Publishing the analyst tables as Parquet plus a views-only DuckDB file."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from warehouse.publish import MANIFEST, analytics_db_path, publish
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


def test_publish_materialises_every_analytics_view(store: Store, tmp_path: Path) -> None:
    add(store, [article(i, i % 3) for i in range(9)])
    store.insert("raw.runs", [run_row("r1", DAY0)])
    out = tmp_path / "published"
    result = publish(store, out)
    db = analytics_db_path(out)
    assert result["tables"]["articles"] == 9
    assert {"articles", "runs", "feed_health", "quality"} <= set(result["tables"])
    assert sorted(p.parent.name for p in (out / "articles").glob("*/*.parquet")) == [
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
    files = {p: p.stat().st_ino for p in (out / "articles").glob("*/*.parquet")}
    unchanged = publish(store, out)
    assert unchanged["files_written"] == 0
    assert not unchanged["analytics_db_rewritten"]
    # One article changes on day 2 and one new article arrives on a new day 5.
    add(store, [article(1, 1, title="Changed"), article(100, 5)])
    result = publish(store, out)
    # Day 2's partition and the new day 6's; no other day of articles.
    assert sorted(p for p in result["written"] if p.startswith("articles/")) == [
        "articles/first_seen_day=2026-11-02/part.parquet",
        "articles/first_seen_day=2026-11-06/part.parquet"]
    after = {p: p.stat().st_ino for p in (out / "articles").glob("*/*.parquet")}
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
    assert not (out / "articles" / "first_seen_day=2026-11-02").exists()
    full = publish(store, out, since_marker=None)
    # Everything published was rewritten (empty tables keep their schema-only stand-in).
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*.parquet")}
    assert set(full["written"]) == {p for p in on_disk if not p.endswith("_schema.parquet")}
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
    assert not (out / "articles" / "_schema.parquet").exists()
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
        assert result["analytics_db_rewritten"] is False
        # Same session, next query: the new rows are there (the views read the Parquet afresh).
        assert analyst.execute("SELECT count(*) FROM analytics.articles").fetchone() == (3,)
        # Forcing a rewrite of the views file replaces it under the open session.
        (out / MANIFEST).write_text(json.dumps({"format": 0}), encoding="utf-8")
        assert publish(store, out)["analytics_db_rewritten"] is True
        assert analyst.execute("SELECT count(*) FROM analytics.articles").fetchone() == (3,)
    finally:
        analyst.close()
    assert analyst_rows(db, "SELECT count(*) FROM analytics.articles") == [(3,)]


def test_killed_publish_leaves_only_ignorable_temporaries(store: Store, tmp_path: Path) -> None:
    add(store, [article(1, 0)])
    out = tmp_path / "published"
    publish(store, out)
    junk = out / "articles" / "first_seen_day=2026-11-01" / f".part.parquet.{os.getpid()}.tmp"
    junk.write_bytes(b"half a file")
    db = analytics_db_path(out)
    assert analyst_rows(db, "SELECT count(*) FROM analytics.articles") == [(1,)]
    publish(store, out)
    assert not junk.exists()
