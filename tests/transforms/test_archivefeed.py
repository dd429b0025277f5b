"""RFC 5005 link discovery and the walk back through archived and paged feeds."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from transforms.archivefeed import ArchiveProblem, next_hop, parse_archive_page
from transforms.sitemaps import plan_days

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "backfill"
FEED = "https://news.example.com/feed.atom"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_subscription_document_links_to_its_prev_archive() -> None:
    page = parse_archive_page(_fixture("archive_current.xml"), base_url=FEED)
    assert page.kind == "atom"
    assert page.problem is None
    assert page.prev_archive == "https://news.example.com/archive/2024-03-02.atom"
    assert page.older == page.prev_archive
    assert not page.archive and not page.complete


def test_entries_take_published_else_updated_and_the_alternate_link() -> None:
    page = parse_archive_page(_fixture("archive_current.xml"), base_url=FEED)
    assert [(e.loc, e.dated) for e in page.entries] == [
        ("https://news.example.com/a/today.html", datetime(2024, 3, 3, 9, tzinfo=UTC)),
        ("https://news.example.com/a/updated.html", datetime(2024, 3, 3, 9, tzinfo=UTC)),
    ]
    assert page.entries[0].date_raw == "2024-03-03T09:00:00Z"


def test_archive_document_has_all_three_links_and_the_marker() -> None:
    page = parse_archive_page(_fixture("archive_2024_03_02.xml"))
    assert page.archive
    assert page.current == FEED
    assert page.next_archive == "https://news.example.com/archive/2024-03-03.atom"
    assert page.prev_archive == "https://news.example.com/archive/2024-02-28.atom"
    assert page.oldest() == datetime(2024, 2, 29, 12, tzinfo=UTC)


def test_paged_rss_follows_next_and_reads_items() -> None:
    page = parse_archive_page(_fixture("rss_paged.xml"))
    assert page.kind == "rss"
    assert page.next == "https://blog.example.org/feed?page=2"
    assert page.first == "https://blog.example.org/feed?page=1"
    assert page.older == page.next
    assert [(e.loc, e.dated) for e in page.entries] == [
        ("https://blog.example.org/post-1", datetime(2024, 3, 2, 10, tzinfo=UTC)),
        ("https://blog.example.org/post-2", datetime(2024, 3, 1, 8, tzinfo=UTC)),
    ]


def test_next_hop_walks_back_until_the_range_start() -> None:
    current = parse_archive_page(_fixture("archive_current.xml"), base_url=FEED)
    hop = next_hop(current, [FEED], date(2024, 3, 1))
    assert hop == "https://news.example.com/archive/2024-03-02.atom"
    archive = parse_archive_page(_fixture("archive_2024_03_02.xml"))
    # its oldest entry (Feb 29) is before Mar 1: the walk has reached the start of the range
    assert next_hop(archive, [FEED, hop], date(2024, 3, 1)) is None
    # a range starting earlier goes on to the previous archive
    assert next_hop(archive, [FEED, hop], date(2024, 2, 1)) == archive.prev_archive


def test_next_hop_stops_on_a_loop_and_on_a_complete_feed() -> None:
    archive = parse_archive_page(_fixture("archive_2024_03_02.xml"))
    assert next_hop(archive, [archive.prev_archive or ""], date(2000, 1, 1)) is None
    complete = parse_archive_page(
        b'<feed xmlns="http://www.w3.org/2005/Atom" '
        b'xmlns:fh="http://purl.org/syndication/history/1.0"><fh:complete/>'
        b'<link rel="next" href="https://a.example/2"/></feed>')
    assert complete.complete
    assert next_hop(complete, [], date(2000, 1, 1)) is None


def test_archive_entries_plan_into_days() -> None:
    page = parse_archive_page(_fixture("archive_2024_03_02.xml"))
    plan = plan_days(page.entries, date(2024, 3, 1), date(2024, 3, 3))
    assert plan.by_day[date(2024, 3, 2)] == ("https://news.example.com/a/two.html",)
    assert plan.outside == 1


@pytest.mark.parametrize(("body", "problem"), [
    (b"", ArchiveProblem.EMPTY),
    (b"<html><body>login</body></html>", ArchiveProblem.NOT_A_FEED),
    (b"<rss version='2.0'></rss>", ArchiveProblem.NOT_A_FEED),
    (b"<<<", ArchiveProblem.MALFORMED),
])
def test_case_30_bad_documents_are_values(body: bytes, problem: ArchiveProblem) -> None:
    assert parse_archive_page(body).problem == problem


def test_case_18_links_with_bad_schemes_are_ignored() -> None:
    page = parse_archive_page(
        b'<feed xmlns="http://www.w3.org/2005/Atom">'
        b'<link rel="prev-archive" href="file:///etc/passwd"/>'
        b'<entry><link href="javascript:alert(1)"/><updated>2024-03-01</updated></entry></feed>')
    assert page.prev_archive is None
    assert page.entries == ()


def test_case_33_entities_are_never_expanded() -> None:
    laughs = (FIXTURES / "billion_laughs.xml").read_text().replace(
        "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
        "  <url><loc>https://news.example.com/&lol9;</loc></url>\n</urlset>",
        '<feed xmlns="http://www.w3.org/2005/Atom"><link rel="prev-archive" '
        'href="https://a.example/&lol9;"/></feed>')
    started = time.perf_counter()
    page = parse_archive_page(laughs.encode())
    assert time.perf_counter() - started < 1.0
    assert page.kind == "atom"
    assert "lollollol" not in repr(page)


def test_case_29_bare_ampersand_recovers_and_flags() -> None:
    page = parse_archive_page(
        b'<rss version="2.0"><channel><title>A & B</title>'
        b'<item><link>https://a.example/1</link><pubDate>Fri, 01 Mar 2024 00:00:00 GMT</pubDate>'
        b'</item></channel></rss>')
    assert page.problem == ArchiveProblem.MALFORMED
    assert [e.loc for e in page.entries] == ["https://a.example/1"]
