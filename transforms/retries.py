"""When a page that has not been fetched yet may be asked again, and when to give up on it.

Pure: the caller passes each run's last attempt at the page (from raw.page_fetches), so the
verdict depends on stored history only and a rebuild gives the same rows.

- A ``429``/``503`` that came with ``Retry-After`` is the server's rule, not a failure: the page
  is not asked again before that time (capped, FAULTS 9-10) and the run does not count.
- Any other failure that is not permanent (permanent ones settle the page in SQL) is transient:
  the page backs off exponentially over days, with a deterministic jitter (the same history
  gives the same time), and is given up once it has failed ``min_failures`` times over at least
  ``give_up_after_s``; the give-up is kept with its reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from transforms.vocab import ErrorClass

RATE_LIMIT_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class PageAttempt:
    """A run's last attempt at one page."""

    occurred_at: datetime
    error_class: str | None
    status: int | None
    retry_after_s: float | None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait and when to stop (seconds)."""

    retry_after_cap_s: float = 86400.0
    base_s: float = 3600.0
    cap_s: float = 2 * 86400.0
    give_up_after_s: float = 7 * 86400.0
    min_failures: int = 3


@dataclass(frozen=True, slots=True)
class RetryState:
    """One page's retry verdict (a row of core.page_retries)."""

    rate_limited: int
    failures: int
    first_failed_at: datetime | None
    last_attempt_at: datetime
    last_error_class: str | None
    next_try_at: datetime | None
    gave_up_at: datetime | None
    reason: str | None


def is_rate_limited(a: PageAttempt) -> bool:
    """A server that asked us to come back later (429, or 503 with Retry-After)."""
    if a.error_class == ErrorClass.RATE_LIMITED:
        return True
    return a.status in RATE_LIMIT_STATUSES and a.retry_after_s is not None


def jitter(key: str, n: int) -> float:
    """A factor in [0.5, 1.0) fixed by the page and the failure count ("equal jitter")."""
    digest = hashlib.sha256(f"{key}\n{n}".encode()).digest()
    return 0.5 + int.from_bytes(digest[:8], "big") / 2**65


def backoff_s(key: str, n: int, policy: RetryPolicy) -> float:
    """Delay after the ``n``-th transient failure: base x 2^(n-1), capped, jittered."""
    ceiling = min(policy.cap_s, policy.base_s * 2.0 ** min(max(n - 1, 0), 40))
    return ceiling * jitter(key, n)


def retry_state(key: str, attempts: Sequence[PageAttempt], policy: RetryPolicy) -> RetryState:
    """The verdict for one page from its runs' last attempts (any order, at least one)."""
    history = sorted(attempts, key=lambda a: a.occurred_at)
    limited = failures = 0
    first_failed: datetime | None = None
    next_try: datetime | None = None
    gave_up: datetime | None = None
    reason: str | None = None
    for a in history:
        if a.error_class is None:
            continue
        if is_rate_limited(a):
            limited += 1
            wait = min(a.retry_after_s or policy.base_s, policy.retry_after_cap_s)
            next_try = a.occurred_at + timedelta(seconds=wait)
            reason = f"rate limited ({a.status}); asked to wait {wait:.0f} s"
            continue
        failures += 1
        first_failed = first_failed or a.occurred_at
        next_try = a.occurred_at + timedelta(seconds=backoff_s(key, failures, policy))
        span = (a.occurred_at - first_failed).total_seconds()
        reason = f"{failures} transient failure(s), last {a.error_class}"
        if failures >= policy.min_failures and span >= policy.give_up_after_s:
            gave_up, next_try = a.occurred_at, None
            reason = (f"gave up after {failures} transient failures over "
                      f"{span / 86400:.1f} days; last {a.error_class}")
            break
    last = history[-1]
    return RetryState(limited, failures, first_failed, last.occurred_at, last.error_class,
                      next_try, gave_up, reason)
