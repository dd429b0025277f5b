"""Storage faults (FAULTS.md section D, cases 67-69): a full disk, a WAL left by a dead writer,
and a database file another process holds.

Writers that must really die or really hit a write limit run as subprocesses; the store is
reopened afterwards and checked.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import textwrap
import time
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows.pipeline import run_pipeline
from sample.server import SampleServer
from tests.sample_mode import sample_settings
from warehouse import health
from warehouse.health import LowDiskSpaceError, WalRecoveryError, open_store_checked, preflight
from warehouse.store import Store

ROOT = Path(__file__).resolve().parents[2]
Usage = namedtuple("Usage", "total used free")

# Writes committed rows into quality.validations (a keyless table: easy to count), then does
# whatever the test appends. The checkpoint threshold keeps commits in the WAL, as after a crash.
WRITER = textwrap.dedent("""
    import os, resource, signal, sys
    from datetime import UTC, datetime
    from warehouse.store import Store

    def rows(tag, n, size=20):
        now = datetime(2024, 1, 1, tzinfo=UTC)
        return [{"run_id": tag, "stage": "s", "table_name": "t", "suite": "x", "expectation": "e",
                 "success": True, "blocking": False, "why": (tag * size)[: size * 8],
                 "validated_at": now} for _ in range(n)]

    store = Store.open(sys.argv[1])
    store.con.execute("SET checkpoint_threshold = '1GB'")
    with store.transaction("first"):
        store.insert("quality.validations", rows("committed", 500))
    sys.stdout.write("committed\\n"); sys.stdout.flush()
""")


def _python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _count(db: Path, tag: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM quality.validations WHERE run_id = ?",
                               [tag]).fetchone()[0])
    finally:
        con.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- 67: disk full ---------------------------------------------------------------------------

def test_case_67_preflight_refuses_to_start_when_free_space_is_low(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "data" / "newsflow.duckdb"  # the folder does not exist yet: first run
    seen: list[Path] = []

    def usage(path: Path) -> Usage:
        seen.append(Path(path))
        return Usage(10 * 2**30, 10 * 2**30 - 40 * 2**20, 40 * 2**20)  # 40 MiB free

    monkeypatch.setattr(health.shutil, "disk_usage", usage)
    batch = 16 * 2**20
    with pytest.raises(LowDiskSpaceError) as refused:
        preflight(db, 3 * batch)  # k = 3: 48 MiB needed
    message = str(refused.value)
    assert "40.0 MiB free" in message and "48.0 MiB" in message and str(db) in message
    assert refused.value.free == 40 * 2**20 and refused.value.needed == 3 * batch
    assert seen == [tmp_path]  # the nearest existing folder was measured
    preflight(db, 2 * batch)  # 32 MiB needed: enough, no error
    assert not db.parent.exists()  # a check only: it creates nothing


WRITE_PAST_LIMIT = WRITER + textwrap.dedent("""
    # Cap the file size just above what is there: the next big write fails with EFBIG,
    # which DuckDB reports like ENOSPC (an I/O error on write). SIGXFSZ would kill us first.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    store.con.execute("CHECKPOINT")
    limit = os.path.getsize(sys.argv[1]) + 64 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        with store.transaction("big"):
            store.insert("quality.validations", rows("lost", 40000, size=40))
    except Exception as exc:
        print("write failed:", type(exc).__name__, exc)
        sys.exit(3)
    print("no error")
""")


@pytest.fixture(scope="module")
def write_past_limit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("full") / "full.duckdb"
    done = _python(WRITE_PAST_LIMIT, str(db))
    assert done.returncode == 3, (done.stdout, done.stderr[-2000:])
    return db, done.stdout


def test_case_67_a_failed_write_keeps_committed_data_and_the_db_reopens(
        write_past_limit: tuple[Path, str]) -> None:
    db, _ = write_past_limit
    assert _count(db, "committed") == 500
    assert _count(db, "lost") == 0
    with Store.open(db) as store:  # reopens read-write, migrations and all
        assert store.count("quality.validations") == 500


def test_case_67_the_write_error_itself_reaches_the_caller(
        write_past_limit: tuple[Path, str]) -> None:
    _, stdout = write_past_limit
    assert "write failed:" in stdout
    assert "File too large" in stdout, stdout


def test_case_67_an_exception_inside_a_transaction_rolls_back_the_batch(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        store.con.execute("CREATE TABLE main.t (i INTEGER)")
        with store.transaction("ok"):
            store.con.execute("INSERT INTO main.t SELECT range FROM range(10)")
        with pytest.raises(OSError, match="No space left"), store.transaction("enospc"):
            store.con.execute("INSERT INTO main.t SELECT range FROM range(10, 1000)")
            raise OSError(28, "No space left on device")
        assert store.scalar("SELECT count(*) FROM main.t") == 10
    with Store.open(db) as store:
        assert store.scalar("SELECT count(*), max(i) FROM main.t") == 10


# -- 68: a WAL left behind -------------------------------------------------------------------

KILLED_MID_TRANSACTION = WRITER + textwrap.dedent("""
    store.con.execute("BEGIN TRANSACTION")
    store.insert("quality.validations", rows("uncommitted", 300))
    os.kill(os.getpid(), signal.SIGKILL)
