"""`make bench-scale`: does a run cost the same on a big store as on an empty one?

Grows a store by runs that each add ``--per-run`` (1,000) new articles, served from 127.0.0.1,
through the whole pipeline (poll, fetch, extract, check, publish; stages called without Prefect,
whose start-up does not depend on the store), up to ``--runs`` runs (20: 20,000 articles). Then
it adds synthetic older history up to ``--history`` (100,000) articles and runs ``--after`` more
runs on that store. The history is the rows the runs wrote (raw, core and search/story rows),
copied in bulk with their keys suffixed and their times shifted weeks back per copy, so the
store holds what the pipeline would have written for older articles; the tables are then
rewritten oldest rows first, the physical order a store written over time has.

Every run is its own child process. Per run it prints wall time, the main process's CPU
(getrusage of the child itself) and its own peak memory, the workers' CPU (getrusage of the
child's children) and the largest worker's own peak (peaks are each process's VmHWM, read every
0.5 s by bench.pipeline's sampler: getrusage would give a process started by fork and exec its
parent's size). The harness (the HTTP server, the generator, the history) is not counted. The
figure to read: CPU of a run on the biggest store over CPU of a run on an empty one (goal <= 1.3),
and every peak (goal < 1.5 GB). One run's CPU varies by 10-20% between identical runs on this
kind of machine (more while the host is busy), so the ratio is of medians: the first run and
``--empty - 1`` more runs of the same 1,000 articles on fresh empty stores, each made right after
one of the ``--after`` runs on the biggest store (so that a drift of the machine's speed during
the bench weighs on both sides), against those runs. The workers' CPU is the same extraction work
in every run whatever the store holds: its ratio shows how far the machine itself drifted. Every
run is printed.

A backlog of stored pages extracted in one run is ``python -m bench.pipeline --backlog N``.

Figures taken on a loaded machine: compare ratios inside one output, not wall times.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

START = datetime(2026, 1, 5, tzinfo=UTC)
WEEK = timedelta(days=7)

# Tables a run grows with its articles, copied as older history. Feeds, the run ledger, retries
# and check results are left as they are.
HISTORY_TABLES = (
    "raw.feed_fetches", "raw.feed_entries", "raw.page_fetches", "raw.page_bodies",
    "core.page_extractions", "core.article_versions", "core.article_changes", "core.articles",
    "core.article_feeds", "core.search_docs", "core.search_terms", "core.stories",
    "core.story_articles", "core.story_edges", "core.story_signatures", "core.story_bands",
    "core.story_names", "core.story_lead_words",
)
# Identity columns: a copy gets them suffixed, so it is other events about other articles.
KEY_COLUMNS = frozenset({
    "event_id", "fetch_event_id", "run_id", "url", "url_key", "final_url", "canonical_url",
    "link", "link_key", "raw_link", "guid", "entry_key", "article_key", "page_fetch_id",
    "first_article_key", "story_id", "article_a", "article_b", "syndicated_from",
    "body_sha256", "content_hash", "version_hash", "previous_hash", "signed_hash",
    "indexed_hash",
})


# --- the child: one measured run -------------------------------------------------------------

def _usage(sampler: Any) -> dict[str, float]:
    """CPU of this process and of its (ended) children from getrusage; peaks as each process
    measured its own (VmHWM, read by bench.pipeline's sampler). getrusage's ru_maxrss is not
    used for any peak: a process started by fork and exec inherits the size its parent had at
    the fork (Linux keeps the larger across exec), so a worker reported the main process's size
    and this run reported the harness's (2.5 GB after it added the 100k history in-process),
    not its own (1.3 GB by VmHWM in a run on the same store)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu_main_s": me.ru_utime + me.ru_stime, "peak_main_mb": sampler.peak_mb("main"),
            "cpu_workers_s": kids.ru_utime + kids.ru_stime,
            "peak_worker_mb": max(sampler.peak_mb("workers"), sampler.peak_mb("other"))}


