"""Runners that die under a running scheduler (kill -9) are noticed: their task is LOST and
rescheduled, and the processes they leave behind are killed. Real daemon, real runners."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from aurora_provider.api import models as m
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

KEY = "devcluster/www/test/{name}"


def status(daemon: Daemon, key: str) -> m.JobStatus:
    with daemon.client() as c:
        return c.job_status(key)


def running_task(daemon: Daemon, key: str) -> m.TaskModel | None:
    return next((t for t in status(daemon, key).active if t.status == "RUNNING"), None)


def start_service(daemon: Daemon, tmp_path: Path, name: str) -> tuple[str, int, list[int]]:
    """A one-instance service RUNNING: its task id, runner pid and the runner's processes."""
    key = KEY.format(name=name)
    with daemon.client() as c:
        c.create_job(job_wire(tmp_path, name, "sleep 600", service=True))
    task = eventually(lambda: running_task(daemon, key), what="a RUNNING task")
    runner = daemon.runner_pids()[task.task_id]
    # The process (bash -c and its sleep) is up once the runner forked it.
    below = eventually(lambda: psutil.Process(runner).children(recursive=True),
                       what="the task's processes")
    return task.task_id, runner, [p.pid for p in below]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def lost_and_replaced(daemon: Daemon, key: str, task_id: str) -> Callable[[], m.JobStatus | None]:
    def check() -> m.JobStatus | None:
        st = status(daemon, key)
        lost = [t for t in st.terminal if t.task_id == task_id and t.status == "LOST"]
        replaced = [t for t in st.active if t.status == "RUNNING" and t.ancestor_id == task_id]
        return st if lost and replaced else None
    return check


def test_a_runner_killed_under_the_scheduler_is_lost_rescheduled_and_its_processes_killed(
        make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = make_daemon()
    task_id, runner, processes = start_service(daemon, tmp_path, "orphaner")
    os.kill(runner, signal.SIGKILL)  # its processes are left running
    key = KEY.format(name="orphaner")
    st = eventually(lost_and_replaced(daemon, key, task_id), timeout=30,
                    what="the task LOST and a replacement RUNNING")
    lost = next(t for t in st.terminal if t.task_id == task_id)
    assert "Runner exited without a terminal state" in (lost.message or "")
    eventually(lambda: not any(alive(p) for p in processes), timeout=30,
               what="the dead runner's processes killed")
    assert st.active[0].failure_count == 0  # a lost runner is not the task's failure


def test_a_runner_killed_with_its_processes_is_lost_and_rescheduled(
        make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = make_daemon()
    task_id, runner, processes = start_service(daemon, tmp_path, "wiped")
    for pid in [runner, *processes]:
        os.kill(pid, signal.SIGKILL)
    eventually(lost_and_replaced(daemon, KEY.format(name="wiped"), task_id), timeout=30,
               what="the task LOST and a replacement RUNNING")


def test_processes_of_a_runner_that_died_while_the_scheduler_was_down_are_killed(
        make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = make_daemon()
    task_id, runner, processes = start_service(daemon, tmp_path, "downtime")
    daemon.stop(signal.SIGKILL)
    os.kill(runner, signal.SIGKILL)
    daemon.start()
    key = KEY.format(name="downtime")
    st = eventually(lost_and_replaced(daemon, key, task_id), timeout=30,
                    what="the task LOST and a replacement RUNNING")
    lost = next(t for t in st.terminal if t.task_id == task_id)
    assert lost.message == "Runner vanished while the scheduler was down"
    eventually(lambda: not any(alive(p) for p in processes), timeout=30,
               what="the dead runner's processes killed")
