"""Data Docs: rebuilt per run, one (the latest) validation per suite on the index."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from expectations import build_data_docs, runner, validate_batch, validate_volume

pytestmark = pytest.mark.usefixtures("gx_ready")
Builders = dict[str, Callable[..., pd.DataFrame]]


def pages(out: Path, suite: str) -> list[Path]:
    return sorted((out / "validations" / suite).rglob("*.html"))


def test_index_shows_the_latest_validation_of_each_suite(build: Builders, tmp_path: Path) -> None:
    bad = build["raw.feed_entries"]()
    bad.loc[0, "link"] = "/relative"
    validate_batch("raw.feed_entries", bad, stage="first")
    validate_batch("raw.feed_entries", build["raw.feed_entries"](), stage="second")
    validate_batch("core.articles", build["core.articles"](), stage="core")
    (tmp_path / "volume.html").write_text("chart")

    index = build_data_docs(tmp_path)

    assert index == tmp_path / "index.html" and index.is_file()
    html = index.read_text()
    assert [p.parent.parent.name for p in pages(tmp_path, "raw_feed_entries")] == ["second"]
    assert "validations/raw_feed_entries/second/" in html
    assert "validations/raw_feed_entries/first/" not in html
    assert "validations/core_articles/core/" in html
    assert (tmp_path / "expectations" / "core_articles.html").is_file()
    assert (tmp_path / "volume.html").read_text() == "chart"    # other files are left alone


def test_results_persist_for_later_processes(build: Builders, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    validate_batch("raw.page_fetches", build["raw.page_fetches"](), stage="raw")
    validate_volume(pd.DataFrame({"source": ["a"] * 3, "day": pd.date_range("2026-11-18", periods=3),
                                  "n": [1, 2, 3]}))
    build_data_docs(tmp_path)
    stored = json.loads((tmp_path / ".results" / "raw_page_fetches.json").read_text())
    assert stored["table"] == "raw.page_fetches" and stored["result"]["success"] is True

    # a later process that validated nothing still shows what earlier runs stored
    monkeypatch.setattr(runner, "latest_validations", dict)
    for old in (tmp_path / "validations").rglob("*.html"):
        old.unlink()
    html = build_data_docs(tmp_path).read_text()
    assert "validations/raw_page_fetches/raw/" in html
    assert "validations/volume/volume/" in html
    assert pages(tmp_path, "raw_page_fetches") and pages(tmp_path, "volume")


def test_stored_results_drop_full_unexpected_lists(build: Builders, tmp_path: Path) -> None:
    df = build["core.articles"](60)
    df["text"] = "x" * 5000                      # long texts, and a word count under the floor
    df["word_count"] = 1
    validate_batch("core.articles", df, stage="core")
    build_data_docs(tmp_path)
    raw = (tmp_path / ".results" / "core_articles.json").read_text()
    details = [r["result"] for r in json.loads(raw)["result"]["results"]]
    assert not any("unexpected_list" in d or "unexpected_index_list" in d for d in details)
    assert len(raw) < 100_000                    # 60 x 5 KB texts would be 300 KB


_TAG_URL = re.compile(r"""<(script|link|img)\b[^>]*?\b(?:src|href)=["']([^"'#]+)["']""", re.I)


def test_pages_load_nothing_from_the_network(build: Builders, tmp_path: Path) -> None:
    bad = build["raw.feed_entries"]()
    bad.loc[0, "link"] = "/relative"
    validate_batch("raw.feed_entries", bad, stage="offline")
    html_pages = [p for p in build_data_docs(tmp_path).parent.rglob("*.html")
                  if "static" not in p.parts]
    assert len(html_pages) >= 3  # the index, a suite page, a validation page
    for page in html_pages:
        for tag, url in _TAG_URL.findall(page.read_text(encoding="utf-8")):
            assert "//" not in url, (page, url)  # no CDN, no remote logo
            if tag.lower() in ("script", "img") or url.endswith(".css"):
                assert (page.parent / url.split("?")[0]).is_file(), (page, url)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    for needed in ("jquery-3.7.1.min.js", "bootstrap-table.min.js", "bootstrap.min.css",
                   "fontawesome/css/all.min.css"):
        assert f"static/offline/{needed}" in index
    fonts = (tmp_path / "static" / "offline" / "fontawesome" / "webfonts")
    assert (fonts / "fa-solid-900.woff2").is_file()  # the status icons' glyphs