class _TimedConnection:
    """A store connection that adds each query's CPU seconds (whole process, DuckDB's threads
    included) to ``totals``, named by its warehouse/sql file when it is one (``--queries``)."""

    def __init__(self, con: Any, totals: dict[str, list[float]], names: dict[str, str]) -> None:
        self._con, self._totals, self._names = con, totals, names

    def execute(self, query: str, *params: Any) -> Any:
        c0 = time.process_time()
        try:
            return self._con.execute(query, *params)
        finally:
            name = self._names.get(query.strip()) or " ".join(query.split())[:60]
            entry = self._totals.setdefault(name, [0, 0.0])
            entry[0] += 1
            entry[1] += time.process_time() - c0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _time_queries() -> dict[str, list[float]]:
    """Make every Store opened from now on time its queries; return the totals it fills."""
    from warehouse import store as store_module

    totals: dict[str, list[float]] = {}
    folder = Path(store_module.__file__).parent / "sql"
    names = {f.read_text(encoding="utf-8").strip(): f.stem for f in folder.glob("*.sql")}
    names |= {part.strip(): f"{f.stem}[{i}]" for f in folder.glob("*.sql")
              for i, part in enumerate(f.read_text(encoding="utf-8").split(";")) if part.strip()}
    original = store_module.Store.__init__

    def init(self: Any, con: Any, path: Any) -> None:
        timed: Any = _TimedConnection(con, totals, names)  # stands in for the connection
        original(self, timed, path)

    store_module.Store.__init__ = init  # type: ignore[method-assign]
    return totals


def child(args: argparse.Namespace) -> None:
    """Run the pipeline once on ``--db`` and print its figures."""
    import logging

    logging.disable(logging.WARNING)
    from flows.settings import settings_for, settings_scope

    queries = _time_queries() if args.queries else None
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, the figure the runs compare
        profiler.enable()
    from bench.pipeline import Sampler

    sampler = Sampler(interval=0.5).start()
    started = time.perf_counter()
    with settings_scope(allow_private_addresses=True, per_host_concurrency=8):
        settings = settings_for(db_path=args.db, feeds_file=args.feeds)
        run_id = f"scale-{args.label}"
        from flows.pipeline import run_pipeline

        result = run_pipeline(settings, run_id=run_id, only_due=False, orchestrator="bench")
        stages = result.get("stages", {})
        articles = int(stages.get("extract_articles", {}).get("articles", 0))
    wall = time.perf_counter() - started
    sampler.stop()
    figures = _usage(sampler)
    if profiler is not None:
        profiler.disable()
        out = Path(args.profile) / f"{args.label}.prof"
        out.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(out)
    from warehouse.access import open_reader

    with open_reader(args.db) as store:
        seconds = dict(store.con.execute(
            "SELECT stage, sum(epoch(finished_at) - epoch(started_at)) FROM raw.runs "
            "WHERE run_id = ? AND stage IS NOT NULL AND finished_at IS NOT NULL GROUP BY stage",
            [run_id]).fetchall())
        stored = store.scalar("SELECT count(*) FROM core.articles")
    top = {} if queries is None else dict(sorted(
        ((k, round(v[1], 3)) for k, v in queries.items()), key=lambda kv: -kv[1])[:args.queries])
    print(json.dumps({"wall_s": wall, **figures, "articles": articles, "stored": stored,
                      "status": str(result.get("status")), "stages": seconds, "queries": top}),
          flush=True)


# --- the harness ----------------------------------------------------------------------------

