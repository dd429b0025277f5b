"""One HTTP attempt: manual redirects with every hop checked, a wall-clock deadline, a decoded byte cap."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from urllib.parse import quote, urljoin, urlsplit

import httpx

from transforms.errors import NetworkError
from transforms.vocab import ErrorClass, FetchKind
from web.decode import UnsupportedEncoding, decode_stream, parse_encodings
from web.guard import DeadlineExceeded, bytes_received, set_deadline, time_left
from web.limits import HostLimiter
from web.response import (
    REDIRECT_STATUSES,
    classify_exception,
    classify_final,
    classify_status,
    parse_content_type,
    retry_after_for,
    select_headers,
    short,
)
from web.types import FetchRequest, FetchResult, HttpOptions
from web.urlcheck import check_url

log = logging.getLogger(__name__)

ACCEPT = {
    FetchKind.FEED: "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
    FetchKind.PAGE: "text/html, application/xhtml+xml;q=0.9, */*;q=0.8",
    FetchKind.ROBOTS: "text/plain, */*;q=0.5",
}
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # reserved characters and '%' stay as they are (requests' requote_uri)

# Returns None when the URL may be fetched, else (error class, detail).
RobotsCheck = Callable[[str], "tuple[ErrorClass, str] | None"]


class _Stop(NetworkError):
    """Internal: end the attempt with this error class."""

    def __init__(self, error: ErrorClass, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


class Exchange:
    """Runs single attempts against the guarded client. Shared by the Fetcher and the robots cache."""

    def __init__(
        self,
        client: httpx.Client,
        options: HttpOptions,
        limiter: HostLimiter,
        *,
        clock: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self._client = client
        self._options = options
        self._limiter = limiter
        self._clock = clock
        self._now = now

    def failure(self, request: FetchRequest, attempt: int, error: ErrorClass, detail: str) -> FetchResult:
        """A result for an attempt that never reached a server."""
        return FetchResult(
            request=request,
            attempt=attempt,
            requested_url=request.url,
            final_url=None,
            redirect_chain=(),
            status=None,
            error_class=error,
            error_detail=short(detail),
            headers=(),
            content_type=None,
            charset=None,
            body=None,
            body_sha256=None,
            started_at=self._now(),
            elapsed_ms=0,
            retry_after_s=None,
            not_modified=False,
        )

    def attempt(
        self,
        request: FetchRequest,
        attempt: int,
        robots_check: RobotsCheck | None,
        *,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """Run one attempt (following redirects) and describe it; never raises for I/O trouble."""
        options = self._options
        cap = options.max_bytes if max_bytes is None else max_bytes
        started_at = self._now()
        t0 = self._clock()
        deadline: float | None = None
        # Cookies live for one attempt only: enough for "set a cookie, then redirect" consent dances,
        # never shared between feeds, sites or runs.
        jar = httpx.Cookies()
        chain: list[str] = []
        hop_statuses: list[int] = []
        url = request.url.strip()
        hop = _Hop()
        error: ErrorClass | None = None
        detail: str | None = None
        try:
            while True:
                problem = check_url(url, allow_private=options.allow_private)
                if problem is not None:
                    raise _Stop(*problem)
                refusal = None if robots_check is None else robots_check(url)
                if refusal is not None:
                    raise _Stop(*refusal)
                hop = _Hop()
                host = (urlsplit(url).hostname or "").lower()
                with self._limiter.slot(host):
                    if deadline is None:
                        # The budget starts when the request can go out, not while it queues for a
                        # host slot. The guard reads time.monotonic, whatever clock tests inject.
                        deadline = time.monotonic() + options.deadline
                        started_at, t0 = self._now(), self._clock()
                    self._exchange_one(request, url, deadline, cap, hop, jar)
                if hop.location is None:
                    break
                # Servers send raw spaces and non-ASCII in Location; browsers percent-encode them.
                target = urljoin(url, quote(hop.location.strip(), safe=_URL_SAFE))
                if urlsplit(url).scheme == "https" and urlsplit(target).scheme.lower() == "http":
                    raise _Stop(ErrorClass.DOWNGRADE, f"redirect from https to {target}")
                if len(chain) >= options.max_redirects:
                    raise _Stop(ErrorClass.TOO_MANY_REDIRECTS, f"more than {options.max_redirects} redirects")
                chain.append(target)
                hop_statuses.append(hop.status or 0)
                url = target
            assert hop.status is not None
            problem = classify_final(hop.status, hop.headers, hop.body)
            if problem is not None:
                error, detail = problem
        except _Stop as stop:
            error, detail = stop.error, stop.detail
        except Exception as exc:
            got_headers = hop.status is not None
            error = classify_exception(
                exc,
                got_headers=got_headers,
                deadline_passed=deadline is not None and deadline - time.monotonic() <= 0,
                received=hop.received,
            )
            detail = f"{type(exc).__name__}: {exc}"
            if error is ErrorClass.OTHER:
                log.warning("unclassified fetch error for %s: %r", url, exc)
        if error is ErrorClass.SSRF_BLOCKED:
            # Worth an operator's eye: a feed or an article link is pointing us at internal addresses.
            log.warning("SSRF guard refused %s (requested %s): %s", url, request.url, detail)
        status, headers, body, final_url = hop.status, hop.headers, hop.body, hop.url
        if error is not None:
            body = None  # never a partial body
        elapsed_ms = round((self._clock() - t0) * 1000)
        content_type, charset = parse_content_type(headers.get("content-type"))
        retry_after = retry_after_for(
            status, headers.get("retry-after"), now=started_at, cap=options.retry_after_cap
        )
        return FetchResult(
            request=request,
            attempt=attempt,
            requested_url=request.url,
            final_url=final_url,
            redirect_chain=tuple(chain),
            redirect_statuses=tuple(hop_statuses),
            status=status,
            error_class=error,
            error_detail=None if detail is None else short(detail),
            headers=select_headers(headers.multi_items(), options.max_header_bytes),
            content_type=content_type,
            charset=charset,
            body=body,
            body_sha256=None if body is None else hashlib.sha256(body).hexdigest(),
            started_at=started_at,
            elapsed_ms=elapsed_ms,
            retry_after_s=retry_after,
            not_modified=error is None and status == 304,
        )

    def _request_headers(self, request: FetchRequest) -> dict[str, str]:
        headers = {
            "Accept": ACCEPT.get(request.kind, ACCEPT[FetchKind.PAGE]),
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        return headers

    def _exchange_one(
        self, request: FetchRequest, url: str, deadline: float, cap: int, hop: _Hop, jar: httpx.Cookies
    ) -> None:
        """One request/response, recorded into ``hop`` as it goes (so failures keep status and headers)."""
        set_deadline(deadline)
        try:
            outgoing = self._client.build_request("GET", url, headers=self._request_headers(request))
            jar.set_cookie_header(outgoing)
            response = self._client.send(outgoing, stream=True)
            try:
                hop.status, hop.headers, hop.url = response.status_code, response.headers, url
                status, headers = hop.status, hop.headers
                if status in REDIRECT_STATUSES and headers.get("location"):
                    # The redirect body is never read, let alone decompressed (case 24).
                    jar.extract_cookies(response)
                    hop.location = headers["location"]
                    return
                if classify_status(status, headers) is not None or status == 304:
                    return
                hop.body = self._read_body(response, cap)
            finally:
                response.close()
        finally:
            hop.received = bytes_received()
            set_deadline(None)

    def _read_body(self, response: httpx.Response, cap: int) -> bytes:
        options = self._options
        declared = response.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > cap:
            raise _Stop(ErrorClass.TOO_LARGE, f"Content-Length {declared} over the {cap}-byte cap")
        encodings = parse_encodings(response.headers.get("content-encoding"))
        if len(encodings) > options.max_encodings:
            raise _Stop(
                ErrorClass.TOO_MANY_ENCODINGS,
                f"{len(encodings)} stacked encodings (max {options.max_encodings})",
            )
        try:
            pieces = decode_stream(self._raw(response, cap), encodings)
        except UnsupportedEncoding as exc:
            raise _Stop(ErrorClass.BAD_ENCODING, str(exc)) from exc
        body = bytearray()
        for piece in pieces:
            body += piece
            if len(body) > cap:
                raise _Stop(ErrorClass.TOO_LARGE, f"body passed the {cap}-byte cap after decoding")
            left = time_left()
            if left is not None and left <= 0:
                raise DeadlineExceeded("deadline passed while reading the body")
        return bytes(body)

    @staticmethod
    def _raw(response: httpx.Response, cap: int) -> Iterator[bytes]:
        received = 0
        for chunk in response.iter_raw():
            received += len(chunk)
            # Compressed bytes beyond the cap can only decode to more than the cap (or be junk).
            if received > cap + 65536:
                raise _Stop(ErrorClass.TOO_LARGE, f"raw body passed the {cap}-byte cap")
            yield chunk


class _Hop:
    """What one request/response got so far; filled in while streaming."""

    __slots__ = ("body", "headers", "location", "received", "status", "url")

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: httpx.Headers = httpx.Headers()
        self.body: bytes | None = None
        self.location: str | None = None
        self.url: str | None = None
        self.received = 0
