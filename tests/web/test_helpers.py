"""Pure parts of the HTTP layer: error classes, Retry-After, header selection, decoders, URL hosts."""

from __future__ import annotations

import gzip
import ipaddress
import zlib
from datetime import UTC, datetime

import brotli
import pytest
import zstandard

from web import ErrorClass, FetchRequest, FetchResult
from web.decode import DecodeError, UnsupportedEncoding, decode_stream, parse_encodings
from web.response import parse_content_type, parse_retry_after, select_headers
from web.urlcheck import blocked_reason, parse_ipv4_loose

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_every_error_class_has_a_severity_and_retry_policy() -> None:
    for error in ErrorClass:
        assert error.severity in {"hard", "soft", "temporary"}
        assert isinstance(error.retryable, bool)
        assert not (error.retryable and error.permanent)
    assert ErrorClass.HTTP_5XX.retryable and ErrorClass.RATE_LIMITED.retryable
    assert not ErrorClass.NOT_FOUND.retryable and not ErrorClass.TLS.retryable
    assert not ErrorClass.SSRF_BLOCKED.retryable and not ErrorClass.DEADLINE.retryable


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", None),
        ("-1", None),
        ("1e9", None),
        ("99999999999999999999", 86400.0),
        ("Mon, 23 Nov 2026 12:02:00 GMT", 120.0),
        ("Sun, 22 Nov 2026 12:00:00 GMT", None),
        ("Wed, 23 Nov 2027 12:00:00 GMT", 86400.0),
        ("not a date", None),
        (None, None),
    ],
)
def test_case_10_retry_after_parsing(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW, cap=86400.0) == expected


def test_content_type_and_charset() -> None:
    assert parse_content_type('Text/HTML; Charset="ISO-8859-1"') == ("text/html", "iso-8859-1")
    assert parse_content_type("application/rss+xml") == ("application/rss+xml", None)
    assert parse_content_type(None) == (None, None)


def test_case_28_header_subset_is_lowercased_allowlisted_and_capped() -> None:
    headers = [("ETag", '"x"'), ("Set-Cookie", "secret"), ("Server", "s" * 10_000)] + [("Date", "d")] * 1000
    kept = select_headers(headers, 2048)
    assert ("etag", '"x"') in kept
    assert all(name != "set-cookie" for name, _ in kept)
    assert sum(len(n) + len(v) for n, v in kept) <= 2048


def _result(headers: tuple[tuple[str, str], ...], *, status: int = 200) -> FetchResult:
    request = FetchRequest("http://example.com/feed", kind="feed", etag='"old"', last_modified="Mon")
    return FetchResult(
        request=request,
        attempt=1,
        requested_url=request.url,
        final_url=request.url,
        redirect_chain=(),
        status=status,
        error_class=None,
        error_detail=None,
        headers=headers,
        content_type=None,
        charset=None,
        body=None,
        body_sha256=None,
        started_at=NOW,
        elapsed_ms=1,
        retry_after_s=None,
        not_modified=status == 304,
    )


def test_case_12_validators_ignored_with_expires_0_and_kept_on_bare_304() -> None:
    assert _result((("etag", '"a"'), ("last-modified", "Tue"))).validators() == ('"a"', "Tue")
    assert _result((("etag", '"a"'), ("expires", "0"))).validators() == (None, None)
    assert _result((), status=304).validators() == ('"old"', "Mon")


def test_parse_encodings() -> None:
    assert parse_encodings("gzip, identity, BR") == ["gzip", "br"]
    assert parse_encodings(None) == [] and parse_encodings(" ") == []


def test_decoders_bound_each_output_piece() -> None:
    data = bytes(8 * 1024 * 1024)
    for encoding, blob in [
        ("gzip", gzip.compress(data)),
        ("deflate", zlib.compress(data)),
        ("br", brotli.compress(data)),
        ("zstd", zstandard.ZstdCompressor().compress(data)),
    ]:
        pieces = list(decode_stream([blob], [encoding]))
        assert b"".join(pieces) == data, encoding
        assert max(len(p) for p in pieces) <= 8 * 1024 * 1024 // 8, encoding  # never all at once


def test_raw_deflate_and_concatenated_gzip_members() -> None:
    raw = zlib.compressobj(wbits=-15)
    blob = raw.compress(b"raw deflate") + raw.flush()
    assert b"".join(decode_stream([blob], ["deflate"])) == b"raw deflate"
    two = gzip.compress(b"one ") + gzip.compress(b"two")
    assert b"".join(decode_stream([two], ["gzip"])) == b"one two"


def test_corrupt_and_unknown_encodings_raise() -> None:
    with pytest.raises(DecodeError):
        list(decode_stream([b"definitely not gzip"], ["gzip"]))
    with pytest.raises(UnsupportedEncoding):
        decode_stream([b"x"], ["compress"])


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.258", "10.1.1.2"),
        ("0x7F000001", "127.0.0.1"),
        ("example.com", None),
        ("1.example", None),
    ],
)
def test_case_17_loose_ipv4_parsing(host: str, expected: str | None) -> None:
    parsed = parse_ipv4_loose(host)
    assert (None if parsed is None else str(parsed)) == expected


def test_blocked_reason_ranges() -> None:
    def blocked(ip: str, allow_private: bool = False) -> bool:
        return blocked_reason(ipaddress.ip_address(ip), allow_private=allow_private) is not None

    assert not blocked("93.184.216.34") and not blocked("2606:2800:220:1::")
    for ip in [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fd12::1",
        "::ffff:10.0.0.1",
    ]:
        assert blocked(ip), ip
        assert not blocked(ip, allow_private=True), ip
    for ip in ["169.254.169.254", "0.0.0.0", "::", "224.0.0.1", "ff02::1"]:
        assert blocked(ip, allow_private=True), ip  # never opened, even for tests


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_truncated_compressed_streams_are_errors_not_short_bodies(encoding: str) -> None:
    data = b"<p>truncated</p>" * 5000
    blob = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "br": brotli.compress,
        "zstd": zstandard.ZstdCompressor().compress,
    }[encoding](data)
    with pytest.raises(DecodeError, match="truncated"):
        list(decode_stream([blob[: len(blob) // 2]], [encoding]))
