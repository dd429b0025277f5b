"""Publish splits analytics.stories and analytics.story_articles by day, like articles (issue 13).

A story's rows depend on all its members (positions, the time from the first report, the
syndication origin, the most central member's title for the headline) and on which of them the
analyst views show. So a day's token covers each of its stories whole; these tests change a story
the ways the pipeline does (an article joins it, a member is quarantined, a title is revised) and
check that only the days of the stories touched are written, and that the copy equals a full
republish of the same store.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.warehouse.test_publish_changes import narrowed_reads_match, same_as_full
from tests.warehouse.test_stories import _sample_store, article
from warehouse.publish import publish
from warehouse.store import Store
from warehouse.stories import update_stories


@pytest.fixture()
def linked() -> tuple[Store, list[Any]]:
    """The sample site's articles (its outlets report the same events), linked into stories."""
    store, docs = _sample_store(240, 5)
    keys = sorted(d.article_key for d in docs)
    for start in range(0, len(keys), 80):
        update_stories(store.con, keys[start:start + 80])
    assert store.scalar("SELECT count(*) FROM analytics.stories") >= 10
    return store, docs


def days_written(result: dict[str, Any], table: str) -> set[str]:
    return {re.sub(r"^.*=(\d{4}-\d{2}-\d{2}).*$", r"\1", p)
            for p in result["written"] if p.startswith(f"{table}/")}


def days_of(store: Store, sql: str, keys: list[str]) -> set[str]:
    return {str(d) for (d,) in store.con.execute(sql, [keys]).fetchall()}


STORY_DAYS = ("SELECT DISTINCT timezone('UTC', first_published_at)::DATE FROM core.stories "
              "WHERE story_id IN (SELECT unnest(?::VARCHAR[]))")
MEMBER_DAYS = ("SELECT DISTINCT timezone('UTC', published_at)::DATE FROM core.story_articles "
               "WHERE story_id IN (SELECT unnest(?::VARCHAR[]))")


@pytest.mark.parametrize("key", ["stories", "story_articles"])
def test_a_narrowed_read_gives_the_views_rows_of_those_days(
        linked: tuple[Store, list[Any]], key: str) -> None:
    narrowed_reads_match(linked[0], key)


def test_a_story_change_rewrites_only_its_days(linked: tuple[Store, list[Any]],
                                               tmp_path: Path) -> None:
    store, docs = linked
    out = tmp_path / "published"
    first = publish(store, out)
    assert first["tables"]["stories"] == store.scalar("SELECT count(*) FROM analytics.stories")
    assert publish(store, out)["files_written"] == 0  # nothing changed: all linked

    # A member of a big story is quarantined: its story (members' days, the story's day) only.
    story, member = store.con.execute(
        "SELECT story_id, arg_max(article_key, position) FROM core.story_articles "
        "GROUP BY story_id ORDER BY count(*) DESC, story_id LIMIT 1").fetchone()
    with store.transaction("test"):
        store.insert("quality.quarantine", [{
            "run_id": "r1", "stage": "extract_articles", "table_name": "core.articles",
            "event_id": member, "reason": "test", "quarantined_at": docs[0].event_at}])
    result = publish(store, out)
    assert days_written(result, "stories") == days_of(store, STORY_DAYS, [story])
    assert days_written(result, "story_articles") == days_of(store, MEMBER_DAYS, [story])
    same_as_full(store, tmp_path, out)

    # A copy of a story's first report, a day later, joins that story.
    first_key, title, text, at = store.con.execute(
        "SELECT a.article_key, a.title, a.text, a.published_at FROM core.articles a "
        "JOIN core.stories s ON s.first_article_key = a.article_key "
        "WHERE s.story_id <> ? ORDER BY s.article_count DESC, s.story_id LIMIT 1",
        [story]).fetchone()
    joined = store.scalar("SELECT story_id FROM core.story_articles WHERE article_key = ?",
                          [first_key])
    copy = article("copy/1", "another outlet", title, text, at + timedelta(days=1))
    store.insert("core.articles", [copy])
    update_stories(store.con, ["copy/1"])
    now = store.scalar("SELECT story_id FROM core.story_articles WHERE article_key = 'copy/1'")
    assert now == joined  # the same first report, so the same story id
    result = publish(store, out)
    assert days_written(result, "story_articles") == days_of(store, MEMBER_DAYS, [joined])
    assert days_written(result, "stories") == days_of(store, STORY_DAYS, [joined])
    same_as_full(store, tmp_path, out)

    # The story's first report is revised (a new title): the headline may change, so its days.
    with store.transaction("test"):
        store.replace("core.articles", "article_key", [
            dict(store.con.execute("SELECT * FROM core.articles WHERE article_key = ?",
                                   [first_key]).to_arrow_table().to_pylist()[0],
                 title="A revised title", content_hash="revised")])
    result = publish(store, out)
    assert days_written(result, "story_articles") == days_of(store, MEMBER_DAYS, [joined])
    assert days_written(result, "stories") == days_of(store, STORY_DAYS, [joined])
    same_as_full(store, tmp_path, out)
