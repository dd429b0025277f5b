"""``newsflow store recover``: the WAL runbook as a command (docs/operations.md).

Registered in flows/cli/__init__.py as the ``store`` group. A writer that died leaves DuckDB's
write-ahead log beside the store; every writer replays a clean one on its own, and refuses one
that ends in bytes no complete commit covers (warehouse.health.check_wal). This command shows
what such a WAL holds and, only when asked, accepts the loss of its torn tail: every complete
commit is replayed, and every byte of the WAL stays in a kept copy beside it.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from flows.cli.errors import reports_errors
from flows.cli.options import DbOption, settings
from transforms.errors import MissingStoreError, StoreDamagedError

app = typer.Typer(help="Operator tools for the private store (the WAL runbook).",
                  no_args_is_help=True, add_completion=False)
console = Console(soft_wrap=True, highlight=False)  # paths stay whole on one line


@app.command()
@reports_errors
def recover(
    db: DbOption = None,
    accept_torn_tail: Annotated[bool, typer.Option(
        "--accept-torn-tail", help="Replay every complete commit of a torn WAL and drop the "
        "rest (its bytes are kept in a copy beside it).")] = False,
) -> None:
    """Show what a WAL left by a dead writer holds; replay it (and accept a torn tail if asked)."""
    from warehouse.access import open_writer
    from warehouse.health import scan_wal
    from warehouse.store import wal_path

    config = settings(db)
    path = config.db_path
    if not path.exists():
        raise MissingStoreError(f"no database at {path}")
    wal = wal_path(path)
    if not wal.exists() or wal.stat().st_size == 0:
        console.print(f"{path}: no WAL left behind, nothing to recover")
        return
    scan = scan_wal(wal)
    if scan is None:
        console.print(f"{wal}: {wal.stat().st_size} bytes that are not a DuckDB WAL newsflow "
                      "can read")
    else:
        console.print(f"{wal}: {scan.size} bytes, {scan.commits} complete commit(s) ending at "
                      f"byte {scan.committed_end}, {scan.tail_bytes} byte(s) after them")
    if scan is not None and scan.tail_bytes and not accept_torn_tail:
        raise StoreDamagedError(
            f"the WAL's last {scan.tail_bytes} byte(s) belong to no complete commit",
            advice="restore the last backup, or re-run with --accept-torn-tail to replay the "
                   f"{scan.commits} complete commit(s) and drop the rest (docs/operations.md)")
    with open_writer(path, min_free_mb=config.min_free_mb, accept_torn_tail=accept_torn_tail):
        pass  # the door replays the WAL, checkpoints it into the file and keeps a copy
    kept = sorted(wal.parent.glob(f"{wal.name}.*.kept"))
    dropped = f", {scan.tail_bytes} byte(s) dropped" if scan and scan.tail_bytes else ""
    console.print(f"recovered: {scan.commits if scan else 'the'} commit(s) replayed into {path}"
                  f"{dropped}; the WAL's bytes are kept in {kept[-1] if kept else 'no copy'}")
