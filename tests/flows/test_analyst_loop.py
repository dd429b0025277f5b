"""Issue 14's acceptance: every analyst command, in a loop, during three pipeline runs on the
sample: no analyst command fails, and no run is skipped because of an analyst.

The analyst is another process (DuckDB's locks are per process) that runs `sql` (a query and a
search), `search`, `stories`, `feeds list`, `quality`, `status` and `export` one after the other
until told to stop, recording each exit status; this process runs the pipeline three times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.sample_mode import sample_settings

ROOT = Path(__file__).resolve().parents[2]

ANALYST = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from typer.testing import CliRunner
    from flows.cli import app

    db, stop, log, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    commands = {
        "sql": ["sql", "SELECT outlet, count(*) FROM analytics.articles GROUP BY ALL"],
        "sql search()": ["sql", "SELECT rank, title FROM analytics.search('council') LIMIT 3"],
        "search": ["search", "council"],
        "stories": ["stories"],
        "feeds list": ["feeds", "list"],
        "quality": ["quality"],
        "status": ["status"],
        "export": ["export", "csv", "--out", out],
    }
    runner = CliRunner()
    with log.open("w", encoding="utf-8") as handle:
        print("looping", flush=True)
        while not stop.exists():
            for name, args in commands.items():
                started = time.time()
                result = runner.invoke(app, [*args, "--db", db])
                line = (result.stderr or "").strip().splitlines()
                handle.write(json.dumps({"command": name, "exit": result.exit_code,
                                         "error": line[-1] if line else "",
                                         "from": started, "to": time.time()}) + "\\n")
                handle.flush()
""")


@pytest.mark.slow
def test_every_analyst_command_answers_during_three_runs(tmp_path: Path) -> None:
    from flows.pipeline import run_pipeline
    from sample.server import SampleServer
    from warehouse.store import Store

    db = tmp_path / "newsflow.duckdb"
    stop, log = tmp_path / "stop", tmp_path / "analyst.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    with SampleServer(n_articles=12) as server:
        settings = sample_settings(server, tmp_path)
        first = run_pipeline(settings, run_id="loop-0", only_due=False)  # the first copy
        assert first["status"] == "ok", first
        analyst = subprocess.Popen(
            [sys.executable, "-c", ANALYST, str(db), str(stop), str(log),
             str(tmp_path / "export.csv")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            assert analyst.stdout is not None and analyst.stdout.readline().strip() == "looping"
            statuses, windows = [], []
            for n in range(1, 4):
                started = time.time()
                result = run_pipeline(settings, run_id=f"loop-{n}", only_due=False)
                windows.append((started, time.time()))
                statuses.append(result["status"])
                print(f"run {n}: {result['status']} in {windows[-1][1] - started:.1f}s")
        finally:
            stop.touch()
            _, err = analyst.communicate(timeout=300)
    assert analyst.returncode == 0, err
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    calls = Counter(r["command"] for r in records)
    failed = [r for r in records if r["exit"] != 0]
    print(f"{len(records)} analyst commands during 3 runs: {dict(calls)}; failed: {len(failed)}")
    assert statuses == ["ok", "ok", "ok"]
    assert not failed, failed[:5]
    assert len(calls) == 8 and min(calls.values()) >= 3  # every command, again and again
    # the analyst really was at work while each run wrote and published
    during = [sum(r["from"] < end and r["to"] > start for r in records) for start, end in windows]
    print(f"analyst commands overlapping each run: {during}")
    assert all(during), during
    with Store.open(db) as store:  # the ledger agrees: no run of the four was skipped
        rows = store.con.execute(
            "SELECT run_id, list(DISTINCT status) FROM analytics.runs GROUP BY run_id").fetchall()
    assert {run for run, _ in rows} == {f"loop-{n}" for n in range(4)}
    assert not [r for r in rows if "skipped_locked" in r[1]], rows
