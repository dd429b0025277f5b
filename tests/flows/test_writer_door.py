"""Every writer entry point goes through the one writer door (warehouse.access.open_writer):
a store held by another process makes it end ``skipped_locked`` naming the holder's PID, and
low disk space refuses it before anything is written (FAULTS 67, 69, 71)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.backfill import backfill
from flows.extract_articles import extract_articles
from flows.fetch_pages import fetch_pages
from flows.ingest_feeds import ingest_feeds
from flows.pipeline import pipeline
from flows.quality_report import quality_report
from flows.rebuild import rebuild
from warehouse.store import Store

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 20)

# (name, flow, its parameters): every flow that writes the store
ENTRY_POINTS: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
    ("pipeline", pipeline, {}),
    ("ingest_feeds", ingest_feeds, {}),
    ("fetch_pages", fetch_pages, {}),
    ("extract_articles", extract_articles, {}),
    ("rebuild", rebuild, {}),
    ("backfill", backfill, {"source": "raw", "since": DAY, "until": DAY}),
    ("quality_report", quality_report, {"day": DAY}),
]

DUCKDB_HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])   # read-write, as the DuckDB CLI or a BI tool would
    print("holding", flush=True)
    time.sleep(120)
""")
LOCK_HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from warehouse.lock import writer_lock
    with writer_lock(Path(sys.argv[1])):   # another newsflow writer, mid-run
        print("holding", flush=True)
        time.sleep(120)
""")


@pytest.fixture()
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An existing store and settings (by environment, as a deployment has them); the one feed
    points at a closed local port, so nothing is fetched from anywhere."""
    db = tmp_path / "newsflow.duckdb"
    Store.open(db).close()
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: http://127.0.0.1:9/feed.xml\n    name: Closed\n",
                     encoding="utf-8")
    for name, value in {"DB_PATH": db, "FEEDS_FILE": feeds, "ALLOW_PRIVATE_ADDRESSES": "true",
                        "RUN_CHECKS": "false", "PUBLISH_DIR": tmp_path / "published",
                        "DOCS_DIR": tmp_path / "docs", "EXTRACT_WORKERS": "1"}.items():
        monkeypatch.setenv(f"NEWSFLOW_{name}", str(value))
    return db


@pytest.fixture()
def holder(request: pytest.FixtureRequest, store_env: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", request.param, str(store_env)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "holding\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _runs(db: Path) -> int:
    with Store.open(db) as store:
        return store.count("raw.runs")


@pytest.mark.parametrize("holder", [DUCKDB_HOLDER, LOCK_HOLDER], indirect=True,
                         ids=["duckdb-file-held", "newsflow-writer-lock-held"])
@pytest.mark.parametrize(("name", "flow", "params"), ENTRY_POINTS, ids=[e[0] for e in ENTRY_POINTS])
def test_every_writer_skips_a_held_store_naming_the_holder(
        prefect_harness: None, store_env: Path, holder: subprocess.Popen[str], name: str,
        flow: Any, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # a backfill waits for a scheduled run to finish; here, not for ten minutes
    monkeypatch.setattr("flows.backfill.chunk.__defaults__", (0.0,))
    state = flow(**params, return_state=True)
    assert state.name == "Skipped", (name, state)
    result = state.result()
    assert result["status"] == "skipped_locked", (name, result)
    assert f"PID {holder.pid}" in result["message"], (name, result["message"])
    holder.kill()
    holder.wait()
    assert _runs(store_env) == 0  # nothing was written


@pytest.mark.parametrize(("name", "flow", "params"), ENTRY_POINTS, ids=[e[0] for e in ENTRY_POINTS])
def test_every_writer_refuses_to_start_on_low_disk(
        prefect_harness: None, store_env: Path, name: str, flow: Any, params: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_MIN_FREE_MB", str(10**9))  # a petabyte: never free here
    before = store_env.read_bytes()
    state = flow(**params, return_state=True)
    assert state.is_failed(), (name, state)
    with pytest.raises(Exception, match=r"refusing to start: .* MiB free") as refused:
        state.result()
    assert type(refused.value).__name__ == "LowDiskSpaceError"
    assert store_env.read_bytes() == before  # not even opened for writing
