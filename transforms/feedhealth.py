"""Feed health and poll scheduling: pure, the caller passes ``now``.

Three inputs decide when a feed is polled next:

- its recent attempts: a failure score weighted by the error's severity (hard, soft,
  temporary, after Media Cloud's rss-fetcher) drives an exponential backoff that grows but
  never gives up, capped at 24 hours (Miniflux's cap);
- its own publishing cadence (the median gap between recent entries): a feed that posts
  twice a day is not polled every 15 minutes, and one that posts every 10 minutes is polled
  more often than the base interval;
- what the publisher asks: ``<ttl>``/``sy:updatePeriod``, ``Cache-Control: max-age``,
  ``Expires`` and ``Retry-After`` (all capped at 24 hours, FAULTS cases 9-10);
- what the operator asks: a ``poll_minutes`` in the feed list replaces the adaptive interval
  (within the same bounds).

A feed whose newest entry is far older than its usual cadence is ``silent``: it answers, but
has stopped publishing (a broken CMS, a moved feed).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from transforms.vocab import ErrorClass, Severity

MAX_INTERVAL_S = 24 * 3600.0
# The fastest a feed is polled, as a share of the base interval (900 s -> 300 s).
MIN_INTERVAL_SHARE = 1 / 3
# Backoff exponent added per consecutive failure, by severity (keyed by the stored string,
# which callers pass as plain text).
WEIGHTS: dict[str, float] = {Severity.HARD: 2.0, Severity.SOFT: 1.0, Severity.TEMPORARY: 0.5}
# Failures whose caller gave no severity: parse outcomes and unknown classes count as soft.
DEFAULT_SEVERITY = Severity.SOFT
# Entries used for the cadence; older history says little about today's rhythm.
CADENCE_WINDOW = 30
MIN_ENTRIES_FOR_CADENCE = 4
# Silent when the newest entry is older than this many usual gaps, and at least SILENT_MIN_S.
SILENT_FACTOR = 4.0
SILENT_MIN_S = 12 * 3600.0
# Hard failures in a row after which a feed counts as gone (it is still polled, daily).
GONE_AFTER_HARD = 3


class HealthStatus(StrEnum):
    """A feed's health, as shown in core.feeds and analytics.feed_health."""

    OK = "ok"
    FAILING = "failing"
    GONE = "gone"
    SILENT = "silent"
    NEW = "new"


@dataclass(frozen=True, slots=True)
class AttemptSummary:
    """One poll attempt: when, the error class (None on success) and its severity."""

    occurred_at: datetime
    error_class: str | None
    severity: str | None = None


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """The verdict for one feed: status, failure streak and score, and when to poll next."""

    status: str
    consecutive_failures: int
    score: float
    next_poll_at: datetime
    interval_s: float
    why: str


def cadence_s(entry_times: Sequence[datetime], now: datetime) -> float | None:
    """Median gap in seconds between the feed's recent distinct entry times, or None."""
    times = sorted({t for t in entry_times if t <= now})[-CADENCE_WINDOW:]
    if len(times) < MIN_ENTRIES_FOR_CADENCE:
        return None
    gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
    return max(1.0, float(statistics.median(gaps)))


