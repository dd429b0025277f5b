"""Issue 15 acceptance: alerts through Prefect, end to end on a real server.

``server up`` (127.0.0.1, a free port) creates the alert automations, notifying a Custom Webhook
block that points at a receiver in this test; ``newsflow run`` then runs on that server with a
feed set that fails (a feed gone, a feed silent for 72 h against an hourly cadence) and the
sample's planted defects (a blocking check fails). The API must show the flow run Failed with a
task run per stage, and the receiver must get the failed run, the feed and the check alerts
within a minute. Slow (a Prefect server and a full run): ``pytest -m slow``.
"""

from __future__ import annotations

import json
import os
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

import httpx
import pytest

from flows.cli import prefect_server as server
from sample.server import SampleServer
from transforms.errors import ValidationFailedError
from transforms.feedlist import FeedConfig, dump_feeds_yaml

ROOT = Path(__file__).resolve().parents[3]
NEWSFLOW = str(Path(sys.executable).with_name("newsflow"))


class Receiver:
    """A webhook receiver and two troubled feeds on one 127.0.0.1 port."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        now = datetime.now(UTC).replace(microsecond=0)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    receiver.posts.append(json.loads(body or b"{}"))
                except ValueError:
                    receiver.posts.append({"raw": body.decode("utf-8", "replace")})
                self.send_response(204)
                self.end_headers()

            def do_GET(self) -> None:
                if self.path == "/gone.xml":
                    self.send_error(410)
                    return
                if self.path != "/silent.xml":
                    self.send_error(404)
                    return
                base = receiver.base
                items = "".join(  # hourly, the newest 72 h old: silent
                    f"<item><title>Old {i}</title><link>{base}/old/{i}</link>"
                    f"<guid>{base}/old/{i}</guid><pubDate>"
                    f"{format_datetime(now - timedelta(hours=72 + i))}</pubDate></item>"
                    for i in range(8))
                body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet'
                        f"</title><link>{base}/</link><description>d</description>{items}"
                        f"</channel></rss>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def texts(self) -> list[str]:
        return [json.dumps(p) for p in list(self.posts)]


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.mark.slow
def test_a_failed_run_on_a_server_is_failed_per_stage_and_alerts_reach_the_webhook(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    cfg = server.ServerConfig(
        project_dir=ROOT, state_dir=tmp_path / "state", port=server.free_port(),
        interval_s=3600, alert_block="custom-webhook/newsflow-alerts-test",
        alert_webhook_url=f"{receiver.base}/hook",
        # scheduled runs (if any) write elsewhere, never into the store under test
        worker_env={"NEWSFLOW_DB_PATH": str(tmp_path / "scheduled" / "n.duckdb"),
                    "NEWSFLOW_FEEDS_FILE": str(tmp_path / "none.yaml")})
    steps: list[str] = []
    with SampleServer(n_articles=8, defects=True) as sample:
        try:
            info = server.up(cfg, say=steps.append)
            assert len(info["alerts"]) == 5, info
            assert any("alert automations" in s for s in steps), steps
            feeds = tmp_path / "feeds.yaml"
            feeds.write_text(dump_feeds_yaml([
                *[FeedConfig(url=f.url, name=f.title, outlet=f.outlet) for f in sample.site.feeds],
                FeedConfig(url=f"{receiver.base}/silent.xml", name="Quiet"),
                FeedConfig(url=f"{receiver.base}/gone.xml", name="Gone")]), encoding="utf-8")
            env = {**os.environ, "PREFECT_API_URL": cfg.api_url,
                   "NEWSFLOW_ALLOW_PRIVATE_ADDRESSES": "true", "NEWSFLOW_EXTRACT_WORKERS": "1",
                   "NEWSFLOW_PER_HOST_CONCURRENCY": "8", "PREFECT_LOGGING_LEVEL": "INFO"}
            t0 = time.monotonic()
            done = subprocess.run(
                [NEWSFLOW, "run", "--db", str(tmp_path / "n.duckdb"),
                 "--feeds", str(feeds)], cwd=ROOT, env=env, capture_output=True, text=True,
                timeout=900, check=False)
            ran = time.monotonic()
            print(f"run took {ran - t0:.0f}s")
            assert done.returncode == ValidationFailedError.exit_code, done.stderr[-3000:]
            assert "Traceback" not in done.stderr

            api = httpx.Client(base_url=cfg.api_url, timeout=20.0)
            runs = api.post("/flow_runs/filter", json={
                "flows": {"name": {"any_": ["pipeline"]}}, "limit": 10}).json()
            ours = [r for r in runs if not r.get("deployment_id")]
            assert len(ours) == 1, runs
            run = ours[0]
            assert run["state_type"] == "FAILED", run["state"]
            assert run["state"]["message"].startswith("validation_failed"), run["state"]
            tasks = api.post("/task_runs/filter", json={
                "flow_runs": {"id": {"any_": [run["id"]]}}, "limit": 50}).json()
            stages = {t["name"]: t["state_type"] for t in tasks}
            assert {"ingest", "fetch", "extract", "checks", "publish"} <= set(stages), stages
            assert "FAILED" in stages.values(), stages

            wanted = {"failed run": lambda t: "pipeline run Failed" in t,
                      "silent feed": lambda t: "newsflow.feed.silent" in t,
                      "gone feed": lambda t: "newsflow.feed.gone" in t,
                      "failed check": lambda t: "newsflow.check.failed" in t}
            deadline = ran + 60
            missing = list(wanted)
            while missing and time.monotonic() < deadline:
                texts = receiver.texts()
                missing = [k for k, seen in wanted.items() if not any(map(seen, texts))]
                time.sleep(1)
            print(f"alerts received within {time.monotonic() - ran:.0f}s of the run's end: "
                  f"{len(receiver.posts)} posts")
            assert not missing, (missing, receiver.texts())
            # the payload names the feed and why ("no new entry for 72.0 h against ...")
            ours = [p for p in receiver.texts() if "newsflow.feed.silent" in p
                    and "silent.xml" in p]
            assert ours and "no new entry for 7" in ours[0], receiver.texts()
        finally:
            server.down(cfg.state_dir)
