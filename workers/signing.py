"""Story signatures (MinHash, keywords, names) computed in the run's worker processes.

Signing is the largest piece of pure Python in a batch's commit (tokens, shingles, keyword
weights, a MinHash per article: a few milliseconds each), and the extract stage runs it on the
main process while the workers, done with the pages fetched ahead, wait. ``PoolSigner`` hands a
batch's documents to the resident pool in chunks and returns the signatures in order; sign() is
pure, so the result is the one signing here would give. Should the pool fail (a worker killed,
the pool stopped), the batch is signed here instead: a slower run, never a different one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from transforms.stories import Signature, StoryDoc, StoryOptions, sign

log = logging.getLogger(__name__)

# Documents per task: large enough that sending them costs little next to signing them.
CHUNK = 32


def sign_chunk(docs: Sequence[StoryDoc], options: StoryOptions) -> list[Signature]:
    """The task run in a worker (module level, so spawn can import it)."""
    return [sign(d, options) for d in docs]


class PoolSigner:
    """A ``warehouse.stories.Signer`` that signs in a pebble process pool it borrows."""

    def __init__(self, pool: Any, *, timeout_s: float = 300.0, chunk: int = CHUNK) -> None:
        self.pool = pool
        self.timeout_s = timeout_s
        self.chunk = chunk

    def __call__(self, docs: Sequence[StoryDoc], options: StoryOptions) -> list[Signature]:
        if len(docs) < self.chunk or not getattr(self.pool, "active", False):
            return sign_chunk(docs, options)
        futures: list[Future[list[Signature]]] = []
        try:
            for start in range(0, len(docs), self.chunk):
                futures.append(self.pool.schedule(
                    sign_chunk, args=(list(docs[start:start + self.chunk]), options),
                    timeout=self.timeout_s))
            return [s for future in futures for s in future.result()]
        except Exception as exc:  # a worker died or the pool stopped: sign here, same result
            for future in futures:
                future.cancel()
            log.warning("signing in the worker pool failed (%s: %s); signing %d articles here",
                        type(exc).__name__, exc, len(docs))
            return sign_chunk(docs, options)
