"""One writer at a time: an OS file lock beside the database.

The kernel releases a ``flock`` when its process dies, so a killed run never wedges the schedule
(unlike a lease stored in a database). A second writer finds the lock held and gives up at once.
The lock is re-entrant within a process so that a pipeline flow and the stage flows it calls share it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from transforms.errors import StoreBusyError

_held: dict[Path, tuple[int, int]] = {}  # lock path -> (fd, depth)
_guard = threading.Lock()


class LockedError(StoreBusyError, RuntimeError):
    """Another process holds the writer lock."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"another newsflow writer holds {path} ({holder}); skipping this run")
        self.path = path
        self.holder = holder


def lock_path(db_path: Path) -> Path:
    """The lock file that guards ``db_path``."""
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def writer_lock(db_path: Path) -> Iterator[None]:
    """Hold the writer lock for ``db_path``; raise ``LockedError`` at once if it is taken."""
    path = lock_path(db_path).resolve()
    with _guard:
        if path in _held:
            fd, depth = _held[path]
            _held[path] = (fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if not reentered:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown holder"
            os.close(fd)
            raise LockedError(path, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"PID {os.getpid()}".encode(), 0)
        with _guard:
            _held[path] = (fd, 1)
    try:
        yield
    finally:
        with _guard:
            fd, depth = _held[path]
            if depth > 1:
                _held[path] = (fd, depth - 1)
            else:
                del _held[path]
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
