"""CPU of story clustering, this version against another, side by side in one process.

Two comparisons, each running both versions on the same articles (the sample site's, one week)
alternately in one process, so that the load of a shared machine weighs on both alike; figures
are CPU seconds (``time.process_time``: this process, DuckDB's threads included).

``--mode pure`` (issue 14): signing, linking and grouping all articles in one batch, as
``rebuild_stories`` does, with ``transforms/stories.py`` of this tree and of ``--other``.

``--mode store`` (issue 13, the default): one run adding ``--articles`` articles to a store in
extraction batches of ``--batch`` (in no particular time order, so that each batch's time window
holds every article stored before it), through ``warehouse.stories.update_stories`` of this tree
and of ``--other-store`` (with its own ``transforms/stories.py``), each version on its own
in-memory store. Prints each batch's CPU for both versions, first against last batch, the totals,
the ratios, and whether both stores hold the same links and stories at the end.

The other versions are copies from git::

    git show main:transforms/stories.py > /tmp/stories_old.py
    git show main:warehouse/stories.py > /tmp/warehouse_stories_old.py
    .venv/bin/python -m bench.stories_cpu /tmp/stories_old.py \\
        --other-store /tmp/warehouse_stories_old.py --articles 10000
    .venv/bin/python -m bench.stories_cpu /tmp/stories_old.py --mode pure --articles 10000
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.stories import sample_set
from transforms import stories as current


def load(path: Path, name: str = "stories_other", source: str | None = None) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    if source is None:
        spec.loader.exec_module(module)
    else:
        exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def load_store_version(path: Path) -> ModuleType:
    """Another version of warehouse/stories.py, bound to the other transforms/stories.py (loaded
    before as ``stories_other``) instead of this tree's."""
    source = path.read_text(encoding="utf-8").replace(
        "from transforms.stories import", "from stories_other import")
    return load(path, "warehouse_stories_other", source)


def timed(module: Any, docs: list[Any]) -> dict[str, float]:
    options = module.StoryOptions()
    start = time.process_time()
    sigs = [module.sign(d, options) for d in docs]
    signed = time.process_time()
    edges = module.link(sigs, [], options)
    linked = time.process_time()
    stories, _ = module.cluster(sigs, edges, options)
    done = time.process_time()
    return {"sign": signed - start, "link": linked - signed, "cluster": done - linked,
            "total": done - start, "links": len(edges), "stories": len(stories)}


def pure(other: ModuleType, docs: list[Any], rounds: int) -> None:
    totals: dict[str, list[float]] = {"other": [], "this": []}
    for n in range(rounds):
        for name, module in (("other", other), ("this", current)):
            r = timed(module, docs)
            totals[name].append(r["total"])
            print(f"round {n + 1} {name:<6} CPU sign {r['sign']:.2f} s, link {r['link']:.2f} s, "
                  f"cluster {r['cluster']:.2f} s, total {r['total']:.2f} s "
                  f"({int(r['links'])} links, {int(r['stories'])} stories)", flush=True)
    ratio = statistics.median(totals["this"]) / statistics.median(totals["other"])
    print(f"{len(docs)} articles: this / other CPU = {ratio:.2f} (median of {rounds})")


def _article_row(d: Any) -> dict[str, Any]:
    text = d.text or ""
    return {
        "article_key": d.article_key, "url": d.article_key, "canonical_url": None,
        "feed_id": None, "outlet": d.outlet, "title": d.title, "authors": [],
        "published_at": d.event_at, "published_source": "meta", "date_suspect": False,
        "feed_page_date_disagree": False, "modified_at": None, "language": "en",
        "declared_language": None, "site_name": None, "description": None, "image": None,
        "tags": [], "text": text, "word_count": len(text.split()),
        "content_hash": f"h-{d.article_key}", "extractor": "bench", "extractor_version": "1",
        "page_fetch_id": f"p-{d.article_key}", "first_seen_at": d.event_at,
        "last_seen_at": d.event_at, "version_count": 1,
    }


