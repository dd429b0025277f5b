"""Story signatures signed in the worker pool equal those signed in this process."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

from pebble import ProcessPool

from transforms.stories import StoryDoc, StoryOptions
from warehouse.stories import sign_here
from workers.signing import PoolSigner

AT = datetime(2026, 3, 1, tzinfo=UTC)
WORDS = ("council", "flood", "Zürich", "harbour", "vote", "minister", "bridge", "storm",
         "Carlineo", "budget", "rescue", "river", "election", "museum", "strike", "rail")


def _docs(n: int) -> list[StoryDoc]:
    docs = []
    for i in range(n):
        text = " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(60 + i % 40))
        docs.append(StoryDoc(f"k{i:03d}", f"outlet-{i % 5}", AT + timedelta(hours=i),
                             f"{WORDS[i % len(WORDS)].title()} news {i}", f"{text}. Ende.",
                             "de" if i % 9 == 0 else "en"))
    return docs


def test_pool_signatures_equal_local_ones_in_order() -> None:
    docs, options = _docs(100), StoryOptions()
    with ProcessPool(max_workers=2, context=multiprocessing.get_context("spawn")) as pool:
        signer = PoolSigner(pool, chunk=16)
        signed = signer(docs, options)
    assert signed == sign_here(docs, options)
    assert [s.article_key for s in signed] == [d.article_key for d in docs]


def test_a_stopped_pool_signs_here_with_the_same_result() -> None:
    docs, options = _docs(40), StoryOptions()
    pool = ProcessPool(max_workers=1, context=multiprocessing.get_context("spawn"))
    pool.stop()
    pool.join()
    assert PoolSigner(pool, chunk=8)(docs, options) == sign_here(docs, options)
