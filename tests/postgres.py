"""A real PostgreSQL for tests: Debian's ``postgresql`` binaries, a throwaway cluster on
127.0.0.1.

``PostgresServer`` runs ``initdb`` in a temp dir, starts the cluster on a free port with
``pg_ctl`` (trust auth on 127.0.0.1 and the dir's socket only), waits until it answers and
stops it (``pg_ctl stop -m fast``) on ``stop()``. PostgreSQL refuses to run as root, so as
root the cluster belongs to the ``postgres`` user. With ``AURORA_TEST_POSTGRES_URL`` set (a
server, PostgreSQL 13 or newer, and a database of it the tests may create databases from),
``server_for_tests()`` uses that server instead and starts nothing.

Each test gets a database of its own (``new_database()``: ``CREATE DATABASE ... TEMPLATE
template0``) and drops it at its end (``drop_database()``, which also ends the connections
the test left open). Measured on 2 busy cores: the create takes 0.02-0.2 s (a schema per
test would take ~0), the store's migrations 0.2-0.3 s whichever it is, so a database per
test costs little more and is what a deployment has.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import sqlalchemy as sa

URL_VARIABLE = "AURORA_TEST_POSTGRES_URL"
# Settings of a cluster nothing must survive: no disk syncs, C collation (byte order, as
# SQLite sorts), room for the connections of many stores a test leaves open.
_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off",
             "max_connections=200", "listen_addresses=127.0.0.1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL's initdb is missing: apt-get install -y postgresql "
                           f"(or set {URL_VARIABLE} to a server the tests may use)")
    return Path(found[-1]).parent


class PostgresServer:
    """A PostgreSQL server the tests may create databases on.

    :param admin_url: a SQLAlchemy URL of a database to connect to for ``CREATE DATABASE``
        (a running server); None starts a throwaway cluster on ``start()``.
    """

    def __init__(self, admin_url: str | None = None) -> None:
        self.external = admin_url is not None
        self.port = free_port()
        self._root: Path | None = None
        self._started = False
        url = admin_url or f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.admin_url = sa.engine.make_url(url).set(drivername="postgresql+psycopg")

    # -- the throwaway cluster -------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        if self.external:
            self._wait_ready(timeout)
            return
        bin_dir = _bin_dir()
        self._root = Path(tempfile.mkdtemp(prefix="aurora-test-pg-"))
        try:
            if os.geteuid() == 0:
                shutil.chown(self._root, "postgres", "postgres")
            data = self._root / "data"
            self._run(bin_dir / "initdb", "-D", data, "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C", "--no-sync")
            # Trust on the socket and on 127.0.0.1 only (initdb's default also trusts ::1).
            (data / "pg_hba.conf").write_text(
                "local all all trust\nhost all all 127.0.0.1/32 trust\n")
            options = " ".join([f"-p {self.port}", f"-k {self._root}",
                                *(f"-c {s}" for s in _SETTINGS)])
            self._started = True
            self._run(bin_dir / "pg_ctl", "-D", data, "-l", self._root / "server.log",
                      "-o", options, "-w", "-t", str(int(timeout)), "start")
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _run(self, *argv: str | Path) -> None:
        command = [str(a) for a in argv]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self._root,
                              check=False)
        if done.returncode != 0:
            log = self._root / "server.log" if self._root is not None else None
            tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): "
                               f"{done.stderr.strip()} {tail}".strip())

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self._admin():
                    return
            except psycopg.OperationalError as e:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL at {self._where()} did not answer within "
                                       f"{timeout} s: {e}") from e
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the throwaway cluster (a no-op for an external server) and remove its dir."""
        if self._root is None:
            return
        if self._started:
            data = self._root / "data"
            try:
                self._run(_bin_dir() / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
            except RuntimeError:
                pid_file = data / "postmaster.pid"
                if pid_file.exists():  # still running: nothing may outlive the tests
                    os.kill(int(pid_file.read_text().split()[0]), 9)
            self._started = False
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    # -- databases ---------------------------------------------------------------------------

    def new_database(self) -> str:
        """The SQLAlchemy URL of a new, empty database (drop it with ``drop_database``)."""
        name = f"aurora_test_{uuid.uuid4().hex[:16]}"
        with self._admin() as conn:
            # A file copy of the small template (PostgreSQL >= 15 would otherwise write it
            # all to the WAL: ten times slower here).
            version = conn.info.server_version
            strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0{strategy}')
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database of ``new_database``, ending the connections still open on it."""
        name = sa.engine.make_url(url).database
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        conninfo = self.admin_url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)

    def _where(self) -> str:
        return self.admin_url.render_as_string(hide_password=True)


def server_for_tests() -> PostgresServer:
    """The server of ``AURORA_TEST_POSTGRES_URL`` when it is set, else a throwaway cluster
    (neither started yet)."""
    return PostgresServer(os.environ.get(URL_VARIABLE) or None)
