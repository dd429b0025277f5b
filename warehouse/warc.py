"""WARC in and out: capture records as page events, and stored raw pages as a standard WARC file.

Reading streams record by record with warcio (a CC-NEWS file is a gigabyte; it is never loaded
whole): each HTTP ``response`` record becomes a ``WarcCapture`` with its original capture time
(``WARC-Date``), HTTP status, a capped subset of its headers and its decoded body, read only up to
a byte cap. Other record types, revisits, redirects and non-HTTP captures are counted and skipped.

Writing goes the other way: successful rows of ``raw.page_fetches`` in a time range become
``response`` records (WARC/1.1, gzip per record) after a ``warcinfo`` record, so the archive can be
replayed by any WARC tool, including this module.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus
from typing import IO, Any

import zstandard
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from transforms.errors import InputError
from warehouse.store import Store

log = logging.getLogger(__name__)

# The same stored header subset as the HTTP layer keeps (web/ is not importable from here).
KEPT_HEADERS = frozenset({
    "content-type", "content-length", "etag", "last-modified", "cache-control", "expires",
    "retry-after", "location", "server", "date", "content-encoding", "content-language",
    "x-robots-tag", "cf-mitigated",
})
_MAX_HEADER_VALUE = 1024
_MAX_DETAIL = 300
# Headers that described the wire form of the body, not the decoded body a WARC export carries.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
_DECODABLE = frozenset({"gzip", "x-gzip", "deflate", "br"})


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
    headers: tuple[tuple[str, str], ...]
    content_type: str | None
    charset: str | None
    body: bytes | None              # decoded (dechunked, decompressed); None on error
    body_sha256: str | None
    error_class: str | None         # None = a usable 2xx body
    error_detail: str | None
    ip: str | None


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


def _status_class(status: int) -> str | None:
    if 200 <= status < 300:
        return None
    return {404: "not_found", 410: "gone", 401: "forbidden", 403: "forbidden",
            429: "rate_limited"}.get(status, "http_5xx" if status >= 500 else "http_4xx")


def _content_type(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    mime, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, val = param.strip().partition("=")
        if name.lower() == "charset" and val:
            charset = val.strip().strip("\"'").lower()[:40]
    return mime.strip().lower()[:100] or None, charset


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


def _capture(record: Any, url: str, when: datetime, max_bytes: int) -> WarcCapture:
    http = record.http_headers
    status = int(http.get_statuscode() or 0)
    headers = tuple((k.lower(), v[:_MAX_HEADER_VALUE]) for k, v in http.headers
                    if k.lower() in KEPT_HEADERS)
    mime, charset = _content_type(http.get_header("content-type"))
    error_class = _status_class(status)
    detail = None if error_class is None else f"HTTP {status}"
    body: bytes | None = None
    encoding = (http.get_header("content-encoding") or "").strip().lower()
    if error_class is None and encoding not in ("", "identity") and encoding not in _DECODABLE:
        # stacked or unknown codings: warcio would hand back the still-encoded bytes
        error_class, detail = "too_many_encodings", f"content-encoding {encoding[:60]!r}"
    if error_class is None:
        try:
            body = _read_capped(record.content_stream(), max_bytes)
        except Exception as exc:  # a corrupt chunked or compressed payload is bad input, not a bug
            error_class, detail = "incomplete", f"{type(exc).__name__}: {exc}"[:_MAX_DETAIL]
        else:
            missing = getattr(record.raw_stream, "limit", 0)
            if body is None:
                error_class, detail = "too_large", f"payload over {max_bytes} bytes"
            elif missing:
                # the file ends inside this record: never keep a truncated body as a success
                error_class, body = "incomplete", None
                detail = f"record truncated, {missing} byte(s) missing"
            elif not body:
                error_class, body = "empty_response", None
    return WarcCapture(
        url=url, captured_at=when,
        record_id=record.rec_headers.get_header("WARC-Record-ID"),
        status=status, headers=headers, content_type=mime, charset=charset,
        body=body if error_class is None else None,
        body_sha256=hashlib.sha256(body).hexdigest() if body and error_class is None else None,
        error_class=error_class, error_detail=detail,
        ip=record.rec_headers.get_header("WARC-IP-Address"),
    )


def read_captures(
    stream: IO[bytes], *, max_bytes: int = 15 * 1024 * 1024,
    since: datetime | None = None, until: datetime | None = None,
    want: Any = None, stats: ReadStats | None = None,
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
        capture = _capture(record, url, when, max_bytes)
        stats.captures += 1
        yield capture


def _skip(record: Any, since: datetime | None, until: datetime | None,
          want: Any) -> SkipReason | tuple[str, datetime]:
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


@dataclass(frozen=True, slots=True)
class ExportStats:
    """What an export wrote."""

    records: int
    bytes_written: int


_EXPORT_SQL = """
SELECT event_id, url, final_url, occurred_at, status, headers, content_type, charset, body
FROM raw.page_fetches
WHERE error_class IS NULL AND body IS NOT NULL AND status IS NOT NULL
  AND occurred_at >= $lo AND occurred_at < $hi
