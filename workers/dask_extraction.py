"""Extraction on a Dask cluster: the same interface as ``workers.extraction.ExtractionPool``.

The extraction stage takes any pool with ``extract_many(items) -> (key, Extraction)`` in input
order, so going past one machine is a setting (``dask_address``), not a code path in flows/:
``extraction_pool(settings)`` returns a ``DaskExtractionPool`` when an address is set, else the
local process pool. Pages travel in chunks (one Dask task per chunk) so the scheduler sees
hundreds of tasks, not hundreds of thousands.

On each Dask worker a chunk is extracted inside a local, cached ``ExtractionPool`` (spawned
processes with the per-page time and memory limits), so a hang or crash still costs one page. That
needs worker processes that may have children: start workers with
``DASK_DISTRIBUTED__WORKER__DAEMON=False`` (docs/operations.md). On a daemonic worker we fall back
to extracting in the worker itself and log it once: a crash then costs the chunk, which Dask
reports as a lost worker, recorded here as ``extract_crash`` for the chunk's pages.

Flows that run Prefect tasks on the same cluster use ``dask_task_runner(address)``, prefect-dask's
``DaskTaskRunner(address=...)``. Needs ``distributed`` (and ``prefect-dask`` for the runner).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from types import TracebackType
from typing import Any, Protocol

from transforms.extraction import DEFAULT_OPTIONS, Extraction, ExtractOptions, failed
from transforms.pageclass import PageClass
from workers.extraction import ExtractionPool, Item, run_extraction

log = logging.getLogger(__name__)

CHUNK_SIZE = 16
# Chunks in flight per Dask worker thread: keeps everyone busy, bounds the driver's memory.
WINDOW_PER_THREAD = 2
Chunk = list[Item]


class FutureLike(Protocol):
    """What we use of a ``distributed.Future``."""

    def result(self, timeout: float | None = None) -> Any: ...
    def cancel(self) -> Any: ...


class ClientLike(Protocol):
    """What we use of a ``distributed.Client`` (tests pass a local stand-in)."""

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> FutureLike: ...
    def close(self) -> Any: ...


# One local process pool per Dask worker process, created on its first chunk and kept.
_local_pool: ExtractionPool | None = None
_local_lock = threading.Lock()
_warned_daemonic = False


def extract_chunk(items: Chunk, timeout_s: float, memory_mb: int,
                  options: ExtractOptions = DEFAULT_OPTIONS) -> list[tuple[Hashable, Extraction]]:
    """Runs on a Dask worker: extract a chunk of pages, each in isolation when possible."""
    global _local_pool, _warned_daemonic
    if multiprocessing.current_process().daemon:
        if not _warned_daemonic:
            log.warning("Dask worker is daemonic: extracting without per-page isolation "
                        "(set DASK_DISTRIBUTED__WORKER__DAEMON=False on the workers)")
            _warned_daemonic = True
        return [(key, run_extraction(body, ctype, url, options))
                for key, body, ctype, url in items]
    with _local_lock:
        if _local_pool is None:
            _local_pool = ExtractionPool(workers=1, timeout_s=timeout_s, memory_mb=memory_mb,
                                         options=options).__enter__()
            atexit.register(_close_local_pool)
        pool = _local_pool
    return list(pool.extract_many(items))


def _close_local_pool() -> None:
    global _local_pool
    with _local_lock:
        if _local_pool is not None:
            _local_pool.close()
            _local_pool = None


class DaskExtractionPool:
    """Context manager that extracts pages on the Dask cluster at ``address``."""

    def __init__(self, address: str | None = None, *, timeout_s: float = 30.0,
                 memory_mb: int = 1024, options: ExtractOptions = DEFAULT_OPTIONS,
                 chunk_size: int = CHUNK_SIZE, client: ClientLike | None = None) -> None:
        """Give the scheduler ``address`` (``tcp://host:8786``), or an open ``client``."""
        if address is None and client is None:
            raise ValueError("DaskExtractionPool needs a scheduler address or a client")
        self.address = address
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.options = options
        self.chunk_size = chunk_size
        self._client: ClientLike | None = client
        self._own_client = client is None
        self._threads = 1

    def __enter__(self) -> DaskExtractionPool:
        if self._client is None:
            from distributed import Client

            client = Client(self.address, timeout=self.timeout_s,  # type: ignore[no-untyped-call]
                            set_as_default=False)
            self._client = client
            info = client.scheduler_info()
            self._threads = max(1, sum(w.get("nthreads", 1) for w in info["workers"].values()))
            log.info("extracting on Dask at %s (%d worker threads)", self.address, self._threads)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect from the scheduler (the cluster itself keeps running)."""
        if self._client is not None and self._own_client:
            self._client.close()
        self._client = None

    def extract_many(self, items: Iterable[Item]) -> Iterator[tuple[Hashable, Extraction]]:
        """Extract ``(key, body, content_type, url)`` items; yield ``(key, Extraction)`` in input
        order. A chunk lost with its worker, or over its deadline, becomes one failure per page."""
        if self._client is None:
            raise RuntimeError("DaskExtractionPool must be used as a context manager")
        window: deque[tuple[Chunk, FutureLike]] = deque()
        limit = self._threads * WINDOW_PER_THREAD
        for chunk in _chunks(items, self.chunk_size):
            future = self._client.submit(extract_chunk, chunk, self.timeout_s, self.memory_mb,
                                         self.options, pure=False)
            window.append((chunk, future))
            while len(window) >= limit:
                yield from self._outcomes(*window.popleft())
        while window:
            yield from self._outcomes(*window.popleft())

    def _outcomes(self, chunk: Chunk, future: FutureLike) -> Iterator[tuple[Hashable, Extraction]]:
        # Each page inside has its own limit; this only catches a worker that stopped answering.
        deadline = self.timeout_s * len(chunk) + 60.0
        try:
            results: Sequence[tuple[Hashable, Extraction]] = future.result(timeout=deadline)
        except (FutureTimeout, TimeoutError):
            future.cancel()
            yield from _all_failed(chunk, PageClass.EXTRACT_TIMEOUT, f"chunk over {deadline:g}s")
            return
        except Exception as exc:  # KilledWorker, a lost connection: the chunk's pages fail
            yield from _all_failed(chunk, PageClass.EXTRACT_CRASH,
                                   f"dask: {type(exc).__name__}: {exc}"[:300])
            return
        by_key = dict(results)
        for key, _body, _ctype, url in chunk:
            found = by_key.get(key)
            yield key, found if isinstance(found, Extraction) else failed(
                url, PageClass.EXTRACT_CRASH, "missing from the Dask worker's answer")


def extraction_pool(settings: Any) -> ExtractionPool | DaskExtractionPool:
    """The pool the extraction stage should use: Dask when ``settings.dask_address`` is set."""
    address = getattr(settings, "dask_address", None)
    if address:
        return DaskExtractionPool(str(address), timeout_s=settings.extract_timeout_s,
                                  memory_mb=settings.extract_memory_mb)
    return ExtractionPool(workers=settings.workers(), timeout_s=settings.extract_timeout_s,
                          memory_mb=settings.extract_memory_mb)


def dask_task_runner(address: str) -> Any:
    """prefect-dask's task runner on an existing cluster, for flows whose tasks should run there:
    ``flow.with_options(task_runner=dask_task_runner(address))``."""
    from prefect_dask.task_runners import DaskTaskRunner

    return DaskTaskRunner(address=address)


def _chunks(items: Iterable[Item], size: int) -> Iterator[Chunk]:
    chunk: Chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _all_failed(chunk: Chunk, page_class: PageClass,
                reason: str) -> Iterator[tuple[Hashable, Extraction]]:
    for key, _body, _ctype, url in chunk:
        yield key, failed(url, page_class, reason)
