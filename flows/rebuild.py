"""rebuild: recompute the core projections from raw only, for all of history or a date range."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from prefect import flow

from flows import feedstate
from flows.analyst_refresh import refresh_analyst_surface
from flows.extract_articles import extract
from flows.projection import refresh_articles
from flows.runs import StageRun, cancellable_stage, current_run_id
from flows.settings import Settings, load_settings
from warehouse.lock import writer_lock
from warehouse.store import Store

log = logging.getLogger(__name__)


def _bounds(since: date | None, until: date | None) -> tuple[datetime, datetime]:
    lo = datetime.combine(since, dtime.min, UTC) if since else datetime(1970, 1, 1, tzinfo=UTC)
    hi = datetime.combine(until + timedelta(days=1), dtime.min, UTC) if until \
        else datetime(9999, 1, 1, tzinfo=UTC)
    return lo, hi


@cancellable_stage
def rebuild_core(store: Store, settings: Settings, *, run_id: str, since: date | None = None,
                 until: date | None = None, reextract: bool = True) -> dict[str, Any]:
    """Recompute core.* for page fetches whose time falls in [since, until] (whole days, UTC).

    With ``reextract`` the stored pages are extracted again with the current extractor; without
    it the stored versions are re-projected only.
    """
    lo, hi = _bounds(since, until)
    params = {"lo": lo, "hi": hi}
    stage = StageRun(run_id, "rebuild", "rebuild",
                     {"since": since, "until": until, "reextract": reextract}).begin(store)
    started = time.perf_counter()
    in_range = ("SELECT event_id FROM raw.page_fetches WHERE occurred_at >= $lo "
                "AND occurred_at < $hi")
    old_keys = [r[0] for r in store.con.execute(
        f"SELECT DISTINCT article_key FROM core.page_extractions WHERE page_fetch_id IN ({in_range})",
        params).fetchall()]
    extracted: dict[str, Any] = {}
    if reextract:
        with store.transaction("rebuild_clear"):
            store.con.execute(f"DELETE FROM core.article_versions WHERE page_fetch_id IN ({in_range})",
                              params)
            store.con.execute(f"DELETE FROM core.page_extractions WHERE page_fetch_id IN ({in_range})",
                              params)
            refresh_articles(store, old_keys)
        extracted = extract(store, settings, run_id=run_id, flow_name="rebuild")
    keys = sorted({*old_keys, *(r[0] for r in store.con.execute(
        f"SELECT DISTINCT article_key FROM core.page_extractions WHERE page_fetch_id IN ({in_range})",
        params).fetchall())})
    with store.transaction("rebuild"):
        articles = refresh_articles(store, keys)
        # the search index and stories follow, as after an extraction batch: keys whose article
        # vanished leave them, unchanged ones are skipped
        refresh_analyst_surface(store, keys)
        feed_ids = [r[0] for r in store.con.execute("SELECT feed_id FROM core.feeds").fetchall()]
        feedstate.refresh(store, feed_ids)
        seconds = time.perf_counter() - started
        stage.counts = {"articles": articles, "keys": len(keys),
                        "pages_extracted": int(extracted.get("pages", 0))}
        store.insert("raw.runs", [stage.final_row("ok")])
    log.info("rebuild: %d articles in %.1fs", articles, seconds)
    return {"status": "ok", "seconds": seconds, **stage.counts}


@flow(name="rebuild")
def rebuild(since: date | None = None, until: date | None = None, reextract: bool = True,
            db_path: str | None = None) -> dict[str, Any]:
    """Recompute the core projections from raw for a date range (all history by default)."""
    settings = load_settings(**({"db_path": db_path} if db_path else {}))
    with writer_lock(settings.db_path), Store.open(settings.db_path) as store:
        return rebuild_core(store, settings, run_id=current_run_id(), since=since, until=until,
                            reextract=reextract)
