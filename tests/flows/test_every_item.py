"""Every feed item visible (issue 17), through the pipeline on pages served from 127.0.0.1 the way
``make bench-real`` serves the development sets: a two-line brief, a paywalled teaser, a consent
wall that still names its headline, a full article and a link that answers 404. The store's text
is what ``newsflow extract`` gives for the same pages; analytics.items shows every item with its
status and reason, in the store and in the published copy; analytics.articles stays full-text."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from bench.corpus import BenchPage
from bench.real import Served, real_site, run_pipeline, stored
from sample.site import Site
from warehouse.publish import analytics_db_path

pytestmark = pytest.mark.usefixtures("prefect_harness")

META = Path(__file__).parent.parent / "transforms" / "fixtures" / "pages" / "meta"
PAGES = {  # fixture file -> path on the example host
    "brief.html": "/world/ukraine-bodies-returned",
    "paywalled_teaser.html": "/news/flood-barrier-costs",
    "consent_with_meta.html": "/news/flood-barrier-opens",
    "article_published_meta.html": "/news/flood-barrier-first-test",
}
MISSING = "/news/removed-story"
HOST = "dailyexample.com"


def _served() -> list[Served]:
    out = []
    for name, path in [*PAGES.items(), ("gone.html", MISSING)]:
        body = (META / name).read_bytes() if name in PAGES else b""
        page = BenchPage(name.removesuffix(".html"), body, body.decode("utf-8"),
                         f"https://www.{HOST}{path}", "")
        out.append(Served("fixtures", page, HOST, f"/{HOST}{path}"))
    return out


def _without_missing(build: Callable[[str], Site]) -> Callable[[str], Site]:
    def site(base: str) -> Site:
        built = build(base)
        resources = {k: v for k, v in built.resources.items() if not k.endswith(MISSING)}
        return dataclasses.replace(built, resources=resources)
    return site


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import bench.real

    served = _served()
    folder = tmp_path_factory.mktemp("items")
    original = bench.real.real_site
    bench.real.real_site = lambda s: _without_missing(original(s))  # type: ignore[assignment]
    try:
        db, base, result = run_pipeline(served, folder)
    finally:
        bench.real.real_site = original  # type: ignore[assignment]
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM analytics.items")
        cols = [d[0] for d in cur.description]
        items = {row[cols.index("link")].removeprefix(base + f"/{HOST}"): dict(zip(cols, row, strict=True))
                 for row in cur.fetchall()}
        articles = {r[0] for r in con.execute("SELECT url FROM analytics.articles").fetchall()}
    finally:
        con.close()
    copy = duckdb.connect(str(analytics_db_path(folder / "published")), read_only=True)
    try:
        published = dict(copy.execute("SELECT link, status FROM items").fetchall())
    finally:
        copy.close()
    return {"db": db, "base": base, "result": result, "items": items, "articles": articles,
            "published": published, "stored": stored(db)}


def test_real_site_builder_is_used() -> None:
    assert real_site(_served())("http://127.0.0.1:1").feeds[0].url.endswith(f"/{HOST}/feed.xml")


def test_every_feed_item_is_an_item_with_its_status(run: dict[str, Any]) -> None:
    items = run["items"]
    assert set(items) == {*PAGES.values(), MISSING}
    brief = items[PAGES["brief.html"]]
    assert (brief["status"], brief["is_short"]) == ("article", True)
    assert brief["title"] == "Ukraine retrieves bodies of 502 fallen soldiers"
    teaser = items[PAGES["paywalled_teaser.html"]]
    assert (teaser["status"], teaser["access"]) == ("article", "paywalled")
    full = items[PAGES["article_published_meta.html"]]
    assert (full["status"], full["is_short"], full["access"]) == ("article", False, "unknown")


def test_a_page_without_article_keeps_what_the_page_says(run: dict[str, Any]) -> None:
    wall = run["items"][PAGES["consent_with_meta.html"]]
    assert wall["status"] == "consent_wall" and wall["reason"]
    assert wall["title"] == "Flood barrier opens"
    assert wall["authors"] == ["Jane Doe"]
    assert wall["published_at"] == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert wall["outlet"] == HOST and wall["word_count"] is None


def test_a_failed_fetch_keeps_what_the_feed_says(run: dict[str, Any]) -> None:
    gone = run["items"][MISSING]
    assert gone["status"] == "fetch_failed"
    assert gone["reason"]  # the error class of the last attempt
    assert gone["title"] == "gone"  # the feed entry's title
    assert gone["outlet"] == HOST


def test_full_text_view_holds_articles_only(run: dict[str, Any]) -> None:
    base = run["base"] + f"/{HOST}"
    assert run["articles"] == {base + PAGES[n] for n in ("brief.html", "paywalled_teaser.html",
                                                         "article_published_meta.html")}


def test_items_reach_the_published_copy(run: dict[str, Any]) -> None:
    assert {link: status for link, status in run["published"].items()} == {
        item["link"]: item["status"] for item in run["items"].values()}


def test_stored_text_is_what_newsflow_extract_gives(run: dict[str, Any]) -> None:
    from flows.cli import app

    runner = CliRunner()
    for name, path in PAGES.items():
        url = run["base"] + f"/{HOST}{path}"
        done = runner.invoke(app, ["extract", "--url", url, str(META / name)])
        assert done.exit_code == 0, done.output
        expected = json.loads(done.stdout)
        row = run["stored"][url]
        assert row["page_class"] == expected["page_class"], name
        assert row["text"] == expected["text"], name
