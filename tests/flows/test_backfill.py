"""Backfill over local fixtures: sitemaps from a 127.0.0.1 server, a WARC written by the test,
RFC 5005 archives, and re-extraction of stored pages. Each ends with the expected-vs-obtained
table, and running it again writes nothing."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.backfill import run_backfill
from flows.settings import Settings
from tests.fixtures.backfill.warcs import Capture, article_html, write_warc
from transforms.extraction import extract_page
from transforms.revisits import version_hash
from transforms.urls import article_key
from warehouse.articles import refresh_articles
from warehouse.events import decompress
from warehouse.store import Store

D1, D3 = date(2024, 3, 1), date(2024, 3, 3)
COUNTED = ("raw.page_fetches", "raw.backfill_days", "core.page_extractions",
           "core.article_versions", "core.articles", "raw.feed_fetches", "raw.feed_entries",
           "core.feeds")


class InlinePool:
    """The ExtractionPool interface, in-process (no spawn start-up cost in tests)."""

    def extract_many(self, items: Any) -> Iterator[tuple[Any, Any]]:
        for key, body, content_type, url in items:
            yield key, extract_page(body, content_type, url)


class Site:
    """A news site on 127.0.0.1: robots.txt, a sitemap index, a news sitemap, feed archives."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.pages: dict[str, bytes] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] += 1
                body, ctype = site.route(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def article(self, path: str, title: str) -> str:
        self.pages[path] = article_html(title)
        return self.base + path

    def route(self, path: str) -> tuple[bytes | None, str]:
        if path in self.pages:
            return self.pages[path], "text/html; charset=utf-8"
        docs = self.documents()
        if path in docs:
            return docs[path].encode(), "application/xml"
        return None, "text/plain"

    def documents(self) -> dict[str, str]:
        b = self.base
        urls = "".join(
            f"<url><loc>{b}/a/{day}-{i}.html</loc><news:news><news:publication_date>"
            f"2024-03-0{day}T{8 + i:02d}:00:00Z</news:publication_date></news:news></url>"
            for day in (1, 2, 3) for i in (1, 2))
        entries = lambda days: "".join(  # noqa: E731 - a tiny local template
            f"<entry><link href='{b}/a/{d}-1.html'/><published>2024-0{3 if d else 2}-"
            f"{d or 28:02d}T08:00:00Z</published></entry>" for d in days)
        return {
            "/robots.txt": f"User-agent: *\nAllow: /\nSitemap: {b}/sitemap_index.xml\n",
            "/sitemap_index.xml": (
                "<sitemapindex>"
                f"<sitemap><loc>{b}/news.xml</loc><lastmod>2024-03-04</lastmod></sitemap>"
                f"<sitemap><loc>{b}/old.xml</loc><lastmod>2019-01-01</lastmod></sitemap>"
                "</sitemapindex>"),
            "/news.xml": (
                '<urlset xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
                f"{urls}"
                f"<url><loc>{b}/a/gone.html</loc><lastmod>2024-03-02</lastmod></url>"
                "<url><loc>http://169.254.169.254/latest/meta-data/</loc>"
                "<lastmod>2024-03-01</lastmod></url>"
                f"<url><loc>{b}/a/before.html</loc><lastmod>2024-02-20</lastmod></url>"
                f"<url><loc>{b}/a/undated.html</loc></url></urlset>"),
            "/feed.atom": (
                '<feed xmlns="http://www.w3.org/2005/Atom">'
                f'<link rel="prev-archive" href="{b}/archive/2.atom"/>{entries([3])}</feed>'),
            "/archive/2.atom": (
                '<feed xmlns="http://www.w3.org/2005/Atom">'
                f'<link rel="prev-archive" href="{b}/archive/1.atom"/>{entries([2])}</feed>'),
            "/archive/1.atom": (
                '<feed xmlns="http://www.w3.org/2005/Atom">'
                f'<link rel="prev-archive" href="{b}/archive/0.atom"/>{entries([1, 0])}</feed>'),
            "/archive/0.atom": '<feed xmlns="http://www.w3.org/2005/Atom"></feed>',
            "/broken.atom": (
                '<feed xmlns="http://www.w3.org/2005/Atom">'
                f'<link rel="prev-archive" href="{b}/missing.atom"/>{entries([3])}</feed>'),
        }


@pytest.fixture()
def site() -> Iterator[Site]:
    s = Site()
    for day in (1, 2, 3):
        for i in (1, 2):
            s.article(f"/a/{day}-{i}.html", f"Story {day}-{i}")
    s.article("/a/before.html", "Before")
    s.thread.start()
    try:
        yield s
    finally:
        s.server.shutdown()
        s.server.server_close()


def _settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "newsflow.duckdb", allow_private_addresses=True,
                    run_checks=False, max_attempts=1, connect_timeout_s=2, deadline_s=10,
                    per_host_concurrency=4, feeds_file=tmp_path / "feeds.yaml")


