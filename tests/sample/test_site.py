"""The offline sample site: deterministic, realistic pages and feeds, and a trustworthy oracle."""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest

from sample.site import Site, build_site

BASE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def site() -> Site:
    return build_site(BASE)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_same_arguments_give_identical_sites(site: Site) -> None:
    again = build_site(BASE)
    assert again.resources == site.resources and again.articles == site.articles
    assert build_site(BASE, seed=8).resources != site.resources
    # Only the base URL differs between two servers' sites.
    other = build_site("http://127.0.0.1:10")
    assert [a.path for a in other.articles] == [a.path for a in site.articles]


def test_default_site_has_outlets_formats_stories_and_wire_copies(site: Site) -> None:
    assert len(site.articles) == 36 and len(site.feeds) >= 3
    assert {f.format for f in site.feeds} == {"rss2", "atom"}
    assert len({a.outlet for a in site.articles}) == len(site.feeds)
    stories = {a.story_id for a in site.articles if a.story_id and a.story_id.startswith("story")}
    assert len(stories) >= 4
    for story in stories:
        assert 2 <= len({a.outlet for a in site.articles if a.story_id == story}) <= 3
    copies = [a for a in site.articles if a.syndicated_from]
    assert len({a.story_id for a in copies}) >= 3
    by_path = {a.path: a for a in site.articles}
    edits = set()
    for copy in copies:
        original = by_path[copy.syndicated_from or ""]
        assert original.outlet != copy.outlet and original.story_id == copy.story_id
        assert original.published <= copy.published
        # Verbatim or lightly edited: a new first sentence or an added tag line at most.
        copied, source = copy.gold_text.split("\n"), original.gold_text.split("\n")
        if copied[-1] not in source:
            copied = copied[:-1]
        assert copied[1:] == source[1:]
        assert copied[0].split(". ", 1)[1] == source[0].split(". ", 1)[1]
        edits.add((copied[0] == source[0], len(copied) == len(copy.gold_text.split("\n"))))
    assert len(edits) >= 2  # verbatim and edited copies both occur
    assert sum(a.story_id is None for a in site.articles) >= 10
    assert len({a.path for a in site.articles}) == len(site.articles)
    assert all(a.url == BASE + a.path for a in site.articles)


def test_dates_spread_over_the_requested_days(site: Site) -> None:
    start = datetime(2026, 11, 16, tzinfo=UTC)
    dates = [a.published for a in site.articles]
    assert all(d.tzinfo is not None and start <= d < start + timedelta(days=7) for d in dates)
    assert len({d.date() for d in dates}) >= 5
    short = build_site(BASE, start=datetime(2025, 3, 1, tzinfo=UTC), days=2, seed=3)
    assert {a.published.date() for a in short.articles} <= {datetime(2025, 3, d).date()
                                                              for d in (1, 2)}


def test_pages_hold_gold_paragraphs_and_clutter_gold_has_none(site: Site) -> None:
    for article in site.articles:
        page = html.unescape(site.resources[article.path].body.decode("utf-8"))
        paragraphs = article.gold_text.split("\n")
        assert len(paragraphs) >= 3
        for paragraph in paragraphs:
            assert paragraph in page, (article.path, paragraph[:40])
        assert article.title not in article.gold_text
        for phrase in site.clutter_phrases:
            assert phrase not in article.gold_text
        assert sum(phrase in page for phrase in site.clutter_phrases) >= 10
    assert len(site.clutter_phrases) >= 8


def test_pages_carry_metadata_a_real_news_page_has(site: Site) -> None:
    for article in site.articles:
        page = site.resources[article.path].body.decode("utf-8")
        assert page.startswith("<!doctype html><html lang=\"en\">")
        assert f'<link rel="canonical" href="{article.url}">' in page
        for needle in ('property="og:type" content="article"', 'property="og:site_name"',
                       'property="og:title"', 'name="description"', 'name="author"',
                       f'property="article:published_time" content="{article.published.isoformat()}"',
                       "<title>"):
            assert needle in page, (article.path, needle)
        ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>',
                                  page).group(1))  # type: ignore[union-attr]
        assert ld["@type"] == "NewsArticle" and html.unescape(ld["headline"]) == article.title
        assert [p["name"] for p in ld["author"]] == list(article.authors)
        assert ld["publisher"]["name"] == article.outlet


def test_three_layouts_with_clutter_inside_the_article(site: Site) -> None:
    layouts = {"story-body", "post-content", "article-text"}
    seen = set()
    for article in site.articles:
        page = site.resources[article.path].body.decode("utf-8")
        found = {c for c in layouts if f'class="{c}"' in page}
        assert len(found) == 1
        seen |= found
        # The inline boxes sit between the article's own paragraphs.
        inner = page.split(f'class="{found.pop()}"', 1)[1]
        first, last = article.gold_text.split("\n")[0], article.gold_text.split("\n")[-1]
        body = html.unescape(inner)
        span = body[body.index(first): body.index(last)]
        assert "Continue exploring our coverage" in span and "weekend edition free" in span
        assert page.count('class="newsletter-box"') >= 2
    assert seen == layouts


