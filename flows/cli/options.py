"""What the commands share: the --db option, date arguments, and settings for one command."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.settings import Settings, settings_for
from transforms.dates import EARLIEST, FUTURE_SLACK
from transforms.errors import InputError, MissingStoreError

DbOption = Annotated[Path | None, typer.Option("--db", help="DuckDB file (NEWSFLOW_DB_PATH).")]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]


def settings(db: Path | None = None, feeds: Path | None = None, **more: object) -> Settings:
    """This command's settings: its options over NEWSFLOW_* variables, .env and the defaults."""
    return settings_for(db_path=db, feeds_file=feeds, **more)


def day(value: str | None, option: str = "date") -> date | None:
    """A YYYY-MM-DD option as a date (None when not given), inside the days newsflow can hold."""
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InputError(f"not a date: {value!r}", advice="use YYYY-MM-DD") from None
    return in_calendar(parsed, option)


def in_calendar(value: date, option: str = "date") -> date:
    """Refuse a day outside 1990-01-01 .. the day after tomorrow (UTC): no stored date can lie
    there (transforms.dates judges every date by the same window), and the calendar's ends
    (9999-12-31 + 1 day) would overflow the arithmetic on ranges."""
    first = EARLIEST.date()
    last = (datetime.now(UTC) + FUTURE_SLACK).date()
    if value < first:
        raise InputError(f"{option} {value} is before {first}: newsflow keeps no earlier date",
                         advice=f"use a day from {first} on")
    if value > last:
        raise InputError(f"{option} {value} is in the future (the latest day is {last}, UTC)",
                         advice=f"use a day up to {last}")
    return value


def day_range(since: date | None, until: date | None, *, max_days: int
              ) -> tuple[date | None, date | None]:
    """Validate a --since/--until pair at the edge: both in the calendar newsflow can hold, in
    order, and no longer than ``max_days`` days (NEWSFLOW_MAX_RANGE_DAYS) when both are given."""
    if since is not None:
        since = in_calendar(since, "--since")
    if until is not None:
        until = in_calendar(until, "--until")
    if since is not None and until is not None:
        if since > until:
            raise InputError(f"--since {since} is after --until {until}",
                             advice="give the earlier day as --since")
        span = (until - since).days + 1
        if span > max_days:
            raise InputError(
                f"{since} to {until} is {span:,} days, more than the {max_days:,} one command "
                "takes", advice="split the range, or raise NEWSFLOW_MAX_RANGE_DAYS")
    return since, until


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


def require_store(config: Settings) -> None:
    """Refuse a store path where no store exists: only `run` and `migrate` create one, so a
    mistyped --db is an error, not a new empty store. A DuckLake address is the lake's to judge."""
    from warehouse import lake

    if not lake.is_lake(config.db_path) and not Path(config.db_path).exists():
        raise MissingStoreError(f"no database at {config.db_path} yet",
                                advice="run `newsflow run` or `newsflow migrate` first, or "
                                       "check --db / NEWSFLOW_DB_PATH")
