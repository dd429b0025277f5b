"""WARC writing: stored pages exported as a WARC that reads back identically (with web.warc)."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import zstandard

from tests.fixtures.backfill.warcs import article_html
from warehouse.store import Store, event_id, schema_version
from warehouse.warc import export_warc
from web.warc import read_captures

DAY = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def _page_row(url: str, when: datetime, body: bytes, *, status: int = 200,
              error: str | None = None) -> dict[str, object]:
    sha = hashlib.sha256(body).hexdigest()
    return {
        "event_id": event_id("page_fetched", url, when.isoformat(), sha, error),
        "run_id": "r1", "occurred_at": when, "recorded_at": when,
        "schema_version": schema_version(), "url": url, "url_key": url, "source": "feed",
        "attempt": 1, "final_url": url, "redirect_chain": [], "status": status,
        "error_class": error, "error_detail": None,
        "headers": json.dumps({"content-type": "text/html; charset=utf-8",
                               "content-encoding": "gzip", "etag": '"abc"'}),
        "content_type": "text/html", "charset": "utf-8",
        "body": None if error else zstandard.ZstdCompressor().compress(body),
        "body_sha256": None if error else sha, "body_bytes": len(body), "elapsed_ms": 5,
    }


def test_export_writes_stored_pages_that_read_back_identically(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.duckdb")
    rows = [_page_row(f"https://a.example/{d}", DAY + timedelta(days=d, microseconds=123),
                      article_html(f"day {d}")) for d in range(4)]
    rows.append(_page_row("https://a.example/err", DAY, b"", status=500, error="http_5xx"))
    store.insert("raw.page_fetches", rows)
    out = tmp_path / "export.warc.gz"
    with out.open("wb") as fh:
        stats = export_warc(store, fh, lo=DAY, hi=DAY + timedelta(days=3))
    assert stats.records == 3 and stats.bytes_written == out.stat().st_size
    with out.open("rb") as fh:
        back = list(read_captures(fh))
    assert [(c.url, c.captured_at, c.body) for c in back] == [
        (r["url"], r["occurred_at"], article_html(f"day {d}")) for d, r in enumerate(rows[:3])]
    assert back[0].content_type == "text/html" and back[0].charset == "utf-8"
    # the wire encoding is not claimed for the decoded body
    assert ("content-encoding", "gzip") not in back[0].headers
    assert ("etag", '"abc"') in back[0].headers
    again = tmp_path / "again.warc.gz"
    with again.open("wb") as fh:
        export_warc(store, fh, lo=DAY, hi=DAY + timedelta(days=3))
    assert again.read_bytes() == out.read_bytes()  # deterministic: same range, same bytes
    store.close()


def test_exported_warc_passes_digest_checks_with_valid_record_ids(tmp_path: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    store = Store.open(tmp_path / "s.duckdb")
    store.insert("raw.page_fetches", [_page_row(f"https://a.example/{i}", DAY, article_html(
        f"p{i}")) for i in range(3)])
    out = io.BytesIO()
    export_warc(store, out, lo=DAY, hi=DAY + timedelta(days=1))
    store.close()
    out.seek(0)
    kinds = []
    for record in ArchiveIterator(out, check_digests="raise"):
        record.content_stream().read()  # digests are verified as the payload is read
        kinds.append(record.rec_type)
        rid = uuid.UUID(record.rec_headers.get_header("WARC-Record-ID")[len("<urn:uuid:"):-1])
        assert rid.version == 5
        if record.rec_type == "response":
            assert record.rec_headers.get_header("WARC-Payload-Digest", "").startswith("sha1:")
    assert kinds == ["warcinfo", "response", "response", "response"]
