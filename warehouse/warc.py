"""WARC out: stored raw pages as a standard WARC file.

Successful rows of ``raw.page_fetches`` in a time range become ``response`` records (WARC/1.1,
gzip per record) after a ``warcinfo`` record, so the archive can be replayed by any WARC tool,
including ``web.warc``, which reads WARC files (with the HTTP layer's header and status rules).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import IO, Any

import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from warehouse.store import Store

log = logging.getLogger(__name__)

# Headers that described the wire form of the body, not the decoded body a WARC export carries.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


@dataclass(frozen=True, slots=True)
class ExportStats:
    """What an export wrote."""

    records: int
    bytes_written: int


_EXPORT_SQL = """
WITH pages AS (
    SELECT event_id, url, final_url, occurred_at, status, headers, content_type, charset,
           body_sha256
    FROM raw.page_fetches
    WHERE error_class IS NULL AND has_body AND status IS NOT NULL
      AND occurred_at >= $lo AND occurred_at < $hi
)
SELECT p.event_id, p.url, p.final_url, p.occurred_at, p.status, p.headers, p.content_type,
       p.charset, b.body
FROM pages AS p
JOIN raw.page_bodies AS b USING (body_sha256)
QUALIFY row_number() OVER (PARTITION BY p.event_id) = 1
ORDER BY p.occurred_at, p.event_id
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


def count_exportable(store: Store, *, lo: datetime, hi: datetime) -> int:
    """How many records ``export_warc`` would write for the same range (for a progress bar)."""
    row = store.con.execute(f"SELECT count(*) FROM ({_EXPORT_SQL})", {"lo": lo, "hi": hi}).fetchone()
    return int(row[0]) if row else 0


def export_warc(store: Store, out: IO[bytes], *, lo: datetime, hi: datetime,
                software: str = "newsflow", batch_size: int = 200,
                on_batch: Callable[[int], None] | None = None) -> ExportStats:
    """Write the successful page fetches with ``lo <= occurred_at < hi`` to ``out`` as a WARC.

    Rows are read in batches and written one record at a time, so memory stays bounded;
    ``on_batch(records_so_far)`` hears of each batch written.
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
            if on_batch is not None:
                on_batch(written)
    finally:
        cur.close()
    size = (out.tell() - start) if out.seekable() else 0
    log.info("exported %d page(s) to WARC (%d bytes)", written, size)
    return ExportStats(written, size)


def _warc_date(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
