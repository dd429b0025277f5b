"""Cases 14, 15, 19, 20, 62: redirects followed by hand, counted, and checked hop by hop."""

from __future__ import annotations

from urllib.parse import quote

from faultserver import FaultServer, SleepRecorder, fast_options

from web import ErrorClass, Fetcher, FetchRequest


def test_redirect_chain_is_recorded_hop_by_hop(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/redirect/3"), kind="feed"))
    assert result.error_class is None
    assert result.redirect_chain == (
        server.url("/redirect/2?code=302"),
        server.url("/redirect/1?code=302"),
        server.url("/ok"),
    )
    assert result.final_url == server.url("/ok")
    assert result.requested_url == server.url("/redirect/3")


def test_case_14_five_redirects_pass_six_do_not(server: FaultServer, sleeps: SleepRecorder) -> None:
    with Fetcher(fast_options(max_redirects=5), sleep=sleeps) as fetcher:
        [five] = fetcher.fetch(FetchRequest(server.url("/redirect/5"), kind="feed"))
        six = fetcher.fetch(FetchRequest(server.url("/redirect/6"), kind="feed"))
    assert five.error_class is None and len(five.redirect_chain) == 5
    assert len(six) == 1  # not retried
    assert six[0].error_class is ErrorClass.TOO_MANY_REDIRECTS
    assert six[0].body is None
    assert server.hits["/ok"] == 1  # the sixth hop was never requested


def test_case_14_redirect_loop_stops_at_the_limit(server: FaultServer) -> None:
    with Fetcher(fast_options(max_redirects=5)) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/loop/a"), kind="feed"))
    assert result.error_class is ErrorClass.TOO_MANY_REDIRECTS
    assert len(result.redirect_chain) == 5
    assert server.hits["/loop/a"] + server.hits["/loop/b"] == 6


def test_case_15_redirect_to_metadata_is_refused_even_with_private_allowed(server: FaultServer) -> None:
    target = quote("http://169.254.169.254/latest/meta-data/", safe="")
    with Fetcher(fast_options(allow_private=True)) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url(f"/to?url={target}"), kind="feed"))
    assert len(results) == 1
    assert results[0].error_class is ErrorClass.SSRF_BLOCKED
    assert results[0].status == 302 and results[0].body is None


def test_case_20_permanent_redirect_exposes_the_checked_target(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/redirect/1?code=301"), kind="feed"))
    assert result.error_class is None
    assert result.final_url == server.url("/ok")  # only a hop that passed the checks and answered
    assert result.redirect_statuses == (301,)
    assert result.permanent_redirect == server.url("/ok")


def test_case_20_mixed_or_temporary_redirects_are_not_adopted(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [temporary] = fetcher.fetch(FetchRequest(server.url("/redirect/2?code=302"), kind="feed"))
        [permanent] = fetcher.fetch(FetchRequest(server.url("/redirect/2?code=308"), kind="feed"))
        [failed] = fetcher.fetch(FetchRequest(server.url("/to?code=301&url=/status/404"), kind="feed"))
    assert temporary.permanent_redirect is None and temporary.redirect_statuses == (302, 302)
    assert permanent.permanent_redirect == server.url("/ok")
    assert failed.permanent_redirect is None  # a target that fails is never adopted


def test_case_20_permanent_redirect_to_a_bad_scheme_is_refused(server: FaultServer) -> None:
    target = quote("file:///etc/passwd", safe="")
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url(f"/to?code=308&url={target}"), kind="feed"))
    assert result.error_class is ErrorClass.BAD_SCHEME
    assert result.final_url == server.url(f"/to?code=308&url={target}")  # the new URL is never adopted


def test_relative_and_protocol_relative_locations_resolve(server: FaultServer) -> None:
    relative = quote("../ok", safe="")
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url(f"/to/x?url={relative}"), kind="feed"))
    assert result.error_class is None
    assert result.redirect_chain == (server.url("/ok"),)


def test_redirect_without_location_is_a_protocol_error(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/status/302"), kind="feed"))
    assert result.error_class is ErrorClass.PROTOCOL


def test_case_62_cookie_set_on_a_redirect_is_kept_for_the_attempt_only(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [first] = fetcher.fetch(FetchRequest(server.url("/cookie-gate"), kind="page"))
        [second] = fetcher.fetch(FetchRequest(server.url("/cookie-gate"), kind="page"))
    assert first.error_class is None and first.body == b"<html>past the gate</html>"
    assert first.redirect_chain == (server.url("/cookie-gate"),)
    # No jar survives the attempt: the second fetch meets the wall again.
    assert second.redirect_chain == (server.url("/cookie-gate"),)
    assert server.hits["/cookie-gate"] == 4


def test_location_with_raw_spaces_is_percent_encoded(server: FaultServer) -> None:
    target = quote("/ok?q=a b&é=1", safe="")
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest("  " + server.url(f"/to?url={target}") + " ", kind="feed"))
    assert result.error_class is None, result.error_detail
    assert result.final_url == server.url("/ok?q=a%20b&%C3%A9=1")
