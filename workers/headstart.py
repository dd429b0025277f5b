"""Extraction that starts while the pages are still being fetched.

Fetching is network-bound and leaves the cores idle; extraction is CPU-bound and waited for the
fetch stage to commit. ``HeadStart`` wraps a run's ``ExtractionPool``: the fetch stage offers
each page body the moment it arrives (``offer``), and the pool extracts it at once, a few chunks
at a time so the queue never gets long. The extract stage keeps its own job and boundaries: it
reads the pending pages from the store as always, commits them batch by batch and records its
own counts; when it asks for a page that was offered (same body, content type and URL, so the
same deterministic answer), the answer is already there or under way. Anything not offered
(pages left pending by an earlier run, revisits), or offered too late to start, is extracted as
before. Nothing here touches the store: a crash loses only work in memory, and the pages stay
pending for the next run.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import deque
from collections.abc import Hashable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from typing import Any, cast

from transforms.extraction import Extraction
from workers.extraction import WINDOW_PER_WORKER, ExtractionPool, Item

log = logging.getLogger(__name__)

# Offered pages kept waiting for a free slot, at most (a bound on the bodies held here).
MAX_WAITING = 20_000
Key = tuple[str, str | None, str]


def page_key(body: bytes, content_type: str | None, url: str,
             sha256: str | None = None) -> Key:
    """What an extraction depends on: the body (by its sha256, hex), its content type and its
    URL. ``sha256``: the body's, when known already (the fetch hashed each body it received,
    and the store keeps that hash beside the body): hashing a page again cost about 0.2 ms."""
    return sha256 or hashlib.sha256(body).hexdigest(), content_type, url


class HeadStart:
    """An extraction pool with a head start on the pages of the fetch in progress."""

    def __init__(self, pool: ExtractionPool) -> None:
        self.pool = pool
        self.workers = pool.workers
        self._lock = threading.RLock()  # a done callback may run at once, under our lock
        self._waiting: deque[_Slot] = deque()
        self._chunk: list[Item] = []
        self._in_flight = 0
        self._open = True
        # page key -> the scheduled chunk holding it (shared by the chunk's pages)
        self._slots: dict[Key, _Slot] = {}
        self.offered = 0
        self.used = 0

    # -- the fetch side ---------------------------------------------------------------------

    def offer(self, body: bytes, content_type: str | None, url: str,
              sha256: str | None = None) -> None:
        """A page just fetched: start extracting it (never raises, never blocks on the pool).
        ``sha256``: the body's hash (hex) when the fetch has it."""
        try:
            key = page_key(body, content_type, url, sha256)
            with self._lock:
                if not self._open or key in self._slots \
                        or len(self._waiting) * self.pool.chunk_size >= MAX_WAITING:
                    return
                self.offered += 1
                self._chunk.append((key, body, content_type, url))
                if len(self._chunk) >= self.pool.chunk_size:
                    self._queue()
                self._pump()
        except Exception as exc:  # a head start is an optimisation, never a fetch failure
            log.warning("extraction head start refused a page: %r", exc)

    def fetched(self) -> None:
        """The fetch is over: send the last partial chunk too."""
        with self._lock:
            if self._chunk and self._open:
                self._queue()
            self._pump()

    def _queue(self) -> None:  # under self._lock
        """The current chunk waits for a free slot; its pages are promised from now on, so the
        extract stage waits for them instead of extracting them a second time."""
        slot = _Slot(self._chunk)
        for item in self._chunk:
            self._slots[item[0]] = slot  # type: ignore[index]  # our items' keys are Keys
        self._waiting.append(slot)
        self._chunk = []

    def _pump(self) -> None:  # under self._lock
        limit = self.workers * WINDOW_PER_WORKER
        while self._open and self._waiting and self._in_flight < limit:
            slot = self._waiting.popleft()
            try:
                _, future = self.pool._schedule(slot.chunk)
            except Exception as exc:  # the pool is stopping: the pages are extracted later
                log.debug("head start stopped: %r", exc)
                slot.drop()
                self._stop()
                return
            slot.start(future)
            self._in_flight += 1
            future.add_done_callback(self._finished)

    def _finished(self, _: Future[Any]) -> None:
        with self._lock:
            self._in_flight -= 1
            self._pump()

    def _stop(self) -> None:  # under self._lock
        self._open = False
        while self._waiting:
            self._waiting.popleft().drop()  # whoever waits on these extracts them itself
        self._chunk = []

    # -- the extract side: the pool interface -------------------------------------------------

    def extract_many(self, items: Iterable[Item], digests: Mapping[Hashable, str | None] | None
                     = None) -> Iterator[tuple[Hashable, Extraction]]:
        """As ``ExtractionPool.extract_many``: answers in input order; pages offered during the
        fetch come from their head start, the others from the pool. ``digests``: the bodies'
        sha256 (hex) by item key, where the caller has them (the store does)."""
        items = list(items)
        known = digests or {}
        keys = [page_key(body, ctype, url, known.get(k)) for k, body, ctype, url in items]
        with self._lock:
            slots = [self._slots.get(key) for key in keys]
        misses = [item for item, slot in zip(items, slots, strict=True) if slot is None]
        answers: dict[Hashable, Extraction] = dict(self.pool.extract_many(misses)) \
            if misses else {}
        dropped = []
        for item, key, slot in zip(items, keys, slots, strict=True):
            if slot is None:
                continue
            answer = slot.result(self.pool, key)
            if answer is None:
                dropped.append(item)
                continue
            answers[item[0]] = answer
            with self._lock:
                self._slots.pop(key, None)
                self.used += 1
        if dropped:
            answers.update(self.pool.extract_many(dropped))
        for item in items:
            yield item[0], answers[item[0]]

    def close(self) -> None:
        """Stop starting offered pages and forget the answers (the pool is its owner's)."""
        with self._lock:
            self._stop()
            self._slots.clear()


class _Slot:
    """One chunk of offered pages: waiting, then scheduled; its answers are collected once, by
    the first page that asks."""

    def __init__(self, chunk: list[Item]) -> None:
        self.chunk = chunk
        self.future: Future[Any] | None = None
        self.answers: dict[Key, Extraction] | None = None
        self._decided = threading.Event()
        self._lock = threading.Lock()

    def start(self, future: Future[Any]) -> None:
        self.future = future
        self._decided.set()

    def drop(self) -> None:
        self._decided.set()  # never scheduled: future stays None

    def result(self, pool: ExtractionPool, key: Key) -> Extraction | None:
        """The page's answer, or None when the chunk was never started (extract it anew)."""
        if not self._decided.wait(pool.patience_s()):
            return None
        with self._lock:
            if self.future is None:
                return None
            if self.answers is None:
                # the pool's own collection: a failed chunk is retried page by page, a timeout
                # or a dead worker is that page's extract_timeout / extract_crash
                # a slot's items are keyed by their Key (HeadStart._queue)
                self.answers = {cast(Key, key): answer for key, answer
                                in pool._collect(self.chunk, self.future)}
                self.chunk = []  # the bodies are no longer needed
            return self.answers[key]
