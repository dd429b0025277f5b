"""One worker pool per run, started first and shared by feed parsing and extraction.

A pipeline run used to start a feed-parse pool for ingest and, later, an extraction pool for
extract: two sets of spawned workers, the second paying its start (spawn, imports, trafilatura's
warm-up) while the run waited. ``ResidentPool`` starts the run's workers before ingest, so they
spawn and warm up while the main process polls feeds; ingest's parses run in them
(``workers.feedparse`` uses the resident pool while one is open) and extraction borrows the same
pebble pool (``ExtractionPool(pool=...)``). Each task keeps its own wall-clock limit and a worker
that dies is replaced, as before; the workers' address-space limit is the lower of the two
settings, so neither job gets a looser limit than it had.

With a Dask address set, extraction runs on the cluster as before; the resident pool then serves
feed parsing only.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from types import TracebackType
from typing import Any

from pebble import ProcessPool

from workers import feedparse, lean_spawn
from workers.extraction import MAX_TASKS_PER_WORKER, ExtractionPool, _init_worker

log = logging.getLogger(__name__)


def _ready() -> int:
    """A first task per worker: it returns once the worker has spawned and warmed up."""
    return os.getpid()


class ResidentPool:
    """Context manager: the run's spawned workers, warming up from ``__enter__`` on."""

    def __init__(self, workers: int, *, memory_mb: int = 1024) -> None:
        self.workers = max(1, workers)
        self.memory_mb = memory_mb
        self.started_at = 0.0
        self._pool: ProcessPool | None = None
        self._previous: Any = None

    def __enter__(self) -> ResidentPool:
        lean_spawn.install()  # workers skip re-importing the parent's __main__
        self.started_at = time.perf_counter()
        self._pool = ProcessPool(
            max_workers=self.workers, max_tasks=MAX_TASKS_PER_WORKER,
            initializer=_init_worker, initargs=(self.memory_mb,),
            context=multiprocessing.get_context("spawn"),
        )
        # pebble spawns its workers on the first task: ask now, do not wait for the answer
        for _ in range(self.workers):
            self._pool.schedule(_ready)
        self._previous = feedparse.use_resident(self._pool)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (feed parsing falls back to its own pool); idempotent."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        feedparse.use_resident(self._previous)
        self._previous = None
        pool.stop()  # type: ignore[no-untyped-call]  # pebble's stop() is untyped
        pool.join()
        log.debug("resident pool of %d workers closed after %.1fs", self.workers,
                  time.perf_counter() - self.started_at)

    def extraction(self, *, timeout_s: float, memory_mb: int | None = None) -> ExtractionPool:
        """An extraction pool running on these workers (it borrows them; closing it leaves
        them running). ``memory_mb`` is only reported in failure reasons: the workers' limit
        was set when they started."""
        if self._pool is None:
            raise RuntimeError("ResidentPool must be used as a context manager")
        return ExtractionPool(workers=self.workers, timeout_s=timeout_s,
                              memory_mb=memory_mb or self.memory_mb, pool=self._pool)


def resident_pool(settings: Any) -> ResidentPool:
    """The run's pool as the settings describe it: all the extraction workers, and the lower of
    the extraction and feed-parse memory limits."""
    parse_mb = int(os.environ.get("NEWSFLOW_PARSE_MEMORY_MB", feedparse.DEFAULT_MEMORY_MB))
    extract_mb = int(settings.extract_memory_mb)
    memory_mb = min(m for m in (parse_mb, extract_mb) if m > 0) if max(parse_mb, extract_mb) > 0 \
        else 0
    return ResidentPool(settings.workers(), memory_mb=memory_mb)
