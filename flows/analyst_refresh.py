"""Keep the analyst's surface current after an extraction batch: search index and stories."""

from __future__ import annotations

import logging
from typing import Any

from warehouse.search import update_index
from warehouse.store import Store
from warehouse.stories import update_stories

log = logging.getLogger(__name__)


def refresh_analyst_surface(store: Store, keys: list[str]) -> dict[str, Any]:
    """Update the full-text index and the stories for the article keys a batch touched.

    Cost follows ``len(keys)`` (plus the articles within the story time window of them), never
    the size of the store. Safe to call inside the batch's transaction, and idempotent: keys
    whose article did not change are skipped. Returns the counts of both steps.
    """
    if not keys:
        return {"search": {"indexed": 0}, "stories": {"signed": 0}}
    search = update_index(store.con, keys)
    stories = update_stories(store.con, keys)
    log.info("analyst surface: %d indexed, %d signed, %d stories touched",
             search["indexed"], stories["signed"], stories["stories"])
    return {"search": search, "stories": stories}
