"""Cases 2-7: connect timeout, silent server, slow-loris, endless stream, reset and short bodies."""

from __future__ import annotations

import time

from faultserver import FaultServer, SleepRecorder, blackhole, fast_options

from web import ErrorClass, Fetcher, FetchRequest


def test_case_2_connect_timeout_on_a_full_accept_queue(sleeps: SleepRecorder) -> None:
    listener, fillers = blackhole()
    port = listener.getsockname()[1]
    try:
        options = fast_options(connect_timeout=0.3, max_attempts=2)
        started = time.monotonic()
        with Fetcher(options, sleep=sleeps) as fetcher:
            results = fetcher.fetch(FetchRequest(f"http://127.0.0.1:{port}/", kind="feed"))
        took = time.monotonic() - started
    finally:
        for sock in [listener, *fillers]:
            sock.close()
    assert [r.error_class for r in results] == [ErrorClass.CONNECT_TIMEOUT] * 2  # retried once
    assert all(r.status is None and r.body is None for r in results)
    assert len(sleeps.calls) == 1
    assert took < 5  # bounded by the connect timeout, not hanging


def test_connection_refused_is_connect_error(sleeps: SleepRecorder) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with Fetcher(fast_options(max_attempts=2), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(f"http://127.0.0.1:{port}/", kind="feed"))
    assert [r.error_class for r in results] == [ErrorClass.CONNECT] * 2


def test_case_3_headers_never_sent_is_timeout(server: FaultServer, sleeps: SleepRecorder) -> None:
    options = fast_options(read_timeout=0.3, deadline=5.0, max_attempts=1)
    with Fetcher(options, sleep=sleeps) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/sleep?s=10"), kind="feed"))
    assert result.error_class is ErrorClass.TIMEOUT
    assert result.status is None and result.body is None
    assert 250 <= result.elapsed_ms < 3000


def test_case_3_total_deadline_also_bounds_a_silent_server(server: FaultServer) -> None:
    options = fast_options(read_timeout=30.0, deadline=0.5, max_attempts=1)
    with Fetcher(options) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/sleep?s=10"), kind="feed"))
    assert result.error_class is ErrorClass.TIMEOUT  # no headers yet: a timeout, cut by the deadline
    assert result.elapsed_ms < 2000


def test_case_4_slow_loris_body_is_cut_at_the_total_deadline(
    server: FaultServer, sleeps: SleepRecorder
) -> None:
    # Each byte arrives well within the read timeout; only the total deadline can stop this.
    options = fast_options(read_timeout=2.0, deadline=1.0)
    with Fetcher(options, sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/trickle?every=0.1"), kind="page"))
    assert len(results) == 1  # a deadline is not retried within the run
    [result] = results
    assert result.error_class is ErrorClass.DEADLINE
    assert result.status == 200 and result.body is None and result.body_sha256 is None
    assert 900 <= result.elapsed_ms < 2500


def test_case_5_endless_stream_stops_at_the_byte_cap(server: FaultServer) -> None:
    options = fast_options(max_bytes=256 * 1024, deadline=10.0)
    with Fetcher(options) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/endless"), kind="page"))
    assert result.error_class is ErrorClass.TOO_LARGE
    assert result.content_type == "audio/mpeg"
    assert result.body is None


def test_case_5_endless_stream_stops_at_the_deadline_when_cap_is_far(server: FaultServer) -> None:
    options = fast_options(max_bytes=10**12, deadline=0.5)
    with Fetcher(options) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/endless"), kind="page"))
    assert result.error_class in (ErrorClass.DEADLINE, ErrorClass.TOO_LARGE)
    assert result.error_class is ErrorClass.DEADLINE or result.elapsed_ms < 1500
    assert result.body is None and result.elapsed_ms < 3000


def test_case_6_reset_mid_body_is_an_error_and_retried(server: FaultServer, sleeps: SleepRecorder) -> None:
    with Fetcher(fast_options(max_attempts=2), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/reset"), kind="page"))
    assert [r.error_class for r in results] == [ErrorClass.RESET] * 2
    assert all(r.body is None and r.status == 200 for r in results)


def test_case_7_short_body_against_content_length_is_incomplete(
    server: FaultServer, sleeps: SleepRecorder
) -> None:
    with Fetcher(fast_options(max_attempts=2), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/short"), kind="feed"))
    assert [r.error_class for r in results] == [ErrorClass.INCOMPLETE] * 2
    assert all(r.body is None for r in results)
    assert ErrorClass.INCOMPLETE.retryable
