"""docs/schema.md is generated from the analytics views and their comments: they must agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.schemadoc import render, undocumented, views
from warehouse.store import Store

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
REQUIRED = {"articles", "article_versions", "sources", "daily_volume", "feed_health", "stories",
            "story_articles", "quality", "items"}


@pytest.fixture(scope="module")
def store() -> Store:
    return Store.open(None)


def test_every_required_view_exists(store: Store) -> None:
    assert {v.name for v in views(store.con)} >= REQUIRED


def test_every_view_and_column_has_a_comment(store: Store) -> None:
    missing = undocumented(store.con)
    assert not missing, f"add COMMENT ON lines to warehouse/views/59_comments.sql for {missing}"


def test_schema_doc_matches_the_views(store: Store) -> None:
    expected = render(store.con)
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/schema.md is stale: run `python -m warehouse.schemadoc > docs/schema.md`")


def test_doc_lists_each_column_of_each_view(store: Store) -> None:
    text = DOC.read_text(encoding="utf-8")
    for view in views(store.con):
        section = text.split(f"## {view.schema}.{view.name}\n", 1)[1].split("\n## ", 1)[0]
        listed = [line.split("|")[1].strip() for line in section.splitlines()
                  if line.startswith("| ") and not line.startswith("| column")]
        assert listed == [c.name for c in view.columns], view.name
