"""Where ``aurora task ...`` acts: a job's live instances, each with its host, ports and
sandbox, as the scheduler's API tells them.

Host and ports come with the job's active tasks (``job_tasks`` pages); the sandbox comes
with a task's logs listing (``task_logs``), which every backend that keeps sandboxes
serves. Whether the agents are this machine or hosts reached through ``ssh`` is the
cluster's backend (``cluster``): ``local`` runs its tasks here.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from aurora_provider.api import SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.api.errors import NotFound
from aurora_provider.config import JobKey
from aurora_provider.errors import AuroraError
from aurora_provider.states.task import TaskState

# The states in which a task's processes run on its host (Aurora's live states): where a
# command can join them. A STARTING task may not have its sandbox yet.
LIVE = frozenset({TaskState.RUNNING, TaskState.KILLING, TaskState.RESTARTING,
                  TaskState.DRAINING, TaskState.PREEMPTING})

LOCAL_BACKEND = "local"


class TaskTargetError(AuroraError):
    """No instance to act on: no live instance, one out of range, no sandbox known."""


@dataclass(frozen=True)
class TaskTarget:
    """One live instance: where its sandbox is and what its templates see."""

    key: JobKey
    instance: int
    task_id: str
    host: str
    sandbox: str  # the task's sandbox (the processes' working directory) on ``host``
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def executor_sandbox(self) -> str:
        """The directory the task's sandbox lives in: the executor's files (runner log,
        checkpoint listing) on both backends."""
        return posixpath.dirname(self.sandbox.rstrip("/"))

    def directory(self, executor_sandbox: bool) -> str:
        return self.executor_sandbox if executor_sandbox else self.sandbox

    @property
    def label(self) -> str:
        """How output lines of this instance are prefixed."""
        return f"{self.host}/{self.instance}"


def _ranges(instances: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``0-2,5``."""
    parts: list[str] = []
    start = prev = instances[0]
    for i in [*instances[1:], -2]:
        if i != prev + 1:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = i
        prev = i
    return ",".join(parts)


def is_local(client: SchedulerClient) -> bool:
    """Whether the cluster's agents are this machine (the local backend)."""
    return client.cluster().backend == LOCAL_BACKEND


def live_targets(client: SchedulerClient, key: JobKey,
                 instances: list[int] | None) -> list[TaskTarget]:
    """The job's live instances (``instances``; None: all of them), by instance.

    :raises JobNotFound: the scheduler knows no such job.
    :raises TaskTargetError: no live instance, or a named one is not live.
    """
    active = client.job_task_lists(key, terminal_limit=0).active
    if not active:
        raise TaskTargetError(f"job {key} has no active instance")
    by_instance = {t.instance: t for t in active}
    known = _ranges(sorted(by_instance))
    wanted = sorted(by_instance) if instances is None else instances
    missing = [i for i in wanted if i not in by_instance]
    if missing:
        raise TaskTargetError(f"job {key} has no instance {_ranges(missing)} "
                              f"(its active instances: {known})")
    if instances is None:
        wanted = [i for i in wanted if _runs(by_instance[i])]
        if not wanted:
            states = ", ".join(sorted({str(t.status) for t in active}))
            raise TaskTargetError(f"job {key} has no live instance (its tasks are {states})")
    for i in wanted:
        if not _runs(by_instance[i]):
            raise TaskTargetError(f"instance {i} of job {key} is {by_instance[i].status}: "
                                  "it runs nowhere to act in")
    return [_target(client, key, by_instance[i]) for i in wanted]


def _runs(task: m.TaskModel) -> bool:
    return task.status in LIVE and bool(task.host)


def _target(client: SchedulerClient, key: JobKey, task: m.TaskModel) -> TaskTarget:
    try:
        sandbox = client.task_logs(task.task_id).sandbox
    except NotFound:
        sandbox = None
    if not sandbox or task.host is None:
        raise TaskTargetError(f"instance {task.instance} of job {key} (task {task.task_id}): "
                              "the scheduler knows no sandbox for it yet; try again")
    return TaskTarget(key, task.instance, task.task_id, task.host, sandbox, dict(task.ports))
