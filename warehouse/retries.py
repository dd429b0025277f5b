"""Rate limits and retries across runs: core.page_retries and the hosts still backing off.

Both are read from raw rows (a 429/503's ``retry_after_s``, each run's last attempt at a page),
so the next run knows what the last one was told, and a rebuild gives the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from transforms.retries import PageAttempt, RetryPolicy, retry_state
from transforms.urls import host_of
from warehouse.projections import PERMANENT_PAGE_ERRORS, sql
from warehouse.store import Store


def refresh_page_retries(store: Store, policy: RetryPolicy) -> int:
    """Bring core.page_retries up to date for pages attempted since it was last written."""
    cur = store.con.execute(sql("page_retry_inputs"), {"permanent": list(PERMANENT_PAGE_ERRORS)})
    rows: list[dict[str, Any]] = []
    for url_key, url, attempts in cur.fetchall():
        state = retry_state(url_key, [PageAttempt(**a) for a in attempts], policy)
        rows.append({
            "url_key": url_key, "url": url, "host": host_of(url),
            "rate_limited": state.rate_limited, "failures": state.failures,
            "first_failed_at": state.first_failed_at, "last_attempt_at": state.last_attempt_at,
            "last_error_class": state.last_error_class, "next_try_at": state.next_try_at,
            "gave_up_at": state.gave_up_at, "reason": state.reason,
        })
    return store.replace("core.page_retries", "url_key", rows)


def hosts_backing_off(store: Store, *, now: datetime, cap_s: float) -> Mapping[str, datetime]:
    """Host -> the time before which it asked not to be contacted (only times after ``now``)."""
    since = now - timedelta(seconds=cap_s)
    until: dict[str, datetime] = {}
    for url, at in store.con.execute(sql("host_backoff"), {"since": since, "cap": cap_s}).fetchall():
        host = host_of(url)
        if at > now and (host not in until or at > until[host]):
            until[host] = at
    return until
