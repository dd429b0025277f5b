"""The backfill's units of work, each a Prefect task: one listed day of a site (sitemaps,
archived feeds), one WARC file (settling every day it covers), one day of stored pages
re-extracted. Each takes the writer door for its own chunk, so a scheduled run can slip in
between two of them (FAULTS case 75)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows import backfill_sources as src
from flows.runs import run_task, writer
from flows.settings import Settings
from transforms.vocab import DayBy, DayStatus
from warehouse.articles import apply_extractions
from warehouse.backfill import DayReport, count_day, finished, record_day
from warehouse.checks import mark_pending
from warehouse.store import Store

log = logging.getLogger(__name__)


def stage_name(source: str) -> str:
    """The ledger stage of a backfill from ``source``."""
    return f"backfill_{source.replace('-', '_')}"


def bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of a day."""
    start = datetime.combine(day, dtime.min, UTC)
    return start, start + timedelta(days=1)


def chunk(settings: Settings, wait_s: float = 600.0, *, migrate: bool = False
          ) -> AbstractContextManager[Store]:
    """The writer door for one chunk of work, waiting (bounded) for a scheduled run to finish.

    Only the first chunk of a run migrates and checks what an earlier run left unchecked; later
    ones just connect, which spares re-applying the views for every day.
    """
    return writer(settings, wait_s=wait_s, migrate=migrate, heal=migrate)


@task(cache_policy=NO_CACHE, task_run_name="{source} {origin} {day}")
def backfill_day(settings: Settings, fetcher: Any, *, run_id: str, source: str, origin: str,
                 day: date, urls: tuple[str, ...], listing: dict[str, Any]) -> DayReport:
    """Fetch one day's listed pages not stored yet and settle the day in the ledger."""
    with chunk(settings) as store:

        def commit(rows: list[dict[str, Any]]) -> int:
            with store.transaction("backfill_batch"):
                added = store.insert("raw.page_fetches", rows)
                if added and settings.run_checks:  # checked at the end of the backfill
                    mark_pending(store, run_id=run_id, stage=stage_name(source),
                                 table="raw.page_fetches")
                return added

        keys, detail = src.fetch_day(fetcher, store, run_id=run_id, source=source, urls=urls,
                                     commit=commit)
        with store.transaction("backfill_day"):
            counts = count_day(store, keys)
            # an incomplete listing may have missed URLs of this day: never settle it as done
            settled = counts.pending == 0 and listing.get("complete", True)
            status = (DayStatus.PARTIAL if not settled else DayStatus.DONE if counts.expected
                      else DayStatus.EMPTY)  # nothing listed yet: look again next time
            report = DayReport(source, origin, day, str(status),
                               counts.expected, counts.obtained,
                               counts.failed, detail.pop("new_rows"), False,
                               {**detail, "listing": listing})
            record_day(store, run_id, report)
    return report


@task(cache_policy=NO_CACHE, task_run_name="warc {origin}")
def backfill_warc(settings: Settings, *, run_id: str, origin: str, span: list[date],
                  max_bytes: int) -> list[DayReport]:
    """Read one WARC file (path or URL) once; store its captures and settle each day."""
    with chunk(settings) as store:
        done = finished(store, "warc", origin, span)
        todo = [d for d in span if d not in done]
        fresh = src.ingest_warc(store, settings, run_id=run_id, origin=origin, span=todo,
                                max_bytes=max_bytes) if todo else {}
        reports = {}
        with store.transaction("backfill_warc"):
            for day, counts in fresh.items():
                error, read = counts.detail.get("error"), counts.detail.get("records", 0)
                status = "done" if not error else "partial" if read else "failed"
                reports[day] = DayReport("warc", origin, day, status, counts.expected,
                                         counts.obtained, counts.failed, counts.new_rows, False,
                                         counts.detail)
                record_day(store, run_id, reports[day])
    return [done.get(d) or reports[d] for d in span]


