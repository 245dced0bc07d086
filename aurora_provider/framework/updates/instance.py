"""The update of one instance: what to do next, given its active tasks.

Follows Aurora's ``InstanceUpdater``: a task with another configuration is killed; once it
is gone the desired one is added; the desired task must then stay RUNNING for
``watch_secs`` (the executor reports RUNNING only once healthy). A watched task that
terminates counts as a failure of the instance; beyond ``max_per_shard_failures`` the
instance has failed. An instance the update removes succeeds once it has no task left.

``decide`` returns the decision and the instance's new progress; it changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aurora_provider.framework.model.updates import InstanceProgress
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.states.task import TaskState

S = TaskState


class Next(enum.Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    KILL = "KILL"  # kill ``Decision.tasks``, then wait for them to end
    ADD = "ADD"  # add a task with the desired configuration
    WAIT = "WAIT"  # evaluate again next round


@dataclass(frozen=True)
class Decision:
    next: Next
    progress: InstanceProgress  # the instance's progress after this decision
    tasks: tuple[TaskRow, ...] = ()


def decide(progress: InstanceProgress, tasks: Sequence[TaskRow], *, now: float,
           watch_secs: float, tolerated_failures: int,
           identity: Callable[[int], str]) -> Decision:
    """The next step for one instance (``identity``: a configuration id's identity)."""
    if progress.task_id is not None and all(t.task_id != progress.task_id for t in tasks):
        # The watched task ended on its own (we never kill a task we want).
        progress = progress.with_failure()
        if progress.failures > tolerated_failures:
            return Decision(Next.FAILED, progress)
    live = [t for t in tasks if t.status is not S.KILLING]
    dying = len(live) < len(tasks)
    if progress.desired is None:
        if live:
            return Decision(Next.KILL, progress, tuple(live))
        return Decision(Next.WAIT if dying else Next.SUCCEEDED, progress)
    wanted = identity(progress.desired)
    other = tuple(t for t in live if identity(t.config_id) != wanted)
    if other:
        return Decision(Next.KILL, progress, other)
    if live:
        task = live[0]
        progress = progress.with_task(task.task_id)
        if task.status is S.RUNNING and now - task.status_at >= watch_secs:
            return Decision(Next.SUCCEEDED, progress)
        return Decision(Next.WAIT, progress)
    return Decision(Next.WAIT if dying else Next.ADD, progress)