def _counts(settings: Settings) -> dict[str, int]:
    con = duckdb.connect(str(settings.db_path), read_only=True)  # no migrations: cheaper
    try:
        return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in COUNTED}
    finally:
        con.close()


def _table(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["day"], r["expected"], r["obtained"], r["failed"], r["status"])
            for r in result["table"]]


def test_case_75_sitemap_backfill_of_three_days_then_a_rerun_writes_nothing(
        tmp_path: Path, site: Site) -> None:
    settings = _settings(tmp_path)
    feed = {"feed_id": "f1", "url": site.base + "/feed.atom", "consecutive_failures": 0,
            "entries_seen": 3, "status": "ok", "next_poll_at": datetime(2024, 3, 10, tzinfo=UTC),
            "last_success_at": datetime(2024, 3, 9, tzinfo=UTC)}
    with Store.open(settings.db_path) as store:
        store.replace("core.feeds", "feed_id", [feed])
        feeds_before = store.rows("SELECT * FROM core.feeds")
    first = run_backfill(settings, source="sitemap", since=D1, until=D3, sources=[site.base + "/"],
                         run_id="run-1", pool=InlinePool())
    assert first["status"] == "ok", first
    assert _table(first) == [(D1, 2, 2, 0, "done"), (date(2024, 3, 2), 3, 2, 1, "done"),
                             (D3, 2, 2, 0, "done")]
    assert {r["origin"] for r in first["table"]} == {site.base + "/"}
    # a sitemap speaks for its own site: the metadata-address URL is skipped, not fetched
    assert "1 URL(s) of other sites skipped" in first["table"][0]["detail"]["listing"]["problems"]
    assert site.hits["/old.xml"] == 0          # child sitemap last modified before the range
    assert site.hits["/a/before.html"] == 0    # listed, but dated before the range
    assert site.hits["/a/1-1.html"] == 1
    after_first = _counts(settings)
    assert after_first["raw.page_fetches"] == 7
    assert after_first["core.articles"] == 6
    with Store.open(settings.db_path) as store:
        assert store.scalar("SELECT count(DISTINCT source) FROM raw.page_fetches") == 1
        assert store.scalar("SELECT any_value(source) FROM raw.page_fetches") == "sitemap"
    hits = sum(site.hits.values())

    second = run_backfill(settings, source="sitemap", since=D1, until=D3,
                          sources=[site.base + "/"], run_id="run-2", pool=InlinePool())
    assert _table(second) == _table(first)
    assert all(r["skipped"] for r in second["table"])
    assert second["new_rows"] == 0
    assert _counts(settings) == after_first
    assert sum(site.hits.values()) == hits     # settled days are not even listed again
    # the scheduled pipeline's state (its watermark) is untouched
    with Store.open(settings.db_path) as store:
        assert store.rows("SELECT * FROM core.feeds") == feeds_before
        assert store.count("raw.feed_fetches") == 0 and store.count("raw.feed_entries") == 0


