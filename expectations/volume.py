"""Suite for volume: rows per source on the latest day against that source's trailing 28 days.

The caller gives ``source, day, n`` for the last 29 days per source (zero-filled days may or may
not be present; missing days count as zero). ``prepare`` turns that into one row per source:

- ``latest``: the newest day in the frame (the same day for every source, so a source that
  wrote nothing that day is judged on 0, which is the drop we want to see);
- ``median``: the median of the source's daily counts over the 28 days before ``latest``,
  counted from the source's first day with any rows (days before it are not history);
- ``judged``: the source has at least ``min_history_days`` days of history; younger sources
  are recorded, not judged;
- ``low`` / ``high``: the bounds. Too few when ``n < min_ratio * median`` (only for sources
  whose median is at least ``min_median_for_low``: a quiet day is normal for a source that
  writes two a day); too many when ``n > max_ratio * median + slack``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from expectations.policy import BLOCKING, WARNING, Check, row_count_check

if TYPE_CHECKING:
    import pandas as pd

TABLE = "volume"
SUITE = "volume"
ID_COLUMN = "source"
INPUT_COLUMNS = ("source", "day", "n")
UNKNOWN_SOURCE = "(unknown)"


@dataclass(frozen=True, slots=True)
class VolumeBounds:
    """How far a source's latest day may stray from its trailing median before it is flagged."""

    window_days: int = 28          # trailing days the median is taken over
    min_history_days: int = 7      # younger sources are recorded, not judged
    min_ratio: float = 0.25        # too few: under a quarter of the usual day
    min_median_for_low: float = 4  # sources this quiet are never "too few"
    max_ratio: float = 4.0         # too many: over four times the usual day ...
    slack: float = 3               # ... plus a few, so tiny sources are not flagged for noise


def prepare(daily: pd.DataFrame, bounds: VolumeBounds) -> pd.DataFrame:
    """One row per source: latest count, trailing median, history and bounds (pure)."""
    import numpy as np
    import pandas as pd

    missing = [c for c in INPUT_COLUMNS if c not in daily.columns]
    if missing:
        raise ValueError(f"volume frame lacks columns {missing}; needs {list(INPUT_COLUMNS)}")
    columns = ["source", "day", "n", "median", "history_days", "judged", "low", "high"]
    if daily.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = daily.assign(day=pd.to_datetime(daily["day"]).dt.normalize(),
                         n=pd.to_numeric(daily["n"], errors="coerce").fillna(0),
                         # a source without a name is still a source: judge it, don't drop it
                         source=daily["source"].astype(object).where(daily["source"].notna(),
                                                                     UNKNOWN_SOURCE))
    latest = frame["day"].max()
    start = latest - pd.Timedelta(days=bounds.window_days)
    # All sources at once (a loop of pandas calls per source cost 0.87 s for 1,000 sources):
    # counts per source and day, the latest day's, the first active day before it, and the
    # trailing window as a sources x days matrix whose days before a source's first are masked.
    per = frame.groupby(["source", "day"], sort=True)["n"].sum()
    day_of = per.index.get_level_values("day")
    sources = per.index.get_level_values("source").unique()
    latest_n = per[day_of == latest].droplevel("day").reindex(sources, fill_value=0.0)
    active = per[(per > 0) & (day_of < latest)].reset_index()
    first = active.groupby("source")["day"].min().reindex(sources).clip(lower=start)
    window = pd.date_range(start, latest - pd.Timedelta(days=1), freq="D")
    counts = per[(day_of >= start) & (day_of < latest)].unstack("day").reindex(
        index=sources, columns=window).fillna(0.0).to_numpy(dtype=float)
    before_first = window.to_numpy()[None, :] < first.to_numpy()[:, None]
    rows = []
    for i, source in enumerate(sources):
        if pd.isna(first.iloc[i]):
            history, median = 0, 0.0
        else:
            history = int((latest - first.iloc[i]).days)
            median = float(np.median(counts[i][~before_first[i]]))
        judged = history >= bounds.min_history_days
        low = bounds.min_ratio * median if median >= bounds.min_median_for_low else 0.0
        rows.append({
            "source": str(source), "day": latest.date().isoformat(),
            "n": float(latest_n.iloc[i]), "median": median, "history_days": history,
            "judged": judged, "low": low, "high": bounds.max_ratio * median + bounds.slack,
        })
    return pd.DataFrame(rows, columns=columns)


JUDGED = ("judged", "==", True)


def checks(bounds: VolumeBounds | None = None) -> tuple[Check, ...]:
    """The volume suite, in the order it is reported.

    Bounds reach GX only as data (``low``/``high``) or suite parameters, so the one GX suite built
    per process serves every ``VolumeBounds``; ``bounds`` only words the explanations.
    """
    bounds = bounds or VolumeBounds()
    return (
        row_count_check("no source has any day in the window: the volume query or the feed list "
                        "is broken, so nothing can be judged"),
        Check("total_not_zero", "ExpectColumnSumToBeBetween",
              {"column": "n", "min_value": {"$PARAMETER": "min_total"}}, BLOCKING,
              "every source silent on a day when their history says they publish is an outage "
              "of the pipeline, not of the sources"),
        Check("volume_not_too_low", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "n", "column_B": "low", "or_equal": True}, WARNING,
              "a source far below its usual day has broken (feed moved, blocked, parser "
              "regression); flags the source", when=JUDGED, sample_ids=True),
        Check("volume_not_too_high", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "high", "column_B": "n", "or_equal": True}, WARNING,
              "a source far above its usual day is re-emitting old items or its keys are "
              "unstable (FAULTS 39-43); flags the source", when=JUDGED, sample_ids=True),
        Check("history_recorded", "ExpectColumnValuesToBeBetween",
              {"column": "history_days", "min_value": {"$PARAMETER": "min_history_days"},
               "mostly": 0.0},
              WARNING, f"sources with under {bounds.min_history_days} days of history are not "
              "judged; this lists them and never fails", sample_ids=True),
    )


def min_total(prepared: pd.DataFrame) -> int:
    """1 when the judged sources usually publish on a day (so all-zero is an outage), else 0."""
    if prepared.empty:
        return 0
    judged = prepared[prepared["judged"].astype(bool)]
    return 1 if float(judged["median"].sum()) >= 1 else 0
