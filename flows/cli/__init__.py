"""The ``newsflow`` command: run the pipeline, query the store, look after feeds."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flows.cli import analyst as cli_analyst
from flows.cli import backfill as cli_backfill
from flows.cli import feeds as cli_feeds
from flows.cli import quality as cli_quality
from flows.cli import report
from flows.cli import server as cli_server
from flows.settings import load_settings

app = typer.Typer(help="newsflow: an event-sourced news pipeline into DuckDB.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(cli_feeds.app, name="feeds")
app.add_typer(cli_server.app, name="server")
app.command()(cli_quality.quality)
app.command("backfill")(cli_backfill.backfill)
app.command("export-warc")(cli_backfill.export_warc)
cli_analyst.register(app)
console = Console()
err = Console(stderr=True)

EXAMPLE_QUERY = (
    "SELECT outlet, count(*) AS articles, round(avg(word_count)) AS avg_words,\n"
    "       min(published_at)::DATE AS first_day, max(published_at)::DATE AS last_day\n"
    "FROM analytics.articles GROUP BY outlet ORDER BY articles DESC"
)

DbOption = Annotated[Path | None, typer.Option("--db", help="DuckDB file (NEWSFLOW_DB_PATH).")]


class _closing:
    """Exit an already-entered SampleServer."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def __enter__(self) -> Any:
        return self.server

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)


