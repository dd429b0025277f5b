"""What the commands share: the --db option, date arguments, and settings for one command."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.settings import Settings, settings_for
from transforms.errors import InputError

DbOption = Annotated[Path | None, typer.Option("--db", help="DuckDB file (NEWSFLOW_DB_PATH).")]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]


def settings(db: Path | None = None, feeds: Path | None = None, **more: object) -> Settings:
    """This command's settings: its options over NEWSFLOW_* variables, .env and the defaults."""
    return settings_for(db_path=db, feeds_file=feeds, **more)


def day(value: str | None) -> date | None:
    """A YYYY-MM-DD option as a date (None when not given)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"not a date: {value!r}", advice="use YYYY-MM-DD") from None

StoreOption = Annotated[bool, typer.Option(
    "--store", help="Operators: read the pipeline's private store (raw, core, quality) instead "
                    "of the published analyst copy. Fails while a run writes, and a run that "
                    "starts while it is open ends skipped_locked.")]


def analyst_connection(db: Path | None, store: bool = False, *, fenced: bool = True) -> Any:
    """The connection an analyst command reads: the published copy (fenced to its own files,
    see warehouse.analyst), or with ``store`` the private store, read-only."""
    from warehouse.analyst import connect_published, connect_store

    config = settings(db)
    if store:
        return connect_store(config.db_path)
    return connect_published(config.published_dir, config.db_path, fenced=fenced)
