"""Process-isolated extraction: a pebble pool of spawned workers with a per-page time limit
and a per-worker memory limit (FAULTS 56-61).

A hang, a crash (segfault, abort, MemoryError) or a memory blow-up costs one page, recorded as
``extract_timeout`` or ``extract_crash``; pebble replaces the dead worker and the run goes on.
Workers are *spawned*, never forked, so no parent state (a DuckDB connection, threads) leaks
into them (FAULTS 80).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from types import TracebackType
from typing import Any

from pebble import ProcessExpired, ProcessPool

from transforms.decoding import detect_language
from transforms.errors import ServiceError
from transforms.extraction import DEFAULT_OPTIONS, Extraction, ExtractOptions, extract_page, failed
from transforms.pageclass import PageClass
from transforms.stories import text_sign
from workers import lean_spawn

log = logging.getLogger(__name__)

Item = tuple[Hashable, bytes, str | None, str]
Target = Callable[[bytes, str | None, str, ExtractOptions], Extraction]
# Tasks a worker runs before pebble replaces it: bounds slow leaks in lxml/trafilatura caches.
MAX_TASKS_PER_WORKER = 1000
# Chunks in flight per worker: enough to keep workers busy, small enough to bound memory.
WINDOW_PER_WORKER = 3
# Pages sent to a worker in one task. One task per page cost ~1 ms of round trip, a quarter of
# the time of a small page, and left workers idle; a failed chunk is retried page by page.
CHUNK_SIZE = 8
# Time to (re)start a spawned worker, counted on top of the task limits before a pool that never
# answers is called stalled (a spawned worker imports trafilatura and warms up in a few seconds).
START_ALLOWANCE_S = 120.0
_WARMUP_TEXT = ("This is a short warm-up paragraph written in plain English so the language "
                "detector builds its index.")
_WARMUP_PAGE = ("<html><body><article>" + f"<p>{_WARMUP_TEXT}</p>" * 8
                + "</article></body></html>").encode()


def run_extraction(body: bytes, content_type: str | None, url: str,
                   options: ExtractOptions) -> Extraction:
    """The function executed inside a worker (module level, so spawn can import it): the page
    extracted, and an article's text read for the stories here (``story_sign``), on the cores
    the workers leave idle, rather than in the writer, which would wait on it."""
    extraction = extract_page(body, content_type, url, options=options)
    if extraction.text is None:
        return extraction
    return replace(extraction, story_sign=text_sign(
        extraction.title, extraction.text, extraction.language))


def run_chunk(pages: list[tuple[bytes, str | None, str]], options: ExtractOptions,
              target: Target) -> tuple[list[Extraction], float | None]:
    """Extract several pages in one task (module level, so spawn can import it); with the
    answers goes the worker's own peak memory (``own_peak_mb``)."""
    return [target(body, content_type, url, options) for body, content_type, url in pages], \
        own_peak_mb()


def own_peak_mb() -> float | None:
    """This process's peak resident memory in MiB, measured by the kernel (``VmHWM``), or None
    where /proc is missing.

    Not ``getrusage``: a spawned worker is started by fork+exec from the parent, and Linux
    carries the parent's peak RSS across the exec into the child's ``ru_maxrss`` (and so into
    the parent's ``RUSAGE_CHILDREN``). A 15 MB worker spawned by a 600 MB process reports
    600 MB there; ``VmHWM`` belongs to the worker's own address space and starts at exec."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _ready() -> int:
    """A first task per worker: it returns once the worker has spawned and warmed up."""
    return os.getpid()


def _init_worker(memory_mb: int) -> None:
    """Cap the worker's address space so a blow-up raises MemoryError (or kills only it)."""
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ValueError, OSError) as exc:  # e.g. a hard limit already lower
            log.warning("could not set RLIMIT_AS=%s MiB: %s", memory_mb, exc)
    # Warm up (imports, lxml, the stopword index) so the first real page does not pay for it
    # inside its timeout. The warm-up page is too short to reach language detection, so the
    # detector's index (~0.4 s to build) is built here explicitly.
    run_extraction(_WARMUP_PAGE, "text/html", "https://warmup.invalid/a", DEFAULT_OPTIONS)
    detect_language(_WARMUP_TEXT)


class PoolStalledError(ServiceError, RuntimeError):
    """No worker answered for far longer than any task may take: the pool cannot run tasks."""


