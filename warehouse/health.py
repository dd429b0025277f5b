"""Pre-flight checks before a writer touches the store: free disk space, and a WAL left behind.

Two storage faults are cheaper to refuse at the door than to survive half-way (FAULTS 67, 68):

- **Disk full.** DuckDB fails an insert or a checkpoint with an I/O error when the disk fills
  up; the transaction rolls back and committed data survives, but the run has already fetched
  everything for nothing. ``preflight`` refuses to start when the free space under the database
  is below a floor (k times the expected batch, chosen by the caller).
- **A WAL left by a writer that died.** DuckDB 1.5.5 replays a ``.wal`` at connect. Measured:
  a WAL with a bad checksum fails the connect (``IOException: Failure while replaying WAL file
  "<path>": Corrupt WAL file ...``), but a *truncated* WAL, or one of garbage, is treated as a
  torn tail: the connect succeeds, the committed transactions in it are silently dropped, and
  the next write overwrites the file. ``open_store_checked`` keeps a byte copy of any WAL before
  DuckDB sees it and refuses to go on when DuckDB could not replay it, naming the file, the copy,
  the time window that may be lost and the runbook step.
"""

from __future__ import annotations

import logging
import shutil
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from transforms.errors import ResourceError, StoreDamagedError
from warehouse.store import Store, wal_path

log = logging.getLogger(__name__)

RUNBOOK = ("runbook (docs/operations.md, 'A WAL left after a crash'): stop the schedule; run "
           "`newsflow store recover` to see what the WAL holds; then either restore the last "
           "backup, or accept the loss with `newsflow store recover --accept-torn-tail` (every "
           "complete commit is replayed, the rest dropped; all bytes stay in the kept copy), then "
           "re-fetch the lost window with `newsflow run` / `newsflow backfill`")


class LowDiskSpaceError(ResourceError, RuntimeError):
    """Free space under the database is below the floor the caller asked for."""

    def __init__(self, path: Path, free: int, needed: int) -> None:
        super().__init__(
            f"refusing to start: {free / 2**20:.1f} MiB free on the disk holding {path}, "
            f"need at least {needed / 2**20:.1f} MiB (k x the expected batch); free some space "
            f"or move the database (NEWSFLOW_DB_PATH)")
        self.path = path
        self.free = free
        self.needed = needed


class WalRecoveryError(StoreDamagedError, RuntimeError):
    """The database's WAL could not be replayed; nothing was deleted."""

    def __init__(self, wal: Path, kept: Path | None, window: str, cause: str) -> None:
        where = f"; its bytes are kept in {kept}" if kept else ""
        super().__init__(
            f"the write-ahead log {wal} could not be replayed ({cause}){where}; writes in "
            f"{window} may be lost; the WAL was left in place. Next: {RUNBOOK}")
        self.wal = wal
        self.kept = kept
        self.window = window


def free_bytes(db_path: Path) -> int:
    """Free bytes on the file system that holds (or will hold) ``db_path``."""
    probe = Path(db_path).resolve().parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent  # the database folder may not exist yet on a first run
    return shutil.disk_usage(probe).free


def preflight(db_path: Path | str, min_free_bytes: int) -> None:
    """Raise ``LowDiskSpaceError`` when fewer than ``min_free_bytes`` are free under ``db_path``.

    Call it before taking the writer lock; the floor is the caller's estimate of a batch (raw
    bodies, the WAL and a checkpoint's copy-on-write blocks) times a safety factor.
    """
    path = Path(db_path)
    free = free_bytes(path)
    if free < min_free_bytes:
        raise LowDiskSpaceError(path, free, min_free_bytes)
    log.debug("preflight: %d bytes free under %s (floor %d)", free, path, min_free_bytes)


