"""Migration 0010 (revisits) on a store made by the previous release: article versions keep their rows and
get the version_hash the code computes, and a headline change over the same text becomes a
version of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from transforms.revisits import version_hash
from warehouse import migrate as migrate_module
from warehouse.store import Store

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)


def _version(title: str, authors: list[str] | None) -> dict[str, object]:
    return {"article_key": "k", "content_hash": "c1", "extractor_version": "x/1",
            "page_fetch_id": f"p-{title}", "observed_at": AT, "url": "http://example.test/a",
            "title": title, "authors": authors, "text": "Some text.", "word_count": 2,
            "extractor": "x", "is_short": False, "access": "unknown"}


def test_migration_0010_carries_versions_over_with_their_hash(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    shipped = migrate_module.available_migrations()
    before = [m for m in shipped if m.version < 10]
    db = tmp_path / "old.duckdb"
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: before)
    con = duckdb.connect(str(db))
    migrate_module.migrate(con, db)
    con.execute("INSERT INTO core.article_versions BY NAME SELECT * FROM "
                "(SELECT 'k' AS article_key, 'c1' AS content_hash, 'x/1' AS extractor_version, "
                "'p1' AS page_fetch_id, TIMESTAMPTZ '2026-11-22 09:00:00+00' AS observed_at, "
                "'http://example.test/a' AS url, 'Old headline' AS title, "
                "['Ada', 'Ben'] AS authors, 'Some text.' AS text, 2 AS word_count, "
                "'x' AS extractor, false AS is_short, 'unknown' AS access)")
    con.close()
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: shipped)

    with Store.open(db) as store:
        row = store.con.execute("SELECT title, version_hash FROM core.article_versions").fetchall()
        assert row == [("Old headline", version_hash("c1", "Old headline", ["Ada", "Ben"]))]
        # same text, new headline: a second version (the old key would have refused it)
        new = _version("New headline", ["Ada", "Ben"])
        new["version_hash"] = version_hash("c1", "New headline", ["Ada", "Ben"])
        assert store.insert("core.article_versions", [new]) == 1
        assert store.insert("core.article_versions", [new]) == 0  # and only once
        assert store.scalar("SELECT count(*) FROM raw.page_fetches WHERE revisit IS NOT NULL") == 0