def test_unrelated_articles_do_not_share_long_runs_of_words(site: Site) -> None:
    k = 20
    grams = {a.path: {tuple(w[i:i + k]) for w in [_words(a.gold_text)]
                      for i in range(len(w) - k + 1)} for a in site.articles}
    for a, b in itertools.combinations(site.articles, 2):
        if a.story_id and a.story_id == b.story_id:
            continue
        assert not grams[a.path] & grams[b.path], (a.path, b.path)
    # Same event, other outlet: the facts and the quote are shared, the wording mostly is not.
    for a, b in itertools.combinations(site.articles, 2):
        if a.story_id == b.story_id and (a.story_id or "").startswith("story"):
            assert a.gold_text != b.gold_text and a.title and b.title


def test_feeds_parse_with_every_article_once_and_full_entries(site: Site) -> None:
    linked = []
    for feed in site.feeds:
        resource = site.resources[feed.path]
        parsed = feedparser.parse(resource.body, response_headers={
            "content-location": feed.url, "content-type": resource.content_type})
        assert not parsed.bozo, feed.path
        assert parsed.version == ("atom10" if feed.format == "atom" else "rss20")
        own = [a for a in site.articles if a.feed_path == feed.path]
        assert len(parsed.entries) == len(own) > 0
        for entry in parsed.entries:
            assert entry.id and entry.title and entry.summary and entry.author and entry.tags
            assert entry.published_parsed
        linked += [e.link for e in parsed.entries]
        assert dict(resource.headers).keys() >= {"ETag", "Last-Modified"}
    assert sorted(linked) == sorted(a.url for a in site.articles)


def test_case_47_some_feed_entries_use_relative_links(site: Site) -> None:
    relative = [f for f in site.feeds if b"<link>/" in site.resources[f.path].body]
    assert relative
    raw = feedparser.parse(site.resources[relative[0].path].body)  # no base: stays relative
    assert any(e.link.startswith("/") for e in raw.entries)


def test_robots_allows_all_but_private(site: Site) -> None:
    from urllib.robotparser import RobotFileParser

    robots = RobotFileParser()
    robots.parse(site.resources["/robots.txt"].body.decode().splitlines())
    assert robots.can_fetch("newsflow", site.articles[0].url)
    assert robots.can_fetch("newsflow", site.feeds[0].url)
    assert not robots.can_fetch("newsflow", BASE + "/private/x.html")


def test_defects_variant_plants_what_it_says() -> None:
    normal = build_site(BASE)
    site = build_site(BASE, defects=True)
    assert normal.defects == {}
    assert set(site.defects) == {"duplicate_keys_feed", "boilerplate_page", "volume_drop_feed"}
    assert site.articles == normal.articles  # on top of the normal site
    assert len(site.feeds) == len(normal.feeds) + 2
    dup = feedparser.parse(site.resources[site.defects["duplicate_keys_feed"]].body)
    assert len(dup.entries) > 1 and len({e.id for e in dup.entries}) == 1
    assert len({e.link for e in dup.entries}) == 1
    # The volume drop: about five articles a day on the eight days before the latest, none on it.
    assert site.defects["volume_drop_feed"] in [f.path for f in site.feeds]
    quiet = feedparser.parse(site.resources[site.defects["volume_drop_feed"]].body)
    assert not quiet.bozo
    latest = max(a.published for a in site.articles).date()
    per_day = Counter(parsedate_to_datetime(e.published).date() for e in quiet.entries)
    assert per_day == {latest - timedelta(days=d): 5 for d in range(1, 9)}
    for entry in quiet.entries:  # real article pages, not stubs
        page = site.resources[entry.link.removeprefix(BASE)].body.decode()
        assert '"@type": "NewsArticle"' in page and page.count("<p>") >= 3
    page = html.unescape(site.resources[site.defects["boilerplate_page"]].body.decode())
    text = re.sub(r"<[^>]+>", " ", page.split("<body>", 1)[1])
    boiler = sum(text.count(p) * len(p) for p in ("Subscribe to continue reading.",
                                                  "Sign up for our newsletter."))
    assert boiler > 0.3 * len(text.strip())
    listed = [f for f in site.feeds
              if site.defects["boilerplate_page"].encode() in site.resources[f.path].body]
    assert listed


def test_scale_variant_for_benchmarks() -> None:
    site = build_site(BASE, n_articles=1000)
    assert len(site.articles) == 1000 and len({a.path for a in site.articles}) == 1000
    assert len(site.feeds) >= 1000 // 25
    assert len({a.story_id for a in site.articles if a.story_id}) >= 100


def test_small_sites_still_have_three_outlets() -> None:
    site = build_site(BASE, n_articles=6)
    assert len(site.articles) == 6 and len(site.feeds) == 3
    assert all(any(a.feed_path == f.path for a in site.articles) for f in site.feeds)


def test_identical_across_processes_and_hash_seeds(site: Site) -> None:
    """str hash() changes per process; nothing in the site may depend on it."""

    def digest(s: Site) -> str:
        h = hashlib.sha256()
        for path in sorted(s.resources):
            h.update(path.encode() + s.resources[path].body)
        return h.hexdigest()

    code = (f"import hashlib; from sample.site import build_site; s = build_site({BASE!r}); "
            "h = hashlib.sha256(); "
            "[h.update(p.encode() + s.resources[p].body) for p in sorted(s.resources)]; "
            "print(h.hexdigest())")
    root = Path(__file__).resolve().parents[2]
    for hash_seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                             text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": hash_seed}).stdout.strip()
        assert out == digest(site)
