"""The spawned extraction pool: isolation of hangs and crashes (FAULTS 56, 60, 61)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from transforms.extraction import Extraction, ExtractOptions, extract_page
from transforms.pageclass import PageClass
from workers.extraction import ExtractionPool

ARTICLE = ("<html><head><title>T</title></head><body><article>"
           + "".join(f"<p>Paragraph {i} of a perfectly ordinary news article body text, "
                     "long enough to count as content for the extractor.</p>" for i in range(12))
           + "</article></body></html>").encode()


def sleepy_or_crashy(body: bytes, content_type: str | None, url: str,
                     options: ExtractOptions) -> Extraction:
    """A fake extractor: hangs on 'hang', segfaults on 'segv', else extracts normally."""
    if body == b"hang":
        time.sleep(3600)
    if body == b"segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if body == b"raise":
        raise RuntimeError("boom")
    return extract_page(body, content_type, url, options=options)


def test_case_60_61_hang_and_crash_cost_one_page_each() -> None:
    items = [
        ("first", ARTICLE, "text/html", "https://example.com/1"),
        ("hang", b"hang", "text/html", "https://example.com/2"),
        ("segv", b"segv", "text/html", "https://example.com/3"),
        ("raise", b"raise", "text/html", "https://example.com/4"),
    ] + [(f"ok{i}", ARTICLE, "text/html", f"https://example.com/x{i}") for i in range(10)]
    with ExtractionPool(workers=2, timeout_s=2.0, target=sleepy_or_crashy) as pool:
        results = dict(pool.extract_many(items))
    assert results["hang"].page_class is PageClass.EXTRACT_TIMEOUT
    assert results["segv"].page_class is PageClass.EXTRACT_CRASH
    assert results["raise"].page_class is PageClass.EXTRACT_CRASH
    assert "RuntimeError" in (results["raise"].reason or "")
    ok = [k for k, e in results.items() if e.page_class is PageClass.ARTICLE]
    assert len(ok) == 11, {k: (e.page_class, e.reason) for k, e in results.items()}
    assert sorted(ok) == sorted(["first"] + [f"ok{i}" for i in range(10)])
    assert multiprocessing.active_children() == []


def test_results_come_back_in_input_order_with_their_keys() -> None:
    items = [(i, ARTICLE if i % 2 else b"%PDF-1.4", "text/html", f"https://e.com/{i}")
             for i in range(20)]
    with ExtractionPool(workers=2) as pool:
        results = list(pool.extract_many(items))
    assert [k for k, _ in results] == list(range(20))
    assert [e.page_class for _, e in results] == [
        PageClass.ARTICLE if i % 2 else PageClass.BINARY for i in range(20)]


def test_pool_requires_context_manager() -> None:
    with pytest.raises(RuntimeError):
        list(ExtractionPool(workers=1).extract_many([]))
