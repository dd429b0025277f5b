"""WARC reading: streamed captures with their capture time, classified as the fetcher classifies."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from faultserver import FaultServer, fast_options

from tests.fixtures.backfill.warcs import Capture, article_html, chunked, gzipped, write_warc
from web import Fetcher, FetchRequest
from web.response import classify_status
from web.warc import ReadStats, WarcReadError, parse_warc_date, read_captures

DAY = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def _awkward_warc(path: Path) -> Path:
    html = article_html("Plain")
    return write_warc(path, [
        Capture("https://a.example/plain", DAY, html),
        Capture("https://a.example/gzip", DAY + timedelta(days=1), gzipped(article_html("Gz")),
                headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")]),
        Capture("https://a.example/chunked", DAY + timedelta(days=2), chunked(html),
                headers=[("Content-Type", "text/html; charset=ISO-8859-1"),
                         ("Transfer-Encoding", "chunked"), ("X-Secret", "dropped")]),
        Capture("https://a.example/missing", DAY, b"nope", status=404),
        Capture("https://a.example/moved", DAY, b"", status=301,
                headers=[("Location", "https://a.example/plain")]),
        Capture("https://a.example/plain", DAY, b"", record_type="revisit"),
        Capture("https://a.example/plain", DAY, b"GET / HTTP/1.1\r\n\r\n", record_type="request"),
        Capture("dns:a.example", DAY, b"20240301100000\na.example. 60 IN A 10.0.0.1\n"),
        Capture("https://a.example/stacked", DAY, gzipped(gzipped(html)),
                headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip, gzip")]),
        Capture("https://a.example/empty", DAY, b""),
        Capture("https://a.example/bomb", DAY, gzipped(b" " * 3_000_000),
                headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")]),
        Capture("https://a.example/old", DAY - timedelta(days=30), html),
    ])


def test_response_records_become_captures_with_their_capture_time(tmp_path: Path) -> None:
    path = _awkward_warc(tmp_path / "a.warc.gz")
    stats = ReadStats()
    with path.open("rb") as stream:
        got = {c.url: c for c in read_captures(stream, max_bytes=1_000_000, stats=stats)}
    plain = got["https://a.example/plain"]
    assert plain.captured_at == DAY
    assert plain.status == 200 and plain.error_class is None
    assert plain.body == article_html("Plain")
    assert plain.body_sha256 == hashlib.sha256(article_html("Plain")).hexdigest()
    assert plain.record_id and plain.record_id.startswith("<urn:uuid:")
    assert got["https://a.example/gzip"].body == article_html("Gz")
    chunk = got["https://a.example/chunked"]
    assert chunk.body == article_html("Plain")
    assert chunk.charset == "iso-8859-1" and chunk.content_type == "text/html"
    assert ("x-secret", "dropped") not in chunk.headers
    assert got["https://a.example/missing"].error_class == "not_found"
    assert got["https://a.example/missing"].body is None
    assert stats.skipped == {"redirect": 1, "revisit": 1, "not_response": 2, "not_http": 1}


def test_case_23_stacked_encodings_are_refused(tmp_path: Path) -> None:
    with _awkward_warc(tmp_path / "a.warc.gz").open("rb") as stream:
        got = {c.url: c for c in read_captures(stream)}
    assert got["https://a.example/stacked"].error_class == "too_many_encodings"
    assert got["https://a.example/stacked"].body is None


def test_case_22_gzip_bomb_payload_stops_at_the_cap(tmp_path: Path) -> None:
    with _awkward_warc(tmp_path / "a.warc.gz").open("rb") as stream:
        got = {c.url: c for c in read_captures(stream, max_bytes=1_000_000)}
    assert got["https://a.example/bomb"].error_class == "too_large"
    assert got["https://a.example/bomb"].body is None


def test_case_13_empty_payload_is_an_error(tmp_path: Path) -> None:
    with _awkward_warc(tmp_path / "a.warc.gz").open("rb") as stream:
        got = {c.url: c for c in read_captures(stream)}
    assert got["https://a.example/empty"].error_class == "empty_response"


def test_time_range_and_want_filter_skip_before_reading(tmp_path: Path) -> None:
    path = _awkward_warc(tmp_path / "a.warc.gz")
    stats = ReadStats()
    with path.open("rb") as stream:
        urls = [c.url for c in read_captures(
            stream, since=DAY, until=DAY + timedelta(days=2), stats=stats,
            want=lambda url, when: not url.endswith("/bomb"))]
    assert "https://a.example/old" not in urls
    assert "https://a.example/chunked" not in urls  # day 3 is outside [since, until)
    assert "https://a.example/bomb" not in urls
    assert stats.skipped["out_of_range"] == 2
    assert stats.skipped["unwanted"] == 1


def test_reading_streams_instead_of_loading_the_file(tmp_path: Path) -> None:
    big = [Capture(f"https://a.example/{i}", DAY, article_html(f"n{i}", 40)) for i in range(300)]
    path = write_warc(tmp_path / "big.warc", big, compress=False)
    size = path.stat().st_size
    with path.open("rb") as stream:
        first = next(read_captures(stream))
        position = stream.tell()
    assert first.url == "https://a.example/0"
    # after the first capture only a little of the file has been read
    assert position < size / 20, (position, size)


def test_uncompressed_and_garbage_files(tmp_path: Path) -> None:
    path = write_warc(tmp_path / "plain.warc", [Capture("https://a.example/x", DAY, b"<p>x</p>")],
                      compress=False)
    with path.open("rb") as stream:
        assert [c.url for c in read_captures(stream)] == ["https://a.example/x"]
    with pytest.raises(WarcReadError):
        list(read_captures(io.BytesIO(b"not a warc file\r\n\r\n")))


@pytest.mark.parametrize("compress", [True, False])
def test_case_7_truncated_last_record_is_incomplete_not_a_short_success(
        tmp_path: Path, compress: bool) -> None:
    path = write_warc(tmp_path / "t.warc", [
        Capture(f"https://a.example/{i}", DAY, article_html(f"t{i}")) for i in range(3)],
        compress=compress)
    data = path.read_bytes()
    got = list(read_captures(io.BytesIO(data[: len(data) - 200])))
    assert [c.error_class for c in got] == [None, None, "incomplete"]
    assert got[2].body is None and got[2].body_sha256 is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-03-01T10:00:00Z", DAY),
    ("2024-03-01T10:00:00.500000Z", DAY + timedelta(microseconds=500000)),
    ("2024-03-01T11:00:00+01:00", DAY),
    ("garbage", None),
    (None, None),
])
def test_warc_dates(raw: str | None, expected: datetime | None) -> None:
    assert parse_warc_date(raw) == expected


READ_AND_MEASURE = """
import sys
from web.warc import read_captures

