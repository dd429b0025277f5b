"""What the commands share: the --db option, date arguments, and settings for one command."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from flows.settings import Settings, settings_for
from transforms.errors import InputError, MissingStoreError

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


def require_store(config: Settings) -> None:
    """Refuse a store path where no store exists: only `run` and `migrate` create one, so a
    mistyped --db is an error, not a new empty store. A DuckLake address is the lake's to judge."""
    from warehouse import lake

    if not lake.is_lake(config.db_path) and not Path(config.db_path).exists():
        raise MissingStoreError(f"no database at {config.db_path} yet",
                                advice="run `newsflow run` or `newsflow migrate` first, or "
                                       "check --db / NEWSFLOW_DB_PATH")
