"""Generations of the published analyst copy: immutable folders, checksummed, switched in one step.

Layout under the publish folder (``published/`` beside the store)::

    gen-000007/                 one complete copy: <table>/... Parquet and its own _manifest.json
    gen-000008/
    current -> gen-000008       for readers of the Parquet files themselves
    _manifest.json              the generation analytics.duckdb points to (the next publish's base)

A generation is built in a hidden temporary folder and renamed into place only once every file and
its manifest are written, so a ``gen-*`` folder is always whole. Nothing in a generation is ever
modified afterwards: unchanged files of the next generation are hard links to it (same inode, no
copy), changed ones are new files. Every file's size, mtime and sha256 are in the generation's
manifest, which lets the next publish tell a damaged file from a good one before reusing it: every
publish compares size and mtime (a stat, nothing read), ``verify`` compares the sha256 of every
byte (see ``verified``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

log = logging.getLogger(__name__)

MANIFEST: Final = "_manifest.json"
CURRENT: Final = "current"
# 3: tables carry change tokens instead of content fingerprints, files their mtime.
FORMAT: Final = 3
_GEN = re.compile(r"^gen-(\d{6,})$")
_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class FileSum:
    """What a published file must be: its size and sha256, and the mtime it was left with.

    The mtime is the cheap check of every publish: a file written or overwritten in place since
    (truncated, emptied, a byte flipped) has a newer one, unless someone set it back on purpose;
    the sha256 is the full check of ``verified``.
    """

    size: int
    sha256: str
    mtime_ns: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"size": self.size, "sha256": self.sha256}
        if self.mtime_ns is not None:
            out["mtime_ns"] = self.mtime_ns
        return out

    @classmethod
    def of(cls, meta: dict[str, Any]) -> FileSum:
        mtime = meta.get("mtime_ns")
        return cls(int(meta["size"]), str(meta["sha256"]), None if mtime is None else int(mtime))

    def at(self, path: Path) -> FileSum:
        """The same content under another name (a hard link or a copy): its own mtime."""
        return FileSum(self.size, self.sha256, path.stat().st_mtime_ns)


def gen_name(number: int) -> str:
    return f"gen-{number:06d}"


def generations(out_dir: Path) -> list[int]:
    """Numbers of the complete generations in ``out_dir``, oldest first."""
    found = []
    for entry in out_dir.iterdir() if out_dir.exists() else ():
        match = _GEN.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink():
            found.append(int(match.group(1)))
    return sorted(found)


def checksum(path: Path) -> FileSum:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        mtime = os.fstat(handle.fileno()).st_mtime_ns
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileSum(size, digest.hexdigest(), mtime)


def verified(folder: Path, files: dict[str, Any], *, full: bool = True
             ) -> tuple[dict[str, FileSum], list[str]]:
    """The files of a generation that are intact, and the names of those that are not.

    ``full`` (the explicit verification): a size check first (a truncated or emptied file costs
    no read), then the sha256 of the bytes. Otherwise (every publish) only a stat: the file is
    there with the size and mtime the manifest recorded, which costs nothing per byte; a file
    recorded without an mtime gets the full check.
    """
    good: dict[str, FileSum] = {}
    damaged: list[str] = []
    for rel, meta in sorted(files.items()):
        want = FileSum.of(meta)
        path = folder / rel
        try:
            stat = path.stat()
            if stat.st_size != want.size:
                ok = False
            elif full or want.mtime_ns is None:
                got = checksum(path)
                ok = (got.size, got.sha256) == (want.size, want.sha256)
                want = FileSum(want.size, want.sha256, got.mtime_ns)
            else:
                ok = stat.st_mtime_ns == want.mtime_ns
        except OSError:
            ok = False
        if ok:
            good[rel] = want
        else:
            damaged.append(rel)
    if damaged:
        log.warning("published generation %s: %d damaged or missing files, rewriting them: %s",
                    folder.name, len(damaged), ", ".join(damaged[:10]))
    return good, damaged


def link_or_copy(source: Path, target: Path) -> bool:
    """Reuse a file of the previous generation in ``target``'s folder (made by the caller): a
    hard link where the file system allows one (True: the same inode, so the same size and
    mtime), else a copy (False)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
        return False
    return True


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest of this format, or ``{}`` (missing, unreadable or another format)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("unreadable publish manifest %s (%s); republishing everything", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    return data


def write_json(path: Path, data: dict[str, Any] | str) -> None:
    """Write beside the name, flush to disk, rename: the name always holds a whole file.
    ``data`` may be the JSON text already (one manifest written to two places)."""
    text = data if isinstance(data, str) else json_text(data)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    sync_dir(path.parent)


def json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def sync_file(path: Path) -> None:
    """Flush a file this publish wrote to disk before a rename makes it visible.

    Only new files are flushed, so the cost follows what changed. Linked files were flushed when
    first written, and the folders of a generation are not flushed one by one (hundreds of day
    folders cost seconds): after a power cut a generation may miss entries, which the next
    publish's verification finds and rewrites. A killed process loses nothing either way.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(folder: Path) -> None:
    """Flush a folder's entries (after a rename in it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def point_current(out_dir: Path, number: int) -> None:
    """Re-point ``current`` at a generation in one rename (a no-op where symlinks are refused)."""
    tmp = out_dir / f".{CURRENT}.{os.getpid()}.tmp"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(gen_name(number), target_is_directory=True)
        os.replace(tmp, out_dir / CURRENT)
        sync_dir(out_dir)
    except OSError as exc:
        log.warning("could not point %s at %s: %s", out_dir / CURRENT, gen_name(number), exc)


def clean_temporaries(out_dir: Path) -> int:
    """Remove what a killed publish left: half-built generations and half-written files.

    Only hidden ``*.tmp`` names at the top of ``out_dir`` are touched; complete generations are
    never modified.
    """
    removed = 0
    for leftover in out_dir.glob(".*.tmp"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def prune(out_dir: Path, keep: int, protect: int) -> list[int]:
    """Delete all but the newest ``keep`` generations; never ``protect`` (the one in use)."""
    numbers = generations(out_dir)
    kept = set(numbers[-max(keep, 1):]) | {protect}
    gone = [n for n in numbers if n not in kept]
    for number in gone:
        # Renamed away first, so that a kill half-way leaves a temporary, not a partial gen-*.
        doomed = out_dir / f".{gen_name(number)}.{os.getpid()}.gone.tmp"
        os.rename(out_dir / gen_name(number), doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    return gone
