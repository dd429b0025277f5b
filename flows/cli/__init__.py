"""The ``newsflow`` command: run the pipeline, query the store, look after feeds.

Every command carries ``@reports_errors`` (flows/cli/errors.py): an error becomes one line on
stderr and its exit code, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flows.cli import analyst as cli_analyst
from flows.cli import backfill as cli_backfill
from flows.cli import feeds as cli_feeds
from flows.cli import quality as cli_quality
from flows.cli import report, runner
from flows.cli import server as cli_server
from flows.cli import store as cli_store
from flows.cli.errors import input_file, reports_errors
from flows.cli.options import (
    DbOption,
    StoreOption,
    analyst_connection,
    day,
    day_range,
    require_store,
    settings,
)
from flows.cli.progress import steps
from transforms.errors import InputError, StoreBusyError

app = typer.Typer(help="newsflow: an event-sourced news pipeline into DuckDB.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(cli_feeds.app, name="feeds")
app.add_typer(cli_server.app, name="server")
app.add_typer(cli_store.app, name="store")
app.command()(cli_quality.quality)
app.command("backfill")(cli_backfill.backfill)
app.command("export-warc")(cli_backfill.export_warc)
cli_analyst.register(app)
console = Console()

# The sample is served on 127.0.0.1 by this process: let the fetcher reach it, a little faster.
SAMPLE_SETTINGS: dict[str, Any] = {"allow_private_addresses": True, "per_host_concurrency": 8}
SAMPLE_PORT = 8765  # the sample's usual port (`newsflow run --sample`, `make run`)


@app.command()
@reports_errors
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
    port: Annotated[int | None, typer.Option(
        help=f"Port of the sample server. Default {SAMPLE_PORT}, so the sample's URLs (and so "
             "its article keys) stay the same from run to run, or a free port when that one is "
             "taken; a port given here must be free.")] = None,
    all_feeds: Annotated[bool, typer.Option(
        "--all", help="Poll every feed now, not only those due.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Run the pipeline once: poll feeds, fetch pages, extract articles, check every stage."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("great_expectations").setLevel(logging.INFO if verbose else logging.WARNING)
    from flows.settings import load_feed_list, settings_scope
    from warehouse.reports import example_query

    with ExitStack() as stack:
        if sample:
            from flows.cli.feeds import write_sample_feeds
            from sample.server import SampleServer

            config = settings(db, None, **SAMPLE_SETTINGS)
            try:
                server = SampleServer(n_articles=articles, port=port or SAMPLE_PORT,
                                      any_port_if_busy=port is None, defects=defects).__enter__()
            except OSError as exc:
                raise InputError(f"cannot serve the sample on 127.0.0.1:{port}: {exc}",
                                 advice="free the port or pass another --port") from None
            if server.wanted_port_busy:
                console.print(f"[yellow]Port {SAMPLE_PORT} is taken: serving the sample on "
                              f"{server.base_url} instead (its articles get keys of their own "
                              f"there).[/yellow]")
            stack.push(server.__exit__)
            # The flow resolves its own settings from its parameters; this scope adds the
            # sample's, in this process only.
            stack.enter_context(settings_scope(**SAMPLE_SETTINGS))
            feeds_file = write_sample_feeds(server.site, config.db_path.parent)
            console.print(f"Serving the offline sample at [bold]{server.base_url}[/bold] "
                          f"({len(server.site.feeds)} feeds, {len(server.site.articles)} articles)")
            only_due = False
        else:
            config = settings(db, feeds)
            feeds_file = config.feeds_file
            only_due = not all_feeds
            with input_file(feeds_file, "feed list"):  # a bad list fails before Prefect starts
                load_feed_list(feeds_file)
        # a Prefect API that answers, else the stages without Prefect (flows/cli/runner.py)
        result = runner.run(config, feeds_file=feeds_file, only_due=only_due,
                            say=console.print)
    report.print_summary(console, config.db_path, result, example_query())
    if result.get("orchestrator", "prefect") != "prefect":
        console.print(f"Ran without Prefect ({result['orchestrator']}); the ledger records it.")
    runner.run_outcome(result)  # the exit status: 0 ok/partial, 69 failed, 65 checks failed


@app.command()
@reports_errors
def sql(
    query: Annotated[str | None, typer.Argument(
        help="SQL text or a .sql file; none starts an interactive session.")] = None,
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    store: StoreOption = False,
) -> None:
    """Query read-only: the published analyst copy (analytics.*), which never blocks a run.

    Only reading statements run there; COPY, ATTACH, EXPORT, INSTALL/LOAD, SET and anything that
    writes are refused (exit 77), and no file outside the copy can be read.
    """
    con = analyst_connection(db, store)
    try:
        code = cli_analyst.run_sql(con, query, fmt, on_store=store)
    finally:
        con.close()
    if code:
        raise typer.Exit(code)


@app.command()
@reports_errors
def status(db: DbOption = None, store: StoreOption = False) -> None:
    """How fresh the analyst copy is, rows per view, and the latest runs (--store: the store's
    own tables)."""
    from warehouse.reports import freshness, latest_runs, table_counts, view_counts

    config = settings(db)
    con = analyst_connection(db, store)
    try:
        if store:
            title, counts_of = f"newsflow store {config.db_path}", table_counts(con)
        else:
            fresh = freshness(con)
            console.print(f"analyst copy {config.published_dir.parent / 'analytics.duckdb'}: "
                          f"published {fresh['published_at']:%Y-%m-%d %H:%M:%S} UTC by run "
                          f"{fresh['run_id']} (generation {fresh['generation']}, "
                          f"{fresh['articles']} articles)", highlight=False)
            title, counts_of = "analyst views", view_counts(con)
        counts = Table(title=title)
        counts.add_column("table" if store else "view")
        counts.add_column("rows", justify="right")
        for name, rows in counts_of:
            counts.add_row(name, str(rows))
        console.print(counts)
        console.print(report.frame_table(latest_runs(con), title="latest runs"))
    finally:
        con.close()


@app.command()
@reports_errors
def rebuild(
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), UTC.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")] = None,
    reextract: Annotated[bool, typer.Option(help="Extract stored pages again.")] = True,
    db: DbOption = None,
) -> None:
    """Recompute the core tables from raw events (all history, or a date range)."""
    from flows.rebuild import run_rebuild
    from flows.runs import current_run_id

    config = settings(db)
    first, last = day_range(day(since, "--since"), day(until, "--until"),
                            max_days=config.max_range_days)
    require_store(config)  # a rebuild never creates a store
    with steps(console, "rebuild") as on_step:
        result = run_rebuild(config, run_id=current_run_id(), since=first, until=last,
                             reextract=reextract, on_step=on_step)
    if result["status"] == "skipped_locked":
        raise StoreBusyError(result["message"])
    console.print(f"rebuilt {result['articles']} articles ({result['pages_extracted']} pages "
                  f"re-extracted) in {result['seconds']:.1f}s")


@app.command()
@reports_errors
def migrate(db: DbOption = None) -> None:
    """Create the store, or bring an existing one to the current schema (with `run`, the only
    command that creates a store)."""
    import uuid

    from warehouse.access import open_writer
    from warehouse.publish import publish
    from warehouse.store import schema_version

    config = settings(db)
    existed = config.db_path.exists()
    with open_writer(config.db_path, min_free_mb=config.min_free_mb) as store:
        version = schema_version()  # open_writer migrated it to this
        # the analyst copy follows the schema (new views), and exists from the first migrate on
        publish(store, config.published_dir, run_id=f"migrate-{uuid.uuid4().hex[:12]}")
    console.print(f"{'migrated' if existed else 'created'} {config.db_path} "
                  f"(schema version {version})")


@app.command()
@reports_errors
def extract(
    inputs: Annotated[list[str], typer.Argument(help="HTML files (.html or .html.gz).")],
    fmt: Annotated[str, typer.Option("--format", help="json, jsonl or text.")] = "json",
    url: Annotated[str | None, typer.Option(help="The page URL, for link resolution.")] = None,
) -> None:
    """Show what newsflow would store for pages on disk."""
    import gzip
    from dataclasses import asdict

    from transforms.extraction import extract_page

    settings()  # no setting applies, but a misspelt one fails here as in every command
    for source in inputs:
        path = Path(source)
        if not path.exists():
            raise InputError(f"{source}: no such file",
                             advice="give HTML files on disk; URLs are fetched by the pipeline")
        with input_file(path, "page"):
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
