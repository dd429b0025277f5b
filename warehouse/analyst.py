"""The analyst surface: one read-only way into the published copy, and what it refuses.

Every analyst command (``newsflow sql``, ``search``, ``stories``, ``feeds list``, ``quality``,
``status``, ``export``) reads ``analytics.duckdb`` and the Parquet generation it points to
(warehouse/publish.py), never the pipeline's own store: a reader of the store would make the next
scheduled run end ``skipped_locked`` (DuckDB lets no other process open a file one process
writes), while the copy is replaced by a rename that no open session notices.

``connect_published`` opens the copy read-only and then closes DuckDB's doors to everything else,
in this order (each setting refuses the next change once set):

1. the fts extension is loaded from its wheel (``analytics.search`` calls its ``stem()``);
2. ``allowed_directories`` = the publish folder: the only files a query may open are the
   generations the views name;
3. ``enable_external_access = false``: no other file, no URL, no ``ATTACH`` of a file, no
   ``INSTALL``/``LOAD``, no ``getenv``;
4. ``lock_configuration = true``: no ``SET`` gives any of it back.

DuckDB's allow-list does not tell reading from writing, so inside the publish folder ``COPY ...
TO`` would still overwrite a published file. ``run`` therefore looks at each statement's type
first and runs only those that read (``SELECT``, ``EXPLAIN``, ``PRAGMA``, ``CALL``, ``SHOW``,
``DESCRIBE``, ``SUMMARIZE``); anything else is a ``RefusedError`` (exit 77) naming the
statement. A file or setting DuckDB itself refuses becomes the same error.

``connect_store`` is the operator's way (``--store``): the private store, read-only, unfenced,
and able to make a run skip while it is open, which is why no command takes it unasked.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

import duckdb

from transforms.errors import MissingStoreError, QueryError, RefusedError, StoreBusyError
from warehouse.access import connect_reader
from warehouse.lock import LockedError
from warehouse.publish import analytics_db_path
from warehouse.search import load_fts

# Statement types that only read; everything else is refused on the published copy.
READING: Final = frozenset({
    duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN, duckdb.StatementType.PRAGMA,
    duckdb.StatementType.CALL, duckdb.StatementType.RELATION,
})
# What a refused statement does, for the one-line message.
_WHY: Final = {
    "COPY": "it writes or reads files", "COPY_DATABASE": "it writes files",
    "EXPORT": "it writes files", "ATTACH": "it opens another database",
    "DETACH": "it changes the session's databases", "LOAD": "it loads code",
    "SET": "the session's settings are locked", "VARIABLE_SET": "the session is read-only",
    "UPDATE_EXTENSIONS": "it downloads code",
}


def session_examples() -> tuple[str, ...]:
    """The example statements of the SQL session's banner (``warehouse/sql/session_examples.sql``)."""
    text = resources.files("warehouse").joinpath("sql", "session_examples.sql").read_text(
        encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.startswith("--"))


def published_db(published_dir: Path) -> Path:
    """``analytics.duckdb`` for a publish folder (beside it)."""
    return analytics_db_path(Path(published_dir))


def connect_published(published_dir: Path, store: Path | None = None, *, fenced: bool = True
                      ) -> duckdb.DuckDBPyConnection:
    """The published copy, read-only, with file access fenced to ``published_dir`` (see module).

    ``fenced=False`` leaves file access open, for newsflow's own queries that write files
    (``newsflow export``): never for SQL an analyst typed.

    A copy that does not exist yet is ``MissingStoreError`` naming the store when that is
    missing too (``store``), else the copy; a copy held open for writing by another program
    (the DuckDB CLI without ``-readonly``) is ``StoreBusyError``. A run never makes it busy.
    """
    folder = Path(published_dir).resolve()
    path = published_db(folder)
    if not path.exists():
        if store is not None and not Path(store).exists():
            raise MissingStoreError(f"no database at {store} yet")
        raise MissingStoreError(
            f"no published copy at {path} yet",
            advice="each `newsflow run` publishes it (or `newsflow reindex` on an existing store)")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "Could not set lock" not in str(exc):
            raise
        raise StoreBusyError(
            f"cannot open {path}: {' '.join(str(exc).split())}",
            advice="another program holds the analyst copy open for writing: open it read-only "
                   "there (`duckdb -readonly`)") from None
    try:
        load_fts(con)
        con.execute("SET TimeZone = 'UTC'")
        if not fenced:
            return con
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        # a literal, not a bound parameter: DuckDB's Python client imports pandas to bind one
        # (seconds of CPU that a reading command would pay for nothing)
        con.execute(f"SET allowed_directories = [{_literal(f'{folder}/')}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _literal(text: str) -> str:
    """``text`` as an SQL string literal (quotes doubled: DuckDB reads no backslash escapes)."""
    return "'" + text.replace("'", "''") + "'"


def require_views(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Refuse, in one line, a copy published by an older release that lacks a view a command
    reads (a stale copy is not a bug: the next publish brings it)."""
    have = {r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND (schema_name = 'analytics' "
        "OR (database_name = 'analytics' AND schema_name = 'main'))").fetchall()}
    missing = [n for n in names if n not in have]
    if missing:
        raise MissingStoreError(
            f"the analyst copy has no {', '.join('analytics.' + n for n in missing)} "
            "(published by an older release)",
            advice="`newsflow reindex` (or the next run) republishes it")


def connect_store(db_path: Path) -> duckdb.DuckDBPyConnection:
    """The private store, read-only (operators, ``--store``): busy while a run writes."""
    try:
        return connect_reader(db_path)
    except LockedError as exc:
        raise StoreBusyError(
            f"cannot open {db_path} ({exc.holder})",
            advice="a pipeline run is probably writing: try again when it ends, or query the "
                   "published copy (without --store)") from exc


def statements(con: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.Statement]:
    """The statements of ``sql``, each checked: one that does not only read is refused."""
    try:
        found = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(" ".join(str(exc).split())) from None
    for statement in found:
        if statement.type not in READING:
            kind = statement.type.name
            why = _WHY.get(kind, "it would change data")
            first = " ".join(statement.query.split())[:60]
            raise RefusedError(f"{kind} statement: {why} ({first!r})")
    return found


def run(con: duckdb.DuckDBPyConnection, sql: str, *, checked: bool = True
        ) -> duckdb.DuckDBPyConnection | None:
    """Run ``sql`` (one or more statements) on the analyst copy; the last one's result.

    Every statement is checked before any runs (a refused one anywhere runs none);
    ``checked=False`` (an operator on the read-only store, ``--store``) skips that check. DuckDB's
    own refusals (a file outside the copy, a locked setting) become ``RefusedError``; other
    failures ``QueryError``.
    """
    if not checked:
        try:
            found = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryError(_first_line(exc)) from None
    else:
        found = statements(con, sql)
    result = None
    for statement in found:
        result = execute(con, statement)
    return result


def execute(con: duckdb.DuckDBPyConnection, statement: duckdb.Statement | str
            ) -> duckdb.DuckDBPyConnection:
    """One statement, its failure worded for the analyst (see ``run``)."""
    try:
        return con.execute(statement)
    except duckdb.PermissionException as exc:
        raise RefusedError(_first_line(exc), advice="the analyst copy reads only its own files"
                           ) from None
    except duckdb.InvalidInputException as exc:
        if "configuration has been locked" in str(exc):
            raise RefusedError(_first_line(exc)) from None
        raise QueryError(_first_line(exc)) from None
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0].strip() if lines else type(exc).__name__