def _as_attempt(a: AttemptSummary | Sequence[object]) -> AttemptSummary:
    if isinstance(a, AttemptSummary):
        return a
    return AttemptSummary(*a)  # type: ignore[arg-type]  # a plain (when, class, severity) tuple


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def assess_feed(
    attempts: Sequence[AttemptSummary],
    entry_times: Sequence[datetime],
    *,
    now: datetime,
    ttl_minutes: int | None,
    cache_max_age_s: int | None,
    retry_after_s: float | None,
    base_interval_s: float = 900,
    expires_s: float | None = None,
    poll_minutes: int | None = None,
) -> FeedHealth:
    """Health and next poll time of one feed from its attempts and its entries' times.

    ``attempts`` may be in any order; ``entry_times`` are the entries' publication (or first
    seen) times. ``retry_after_s`` belongs to the latest attempt. Never reads the clock.
    """
    history = sorted((_as_attempt(a) for a in attempts), key=lambda a: a.occurred_at)
    low = base_interval_s * MIN_INTERVAL_SHARE
    cadence = cadence_s(entry_times, now)
    interval = _clamp(cadence / 2, low, MAX_INTERVAL_S) if cadence else base_interval_s
    hints = [float(ttl_minutes) * 60 if ttl_minutes and ttl_minutes > 0 else 0.0,
             float(cache_max_age_s) if cache_max_age_s and cache_max_age_s > 0 else 0.0,
             float(expires_s) if expires_s and expires_s > 0 else 0.0]
    # The publisher's own hints say how long the feed may be cached: never poll faster.
    interval = _clamp(max(interval, *hints), low, MAX_INTERVAL_S)
    why = (f"cadence {cadence / 3600:.1f} h" if cadence else "no cadence yet")
    if max(hints) > 0:
        why += f", publisher asks {max(hints) / 60:.0f} min"
    if poll_minutes and poll_minutes > 0:
        # The operator's poll_minutes (feeds.yaml) wins over the adaptive interval, within the
        # global bounds; failures still back off from it and Retry-After is still honoured.
        interval = _clamp(poll_minutes * 60.0, low, MAX_INTERVAL_S)
        why = f"poll_minutes {poll_minutes} from the feed list"
    if not history:
        return FeedHealth(HealthStatus.NEW, 0, 0.0, now, interval, "never polled; " + why)

    # A poll the server rate-limited (429) is its rule, not the feed failing: it neither counts
    # toward nor breaks the failure streak. The latest run of them slows polling down as a
    # temporary failure would (Retry-After, when given, still decides the next poll).
    limited = 0
    for a in reversed(history):
        if a.error_class != ErrorClass.RATE_LIMITED:
            break
        limited += 1
    streak: list[AttemptSummary] = []
    for a in reversed(history):
        if a.error_class == ErrorClass.RATE_LIMITED:
            continue
        if a.error_class is None:
            break
        streak.append(a)
    score = float(sum(WEIGHTS.get(a.severity or DEFAULT_SEVERITY, WEIGHTS[DEFAULT_SEVERITY])
                for a in streak))
    last = history[-1]
    if streak or limited:
        slowdown = score + WEIGHTS[Severity.TEMPORARY] * limited
        interval = _clamp(interval * 2.0 ** min(slowdown, 32.0), low, MAX_INTERVAL_S)
    if streak:
        failed = streak[0]
        hard_run = 0
        for a in streak:
            if (a.severity or DEFAULT_SEVERITY) != Severity.HARD:
                break
            hard_run += 1
        gone = failed.error_class == ErrorClass.GONE or hard_run >= GONE_AFTER_HARD
        status = HealthStatus.GONE if gone else HealthStatus.FAILING
        why = (f"{len(streak)} failed poll(s) in a row, last {failed.error_class}"
               f" ({failed.severity or DEFAULT_SEVERITY}); backing off to {interval / 3600:.1f} h")
    else:
        status = HealthStatus.OK
        newest = max((t for t in entry_times if t <= now), default=None)
        if cadence and newest is not None:
            quiet = (now - newest).total_seconds()
            if quiet > max(SILENT_FACTOR * cadence, SILENT_MIN_S):
                status = HealthStatus.SILENT
                why = (f"no new entry for {quiet / 3600:.1f} h against a usual "
                       f"{cadence / 3600:.1f} h; " + why)
                # Poll a quiet feed less, in step with how long it has been quiet (unless the
                # operator set poll_minutes).
                if not (poll_minutes and poll_minutes > 0):
                    interval = _clamp(max(interval, quiet / 8), low, MAX_INTERVAL_S)
        if status == HealthStatus.OK and not limited:
            why = "last poll succeeded; " + why
    if limited:
        why = (f"rate limited {limited} time(s) in a row (not counted as failures), "
               f"slowing to {interval / 3600:.1f} h; " + why)
    next_poll = last.occurred_at + timedelta(seconds=interval)
    if retry_after_s is not None and retry_after_s > 0:
        wait = min(float(retry_after_s), MAX_INTERVAL_S)
        if last.occurred_at + timedelta(seconds=wait) > next_poll:
            next_poll = last.occurred_at + timedelta(seconds=wait)
            why += f"; server asked to wait {wait:.0f} s"
    return FeedHealth(str(status), len(streak), round(score, 3), next_poll, interval, why)
