"""Pure helpers shared by the suites' ``prepare`` steps: UTC timestamps and blank strings.

DuckDB hands TIMESTAMPTZ back in the session time zone and tests may build naive datetimes; the
checks compare against UTC bounds, so every timestamp column becomes naive UTC first (and the
bounds below are naive UTC too).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# The plausibility window of transforms.dates.is_plausible: 1990-01-01 .. fetched_at + 2 days.
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1)  # naive UTC, like the prepared columns
FUTURE_SLACK = timedelta(days=2)


def to_utc(df: pd.DataFrame, columns: Iterable[str]) -> None:
    """Make each present timestamp column naive UTC in place (naive input is taken as UTC)."""
    import pandas as pd

    for name in columns:
        if name not in df:
            continue
        # utc=True takes naive values as UTC and converts aware ones, whatever the session zone;
        # the zone is then dropped because GX's pair metrics go through Series.values, which
        # pandas deprecates for tz-aware data
        df[name] = pd.to_datetime(df[name], utc=True, errors="coerce").dt.tz_localize(None)


def blank_to_none(df: pd.DataFrame, columns: Iterable[str]) -> None:
    """Whitespace-only strings count as missing for presence checks (in place)."""
    for name in columns:
        if name not in df:
            continue
        col = df[name]
        blank = col.astype("string").str.strip().eq("").fillna(False).astype(bool)
        if blank.any():
            df[name] = col.where(~blank, None)
