"""``newsflow backfill`` and ``newsflow export-warc`` (registered in flows/cli/__init__.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
err = Console(stderr=True)

Day = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="UTC day, YYYY-MM-DD.")]


def _settings(db: Path | None) -> Any:
    from flows.settings import load_settings

    try:
        return load_settings(**({"db_path": db} if db else {}))
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def day_table(rows: list[dict[str, Any]], source: str) -> Table:
    """The expected-vs-obtained table, one line per origin and day."""
    table = Table(title=f"backfill {source}: expected vs obtained per day")
    for name, justify in (("origin", "left"), ("day", "left"), ("expected", "right"),
                          ("obtained", "right"), ("failed", "right"), ("new rows", "right"),
                          ("status", "left"), ("run", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    if source == "raw":
        for name in ("changed", "longer", "shorter", "moved"):
            table.add_column(name, justify="right" if name != "moved" else "left")
    for r in rows:
        colour = {"done": "green", "partial": "yellow"}.get(r["status"], "red")
        cells = [r["origin"], str(r["day"]), str(r["expected"]), str(r["obtained"]),
                 str(r["failed"]), str(r["new_rows"]), f"[{colour}]{r['status']}[/{colour}]",
                 "earlier run" if r["skipped"] else "this run"]
        if source == "raw":
            d = r["detail"] or {}
            moved = ", ".join(f"{k}: {v}" for k, v in (d.get("moved") or {}).items())
            cells += [str(d.get("changed", 0)), str(d.get("longer", 0)),
                      str(d.get("shorter", 0)), moved or "-"]
        table.add_row(*cells)
    return table


def backfill(
    source: Annotated[str, typer.Option(
        help="sitemap | warc | archive-feed | raw (re-extract stored pages).")],
    since: Day,
    until: Day,
    origins: Annotated[list[str] | None, typer.Option(
        "--from", help="Sites or sitemap URLs, WARC paths or URLs, feed URLs; for raw, hosts. "
        "Repeat for several. Default: the sites/feeds of the feed list.")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB file.")] = None,
    no_extract: Annotated[bool, typer.Option(
        "--no-extract", help="Store the pages only; project them with the next run.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Pull history for a range of days (both included), day by day; re-runs skip settled days."""
    from flows.backfill import run_backfill
    from flows.runs import current_run_id
    from transforms.sitemaps import days
    from warehouse.lock import LockedError

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    settings = _settings(db)
    first, last = since.date(), until.date()
    total = len(days(first, last)) * (len(origins) if origins and source != "raw" else 1)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=console)
    try:
        with progress:
            bar = progress.add_task(f"backfill {source}", total=total or None)

            def on_day(report: Any) -> None:
                progress.update(bar, advance=1,
                                description=f"{source} {report.day} {report.status}")

            result = run_backfill(settings, source=source, since=first, until=last,
                                  sources=origins, run_id=current_run_id(),
                                  project=not no_extract, on_day=on_day)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except LockedError as exc:
        err.print(f"[yellow]{exc}[/yellow]")
        raise typer.Exit(75) from None
    console.print(day_table(result["table"], source))
    console.print(f"{result['status']}: {result['obtained']} of {result['expected']} obtained, "
                  f"{result['new_rows']} new row(s), {result['days_skipped']} day(s) settled "
                  f"earlier, {result['articles']} article(s) projected")
    if result["status"] != "ok":
        raise typer.Exit(1)


def export_warc(
    since: Day,
    until: Day,
    out: Annotated[Path | None, typer.Option(
        "--out", help="WARC file to write (default: newsflow-<since>-<until>.warc.gz).")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB file.")] = None,
) -> None:
    """Write the raw pages stored from --since to --until (UTC days) as a standard WARC file."""
    from flows.backfill import bounds
    from warehouse.store import Store
    from warehouse.warc import export_warc as write

    settings = _settings(db)
    target = out or Path(f"newsflow-{since:%Y%m%d}-{until:%Y%m%d}.warc.gz")
    lo, hi = bounds(since.date())[0], bounds(until.date())[1]
    if not settings.db_path.exists():
        err.print(f"[red]no database at {settings.db_path}[/red]")
        raise typer.Exit(2)
    partial = target.with_name(target.name + ".part")
    with Store.open(settings.db_path, read_only=True) as store, partial.open("wb") as fh:
        stats = write(store, fh, lo=lo, hi=hi)
    partial.replace(target)  # a reader never sees a half-written archive
    console.print(f"wrote {stats.records} page(s), {stats.bytes_written} bytes, to {target}")
