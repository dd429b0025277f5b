"""extract_articles: project new page fetches into core.* (extraction in a process pool)."""

from __future__ import annotations

import logging
from collections import Counter
from contextlib import nullcontext
from typing import Any

from prefect import flow

from flows.analyst_refresh import refresh_analyst_surface
from flows.checks import check_batch
from flows.projection import refresh_articles
from flows.records import decompress, extraction_rows
from flows.runs import StageRun, cancellable_stage, current_run_id
from flows.settings import Settings, load_settings
from transforms.urls import article_key
from warehouse import projections
from warehouse.lock import writer_lock
from warehouse.store import Store
from workers.dask_extraction import extraction_pool
from workers.extraction import ExtractionPool

log = logging.getLogger(__name__)


@cancellable_stage
def extract(store: Store, settings: Settings, *, run_id: str, batch_size: int = 500,
            pool: ExtractionPool | None = None, flow_name: str = "extract_articles"
            ) -> dict[str, Any]:
    """The stage itself, callable without Prefect. Batches commit one by one."""
    stage = StageRun(run_id, flow_name, "extract_articles", {}).begin(store)
    classes: Counter[str] = Counter()
    touched: list[str] = []
    # the local process pool, or a Dask cluster when settings.dask_address is set
    context = nullcontext(pool) if pool is not None else extraction_pool(settings)
    with context as pool:
        # Read all pending pages first: the cursor must not stay open across our own writes.
        pending = [page for chunk in projections.pages_to_extract(store) for page in chunk]
        for start in range(0, len(pending), batch_size):
            pages = {p["event_id"]: p for p in pending[start:start + batch_size]}
            items = [(pid, decompress(p["body"]) or b"", p["content_type"],
                      p["final_url"] or p["url"]) for pid, p in pages.items()]
            outcomes, versions, keys = [], [], []
            for pid, extraction in pool.extract_many(items):
                page = pages[pid]
                key = article_key(page["final_url"] or page["url"], extraction.canonical_url) \
                    or page["url_key"]
                outcome, version = extraction_rows(page, key, extraction)
                outcomes.append(outcome)
                classes[outcome["page_class"]] += 1
                if version is not None:
                    versions.append(version)
                    keys.append(key)
            keys = sorted(set(keys))
            with store.transaction("extract"):
                store.insert("core.page_extractions", outcomes)
                store.insert("core.article_versions", versions)
                refresh_articles(store, keys)
                # search index and stories follow the batch (cost ~ len(keys))
                refresh_analyst_surface(store, keys)
            touched += keys
    stage.counts = {"pages": sum(classes.values()), "articles": len(set(touched)),
                    **{f"class_{k}": v for k, v in sorted(classes.items())}}
    status = "ok"
    store.insert("raw.runs", [stage.final_row(status)])
    if settings.run_checks and touched:
        report = check_batch(store, run_id=run_id, stage="core", table="core.articles",
                             keys=sorted(set(touched)))
        status = stage.flag_checks(store, [report], status)
    log.info("extract_articles %s: %s", status, stage.counts)
    return {"status": status, **stage.counts}


@flow(name="extract_articles")
def extract_articles(db_path: str | None = None) -> dict[str, Any]:
    """Extract clean articles from the page fetches not yet projected."""
    settings = load_settings(**({"db_path": db_path} if db_path else {}))
    with writer_lock(settings.db_path), Store.open(settings.db_path) as store:
        return extract(store, settings, run_id=current_run_id())
