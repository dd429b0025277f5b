"""robots.txt for page fetches: fetched once per origin per Fetcher through the guarded client, cached."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from transforms.vocab import ErrorClass, FetchKind
from web.exchange import Exchange
from web.types import FetchRequest, HttpOptions

log = logging.getLogger(__name__)

# RFC 9309 §2.3.1: a 4xx robots.txt means "no rules". A server or network error means "assume
# complete disallow"; we report it as the page's own error class (the page would fail the same way)
# and, when it is retryable, do not cache it so the page's next attempt asks again.
_ALLOW_ALL = frozenset(
    {
        ErrorClass.NOT_FOUND,
        ErrorClass.GONE,
        ErrorClass.HTTP_4XX,
        ErrorClass.FORBIDDEN,
        ErrorClass.UNAUTHORIZED,
        ErrorClass.EMPTY_RESPONSE,
        ErrorClass.BOT_CHALLENGE,
    }
)

Problem = tuple[ErrorClass, str]


def origin_of(url: str) -> str:
    """scheme://host[:port] of ``url``, lowercased (robots.txt is scoped per origin)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower().rpartition('@')[2]}"


class RobotsCache:
    """Per-origin robots.txt rules for one Fetcher; the first page of an origin fetches them."""

    def __init__(self, exchange: Exchange, options: HttpOptions,
                 on_crawl_delay: Callable[[str, float], None] | None = None) -> None:
        self._exchange = exchange
        self._options = options
        self._on_crawl_delay = on_crawl_delay  # (host, seconds): a Crawl-delay for our agent
        self._lock = threading.Lock()
        self._rules: dict[str, RobotFileParser | Problem] = {}
        self._origin_locks: dict[str, threading.Lock] = {}
        self.fetches = 0  # robots.txt requests sent (tests assert one per origin)

    def check(self, url: str) -> Problem | None:
        """None if our User-Agent may fetch ``url``; else why not (robots_disallowed, or the fetch error)."""
        rules = self._rules_for(origin_of(url))
        if isinstance(rules, tuple):
            return rules
        if rules.can_fetch(self._options.agent, url):
            return None
        return ErrorClass.ROBOTS_DISALLOWED, f"robots.txt disallows {url}"

    def _rules_for(self, origin: str) -> RobotFileParser | Problem:
        with self._lock:
            rules = self._rules.get(origin)
            if rules is not None:
                return rules
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one fetch per origin even when many pages of it start at once
            with self._lock:
                rules = self._rules.get(origin)
            if rules is not None:
                return rules
            rules, cacheable = self._load(origin)
            if cacheable:
                with self._lock:
                    self._rules[origin] = rules
            return rules

    def _load(self, origin: str) -> tuple[RobotFileParser | Problem, bool]:
        url = f"{origin}/robots.txt"
        with self._lock:
            self.fetches += 1
        result = self._exchange.attempt(
            FetchRequest(url=url, kind=FetchKind.ROBOTS), 1, None, max_bytes=self._options.robots_max_bytes
        )
        parser = RobotFileParser(url)
        error = result.error_class
        if error is None and result.body is not None:
            parser.parse(result.body.decode("utf-8", errors="replace").splitlines())
            delay = parser.crawl_delay(self._options.agent)
            if delay and self._on_crawl_delay is not None:
                self._on_crawl_delay(urlsplit(origin).hostname or "", float(delay))
            return parser, True
        if error is None or error in _ALLOW_ALL:  # 304 cannot happen (no validators sent)
            parser.parse([])  # no rules: everything allowed
            return parser, True
        log.info("robots.txt of %s unreadable (%s): %s", origin, error, result.error_detail)
        return (error, f"robots.txt: {result.error_detail}"), not error.retryable
