"""The newest day the articles cover (warehouse.checks.latest_data_day), held to its definition."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.warehouse.test_stories import article
from warehouse.checks import latest_data_day
from warehouse.store import Store

T0 = datetime(2025, 3, 1, 6, tzinfo=UTC)


def _defined(rows: list[dict[str, Any]]) -> date | None:
    """max(coalesce(published_at, first_seen_at)) over the rows whose value is at most two days
    past their first sighting, in Python."""
    values = []
    for r in rows:
        value = r["published_at"] if r["published_at"] is not None else r["first_seen_at"]
        if value is not None and value <= r["first_seen_at"] + timedelta(days=2):
            values.append(value)
    return max(values).date() if values else None


def test_the_latest_day_follows_its_definition_whatever_the_dates_are() -> None:
    """Publication dates before, near and far after the first sighting, and none at all, in
    several batches: the day found is the one the definition gives, after every batch."""
    rng = random.Random(7)
    store = Store.open(None)
    assert latest_data_day(store) is None
    rows: list[dict[str, Any]] = []
    for batch in range(6):
        new = []
        for n in range(60):
            seen = T0 + timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23))
            row = article(f"k/{batch}/{n}", "outlet", "t", "text", seen)
            row["published_at"] = rng.choice([
                None,
                seen - timedelta(days=rng.randint(0, 400)),
                seen + timedelta(hours=rng.randint(0, 47)),
                seen + timedelta(days=rng.randint(3, 900)),  # not trusted: past two days
            ])
            new.append(row)
        store.insert("core.articles", new)
        rows += new
        assert latest_data_day(store) == _defined(rows)


def test_a_date_past_two_days_after_the_sighting_does_not_set_the_day() -> None:
    store = Store.open(None)
    late = article("a", "o", "t", "x", T0)
    late["published_at"] = T0 + timedelta(days=2, hours=12)  # past two days: not trusted
    undated = article("b", "o", "t", "x", T0 - timedelta(days=1))
    undated["published_at"] = None  # its first sighting counts
    store.insert("core.articles", [late, undated])
    assert latest_data_day(store) == (T0 - timedelta(days=1)).date()
    near = article("c", "o", "t", "x", T0 - timedelta(days=1))
    near["published_at"] = T0 + timedelta(days=1, hours=-1)  # within two days of its sighting
    store.insert("core.articles", [near])
    assert latest_data_day(store) == date(2025, 3, 2)
