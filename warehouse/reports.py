"""What the CLI shows about the store: one read-only way in, and the queries behind its tables.

``newsflow status``, ``run``'s summary, ``feeds list``, ``quality``, ``search``, ``stories`` and
the SQL session's dot-commands read through these. The SQL lives in
``warehouse/sql/report_*.sql``; this module binds parameters and shapes the rows.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb

from transforms.errors import StoreBusyError
from warehouse.access import connect_reader
from warehouse.lock import LockedError
from warehouse.rows import Rows, inline

STORE_SCHEMAS = ("raw", "core", "quality")


@cache
def sql(name: str) -> str:
    """The text of ``warehouse/sql/report_<name>.sql``."""
    return resources.files("warehouse").joinpath("sql", f"report_{name}.sql").read_text(
        encoding="utf-8")


def _execute(con: duckdb.DuckDBPyConnection, name: str,
             params: dict[str, object]) -> duckdb.DuckDBPyConnection:
    """Run ``report_<name>.sql`` with its parameters written in as literals (warehouse.rows.inline:
    binding them would import pandas into a command that needs none)."""
    text, kept = inline(sql(name), params)
    return con.execute(text, kept or None)


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """The store's one reader (``warehouse.access.connect_reader``), its refusal worded for a
    person who asked a question: a run is probably writing."""
    try:
        return connect_reader(path)
    except LockedError as exc:
        raise StoreBusyError(
            f"cannot open {path} ({exc.holder})",
            advice="a pipeline run is probably writing: try again when it ends, or query the "
                   "published copy (`newsflow sql` without --store)") from exc


def table_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """(schema.table, rows) for every table of the store's own schemas."""
    counts = []
    for schema, name in con.execute(sql("tables")).fetchall():
        if schema not in STORE_SCHEMAS:  # identifiers go into the query below: allow-list
            continue
        row = con.execute(f"SELECT count(*) FROM {_quoted(schema)}.{_quoted(name)}").fetchone()
        counts.append((f"{schema}.{name}", int(row[0]) if row else 0))
    return counts


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def view_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """(analytics.view, rows) for every analyst view of the published copy."""
    counts = []
    for (name,) in con.execute(sql("published_views")).fetchall():
        row = con.execute(f"SELECT count(*) FROM analytics.{_quoted(name)}").fetchone()
        counts.append((f"analytics.{name}", int(row[0]) if row else 0))
    return counts


def freshness(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """When the published copy was published, by which run, its generation and articles."""
    cur = con.execute(sql("freshness"))
    row = cur.fetchone() or ()
    return {d[0]: v for d, v in zip(cur.description or [], row, strict=False)}


def latest_runs(con: duckdb.DuckDBPyConnection, limit: int = 12) -> Rows:
    """The latest stage runs from the ledger, newest first."""
    return Rows.of(_execute(con, "latest_runs", {"limit": limit}))


def run_checks(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[int, int]:
    """(passed, failed) checks of one run."""
    row = _execute(con, "run_checks", {"run_id": run_id}).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def run_failed_feeds(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, object]]:
    """The feeds whose last attempt in one run failed, with what went wrong (one line each)."""
    from warehouse.feeds import succeeded

    cur = _execute(con, "run_failed_feeds", {"run_id": run_id})
    names = [d[0] for d in cur.description or []]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    failed = []
    for row in rows:
        if succeeded(row):
            continue
        what = row["error_class"] or row["parse_outcome"] or f"HTTP {row['status']}"
        detail = row["error_detail"] or row["parse_reason"]
        failed.append({"feed": row["feed"], "url": row["url"],
                       "why": f"{what}: {detail}" if detail else str(what)})
    return failed


def run_failed_checks(con: duckdb.DuckDBPyConnection, run_id: str) -> Rows:
    """The checks that failed in one run: stage, table, check, policy, counts, why."""
    return Rows.of(_execute(con, "run_failed_checks", {"run_id": run_id}))


def store_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows in the store: feed entries, page fetches, articles."""
    cur = con.execute(sql("store_totals"))
    row = cur.fetchone() or ()
    return {d[0]: int(v) for d, v in zip(cur.description or [], row, strict=False)}


def example_query() -> str:
    """The query ``newsflow run`` shows (and runs) as an example for analysts."""
    return sql("example").strip()


def feed_health(con: duckdb.DuckDBPyConnection) -> Rows:
    """Every feed with its status, why, failures and next poll."""
    return Rows.of(con.execute(sql("feeds")))


def latest_blocking(con: duckdb.DuckDBPyConnection) -> tuple[str, list[str], int] | None:
    """(run, its failed blocking checks as "table: check", rows it quarantined) for the latest
    run that ran checks; None when no run has."""
    row = con.execute(sql("latest_blocking")).fetchone()
    return (str(row[0]), list(row[1] or []), int(row[2])) if row else None


def checks_per_stage(con: duckdb.DuckDBPyConnection, since: date) -> Rows:
    """Runs and checks passed and failed per stage and table, since ``since``."""
    return Rows.of(_execute(con, "checks_per_stage", {"since": since}))


def failed_checks(con: duckdb.DuckDBPyConnection, since: date,
                  limit: int = 30) -> list[tuple[object, ...]]:
    """Failed checks, latest first: at, stage, table, expectation, policy, observed value,
    unexpected and element counts, unexpected sample (JSON), why."""
    return _execute(con, "failed_checks", {"since": since, "limit": limit}).fetchall()


def quarantine_by_reason(con: duckdb.DuckDBPyConnection, since: date) -> Rows:
    """Quarantined rows per table and reason, since ``since``."""
    return Rows.of(_execute(con, "quarantine", {"since": since}))


def worst_sources(con: duckdb.DuckDBPyConnection, since: date, limit: int = 10) -> Rows:
    """The sources with the largest share of pages that are not articles, since ``since``."""
    return Rows.of(_execute(con, "worst_sources", {"since": since, "limit": limit}))


def article_texts(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, str | None]:
    """article_key -> text, for the given articles."""
    return {str(k): t for k, t in _execute(con, "article_texts", {"keys": keys}).fetchall()}


def stories(con: duckdb.DuckDBPyConnection, since: date | None, limit: int) -> Rows:
    """Stories covered by several articles, most outlets first."""
    return Rows.of(_execute(con, "stories", {"since": since, "limit": limit}))


def analyst_views(con: duckdb.DuckDBPyConnection) -> Rows:
    """The analyst views with their comments."""
    return Rows.of(con.execute(sql("views")))


def view_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str | None) -> Rows:
    """A view's (or table's) columns with their types and comments; every view's when ``name``
    is None. ``analytics`` names the schema in the store and the catalog of the published copy."""
    return Rows.of(_execute(con, "columns", {"schema": schema, "name": name}))
