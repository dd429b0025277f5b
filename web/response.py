"""Pure helpers that turn an HTTP response or a transport exception into newsflow's vocabulary."""

from __future__ import annotations

import email.utils
import ssl
from collections.abc import Iterable
from datetime import UTC, datetime

import httpx

from transforms.vocab import ErrorClass
from web.decode import DecodeError, UnsupportedEncoding
from web.guard import BlockedAddress, DeadlineExceeded, ResolutionFailed

# The response headers worth keeping in a raw row; everything else is dropped (case 28).
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "content-language",
    "content-location",
    "etag",
    "last-modified",
    "cache-control",
    "expires",
    "retry-after",
    "location",
    "server",
    "date",
    "x-robots-tag",
    "cf-mitigated",
)
_KEPT = frozenset(KEPT_HEADERS)
MAX_HEADER_VALUE = 512
MAX_DETAIL = 300

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# The statuses whose Retry-After is honoured (RFC 9110 §10.2.3 names 503 and 429).
RETRY_AFTER_STATUSES = frozenset({429, 503})


def select_headers(headers: Iterable[tuple[str, str]], max_bytes: int) -> tuple[tuple[str, str], ...]:
    """The kept subset of ``headers``: lowercased names, each value and the total size capped."""
    kept: list[tuple[str, str]] = []
    used = 0
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        if name not in _KEPT:
            continue
        value = raw_value[:MAX_HEADER_VALUE]
        size = len(name) + len(value)
        if used + size > max_bytes:
            break
        kept.append((name, value))
        used += size
    return tuple(kept)


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type, charset) from a Content-Type header, both lowercased and length-capped."""
    if not value:
        return None, None
    parts = value.split(";")
    media = parts[0].strip().lower()[:100] or None
    charset = None
    for param in parts[1:]:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").lower()[:40] or None
    return media, charset


def parse_retry_after(value: str | None, *, now: datetime, cap: float) -> float | None:
    """Retry-After as seconds from ``now``: delta-seconds or HTTP-date, capped; None if absent/bad/past."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        seconds = float(int(text[:12]))
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds <= 0:
        return None
    return min(seconds, cap)


def classify_status(status: int, headers: httpx.Headers) -> ErrorClass | None:
    """The error class of a final (non-redirect) status; None for success."""
    if 200 <= status < 300 or status == 304:
        return None
    if status == 401:
        return ErrorClass.UNAUTHORIZED
    if status == 403:
        if headers.get("cf-mitigated", "").strip().lower() == "challenge":
            return ErrorClass.BOT_CHALLENGE
        return ErrorClass.FORBIDDEN
    if status == 404:
        return ErrorClass.NOT_FOUND
    if status == 410:
        return ErrorClass.GONE
    if status == 429:
        return ErrorClass.RATE_LIMITED
    if status == 408:
        return ErrorClass.TIMEOUT
    if 400 <= status < 500:
        return ErrorClass.HTTP_4XX
    if 500 <= status < 600:
        return ErrorClass.HTTP_5XX
    return ErrorClass.PROTOCOL  # 1xx as final, 3xx without Location, 6xx and other nonsense


def classify_final(status: int, headers: httpx.Headers, body: bytes | None) -> tuple[ErrorClass, str] | None:
    """Why a final response (its body read if it had one worth reading) is not a success, or None.

    Live fetches and WARC captures both end here, so a page is classified the same whichever way
    it arrived.
    """
    error = classify_status(status, headers)
    if error is not None:
        return error, f"HTTP {status}"
    if status != 304 and not body:
        return ErrorClass.EMPTY_RESPONSE, f"HTTP {status} with an empty body"
    return None


def retry_after_for(status: int | None, value: str | None, *, now: datetime, cap: float) -> float | None:
    """The Retry-After delay a response asks for, when its status is one that may ask."""
    if status not in RETRY_AFTER_STATUSES:
        return None
    return parse_retry_after(value, now=now, cap=cap)


def _has_ssl_cause(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError | ssl.CertificateError):
            return True
        current = current.__cause__ or current.__context__
    text = str(exc)
    return "SSL" in text or "CERTIFICATE" in text.upper()


def classify_exception(
    exc: BaseException, *, got_headers: bool, deadline_passed: bool, received: int = 0
) -> ErrorClass:
    """Map a transport-level exception to an ErrorClass (never raises)."""
    if isinstance(exc, BlockedAddress):
        return ErrorClass.SSRF_BLOCKED
    if isinstance(exc, ResolutionFailed):
        return ErrorClass.DNS
    if isinstance(exc, DeadlineExceeded):
        return ErrorClass.DEADLINE if got_headers else ErrorClass.TIMEOUT
    if isinstance(exc, DecodeError | UnsupportedEncoding):
        return ErrorClass.BAD_ENCODING
    if isinstance(exc, httpx.ConnectTimeout):
        return ErrorClass.DEADLINE if deadline_passed and got_headers else ErrorClass.CONNECT_TIMEOUT
    if isinstance(exc, httpx.TimeoutException):
        # Headers never sent is a plain timeout (case 3); a body outliving the budget is the
        # deadline (case 4).
        return ErrorClass.DEADLINE if got_headers and deadline_passed else ErrorClass.TIMEOUT
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return ErrorClass.TLS
    if isinstance(exc, httpx.ConnectError):
        return ErrorClass.TLS if _has_ssl_cause(exc) else ErrorClass.CONNECT
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc)
        if "without sending complete message body" in text or "incomplete" in text.lower():
            return ErrorClass.INCOMPLETE
        if "Server disconnected without sending a response" in text:
            # Bytes that never formed a status line (an HTTP/0.9 reply) are a protocol error.
            return ErrorClass.PROTOCOL if received else ErrorClass.RESET
        return ErrorClass.PROTOCOL
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return ErrorClass.TLS if _has_ssl_cause(exc) else ErrorClass.RESET
    if isinstance(exc, httpx.LocalProtocolError | httpx.ProtocolError):
        return ErrorClass.PROTOCOL
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ErrorClass.BAD_SCHEME
    if isinstance(exc, httpx.InvalidURL):
        return ErrorClass.BAD_URL
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return ErrorClass.RESET
    return ErrorClass.OTHER


def short(text: str) -> str:
    """An error detail capped for storage."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