""")


@pytest.fixture(scope="module")
def killed_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose writer was SIGKILLed mid-transaction, with 500 committed rows in its WAL."""
    db = tmp_path_factory.mktemp("wal") / "killed.duckdb"
    done = _python(KILLED_MID_TRANSACTION, str(db))
    assert done.returncode == -9, done.stderr[-2000:]
    assert done.stdout == "committed\n"
    assert health.wal_path(db).stat().st_size > 0
    return db


def _copy(src: Path, dst_dir: Path, wal: bytes | None = None) -> Path:
    db = dst_dir / src.name
    shutil.copy(src, db)
    data = health.wal_path(src).read_bytes() if wal is None else wal
    health.wal_path(db).write_bytes(data)
    return db


def test_case_68_wal_of_a_killed_writer_is_replayed(killed_store: Path, tmp_path: Path) -> None:
    db = _copy(killed_store, tmp_path)
    original = health.wal_path(db).read_bytes()
    with open_store_checked(db) as store:
        assert store.scalar("SELECT count(*) FROM quality.validations "
                            "WHERE run_id = 'committed'") == 500
        assert store.scalar("SELECT count(*) FROM quality.validations "
                            "WHERE run_id = 'uncommitted'") == 0
    assert not health.wal_path(db).exists()  # consumed by the checkpoint, not deleted unread
    kept = list(tmp_path.glob("killed.duckdb.wal.*.kept"))
    assert len(kept) == 1 and kept[0].read_bytes() == original  # and the bytes were kept


def test_case_68_wal_with_garbage_appended_is_refused_then_accepted_explicitly(
        killed_store: Path, tmp_path: Path) -> None:
    whole = health.wal_path(killed_store).read_bytes()
    scan = health.scan_wal(health.wal_path(killed_store))
    assert scan is not None and scan.tail_bytes == 0 and scan.commits >= 2  # a clean crash WAL
    db = _copy(killed_store, tmp_path, whole + b"\x13garbage" * 64)
    with pytest.raises(WalRecoveryError, match="last 512 of"):
        open_store_checked(db)
    assert health.wal_path(db).read_bytes() == whole + b"\x13garbage" * 64
    # the runbook's explicit step: every complete commit is replayed, the tail is dropped
    with open_store_checked(db, accept_torn_tail=True) as store:
        assert store.scalar("SELECT count(*) FROM quality.validations") == 500
    assert len(list(tmp_path.glob("*.kept"))) == 1


