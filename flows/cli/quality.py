"""``newsflow quality``: checks passed and failed per stage, failures, and the worst sources."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import duckdb
import pandas as pd
import typer
from rich.console import Console

from flows.cli.report import frame_table

console = Console()


def quality(
    since: Annotated[str | None, typer.Option(help="Only checks on or after this date (YYYY-MM-DD).")]
    = None,
    db: Annotated[Path | None, typer.Option("--db")] = None,
) -> None:
    """Per stage: checks passed and failed, the failed checks with their reasons, worst sources."""
    from flows.settings import load_settings

    settings = load_settings(**({"db_path": db} if db else {}))
    day = date.fromisoformat(since) if since else date(1970, 1, 1)
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        params = {"since": day}
        console.print(frame_table(con.execute(
            "SELECT stage, table_name, count(DISTINCT run_id) AS runs, count(*) AS checks, "
            "count(*) FILTER (WHERE success) AS passed, count(*) FILTER (WHERE NOT success) AS failed "
            "FROM quality.validations WHERE validated_at >= $since GROUP BY ALL ORDER BY 1, 2",
            params).df(), title="checks per stage"))
        failed = con.execute(
            "SELECT validated_at::TIMESTAMP(0) AS at, stage, table_name, expectation, "
            "CASE WHEN blocking THEN 'blocking' ELSE 'warning' END AS policy, observed_value, "
            "unexpected_count, element_count, unexpected_sample, why FROM quality.validations "
            "WHERE NOT success AND validated_at >= $since ORDER BY validated_at DESC LIMIT 30",
            params).fetchall()
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
            examples = _examples(sample)
            if examples:
                console.print(f"    examples: {examples}", highlight=False, markup=False)
            console.print(f"    why: {why}", highlight=False, markup=False)
        console.print(frame_table(con.execute(
            "SELECT table_name, reason, count(*) AS rows FROM quality.quarantine "
            "WHERE quarantined_at >= $since GROUP BY ALL ORDER BY rows DESC", params).df(),
            title="quarantined rows by reason"))
        console.print(frame_table(worst_sources(con, day),
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


# Each page once per source: its current extraction only (a re-extraction adds a row per
# extractor version), and each source once per page (raw.feed_entries holds a row per entry
# version, and one outlet may link a page from several of its feeds).
WORST_SOURCES = """
WITH current AS (
    SELECT page_fetch_id, page_class, occurred_at
    FROM core.page_extractions
    QUALIFY row_number() OVER (PARTITION BY page_fetch_id
                               ORDER BY list_position($versions, extractor_version) DESC) = 1
),
pages AS (
    SELECT DISTINCT coalesce(f.outlet, f.name, f.url) AS source, x.page_fetch_id, x.page_class
    FROM current AS x
    JOIN raw.page_fetches AS p ON p.event_id = x.page_fetch_id
    JOIN raw.feed_entries AS e ON e.link_key = p.url_key
    JOIN core.feeds AS f USING (feed_id)
    WHERE x.occurred_at >= $since
)
SELECT source, count(*) AS pages,
       count(*) FILTER (WHERE page_class <> 'article') AS not_articles,
       round(100.0 * count(*) FILTER (WHERE page_class <> 'article') / count(*), 1) AS pct,
       mode(page_class ORDER BY page_class) FILTER (WHERE page_class <> 'article') AS main_problem
FROM pages
GROUP BY source
HAVING not_articles > 0
ORDER BY pct DESC, source
LIMIT $limit
"""


def worst_sources(con: duckdb.DuckDBPyConnection, since: date, limit: int = 10) -> pd.DataFrame:
    """The sources with the largest share of pages that are not articles, since ``since``."""
    from transforms.articles import extractor_version_key

    # oldest to newest, as core.articles chooses the current version (digits compare as numbers)
    versions = sorted((r[0] for r in con.execute(
        "SELECT DISTINCT extractor_version FROM core.page_extractions").fetchall()),
        key=extractor_version_key)
    return con.execute(WORST_SOURCES, {"versions": versions, "since": since, "limit": limit}).df()
