"""pipeline: ingest_feeds -> fetch_pages -> extract_articles, under one writer lock."""

from __future__ import annotations

import logging
from typing import Any

from prefect import flow

from flows.extract_articles import extract
from flows.feedstate import load_feed_list
from flows.fetch_pages import fetch
from flows.ingest_feeds import ingest
from flows.quality_report import run_checks
from flows.runs import current_run_id, worst
from flows.settings import Settings, load_settings
from warehouse.lock import LockedError, writer_lock
from warehouse.store import Store

log = logging.getLogger(__name__)


def run_pipeline(settings: Settings, *, run_id: str, only_due: bool = True) -> dict[str, Any]:
    """All three stages in order; returns each stage's counts and the overall status."""
    feeds = load_feed_list(settings.feeds_file)
    try:
        with writer_lock(settings.db_path), Store.open(settings.db_path) as store:
            stages = {
                "ingest_feeds": ingest(store, settings, feeds, run_id=run_id, only_due=only_due),
                "fetch_pages": fetch(store, settings, run_id=run_id),
                "extract_articles": extract(store, settings, run_id=run_id),
            }
            if settings.run_checks:
                stages["volume"] = run_checks(store, settings, run_id=run_id)
    except LockedError as exc:
        log.warning("%s", exc)
        return {"status": "skipped_locked", "run_id": run_id, "message": str(exc), "stages": {}}
    status = worst([s["status"] for s in stages.values()])
    return {"status": status, "run_id": run_id, "stages": stages}


@flow(name="pipeline")
def pipeline(db_path: str | None = None, feeds_file: str | None = None,
             only_due: bool = True) -> dict[str, Any]:
    """The scheduled job: poll due feeds, fetch new pages, extract articles, check each stage."""
    overrides: dict[str, Any] = {}
    if db_path:
        overrides["db_path"] = db_path
    if feeds_file:
        overrides["feeds_file"] = feeds_file
    return run_pipeline(load_settings(**overrides), run_id=current_run_id(), only_due=only_due)
