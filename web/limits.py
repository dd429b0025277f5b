"""Politeness limits shared by every request of a run: per-host concurrency and spacing, a total cap.

One ``HostLimiter`` is the run's host budget: the pipeline hands the same one to the feed stage
and the page stage, so a feed poll and the page fetches after it are spaced as one stream. A
host's spacing grows with its robots.txt ``Crawl-delay`` (``set_delay``), and a host that
answered 429/503 is held back (``hold``) or, when it asked for longer than the run can wait,
left alone for the rest of the run (``blocked``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class HostLimiter:
    """At most ``per_host`` requests in flight per host, starts spaced ``delay`` s apart, ``total`` overall.

    Feeds and pages share one limiter, so a feed poll and an article fetch to the same site count
    against the same budget (Miniflux ``POLLING_LIMIT_PER_HOST``).
    """

    def __init__(
        self,
        *,
        per_host: int,
        delay: float,
        total: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._per_host = max(1, per_host)
        self._delay = max(0.0, delay)
        self._total = threading.BoundedSemaphore(max(1, total))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}
        self._host_delay: dict[str, float] = {}  # robots.txt Crawl-delay, already capped
        self._blocked: set[str] = set()
        self._in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}  # observed maxima per host, for tests and run stats
        self.peak_total = 0
        self._total_in_flight = 0

    def _semaphore(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            sem = self._hosts.get(host)
            if sem is None:
                sem = self._hosts[host] = threading.BoundedSemaphore(self._per_host)
            return sem

    def delay_for(self, host: str) -> float:
        """Minimum seconds between request starts to ``host``."""
        return max(self._delay, self._host_delay.get(host, 0.0))

    def set_delay(self, host: str, seconds: float) -> None:
        """Space requests to ``host`` at least ``seconds`` apart from now on (a Crawl-delay)."""
        with self._lock:
            self._host_delay[host] = max(0.0, seconds)

    def hold(self, host: str, seconds: float) -> None:
        """No request to ``host`` starts in the next ``seconds`` (it answered 429/503)."""
        with self._lock:
            now = self._clock()
            self._next_start[host] = max(self._next_start.get(host, now), now + max(0.0, seconds))

    def block(self, host: str) -> None:
        """No further request to ``host`` in this run (it asked to wait longer than a run can)."""
        with self._lock:
            self._blocked.add(host)

    def blocked(self, host: str) -> bool:
        """Has ``host`` asked to be left alone for the rest of the run?"""
        with self._lock:
            return host in self._blocked

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one request slot for ``host`` (waiting for the spacing delay) for the block's duration."""
        sem = self._semaphore(host)
        with sem:
            # Reserve a start time under the lock so concurrent callers queue up, not collide.
            with self._lock:
                now = self._clock()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + max(self._delay, self._host_delay.get(host, 0.0))
            if start > now:
                self._sleep(start - now)
            with self._total:
                with self._lock:
                    count = self._in_flight[host] = self._in_flight.get(host, 0) + 1
                    self.peak_in_flight[host] = max(self.peak_in_flight.get(host, 0), count)
                    self._total_in_flight += 1
                    self.peak_total = max(self.peak_total, self._total_in_flight)
                try:
                    yield
                finally:
                    with self._lock:
                        self._in_flight[host] -= 1
                        self._total_in_flight -= 1
