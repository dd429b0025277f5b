"""One pool per run (workers.resident) shared by feed parsing and extraction, and extraction's
head start on pages still being fetched (workers.headstart)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from transforms.extraction import Extraction, ExtractOptions, failed
from transforms.feeds import FeedOutcome, parse_feed
from transforms.pageclass import PageClass
from workers import feedparse
from workers.extraction import ExtractionPool
from workers.headstart import HeadStart
from workers.resident import ResidentPool

T0 = datetime(2026, 3, 3, tzinfo=UTC)
FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>ok</title>'
        b"<item><title>one</title><link>/1</link><guid>1</guid></item></channel></rss>")


def echo(body: bytes, content_type: str | None, url: str, options: ExtractOptions) -> Extraction:
    """A fake extractor: hangs on b"hang", else answers with the body and the worker's pid."""
    if body == b"hang":
        time.sleep(3600)
    return failed(url, PageClass.TOO_SHORT, f"{body.decode()} {os.getpid()}")


def counted(body: bytes, content_type: str | None, url: str,
            options: ExtractOptions) -> Extraction:
    """A fake extractor that leaves one line per call in $COUNT_DIR/<body>."""
    with open(os.path.join(os.environ["COUNT_DIR"], body.decode()), "a") as calls:
        calls.write("x\n")
    time.sleep(0.05)  # slower than offering: most chunks wait for a free slot
    return failed(url, PageClass.TOO_SHORT, body.decode())


def pids_of(results: dict[object, Extraction]) -> set[str]:
    return {str(e.reason).rsplit(" ", 1)[1] for e in results.values()}


def test_one_pool_parses_feeds_and_extracts_and_outlives_its_borrowers() -> None:
    before = set(multiprocessing.active_children())
    with ResidentPool(2, memory_mb=1024) as resident:
        assert feedparse._get_pool() is resident._pool  # parses go to the run's workers
        parsed = feedparse.parse_feed_limited(FEED, {}, "https://e.com/f", fetched_at=T0)
        assert parsed == parse_feed(FEED, {}, "https://e.com/f", fetched_at=T0)
        assert parsed.outcome == FeedOutcome.OK
        items = [(i, f"page{i}".encode(), "text/html", f"https://e.com/{i}") for i in range(12)]
        with resident.extraction(timeout_s=30) as pool:
            pool.target = echo
            first = dict(pool.extract_many(items))
        # the borrower closed; the workers still answer
        second = resident.extraction(timeout_s=30)
        second.target = echo
        again = dict(second.extract_many(items[:4]))
        workers = set(multiprocessing.active_children()) - before
        assert len(workers) == 2  # one pool for feeds and pages, not one per stage
        assert pids_of(first) | pids_of(again) <= {str(p.pid) for p in workers}
        assert [first[i].reason.split()[0] for i in range(12)] == [f"page{i}" for i in range(12)]
    assert feedparse._resident is None
    assert feedparse._get_pool() is not resident._pool  # back to the module's own pool
    feedparse.shutdown()
    assert set(multiprocessing.active_children()) - before == set()


def test_head_start_answers_as_the_pool_would_and_isolates_a_hang() -> None:
    with ExtractionPool(workers=2, timeout_s=2.0, target=echo) as pool:
        head = HeadStart(pool)
        offered = [(f"a{i}".encode(), "text/html", f"https://e.com/a{i}") for i in range(19)]
        offered.append((b"hang", "text/html", "https://e.com/hang"))
        for page in offered:
            head.offer(*page)
        head.fetched()
        assert head.offered == 20
        # the extract stage asks by its own keys, in its own order, with pages never offered
        items = [(f"id{i}", body, ctype, url) for i, (body, ctype, url) in enumerate(offered)]
        items.reverse()
        items += [(f"late{i}", f"b{i}".encode(), "text/html", f"https://e.com/b{i}")
                  for i in range(5)]
        results = list(head.extract_many(items))
        assert [k for k, _ in results] == [k for k, *_ in items]  # input order
        by_key = dict(results)
        assert by_key["id19"].page_class is PageClass.EXTRACT_TIMEOUT  # the hang costs itself
        for key, body, _, url in items:
            if body != b"hang":
                assert by_key[key].reason.split()[0] == body.decode() and by_key[key].url == url
        assert head.used == 20  # every offered page came from its head start
        # a page whose body changed since it was offered is extracted anew, not from the head
        changed = list(head.extract_many([("x", b"other", "text/html", "https://e.com/a1")]))
        assert changed[0][1].reason.split()[0] == "other"
        head.close()


def test_head_start_takes_the_hashes_the_fetch_and_the_store_already_have() -> None:
    """The fetch offers each body with its sha256 and the extract stage asks with the stored
    one: the pages are found by those, and a hash that is not the offered body's is a miss."""
    with ExtractionPool(workers=2, timeout_s=5.0, target=echo) as pool:
        head = HeadStart(pool)
        pages = [(f"a{i}".encode(), "text/html", f"https://e.com/a{i}") for i in range(10)]
        for body, ctype, url in pages:
            head.offer(body, ctype, url, hashlib.sha256(body).hexdigest())
        head.fetched()
        items = [(f"id{i}", body, ctype, url) for i, (body, ctype, url) in enumerate(pages)]
        digests = {f"id{i}": hashlib.sha256(body).hexdigest() for i, (body, _, _) in
                   enumerate(pages)}
        digests["id3"] = hashlib.sha256(b"another body").hexdigest()
        results = dict(head.extract_many(items, digests=digests))
        assert head.used == 9  # all but the page asked under another body's hash
        assert [results[f"id{i}"].reason.split()[0] for i in range(10)] == \
            [f"a{i}" for i in range(10)]
        head.close()


def test_pages_waiting_for_a_slot_are_not_extracted_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNT_DIR", str(tmp_path))
    with ExtractionPool(workers=2, timeout_s=30, target=counted) as pool:
        head = HeadStart(pool)
        pages = [(f"p{i}".encode(), "text/html", f"https://e.com/p{i}") for i in range(80)]
        for page in pages:
            head.offer(*page)
        head.fetched()  # 10 chunks; at most 6 in flight, the rest wait
        items = [(i, body, ctype, url) for i, (body, ctype, url) in enumerate(pages)]
        results = dict(head.extract_many(items))
        head.close()
    assert [results[i].reason for i in range(80)] == [f"p{i}" for i in range(80)]
    calls = {f.name: f.read_text().count("x") for f in tmp_path.iterdir()}
    assert calls == {f"p{i}": 1 for i in range(80)}
