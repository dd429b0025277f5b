"""Analyst-surface upkeep cost: indexing and clustering 1,000 new articles in stores of growing size.

For each store size N, a store holding N generated articles (spread over a year, already indexed
and clustered) receives 1,000 new articles on one day, and ``refresh_analyst_surface`` brings the
search index and the stories up to date. If the upkeep is incremental, its time stays flat as N
grows; a full rebuild (printed beside it) grows with N. Also prints the query time of one search.

Run: ``.venv/bin/python -m bench.search [--sizes 1000 10000 50000] [--new 1000]``.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.stories import TOPICS, _article, _event
from warehouse.articles import refresh_analyst_surface
from warehouse.search import rebuild_index, search
from warehouse.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rows(rng: random.Random, start: int, n: int, first_day: int, days: int) -> list[dict[str, Any]]:
    """``n`` generated core.articles rows with keys from ``start``, over ``days`` days."""
    topics = sorted(TOPICS)
    used: set[str] = set()
    out: list[dict[str, Any]] = []
    for i in range(start, start + n):
        at = T0 + timedelta(days=first_day + rng.randrange(days), seconds=rng.randrange(86400))
        if len(used) > 200:
            used.clear()
        ev = _event(rng, f"e{i}", topics[i % len(topics)], at, used)
        title, text = _article(ev, rng, sentences=rng.randint(8, 20))
        key = f"bench.example/{i}"
        out.append({
            "article_key": key, "url": f"https://{key}", "canonical_url": None,
            "feed_id": f"feed{i % 40}", "outlet": f"outlet{i % 40}", "title": title,
            "authors": [], "published_at": at, "published_source": "meta",
            "date_suspect": False, "feed_page_date_disagree": False, "modified_at": None,
            "language": "en", "declared_language": None, "site_name": None, "description": None,
            "image": None, "tags": [], "text": text, "word_count": len(text.split()),
            "content_hash": f"h{i}", "extractor": "bench", "extractor_version": "0",
            "page_fetch_id": f"p{i}", "first_seen_at": at, "last_seen_at": at,
            "version_count": 1,
        })
    return out


def insert(store: Store, batch: list[dict[str, Any]]) -> None:
    for start in range(0, len(batch), 5000):
        store.insert("core.articles", batch[start:start + 5000])


def measure(size: int, new: int, seed: int = 0) -> dict[str, float]:
    """Seconds to refresh ``new`` articles into a store of ``size``, and to rebuild the index."""
    rng = random.Random(seed)
    store = Store.open(None)
    base = rows(rng, 0, size, 0, 364)
    insert(store, base)
    refresh_analyst_surface(store, [r["article_key"] for r in base])
    fresh = rows(rng, size, new, 364, 1)
    insert(store, fresh)
    started = time.perf_counter()
    result = refresh_analyst_surface(store, [r["article_key"] for r in fresh])
    refresh_s = time.perf_counter() - started
    started = time.perf_counter()
    hits = search(store.con, "strike union harbour")
    query_s = time.perf_counter() - started
    started = time.perf_counter()
    rebuild_index(store.con)
    rebuild_s = time.perf_counter() - started
    store.close()
    return {"size": size, "search_s": result["search"]["seconds"],
            "stories_s": result["stories"]["seconds"], "refresh_s": refresh_s,
            "rebuild_index_s": rebuild_s, "query_s": query_s, "hits": len(hits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--new", type=int, default=1000)
    args = parser.parse_args()
    print(f"refresh of {args.new} new articles (search index + stories) by store size")
    print(f"{'store':>8}{'index s':>10}{'stories s':>11}{'refresh s':>11}"
          f"{'full reindex s':>16}{'query s':>10}")
    for size in args.sizes:
        r = measure(size, args.new)
        print(f"{r['size']:>8}{r['search_s']:>10.3f}{r['stories_s']:>11.3f}{r['refresh_s']:>11.3f}"
              f"{r['rebuild_index_s']:>16.3f}{r['query_s']:>10.3f}")


if __name__ == "__main__":
    main()
