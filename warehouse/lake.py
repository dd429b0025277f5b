"""The store in DuckLake: catalog in PostgreSQL, data as Parquet under a folder or bucket.

Selected by a store address instead of a file path (``NEWSFLOW_DB_PATH``/``open_writer``)::

    ducklake:postgres:dbname=newsflow host=db.internal port=5432 user=newsflow data_path=/srv/lake/

Everything after ``ducklake:`` except ``data_path=`` is DuckLake's catalog (``postgres:<libpq
string>``, or a DuckDB file for a one-host trial); ``data_path`` is where the Parquet goes. The
same numbered migrations run against the lake, with what DuckLake 1.5.5 cannot declare removed:
it has no PRIMARY KEY/UNIQUE constraints. The keys are still known (the migrations declare them),
so ``LakeStore`` keeps the store's write semantics by itself:

- idempotent appends: a row whose key is already in the table is skipped (an anti-join on the
  key, the deterministic ``event_id`` for raw tables), duplicates inside a batch too;
- one writer at a time, across hosts: DuckLake lets two concurrent appends both commit (they
  never conflict), so both anti-joins could pass for the same ``event_id``. Every write
  transaction therefore first updates the one row of ``writer_fence``; two transactions that
  both did are in conflict, and DuckLake refuses the second COMMIT. A single write
  (``insert``/``replace`` outside ``transaction()``) then retries on the newer snapshot, where
  the anti-join sees the first writer's rows; a ``transaction()`` block raises
  ``LakeConflictError`` and its caller runs again (ids are deterministic, so a rerun adds only
  what is missing). Commits are thereby serialised; DuckLake's snapshot ids order them.

There is no OS lock file, no WAL and no disk preflight here: the catalog database and the object
store are the shared state, and the fence replaces the lock.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import util
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from warehouse.faults import fault_point
from warehouse.migrate import available_migrations, migrate
from warehouse.store import Store, _check_table
from warehouse.views import view_files

log = logging.getLogger(__name__)

PREFIX = "ducklake:"
_PG_WHEEL = "duckdb_extension_postgres_scanner"
_LAKE_WHEEL = "duckdb_extension_ducklake"
FENCE = "writer_fence"
_T = TypeVar("_T")
_INLINE_KEY = re.compile(r"\s+PRIMARY KEY\b(?!\s*\()", re.IGNORECASE)
_TABLE_KEY = re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)", re.IGNORECASE)


class LakeConflictError(RuntimeError):
    """Another writer committed to the lake during this transaction; run it again."""


@dataclass(frozen=True, slots=True)
class LakeSpec:
    """Where a lake is: DuckLake's catalog (``postgres:<libpq>`` or a file) and its data path."""

    catalog: str
    data_path: str

    @classmethod
    def parse(cls, address: str | Path) -> LakeSpec:
        """``ducklake:<catalog> data_path=<folder or URL>`` -> LakeSpec."""
        text = str(address)
        if not text.startswith(PREFIX):
            raise ValueError(f"not a DuckLake address (no {PREFIX!r} prefix): {text!r}")
        parts = text[len(PREFIX):].split()
        data = [p for p in parts if p.startswith("data_path=")]
        if len(data) != 1:
            raise ValueError("a DuckLake address needs exactly one data_path=<folder or URL>")
        data_path = data[0].removeprefix("data_path=")
        catalog = " ".join(p for p in parts if not p.startswith("data_path="))
        if not catalog:
            raise ValueError("a DuckLake address needs a catalog, e.g. postgres:dbname=... host=...")
        return cls(catalog=catalog, data_path=data_path if data_path.endswith("/") else data_path + "/")

    def __str__(self) -> str:
        return f"{PREFIX}{self.catalog} data_path={self.data_path}"


def is_lake(address: str | Path | None) -> bool:
    """Whether a store address names a DuckLake (not a DuckDB file)."""
    return address is not None and str(address).startswith(PREFIX)


def extension_path(module: str, name: str) -> Path:
    """A DuckDB extension binary shipped in a ``duckdb-extension-*`` wheel (never downloaded)."""
    spec = util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{module} is not installed (the scale dependency group)")
    root = Path(next(iter(spec.submodule_search_locations))) / "extensions"
    wanted = root / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    found = [wanted] if wanted.exists() else sorted(root.glob(f"*/{name}.duckdb_extension"))
    if not found:
        raise FileNotFoundError(f"no {name} extension under {root}")
    return found[-1]


