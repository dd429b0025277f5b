"""The two doors into the store: one for writers, one for readers.

Every command that writes goes through ``open_writer``, so each gets the same guards in the same
order: the OS writer lock (another newsflow writer: ``LockedError`` at once, or after a bounded
wait), free disk space (FAULTS 67: ``LowDiskSpaceError`` before anything is fetched), a WAL left
by a writer that died (FAULTS 68: kept and checked before DuckDB replays it), migrations, and a
DuckDB file held by another process such as the DuckDB CLI or a BI tool (FAULTS 69: DuckDB's own
"Could not set lock" message, which names the holder's PID, becomes ``LockedError``). Readers go
through ``open_reader``: read-only, and never creating a store where there is none.

A DuckLake address (``ducklake:...``, see warehouse.lake) instead of a path opens the shared
multi-host store: there the lake's writer fence takes the place of the lock file, and there is
no local file to preflight or WAL to check.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb

from transforms.errors import MissingStoreError
from warehouse import lake
from warehouse.health import check_wal, preflight
from warehouse.lock import LockedError, writer_lock
from warehouse.search import load_fts
from warehouse.store import Store, duckdb_config


@contextmanager
def open_writer(db_path: Path | str, *, min_free_mb: int, wait_s: float = 0.0,
                migrate: bool = True, memory_limit: str | None = None,
                threads: int | None = None, accept_torn_tail: bool = False) -> Iterator[Store]:
    """The store, open to write, under the writer lock; closed (and checkpointed) on exit.

    ``wait_s`` > 0 retries a held writer lock once a second for that long (a backfill waiting
    for a scheduled run to finish); 0 gives up at once. ``migrate=False`` only connects (a
    backfill's later chunks, after its first one migrated). ``accept_torn_tail`` is the WAL
    runbook's explicit step (``newsflow store recover --accept-torn-tail``, see health.check_wal).
    ``memory_limit`` and ``threads`` (0 or None: DuckDB's default) configure DuckDB.
    """
    if lake.is_lake(db_path):
        with lake.LakeStore.open_lake(lake.LakeSpec.parse(db_path), migrate_schema=migrate) as store:
            yield store
        return
    path = Path(db_path)
    deadline = time.monotonic() + wait_s
    with ExitStack() as stack:
        while True:
            try:
                stack.enter_context(writer_lock(path))
                break
            except LockedError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(1.0)
        preflight(path, min_free_mb * 2**20)
        try:
            check_wal(path, accept_torn_tail=accept_torn_tail)
            if migrate:
                store = Store.open(path, memory_limit=memory_limit, threads=threads)
            else:
                store = Store(duckdb.connect(str(path), config=duckdb_config(
                    memory_limit=memory_limit, threads=threads)), path)
        except duckdb.IOException as exc:
            if "Could not set lock" not in str(exc):
                raise
            raise LockedError(path, str(exc)) from exc
        with store:
            yield store


def connect_reader(db_path: Path | str) -> duckdb.DuckDBPyConnection:
    """The one read-only connection to the store, in UTC with full-text search loaded (for
    ``analytics.search``). A missing file is ``MissingStoreError`` (a reader never creates a
    store); a file another process holds open for writing is ``LockedError`` (DuckDB refuses a
    reader beside a writer in another process). A DuckLake address attaches the lake read-only
    (readers never wait for writers there)."""
    if lake.is_lake(db_path):
        return open_reader(db_path).con
    path = Path(db_path)
    if not path.exists():
        raise MissingStoreError(f"no database at {path} yet")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "Could not set lock" not in str(exc):
            raise
        raise LockedError(path, " ".join(str(exc).split())) from exc
    load_fts(con)
    con.execute("SET TimeZone = 'UTC'")
    return con


def open_reader(db_path: Path | str) -> Store:
    """The store, open read-only (see ``connect_reader``)."""
    if lake.is_lake(db_path):
        return lake.LakeStore.open_lake(lake.LakeSpec.parse(db_path), read_only=True)
    return Store(connect_reader(db_path), Path(db_path))
