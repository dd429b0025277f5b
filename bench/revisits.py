"""`python -m bench.revisits`: the cost of revisits on 1,000 unchanged recent articles.

One store is filled by a pipeline run over the generated sample (every article page with an
ETag and Last-Modified). Then, on fresh copies of that store, the next run 2 h later (clock
injected: the 1 h revisit point has passed) is timed twice over: with revisits off, and with
every page revisited by conditional GET (all answer 304). Both polls see unchanged feeds.
Printed: run seconds (median of the repeats), the page stage's seconds, rows and bytes added to
raw.page_fetches and raw.page_bodies, and the store file's growth. Ratios are the figures to compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _one(settings: Any, db: Path, run_id: str, later: Any) -> dict[str, Any]:
    from flows.pipeline import run_pipeline
    from warehouse.store import Store

    with Store.open(db) as store:
        rows_before = store.count("raw.page_fetches")
    from flows.checks import SPENT

    size_before = db.stat().st_size
    checks_before = SPENT["seconds"]
    start = time.perf_counter()
    result = run_pipeline(settings, run_id=run_id, only_due=False, now=later)
    seconds = time.perf_counter() - start
    checks = SPENT["seconds"] - checks_before
    assert result["status"] == "ok", result
    with Store.open(db) as store:
        store.con.execute("CHECKPOINT")
        rows = store.count("raw.page_fetches") - rows_before
        # the run's attempt rows, plus the bodies it was first to keep (raw.page_bodies holds
        # each distinct body once, by its hash: a 304 or an unchanged body adds none)
        raw_bytes = store.scalar(
            "SELECT coalesce(sum(length(coalesce(headers::VARCHAR, '')) + length(url) + 200), 0)"
            " + coalesce((SELECT sum(octet_length(b.body)) FROM raw.page_bodies AS b"
            "   WHERE b.body_sha256 IN (SELECT body_sha256 FROM raw.page_fetches"
            "                           WHERE run_id = $run AND has_body)"
            "     AND b.body_sha256 NOT IN (SELECT body_sha256 FROM raw.page_fetches"
            "                               WHERE run_id <> $run AND has_body)), 0)"
            " FROM raw.page_fetches WHERE run_id = $run", {"run": run_id})
        stage = store.scalar("SELECT seconds FROM analytics.runs WHERE run_id = ? "
                             "AND stage = 'fetch_pages'", [run_id])
    fetch = result["stages"]["fetch_pages"]
    return {"seconds": seconds, "fetch_s": float(stage or 0), "checks_s": checks, "rows": rows,
            "raw_bytes": int(raw_bytes), "growth": db.stat().st_size - size_before,
            "revisits": fetch["revisits"], "unchanged": fetch["revisits_unchanged"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from flows.cli import SAMPLE_SETTINGS
    from flows.cli.feeds import write_sample_feeds
    from flows.pipeline import run_pipeline
    from flows.settings import Settings
    from sample.server import SampleServer
    from warehouse.store import utcnow

    console = Console(width=160)
    results: dict[str, list[dict[str, Any]]] = {"without revisits": [], "with revisits": []}
    with tempfile.TemporaryDirectory() as tmp, \
            SampleServer(n_articles=args.articles, page_validators=True) as server:
        folder = Path(tmp)
        feeds = write_sample_feeds(server.site, folder)
        base = Settings(db_path=folder / "base.duckdb", feeds_file=feeds, **SAMPLE_SETTINGS,
                        revisit_budget=args.articles * 2, revisit_per_host=args.articles * 2)
        console.print(f"first run: {len(server.site.articles)} articles, "
                      f"{len(server.site.feeds)} feeds ...")
        first = run_pipeline(base, run_id="first", only_due=False)
        assert first["status"] == "ok", first
        later = utcnow() + timedelta(hours=2)
        for n in range(args.repeats):
            for name, budget in (("without revisits", 0), ("with revisits", args.articles * 2)):
                db = folder / f"{n}-{budget}.duckdb"
                shutil.copy(base.db_path, db)
                settings = base.model_copy(update={
                    "db_path": db, "revisit_budget": budget,
                    "publish_dir": folder / f"pub-{n}-{budget}"})
                results[name].append(_one(settings, db, f"second-{n}-{budget}", later))
                db.unlink()

    table = Table(title=f"a run 2 h after the first, {args.articles} unchanged recent articles "
                        f"(median of {args.repeats})")
    for column in ("run", "seconds", "fetch stage s", "checks s", "revisits (304 or same hash)",
                   "page rows", "raw bytes (approx.)", "store growth bytes"):
        table.add_column(column, justify="right" if column != "run" else "left")
    med: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        med[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        m = med[name]
        table.add_row(name, f"{m['seconds']:.2f}", f"{m['fetch_s']:.2f}", f"{m['checks_s']:.2f}",
                      f"{m['revisits']:.0f} ({m['unchanged']:.0f})", f"{m['rows']:.0f}",
                      f"{m['raw_bytes']:.0f}", f"{m['growth']:.0f}")
    console.print(table)
    off, on = med["without revisits"], med["with revisits"]
    console.print(f"run time with / without revisits: {on['seconds'] / off['seconds']:.2f}x; "
                  f"per revisit: {(on['seconds'] - off['seconds']) / max(on['revisits'], 1) * 1000:.1f} ms, "
                  f"{on['raw_bytes'] / max(on['rows'], 1):.0f} raw bytes a row")


if __name__ == "__main__":
    main()
