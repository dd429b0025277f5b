"""The closed set of reasons an HTTP attempt can fail, with their retry and health semantics."""

from __future__ import annotations

from enum import StrEnum


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
        return _SEVERITY[self] == "hard"

    @property
    def severity(self) -> str:
        """Feed-health weight, after Media Cloud's rss-fetcher: "hard" | "soft" | "temporary"."""
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

_HARD = "hard"  # the URL is wrong or forbidden to us; stop polling it soon
_SOFT = "soft"  # the server answers but not usefully; keep polling, slowly
_TEMPORARY = "temporary"  # network weather; normal backoff

_SEVERITY: dict[ErrorClass, str] = {
    ErrorClass.DNS: _SOFT,
    ErrorClass.CONNECT_TIMEOUT: _TEMPORARY,
    ErrorClass.CONNECT: _TEMPORARY,
    ErrorClass.TIMEOUT: _TEMPORARY,
    ErrorClass.DEADLINE: _TEMPORARY,
    ErrorClass.RESET: _TEMPORARY,
    ErrorClass.INCOMPLETE: _TEMPORARY,
    ErrorClass.PROTOCOL: _SOFT,
    ErrorClass.HTTP_4XX: _SOFT,
    ErrorClass.HTTP_5XX: _TEMPORARY,
    ErrorClass.RATE_LIMITED: _TEMPORARY,
    ErrorClass.GONE: _HARD,
    ErrorClass.NOT_FOUND: _HARD,
    ErrorClass.FORBIDDEN: _SOFT,
    ErrorClass.UNAUTHORIZED: _HARD,
    ErrorClass.BOT_CHALLENGE: _SOFT,
    ErrorClass.TOO_LARGE: _SOFT,
    ErrorClass.TOO_MANY_REDIRECTS: _SOFT,
    ErrorClass.SSRF_BLOCKED: _HARD,
    ErrorClass.BAD_SCHEME: _HARD,
    ErrorClass.BAD_URL: _HARD,
    ErrorClass.TLS: _SOFT,
    ErrorClass.EMPTY_RESPONSE: _SOFT,
    ErrorClass.TOO_MANY_ENCODINGS: _SOFT,
    ErrorClass.BAD_ENCODING: _SOFT,
    ErrorClass.DOWNGRADE: _HARD,
    ErrorClass.ROBOTS_DISALLOWED: _HARD,
    ErrorClass.OTHER: _SOFT,
}
