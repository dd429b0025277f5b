"""FAULTS 20: a feed that moved permanently is polled at its new URL, which is adopted only after
the HTTP layer checked every hop; its identity and history stay under the configured URL. A
temporary redirect is never adopted."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest

from flows.ingest_feeds import ingest
from flows.settings import Settings
from tests.localhttp import serving
from transforms.feedlist import FeedConfig, feed_id
from warehouse.store import Store

RSS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Moved</title>'
       b"<link>http://127.0.0.1/</link><description>d</description>"
       b"<item><title>One</title><link>http://127.0.0.1/a/1</link><guid>1</guid></item>"
       b"</channel></rss>")


class Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, str | None]]] = {}
    log: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.log.append(self.path)
        status, location = self.routes.get(self.path, (404, None))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        body = RSS if status == 200 else b""
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    Handler.routes = {
        "/old.xml": (301, "/new.xml"),       # moved for good
        "/hop.xml": (308, "/old.xml"),       # two permanent hops
        "/temp.xml": (302, "/new.xml"),      # only for now
        "/new.xml": (200, None),
    }
    Handler.log = []
    with serving(Handler) as url:
        yield url


def poll(settings: Settings, feeds: list[FeedConfig], run: str) -> dict[str, str | None]:
    with Store.open(settings.db_path) as store:
        result = ingest(store, settings, feeds, run_id=run, only_due=False)
        assert result["status"] == "ok", result
        return dict(store.con.execute("SELECT url, moved_to FROM core.feeds").fetchall())


def test_case_20_permanent_redirect_is_adopted_and_history_stays(tmp_path: Path,
                                                                  server: str) -> None:
    settings = Settings(db_path=tmp_path / "m.duckdb", allow_private_addresses=True,
                        run_checks=False)
    feeds = [FeedConfig(url=f"{server}/hop.xml"), FeedConfig(url=f"{server}/temp.xml")]
    moved = poll(settings, feeds, "r1")
    assert moved == {f"{server}/hop.xml": f"{server}/new.xml", f"{server}/temp.xml": None}

    Handler.log.clear()
    moved = poll(settings, feeds, "r2")
    # the moved feed is asked at its new home directly; the temporary one at its own URL
    assert sorted(Handler.log) == ["/new.xml", "/new.xml", "/temp.xml"]
    assert moved[f"{server}/hop.xml"] == f"{server}/new.xml"   # stays moved
    assert moved[f"{server}/temp.xml"] is None

    with Store.open(settings.db_path) as store:
        rows = store.con.execute(
            "SELECT run_id, url, permanent_redirect FROM raw.feed_fetches WHERE feed_id = ? "
            "ORDER BY run_id", [feed_id(f"{server}/hop.xml")]).fetchall()
        entries = store.scalar("SELECT count(DISTINCT feed_id) FROM raw.feed_entries")
    # one identity, the whole history: the first fetch at the old URL, then at the new one
    assert rows == [("r1", f"{server}/hop.xml", f"{server}/new.xml"),
                    ("r2", f"{server}/new.xml", None)]
    assert entries == 2


def test_case_20_a_feed_that_moves_back_is_polled_at_its_own_url_again(tmp_path: Path,
                                                                      server: str) -> None:
    settings = Settings(db_path=tmp_path / "b.duckdb", allow_private_addresses=True,
                        run_checks=False)
    feeds = [FeedConfig(url=f"{server}/old.xml")]
    assert poll(settings, feeds, "r1") == {f"{server}/old.xml": f"{server}/new.xml"}
    # the new home now sends readers back, permanently, to the configured URL, which answers
    Handler.routes["/new.xml"] = (301, "/old.xml")
    Handler.routes["/old.xml"] = (200, None)
    assert poll(settings, feeds, "r2") == {f"{server}/old.xml": None}
