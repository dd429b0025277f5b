"""The Fetcher's core contract against the fault server: success, validators, statuses, retries."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from faultserver import FaultServer, SleepRecorder, fast_options

from web import ErrorClass, Fetcher, FetchRequest, FetchResult, HttpOptions


def test_success_returns_body_hash_headers_and_one_attempt(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/ok"), kind="feed", key="k1"))
    assert result.error_class is None and result.ok
    assert result.status == 200 and result.attempt == 1
    assert result.body == b"<html><body><p>hello</p></body></html>"
    assert result.body_sha256 == hashlib.sha256(result.body).hexdigest()
    assert result.content_type == "text/html" and result.charset == "utf-8"
    assert result.header("etag") == '"v1"'
    assert result.request.key == "k1"
    assert result.final_url == server.url("/ok") and result.redirect_chain == ()
    assert result.started_at.tzinfo is not None and result.elapsed_ms >= 0
    assert not result.not_modified


def test_honest_user_agent_and_conditional_headers_are_sent(server: FaultServer) -> None:
    options = fast_options(user_agent="newsflow-test/9 (+https://example.org/bot)")
    request = FetchRequest(
        server.url("/headers"), kind="feed", etag='"abc"', last_modified="Mon, 02 Nov 2026"
    )
    with Fetcher(options) as fetcher:
        [result] = fetcher.fetch(request)
    assert result.body is not None
    echoed = result.body.decode()
    assert "user-agent: newsflow-test/9 (+https://example.org/bot)" in echoed
    assert 'if-none-match: "abc"' in echoed
    assert "if-modified-since: Mon, 02 Nov 2026" in echoed
    assert "accept-encoding: gzip, deflate, br, zstd" in echoed


def test_case_12_not_modified_is_success_without_body(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/ok"), kind="feed", etag='"v1"'))
    assert result.status == 304
    assert result.error_class is None and result.not_modified
    assert result.body is None and result.body_sha256 is None
    assert result.header("etag") == '"v1"'


def test_case_13_empty_body_is_an_error(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [plain] = fetcher.fetch(FetchRequest(server.url("/empty"), kind="feed"))
        [chunked] = fetcher.fetch(FetchRequest(server.url("/empty/chunked"), kind="feed"))
    for result in (plain, chunked):
        assert result.status == 200
        assert result.error_class is ErrorClass.EMPTY_RESPONSE
        assert result.body is None


def test_case_8_503_twice_then_success_on_third_attempt(server: FaultServer, sleeps: SleepRecorder) -> None:
    with Fetcher(fast_options(), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/flaky/2/a"), kind="feed"))
    assert [r.status for r in results] == [503, 503, 200]
    assert [r.attempt for r in results] == [1, 2, 3]
    assert [r.error_class for r in results] == [ErrorClass.HTTP_5XX, ErrorClass.HTTP_5XX, None]
    assert results[-1].body is not None and results[0].body is None
    assert len(sleeps.calls) == 2
    # full jitter: each delay within [0, min(cap, base * 2**(n-1))]
    assert 0 <= sleeps.calls[0] <= 0.01 and 0 <= sleeps.calls[1] <= 0.02


def test_case_8_all_attempts_fail_gives_max_attempts_results(
    server: FaultServer, sleeps: SleepRecorder
) -> None:
    with Fetcher(fast_options(max_attempts=3), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/status/502"), kind="feed"))
    assert [r.error_class for r in results] == [ErrorClass.HTTP_5XX] * 3
    assert server.hits["/status/502"] == 3


def test_case_11_permanent_statuses_are_not_retried(server: FaultServer, sleeps: SleepRecorder) -> None:
    expected = {
        "/status/404": ErrorClass.NOT_FOUND,
        "/status/410": ErrorClass.GONE,
        "/status/401": ErrorClass.UNAUTHORIZED,
        "/status/403": ErrorClass.FORBIDDEN,
        "/status/403?cf=1": ErrorClass.BOT_CHALLENGE,
        "/status/400": ErrorClass.HTTP_4XX,
    }
    with Fetcher(fast_options(), sleep=sleeps) as fetcher:
        for path, error in expected.items():
            results = fetcher.fetch(FetchRequest(server.url(path), kind="feed"))
            assert len(results) == 1, path
            assert results[0].error_class is error, path
            assert not error.retryable
    assert sleeps.calls == []
    assert ErrorClass.GONE.severity == "hard" and ErrorClass.GONE.permanent


def test_case_9_retry_after_beyond_max_sleep_is_returned_not_slept(
    server: FaultServer, sleeps: SleepRecorder
) -> None:
    with Fetcher(fast_options(max_sleep=10.0), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/status/429?retry-after=120"), kind="feed"))
    assert len(results) == 1  # no hammering inside the run
    assert results[0].error_class is ErrorClass.RATE_LIMITED
    assert results[0].retry_after_s == 120.0
    assert sleeps.calls == []


def test_case_9_short_retry_after_is_slept_then_retried(server: FaultServer, sleeps: SleepRecorder) -> None:
    with Fetcher(fast_options(max_sleep=5.0), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/flaky/1/b?code=429&retry-after=2"), kind="feed"))
    assert [r.status for r in results] == [429, 200]
    assert results[0].retry_after_s == 2.0
    # the wait is the host's (the limiter holds it), so it is measured from the 429's arrival
    assert len(sleeps.calls) == 1 and 1.8 < sleeps.calls[0] <= 2.0


def test_case_10_retry_after_http_date_huge_past_and_garbage(
    server: FaultServer, sleeps: SleepRecorder
) -> None:
    fixed = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    in_5_min = (fixed + timedelta(minutes=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    past = (fixed - timedelta(days=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    options = fast_options(max_attempts=1, retry_after_cap=86400.0)
    cases = {
        in_5_min: 300.0,
        "31536000": 86400.0,  # one year, capped at a day
        past: None,
        "-5": None,
        "soon, maybe": None,
        "": None,
    }
    for value, expected in cases.items():
        # a fetcher each: a long Retry-After leaves the whole host alone for the rest of a run
        with Fetcher(options, sleep=sleeps, now=lambda: fixed) as fetcher:
            url = server.url("/status/503") + "?" + urlencode({"retry-after": value})
            [result] = fetcher.fetch(FetchRequest(url, kind="feed"))
            assert result.error_class is ErrorClass.HTTP_5XX
            assert result.retry_after_s == expected, value


def test_case_10_garbage_retry_after_falls_back_to_backoff(
    server: FaultServer, sleeps: SleepRecorder
) -> None:
    with Fetcher(fast_options(max_attempts=2), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/status/503?retry-after=garbage"), kind="feed"))
    assert len(results) == 2 and all(r.retry_after_s is None for r in results)
    assert len(sleeps.calls) == 1 and sleeps.calls[0] <= 0.01


def test_case_26_content_type_is_recorded_not_judged(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/ok?type=application/pdf"), kind="page"))
    assert result.error_class is None
    assert result.content_type == "application/pdf" and result.charset is None


def test_fetch_all_keeps_order_and_calls_on_done(server: FaultServer) -> None:
    paths = ["/ok", "/status/404", "/headers", "/status/410"]
    seen: list[str] = []
    with Fetcher(fast_options()) as fetcher:
        outcomes = fetcher.fetch_all(
            [FetchRequest(server.url(p), kind="feed", key=p) for p in paths],
            on_done=lambda req, results: seen.append(req.key or ""),
        )
    assert [o[0].request.key for o in outcomes] == paths
    assert [o[-1].status for o in outcomes] == [200, 404, 200, 410]
    assert sorted(seen) == sorted(paths)


def test_defaults_follow_faults_section_6() -> None:
    options = HttpOptions()
    assert (options.connect_timeout, options.deadline) == (10.0, 30.0)
    assert options.max_bytes == 15 * 1024 * 1024
    assert (options.max_redirects, options.max_attempts, options.max_encodings) == (5, 3, 2)
    assert options.allow_private is False and options.respect_robots is True
    assert options.retry_after_cap == 86400.0


def test_a_bug_in_one_fetch_costs_one_url_not_the_batch(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Fetcher(fast_options()) as fetcher:
        original = fetcher.fetch

        def flaky_fetch(request: FetchRequest) -> list[FetchResult]:
            if request.key == "boom":
                raise RuntimeError("simulated bug")
            return original(request)

        monkeypatch.setattr(fetcher, "fetch", flaky_fetch)
        outcomes = fetcher.fetch_all(
            [FetchRequest(server.url("/ok"), key="a"), FetchRequest(server.url("/ok"), key="boom")]
        )
    assert outcomes[0][0].error_class is None
    assert outcomes[1][0].error_class is ErrorClass.OTHER
    assert "simulated bug" in (outcomes[1][0].error_detail or "")
