"""``newsflow quality``: checks passed and failed per stage, failures, and the worst sources."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console

from flows.report import frame_table

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
            "SELECT validated_at::TIMESTAMP(0) AS at, stage, table_name, expectation, column_name, "
            "CASE WHEN blocking THEN 'blocking' ELSE 'warning' END AS policy, observed_value, "
            "unexpected_count, why FROM quality.validations "
            "WHERE NOT success AND validated_at >= $since ORDER BY validated_at DESC LIMIT 30",
            params).df()
        console.print(frame_table(failed, title="failed checks (latest first)")
                      if len(failed) else "[green]no failed checks[/green]")
        console.print(frame_table(con.execute(
            "SELECT table_name, reason, count(*) AS rows FROM quality.quarantine "
            "WHERE quarantined_at >= $since GROUP BY ALL ORDER BY rows DESC", params).df(),
            title="quarantined rows by reason"))
        console.print(frame_table(con.execute(
            "SELECT coalesce(f.outlet, f.name, f.url) AS source, count(*) AS pages, "
            "count(*) FILTER (WHERE x.page_class <> 'article') AS not_articles, "
            "round(100.0 * count(*) FILTER (WHERE x.page_class <> 'article') / count(*), 1) AS pct, "
            "mode(x.page_class) FILTER (WHERE x.page_class <> 'article') AS main_problem "
            "FROM core.page_extractions x JOIN raw.page_fetches p ON p.event_id = x.page_fetch_id "
            "JOIN raw.feed_entries e ON e.link_key = p.url_key JOIN core.feeds f USING (feed_id) "
            "WHERE x.occurred_at >= $since GROUP BY ALL HAVING not_articles > 0 "
            "ORDER BY pct DESC LIMIT 10", params).df(), title="worst sources (pages not articles)"))
    finally:
        con.close()
