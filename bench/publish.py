"""`python -m bench.publish`: what a publish of the analyst copy costs, full and incremental.

Builds a store of N generated articles over a year (search index included, stories left out: they
do not change what publish does per row), then times, on the same store: the first publish (every
file written), a publish with nothing changed, and a publish after ``--new`` articles arrive on one
new day and one old article changes. ``--compare FILE`` times another publish module (e.g. the
previous warehouse/publish.py saved with ``git show``) side by side on a copy of the store, in the
same process, so the ratio holds on a busy machine even when the seconds do not.

``--store FILE`` uses a copy of an existing store instead (e.g. one `make bench-scale` grew, with
items, stories, checks and runs), where the change is ``--new`` of its newest articles copied as
new ones on a new day plus one old article edited.

Run: ``.venv/bin/python -m bench.publish [--articles 10000] [--new 100] [--compare old.py]
[--store FILE]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.search import insert, rows
from warehouse.search import update_index
from warehouse.store import Store

Publish = Callable[..., dict[str, Any]]


def load_publish(path: Path | None) -> tuple[str, Publish]:
    if path is None:
        from warehouse.publish import publish
        return "current", publish
    spec = importlib.util.spec_from_file_location("publish_compared", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return path.name, module.publish


def build(db: Path, n: int) -> list[dict[str, Any]]:
    rng = random.Random(0)
    base = rows(rng, 0, n, 0, 364)
    with Store.open(db) as store:
        insert(store, base)
        update_index(store.con, [r["article_key"] for r in base])
    return base


def change(db: Path, base: list[dict[str, Any]], n: int, new: int) -> None:
    fresh = rows(random.Random(1), n, new, 365, 1)
    edited = dict(base[0], title="An edited title", content_hash="edited")
    with Store.open(db) as store:
        with store.transaction("bench"):
            store.replace("core.articles", "article_key", [edited, *fresh])
        update_index(store.con, [edited["article_key"], *(r["article_key"] for r in fresh)])


def change_store(db: Path, n: int, new: int) -> None:
    """A run's worth of change on a real store: ``new`` articles copied from its newest ones onto
    the next day (new keys), one old article edited, the search index brought up to date."""
    from datetime import timedelta

    with Store.open(db) as store:
        newest = store.rows("SELECT * FROM core.articles ORDER BY first_seen_at DESC, article_key "
                            "LIMIT ?", [new])
        oldest = store.rows("SELECT * FROM core.articles ORDER BY first_seen_at, article_key "
                            "LIMIT 1")
        day = timedelta(days=1)
        fresh = [dict(r, article_key=f"{r['article_key']}~n{n}", url=f"{r['url']}~n{n}",
                      content_hash=f"{r['content_hash']}~n{n}",
                      first_seen_at=r["first_seen_at"] + day, last_seen_at=r["last_seen_at"] + day)
                 for r in newest]
        edited = [dict(r, title=f"{r['title']} (edited {n})", content_hash=f"edited{n}")
                  for r in oldest]
        with store.transaction("bench"):
            store.replace("core.articles", "article_key", [*edited, *fresh])
        update_index(store.con, [r["article_key"] for r in (*edited, *fresh)])


def timed(fn: Publish, db: Path) -> tuple[float, dict[str, Any]]:
    """CPU seconds of the publish (this process, DuckDB's threads included) and its result."""
    with Store.open(db) as store:
        started = time.process_time()
        result = fn(store, db.parent / "published")
        return time.process_time() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--compare", type=Path, help="another publish module to time beside")
    parser.add_argument("--store", type=Path, help="a copy of this store instead of a built one")
    args = parser.parse_args()
    variants = [load_publish(None)] + ([load_publish(args.compare)] if args.compare else [])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        if args.store:
            shutil.copy(args.store, root / "store.duckdb")
            with Store.open(root / "store.duckdb") as store:
                held = store.scalar("SELECT count(*) FROM core.articles")
            print(f"copy of {args.store}: {held} articles")
            base = []
        else:
            base = build(root / "store.duckdb", args.articles)
            print(f"store of {args.articles} articles built in "
                  f"{time.perf_counter() - started:.1f}s")
        dbs = {}
        for name, _ in variants:
            (root / name).mkdir()
            dbs[name] = root / name / "newsflow.duckdb"
            shutil.copy(root / "store.duckdb", dbs[name])
        print("CPU seconds per publish (process time, DuckDB threads included), same store, "
              "variants interleaved:")
        print(f"{'variant':>16}{'full':>9}{'unchanged':>13}{'changed':>11}"
              f"{'files (full/changed)':>22}{'MB written (changed)':>22}")
        for step in ("full", "unchanged", "changed"):
            for name, fn in variants:
                if step == "changed" and args.store:
                    change_store(dbs[name], 1, args.new)
                elif step == "changed":
                    change(dbs[name], base, args.articles, args.new)
                seconds, result = timed(fn, dbs[name])
                fn.__dict__.setdefault("_times", {})[step] = (seconds, result)
        for name, fn in variants:
            t = fn.__dict__["_times"]
            print(f"{name:>16}{t['full'][0]:>9.2f}{t['unchanged'][0]:>13.2f}{t['changed'][0]:>11.2f}"
                  f"{t['full'][1]['files_written']:>11}/{t['changed'][1]['files_written']:<10}"
                  f"{t['changed'][1]['bytes_written'] / 1e6:>22.2f}")


if __name__ == "__main__":
    main()
