"""The one HTTP layer for feeds and pages: hardened fetching with every attempt returned as data.

``Fetcher.fetch`` never raises for network trouble: each attempt (retries included) comes back as a
``FetchResult`` with an ``ErrorClass`` or a body. Limits follow Miniflux and go further: a total
wall-clock deadline per attempt, a byte cap counted after decompression while streaming, manual
redirects with every hop checked, an SSRF guard that checks resolved addresses and pins them.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType

import certifi
import httpcore
import httpx

from transforms.urls import host_of
from transforms.vocab import ErrorClass, FetchKind
from web.exchange import Exchange
from web.guard import GuardedBackend
from web.limits import HostLimiter
from web.response import RETRY_AFTER_STATUSES
from web.robots import RobotsCache
from web.types import FetchRequest, FetchResult, HttpOptions

# FetchRequest, FetchResult and HttpOptions are re-exported: callers import them from here too.
__all__ = ["FetchRequest", "FetchResult", "Fetcher", "HostLimiter", "HttpOptions", "host_budget"]

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def host_budget(
    options: HttpOptions,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> HostLimiter:
    """One run's host budget: make it once and hand it to every Fetcher of the run."""
    return HostLimiter(
        per_host=options.per_host_concurrency,
        delay=options.per_host_delay,
        total=options.total_concurrency,
        clock=clock,
        sleep=sleep,
    )


def _ssl_context(options: HttpOptions) -> ssl.SSLContext:
    # Verification is never switched off; a test CA is added to the public roots, not substituted.
    context = ssl.create_default_context(cafile=certifi.where())
    if options.ca_bundle:
        context.load_verify_locations(cafile=options.ca_bundle)
    return context


class Fetcher:
    """Owns the guarded httpx client, per-host limits and robots.txt cache; use as a context manager."""

    def __init__(
        self,
        options: HttpOptions | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
        limiter: HostLimiter | None = None,
    ) -> None:
        self.options = options or HttpOptions()
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._rng = rng or random.Random()
        transport = httpx.HTTPTransport(
            verify=_ssl_context(self.options),
            retries=0,
            limits=httpx.Limits(
                max_connections=max(4, self.options.total_concurrency * 2),
                max_keepalive_connections=self.options.total_concurrency,
            ),
        )
        # httpx has no public hook for the network backend; the pool hands this attribute to every
        # new connection, which is how the SSRF check and IP pinning sit under TLS and HTTP/1.1.
        pool = transport._pool
        if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
            # Fail loudly rather than fetch unguarded if a new httpx/httpcore moves this seam.
            raise RuntimeError("cannot install the SSRF guard: unexpected httpcore pool layout")
        pool._network_backend = GuardedBackend(allow_private=self.options.allow_private)
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # an env proxy would connect for us and bypass the address guard
            timeout=httpx.Timeout(
                connect=self.options.connect_timeout,
                read=self.options.read_timeout,
                write=self.options.read_timeout,
                pool=self.options.deadline,
            ),
            headers={"User-Agent": self.options.agent},
            # The client-wide jar refuses everything; each attempt keeps its own (see exchange.py).
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )
        # A run passes its one limiter (host_budget) so every stage shares the host budget.
        self.limiter = limiter or host_budget(self.options, clock=clock, sleep=sleep)
        self._exchange = Exchange(self._client, self.options, self.limiter, clock=clock, now=now)
        self.robots = RobotsCache(self._exchange, self.options, on_crawl_delay=self._crawl_delay)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff before attempt ``attempt + 1`` (AWS architecture blog)."""
        ceiling = min(self.options.backoff_cap, self.options.backoff_base * (2 ** (attempt - 1)))
        return self._rng.uniform(0.0, ceiling)

    def _crawl_delay(self, host: str, seconds: float) -> None:
        delay = min(seconds, self.options.max_crawl_delay)
        log.info("robots.txt of %s asks for a crawl delay of %.1f s (honouring %.1f s)",
                 host, seconds, delay)
        self.limiter.set_delay(host, delay)

    def fetch(self, request: FetchRequest) -> list[FetchResult]:
        """Fetch one URL: every attempt as a FetchResult, retrying retryable failures with backoff.

        No attempt at all (an empty list) when the URL's host asked, earlier in this run, to be
        left alone for longer than the run can wait: the caller asks again in a later run.
        """
        results: list[FetchResult] = []
        attempts = max(1, self.options.max_attempts)
        host = host_of(request.url)
        for attempt in range(1, attempts + 1):
            if self.limiter.blocked(host):
                break
            robots_check = self.robots.check if self._wants_robots(request) else None
            result = self._exchange.attempt(request, attempt, robots_check)
            results.append(result)
            self._slow_down_if_asked(host, result)
            error = result.error_class
            if error is None or not error.retryable or attempt == attempts:
                break
            delay = self.backoff(attempt)
            if result.retry_after_s is not None:
                if result.retry_after_s > self.options.max_sleep:
                    # Too long to wait in-process: the caller schedules the next poll from retry_after_s.
                    break
                # The host is held for that long (_slow_down_if_asked): the next attempt waits
                # for its slot like every other request to the host.
                continue
            delay = min(delay, self.options.max_sleep)
            log.debug("retrying %s after %s in %.2fs", request.url, error, delay)
            self._sleep(delay)
        return results

    def _slow_down_if_asked(self, host: str, result: FetchResult) -> None:
        """A 429 or 503 slows the whole host, not only this URL (feeds, pages and revisits)."""
        if result.status not in RETRY_AFTER_STATUSES:
            return
        wait = result.retry_after_s
        if wait is None:
            if result.status != 429:
                return  # a plain 503 is an error of this URL, retried with backoff
            wait = self.options.backoff_cap
        if wait > self.options.max_sleep:
            self.limiter.block(host)
        else:
            self.limiter.hold(host, wait)

    def _wants_robots(self, request: FetchRequest) -> bool:
        return self.options.respect_robots and request.kind == FetchKind.PAGE

    def fetch_all(
        self,
        requests: Sequence[FetchRequest],
        on_done: Callable[[FetchRequest, list[FetchResult]], None] | None = None,
    ) -> list[list[FetchResult]]:
        """Fetch many URLs concurrently; results in request order. ``on_done`` runs on the calling thread."""
        outcomes: list[list[FetchResult] | None] = [None] * len(requests)
        if not requests:
            return []
        workers = max(1, min(self.options.total_concurrency, len(requests)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="newsflow-fetch") as pool:
            futures = {pool.submit(self._fetch_safely, req): i for i, req in enumerate(requests)}
            for future in as_completed(futures):
                index = futures[future]
                outcomes[index] = future.result()
                if on_done is not None:
                    on_done(requests[index], future.result())
        return [o if o is not None else [] for o in outcomes]

    def _fetch_safely(self, request: FetchRequest) -> list[FetchResult]:
        try:
            return self.fetch(request)
        except Exception as exc:  # a bug here must cost one URL, not the batch
            log.exception("fetch of %s crashed", request.url)
            return [self._exchange.failure(request, 1, ErrorClass.OTHER, f"internal error: {exc!r}")]
