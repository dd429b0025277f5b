"""Clean batches for every table, built in code with the tables' columns (0001_init.sql).

Each builder returns a fresh DataFrame that passes its whole suite; tests plant one defect at a
time. The GX import costs ~7 s, so ``gx_ready`` warms the process once per session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

FETCHED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def feed_fetches(n: int = 8) -> pd.DataFrame:
    """Successes, a 304, a DNS failure and a 503: every kind of attempt row, all valid."""
    rows = []
    for i in range(n):
        kind = ("ok", "ok", "ok", "not_modified", "dns", "http_5xx")[i % 6]
        ok = kind == "ok"
        rows.append({
            "event_id": _sha(f"ff{i}"), "run_id": "run-1", "occurred_at": FETCHED,
            "recorded_at": FETCHED, "schema_version": 1, "feed_id": f"feed{i % 4}",
            "url": f"https://news{i % 4}.example/rss", "attempt": 1 + (kind == "http_5xx"),
            "final_url": None if kind == "dns" else f"https://news{i % 4}.example/rss",
            "redirect_chain": [], "status": {"ok": 200, "not_modified": 304, "dns": None,
                                             "http_5xx": 503}[kind],
            "error_class": kind if kind in ("dns", "http_5xx") else None,
            "error_detail": None, "not_modified": kind == "not_modified", "etag": '"abc"',
            "last_modified": None, "retry_after_s": None, "headers": "{}",
            "content_type": "application/rss+xml" if ok else None,
            "body": b"<rss/>" if ok else None, "body_sha256": _sha(f"body{i}") if ok else None,
            "body_bytes": 2048 if ok else None, "elapsed_ms": 120 + i,
            "parse_outcome": "ok" if ok else None, "parse_reason": None,
            "feed_version": "rss20" if ok else None, "bozo": False if ok else None,
            "entry_count": 10 if ok else None, "feed_title": "News" if ok else None,
            "ttl_minutes": None, "entries_left_out": 0 if ok else None,
        })
    return pd.DataFrame(rows)


def feed_entries(n: int = 40) -> pd.DataFrame:
    """Entries of four feeds, with plausible dates and absolute links."""
    rows = []
    for i in range(n):
        rows.append({
            "event_id": _sha(f"fe{i}"), "run_id": "run-1", "occurred_at": FETCHED,
            "recorded_at": FETCHED, "schema_version": 1, "fetch_event_id": _sha(f"ff{i % 4}"),
            "feed_id": f"feed{i % 4}", "entry_key": f"guid-{i}", "key_source": "guid",
            "content_hash": _sha(f"content{i}"), "parse_quality": "ok", "guid": f"guid-{i}",
            "link": f"https://news{i % 4}.example/story/{i}",
            "link_key": f"news{i % 4}.example/story/{i}", "link_status": "ok",
            "raw_link": f"/story/{i}", "title": f"Story number {i}", "summary": "A summary.",
            "content": None, "authors": ["A. Writer"], "tags": ["news"],
            "published_raw": "Fri, 20 Nov 2026 08:00:00 GMT",
            "published_at": FETCHED - timedelta(hours=i), "updated_raw": None,
            "updated_at": None, "date_suspect": False, "truncated": False, "position": i // 4,
        })
    return pd.DataFrame(rows)


def page_fetches(n: int = 10) -> pd.DataFrame:
    """Page attempts: mostly successes, one 404 and one SSRF refusal."""
    rows = []
    for i in range(n):
        kind = "not_found" if i == 1 else "ssrf_blocked" if i == 2 else "ok"
        ok = kind == "ok"
        rows.append({
            "event_id": _sha(f"pf{i}"), "run_id": "run-1", "occurred_at": FETCHED,
            "recorded_at": FETCHED, "schema_version": 1,
            "url": f"https://news.example/story/{i}", "url_key": f"news.example/story/{i}",
            "source": "feed", "attempt": 1,
            "final_url": None if kind == "ssrf_blocked" else f"https://news.example/story/{i}",
            "redirect_chain": [], "status": {"ok": 200, "not_found": 404}.get(kind),
            "error_class": None if ok else kind, "error_detail": None, "headers": "{}",
            "content_type": "text/html" if ok else None, "charset": "utf-8" if ok else None,
            "body": b"<html/>" if ok else None, "body_sha256": _sha(f"page{i}") if ok else None,
            "body_bytes": 50_000 if ok else None, "elapsed_ms": 300,
        })
    return pd.DataFrame(rows)


ARTICLE_TEXT = (
    "The city council voted on Tuesday to expand the network of protected bicycle lanes, "
    "a decision that followed months of public hearings and a detailed traffic study. "
    "Supporters said the plan would make streets safer for children walking to school, "
    "while some shop owners worried about the loss of parking spaces near the market. "
    "The first new lanes are expected to open next spring, officials said."
)


def articles(n: int = 20) -> pd.DataFrame:
    """Articles with real-looking text, titles, languages and past publication dates."""
    rows = []
    for i in range(n):
        url = f"https://news.example/2026/11/story-{i}"
        rows.append({
            "article_key": f"news.example/2026/11/story-{i}", "url": url, "canonical_url": url,
            "feed_id": "feed0", "outlet": "News", "title": f"Council expands bike lanes ({i})",
            "authors": ["A. Writer"], "published_at": FETCHED - timedelta(days=1, hours=i),
            "published_source": "json-ld", "date_suspect": False,
            "feed_page_date_disagree": False, "modified_at": None, "language": "en",
            "declared_language": "en", "site_name": "News", "description": "Bike lanes.",
            "image": None, "tags": ["city"], "text": ARTICLE_TEXT,
            "word_count": len(ARTICLE_TEXT.split()), "content_hash": _sha(f"text{i}"),
            "extractor": "trafilatura-precision",
            "extractor_version": "newsflow-extract/1 trafilatura/2.3.1",
            "page_fetch_id": _sha(f"pf{i}"), "first_seen_at": FETCHED,
            "last_seen_at": FETCHED + timedelta(hours=1), "version_count": 1,
            "is_short": False, "access": "free",
        })
    return pd.DataFrame(rows)


def daily_volume(sources: dict[str, list[int]], last_day: date = date(2026, 11, 20)
                 ) -> pd.DataFrame:
    """source/day/n rows, each list ending on ``last_day`` (oldest first)."""
    rows = []
    for source, counts in sources.items():
        for back, n in enumerate(reversed(counts)):
            rows.append({"source": source, "day": last_day - timedelta(days=back), "n": n})
    return pd.DataFrame(rows)


BUILDERS: dict[str, Callable[..., pd.DataFrame]] = {
    "raw.feed_fetches": feed_fetches,
    "raw.feed_entries": feed_entries,
    "raw.page_fetches": page_fetches,
    "core.articles": articles,
}


@pytest.fixture(scope="session")
def gx_ready() -> None:
    """Pay the GX import and context build once for the session (about 7 s)."""
    from expectations import validate_batch

    validate_batch("raw.page_fetches", page_fetches(), stage="warmup")


@pytest.fixture
def build() -> dict[str, Callable[..., pd.DataFrame]]:
    """Builders for clean batches, by table name."""
    return BUILDERS


@pytest.fixture
def volume() -> Callable[..., pd.DataFrame]:
    """Builder for a daily volume frame."""
    return daily_volume
