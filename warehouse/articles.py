"""The article projections: core.articles from their versions, and what follows a batch.

Everything here derives from raw events and reads no clock, so a rebuild gives the same rows as
the incremental runs did (tests compare them with EXCEPT both ways). ``apply_extractions`` is
the one way an extracted batch reaches the store: the scheduled extraction, the re-extraction of
a backfill from raw and the rebuild all commit through it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from transforms.articles import project_article
from transforms.revisits import changes as version_changes
from transforms.stories import TextSign
from warehouse import projections
from warehouse.checks import mark_pending
from warehouse.events import ExtractedBatch, flat_fields
from warehouse.search import update_index
from warehouse.store import Store
from warehouse.stories import update_stories

log = logging.getLogger(__name__)


def refresh_articles(store: Store, keys: list[str]) -> int:
    """Recompute core.articles and core.article_feeds for ``keys`` from the stored versions."""
    if not keys:
        return 0
    versions: dict[str, list[dict[str, Any]]] = {}
    for v in projections.article_versions(store, keys):
        versions.setdefault(v["article_key"], []).append(v)
    sources: dict[str, list[dict[str, Any]]] = {}
    for s in projections.article_sources(store, keys):
        sources.setdefault(s["article_key"], []).append(s)
    seen = projections.first_fetch_times(store, keys)
    outlets = dict(store.con.execute(projections.sql("feed_outlets")).fetchall())
    records = [
        project_article(k, versions.get(k, []), sources.get(k, []), seen[k], outlets)
        for k in keys if k in seen
    ]
    rows = [flat_fields(r) for r in records if r is not None]
    links = [
        {"article_key": s["article_key"], "feed_id": s["feed_id"], "entry_key": s["entry_key"],
         "first_seen_at": s["first_seen_at"]}
        for k in keys for s in sources.get(k, [])
    ]
    # each change between consecutive versions, with its diff (derived, so a rebuild agrees)
    changed = [c for k in keys for c in version_changes(k, versions.get(k, []))]
    projections.load_keys(store, keys)
    store.con.execute(projections.sql("articles_drop"))
    store.con.execute(projections.sql("article_changes_drop"))
    store.replace("core.articles", "article_key", rows)
    store.replace("core.article_feeds", "article_key", links)
    store.insert("core.article_changes", changed)
    return len(rows)


def refresh_linked(store: Store, run_id: str) -> int:
    """Refresh articles that entries written by ``run_id`` link to (a new feed points at an
    article we already have: its core.article_feeds and first-seen date change)."""
    return refresh_articles(store, projections.keys_linked_by_run(store, run_id))


def refresh_analyst_surface(store: Store, keys: list[str],
                            presigned: Mapping[str, TextSign] | None = None) -> dict[str, Any]:
    """Update the full-text index and the stories for the article keys a batch touched.

    Cost follows ``len(keys)`` (plus the articles within the story time window of them), never
    the size of the store. Safe inside the batch's transaction, and idempotent: keys whose
    article did not change are skipped. Returns the counts of both steps. ``presigned``: the
    extraction workers' reading of the batch's texts for the stories (``update_stories``).
    """
    if not keys:
        return {"search": {"indexed": 0}, "stories": {"signed": 0}}
    search = update_index(store.con, keys)
    stories = update_stories(store.con, keys, presigned=presigned)
    log.info("analyst surface: %d indexed, %d signed, %d stories touched",
             search["indexed"], stories["signed"], stories["stories"])
    return {"search": search, "stories": stories}


def refresh_keys(store: Store, keys: list[str],
                 presigned: Mapping[str, TextSign] | None = None) -> int:
    """Articles, search index and stories for ``keys``, as after an extraction batch."""
    count = refresh_articles(store, keys)
    refresh_analyst_surface(store, keys, presigned)
    return count


def apply_extractions(store: Store, batch: ExtractedBatch, *, name: str = "extract",
                      checked_by: str | None = None) -> None:
    """Commit one extracted batch: its page outcomes, its new versions, and the articles,
    search index and stories of the keys it touched, in one transaction. With ``checked_by``
    (a run id) the batch's articles wait in quality.pending_checks for that run's checks."""
    with store.transaction(name):
        store.insert("core.page_extractions", batch.outcomes)
        store.insert("core.article_versions", batch.versions)
        refresh_keys(store, batch.keys, batch.presigned)
        if checked_by is not None and batch.keys:
            mark_pending(store, run_id=checked_by, stage="extract_articles",
                         table="core.articles", keys=batch.keys)
    # The batch deleted rows (its stories' old edges and keys), and DuckDB skips its automatic
    # checkpoint at a commit that deleted: the next small commit (the batch's check results)
    # would fold this batch's WAL. Fold it here, where its cost belongs.
    store.checkpoint_if_due()