def hwm_kib():  # this address space's peak; ru_maxrss would include the parent's RSS at fork
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

base = hwm_kib()
n = total = 0
with open(sys.argv[1], "rb") as fh:
    for capture in read_captures(fh, max_bytes=2_000_000):
        n += 1
        total += len(capture.body or b"")
peak = hwm_kib()
print(n, total, (peak - base) // 1024)
"""


def test_reading_a_large_warc_keeps_memory_flat(tmp_path: Path) -> None:
    import subprocess
    import sys

    page = (b"<p>" + b"all work and no play makes a dull crawl " * 25 + b"</p>\n") * 1000
    path = write_warc(tmp_path / "large.warc.gz", [
        Capture(f"https://a.example/{i}", DAY, page) for i in range(150)])
    assert path.stat().st_size < 20_000_000  # small on disk, ~150 MB of payload
    out = subprocess.run([sys.executable, "-c", READ_AND_MEASURE, str(path)],
                         cwd=Path(__file__).resolve().parents[2], capture_output=True,
                         text=True, timeout=120, check=True)
    n, total, grown_mb = (int(x) for x in out.stdout.split())
    assert n == 150 and total == 150 * len(page)
    assert grown_mb < 40, f"peak RSS grew {grown_mb} MB while streaming {total >> 20} MB"


# The fault server's /status/<code> answer: what a WARC crawler would have captured from it.
def _status_capture(url: str, code: int, extra: list[tuple[str, str]]) -> Capture:
    body = b"status body"
    return Capture(url, DAY, body, status=code, headers=[
        ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))), *extra])


@pytest.mark.parametrize(("path", "extra"), [
    ("/status/401", []),
    ("/status/429?retry-after=120", [("Retry-After", "120")]),
    ("/status/503?retry-after=30", [("Retry-After", "30")]),
    ("/status/403?cf=1", [("cf-mitigated", "challenge")]),
    ("/status/403", []),
    ("/status/408", []),
    ("/status/410", []),
])
def test_a_warc_capture_is_classified_as_the_fetcher_classifies_the_same_response(
        server: FaultServer, tmp_path: Path, path: str, extra: list[tuple[str, str]]) -> None:
    with Fetcher(fast_options(max_attempts=1)) as fetcher:
        [fetched] = fetcher.fetch(FetchRequest(server.url(path), kind="page"))
    code = int(path.split("/")[2].split("?")[0])
    warc = write_warc(tmp_path / "s.warc.gz", [_status_capture("https://a.example/x", code, extra)])
    with warc.open("rb") as stream:
        [captured] = read_captures(stream)
    assert fetched.status == captured.status == code
    assert captured.error_class is fetched.error_class is not None
    assert captured.error_detail == fetched.error_detail
    assert captured.headers == fetched.headers
    assert captured.retry_after_s == fetched.retry_after_s
    assert captured.body is None and captured.body_sha256 is None


def test_401_is_unauthorized_and_429_rate_limited_with_its_retry_after(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "s.warc.gz", [
        _status_capture("https://a.example/login", 401, []),
        _status_capture("https://a.example/busy", 429, [("Retry-After", "120")])])
    with warc.open("rb") as stream:
        got = {c.url: c for c in read_captures(stream)}
    login, busy = got["https://a.example/login"], got["https://a.example/busy"]
    assert login.error_class == "unauthorized" and login.error_class.permanent  # not 'forbidden'
    assert busy.error_class == "rate_limited" and busy.error_class.retryable
    assert busy.retry_after_s == 120.0 and ("retry-after", "120") in busy.headers


@pytest.mark.parametrize("code", [100, 199, 200, 204, 400, 401, 403, 404, 408, 410, 418, 429, 451,
                                  500, 503, 599, 600, 999])
def test_every_status_gets_the_fetchers_error_class(tmp_path: Path, code: int) -> None:
    warc = write_warc(tmp_path / "s.warc.gz", [_status_capture("https://a.example/x", code, [])])
    with warc.open("rb") as stream:
        [captured] = read_captures(stream)
    headers = httpx.Headers([("Content-Type", "text/html")])
    assert captured.error_class is classify_status(code, headers)
    assert (captured.body is not None) == (captured.error_class is None)


def test_the_fetchers_header_subset_is_kept_content_location_included(tmp_path: Path) -> None:
    html = article_html("Kept")
    warc = write_warc(tmp_path / "h.warc.gz", [Capture("https://a.example/k", DAY, html, headers=[
        ("Content-Type", "text/html"), ("Content-Location", "/k.en.html"),
        ("X-Powered-By", "dropped"), ("ETag", '"v1"'), ("Server", "x" * 2000)])])
    with warc.open("rb") as stream:
        [captured] = read_captures(stream)
    names = [name for name, _ in captured.headers]
    assert names == ["content-type", "content-location", "etag", "server"]
    assert dict(captured.headers)["server"] == "x" * 512  # the fetcher's per-value cap
