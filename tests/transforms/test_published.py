"""Publication date provenance: page > feed > url > first_seen, with plausibility flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from transforms.published import Published, date_from_url, parse_datetime, resolve_published

SEEN = datetime(2024, 3, 16, 12, 0, tzinfo=UTC)
PAGE = datetime(2024, 3, 15, 8, 30, tzinfo=UTC)
FEED = datetime(2024, 3, 15, 9, 0, tzinfo=UTC)
URL = "https://example.com/news/2024/03/14/story"


def test_page_date_wins_and_keeps_its_source() -> None:
    assert resolve_published(PAGE, "json-ld", FEED, URL, SEEN) == Published(PAGE, "json-ld",
                                                                             False, False)
    assert resolve_published(PAGE, "meta", FEED, URL, SEEN).source == "meta"


def test_feed_date_when_page_has_none() -> None:
    assert resolve_published(None, None, FEED, URL, SEEN) == Published(FEED, "feed", False, False)


def test_url_date_when_page_and_feed_have_none() -> None:
    got = resolve_published(None, None, None, URL, SEEN)
    assert got == Published(datetime(2024, 3, 14, tzinfo=UTC), "url", False, False)


def test_case_44_first_seen_is_the_last_resort_and_never_the_clock() -> None:
    got = resolve_published(None, None, None, "https://example.com/story", SEEN)
    assert got == Published(SEEN, "first_seen", False, False)
    assert resolve_published(None, None, None, None, None).at is None


def test_feed_and_page_disagreement_is_recorded() -> None:
    got = resolve_published(PAGE, "json-ld", PAGE - timedelta(days=3), URL, SEEN)
    assert got.at == PAGE and got.feed_page_disagree
    assert not resolve_published(PAGE, "json-ld", PAGE + timedelta(hours=5), URL,
                                 SEEN).feed_page_disagree


def test_case_45_future_page_date_falls_back_to_a_plausible_source() -> None:
    future = datetime(2099, 1, 1, tzinfo=UTC)
    got = resolve_published(future, "meta", FEED, URL, SEEN)
    assert got == Published(FEED, "feed", False, True)


def test_case_45_only_implausible_dates_are_kept_but_suspect() -> None:
    future = datetime(2099, 1, 1, tzinfo=UTC)
    got = resolve_published(future, "meta", None, "https://e.com/a", SEEN)
    assert got.at == future and got.source == "meta" and got.suspect


@pytest.mark.parametrize("year", [200, 300, 1513, 1970])
def test_case_46_ancient_years_are_suspect(year: int) -> None:
    old = datetime(year, 1, 1, tzinfo=UTC)
    got = resolve_published(None, None, old, "https://e.com/a", SEEN)
    assert got.source == "feed" and got.suspect


def test_two_days_after_first_seen_is_the_limit() -> None:
    assert not resolve_published(SEEN + timedelta(days=2), "meta", None, None, SEEN).suspect
    assert resolve_published(SEEN + timedelta(days=2, seconds=1), "meta", None, None,
                             SEEN).suspect


def test_naive_and_offset_times_are_normalised_to_utc() -> None:
    plus2 = datetime(2024, 3, 15, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    assert resolve_published(plus2, "meta", None, None, SEEN).at == PAGE
    assert resolve_published(PAGE.replace(tzinfo=None), "meta", None, None, SEEN).at == PAGE


@pytest.mark.parametrize(("url", "expected"), [
    ("https://e.com/2024/03/15/story", datetime(2024, 3, 15, tzinfo=UTC)),
    ("https://e.com/news/2024-03-15-story", datetime(2024, 3, 15, tzinfo=UTC)),
    ("https://e.com/20240315/story", datetime(2024, 3, 15, tzinfo=UTC)),
    ("https://e.com/2024/03/story", datetime(2024, 3, 1, tzinfo=UTC)),
    ("https://e.com/2024/13/45/story", None),
    ("https://e.com/story-123456789", None),
    ("https://e.com/story?date=2024-03-15", None),
    ("https://2024.e.com/story", None),
])
def test_date_from_url(url: str, expected: datetime | None) -> None:
    assert date_from_url(url) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-03-15T10:00:00Z", datetime(2024, 3, 15, 10, tzinfo=UTC)),
    ("2024-03-15T10:00:00+0200", datetime(2024, 3, 15, 8, tzinfo=UTC)),
    ("2024-03-15", datetime(2024, 3, 15, tzinfo=UTC)),
    ("Fri, 22 Sep 2017 22:05:03 +0300", datetime(2017, 9, 22, 19, 5, 3, tzinfo=UTC)),
    ("Thu, 01 Jan 1970 00:00:00 GMT", datetime(1970, 1, 1, tzinfo=UTC)),
    ("", None), ("0000-00-00", None), ("garbage", None), (None, None),
])
def test_case_46_parse_datetime(raw: str | None, expected: datetime | None) -> None:
    assert parse_datetime(raw) == expected


def test_feed_date_goes_before_a_date_guessed_from_the_page_text() -> None:
    page_at = datetime(2024, 4, 24, tzinfo=UTC)
    feed_at = datetime(2024, 4, 28, 9, 0, tzinfo=UTC)
    chosen = resolve_published(page_at, "html", feed_at, None, None)
    assert (chosen.at, chosen.source) == (feed_at, "feed")
    alone = resolve_published(page_at, "html", None, None, None)
    assert (alone.at, alone.source) == (page_at, "html")
    structured = resolve_published(page_at, "meta", feed_at, None, None)
    assert structured.source == "meta"