def _settings(db: Path | None, **extra: Any) -> Any:
    overrides = {k: v for k, v in extra.items() if v is not None}
    if db is not None:
        overrides["db_path"] = db
    try:
        return load_settings(**overrides)
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def run(
    db: DbOption = None,
    feeds: Annotated[Path | None, typer.Option(help="Feed list, YAML or OPML.")] = None,
    sample: Annotated[bool, typer.Option(
        "--sample", help="Serve the bundled offline sample on 127.0.0.1 and run on it.")] = False,
    articles: Annotated[int, typer.Option(help="Articles in the sample.")] = 36,
    defects: Annotated[bool, typer.Option(
        "--defects", help="With --sample: plant data-quality defects in the sample (a feed "
                          "repeating its keys, a boilerplate page, a source whose volume drops "
                          "to zero) so the checks fail and quarantine them.")] = False,
    port: Annotated[int, typer.Option(
        help="Port of the sample server; fixed so the sample's URLs (and so its article keys) "
             "stay the same from run to run.")] = 8765,
    all_feeds: Annotated[bool, typer.Option(
        "--all", help="Poll every feed now, not only those due.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Run the pipeline once: poll feeds, fetch pages, extract articles, check every stage."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("great_expectations").setLevel(logging.INFO if verbose else logging.WARNING)
    from flows.pipeline import pipeline

    if sample:
        from flows.cli.feeds import write_sample_feeds
        from sample.server import SampleServer

        settings = _settings(db, allow_private_addresses=True, per_host_concurrency=8)
        os.environ["NEWSFLOW_ALLOW_PRIVATE_ADDRESSES"] = "true"
        os.environ["NEWSFLOW_PER_HOST_CONCURRENCY"] = "8"
        try:
            server_cm = SampleServer(n_articles=articles, port=port, defects=defects).__enter__()
        except OSError as exc:
            err.print(f"[red]cannot serve the sample on 127.0.0.1:{port}:[/red] {exc}; "
                      "free the port or pass --port")
            raise typer.Exit(2) from None
        with _closing(server_cm) as server:
            feeds_file = write_sample_feeds(server.site, settings.db_path.parent)
            console.print(f"Serving the offline sample at [bold]{server.base_url}[/bold] "
                          f"({len(server.site.feeds)} feeds, {len(server.site.articles)} articles)")
            result = pipeline(db_path=str(settings.db_path), feeds_file=str(feeds_file),
                              only_due=False)
    else:
        settings = _settings(db, feeds_file=feeds)
        result = pipeline(db_path=str(settings.db_path), feeds_file=str(settings.feeds_file),
                          only_due=not all_feeds)
    report.print_summary(console, settings.db_path, result, EXAMPLE_QUERY)
    if result["status"] in {"failed", "skipped_locked"}:
        raise typer.Exit(1 if result["status"] == "failed" else 75)


@app.command()
def sql(
    query: Annotated[str | None, typer.Argument(
        help="SQL text or a .sql file; none starts an interactive session.")] = None,
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    store: Annotated[bool, typer.Option(
        "--store", help="Query the pipeline's own store (raw, core, quality) instead of the "
                        "published analyst copy; fails while a run is writing.")] = False,
) -> None:
    """Query read-only. By default the published copy (analytics.*), which never blocks a run."""
    from warehouse.publish import analytics_db_path

    settings = _settings(db)
    target = settings.db_path
    published = analytics_db_path(settings.published_dir)
    if not store and db is None and published.exists():
        target = published
    cli_analyst.run_sql(target, query, fmt)


@app.command()
def status(db: DbOption = None) -> None:
    """Rows per table and the latest runs."""
    import duckdb

    settings = _settings(db)
    if not settings.db_path.exists():
        err.print(f"no database at {settings.db_path} yet; run `newsflow run`")
        raise typer.Exit(2)
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        counts = Table(title=f"newsflow store {settings.db_path}")
        counts.add_column("table")
        counts.add_column("rows", justify="right")
        for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('raw','core','quality') ORDER BY 1, 2"
        ).fetchall():
            n = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()
            counts.add_row(f"{schema}.{name}", str(n[0] if n else 0))
        console.print(counts)
        runs = con.execute(
            "SELECT run_id[:8] AS run, stage, status, started_at::TIMESTAMP(0) AS started, "
            "seconds, counts FROM analytics.runs ORDER BY started_at DESC LIMIT 12"
        ).df()
        console.print(report.frame_table(runs, title="latest runs"))
    finally:
        con.close()


@app.command()
def rebuild(
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), UTC.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")] = None,
    reextract: Annotated[bool, typer.Option(help="Extract stored pages again.")] = True,
    db: DbOption = None,
) -> None:
    """Recompute the core tables from raw events (all history, or a date range)."""
    from datetime import date

    from flows.rebuild import rebuild_core
    from flows.runs import current_run_id
    from warehouse.lock import LockedError, writer_lock
    from warehouse.store import Store

    settings = _settings(db)
    try:
        with writer_lock(settings.db_path), Store.open(settings.db_path) as store:
            result = rebuild_core(
                store, settings, run_id=current_run_id(),
                since=date.fromisoformat(since) if since else None,
                until=date.fromisoformat(until) if until else None, reextract=reextract)
    except LockedError as exc:
        err.print(f"[yellow]{exc}[/yellow]")
        raise typer.Exit(75) from None
    console.print(f"rebuilt {result['articles']} articles ({result['pages_extracted']} pages "
                  f"re-extracted) in {result['seconds']:.1f}s")


@app.command()
def extract(
    inputs: Annotated[list[str], typer.Argument(help="HTML files (.html or .html.gz).")],
    fmt: Annotated[str, typer.Option("--format", help="json, jsonl or text.")] = "json",
    url: Annotated[str | None, typer.Option(help="The page URL, for link resolution.")] = None,
) -> None:
    """Show what newsflow would store for pages on disk."""
    import gzip
    from dataclasses import asdict

    from transforms.extraction import extract_page

    for source in inputs:
        path = Path(source)
        if not path.exists():
            err.print(f"[red]{source}: no such file[/red] (URLs are fetched by the pipeline)")
            raise typer.Exit(2)
        body = path.read_bytes()
        if path.suffix == ".gz":
            body = gzip.decompress(body)
        result = extract_page(body, "text/html", url or path.resolve().as_uri())
        record = {"source": source, **asdict(result)}
        if fmt == "text":
            console.print(f"[bold]{result.title or source}[/bold] ({result.page_class})")
            console.print(result.text or "")
        else:
            text = json.dumps(record, default=str, ensure_ascii=False,
                              indent=None if fmt == "jsonl" else 2)
            sys.stdout.write(text + "\n")


def main() -> None:
    """The console script: Prefect's quiet defaults, then the typer app."""
    # Prefect reads these when it is first imported (commands import it lazily): quiet,
    # offline-friendly defaults that the user's own environment overrides.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "60")
    app()


if __name__ == "__main__":
    main()
