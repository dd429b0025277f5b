"""Analysts reading the published copy during real runs never see a torn state (issue 18).

A reader process queries ``analytics.duckdb`` in a loop, each time in a new session, while three
pipeline runs (each adding a new outlet's articles from the sample) write and publish. Every
answer must be one whole generation: each story link points at an article in the view, each
article's version count matches its versions, each story's article count matches its links,
and the freshness record counts the articles the view shows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from flows.cli.feeds import write_sample_feeds
from sample.server import SampleServer
from tests.flows.crashkit import run

pytestmark = pytest.mark.slow

CONSISTENCY = """
WITH a AS (SELECT * FROM analytics.articles),
v AS (SELECT article_key, count(*) AS n FROM analytics.article_versions GROUP BY ALL),
l AS (SELECT story_id, count(*) AS n FROM analytics.story_articles GROUP BY ALL)
SELECT
    (SELECT count(*) FROM a) AS articles,
    (SELECT count(*) FROM analytics.story_articles AS sa ANTI JOIN a USING (article_key))
        AS orphan_links,
    (SELECT count(*) FROM a LEFT JOIN v USING (article_key)
        WHERE coalesce(v.n, 0) <> a.version_count) AS version_mismatch,
    (SELECT count(*) FROM analytics.stories AS s LEFT JOIN l USING (story_id)
        WHERE coalesce(l.n, 0) <> s.articles) AS story_count_mismatch,
    (SELECT articles FROM analytics.published) AS published_articles
"""

READER = textwrap.dedent("""
    import json, sys, time, duckdb
    from pathlib import Path
    db, stop, sql = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    answers, errors = [], []
    while not stop.exists():
        if not db.exists():
            time.sleep(0.05)
            continue
        try:
            con = duckdb.connect(str(db), read_only=True)
            try:
                answers.append(con.execute(sql).fetchone())
            finally:
                con.close()
        except Exception as exc:  # every failure counts; the test asserts there are none
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.02)
    print(json.dumps({"answers": answers, "errors": errors}))
""")


def whole(row: list[Any]) -> bool:
    articles, orphans, versions, stories, published = row
    return orphans == 0 and versions == 0 and stories == 0 and published == articles


def test_a_reader_during_three_runs_sees_only_whole_generations(tmp_path: Path) -> None:
    db = tmp_path / "newsflow.duckdb"
    analytics = tmp_path / "analytics.duckdb"  # NEWSFLOW_PUBLISH_DIR's default, beside the store
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(analytics), str(stop),
                               CONSISTENCY], stdout=subprocess.PIPE, text=True)
    try:
        for i, seed in enumerate((7, 8, 9)):
            with SampleServer(n_articles=8, seed=seed) as server:
                folder = tmp_path / f"run{i}"
                folder.mkdir()
                done = run(db, write_sample_feeds(server.site, folder), f"reader-run-{i}")
                assert done.returncode == 0, done.stderr[-3000:]
        time.sleep(0.5)
    finally:
        stop.touch()
        seen = json.loads(reader.communicate(timeout=120)[0])
    answers, errors = seen["answers"], seen["errors"]
    torn = [a for a in answers if not whole(a)]
    sizes = sorted({a[0] for a in answers})
    print(f"{len(answers)} answers over article counts {sizes}: {len(torn)} inconsistent, "
          f"{len(errors)} errors")
    assert errors == []
    assert torn == []
    assert len(sizes) >= 3  # the reader really read across the runs' generations
