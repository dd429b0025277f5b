"""Feed parsing in a worker process with a wall-clock limit (FAULTS cases 35, 78).

feedparser is pure Python with regexes that can go quadratic or worse, so a pathological feed
must cost only itself: ``parse_feed_limited`` runs ``parse_feed`` in a pebble process pool
(``spawn``: never ``fork`` after DuckDB or threads exist, FAULTS case 80), kills the worker at
the deadline and answers ``PARSE_TIMEOUT``; a worker that dies (a signal, the memory limit)
answers ``PARSE_CRASH``. The pool is created lazily, once per process, and reused.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import logging
import multiprocessing
import os
import pyexpat
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pebble import ProcessExpired, ProcessPool

from transforms.feeds import (
    FeedOptions,
    FeedOutcome,
    ParsedFeed,
    failed,
    parse_feed,
    parse_windows,
)
from workers import lean_spawn

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
# Address-space limit per worker; a parse of a 15 MiB feed stays far below it.
DEFAULT_MEMORY_MB = 1024
# Replace a worker after this many parses so slow leaks cannot build up.
MAX_TASKS_PER_WORKER = 500

# Expat 2.6.0 fixed the large-token denial of service (CVE-2023-52425) and carries the
# billion-laughs amplification limits (FAULTS case 33).
MIN_EXPAT = (2, 6, 0)

_lock = threading.Lock()
_pool: ProcessPool | None = None
# The run's resident pool (workers.resident), used instead of our own while it is set.
_resident: ProcessPool | None = None


def check_expat(minimum: tuple[int, int, int] = MIN_EXPAT) -> tuple[int, int, int]:
    """Start-up check: raise RuntimeError when the linked expat is older than ``minimum``.

    parse_feed strips every DTD before expat sees a document, so an old expat is a second
    line of defence missing, not an open door; the caller decides whether to refuse to start.
    """
    found = tuple(pyexpat.version_info)
    if found < minimum:
        raise RuntimeError(
            f"expat {'.'.join(map(str, found))} is older than {'.'.join(map(str, minimum))}"
            f" ({pyexpat.EXPAT_VERSION}); rebuild Python against a newer libexpat")
    return found  # type: ignore[return-value]  # three ints, as pyexpat documents


def _init_worker(memory_mb: int) -> None:
    """Runs in each worker: cap its memory so a bomb kills the worker, not the machine."""
    try:
        import resource  # POSIX only, hence here

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        logging.getLogger(__name__).warning("could not set the worker memory limit")


def use_resident(pool: ProcessPool | None) -> ProcessPool | None:
    """Parse in ``pool`` (a run's resident pool, workers.resident) from now on, or again in our
    own with None; returns the pool used before. Our own pool is not started while a resident
    one is set and active."""
    global _resident
    with _lock:
        previous, _resident = _resident, pool
    return previous


def _get_pool() -> ProcessPool:
    global _pool
    with _lock:
        if _resident is not None and _resident.active:
            return _resident
        if _pool is None or not _pool.active:
            lean_spawn.install()  # workers skip re-importing the parent's __main__
            workers = int(os.environ.get("NEWSFLOW_PARSE_WORKERS", DEFAULT_WORKERS))
            memory_mb = int(os.environ.get("NEWSFLOW_PARSE_MEMORY_MB", DEFAULT_MEMORY_MB))
            _pool = ProcessPool(
                max_workers=max(1, workers),
                max_tasks=MAX_TASKS_PER_WORKER,
                initializer=_init_worker,
                initargs=(memory_mb,),
                context=multiprocessing.get_context("spawn"),
            )
        return _pool


def shutdown() -> None:
    """Stop the worker pool (at exit, or in tests); the next call starts a new one."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves stop() unannotated
            _pool.join(timeout=5)
            _pool = None


atexit.register(shutdown)


def parse_feed_limited(
    body: bytes,
    headers: Mapping[str, str],
    base_url: str,
    *,
    fetched_at: datetime,
    options: FeedOptions | None = None,
    timeout_s: float = 10.0,
) -> ParsedFeed:
    """``parse_feed`` in a worker process, killed after ``timeout_s`` seconds of wall clock
    for each window of entries it parses (``transforms.feeds.parse_windows``): a big feed gets
    a limit in proportion to its entries, a small pathological document only ``timeout_s``.

    Never raises: a timeout is ``PARSE_TIMEOUT``, a dead worker or an error in it is
    ``PARSE_CRASH``, each with a reason.
    """
    options = options or FeedOptions()
    kwargs = {"fetched_at": fetched_at, "options": options}
    limit = timeout_s * parse_windows(body, options)
    return run_limited(parse_feed, (body, dict(headers), base_url), kwargs, limit, base_url)


def run_limited(fn: Callable[..., ParsedFeed], args: tuple[Any, ...], kwargs: dict[str, Any],
                timeout_s: float, label: str) -> ParsedFeed:
    """Run ``fn`` in the pool under the wall-clock limit; failures become ParsedFeed values."""
    for attempt in (1, 2):
        try:
            future = _get_pool().schedule(fn, args, kwargs, timeout=timeout_s)
        except RuntimeError:
            # The pool was stopped under us (shutdown at exit, or a broken pool): start anew.
            if attempt == 2:
                break
            shutdown()
            continue
        try:
            return future.result()
        except concurrent.futures.TimeoutError:
            logger.warning("feed parse of %s killed after %.1fs", label, timeout_s)
            return failed(FeedOutcome.PARSE_TIMEOUT, f"parse exceeded {timeout_s:g}s")
        except ProcessExpired as exc:
            logger.warning("feed parse worker died on %s: %s", label, exc)
            return failed(FeedOutcome.PARSE_CRASH, f"parse worker died: {exc}"[:500])
        except MemoryError:
            return failed(FeedOutcome.PARSE_CRASH, "parse worker hit its memory limit")
        except Exception as exc:  # the worker's own error, pickled back
            logger.warning("feed parse of %s failed: %r", label, exc)
            return failed(FeedOutcome.PARSE_CRASH, f"{type(exc).__name__}: {exc}"[:500])
    return failed(FeedOutcome.PARSE_CRASH, "parse worker pool unavailable")
