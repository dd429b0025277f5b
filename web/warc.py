"""WARC in: the HTTP response records of a WARC file as captures, classified like a live fetch.

Reading streams record by record with warcio (a CC-NEWS file is a gigabyte; it is never loaded
whole): each HTTP ``response`` record becomes a ``WarcCapture`` with its original capture time
(``WARC-Date``), HTTP status, the header subset and error class the fetcher would have given the
same response (web/response.py's rules, so a page from a WARC and a fetched page are stored alike),
and its decoded body, read only up to a byte cap. Other record types, revisits, redirects and
non-HTTP captures are counted and skipped.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import IO, Any

import httpx
from warcio.archiveiterator import ArchiveIterator

from transforms.errors import InputError
from transforms.vocab import ErrorClass
from web import response
from web.types import HttpOptions

log = logging.getLogger(__name__)

_DEFAULTS = HttpOptions()
# The Content-Encodings warcio's content_stream() decodes; anything else it would hand back still
# encoded, and a body is never stored in a form the caller cannot read.
_DECODABLE = frozenset({"gzip", "x-gzip", "deflate", "br"})

# want(url, captured_at): False declines a record before its payload is read.
Want = Callable[[str, datetime], bool]


class SkipReason(StrEnum):
    """Why a WARC record produced no capture. Closed set."""

    NOT_RESPONSE = "not_response"   # request, metadata, warcinfo, resource, conversion
    REVISIT = "revisit"             # a deduplicated capture: no payload of its own
    NOT_HTTP = "not_http"           # dns:, ftp: or a response without HTTP headers
    REDIRECT = "redirect"           # 3xx: the target is (or is not) captured separately
    BAD_DATE = "bad_date"
    BAD_URL = "bad_url"
    OUT_OF_RANGE = "out_of_range"
    UNWANTED = "unwanted"           # the caller's filter said no (e.g. a finished day)


@dataclass(frozen=True, slots=True)
class WarcCapture:
    """One HTTP response captured in a WARC file."""

    url: str
    captured_at: datetime           # WARC-Date, UTC
    record_id: str | None           # WARC-Record-ID
    status: int
    headers: tuple[tuple[str, str], ...]  # the fetcher's kept subset: lowercased, capped
    content_type: str | None
    charset: str | None
    body: bytes | None              # decoded (dechunked, decompressed); None on error
    body_sha256: str | None
    error_class: ErrorClass | None  # None = a usable 2xx body
    error_detail: str | None
    ip: str | None
    retry_after_s: float | None = None  # Retry-After of a 429/503, from the capture time, capped


class WarcReadError(InputError):
    """The file is corrupt or truncated here; captures before this point were already yielded."""


@dataclass
class ReadStats:
    """What a read saw: records, captures, and skips by reason."""

    records: int = 0
    captures: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def parse_warc_date(raw: str | None) -> datetime | None:
    """A WARC-Date (ISO 8601, ``Z``, optional fraction) as an aware UTC datetime."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _read_capped(stream: IO[bytes], cap: int) -> bytes | None:
    """At most ``cap`` bytes; ``None`` if there are more (the body is never kept truncated)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(65536, cap + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return None


def _read_body(record: Any, headers: httpx.Headers,
               max_bytes: int) -> tuple[bytes | None, tuple[ErrorClass, str] | None]:
    """The decoded payload, or why it cannot be kept."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity") and encoding not in _DECODABLE:
        # stacked or unknown codings: warcio would hand back the still-encoded bytes
        return None, (ErrorClass.TOO_MANY_ENCODINGS, f"content-encoding {encoding[:60]!r}")
    try:
        body = _read_capped(record.content_stream(), max_bytes)
    except Exception as exc:  # a corrupt chunked or compressed payload is bad input, not a bug
        return None, (ErrorClass.INCOMPLETE, f"{type(exc).__name__}: {exc}")
    if body is None:
        return None, (ErrorClass.TOO_LARGE, f"payload over {max_bytes} bytes")
    missing = getattr(record.raw_stream, "limit", 0)
    if missing:
        # the file ends inside this record: never keep a truncated body as a success
        return None, (ErrorClass.INCOMPLETE, f"record truncated, {missing} byte(s) missing")
    return body, None


