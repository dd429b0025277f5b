"""pipeline: ingest_feeds -> fetch_pages -> extract_articles, under one writer lock."""

from __future__ import annotations

import logging
from typing import Any

import duckdb
from prefect import flow
from prefect.states import Completed

from flows.extract_articles import extract
from flows.feedstate import load_feed_list
from flows.fetch_pages import fetch
from flows.ingest_feeds import ingest
from flows.quality_report import run_checks
from flows.runs import current_run_id, sigterm_as_interrupt, worst
from flows.settings import Settings, load_settings
from warehouse.health import open_store_checked, preflight
from warehouse.lock import LockedError, writer_lock
from warehouse.publish import publish
from warehouse.store import Store

log = logging.getLogger(__name__)


def open_writer_store(settings: Settings) -> Store:
    """Open the store to write, after the checks that must stop a run before it fetches:
    enough free disk (FAULTS 67) and a WAL DuckDB can replay (FAULTS 68). A file another process
    holds (DuckDB CLI, a BI tool: FAULTS 69) becomes ``LockedError`` with DuckDB's own message,
    which names the holder's PID; nothing is ever written to a copy."""
    preflight(settings.db_path, settings.min_free_mb * 2**20)
    try:
        return open_store_checked(settings.db_path)
    except duckdb.IOException as exc:
        if "Could not set lock" not in str(exc):
            raise
        raise LockedError(settings.db_path, str(exc)) from exc


# SIGTERM (a process worker cancelling the run) unwinds the stages so they record 'cancelled'
@sigterm_as_interrupt()
def run_pipeline(settings: Settings, *, run_id: str, only_due: bool = True) -> dict[str, Any]:
    """All three stages in order; returns each stage's counts and the overall status."""
    feeds = load_feed_list(settings.feeds_file)
    try:
        with writer_lock(settings.db_path), open_writer_store(settings) as store:
            stages = {
                "ingest_feeds": ingest(store, settings, feeds, run_id=run_id, only_due=only_due),
                "fetch_pages": fetch(store, settings, run_id=run_id),
                "extract_articles": extract(store, settings, run_id=run_id),
            }
            if settings.run_checks:
                stages["volume"] = run_checks(store, settings, run_id=run_id)
            # Last, still under the lock: analysts read the published copy, never this file.
            stages["publish"] = publish(store, settings.published_dir)
    except LockedError as exc:
        log.warning("%s", exc)
        return {"status": "skipped_locked", "run_id": run_id, "message": str(exc), "stages": {}}
    status = worst([s["status"] for s in stages.values() if "status" in s])
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
    result = run_pipeline(load_settings(**overrides), run_id=current_run_id(), only_due=only_due)
    summary_artifact(result)
    if result["status"] == "skipped_locked":
        # Visible as "Skipped" in the Prefect UI; the caller still gets the result dict.
        return Completed(name="Skipped", message=result["message"], data=result)  # type: ignore[return-value]
    return result


def summary_artifact(result: dict[str, Any]) -> None:
    """One table artifact per pipeline run: each stage's status and counts."""
    try:
        from prefect.artifacts import create_table_artifact

        rows = [{"stage": "run", "status": result["status"],
                 "counts": result.get("message", "")}]
        rows += [{"stage": name, "status": str(stage.get("status", "")),
                  "counts": ", ".join(f"{k}={v}" for k, v in stage.items()
                                      if k != "status" and isinstance(v, int | float))}
                 for name, stage in result.get("stages", {}).items()]
        create_table_artifact(table=rows, key="pipeline-summary",
                              description=f"pipeline run {result['run_id']}: {result['status']}")
    except Exception as exc:  # a view of the result, never a reason to fail the run
        log.debug("could not create the summary artifact: %s", exc)
