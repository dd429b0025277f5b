"""``newsflow backfill`` and ``newsflow export-warc`` (registered in flows/cli/__init__.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flows.cli.errors import input_file, reports_errors
from flows.cli.options import DbOption, day_range, require_store, settings
from flows.cli.progress import bar
from transforms.errors import IncompleteError, InputError

console = Console()

# Sources whose default origins come from the feed list (the others need --from or use none).
FEED_LIST_SOURCES = ("sitemap", "archive-feed")
Day = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="UTC day, YYYY-MM-DD.")]


def day_table(rows: list[dict[str, Any]], source: str) -> Table:
    """The expected-vs-obtained table, one line per origin and day: days and counts stay whole
    at any terminal width, origins wrap."""
    from flows.cli.report import add_column

    names = ["origin", "day", "expected", "obtained", "failed", "new rows", "status", "run"]
    if source == "raw":
        names += ["changed", "longer", "shorter", "moved"]
    body = []
    for r in rows:
        colour = {"done": "green", "partial": "yellow", "empty": "dim"}.get(r["status"], "red")
        cells = [r["origin"], str(r["day"]), str(r["expected"]), str(r["obtained"]),
                 str(r["failed"]), str(r["new_rows"]), f"[{colour}]{r['status']}[/{colour}]",
                 "earlier run" if r["skipped"] else "this run"]
        if source == "raw":
            d = r["detail"] or {}
            moved = ", ".join(f"{k}: {v}" for k, v in (d.get("moved") or {}).items())
            cells += [str(d.get("changed", 0)), str(d.get("longer", 0)),
                      str(d.get("shorter", 0)), moved or "-"]
        body.append(cells)
    table = Table(title=f"backfill {source}: expected vs obtained per day")
    for i, name in enumerate(names):
        column = [row[i] for row in body]
        if name in ("origin", "moved", "run"):
            add_column(table, name, column, "text")
        elif name == "status":  # its width without the colour markup
            add_column(table, name, [c.split("]", 1)[1].split("[", 1)[0] for c in column],
                       "key", justify="left")
        else:
            add_column(table, name, column, "key", justify="left" if name == "day" else None)
    for cells in body:
        table.add_row(*cells)
    return table


def _what_a_day_is(source: str, day_by: str) -> str:
    """The line under the table that says what its 'day' column counts."""
    if source == "raw":
        what = ("pages of articles published on that UTC day (as extracted)"
                if day_by == "published" else "pages fetched on that UTC day")
        return (f"A day here: the stored {what}; 'empty' days had none and are looked at again "
                "next time. Other days: --day-by fetched|published.")
    return (f"A day here: the pages {source} dates on that UTC day; 'empty' days listed none "
            "and are looked at again next time.")


@reports_errors
def backfill(
    source: Annotated[str, typer.Option(
        help="sitemap | warc | archive-feed | raw (re-extract stored pages).")],
    since: Day,
    until: Day,
    origins: Annotated[list[str] | None, typer.Option(
        "--from", help="Sites or sitemap URLs, WARC paths or URLs, feed URLs; for raw, hosts. "
        "Repeat for several. Default: the sites/feeds of the feed list.")] = None,
    db: DbOption = None,
    no_extract: Annotated[bool, typer.Option(
        "--no-extract", help="Store the pages only; project them with the next run.")] = False,
    day_by: Annotated[str, typer.Option(
        "--day-by", help="raw only: what puts a stored page in a day. 'fetched' (default): the "
        "UTC day it was fetched; 'published': the UTC day its article was published, as "
        "extracted (pages not extracted yet have none).")] = "fetched",
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Pull history for a range of days (both included), day by day; re-runs skip settled days.

    A day is a UTC calendar day: for sitemap, warc and archive-feed, the pages dated that day by
    the source; for raw, the pages fetched that day (or, with --day-by published, those of
    articles published that day). A day with nothing to do is shown 'empty' and looked at again
    next time; a 'done' day is skipped on re-runs.
    """
    from flows.backfill import run_backfill
    from flows.runs import current_run_id
    from flows.settings import load_feed_list
    from transforms.sitemaps import days

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    config = settings(db)
    require_store(config)  # only `run` and `migrate` create a store; a typo must not make one
    if not origins and source in FEED_LIST_SOURCES:
        with input_file(config.feeds_file, "feed list"):  # fail before the first day, not in it
            load_feed_list(config.feeds_file)
    first, last = day_range(since.date(), until.date(), max_days=config.max_range_days)
    assert first is not None and last is not None  # both options are required
    if source == "warc":  # a WARC path that is not there fails now, not as a 'partial' day
        for origin in origins or []:
            if "://" not in origin and not Path(origin).is_file():
                raise InputError(f"WARC file {origin}: no such file",
                                 advice="check the path given with --from")
    total = len(days(first, last)) * (len(origins) if origins and source != "raw" else 1)
    progress = bar(console)
    try:
        with progress:
            day_bar = progress.add_task(f"backfill {source}", total=total or None)

            def on_day(report: Any) -> None:
                progress.update(day_bar, advance=1,
                                description=f"{source} {report.day} {report.status}")

            result = run_backfill(config, source=source, since=first, until=last,
                                  sources=origins, run_id=current_run_id(),
                                  project=not no_extract, on_day=on_day, day_by=day_by)
    except ValueError as exc:  # run_backfill's word for arguments it cannot use
        raise InputError(str(exc)) from None
    console.print(day_table(result["table"], source))
    console.print(_what_a_day_is(source, day_by), highlight=False)
    console.print(f"{result['status']}: {result['obtained']} of {result['expected']} obtained, "
                  f"{result['new_rows']} new row(s), {result['days_skipped']} day(s) settled "
                  f"earlier, {result['articles']} article(s) projected")
    if result["status"] != "ok":
        raise IncompleteError(f"backfill {result['status']}: {result['obtained']} of "
                              f"{result['expected']} obtained",
                              advice="re-run the same command to retry the days not settled")


@reports_errors
def export_warc(
    since: Day,
    until: Day,
    out: Annotated[Path | None, typer.Option(
        "--out", help="WARC file to write (default: newsflow-<since>-<until>.warc.gz).")] = None,
    db: DbOption = None,
) -> None:
    """Write the raw pages stored from --since to --until (UTC days) as a standard WARC file."""
    from flows.backfill_days import bounds
    from warehouse.access import open_reader
    from warehouse.warc import count_exportable
    from warehouse.warc import export_warc as write

    config = settings(db)
    first, last = day_range(since.date(), until.date(), max_days=config.max_range_days)
    assert first is not None and last is not None  # both options are required
    target = out or Path(f"newsflow-{first:%Y%m%d}-{last:%Y%m%d}.warc.gz")
    lo, hi = bounds(first)[0], bounds(last)[1]
    partial = target.with_name(target.name + ".part")
    with open_reader(config.db_path) as store, partial.open("wb") as fh, bar(console) as progress:
        task = progress.add_task(f"export-warc {target.name}",
                                 total=count_exportable(store, lo=lo, hi=hi))
        stats = write(store, fh, lo=lo, hi=hi,
                      on_batch=lambda written: progress.update(task, completed=written))
    partial.replace(target)  # a reader never sees a half-written archive
    console.print(f"wrote {stats.records} page(s), {stats.bytes_written} bytes, to {target}")
