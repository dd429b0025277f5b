"""Glue: the typed results of web/ and transforms/ as rows of the raw and core tables.

Only shape changes happen here (field names, compression, envelopes); decisions live in
transforms/ and the SQL in warehouse/.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

import zstandard

from transforms.extraction import Extraction
from transforms.feeds import FeedEntry, ParsedFeed
from transforms.urls import canonicalize_url
from warehouse.store import event_id, schema_version, utcnow
from web import FetchResult

_compressor = zstandard.ZstdCompressor(level=3)
_MAX_DETAIL = 500


def compress(body: bytes | None) -> bytes | None:
    """Bodies are stored zstd-compressed; their sha256 is of the decompressed bytes."""
    return None if body is None else _compressor.compress(body)


def decompress(blob: bytes | None) -> bytes | None:
    """Inverse of ``compress``."""
    if blob is None:
        return None
    return zstandard.ZstdDecompressor().decompress(blob, max_output_size=1 << 31)


def envelope(run_id: str, occurred_at: datetime) -> dict[str, Any]:
    """The fields every raw row carries besides its event_id."""
    return {
        "run_id": run_id,
        "occurred_at": occurred_at,
        "recorded_at": utcnow(),
        "schema_version": schema_version(),
    }


def _headers(result: FetchResult) -> str:
    return json.dumps(dict(result.headers), ensure_ascii=False)


def _header(result: FetchResult, name: str) -> str | None:
    for key, value in result.headers:
        if key == name:
            return value
    return None


def _fetch_fields(result: FetchResult) -> dict[str, Any]:
    return {
        "attempt": result.attempt,
        "final_url": result.final_url,
        "redirect_chain": list(result.redirect_chain),
        "status": result.status,
        "error_class": None if result.error_class is None else str(result.error_class),
        "error_detail": (result.error_detail or None) and result.error_detail[:_MAX_DETAIL],
        "headers": _headers(result),
        "content_type": result.content_type,
        "body": compress(result.body),
        "body_sha256": result.body_sha256,
        "body_bytes": None if result.body is None else len(result.body),
        "elapsed_ms": result.elapsed_ms,
    }


def feed_fetch_row(
    run_id: str, feed_id: str, result: FetchResult, parsed: ParsedFeed | None
) -> dict[str, Any]:
    """A raw.feed_fetches row for one attempt (with its parse outcome when a body was parsed)."""
    row = {
        "event_id": event_id(
            "feed_fetched", feed_id, result.requested_url, result.started_at.isoformat(),
            result.attempt, result.status, result.error_class, result.body_sha256,
        ),
        **envelope(run_id, result.started_at),
        "feed_id": feed_id,
        "url": result.requested_url,
        **_fetch_fields(result),
        "not_modified": result.not_modified,
        # FAULTS 20: the checked target of an all-permanent redirect chain, else None
        "permanent_redirect": result.permanent_redirect,
        # what to send next time (None when the server said not to cache, e.g. Expires: 0)
        "etag": result.validators()[0],
        "last_modified": result.validators()[1],
        "retry_after_s": result.retry_after_s,
    }
    if parsed is not None:
        row |= {
            "parse_outcome": str(parsed.outcome),
            "parse_reason": parsed.reason,
            "feed_version": parsed.version,
            "bozo": parsed.bozo,
            "entry_count": len(parsed.entries),
            "feed_title": parsed.title,
            "ttl_minutes": parsed.ttl_minutes,
        }
    return row


def feed_entry_row(
    run_id: str, feed_id: str, fetch_row: Mapping[str, Any], entry: FeedEntry, bozo: bool
) -> dict[str, Any]:
    """A raw.feed_entries row: one version of one entry (id = feed, key, content hash)."""
    fields = asdict(entry)
    return {
        **fields,
        "event_id": event_id("feed_entry_seen", feed_id, entry.entry_key, entry.content_hash),
        **envelope(run_id, fetch_row["occurred_at"]),
        "fetch_event_id": fetch_row["event_id"],
        "feed_id": feed_id,
        "parse_quality": "bozo" if bozo else "ok",  # recovered from a malformed document
        "link_key": canonicalize_url(entry.link) if entry.link else None,
        "authors": list(entry.authors),
        "tags": list(entry.tags),
    }


def page_fetch_row(run_id: str, url_key: str, result: FetchResult, source: str) -> dict[str, Any]:
    """A raw.page_fetches row for one attempt."""
    return {
        "event_id": event_id(
            "page_fetched", result.requested_url, result.started_at.isoformat(), result.attempt,
            result.status, result.error_class, result.body_sha256,
        ),
        **envelope(run_id, result.started_at),
        "url": result.requested_url,
        "url_key": url_key,
        "source": source,
        **_fetch_fields(result),
        "charset": result.charset,
    }


def extraction_rows(
    page: Mapping[str, Any], article_key: str, extraction: Extraction
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """core.page_extractions row, and a core.article_versions row when the page is an article."""
    outcome = {
        "page_fetch_id": page["event_id"],
        "article_key": article_key,
        "page_class": str(extraction.page_class),
        "reason": extraction.reason,
        "content_hash": extraction.content_hash,
        "extractor": extraction.extractor,
        "extractor_version": extraction.extractor_version,
        "occurred_at": page["occurred_at"],
    }
    if extraction.text is None or extraction.content_hash is None:
        return outcome, None
    version = {
        "article_key": article_key,
        "content_hash": extraction.content_hash,
        "extractor_version": extraction.extractor_version,
        "page_fetch_id": page["event_id"],
        "observed_at": page["occurred_at"],
        "url": page["url"],
        "final_url": page["final_url"],
        "canonical_url": extraction.canonical_url,
        "title": extraction.title,
        "authors": list(extraction.authors),
        "page_published_at": extraction.published_at,
        "page_published_source": extraction.published_source,
        "modified_at": extraction.modified_at,
        "language": extraction.language,
        "declared_language": extraction.declared_language,
        "site_name": extraction.site_name,
        "description": extraction.description,
        "image": extraction.image,
        "tags": list(extraction.tags),
        "text": extraction.text,
        "word_count": extraction.word_count,
        "extractor": extraction.extractor,
    }
    return outcome, version