def test_a_day_with_retryable_failures_stays_partial_and_is_retried(
        tmp_path: Path, site: Site) -> None:
    settings = _settings(tmp_path)
    flaky = site.pages.pop("/a/3-2.html")
    original = site.route

    def route(path: str) -> tuple[bytes | None, str]:
        if path == "/a/3-2.html":
            return (flaky, "text/html") if site.hits[path] > 1 else (b"", "text/html")
        return original(path)

    site.route = route  # type: ignore[method-assign]
    first = run_backfill(settings, source="sitemap", since=D3, until=D3,
                         sources=[site.base + "/sitemap_index.xml"], run_id="r1",
                         project=False)
    assert _table(first) == [(D3, 2, 1, 0, "partial")]  # 200 with an empty body: retryable
    assert first["status"] == "partial"
    second = run_backfill(settings, source="sitemap", since=D3, until=D3,
                          sources=[site.base + "/sitemap_index.xml"], run_id="r2",
                          project=False)
    assert _table(second) == [(D3, 2, 2, 0, "done")]
    assert site.hits["/a/3-1.html"] == 1  # the page stored OK was not fetched again


def test_an_unreachable_listing_fails_the_days_instead_of_settling_them(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    result = run_backfill(settings, source="sitemap", since=D1, until=D1,
                          sources=["http://127.0.0.1:9/"], run_id="r1", project=False)
    assert _table(result) == [(D1, 0, 0, 0, "failed")]
    with Store.open(settings.db_path) as store:
        assert store.scalar("SELECT count(*) FROM raw.backfill_days WHERE status = 'done'") == 0


def _warc(path: Path) -> Path:
    at = lambda d, h: datetime(2024, 3, d, h, 30, tzinfo=UTC)  # noqa: E731
    return write_warc(path, [
        Capture(f"https://w.example/{d}-{i}", at(d, 6 + i), article_html(f"Warc {d}-{i}"))
        for d in (1, 2, 3) for i in (1, 2)
    ] + [
        Capture("https://w.example/missing", at(2, 12), b"gone", status=404),
        Capture("https://w.example/early", at(1, 0) - timedelta(days=3), article_html("Early")),
        Capture("https://w.example/1-1", at(1, 7), b"", record_type="revisit"),
    ])


def test_warc_backfill_of_three_days_then_a_rerun_writes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    warc = str(_warc(tmp_path / "news.warc.gz"))
    first = run_backfill(settings, source="warc", since=D1, until=D3, sources=[warc],
                         run_id="w1", pool=InlinePool())
    assert _table(first) == [(D1, 2, 2, 0, "done"), (date(2024, 3, 2), 3, 2, 1, "done"),
                             (D3, 2, 2, 0, "done")]
    assert first["table"][0]["detail"]["skipped"] == {"not_response": 1, "revisit": 1,
                                                      "out_of_range": 1}
    after_first = _counts(settings)
    assert after_first["raw.page_fetches"] == 7
    assert first["articles"] == after_first["core.articles"] == 6   # projected into core.*
    with Store.open(settings.db_path) as store:
        when = store.scalar("SELECT occurred_at FROM raw.page_fetches WHERE url = $u",
                            {"u": "https://w.example/2-1"})  # type: ignore[arg-type]
    assert when == datetime(2024, 3, 2, 7, 30, tzinfo=UTC)  # the capture time, not now
    second = run_backfill(settings, source="warc", since=D1, until=D3, sources=[warc],
                          run_id="w2", pool=InlinePool())
    assert all(r["skipped"] for r in second["table"])
    assert _counts(settings) == after_first


def test_warc_by_url_is_fetched_through_the_http_layer(tmp_path: Path, site: Site) -> None:
    settings = _settings(tmp_path)
    site.pages["/crawl/news.warc.gz"] = _warc(tmp_path / "news.warc.gz").read_bytes()
    url = site.base + "/crawl/news.warc.gz"
    result = run_backfill(settings, source="warc", since=D1, until=D1, sources=[url],
                          run_id="u1", project=False)
    assert _table(result) == [(D1, 2, 2, 0, "done")]
    assert result["table"][0]["origin"] == url
    assert site.hits["/crawl/news.warc.gz"] == 1


def test_a_missing_warc_file_fails_its_days(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    result = run_backfill(settings, source="warc", since=D1, until=D1,
                          sources=[str(tmp_path / "nope.warc.gz")], run_id="m1", project=False)
    assert _table(result) == [(D1, 0, 0, 0, "failed")]
    assert "No such file" in result["table"][0]["detail"]["error"]
    assert result["status"] == "partial"


def test_rereading_the_same_warc_without_the_ledger_adds_no_rows(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    warc = str(_warc(tmp_path / "news.warc.gz"))
    run_backfill(settings, source="warc", since=D1, until=D3, sources=[warc], run_id="w1",
                 project=False)
    with Store.open(settings.db_path) as store:
        store.con.execute("DELETE FROM raw.backfill_days")  # forget the ledger
    before = _counts(settings)["raw.page_fetches"]
    again = run_backfill(settings, source="warc", since=D1, until=D3, sources=[warc],
                         run_id="w2", project=False)
    assert not any(r["skipped"] for r in again["table"])
    assert again["new_rows"] == 0
    assert _counts(settings)["raw.page_fetches"] == before


def test_archive_feed_walks_back_to_the_range_start(tmp_path: Path, site: Site) -> None:
    settings = _settings(tmp_path)
    result = run_backfill(settings, source="archive-feed", since=D1, until=D3,
                          sources=[site.base + "/feed.atom"], run_id="a1", project=False)
    assert _table(result) == [(D1, 1, 1, 0, "done"), (date(2024, 3, 2), 1, 1, 0, "done"),
                              (D3, 1, 1, 0, "done")]
    assert site.hits["/archive/1.atom"] == 1
    assert site.hits["/archive/0.atom"] == 0   # archive 1 already reached back before Mar 1


def test_a_broken_archive_walk_leaves_days_partial(tmp_path: Path, site: Site) -> None:
    settings = _settings(tmp_path)
    result = run_backfill(settings, source="archive-feed", since=D1, until=D3,
                          sources=[site.base + "/broken.atom"], run_id="a1", project=False)
    # the page it did list was fetched, but older archives could not be read: not settled
    assert _table(result) == [(D1, 0, 0, 0, "partial"), (date(2024, 3, 2), 0, 0, 0, "partial"),
                              (D3, 1, 1, 0, "partial")]
    assert any("missing.atom" in p for p in result["table"][0]["detail"]["listing"]["problems"])


def test_unknown_source_and_reversed_range_are_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(ValueError, match="unknown backfill source"):
        run_backfill(settings, source="ftp", since=D1, until=D3, run_id="x")
    with pytest.raises(ValueError, match="before since"):
        run_backfill(settings, source="warc", since=D3, until=D1, sources=["x"], run_id="x")
    with pytest.raises(ValueError, match="WARC"):
        run_backfill(settings, source="warc", since=D1, until=D3, run_id="x")


def _old_extractions(settings: Settings) -> dict[str, dict[str, Any]]:
    """Pretend an older extractor ("old/0") projected the WARC pages, and feeds link to them."""
    with Store.open(settings.db_path) as store:
        pages = store.rows("SELECT p.*, b.body FROM raw.page_fetches AS p "
                           "JOIN raw.page_bodies AS b USING (body_sha256) "
                           "WHERE p.error_class IS NULL ORDER BY p.url")
        by_url = {p["url"]: p for p in pages}
        fresh = {u: extract_page(decompress(p["body"]) or b"", "text/html", u)
                 for u, p in by_url.items()}
        old_x, old_v, entries = [], [], []
        plan = {"https://w.example/1-1": ("article", "old-hash", 5),        # longer now
                "https://w.example/1-2": ("article", None, None),            # same text now
                "https://w.example/2-1": ("no_content", None, None)}         # now an article
        for url, (cls, digest, words) in plan.items():
            key = article_key(url) or url
            digest = digest or (fresh[url].content_hash if cls == "article" else None)
            old_x.append({"page_fetch_id": by_url[url]["event_id"], "article_key": key,
                          "page_class": cls, "reason": None, "content_hash": digest,
                          "extractor": "old", "extractor_version": "old/0",
                          "occurred_at": by_url[url]["occurred_at"]})
            if cls == "article":
                old_v.append({"article_key": key, "content_hash": digest,
                              "extractor_version": "old/0",
                              "page_fetch_id": by_url[url]["event_id"],
                              "observed_at": by_url[url]["occurred_at"], "url": url,
                              "text": "old text", "word_count": words or fresh[url].word_count,
                              "extractor": "old",
                              "version_hash": version_hash(digest, None, None)})
        for n, url in enumerate(by_url):
            entries.append({
                "event_id": f"e{n}", "run_id": "feed-run", "occurred_at": by_url[url]["occurred_at"],
                "recorded_at": by_url[url]["occurred_at"], "schema_version": 1,
                "fetch_event_id": "f", "feed_id": "feed-1", "entry_key": url, "key_source": "link",
                "content_hash": f"c{n}", "parse_quality": "ok", "link": url,
                "link_key": by_url[url]["url_key"], "link_status": "ok", "date_suspect": False,
                "truncated": False, "position": n})
        store.insert("core.page_extractions", old_x)
        store.insert("core.article_versions", old_v)
        store.insert("raw.feed_entries", entries)
        refresh_articles(store, sorted({v["article_key"] for v in old_v}))
        assert store.count("core.articles") == 2
    return fresh


def test_raw_reextraction_writes_versions_only_where_text_changed(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    run_backfill(settings, source="warc", since=D1, until=D3,
                 sources=[str(_warc(tmp_path / "news.warc.gz"))], run_id="w1", project=False)
    fresh = _old_extractions(settings)
    first = run_backfill(settings, source="raw", since=D1, until=D3, run_id="x1",
                         pool=InlinePool())
    assert first["status"] == "ok"
    assert _table(first) == [(D1, 2, 2, 0, "done"), (date(2024, 3, 2), 2, 2, 0, "done"),
                             (D3, 2, 2, 0, "done")]
    day1, day2, day3 = (r["detail"] for r in first["table"])
    assert (day1["changed"], day1["unchanged"], day1["longer"]) == (1, 1, 1)
    assert day2["moved"] == {"no_content->article": 1}
    assert day2["first_extraction"] == 1 and day3["first_extraction"] == 2
    assert [r["new_rows"] for r in first["table"]] == [1, 2, 2]
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        versions = dict(con.execute(
            "SELECT extractor_version, count(*) FROM core.article_versions GROUP BY 1").fetchall())
        both = con.execute(
            "SELECT count(*) FROM core.page_extractions x JOIN raw.page_fetches p "
            "ON p.event_id = x.page_fetch_id WHERE p.url = 'https://w.example/1-1'").fetchone()
        articles = con.execute("SELECT count(*) FROM core.articles").fetchone()
    finally:
        con.close()
    current = fresh["https://w.example/1-1"].extractor_version
    assert versions == {"old/0": 2, current: 5}   # the old versions stay queryable
    assert both == (2,)                           # one outcome per extractor version
    assert articles == (6,)
    after_first = _counts(settings)
    second = run_backfill(settings, source="raw", since=D1, until=D3, run_id="x2",
                          pool=InlinePool())
    assert all(r["skipped"] for r in second["table"])
    assert _counts(settings) == after_first


def test_cli_backfill_then_export_warc_round_trips(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from flows.cli import backfill as cli_backfill
    from web.warc import read_captures

    monkeypatch.setenv("NEWSFLOW_RUN_CHECKS", "false")
    app = typer.Typer()
    app.command("backfill")(cli_backfill.backfill)
    app.command("export-warc")(cli_backfill.export_warc)
    db = tmp_path / "cli.duckdb"
    warc = _warc(tmp_path / "in.warc.gz")
    runner = CliRunner()
    args = ["backfill", "--source", "warc", "--from", str(warc), "--since", "2024-03-01",
            "--until", "2024-03-03", "--db", str(db), "--no-extract"]
    refused = runner.invoke(app, args)  # backfill never creates a store (only run/migrate)
    assert refused.exit_code == 2 and "no store" in refused.output and not db.exists()
    Store.open(db).close()
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "expected" in result.output and "obtained" in result.output
    assert "ok: 6 of 7 obtained, 7 new row(s), 0 day(s) settled earlier" in result.output
    assert "A day here: the pages warc dates on that UTC day" in " ".join(result.output.split())
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    assert "0 new row(s), 3 day(s) settled earlier" in again.output
    out = tmp_path / "out.warc.gz"
    exported = runner.invoke(app, ["export-warc", "--since", "2024-03-02", "--until",
                                   "2024-03-03", "--db", str(db), "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    with out.open("rb") as fh:
        back = sorted(c.url for c in read_captures(fh))
    assert back == [f"https://w.example/{d}-{i}" for d in (2, 3) for i in (1, 2)]
    bad = runner.invoke(app, ["backfill", "--source", "nope", "--since", "2024-03-01",
                              "--until", "2024-03-01", "--db", str(db)])
    assert bad.exit_code == 2


def test_reextracted_text_becomes_the_current_article_text(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    run_backfill(settings, source="warc", since=D1, until=date(2024, 3, 2),  # _old_extractions reads 2-1
                 sources=[str(_warc(tmp_path / "news.warc.gz"))], run_id="w1", project=False)
    _old_extractions(settings)
    run_backfill(settings, source="raw", since=D1, until=D1, run_id="x1", pool=InlinePool())
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        text = con.execute("SELECT text FROM core.articles WHERE url = "
                           "'https://w.example/1-1'").fetchone()
        # analysts see the same current version; the previous one stays queryable
        versions = con.execute(
            "SELECT text, is_current FROM analytics.article_versions WHERE article_key = "
            "(SELECT article_key FROM core.articles WHERE url = 'https://w.example/1-1') "
            "ORDER BY version").fetchall()
    finally:
        con.close()
    assert text is not None and text[0] != "old text"
    assert [t for t, current in versions if current] == [text[0]]
    assert "old text" in [t for t, current in versions if not current]


@pytest.mark.usefixtures("prefect_harness")
def test_backfill_flow_runs_a_task_per_day_under_prefect(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.orchestration import get_client

    from flows.backfill import backfill

    monkeypatch.setenv("NEWSFLOW_RUN_CHECKS", "false")
    warc = str(_warc(tmp_path / "news.warc.gz"))
    state = backfill(source="warc", since=D1, until=D3, sources=[warc],
                     db_path=str(tmp_path / "flow.duckdb"), project=False, return_state=True)
    result = state.result()
    assert result["status"] == "ok" and result["obtained"] == 6

    async def task_names_and_artifacts() -> tuple[list[str], list[str]]:
        async with get_client() as client:
            runs = await client.read_task_runs()
            artifacts = await client.read_artifacts()
            run = state.state_details.flow_run_id
            return ([r.name for r in runs if r.flow_run_id == run],
                    [a.key or "" for a in artifacts if a.flow_run_id == run])

    import asyncio

    names, artifacts = asyncio.run(task_names_and_artifacts())
    assert any(name.startswith("warc ") for name in names)
    assert artifacts == ["backfill-warc"]  # the expected-vs-obtained table in the UI


CRASH_SCRIPT = (
    "import sys\n"
    "from datetime import date\n"
    "from flows.backfill import run_backfill\n"
    "from flows.settings import load_settings\n"
    "r = run_backfill(load_settings(), source='warc', since=date(2024, 3, 1),\n"
    "                 until=date(2024, 3, 3), sources=[sys.argv[2]], run_id=sys.argv[1])\n"
    "print(r['status'])\n"
)
STABLE = (
    "SELECT url, url_key, status, error_class, body_sha256, occurred_at FROM raw.page_fetches",
    "SELECT source, origin, day, status, expected, obtained, failed FROM raw.backfill_days "
    "WHERE status = 'done'",
    # every stored page projected once (not its class: a loaded machine may time a worker out)
    "SELECT article_key, extractor_version FROM core.page_extractions",
)


def _crash_run(db: Path, warc: Path, run_id: str, fault: str | None) -> str:
    import os
    import subprocess
    import sys

    env = {**os.environ, "NEWSFLOW_DB_PATH": str(db), "NEWSFLOW_RUN_CHECKS": "false",
           "NEWSFLOW_EXTRACT_WORKERS": "1", "NEWSFLOW_EXTRACT_TIMEOUT_S": "120"}
    env.pop("NEWSFLOW_FAULT_AT", None)
    if fault:
        env["NEWSFLOW_FAULT_AT"] = fault
    done = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, run_id, str(warc)],
                          cwd=Path(__file__).resolve().parents[2], env=env,
                          capture_output=True, text=True, timeout=300)
    return "killed" if done.returncode == -9 else done.stdout.strip() or done.stderr[-500:]


@pytest.mark.slow  # three subprocesses, each importing Prefect and spawning an extraction worker
def test_case_64_65_backfill_killed_before_its_ledger_commit_resumes_to_a_clean_result(
        tmp_path: Path) -> None:
    warc = _warc(tmp_path / "news.warc.gz")
    clean, crashed = tmp_path / "clean.duckdb", tmp_path / "crashed.duckdb"
    assert _crash_run(clean, warc, "clean", None) == "ok"
    # pages committed, the days' ledger rows not: the re-run must add no page twice
    assert _crash_run(crashed, warc, "c1", "backfill_warc:before_commit") == "killed"
    assert _crash_run(crashed, warc, "c2", None) == "ok"
    a, b = duckdb.connect(str(clean), read_only=True), duckdb.connect(str(crashed), read_only=True)
    try:
        for query in STABLE:
            assert sorted(a.execute(query).fetchall()) == sorted(b.execute(query).fetchall()), query
        assert b.execute("SELECT count(*) FROM raw.page_fetches").fetchone() == (7,)
        assert b.execute("SELECT count(*) FROM core.page_extractions").fetchone() == (6,)
    finally:
        a.close()
        b.close()


def test_a_raw_day_with_nothing_to_do_is_not_settled_for_ever(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    empty_day = date(2024, 3, 5)  # no page was fetched that day
    first = run_backfill(settings, source="raw", since=empty_day, until=empty_day,
                         run_id="e1", pool=InlinePool())
    assert first["status"] == "ok" and _table(first) == [(empty_day, 0, 0, 0, "empty")]
    # pages for that day arrive later (here: a WARC captured then) ...
    at = datetime(2024, 3, 5, 9, tzinfo=UTC)
    late = write_warc(tmp_path / "late.warc.gz", [
        Capture(f"https://w.example/late-{i}", at, article_html(f"Late {i}")) for i in (1, 2)])
    run_backfill(settings, source="warc", since=empty_day, until=empty_day, sources=[str(late)],
                 run_id="w-late", project=False)
    # ... and the next raw run looks at the day again instead of skipping it as settled
    second = run_backfill(settings, source="raw", since=empty_day, until=empty_day,
                          run_id="e2", pool=InlinePool())
    assert _table(second) == [(empty_day, 2, 2, 0, "done")]
    assert not second["table"][0]["skipped"]
    third = run_backfill(settings, source="raw", since=empty_day, until=empty_day,
                         run_id="e3", pool=InlinePool())
    assert third["table"][0]["skipped"]  # now settled


def test_raw_days_can_be_publication_days(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    run_backfill(settings, source="warc", since=D1, until=D3,
                 sources=[str(_warc(tmp_path / "news.warc.gz"))], run_id="w1")
    published = date(2024, 2, 20)  # days before any page was fetched
    with Store.open(settings.db_path) as store:
        keys = [r[0] for r in store.con.execute(
            "SELECT article_key FROM core.articles ORDER BY article_key").fetchall()]
        assert len(keys) == 6
        store.con.execute("UPDATE core.articles SET published_at = ? WHERE article_key IN ?",
                          [datetime(2024, 2, 20, 8, tzinfo=UTC), keys[:4]])
    by_fetch = run_backfill(settings, source="raw", since=published, until=published,
                            run_id="r1", pool=InlinePool())
    assert _table(by_fetch) == [(published, 0, 0, 0, "empty")]  # nothing fetched that day
    by_publication = run_backfill(settings, source="raw", since=published, until=published,
                                  run_id="r2", pool=InlinePool(), day_by="published")
    assert _table(by_publication) == [(published, 4, 4, 0, "done")]
    assert "by=published" in by_publication["table"][0]["origin"]  # a ledger of its own
    with pytest.raises(ValueError, match="raw only"):
        run_backfill(settings, source="warc", since=D1, until=D1, sources=["x.warc"],
                     run_id="r3", day_by="published")