def adapt_sql(sql: str) -> str:
    """A migration rewritten for DuckLake: the same tables without PRIMARY KEY declarations."""
    return _INLINE_KEY.sub("", _TABLE_KEY.sub("", sql))


def adapt_view_sql(sql: str) -> str:
    """A view file for DuckLake: without ``COMMENT ON COLUMN`` statements (unsupported there)."""
    kept = [s for s in sql.split(";\n")
            if not _code(s).upper().startswith("COMMENT ON COLUMN") and _code(s)]
    return ";\n".join(kept)


def _code(statement: str) -> str:
    """A statement without its comment lines."""
    return "\n".join(line for line in statement.splitlines()
                     if line.strip() and not line.strip().startswith("--")).strip()


@cache
def declared_keys() -> Mapping[str, tuple[str, ...]]:
    """Each keyed table's key columns, as the migrations declare them (PRIMARY KEY, or a row of
    main.table_keys; read from an in-memory
    DuckDB with every migration applied: the one place keys are written down stays the SQL)."""
    con = duckdb.connect(":memory:")
    try:
        for migration in available_migrations():
            con.execute(migration.sql)
        rows = con.execute(
            "SELECT schema_name || '.' || table_name, constraint_column_names"
            " FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'").fetchall()
        # keys declared without a constraint (tables appended every run, migration 0013)
        rows += con.execute("SELECT table_name, key_columns FROM main.table_keys").fetchall()
    finally:
        con.close()
    return {str(table): tuple(str(c) for c in cols) for table, cols in rows}


