"""Sitemap parsing: dated URLs out of hostile XML, with the range planning a backfill needs."""

from __future__ import annotations

import gzip
import socket
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from transforms.sitemaps import (
    ParsedSitemap,
    SitemapKind,
    SitemapOptions,
    SitemapProblem,
    SitemapRef,
    SitemapUrl,
    days,
    parse_sitemap,
    parse_w3c_datetime,
    plan_days,
    refs_to_follow,
    sitemaps_from_robots,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "backfill"
BASE = "https://news.example.com/sitemap-news.xml"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_news_sitemap_prefers_publication_date_and_keeps_raw_strings() -> None:
    parsed = parse_sitemap(_fixture("news_sitemap.xml"), base_url=BASE)
    assert parsed.kind == SitemapKind.URLSET
    assert parsed.problem is None
    first = parsed.urls[0]
    assert first.loc == "https://news.example.com/2024/03/01/first.html"
    # 23:30 at -02:00 is the next day in UTC: days are UTC days.
    assert first.published_at == datetime(2024, 3, 2, 1, 30, tzinfo=UTC)
    assert first.published_raw == "2024-03-01T23:30:00-02:00"
    assert first.lastmod == datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert first.dated == first.published_at
    assert first.title == "First & foremost"
    assert first.publication == "Example News" and first.language == "en"


def test_case_18_relative_locations_resolve_and_bad_schemes_are_dropped() -> None:
    parsed = parse_sitemap(_fixture("news_sitemap.xml"), base_url=BASE)
    locs = [u.loc for u in parsed.urls]
    assert "https://news.example.com/2024/03/02/relative.html" in locs
    assert not any(loc.startswith("javascript:") for loc in locs)
    # the javascript: location and the entry without <loc> are counted, not silently lost
    assert parsed.rejected == 2
    # the duplicate <loc> keeps its first occurrence
    assert locs.count("https://news.example.com/2024/03/02/second.html") == 1


def test_plan_days_groups_by_utc_day_within_the_range() -> None:
    parsed = parse_sitemap(_fixture("news_sitemap.xml"), base_url=BASE)
    plan = plan_days(parsed.urls, date(2024, 3, 1), date(2024, 3, 3))
    assert list(plan.by_day) == [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]
    assert plan.by_day[date(2024, 3, 1)] == ()
    assert set(plan.by_day[date(2024, 3, 2)]) == {
        "https://news.example.com/2024/03/01/first.html",
        "https://news.example.com/2024/03/02/second.html",
        "https://news.example.com/2024/03/02/relative.html",
    }
    assert plan.by_day[date(2024, 3, 3)] == ()
    assert plan.undated == 1
    assert plan.outside == 0


def test_plan_days_counts_urls_outside_the_range() -> None:
    urls = [SitemapUrl("https://a.example/1", lastmod=datetime(2024, 1, 1, tzinfo=UTC)),
            SitemapUrl("https://a.example/2", lastmod=datetime(2024, 1, 5, tzinfo=UTC))]
    plan = plan_days(urls, date(2024, 1, 2), date(2024, 1, 4))
    assert plan.outside == 2
    assert all(v == () for v in plan.by_day.values())


def test_sitemap_index_lists_children_and_refs_to_follow_skips_old_ones() -> None:
    parsed = parse_sitemap(_fixture("sitemap_index.xml"))
    assert parsed.kind == SitemapKind.INDEX
    assert [r.loc for r in parsed.sitemaps] == [
        "https://news.example.com/sitemap-2019.xml",
        "https://news.example.com/sitemap-2024-03.xml.gz",
        "https://news.example.com/sitemap-news.xml",
    ]
    assert parsed.rejected == 1  # file:///etc/passwd
    follow = refs_to_follow(parsed.sitemaps, date(2024, 3, 1))
    assert [r.loc for r in follow] == [
        "https://news.example.com/sitemap-2024-03.xml.gz",
        "https://news.example.com/sitemap-news.xml",
    ]


def test_gzip_sitemap_is_inflated() -> None:
    parsed = parse_sitemap(gzip.compress(_fixture("news_sitemap.xml")), base_url=BASE)
    assert parsed.kind == SitemapKind.URLSET
    assert len(parsed.urls) == 4


def test_case_22_gzip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * (20 * 1024 * 1024) + b"</urlset>")
    parsed = parse_sitemap(bomb, options=SitemapOptions(max_bytes=1024 * 1024))
    assert parsed.problem == SitemapProblem.TOO_LARGE
    assert parsed.urls == ()


def test_corrupt_gzip_is_a_problem_not_an_exception() -> None:
    parsed = parse_sitemap(b"\x1f\x8b\x08\x00garbage")
    assert parsed.problem == SitemapProblem.BAD_GZIP


