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
from datetime import UTC, datetime, timedelta

from transforms.errors import InputError

logger = logging.getLogger(__name__)

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)
# Date strings longer than this are not dates; parsing them only costs time.
MAX_DATE_CHARS = 128

_ZERO_DATE = re.compile(r"^0{4}-0{2}-0{2}")
_EPOCH = re.compile(r"^\d{9,10}(?:\.\d+)?$")
_EPOCH_MS = re.compile(r"^\d{13}$")
_SPACES = re.compile(r"\s+")
_RFC822 = re.compile(
    r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d\d(?::\d\d)?"
    r"(?:\s+(?:[+-]\d{4}|[A-Za-z]{1,4}))?$")

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
    for attempt in (_iso, _rfc822, _epoch, _strptime, parse_fuzzy, _feedparser):
        try:
            found = attempt(s)
        except InvalidDate:
            return None  # all parts were there and they name no real day (Feb 30)
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
    # email.utils is lax: it drops "PM" and "GMT-07:00" silently, so only strict RFC 822
    # shapes go to it; everything else is the fuzzy reader's.
    if not _RFC822.match(s):
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
    import feedparser.datetimes  # the last resort, imported when first needed (not by the CLI)

    parsed = feedparser.datetimes._parse_date(s)  # the public API wraps this
    if parsed is None:
        return None
    return datetime(*parsed[:6], tzinfo=UTC) if isinstance(parsed, time.struct_time) else None





class InvalidDate(InputError, ValueError):
    """A date whose parts were all read but name no real day; no other reader may guess."""


def _names(table: dict[int, str]) -> dict[str, int]:
    return {name: number for number, names in table.items() for name in names.split()}


# Month names and abbreviations in English, German, French, Spanish, Italian, Dutch, Portuguese.
_MONTHS = _names({
    1: "jan january januar janvier enero gennaio januari janeiro jän jaen",
    2: "feb february februar février fevrier febrero febbraio februari fevereiro fév fev",
    3: "mar march märz maerz marz mars marzo maart março mär mrz",
    4: "apr april avril abril aprile abr avr",
    5: "may mai mayo maggio mei maio mag",
    6: "jun june juni juin junio giugno junho giu",
    7: "jul july juli juillet juil julio luglio julho lug",
    8: "aug august août aout agosto ago",
    9: "sep sept september septembre septiembre settembre setembro set",
    10: "oct october oktober octobre octubre ottobre outubro okt ott out",
    11: "nov november novembre noviembre novembro",
    12: "dec december dezember décembre decembre diciembre dicembre dezembro dez dic déc",
})
_WEEKDAYS = _names({
    0: "mon monday montag mo lundi lun lunes lunedì lunedi maandag ma segunda seg",
    1: "tue tues tuesday dienstag di mardi mar martes martedì martedi dinsdag terça ter",
    2: "wed wednesday mittwoch mi mercredi mer miércoles miercoles mercoledì mercoledi woensdag wo",
    3: "thu thur thurs thursday donnerstag do jeudi jeu jueves giovedì giovedi donderdag",
    4: "fri friday freitag fr vendredi ven viernes venerdì venerdi vrijdag vr sexta sex",
    5: "sat saturday samstag sa samedi sam sábado sabado sabato zaterdag za",
    6: "sun sunday sonntag so dimanche dim domingo domenica zondag zo dom",
})
# Zone abbreviations common in feeds (North American, European, a few Asian).
_ZONES = {
    "gmt": 0, "utc": 0, "ut": 0, "z": 0, "wet": 0, "west": 60, "bst": 60, "cet": 60,
    "met": 60, "cest": 120, "mest": 120, "eet": 120, "eest": 180, "msk": 180, "est": -300,
    "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
    "akst": -540, "akdt": -480, "hst": -600, "jst": 540, "kst": 540, "hkt": 480, "sgt": 480,
    "aest": 600, "aedt": 660, "acst": 570, "awst": 480, "nzst": 720, "nzdt": 780,
}
_TIME = re.compile(r"(?<![\d:])(\d{1,2})[:h](\d\d)(?::(\d\d))?(?:[.,]\d+)?(?![\d:])")
_AMPM = re.compile(r"(?<![a-z])([ap])\.?\s?m\.?(?![a-z])")
_OFFSET = re.compile(r"(?:(?<=\s)|(?<=gmt)|(?<=utc)|^)([+-])(\d\d):?(\d\d)?(?![\d])")
_YMD = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC_DMY = re.compile(r"(?<!\d)(\d{1,2})([-/. ])(\d{1,2})\2(\d{4}|\d{2})(?!\d)")
_WORD = re.compile(r"[^\W\d_]+\.?|\d+(?:st|nd|rd|th|er|e|º)?\.?", re.U)


