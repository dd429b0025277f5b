"""Case 28: abusive response heads end as a protocol error or a capped header subset, never a crash."""

from __future__ import annotations

import pytest
from faultserver import FaultServer, SleepRecorder, fast_options

from web import ErrorClass, Fetcher, FetchRequest
from web.response import MAX_HEADER_VALUE


@pytest.mark.parametrize("kind", ["long", "many", "nul", "crlf", "status", "http09"])
def test_case_28_malformed_heads_are_protocol_errors(
    server: FaultServer, sleeps: SleepRecorder, kind: str
) -> None:
    with Fetcher(fast_options(), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url(f"/abuse/{kind}"), kind="feed"))
    assert len(results) == 1, [r.error_class for r in results]  # protocol errors are not retried
    [result] = results
    assert result.error_class is ErrorClass.PROTOCOL, result.error_detail
    assert result.body is None and result.headers == ()
    assert len(result.error_detail or "") <= 300


def test_case_28_thousands_of_headers_keep_only_the_capped_subset(server: FaultServer) -> None:
    # 3,000 headers (~40 KB) fit the parser's 100 KB head limit; none of them is worth storing.
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/abuse/many-small"), kind="feed"))
    assert result.error_class is None and result.body == b"ok"
    assert result.headers == (("content-length", "2"),)


def test_case_28_kept_headers_are_capped_in_value_and_total(server: FaultServer) -> None:
    options = fast_options(max_header_bytes=4096)
    with Fetcher(options) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/abuse/big-kept"), kind="feed"))
    assert result.error_class is None and result.body == b"ok"
    assert all(len(value) <= MAX_HEADER_VALUE for _, value in result.headers)
    assert sum(len(n) + len(v) for n, v in result.headers) <= 4096
    assert result.header("server") == "s" * MAX_HEADER_VALUE
    assert result.header("content-type") == "text/html"