def test_case_33_billion_laughs_is_refused_fast() -> None:
    started = time.perf_counter()
    parsed = parse_sitemap(_fixture("billion_laughs.xml"))
    assert parsed.problem == SitemapProblem.DTD_FORBIDDEN
    assert parsed.urls == ()
    assert time.perf_counter() - started < 1.0


def test_case_34_xxe_fixture_is_refused() -> None:
    parsed = parse_sitemap(_fixture("xxe.xml"))
    assert parsed.problem == SitemapProblem.DTD_FORBIDDEN
    assert parsed.urls == ()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_case_34_external_entities_touch_no_file_and_no_socket(tmp_path: Path,
                                                              encoding: str) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("SECRET-CANARY", encoding="utf-8")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<!DOCTYPE urlset [<!ENTITY f SYSTEM "{canary.as_uri()}">'
        f'<!ENTITY n SYSTEM "http://127.0.0.1:{port}/x">]>\n'
        '<urlset><url><loc>https://a.example/&f;&n;</loc></url></urlset>'
    ).encode(encoding)
    try:
        parsed = parse_sitemap(doc)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert parsed.problem == SitemapProblem.DTD_FORBIDDEN
    assert "SECRET-CANARY" not in repr(parsed)


def test_case_29_bare_ampersand_recovers_entries_and_flags_malformed() -> None:
    parsed = parse_sitemap(_fixture("broken_ampersand.xml"))
    assert parsed.problem == SitemapProblem.MALFORMED
    assert parsed.detail
    assert "https://news.example.com/b" in [u.loc for u in parsed.urls]


@pytest.mark.parametrize(("body", "problem"), [
    (b"", SitemapProblem.EMPTY),
    (b"  \n\t ", SitemapProblem.EMPTY),
    (b"<rss><channel/></rss>", SitemapProblem.NOT_A_SITEMAP),
    (b"<urlset><url><loc>", SitemapProblem.MALFORMED),
])
def test_bad_documents_come_back_as_values(body: bytes, problem: SitemapProblem) -> None:
    parsed = parse_sitemap(body)
    assert isinstance(parsed, ParsedSitemap)
    assert parsed.problem == problem


def test_text_sitemap_keeps_http_lines_only() -> None:
    parsed = parse_sitemap(_fixture("sitemap.txt"))
    assert parsed.kind == SitemapKind.TEXT
    assert [u.loc for u in parsed.urls] == ["https://news.example.com/t1.html",
                                           "https://news.example.com/t2.html"]
    assert parsed.rejected == 1


def test_max_urls_truncates_in_document_order() -> None:
    body = ("<urlset>" + "".join(f"<url><loc>https://a.example/{i}</loc></url>"
                                 for i in range(10)) + "</urlset>").encode()
    parsed = parse_sitemap(body, options=SitemapOptions(max_urls=3))
    assert parsed.truncated
    assert [u.loc for u in parsed.urls] == [f"https://a.example/{i}" for i in range(3)]


def test_robots_sitemap_lines() -> None:
    found = sitemaps_from_robots(_fixture("robots.txt"), "https://news.example.com/robots.txt")
    assert found == ("https://news.example.com/sitemap_index.xml",
                     "https://news.example.com/news-sitemap.xml")


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
    ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
    ("2024-03-02", datetime(2024, 3, 2, tzinfo=UTC)),
    ("2024-03-02T10:20+01:00", datetime(2024, 3, 2, 9, 20, tzinfo=UTC)),
    ("2024-03-02T10:20:30.123456789Z", datetime(2024, 3, 2, 10, 20, 30, 123456, tzinfo=UTC)),
    ("2024-03-02 10:20:30+0530", datetime(2024, 3, 2, 4, 50, 30, tzinfo=UTC)),
    ("Sat, 02 Mar 2024 10:00:00 GMT", datetime(2024, 3, 2, 10, tzinfo=UTC)),
    ("", None),
    ("yesterday", None),
    ("2024-13-45", None),
    ("0000-00-00", None),
    ("2024-03-02T10:20+99:00", None),
])
def test_w3c_datetimes(raw: str, expected: datetime | None) -> None:
    assert parse_w3c_datetime(raw) == expected


def test_days_are_inclusive() -> None:
    assert days(date(2024, 2, 28), date(2024, 3, 1)) == [
        date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)]
    assert days(date(2024, 3, 2), date(2024, 3, 1)) == []


def test_refs_to_follow_keeps_undated() -> None:
    refs = [SitemapRef("https://a.example/s.xml")]
    assert refs_to_follow(refs, date(2030, 1, 1)) == refs
