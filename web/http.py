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
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType

import certifi
import httpcore
import httpx

from web.errors import ErrorClass
from web.exchange import Exchange
from web.guard import GuardedBackend
from web.limits import HostLimiter
from web.robots import RobotsCache

log = logging.getLogger(__name__)

FEED = "feed"
PAGE = "page"


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Limits and politeness for one Fetcher. Defaults follow FAULTS.md §6.

    These defaults are the only ones: ``flows.settings.Settings`` takes the defaults of its HTTP
    section (NEWSFLOW_USER_AGENT, NEWSFLOW_MAX_BODY_BYTES, ...) from here.
    """

    user_agent: str = "newsflow/0.1 (+https://github.com/newsflow/newsflow)"
    connect_timeout: float = 10.0
    deadline: float = 30.0  # total wall clock per attempt, redirects and body included
    max_bytes: int = 15 * 1024 * 1024  # after decompression
    max_redirects: int = 5
    max_encodings: int = 2
    allow_private: bool = False  # tests and the offline sample turn it on
    max_attempts: int = 3
    backoff_base: float = 0.5  # seconds; exponential with full jitter
    backoff_cap: float = 8.0
    retry_after_cap: float = 86400.0  # longest delay honoured for scheduling (returned, not slept)
    max_sleep: float = 10.0  # never sleep in-process longer than this for one retry
    per_host_concurrency: int = 2
    per_host_delay: float = 0.0  # min seconds between request starts to one host
    total_concurrency: int = 16
    respect_robots: bool = True  # for kind="page" only
    max_header_bytes: int = 8192  # stored header subset cap
    read_timeout: float = 20.0  # longest silence between two reads (the deadline still bounds the total)
    robots_max_bytes: int = 512 * 1024  # RFC 9309 asks crawlers to parse at least 500 KiB
    ca_bundle: str | None = None  # extra trust anchors (PEM path), e.g. a test CA; never disables checks


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One URL to fetch, with the validators from the previous successful fetch."""

    url: str
    kind: str = PAGE  # "feed" | "page"
    etag: str | None = None
    last_modified: str | None = None
    key: str | None = None  # caller's id, echoed back


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One HTTP attempt (retries are separate results). ``error_class`` None means success."""

    request: FetchRequest
    attempt: int  # 1-based
    requested_url: str
    final_url: str | None
    redirect_chain: tuple[str, ...]  # every hop URL after the first
    status: int | None
    error_class: ErrorClass | None  # None = success (2xx with body, or 304)
    error_detail: str | None
    headers: tuple[tuple[str, str], ...]  # selected subset, lowercased names, capped
    content_type: str | None
    charset: str | None  # from Content-Type, if any
    body: bytes | None  # decompressed; only on success (never a partial body)
    body_sha256: str | None
    started_at: datetime  # UTC, when the attempt started (occurred_at)
    elapsed_ms: int
    retry_after_s: float | None  # parsed + capped Retry-After, if the server sent one
    not_modified: bool  # 304
    redirect_statuses: tuple[int, ...] = ()  # status of each redirect hop, aligned with redirect_chain

    @property
    def ok(self) -> bool:
        """True for a usable outcome: a body, or 304 Not Modified."""
        return self.error_class is None

    @property
    def permanent_redirect(self) -> str | None:
        """The URL to adopt in place of the requested one (case 20), or None.

        Only when every hop was permanent (301/308) and the target answered successfully; every hop
        already passed the scheme and SSRF checks, so the new URL is as safe as any we fetch.
        """
        if self.error_class is not None or not self.redirect_chain or self.final_url is None:
            return None
        if all(status in (301, 308) for status in self.redirect_statuses):
            return self.final_url
        return None

    def validators(self) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) to send next time; both None when ``Expires: 0`` says not to cache.

        After a 304 without fresh validators, the request's own validators stay valid (Miniflux does
        the same), so they are returned.
        """
        if (self.header("expires") or "").strip() == "0":
            return None, None
        etag, modified = self.header("etag"), self.header("last-modified")
        if self.not_modified and etag is None and modified is None:
            return self.request.etag, self.request.last_modified
        return etag, modified

    def header(self, name: str) -> str | None:
        """The first kept header called ``name`` (case-insensitive), if any."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k == wanted), None)


def _utcnow() -> datetime:
    return datetime.now(UTC)


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
            headers={"User-Agent": self.options.user_agent},
            # The client-wide jar refuses everything; each attempt keeps its own (see exchange.py).
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )
        self.limiter = HostLimiter(
            per_host=self.options.per_host_concurrency,
            delay=self.options.per_host_delay,
            total=self.options.total_concurrency,
            clock=clock,
            sleep=sleep,
        )
        self._exchange = Exchange(self._client, self.options, self.limiter, clock=clock, now=now)
        self.robots = RobotsCache(self._exchange, self.options)

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

    def fetch(self, request: FetchRequest) -> list[FetchResult]:
        """Fetch one URL: every attempt as a FetchResult, retrying retryable failures with backoff."""
        results: list[FetchResult] = []
        attempts = max(1, self.options.max_attempts)
        for attempt in range(1, attempts + 1):
            robots_check = self.robots.check if self._wants_robots(request) else None
            result = self._exchange.attempt(request, attempt, robots_check)
            results.append(result)
            error = result.error_class
            if error is None or not error.retryable or attempt == attempts:
                break
            delay = self.backoff(attempt)
            if result.retry_after_s is not None:
                if result.retry_after_s > self.options.max_sleep:
                    # Too long to wait in-process: the caller schedules the next poll from retry_after_s.
                    break
                delay = result.retry_after_s
            delay = min(delay, self.options.max_sleep)
            log.debug("retrying %s after %s in %.2fs", request.url, error, delay)
            self._sleep(delay)
        return results

    def _wants_robots(self, request: FetchRequest) -> bool:
        return self.options.respect_robots and request.kind == PAGE

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
