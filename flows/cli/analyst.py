"""Analyst commands: ``newsflow sql``, ``search``, ``export``, ``stories``, ``reindex``, ``publish``.

``register(app)`` adds them to the main typer app. Every command but ``reindex`` reads the
published analyst copy (``analytics.duckdb`` and its Parquet generation), never the pipeline's
store, so no analyst can make a run skip; ``--store`` is the operator's explicit way into the
store. ``reindex`` and ``publish`` take the writer lock like any run, and republish the copy.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console

from flows.cli.errors import input_file, reports_errors
from flows.cli.options import (
    DbOption,
    FormatOption,
    StoreOption,
    analyst_connection,
    day,
    settings,
)
from flows.cli.progress import steps
from transforms.errors import InputError, MissingStoreError, NewsflowError, NothingFoundError
from warehouse.rows import Rows

log = logging.getLogger(__name__)
console = Console()
err = Console(stderr=True)


def __getattr__(name: str) -> Any:
    """``EXAMPLES``: the banner's examples, each of which must run on the published copy
    (tests/flows/test_analyst_surface.py); read when first asked for, not at import (the
    commands import no store module before they run)."""
    if name == "EXAMPLES":
        from warehouse.analyst import session_examples

        return session_examples()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# `newsflow search --format csv|json`: its columns and their types
HIT_TYPES: Final = {"rank": "BIGINT", "score": "DOUBLE", "outlet": "VARCHAR",
                    "published_at": "TIMESTAMP WITH TIME ZONE", "title": "VARCHAR",
                    "snippet": "VARCHAR", "url": "VARCHAR", "story_id": "VARCHAR"}
_DOTS: Final = """\
  .tables          the analyst views      .schema [VIEW]   columns, types and meaning
  .format FMT      table | csv | json     .quit            leave (or Ctrl-D)"""


def banner(con: Any, on_store: bool) -> str:
    """What the session prints first: where it reads, how fresh that is, examples that run."""
    from warehouse.analyst import session_examples
    from warehouse.reports import freshness

    if on_store:
        where = "newsflow SQL on the private store (read-only; a run started now ends skipped_locked)"
    else:
        where = "newsflow SQL on the published analyst copy (read-only)"
        with contextlib.suppress(Exception):
            fresh = freshness(con)
            where += (f", published {fresh['published_at']:%Y-%m-%d %H:%M} UTC by run "
                      f"{fresh['run_id']} (generation {fresh['generation']})")
    lines = [where + ".", "End a statement with ';'. Examples:", *(f"  {e}" for e in session_examples()),
             _DOTS]
    return "\n".join(lines)


def print_frame(frame: Any, fmt: str, title: str | None = None) -> None:
    """Print query rows (warehouse.rows.Rows, or a DataFrame) as a rich table, CSV or JSON
    records."""
    from flows.cli.report import frame_table, write_csv, write_json

    if fmt == "csv":
        write_csv(frame, sys.stdout)
    elif fmt == "json":
        write_json(frame, sys.stdout)
    else:
        console.print(frame_table(frame, title=title))


def looks_like_query_file(query: str) -> bool:
    """A query argument that is one word ending in ``.sql`` names a file (a missing one is an
    error naming it, not a statement handed to DuckDB's parser)."""
    return query.endswith(".sql") and not any(ch.isspace() for ch in query)


def run_sql(con: Any, query: str | None, fmt: str = "table", *, on_store: bool = False) -> int:
    """``newsflow sql``: run a query string or .sql file, or the interactive session; its exit
    status (a refused or failed statement in a session piped from a file is not lost)."""
    from warehouse.analyst import run

    if query is None:
        return interactive(con, fmt, on_store=on_store)
    if looks_like_query_file(query):
        with input_file(Path(query), "query file"):
            query = Path(query).read_text(encoding="utf-8")
    result = run(con, query, checked=not on_store)
    if result is not None and result.description is not None:
        print_frame(Rows.of(result), fmt)
    return 0


def interactive(con: Any, fmt: str = "table", *, on_store: bool = False) -> int:
    """A small SQL shell on ``con``: statements end with ';', dot-commands as in the DuckDB shell.

    Returns 0, or the exit code of the last statement that failed or was refused.
    """
    from warehouse.analyst import run
    from warehouse.reports import analyst_views, view_columns

    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  # line editing and history for input(), where available
    tty = sys.stdin.isatty()
    if tty:
        console.print(banner(con, on_store), markup=False, highlight=False)
    status = 0
    buffer: list[str] = []
    while True:
        try:
            line = input("newsflow> " if not buffer else "     ...> ") if tty else \
                sys.stdin.readline()
        except EOFError:
            break
        if not tty and line == "":
            break
        stripped = line.strip()
        if not buffer and stripped.startswith("."):
            verb, _, arg = stripped.partition(" ")
            arg = arg.strip().rstrip(";")
            if verb in {".quit", ".exit"}:
                break
            if verb == ".format" and arg in {"table", "csv", "json"}:
                fmt = arg
            elif verb == ".tables":
                print_frame(analyst_views(con), fmt)
            elif verb == ".schema":
                schema, _, name = arg.rpartition(".")
                print_frame(view_columns(con, schema or "analytics", name or None), fmt)
            else:
                console.print(banner(con, on_store), markup=False, highlight=False)
            continue
        buffer.append(line)
        if not stripped.endswith(";"):
            continue
        statement, buffer = "\n".join(buffer), []
        try:
            result = run(con, statement, checked=not on_store)
        except NewsflowError as exc:
            print(" ".join(exc.user_message().split()), file=sys.stderr, flush=True)
            status = exc.exit_code
            continue
        if result is not None and result.description is not None:
            print_frame(Rows.of(result), fmt)
    return status


@reports_errors
def search(
    query: Annotated[str, typer.Argument(help="Words to look for, e.g. \"kim jong un russia\".")],
    since: Annotated[str | None, typer.Option(help="Published on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before (YYYY-MM-DD).")]
    = None,
    outlet: Annotated[str | None, typer.Option(help="Only this outlet.")] = None,
    limit: Annotated[int, typer.Option(help="Results to show.")] = 20,
    db: DbOption = None,
    fmt: FormatOption = "table",
    store: StoreOption = False,
) -> None:
    """Full-text search (BM25 over title and text): ranked articles with outlet, date, snippet."""
    from rich.table import Table

    from transforms.tokens import snippet
    from warehouse.reports import article_texts
    from warehouse.search import has_search
    from warehouse.search import search as run_search

    first, last = day(since), day(until)
    con = analyst_connection(db, store)
    try:
        if not has_search(con):
            raise MissingStoreError("no search index yet",
                                    advice="run `newsflow run` or `newsflow reindex`")
        hits = run_search(con, query, since=first, outlet=outlet, limit=limit,
                          until=last + timedelta(days=1) if last else None)
        texts = article_texts(con, [h.article_key for h in hits])
    finally:
        con.close()
    if not hits:
        raise NothingFoundError(f"no articles match {query!r}")
    if fmt != "table":
        print_frame(Rows.from_records([{
            "rank": h.rank, "score": h.score, "outlet": h.outlet, "published_at": h.published_at,
            "title": h.title, "snippet": snippet(texts.get(h.article_key), query),
            "url": h.url, "story_id": h.story_id} for h in hits], HIT_TYPES), fmt)
        return
    table = Table(title=f"{len(hits)} result(s) for {query!r}", show_lines=True)
    for col in ("#", "score", "outlet", "date", "title / snippet"):
        table.add_column(col, overflow="fold")
    for h in hits:
        when = h.published_at.date().isoformat() if h.published_at else "?"
        body = f"[bold]{h.title or h.url}[/bold]\n{snippet(texts.get(h.article_key), query)}"
        if h.story_id:
            body += f"\n[dim]story {h.story_id}[/dim]"
        table.add_row(str(h.rank), f"{h.score:.2f}", h.outlet or "?", when, body)
    console.print(table)


@reports_errors
def export(
    fmt: Annotated[str, typer.Argument(help="parquet, csv or jsonl.")],
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), inclusive.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Parquet: folder (default data/export). CSV/JSONL: file, '-' for stdout.")] = None,
    full: Annotated[bool, typer.Option(help="Parquet: rewrite every partition.")] = False,
    db: DbOption = None,
    store: StoreOption = False,
) -> None:
    """Export articles by day: Parquet partitions (only changed days rewritten), CSV or JSONL."""
    from warehouse.export import ExportFormat
    from warehouse.export import export as run_export

    try:
        kind = ExportFormat(fmt)
    except ValueError:
        raise InputError(f"unknown format {fmt!r}", advice="use parquet, csv or jsonl") from None
    first, last = day(since), day(until)
    path = settings(db).db_path
    target = out or (path.parent / ("export" if kind is ExportFormat.PARQUET
                                    else f"articles.{kind}"))
    # newsflow's own query, which writes the export: the copy read-only, file access not fenced
    con = analyst_connection(db, store, fenced=False)
    try:
        result = run_export(con, kind, target, since=first, until=last, full=full)
    finally:
        con.close()
    result.pop("written", None)
    if str(target) != "-":
        console.print(", ".join(f"{k}={v}" for k, v in result.items()))


