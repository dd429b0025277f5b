"""Forward-only schema migrations: numbered ``migrations/NNNN_slug.sql`` files.

Each migration runs in its own transaction together with its ``schema_version`` row, and a
``CHECKPOINT`` follows so DDL never sits in the WAL (FAULTS case 70); a new file gets all of them
in one transaction and one checkpoint. Before a migration is applied
to a database that already holds data, a copy of the file is taken beside it.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

from transforms.errors import NewsflowError
from warehouse.faults import fault_point

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class StoreTooNewError(NewsflowError, RuntimeError):
    """The store was written by a newer newsflow (a higher schema version than we ship)."""

    def __init__(self, found: int, latest: int) -> None:
        super().__init__(
            f"database schema version {found} is newer than this newsflow's ({latest}); "
            "upgrade newsflow before opening this store")
        self.advice = "upgrade newsflow (uv sync with a newer lock), then run again"
        self.found = found
        self.latest = latest


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """All migrations shipped with the package, in version order."""
    found: list[Migration] = []
    for entry in resources.files("warehouse").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def current_version(con: duckdb.DuckDBPyConnection, adapt: Callable[[str], str] | None = None) -> int:
    """The schema version of an open database (0 for a new one)."""
    ddl = ("CREATE TABLE IF NOT EXISTS schema_version ("
           " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
           " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)")
    con.execute(adapt(ddl) if adapt else ddl)
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection, db_path: Path | None = None, *,
            adapt: Callable[[str], str] | None = None) -> list[int]:
    """Apply pending migrations; return the versions applied. Idempotent.

    ``adapt`` rewrites each migration's SQL for another catalog (DuckLake: warehouse.lake), where
    there is no file to back up and no WAL to checkpoint.
    """
    start = current_version(con, adapt)
    migrations = available_migrations()
    latest = migrations[-1].version
    if start > latest:
        # checked before "nothing pending": an older newsflow must never write a newer store
        raise StoreTooNewError(start, latest)
    pending = [m for m in migrations if m.version > start]
    if not pending:
        return []
    if start > 0 and db_path is not None and db_path.exists():
        _backup(con, db_path, start)
    # A new DuckDB file has nothing to keep between two migrations: all of them go in one
    # transaction and one checkpoint (a third of the CPU of a commit and a checkpoint each).
    steps = [pending] if start == 0 and adapt is None else [[m] for m in pending]
    applied: list[int] = []
    for step in steps:
        con.execute("BEGIN TRANSACTION")
        try:
            for migration in step:
                con.execute(adapt(migration.sql) if adapt else migration.sql)
                con.execute(
                    "INSERT INTO schema_version (version, name) VALUES (?, ?)",
                    [migration.version, migration.name],
                )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        fault_point("migration:after_commit")
        if adapt is None:
            con.execute("CHECKPOINT")
        for migration in step:
            applied.append(migration.version)
            log.info("applied migration %04d_%s", migration.version, migration.name)
    return applied


def _backup(con: duckdb.DuckDBPyConnection, db_path: Path, version: int) -> Path:
    """Copy the checkpointed database file before changing existing tables."""
    con.execute("CHECKPOINT")
    target = db_path.with_name(f"{db_path.name}.v{version:04d}.bak")
    shutil.copy2(db_path, target)
    log.info("backed up %s to %s before migrating", db_path, target)
    return target