def connect(spec: LakeSpec, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose default database is the lake (extensions from the wheels).

    The lake is the connection's own database, not an ATTACHed one behind ``USE``: the store's
    code opens cursors (``con.cursor()``), which start in the default database, not the one a
    ``USE`` chose. DuckDB only opens a ``ducklake:`` path with the extension installed, so the
    wheels' binaries are installed into this process's private folder (a copy, never a
    download). A writer first attaches the lake once with its DATA_PATH, which creates it if it
    is new; after that the catalog knows where the data goes.
    """
    config = _config()
    if not read_only:
        boot = duckdb.connect(":memory:", config=config)
        try:
            if "://" not in spec.data_path:
                Path(spec.data_path).mkdir(parents=True, exist_ok=True)
            boot.execute(f"ATTACH '{_quote(PREFIX + spec.catalog)}' AS _newsflow_boot "
                         f"(DATA_PATH '{_quote(spec.data_path)}')")
            boot.execute("DETACH _newsflow_boot")
        finally:
            boot.close()
    return duckdb.connect(PREFIX + spec.catalog, read_only=read_only, config=config)


@cache
def _extension_folder() -> Path:
    """One folder per process, with the wheels' extensions installed (removed at exit).

    One, because DuckDB shares a database among connections of a process only when their
    configuration (this folder included) is the same."""
    folder = Path(tempfile.mkdtemp(prefix="newsflow-duckdb-ext-"))
    atexit.register(shutil.rmtree, folder, True)
    con = duckdb.connect(":memory:", config={"extension_directory": str(folder),
                                             "autoinstall_known_extensions": False})
    try:
        for wheel, name in ((_PG_WHEEL, "postgres_scanner"), (_LAKE_WHEEL, "ducklake")):
            con.execute(f"INSTALL '{_quote(str(extension_path(wheel, name)))}'")
    finally:
        con.close()
    return folder


def _config() -> dict[str, str | bool | int | float | list[str]]:
    return {"extension_directory": str(_extension_folder()),
            "autoinstall_known_extensions": False, "autoload_known_extensions": True}


class LakeStore(Store):
    """A ``Store`` on DuckLake: same methods, keys enforced by anti-join, writes fenced."""

    def __init__(self, con: duckdb.DuckDBPyConnection, spec: LakeSpec, *, retries: int = 20) -> None:
        super().__init__(con, None)
        self.spec = spec
        self.retries = retries
        self.keys = declared_keys()
        row = con.execute("SELECT current_database()").fetchone()
        self.database = str(row[0]) if row else ""  # the lake's name in this connection
        self.conflicts = 0  # commit races lost and retried (for tests and logs)
        self._in_transaction = False

    @classmethod
    def open_lake(cls, spec: LakeSpec, *, read_only: bool = False, migrate_schema: bool = True,
                  retries: int = 20) -> LakeStore:
        """Attach the lake; a writer applies pending migrations and makes sure the fence exists."""
        con = connect(spec, read_only=read_only)
        store = cls(con, spec, retries=retries)
        if not read_only and migrate_schema:
            try:
                store._retry(lambda: migrate(con, None, adapt=adapt_sql), "migrate")
                store._retry(store._ensure_fence, "fence")
                store._retry(store._apply_views, "views")
            except BaseException:
                con.close()
                raise
        return store

    def close(self) -> None:
        """Detach (a lake has no WAL to checkpoint: each commit is a snapshot)."""
        self.con.close()

    @contextmanager
    def transaction(self, name: str = "write") -> Iterator[None]:
        """A fenced write transaction; ``LakeConflictError`` if another writer committed first."""
        if self._in_transaction:
            raise RuntimeError("nested lake transaction")
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            self.con.execute(f"UPDATE {FENCE} SET writes = writes + 1")
            yield
            fault_point(f"{name}:before_commit")  # the same crash-test hooks as Store's
            try:
                self.con.execute("COMMIT")
            except duckdb.TransactionException as exc:
                raise LakeConflictError(f"{name}: {exc}") from exc
        except BaseException:
            self.rollback_quietly()
            raise
        finally:
            self._in_transaction = False
        fault_point(f"{name}:after_commit")

    def insert_arrow(self, table: str, batch: pa.Table) -> int:
        """Append rows whose key is not in the table yet (keyless tables: append all)."""
        _check_table(table)
        if self._in_transaction:
            return self._insert_new(table, batch)
        return self._retry(lambda: self._fenced(lambda: self._insert_new(table, batch)), table)

    def replace(self, table: str, key: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Upsert projection rows by ``key``, delete and insert in one fenced transaction."""
        if self._in_transaction:
            return super().replace(table, key, rows)
        return self._retry(lambda: self._fenced(lambda: Store.replace(self, table, key, rows)), table)

    def _has_key(self, table: str) -> bool:
        return table in self.keys

    def _insert_new(self, table: str, batch: pa.Table) -> int:
        key = self.keys.get(table)
        self.con.register("_newsflow_batch", batch)
        try:
            if key is None:
                sql = f"INSERT INTO {table} BY NAME SELECT * FROM _newsflow_batch"
            else:
                cols = ", ".join(key)
                match = " AND ".join(f"t.{c} IS NOT DISTINCT FROM b.{c}" for c in key)
                sql = (f"INSERT INTO {table} BY NAME SELECT * FROM _newsflow_batch b "
                       f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match}) "
                       f"QUALIFY row_number() OVER (PARTITION BY {cols}) = 1")
            row = self.con.execute(sql).fetchone()
        finally:
            self.con.unregister("_newsflow_batch")
        return int(row[0]) if row else 0

    def _fenced(self, write: Callable[[], _T]) -> _T:
        with self.transaction("lake"):
            return write()

    def _ensure_fence(self) -> None:
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {FENCE} (writes BIGINT NOT NULL)")
        # Two first writers may both add the row; the UPDATE then touches both, which still
        # makes concurrent writers conflict, so it is harmless.
        self.con.execute(f"INSERT INTO {FENCE} SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM {FENCE})")

    def _apply_views(self) -> None:
        """The analyst views, in the lake's catalog so any client attaching it has them.

        Recreated only when their SQL changed (a hash kept in ``view_state``): each statement
        is a catalog commit here, not a cheap local one. DuckLake cannot comment on a view's
        columns, so only the views' own comments are kept.
        """
        statements = [adapt_view_sql(sql) for _name, sql in view_files()]
        digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()
        self.con.execute("CREATE TABLE IF NOT EXISTS view_state (digest VARCHAR NOT NULL)")
        if self.scalar("SELECT count(*) FROM view_state WHERE digest = ?", [digest]):
            return
        self.con.execute("BEGIN TRANSACTION")
        try:
            for sql in statements:
                if sql.strip():
                    self.con.execute(sql)
            self.con.execute("DELETE FROM view_state")
            self.con.execute("INSERT INTO view_state VALUES (?)", [digest])
            self.con.execute("COMMIT")
        except BaseException:
            self.rollback_quietly()
            raise

    def _retry(self, attempt: Callable[[], _T], what: str) -> _T:
        for n in range(1, self.retries + 1):
            try:
                return attempt()
            except (LakeConflictError, duckdb.TransactionException) as exc:
                self.conflicts += 1
                if n == self.retries:
                    raise
                log.info("lake write %s lost a commit race (attempt %d), retrying: %s", what, n, exc)
                self.rollback_quietly()
                time.sleep(min(0.05 * n, 1.0))
        raise AssertionError("unreachable")


def _quote(text: str) -> str:
    return text.replace("'", "''")