def preserve_wal(db_path: Path) -> Path | None:
    """Copy a leftover WAL byte for byte beside it (never move or delete it); return the copy."""
    wal = wal_path(db_path)
    if not wal.exists() or wal.stat().st_size == 0:
        return None
    stamp = datetime.fromtimestamp(wal.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%S")
    kept = wal.with_name(f"{wal.name}.{stamp}.kept")
    shutil.copy2(wal, kept)
    return kept


# DuckDB 1.5 WAL framing (storage version 2), read only to measure what a replay would drop:
# a version header (serialized fields ending in 0xFFFF), then entries of
# [u64 payload size][u64 checksum][payload]; a commit ends with a WAL_FLUSH entry.
_WAL_HEADER = b"\x64\x00\x62"          # field 100 (wal_type) = 98 (WAL_VERSION)
_WAL_FLUSH = b"\x64\x00\x64\xff\xff"  # field 100 (wal_type) = 100 (WAL_FLUSH), end of object


@dataclass(frozen=True, slots=True)
class WalScan:
    """What a WAL holds, by its framing: how far its last complete commit reaches."""

    size: int
    commits: int
    committed_end: int  # byte offset just after the last WAL_FLUSH (the header's end if none)

    @property
    def tail_bytes(self) -> int:
        """Bytes after the last complete commit: a torn write, a truncation or garbage."""
        return self.size - self.committed_end


def scan_wal(wal: Path) -> WalScan | None:
    """Walk a WAL's entries without interpreting them; None for a format we do not know."""
    data = wal.read_bytes()
    end_of_header = data.find(b"\xff\xff") + 2
    if not data.startswith(_WAL_HEADER) or end_of_header < 2:
        return None
    offset = committed = end_of_header
    commits = 0
    while offset + 16 <= len(data):
        (size,) = struct.unpack_from("<Q", data, offset)
        if offset + 16 + size > len(data):
            break  # an entry cut short
        payload = data[offset + 16: offset + 16 + size]
        offset += 16 + size
        if payload == _WAL_FLUSH:
            commits += 1
            committed = offset
    return WalScan(len(data), commits, committed)


def _window(db_path: Path, wal: Path) -> str:
    # The data file was last written by a checkpoint; the WAL holds what came after it.
    def at(p: Path) -> str:
        return datetime.fromtimestamp(p.stat().st_mtime, UTC).isoformat(timespec="seconds")

    return f"[{at(db_path)}, {at(wal)}] (last checkpoint to last WAL write)"


def check_wal(db_path: Path | str, *, accept_torn_tail: bool = False) -> Path | None:
    """Replay a leftover WAL once, checkpoint it into the file, and prove it was consumed.

    Returns the preserved copy (None when there was no WAL). Raises ``WalRecoveryError`` when
    the WAL ends in bytes no complete commit covers (a truncated or torn WAL, which DuckDB would
    drop without a word) unless ``accept_torn_tail`` (the runbook's explicit "accept the loss"
    step), when DuckDB refuses the WAL, or when it is still there after a CHECKPOINT.
    Call it under the writer lock.
    """
    db = Path(db_path)
    wal = wal_path(db)
    if not db.exists() or not wal.exists() or wal.stat().st_size == 0:
        return None
    kept = preserve_wal(db)
    window = _window(db, wal)
    log.warning("found %s (%d bytes) left by a writer that did not close; kept a copy in %s",
                wal, wal.stat().st_size, kept)
    scan = scan_wal(wal)
    if scan is not None and scan.tail_bytes and not accept_torn_tail:
        raise WalRecoveryError(wal, kept, window, (
            f"its last {scan.tail_bytes} of {scan.size} bytes, after commit {scan.commits} at "
            f"byte {scan.committed_end}, belong to no complete commit: a truncated or torn WAL, "
            f"which DuckDB would drop as a torn tail"))
    if scan is not None and scan.tail_bytes:
        log.warning("accepting the loss of %d bytes at the end of %s (copy: %s)",
                    scan.tail_bytes, wal, kept)
        # Cut the WAL after its last complete commit: DuckDB then replays every commit in it,
        # where a WAL that ends mid-entry would be dropped whole. The cut bytes are in ``kept``.
        with wal.open("r+b") as fh:
            fh.truncate(scan.committed_end)
    try:
        con = duckdb.connect(str(db))
    except duckdb.Error as exc:
        if "WAL" not in str(exc):
            raise  # e.g. "Could not set lock": another process has the file, not a WAL fault
        raise WalRecoveryError(wal, kept, window, f"{type(exc).__name__}: {exc}") from exc
    try:
        con.execute("CHECKPOINT")  # a replayed WAL is folded into the file and removed
    finally:
        con.close()
    if wal.exists() and wal.stat().st_size > 0 and not accept_torn_tail:
        raise WalRecoveryError(wal, kept, window,
                               "DuckDB skipped it as a torn tail, so its commits were not applied")
    log.info("replayed and checkpointed %s; the copy %s can be removed", wal, kept)
    return kept


def open_store_checked(path: Path | str, *, memory_limit: str | None = None,
                       accept_torn_tail: bool = False) -> Store:
    """``Store.open`` for writers, after ``check_wal``: a WAL DuckDB cannot replay stops here."""
    check_wal(path, accept_torn_tail=accept_torn_tail)
    return Store.open(path, memory_limit=memory_limit)
