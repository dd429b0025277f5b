"""rebuild: recompute the core projections from raw only, for all of history or a date range."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from prefect import flow

from flows.extract_articles import extract
from flows.runs import current_run_id, flow_result, run_as_writer
from flows.settings import Settings, settings_for
from warehouse import feeds
from warehouse import rebuild as ranged
from warehouse.articles import refresh_articles, refresh_keys
from warehouse.ledger import StageRun, cancellable_stage
from warehouse.publish import publish
from warehouse.store import Store

log = logging.getLogger(__name__)
Step = Callable[[str, int, "int | None"], None]  # (what, done, total or None when unknown)


def _quiet(what: str, done: int, total: int | None) -> None:
    log.debug("rebuild: %s (%d/%s)", what, done, total)


def _bounds(since: date | None, until: date | None) -> tuple[datetime, datetime]:
    lo = datetime.combine(since, dtime.min, UTC) if since else datetime(1970, 1, 1, tzinfo=UTC)
    hi = datetime.combine(until + timedelta(days=1), dtime.min, UTC) if until \
        else datetime(9999, 1, 1, tzinfo=UTC)
    return lo, hi


@cancellable_stage
def rebuild_core(store: Store, settings: Settings, *, run_id: str, since: date | None = None,
                 until: date | None = None, reextract: bool = True,
                 on_step: Step | None = None) -> dict[str, Any]:
    """Recompute core.* for page fetches whose time falls in [since, until] (whole days, UTC).

    With ``reextract`` the stored pages are extracted again with the current extractor; without
    it the stored versions are re-projected only. ``on_step(what, done, total)`` hears of each
    step as it goes (pages while re-extracting), for a command's progress bar.
    """
    step = on_step or _quiet
    lo, hi = _bounds(since, until)
    stage = StageRun(run_id, "rebuild", "rebuild",
                     {"since": since, "until": until, "reextract": reextract}).begin(store)
    started = time.perf_counter()
    old_keys = ranged.keys_in_range(store, lo, hi)
    extracted: dict[str, Any] = {}
    if reextract:
        step("clearing the range", 0, None)
        with store.transaction("rebuild_clear"):
            ranged.clear_range(store, lo, hi)
            refresh_articles(store, old_keys)
        # DuckDB skips its own checkpoint at a commit that deleted rows: fold the range's WAL
        # here, not in the first extraction batch's commit (Store.checkpoint_if_due)
        store.checkpoint_if_due()
        step("re-extracting pages", 0, None)
        extracted = extract(store, settings, run_id=run_id, flow_name="rebuild",
                            on_pages=lambda done, total: step("re-extracting pages", done, total))
    keys = sorted({*old_keys, *ranged.keys_in_range(store, lo, hi)})
    step(f"refreshing {len(keys)} articles", 0, None)
    with store.transaction("rebuild"):
        # the search index and stories follow, as after an extraction batch: keys whose article
        # vanished leave them, unchanged ones are skipped
        articles = refresh_keys(store, keys)
        feeds.refresh_all(store)
        seconds = time.perf_counter() - started
        stage.counts = {"articles": articles, "keys": len(keys),
                        "pages_extracted": int(extracted.get("pages", 0))}
        store.insert("raw.runs", [stage.final_row("ok")])
    store.checkpoint_if_due()  # refresh_keys deletes too (see above)
    log.info("rebuild: %d articles in %.1fs", articles, seconds)
    return {"status": "ok", "seconds": seconds, **stage.counts}


def run_rebuild(settings: Settings, *, run_id: str, since: date | None = None,
                until: date | None = None, reextract: bool = True,
                on_step: Step | None = None) -> dict[str, Any]:
    """A rebuild as one ledgered run, ending with a fresh analyst copy (analysts see what the
    rebuild changed, as after a pipeline run)."""

    def body(store: Store) -> dict[str, Any]:
        result = rebuild_core(store, settings, run_id=run_id, since=since, until=until,
                              reextract=reextract, on_step=on_step)
        (on_step or _quiet)("publishing the analyst copy", 0, None)
        result["stages"] = {"rebuild": {"status": result["status"]},
                            "publish": publish(store, settings.published_dir, run_id=run_id)}
        return result

    return run_as_writer(settings, run_id=run_id, flow="rebuild",
                         parameters={"since": since, "until": until, "reextract": reextract},
                         body=body)


@flow(name="rebuild")
def rebuild(since: date | None = None, until: date | None = None, reextract: bool = True,
            db_path: str | None = None) -> dict[str, Any]:
    """Recompute the core projections from raw for a date range (all history by default)."""
    settings = settings_for(db_path=db_path)
    result = run_rebuild(settings, run_id=current_run_id(), since=since, until=until,
                         reextract=reextract)
    return flow_result(result)  # type: ignore[no-any-return]
