"""Feed dates: parse the odd strings real feeds carry, and judge whether a date is plausible.

Pure: no clock. ``parse_date`` never raises; a string it cannot read gives ``None`` and the caller
keeps the raw string. A date without a zone is taken as UTC (the most common intent in feeds,
and deterministic). ``is_plausible`` is the window 1990-01-01 .. fetched_at + 2 days
(FAULTS case 45/46).
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from datetime import UTC, datetime, timedelta, timezone

import feedparser.datetimes

logger = logging.getLogger(__name__)

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)
# Date strings longer than this are not dates; parsing them only costs time.
MAX_DATE_CHARS = 128

_ZERO_DATE = re.compile(r"^0{4}-0{2}-0{2}")
_EPOCH = re.compile(r"^\d{9,10}(?:\.\d+)?$")
_EPOCH_MS = re.compile(r"^\d{13}$")
_SPACES = re.compile(r"\s+")

# Formats strptime can read directly, tried in order after ISO 8601 and RFC 822.
_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
)


def parse_date(raw: str | None) -> datetime | None:
    """Parse a feed date string to an aware UTC datetime, or ``None`` when it cannot be read.

    Tries ISO 8601, RFC 822 (with two-digit years), a few numeric layouts, Unix epoch seconds,
    feedparser's own date handlers, and last a tolerant token reader for the Miniflux list of
    weird formats (FAULTS case 46). Zero dates (``0000-00-00``) are ``None``.
    """
    if raw is None:
        return None
    s = _SPACES.sub(" ", raw).strip()
    if not s or len(s) > MAX_DATE_CHARS or _ZERO_DATE.match(s):
        return None
    for attempt in (_iso, _rfc822, _epoch, _strptime, _feedparser, parse_fuzzy):
        try:
            found = attempt(s)
        except (ValueError, OverflowError, TypeError, IndexError, KeyError):
            found = None
        if found is not None:
            try:
                return _to_utc(found)
            except (ValueError, OverflowError):
                # Year 9999 with a negative offset runs off the end of datetime: unreadable.
                return None
    return None


def is_plausible(at: datetime, fetched_at: datetime) -> bool:
    """Is ``at`` inside the window 1990-01-01 .. ``fetched_at`` + 2 days (both inclusive)?"""
    try:
        return EARLIEST <= _to_utc(at) <= _to_utc(fetched_at) + FUTURE_SLACK
    except (ValueError, OverflowError):
        return False


def _to_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def _iso(s: str) -> datetime | None:
    if not s[:4].isdigit() or len(s) < 10 or s[4] != "-":
        return None
    t = s.replace(" T", "T")
    # "2020-11-08T16:20:00-05:00Z": an offset and a Z; the offset is the real information.
    if re.search(r"[+-]\d\d:?\d\d[Zz]$", t):
        t = t[:-1]
    elif t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    # Python accepts at most microseconds; feeds send up to 9 fraction digits.
    t = re.sub(r"(\.\d{6})\d+", r"\1", t)
    return datetime.fromisoformat(t)


def _rfc822(s: str) -> datetime | None:
    if not re.search(r"\d{1,2}:\d\d", s) or not re.search(r"[A-Za-z]{3}", s):
        return None
    return email.utils.parsedate_to_datetime(s)


def _epoch(s: str) -> datetime | None:
    if _EPOCH.match(s):
        return datetime.fromtimestamp(float(s), tz=UTC)
    if _EPOCH_MS.match(s):
        return datetime.fromtimestamp(int(s) / 1000, tz=UTC)
    return None


def _strptime(s: str) -> datetime | None:
    for fmt in _FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    return None


def _feedparser(s: str) -> datetime | None:
    parsed = feedparser.datetimes._parse_date(s)  # the public API wraps this
    if parsed is None:
        return None
    return datetime(*parsed[:6], tzinfo=UTC) if isinstance(parsed, time.struct_time) else None


def utc_offset(hours: int, minutes: int = 0) -> timezone:
    """A fixed UTC offset; used by the fuzzy reader for zone names and ``GMT+hh:mm``."""
    return timezone(timedelta(hours=hours, minutes=minutes if hours >= 0 else -minutes))


def parse_fuzzy(s: str) -> datetime | None:
    """Tolerant token reader for dates no format string matches (filled in below)."""
    return None
