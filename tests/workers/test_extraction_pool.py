"""The spawned extraction pool: isolation of hangs, crashes and memory blow-ups
(FAULTS 56, 60, 61, 80). One pool serves several cases because spawning costs seconds."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time

import pytest

from transforms.extraction import Extraction, ExtractOptions, failed
from transforms.pageclass import PageClass
from workers.extraction import ExtractionPool

ARTICLE = ("<html><head><title>T</title></head><body><article>"
           + "".join(f"<p>Paragraph {i} of a perfectly ordinary news article body text, "
                     "long enough to count as content for the extractor.</p>" for i in range(12))
           + "</article></body></html>").encode()
MARK = "fresh"


def misbehave(body: bytes, content_type: str | None, url: str,
              options: ExtractOptions) -> Extraction:
    """A fake extractor: hangs, segfaults, raises, hogs memory or reports MARK on demand, else
    returns a trivial result at once (a loaded test machine cannot push it past the timeout)."""
    if body == b"hang":
        time.sleep(3600)
    if body == b"segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if body == b"raise":
        raise RuntimeError("boom")
    if body == b"hog":
        hog = bytearray(4 * 1024**3)  # past the worker's address-space limit
        return failed(url, PageClass.TOO_SHORT, f"allocated {len(hog)}")
    if body == b"main":
        # pebble's workers skip the parent's __main__ (pytest here; the CLI or Prefect in use)
        main_file = getattr(sys.modules["__main__"], "__file__", None)
        return failed(url, PageClass.TOO_SHORT, f"parent main imported: {main_file is not None}")
    if body == b"mark":
        # A forked child would see the parent's patched MARK; a spawned one imports afresh.
        return failed(url, PageClass.TOO_SHORT, MARK)
    return failed(url, PageClass.TOO_SHORT, "fake")


def test_case_56_60_61_80_failures_cost_one_page_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "MARK", "changed in parent")
    before = set(multiprocessing.active_children())  # other tests' pools are not this one's
    items = [
        ("hang", b"hang", "text/html", "https://example.com/hang"),
        ("segv", b"segv", "text/html", "https://example.com/segv"),
        ("raise", b"raise", "text/html", "https://example.com/raise"),
        ("hog", b"hog", "text/html", "https://example.com/hog"),
        ("mark", b"mark", "text/html", "https://example.com/mark"),
        ("main", b"main", "text/html", "https://example.com/main"),
    ] + [(f"ok{i}", b"ok", "text/html", f"https://example.com/x{i}") for i in range(10)]
    with ExtractionPool(workers=2, timeout_s=2.0, memory_mb=512, target=misbehave) as pool:
        results = dict(pool.extract_many(items))
    assert results["hang"].page_class is PageClass.EXTRACT_TIMEOUT  # case 61
    assert results["segv"].page_class is PageClass.EXTRACT_CRASH  # case 60
    assert "exit -11" in (results["segv"].reason or "")
    assert results["raise"].page_class is PageClass.EXTRACT_CRASH
    assert "RuntimeError" in (results["raise"].reason or "")
    assert results["hog"].page_class is PageClass.EXTRACT_CRASH  # case 56, memory limit
    assert "memory" in (results["hog"].reason or "")
    assert results["mark"].reason == "fresh"  # case 80: spawned, not forked
    assert results["main"].reason == "parent main imported: False"  # workers.lean_spawn
    ok = {k: e for k, e in results.items() if k.startswith("ok")}
    assert len(ok) == 10
    assert all(e.page_class is PageClass.TOO_SHORT for e in ok.values()), ok
    assert set(multiprocessing.active_children()) - before == set()  # no worker left behind


def test_real_extraction_results_come_back_in_input_order() -> None:
    items = [(i, ARTICLE if i % 2 else b"%PDF-1.4", "text/html", f"https://e.com/{i}")
             for i in range(20)]
    with ExtractionPool(workers=2) as pool:
        results = list(pool.extract_many(items))
    assert [k for k, _ in results] == list(range(20))
    assert [e.page_class for _, e in results] == [
        PageClass.ARTICLE if i % 2 else PageClass.BINARY for i in range(20)]
    assert results[1][1].extractor == "trafilatura-precision"


def test_pool_requires_context_manager() -> None:
    with pytest.raises(RuntimeError):
        list(ExtractionPool(workers=1).extract_many([]))


def test_a_pool_that_never_answers_is_reported_not_waited_on_forever(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import Future

    import workers.extraction as extraction

    # Tasks that no worker ever picks up (as when workers cannot start): futures never settle.
    monkeypatch.setattr(extraction, "START_ALLOWANCE_S", 0.5)
    monkeypatch.setattr(ExtractionPool, "_schedule", lambda self, chunk: (chunk, Future()))
    pool = ExtractionPool(workers=1, timeout_s=0.1)
    pool._pool = object()  # type: ignore[assignment]  # never used: _schedule is replaced
    started = time.monotonic()
    with pytest.raises(extraction.PoolStalledError, match="no extraction worker answered"):
        list(pool.extract_many([("k", b"x", "text/html", "https://e.com/k")]))
    assert pool.patience_s() == pytest.approx(0.1 * (extraction.WINDOW_PER_WORKER + 1) + 0.5)
    assert time.monotonic() - started >= pool.patience_s()  # it did wait its full patience


def test_workers_report_their_own_peak_memory_not_the_parents() -> None:
    # A spawned child's ru_maxrss (and so the parent's RUSAGE_CHILDREN) starts at the parent's
    # peak: Linux carries it across the exec. The pool reports what the workers themselves used.
    ballast = bytearray(400 * 1024 * 1024)
    ballast[::4096] = b"x" * len(range(0, len(ballast), 4096))  # make the pages resident
    items = [(i, ARTICLE, "text/html", f"https://e.com/{i}") for i in range(10)]
    with ExtractionPool(workers=1) as pool:
        results = dict(pool.extract_many(items))
    assert all(e.page_class is PageClass.ARTICLE for e in results.values())
    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc: the peak is not measured here")
    assert pool.worker_peak_mb is not None
    assert 10 < pool.worker_peak_mb < 300, pool.worker_peak_mb  # not the parent's 400+ MB
    del ballast