@task(cache_policy=NO_CACHE, task_run_name="re-extract {day}")
def reextract(settings: Settings, pool: Any, *, run_id: str, origin: str, version: str,
              day: date, hosts: list[str] | None, by: str = "fetched") -> DayReport:
    """Re-extract one day's stored pages with the current extractor version. A day with no
    stored page is left unsettled ('empty'), so pages stored for it later are not skipped."""
    lo, hi = bounds(day)
    with chunk(settings) as store:

        def commit(batch: Any) -> None:
            apply_extractions(store, batch, name="backfill_raw_batch")

        counts = src.reextract_day(store, pool, version=version, lo=lo, hi=hi, hosts=hosts,
                                   commit=commit, by=by)
        with store.transaction("backfill_raw"):
            status = DayStatus.DONE if counts.expected else DayStatus.EMPTY
            report = DayReport("raw", origin, day, str(status), counts.expected,
                               counts.obtained, 0, counts.new_rows, False, counts.detail)
            record_day(store, run_id, report)
    return report


def run_listed(settings: Settings, *, run_id: str, source: str, origins: list[str],
               span: list[date], on_day: Callable[[DayReport], None]) -> list[DayReport]:
    """Sitemaps and archived feeds: list each origin's URLs per day once, then a task per day."""
    from web import Fetcher

    with chunk(settings) as store:
        done = {o: finished(store, source, o, span) for o in origins}
    lister = src.list_sitemaps if source == "sitemap" else src.list_archive_feed
    reports: list[DayReport] = []
    with Fetcher(settings.http_options()) as fetcher:
        for origin in origins:
            listing = None
            if len(done[origin]) < len(span):  # a fully settled origin is not even listed
                listing = lister(fetcher, origin, span[0], span[-1])
                for problem in listing.problems:
                    log.warning("backfill %s: %s", source, problem)
            for day in span:
                report = done[origin].get(day)
                if report is None and listing is not None and listing.read_ok == 0:
                    report = _listing_failed(settings, run_id, source, origin, day, listing)
                elif report is None:
                    report = run_task(backfill_day, settings, fetcher, run_id=run_id,
                                      source=source, origin=origin, day=day,
                                      urls=listing.by_day.get(day, ()) if listing else (),
                                      listing=_summary(listing))
                reports.append(report)
                on_day(report)
    return reports


def _summary(listing: src.Listing | None) -> dict[str, Any]:
    if listing is None:
        return {}
    return {"documents": listing.documents, "complete": listing.complete,
            "undated": listing.undated,
            "outside_range": listing.outside, "problems": list(listing.problems[:10])}


def _listing_failed(settings: Settings, run_id: str, source: str, origin: str, day: date,
                    listing: src.Listing) -> DayReport:
    # Nothing could be read: the day is not "done with 0 expected" but failed, to retry later.
    report = DayReport(source, origin, day, "failed", 0, 0, 0, 0, False,
                       {"problems": list(listing.problems[:10])})
    with chunk(settings) as store:
        record_day(store, run_id, report)
    return report


def run_warcs(settings: Settings, *, run_id: str, origins: list[str], span: list[date],
              max_bytes: int, on_day: Callable[[DayReport], None]) -> list[DayReport]:
    """WARC files: one task per file, each settling every day of the range."""
    reports: list[DayReport] = []
    for origin in origins:
        for report in run_task(backfill_warc, settings, run_id=run_id, origin=origin, span=span,
                               max_bytes=max_bytes):
            reports.append(report)
            on_day(report)
    return reports


def run_raw(settings: Settings, *, run_id: str, hosts: list[str] | None, span: list[date],
            pool: Any, on_day: Callable[[DayReport], None], by: str = "fetched"
            ) -> list[DayReport]:
    """Re-extraction: a task per day, with one extraction pool for the whole range. A day is a
    UTC day of fetch time, or of publication date with ``by="published"`` (its own ledger)."""
    from transforms.extraction import EXTRACTOR_VERSION

    hosts = sorted({h.strip().lower() for h in hosts or [] if h.strip()}) or None
    origin = (EXTRACTOR_VERSION + (" by=published" if by == DayBy.PUBLISHED else "")
              + (f" hosts={','.join(hosts)}" if hosts else ""))
    with chunk(settings) as store:
        done = finished(store, "raw", origin, span)
    reports: list[DayReport] = []
    with ExitStack() as stack:
        if pool is None and len(done) < len(span):
            from workers.dask_extraction import extraction_pool

            pool = stack.enter_context(extraction_pool(settings))
        for day in span:
            report = done.get(day) or run_task(reextract, settings, pool, run_id=run_id,
                                               origin=origin, version=EXTRACTOR_VERSION,
                                               day=day, hosts=hosts, by=by)
            reports.append(report)
            on_day(report)
    return reports