class ExtractionPool:
    """Context manager around a spawned process pool that extracts pages in isolation."""

    def __init__(self, workers: int | None = None, timeout_s: float = 30.0,
                 memory_mb: int = 1024, options: ExtractOptions = DEFAULT_OPTIONS,
                 *, target: Target | None = None, chunk_size: int = CHUNK_SIZE,
                 pool: ProcessPool | None = None) -> None:
        """``workers`` defaults to all cores; ``target`` replaces the extractor (tests only);
        ``pool`` borrows running workers (``workers.resident``): usable at once, and closing
        this leaves them running."""
        self.workers = workers or os.cpu_count() or 1
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.options = options
        self.target: Target = target or run_extraction
        self.chunk_size = max(1, chunk_size)
        self._borrowed = pool
        self._pool: ProcessPool | None = pool
        self.worker_peak_mb: float | None = None
        """The largest peak memory any worker reported (``own_peak_mb``) with its answers."""

    def __enter__(self) -> ExtractionPool:
        if self._borrowed is not None:
            self._pool = self._borrowed
            return self
        lean_spawn.install()  # workers skip re-importing the parent's __main__ (the CLI, Prefect)
        self._pool = ProcessPool(
            max_workers=self.workers, max_tasks=MAX_TASKS_PER_WORKER,
            initializer=_init_worker, initargs=(self.memory_mb,),
            context=multiprocessing.get_context("spawn"),
        )
        # pebble spawns its workers on the first task: ask now, so they spawn and warm up while
        # the caller reads its first pages (and are started by a still small parent process)
        for _ in range(self.workers):
            self._pool.schedule(_ready)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (killing any still busy) and wait for them; borrowed workers are
        their owner's to stop."""
        if self.worker_peak_mb is not None:
            log.info("extraction workers' largest peak: %.0f MiB", self.worker_peak_mb)
        if self._borrowed is not None:
            return
        if self._pool is not None:
            self._pool.stop()  # type: ignore[no-untyped-call]  # pebble's stop() is untyped
            self._pool.join()
            self._pool = None

    def _failure(self, exc: BaseException, url: str) -> Extraction:
        if isinstance(exc, FutureTimeout):
            return failed(url, PageClass.EXTRACT_TIMEOUT, f"over {self.timeout_s:g}s")
        if isinstance(exc, ProcessExpired):
            return failed(url, PageClass.EXTRACT_CRASH, f"worker died (exit {exc.exitcode})")
        if isinstance(exc, MemoryError):
            return failed(url, PageClass.EXTRACT_CRASH, f"memory limit {self.memory_mb} MiB")
        return failed(url, PageClass.EXTRACT_CRASH, f"{type(exc).__name__}: {exc}"[:300])

    def _schedule(self, chunk: list[Item]) -> tuple[list[Item], Future[Any]]:
        assert self._pool is not None
        pages = [(body, content_type, url) for _, body, content_type, url in chunk]
        # The time limit is per task: a chunk of normal pages takes far less than one page's
        # limit; when a chunk fails, every page is retried alone under its own limit.
        future = self._pool.schedule(run_chunk, args=(pages, self.options, self.target),
                                     timeout=self.timeout_s)
        return chunk, future

    def patience_s(self) -> float:
        """How long to wait for one chunk's answer before calling the pool stalled: every task
        ahead of it in the window may use its whole time limit, plus time to start a worker."""
        return self.timeout_s * (WINDOW_PER_WORKER + 1) + START_ALLOWANCE_S

    def _collect(self, chunk: list[Item], future: Future[Any]
                 ) -> Iterator[tuple[Hashable, Extraction]]:
        try:
            results, peak_mb = future.result(timeout=self.patience_s())
        except Exception:  # any worker failure is data: isolate the page that caused it
            if not future.done():  # our wait ran out, not the task's own limit: no live worker
                future.cancel()
                raise PoolStalledError(
                    f"no extraction worker answered within {self.patience_s():.0f}s; the pool "
                    "could not start or keep workers (see the log); pages stay pending for the "
                    "next run") from None
            yield from self._fail_or_split(chunk, future)
            return
        if peak_mb is not None and (self.worker_peak_mb is None or peak_mb > self.worker_peak_mb):
            self.worker_peak_mb = peak_mb
        for (key, _, _, url), result in zip(chunk, results, strict=True):
            if not isinstance(result, Extraction):
                result = failed(url, PageClass.EXTRACT_CRASH, "worker returned no Extraction")
            yield key, result

    def _fail_or_split(self, chunk: list[Item], future: Future[Any]
                       ) -> Iterator[tuple[Hashable, Extraction]]:
        """A failed chunk: the page's failure when alone, else each page again on its own."""
        exc = future.exception()
        assert exc is not None
        if len(chunk) == 1:
            yield chunk[0][0], self._failure(exc, chunk[0][3])
            return
        log.info("chunk of %d failed (%r): retrying page by page", len(chunk), exc)
        singles = [self._schedule([item]) for item in chunk]
        for single, single_future in singles:
            yield from self._collect(single, single_future)

    def extract_many(self, items: Iterable[Item]) -> Iterator[tuple[Hashable, Extraction]]:
        """Extract ``(key, body, content_type, url)`` items; yields ``(key, Extraction)`` in
        input order. Timeouts become EXTRACT_TIMEOUT and worker deaths EXTRACT_CRASH, for the
        offending page only."""
        if self._pool is None:
            raise RuntimeError("ExtractionPool must be used as a context manager")
        window: deque[tuple[list[Item], Future[Any]]] = deque()
        limit = self.workers * WINDOW_PER_WORKER
        chunk: list[Item] = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= self.chunk_size:
                window.append(self._schedule(chunk))
                chunk = []
            while len(window) >= limit:
                yield from self._collect(*window.popleft())
        if chunk:
            window.append(self._schedule(chunk))
        while window:
            yield from self._collect(*window.popleft())
