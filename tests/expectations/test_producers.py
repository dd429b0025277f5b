"""Rows made by the real producers (web fetcher, feed parser, warehouse.events) pass the suites.

A small site on 127.0.0.1 serves a feed (with a relative link, a far-future date and a
``javascript:`` link) and two articles; the rows the pipeline would write are validated as-is.
"""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from expectations import validate_batch
from tests.localhttp import serving

pytestmark = pytest.mark.usefixtures("gx_ready")

ARTICLE = ("<html><head><title>Bike lanes</title></head><body><article><h1>Bike lanes</h1>"
           + "<p>The city council voted on Tuesday to expand the network of protected bicycle "
             "lanes after months of public hearings.</p>" * 6
           + "</article></body></html>").encode()
FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Local</title><link>{base}/</link>
<item><title>One</title><link>/a1.html</link><guid>g1</guid>
  <pubDate>Fri, 20 Nov 2026 08:00:00 GMT</pubDate></item>
<item><title>Two</title><link>{base}/a2.html</link><guid>g2</guid>
  <pubDate>Fri, 20 Nov 2099 08:00:00 GMT</pubDate></item>
<item><title>Three</title><link>javascript:alert(1)</link><guid>g3</guid></item>
</channel></rss>"""


class _Site(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/feed.xml":
            body, kind = FEED.format(base=base).encode(), "application/rss+xml"
        elif self.path in ("/a1.html", "/a2.html"):
            body, kind = ARTICLE, "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def rows() -> Iterator[dict[str, pd.DataFrame]]:
    from transforms.feeds import parse_feed
    from warehouse.events import feed_entry_row, feed_fetch_row, page_fetch_row
    from web import Fetcher, FetchRequest, HttpOptions

    with serving(_Site) as base:
        options = HttpOptions(allow_private=True, respect_robots=False, max_attempts=1)
        with Fetcher(options) as fetcher:
            (feed,) = fetcher.fetch(FetchRequest(f"{base}/feed.xml", kind="feed"))
            missing = fetcher.fetch(FetchRequest(f"{base}/gone.xml", kind="feed"))
            parsed = parse_feed(feed.body or b"", dict(feed.headers), feed.final_url or base,
                                fetched_at=feed.started_at)
            fetch_row = feed_fetch_row("run-1", "local", feed, parsed)
            fetches = [fetch_row, *(feed_fetch_row("run-1", "gone", r, None) for r in missing)]
            entries = [feed_entry_row("run-1", "local", fetch_row, e, parsed.bozo)
                       for e in parsed.entries]
            pages = [page_fetch_row("run-1", e.link, r, "feed")
                     for e in parsed.entries if e.link
                     for r in fetcher.fetch(FetchRequest(e.link))]
    yield {"raw.feed_fetches": pd.DataFrame(fetches), "raw.feed_entries": pd.DataFrame(entries),
           "raw.page_fetches": pd.DataFrame(pages)}


def test_fetch_rows_of_a_success_and_a_404_pass(rows: dict[str, pd.DataFrame]) -> None:
    fetches = rows["raw.feed_fetches"]
    assert sorted(fetches["status"].tolist()) == [200, 404]
    report = validate_batch("raw.feed_fetches", fetches, stage="raw")
    assert report.success, report.markdown()


def test_entry_rows_pass_every_blocking_check(rows: dict[str, pd.DataFrame]) -> None:
    entries = rows["raw.feed_entries"]
    assert len(entries) == 3
    report = validate_batch("raw.feed_entries", entries, stage="raw")
    assert not report.blocking_failed, report.markdown()
    assert report.quarantine() == []
    # the far-future date was flagged by the parser: with 1 of 3 rows suspect, only the share warns
    assert {r.expectation for r in report.results if not r.success} <= {
        "published_plausible_share"}


def test_page_fetch_rows_pass(rows: dict[str, pd.DataFrame]) -> None:
    pages = rows["raw.page_fetches"]
    assert len(pages) == 2                           # the javascript: link was never fetched
    report = validate_batch("raw.page_fetches", pages, stage="raw")
    assert report.success, report.markdown()
