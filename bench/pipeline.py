"""`make bench`: the whole pipeline on 1,000 generated articles vs bare trafilatura, same run.

Prints end-to-end articles per second (feeds polled, pages fetched over local HTTP, extracted in
the process pool, checked, written) next to bare ``trafilatura.extract`` on the same pages in one
process, their ratio, the checks' share of the run time, and peak memory. Ratios are the figure
to compare: machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "60")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def bare_trafilatura(pages: list[bytes]) -> float:
    """Seconds for plain trafilatura.extract over the pages, one process."""
    import trafilatura

    start = time.perf_counter()
    for body in pages:
        trafilatura.extract(body.decode("utf-8"))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from flows.cli import SAMPLE_SETTINGS
    from flows.cli.feeds import write_sample_feeds
    from flows.pipeline import pipeline
    from flows.settings import settings_scope
    from sample.server import SampleServer

    console = Console()
    with tempfile.TemporaryDirectory() as tmp, SampleServer(n_articles=args.articles) as server, \
            settings_scope(**SAMPLE_SETTINGS):
        folder = Path(tmp)
        feeds = write_sample_feeds(server.site, folder)
        db = folder / "bench.duckdb"
        console.print(f"pipeline on {len(server.site.articles)} articles, "
                      f"{len(server.site.feeds)} feeds ...")
        from flows.checks import SPENT

        start = time.perf_counter()
        result = pipeline(db_path=str(db), feeds_file=str(feeds), only_due=False)
        pipeline_s = time.perf_counter() - start
        checks_s = SPENT["seconds"]
        n = result["stages"]["extract_articles"]["articles"]
        pages = [server.site.resources[a.path].body for a in server.site.articles]
        bare_s = bare_trafilatura(pages)
        import duckdb

        con = duckdb.connect(str(db), read_only=True)
        stage_s = dict(con.execute(
            "SELECT stage, seconds FROM analytics.runs WHERE run_id = ?", [result["run_id"]]
        ).fetchall())
        con.close()

    table = Table(title=f"newsflow pipeline vs bare trafilatura ({len(pages)} pages, same run)")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_column("articles/s", justify="right")
    table.add_row("newsflow pipeline, end to end (fetch+extract+check+store)",
                  f"{pipeline_s:.1f}", f"{n / pipeline_s:.1f}")
    for stage, seconds in sorted(stage_s.items()):
        table.add_row(f"  stage {stage}", f"{seconds or 0:.1f}", "")
    table.add_row("  the rest: Prefect's ephemeral server and task runs, checks after the "
                  "stages' ledger rows, publish, Data Docs",
                  f"{pipeline_s - sum(v or 0 for v in stage_s.values()):.1f}", "")
    table.add_row("bare trafilatura.extract, one process, pages in memory",
                  f"{bare_s:.1f}", f"{len(pages) / bare_s:.1f}")
    console.print(table)
    console.print(f"ratio newsflow / bare trafilatura (articles/s): "
                  f"[bold]{(n / pipeline_s) / (len(pages) / bare_s):.2f}[/bold]")
    console.print(f"checks (great-expectations on every stage, volume, Data Docs; GX import "
                  f"included): {checks_s:.1f} s = [bold]{checks_s / pipeline_s:.1%}[/bold] of the run")
    console.print(f"status {result['status']}; articles stored {n}")
    console.print(f"peak memory: main process {_peak_mb(resource.RUSAGE_SELF):.0f} MB, "
                  f"largest child {_peak_mb(resource.RUSAGE_CHILDREN):.0f} MB")


if __name__ == "__main__":
    main()
