"""``newsflow feeds``: list feeds with their health, import and export OPML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from flows.cli.errors import input_file, reports_errors
from flows.cli.options import DbOption, StoreOption, analyst_connection, settings
from transforms.feedlist import FeedConfig, dump_feeds_yaml, load_feeds_yaml, parse_opml, to_opml

app = typer.Typer(help="Feed list and feed health.", no_args_is_help=True)
console = Console()


def write_sample_feeds(site: object, folder: Path) -> Path:
    """Write the offline sample's feed list beside the database and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    feeds = [FeedConfig(url=f.url, name=f.title, outlet=f.outlet)
             for f in site.feeds]  # type: ignore[attr-defined]
    path = folder / "sample-feeds.yaml"
    path.write_text(dump_feeds_yaml(feeds), encoding="utf-8")
    return path


def _read_yaml(path: Path) -> list[FeedConfig]:
    with input_file(path, "feed list"):
        return load_feeds_yaml(path.read_text(encoding="utf-8"))


@app.command("list")
@reports_errors
def list_feeds(db: DbOption = None, store: StoreOption = False) -> None:
    """Every feed with its status, why, and next poll (from the published analyst copy)."""
    from rich.markup import escape

    from flows.cli.report import frame_table
    from warehouse.reports import feed_health

    con = analyst_connection(db, store)
    try:
        frame = feed_health(con)
    finally:
        con.close()
    console.print(frame_table(frame, title="feeds"))
    # The facts an alert on a feed carries, one line each, for the feeds that need a person.
    attention = [row for row in frame.records()
                 if row["status"] in {"gone", "failing", "silent"}]
    if not attention:
        console.print(f"[green]all {len(frame)} feeds ok or new[/green]", highlight=False)
    for row in attention:
        colour = "red" if row["status"] in {"gone", "failing"} else "yellow"
        console.print(f"[{colour}]{row['status']}[/{colour}] "
                      + escape(f"{row['feed']} ({row['outlet']}): "
                               f"{row['why'] or 'no reason recorded'}"),
                      highlight=False)


@app.command("import")
@reports_errors
def import_opml(
    opml: Path,
    feeds_file: Annotated[Path | None, typer.Option(
        "--into", help="YAML feed list to extend (default NEWSFLOW_FEEDS_FILE, else feeds.yaml).")]
    = None,
) -> None:
    """Add the feeds of an OPML file to the YAML feed list (no duplicates)."""
    feeds_file = settings(feeds=feeds_file).feeds_file
    current = _read_yaml(feeds_file) if feeds_file.exists() else []
    known = {f.url for f in current}
    with input_file(opml, "OPML file"):
        outlines = parse_opml(opml.read_bytes())
    added = [f for f in outlines if f.url not in known]
    feeds_file.write_text(dump_feeds_yaml([*current, *added]), encoding="utf-8")
    console.print(f"added {len(added)} feed(s) to {feeds_file} ({len(current) + len(added)} in all)")


@app.command("export")
@reports_errors
def export_opml(
    feeds_file: Annotated[Path | None, typer.Option(
        "--from", help="YAML feed list (default NEWSFLOW_FEEDS_FILE, else feeds.yaml).")] = None,
) -> None:
    """Print the feed list as OPML."""
    print(to_opml(_read_yaml(settings(feeds=feeds_file).feeds_file)))
