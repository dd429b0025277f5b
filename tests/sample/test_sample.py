"""The offline sample: deterministic, realistic, and a trustworthy oracle for the pipeline."""

from __future__ import annotations

import gzip

import feedparser
import httpx

from sample.server import SampleServer
from sample.site import build_site


def test_same_arguments_give_identical_sites() -> None:
    a, b = build_site("http://127.0.0.1:9"), build_site("http://127.0.0.1:9")
    assert a.resources == b.resources and a.articles == b.articles
    assert build_site("http://127.0.0.1:9", seed=8).resources != a.resources


def test_default_site_has_outlets_formats_stories_and_wire_copies() -> None:
    site = build_site("http://127.0.0.1:9")
    assert len(site.articles) >= 30 and len(site.feeds) >= 3
    assert {f.format for f in site.feeds} == {"rss2", "atom"}
    stories = {a.story_id for a in site.articles if a.story_id and a.story_id.startswith("story")}
    assert len(stories) >= 4
    for story in stories:
        assert len({a.outlet for a in site.articles if a.story_id == story}) >= 2
    copies = [a for a in site.articles if a.syndicated_from]
    assert len({a.story_id for a in copies}) >= 3
    assert len({a.path for a in site.articles}) == len(site.articles)


def test_pages_hold_gold_paragraphs_and_clutter_gold_has_none() -> None:
    import html

    site = build_site("http://127.0.0.1:9")
    for article in site.articles:
        page = html.unescape(site.resources[article.path].body.decode("utf-8"))
        for paragraph in article.gold_text.split("\n"):
            assert paragraph in page, (article.path, paragraph[:40])
        assert article.title not in article.gold_text
        for phrase in site.clutter_phrases:
            assert phrase not in article.gold_text
        assert sum(phrase in page for phrase in site.clutter_phrases) >= 8


def test_feeds_parse_with_every_article_once_and_some_relative_links() -> None:
    site = build_site("http://127.0.0.1:9")
    linked = []
    relative = 0
    for feed in site.feeds:
        body = site.resources[feed.path].body
        relative += body.count(b"<link>/")
        parsed = feedparser.parse(body, response_headers={
            "content-location": feed.url, "content-type": site.resources[feed.path].content_type})
        assert not parsed.bozo, feed.path
        linked += [e.link for e in parsed.entries]
    assert sorted(linked) == sorted(a.url for a in site.articles)
    assert relative > 0


def test_server_serves_pages_304_and_gzip() -> None:
    with SampleServer(n_articles=6) as server, httpx.Client() as client:
        site = server.site
        page = client.get(site.articles[0].url)
        assert page.status_code == 200 and page.content == site.resources[site.articles[0].path].body
        assert client.get(server.base_url + "/nope").status_code == 404
        feed = site.feeds[0]
        first = client.get(feed.url)
        again = client.get(feed.url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        since = client.get(feed.url, headers={"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304
        raw = client.get(feed.url, headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.content == site.resources[feed.path].body  # httpx decoded it
        assert "robots.txt" in client.get(server.base_url + "/robots.txt").request.url.path
        assert [r[1] for r in server.request_log][:2] == [site.articles[0].path, "/nope"]
    assert gzip.decompress(gzip.compress(b"x", mtime=0)) == b"x"


def test_defects_variant_plants_what_it_says() -> None:
    site = build_site("http://127.0.0.1:9", defects=True)
    assert set(site.defects) == {"duplicate_keys_feed", "boilerplate_page", "empty_feed"}
    dup = feedparser.parse(site.resources[site.defects["duplicate_keys_feed"]].body)
    assert len(dup.entries) > 1 and len({e.id for e in dup.entries}) == 1
    empty = feedparser.parse(site.resources[site.defects["empty_feed"]].body)
    assert empty.entries == [] and not empty.bozo
    page = site.resources[site.defects["boilerplate_page"]].body.decode()
    assert page.count("Subscribe to continue reading") >= 10
    assert build_site("http://127.0.0.1:9").defects == {}


def test_scale_variant_for_benchmarks() -> None:
    site = build_site("http://127.0.0.1:9", n_articles=1000)
    assert len(site.articles) == 1000 and len(site.feeds) >= 10
