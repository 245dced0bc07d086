"""Reading a task's state from its checkpoint, without its runner: immutable views.

``CheckpointReader`` replays a task's stream with the runner's own dispatcher (no lock
taken, nothing written) and returns a ``TaskView``; a corrupt record stops the replay there
and shows as ``checkpoint_error``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aurora_provider.states.executor_task import TERMINAL, ExecutorTaskState
from aurora_provider.states.health import HealthState
from aurora_provider.states.process_run import ProcessState

from ..errors import CheckpointError
from . import checkpoint, procfs
from .dispatcher import Dispatcher, ProcessRun, RecordedTask
from .paths import TaskPaths


@dataclass(frozen=True)
class ProcessRunView:
    run: int
    state: ProcessState
    pid: int | None
    start_time: float | None
    stop_time: float | None
    return_code: int | None
    reason: str | None


@dataclass(frozen=True)
class ProcessView:
    name: str
    runs: tuple[ProcessRunView, ...]

    @property
    def state(self) -> ProcessState:
        return self.runs[-1].state if self.runs else ProcessState.WAITING


@dataclass(frozen=True)
class TaskView:
    task_id: str
    state: ExecutorTaskState  # ACTIVE, CLEANING, FINALIZING, SUCCESS, FAILED, KILLED, LOST
    health: HealthState  # starting, healthy, unhealthy, or none (no health check)
    runner_pid: int | None
    runner_alive: bool
    launch_time: float | None
    sandbox: str | None
    log_dir: str | None
    hostname: str | None
    job_key: str | None
    instance: int | None
    ports: dict[str, int]
    processes: dict[str, ProcessView]
    statuses: tuple[tuple[ExecutorTaskState, float], ...]
    resources: dict[str, Any] = field(default_factory=dict)  # latest samples
    failure_reason: str | None = None
    health_reason: str | None = None
    checkpoint_error: str | None = None  # a corrupt record stopped the replay here

    @property
    def message(self) -> str | None:
        return self.checkpoint_error or self.failure_reason or self.health_reason

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL


def replay(paths: TaskPaths) -> tuple[RecordedTask, str | None]:
    """What the task's stream says, and the error that stopped reading it (if any)."""
    task = RecordedTask()
    scan = checkpoint.scan(paths.stream)
    error = str(scan.error) if scan.error else None
    try:
        Dispatcher(task).replay(scan.records)
    except CheckpointError as e:
        error = str(e)
    return task, error


def _run_view(r: ProcessRun) -> ProcessRunView:
    return ProcessRunView(r.run, r.state, r.pid, r.start_time, r.stop_time, r.return_code,
                          r.reason)  # fmt: skip


class CheckpointReader:
    """Read-only access to the tasks under a checkpoint root (no lock taken)."""

    def __init__(self, checkpoint_root: str | os.PathLike[str]) -> None:
        self.root = Path(checkpoint_root)

    def task_ids(self) -> list[str]:
        try:
            entries = sorted(self.root.iterdir())
        except FileNotFoundError:
            return []
        return [e.name for e in entries if TaskPaths(self.root, e.name).stream.exists()]

    def task(self, task_id: str) -> TaskView | None:
        paths = TaskPaths(self.root, task_id)
        if not paths.stream.exists():
            return None
        task, error = replay(paths)
        header = task.header
        alive = (
            task.runner_pid is not None
            and task.state not in TERMINAL
            and procfs.is_alive(task.runner_pid, task.runner_create_time)
            and checkpoint.is_locked(paths.lock)
        )
        try:
            resources = json.loads(paths.resources.read_text())
        except (OSError, ValueError):
            resources = {}
        return TaskView(
            task_id=task_id,
            state=task.state,
            health=task.health,
            runner_pid=task.runner_pid,
            runner_alive=alive,
            launch_time=header.launch_time if header else None,
            sandbox=header.sandbox if header else None,
            log_dir=header.log_dir if header else None,
            hostname=header.hostname if header else None,
            job_key=header.job_key if header else None,
            instance=header.instance if header else None,
            ports=dict(header.ports) if header else {},
            processes={
                name: ProcessView(name, tuple(_run_view(r) for r in runs))
                for name, runs in task.processes.items()
            },
            statuses=tuple(task.statuses),
            resources=resources,
            failure_reason=task.failure_reason,
            health_reason=task.health_reason,
            checkpoint_error=error,
        )
