"""One writer, many readers: analysts hold sessions open while scheduled runs write and publish.

DuckDB lets one process open a file read-write and, while it does, no other process can open it
at all. So analysts never open the pipeline's store: they read ``analytics.duckdb`` (views only)
or the Parquet that each run publishes (warehouse/publish.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from warehouse.lock import writer_lock
from warehouse.publish import analytics_db_path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "warehouse"))  # the article rows of test_publish

# One "scheduled run" in its own process: take the writer lock, write articles, publish.
WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_publish import article
    from warehouse.lock import writer_lock
    from warehouse.publish import publish
    from warehouse.store import Store

    db, first, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    with writer_lock(db), Store.open(db) as store:
        with store.transaction("test"):
            store.replace("core.articles", "article_key",
                          [article(i, i % 4) for i in range(first, first + count)])
        publish(store, db.parent / "published")
    print("done")
""").format(tests=str(ROOT / "tests" / "warehouse"))

HOLD_READ_ONLY = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print("open", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def scheduled_run(db: Path, first: int, count: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WRITER, str(db), str(first), str(count)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return tmp_path / "newsflow.duckdb"


@pytest.fixture()
def reader_of_the_store(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Someone opens the pipeline's own file read-only (what we must not let analysts do)."""
    first_run_in_process(db, 2)
    proc = subprocess.Popen([sys.executable, "-c", HOLD_READ_ONLY, str(db), "30"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
    yield proc
    proc.kill()
    proc.wait()


def test_case_69_a_reader_of_the_store_itself_locks_the_writer_out(
        db: Path, reader_of_the_store: subprocess.Popen[str]) -> None:
    """Why the pipeline publishes: a read-only session on the store blocks every writer."""
    with pytest.raises(duckdb.IOException, match="lock"):
        duckdb.connect(str(db))


def first_run_in_process(db: Path, count: int) -> None:
    from test_publish import article  # type: ignore[import-not-found]

    from warehouse.publish import publish
    from warehouse.store import Store

    with writer_lock(db), Store.open(db) as store:
        with store.transaction("test"):
            store.replace("core.articles", "article_key", [article(i, i % 4) for i in range(count)])
        publish(store, db.parent / "published")


def test_analyst_session_stays_open_across_two_scheduled_runs(db: Path) -> None:
    first_run_in_process(db, 4)
    views = analytics_db_path(db.parent / "published")
    # The analyst opens the views file read-write (DuckDB's default) and keeps it for the test.
    analyst = duckdb.connect(str(views))
    parquet_reader = duckdb.connect()
    glob = str(db.parent / "published" / "current" / "articles" / "*" / "*.parquet")
    try:
        held = [analyst.execute("SELECT count(*) FROM analytics.articles").fetchone()]
        fresh = []
        for run, first in enumerate((100, 200), start=1):
            done = scheduled_run(db, first, 4)
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "done"
            # The open session keeps answering from the generation it opened (whole, never
            # torn); a session opened after the run sees the run's articles.
            held.append(analyst.execute("SELECT count(*) FROM analytics.articles").fetchone())
            fresh.append(new_session_count(views))
            direct = parquet_reader.execute(
                f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)"
            ).fetchone()
            assert direct == (4 + 4 * run,)
        assert held == [(4,), (4,), (4,)]
        assert fresh == [8, 12]
    finally:
        analyst.close()
        parquet_reader.close()


def new_session_count(views: Path) -> int:
    """articles in a new session (a new process: this one would reuse the open database)."""
    code = ("import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True)"
            ".execute('SELECT count(*) FROM analytics.articles').fetchone()[0])")
    done = subprocess.run([sys.executable, "-c", code, str(views)], capture_output=True,
                          text=True, check=True, timeout=60)
    return int(done.stdout)


def test_case_71_second_writer_is_skipped_at_once(db: Path, tmp_path: Path) -> None:
    from flows.pipeline import run_pipeline
    from flows.settings import load_settings

    feeds = tmp_path / "feeds.yaml"
    # Never polled: the run must give up at the lock, before any fetch.
    feeds.write_text("feeds:\n  - url: http://127.0.0.1:9/feed.xml\n", encoding="utf-8")
    settings = load_settings(db_path=db, feeds_file=feeds, allow_private_addresses=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sys, time
            from pathlib import Path
            from warehouse.lock import writer_lock
            with writer_lock(Path(sys.argv[1])):
                print("held", flush=True)
                time.sleep(30)
        """), str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        result = run_pipeline(settings, run_id="second", only_due=False)
        elapsed = time.perf_counter() - started
    finally:
        holder.kill()
        holder.wait()
    assert result["status"] == "skipped_locked", result
    assert f"PID {holder.pid}" in result["message"]
    assert not db.exists()  # it never opened (let alone wrote) the store
    print(f"skipped_locked after {elapsed:.3f}s")
    with writer_lock(db):  # released by the kernel when the holder died
        pass


@pytest.mark.usefixtures("prefect_harness")
def test_analyst_open_during_two_pipeline_runs_on_the_sample(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import sample.server as server_module
    from flows.cli.feeds import write_sample_feeds
    from flows.pipeline import pipeline
    from flows.settings import Settings

    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("NEWSFLOW_PER_HOST_CONCURRENCY", "8")
    if "publish_dir" in Settings.model_fields:  # keep the published copy in this test's folder
        monkeypatch.setenv("NEWSFLOW_PUBLISH_DIR", str(tmp_path / "published"))
    db = tmp_path / "newsflow.duckdb"
    with server_module.SampleServer(n_articles=12) as sample:
        feeds = write_sample_feeds(sample.site, tmp_path)
        first = pipeline(db_path=str(db), feeds_file=str(feeds), only_due=False)
        assert first["status"] == "ok", first
        views = analytics_db_path(tmp_path / "published")
        analyst = duckdb.connect(str(views))
        try:
            before = analyst.execute("SELECT count(*) FROM analytics.runs").fetchone()
            for _ in range(2):
                result = pipeline(db_path=str(db), feeds_file=str(feeds), only_due=False)
                assert result["status"] == "ok", result
            # The open session still answers, from the generation it opened.
            held = analyst.execute("SELECT count(*) FROM analytics.runs").fetchone()
        finally:
            analyst.close()
        # A new session (all of this process's sessions on the file are closed) sees the runs.
        fresh = duckdb.connect(str(views), read_only=True)
        try:
            articles = fresh.execute("SELECT count(*) FROM analytics.articles").fetchone()
            after = fresh.execute("SELECT count(*) FROM analytics.runs").fetchone()
        finally:
            fresh.close()
    assert held == before
    assert articles == (len(sample.site.articles),)
    assert before is not None and after is not None and after[0] > before[0]
