"""Analyst commands: ``newsflow search``, ``export``, ``stories``, ``reindex`` and interactive SQL.

``register(app)`` adds the commands to the main typer app. Everything here reads the store
read-only except ``reindex``, which takes the writer lock like any pipeline run.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

log = logging.getLogger(__name__)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[Path | None, typer.Option("--db", help="DuckDB file (NEWSFLOW_DB_PATH).")]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]

_HELP = """\
newsflow SQL (read-only). End a statement with ';'. Commands:
  .tables            analyst views          .schema VIEW   its columns and their meaning
  .format FMT        table | csv | json     .quit          leave (or Ctrl-D)
Full-text search: SELECT * FROM analytics.search('words') LIMIT 10;"""


def _db_path(db: Path | None) -> Path:
    from flows.settings import load_settings

    try:
        settings = load_settings(**({"db_path": db} if db else {}))
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    path = Path(settings.db_path)
    if not path.exists():
        err.print(f"[red]no database at {path}[/red]; run `newsflow run` first")
        raise typer.Exit(2)
    return path


def connect_read_only(path: Path) -> Any:
    """A read-only connection with the fts extension loaded (for ``analytics.search``)."""
    import duckdb

    from warehouse.search import load_fts

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        err.print(f"[red]cannot open {path}:[/red] {exc}\n"
                  "A pipeline run is probably writing; try again when it ends, or query the "
                  "published Parquet snapshot.")
        raise typer.Exit(75) from None
    load_fts(con)
    con.execute("SET TimeZone = 'UTC'")
    return con


def print_frame(frame: Any, fmt: str, title: str | None = None) -> None:
    """Print a DataFrame as a rich table, CSV or JSON records."""
    from flows.cli.report import frame_table

    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        sys.stdout.write(frame.to_json(orient="records", date_format="iso", force_ascii=False))
        sys.stdout.write("\n")
    else:
        console.print(frame_table(frame, title=title))


def run_sql(db: Path | None, query: str | None, fmt: str = "table") -> None:
    """``newsflow sql``: run a query string or .sql file, or start the interactive session."""
    import duckdb

    path = _db_path(db)
    con = connect_read_only(path)
    try:
        if query is None:
            interactive(con, fmt)
            return
        if query.endswith(".sql") and Path(query).exists():
            query = Path(query).read_text(encoding="utf-8")
        try:
            frame = con.execute(query).df()
        except duckdb.Error as exc:
            err.print(f"[red]query failed:[/red] {exc}")
            raise typer.Exit(1) from None
        print_frame(frame, fmt)
    finally:
        con.close()


def interactive(con: Any, fmt: str = "table") -> None:
    """A small read-only SQL shell on ``con``: statements end with ';', dot-commands for help."""
    import duckdb

    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  # line editing and history for input(), where available
    tty = sys.stdin.isatty()
    if tty:
        console.print(_HELP)
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
            if verb in {".quit", ".exit"}:
                break
            if verb == ".format" and arg in {"table", "csv", "json"}:
                fmt = arg
            elif verb == ".tables":
                print_frame(con.execute(
                    "SELECT schema_name || '.' || view_name AS view, comment FROM duckdb_views() "
                    "WHERE schema_name = 'analytics' ORDER BY 1").df(), fmt)
            elif verb == ".schema" and arg:
                schema, _, name = arg.rpartition(".")
                print_frame(con.execute(
                    "SELECT column_name, data_type, comment FROM duckdb_columns() "
                    "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
                    [schema or "analytics", name]).df(), fmt)
            else:
                console.print(_HELP)
            continue
        buffer.append(line)
        if not stripped.endswith(";"):
            continue
        statement, buffer = "\n".join(buffer), []
        try:
            print_frame(con.execute(statement).df(), fmt)
        except duckdb.Error as exc:
            err.print(f"[red]error:[/red] {exc}")


def search(
    query: Annotated[str, typer.Argument(help="Words to look for, e.g. \"kim jong un russia\".")],
    since: Annotated[str | None, typer.Option(help="Published on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before (YYYY-MM-DD).")]
    = None,
    outlet: Annotated[str | None, typer.Option(help="Only this outlet.")] = None,
    limit: Annotated[int, typer.Option(help="Results to show.")] = 20,
    db: DbOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Full-text search (BM25 over title and text): ranked articles with outlet, date, snippet."""
    import pandas as pd
    from rich.table import Table

    from transforms.tokens import snippet
    from warehouse.search import has_search
    from warehouse.search import search as run_search

    con = connect_read_only(_db_path(db))
    try:
        if not has_search(con):
            err.print("[red]no search index yet[/red]; run `newsflow run` or `newsflow reindex`")
            raise typer.Exit(2)
        last = _day(until)
        hits = run_search(con, query, since=_day(since), outlet=outlet, limit=limit,
                          until=last + timedelta(days=1) if last else None)
        texts = dict(con.execute(
            "SELECT article_key, text FROM analytics.articles WHERE article_key IN "
            "(SELECT unnest(?::VARCHAR[]))", [[h.article_key for h in hits]]).fetchall())
    finally:
        con.close()
    if not hits:
        err.print(f"no articles match {query!r}")
        raise typer.Exit(1)
    if fmt != "table":
        print_frame(pd.DataFrame([{
            "rank": h.rank, "score": h.score, "outlet": h.outlet, "published_at": h.published_at,
            "title": h.title, "snippet": snippet(texts.get(h.article_key), query),
            "url": h.url, "story_id": h.story_id} for h in hits]), fmt)
        return
    table = Table(title=f"{len(hits)} result(s) for {query!r}", show_lines=True)
    for col in ("#", "score", "outlet", "date", "title / snippet"):
        table.add_column(col, overflow="fold")
    for h in hits:
        day = h.published_at.date().isoformat() if h.published_at else "?"
        body = f"[bold]{h.title or h.url}[/bold]\n{snippet(texts.get(h.article_key), query)}"
        if h.story_id:
            body += f"\n[dim]story {h.story_id}[/dim]"
        table.add_row(str(h.rank), f"{h.score:.2f}", h.outlet or "?", day, body)
    console.print(table)


