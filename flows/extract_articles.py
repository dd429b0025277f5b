"""extract_articles: project new page fetches into core.* (extraction in a process pool)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from prefect import flow

from flows.checks import check_batch
from flows.runs import current_run_id, flow_result, run_as_writer
from flows.settings import Settings, settings_for
from warehouse import projections
from warehouse.articles import apply_extractions
from warehouse.events import extract_batch
from warehouse.ledger import StageRun, cancellable_stage
from warehouse.store import Store
from workers.dask_extraction import extraction_pool
from workers.extraction import ExtractionPool

log = logging.getLogger(__name__)


@cancellable_stage
def extract(store: Store, settings: Settings, *, run_id: str, batch_size: int = 500,
            pool: ExtractionPool | None = None, flow_name: str = "extract_articles",
            on_pages: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The stage itself, callable without Prefect. Batches commit one by one; ``on_pages(done,
    total)`` hears of each committed batch (a command's progress bar)."""
    stage = StageRun(run_id, flow_name, "extract_articles", {}).begin(store)
    classes: Counter[str] = Counter()
    touched: list[str] = []
    # the local process pool, or a Dask cluster when settings.dask_address is set
    context = nullcontext(pool) if pool is not None else extraction_pool(settings)
    with context as pool:
        # Read all pending pages first: the cursor must not stay open across our own writes.
        pending = [page for chunk in projections.pages_to_extract(store) for page in chunk]
        for start in range(0, len(pending), batch_size):
            batch = extract_batch(pool.extract_many,
                                  {p["event_id"]: p for p in pending[start:start + batch_size]})
            apply_extractions(store, batch,
                              checked_by=run_id if settings.run_checks else None)
            classes.update(batch.classes)
            touched += batch.keys
            if on_pages is not None:
                on_pages(min(start + batch_size, len(pending)), len(pending))
    stage.counts = {"pages": sum(classes.values()), "articles": len(set(touched)),
                    **{f"class_{k}": v for k, v in sorted(classes.items())}}
    status = "ok"
    store.insert("raw.runs", [stage.final_row(status)])
    if settings.run_checks and touched:
        report = check_batch(store, run_id=run_id, stage="core", table="core.articles",
                             keys=sorted(set(touched)), max_body_bytes=settings.max_body_bytes)
        status = stage.flag_checks(store, [report], status)
    log.info("extract_articles %s: %s", status, stage.counts)
    return {"status": status, **stage.counts}


@flow(name="extract_articles")
def extract_articles(db_path: str | None = None) -> dict[str, Any]:
    """Extract clean articles from the page fetches not yet projected."""
    settings = settings_for(db_path=db_path)
    run_id = current_run_id()
    result = run_as_writer(settings, run_id=run_id, flow="extract_articles", parameters={},
                           body=lambda store: extract(store, settings, run_id=run_id))
    return flow_result(result)  # type: ignore[no-any-return]
