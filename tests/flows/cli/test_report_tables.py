"""Result tables wrap instead of cutting the columns that matter (day, reason, counts)."""

from __future__ import annotations

import pandas as pd
import pytest
from rich.console import Console

from flows.cli.backfill import day_table
from flows.cli.report import frame_table

REASON = ("feed repeats its entry keys across polls, so the same article would be stored "
          "twice under different keys")


def render(table: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def words_in_order(text: str, words: list[str]) -> bool:
    flat = " ".join(text.replace("│", " ").replace("┃", " ").split())
    at = 0
    for word in words:
        found = flat.find(word, at)
        if found < 0:
            return False
        at = found + len(word)
    return True


@pytest.mark.parametrize("width", [60, 80, 120])
def test_days_counts_and_reasons_survive_a_narrow_terminal(width: int) -> None:
    frame = pd.DataFrame({
        "day": pd.to_datetime(["2026-11-16", "2026-11-17"]),
        "reason": [REASON, "boilerplate page"],
        "rows": [123456, 7],
        "title": ["A title " * 20, "short"],
    })
    text = render(frame_table(frame, title="quarantined rows by reason"), width)
    for whole in ("2026-11-16", "2026-11-17", "123456"):
        assert whole in text, text  # on one line, not folded or cut
    assert words_in_order(text, REASON.split()), text  # wrapped, every word kept
    assert "…" in text  # free text (a title) may still be shortened
    assert all(len(line) <= width for line in text.splitlines())


def test_the_backfill_table_keeps_its_days_and_counts_whole() -> None:
    rows = [{"origin": f"https://news-{i}.example/sitemap_index.xml", "day": f"2024-03-0{i}",
             "expected": 1200 + i, "obtained": 1100 + i, "failed": 100, "new_rows": 1100 + i,
             "status": "partial", "skipped": False, "detail": None} for i in (1, 2)]
    text = render(day_table(rows, "sitemap"), 80)
    for whole in ("2024-03-01", "2024-03-02", "1201", "1102", "partial"):
        assert whole in text, text
