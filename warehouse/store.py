"""The DuckDB store: open (and migrate) the file, append event batches, read them back.

Writes go through Arrow (``INSERT OR IGNORE ... BY NAME SELECT * FROM arrow``), never
``executemany``. Raw tables have ``event_id`` primary keys built from content and identity, so
appending a batch twice adds nothing. A stage's batch and its ledger row commit in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from warehouse.faults import fault_point
from warehouse.migrate import available_migrations, migrate
from warehouse.views import apply_views

if TYPE_CHECKING:  # pandas is imported by .df(), where a caller asks for a DataFrame
    import pandas as pd

log = logging.getLogger(__name__)

# DuckDB's default checkpoint_threshold (the store does not change it): a WAL past this size is
# folded into the database file at the next commit that may checkpoint.
WAL_CHECKPOINT_BYTES = 16 * 1024 * 1024

# Tables the store may write; table names in SQL come only from this allow-list.
WRITABLE = frozenset(
    {
        "raw.runs",
        "raw.feed_fetches",
        "raw.feed_entries",
        "raw.page_fetches",
        "raw.page_bodies",
        "raw.backfill_days",
        "core.feeds",
        "core.page_extractions",
        "core.article_versions",
        "core.article_changes",
        "core.articles",
        "core.article_feeds",
        "core.page_retries",
        "quality.validations",
        "quality.pending_checks",
        "quality.quarantine",
    }
)


@cache
def schema_version() -> int:
    """The schema version this code writes (the latest migration). Cached: every raw row's
    envelope carries it, and the migrations shipped with the code do not change under it."""
    return available_migrations()[-1].version


def event_id(kind: str, *parts: object) -> str:
    """Deterministic id of an event from its kind, identity and content."""
    payload = json.dumps([kind, *parts], default=_json_default, ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def utcnow() -> datetime:
    """The wall clock, for envelopes only (recorded_at, run times); never for projections."""
    return datetime.now(UTC)


def duckdb_config(*, memory_limit: str | None = None, threads: int | None = None
                  ) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB's connection config for a store: its ``memory_limit``, and its worker ``threads``
    (None or 0: DuckDB's default, one per core)."""
    config: dict[str, str | bool | int | float | list[str]] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    return config


def wal_path(db_path: Path) -> Path:
    """DuckDB's write-ahead log beside ``db_path``."""
    return db_path.with_name(db_path.name + ".wal")


