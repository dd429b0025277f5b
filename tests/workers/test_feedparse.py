"""The time-limited feed parse worker (FAULTS cases 35, 78, 80)."""

from __future__ import annotations

import os
import pyexpat
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from transforms.feeds import FeedOptions, FeedOutcome, parse_feed
from workers import feedparse
from workers.feedparse import check_expat, parse_feed_limited, run_limited

T0 = datetime(2026, 3, 3, tzinfo=UTC)
HEALTHY = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>ok</title>'
           b"<item><title>one</title><link>/1</link><guid>1</guid></item></channel></rss>")


def redos_feed(items: int = 50) -> bytes:
    evil = b"a@" + b"a." * 16_000 + b"!"
    body = b"".join(b"<item><title>x%d</title><author>" % i + evil + b"</author></item>"
                    for i in range(items))
    return b'<rss version="2.0"><channel><title>poison</title>' + body + b"</channel></rss>"


@pytest.fixture(scope="module", autouse=True)
def _pool() -> Iterator[None]:
    yield
    feedparse.shutdown()


def test_worker_result_equals_in_process_parse() -> None:
    limited = parse_feed_limited(HEALTHY, {}, "https://e.com/f", fetched_at=T0)
    assert limited == parse_feed(HEALTHY, {}, "https://e.com/f", fetched_at=T0)
    assert limited.outcome == FeedOutcome.OK and limited.entries[0].link == "https://e.com/1"


def test_case_35_redos_without_the_cap_is_killed_at_the_timeout() -> None:
    uncapped = FeedOptions(max_author_bytes=10**9)
    parsed = parse_feed_limited(redos_feed(), {}, "https://e.com/p", fetched_at=T0,
                                options=uncapped, timeout_s=1.0)
    assert parsed.outcome == FeedOutcome.PARSE_TIMEOUT and parsed.entries == ()
    # With the default cap the same feed parses well inside the limit.
    capped = parse_feed_limited(redos_feed(), {}, "https://e.com/p", fetched_at=T0, timeout_s=10)
    assert capped.outcome == FeedOutcome.RECOVERED and len(capped.entries) == 50


def test_case_78_one_poison_feed_among_healthy_ones_costs_only_itself() -> None:
    uncapped = FeedOptions(max_author_bytes=10**9)
    outcomes = []
    for i in range(6):
        poison = i == 2
        outcomes.append(parse_feed_limited(
            redos_feed() if poison else HEALTHY, {}, f"https://e.com/{i}", fetched_at=T0,
            options=uncapped, timeout_s=1.0 if poison else 10.0).outcome)
    assert outcomes == [FeedOutcome.OK] * 2 + [FeedOutcome.PARSE_TIMEOUT] + [FeedOutcome.OK] * 3


def test_a_dying_worker_is_a_parse_crash_and_the_pool_recovers() -> None:
    died = run_limited(os._exit, (3,), {}, 5.0, "test")
    assert died.outcome == FeedOutcome.PARSE_CRASH and "died" in (died.reason or "")
    assert parse_feed_limited(HEALTHY, {}, "https://e.com/f", fetched_at=T0).outcome == "ok"


def test_case_80_pool_is_reused_and_workers_are_spawned_not_forked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pool = feedparse._get_pool()
    assert pool is feedparse._get_pool()
    # A forked worker would inherit this attribute; a spawned one imports the module afresh.
    monkeypatch.setattr(feedparse, "_PARENT_ONLY", "set in the parent", raising=False)
    probe = "__import__('workers.feedparse').feedparse.__dict__.get('_PARENT_ONLY', 'fresh')"
    assert run_limited(eval, (probe,), {}, 10.0, "probe") == "fresh"  # type: ignore[arg-type]
    assert run_limited(eval, ("__import__('os').getpid()",), {}, 10.0, "probe") != os.getpid()  # type: ignore[arg-type]


def test_case_33_check_expat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyexpat, "version_info", (2, 6, 0))
    assert check_expat() == (2, 6, 0)
    monkeypatch.setattr(pyexpat, "version_info", (2, 5, 0))
    with pytest.raises(RuntimeError, match=r"older than 2\.6\.0"):
        check_expat()
