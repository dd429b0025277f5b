"""What the CLI shows after a run: the summary and query results as rich tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

_MAX_CELL = 60


def frame_table(frame: pd.DataFrame, title: str | None = None, max_rows: int = 50) -> Table:
    """A DataFrame as a rich table (long cells shortened)."""
    table = Table(title=title, show_lines=False)
    for name in frame.columns:
        table.add_column(str(name), overflow="fold")
    for row in frame.head(max_rows).itertuples(index=False):
        cells = []
        for value in row:
            text = _cell(value)
            cells.append(text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…")
        table.add_row(*cells)
    if len(frame) > max_rows:
        table.caption = f"{len(frame)} rows, first {max_rows} shown"
    return table


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() and value.tzinfo is None \
            else value.isoformat(sep=" ", timespec="seconds")
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
    from warehouse.reports import connect_read_only, run_checks, store_totals

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
        pages = stages.get("volume", {})
        for what, key in (("Data Docs", "docs"), ("Volume chart", "chart")):
            if pages.get(key):
                console.print(f"{what}: {pages[key]}", soft_wrap=True)
        console.print("\nExample query ([italic]newsflow sql \"...\"[/italic]):")
        console.print(query, style="cyan")
        console.print(frame_table(con.execute(query).df()))
    finally:
        con.close()
