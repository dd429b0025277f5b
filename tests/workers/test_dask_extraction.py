"""Extraction on Dask gives what the local process pool gives, page for page and in core.articles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from transforms.pageclass import PageClass
from warehouse.events import compress
from workers import dask_extraction
from workers.dask_extraction import DaskExtractionPool, extraction_pool
from workers.extraction import ExtractionPool

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WORDS = ("council", "budget", "river", "bridge", "school", "weather", "market", "harbour",
         "festival", "library", "station", "museum")


def page(i: int) -> bytes:
    """A plain news page with a title, a byline, a dated article and site clutter."""
    sentences = " ".join(
        f"The {WORDS[(i + k) % len(WORDS)]} story number {i} continues with detail {k} that "
        f"residents discussed at length on {WORDS[(i * k) % len(WORDS)]} street."
        for k in range(14))
    return (f"<html><head><title>Story {i} about the {WORDS[i % len(WORDS)]}</title>"
            f'<meta property="og:title" content="Story {i}">'
            f'<meta property="article:published_time" content="2026-11-1{i % 9}T08:00:00Z">'
            "</head><body><nav>Home | World | Subscribe</nav><article>"
            f"<h1>Story {i}</h1><p>{sentences}</p><p>{sentences[::-1][:200]}</p>"
            "</article><footer>Copyright Example News</footer></body></html>").encode()


ITEMS = [(f"k{i}", page(i), "text/html; charset=utf-8", f"https://news.example/{i}")
         for i in range(6)]
ITEMS += [("pdf", b"%PDF-1.7 not html", "text/html", "https://news.example/doc"),
          ("empty", b"   ", "text/html", "https://news.example/empty")]


@pytest.fixture(autouse=True)
def no_cached_local_pool() -> Iterator[None]:
    """ThreadClient runs chunks in this process, which then caches a local ExtractionPool (as a
    Dask worker would, until exit): close it so no spawned worker outlives the test."""
    yield
    dask_extraction._close_local_pool()


class ThreadClient:
    """A stand-in for ``distributed.Client``: same submit/result/cancel surface, local threads."""

    def __init__(self, wrap: Callable[[Future[Any]], Any] | None = None) -> None:
        self.executor = ThreadPoolExecutor(2)
        self.wrap = wrap
        self.submitted = 0

    def submit(self, func: Callable[..., Any], *args: Any, pure: bool = True) -> Any:
        assert pure is False  # each chunk must run, never be served from a cache
        self.submitted += 1
        future = self.executor.submit(func, *args)
        return self.wrap(future) if self.wrap else future

    def close(self) -> None:
        self.executor.shutdown()


class Broken:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.cancelled = False

    def result(self, timeout: float | None = None) -> Any:
        raise self.exc

    def cancel(self) -> None:
        self.cancelled = True


def summary(results: list[tuple[Any, Any]]) -> list[tuple[Any, ...]]:
    return [(k, e.page_class, e.title, e.text, e.content_hash, e.published_at)
            for k, e in results]


@pytest.fixture(scope="module")
def local_results() -> list[tuple[Any, Any]]:
    with ExtractionPool(workers=1, timeout_s=30) as pool:
        return list(pool.extract_many(ITEMS))


def test_chunked_client_path_matches_the_process_pool(local_results: list[tuple[Any, Any]]
                                                      ) -> None:
    client = ThreadClient()
    with DaskExtractionPool(client=client, chunk_size=3) as pool:
        remote = list(pool.extract_many(ITEMS))
    assert client.submitted == 3  # 8 pages in chunks of 3
    assert summary(remote) == summary(local_results)
    classes = {k: e.page_class for k, e in remote}
    assert classes["k0"] == PageClass.ARTICLE
    assert classes["pdf"] == PageClass.BINARY


@pytest.mark.parametrize(("exc", "expected"), [
    (RuntimeError("KilledWorker: worker died 3 times"), PageClass.EXTRACT_CRASH),
    (TimeoutError(), PageClass.EXTRACT_TIMEOUT),
])
def test_lost_chunk_costs_its_pages_only(exc: BaseException, expected: PageClass) -> None:
    calls = iter(range(10))
    broken: list[Broken] = []

    def wrap(future: Future[Any]) -> Any:
        if next(calls) == 1:  # the second chunk is lost
            broken.append(Broken(exc))
            return broken[-1]
        return future

    with DaskExtractionPool(client=ThreadClient(wrap), chunk_size=3) as pool:
        out = list(pool.extract_many(ITEMS))
    assert [k for k, _ in out] == [k for k, *_ in ITEMS]
    lost = [k for k, e in out if e.page_class == expected]
    assert lost == ["k3", "k4", "k5"]
    assert all(e.page_class != expected for k, e in out if k not in lost)
    assert broken[0].cancelled == (expected == PageClass.EXTRACT_TIMEOUT)


def test_the_setting_chooses_the_pool() -> None:
    base = {"extract_timeout_s": 5.0, "extract_memory_mb": 512, "workers": lambda: 2}
    assert isinstance(extraction_pool(SimpleNamespace(**base)), ExtractionPool)
    assert isinstance(extraction_pool(SimpleNamespace(**base, dask_address=None)), ExtractionPool)
    chosen = extraction_pool(SimpleNamespace(**base, dask_address="tcp://127.0.0.1:8786"))
    assert isinstance(chosen, DaskExtractionPool)
    assert chosen.address == "tcp://127.0.0.1:8786" and chosen.timeout_s == 5.0


def page_fetch_rows() -> list[dict[str, Any]]:
    rows = []
    for n, (_key, body, ctype, url) in enumerate(ITEMS):
        when = T0 + timedelta(minutes=n)
        rows.append({
            "event_id": f"pf{n}", "run_id": "seed", "occurred_at": when, "recorded_at": when,
            "schema_version": 1, "url": url, "url_key": url, "source": "feed", "attempt": 1,
            "final_url": url, "redirect_chain": [], "status": 200, "error_class": None,
            "error_detail": None, "headers": "{}", "content_type": ctype, "charset": "utf-8",
            "body": compress(body), "body_sha256": f"sha{n}", "body_bytes": len(body),
            "elapsed_ms": 5})
    return rows


@pytest.fixture()
def dask_address() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                      dashboard_address=None, worker_dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_dask_cluster_gives_the_same_core_articles(tmp_path: Path, dask_address: str) -> None:
    from flows.extract_articles import extract
    from flows.settings import load_settings
    from warehouse.store import Store

    tables = {}
    for name, make_pool in (("local", lambda s: ExtractionPool(workers=1, timeout_s=30)),
                            ("dask", lambda s: DaskExtractionPool(dask_address, timeout_s=30))):
        settings = load_settings(db_path=tmp_path / f"{name}.duckdb", run_checks=False)
        with Store.open(settings.db_path) as store:
            store.insert("raw.page_fetches", page_fetch_rows())
            with make_pool(settings) as pool:
                result = extract(store, settings, run_id=f"run-{name}", pool=pool)
            assert result["status"] == "ok"
            tables[name] = store.con.execute(
                "SELECT * EXCLUDE (extractor_version) FROM core.articles ORDER BY ALL").fetchall()
    assert tables["dask"] == tables["local"]
    assert len(tables["local"]) == 6  # the six articles; the PDF and the blank page are not
