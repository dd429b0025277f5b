"""FAULTS case 78: one poison feed among many costs only itself.

50 healthy feeds and 4 poison ones (a server that never answers, a billion-laughs document, a
ReDoS author field, an HTML page) on a local server in its own process: the run ends 'partial',
every healthy feed is ingested, each poison feed is recorded with its reason, and the run's wall
time is bounded by the per-feed budgets, not by the worst feed.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bench.feeds import feed_xml
from flows.ingest_feeds import ingest
from flows.settings import Settings
from transforms.feedlist import FeedConfig
from warehouse.store import Store

LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "lol">'
          + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode()
                     for i in range(9))
          + b']><rss version="2.0"><channel><title>&j;</title><item><title>&j;</title>'
            b"<link>http://127.0.0.1/x</link></item></channel></rss>")
REDOS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>r</title>'
         + b"".join(b"<item><title>t%d</title><link>http://127.0.0.1/r/%d</link><author>a@"
                    % (i, i) + b"a." * 16000 + b"!</author></item>" for i in range(50))
         + b"</channel></rss>")
HTML = b"<!doctype html><html><head><title>Sign in</title></head><body><form>login</form></body></html>"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/hang.xml":
            time.sleep(60)
            return
        body, ctype = {
            "/laughs.xml": (LAUGHS, "application/rss+xml"),
            "/redos.xml": (REDOS, "application/rss+xml"),
            "/login.xml": (HTML, "text/html"),
        }.get(self.path, (None, "application/rss+xml"))
        if body is None:
            body = feed_xml(int(self.path.rsplit("/", 1)[-1].split(".")[0]), 3)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(ready: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ready.put(server.server_address[1])
    server.serve_forever()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(ready,), daemon=True)
    proc.start()
    try:
        # a spawned interpreter: on a loaded 2-core machine running two test workers it has taken
        # over 30 s to start
        yield f"http://127.0.0.1:{ready.get(timeout=120)}"
    finally:
        proc.terminate()
        proc.join()


def test_case_78_poison_feeds_cost_only_themselves(base_url: str, tmp_path: Path) -> None:
    healthy = [FeedConfig(url=f"{base_url}/feed/{i}.xml", name=f"ok {i}") for i in range(50)]
    poison = [FeedConfig(url=f"{base_url}/{name}.xml", name=name)
              for name in ("hang", "laughs", "redos", "login")]
    feeds = healthy[:20] + poison + healthy[20:]
    settings = Settings(db_path=tmp_path / "p.duckdb", allow_private_addresses=True,
                        deadline_s=3, connect_timeout_s=2, parse_timeout_s=3, max_attempts=1,
                        per_host_concurrency=8, total_concurrency=8, run_checks=False)
    started = time.perf_counter()
    with Store.open(settings.db_path) as store:
        result = ingest(store, settings, feeds, run_id="poison", only_due=False)
        elapsed = time.perf_counter() - started
        per_feed = dict(store.con.execute(
            "SELECT url, coalesce(error_class, parse_outcome) FROM raw.feed_fetches").fetchall())
        entries = dict(store.con.execute(
            "SELECT feed_id, count(*) FROM raw.feed_entries GROUP BY ALL").fetchall())
        health = dict(store.con.execute("SELECT name, status FROM core.feeds").fetchall())
    assert result["status"] == "partial", result
    assert result["feeds_failed"] >= 3
    assert len(entries) >= 50  # every healthy feed (the ReDoS feed may parse, capped)
    assert per_feed[f"{base_url}/hang.xml"] in {"deadline", "timeout"}
    assert per_feed[f"{base_url}/login.xml"] == "not_a_feed"
    assert per_feed[f"{base_url}/laughs.xml"] in {"unsafe_xml", "malformed", "ok", "bozo_recovered"}
    assert health["hang"] == "failing" and health["login"] == "failing"
    assert all(health[f"ok {i}"] == "ok" for i in range(50))
    # bounded by per-feed budgets (deadline 3 s, parse 3 s), not 60 s of the hanging server
    assert elapsed < 45, elapsed
