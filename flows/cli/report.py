"""What the CLI shows after a run: the summary and query results as rich tables."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from warehouse.rows import Rows

_MAX_CELL = 60  # free text (an article's text, a title) is shortened past this
# Columns that say why (a check's reason, an error) are never shortened, only wrapped.
_REASON_WORDS = ("reason", "why", "message", "error", "check", "expectation", "failed")
# Columns that are counts or days keep their width: wrapped text is fine, a cut number is not.
_DAY_WORDS = ("day", "date")


def column_kind(name: str, numeric: bool = False) -> str:
    """'key' (a count or a day: never wrapped or cut), 'reason' (wrapped, never shortened) or
    'text' (wrapped, shortened past _MAX_CELL)."""
    lowered = name.lower()
    if numeric:
        return "key"
    if any(w in lowered for w in _REASON_WORDS):
        return "reason"
    if any(w in lowered for w in _DAY_WORDS) or lowered.endswith("_at"):
        return "key"
    return "text"


def add_column(table: Table, name: str, cells: Sequence[str], kind: str,
               justify: str | None = None) -> None:
    """A column that wraps (never cuts) its text and keeps key columns whole at any width."""
    if kind == "key":
        width = max([len(name), *(len(c) for c in cells)])
        table.add_column(name, no_wrap=True, min_width=width,
                         justify=justify or "right")  # type: ignore[arg-type]
    else:
        table.add_column(name, overflow="fold", ratio=2 if kind == "reason" else 1,
                         justify=justify or "left")  # type: ignore[arg-type]


def as_rows(frame: Any) -> Rows:
    """``frame`` as Rows: Rows themselves, or a pandas DataFrame (its dtypes as DuckDB types)."""
    if isinstance(frame, Rows):
        return frame
    import pandas as pd  # only a caller that built a DataFrame gets here

    types = []
    for name in frame.columns:
        column = frame[name]
        types.append("TIMESTAMP" if pd.api.types.is_datetime64_any_dtype(column)
                     else "BOOLEAN" if pd.api.types.is_bool_dtype(column)
                     else "BIGINT" if pd.api.types.is_integer_dtype(column)
                     else "DOUBLE" if pd.api.types.is_numeric_dtype(column)
                     else "VARCHAR")
    return Rows(tuple(str(c) for c in frame.columns), tuple(types),
                list(frame.itertuples(index=False, name=None)))


def frame_table(frame: Any, title: str | None = None, max_rows: int = 50) -> Table:
    """Query rows (or a DataFrame) as a rich table: counts and days whole, reasons wrapped, long
    text shortened."""
    rows = as_rows(frame)
    table = Table(title=title, show_lines=False)
    shown = rows.rows[:max_rows]
    columns = []
    for at, name in enumerate(rows.columns):
        numeric = rows.numeric(at)
        kind = "key" if rows.moment(at) else column_kind(name, numeric)
        cells = [_cell(row[at]) for row in shown]
        if kind == "text":
            cells = [c if len(c) <= _MAX_CELL else c[: _MAX_CELL - 1] + "…" for c in cells]
        add_column(table, name, cells, kind, justify=None if numeric else "left")
        columns.append(cells)
    for row in zip(*columns, strict=True):
        table.add_row(*row)
    if len(rows) > max_rows:
        table.caption = f"{len(rows)} rows, first {max_rows} shown"
    return table


def _missing(value: object) -> bool:
    """None, NaN or NaT (the last two are not equal to themselves)."""
    return value is None or (isinstance(value, float | datetime) and value != value)


def _cell(value: object) -> str:
    if _missing(value):
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.tzinfo is None and value.time() == time(0) \
            else value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, Decimal):
        return str(float(value))
    return str(value)


def write_csv(frame: Any, out: IO[str]) -> None:
    """Rows as CSV with a header line (empty cells for NULL)."""
    rows = as_rows(frame)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows.columns)
    for row in rows:
        writer.writerow(["" if _missing(v) else float(v) if isinstance(v, Decimal) else v
                         for v in row])


def write_json(frame: Any, out: IO[str]) -> None:
    """Rows as a JSON list of records (times in ISO 8601, NULL as null)."""
    records = [{name: None if _missing(v) else v for name, v in zip(as_rows(frame).columns, row,
                                                                    strict=True)}
               for row in as_rows(frame)]
    out.write(json.dumps(records, default=_json_value, ensure_ascii=False,
                         separators=(",", ":")))
    out.write("\n")


def _json_value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if math.isfinite(value) else None
    if hasattr(value, "tolist"):  # a numpy value or array, from a DataFrame
        return value.tolist()
    return str(value)


def print_summary(console: Console, db_path: Path, result: dict[str, Any], query: str) -> None:
    """The run's counts, its checks, the store's totals and an example query with its rows."""
    status = result["status"]
    colour = {"ok": "green", "partial": "yellow", "skipped_locked": "yellow"}.get(status, "red")
    console.print(f"\nRun [bold]{result.get('run_id', '')}[/bold]: [{colour}]{status}[/{colour}]")
    if status == "skipped_locked":
        console.print(result.get("message", ""))
        return
    stages = result["stages"]
    ingest, pages, articles = (stages.get(k, {}) for k in
                               ("ingest_feeds", "fetch_pages", "extract_articles"))
    from warehouse.reports import (
        connect_read_only,
        run_checks,
        run_failed_checks,
        run_failed_feeds,
        store_totals,
    )

    con = connect_read_only(db_path)
    try:
        checks = run_checks(con, result["run_id"])
        totals = store_totals(con)
        summary = Table(title="This run", show_header=True)
        summary.add_column("step")
        summary.add_column("this run", justify="right")
        summary.add_column("in store", justify="right")
        summary.add_row("feeds polled", str(ingest.get("feeds_polled", 0)), "")
        summary.add_row("feeds failed", str(ingest.get("feeds_failed", 0)), "")
        summary.add_row("new feed entries", str(ingest.get("entries_new", 0)),
                        str(totals["feed_entries"]))
        summary.add_row("pages fetched", str(pages.get("pages_requested", 0)),
                        str(totals["page_fetches"]))
        summary.add_row("articles extracted", str(articles.get("articles", 0)),
                        str(totals["articles"]))
        summary.add_row("checks passed", str(checks[0]), "")
        summary.add_row("checks failed", str(checks[1]), "")
        console.print(summary)
        print_failures(console, run_failed_feeds(con, result["run_id"]),
                       run_failed_checks(con, result["run_id"]))
        pages = stages.get("volume", {})
        for what, key in (("Data Docs", "docs"), ("Volume chart", "chart")):
            if pages.get(key):
                console.print(f"{what}: {pages[key]}", soft_wrap=True)
        console.print("\nExample query ([italic]newsflow sql \"...\"[/italic]):")
        console.print(query, style="cyan")
        console.print(frame_table(Rows.of(con.execute(query))))
    finally:
        con.close()


def print_failures(console: Console, feeds: list[dict[str, object]], checks: Any) -> None:
    """Name what failed in a run: each feed with why, each check with its policy and reason."""
    if feeds:
        console.print(f"\n[red]Feeds that failed ({len(feeds)}):[/red]")
        for feed in feeds:
            console.print(f"  {feed['feed']} <{feed['url']}>: {feed['why']}",
                          markup=False, highlight=False)
    failed = as_rows(checks).records()
    if failed:
        console.print(f"\n[red]Checks that failed ({len(failed)}):[/red]")
        for row in failed:
            counted = (f", {int(row['unexpected_count'])} of {int(row['element_count'])} rows"
                       if not _missing(row["unexpected_count"])
                       and not _missing(row["element_count"]) else "")
            console.print(f"  {row['policy']} {row['stage']} {row['table_name']}: "
                          f"{row['expectation']}{counted} - {row['why']}",
                          markup=False, highlight=False)
