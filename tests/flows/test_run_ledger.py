"""The run ledger (issue 18): every run has a run-level row when it starts and one when it
ends; a run that died shows as died once the next run starts; a run that could not get in
(skipped_locked) is recorded by the next writer; a failure after the stages fails the run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.pipeline import run_pipeline
from sample.server import SampleServer
from tests.flows.crashkit import run
from tests.flows.test_writer_door import LOCK_HOLDER
from tests.sample_mode import sample_settings
from warehouse.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample() -> Iterator[SampleServer]:
    with SampleServer(n_articles=6) as server:
        yield server


def _feeds(sample: SampleServer, folder: Path) -> Path:
    from flows.cli.feeds import write_sample_feeds

    return write_sample_feeds(sample.site, folder)


def _run_rows(db: Path) -> dict[str, list[str]]:
    """Each run's run-level statuses, in the order they were recorded."""
    with Store.open(db) as store:
        rows = store.con.execute(
            "SELECT run_id, status FROM raw.runs WHERE stage = 'run' "
            "ORDER BY run_id, recorded_at, status = 'running' DESC").fetchall()
    found: dict[str, list[str]] = {}
    for run_id, status in rows:
        found.setdefault(run_id, []).append(status)
    return found


def _view_status(db: Path, run_id: str) -> str:
    with Store.open(db) as store:
        return str(store.scalar("SELECT status FROM analytics.runs WHERE run_id = ? AND "
                                "stage = 'run'", [run_id]))


def test_a_killed_run_shows_as_died_once_the_next_run_starts(
        sample: SampleServer, tmp_path: Path) -> None:
    feeds = _feeds(sample, tmp_path)
    db = tmp_path / "ledger.duckdb"
    killed = run(db, feeds, "killed-1", "extract:before_commit")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _run_rows(db) == {"killed-1": ["running"]}
    assert _view_status(db, "killed-1") == "incomplete"
    again = run(db, feeds, "next-1")
    assert again.returncode == 0, again.stderr[-3000:]
    assert _run_rows(db) == {"killed-1": ["running", "died"], "next-1": ["running", "ok"]}
    assert _view_status(db, "killed-1") == "died"
    with Store.open(db) as store:
        message = store.scalar("SELECT message FROM raw.runs WHERE run_id = 'killed-1' "
                               "AND status = 'died'")
    assert "without closing the run" in message


def test_a_skipped_run_is_recorded_by_the_next_writer(sample: SampleServer,
                                                       tmp_path: Path) -> None:
    feeds = _feeds(sample, tmp_path)
    db = tmp_path / "ledger.duckdb"
    first = run(db, feeds, "first-1")
    assert first.returncode == 0, first.stderr[-3000:]
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(db)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        locked = run(db, feeds, "locked-1")
        assert locked.returncode == 0 and locked.stdout.split()[-1] == "skipped_locked"
    finally:
        holder.kill()
        holder.wait()
    assert "locked-1" not in _run_rows(db)  # the store was another writer's
    after = run(db, feeds, "after-1")
    assert after.returncode == 0, after.stderr[-3000:]
    rows = _run_rows(db)
    assert rows["locked-1"] == ["skipped_locked"]
    assert rows["after-1"] == ["running", "ok"]
    with Store.open(db) as store:
        message = store.scalar("SELECT message FROM raw.runs WHERE run_id = 'locked-1'")
    assert f"PID {holder.pid}" in message
    assert not (tmp_path / "ledger.duckdb.skipped.jsonl").exists()


def test_a_failure_after_the_stages_fails_the_run(sample: SampleServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sample_settings(sample, tmp_path, "ledger.duckdb", extract_workers=1)

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("flows.pipeline.publish", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run_pipeline(settings, run_id="full-1", only_due=False)
    assert _run_rows(settings.db_path) == {"full-1": ["running", "failed"]}
    with Store.open(settings.db_path) as store:
        stages = dict(store.con.execute(
            "SELECT stage, status FROM analytics.runs WHERE run_id = 'full-1'").fetchall())
        message = store.scalar("SELECT message FROM raw.runs WHERE run_id = 'full-1' "
                               "AND stage = 'run' AND status = 'failed'")
    assert stages["extract_articles"] == "ok" and stages["run"] == "failed"
    assert "No space left" in message


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["ingest:before_commit", "fetch:after_commit",
                                   "extract:after_commit",
                                   "publish:generation_written", "publish:switched"])
def test_a_run_killed_in_any_phase_never_shows_ok(sample: SampleServer, tmp_path: Path,
                                                  phase: str) -> None:
    feeds = _feeds(sample, tmp_path)
    db = tmp_path / "ledger.duckdb"
    killed = run(db, feeds, "killed-1", phase)
    assert killed.returncode == -9, (phase, killed.stderr[-2000:])
    assert _run_rows(db)["killed-1"] == ["running"]
    assert _view_status(db, "killed-1") == "incomplete"
    assert run(db, feeds, "next-1").returncode == 0
    rows = _run_rows(db)
    assert rows["killed-1"] == ["running", "died"] and rows["next-1"] == ["running", "ok"]
