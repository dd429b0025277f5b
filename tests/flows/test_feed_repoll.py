"""Polling unchanged feeds again writes only the attempts: no entry rows, no feed-config
updates; a feed whose configuration changed is updated, and only that one (bench/feeds.py
measures the same on 1,000 feeds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.feeds import FeedHandler
from flows.ingest_feeds import ingest
from flows.settings import Settings
from tests.localhttp import serving
from transforms.feedlist import FeedConfig, feed_id
from warehouse.feeds import upsert_configs
from warehouse.store import Store

CONFIG_COLUMNS = "feed_id, url, name, outlet, poll_minutes"


@pytest.fixture()
def base_url() -> Iterator[str]:
    """The bench's feeds (ETag and 304 on a repeated If-None-Match) on 127.0.0.1."""
    with serving(FeedHandler) as url:
        yield url


def _configs(store: Store) -> list[tuple[object, ...]]:
    return store.con.execute(f"SELECT {CONFIG_COLUMNS} FROM core.feeds ORDER BY feed_id").fetchall()


def _rows(store: Store, table: str, run_id: str) -> int:
    return int(store.scalar(f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id]))


def test_second_poll_of_unchanged_feeds_writes_only_the_attempts(tmp_path: Path,
                                                                 base_url: str) -> None:
    feeds = [FeedConfig(url=f"{base_url}/feed/{i}.xml", name=f"feed {i}") for i in range(6)]
    settings = Settings(db_path=tmp_path / "f.duckdb", allow_private_addresses=True,
                        run_checks=False, max_attempts=1)
    with Store.open(settings.db_path) as store:
        first = ingest(store, settings, feeds, run_id="one", only_due=False)
        assert (first["feed_configs_new"], first["feed_configs_updated"]) == (6, 0)
        assert _rows(store, "raw.feed_entries", "one") == 6 * FeedHandler.items
        configs = _configs(store)
        second = ingest(store, settings, feeds, run_id="two", only_due=False)
        assert second["status"] == "ok"
        assert _rows(store, "raw.feed_entries", "two") == 0
        assert (second["feed_configs_new"], second["feed_configs_updated"]) == (0, 0)
        assert _configs(store) == configs
        assert _rows(store, "raw.feed_fetches", "two") == 6
        assert store.scalar("SELECT bool_and(not_modified) FROM raw.feed_fetches "
                            "WHERE run_id = 'two'") is True

        # one feed renamed, one given its own poll interval: those two rows change, no other
        changed = [*feeds]
        changed[1] = FeedConfig(url=feeds[1].url, name="renamed", outlet="Other outlet")
        changed[4] = FeedConfig(url=feeds[4].url, name=feeds[4].name, poll_minutes=45)
        third = ingest(store, settings, changed, run_id="three", only_due=False)
        assert (third["feed_configs_new"], third["feed_configs_updated"]) == (0, 2)
        assert _rows(store, "raw.feed_entries", "three") == 0
        after = {row[0]: row for row in _configs(store)}
        before = {row[0]: row for row in configs}
        assert after[feed_id(feeds[1].url)][2:4] == ("renamed", "Other outlet")
        assert after[feed_id(feeds[4].url)][4] == 45
        assert {k for k in after if after[k] != before[k]} == {feed_id(feeds[1].url),
                                                                feed_id(feeds[4].url)}


def test_upsert_configs_counts_new_and_changed_rows_only(tmp_path: Path) -> None:
    feeds = [FeedConfig(url=f"http://127.0.0.1:9/feed/{i}.xml", name=f"feed {i}")
             for i in range(3)]
    with Store.open(tmp_path / "c.duckdb") as store:
        assert upsert_configs(store, feeds) == (3, 0)
        assert upsert_configs(store, feeds) == (0, 0)
        assert upsert_configs(store, []) == (0, 0)
        more = [*feeds[:2], FeedConfig(url=feeds[2].url, name="new name"),
                FeedConfig(url="http://127.0.0.1:9/feed/9.xml", name="feed 9")]
        assert upsert_configs(store, more) == (1, 1)
        assert store.scalar("SELECT name FROM core.feeds WHERE feed_id = ?",
                            [feed_id(feeds[2].url)]) == "new name"
        assert upsert_configs(store, more) == (0, 0)
