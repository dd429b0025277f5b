"""The event envelope and the body codec: typed results of web/ and transforms/ as rows of the
raw and core tables.

Only shape changes happen here (field names, compression, envelopes); decisions live in
transforms/. An HTTP attempt is read through ``HttpAttempt``, the fields this module needs of
``web.FetchResult``: warehouse/ and web/ never import each other.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol

import zstandard

from transforms.extraction import Extraction
from transforms.feeds import FeedEntry, ParsedFeed
from transforms.revisits import version_hash
from transforms.stories import TextSign
from transforms.urls import article_key as key_of_article
from transforms.urls import canonicalize_url, url_key
from transforms.vocab import PageSource
from warehouse.store import event_id, schema_version, utcnow


class _Payload(Protocol):
    """What any stored page or feed row records of a response."""

    @property
    def status(self) -> int | None: ...
    @property
    def error_class(self) -> object | None: ...
    @property
    def error_detail(self) -> str | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, str]]: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def charset(self) -> str | None: ...
    @property
    def body(self) -> bytes | None: ...
    @property
    def body_sha256(self) -> str | None: ...


class HttpAttempt(_Payload, Protocol):
    """What a raw fetch row records of one HTTP attempt (``web.FetchResult`` is one)."""

    @property
    def attempt(self) -> int: ...
    @property
    def requested_url(self) -> str: ...
    @property
    def final_url(self) -> str | None: ...
    @property
    def redirect_chain(self) -> Sequence[str]: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def elapsed_ms(self) -> int: ...
    @property
    def retry_after_s(self) -> float | None: ...
    @property
    def not_modified(self) -> bool: ...
    @property
    def permanent_redirect(self) -> str | None: ...
    def validators(self) -> tuple[str | None, str | None]: ...


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


def _headers(result: HttpAttempt) -> str:
    return json.dumps(dict(result.headers), ensure_ascii=False)


def _fetch_fields(result: HttpAttempt) -> dict[str, Any]:
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
    run_id: str, feed_id: str, result: HttpAttempt, parsed: ParsedFeed | None
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
            "entries_left_out": parsed.left_out,
            "feed_title": parsed.title,
            "ttl_minutes": parsed.ttl_minutes,
        }
    return row


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def flat_fields(record: Any) -> dict[str, Any]:
    """The fields of a flat dataclass (no dataclass, list or dict inside) as a dict: what
    ``dataclasses.asdict`` gives for one, without its recursive deep copy (about ten times the
    cost, paid per row)."""
    names = _FIELD_NAMES.get(type(record))
    if names is None:
        names = _FIELD_NAMES[type(record)] = tuple(f.name for f in fields(record))
    return {name: getattr(record, name) for name in names}


def feed_entry_row(
    run_id: str, feed_id: str, fetch_row: Mapping[str, Any], entry: FeedEntry, bozo: bool
) -> dict[str, Any]:
    """A raw.feed_entries row: one version of one entry (id = feed, key, content hash)."""
    return {
        **flat_fields(entry),
        "event_id": event_id("feed_entry_seen", feed_id, entry.entry_key, entry.content_hash),
        **envelope(run_id, fetch_row["occurred_at"]),
        "fetch_event_id": fetch_row["event_id"],
        "feed_id": feed_id,
        "parse_quality": "bozo" if bozo else "ok",  # recovered from a malformed document
        "link_key": canonicalize_url(entry.link) if entry.link else None,
        "authors": list(entry.authors),
        "tags": list(entry.tags),
    }


class PageCapture(_Payload, Protocol):
    """What a raw page row records of an archived capture (``web.warc.WarcCapture`` is one)."""

    @property
    def url(self) -> str: ...
    @property
    def record_id(self) -> str | None: ...
    @property
    def captured_at(self) -> datetime: ...
    @property
    def body_sha256(self) -> str | None: ...


def capture_row(run_id: str, capture: PageCapture) -> dict[str, Any]:
    """A raw.page_fetches row for an archived (WARC) capture: occurred_at is the capture time,
    and the id comes from (url, record id or date, body hash), so re-reading the same file
    adds nothing."""
    return {
        "event_id": event_id("page_captured", capture.url,
                             capture.record_id or capture.captured_at.isoformat(),
                             capture.body_sha256),
        **envelope(run_id, capture.captured_at),
        "url": capture.url,
        "url_key": url_key(capture.url),
        "source": str(PageSource.WARC),
        "attempt": 1,
        "final_url": capture.url,
        "redirect_chain": [],
        "status": capture.status,
        "error_class": None if capture.error_class is None else str(capture.error_class),
        "error_detail": capture.error_detail,
        "headers": json.dumps(dict(capture.headers), ensure_ascii=False),
        "content_type": capture.content_type,
        "charset": capture.charset,
        "body": compress(capture.body),
        "body_sha256": capture.body_sha256,
        "body_bytes": None if capture.body is None else len(capture.body),
        "elapsed_ms": 0,
    }


def page_fetch_row(run_id: str, url_key: str, result: HttpAttempt, source: str) -> dict[str, Any]:
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
        # a 429/503's Retry-After (capped): the page, and its host, wait that long across runs
        "retry_after_s": result.retry_after_s,
    }


def revisit_row(run_id: str, url_key: str, result: HttpAttempt, reason: str,
                previous_sha256: str | None) -> dict[str, Any]:
    """A raw.page_fetches row for one attempt of a revisit. A 304 has no body; a 200 whose body
    hashes as the page's previous one keeps hash and size but not the body again (the earlier
    row holds it), so it is not extracted again (migration 0007)."""
    row = page_fetch_row(run_id, url_key, result, str(PageSource.FEED)) | {"revisit": reason}
    if result.error_class is None and result.body_sha256 is not None \
            and result.body_sha256 == previous_sha256:
        row["body"] = None
    return row


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
        # what the page says about itself, kept for pages without article text too
        # (analytics.items shows every feed item, issue 17)
        "title": extraction.title,
        "authors": list(extraction.authors),
        "page_published_at": extraction.published_at,
        "page_published_source": extraction.published_source,
        "site_name": extraction.site_name,
        "description": extraction.description,
        "access": str(extraction.access),
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
        "is_short": extraction.is_short,
        "access": str(extraction.access),
        "version_hash": version_hash(extraction.content_hash, extraction.title,
                                     extraction.authors),
    }
    return outcome, version


# (page id, body, content type, URL): what an extraction worker is given for one page
ExtractionInput = tuple[str, bytes, str | None, str]
# the pool's answer for a list of inputs: (page id, Extraction) pairs, in any order
ExtractMany = Callable[[list[ExtractionInput]], Iterable[tuple[Any, Extraction]]]
# keep a page's new version? (page row, its outcome row, the extraction) -> bool
KeepVersion = Callable[[Mapping[str, Any], Mapping[str, Any], Extraction], bool]


@dataclass
class ExtractedBatch:
    """What one batch of pages became: rows for core.page_extractions and
    core.article_versions, and the article keys whose projections must follow."""

    outcomes: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    classes: Counter[str] = field(default_factory=Counter)
    presigned: dict[str, TextSign] = field(default_factory=dict)
    """The workers' reading of the versions' texts for the stories, by source (may be empty)."""


def extraction_inputs(pages: Mapping[str, Mapping[str, Any]]) -> list[ExtractionInput]:
    """The worker inputs for stored page rows keyed by their event id (bodies decompressed)."""
    return [(pid, decompress(p["body"]) or b"", p["content_type"], p["final_url"] or p["url"])
            for pid, p in pages.items()]


def extract_batch(extract_many: ExtractMany, pages: Mapping[str, Mapping[str, Any]], *,
                  keep: KeepVersion | None = None) -> ExtractedBatch:
    """Extract stored pages (rows keyed by event id) through ``extract_many`` (a pool's) and
    shape the results as rows; ``keep`` may refuse a page's new version (a re-extraction that
    gave the same text); it sees every page, version or not."""
    batch = ExtractedBatch()
    keys: set[str] = set()
    for pid, extraction in extract_many(extraction_inputs(pages)):
        page = pages[pid]
        key = key_of_article(page["final_url"] or page["url"], extraction.canonical_url) \
            or page["url_key"]
        outcome, version = extraction_rows(page, key, extraction)
        batch.outcomes.append(outcome)
        batch.classes[outcome["page_class"]] += 1
        kept = keep is None or keep(page, outcome, extraction)  # called for every page
        if version is not None and kept:
            batch.versions.append(version)
            keys.add(key)
            if extraction.story_sign is not None:
                batch.presigned[extraction.story_sign.source] = extraction.story_sign
    batch.keys = sorted(keys)
    return batch
