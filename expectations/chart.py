"""The volume chart: articles per source per day, the band the volume check expects, anomalies.

Drawn with altair and rendered to SVG by vl-convert (no browser, no network), then wrapped in a
plain HTML page with the SVG inline, so it shows anywhere, including on a machine with no
internet access (altair's own HTML loads Vega from a CDN and shows a blank page there).

The band for a day is what the volume suite would have accepted on that day: its bounds
(``expectations.volume.prepare``) computed from the days before it only. A point outside its band
on a day the source was judged is an anomaly and is drawn in red.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from expectations import volume

CHART_SVG = "volume.svg"
CHART_HTML = "volume.html"


def volume_bands(daily: pd.DataFrame, bounds: volume.VolumeBounds | None = None) -> pd.DataFrame:
    """One row per source and day: n, the expected band (low, high), judged, anomaly (pure)."""
    bounds = bounds or volume.VolumeBounds()
    columns = ["source", "day", "n", "low", "high", "judged", "anomaly"]
    if daily.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = daily.assign(day=pd.to_datetime(daily["day"]).dt.normalize())
    rows = []
    for day in sorted(frame["day"].unique()):
        judged = volume.prepare(frame[frame["day"] <= day], bounds)
        rows.append(judged.assign(day=pd.Timestamp(day)))
    out = pd.concat(rows, ignore_index=True)
    out["judged"] = out["judged"].astype(bool)
    out["anomaly"] = out["judged"] & ((out["n"] < out["low"]) | (out["n"] > out["high"]))
    return out[columns]


def volume_chart(bands: pd.DataFrame, title: str = "Articles per source per day") -> Any:
    """The altair chart (an ``alt.Chart``: altair is imported on use): one panel per source, the
    band shaded where judged, anomalies red."""
    import altair as alt

    base = alt.Chart(bands).encode(x=alt.X("day:T", title=None))
    band = base.transform_filter("datum.judged").mark_area(opacity=0.25, color="#4c78a8").encode(
        y=alt.Y("low:Q", title="articles"), y2="high:Q")
    line = base.mark_line(point=True, color="#1f3b57").encode(y="n:Q")
    anomalies = base.transform_filter("datum.anomaly").mark_point(
        size=120, filled=True, color="#d62728", shape="diamond").encode(y="n:Q")
    return (alt.layer(band, line, anomalies, data=bands)
            .properties(width=640, height=110)
            .facet(row=alt.Row("source:N", title=None, header=alt.Header(labelAngle=0,
                                                                          labelAlign="left")))
            .properties(title=title)
            .resolve_scale(y="independent"))


def write_volume_chart(daily: pd.DataFrame, out_dir: Path,
                       bounds: volume.VolumeBounds | None = None) -> Path:
    """Write volume.svg and volume.html (the SVG inline, no script) into ``out_dir``; return the
    HTML page's path. Written to temporary names first, so a reader never sees half a chart."""
    import vl_convert as vlc

    out_dir.mkdir(parents=True, exist_ok=True)
    bands = volume_bands(daily, bounds)
    if bands.empty:
        svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="480" height="40">'
               '<text x="8" y="24">No articles in the window yet.</text></svg>')
    else:
        spec = volume_chart(bands.assign(day=bands["day"].dt.strftime("%Y-%m-%d"))).to_dict()
        svg = vlc.vegalite_to_svg(spec)
    anomalies = bands[bands["anomaly"]] if not bands.empty else bands
    listed = "".join(f"<li>{html.escape(str(r.source))} on {r.day:%Y-%m-%d}: {r.n:g} articles, "
                     f"expected {r.low:g} to {r.high:g}</li>" for r in anomalies.itertuples())
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>newsflow volume</title>"
            "</head><body style='font-family:sans-serif'>"
            "<h1>Articles per source per day</h1>"
            "<p>Line: articles per day. Shaded: the band the volume check accepts for that day "
            "(from the source's earlier days). Red: outside the band (an anomaly).</p>"
            f"<figure id='volume-chart'>{svg}</figure>"
            f"<h2>Anomalies</h2><ul id='anomalies'>{listed or '<li>none</li>'}</ul>"
            "</body></html>")
    for name, text in ((CHART_SVG, svg), (CHART_HTML, page)):
        tmp = out_dir / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)
    return out_dir / CHART_HTML
