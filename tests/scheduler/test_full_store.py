"""A store that cannot grow: writes are refused with 503 STORE_FULL in one line, reads are
answered, nothing stored is damaged, and writes succeed again once there is space.

The storage test caps SQLite with ``max_page_count``; the daemon test puts the store of a
real daemon on a small tmpfs and fills it (it needs root to mount, and is skipped without).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from aurora_provider.api.errors import StoreFull
from aurora_provider.framework.storage.database import connect
from aurora_provider.framework.storage.tables import scheduler_state
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration


def _cap_pages(engine: sa.Engine, pages: Callable[[], int]) -> None:
    """Every new connection may grow the file to ``pages()`` pages at most."""
    def cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count={pages()}")
    sa.event.listen(engine, "connect", cap)
    engine.dispose()


def test_a_store_at_its_size_limit_refuses_writes_keeps_its_rows_and_recovers(
        tmp_path: Path) -> None:
    db = connect(f"sqlite:///{tmp_path / 'store.db'}")
    with db.engine.connect() as conn:
        used = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    limit = [used + 4]
    _cap_pages(db.engine, lambda: limit[0])
    blob = "x" * 3000
    written = 0
    with pytest.raises(StoreFull) as full:
        for i in range(100):
            with db.transaction() as tx:
                tx.execute(scheduler_state.insert().values(name=f"k{i}", value=blob,
                                                           updated_at=0.0))
            written += 1
    assert 0 < written < 100
    message = str(full.value)
    assert "\n" not in message and "the store is full" in message and "HTTP 503" in message
    rows = db.read(sa.select(scheduler_state.c.name))
    assert len(rows) == written  # the refused write left nothing behind; the rest is intact
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    limit[0] = used + 1000  # space returns
    db.engine.dispose()
    with db.transaction() as tx:
        tx.execute(scheduler_state.insert().values(name="after", value=blob, updated_at=0.0))
    assert len(db.read(sa.select(scheduler_state.c.name))) == written + 1
    db.dispose()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    with open(path, "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()


def test_a_daemon_whose_disk_is_full_answers_reads_refuses_writes_and_carries_on(
        small_disk: Path, tmp_path: Path) -> None:
    daemon = Daemon(tmp_path / "work", tmp_path / "home",
                    ["--db", f"sqlite:///{small_disk / 'scheduler.db'}"])
    daemon.start()
    try:
        headers = {"Authorization": f"Bearer {daemon.token()}"}
        jobs = f"{daemon.url}/api/v1/jobs"

        def create(name: str) -> httpx.Response:
            wire = job_wire(tmp_path, name, "sleep 600", service=True, instances=20)
            return httpx.post(jobs, json={"job": wire}, headers=headers, timeout=30)

        assert create("before").status_code == 201
        filler = small_disk / "filler"
        fill(filler)
        refused = create("during")
        assert refused.status_code == 503
        body = refused.json()
        assert body["code"] == "STORE_FULL"
        assert "the store is full" in body["message"] and "\n" not in body["message"]
        listed = httpx.get(jobs, headers=headers, timeout=30)
        assert listed.status_code == 200
        assert [j["key"] for j in listed.json()["jobs"]] == ["devcluster/www/test/before"]
        assert daemon.proc is not None and daemon.proc.poll() is None
        filler.unlink()  # space returns
        assert create("after").status_code == 201
        with daemon.client() as c:
            eventually(lambda: sum(t.status == "RUNNING"
                                   for t in c.job_status("devcluster/www/test/after").active)
                       == 20, what="the job created after the disk had space again running")
            before = c.job_status("devcluster/www/test/before")
            assert sorted(t.instance for t in before.active) == list(range(20))
    finally:
        daemon.stop(signal.SIGKILL)
        daemon.kill_runners()
