"""The run summary names what failed: each feed with why, each failed check with its reason
(the pages, Data Docs and the volume chart, are drawn by the daily report, not by the run)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from tests.sample_mode import sample_settings


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from flows.pipeline import run_pipeline
    from sample.server import SampleServer
    from transforms.feedlist import FeedConfig, dump_feeds_yaml, load_feeds_yaml

    folder = tmp_path_factory.mktemp("summary")
    with socket.socket() as probe:  # a port nothing listens on: the dead feed's
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/gone/feed.xml"
    with SampleServer(n_articles=18, defects=True) as server:
        settings = sample_settings(server, folder, run_checks=True, extract_workers=2,
                                   max_attempts=1)
        feeds = load_feeds_yaml(settings.feeds_file.read_text(encoding="utf-8"))
        feeds.append(FeedConfig(url=dead, name="Gone Gazette"))
        settings.feeds_file.write_text(dump_feeds_yaml(feeds), encoding="utf-8")
        result = run_pipeline(settings, run_id="summary-1", only_due=False)
    yield {"result": result, "db": settings.db_path, "docs": settings.docs_dir, "dead": dead}


def summary(run: dict[str, Any]) -> str:
    from flows.cli.report import print_summary
    from warehouse.reports import example_query

    console = Console(width=200, record=True, color_system=None)
    print_summary(console, run["db"], run["result"], example_query())
    return console.export_text()


def test_the_summary_names_the_failed_feed_and_why(run: dict[str, Any]) -> None:
    text = summary(run)
    assert "Feeds that failed (1):" in text
    (line,) = [t for t in text.splitlines() if "Gone Gazette" in t]
    assert run["dead"] in line and "connect" in line.lower()


def test_the_summary_names_the_failed_checks_with_their_reasons(run: dict[str, Any]) -> None:
    text = summary(run)
    assert "Checks that failed" in text
    failed = [t.strip() for t in text.splitlines() if t.startswith("  blocking ")
              or t.startswith("  warning ")]
    names = " ".join(failed)
    # the sample's planted defects (tests/expectations/test_sample_defects.py)
    for check in ("guid_link_unique_per_fetch", "not_mostly_boilerplate", "volume_not_too_low"):
        assert check in names, failed
    assert all(" - " in line for line in failed)  # each with why it matters
    assert failed[0].startswith("blocking")  # blocking first


def test_the_run_leaves_the_pages_to_the_daily_report(run: dict[str, Any]) -> None:
    # Data Docs and the volume chart are drawn by quality_report (daily), not by every run
    # (docs/quality.md); tests/expectations/test_sample_defects.py checks what it draws
    text = summary(run)
    assert "Data Docs:" not in text and "Volume chart:" not in text
    assert not (run["docs"] / "index.html").exists()
    assert {"docs", "chart"}.isdisjoint(run["result"]["stages"]["volume"])