class Store:
    """An open newsflow database."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self.con = con
        self.path = path
        self._schemas: dict[str, pa.Schema] = {}
        self._keyed: dict[str, tuple[bool, tuple[str, ...]]] = {}

    @classmethod
    def open(
        cls, path: Path | str | None, *, read_only: bool = False, memory_limit: str | None = None,
        threads: int | None = None,
    ) -> Store:
        """Open ``path`` (``None`` or ":memory:" for an in-memory store) and apply migrations
        (``duckdb_config`` for ``memory_limit`` and ``threads``)."""
        if path is None or str(path) == ":memory:":
            con = duckdb.connect(":memory:")
            db_path = None
        else:
            db_path = Path(path)
            if not read_only:
                db_path.parent.mkdir(parents=True, exist_ok=True)
            elif not db_path.exists():
                raise FileNotFoundError(f"no newsflow database at {db_path}; run `newsflow run` first")
            con = duckdb.connect(str(db_path), read_only=read_only,
                                 config=duckdb_config(memory_limit=memory_limit, threads=threads))
        if not read_only:
            migrate(con, db_path)
            apply_views(con)
        return cls(con, db_path)

    def close(self) -> None:
        """Checkpoint (writers) and close."""
        try:
            if self.path is not None and not _is_read_only(self.con):
                self.con.execute("CHECKPOINT")
        finally:
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, name: str = "write") -> Iterator[None]:
        """A write transaction: everything inside commits together or not at all.

        ``name`` labels the crash-test hooks ``<name>:before_commit`` and ``<name>:after_commit``.
        """
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
            fault_point(f"{name}:before_commit")
            self.con.execute("COMMIT")
        except BaseException as exc:
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error as rollback_error:
                # A failed COMMIT (disk full, I/O error) has already ended the transaction:
                # the caller must see that error, not "no transaction is active".
                log.debug("rollback after %r: %s", exc, rollback_error)
            raise
        fault_point(f"{name}:after_commit")

    def checkpoint(self) -> None:
        """Fold the WAL into the database file now (a full disk fails here, not later)."""
        if self.path is not None:
            self.con.execute("CHECKPOINT")

    def checkpoint_if_due(self) -> bool:
        """Checkpoint when the WAL has grown past DuckDB's own threshold (its default
        ``checkpoint_threshold``, which the store keeps). DuckDB skips its automatic checkpoint
        at a commit that deleted rows, leaving it to the next commit, however small: a writer
        whose transactions delete calls this after them so their cost stays theirs."""
        if self.path is None:
            return False
        try:
            due = wal_path(self.path).stat().st_size >= WAL_CHECKPOINT_BYTES
        except OSError:
            return False
        if due:
            self.con.execute("CHECKPOINT")
        return due

    def rollback_quietly(self) -> None:
        """Roll back a transaction an interruption left open (one cut between BEGIN and the
        ``try`` of ``transaction``); usually none is, and DuckDB says so, which is fine."""
        try:
            self.con.execute("ROLLBACK")
        except duckdb.Error as exc:
            log.debug("nothing to roll back: %s", exc)

    def arrow_schema(self, table: str) -> pa.Schema:
        """The Arrow schema of a writable table (cached)."""
        _check_table(table)
        if table not in self._schemas:
            self._schemas[table] = (
                self.con.execute(f"SELECT * FROM {table} LIMIT 0").to_arrow_table().schema
            )
        return self._schemas[table]

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Append rows whose keys are not there yet; return how many were inserted.

        raw.page_fetches rows may carry their (compressed) ``body``: it is stored apart, once per
        distinct body, in raw.page_bodies (migration 0012), and the row keeps ``has_body``.
        """
        if not rows:
            return 0
        if table == "raw.page_fetches":
            rows = self._store_bodies(rows)
        batch = pa.Table.from_pylist(list(rows), schema=self.arrow_schema(table))
        return self.insert_arrow(table, batch)

    def insert_arrow(self, table: str, batch: pa.Table) -> int:
        """Append an Arrow table (columns by name); duplicates by key are skipped."""
        _check_table(table)
        # Keyed tables skip rows already there; keyless ones (check results) just append.
        # A key DuckDB enforces (PRIMARY KEY) does it itself; a key declared in main.table_keys
        # (tables appended every run, migration 0013) is kept by an anti-join on the key.
        constrained, key = self._key(table)
        self.con.register("_newsflow_batch", batch)
        try:
            if constrained:
                sql = f"INSERT OR IGNORE INTO {table} BY NAME SELECT * FROM _newsflow_batch"
            elif key:
                cols = ", ".join(_ident(c) for c in key)
                match = " AND ".join(f"t.{_ident(c)} = b.{_ident(c)}" for c in key)
                sql = (f"INSERT INTO {table} BY NAME SELECT * FROM _newsflow_batch AS b "
                       f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {match}) "
                       f"QUALIFY row_number() OVER (PARTITION BY {cols}) = 1")
            else:
                sql = f"INSERT INTO {table} BY NAME SELECT * FROM _newsflow_batch"
            row = self.con.execute(sql).fetchone()
        finally:
            self.con.unregister("_newsflow_batch")
        return int(row[0]) if row else 0

    def temp_table(self, name: str, table: pa.Table) -> None:
        """Make the temp table ``name`` hold ``table``'s rows (replacing what it held): a batch's
        keys for the queries that join on them, so each costs the batch, not the store."""
        self.con.register("_newsflow_temp", table)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(name)} AS "
                             "SELECT * FROM _newsflow_temp")
        finally:
            self.con.unregister("_newsflow_temp")

    def _store_bodies(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Write the bodies of page fetch rows to raw.page_bodies (those not stored yet) and
        return the rows without them. Bodies go first: a crash between the two writes leaves a
        body no row points at (harmless, and the next insert of the row finds it there), never
        a row whose body is missing."""
        bodies: dict[str, bytes] = {}
        kept: list[dict[str, Any]] = []
        for r in rows:
            row = {k: v for k, v in r.items() if k != "body"}
            body = r.get("body")
            row["has_body"] = body is not None
            if body is not None:
                if row.get("body_sha256") is None:
                    row["body_sha256"] = hashlib.sha256(_decompress(body)).hexdigest()
                bodies.setdefault(row["body_sha256"], body)
            kept.append(row)
        if bodies:
            new = pa.table({"body_sha256": pa.array(list(bodies), pa.string()),
                            "body": pa.array(list(bodies.values()), pa.binary())})
            self.con.register("_newsflow_bodies", new)
            try:
                stored = {str(h) for (h,) in self.con.execute(
                    "SELECT body_sha256 FROM raw.page_bodies WHERE body_sha256 IN "
                    "(SELECT body_sha256 FROM _newsflow_bodies)").fetchall()}
            finally:
                self.con.unregister("_newsflow_bodies")
            if stored:
                new = new.filter(pa.array([h not in stored for h in bodies]))
            if new.num_rows:
                self.insert_arrow("raw.page_bodies", new)
        return kept

    def _has_key(self, table: str) -> bool:
        return bool(self._key(table)[1])

    def _key(self, table: str) -> tuple[bool, tuple[str, ...]]:
        """(enforced by DuckDB, key columns) of ``table``; no columns for a keyless table."""
        if table not in self._keyed:
            schema, name = table.split(".")
            enforced = self.con.execute(
                "SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = ?"
                " AND table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
                [schema, name]).fetchone()
            if enforced:
                self._keyed[table] = (True, tuple(enforced[0]))
            else:
                declared = self.con.execute(
                    "SELECT key_columns FROM main.table_keys WHERE table_name = ?", [table]
                ).fetchone() if self._has_table_keys() else None
                self._keyed[table] = (False, tuple(declared[0]) if declared else ())
        return self._keyed[table]

    def _has_table_keys(self) -> bool:
        return bool(self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main'"
            " AND table_name = 'table_keys'").fetchone()[0])  # type: ignore[index]

    def replace(self, table: str, key: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Upsert projection rows by ``key`` (core tables only: raw is append-only)."""
        if not table.startswith("core."):
            raise ValueError(f"replace() is for projections, not {table}")
        if not rows:
            return 0
        batch = pa.Table.from_pylist(list(rows), schema=self.arrow_schema(table))
        self.con.register("_newsflow_batch", batch)
        try:
            self.con.execute(
                f"DELETE FROM {table} WHERE {_ident(key)} IN "
                f"(SELECT {_ident(key)} FROM _newsflow_batch)"
            )
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _newsflow_batch")
        finally:
            self.con.unregister("_newsflow_batch")
        return int(batch.num_rows)

    def df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a query and return a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return a list of dicts."""
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        """Run a query (``params`` positional or named) and return the first column of the
        first row."""
        row = self.con.execute(sql, params or []).fetchone()
        return row[0] if row else None

    def count(self, table: str) -> int:
        """Rows in a known table."""
        _check_table(table)
        return int(self.scalar(f"SELECT count(*) FROM {table}"))


def _decompress(body: bytes) -> bytes:
    from warehouse.events import decompress  # events imports this module

    return decompress(body) or b""


def _check_table(table: str) -> None:
    if table not in WRITABLE:
        raise ValueError(f"unknown table {table!r}")


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad identifier {name!r}")
    return name


def _is_read_only(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        row = con.execute("SELECT current_setting('access_mode')").fetchone()
    except duckdb.Error:
        return False
    return row is not None and str(row[0]).upper() == "READ_ONLY"
