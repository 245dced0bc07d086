"""The composition root as a leader election uses it: build, start, stop, start again on the
same store, in one process, with real runners; nothing leaks (threads, file handles,
runners) and the second start re-attaches to what the first one launched."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path

import httpx
import psutil
import pytest

from aurora_provider.framework.backends.local.backend import Capacity, LocalBackend
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.daemon import Daemon, DaemonSettings
from aurora_provider.framework.http.auth import embedded_auth_file
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.task import TaskState
from tests.eventually import eventually
from tests.fakes import typed
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.process
JOB = "www/test/lifecycle"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _handles() -> set[tuple[str, str]]:
    """This process's open descriptors: (number, what it points at)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            found.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
    return found


def _leaked(threads: set[threading.Thread], handles: set[tuple[str, str]]) -> bool:
    """Whether a thread or a descriptor opened since the baseline is still there (others,
    of earlier tests, may close meanwhile)."""
    return bool(set(threading.enumerate()) - threads or _handles() - handles)


def _get(daemon: Daemon, path: str, token: str | None = None) -> httpx.Response:
    """A request to the daemon's ASGI face, in process (as uvicorn would send it)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=daemon.asgi),
                                     base_url="http://scheduler") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(call())


def test_start_stop_start_leaks_nothing_and_reattaches(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    auth = embedded_auth_file(work, tmp_path / "token", "tester")
    token = (tmp_path / "token").read_text().strip()
    settings = DaemonSettings(
        db_url=f"sqlite:///{work / 'scheduler.db'}", auth_file=auth,
        scheduler=SchedulerSettings(round_interval_secs=0.05))
    backends: list[LocalBackend] = []

    def backend(_store: Store) -> LocalBackend:
        made = LocalBackend(work_dir=work, hostname="localhost",
                            capacity=Capacity(cpu=8, ram_mb=8192, disk_mb=8192))
        backends.append(made)
        return made

    daemon = Daemon(settings, backend)
    threads, handles = set(threading.enumerate()), _handles()
    job = typed(job_wire(tmp_path, "lifecycle", "sleep 600", service=True))

    parts = daemon.start()
    assert daemon.start() is parts  # starting a running daemon changes nothing
    created = parts.jobs.create(job)
    running = eventually(lambda: [t for t in parts.ledger.active(JOB)
                                  if t.status is TaskState.RUNNING], what="the task RUNNING")
    assert [t.task_id for t in running] == created.task_ids
    (runner,) = backends[0].runner_pids()
    listed = _get(daemon, "/api/v1/jobs", token)
    assert listed.status_code == 200 and len(listed.json()["jobs"]) == 1

    daemon.stop()
    daemon.stop()  # stopping twice is harmless
    eventually(lambda: not _leaked(threads, handles), what="threads and files gone")
    assert _get(daemon, "/api/v1/jobs", token).status_code == 503  # a follower's answer
    assert _get(daemon, "/leaderhealth").status_code == 503
    assert _get(daemon, "/health").status_code == 200
    assert _alive(runner)  # runners are detached: they outlive the scheduler

    parts = daemon.start()  # again, on the same store: the task is re-attached, not rerun
    assert [t.task_id for t in parts.ledger.active(JOB)] == created.task_ids
    assert parts.ledger.active(JOB)[0].status is TaskState.RUNNING
    parts.scheduler.run_round()
    assert backends[1].runner_pids() == [runner]
    assert _get(daemon, "/leaderhealth").status_code == 200
    parts.jobs.kill(JOB, None, "tester", "done")
    eventually(lambda: not parts.ledger.active(JOB), what="the job killed")
    eventually(lambda: not _alive(runner), what="the runner gone")

    daemon.stop()
    eventually(lambda: not _leaked(threads, handles), what="threads and files gone")
