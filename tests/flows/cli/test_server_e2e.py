"""End to end on a real Prefect server: up, scheduled and triggered runs, the store, and down.

``prefect server start`` on a free 127.0.0.1 port, the process pool, ``prefect deploy --all`` from
prefect.yaml, a worker; the pipeline's schedule (shortened by the interval setting) must create
and complete runs on its own; then pipeline and backfill runs are triggered through the server
with ``prefect deployment run`` and parameters. ``down`` must leave no process behind.
The full run is slow (a few minutes): ``pytest -m slow``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psutil
import pytest
from typer.testing import CliRunner

from flows.cli import prefect_server as server
from flows.cli import server as cli_server
from flows.settings import Settings

ROOT = Path(__file__).resolve().parents[3]  # tests/flows/cli/<this file> -> the project
N_ARTICLES = 5


def article_html(i: int) -> bytes:
    body = " ".join(f"Paragraph {k} of report {i}: the harbour council met again on Tuesday and "
                    f"agreed a plan for the bridge, the school and the market square."
                    for k in range(12))
    return (f"<html><head><title>Report {i}</title></head><body><nav>Home | Subscribe</nav>"
            f"<article><h1>Report {i}</h1><p>{body}</p><p>{body[:300]}</p></article>"
            f"<footer>Example Gazette</footer></body></html>").encode()


def feed_xml(base: str, now: datetime) -> bytes:
    items = "".join(
        f"<item><title>Report {i}</title><link>{base}/a/{i}</link><guid>{base}/a/{i}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(hours=i))}</pubDate></item>"
        for i in range(N_ARTICLES))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Gazette</title>'
            f"<link>{base}/</link><description>d</description>{items}</channel></rss>").encode()


class Site:
    """A tiny news site on 127.0.0.1: one RSS feed and its article pages."""

    def __init__(self) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/feed.xml":
                    body, ctype = feed_xml(site.base, now), "application/rss+xml"
                elif (m := re.fullmatch(r"/a/(\d+)", self.path)) and int(m[1]) < N_ARTICLES:
                    body, ctype = article_html(int(m[1])), "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def call(cfg: server.ServerConfig, method: str, path: str, body: Any = None) -> Any:
    """One API call; a busy SQLite-backed server may answer 503 for a moment, so retry those."""
    with httpx.Client(base_url=cfg.api_url, timeout=20.0) as client:
        for _ in range(30):
            response = client.request(method, path, json=body)
            if response.status_code != 503:
                break
            time.sleep(1.0)
        response.raise_for_status()
        return response.json() if response.content else None


def deployment_id(cfg: server.ServerConfig, flow: str, name: str) -> str:
    return str(call(cfg, "GET", f"/deployments/name/{flow}/{name}")["id"])


def runs_of(cfg: server.ServerConfig, dep_id: str) -> list[dict[str, Any]]:
    return list(call(cfg, "POST", "/flow_runs/filter", {
        "deployments": {"id": {"any_": [dep_id]}}, "limit": 200}))


def wait_for(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1.0)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def deployment_run(cfg: server.ServerConfig, name: str, *params: str) -> str:
    """``prefect deployment run`` with parameters and --watch; return the flow run id."""
    argv = [server._prefect(), "deployment", "run", name, "--watch", "--watch-timeout", "240"]
    for p in params:
        argv += ["-p", p]
    done = subprocess.run(argv, cwd=ROOT, env=server.prefect_env(cfg.api_url),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", done.stdout)
    assert match, done.stdout
    return match[1]


def state_of(cfg: server.ServerConfig, run_id: str) -> str:
    return str(call(cfg, "GET", f"/flow_runs/{run_id}")["state_type"])


def process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@pytest.fixture()
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    # Everything Prefect keeps (its SQLite database, profiles) stays in the test's folder.
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "INFO")
    with Site() as site:
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - url: {site.base}/feed.xml\n    name: Gazette\n",
                         encoding="utf-8")
        db = tmp_path / "store" / "newsflow.duckdb"
        extra = {}
        if "publish_dir" in Settings.model_fields:  # the published copy stays in tmp_path too
            extra["NEWSFLOW_PUBLISH_DIR"] = str(db.parent / "published")
        cfg = server.ServerConfig(
            project_dir=ROOT, state_dir=tmp_path / "state", port=server.free_port(),
            interval_s=15,
            worker_env={"NEWSFLOW_DB_PATH": str(db), "NEWSFLOW_FEEDS_FILE": str(feeds),
                        "NEWSFLOW_ALLOW_PRIVATE_ADDRESSES": "true",
                        "NEWSFLOW_PER_HOST_CONCURRENCY": "8", "NEWSFLOW_EXTRACT_WORKERS": "1",
                        **extra})
        try:
            info = server.up(cfg)
            yield {"cfg": cfg, "info": info, "db": db}
        finally:
            server.down(cfg.state_dir)


@pytest.mark.slow
def test_server_up_schedules_runs_triggers_backfill_and_down_leaves_nothing(
        stack: dict[str, Any]) -> None:
    cfg: server.ServerConfig = stack["cfg"]
    info = stack["info"]
    t0 = time.monotonic()
    assert info["ui_url"] == f"http://127.0.0.1:{cfg.port}"
    assert server.status(cfg.state_dir)["healthy"]
    pipeline = deployment_id(cfg, "pipeline", "pipeline")
    deployment_id(cfg, "backfill", "backfill")
    deployment_id(cfg, "quality_report", "quality_report")

    # The schedule alone creates runs, and the worker completes them.
    completed = wait_for(
        lambda: [r for r in runs_of(cfg, pipeline)
                 if r["state_type"] == "COMPLETED" and r["auto_scheduled"]],
        240, "a scheduled pipeline run to complete")
    assert completed
    print(f"first scheduled run completed {time.monotonic() - t0:.0f}s after up")
    # Stop the schedule so the triggered runs below are the only writers.
    call(cfg, "PATCH", f"/deployments/{pipeline}", {"paused": True})
    wait_for(lambda: not [r for r in runs_of(cfg, pipeline)
                          if r["state_type"] in {"RUNNING", "PENDING"}], 120, "runs to settle")

    run_id = deployment_run(cfg, "pipeline/pipeline", "only_due=false")
    assert state_of(cfg, run_id) == "COMPLETED"
    print(f"triggered pipeline run completed at {time.monotonic() - t0:.0f}s")
    today = datetime.now(UTC).date()
    backfill_id = deployment_run(cfg, "backfill/backfill", "source=raw",
                                 f"since={today - timedelta(days=1)}", f"until={today}")
    assert state_of(cfg, backfill_id) == "COMPLETED"
    print(f"backfill run completed at {time.monotonic() - t0:.0f}s")

    con = duckdb.connect(str(stack["db"]), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM core.articles").fetchone() == (N_ARTICLES,)
        flows = dict(con.execute(
            "SELECT run_id, any_value(flow) FROM raw.runs GROUP BY run_id").fetchall())
    finally:
        con.close()
    assert run_id in flows  # the triggered run wrote its ledger rows
    assert backfill_id in flows
    # Scheduled runs wrote the ledger too (one that met another's lock wrote nothing: skipped).
    scheduled = [r["id"] for r in runs_of(cfg, pipeline)
                 if r["auto_scheduled"] and r["state_type"] == "COMPLETED"]
    assert any(r in flows for r in scheduled)

    if "NEWSFLOW_PUBLISH_DIR" in cfg.worker_env:  # runs publish: analysts see the articles
        con = duckdb.connect(str(stack["db"].parent / "analytics.duckdb"), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM analytics.articles").fetchone() == (N_ARTICLES,)
        finally:
            con.close()

    # Down stops every process up started, children included.
    procs = process_tree(info["server_pid"]) + process_tree(info["worker_pid"])
    assert procs
    stopped = server.down(cfg.state_dir)
    assert stopped["server"] and stopped["worker"]
    _, alive = psutil.wait_procs(procs, timeout=10)
    assert not alive, [p.pid for p in alive]
    assert not server.status(cfg.state_dir)["healthy"]
    assert not any(os.path.exists(cfg.state_dir / f"{n}.pid") for n in server.PROCESSES)


def test_cli_with_nothing_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    runner = CliRunner()
    state = str(tmp_path / "state")
    done = runner.invoke(cli_server.app, ["status", "--state-dir", state])
    assert done.exit_code == 0, done.output
    assert "server: stopped, worker: stopped" in done.output
    assert "no Prefect API reachable" in done.output
    done = runner.invoke(cli_server.app, ["down", "--state-dir", state])
    assert done.exit_code == 0 and "nothing running" in done.output
    assert cli_server.reachable_api(tmp_path / "state") is None


def test_down_stops_a_tree_that_ignores_the_first_signal(tmp_path: Path) -> None:
    """Like a Prefect worker: the first SIGTERM is only noted, a second one ends it; a child
    that ignores SIGTERM altogether is killed after the grace period."""
    script = (
        "import signal, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)'],"
        " stdout=subprocess.PIPE)\n"
        "child.stdout.readline()\n"
        "hits = []\n"
        "signal.signal(signal.SIGTERM, lambda *a: hits.append(1) if not hits else sys.exit(0))\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(0.1)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    tree = process_tree(proc.pid)
    assert len(tree) == 2
    state = tmp_path / "state"
    state.mkdir()
    (state / "worker.pid").write_text(f"{proc.pid} {tree[0].create_time()}", encoding="utf-8")
    assert server.running_pid(state, "worker") == proc.pid
    stopped = server.down(state, grace_s=2.0)
    assert sorted(stopped["worker"]) == sorted(p.pid for p in tree)
    proc.wait(timeout=5)
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert not alive
    assert server.running_pid(state, "worker") is None
