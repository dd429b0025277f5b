"""robots.txt for pages, per-host concurrency and spacing shared by feeds and pages, a total cap."""

from __future__ import annotations

from faultserver import FaultServer, SleepRecorder, fast_options

from web import ErrorClass, Fetcher, FetchRequest, host_budget


def test_robots_disallow_stops_the_page_before_any_request(server: FaultServer) -> None:
    server.robots_txt = "User-agent: *\nDisallow: /private\n"
    with Fetcher(fast_options()) as fetcher:
        [blocked] = fetcher.fetch(FetchRequest(server.url("/private/x"), kind="page"))
        [allowed] = fetcher.fetch(FetchRequest(server.url("/ok"), kind="page"))
    assert blocked.error_class is ErrorClass.ROBOTS_DISALLOWED
    assert blocked.status is None and server.hits["/private/x"] == 0
    assert allowed.error_class is None
    assert server.hits["/robots.txt"] == 1  # cached per origin


def test_robots_is_fetched_once_per_origin_under_concurrency(server: FaultServer) -> None:
    server.robots_txt = "User-agent: *\nAllow: /\n"
    requests = [FetchRequest(server.url(f"/slow?s=0.05&n={i}"), kind="page") for i in range(8)]
    with Fetcher(fast_options(per_host_concurrency=4)) as fetcher:
        outcomes = fetcher.fetch_all(requests)
        assert fetcher.robots.fetches == 1
    assert all(o[-1].error_class is None for o in outcomes)
    assert server.hits["/robots.txt"] == 1


def test_robots_group_for_our_user_agent_wins(server: FaultServer) -> None:
    server.robots_txt = "User-agent: newsflow\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/ok"), kind="page"))
    assert result.error_class is ErrorClass.ROBOTS_DISALLOWED


def test_robots_does_not_apply_to_feeds_or_when_switched_off(server: FaultServer) -> None:
    server.robots_txt = "User-agent: *\nDisallow: /\n"
    with Fetcher(fast_options()) as fetcher:
        [feed] = fetcher.fetch(FetchRequest(server.url("/ok"), kind="feed"))
    with Fetcher(fast_options(respect_robots=False)) as fetcher:
        [page] = fetcher.fetch(FetchRequest(server.url("/ok"), kind="page"))
    assert feed.error_class is None and page.error_class is None
    assert server.hits["/robots.txt"] == 0


def test_missing_robots_allows_everything(server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url("/ok"), kind="page"))
    assert result.error_class is None
    assert server.hits["/robots.txt"] == 1


def test_unreachable_robots_blocks_pages_rfc9309(server: FaultServer, sleeps: SleepRecorder) -> None:
    server.robots_txt = "User-agent: *\nAllow: /\n"
    server.robots_status = 503
    with Fetcher(fast_options(max_attempts=2), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(server.url("/ok"), kind="page"))
    assert [r.error_class for r in results] == [ErrorClass.HTTP_5XX] * 2
    assert all("robots.txt" in (r.error_detail or "") for r in results)
    assert server.hits["/ok"] == 0
    assert server.hits["/robots.txt"] == 2  # a temporary failure is not cached


def test_per_host_concurrency_is_respected(server: FaultServer) -> None:
    requests = [FetchRequest(server.url(f"/slow?s=0.15&n={i}"), kind="feed") for i in range(6)]
    with Fetcher(fast_options(per_host_concurrency=2, total_concurrency=16)) as fetcher:
        outcomes = fetcher.fetch_all(requests)
        # Counted client-side: the server's own count can overlap by a hair as connections turn over.
        assert fetcher.limiter.peak_in_flight["127.0.0.1"] == 2
    assert all(o[-1].error_class is None for o in outcomes)


def test_feeds_and_pages_share_the_host_budget(server: FaultServer) -> None:
    server.robots_txt = "User-agent: *\nAllow: /\n"
    requests = [
        FetchRequest(server.url(f"/slow?s=0.15&n={i}"), kind="feed" if i % 2 else "page") for i in range(6)
    ]
    with Fetcher(fast_options(per_host_concurrency=1)) as fetcher:
        outcomes = fetcher.fetch_all(requests)
        assert fetcher.limiter.peak_in_flight["127.0.0.1"] == 1
    assert all(o[-1].error_class is None for o in outcomes)
    assert server.hits["/robots.txt"] == 1


