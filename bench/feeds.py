"""`make bench-feeds`: poll 1,000 local feeds twice with newsflow, and once with a bare loop.

The first poll fetches, parses and stores every feed; the second finds them all unchanged
(304 Not Modified) and must write no entries. The bare loop is what many scripts do:
``httpx.get`` then ``feedparser.parse`` one feed after another, storing nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

START = datetime(2026, 11, 16, tzinfo=UTC)


def feed_xml(i: int, items: int) -> bytes:
    """A small RSS 2.0 feed, different for each i, stable across calls."""
    entries = []
    for j in range(items):
        when = (START + timedelta(hours=i % 24 + j)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        entries.append(
            f"<item><title>Feed {i} story {j}</title><link>http://127.0.0.1/a/{i}/{j}</link>"
            f"<guid>urn:bench:{i}:{j}</guid><pubDate>{when}</pubDate>"
            f"<description>Summary of story {j} from feed {i}.</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Bench feed {i}</title><link>http://127.0.0.1/</link>"
            f"<description>b</description>{''.join(entries)}</channel></rss>").encode()


class FeedHandler(BaseHTTPRequestHandler):
    items = 10

    def do_GET(self) -> None:
        i = int(self.path.rsplit("/", 1)[-1].split(".")[0])
        body = feed_xml(i, self.items)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(ready: Any) -> None:
    """Serve the bench feeds on a free 127.0.0.1 port until terminated."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.daemon_threads = True
    ready.put(server.server_address[1])
    server.serve_forever()


def bare_loop(urls: list[str]) -> float:
    import feedparser
    import httpx

    start = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for url in urls:
            response = client.get(url)
            feedparser.parse(response.content)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8, help="per-host concurrency")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from flows.ingest_feeds import ingest
    from flows.settings import Settings
    from transforms.feedlist import FeedConfig
    from warehouse.store import Store

    console = Console(width=max(Console().width, 110))
    # The server gets its own process: in-process server threads would share the GIL with the
    # client being measured and slow both sides unevenly.
    ready: multiprocessing.Queue[int] = multiprocessing.get_context("spawn").Queue()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(ready,), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ready.get(timeout=30)}"
    urls = [f"{base}/feed/{i}.xml" for i in range(args.feeds)]
    feeds = [FeedConfig(url=u, name=f"bench {i}") for i, u in enumerate(urls)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(db_path=Path(tmp) / "feeds.duckdb", allow_private_addresses=True,
                                per_host_concurrency=args.concurrency,
                                total_concurrency=args.concurrency, run_checks=False)
            with Store.open(settings.db_path) as store:
                t0, c0 = time.perf_counter(), time.process_time()
                first = ingest(store, settings, feeds, run_id="bench-1", only_due=False)
                first_s, first_cpu = time.perf_counter() - t0, time.process_time() - c0
                t0, c0 = time.perf_counter(), time.process_time()
                second = ingest(store, settings, feeds, run_id="bench-2", only_due=False)
                second_s, second_cpu = time.perf_counter() - t0, time.process_time() - c0
                written = {run: written_rows(store, run, result)
                           for run, result in (("bench-1", first), ("bench-2", second))}
                not_modified = store.scalar(
                    "SELECT count(*) FROM raw.feed_fetches WHERE run_id = 'bench-2' AND not_modified")
        bare_s = bare_loop(urls)
    finally:
        server.terminate()
        server.join()

    table = Table(title=f"{args.feeds} local feeds, per-host concurrency {args.concurrency}, "
                        "checks off")
    for col in ("what", "seconds", "CPU s", "feeds/s", *WRITTEN):
        table.add_column(col, justify="right" if col != "what" else "left")
    table.add_row("first poll", f"{first_s:.2f}",
                  f"{first_cpu:.2f}", f"{args.feeds / first_s:.0f}",
                  *(str(v) for v in written["bench-1"].values()))
    table.add_row(f"second poll ({not_modified} x 304)", f"{second_s:.2f}",
                  f"{second_cpu:.2f}", f"{args.feeds / second_s:.0f}",
                  *(str(v) for v in written["bench-2"].values()))
    table.add_row("bare loop", f"{bare_s:.2f}",
                  "-", f"{args.feeds / bare_s:.0f}", *("-" for _ in WRITTEN))
    console.print(table)
    console.print("first and second poll: newsflow (fetch, parse in worker, store); bare loop: "
                  "httpx.get + feedparser.parse one feed after another, nothing stored")
    console.print(f"first poll, newsflow / bare loop (feeds/s): [bold]{bare_s / first_s:.2f}[/bold]")
    rows = written["bench-2"]
    console.print(
        f"second poll: {second_s:.2f} s wall (goal <= 5 s), {second_cpu:.2f} CPU s in this "
        f"process; wrote {rows['entry rows']} entry rows (must be 0), "
        f"{rows['config updates']} feed-config updates (must be 0), "
        f"{rows['attempt rows']} attempt rows, {rows['ledger rows']} ledger rows; "
        f"status {second['status']}")


# what a poll writes, per table: the columns of the bench's table
WRITTEN = ("entry rows", "config updates", "configs new", "attempt rows", "ledger rows")


def written_rows(store: Any, run_id: str, result: dict[str, Any]) -> dict[str, int]:
    """Rows one poll wrote: raw.feed_entries, core.feeds configuration (updated and new, as the
    stage counted the statements' rows), raw.feed_fetches (attempts) and raw.runs."""
    def count(table: str) -> int:
        return int(store.scalar(f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id]))

    return dict(zip(WRITTEN, (count("raw.feed_entries"), result["feed_configs_updated"],
                              result["feed_configs_new"], count("raw.feed_fetches"),
                              count("raw.runs")), strict=True))

if __name__ == "__main__":
    main()
