"""The event store: migrations, idempotent appends, transactions, the writer lock."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from warehouse.lock import LockedError, writer_lock
from warehouse.migrate import StoreTooNewError, available_migrations, current_version
from warehouse.store import Store, event_id, schema_version, wal_path

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _fetch_row(n: int) -> dict[str, object]:
    return {
        "event_id": event_id("feed_fetched", "f1", n),
        "run_id": "run-1",
        "occurred_at": T0,
        "recorded_at": T0,
        "schema_version": schema_version(),
        "feed_id": "f1",
        "url": f"http://example.test/{n}",
        "attempt": 1,
        "not_modified": False,
        "elapsed_ms": 5,
        "redirect_chain": [],
    }


def test_migrations_create_every_schema_and_are_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        schemas = {r[0] for r in store.con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
        assert {"raw", "core", "quality", "analytics"} <= schemas
        assert current_version(store.con) == len(available_migrations())
    with Store.open(db) as store:  # reopening applies nothing new
        assert store.count("raw.runs") == 0
        assert store.scalar("SELECT count(*) FROM schema_version") == len(available_migrations())


def test_a_store_from_a_newer_newsflow_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db):
        pass
    future = len(available_migrations()) + 3
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version (version, name) VALUES (?, 'from_the_future')", [future])
    con.close()
    before = db.read_bytes()
    with pytest.raises(StoreTooNewError, match=f"schema version {future} is newer"):
        Store.open(db)
    assert db.read_bytes() == before  # nothing migrated, nothing written
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (future,)
    con.close()


def test_same_batch_twice_adds_nothing() -> None:
    store = Store.open(None)
    rows = [_fetch_row(n) for n in range(50)]
    assert store.insert("raw.feed_fetches", rows) == 50
    assert store.insert("raw.feed_fetches", rows) == 0
    assert store.insert("raw.feed_fetches", [*rows, _fetch_row(50)]) == 1
    assert store.count("raw.feed_fetches") == 51


def test_event_id_is_deterministic_and_content_sensitive() -> None:
    assert event_id("x", 1, "a") == event_id("x", 1, "a")
    assert event_id("x", 1, "a") != event_id("x", 1, "b")
    assert event_id("x", T0) == event_id("x", T0.isoformat())


def test_failed_transaction_leaves_nothing() -> None:
    store = Store.open(None)
    with pytest.raises(RuntimeError), store.transaction():
        store.insert("raw.feed_fetches", [_fetch_row(1)])
        raise RuntimeError("crash before commit")
    assert store.count("raw.feed_fetches") == 0


def test_unknown_table_is_refused() -> None:
    store = Store.open(None)
    with pytest.raises(ValueError, match="unknown table"):
        store.insert("raw.nope; DROP TABLE raw.runs", [{"a": 1}])


def test_replace_is_only_for_projections() -> None:
    store = Store.open(None)
    with pytest.raises(ValueError, match="projections"):
        store.replace("raw.feed_fetches", "event_id", [_fetch_row(1)])


def test_case_70_migration_backs_up_commits_and_checkpoints(tmp_path: Path, monkeypatch) -> None:
    from warehouse import migrate as migrate_module

    db = tmp_path / "old.duckdb"
    with Store.open(db) as store:
        store.insert("raw.feed_fetches", [_fetch_row(1)])
    shipped = available_migrations()
    extra = migrate_module.Migration(
        len(shipped) + 1, "add_note",
        "ALTER TABLE raw.feed_fetches ADD COLUMN note VARCHAR DEFAULT 'none';",
    )
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: [*shipped, extra])
    con = duckdb.connect(str(db))
    assert migrate_module.migrate(con, db) == [extra.version]
    con.close()
    backup = tmp_path / f"old.duckdb.v{len(shipped):04d}.bak"
    assert backup.exists()
    con = duckdb.connect(str(db), read_only=True)
    # old rows keep their values, the new column gets its documented default
    assert con.execute("SELECT url, note FROM raw.feed_fetches").fetchall() == [
        ("http://example.test/1", "none")]
    assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (extra.version,)
    con.close()
    old = duckdb.connect(str(backup), read_only=True)
    assert "note" not in [c[0] for c in old.execute("DESCRIBE raw.feed_fetches").fetchall()]
    old.close()


def test_failing_migration_rolls_back_whole(tmp_path: Path, monkeypatch) -> None:
    from warehouse import migrate as migrate_module

    db = tmp_path / "m.duckdb"
    Store.open(db).close()
    shipped = available_migrations()
    bad = migrate_module.Migration(
        len(shipped) + 1, "bad",
        "CREATE TABLE raw.half_done (x INT); SELECT * FROM no_such_table;",
    )
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: [*shipped, bad])
    con = duckdb.connect(str(db))
    with pytest.raises(duckdb.Error):
        migrate_module.migrate(con, db)
    assert current_version(con) == len(shipped)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "half_done" not in tables
    con.close()


def test_read_only_open_of_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="newsflow run"):
        Store.open(tmp_path / "missing.duckdb", read_only=True)


def test_case_71_second_writer_is_refused_at_once(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    script = (
        "import sys, time; from pathlib import Path; from warehouse.lock import writer_lock;\n"
        f"cm = writer_lock(Path({str(db)!r})); cm.__enter__(); print('held', flush=True);"
        " time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).parents[2])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match=r"PID \d+"), writer_lock(db):
            pass
    finally:
        holder.kill()
        holder.wait()
    # case 72: the kernel released the dead holder's lock; we can take it now.
    with writer_lock(db):
        pass


def test_lock_is_reentrant_in_one_process(tmp_path: Path) -> None:
    db = tmp_path / "y.duckdb"
    with writer_lock(db), writer_lock(db):
        pass
    with writer_lock(db):
        pass


def test_every_raw_table_is_writable_through_the_store() -> None:
    """Raw tables are append-only event logs, all written with Store.insert (backfill included)."""
    from warehouse.store import WRITABLE

    store = Store.open(None)
    raw = {f"raw.{r[0]}" for r in store.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
    assert "raw.backfill_days" in raw
    assert raw <= WRITABLE


def test_declared_keys_skip_duplicates_without_an_index_to_checkpoint() -> None:
    """Tables appended every run carry no PRIMARY KEY (DuckDB rewrites a key's whole index at
    each checkpoint, a cost that grows with the store): their key is declared in
    main.table_keys and kept by the insert, duplicates inside one batch included."""
    store = Store.open(None)
    enforced = {t for (t,) in store.con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY'").fetchall()}
    declared = {t for (t,) in store.con.execute("SELECT table_name FROM main.table_keys").fetchall()}
    assert {"raw.page_fetches", "raw.feed_entries", "core.articles"} <= declared
    assert not declared & enforced
    rows = [_fetch_row(n) for n in range(5)]
    assert store.insert("raw.feed_fetches", [*rows, *rows, rows[0]]) == 5
    assert store.insert("raw.feed_fetches", [*rows[2:], _fetch_row(7)]) == 1
    assert store.con.execute(
        "SELECT count(*), count(DISTINCT event_id) FROM raw.feed_fetches").fetchone() == (6, 6)


def test_a_commit_that_deleted_leaves_its_wal_to_checkpoint_if_due(tmp_path: Path) -> None:
    """DuckDB skips its automatic checkpoint at a commit that deleted rows; the writer folds
    that WAL itself (Store.checkpoint_if_due) so the next small commit does not pay for it."""
    path = tmp_path / "s.duckdb"
    wal = wal_path(path)
    with Store.open(path) as store:
        with store.transaction():
            store.con.execute("CREATE TABLE main.bulk (id INTEGER PRIMARY KEY, s VARCHAR)")
            store.con.execute("INSERT INTO main.bulk SELECT i, repeat('x', 400) "
                              "FROM range(60000) r(i)")
            store.con.execute("DELETE FROM main.bulk WHERE id = 0")
        assert wal.stat().st_size > 16 * 1024 * 1024  # not folded at that commit
        assert store.checkpoint_if_due() is True
        assert not wal.exists() or wal.stat().st_size == 0
        assert store.checkpoint_if_due() is False  # nothing due: no checkpoint
    assert Store.checkpoint_if_due(Store(duckdb.connect(), None)) is False  # in memory
