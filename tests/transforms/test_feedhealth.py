"""Feed health and scheduling: weighted backoff that never gives up, cadence, silence, hints
(FAULTS cases 8-11 as they reach the schedule, 29's error counter, 31)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from transforms.feedhealth import AttemptSummary, FeedHealth, assess_feed, cadence_s

NOW = datetime(2026, 3, 3, 12, tzinfo=UTC)
EVERY_2H = [NOW - timedelta(hours=2 * i) for i in range(30)]


def assess(attempts: list[AttemptSummary], entries: list[datetime] | None = None, *,
           ttl: int | None = None, max_age: int | None = None,
           retry_after: float | None = None) -> FeedHealth:
    return assess_feed(attempts, EVERY_2H if entries is None else entries, now=NOW,
                       ttl_minutes=ttl, cache_max_age_s=max_age, retry_after_s=retry_after)


def fails(n: int, error: str, severity: str | None) -> list[AttemptSummary]:
    return [AttemptSummary(NOW - timedelta(minutes=n - i), error, severity) for i in range(n)]


def ok(minutes_ago: int = 1) -> AttemptSummary:
    return AttemptSummary(NOW - timedelta(minutes=minutes_ago), None, None)


def test_new_feed_is_due_now() -> None:
    health = assess([], [])
    assert (health.status, health.next_poll_at, health.interval_s) == ("new", NOW, 900)


def test_cadence_sets_the_interval_within_bounds() -> None:
    assert cadence_s(EVERY_2H, NOW) == 7200
    assert assess([ok()]).interval_s == 3600  # half the cadence
    fast = [NOW - timedelta(minutes=2 * i) for i in range(30)]
    assert assess([ok()], fast).interval_s == 300  # never faster than a third of the base
    slow = [NOW - timedelta(days=3 * i) for i in range(10)]
    assert assess([ok()], slow).interval_s == 24 * 3600  # never slower than a day
    assert cadence_s(EVERY_2H[:3], NOW) is None  # too little history


def test_future_entries_do_not_shape_the_cadence() -> None:
    poisoned = [*EVERY_2H, NOW + timedelta(days=3650)]
    assert cadence_s(poisoned, NOW) == cadence_s(EVERY_2H, NOW)


def test_publisher_hints_slow_polling_down_but_are_capped() -> None:
    assert assess([ok()], ttl=180).interval_s == 3 * 3600
    assert assess([ok()], max_age=5 * 3600).interval_s == 5 * 3600
    assert assess([ok()], ttl=10**6).interval_s == 24 * 3600


def test_case_29_consecutive_failures_are_counted_and_reset_by_success() -> None:
    health = assess([ok(60), *fails(3, "malformed", None)])
    assert (health.status, health.consecutive_failures) == ("failing", 3)
    assert assess([*fails(3, "malformed", None), ok()]).consecutive_failures == 0


def test_case_8_backoff_grows_with_weighted_score_and_caps_at_a_day() -> None:
    temporary = [assess(fails(n, "http_5xx", "temporary")) for n in (1, 2, 4)]
    intervals = [h.interval_s for h in temporary]
    assert intervals == sorted(intervals) and intervals[0] > assess([ok()]).interval_s
    hard, soft = assess(fails(2, "not_found", "hard")), assess(fails(2, "forbidden", "soft"))
    assert hard.score > soft.score > assess(fails(2, "timeout", "temporary")).score
    assert hard.interval_s > soft.interval_s
    forever = assess(fails(500, "http_5xx", "temporary"))
    assert forever.interval_s == 24 * 3600 and forever.status == "failing"  # never gives up


def test_case_11_gone_feeds_are_still_polled_daily() -> None:
    gone = assess(fails(1, "gone", "hard"))
    assert gone.status == "gone"
    assert gone.next_poll_at <= NOW + timedelta(days=1)
    assert assess(fails(3, "not_found", "hard")).status == "gone"
    assert assess(fails(2, "not_found", "hard")).status == "failing"


def test_case_9_10_retry_after_is_honoured_and_capped() -> None:
    last = fails(1, "rate_limited", "temporary")
    assert assess(last, retry_after=7200).next_poll_at >= last[0].occurred_at + timedelta(hours=2)
    capped = assess(last, retry_after=365 * 86400).next_poll_at
    assert capped == last[0].occurred_at + timedelta(days=1)
    assert assess(last, retry_after=-5) == assess(last)  # garbage: normal backoff


def test_a_rate_limited_poll_is_not_a_failure_but_slows_polling() -> None:
    limited = fails(3, "rate_limited", "temporary")
    health = assess([ok(60), *limited])
    assert (health.status, health.consecutive_failures, health.score) == ("ok", 0, 0.0)
    assert health.interval_s > assess([ok()]).interval_s  # the server asked us to slow down
    assert "rate limited 3 time(s)" in health.why
    # Neither counted nor a break: failures on both sides of a 429 are one streak.
    between = [*fails(2, "http_5xx", "temporary"),
               AttemptSummary(NOW - timedelta(seconds=30), "rate_limited", "temporary"),
               AttemptSummary(NOW - timedelta(seconds=10), "not_found", "hard")]
    mixed = assess(between)
    assert (mixed.status, mixed.consecutive_failures) == ("failing", 3)
    assert "last not_found" in mixed.why
    # A 429 answered after three hard failures does not turn a gone feed into a healthy one.
    gone = assess([*fails(3, "not_found", "hard"),
                   AttemptSummary(NOW, "rate_limited", "temporary")])
    assert gone.status == "gone" and gone.consecutive_failures == 3


def test_silent_feed_is_flagged_and_polled_less() -> None:
    stale = [t - timedelta(days=3) for t in EVERY_2H]
    health = assess([ok()], stale)
    assert health.status == "silent" and "no new entry" in health.why
    assert health.interval_s > assess([ok()]).interval_s
    assert assess([ok()], [t - timedelta(hours=3) for t in EVERY_2H]).status == "ok"


def test_case_31_empty_feed_is_healthy_not_failing() -> None:
    health = assess([ok()], [])
    assert (health.status, health.consecutive_failures, health.interval_s) == ("ok", 0, 900)


def test_attempt_order_and_plain_tuples_do_not_matter() -> None:
    attempts = [ok(90), *fails(2, "timeout", "temporary")]
    as_tuples = [(a.occurred_at, a.error_class, a.severity) for a in reversed(attempts)]
    assert assess(attempts) == assess(as_tuples)  # type: ignore[arg-type]


def test_expires_is_a_publisher_hint_like_max_age_and_ttl() -> None:
    # an Expires two hours after the response's Date asks for a 2 h interval (cadence says 1 h)
    health = assess_feed([ok()], EVERY_2H, now=NOW, ttl_minutes=None, cache_max_age_s=None,
                         retry_after_s=None, expires_s=7200)
    assert health.interval_s == 7200 and "publisher asks 120 min" in health.why
    year = assess_feed([ok()], EVERY_2H, now=NOW, ttl_minutes=None, cache_max_age_s=None,
                       retry_after_s=None, expires_s=365 * 86400)
    assert year.interval_s == 24 * 3600  # capped like the other hints


def test_poll_minutes_wins_over_the_adaptive_interval_within_bounds() -> None:
    def with_minutes(minutes: int, **kw: object) -> FeedHealth:
        return assess_feed([ok()], EVERY_2H, now=NOW, ttl_minutes=None, cache_max_age_s=None,
                           retry_after_s=None, poll_minutes=minutes, **kw)  # type: ignore[arg-type]

    assert assess([ok()]).interval_s == 3600  # adaptive: half the 2 h cadence
    assert with_minutes(20).interval_s == 20 * 60
    assert with_minutes(20, expires_s=7200).interval_s == 20 * 60  # the operator wins
    assert with_minutes(1).interval_s == 300  # never below the global floor
    assert with_minutes(10_000).interval_s == 24 * 3600  # nor above the ceiling
    # failures still back off from it, and Retry-After is still honoured
    failing = assess_feed(fails(2, "http_5xx", "soft"), EVERY_2H, now=NOW, ttl_minutes=None,
                          cache_max_age_s=None, retry_after_s=None, poll_minutes=20)
    assert failing.interval_s == 20 * 60 * 4
