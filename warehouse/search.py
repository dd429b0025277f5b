"""Full-text search: an incremental BM25 index in plain tables, queried by ``analytics.search(q)``.

DuckDB's ``PRAGMA create_fts_index`` rebuilds the whole index each time, so it cannot follow an
append-only pipeline cheaply. Instead ``core.search_terms`` (article, field, stemmed term, tf) and
``core.search_docs`` (field lengths) are maintained per touched article (delete + insert), and the
BM25 statistics (document count, average lengths, document frequencies) are computed at query
time from those tables. Only the fts extension's ``stem()`` is used, loaded offline from the
``duckdb-extension-fts`` wheel.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.rows import inline

log = logging.getLogger(__name__)

_DUCKDB_VERSION = "v1.5.5"


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked search result."""

    rank: int
    score: float
    matched_terms: int
    query_terms: int
    article_key: str
    outlet: str | None
    published_at: datetime | None
    title: str | None
    snippet: str
    url: str
    story_id: str | None


def _utc(value: datetime | date | str | None) -> datetime | str | None:
    """A bound for the query: naive UTC, whatever the session's time zone."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return value


def fts_extension_path() -> Path:
    """The fts extension binary shipped in the ``duckdb-extension-fts`` wheel."""
    import duckdb_extension_fts  # the wheel holds only the binary; no Python API

    root = Path(duckdb_extension_fts.__file__).parent / "extensions"
    path = root / _DUCKDB_VERSION / "fts.duckdb_extension"
    if not path.exists():
        found = sorted(root.glob("*/fts.duckdb_extension"))
        if not found:
            raise FileNotFoundError(f"no fts extension under {root}")
        path = found[-1]
    return path


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    """Load the fts extension into this connection from the local wheel (never downloads)."""
    con.execute(f"LOAD '{fts_extension_path()}'")


def _sql(name: str) -> str:
    return resources.files("warehouse").joinpath("sql", name).read_text(encoding="utf-8")


def install_search(con: duckdb.DuckDBPyConnection) -> None:
    """Load fts and (re)create the tokenizer and ``analytics.search`` macros (writable store)."""
    load_fts(con)
    con.execute(_sql("search_macros.sql"))


def has_search(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether this database has the search macro (created by the first analyst refresh).

    In the store it is schema ``analytics``; in the published ``analytics.duckdb`` it is schema
    ``main`` of the catalog ``analytics``: either way ``analytics.search(q)`` names it.
    """
    row = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'search' "
        "AND (schema_name = 'analytics' OR (database_name = 'analytics' AND schema_name = 'main'))"
    ).fetchone()
    return bool(row and row[0])


def update_index(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> dict[str, Any]:
    """Re-index the articles among ``keys`` whose title or text changed; drop vanished ones.

    Cost follows ``len(keys)``: unchanged keys are skipped, new keys are only appended.
    Returns counts and the seconds spent.
    """
    started = time.perf_counter()
    if not keys:
        return {"indexed": 0, "removed": 0, "seconds": 0.0}
    install_search(con)
    con.register("_search_keys", pa.table({"article_key": pa.array(sorted(set(keys)), pa.string())}))
    try:
        con.execute(_sql("search_index.sql"))
        row = con.execute(
            "SELECT count(*) FILTER (WHERE NOT gone), count(*) FILTER (WHERE gone AND was_indexed) "
            "FROM _search_todo"
        ).fetchone()
    finally:
        con.unregister("_search_keys")
        con.execute("DROP TABLE IF EXISTS _search_todo")
        con.execute("DROP TABLE IF EXISTS _search_tokens")
    indexed, removed = (int(row[0]), int(row[1])) if row else (0, 0)
    seconds = time.perf_counter() - started
    log.info("search index: %d (re)indexed, %d removed in %.3fs", indexed, removed, seconds)
    return {"indexed": indexed, "removed": removed, "seconds": seconds}


def rebuild_index(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Drop and rebuild the whole index from core.articles (for `newsflow reindex`)."""
    con.execute("DELETE FROM core.search_terms")
    con.execute("DELETE FROM core.search_docs")
    keys = [r[0] for r in con.execute("SELECT article_key FROM core.articles").fetchall()]
    return update_index(con, keys)


def search(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    outlet: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Articles matching ``query``, best BM25 score first, with their story when they have one.

    ``since``/``until`` bound ``published_at`` (``until`` exclusive; dates are UTC midnights,
    naive times are UTC); works on read-only connections once a writer has built the index.
    """
    load_fts(con)
    # literals, not bound parameters: binding would import pandas into `newsflow search`
    text, kept = inline(_sql("search_query.sql"), {
        "q": query, "since": _utc(since), "until": _utc(until), "outlet": outlet,
        "limit": limit})
    rows = con.execute(text, kept or None).fetchall()
    return [SearchHit(*row) for row in rows]
