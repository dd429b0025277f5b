"""The core projections' Python side: articles from their versions, and full or ranged rebuilds.

Everything here derives from raw events and reads no clock, so a rebuild gives the same rows as
the incremental runs did (tests compare them with EXCEPT both ways).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from transforms.articles import project_article
from warehouse import projections
from warehouse.store import Store

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
    outlets = dict(store.con.execute("SELECT feed_id, outlet FROM core.feeds").fetchall())
    records = [
        project_article(k, versions.get(k, []), sources.get(k, []), seen[k], outlets)
        for k in keys if k in seen
    ]
    rows = [asdict(r) for r in records if r is not None]
    links = [
        {"article_key": s["article_key"], "feed_id": s["feed_id"], "entry_key": s["entry_key"],
         "first_seen_at": s["first_seen_at"]}
        for k in keys for s in sources.get(k, [])
    ]
    # Keys whose versions all went away (a rebuild re-classified the page) lose their row too.
    store.con.execute("DELETE FROM core.articles WHERE list_contains($keys, article_key)",
                      {"keys": list(keys)})
    store.replace("core.articles", "article_key", rows)
    store.replace("core.article_feeds", "article_key", links)
    return len(rows)



def refresh_linked(store: Store, run_id: str) -> int:
    """Refresh articles that entries written by ``run_id`` link to (a new feed points at an
    article we already have: its core.article_feeds and first-seen date change)."""
    keys = projections.keys_linked_by_run(store, run_id)
    return refresh_articles(store, keys)
