"""The spawned extraction pool: isolation of hangs and crashes (FAULTS 56, 60, 61)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from transforms.extraction import Extraction, ExtractOptions, failed
from transforms.pageclass import PageClass
from workers.extraction import ExtractionPool

ARTICLE = ("<html><head><title>T</title></head><body><article>"
           + "".join(f"<p>Paragraph {i} of a perfectly ordinary news article body text, "
                     "long enough to count as content for the extractor.</p>" for i in range(12))
           + "</article></body></html>").encode()


def sleepy_or_crashy(body: bytes, content_type: str | None, url: str,
                     options: ExtractOptions) -> Extraction:
    """A fake extractor: hangs on 'hang', segfaults on 'segv', raises on 'raise', else returns
    a trivial result at once (so a loaded test machine cannot push it past the timeout)."""
    if body == b"hang":
        time.sleep(3600)
    if body == b"segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if body == b"raise":
        raise RuntimeError("boom")
    return failed(url, PageClass.TOO_SHORT, f"fake {os.getpid()}")


def test_case_60_61_hang_and_crash_cost_one_page_each() -> None:
    items = [
        ("hang", b"hang", "text/html", "https://example.com/2"),
        ("segv", b"segv", "text/html", "https://example.com/3"),
        ("raise", b"raise", "text/html", "https://example.com/4"),
    ] + [(f"ok{i}", b"ok", "text/html", f"https://example.com/x{i}") for i in range(10)]
    with ExtractionPool(workers=2, timeout_s=2.0, target=sleepy_or_crashy) as pool:
        results = dict(pool.extract_many(items))
    assert results["hang"].page_class is PageClass.EXTRACT_TIMEOUT
    assert results["segv"].page_class is PageClass.EXTRACT_CRASH
    assert "exit -11" in (results["segv"].reason or "")
    assert results["raise"].page_class is PageClass.EXTRACT_CRASH
    assert "RuntimeError" in (results["raise"].reason or "")
    ok = {k: e for k, e in results.items() if k.startswith("ok")}
    assert len(ok) == 10
    assert all(e.page_class is PageClass.TOO_SHORT for e in ok.values()), ok
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
