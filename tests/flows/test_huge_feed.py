"""FAULTS case 36 through the ingest stage: a 10,000-item feed is ingested whole.

A document of more entries than a parse window is parsed window by window (memory bounded by a
window), and every entry reaches raw.feed_entries. Entries beyond the per-fetch cap are counted in
raw.feed_fetches.entries_left_out and flagged by a warning check: nothing is dropped unseen.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from flows.ingest_feeds import ingest
from flows.settings import Settings
from tests.localhttp import serving
from transforms.feedlist import FeedConfig
from warehouse.store import Store

ITEMS = 10_000
FEED = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
        + b"".join(b"<item><title>Brief %d</title><guid>wire-%d</guid>"
                   b"<link>http://127.0.0.1/a/%d</link><description>Item %d of the wire."
                   b"</description></item>" % (i, i, i, i) for i in range(ITEMS))
        + b"</channel></rss>")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def feed_url() -> Iterator[str]:
    with serving(Handler, "/wire.xml") as url:
        yield url


def _ingest(tmp_path: Path, url: str, **overrides: object) -> tuple[int, int, int, list[str]]:
    settings = Settings(db_path=tmp_path / "h.duckdb", allow_private_addresses=True,
                        max_attempts=1, **overrides)
    with Store.open(settings.db_path) as store:
        ingest(store, settings, [FeedConfig(url=url, name="wire")], run_id="huge", only_due=False)
        entries, distinct = store.con.execute(
            "SELECT count(*), count(DISTINCT entry_key) FROM raw.feed_entries").fetchone() or (0, 0)
        left_out = store.con.execute(
            "SELECT entries_left_out FROM raw.feed_fetches").fetchone()
        failed = [r[0] for r in store.con.execute(
            "SELECT expectation FROM quality.validations WHERE NOT success").fetchall()]
    return entries, distinct, (left_out or (None,))[0], failed


def test_case_36_a_10000_item_feed_gives_10000_entries(feed_url: str, tmp_path: Path) -> None:
    entries, distinct, left_out, _ = _ingest(tmp_path, feed_url, run_checks=False)
    assert (entries, distinct, left_out) == (ITEMS, ITEMS, 0)


def test_case_36_entries_over_the_cap_are_stored_as_a_count_and_flagged(
        feed_url: str, tmp_path: Path) -> None:
    entries, _, left_out, failed = _ingest(tmp_path, feed_url, feed_max_entries=4000)
    assert (entries, left_out) == (4000, 6000)
    assert "no_entries_left_out" in failed