def test_total_concurrency_caps_all_hosts(server: FaultServer) -> None:
    hosts = ["127.0.0.1", "localhost"]
    requests = [
        FetchRequest(server.url(f"/slow?s=0.15&n={i}", host=hosts[i % 2]), kind="feed") for i in range(8)
    ]
    with Fetcher(fast_options(per_host_concurrency=4, total_concurrency=3)) as fetcher:
        outcomes = fetcher.fetch_all(requests)
        assert fetcher.limiter.peak_total == 3
    assert all(o[-1].error_class is None for o in outcomes)


def test_per_host_delay_spaces_request_starts(server: FaultServer, sleeps: SleepRecorder) -> None:
    now = [100.0]
    options = fast_options(per_host_delay=0.5, respect_robots=False)
    with Fetcher(options, clock=lambda: now[0], sleep=sleeps) as fetcher:
        for _ in range(3):
            fetcher.fetch(FetchRequest(server.url("/ok"), kind="page"))
        fetcher.fetch(FetchRequest(server.url("/ok", host="localhost"), kind="page"))  # another host: no wait
    assert sleeps.calls == [0.5, 1.0]


def test_time_queued_for_a_host_slot_does_not_eat_the_deadline(server: FaultServer) -> None:
    # Three 0.3 s requests through one slot take ~0.9 s in all, each well inside its own 0.8 s budget.
    requests = [FetchRequest(server.url(f"/slow?s=0.3&n={i}"), kind="feed") for i in range(3)]
    with Fetcher(fast_options(per_host_concurrency=1, deadline=0.8, max_attempts=1)) as fetcher:
        outcomes = fetcher.fetch_all(requests)
    assert [o[-1].error_class for o in outcomes] == [None, None, None]


def _gap_between_feed_and_page(server: FaultServer, shared: bool) -> float:
    """A feed stage and a page stage back to back, each with its own Fetcher, as in a run."""
    options = fast_options(per_host_delay=1.0, respect_robots=False)
    budget = host_budget(options) if shared else None
    with Fetcher(options, limiter=budget) as feeds:
        feeds.fetch(FetchRequest(server.url("/ok?n=feed"), kind="feed"))
    with Fetcher(options, limiter=budget) as pages:
        pages.fetch(FetchRequest(server.url("/ok?n=page"), kind="page"))
    first, second = server.start_times[-2:]
    return second - first


def test_one_host_budget_spans_the_stages_of_a_run(server: FaultServer) -> None:
    # The issue: with a 3 s delay, the first page request followed the feed poll after 1.9 s,
    # because each stage built its own limiter. Sharing the run's budget spaces them.
    # Measured by the server, when each handler starts: on a loaded machine the first request's
    # handler can start late, which shortens the gap it sees (0.94 s once, with the budget
    # honoured). So the two cases are told apart with a margin either side of the 1 s delay.
    assert _gap_between_feed_and_page(server, shared=False) < 0.5  # what the issue saw
    assert _gap_between_feed_and_page(server, shared=True) >= 0.85


def test_crawl_delay_widens_the_host_spacing_up_to_the_cap(server: FaultServer,
                                                           sleeps: SleepRecorder) -> None:
    server.robots_txt = "User-agent: *\nCrawl-delay: 60\n"
    now = [100.0]
    options = fast_options(per_host_delay=0.5, max_crawl_delay=2.0)
    with Fetcher(options, clock=lambda: now[0], sleep=sleeps) as fetcher:
        for i in range(3):
            fetcher.fetch(FetchRequest(server.url(f"/ok?n={i}"), kind="page"))
    # robots.txt then the first page: 0.5 s; then the Crawl-delay, capped at 2 s
    assert sleeps.calls == [0.5, 2.5, 4.5]


def test_a_429_with_a_long_retry_after_rests_the_whole_host_for_the_run(
    server: FaultServer, sleeps: SleepRecorder
) -> None:
    with Fetcher(fast_options(respect_robots=False), sleep=sleeps) as fetcher:
        [limited] = fetcher.fetch(FetchRequest(server.url("/status/429?retry-after=3600")))
        after = fetcher.fetch(FetchRequest(server.url("/ok?n=1"), kind="feed"))
        elsewhere = fetcher.fetch(FetchRequest(server.url("/ok?n=2", host="localhost")))
    assert limited.retry_after_s == 3600.0
    assert after == [] and server.hits["/ok"] == 1  # the same host: not asked; another: asked
    assert elsewhere[-1].error_class is None