def test_case_68_corrupt_wal_fails_with_the_file_named_and_is_kept(
        killed_store: Path, tmp_path: Path) -> None:
    flipped = bytearray(health.wal_path(killed_store).read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    db = _copy(killed_store, tmp_path, bytes(flipped))
    wal = health.wal_path(db)
    before = _sha(wal)
    # DuckDB 1.5.5 itself refuses a WAL whose checksum does not match, naming the file.
    with pytest.raises(duckdb.IOException, match=r"Failure while replaying WAL file .*killed"):
        Store.open(db)
    with pytest.raises(WalRecoveryError) as refused:
        open_store_checked(db)
    message = str(refused.value)
    assert str(wal) in message and "Corrupt WAL file" in message
    assert "runbook" in message and "newsflow backfill" in message and "may be lost" in message
    assert _sha(wal) == before  # not deleted, not rewritten
    assert refused.value.kept is not None and _sha(refused.value.kept) == before


def test_case_68_truncated_wal_is_refused_instead_of_silently_dropped(
        killed_store: Path, tmp_path: Path) -> None:
    whole = health.wal_path(killed_store).read_bytes()
    torn = whole[: len(whole) // 2]
    plain = tmp_path / "plain"
    plain.mkdir()
    # What DuckDB 1.5.5 does on its own: the torn WAL counts as an uncommitted tail; the 500
    # committed rows in it vanish without an error, and the first write overwrites the file.
    with Store.open(_copy(killed_store, plain, torn)) as store:
        assert store.count("quality.validations") == 0
    assert not health.wal_path(plain / killed_store.name).exists()
    # With the check: a clear error naming the file, before DuckDB touches it; bytes kept.
    db = _copy(killed_store, tmp_path, torn)
    with pytest.raises(WalRecoveryError) as refused:
        open_store_checked(db)
    message = str(refused.value)
    assert str(health.wal_path(db)) in message and "truncated or torn WAL" in message
    assert "runbook" in message and "may be lost" in message
    assert health.wal_path(db).read_bytes() == torn
    assert refused.value.kept is not None and refused.value.kept.read_bytes() == torn


def test_case_68_a_wal_of_garbage_only_is_refused(killed_store: Path, tmp_path: Path) -> None:
    db = _copy(killed_store, tmp_path, b"\xff" * 4096)
    assert health.scan_wal(health.wal_path(db)) is None  # not a WAL we can walk
    # DuckDB opens it without an error and leaves it; the check after CHECKPOINT catches that.
    with pytest.raises(WalRecoveryError, match="skipped it as a torn tail"):
        open_store_checked(db)
    assert health.wal_path(db).read_bytes() == b"\xff" * 4096


def test_case_68_a_clean_store_opens_without_a_copy(tmp_path: Path) -> None:
    db = tmp_path / "clean.duckdb"
    Store.open(db).close()
    with open_store_checked(db) as store:
        assert store.count("raw.runs") == 0
    assert list(tmp_path.glob("*.kept")) == []


# -- 69: the database file held by another process ------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])   # read-write, as the DuckDB CLI or DBeaver would
    print("holding", flush=True)
    time.sleep(120)
""")


@pytest.fixture()
def sample() -> Iterator[SampleServer]:
    with SampleServer(n_articles=4) as server:
        yield server


def test_case_69_db_held_by_another_process_fails_fast_naming_the_pid(
        tmp_path: Path, sample: SampleServer) -> None:
    db = tmp_path / "held.duckdb"
    Store.open(db).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        settings = sample_settings(sample, tmp_path, db.name)
        started = time.monotonic()
        result = run_pipeline(settings, run_id="locked-69", only_due=False)
        elapsed = time.monotonic() - started
        # "locked" is its own status (the CLI exits 75), not a failure
        assert result["status"] == "skipped_locked" and result["stages"] == {}
        message = result["message"]
        assert "Could not set lock on file" in message and str(db) in message
        assert f"PID {holder.pid}" in message
        assert elapsed < 5, elapsed  # no retry loop, no hang
        assert sample.request_log == []  # refused before any fetch
    finally:
        holder.kill()
        holder.wait()
    # no copy was written anywhere, and the file is untouched and usable; the skipped run is
    # noted beside it for the next writer to record (issue 18)
    assert sorted(p.name for p in tmp_path.iterdir() if "held" in p.name) == [
        "held.duckdb", "held.duckdb.lock", "held.duckdb.skipped.jsonl"]
    assert '"run_id": "locked-69"' in (tmp_path / "held.duckdb.skipped.jsonl").read_text()
    with Store.open(db) as store:
        assert store.count("raw.runs") == 0


# -- 68: the runbook as a command --------------------------------------------------------------

def _recover(db: Path, *extra: str) -> object:
    from typer.testing import CliRunner

    from flows.cli import app

    return CliRunner().invoke(app, ["store", "recover", "--db", str(db), *extra])


def test_case_68_store_recover_shows_a_torn_wal_then_accepts_its_loss_keeping_the_bytes(
        killed_store: Path, tmp_path: Path) -> None:
    whole = health.wal_path(killed_store).read_bytes()
    scan = health.scan_wal(health.wal_path(killed_store))
    assert scan is not None and scan.commits >= 2
    # a torn write: a next commit's first entry, cut short after 40 of its bytes
    start = whole.find(b"\xff\xff") + 2
    torn = whole + whole[start: start + 40]
    db = _copy(killed_store, tmp_path, torn)
    torn_scan = health.scan_wal(health.wal_path(db))
    assert torn_scan is not None and torn_scan.tail_bytes > 0 and torn_scan.commits >= 1
    shown = _recover(db)
    assert shown.exit_code == 1, shown.output  # type: ignore[attr-defined]
    assert "--accept-torn-tail" in shown.stderr  # type: ignore[attr-defined]
    assert f"{torn_scan.commits} complete commit(s)" in shown.stdout  # type: ignore[attr-defined]
    assert "Traceback" not in shown.output  # type: ignore[attr-defined]
    assert health.wal_path(db).read_bytes() == torn  # showing changed nothing
    done = _recover(db, "--accept-torn-tail")
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    assert f"{torn_scan.tail_bytes} byte(s) dropped" in done.stdout  # type: ignore[attr-defined]
    assert not health.wal_path(db).exists()
    kept = list(tmp_path.glob("killed.duckdb.wal.*.kept"))
    assert len(kept) == 1 and kept[0].read_bytes() == torn  # every byte kept
    with Store.open(db) as store:  # the complete commits were replayed, not dropped
        assert store.scalar("SELECT count(*) FROM quality.validations "
                            "WHERE run_id = 'committed'") == 500
    assert "nothing to recover" in _recover(db).stdout  # type: ignore[attr-defined]
