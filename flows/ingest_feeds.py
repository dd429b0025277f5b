"""ingest_feeds: poll the due feeds -> raw.feed_fetches, raw.feed_entries; check the raw stage."""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.checks import check_batch
from flows.runs import current_run_id, flow_result, run_as_writer, run_task
from flows.settings import Settings, load_feed_list, settings_for
from transforms.feedlist import FeedConfig, feed_id
from transforms.feeds import FeedOptions, FeedOutcome, ParsedFeed
from warehouse import feeds as feedstate
from warehouse.articles import refresh_linked
from warehouse.checks import mark_pending
from warehouse.events import feed_entry_row, feed_fetch_row
from warehouse.ledger import StageRun, cancellable_stage, stage_status
from warehouse.store import Store, utcnow
from web import Fetcher, FetchRequest, FetchResult
from workers.feedparse import check_expat, parse_feed_limited

log = logging.getLogger(__name__)


@task(cache_policy=NO_CACHE)
def poll(settings: Settings, requests: list[FetchRequest]) -> list[list[FetchResult]]:
    """Fetch every feed concurrently (retries inside; one result per attempt)."""
    with Fetcher(settings.http_options()) as fetcher:
        return fetcher.fetch_all(requests)


def parse_all(settings: Settings, attempts: list[list[FetchResult]]
              ) -> dict[tuple[int, int], ParsedFeed]:
    """Parse every successful body in the worker pool, several at a time."""
    jobs = {(i, j): r for i, results in enumerate(attempts) for j, r in enumerate(results)
            if r.body is not None and r.error_class is None}

    options = FeedOptions(max_entries=settings.feed_max_entries)

    def parse(r: FetchResult) -> ParsedFeed:
        return parse_feed_limited(r.body or b"", dict(r.headers), r.final_url or r.requested_url,
                                  fetched_at=r.started_at, timeout_s=settings.parse_timeout_s,
                                  options=options)

    with ThreadPoolExecutor(max_workers=max(2, 2 * settings.workers())) as threads:
        return dict(zip(jobs, threads.map(parse, jobs.values()), strict=True))


def build_rows(
    settings: Settings, run_id: str, attempts: list[list[FetchResult]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Parse each successful body; return fetch rows, entry rows and the count of failed feeds."""
    parsed_by_attempt = parse_all(settings, attempts)
    fetch_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    failed = 0
    for i, results in enumerate(attempts):
        fid = results[0].request.key or feed_id(results[0].request.url)
        for j, result in enumerate(results):
            parsed = parsed_by_attempt.get((i, j))
            row = feed_fetch_row(run_id, fid, result, parsed)
            fetch_rows.append(row)
            if parsed is not None:
                entry_rows += [
                    feed_entry_row(run_id, fid, row, entry, parsed.outcome == FeedOutcome.RECOVERED)
                    for entry in parsed.entries
                ]
        if not feedstate.succeeded(fetch_rows[-1]):
            failed += 1
    return fetch_rows, entry_rows, failed


@functools.cache
def _warn_if_old_expat() -> None:
    """Once per process: say so when Python's expat predates the entity-expansion fixes (FAULTS
    33). Feeds are still parsed: DTDs are stripped before expat sees a document."""
    try:
        check_expat()
    except RuntimeError as exc:
        log.warning("%s; feeds are parsed with DTDs stripped, but a second line of defence is "
                    "missing", exc)


@cancellable_stage
def ingest(store: Store, settings: Settings, feeds: list[FeedConfig], *, run_id: str,
           only_due: bool = True, now: datetime | None = None) -> dict[str, Any]:
    """The stage itself, callable without Prefect (tests, the CLI)."""
    _warn_if_old_expat()
    stage = StageRun(run_id, "ingest_feeds", "ingest_feeds", {"only_due": only_due}).begin(store)
    feedstate.upsert_configs(store, feeds)
    due = [FetchRequest(f.url, kind="feed", etag=f.etag, last_modified=f.last_modified,
                        key=f.feed_id)
           for f in feedstate.due_feeds(store, feeds, now=now or utcnow(), only_due=only_due)]
    attempts = run_task(poll, settings, due) if due else []
    fetch_rows, entry_rows, failed = build_rows(settings, run_id, attempts)
    stage.counts = {"feeds_polled": len(due), "feeds_failed": failed,
                    "attempts": len(fetch_rows)}
    status = stage_status(failed, len(due))
    with store.transaction("ingest"):
        store.insert("raw.feed_fetches", fetch_rows)
        new_entries = store.insert("raw.feed_entries", entry_rows)
        stage.counts["entries_new"] = new_entries
        if settings.run_checks and fetch_rows:
            for table in ("raw.feed_fetches", "raw.feed_entries"):
                mark_pending(store, run_id=run_id, stage="ingest_feeds", table=table)
        store.insert("raw.runs", [stage.final_row(status)])
    with store.transaction("ingest_core"):
        feedstate.refresh(store, [r.request.key or feed_id(r.request.url) for r, *_ in attempts])
        if new_entries:
            refresh_linked(store, run_id)
    if settings.run_checks and fetch_rows:
        reports = [
            check_batch(store, run_id=run_id, stage="raw", table="raw.feed_fetches",
                        max_body_bytes=settings.max_body_bytes),
            # unchanged feeds legitimately yield no new entries
            check_batch(store, run_id=run_id, stage="raw", table="raw.feed_entries",
                        max_body_bytes=settings.max_body_bytes, expect_rows=False),
        ]
        status = stage.flag_checks(store, reports, status)
    log.info("ingest_feeds %s: %s", status, stage.counts)
    return {"status": status, **stage.counts}


@flow(name="ingest_feeds", log_prints=False)
def ingest_feeds(db_path: str | None = None, feeds_file: str | None = None,
                 only_due: bool = True) -> dict[str, Any]:
    """Poll due feeds into the raw event store and check what was written."""
    settings = settings_for(db_path=db_path, feeds_file=feeds_file)
    feeds = load_feed_list(settings.feeds_file)
    run_id = current_run_id()
    result = run_as_writer(
        settings, run_id=run_id, flow="ingest_feeds", parameters={"only_due": only_due},
        body=lambda store: ingest(store, settings, feeds, run_id=run_id, only_due=only_due))
    return flow_result(result)  # type: ignore[no-any-return]
