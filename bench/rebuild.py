"""`python -m bench.rebuild`: how fast the core projections are rebuilt from raw.

Builds a store from the offline sample with the real pipeline (checks off), then times
``rebuild_core`` twice on copies of it: re-projection only (``reextract=False``: stored versions
folded into core.articles again) and re-extraction (``reextract=True``: every stored page through
the extraction pool again). Prints articles per second for both, side by side, and how much of
each went to the analyst surface (search index and story clustering, run inside every extraction
batch). Machines are noisy: compare the two modes with each other, and runs on one machine with
each other.

The default is 2,000 articles (about 40 s in all). Measured on 2 cores, quiet, 2026-11-30 with
``--articles 10000``: building the store 181.4 s (55 articles/s, 60.2 s of it search index and
stories), re-projection 4.3 s (2,348 articles/s), re-extraction 58.4 s (171 articles/s). Before
story merging used a heap (transforms.stories._groups), the build took 418 s, 306 s of it in
clustering.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

log = logging.getLogger(__name__)


class Timed:
    """Wrap a function and add up the seconds spent in it."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def timed_surface() -> Timed:
    """Time the analyst-surface refresh the extract stage calls in each batch."""
    import warehouse.articles as stage  # refresh_keys calls it by this module's name

    timer = Timed(stage.refresh_analyst_surface)
    stage.refresh_analyst_surface = timer  # a timing shim only (Timed is callable alike)
    return timer


def build(n_articles: int, folder: Path, workers: int) -> dict[str, Any]:
    """Serve the sample and run the pipeline once into ``folder/built.duckdb``."""
    from flows.cli.feeds import write_sample_feeds
    from flows.pipeline import run_pipeline
    from flows.settings import Settings
    from sample.server import SampleServer
    from warehouse.store import Store

    started = time.perf_counter()
    with SampleServer(n_articles=n_articles) as server:
        site_s = time.perf_counter() - started
        settings = Settings(
            db_path=folder / "built.duckdb", feeds_file=write_sample_feeds(server.site, folder),
            allow_private_addresses=True, per_host_concurrency=8, run_checks=False,
            extract_workers=workers, publish_dir=folder / "published")
        timer = timed_surface()
        started = time.perf_counter()
        result = run_pipeline(settings, run_id="bench-build", only_due=False)
        pipeline_s = time.perf_counter() - started
    if result["status"] != "ok":
        raise RuntimeError(f"the build run ended {result['status']}: {result['stages']}")
    with Store.open(settings.db_path, read_only=True) as store:
        articles = store.count("core.articles")
        pages = int(store.scalar("SELECT count(*) FROM core.page_extractions"))
    return {"settings": settings, "site_s": site_s, "pipeline_s": pipeline_s,
            "articles": articles, "pages": pages, "surface_s": timer.seconds}


def time_rebuild(settings: Any, folder: Path, *, reextract: bool) -> dict[str, Any]:
    """``rebuild_core`` over all history on a fresh copy of the built store."""
    from flows.rebuild import rebuild_core
    from warehouse.store import Store

    copy = folder / f"rebuild-{'reextract' if reextract else 'reproject'}.duckdb"
    shutil.copy(settings.db_path, copy)
    local = settings.model_copy(update={"db_path": copy})
    timer = timed_surface()
    with Store.open(copy) as store:
        started = time.perf_counter()
        result = rebuild_core(store, local, run_id=f"bench-{reextract}", reextract=reextract)
        seconds = time.perf_counter() - started
    return {**result, "wall_s": seconds, "surface_s": timer.seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=0, help="extraction processes; 0 = cores")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from rich.console import Console
    from rich.table import Table

    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        console.print(f"building a store of {args.articles:,} sample articles "
                      f"({os.cpu_count()} cores, workers={args.workers or 'cores'}) ...")
        built = build(args.articles, folder, args.workers)
        console.print(f"site generated in {built['site_s']:.1f}s; pipeline: "
                      f"{built['articles']:,} articles in {built['pipeline_s']:.1f}s")
        runs = {}
        for reextract in (False, True):
            console.print(f"rebuild_core(reextract={reextract}) ...")
            runs[reextract] = time_rebuild(built["settings"], folder, reextract=reextract)

    table = Table(title=f"rebuild_core on {built['articles']:,} articles "
                        f"({built['pages']:,} page fetches)")
    table.add_column("")
    table.add_column("pipeline (build)", justify="right")
    table.add_column("re-project (reextract=False)", justify="right")
    table.add_column("re-extract (reextract=True)", justify="right")
    fast, slow = runs[False], runs[True]
    table.add_row("articles", f"{built['articles']:,}", f"{fast['articles']:,}",
                  f"{slow['articles']:,}")
    table.add_row("pages extracted", f"{built['pages']:,}", f"{fast['pages_extracted']:,}",
                  f"{slow['pages_extracted']:,}")
    table.add_row("seconds", f"{built['pipeline_s']:.1f}", f"{fast['wall_s']:.1f}",
                  f"{slow['wall_s']:.1f}")
    table.add_row("of which search + stories (s)", f"{built['surface_s']:.1f}",
                  f"{fast['surface_s']:.1f}", f"{slow['surface_s']:.1f}")
    table.add_row("articles / s", f"{built['articles'] / built['pipeline_s']:.0f}",
                  f"{fast['articles'] / fast['wall_s']:.0f}",
                  f"{slow['articles'] / slow['wall_s']:.0f}")
    console.print(table)


if __name__ == "__main__":
    main()
