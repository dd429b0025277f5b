"""fetch_pages: fetch the article pages that feed entries point at, then revisit known ones that
are due (conditional GET; transforms.revisits) -> raw.page_fetches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.checks import check_batch
from flows.runs import current_run_id, flow_result, run_as_writer, run_task
from flows.settings import Settings, settings_for
from transforms.retries import PageAttempt, RetryPolicy, is_rate_limited
from transforms.revisits import PlannedRevisit, plan_revisits, schedule_of
from transforms.urls import host_of
from warehouse.checks import mark_pending
from warehouse.events import page_fetch_row, revisit_row
from warehouse.ledger import StageRun, cancellable_stage, stage_status
from warehouse.projections import pages_to_fetch, revisit_candidates
from warehouse.retries import hosts_backing_off, refresh_page_retries
from warehouse.store import Store, utcnow
from web import Fetcher, FetchKind, FetchRequest, FetchResult, HostLimiter

log = logging.getLogger(__name__)

# a page body just fetched: (body, content type, URL it came from, the body's sha256 in hex)
OnPage = Callable[[bytes, str | None, str, str | None], None]


def _as_attempt(result: FetchResult) -> PageAttempt:
    return PageAttempt(result.started_at, None if result.error_class is None
                       else str(result.error_class), result.status, result.retry_after_s)


@task(cache_policy=NO_CACHE)
def download(settings: Settings, requests: list[FetchRequest],
             limiter: HostLimiter | None = None, clock_at: datetime | None = None,
             on_page: OnPage | None = None) -> list[list[FetchResult]]:
    """Fetch pages concurrently within the run's per-host limits (one result per attempt);
    ``clock_at`` (tests) dates the attempts as if the run started then. ``on_page(body,
    content_type, url, sha256)`` hears of each page body as it arrives (the pipeline's extraction head
    start, workers.headstart), before anything is stored."""
    shift = (clock_at - utcnow()) if clock_at is not None else timedelta(0)
    with Fetcher(settings.http_options(), limiter=limiter,
                 now=lambda: utcnow() + shift) as fetcher:
        return fetcher.fetch_all(requests, on_done=None if on_page is None
                                 else lambda _, results: _offer(on_page, results))


def _offer(on_page: OnPage, results: list[FetchResult]) -> None:
    last = results[-1] if results else None
    if last is not None and last.error_class is None and last.body:
        on_page(last.body, last.content_type, last.final_url or last.requested_url,
                last.body_sha256)


def retry_policy(settings: Settings) -> RetryPolicy:
    """The page retry policy the settings describe."""
    return RetryPolicy(retry_after_cap_s=settings.retry_after_cap_s,
                       give_up_after_s=settings.page_give_up_days * 86400.0,
                       min_failures=settings.max_page_attempts)


@cancellable_stage
def fetch(store: Store, settings: Settings, *, run_id: str, limit: int | None = None,
          now: datetime | None = None, limiter: HostLimiter | None = None,
          on_page: OnPage | None = None) -> dict[str, Any]:
    """The stage itself, callable without Prefect. ``limiter`` is the run's host budget (the
    pipeline shares one across stages); ``now`` injects the clock (tests): which waits are
    over, which revisits are due, and the time of the attempts; ``on_page`` hears of each page
    body as it arrives (``download``)."""
    injected = now
    stage = StageRun(run_id, "fetch_pages", "fetch_pages", {"limit": limit}).begin(store)
    now = now or utcnow()
    policy = retry_policy(settings)
    with store.transaction("page_retries"):
        refresh_page_retries(store, policy)
    # A host that asked to be left alone (429/503 Retry-After, on a page or a feed) is not asked
    # now; its pages wait, uncounted, for a later run.
    resting = hosts_backing_off(store, now=now, cap_s=settings.retry_after_cap_s)
    todo = [(link, key) for link, key in pages_to_fetch(store, now=now)
            if host_of(link) not in resting][:limit]
    requests = [FetchRequest(link, kind=FetchKind.PAGE, key=key) for link, key in todo]
    # new pages first; revisits (conditional GET) fill the rest of the budget, never on a host
    # that asked to rest
    room = settings.revisit_budget if limit is None else min(settings.revisit_budget,
                                                             limit - len(requests))
    revisits = [p for p in plan(store, settings, now, room)
                if host_of(p.candidate.url) not in resting]
    requests += [FetchRequest(p.candidate.url, kind=FetchKind.PAGE, etag=p.candidate.etag,
                              last_modified=p.candidate.last_modified, key=p.candidate.key)
                 for p in revisits]
    attempts = (run_task(download, settings, requests, limiter, injected, on_page)
                if requests else [])
    first = len(requests) - len(revisits)
    # An empty list: the host asked this run to stop; the page was not asked, nothing to store.
    rows = [page_fetch_row(run_id, str(r.request.key), r, "feed")
            for results in attempts[:first] for r in results]
    rows += [revisit_row(run_id, p.candidate.key, r, str(p.reason), p.candidate.body_sha256)
             for p, results in zip(revisits, attempts[first:], strict=True) for r in results]
    asked = [results for results in attempts if results]
    failed = sum(1 for results in asked if results[-1].error_class is not None
                 and not is_rate_limited(_as_attempt(results[-1])))
    unchanged = sum(1 for r in rows if r.get("revisit") and r["error_class"] is None
                    and r["body"] is None)  # 304, or the same body hash as before
    stage.counts = {"pages_requested": len(requests), "pages_failed": failed,
                    "attempts": len(rows), "hosts_resting": len(resting),
                    "revisits": len(revisits), "revisits_unchanged": unchanged}
    status: str = stage_status(failed, len(requests))
    with store.transaction("fetch"):
        stage.counts["page_rows_new"] = store.insert("raw.page_fetches", rows)
        refresh_page_retries(store, policy)
        if settings.run_checks and rows:
            mark_pending(store, run_id=run_id, stage="fetch_pages", table="raw.page_fetches")
        store.insert("raw.runs", [stage.final_row(status)])
    if settings.run_checks and rows:
        report = check_batch(store, run_id=run_id, stage="raw", table="raw.page_fetches",
                             max_body_bytes=settings.max_body_bytes)
        status = stage.flag_checks(store, [report], status)
    log.info("fetch_pages %s: %s", status, stage.counts)
    return {"status": status, **stage.counts}


def plan(store: Store, settings: Settings, now: datetime, budget: int) -> list[PlannedRevisit]:
    """The revisits due at ``now`` within the run's budget (transforms.revisits)."""
    schedule = schedule_of(settings.revisit_hours)
    if budget <= 0:
        return []
    horizon = now - (schedule[-1] if schedule else timedelta(0))
    candidates = revisit_candidates(store, horizon=horizon, now=now, schedule=schedule,
                                    per_host=settings.revisit_per_host)
    return plan_revisits(candidates, now=now, schedule=schedule, budget=budget,
                         per_host=settings.revisit_per_host)


@flow(name="fetch_pages")
def fetch_pages(db_path: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """Fetch pages for feed entries that have none yet, and revisit the pages that are due."""
    settings = settings_for(db_path=db_path)
    run_id = current_run_id()
    result = run_as_writer(settings, run_id=run_id, flow="fetch_pages", parameters={"limit": limit},
                           body=lambda store: fetch(store, settings, run_id=run_id, limit=limit))
    return flow_result(result)  # type: ignore[no-any-return]
