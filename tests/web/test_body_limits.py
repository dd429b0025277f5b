"""Cases 21-25: byte caps before and after decompression, bombs, stacked encodings, redirect bodies."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from faultserver import FaultServer, fast_options

from web import ErrorClass, Fetcher, FetchRequest
from web.decode import looks_compressed

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_supported_encodings_are_decoded(server: FaultServer, encoding: str) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url(f"/encoded/{encoding}"), kind="page"))
    assert result.error_class is None, result.error_detail
    assert result.body is not None and result.body.startswith(b"<html><body>encoded page")
    assert result.header("content-encoding") == encoding


def test_truncated_gzip_body_is_bad_encoding_not_a_short_success(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/encoded/gzip?truncate=12"), kind="page"))
    assert [r.error_class for r in results] == [ErrorClass.BAD_ENCODING]
    assert results[0].body is None


def test_unknown_encoding_is_bad_encoding(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/encoded/compress"), kind="page"))
    assert result.error_class is ErrorClass.BAD_ENCODING and result.body is None


def test_case_21_declared_length_over_cap_is_refused_before_reading(server: FaultServer) -> None:
    with Fetcher(fast_options(max_bytes=1024 * 1024)) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/declared"), kind="page"))
    assert result.error_class is ErrorClass.TOO_LARGE
    assert "Content-Length 60000000" in (result.error_detail or "")
    assert result.status == 200 and result.body is None


def test_case_21_undeclared_chunked_body_is_cut_at_the_cap(server: FaultServer) -> None:
    with Fetcher(fast_options(max_bytes=2 * 1024 * 1024, deadline=10.0)) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/chunked/60"), kind="page"))
    assert result.error_class is ErrorClass.TOO_LARGE
    assert "after decoding" in (result.error_detail or "")
    assert result.body is None


def test_body_exactly_at_the_cap_is_kept(server: FaultServer) -> None:
    with Fetcher(fast_options(max_bytes=3 * 1024 * 1024, deadline=10.0)) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/chunked/3"), kind="page"))
    assert result.error_class is None and result.body is not None
    assert len(result.body) == 3 * 1024 * 1024


@pytest.mark.parametrize("kind", ["gzip", "br", "zstd"])
def test_case_22_23_bombs_stop_at_the_decoded_cap(server: FaultServer, kind: str) -> None:
    with Fetcher(fast_options(max_bytes=4 * 1024 * 1024, deadline=20.0)) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url(f"/bomb/{kind}?mib=1024"), kind="page"))
    assert result.error_class is ErrorClass.TOO_LARGE, result.error_detail
    assert result.body is None


def test_case_23_stacked_encodings_over_the_limit_are_refused(server: FaultServer) -> None:
    with Fetcher(fast_options(max_encodings=2)) as fetcher:
        [six] = fetcher.fetch(FetchRequest(server.url("/stacked/6"), kind="page"))
        [two] = fetcher.fetch(FetchRequest(server.url("/stacked/2"), kind="page"))
    assert six.error_class is ErrorClass.TOO_MANY_ENCODINGS and six.body is None
    assert two.error_class is None and two.body == b"<html>stacked</html>"


def test_case_24_redirect_body_is_never_decompressed(server: FaultServer) -> None:
    # The 302 carries a gzip bomb ending in junk: decoding it would fail (bad_encoding) or blow the cap.
    with Fetcher(fast_options(max_bytes=1024 * 1024)) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/redirect-bomb"), kind="page"))
    assert result.error_class is None, result.error_detail
    assert result.redirect_chain == (server.url("/ok"),)
    assert result.body == b"<html><body><p>hello</p></body></html>"


def test_case_25_compressed_bytes_without_encoding_are_returned_raw_and_flagged(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/magic"), kind="page"))
    assert result.error_class is None and result.body is not None
    assert result.body[:3] == b"\x1f\x8b\x08"  # not silently inflated
    assert looks_compressed(result.body) == "gzip"
    assert looks_compressed(b"\x28\xb5\x2f\xfd rest") == "zstd"
    assert looks_compressed(b"<html>") is None
    assert gzip.decompress(result.body).startswith(b"<html>")


_BOMB_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, sys.argv[2])
    from faultserver import FaultServer, fast_options
    from web import Fetcher, FetchRequest

    with FaultServer() as server, Fetcher(fast_options(max_bytes=15 * 1024 * 1024, deadline=60.0)) as f:
        [result] = f.fetch(FetchRequest(server.url("/bomb/gzip?mib=1024"), kind="page"))
    # VmHWM belongs to this process's own address space; ru_maxrss would also count the
    # parent's RSS inherited at fork (a large pytest process reads as a "leak" here).
    with open("/proc/self/status") as status:
        hwm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"error": result.error_class, "peak_mib": hwm_kib / 1024}))
    """
)


def test_case_22_gzip_bomb_of_1_gb_keeps_peak_rss_under_200_mb() -> None:
    # In a subprocess so the high-water mark covers only this fetch (server + client in one process).
    out = subprocess.run(
        [sys.executable, "-c", _BOMB_SCRIPT, str(ROOT), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["error"] == "too_large"
    assert report["peak_mib"] < 200, report
