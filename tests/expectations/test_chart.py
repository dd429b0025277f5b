"""The volume chart: the band the volume check expects per source and day, anomalies, a static
page with the chart inline (nothing loaded from anywhere)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from expectations.chart import CHART_SVG, volume_bands, write_volume_chart

DAYS = pd.date_range("2026-10-20", periods=29)


def daily(spike_day: int | None = 20, drop_last: bool = True) -> pd.DataFrame:
    rows = []
    for source, base in (("alpha", 10), ("beta", 6)):
        for i, day in enumerate(DAYS):
            n = base + i % 3
            if source == "alpha" and i == spike_day:
                n = 60
            if source == "beta" and drop_last and i == len(DAYS) - 1:
                n = 0
            rows.append({"source": source, "day": day.date(), "n": n})
    return pd.DataFrame(rows)


def test_bands_mark_the_spike_and_the_drop_and_nothing_else() -> None:
    bands = volume_bands(daily())
    assert len(bands) == 2 * len(DAYS)
    flagged = {(r.source, r.day.date().isoformat()) for r in bands[bands["anomaly"]].itertuples()}
    assert flagged == {("alpha", "2026-11-09"), ("beta", "2026-11-17")}
    # the first week is history only: no band judged there, so nothing flagged
    assert not bands[bands["day"] < DAYS[7]]["judged"].any()
    judged = bands[bands["judged"]]
    assert (judged["low"] <= judged["high"]).all()


def test_a_quiet_window_has_no_anomaly() -> None:
    assert not volume_bands(daily(spike_day=None, drop_last=False))["anomaly"].any()


def test_the_page_holds_the_chart_inline_and_lists_the_anomalies(tmp_path: Path) -> None:
    page = write_volume_chart(daily(), tmp_path)
    text = page.read_text(encoding="utf-8")
    assert "<svg" in text and "<script" not in text
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", text)  # xmlns names are fine
    assert "alpha on 2026-11-09: 60 articles" in text and "beta on 2026-11-17: 0 articles" in text
    svg = (tmp_path / CHART_SVG).read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "alpha" in svg and "beta" in svg
    assert not list(tmp_path.glob("*.tmp"))


def test_an_empty_window_still_writes_a_page(tmp_path: Path) -> None:
    page = write_volume_chart(pd.DataFrame(columns=["source", "day", "n"]), tmp_path)
    assert "No articles in the window yet" in page.read_text(encoding="utf-8")
