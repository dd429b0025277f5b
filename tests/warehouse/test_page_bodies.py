"""Page bodies apart from the attempts (migration page_bodies), pending pages read a batch at a
time, and the writer's memory limit."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from warehouse import migrate as migrate_module
from warehouse import projections
from warehouse.access import open_writer
from warehouse.backfill import page_bodies
from warehouse.events import compress, decompress
from warehouse.store import Store, schema_version

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)


def _page(n: int, body: bytes | None, *, error: str | None = None,
          sha: str | None = None) -> dict[str, Any]:
    when = AT + timedelta(minutes=n)
    return {
        "event_id": f"p{n:04d}", "run_id": "r1", "occurred_at": when, "recorded_at": when,
        "schema_version": schema_version(), "url": f"http://a.test/{n}",
        "url_key": f"a.test/{n}", "source": "feed", "attempt": 1,
        "final_url": f"http://a.test/{n}", "redirect_chain": [],
        "status": 500 if error else 200, "error_class": error, "error_detail": None,
        "headers": "{}", "content_type": "text/html", "charset": "utf-8",
        "body": compress(body),
        "body_sha256": sha if sha is not None or body is None else hashlib.sha256(body).hexdigest(),
        "body_bytes": None if body is None else len(body), "elapsed_ms": 5,
    }


def test_a_body_is_stored_once_and_the_attempt_keeps_has_body(tmp_path: Path) -> None:
    same = b"<html>same page</html>"
    with Store.open(tmp_path / "s.duckdb") as store:
        assert store.insert("raw.page_fetches", [_page(1, same), _page(2, same),
                                                 _page(3, None)]) == 3
        # the same body again in a later batch, and the same rows again: nothing new
        assert store.insert("raw.page_fetches", [_page(4, same)]) == 1
        assert store.insert("raw.page_fetches", [_page(1, same)]) == 0
        assert store.scalar("SELECT count(*) FROM raw.page_bodies") == 1
        got = store.con.execute("SELECT event_id, has_body FROM raw.page_fetches ORDER BY 1"
                                ).fetchall()
        assert got == [("p0001", True), ("p0002", True), ("p0003", False), ("p0004", True)]
        body = store.scalar("SELECT body FROM raw.page_bodies")
        assert decompress(body) == same


def test_pending_pages_come_in_batches_with_their_bodies_and_allow_writes_between(
        tmp_path: Path) -> None:
    bodies = {n: f"<html>page {n}</html>".encode() for n in range(1, 12)}
    with Store.open(tmp_path / "s.duckdb") as store:
        store.insert("raw.page_fetches", [_page(n, b) for n, b in bodies.items()]
                     + [_page(50, None, error="http_5xx")])
        seen: list[list[str]] = []
        ids = projections.pending_page_ids(store)
        for start in range(0, len(ids), 4):
            batch = projections.pages_by_id(store, ids[start:start + 4])
            seen.append([p["event_id"] for p in batch])
            for p in batch:
                assert decompress(p["body"]) == bodies[int(p["event_id"][1:])]
                assert set(p) == {"event_id", "url", "url_key", "final_url", "content_type",
                                  "body", "body_sha256", "occurred_at"}
                assert p["body_sha256"] == hashlib.sha256(bodies[int(p["event_id"][1:])]).hexdigest()
            # the caller commits each batch before asking for the next one
            with store.transaction("extract"):
                store.insert("core.page_extractions", [
                    {"page_fetch_id": p["event_id"], "article_key": p["url_key"],
                     "page_class": "article", "content_hash": "h", "extractor": "x",
                     "extractor_version": "x/1", "occurred_at": p["occurred_at"]}
                    for p in batch[:3]])  # the fourth page of a full batch stays unprojected
        assert [len(b) for b in seen] == [4, 4, 3]
        assert [i for b in seen for i in b] == [f"p{n:04d}" for n in range(1, 12)]
        # asked again, the store offers what is still unprojected, oldest first
        left = projections.pending_page_ids(store)
        assert left == ["p0004", "p0008"]


def test_the_migration_moves_existing_bodies(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = migrate_module.available_migrations()
    version = next(m.version for m in shipped if m.name == "page_bodies")
    db = tmp_path / "old.duckdb"
    monkeypatch.setattr(migrate_module, "available_migrations",
                        lambda: [m for m in shipped if m.version < version])
    con = duckdb.connect(str(db))
    migrate_module.migrate(con, db)
    same = compress(b"<html>kept</html>")
    for event, body, sha in (("a", same, "s1"), ("b", same, "s1"), ("c", None, "s1"),
                             ("d", compress(b"<html>other</html>"), "s2")):
        con.execute("INSERT INTO raw.page_fetches BY NAME SELECT ? AS event_id, 'r' AS run_id, "
                    "? AS occurred_at, ? AS recorded_at, 1 AS schema_version, 'http://a.test/' "
                    "AS url, 'a.test/' AS url_key, 'feed' AS source, 1 AS attempt, 0 AS "
                    "elapsed_ms, 200 AS status, ?::BLOB AS body, ? AS body_sha256",
                    [event, AT, AT, body, sha])
    con.close()
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: shipped)

    with Store.open(db) as store:
        assert store.con.execute("SELECT event_id, has_body FROM raw.page_fetches ORDER BY 1"
                                 ).fetchall() == [("a", True), ("b", True), ("c", False),
                                                  ("d", True)]
        assert store.con.execute("SELECT body_sha256, body FROM raw.page_bodies ORDER BY 1"
                                 ).fetchall() == [("s1", same),
                                                  ("s2", compress(b"<html>other</html>"))]
        columns = {r[0] for r in store.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' "
            "AND table_name = 'page_fetches'").fetchall()}
        assert "body" not in columns
        # re-extraction reads them back by event id (the attempt without a body has none)
        stored = page_bodies(store, ["a", "b", "c", "d"])
        assert sorted(stored) == ["a", "b", "d"]
        assert stored["b"]["body"] == same


def test_the_writer_opens_the_store_with_the_memory_limit(tmp_path: Path) -> None:
    with open_writer(tmp_path / "s.duckdb", min_free_mb=1, memory_limit="300MB") as store:
        limit = store.scalar("SELECT current_setting('memory_limit')")
    assert limit == "286.1 MiB"  # 300 MB as DuckDB reports it (its default is 80% of RAM)


def test_a_run_opens_its_store_with_the_duckdb_threads_of_its_settings(tmp_path: Path) -> None:
    from flows.runs import writer
    from flows.settings import load_settings

    one = load_settings(db_path=tmp_path / "s.duckdb", run_checks=False)
    assert one.duckdb_threads == 1  # the default
    with writer(one, heal=False) as store:
        assert store.scalar("SELECT current_setting('threads')") == 1
    every = load_settings(db_path=tmp_path / "s.duckdb", run_checks=False, duckdb_threads=0)
    default = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()
    with writer(every, heal=False) as store:  # 0: DuckDB's own default, one per core
        assert (store.scalar("SELECT current_setting('threads')"),) == default
