"""pipeline: ingest_feeds -> fetch_pages -> extract_articles, under one writer lock."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow

from flows.extract_articles import extract
from flows.fetch_pages import fetch
from flows.ingest_feeds import ingest
from flows.quality_report import run_checks
from flows.runs import current_run_id, flow_result, run_as_writer, run_stage
from flows.settings import Settings, load_feed_list, settings_for
from flows.signals import sigterm_as_interrupt
from transforms.vocab import worst
from warehouse.publish import publish
from warehouse.store import Store
from web import host_budget
from workers.headstart import HeadStart
from workers.resident import resident_pool

log = logging.getLogger(__name__)


# SIGTERM (a process worker cancelling the run) unwinds the stages so they record 'cancelled'
@sigterm_as_interrupt()
def run_pipeline(settings: Settings, *, run_id: str, only_due: bool = True,
                 orchestrator: str = "prefect", now: datetime | None = None
                 ) -> dict[str, Any]:
    """All three stages in order, checked and published, as one ledgered run; returns each
    stage's counts and the overall status. Inside a Prefect flow run each stage is its own
    task (state, duration, logs, a retry after an unexpected error); outside one (no Prefect
    API answered: ``orchestrator`` says why, and the ledger keeps it) they are plain calls.
    ``now`` sets the page stage's clock (revisits)."""
    feeds = load_feed_list(settings.feeds_file)
    warm_up_in_background()

    def stages(store: Store) -> dict[str, Any]:
        # One host budget for the run: feed polls and page fetches to a host are spaced as one
        # stream, and a host that answered 429 slows down for both.
        limiter = host_budget(settings.http_options())
        # Extraction starts on each page as it arrives (workers.headstart); the extract
        # stage still reads, commits and counts the pending pages itself.
        head = None if settings.dask_address else HeadStart(workers.extraction(
            timeout_s=settings.extract_timeout_s, memory_mb=settings.extract_memory_mb))
        done = {
            "ingest_feeds": run_stage("ingest", ingest, store, settings, feeds,
                                      run_id=run_id, only_due=only_due, limiter=limiter),
            "fetch_pages": run_stage("fetch", fetch, store, settings, run_id=run_id,
                                     limiter=limiter, now=now,
                                     on_page=head.offer if head else None),
        }
        if head is not None:
            head.fetched()
        done["extract_articles"] = run_stage("extract", extract, store, settings,
                                             run_id=run_id, pool=head)
        if head is not None:
            log.info("extraction head start: %d pages offered during fetch, %d used",
                     head.offered, head.used)
            head.close()
        # the workers are done: checks and publish run without them
        workers.close()
        if settings.run_checks:
            done["volume"] = run_stage("checks", run_checks, store, settings, run_id=run_id)
        # Last, still under the lock: analysts read the published copy, never this file.
        done["publish"] = run_stage("publish", _publish, store, settings, run_id=run_id)
        status = worst(s["status"] for s in done.values() if "status" in s)
        return {"status": str(status), "run_id": run_id, "stages": done,
                "orchestrator": orchestrator}

    parameters: dict[str, Any] = {"only_due": only_due}
    if orchestrator != "prefect":
        parameters["orchestrator"] = orchestrator
    # One worker pool for the run: it parses the feeds and extracts the pages (on a Dask
    # cluster, when one is set, extraction goes there). Started before the store is opened, so
    # its workers spawn and warm up while the run opens the store, migrates, heals and polls;
    # a run that finds the store locked stops it unused.
    with resident_pool(settings) as workers:
        return run_as_writer(settings, run_id=run_id, flow="pipeline", parameters=parameters,
                             body=stages)


def warm_up_in_background() -> threading.Thread:
    """Load, on a helper thread, what the extract stage's story linking otherwise loads on its
    first batch (the word-frequency tables: about a second of imports and unpacking, paid on the
    main thread while the workers wait); here it overlaps the feed polls and page fetches, when
    the main thread mostly waits on the network. Idempotent (the tables are cached per process)."""
    from transforms.keywords import frequencies

    thread = threading.Thread(target=frequencies, args=("en",), daemon=True,
                              name="newsflow-warm-up")
    thread.start()
    return thread


def _publish(store: Store, settings: Settings, *, run_id: str) -> dict[str, Any]:
    return publish(store, settings.published_dir, run_id=run_id)


@flow(name="pipeline")
def pipeline(db_path: str | None = None, feeds_file: str | None = None,
             only_due: bool = True) -> dict[str, Any]:
    """The scheduled job: poll due feeds, fetch new pages, extract articles, check each stage.
    The flow run ends Completed, "Partial", "Skipped" or Failed as the run did (``flow_result``);
    ``result_of(pipeline(..., return_state=True))`` gives the result dict in every case."""
    settings = settings_for(db_path=db_path, feeds_file=feeds_file)
    result = run_pipeline(settings, run_id=current_run_id(), only_due=only_due)
    summary_artifact(result)
    return flow_result(result)  # type: ignore[no-any-return]


def summary_artifact(result: dict[str, Any]) -> None:
    """One table artifact per pipeline run: each stage's status and counts, and a link to
    Data Docs when they were built."""
    try:
        from prefect.artifacts import create_link_artifact, create_table_artifact

        rows = [{"stage": "run", "status": result["status"],
                 "counts": result.get("message", "")}]
        rows += [{"stage": name, "status": str(stage.get("status", "")),
                  "counts": ", ".join(f"{k}={v}" for k, v in stage.items()
                                      if k != "status" and isinstance(v, int | float))}
                 for name, stage in result.get("stages", {}).items()]
        create_table_artifact(table=rows, key="pipeline-summary",
                              description=f"pipeline run {result['run_id']}: {result['status']}")
        docs = (result.get("stages", {}).get("volume") or {}).get("docs")
        if docs:
            create_link_artifact(link=Path(docs).resolve().as_uri(), link_text="Data Docs",
                                 key="data-docs", description="Data Docs of this run's checks")
    except Exception as exc:  # a view of the result, never a reason to fail the run
        log.debug("could not create the summary artifact: %s", exc)
