"""Feed lists: feeds.yaml and OPML, loud on mistakes, safe on hostile OPML (FAULTS 18, 33, 34)."""

from __future__ import annotations

from pathlib import Path

import pytest

from transforms.feedlist import (
    FeedConfig,
    dump_feeds_yaml,
    feed_id,
    load_feeds_yaml,
    normalise_feed_url,
    parse_opml,
    to_opml,
)

FEEDS = [
    FeedConfig("https://example.com/rss", name="Example", outlet="Example News",
               tags=("world", "politics"), poll_minutes=30),
    FeedConfig("http://other.example/atom.xml"),
    FeedConfig("https://ünicode.example/feed?x=1", name="Ünïcode & <friends>", tags=("a b",)),
]


def test_feed_id_is_stable_and_ignores_cosmetic_url_differences() -> None:
    base = feed_id("https://Example.COM:443/rss#top")
    assert base == feed_id("https://example.com/rss") == feed_id("  https://example.com./rss ")
    assert len(base) == 16 and base != feed_id("https://example.com/RSS")
    assert feed_id("http://example.com/rss") != base
    assert normalise_feed_url("HTTP://Example.com") == "http://example.com/"
    assert feed_id("http://[bad") == feed_id("http://[bad")  # never raises


def test_yaml_round_trip() -> None:
    assert load_feeds_yaml(dump_feeds_yaml(FEEDS)) == FEEDS


def test_the_repository_feeds_yaml_loads() -> None:
    path = Path(__file__).parents[2] / "feeds.yaml"
    feeds = load_feeds_yaml(path.read_text(encoding="utf-8"))
    assert feeds and all(f.url.startswith("https://") for f in feeds)


@pytest.mark.parametrize(("text", "message"), [
    ("feeds:\n  - url: https://a.example/\n    nmae: typo\n", "unknown key 'nmae'"),
    ("feedz: []\n", "unknown key 'feedz'"),
    ("feeds:\n  - name: no url\n", "url is missing"),
    ("feeds:\n  - url: file:///etc/passwd\n", "not an absolute http(s) URL"),
    ("feeds:\n  - url: javascript:alert(1)\n", "not an absolute http(s) URL"),
    ("feeds:\n  - url: /local/path.xml\n", "not an absolute http(s) URL"),
    ("feeds:\n  - url: https://a.example/\n    poll_minutes: 0\n", "poll_minutes"),
    ("feeds:\n  - url: https://a.example/\n    tags: [1, 2]\n", "tags"),
    ("feeds:\n  - url: https://a.example/\n  - url: https://A.example/#x\n", "listed twice"),
    ("feeds: {url: x}\n", "must be a list"),
    ("- just a list\n", "must be a mapping"),
    ("feeds: [\n", "not valid YAML"),
])
def test_case_18_yaml_mistakes_fail_loudly(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_feeds_yaml(text)


def test_yaml_shorthand_and_empty() -> None:
    assert load_feeds_yaml("feeds:\n  - https://a.example/f\n") == [FeedConfig("https://a.example/f")]
    assert load_feeds_yaml("") == [] and load_feeds_yaml("feeds:\n") == []


def test_opml_round_trip() -> None:
    assert parse_opml(to_opml(FEEDS).encode("utf-8")) == FEEDS


def test_opml_nested_folders_become_tags_and_junk_is_skipped() -> None:
    opml = b"""<?xml version="1.0"?><opml version="1.0"><head><title>x</title></head><body>
      <outline text="News"><outline text="World">
        <outline type="rss" text="BBC" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"
                 category="/uk,public"/></outline>
        <outline type="rss" title="Local" text="ignored" xmlUrl="file:///etc/passwd"/>
        <outline type="rss" text="Dup" xmlUrl="https://FEEDS.bbci.co.uk/news/world/rss.xml"/>
      </outline><outline type="rss" text="Top" xmlUrl="http://top.example/rss"/></body></opml>"""
    feeds = parse_opml(opml)
    assert feeds == [
        FeedConfig("https://feeds.bbci.co.uk/news/world/rss.xml", name="BBC",
                   tags=("News", "World", "uk", "public")),
        FeedConfig("http://top.example/rss", name="Top"),
    ]


@pytest.mark.parametrize("opml", [
    b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "b">]><opml><body/></opml>',
    b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml><body/></opml>',
    "<?xml version='1.0' encoding='utf-16'?><!DOCTYPE x [<!ENTITY a 'b'>]><opml><body/></opml>"
    .encode("utf-16"),
])
def test_case_33_34_opml_with_a_dtd_is_refused(opml: bytes) -> None:
    with pytest.raises(ValueError, match="refused"):
        parse_opml(opml)


def test_opml_that_is_not_opml() -> None:
    with pytest.raises(ValueError, match="not an OPML"):
        parse_opml(b"<rss><body/></rss>")
    with pytest.raises(ValueError, match="well-formed"):
        parse_opml(b"<opml><body>")


def test_libyaml_and_pure_python_loaders_read_a_feed_list_alike(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from transforms import feedlist

    feeds = [FeedConfig(f"https://site{i}.example/feed.xml", name=f"Site {i} — Zürich",
                        outlet=f"Outlet {i % 7}", tags=("news", f"t{i % 3}"),
                        poll_minutes=None if i % 4 else 30 + i) for i in range(300)]
    text = dump_feeds_yaml(feeds)
    fast = load_feeds_yaml(text)
    monkeypatch.setattr(feedlist, "_SAFE_LOADER", yaml.SafeLoader)
    assert load_feeds_yaml(text) == fast
    assert fast == feeds