ORDER BY occurred_at, event_id
"""


def _record_id(event_id: str) -> str:
    # Deterministic ids: exporting the same range twice gives the same records.
    return f"<urn:uuid:{uuid.UUID(hex=event_id[:32], version=5)}>"


def _http_headers(row: dict[str, Any], body: bytes) -> StatusAndHeaders:
    status = int(row["status"])
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    stored = json.loads(row["headers"]) if row["headers"] else {}
    headers = [(k, str(v)) for k, v in sorted(stored.items()) if k not in _WIRE_HEADERS
               and k != "content-type"]
    content_type = stored.get("content-type") or row["content_type"]
    if content_type:
        headers.insert(0, ("Content-Type", str(content_type)))
    headers.append(("Content-Length", str(len(body))))
    return StatusAndHeaders(f"{status} {phrase}", headers, protocol="HTTP/1.1")


def export_warc(store: Store, out: IO[bytes], *, lo: datetime, hi: datetime,
                software: str = "newsflow", batch_size: int = 200) -> ExportStats:
    """Write the successful page fetches with ``lo <= occurred_at < hi`` to ``out`` as a WARC.

    Rows are read in batches and written one record at a time, so memory stays bounded.
    """
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    start = out.tell() if out.seekable() else 0
    info = writer.create_warcinfo_record(
        "newsflow-export.warc.gz",
        {"software": software, "format": "WARC File Format 1.1",
         "description": f"newsflow raw.page_fetches from {lo.isoformat()} to {hi.isoformat()}"},
    )
    info.rec_headers.replace_header("WARC-Date", _warc_date(hi))
    info.rec_headers.replace_header("WARC-Record-ID", _record_id(
        hashlib.sha256(f"warcinfo {lo} {hi}".encode()).hexdigest()))
    writer.write_record(info)
    cur = store.con.cursor()
    written = 0
    try:
        cur.execute(_EXPORT_SQL, {"lo": lo, "hi": hi})
        names = [d[0] for d in cur.description or []]
        inflate = zstandard.ZstdDecompressor()
        while batch := cur.fetchmany(batch_size):
            for values in batch:
                row = dict(zip(names, values, strict=True))
                body = inflate.decompress(row["body"], max_output_size=1 << 31)
                record = writer.create_warc_record(
                    row["final_url"] or row["url"], "response",
                    payload=io.BytesIO(body), length=None,
                    http_headers=_http_headers(row, body),
                    warc_headers_dict={
                        "WARC-Date": _warc_date(row["occurred_at"]),
                        "WARC-Record-ID": _record_id(row["event_id"]),
                    },
                )
                writer.write_record(record)
                written += 1
    finally:
        cur.close()
    size = (out.tell() - start) if out.seekable() else 0
    log.info("exported %d page(s) to WARC (%d bytes)", written, size)
    return ExportStats(written, size)


def _warc_date(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
