"""backfill: history for a date range from sitemaps, WARC files or archived feeds; or re-extraction.

Chunked per day (a WARC file is read once and settled per day), resumable through the per-day
ledger ``raw.backfill_days`` (a day with a ``done`` row is skipped on re-run), idempotent (event ids
plus "already stored" checks), and it never writes the scheduled pipeline's state (core.feeds,
raw.feed_fetches, raw.feed_entries), so no watermark moves. The writer lock is taken per chunk,
not for the whole backfill, so a scheduled run can slip in between two days (FAULTS case 75).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import flow

from flows import backfill_sources as src
from flows.backfill_days import chunk, run_listed, run_raw, run_warcs, stage_name
from flows.runs import current_run_id, flow_result, skipped
from flows.settings import Settings, settings_for
from transforms.sitemaps import days
from transforms.vocab import BackfillSource, DayBy, DayStatus
from warehouse.backfill import DayReport, unprojected_pages
from warehouse.ledger import StageRun, cancellable_stage
from warehouse.lock import LockedError
from warehouse.publish import publish

log = logging.getLogger(__name__)


@cancellable_stage
def run_backfill(settings: Settings, *, source: str, since: date, until: date,
                 sources: list[str] | None = None, run_id: str, pool: Any = None,
                 project: bool = True, warc_max_bytes: int = 256 * 1024 * 1024,
                 on_day: Callable[[DayReport], None] | None = None,
                 day_by: str = "fetched") -> dict[str, Any]:
    """The backfill itself, callable without Prefect (the CLI and tests do). ``day_by`` (raw
    only): a day is the pages fetched on it, or those of articles published on it."""
    if source not in set(BackfillSource):
        raise ValueError(f"unknown backfill source {source!r}; one of "
                         f"{', '.join(BackfillSource)}")
    if day_by not in set(DayBy):
        raise ValueError(f"unknown day {day_by!r}; one of {', '.join(DayBy)}")
    if day_by != DayBy.FETCHED and source != BackfillSource.RAW:
        raise ValueError("--day-by published applies to --source raw only (the other sources "
                         "list pages by their own dates)")
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")
    span = days(since, until)
    origins = src.origins_for(settings, source, sources)
    params = {"source": source, "since": since, "until": until, "sources": origins or sources}
    stage = StageRun(run_id, "backfill", stage_name(source), params)
    with chunk(settings, migrate=True) as store:
        # its chunk's store is closed by the time an interruption unwinds: reopen one for it
        stage.begin(store, reopen=lambda: chunk(settings, wait_s=5.0))
    note = on_day or (lambda report: None)
    if source == "warc":
        reports = run_warcs(settings, run_id=run_id, origins=origins, span=span,
                            max_bytes=warc_max_bytes, on_day=note)
    elif source == "raw":
        reports = run_raw(settings, run_id=run_id, hosts=sources, span=span, pool=pool,
                          on_day=note, by=day_by)
    else:
        reports = run_listed(settings, run_id=run_id, source=source, origins=origins, span=span,
                             on_day=note)
    new_rows = sum(r.new_rows for r in reports if not r.skipped)
    # an empty day (nothing to do yet) is no failure; it is just not settled
    status = "ok" if all(r.status in (DayStatus.DONE, DayStatus.EMPTY) for r in reports) \
        else "partial"
    with chunk(settings) as store:
        extracted = {}
        # Not "if new_rows": a run killed after storing pages left them for this one to project.
        if project and source != "raw" and unprojected_pages(store):
            from flows.extract_articles import extract

            extracted = extract(store, settings, run_id=run_id, pool=pool, flow_name="backfill")
        stage.counts = {"days": len(span), "origins": len(origins), "new_rows": new_rows,
                        "days_skipped": sum(r.skipped for r in reports),
                        "expected": sum(r.expected for r in reports),
                        "obtained": sum(r.obtained for r in reports),
                        "articles": int(extracted.get("articles", 0))}
        store.insert("raw.runs", [stage.final_row(status)])
        if settings.run_checks and new_rows and source != "raw":
            # the raw stage's suite, on this run's page fetches (extract() checked core.*)
            from flows.checks import check_batch  # pandas and the suites: only when checks run

            report = check_batch(store, run_id=run_id, stage="raw", table="raw.page_fetches",
                                 max_body_bytes=settings.max_body_bytes)
            status = stage.flag_checks(store, [report], status)
        # analysts see what the backfill brought, as after a pipeline run
        published = publish(store, settings.published_dir, run_id=run_id)
    log.info("backfill %s %s..%s %s: %s", source, since, until, status, stage.counts)
    return {"status": status, "run_id": run_id, **stage.counts,
            "table": [asdict(r) for r in reports], "publish": published}


@flow(name="backfill")
def backfill(source: str, since: date | None = None, until: date | None = None,
             sources: list[str] | None = None, db_path: str | None = None,
             project: bool = True, day_by: str = "fetched") -> dict[str, Any]:
    """Pull history for [since, until] (UTC days, both included; default: yesterday) from
    ``sitemap``, ``warc`` or ``archive-feed`` sources, or re-extract stored pages (``raw``; a day
    is pages fetched that day, or with ``day_by="published"`` those of articles published then)."""
    from prefect import get_run_logger
    from prefect.artifacts import create_table_artifact

    logger = get_run_logger()
    settings = settings_for(db_path=db_path)
    until = until or (datetime.now(UTC).date() - timedelta(days=1))

    def on_day(r: DayReport) -> None:
        logger.info("%s %s %s: %s, %d of %d obtained%s", r.source, r.origin, r.day, r.status,
                    r.obtained, r.expected, " (settled earlier)" if r.skipped else "")

    run_id = current_run_id()
    try:
        result = run_backfill(settings, source=source, since=since or until, until=until,
                              sources=sources, run_id=run_id, project=project, on_day=on_day,
                              day_by=day_by)
    except LockedError as exc:  # still held after the bounded wait
        return flow_result(skipped(exc, run_id))  # type: ignore[no-any-return]
    create_table_artifact(
        key=f"backfill-{source}",
        table=[{k: str(v) for k, v in row.items() if k != "detail"} for row in result["table"]],
        description=f"backfill {source} {since or until}..{until}: expected vs obtained per day "
                    f"({result['status']})",
    )
    return result