@reports_errors
def stories(
    since: Annotated[str | None, typer.Option(help="First published on or after (YYYY-MM-DD).")]
    = None,
    limit: Annotated[int, typer.Option(help="Stories to show.")] = 20,
    db: DbOption = None,
    fmt: FormatOption = "table",
    store: StoreOption = False,
) -> None:
    """Stories covered by several articles, most outlets first, with who published first."""
    from warehouse.reports import stories as top_stories

    first = day(since)
    con = analyst_connection(db, store)
    try:
        frame = top_stories(con, first, limit)
    finally:
        con.close()
    print_frame(frame, fmt, title="stories")


@reports_errors
def reindex(db: DbOption = None) -> None:
    """Rebuild the search index and the stories from core.articles (takes the writer lock)."""
    from flows.settings import settings_for
    from warehouse.access import open_writer
    from warehouse.publish import publish
    from warehouse.search import rebuild_index
    from warehouse.stories import rebuild_stories

    path = settings(db).db_path
    if not path.exists():  # opening to write would create an empty store
        raise MissingStoreError(f"no database at {path} yet")
    config = settings_for(db_path=path)
    with open_writer(path, min_free_mb=config.min_free_mb) as store, \
            steps(console, "reindex") as step:
        with store.transaction():
            step("search index", 0, 3)
            index = rebuild_index(store.con)
            step("search index", 1, 3)
            step("stories", 1, 3)
            built = rebuild_stories(store.con)
            step("stories", 2, 3)
        step("publishing the analyst copy", 2, 3)
        # analysts see the new index and stories; the copy names this reindex as its publisher
        publish(store, config.published_dir, run_id=f"reindex-{uuid.uuid4().hex[:12]}")
        step("publishing the analyst copy", 3, 3)
    console.print(f"indexed {index['indexed']} articles in {index['seconds']:.2f}s; "
                  f"{built['stories']} stories from {built['links']} links in "
                  f"{built['seconds']:.2f}s")


