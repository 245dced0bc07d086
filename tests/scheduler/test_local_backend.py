"""The local backend's reading of a runner, with the executor replaced by a scripted one."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aurora_provider.framework.backends.base import Launch
from aurora_provider.framework.backends.local.backend import Capacity, LocalBackend, _Tracked
from aurora_provider.states.task import TaskState
from executor import api

pytestmark = pytest.mark.unit


@dataclass
class View:
    state: str
    health: str = "none"
    runner_pid: int | None = None
    runner_alive: bool = False
    message: str | None = None
    sandbox: str | None = None
    log_dir: str | None = None
    processes: Mapping[str, api.ProcessView] = field(default_factory=dict)


class ScriptedExecutor:
    """Answers ``task()`` from a script: one view per read, the last one repeated."""

    def __init__(self, views: list[View]) -> None:
        self.views = views
        self.reads = 0
        self.killed: list[str] = []

    def task_ids(self) -> list[str]:
        return ["t-1"]

    def task(self, task_id: str) -> View | None:
        view = self.views[min(self.reads, len(self.views) - 1)]
        self.reads += 1
        return view

    def runner_argv(self, **_: object) -> list[str]:
        raise AssertionError("nothing is launched here")

    def kill_task(self, task_id: str) -> None:
        self.killed.append(task_id)  # what a dead runner left running


def backend_tracking_an_exited_runner(tmp_path: Path, views: list[View]) -> LocalBackend:
    backend = LocalBackend(work_dir=tmp_path, hostname="localhost",
                           capacity=Capacity(1, 1024, 1024), executor=ScriptedExecutor(views))
    backend.start()
    runner = subprocess.Popen(["true"])
    runner.wait()  # exited: its pid is no runner any more
    launch = Launch(task_id="t-1", job_key="devcluster/www/test/t", instance=0,
                    agent_id=backend.agent_id, hostname="localhost", ports={},
                    config=None, cpu=0.1, ram_mb=8, disk_mb=8)  # type: ignore[arg-type]
    backend._tracked["t-1"] = _Tracked(launch, None, runner.pid, None, TaskState.RUNNING)
    return backend


def test_a_runner_that_checkpointed_its_end_then_exited_is_not_lost(tmp_path: Path) -> None:
    # The first read sees the task still active; by the liveness check the runner had written
    # FAILED and exited. The task failed: it must not be reported LOST.
    backend = backend_tracking_an_exited_runner(
        tmp_path, [View("ACTIVE"), View("FAILED", message="Process main failed")])
    updates = backend.poll()
    assert [(u.task_id, u.state) for u in updates] == [("t-1", TaskState.FAILED)]


def test_a_runner_gone_without_an_end_is_lost(tmp_path: Path) -> None:
    backend = backend_tracking_an_exited_runner(tmp_path, [View("ACTIVE")])
    updates = backend.poll()
    assert [(u.task_id, u.state) for u in updates] == [("t-1", TaskState.LOST)]
    assert "Runner exited without a terminal state" in (updates[0].message or "")
    backend.stop()  # sees the orphans' kill through
    assert backend.executor.killed == ["t-1"]  # type: ignore[attr-defined]


def test_a_dead_runner_is_noticed_though_its_checkpoint_does_not_change(
        tmp_path: Path) -> None:
    # The view read while the runner lived says so; the checkpoint does not change after a
    # kill -9, so the cached view keeps saying it: liveness must come from the pid.
    backend = backend_tracking_an_exited_runner(
        tmp_path, [View("ACTIVE", runner_pid=1, runner_alive=True)])
    updates = backend.poll()
    assert [(u.task_id, u.state) for u in updates] == [("t-1", TaskState.LOST)]