def store_run(other_store: ModuleType, docs: list[Any], batch: int) -> None:
    from warehouse import stories as this_store
    from warehouse.store import Store

    keys = [d.article_key for d in docs]
    random.Random(13).shuffle(keys)  # a run's batches mix the days: each window is everything
    rows = [_article_row(d) for d in docs]
    stores = {"other": Store.open(None), "this": Store.open(None)}
    for store in stores.values():
        store.insert("core.articles", rows)
    versions = {"other": other_store, "this": this_store}
    for d in docs[:20]:  # load word frequencies and the like before the first timed batch
        sys.modules["stories_other"].sign(d)
        current.sign(d)
    cpu: dict[str, list[float]] = {"other": [], "this": []}
    batches = [keys[i:i + batch] for i in range(0, len(keys), batch)]
    print(f"{len(docs)} articles in {len(batches)} batches of {batch}; CPU s of update_stories "
          "per batch (signing, candidates, links, reclustering), the two versions alternating",
          flush=True)
    print(f"{'batch':>5}{'stored':>8}{'other':>9}{'this':>9}{'this/other':>12}"
          f"{'candidates':>12}  (pairs this version judged: they grow with the names shared)")
    for n, chunk in enumerate(batches, start=1):
        order = ("other", "this") if n % 2 else ("this", "other")
        found = 0
        for name in order:
            start = time.process_time()
            result = versions[name].update_stories(stores[name].con, chunk)
            cpu[name].append(time.process_time() - start)
            found = result.get("candidates", 0) if name == "this" else found
        print(f"{n:>5}{(n - 1) * batch:>8}{cpu['other'][-1]:>9.2f}{cpu['this'][-1]:>9.2f}"
              f"{cpu['this'][-1] / cpu['other'][-1]:>12.2f}{found:>12}", flush=True)
    # Signing alone, the same for both versions: what the batches cost besides it.
    start = time.process_time()
    for d in docs[:batch]:
        current.sign(d)
    sign_batch = time.process_time() - start
    for name in ("other", "this"):
        c = cpu[name]
        print(f"{name:<6} first batch {c[0]:.2f} s, last batch {c[-1]:.2f} s "
              f"(last/first {c[-1] / c[0]:.2f}), total {sum(c):.2f} s; without signing "
              f"(~{sign_batch:.2f} s a batch): first {c[0] - sign_batch:.2f} s, last "
              f"{c[-1] - sign_batch:.2f} s, total {sum(c) - sign_batch * len(c):.2f} s")
    if len(batches) >= 20:
        print(f"batch 1 vs batch 20: other {cpu['other'][0]:.2f} -> {cpu['other'][19]:.2f} s, "
              f"this {cpu['this'][0]:.2f} -> {cpu['this'][19]:.2f} s")
    signing = sign_batch * len(batches)
    print(f"total CPU this / other = {sum(cpu['this']) / sum(cpu['other']):.3f}; without "
          f"signing = {(sum(cpu['this']) - signing) / max(1e-9, sum(cpu['other']) - signing):.3f}")
    same = {}
    for table in ("story_edges", "stories", "story_articles", "story_signatures"):
        a, b = (sorted(stores[k].con.execute(f"SELECT * FROM core.{table}").fetchall())
                for k in ("other", "this"))
        same[table] = (a == b, len(a))
    print("same results: " + ", ".join(f"{t} {'yes' if ok else 'NO'} ({n} rows)"
                                       for t, (ok, n) in same.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", type=Path, help="another version of transforms/stories.py")
    parser.add_argument("--other-store", type=Path,
                        help="another version of warehouse/stories.py (--mode store)")
    parser.add_argument("--mode", choices=("store", "pure"), default="store")
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    other = load(args.other)
    docs = [x.doc for x in sample_set(args.articles, 7)]
    if args.mode == "pure":
        pure(other, docs, args.rounds)
        return
    if args.other_store is None:
        raise SystemExit("--mode store needs --other-store (another warehouse/stories.py)")
    store_run(load_store_version(args.other_store), docs, args.batch)


if __name__ == "__main__":
    main()
