"""Data Docs and the volume chart, opened in a headless browser with no network: the validation
list and the chart are drawn, and nothing on the pages fails to load.

The browser is Chromium from the Debian packages (``apt-get install chromium-headless-shell`` or
``chromium``); without one the test is skipped and says so. Its network is cut by pointing it at
a proxy on a closed 127.0.0.1 port and resolving no name, so a page that still asked a CDN for
anything would log a failed load here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("gx_ready")]
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"no headless browser on PATH ({', '.join(BROWSERS)}): "
                "apt-get install chromium-headless-shell")


def open_offline(page: Path, shot: Path) -> tuple[str, str]:
    """The page's DOM after its scripts ran, and the browser's log; a screenshot in ``shot``."""
    base = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=8000",
            "--window-size=1200,900"]
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    pic = subprocess.run([*base, f"--screenshot={shot}", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert pic.returncode == 0 and shot.is_file(), pic.stderr[-2000:]
    return dom.stdout, dom.stderr + pic.stderr


def ink(shot: Path) -> float:
    """Share of the screenshot's pixels that are not (near) white: a blank page is ~0."""
    from PIL import Image

    histogram = Image.open(shot).convert("L").histogram()  # 256 grey levels
    return sum(histogram[:200]) / sum(histogram)


def failed_loads(log: str) -> list[str]:
    return [line for line in log.splitlines()
            if "ERR_" in line or "Uncaught" in line or "Failed to load" in line]


def test_data_docs_show_the_validation_list_offline(build: dict, tmp_path: Path) -> None:
    from expectations import build_data_docs, validate_batch

    bad = build["raw.feed_entries"]()
    bad.loc[0, "link"] = "/relative"
    validate_batch("raw.feed_entries", bad, stage="browser")
    validate_batch("core.articles", build["core.articles"](), stage="browser")
    index = build_data_docs(tmp_path / "docs")
    dom, log = open_offline(index, tmp_path / "docs.png")
    assert not failed_loads(log), failed_loads(log)
    # bootstrap-table drew one row per suite, each with its status icon (Font Awesome)
    assert dom.count('data-index="') >= 2, dom[:3000]
    assert "raw_feed_entries" in dom and "core_articles" in dom
    assert "fa-times" in dom and "fa-check" in dom  # the failed and the passed validation
    assert "Showing 1 to" in dom  # the table's own footer: its script ran
    assert ink(tmp_path / "docs.png") > 0.02


def test_the_volume_chart_shows_offline(tmp_path: Path) -> None:
    from expectations.chart import write_volume_chart

    days = pd.date_range("2026-10-20", periods=29)
    daily = pd.DataFrame([{"source": s, "day": d.date(), "n": (60 if s == "a" and i == 20 else
                                                               base + i % 3)}
                          for s, base in (("a", 10), ("b", 6)) for i, d in enumerate(days)])
    page = write_volume_chart(daily, tmp_path / "docs")
    dom, log = open_offline(page, tmp_path / "chart.png")
    assert not failed_loads(log), failed_loads(log)
    assert "<svg" in dom and dom.count("<path") >= 4  # band, line and points per panel
    assert "a on 2026-11-09: 60 articles" in dom
    assert ink(tmp_path / "chart.png") > 0.02
