"""ingest_feeds: poll the due feeds -> raw.feed_fetches, raw.feed_entries; check the raw stage."""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.alerts import emit_feed_changes
from flows.checks import check_batch
from flows.runs import current_run_id, flow_result, run_as_writer, run_task
from flows.settings import Settings, load_feed_list, settings_for
from transforms.entryidentity import LINK, guids_churn, key_by_link
from transforms.feedlist import FeedConfig, feed_id
from transforms.feeds import FeedEntry, FeedOptions, FeedOutcome, ParsedFeed
from transforms.urls import canonicalize_url
from warehouse import feeds as feedstate
from warehouse.articles import refresh_linked
from warehouse.checks import mark_pending
from warehouse.events import feed_entry_row, feed_fetch_row
from warehouse.ledger import StageRun, cancellable_stage, stage_status
from warehouse.retries import hosts_backing_off
from warehouse.store import Store, utcnow
from web import Fetcher, FetchKind, FetchRequest, FetchResult, HostLimiter
from workers.feedparse import check_expat, parse_feed_limited

log = logging.getLogger(__name__)


@task(cache_policy=NO_CACHE)
def poll(settings: Settings, requests: list[FetchRequest], verify: list[bool] | None = None,
         limiter: HostLimiter | None = None) -> list[list[FetchResult]]:
    """Fetch every feed concurrently (retries inside; one result per attempt) within the run's
    host budget. A feed marked in ``verify`` whose poll answers 304 is fetched once more without
    validators, so its history can show whether the 304 was true (the trust check)."""
    with Fetcher(settings.http_options(), limiter=limiter) as fetcher:
        attempts = fetcher.fetch_all(requests)
        checks = [i for i, (results, check) in enumerate(zip(attempts, verify or [], strict=False))
                  if check and results and results[-1].not_modified]
        unconditional = [replace(requests[i], etag=None, last_modified=None) for i in checks]
        for i, extra in zip(checks, fetcher.fetch_all(unconditional), strict=True):
            attempts[i] = [*attempts[i], *extra]
        return attempts


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
    settings: Settings, run_id: str, attempts: list[list[FetchResult]],
    keyed_by_link: Collection[str] = (), store: Store | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Parse each successful body; return fetch rows, entry rows and the count of failed feeds.

    With ``store``, entries are checked against the feed's stored links: a feed in
    ``keyed_by_link``, or whose GUIDs are seen to churn now, is keyed by link (its fetch rows
    say so in ``entry_identity``)."""
    parsed_by_attempt = parse_all(settings, attempts)
    fids = [results[0].request.key or feed_id(results[0].request.url) for results in attempts]
    wanted = {(fids[i], key) for (i, _), p in parsed_by_attempt.items() for e in p.entries
              if e.link and (key := canonicalize_url(e.link))}
    links = feedstate.stored_links(store, wanted) if store is not None else {}
    fetch_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    failed = 0
    for i, results in enumerate(attempts):
        fid = fids[i]
        by_link = fid in keyed_by_link
        for j, result in enumerate(results):
            parsed = parsed_by_attempt.get((i, j))
            entries: list[FeedEntry] = list(parsed.entries) if parsed is not None else []
            stored = links.get(fid, {})
            keys = [canonicalize_url(e.link) if e.link else None for e in entries]
            by_link = by_link or guids_churn(entries, keys, stored)
            if by_link:
                entries = key_by_link(entries, keys, stored)
            row = feed_fetch_row(run_id, fid, result, parsed)
            row["entry_identity"] = LINK if by_link else None
            fetch_rows.append(row)
            if parsed is not None:
                entry_rows += [
                    feed_entry_row(run_id, fid, row, entry, parsed.outcome == FeedOutcome.RECOVERED)
                    for entry in entries
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
           only_due: bool = True, now: datetime | None = None,
           limiter: HostLimiter | None = None) -> dict[str, Any]:
    """The stage itself, callable without Prefect (tests, the CLI). ``limiter`` is the run's
    host budget (the pipeline shares one across stages)."""
    _warn_if_old_expat()
    stage = StageRun(run_id, "ingest_feeds", "ingest_feeds", {"only_due": only_due}).begin(store)
    configs_new, configs_updated = feedstate.upsert_configs(store, feeds)
    now = now or utcnow()
    resting = hosts_backing_off(store, now=now, cap_s=settings.retry_after_cap_s)
    plan = feedstate.due_feeds(store, feeds, now=now, only_due=only_due,
                               trust_check_polls=settings.feed_trust_check_polls,
                               resting_hosts=resting)
    due = [FetchRequest(f.url, kind=FetchKind.FEED, etag=f.etag, last_modified=f.last_modified,
                        key=f.feed_id) for f in plan]
    verify = [f.verify for f in plan]
    attempts = run_task(poll, settings, due, verify, limiter) if due else []
    # An empty list: the host asked earlier in this run to be left alone; nothing was sent.
    attempts = [results for results in attempts if results]
    keyed_by_link = {f.feed_id for f in plan if f.entry_identity == LINK}
    fetch_rows, entry_rows, failed = build_rows(settings, run_id, attempts, keyed_by_link, store)
    stage.counts = {"feeds_polled": len(due), "feeds_failed": failed,
                    "attempts": len(fetch_rows), "trust_checks": sum(verify),
                    "feed_configs_new": configs_new, "feed_configs_updated": configs_updated}
    status: str = stage_status(failed, len(due))
    with store.transaction("ingest"):
        store.insert("raw.feed_fetches", fetch_rows)
        new_entries = store.insert("raw.feed_entries", entry_rows)
        stage.counts["entries_new"] = new_entries
        if settings.run_checks and fetch_rows:
            for table in ("raw.feed_fetches", "raw.feed_entries"):
                mark_pending(store, run_id=run_id, stage="ingest_feeds", table=table)
        store.insert("raw.runs", [stage.final_row(status)])
    polled = [r.request.key or feed_id(r.request.url) for r, *_ in attempts]
    before = {row["feed_id"]: row["status"] for row in feedstate.statuses(store, polled)}
    with store.transaction("ingest_core"):
        feedstate.refresh(store, polled)
        if new_entries:
            refresh_linked(store, run_id)
    # a feed newly silent or gone is an alert (a Prefect event; nothing outside a flow run)
    stage.counts["feeds_newly_silent_or_gone"] = emit_feed_changes(
        before, feedstate.statuses(store, polled))
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