@reports_errors
def publish(
    db: DbOption = None,
    verify: Annotated[bool, typer.Option(
        "--verify", help="Re-read every published file against its sha256 (not only its size "
        "and mtime) and rewrite any that differ.")] = False,
) -> None:
    """Publish the analyst copy now (takes the writer lock); every run does this by itself."""
    from flows.settings import settings_for
    from warehouse.access import open_writer
    from warehouse.publish import publish as publish_copy

    path = settings(db).db_path
    if not path.exists():  # opening to write would create an empty store
        raise MissingStoreError(f"no database at {path} yet")
    config = settings_for(db_path=path)
    with open_writer(path, min_free_mb=config.min_free_mb) as store:
        result = publish_copy(store, config.published_dir, verify=verify,
                              run_id=f"publish-{uuid.uuid4().hex[:12]}")
    repaired = result["damaged_rewritten"]
    console.print(f"published generation {result['generation']}: {result['files_written']} "
                  f"files written, {result['files_linked']} reused"
                  + (", every file verified" if verify else "")
                  + (f"; {len(repaired)} damaged or missing file(s) rewritten: "
                     f"{', '.join(repaired[:5])}" if repaired else ""))


def register(app: typer.Typer) -> None:
    """Add the analyst commands to the ``newsflow`` app."""
    app.command()(search)
    app.command()(export)
    app.command()(stories)
    app.command()(reindex)
    app.command()(publish)
