"""The checks the stages run (expectations.engine, pandas) give what GX gives, field by field.

Every suite on clean, empty and defect-laden batches (one defect of each kind the suites know,
several per batch, nulls where they are legal), and the volume suite on a window with every
verdict. ``test_sample_defects.py`` compares both engines, and what the run recorded, on the
batches of a whole pipeline run over the sample with its planted defects.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from expectations import SUITES, StageReport, validate_batch, validate_volume
from tests.expectations.conftest import BUILDERS, daily_volume

pytestmark = pytest.mark.usefixtures("gx_ready")


def _feed_fetches() -> pd.DataFrame:
    df = BUILDERS["raw.feed_fetches"](12)
    df.loc[4, "status"] = 999
    df.loc[5, "error_class"] = "gremlins"
    df.loc[2, "elapsed_ms"] = -5
    df.loc[0, ["body_sha256", "body_bytes"]] = [None, None]
    df.loc[1, "body_bytes"] = 0
    df.loc[6, "final_url"] = "/relative"
    df.loc[7, "parse_outcome"] = "weird"
    df.loc[8, "entries_left_out"] = 3
    df.loc[9, "not_modified"] = True        # a "not modified" that is a 200
    df.loc[10, "content_type"] = None
    return pd.concat([df, df.iloc[[3]]], ignore_index=True)


def _feed_entries() -> pd.DataFrame:
    df = BUILDERS["raw.feed_entries"]()
    dup = df.iloc[[7]].copy()
    dup["event_id"] = "another"
    df = pd.concat([df, dup], ignore_index=True)
    df.loc[[0, 4, 8], "guid"] = "1"
    df.loc[[0, 4, 8], "link"] = "https://x.example/a"
    df.loc[3, "link"] = "rel/x"
    df.loc[5, "link"] = None
    df.loc[6, "published_at"] = pd.Timestamp("1985-01-01", tz="UTC")
    df.loc[9, "published_at"] = pd.Timestamp("2030-01-01", tz="UTC")
    df.loc[10, "date_suspect"] = True
    df.loc[15, ["date_suspect", "published_at"]] = [True, pd.Timestamp("1500-01-01", tz="UTC")]
    df.loc[11, "title"] = "  "
    df.loc[12, "position"] = -1
    df.loc[13, "link_status"] = "odd"
    df.loc[14, "entry_key"] = ""
    df.loc[16, "parse_quality"] = "bozo"
    df.loc[17, "guid"] = None
    return df


def _page_fetches() -> pd.DataFrame:
    df = BUILDERS["raw.page_fetches"](12)
    df.loc[0, "url"] = "ftp://x"
    df.loc[3, "url_key"] = ""
    df.loc[4, "source"] = "mystery"
    df.loc[5, "final_url"] = None
    df.loc[6, "body_bytes"] = 10**9
    df.loc[7, "body_sha256"] = "ABC"
    df.loc[8, "status"] = 302
    df.loc[9, "content_type"] = None
    df.loc[10, "attempt"] = 0
    df.loc[11, "url"] = "https://news.example/a b"   # whitespace inside
    return df


def _articles() -> pd.DataFrame:
    df = BUILDERS["core.articles"](24)
    df.loc[0, "text"] = "short"
    df.loc[1, "word_count"] = 5
    df.loc[2, "language"] = None
    df.loc[3, "title"] = None
    df.loc[4, "text"] = "We use cookies. " * 30
    df.loc[5, "published_at"] = pd.Timestamp("2030-01-01", tz="UTC")
    df.loc[6, "published_at"] = pd.Timestamp("1980-01-01", tz="UTC")
    df.loc[7, "last_seen_at"] = pd.Timestamp("2020-01-01", tz="UTC")
    df.loc[8, "extractor"] = None
    df.loc[9, "extractor_version"] = " "
    df.loc[10, "canonical_url"] = df.loc[11, "canonical_url"]
    df.loc[12, "url"] = "nope"
    df.loc[[13, 14, 15, 16, 17], "outlet"] = "Pay"
    df.loc[[13, 14, 15, 16], "access"] = "paywalled"
    df.loc[18, ["is_short", "text", "word_count"]] = [True, "tiny", 3]
    df.loc[19, ["language", "word_count"]] = ["ja", 4]
    df.loc[21, "published_at"] = None
    df.loc[22, ["date_suspect", "published_at"]] = [True, pd.Timestamp("2040-01-01", tz="UTC")]
    df.loc[23, "text"] = ARTICLE_WITH_A_LINE_OF_CHROME
    return pd.concat([df, df.iloc[[20]]], ignore_index=True)


ARTICLE_WITH_A_LINE_OF_CHROME = (BUILDERS["core.articles"](1).loc[0, "text"]
                                 + " All rights reserved.")

DEFECTS: dict[str, Callable[[], pd.DataFrame]] = {
    "raw.feed_fetches": _feed_fetches, "raw.feed_entries": _feed_entries,
    "raw.page_fetches": _page_fetches, "core.articles": _articles,
}


def _both(run: Callable[[str], StageReport]) -> tuple[StageReport, StageReport]:
    return run("native"), run("gx")


def _same(native: StageReport, gx: StageReport) -> None:
    assert len(native.results) == len(gx.results)
    for mine, theirs in zip(native.results, gx.results, strict=True):
        assert mine == theirs, mine.expectation
    assert native.quarantine() == gx.quarantine()


@pytest.mark.parametrize("table", sorted(SUITES))
@pytest.mark.parametrize("batch", ["defects", "clean", "empty"])
def test_native_checks_equal_gx(table: str, batch: str) -> None:
    frame = {"defects": DEFECTS[table], "clean": BUILDERS[table],
             "empty": lambda: BUILDERS[table]().iloc[0:0]}[batch]()
    for expect_rows in ((True, False) if batch == "empty" else (True,)):
        native, gx = _both(lambda engine, e=expect_rows: validate_batch(
            table, frame, stage="test", expect_rows=e, engine=engine))
        _same(native, gx)
    if batch == "defects":
        assert native.blocking_failed and native.quarantine()   # the defects were seen
        assert any(r.unexpected_sample for r in native.results)


def test_native_volume_equals_gx() -> None:
    window = daily_volume({"steady": [10] * 29, "drop": [12] * 28 + [1],
                           "spike": [5] * 28 + [60], "new": [0] * 25 + [1, 1, 1, 90],
                           "quiet": [2, 1, 3] * 9 + [2, 0]})
    silent = daily_volume({"a": [10] * 28 + [0], "b": [6] * 28 + [0]})
    for daily in (window, silent, window.iloc[0:0]):
        _same(*_both(lambda engine, d=daily: validate_volume(d, engine=engine)))
    report = validate_volume(window, engine="native")
    assert {r.expectation for r in report.results if not r.success} == {
        "volume_not_too_low", "volume_not_too_high"}


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown check engine"):
        validate_batch("raw.page_fetches", BUILDERS["raw.page_fetches"](), stage="x",
                       engine="sql")


def test_checking_a_batch_never_imports_gx() -> None:
    # a fresh process: the stages' checks and their recording need neither GX nor its import
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from tests.expectations.conftest import BUILDERS\n"
        "from expectations import validate_batch, validate_volume\n"
        "from tests.expectations.conftest import daily_volume\n"
        "for table, build in BUILDERS.items():\n"
        "    assert validate_batch(table, build(), stage='x').success, table\n"
        "validate_volume(daily_volume({'a': [3] * 29}))\n"
        "assert 'great_expectations' not in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300, cwd=root)