def parse_fuzzy(s: str) -> datetime | None:
    """Read day, month, year, time, am/pm and zone from whatever order a feed wrote them in.

    Month and weekday names are known in seven languages; the weekday decides between
    day/month and month/day when the numbers alone cannot. IANA zone names are ignored
    (UTC), as resolving them would need the zone database.
    """
    text = s.lower()
    hour = minute = second = 0
    m = _TIME.search(text)
    if m:
        hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        text = text[: m.start()] + " " + text[m.end():]
        ampm = _AMPM.search(text)
        if ampm:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm.group(1) == "p" else 0)
            text = text[: ampm.start()] + " " + text[ampm.end():]
    offset = 0
    zone = _OFFSET.search(text)
    if zone and m:  # an offset only means something next to a time
        offset = int(zone.group(2)) * 60 + int(zone.group(3) or 0)
        offset = -offset if zone.group(1) == "-" else offset
        text = text[: zone.start()] + " " + text[zone.end():]
    tokens = [t.rstrip(".") for t in _WORD.findall(text)]
    for t in tokens:
        if t in _ZONES and not zone:
            offset = _ZONES[t]
    weekday = next((_WEEKDAYS[t] for t in tokens if t in _WEEKDAYS and t not in _MONTHS), None)
    ymd = _ymd(text, tokens, weekday)
    if ymd is None:
        return None
    try:
        day = datetime(*ymd, hour, minute, second)
    except ValueError:
        raise InvalidDate(s) from None
    return (day - timedelta(minutes=offset)).replace(tzinfo=UTC)


def _ymd(text: str, tokens: list[str], weekday: int | None) -> tuple[int, int, int] | None:
    m = _YMD.search(text)
    if m:
        return int(m.group(1)), int(m.group(2)), int(m.group(3))
    month = next((_MONTHS[t] for t in tokens if t in _MONTHS), None)
    if month is None:
        month = next((_MONTHS[t[:3]] for t in tokens if len(t) > 3 and t[:3] in _MONTHS
                      and t.isalpha()), None)
    numbers = [int(re.sub(r"\D", "", t)) for t in tokens if t[:1].isdigit()]
    if month is not None:
        years = [n for n in numbers if n >= 1000]
        days = [n for n in numbers if 1 <= n <= 31]
        if years:
            return years[0], month, days[0] if days else 1
        if len(days) == 2:  # "22 Sep 17": the second number is a two-digit year
            return _century(days[1]), month, days[0]
        return None
    m = _NUMERIC_DMY.search(text)
    if not m:
        return None
    a, b, year = int(m.group(1)), int(m.group(3)), _century(int(m.group(4)))
    if a > 12:
        return year, b, a
    if b > 12:
        return year, a, b
    candidates = [(year, b, a), (year, a, b)] if m.group(2) != "/" else [(year, a, b), (year, b, a)]
    if weekday is not None:
        for y, mo, d in candidates:
            try:
                if datetime(y, mo, d).weekday() == weekday:
                    return y, mo, d
            except ValueError:
                continue
    return candidates[0]


def _century(year: int) -> int:
    if year >= 100:
        return year
    return 2000 + year if year < 70 else 1900 + year