def _measure(db: Path, feeds: Path | None, label: str,
             profile: str | None = None, queries: int = 0) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.scale", "--child", "run", "--db", str(db), "--label", label]
    if queries:
        cmd += ["--queries", str(queries)]
    if profile:
        cmd += ["--profile", profile]
    if feeds is not None:
        cmd += ["--feeds", str(feeds)]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"bench-scale: run {label} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _row(label: str, fig: dict[str, Any], base: dict[str, Any] | None) -> str:
    ratio = "" if base is None else f"{fig['cpu_main_s'] / base['cpu_main_s']:.2f}x"
    stages = " ".join(f"{k.split('_')[0]}={v:.1f}" for k, v in sorted(fig["stages"].items()))
    return (f"{label:>18} {fig['stored_before']:>8} {fig['articles']:>6} {fig['wall_s']:>7.1f} "
            f"{fig['cpu_main_s']:>7.1f} {ratio:>6} {fig['cpu_workers_s']:>8.1f} "
            f"{fig['peak_main_mb']:>8.0f} {fig['peak_worker_mb']:>8.0f}  {fig['status']:<8} "
            f"{stages}")


HEADER = (f"{'run':>18} {'stored':>8} {'added':>6} {'wall_s':>7} {'cpu_main':>7} {'ratio':>6} "
          f"{'cpu_work':>8} {'peak_main':>8} {'peak_work':>8}  {'status':<8} stage wall seconds")