def capture_of(record: Any, url: str, when: datetime, *, max_bytes: int,
               max_header_bytes: int = _DEFAULTS.max_header_bytes,
               retry_after_cap: float = _DEFAULTS.retry_after_cap) -> WarcCapture:
    """One response record as the fetcher would have recorded the same response."""
    http = record.http_headers
    status = int(http.get_statuscode() or 0)
    headers = httpx.Headers(http.headers, encoding="utf-8")  # warcio gives str; keep non-ASCII
    body: bytes | None = None
    problem: tuple[ErrorClass, str] | None = None
    if response.classify_status(status, headers) is None:  # the fetcher reads the body of these only
        body, problem = _read_body(record, headers, max_bytes)
    if problem is None:
        problem = response.classify_final(status, headers, body)
    error, detail = problem if problem is not None else (None, None)
    media, charset = response.parse_content_type(headers.get("content-type"))
    kept = body if error is None else None
    return WarcCapture(
        url=url, captured_at=when,
        record_id=record.rec_headers.get_header("WARC-Record-ID"),
        status=status, headers=response.select_headers(headers.multi_items(), max_header_bytes),
        content_type=media, charset=charset,
        body=kept, body_sha256=None if kept is None else hashlib.sha256(kept).hexdigest(),
        error_class=error, error_detail=None if detail is None else response.short(detail),
        ip=record.rec_headers.get_header("WARC-IP-Address"),
        retry_after_s=response.retry_after_for(status, headers.get("retry-after"), now=when,
                                               cap=retry_after_cap),
    )


def read_captures(
    stream: IO[bytes], *, max_bytes: int = _DEFAULTS.max_bytes,
    since: datetime | None = None, until: datetime | None = None,
    want: Want | None = None, stats: ReadStats | None = None,
) -> Iterator[WarcCapture]:
    """Stream the HTTP response captures of a WARC (gzip or plain), oldest-first as stored.

    ``since``/``until`` bound ``WARC-Date`` (``since <= t < until``); ``want(url, captured_at)``,
    if given, may decline a record before its payload is read. Skips are counted in ``stats``.
    """
    stats = stats if stats is not None else ReadStats()
    records = iter(ArchiveIterator(stream))
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception as exc:  # warcio raises assorted errors on corrupt input
            raise WarcReadError(
                f"unreadable after record {stats.records}: {type(exc).__name__}: {exc}"[:300]
            ) from exc
        stats.records += 1
        reason = _skip(record, since, until, want)
        if isinstance(reason, SkipReason):
            stats.skipped[str(reason)] += 1
            continue
        url, when = reason
        capture = capture_of(record, url, when, max_bytes=max_bytes)
        stats.captures += 1
        yield capture


def _skip(record: Any, since: datetime | None, until: datetime | None,
          want: Want | None) -> SkipReason | tuple[str, datetime]:
    if record.rec_type == "revisit":
        return SkipReason.REVISIT
    if record.rec_type != "response":
        return SkipReason.NOT_RESPONSE
    url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
    if not url.lower().startswith(("http://", "https://")):
        return SkipReason.NOT_HTTP if url else SkipReason.BAD_URL
    if record.http_headers is None or not record.http_headers.get_statuscode():
        return SkipReason.NOT_HTTP
    when = parse_warc_date(record.rec_headers.get_header("WARC-Date"))
    if when is None:
        return SkipReason.BAD_DATE
    if (since is not None and when < since) or (until is not None and when >= until):
        return SkipReason.OUT_OF_RANGE
    status = int(record.http_headers.get_statuscode())
    if 300 <= status < 400:
        return SkipReason.REDIRECT
    if want is not None and not want(url, when):
        return SkipReason.UNWANTED
    return url, when
