"""CPU of story clustering, this version against another, side by side in one process.

Issue 14: clustering 10,000 articles must cost no more CPU than before. Timing two versions in
separate runs on a shared machine compares the load of two moments; this runs both on the same
articles (the sample site's, one week, one batch, as ``rebuild_stories`` does), alternating, and
prints CPU seconds (``time.process_time``) of signing, linking and grouping for each round.

The other version is a copy of ``transforms/stories.py`` from git::

    git show main:transforms/stories.py > /tmp/stories_old.py
    .venv/bin/python -m bench.stories_cpu /tmp/stories_old.py --articles 10000 --rounds 2
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.stories import sample_set
from transforms import stories as current


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("stories_other", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["stories_other"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", type=Path, help="another version of transforms/stories.py")
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    other = load(args.other)
    docs = [x.doc for x in sample_set(args.articles, 7)]
    totals: dict[str, list[float]] = {"other": [], "this": []}
    for n in range(args.rounds):
        for name, module in (("other", other), ("this", current)):
            r = timed(module, docs)
            totals[name].append(r["total"])
            print(f"round {n + 1} {name:<6} CPU sign {r['sign']:.2f} s, link {r['link']:.2f} s, "
                  f"cluster {r['cluster']:.2f} s, total {r['total']:.2f} s "
                  f"({int(r['links'])} links, {int(r['stories'])} stories)", flush=True)
    ratio = statistics.median(totals["this"]) / statistics.median(totals["other"])
    print(f"{len(docs)} articles: this / other CPU = {ratio:.2f} (median of {args.rounds})")


if __name__ == "__main__":
    main()
