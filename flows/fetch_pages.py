"""fetch_pages: fetch the article pages that feed entries point at, then revisit known ones that
are due (conditional GET; transforms.revisits) -> raw.page_fetches."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.checks import check_batch
from flows.runs import current_run_id, flow_result, run_as_writer, run_task
from flows.settings import Settings, settings_for
from transforms.revisits import PlannedRevisit, plan_revisits, schedule_of
from warehouse.checks import mark_pending
from warehouse.events import page_fetch_row, revisit_row
from warehouse.ledger import StageRun, cancellable_stage, stage_status
from warehouse.projections import pages_to_fetch, revisit_candidates
from warehouse.store import Store, utcnow
from web import Fetcher, FetchRequest, FetchResult

log = logging.getLogger(__name__)


@task(cache_policy=NO_CACHE)
def download(settings: Settings, requests: list[FetchRequest],
             clock_at: datetime | None = None) -> list[list[FetchResult]]:
    """Fetch pages concurrently within the per-host limits (one result per attempt);
    ``clock_at`` (tests) dates the attempts as if the run started then."""
    shift = (clock_at - utcnow()) if clock_at is not None else timedelta(0)
    with Fetcher(settings.http_options(), now=lambda: utcnow() + shift) as fetcher:
        return fetcher.fetch_all(requests)


@cancellable_stage
def fetch(store: Store, settings: Settings, *, run_id: str, limit: int | None = None,
          now: datetime | None = None) -> dict[str, Any]:
    """The stage itself, callable without Prefect; ``now`` injects the clock (tests)."""
    stage = StageRun(run_id, "fetch_pages", "fetch_pages", {"limit": limit}).begin(store)
    todo = pages_to_fetch(store, max_runs=settings.max_page_attempts)[:limit]
    requests = [FetchRequest(link, kind="page", key=key) for link, key in todo]
    # new pages first; revisits (conditional GET) fill the rest of the budget
    room = settings.revisit_budget if limit is None else min(settings.revisit_budget,
                                                             limit - len(requests))
    revisits = plan(store, settings, now or utcnow(), room)
    requests += [FetchRequest(p.candidate.url, kind="page", etag=p.candidate.etag,
                              last_modified=p.candidate.last_modified, key=p.candidate.key)
                 for p in revisits]
    attempts = run_task(download, settings, requests, now) if requests else []
    first = len(requests) - len(revisits)
    rows = [page_fetch_row(run_id, str(r.request.key), r, "feed")
            for results in attempts[:first] for r in results]
    rows += [revisit_row(run_id, p.candidate.key, r, str(p.reason), p.candidate.body_sha256)
             for p, results in zip(revisits, attempts[first:], strict=True) for r in results]
    failed = sum(1 for results in attempts if results[-1].error_class is not None)
    unchanged = sum(1 for r in rows if r.get("revisit") and r["error_class"] is None
                    and r["body"] is None)  # 304, or the same body hash as before
    stage.counts = {"pages_requested": len(requests), "pages_failed": failed,
                    "attempts": len(rows), "revisits": len(revisits),
                    "revisits_unchanged": unchanged}
    status = stage_status(failed, len(requests))
    with store.transaction("fetch"):
        stage.counts["page_rows_new"] = store.insert("raw.page_fetches", rows)
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
    return plan_revisits(revisit_candidates(store, horizon=horizon), now=now, schedule=schedule,
                         budget=budget, per_host=settings.revisit_per_host)


@flow(name="fetch_pages")
def fetch_pages(db_path: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """Fetch pages for feed entries that have none yet, and revisit the pages that are due."""
    settings = settings_for(db_path=db_path)
    run_id = current_run_id()
    result = run_as_writer(settings, run_id=run_id, flow="fetch_pages", parameters={"limit": limit},
                           body=lambda store: fetch(store, settings, run_id=run_id, limit=limit))
    return flow_result(result)  # type: ignore[no-any-return]
