"""Behaviour of parse_feed that a single fixture file cannot show: runs across time, generated
attack documents, resource caps, and a seeded mutation loop (FAULTS cases 29-51)."""

from __future__ import annotations

import random
import socket
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from transforms.feedlist import feed_id
from transforms.feeds import FeedOptions, FeedOutcome, ParsedFeed, entry_windows, parse_feed
from transforms.textclean import neutralise

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
BASE = "https://example.com/feeds/main.xml"
T0 = datetime(2026, 3, 3, tzinfo=UTC)


def parse(body: bytes, *, at: datetime = T0, base: str = BASE, **opts: Any) -> ParsedFeed:
    return parse_feed(body, {"content-type": "application/rss+xml"}, base, fetched_at=at,
                      options=FeedOptions(**opts))


def rss(items: str, channel: str = "<title>Gen</title>", prolog: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}<rss version="2.0"><channel>'
            f"{channel}{items}</channel></rss>").encode()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def versions(parsed: ParsedFeed) -> set[tuple[str, str]]:
    return {(e.entry_key, e.content_hash) for e in parsed.entries}


# --- audit hook: records every open() and socket connect() while armed --------------------

_EVENTS: list[tuple[str, str]] = []
_ARMED = [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _ARMED[0] and event in ("open", "socket.connect", "urllib.Request"):
        _EVENTS.append((event, repr(args)[:200]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it is inert unless armed


@pytest.fixture
def watched() -> Iterator[list[tuple[str, str]]]:
    _EVENTS.clear()
    _ARMED[0] = True
    try:
        yield _EVENTS
    finally:
        _ARMED[0] = False


def test_case_29_recovered_entries_keep_bozo_and_reason() -> None:
    parsed = parse(fixture("case_29_bare_ampersand.xml"))
    assert parsed.outcome == FeedOutcome.RECOVERED and parsed.bozo
    assert parsed.reason and "SAXParseException" in parsed.reason
    assert [e.guid for e in parsed.entries] == ["a1", "b2"]


def test_case_30_html_page_is_not_a_feed_and_not_an_empty_success() -> None:
    parsed = parse(fixture("case_30_login_page.html"))
    empty = parse(fixture("case_31_empty_channel.xml"))
    assert parsed.outcome == FeedOutcome.NOT_A_FEED and parsed.entries == ()
    assert empty.outcome == FeedOutcome.OK and empty.entries == ()


def test_case_31_empty_channel_is_success_with_zero_entries() -> None:
    parsed = parse(rss(""))
    assert (parsed.outcome, parsed.entries, parsed.reason) == (FeedOutcome.OK, (), None)


@pytest.mark.parametrize("body", [b"", b"   \n\t", b"\xef\xbb\xbf  \n", b"\xff\xfe"])
def test_case_32_empty_document(body: bytes) -> None:
    assert parse(body).outcome == FeedOutcome.EMPTY_DOCUMENT


def test_case_33_quadratic_blowup_is_refused_without_expansion() -> None:
    big = "a" * 100_000
    body = rss("<item><title>" + "&big;" * 100_000 + "</title></item>",
               prolog=f'<!DOCTYPE rss [<!ENTITY big "{big}">]>')
    parsed = parse(body)
    assert parsed.outcome == FeedOutcome.UNSAFE and parsed.entries == ()
    assert "large" in (parsed.reason or "")


def test_case_33_billion_laughs_never_reaches_a_parser(watched: list[Any]) -> None:
    parsed = parse(fixture("case_33_billion_laughs.xml"))
    assert parsed.outcome == FeedOutcome.UNSAFE
    assert parsed.title is None and parsed.entries == ()


def test_case_33_doctype_hidden_behind_comments_and_pis_is_found() -> None:
    body = (b'<?xml version="1.0"?><!-- <rss> --><?pi <x>?>\n<!DOCTYPE rss [<!-- ]> -->'
            b'<!ENTITY a "x"><!ENTITY b "&a;&a;">]><rss version="2.0"><channel><title>&b;'
            b"</title></channel></rss>")
    assert parse(body).outcome == FeedOutcome.UNSAFE


def test_case_33_simple_entities_expand_within_a_bound() -> None:
    ok = neutralise(rss("<item><title>&e;</title></item>", prolog='<!DOCTYPE rss [<!ENTITY e "x">]>'),
                    256)
    assert ok.unsafe is None and b"<title>x</title>" in ok.data and b"DOCTYPE" not in ok.data
    # 200 characters expanded 10,000 times is 2 MB: over the growth cap, refused.
    body = rss("<item><title>" + "&e;" * 10_000 + "</title></item>",
               prolog='<!DOCTYPE rss [<!ENTITY e "' + "y" * 200 + '">]>')
    assert parse(body).outcome == FeedOutcome.UNSAFE


def test_case_34_xxe_touches_no_file_and_no_socket(tmp_path: Path, watched: list[Any]) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-SECRET")
    watched.clear()  # that write was ours
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    attacks = [
        f'<!DOCTYPE rss [<!ENTITY x SYSTEM "file://{canary}">]>',
        f'<!DOCTYPE rss [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]>',
        f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p"> %p;]>',
        f'<!DOCTYPE rss SYSTEM "http://127.0.0.1:{port}/dtd">',
        f'<!DOCTYPE rss SYSTEM "file://{canary}">',
        f'<!DOCTYPE rss PUBLIC "-//x//y" "http://127.0.0.1:{port}/pub">',
    ]
    try:
        results = [parse(rss("<item><title>t &x;</title><guid>1</guid></item>", prolog=a))
                   for a in attacks]
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert [r.outcome for r in results[:3]] == [FeedOutcome.UNSAFE] * 3
    # A bare external DTD is dropped, never fetched; the entity stays unexpanded.
    assert all(r.outcome in (FeedOutcome.OK, FeedOutcome.RECOVERED) for r in results[3:])
    assert all("CANARY" not in repr(r) for r in results)
    touched = [e for e in watched if str(canary) in e[1] or e[0] != "open"]
    assert touched == []


def test_case_35_author_fields_are_capped_before_parsing() -> None:
    evil = "a@" + "a." * 16_000 + "!"
    items = "".join(f"<item><title>{i}</title><guid>{i}</guid><author>{evil}</author>"
                    f"<dc:creator><![CDATA[{evil}]]></dc:creator></item>" for i in range(50))
    body = rss(items).replace(b'<rss version="2.0">',
                              b'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">')
    parsed = parse(body)
    assert parsed.outcome == FeedOutcome.RECOVERED and len(parsed.entries) == 50
    assert "100 author field(s) capped" in (parsed.reason or "")
    assert all(len(a) <= 256 for e in parsed.entries for a in e.authors)


def test_case_36_a_big_feed_is_parsed_in_windows_and_keeps_every_entry() -> None:
    items = "".join(f"<item><title>Item {i}</title><guid>g{i}</guid></item>" for i in range(2500))
    whole = parse(rss(items), window_entries=5000)
    windowed = parse(rss(items), window_entries=300)
    assert len(windowed.entries) == 2500 and not windowed.truncated and windowed.left_out == 0
    assert (windowed.outcome, windowed.bozo, windowed.title) == (FeedOutcome.OK, False, "Gen")
    # the same entries, keys and positions as one parse of the whole document
    assert [(e.entry_key, e.position, e.title) for e in windowed.entries] == \
        [(e.entry_key, e.position, e.title) for e in whole.entries]


def test_case_36_entries_beyond_the_cap_are_counted_not_silently_dropped() -> None:
    items = "".join(f"<item><title>Item {i}</title><guid>g{i}</guid></item>" for i in range(2500))
    parsed = parse(rss(items), max_entries=2000, window_entries=700)
    assert parsed.truncated and parsed.left_out == 500 and len(parsed.entries) == 2000
    assert [e.guid for e in parsed.entries[:3]] == ["g0", "g1", "g2"]
    assert parsed.entries[-1].guid == "g1999"
    small = parse(rss(items), max_entries=10)
    assert [e.entry_key for e in small.entries] == [e.entry_key for e in parsed.entries[:10]]
    assert small.left_out == 2490


def test_case_36_windows_are_well_formed_documents_with_head_and_tail() -> None:
    doc = rss("".join(f"<item><guid>g{i}</guid></item>" for i in range(7)))
    windows, left_out = entry_windows(doc, 3, 5)
    assert left_out == 2 and len(windows) == 2
    assert all(w.startswith(doc[: doc.index(b"<item>")]) for w in windows)
    assert all(w.endswith(b"</channel></rss>") for w in windows)
    assert [w.count(b"<item>") for w in windows] == [3, 2]
    assert b"g4" in windows[1] and b"g5" not in windows[1]
    assert entry_windows(doc, 10, 10) == ([doc], 0)


@pytest.mark.slow
def test_case_36_ten_thousand_items_14_mb() -> None:
    pad = "x" * 1200
    items = "".join(f"<item><title>Item {i}</title><guid>g{i}</guid><description>{pad}"
                    "</description></item>" for i in range(10_000))
    body = rss(items)
    assert len(body) > 12_000_000
    parsed = parse(body)
    assert parsed.outcome == FeedOutcome.OK and not parsed.truncated
    assert len(parsed.entries) == 10_000 and parsed.entries[-1].guid == "g9999"


def test_case_38_cleaned_strings_insert_into_duckdb() -> None:
    parsed = parse(fixture("case_38_control_chars.xml"))
    entry = parsed.entries[0]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (title VARCHAR, summary VARCHAR, feed_title VARCHAR)")
    con.execute("INSERT INTO t VALUES (?, ?, ?)", [entry.title, entry.summary, parsed.title])
    title, summary = con.execute("SELECT title, summary FROM t").fetchone() or ("", "")
    assert title.startswith("Nul and vtab and ff and lone")
    assert "\x00" not in title and "\x0b" not in title and "\ufffd" in summary


def test_case_38_bad_character_references_do_not_crash_the_loose_parser() -> None:
    body = rss("<item><title>a &#xD800; b &#0; c &#x1F600;</title><guid>1</guid></item><bad>")
    parsed = parse(body)
    assert parsed.outcome == FeedOutcome.RECOVERED
    assert parsed.entries[0].title == "a \ufffd b \ufffd c \U0001f600"


def test_case_39_duplicate_guids_are_distinct_and_stable_across_runs() -> None:
    body = fixture("case_39_duplicate_guids.xml")
    first, second = parse(body), parse(body, at=T0 + timedelta(hours=1))
    assert len({e.entry_key for e in first.entries}) == 5
    assert [e.entry_key for e in first.entries] == [e.entry_key for e in second.entries]
    # Reordering the feed does not move keys: they depend on the entry, not its position.
    items = body.split(b"<item>")
    shuffled = items[0] + b"".join(b"<item>" + i for i in reversed(items[1:-1]))
    shuffled += b"<item>" + items[-1]
    assert {e.entry_key for e in parse(shuffled).entries} == {e.entry_key for e in first.entries}


def test_case_39_same_guid_same_link_told_apart_by_content() -> None:
    items = "".join(f"<item><title>T{i}</title><link>https://e.com/x</link><guid>1</guid></item>"
                    for i in range(3))
    parsed = parse(rss(items))
    assert [e.key_source for e in parsed.entries] == ["guid+link+hash"] * 3
    assert len({e.entry_key for e in parsed.entries}) == 3


def test_case_40_same_guid_in_two_feeds_gives_two_scoped_keys() -> None:
    body = rss("<item><title>x</title><guid>shared-1</guid></item>")
    a = parse(body, base="https://a.example/feed")
    b = parse(body, base="https://b.example/feed")
    scoped = {(feed_id("https://a.example/feed"), a.entries[0].entry_key),
              (feed_id("https://b.example/feed"), b.entries[0].entry_key)}
    assert len(scoped) == 2


def test_case_41_hash_keys_are_stable_and_true_duplicates_collapse() -> None:
    body = fixture("case_41_no_guid_no_link.xml")
    first, again = parse(body), parse(body, at=T0 + timedelta(days=3))
    assert [e.title for e in first.entries] == ["Alpha", "Beta"]  # the third is a duplicate
    assert [e.entry_key for e in first.entries] == [e.entry_key for e in again.entries]


def test_case_42_steady_state_refetch_yields_no_new_versions() -> None:
    body = fixture("case_43_v1.xml")
    seen: set[tuple[str, str]] = set()
    new_per_run = []
    for run in range(3):
        parsed = parse(body, at=T0 + timedelta(minutes=15 * run))
        new_per_run.append(len(versions(parsed) - seen))
        seen |= versions(parsed)
    assert new_per_run == [2, 0, 0]


def test_case_42_feed_moving_to_https_keeps_keys_and_hashes() -> None:
    body = rss("<item><title>a</title><link>/p/1</link><guid>12345</guid></item>")
    old = parse(body, base="http://example.com/feed")
    new = parse(body, base="https://example.com/feed")
    assert versions(old) == versions(new)
    assert old.entries[0].link != new.entries[0].link


def test_case_43_updated_item_is_a_new_version_with_the_same_key() -> None:
    v1, v2 = parse(fixture("case_43_v1.xml")), parse(fixture("case_43_v2.xml"))
    assert [e.entry_key for e in v1.entries] == [e.entry_key for e in v2.entries]
    assert v1.entries[0].content_hash != v2.entries[0].content_hash
    assert v1.entries[1].content_hash == v2.entries[1].content_hash
    assert len(versions(v1) | versions(v2)) == 3


def test_case_44_missing_dates_are_never_filled_with_the_clock() -> None:
    body = fixture("case_44_missing_dates.xml")
    runs = [parse(body, at=T0 + timedelta(days=d)) for d in (0, 30)]
    assert all(e.published_at is None and e.updated_at is None for r in runs for e in r.entries)
    assert runs[0].entries == runs[1].entries


def test_case_45_future_date_becomes_plausible_later_but_hash_is_unchanged() -> None:
    body = rss("<item><title>x</title><guid>1</guid><pubDate>2026-03-06T00:00:00Z</pubDate></item>")
    early, late = parse(body), parse(body, at=T0 + timedelta(days=5))
    assert early.entries[0].date_suspect and early.entries[0].published_at is None
    assert not late.entries[0].date_suspect and late.entries[0].published_at is not None
    assert versions(early) == versions(late)


def test_case_47_links_resolve_against_the_final_url_not_the_server_header() -> None:
    body = rss("<item><title>x</title><link>post/1</link><guid>1</guid></item>")
    parsed = parse_feed(body, {"Content-Location": "https://evil.example/"},
                        "https://final.example/news/rss.xml", fetched_at=T0)
    assert parsed.entries[0].link == "https://final.example/news/post/1"


def test_case_48_private_entry_links_are_kept_for_the_fetch_guard() -> None:
    parsed = parse(fixture("case_48_private_host_link.xml"))
    assert [e.link_status for e in parsed.entries] == ["ok", "ok"]


@pytest.mark.parametrize("link", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,x",
                                  "ftp://example.com/f", "gopher://x/"])
def test_case_49_bad_scheme_links_are_kept_but_flagged(link: str) -> None:
    entry = parse(rss(f"<item><title>x</title><link>{link}</link></item>")).entries[0]
    assert (entry.link, entry.link_status) == (None, "bad_scheme")
    # raw_link is as feedparser reports it ("file:///x" comes back as "file://x").
    assert entry.raw_link and entry.raw_link.split(":")[0] == link.split(":")[0]


def test_case_50_pathologically_long_fields_are_capped() -> None:
    cats = "".join(f"<category>c{i}</category>" for i in range(10_000))
    encl = "".join(f'<enclosure url="https://e.com/{i}.mp3" type="audio/mpeg" length="1"/>'
                   for i in range(5_000))
    body = rss(f"<item><title>{'T' * 1_000_000}</title><guid>1</guid>{cats}{encl}"
               f"<description>{'d ' * 50_000}</description></item>")
    entry = parse(body).entries[0]
    assert entry.truncated
    assert len(entry.title or "") == 1000 and len(entry.tags) == 50
    assert len(entry.summary or "") <= 20_000
    assert parse(rss("<item><title>short</title></item>")).entries[0].truncated is False


def test_case_50_categories_beyond_the_cap_are_dropped_before_parsing() -> None:
    # feedparser de-duplicates tags with a list scan: quadratic, minutes for 100k categories.
    many = "".join(f"<category>c{i}</category>" for i in range(100_000))
    body = rss(f"<item><title>a</title><guid>1</guid>{many}</item>"
               "<item><title>b</title><guid>2</guid><category>kept</category></item>")
    parsed = parse(body)
    assert "99900 category element(s) beyond 100 per entry dropped" in (parsed.reason or "")
    assert parsed.entries[0].tags[:2] == ("c0", "c1") and len(parsed.entries[0].tags) == 50
    assert parsed.entries[1].tags == ("kept",)


def test_case_51_netscape_doctype_is_removed_and_version_kept() -> None:
    parsed = parse(fixture("case_51_rss091_netscape.xml"))
    assert parsed.version == "rss091n" and parsed.outcome == FeedOutcome.OK


def test_case_51_json_feed_that_is_not_a_feed() -> None:
    assert parse(b'{"hello": "world"}').outcome == FeedOutcome.NOT_A_FEED
    assert parse(b"[" * 100_000).outcome == FeedOutcome.MALFORMED


def test_ttl_and_sy_update_period() -> None:
    assert parse(rss("", channel="<title>x</title><ttl>45</ttl>")).ttl_minutes == 45
    sy = ('<sy:updatePeriod xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">daily'
          '</sy:updatePeriod>')
    assert parse(rss("", channel=f"<title>x</title>{sy}")).ttl_minutes == 1440
    assert parse(rss("", channel="<title>x</title><ttl>-3</ttl>")).ttl_minutes is None


def test_content_hash_ignores_position_but_not_fields() -> None:
    a = parse(rss("<item><title>A</title><guid>1</guid></item><item><title>B</title><guid>2</guid>"
                  "</item>"))
    b = parse(rss("<item><title>B</title><guid>2</guid></item><item><title>A</title><guid>1</guid>"
                  "</item>"))
    assert versions(a) == versions(b)
    assert replace(a.entries[0], position=1) != b.entries[0]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        pos = rng.randrange(len(out) + 1)
        if op < 0.3 and out:
            del out[pos:pos + rng.randint(1, 40)]
        elif op < 0.6:
            out[pos:pos] = rng.choice([b"<", b"&", b"]]>", b"<![CDATA[", b"\x00", b"\xff", b"<!--",
                                       b"&#xD800;", b"<item>", b"</channel>", b'"', b"<!DOCTYPE x ["])
        elif out:
            out[min(pos, len(out) - 1)] = rng.randrange(256)
    return bytes(out)


def test_property_mutated_fixtures_never_raise_and_stay_clean() -> None:
    """A hypothesis-free fuzz loop (seeded): no exception escapes, strings stay valid."""
    rng = random.Random(20260303)
    seeds = sorted(p for p in FIXTURES.iterdir() if p.name.startswith("case_"))
    for i in range(400):
        body = _mutate(rng.choice(seeds).read_bytes() or b"<rss/>", rng)
        parsed = parse(body)
        assert isinstance(parsed.outcome, FeedOutcome), i
        assert parsed.outcome != FeedOutcome.PARSE_CRASH, (i, parsed.reason, body[:300])
        for e in parsed.entries:
            for value in (e.title, e.summary, e.content, e.guid, e.raw_link):
                if value is not None:
                    value.encode("utf-8")
        assert parse(body) == parsed, i


@pytest.mark.parametrize("magic", [b"\x1f\x8b\x08\x00", b"\x28\xb5\x2f\xfd", b"%PDF-1.7",
                                   b"\x89PNG\r\n\x1a\n", b"PK\x03\x04"])
def test_case_25_compressed_or_binary_bodies_never_reach_the_parser(magic: bytes) -> None:
    parsed = parse(magic + b"\x00" * 64 + b"<rss version='2.0'><channel><item><title>x")
    assert parsed.outcome == FeedOutcome.NOT_A_FEED and "binary" in (parsed.reason or "")


@pytest.mark.parametrize("content_type", ["text/html", "application/octet-stream", "text/plain"])
def test_case_26_feed_with_a_wrong_content_type_still_parses(content_type: str) -> None:
    body = fixture("case_43_v1.xml")
    parsed = parse_feed(body, {"Content-Type": content_type}, BASE, fetched_at=T0)
    assert parsed.outcome == FeedOutcome.OK and len(parsed.entries) == 2
    assert parsed.bozo and "NonXMLContentType" in (parsed.reason or "")


def test_case_37_one_bad_byte_does_not_garble_a_utf8_document() -> None:
    body = rss("<item><title>naïve café über</title><guid>1</guid></item>").replace(
        b"<guid>", b"\xff<guid>")
    parsed = parse(body)
    assert parsed.entries[0].title == "naïve café über"
    assert parsed.outcome == FeedOutcome.RECOVERED and "invalid UTF-8" in (parsed.reason or "")


def test_case_49_declared_plain_text_keeps_its_angle_brackets() -> None:
    body = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title><entry><title>t</title>'
            b'<id>1</id><summary type="text">if x&lt;y then &lt;b&gt;</summary>'
            b'<content type="html">&lt;p&gt;hi&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;</content>'
            b"</entry></feed>")
    entry = parse(body).entries[0]
    assert (entry.summary, entry.content) == ("if x<y then <b>", "hi")


@pytest.mark.parametrize(("guid", "link"), [
    ("12345", None),
    ("/p/1", "https://example.com/p/1"),
    ("https://other.example/p", "https://other.example/p"),
])
def test_case_47_permalink_guid_becomes_a_link_only_when_it_looks_like_one(
        guid: str, link: str | None) -> None:
    entry = parse(rss(f"<item><title>x</title><guid>{guid}</guid></item>")).entries[0]
    assert (entry.guid, entry.link) == (guid, link)
    assert entry.link_status == ("ok" if link else "missing")


def test_case_36_huge_documents_are_cut_before_parsing_and_stay_well_formed() -> None:
    items = "".join(f"<item><title>Item {i}</title><guid>g{i}</guid></item>" for i in range(5000))
    parsed = parse(rss(items), max_entries=3)
    assert parsed.truncated and parsed.outcome == FeedOutcome.OK and not parsed.bozo
    assert [e.guid for e in parsed.entries] == ["g0", "g1", "g2"] and parsed.left_out == 4997
    atom = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>'
            + "".join(f"<entry><id>e{i}</id><title>t</title></entry>" for i in range(10))
            + "</feed>").encode()
    cut = parse(atom, max_entries=4)
    assert (cut.outcome, cut.truncated, len(cut.entries), cut.left_out) == \
        (FeedOutcome.OK, True, 4, 6)
    assert parse(atom, max_entries=10).truncated is False
    paged = parse(atom, window_entries=3)
    assert [e.guid for e in paged.entries] == [f"e{i}" for i in range(10)]
