"""Row building for the raw and core tables: the flat field copy equals dataclasses.asdict."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from transforms.articles import ArticleRecord
from transforms.feeds import FeedEntry
from warehouse.events import feed_entry_row, flat_fields

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _entry() -> FeedEntry:
    return FeedEntry(
        entry_key="k1", key_source="guid", guid="g1", link="https://example.test/a?utm_source=x",
        link_status="ok", raw_link="https://example.test/a?utm_source=x", title="Zürich votes",
        summary="s", content=None, authors=("Ann", "Bo"), tags=("politics",),
        published_raw="Sun, 01 Mar 2026 12:00:00 GMT", published_at=AT, updated_raw=None,
        updated_at=None, date_suspect=False, truncated=False, position=3, content_hash="h1")


def _article() -> ArticleRecord:
    return ArticleRecord(
        article_key="a1", url="https://example.test/a", canonical_url=None, feed_id="f1",
        outlet="Example", title="T", authors=("Ann",), published_at=AT, published_source="page",
        date_suspect=False, feed_page_date_disagree=False, modified_at=None, language="en",
        declared_language="en", site_name=None, description=None, image=None, tags=(),
        text="body", word_count=1, content_hash="c", extractor="x", extractor_version="v",
        page_fetch_id="p", first_seen_at=AT, last_seen_at=AT, version_count=1, is_short=True,
        access="free")


def test_flat_fields_equals_asdict_for_the_row_dataclasses() -> None:
    for record in (_entry(), _article()):
        flat = flat_fields(record)
        assert flat == asdict(record)
        assert list(flat) == list(asdict(record))  # same column order


def test_feed_entry_row_keeps_every_entry_field() -> None:
    entry = _entry()
    fetch = {"occurred_at": AT, "event_id": "fetch-1"}
    row = feed_entry_row("run-1", "feed-1", fetch, entry, bozo=True)
    for name, value in asdict(entry).items():
        if name not in ("authors", "tags"):
            assert row[name] == value
    assert row["authors"] == ["Ann", "Bo"] and row["tags"] == ["politics"]
    assert row["parse_quality"] == "bozo" and row["fetch_event_id"] == "fetch-1"
    assert row["link_key"] == "https://example.test/a"
