"""Prefect on PostgreSQL with two process workers, running the scheduled pipeline.

PostgreSQL from the scale group's wheel on 127.0.0.1, ``prefect server start`` on it
(PREFECT_API_DATABASE_CONNECTION_URL), the process pool, ``prefect deploy --all`` with the
pipeline every 20 s, two workers on that pool, and the bundled sample site. The schedule must
create runs that both workers pick up and complete; then two runs started at the same moment
show the one-writer rule across workers: runs that wrote never overlap in raw.runs, and a run
that found the store held ends "Skipped" with no ledger rows. Nothing may be left running.
Slow (minutes): ``pytest -m slow tests/scale``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psutil
import pytest

from flows.cli import prefect_server as server
from sample.server import SampleServer
from transforms.feedlist import FeedConfig, dump_feeds_yaml
from warehouse import localpg

ROOT = Path(__file__).resolve().parents[2]
INTERVAL_S = 20


def call(api_url: str, method: str, path: str, body: Any = None) -> Any:
    with httpx.Client(base_url=api_url, timeout=30.0) as client:
        response = client.request(method, path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None


def runs_of(api_url: str, dep_id: str) -> list[dict[str, Any]]:
    return list(call(api_url, "POST", "/flow_runs/filter", {
        "deployments": {"id": {"any_": [dep_id]}}, "limit": 200}))


def wait_for(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(2.0)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def started_by(log: Path) -> set[str]:
    """Names of the flow runs a worker started a process for. ("submitting flow run <id>" is
    not enough: both workers try each run, and the server aborts the one that comes second.)"""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return set(re.findall(r"Flow run '([^']+)' submitted to infrastructure", text))


def count_pg_runs(pg: localpg.LocalPg) -> int:
    """Flow runs in Prefect's PostgreSQL database, read directly (not through the API)."""
    import asyncpg

    async def count() -> int:
        con = await asyncpg.connect(pg.url("prefect"))
        try:
            return int(await con.fetchval("SELECT count(*) FROM flow_run"))
        finally:
            await con.close()

    return asyncio.run(count())


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@pytest.fixture()
def stack(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    pg = localpg.start()
    timings["postgres_start_s"] = time.monotonic() - t0
    pg.create_database("prefect")
    # Every process server.up starts inherits this: the server keeps its state in PostgreSQL.
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL",
                       pg.url("prefect", driver="postgresql+asyncpg"))
    monkeypatch.setenv("PREFECT_HOME", str(workdir / "prefect-home"))
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "INFO")
    procs: list[psutil.Process] = []
    worker2: int | None = None
    state = workdir / "state"
    try:
        with SampleServer(n_articles=8) as site:
            feeds = workdir / "feeds.yaml"
            feeds.write_text(dump_feeds_yaml([FeedConfig(url=f.url, name=f.title, outlet=f.outlet)
                                              for f in site.site.feeds]), encoding="utf-8")
            db = workdir / "store" / "newsflow.duckdb"
            cfg = server.ServerConfig(
                project_dir=ROOT, state_dir=state, port=server.free_port(),
                interval_s=INTERVAL_S, startup_timeout_s=240.0,
                worker_env={"NEWSFLOW_DB_PATH": str(db), "NEWSFLOW_FEEDS_FILE": str(feeds),
                            "NEWSFLOW_PUBLISH_DIR": str(db.parent / "published"),
                            "NEWSFLOW_ALLOW_PRIVATE_ADDRESSES": "true",
                            "NEWSFLOW_PER_HOST_CONCURRENCY": "8",
                            "NEWSFLOW_EXTRACT_WORKERS": "1", "NEWSFLOW_RUN_CHECKS": "false"})
            t1 = time.monotonic()
            info = server.up(cfg)
            timings["server_up_s"] = time.monotonic() - t1  # server, migrations, pool, deploy, worker
            # The second worker: same pool, its own process (as on a second host).
            env = server.prefect_env(cfg.api_url, cfg.worker_env)
            with open(state / "worker2.log", "ab") as out:
                worker2 = subprocess.Popen(
                    [server._prefect(), "worker", "start", "--pool", cfg.pool, "--type", "process",
                     "--name", "newsflow-worker-2"], cwd=ROOT, env=env, stdout=out,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True).pid
            procs = tree(info["server_pid"]) + tree(info["worker_pid"]) + tree(worker2)
            yield {"cfg": cfg, "info": info, "db": db, "pg": pg, "state": state,
                   "timings": timings, "t0": t0, "worker2": worker2, "procs": procs}
    finally:
        if worker2 is not None:
            server.stop_tree(worker2)
        server.down(state)
        pg.stop()