def export(
    fmt: Annotated[str, typer.Argument(help="parquet, csv or jsonl.")],
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), inclusive.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Parquet: folder (default data/export). CSV/JSONL: file, '-' for stdout.")] = None,
    full: Annotated[bool, typer.Option(help="Parquet: rewrite every partition.")] = False,
    db: DbOption = None,
) -> None:
    """Export articles by day: Parquet partitions (only changed days rewritten), CSV or JSONL."""
    from warehouse.export import ExportFormat
    from warehouse.export import export as run_export

    try:
        kind = ExportFormat(fmt)
    except ValueError:
        err.print(f"[red]unknown format {fmt!r}[/red]; use parquet, csv or jsonl")
        raise typer.Exit(2) from None
    path = _db_path(db)
    target = out or (path.parent / ("export" if kind is ExportFormat.PARQUET
                                    else f"articles.{kind}"))
    con = connect_read_only(path)
    try:
        result = run_export(con, kind, target, since=_day(since), until=_day(until), full=full)
    finally:
        con.close()
    result.pop("written", None)
    if str(target) != "-":
        console.print(", ".join(f"{k}={v}" for k, v in result.items()))


def stories(
    since: Annotated[str | None, typer.Option(help="First published on or after (YYYY-MM-DD).")]
    = None,
    limit: Annotated[int, typer.Option(help="Stories to show.")] = 20,
    db: DbOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Stories covered by several articles, most outlets first, with who published first."""
    con = connect_read_only(_db_path(db))
    try:
        frame = con.execute(
            "SELECT story_id, title, first_outlet, first_published_at::TIMESTAMP(0) AS first_at, "
            "duration_hours AS hours, articles, outlets, syndicated_copies AS syndicated "
            "FROM analytics.stories WHERE ($since IS NULL OR first_published_at >= $since) "
            "ORDER BY outlets DESC, articles DESC, first_published_at LIMIT $limit",
            {"since": _day(since), "limit": limit}).df()
    finally:
        con.close()
    print_frame(frame, fmt, title="stories")


def reindex(db: DbOption = None) -> None:
    """Rebuild the search index and the stories from core.articles (takes the writer lock)."""
    from warehouse.lock import LockedError, writer_lock
    from warehouse.search import rebuild_index
    from warehouse.store import Store
    from warehouse.stories import rebuild_stories

    path = _db_path(db)
    try:
        with writer_lock(path), Store.open(path) as store, store.transaction():
            index = rebuild_index(store.con)
            built = rebuild_stories(store.con)
    except LockedError as exc:
        err.print(f"[yellow]{exc}[/yellow]")
        raise typer.Exit(75) from None
    console.print(f"indexed {index['indexed']} articles in {index['seconds']:.2f}s; "
                  f"{built['stories']} stories from {built['links']} links in "
                  f"{built['seconds']:.2f}s")


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]not a date: {value!r}[/red] (use YYYY-MM-DD)")
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    """Add the analyst commands to the ``newsflow`` app."""
    app.command()(search)
    app.command()(export)
    app.command()(stories)
    app.command()(reindex)