def add_history(db: Path, target: int) -> int:
    """Copy the stored rows as older history until the store holds about ``target`` articles;
    return how many articles it holds then.

    One INSERT ... SELECT per table multiplies the original rows by the number of copies needed
    (a cross join with ``range``), copy k with its keys suffixed ``~h<k>`` and its times shifted
    k steps back; one transaction and one checkpoint for the whole history."""
    import duckdb

    con = duckdb.connect(str(db))  # duckdb 1.5 refuses enable_progress_bar as a connect option
    try:
        con.execute("SET enable_progress_bar = false")
        stored, base, done = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE article_key NOT LIKE '%~h%'), "
            f"coalesce(max({_copy_number('article_key')}), 0) "
            "FROM core.articles").fetchone()  # type: ignore[misc]
        copies = max(0, -(-(target - stored) // base)) if base else 0
        if not copies:
            return int(stored)
        columns = {t: con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema || '.' || table_name = ? ORDER BY ordinal_position",
            [t]).fetchall() for t in HISTORY_TABLES}
        span = con.execute("SELECT max(occurred_at) - min(occurred_at) FROM raw.page_fetches"
                           ).fetchone()[0] or timedelta(0)  # type: ignore[index]
        step_days = max(7, span.days + 14)
        con.execute("BEGIN")
        for table, cols in columns.items():
            exprs = []
            for name, kind in cols:
                if name in KEY_COLUMNS and kind == "VARCHAR":
                    exprs.append(f"CASE WHEN {name} IS NULL THEN NULL "
                                 f"ELSE {name} || '~h' || _k.k END")
                elif kind.startswith("TIMESTAMP") or kind == "DATE":
                    exprs.append(f"{name} - to_days(CAST(_k.k * {step_days} AS INTEGER))")
                else:
                    exprs.append(name)
            con.execute(f"INSERT INTO {table} ({', '.join(n for n, _ in cols)}) "
                        f"SELECT {', '.join(exprs)} FROM {table} "
                        f"CROSS JOIN (SELECT range AS k FROM range({done + 1}, "
                        f"{done + copies + 1})) AS _k WHERE {_original(cols)}")
        # In service older rows were written first: put them first (the oldest copy, then the
        # newer ones, then the runs' own rows), so that the store's physical order follows time
        # as a real one does, and a lookup of recent rows is not spread across the history.
        for table, cols in columns.items():
            keys = [n for n, kind in cols if n in KEY_COLUMNS and kind == "VARCHAR"]
            if not keys:
                continue
            con.execute(f"CREATE TEMP TABLE _ordered AS SELECT * FROM {table} "
                        f"ORDER BY coalesce({_copy_number(keys[0])}, 0) DESC, rowid")
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} SELECT * FROM _ordered")
            con.execute("DROP TABLE _ordered")
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
        return int(con.execute("SELECT count(*) FROM core.articles").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def _publish_history(db: Path, feeds: Path) -> None:
    """Publish the store once after the history is added, as the runs that wrote it would
    have: otherwise the next run pays for publishing every day of the history (a one-off the
    store never sees in service) and its figure says nothing about a run on a big store."""
    from flows.settings import settings_for
    from warehouse.access import open_writer
    from warehouse.publish import publish

    settings = settings_for(db_path=db, feeds_file=feeds)
    with open_writer(db, min_free_mb=64) as store:
        publish(store, settings.published_dir, run_id="scale-history")


def _copy_number(column: str) -> str:
    """SQL: which history copy a row is (k of its ``~h<k>`` key suffix), NULL for a run's own."""
    return f"TRY_CAST(regexp_extract({column}, '~h(\\d+)$', 1) AS INTEGER)"


def _original(cols: list[tuple[str, str]]) -> str:
    """Only rows that are not copies themselves (no '~h' suffix on their first key column)."""
    keys = [n for n, kind in cols if n in KEY_COLUMNS and kind == "VARCHAR"]
    return f"coalesce({keys[0]}, '') NOT LIKE '%~h%'" if keys else "true"


@contextlib.contextmanager
def _folder(args: argparse.Namespace) -> Iterator[str]:
    """The store's folder: a temporary one, or ``--keep`` (left in place to query afterwards)."""
    if args.keep is None:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            yield tmp
        return
    keep = Path(args.keep)
    if keep.exists() and any(keep.iterdir()):
        sys.exit(f"bench-scale: --keep {keep} is not empty")
    keep.mkdir(parents=True, exist_ok=True)
    yield str(keep)


def grow(args: argparse.Namespace) -> None:
    from flows.cli.feeds import write_sample_feeds
    from sample.server import SampleServer
    from sample.site import build_site

    def site_of(i: int):  # type: ignore[no-untyped-def]
        return lambda base: build_site(base, n_articles=args.per_run, seed=1000 + i,
                                       start=START + i * WEEK, days=7)

    print(f"bench-scale: {args.runs} runs of {args.per_run} new articles, then history to "
          f"{args.history} and {args.after} more run(s); every run a child process "
          f"(CPU seconds and peak RSS of that process and of its workers; "
          f"{os.cpu_count()} cores, figures under whatever load the machine has)", flush=True)
    print(HEADER, flush=True)
    with _folder(args) as tmp, SampleServer(site=site_of(0)) as server:
        folder = Path(tmp)
        feeds = write_sample_feeds(server.site, folder)
        db = folder / "scale.duckdb"
        first: dict[str, Any] | None = None
        stored = 0
        results: list[tuple[str, dict[str, Any]]] = []
        empties: list[int] = []

        def empty_run() -> None:
            """The first run again, on a fresh empty store: the baseline is the median of these
            runs and run 1."""
            k = len(empties) + 2
            site = server.site
            server.site = site_of(0)(server.base_url)
            empty = folder / f"empty-{k}"
            empty.mkdir()
            fig = _measure(empty / "scale.duckdb", write_sample_feeds(server.site, empty),
                           f"e{k}", args.profile, args.queries)
            fig["stored_before"] = 0
            label = f"empty {k}"
            results.append((label, fig))
            print(_row(label, fig, first), flush=True)
            shutil.rmtree(empty, ignore_errors=True)
            server.site = site
            empties.append(k)

        for i in range(args.runs + args.after):
            if i == args.runs and args.history > stored:
                t0, c0 = time.perf_counter(), time.process_time()
                stored = add_history(db, args.history)
                _publish_history(db, feeds)
                print(f"{'(history added)':>18} {stored:>8} articles stored and published "
                      f"({time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s "
                      "CPU in the harness; not a run)", flush=True)
            server.site = site_of(i)(server.base_url)
            fig = _measure(db, feeds, f"r{i + 1}", args.profile, args.queries)
            fig["stored_before"] = stored
            stored = int(fig["stored"])
            first = first or fig
            label = f"run {i + 1}"
            results.append((label, fig))
            print(_row(label, fig, None if fig is first else first), flush=True)
            if i >= args.runs and len(empties) < args.empty - 1:
                empty_run()  # between the runs on the big store: a drift weighs on both
        if not args.after and args.history > stored:  # a store with history, for --keep
            add_history(db, args.history)
            _publish_history(db, feeds)
        while len(empties) < args.empty - 1:
            empty_run()
        _summary(results, args.after)


def _summary(results: list[tuple[str, dict[str, Any]]], after: int) -> None:
    empties = [f for _, f in results if f["stored_before"] == 0]
    grown = [f for label, f in results if not label.startswith("empty")]
    biggest = grown[-max(after, 1):]  # the runs on the store with history (else the last run)
    first, last = results[0][1], biggest[-1]
    peak = max(max(f["peak_main_mb"], f["peak_worker_mb"]) for _, f in results)

    def median(figs: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(f[key] for f in figs))

    def listed(figs: list[dict[str, Any]]) -> str:
        return ", ".join(f"{f['cpu_main_s']:.1f}" for f in figs)

    empty_cpu, big_cpu = median(empties, "cpu_main_s"), median(biggest, "cpu_main_s")
    print(f"\nempty store: main CPU median {empty_cpu:.1f} s of {len(empties)} run(s) "
          f"({listed(empties)}); store of {last['stored_before']} articles: median "
          f"{big_cpu:.1f} s of {len(biggest)} run(s) ({listed(biggest)}); "
          f"ratio {big_cpu / empty_cpu:.2f} (goal <= 1.30); workers CPU median "
          f"{median(empties, 'cpu_workers_s'):.1f} -> {median(biggest, 'cpu_workers_s'):.1f} s")

    def total(figs: list[dict[str, Any]]) -> float:
        return float(statistics.median(f["cpu_main_s"] + f["cpu_workers_s"] for f in figs))

    print(f"workers' CPU (the same extraction work in every run, whatever the store holds): "
          f"ratio {median(biggest, 'cpu_workers_s') / median(empties, 'cpu_workers_s'):.2f}, "
          "the machine's own drift between the two sets of runs")
    empty_all, big_all = total(empties), total(biggest)
    print(f"the whole run (main process and workers): median {empty_all:.1f} s -> "
          f"{big_all:.1f} s CPU, ratio {big_all / empty_all:.2f}")
    print(f"largest peak of any process in any run: {peak:.0f} MB (goal < 1536 MB)")
    if first.get("queries") or last.get("queries"):
        a, b = first.get("queries", {}), last.get("queries", {})
        names = sorted(set(a) | set(b), key=lambda n: a.get(n, 0) - b.get(n, 0))
        print(f"\nstore queries, CPU s (process CPU while each ran): {'first':>7} {'last':>7}")
        for name in names:
            print(f"  {name:<62} {a.get(name, 0):7.3f} {b.get(name, 0):7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs that grow the store")
    parser.add_argument("--per-run", type=int, default=1000, help="new articles per run")
    parser.add_argument("--history", type=int, default=100_000,
                        help="articles the store holds (synthetic history) before the last runs")
    parser.add_argument("--after", type=int, default=4, help="runs on the store with history")
    parser.add_argument("--empty", type=int, default=4,
                        help="runs on an empty store (the first run and this many minus one on "
                             "fresh stores, each right after a run on the biggest store): the "
                             "baseline is their median")
    parser.add_argument("--tmp", default=None, help="folder for the store (default: system temp)")
    parser.add_argument("--keep", default=None,
                        help="empty folder to grow the store in and leave behind (default: a "
                             "temporary folder, removed)")
    parser.add_argument("--profile", default=None,
                        help="folder: each run's child writes a cProfile of itself there "
                             "(<label>.prof; read with python -m pstats); adds overhead")
    parser.add_argument("--queries", type=int, default=0,
                        help="print the N store queries that took the most CPU in each run "
                             "(named by their warehouse/sql file)")
    parser.add_argument("--child", choices=("run",), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--feeds", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
    else:
        grow(args)


if __name__ == "__main__":
    main()