@pytest.mark.slow
def test_prefect_on_postgres_two_workers_scheduled_runs_and_one_writer(
        stack: dict[str, Any]) -> None:
    cfg, state, timings = stack["cfg"], stack["state"], stack["timings"]
    api = cfg.api_url
    pipeline = str(call(api, "GET", "/deployments/name/pipeline/pipeline")["id"])

    # The schedule alone creates runs; both workers take some and complete them.
    t = time.monotonic()

    def scheduled_done() -> list[dict[str, Any]] | None:
        done = [r for r in runs_of(api, pipeline)
                if r["auto_scheduled"] and r["state_type"] == "COMPLETED"]
        w1, w2 = started_by(state / "worker.log"), started_by(state / "worker2.log")
        names = {r["name"] for r in done}
        return done if len(done) >= 2 and names & w1 and names & w2 else None

    completed = wait_for(scheduled_done, 600, "scheduled runs completed by both workers")
    timings["scheduled_runs_by_both_workers_s"] = time.monotonic() - t
    wrote_runs = [float(r["total_run_time"]) for r in completed if r["state_name"] == "Completed"]
    timings["writing_run_s_max"] = max(wrote_runs, default=0.0)
    timings["writing_run_s_min"] = min(wrote_runs, default=0.0)

    # The server really keeps its state in PostgreSQL: the runs are rows there.
    assert count_pg_runs(stack["pg"]) >= len(completed)

    # Stop the schedule, then start two runs at once: a race for the store.
    call(api, "PATCH", f"/deployments/{pipeline}", {"paused": True})
    for r in runs_of(api, pipeline):
        if r["state_type"] == "SCHEDULED":
            call(api, "DELETE", f"/flow_runs/{r['id']}")
    wait_for(lambda: not [r for r in runs_of(api, pipeline)
                          if r["state_type"] in {"RUNNING", "PENDING", "SCHEDULED"}], 300,
             "runs to settle")
    pair = [call(api, "POST", f"/deployments/{pipeline}/create_flow_run",
                 {"parameters": {"only_due": False}})["id"] for _ in range(2)]
    wait_for(lambda: all(call(api, "GET", f"/flow_runs/{r}")["state_type"] == "COMPLETED"
                         for r in pair), 300, "the two simultaneous runs to finish")

    runs = {r["id"]: r for r in runs_of(api, pipeline)}
    assert all(r["state_type"] in {"COMPLETED", "SCHEDULED", "CANCELLED"} for r in runs.values()), \
        {r["id"]: r["state_name"] for r in runs.values()}
    names = {r["state_name"] for r in runs.values() if r["state_type"] == "COMPLETED"}
    con = duckdb.connect(str(stack["db"]), read_only=True)
    try:
        # A run that got in opened its ledger with a 'running' row; a run that met the lock
        # wrote nothing itself, and the next writer recorded it from the side note as one
        # 'skipped_locked' row (warehouse.ledger.fold_journal).
        spans = con.execute(
            "SELECT run_id, min(started_at), max(coalesce(finished_at, started_at)) FROM raw.runs"
            " GROUP BY run_id HAVING count(*) FILTER (WHERE status = 'running') > 0"
            " ORDER BY 2").fetchall()
        recorded_skipped = {r[0] for r in con.execute(
            "SELECT run_id FROM raw.runs GROUP BY run_id"
            " HAVING bool_and(status = 'skipped_locked')").fetchall()}
        articles = con.execute("SELECT count(*) FROM core.articles").fetchone()
    finally:
        con.close()
    wrote = {s[0] for s in spans}
    skipped = {i for i, r in runs.items() if r["state_name"] == "Skipped"}
    print(f"\nruns: {len(runs)} ({sorted(names)}), wrote: {len(wrote)}, skipped: {len(skipped)} "
          f"({len(recorded_skipped)} recorded so far); "
          f"timings: { {k: round(v, 1) for k, v in timings.items()} }")
    assert articles is not None and articles[0] > 0
    # Every completed run that was not skipped wrote its ledger; skipped ones wrote nothing, and
    # those a later writer recorded are exactly skipped flow runs.
    assert {i for i, r in runs.items() if r["state_name"] == "Completed"} <= wrote
    assert not skipped & wrote
    assert recorded_skipped <= skipped
    # Never two writers at once: the writing runs' spans follow one another.
    for (a, _, a_end), (b, b_start, _) in itertools.pairwise(spans):
        assert b_start >= a_end, f"{b} started at {b_start} while {a} wrote until {a_end}"
    # The simultaneous pair each wrote (one after the other, as checked above) or met the
    # other's lock; and some runs did meet a held lock (overlapping scheduled runs or the pair),
    # so the rule was exercised, not just unneeded.
    assert set(pair) <= wrote | skipped
    assert skipped, "no run met another's lock: the race did not happen"
    timings["skipped_runs"] = len(skipped)

    # Down: every process stopped, PostgreSQL too.
    procs = stack["procs"] + tree(stack["info"]["worker_pid"]) + tree(stack["worker2"])
    server.stop_tree(stack["worker2"])
    server.down(state)
    pg: localpg.LocalPg = stack["pg"]
    pg.stop()
    _, alive = psutil.wait_procs(list({p.pid: p for p in procs}.values()), timeout=15)
    assert not alive, [p.pid for p in alive]
    assert not psutil.pid_exists(pg.pid) or psutil.Process(pg.pid).status() == psutil.STATUS_ZOMBIE
    assert not pg.root.exists()
