"""extract_articles: project new page fetches into core.* (extraction in a process pool)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import TYPE_CHECKING, Any

from prefect import flow

from flows.checks import check_batch
from flows.runs import current_run_id, flow_result, run_as_writer
from flows.settings import Settings, settings_for
from warehouse import projections
from warehouse.articles import apply_extractions
from warehouse.events import ExtractedBatch, extract_batch
from warehouse.ledger import StageRun, cancellable_stage
from warehouse.store import Store
from workers.dask_extraction import DaskExtractionPool, extraction_pool
from workers.extraction import ExtractionPool
from workers.headstart import HeadStart

if TYPE_CHECKING:
    from expectations import StageReport

log = logging.getLogger(__name__)


@cancellable_stage
def extract(store: Store, settings: Settings, *, run_id: str, batch_size: int = 500,
            pool: ExtractionPool | HeadStart | None = None, flow_name: str = "extract_articles",
            on_pages: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The stage itself, callable without Prefect. Batches commit one by one, and each batch's
    articles are checked right after their commit (a blocking failure quarantines the batch's
    failing rows and flags the stage validation_failed), so nothing the stage holds grows with
    the backlog but its pending ids and the set of keys it counts. ``on_pages(done, total)``
    hears of each committed and checked batch (a command's progress bar)."""
    stage = StageRun(run_id, flow_name, "extract_articles", {}).begin(store)
    classes: Counter[str] = Counter()
    articles: set[str] = set()  # the distinct keys, for the count (about 12 MB at 100k)
    failed: dict[str, StageReport] = {}  # one failing report per suite: the ledger names each
    # the local process pool, or a Dask cluster when settings.dask_address is set
    context: AbstractContextManager[ExtractionPool | HeadStart | DaskExtractionPool] = (
        nullcontext(pool) if pool is not None else extraction_pool(settings))
    with context as workers:
        # Keys first: the pending ids now, each batch's bodies when its turn comes.
        ids = projections.pending_page_ids(store)
        batches = [ids[start:start + batch_size] for start in range(0, len(ids), batch_size)]
        done = 0
        for size, batch in zip(map(len, batches), extracted_ahead(store, workers, batches),
                               strict=True):
            apply_extractions(store, batch,
                              checked_by=run_id if settings.run_checks else None)
            if settings.run_checks and batch.keys:
                report = check_batch(store, run_id=run_id, stage="core", table="core.articles",
                                     keys=batch.keys, max_body_bytes=settings.max_body_bytes)
                if report.blocking_failed:
                    failed.setdefault(f"{report.table}: {report.suite}", report)
            classes.update(batch.classes)
            articles.update(batch.keys)
            done += size
            del batch
            if on_pages is not None:
                on_pages(done, len(ids))
    stage.counts = {"pages": sum(classes.values()), "articles": len(articles),
                    **{f"class_{k}": v for k, v in sorted(classes.items())}}
    store.insert("raw.runs", [stage.final_row("ok")])
    status = stage.flag_checks(store, list(failed.values()), "ok")
    log.info("extract_articles %s: %s", status, stage.counts)
    return {"status": status, **stage.counts}


def extracted_ahead(store: Store, pool: ExtractionPool | DaskExtractionPool | HeadStart,
                    batches: list[list[str]]) -> Iterator[ExtractedBatch]:
    """Extract the batches of page ids in order, one batch ahead: while the caller commits
    batch n (articles, search index, stories), batch n+1 is already in the pool. Store reads
    stay on the calling thread (batch n+1's bodies are read while the pool still works on batch
    n); a helper thread only feeds the pool and shapes its answers into rows. At most three
    batches' bodies are in memory at once, whatever the backlog."""
    if not batches:
        return
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsflow-extract-ahead")

    def submit(pages: list[dict[str, Any]]) -> Future[ExtractedBatch]:
        rows = {p["event_id"]: p for p in pages}
        extract_many: Callable[..., Iterator[Any]] = pool.extract_many
        if isinstance(pool, HeadStart):  # it finds offered pages by the bodies' stored hashes
            extract_many = partial(pool.extract_many,
                                   digests={k: p.get("body_sha256") for k, p in rows.items()})
        return ahead.submit(extract_batch, extract_many, rows)

    try:
        future = submit(projections.pages_by_id(store, batches[0]))
        for ids in batches[1:]:
            following = projections.pages_by_id(store, ids)
            current = future.result()
            future = submit(following)
            yield current
        yield future.result()
    finally:
        # an interruption: the pool's own exit stops the workers, which ends the helper's wait
        ahead.shutdown(wait=False, cancel_futures=True)


@flow(name="extract_articles")
def extract_articles(db_path: str | None = None) -> dict[str, Any]:
    """Extract clean articles from the page fetches not yet projected."""
    settings = settings_for(db_path=db_path)
    run_id = current_run_id()
    result = run_as_writer(settings, run_id=run_id, flow="extract_articles", parameters={},
                           body=lambda store: extract(store, settings, run_id=run_id))
    return flow_result(result)  # type: ignore[no-any-return]
