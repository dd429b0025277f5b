"""Publication date with provenance, pure (never reads the clock).

Sources in order of trust: the page's own data (``json-ld``, then ``meta``, then ``html``: a
``<time>`` element or a date htmldate finds in the page), the
feed entry (``feed``), a date in the URL path (``url``), and finally when we first saw the
article (``first_seen``). A date is suspect when it is before 1990 or more than two days after
``first_seen_at`` (FAULTS 45/46): it is still kept, flagged, so watermarks can ignore it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PAGE_SOURCES = ("json-ld", "meta", "html")
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)
# Feed and page dates further apart than this are recorded as a disagreement; a few hours
# are normal (time zones, the feed stamping the update time).
DISAGREE_AFTER = timedelta(hours=36)

# /2024/03/15/, /2024-03-15/, /20240315/ style dates in a URL path.
_URL_DATE = re.compile(
    r"(?<!\d)(19[9]\d|20\d\d)(?:[/_-]?)(0[1-9]|1[0-2])(?:[/_-]?)(0[1-9]|[12]\d|3[01])(?!\d)"
)
_URL_MONTH = re.compile(r"/(19[9]\d|20\d\d)/(0[1-9]|1[0-2])/")


@dataclass(frozen=True, slots=True)
class Published:
    """The chosen publication date and where it came from."""

    at: datetime | None
    source: str
    suspect: bool
    feed_page_disagree: bool


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # Naive times are taken as UTC: the feed and page parsers already normalise to UTC.
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def date_from_url(url: str | None) -> datetime | None:
    """A date written in the URL path (``/2024/03/15/``), as midnight UTC, or None."""
    if not url:
        return None
    path = url.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1]
        path = path[path.find("/"):] if "/" in path else ""
    m = _URL_DATE.search(path)
    if m:
        try:
            return datetime.combine(date(int(m[1]), int(m[2]), int(m[3])), datetime.min.time(),
                                    tzinfo=UTC)
        except ValueError:
            return None
    m = _URL_MONTH.search(path)
    if m:
        return datetime(int(m[1]), int(m[2]), 1, tzinfo=UTC)
    return None


def is_suspect(at: datetime, first_seen_at: datetime | None) -> bool:
    """Outside the plausibility window: before 1990, or more than two days after first seen."""
    if at < EARLIEST_PLAUSIBLE:
        return True
    return first_seen_at is not None and at > first_seen_at + FUTURE_SLACK


def resolve_published(
    page_at: datetime | None,
    page_source: str | None,
    feed_at: datetime | None,
    url: str | None,
    first_seen_at: datetime | None,
) -> Published:
    """Choose the publication date: page (json-ld/meta) > feed > page html > url > first_seen.

    A date read from the page's visible text (``html``: ``<time>``, htmldate) is a guess, so
    the feed's date goes before it.

    A candidate that is implausible is skipped in favour of the next source when that one is
    plausible; if none is, the best candidate is kept with ``suspect=True``.
    """
    page_at, feed_at, first_seen_at = _utc(page_at), _utc(feed_at), _utc(first_seen_at)
    disagree = (page_at is not None and feed_at is not None
                and abs(page_at - feed_at) > DISAGREE_AFTER)
    candidates: list[tuple[datetime, str]] = []
    page_source = page_source if page_source in PAGE_SOURCES else "meta"
    if page_at is not None and page_source != "html":
        candidates.append((page_at, page_source))
    if feed_at is not None:
        candidates.append((feed_at, "feed"))
    if page_at is not None and page_source == "html":
        candidates.append((page_at, page_source))
    url_at = date_from_url(url)
    if url_at is not None:
        candidates.append((url_at, "url"))
    for at, source in candidates:
        if not is_suspect(at, first_seen_at):
            return Published(at, source, False, disagree)
    if candidates:
        at, source = candidates[0]
        return Published(at, source, True, disagree)
    if first_seen_at is not None:
        return Published(first_seen_at, "first_seen", False, disagree)
    return Published(None, "first_seen", True, disagree)


_ISO_FIX = re.compile(r"(\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?)\s*([+-]\d{2})(\d{2})$")


def parse_datetime(value: str | None) -> datetime | None:
    """Parse an ISO 8601 or RFC 2822 date string to UTC; None when unparseable.

    Date-only values become midnight UTC; naive times are taken as UTC.
    """
    if not value or not isinstance(value, str):
        return None
    raw = value.strip()[:64]
    if not raw or raw.startswith("0000"):
        return None
    iso = raw.replace("Z", "+00:00").replace("z", "+00:00")
    iso = _ISO_FIX.sub(r"\1\2:\3", iso)
    if len(iso) >= 10 and iso[4] == "-":
        try:
            parsed = datetime.fromisoformat(iso.replace(" ", "T", 1) if "T" not in iso else iso)
            return _utc(parsed)
        except ValueError:
            pass
        try:
            return datetime.combine(date.fromisoformat(iso[:10]), datetime.min.time(), tzinfo=UTC)
        except ValueError:
            return None
    try:
        from email.utils import parsedate_to_datetime

        return _utc(parsedate_to_datetime(raw))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
