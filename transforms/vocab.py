"""newsflow's closed vocabularies, each written once: the words stored in raw rows and the ledger.

Every value here is persisted (raw.*_fetches.error_class, raw.runs.status, raw.page_fetches.source,
core.page_extractions.page_class, ...), so a member is never renamed and never added ad hoc. The
edges (web/, warehouse/), the checks (expectations/) and the flows import them from here; the
StrEnum members compare equal to their stored strings, so rows read back as plain text still match.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Severity(StrEnum):
    """How much a failed attempt says about its URL (feed-health weight, after Media Cloud's rss-fetcher)."""

    HARD = "hard"  # the URL is wrong or forbidden to us; stop polling it soon
    SOFT = "soft"  # the server answers but not usefully; keep polling, slowly
    TEMPORARY = "temporary"  # network weather; normal backoff


class ErrorClass(StrEnum):
    """Why one HTTP attempt failed. Stored verbatim in the raw fetch tables; never extend ad hoc."""

    DNS = "dns"
    CONNECT_TIMEOUT = "connect_timeout"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    DEADLINE = "deadline"
    RESET = "reset"
    INCOMPLETE = "incomplete"
    PROTOCOL = "protocol"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    RATE_LIMITED = "rate_limited"
    GONE = "gone"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    UNAUTHORIZED = "unauthorized"
    BOT_CHALLENGE = "bot_challenge"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    SSRF_BLOCKED = "ssrf_blocked"
    BAD_SCHEME = "bad_scheme"
    BAD_URL = "bad_url"
    TLS = "tls"
    EMPTY_RESPONSE = "empty_response"
    TOO_MANY_ENCODINGS = "too_many_encodings"
    BAD_ENCODING = "bad_encoding"
    DOWNGRADE = "downgrade"
    ROBOTS_DISALLOWED = "robots_disallowed"
    OTHER = "other"

    @property
    def retryable(self) -> bool:
        """True if another attempt within the same run may succeed (connect, timeouts, 5xx, 429, resets)."""
        return self in _RETRYABLE

    @property
    def permanent(self) -> bool:
        """True if the URL itself is the problem: retrying later without a change is pointless."""
        return _SEVERITY[self] is Severity.HARD

    @property
    def severity(self) -> Severity:
        """Feed-health weight: hard, soft or temporary."""
        return _SEVERITY[self]


# Retried inside one fetch. DEADLINE is deliberately absent: a slow-loris would cost the whole
# budget again on every attempt. DNS is absent too: NXDOMAIN answers are cached upstream and a
# retry seconds later almost never differs; the next poll tries again.
_RETRYABLE = frozenset(
    {
        ErrorClass.CONNECT_TIMEOUT,
        ErrorClass.CONNECT,
        ErrorClass.TIMEOUT,
        ErrorClass.RESET,
        ErrorClass.INCOMPLETE,
        ErrorClass.HTTP_5XX,
        ErrorClass.RATE_LIMITED,
    }
)

_SEVERITY: dict[ErrorClass, Severity] = {
    ErrorClass.DNS: Severity.SOFT,
    ErrorClass.CONNECT_TIMEOUT: Severity.TEMPORARY,
    ErrorClass.CONNECT: Severity.TEMPORARY,
    ErrorClass.TIMEOUT: Severity.TEMPORARY,
    ErrorClass.DEADLINE: Severity.TEMPORARY,
    ErrorClass.RESET: Severity.TEMPORARY,
    ErrorClass.INCOMPLETE: Severity.TEMPORARY,
    ErrorClass.PROTOCOL: Severity.SOFT,
    ErrorClass.HTTP_4XX: Severity.SOFT,
    ErrorClass.HTTP_5XX: Severity.TEMPORARY,
    ErrorClass.RATE_LIMITED: Severity.TEMPORARY,
    ErrorClass.GONE: Severity.HARD,
    ErrorClass.NOT_FOUND: Severity.HARD,
    ErrorClass.FORBIDDEN: Severity.SOFT,
    ErrorClass.UNAUTHORIZED: Severity.HARD,
    ErrorClass.BOT_CHALLENGE: Severity.SOFT,
    ErrorClass.TOO_LARGE: Severity.SOFT,
    ErrorClass.TOO_MANY_REDIRECTS: Severity.SOFT,
    ErrorClass.SSRF_BLOCKED: Severity.HARD,
    ErrorClass.BAD_SCHEME: Severity.HARD,
    ErrorClass.BAD_URL: Severity.HARD,
    ErrorClass.TLS: Severity.SOFT,
    ErrorClass.EMPTY_RESPONSE: Severity.SOFT,
    ErrorClass.TOO_MANY_ENCODINGS: Severity.SOFT,
    ErrorClass.BAD_ENCODING: Severity.SOFT,
    ErrorClass.DOWNGRADE: Severity.HARD,
    ErrorClass.ROBOTS_DISALLOWED: Severity.HARD,
    ErrorClass.OTHER: Severity.SOFT,
}


class FetchKind(StrEnum):
    """What a URL is fetched as: it picks the Accept header, and only pages ask robots.txt."""

    FEED = "feed"  # feeds, and the machine documents fetched like them (sitemaps, feed archives)
    PAGE = "page"
    ROBOTS = "robots"


class RunStatus(StrEnum):
    """How one stage of a run ended (raw.runs.status); ``running`` is the opening row."""

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"
    VALIDATION_FAILED = "validation_failed"
    SKIPPED_LOCKED = "skipped_locked"
    CANCELLED = "cancelled"
    DIED = "died"  # a run-level row closed by a later run: the process ended without closing it


# Seriousness, least first. running and skipped_locked are absent: a stage still running or
# never started says nothing about how the others went, so they do not make a run worse.
_SEVERITY_ORDER = (
    RunStatus.OK,
    RunStatus.PARTIAL,
    RunStatus.VALIDATION_FAILED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.DIED,
)


def worst(statuses: Iterable[str]) -> RunStatus:
    """The run status of several stages: the most serious one wins (ok when none counts)."""
    ranked = [RunStatus(s) for s in statuses if s in _SEVERITY_ORDER]
    return max(ranked, key=_SEVERITY_ORDER.index, default=RunStatus.OK)


class PageSource(StrEnum):
    """Where a stored page fetch came from (raw.page_fetches.source)."""

    FEED = "feed"  # the scheduled pipeline: a link in a feed entry
    SITEMAP = "sitemap"
    WARC = "warc"
    ARCHIVE_FEED = "archive-feed"


class Revisit(StrEnum):
    """Why an article page we already had was fetched again (raw.page_fetches.revisit; NULL on
    a first fetch)."""

    SCHEDULE = "schedule"  # the decaying revisit schedule after first seen
    FEED_CHANGED = "feed_changed"  # its feed entry got a new version (title, content, dates)


class ArticleChange(StrEnum):
    """What changed between two versions of an article (core.article_changes.changed)."""

    TITLE = "title"
    BODY = "body"
    DATES = "dates"
    AUTHORS = "authors"


class BackfillSource(StrEnum):
    """What a backfill reads: a page source for the range, or ``raw`` (re-extract stored pages)."""

    SITEMAP = "sitemap"
    WARC = "warc"
    ARCHIVE_FEED = "archive-feed"
    RAW = "raw"

    @property
    def page_source(self) -> PageSource | None:
        """The source its new page rows are stored under; None for ``raw``, which fetches nothing."""
        return None if self is BackfillSource.RAW else PageSource(self.value)


class DayStatus(StrEnum):
    """How one backfill day of one origin ended (raw.backfill_days.status)."""

    DONE = "done"  # settled: every listed URL stored or permanently failed; never worked again
    PARTIAL = "partial"  # retryable failures left: the next run tries the day again
    FAILED = "failed"
    # nothing to do that day (no URL listed, no page stored): not settled, so a later run looks
    # again (a sitemap may list the day later, pages may be stored for it later)
    EMPTY = "empty"


class DayBy(StrEnum):
    """Which date puts a stored page in a day, for ``backfill --source raw``."""

    FETCHED = "fetched"  # when the page was fetched (raw.page_fetches.occurred_at), UTC
    PUBLISHED = "published"  # when its article was published, as extracted (core.articles)


class PageClass(StrEnum):
    """Closed set of outcomes of extracting one page."""

    ARTICLE = "article"
    NO_CONTENT = "no_content"
    SUSPECT_PAYWALL = "suspect_paywall"
    CONSENT_WALL = "consent_wall"
    BOT_CHALLENGE = "bot_challenge"
    LOGIN_WALL = "login_wall"
    JS_SHELL = "js_shell"
    NON_HTML = "skipped_non_html"
    BINARY = "skipped_binary"
    TOO_SHORT = "too_short"
    EXTRACT_TIMEOUT = "extract_timeout"
    EXTRACT_CRASH = "extract_crash"


class ItemStatus(StrEnum):
    """What became of one feed item (analytics.items.status) besides a page class: the view
    shows the page class (``PageClass``) of a page that gave no article, or one of these."""

    ARTICLE = "article"  # in analytics.articles (a short brief and a teaser included)
    HELD = "held"  # an article a blocking check quarantined, or whose checks have not run
    FETCH_FAILED = "fetch_failed"  # the last fetch of its page failed (error class as reason)
    NOT_FETCHED = "not_fetched"  # announced by a feed, its page not fetched (yet)
    NOT_EXTRACTED = "not_extracted"  # fetched, extraction not projected yet


class Access(StrEnum):
    """Whether the page gives its article to every reader (core.articles.access)."""

    FREE = "free"
    PAYWALLED = "paywalled"
    UNKNOWN = "unknown"
