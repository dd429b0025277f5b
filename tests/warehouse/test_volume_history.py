"""Articles per source per day for the volume check (warehouse.checks.volume_history), held to
its definition: every article counted on its day, whatever the store holds outside the window."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from tests.warehouse.test_stories import article
from warehouse.checks import volume_history
from warehouse.store import Store

T0 = datetime(2025, 3, 1, tzinfo=UTC)
# The definition: every article of the store counted on its day, then the window's days kept.
DEFINITION = """
WITH sources AS (SELECT DISTINCT coalesce(outlet, name, url) AS source FROM core.feeds),
days AS (SELECT unnest(generate_series($day::DATE - INTERVAL ($window - 1) DAY, $day::DATE,
                                       INTERVAL 1 DAY))::DATE AS day),
counts AS (
    SELECT coalesce(f.outlet, f.name, f.url, a.outlet) AS source,
           coalesce(a.published_at, a.first_seen_at)::DATE AS day, count(*) AS n
    FROM core.articles AS a LEFT JOIN core.feeds AS f USING (feed_id) GROUP BY ALL
)
SELECT s.source, d.day, coalesce(c.n, 0) AS n
FROM sources AS s CROSS JOIN days AS d
LEFT JOIN counts AS c ON c.source = s.source AND c.day = d.day
ORDER BY s.source, d.day
"""


def _store(zone: str) -> Store:
    """Articles of two feeds over a year, some with no publication date, whose times fall at
    every hour (so near midnight too) of the session's time zone ``zone``."""
    rng = random.Random(11)
    store = Store.open(None)
    store.con.execute(f"SET TimeZone = '{zone}'")
    store.insert("core.feeds", [{
        "feed_id": f, "url": f"https://{f}.example/feed", "name": f"{f} news", "outlet": f,
        "consecutive_failures": 0, "entries_seen": 1, "status": "ok"} for f in ("a", "b")])
    rows: list[dict[str, Any]] = []
    for n in range(1500):
        seen = T0 + timedelta(hours=rng.randint(0, 365 * 24), minutes=rng.choice([0, 59]))
        row = article(f"k/{n}", "o", "t", "x", seen)
        row["feed_id"] = rng.choice(["a", "b"])
        row["published_at"] = rng.choice([None, seen - timedelta(hours=rng.randint(0, 96))])
        rows.append(row)
    for start in range(0, len(rows), 300):  # batches, as runs write them
        store.insert("core.articles", rows[start:start + 300])
    return store


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_the_window_counts_match_counting_every_article(zone: str) -> None:
    store = _store(zone)
    for day in (date(2025, 3, 1), date(2025, 6, 30), date(2025, 12, 31), date(2026, 3, 2)):
        for window in (1, 7, 28):
            got = [(source, pd.Timestamp(d).date(), int(n)) for source, d, n
                   in volume_history(store, day, window).itertuples(index=False)]
            want = store.con.execute(DEFINITION, {"day": day, "window": window}).fetchall()
            assert got == want
            assert len(want) == 2 * window
    assert sum(n for *_, n in store.con.execute(
        DEFINITION, {"day": date(2025, 6, 30), "window": 28}).fetchall()) > 0
