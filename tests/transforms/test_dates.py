"""Feed dates: the Miniflux weird-date list and friends (FAULTS cases 44-46)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from transforms.dates import is_plausible, parse_date

FETCHED = datetime(2026, 3, 3, 12, tzinfo=UTC)

# (raw, expected UTC "YYYY-mm-dd HH:MM:SS" or None). Seeded with Miniflux's
# TestParseWeirdDateFormat list plus the FAULTS case 46 additions.
CASES = [
    ("Sun, 17 Dec 2017 1:55 PM EST", "2017-12-17 18:55:00"),
    ("9 Dec 2016 12:00 GMT", "2016-12-09 12:00:00"),
    ("Friday, December 22, 2017 - 3:09pm", "2017-12-22 15:09:00"),
    ("Friday, December 8, 2017 - 3:07pm", "2017-12-08 15:07:00"),
    ("Mon, 09 Apr 2018, 16:04", "2018-04-09 16:04:00"),
    ("Di, 23 Jan 2018 00:00:00 +0100", "2018-01-22 23:00:00"),
    ("Do, 29 Mär 2018 00:00:00 +0200", "2018-03-28 22:00:00"),
    ("mer, 9 avr 2018 00:00:00 +0200", "2018-04-08 22:00:00"),
    ("1520932969", "2018-03-13 09:22:49"),
    ("Tue 16 Feb 2016, 23:16:00 EDT", "2016-02-17 03:16:00"),
    ("Tue, 16 Feb 2016 23:16:00 EDT", "2016-02-17 03:16:00"),
    ("Tue, Feb 16 2016 23:16:00 EDT", "2016-02-17 03:16:00"),
    ("March 30 2020 07:02:38 PM", "2020-03-30 19:02:38"),
    ("Mon, 30 Mar 2020 19:53 +0000", "2020-03-30 19:53:00"),
    ("Mon, 03/30/2020 - 19:19", "2020-03-30 19:19:00"),
    ("2018-12-12T12:12", "2018-12-12 12:12:00"),
    ("2020-11-08T16:20:00-05:00Z", "2020-11-08 21:20:00"),
    ("Nov. 16, 2020, 10:57 a.m.", "2020-11-16 10:57:00"),
    ("Friday 06 November 2020", "2020-11-06 00:00:00"),
    ("Mon, November 16, 2020, 11:12 PM EST", "2020-11-17 04:12:00"),
    ("Lundi, 16. Novembre 2020 - 15:54", "2020-11-16 15:54:00"),
    ("Thu Nov 12 2020 17:00:00 GMT+0000 (Coordinated Universal Time)", "2020-11-12 17:00:00"),
    ("Sat, 11 04 2020 08:51:49 +0100", "2020-04-11 07:51:49"),
    ("Mon, 16th Nov 2020 13:16:28 GMT", "2020-11-16 13:16:28"),
    ("Nov. 2020", "2020-11-01 00:00:00"),
    ("ven., 03 juil. 2020 15:09:58 +0000", "2020-07-03 15:09:58"),
    ("Fri, 26/06/2020", "2020-06-26 00:00:00"),
    ("Thu, 29 Oct 2020 07:36:03 GMT-07:00", "2020-10-29 14:36:03"),
    ("jeu., 02 avril 2020 00:00:00 +0200", "2020-04-01 22:00:00"),
    ("Jan. 6, 2020", "2020-01-06 00:00:00"),
    ("Fri, 22 Sep 17 22:05:03 +0300", "2017-09-22 19:05:03"),
    ("2016/6/29 15:07:41", "2016-06-29 15:07:41"),
    ("Thu, 01 Jan 1970 00:00:00 GMT", "1970-01-01 00:00:00"),
    ("2003-12-31T10:14:55.123456789Z", "2003-12-31 10:14:55"),
    ("Wed, 02 Oct 2002 08:00:00 EST", "2002-10-02 13:00:00"),
    ("2026-03-02T10:00:00+15:00", "2026-03-01 19:00:00"),
    ("29.10.2020 07:36", "2020-10-29 07:36:00"),
    ("", None),
    ("   ", None),
    ("0000-00-00", None),
    ("0000-00-00 00:00:00", None),
    ("2024-02-30T00:00:00Z", None),
    ("not a date at all", None),
    ("9999-12-31T23:00:00-05:00", None),
    ("x" * 500, None),
]


@pytest.mark.parametrize(("raw", "want"), CASES)
def test_case_46_odd_date_formats(raw: str, want: str | None) -> None:
    got = parse_date(raw)
    assert (got.strftime("%Y-%m-%d %H:%M:%S") if got else None) == want
    assert got is None or got.tzinfo == UTC


def test_case_46_implausible_years_are_rejected_by_the_window() -> None:
    for raw in ("Mon, 01 Jan 1513 00:00:00 GMT", "0200-01-01T00:00:00Z", "0300-06-01"):
        at = parse_date(raw)
        assert at is not None and not is_plausible(at, FETCHED), raw


def test_case_45_plausibility_window_edges() -> None:
    assert is_plausible(datetime(1990, 1, 1, tzinfo=UTC), FETCHED)
    assert not is_plausible(datetime(1989, 12, 31, 23, 59, tzinfo=UTC), FETCHED)
    assert is_plausible(FETCHED + timedelta(days=2), FETCHED)
    assert not is_plausible(FETCHED + timedelta(days=2, seconds=1), FETCHED)
    assert is_plausible(datetime(2026, 3, 3, 12), FETCHED)  # naive means UTC


def test_case_44_none_stays_none() -> None:
    assert parse_date(None) is None


def test_weekday_decides_ambiguous_numeric_dates() -> None:
    # 04/05/2020 is 4 May (a Monday) or April 5 (a Sunday): the weekday settles it.
    assert parse_date("Mon, 04/05/2020") == datetime(2020, 5, 4, tzinfo=UTC)
    assert parse_date("Sun, 04/05/2020") == datetime(2020, 4, 5, tzinfo=UTC)


def test_property_random_strings_never_raise() -> None:
    rng = random.Random(46)
    alphabet = "0123456789 -/:.,+TZ" + "JanFebMarAprDecMonPMAMGMTESTjuilMär"
    for _ in range(3000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        got = parse_date(raw)
        assert got is None or got.tzinfo == UTC
