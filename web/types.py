"""The data the HTTP layer takes and gives: options, a request, and one attempt's result.

Kept apart from the modules that do the fetching (http.py, exchange.py, robots.py) so each of them
imports these types instead of each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from transforms.limits import MAX_BODY_BYTES
from transforms.vocab import ErrorClass, FetchKind


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Limits and politeness for one Fetcher. Defaults follow FAULTS.md §6.

    These defaults are the only ones: ``flows.settings.Settings`` takes the defaults of its HTTP
    section (NEWSFLOW_USER_AGENT, NEWSFLOW_MAX_BODY_BYTES, ...) from here.
    """

    user_agent: str = "newsflow/0.1 (+https://github.com/newsflow/newsflow)"
    connect_timeout: float = 10.0
    deadline: float = 30.0  # total wall clock per attempt, redirects and body included
    max_bytes: int = MAX_BODY_BYTES  # after decompression
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
    contact: str | None = None  # who to write to about our crawling (an e-mail or URL), sent in the UA
    max_crawl_delay: float = 30.0  # robots.txt Crawl-delay honoured up to this many seconds

    @property
    def agent(self) -> str:
        """The User-Agent sent: always names newsflow, and the contact when one is set."""
        agent = self.user_agent.strip() or "newsflow"
        if "newsflow" not in agent.lower():
            agent = f"newsflow/0.1 {agent}"
        if self.contact and self.contact.strip() not in agent:
            agent = f"{agent} (contact: {self.contact.strip()})"
        return agent


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One URL to fetch, with the validators from the previous successful fetch."""

    url: str
    kind: FetchKind = FetchKind.PAGE
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
