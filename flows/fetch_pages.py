"""fetch_pages: fetch the article pages that feed entries point at -> raw.page_fetches."""

from __future__ import annotations

import logging
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.checks import check_batch
from flows.runs import current_run_id, flow_result, run_as_writer, run_task
from flows.settings import Settings, settings_for
from warehouse.checks import mark_pending
from warehouse.events import page_fetch_row
from warehouse.ledger import StageRun, cancellable_stage, stage_status
from warehouse.projections import pages_to_fetch
from warehouse.store import Store
from web import Fetcher, FetchRequest, FetchResult

log = logging.getLogger(__name__)


@task(cache_policy=NO_CACHE)
def download(settings: Settings, requests: list[FetchRequest]) -> list[list[FetchResult]]:
    """Fetch pages concurrently within the per-host limits (one result per attempt)."""
    with Fetcher(settings.http_options()) as fetcher:
        return fetcher.fetch_all(requests)


@cancellable_stage
def fetch(store: Store, settings: Settings, *, run_id: str, limit: int | None = None
          ) -> dict[str, Any]:
    """The stage itself, callable without Prefect."""
    stage = StageRun(run_id, "fetch_pages", "fetch_pages", {"limit": limit}).begin(store)
    todo = pages_to_fetch(store, max_runs=settings.max_page_attempts)[:limit]
    requests = [FetchRequest(link, kind="page", key=key) for link, key in todo]
    attempts = run_task(download, settings, requests) if requests else []
    rows = [page_fetch_row(run_id, str(r.request.key), r, "feed")
            for results in attempts for r in results]
    failed = sum(1 for results in attempts if results[-1].error_class is not None)
    stage.counts = {"pages_requested": len(requests), "pages_failed": failed,
                    "attempts": len(rows)}
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


@flow(name="fetch_pages")
def fetch_pages(db_path: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """Fetch pages for feed entries that have none yet."""
    settings = settings_for(db_path=db_path)
    run_id = current_run_id()
    result = run_as_writer(settings, run_id=run_id, flow="fetch_pages", parameters={"limit": limit},
                           body=lambda store: fetch(store, settings, run_id=run_id, limit=limit))
    return flow_result(result)  # type: ignore[no-any-return]
