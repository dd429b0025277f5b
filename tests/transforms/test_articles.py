"""The core.articles projection for one key: current version, dates and their provenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from transforms.articles import project_article

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def version(text: str, at: datetime, *, page_at: datetime | None = None, h: str = "h1") -> dict:
    return {
        "article_key": "https://site.test/a", "content_hash": h, "extractor_version": "x/1",
        "page_fetch_id": f"p-{h}", "observed_at": at, "url": "https://site.test/a",
        "final_url": None, "canonical_url": None, "title": "Title", "authors": ["A. Writer"],
        "page_published_at": page_at, "page_published_source": "json-ld" if page_at else None,
        "modified_at": None, "language": "en", "declared_language": "en", "site_name": "Site",
        "description": None, "image": None, "tags": [], "text": text, "word_count": 2,
        "extractor": "trafilatura",
    }


def source(feed: str, seen: datetime, feed_at: datetime | None) -> dict:
    return {"article_key": "https://site.test/a", "feed_id": feed, "entry_key": "e1",
            "first_seen_at": seen, "feed_published_at": feed_at}


def test_no_version_means_no_article() -> None:
    assert project_article("k", [], [], (T0, T0), {}) is None


def test_latest_version_wins_and_versions_are_counted() -> None:
    later = T0 + timedelta(hours=3)
    rec = project_article("k", [version("new text", later, h="h2"), version("old text", T0)],
                          [], (T0, later), {})
    assert rec is not None
    assert rec.text == "new text" and rec.version_count == 2
    assert rec.first_seen_at == T0 and rec.last_seen_at == later


def test_article_without_feed_entry_uses_page_times() -> None:
    """A backfilled page (sitemap/WARC) has no feed entry pointing at it."""
    rec = project_article("k", [version("t", T0)], [], (T0, T0), {})
    assert rec is not None
    assert rec.feed_id is None and rec.outlet == "Site"
    assert rec.published_at == T0 and rec.published_source == "first_seen"


def test_page_date_beats_feed_date_and_disagreement_is_recorded() -> None:
    page_at = T0 - timedelta(days=3)
    rec = project_article("k", [version("t", T0, page_at=page_at)],
                          [source("f1", T0 - timedelta(hours=1), T0 - timedelta(hours=2))],
                          (T0, T0), {"f1": "Outlet One"})
    assert rec is not None
    assert rec.published_at == page_at and rec.published_source == "json-ld"
    assert rec.feed_page_date_disagree
    assert rec.outlet == "Outlet One" and rec.first_seen_at == T0 - timedelta(hours=1)


def test_case_44_missing_dates_fall_back_to_first_seen_never_the_clock() -> None:
    rec = project_article("k", [version("t", T0)], [source("f1", T0, None)], (T0, T0), {})
    assert rec is not None
    assert rec.published_at == T0 and rec.published_source == "first_seen"
    again = project_article("k", [version("t", T0)], [source("f1", T0, None)], (T0, T0), {})
    assert again == rec


def test_case_45_future_feed_date_is_flagged_not_trusted() -> None:
    future = datetime(2099, 1, 1, tzinfo=UTC)
    rec = project_article("k", [version("t", T0)], [source("f1", T0, future)], (T0, T0), {})
    assert rec is not None
    assert rec.published_at == future and rec.date_suspect


def _extracted(text: str, at: datetime, extractor_version: str, h: str) -> dict:
    return {**version(text, at, h=h), "extractor_version": extractor_version}


def test_reextraction_of_the_same_fetch_wins_whatever_the_hashes_or_input_order() -> None:
    old = _extracted("old text", T0, "newsflow-extract/1 trafilatura/2.0.0", h="z-old")
    new = _extracted("new text", T0, "newsflow-extract/2 trafilatura/2.0.0", h="a-new")
    for versions in ([old, new], [new, old]):
        rec = project_article("k", versions, [], (T0, T0), {})
        assert rec is not None
        assert rec.text == "new text" and rec.extractor_version == new["extractor_version"]
        assert rec.version_count == 2


def test_a_later_fetch_still_beats_a_newer_extractor_on_an_earlier_fetch() -> None:
    later = T0 + timedelta(hours=1)
    rec = project_article("k", [_extracted("re-extracted", T0, "newsflow-extract/3", h="a"),
                                _extracted("latest fetch", later, "newsflow-extract/2", h="b")],
                          [], (T0, later), {})
    assert rec is not None and rec.text == "latest fetch"


def test_extractor_versions_compare_digits_as_numbers() -> None:
    from transforms.articles import extractor_version_key as key

    assert key("10") > key("9") > key("2")
    assert key("newsflow-extract/10") > key("newsflow-extract/9")
    assert key("newsflow-extract/2 trafilatura/2.10.0") > key("newsflow-extract/2 trafilatura/2.9.1")
    assert key("newsflow-extract/2 trafilatura/2.0.0") > key("newsflow-extract/1 trafilatura/2.9.0")
    assert key("b") > key("a") and key("2") != key("02")  # total: the string breaks ties
    # newsflow's own extractor supersedes a foreign or legacy one ("old/0" > "n..." as strings)
    assert key("newsflow-extract/1 trafilatura/2.0.0") > key("old/0")


def test_the_extractor_version_written_today_is_recognised_as_newsflows_own() -> None:
    from transforms.articles import OWN_EXTRACTOR
    from transforms.extraction import EXTRACTOR_VERSION

    assert EXTRACTOR_VERSION.startswith(OWN_EXTRACTOR)
