"""``newsflow quality``: checks passed and failed per stage, failures, and the worst sources."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from flows.cli.errors import reports_errors
from flows.cli.options import DbOption, StoreOption, analyst_connection, day
from flows.cli.report import frame_table

console = Console()


@reports_errors
def quality(
    since: Annotated[str | None, typer.Option(help="Only checks on or after this date (YYYY-MM-DD).")]
    = None,
    db: DbOption = None,
    store: StoreOption = False,
) -> None:
    """Per stage: checks passed and failed, the failed checks with their reasons, worst sources
    (from the published analyst copy)."""
    from rich.markup import escape

    from warehouse.analyst import require_views
    from warehouse.reports import (
        checks_per_stage,
        failed_checks,
        latest_blocking,
        quarantine_by_reason,
        worst_sources,
    )

    first = day(since) or date(1970, 1, 1)
    con = analyst_connection(db, store)
    try:
        require_views(con, "checks", "quarantine", "source_pages")
        latest = latest_blocking(con)
        if latest is not None:
            run, failing, quarantined = latest
            if failing:
                console.print(f"[red]latest run {escape(run)}: {len(failing)} blocking check(s) "
                              f"failed[/red] ({quarantined} rows quarantined): "
                              + escape(", ".join(failing)), highlight=False)
            else:
                console.print(f"[green]latest run {escape(run)}: no blocking check failed[/green]",
                              highlight=False)
        console.print(frame_table(checks_per_stage(con, first), title="checks per stage"))
        failed = failed_checks(con, first)
        # One block per failed check (readable at any terminal width): what, how many, examples
        # of the offending values (e.g. the source whose volume dropped), and why it matters.
        console.rule("failed checks (latest first)")
        if not failed:
            console.print("[green]no failed checks[/green]")
        for at, stage, table, name, policy, observed, n_bad, n_all, sample, why in failed:
            colour = "red" if policy == "blocking" else "yellow"
            count = f"{n_bad} of {n_all} unexpected" if n_bad is not None else f"observed {observed}"
            console.print(f"[{colour}]{policy}[/{colour}] {at} {stage} "
                          f"[bold]{table}: {name}[/bold] ({count})", highlight=False)
            examples = _examples(None if sample is None else str(sample))
            if examples:
                console.print(f"    examples: {examples}", highlight=False, markup=False)
            console.print(f"    why: {why}", highlight=False, markup=False)
        console.print(frame_table(quarantine_by_reason(con, first),
                                  title="quarantined rows by reason"))
        console.print(frame_table(worst_sources(con, first),
                                  title="worst sources (pages not articles)"))
    finally:
        con.close()


def _examples(sample: str | None, limit: int = 160) -> str:
    """A failed check's unexpected values, JSON list in the store, as one short line."""
    try:
        values = json.loads(sample) if sample else []
    except ValueError:
        values = [sample]
    text = "; ".join(str(v) for v in values)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
