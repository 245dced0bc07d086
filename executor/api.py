"""The executor's Python API, for the scheduler's local backend and the observer.

``CheckpointReader`` lists the tasks under a checkpoint root and returns one task's state
as an immutable ``TaskView``; ``runner_argv`` is how to start a runner; ``kill_task`` stops
a task whether or not its runner is alive; ``collect_garbage`` removes old sandboxes and
checkpoints.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import checkpoint, procfs
from .checkpoint import TaskPaths
from .errors import CheckpointError, StateTransitionError
from .gc import GcReport, collect_garbage
from .state import Dispatcher, TaskRecord
from .task_state import TERMINAL

__all__ = [
    "CheckpointReader",
    "GcReport",
    "InvalidTask",
    "ProcessRunView",
    "ProcessView",
    "TaskPaths",
    "TaskView",
    "collect_garbage",
    "kill_task",
    "run_log_dir",
    "runner_argv",
]


@dataclass(frozen=True)
class ProcessRunView:
    run: int
    state: str
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
    def state(self) -> str:
        return self.runs[-1].state if self.runs else "WAITING"


@dataclass(frozen=True)
class TaskView:
    task_id: str
    state: str  # ACTIVE, CLEANING, FINALIZING, SUCCESS, FAILED, KILLED, LOST
    health: str  # starting, healthy, unhealthy, or none (no health check)
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
    statuses: tuple[tuple[str, float], ...]
    resources: dict[str, Any] = field(default_factory=dict)  # latest samples
    failure_reason: str | None = None
    health_reason: str | None = None
    checkpoint_error: str | None = None  # a corrupt record stopped the replay here

    @property
    def message(self) -> str | None:
        return self.checkpoint_error or self.failure_reason or self.health_reason

    @property
    def is_terminal(self) -> bool:
        return self.state in {s.value for s in TERMINAL}


def _replay(paths: TaskPaths) -> tuple[TaskRecord, str | None]:
    record = TaskRecord()
    scan = checkpoint.scan(paths.stream)
    error = str(scan.error) if scan.error else None
    try:
        Dispatcher(record).replay(scan.records)
    except (CheckpointError, StateTransitionError) as e:
        error = str(e)
    return record, error


class CheckpointReader:
    """Read-only access to the tasks under a checkpoint root (no lock taken)."""

    def __init__(self, checkpoint_root: str | os.PathLike[str]) -> None:
        self.root = Path(checkpoint_root)

    def task_ids(self) -> list[str]:
        try:
            entries = sorted(self.root.iterdir())
        except FileNotFoundError:
            return []
        return [e.name for e in entries if (e / "runner.ckpt").exists()]

    def task(self, task_id: str) -> TaskView | None:
        paths = TaskPaths(self.root, task_id)
        if not paths.stream.exists():
            return None
        record, error = _replay(paths)
        header = record.header or {}
        alive = (
            record.runner_pid is not None
            and record.state not in TERMINAL
            and procfs.is_alive(record.runner_pid, record.runner_create_time)
            and checkpoint.is_locked(paths.lock)
        )
        processes = {
            name: ProcessView(
                name,
                tuple(
                    ProcessRunView(
                        r.run,
                        r.state.value,
                        r.pid,
                        r.start_time,
                        r.stop_time,
                        r.return_code,
                        r.reason,
                    )
                    for r in runs
                ),
            )
            for name, runs in record.processes.items()
        }
        try:
            resources = json.loads(paths.resources.read_text())
        except (OSError, ValueError):
            resources = {}
        return TaskView(
            task_id=task_id,
            state=record.state.value,
            health=record.health,
            runner_pid=record.runner_pid,
            runner_alive=alive,
            launch_time=header.get("launch_time"),
            sandbox=header.get("sandbox"),
            log_dir=header.get("log_dir"),
            hostname=header.get("hostname"),
            job_key=header.get("job_key"),
            instance=header.get("instance"),
            ports=dict(header.get("ports", {})),
            processes=processes,
            statuses=tuple(record.statuses),
            resources=resources,
            failure_reason=record.failure_reason,
            health_reason=record.health_reason,
            checkpoint_error=error,
        )


def runner_argv(
    *,
    executor_data: str,
    task_id: str,
    instance: int,
    hostname: str,
    ports: Mapping[str, int],
    sandbox: str,
    checkpoint_root: str,
    announcer_ensemble: str | None = None,
    prebind: bool = False,
) -> list[str]:
    """The command that runs the task in the foreground (spawn it in its own session).

    With ``prebind`` the job is bound here (raising ``InvalidTask`` if it cannot be) and the
    runner is handed the bound task (``<executor_data>.spec.json``): a process that already
    has the configuration language loaded saves the runner 40-60 ms of importing it.
    """
    source = ["--executor-data", str(executor_data)]
    if prebind:
        from .runner_main import spec_from_executor_data

        spec = spec_from_executor_data(
            Path(executor_data), task_id, instance, dict(ports), hostname
        )
        spec_path = Path(f"{executor_data}.spec.json")
        spec_path.write_text(spec.to_json())
        source = ["--task-spec", str(spec_path)]
    argv = [
        sys.executable, "-m", "executor.runner_main",
        *source,
        "--task-id", task_id,
        "--instance", str(instance),
        "--hostname", hostname,
        "--sandbox", str(sandbox),
        "--checkpoint-root", str(checkpoint_root),
    ]  # fmt: skip
    for name, port in sorted(ports.items()):
        argv += ["--port", f"{name}={port}"]
    if announcer_ensemble:
        argv += ["--announcer-ensemble", announcer_ensemble]
    return argv


def kill_task(
    checkpoint_root: str | os.PathLike[str],
    task_id: str,
    *,
    grace: float = 10.0,
    wait: bool = True,
) -> str:
    """Stop a task; its state afterwards (terminal unless the runner is still tearing down).

    A live runner is sent SIGTERM and tears the task down itself (HTTP lifecycle, SIGTERM,
    finalization); with ``wait`` this waits up to ``grace`` s for it. When the runner is
    gone, this process takes the task's lock and kills the process trees itself (SIGTERM,
    SIGKILL after ``grace`` s), recording them KILLED and the task KILLED.
    """
    reader = CheckpointReader(checkpoint_root)
    view = reader.task(task_id)
    if view is None:
        raise CheckpointError(f"{checkpoint_root}: no task {task_id}")
    if view.is_terminal:
        return view.state
    if view.runner_alive and view.runner_pid is not None:
        os.kill(view.runner_pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while wait and time.monotonic() < deadline:
            current = reader.task(task_id)
            if current is None or current.is_terminal or not current.runner_alive:
                break
            time.sleep(0.02)
        current = reader.task(task_id)
        if current is not None and (current.is_terminal or current.runner_alive):
            return current.state
    from .runner import load_runner

    runner = load_runner(Path(checkpoint_root), task_id, quiet=True)
    return runner.kill(grace).value


# What the scheduler's local backend needs besides the reader (temporary in this work tree).
from .errors import InvalidTask as InvalidTask  # noqa: E402
from .logs import run_log_dir as run_log_dir  # noqa: E402
