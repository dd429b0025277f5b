"""``newsflow feeds``: list feeds with their health, import and export OPML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from transforms.feedlist import FeedConfig, dump_feeds_yaml, parse_opml, to_opml

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


@app.command("list")
def list_feeds(db: Annotated[Path | None, typer.Option("--db")] = None) -> None:
    """Every feed with its status, why, and next poll."""
    import duckdb

    from flows.cli.report import frame_table
    from flows.settings import load_settings

    settings = load_settings(**({"db_path": db} if db else {}))
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        frame = con.execute(
            "SELECT feed, outlet, status, "
            "why || coalesce('; moved permanently to ' || moved_to, '') AS why, "
            "consecutive_failures AS fails, "
            "last_success_at::TIMESTAMP(0) AS last_ok, next_poll_at::TIMESTAMP(0) AS next_poll, "
            "entries_seen AS entries FROM analytics.feed_health ORDER BY status, feed"
        ).df()
    finally:
        con.close()
    console.print(frame_table(frame, title="feeds"))


@app.command("import")
def import_opml(
    opml: Path,
    feeds_file: Annotated[Path, typer.Option("--into", help="YAML feed list to extend.")] = Path(
        "feeds.yaml"),
) -> None:
    """Add the feeds of an OPML file to the YAML feed list (no duplicates)."""
    from transforms.feedlist import load_feeds_yaml

    current = load_feeds_yaml(feeds_file.read_text(encoding="utf-8")) \
        if feeds_file.exists() else []
    known = {f.url for f in current}
    added = [f for f in parse_opml(opml.read_bytes()) if f.url not in known]
    feeds_file.write_text(dump_feeds_yaml([*current, *added]), encoding="utf-8")
    console.print(f"added {len(added)} feed(s) to {feeds_file} ({len(current) + len(added)} in all)")


@app.command("export")
def export_opml(
    feeds_file: Annotated[Path, typer.Option("--from", help="YAML feed list.")] = Path(
        "feeds.yaml"),
) -> None:
    """Print the feed list as OPML."""
    from transforms.feedlist import load_feeds_yaml

    print(to_opml(load_feeds_yaml(feeds_file.read_text(encoding="utf-8"))))
