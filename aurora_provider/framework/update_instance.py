"""The update of one instance: what to do next, given its active tasks.

Follows Aurora's ``InstanceUpdater``: a task with another configuration is killed; once it
is gone the desired one is added; the desired task must then stay RUNNING for
``watch_secs`` (the executor reports RUNNING only once healthy). A watched task that
terminates counts as a failure of the instance; beyond ``max_per_shard_failures`` the
instance has failed. An instance the update removes succeeds once it has no task left.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aurora_provider.framework.state import TaskState
from aurora_provider.framework.storage import TaskRow
from aurora_provider.framework.update_store import InstanceProgress

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
    tasks: tuple[TaskRow, ...] = ()


def decide(progress: InstanceProgress, tasks: Sequence[TaskRow], *, now: float,
           watch_secs: float, tolerated_failures: int,
           digest: Callable[[int], str]) -> Decision:
    """The next step for one instance; updates ``progress`` (failures, watched task)."""
    if progress.task_id is not None and all(t.task_id != progress.task_id for t in tasks):
        # The watched task ended on its own (we never kill a task we want).
        progress.task_id = None
        progress.failures += 1
        if progress.failures > tolerated_failures:
            return Decision(Next.FAILED)
    live = [t for t in tasks if t.status is not S.KILLING]
    dying = len(live) < len(tasks)
    if progress.desired is None:
        if live:
            return Decision(Next.KILL, tuple(live))
        return Decision(Next.WAIT if dying else Next.SUCCEEDED)
    wanted = digest(progress.desired)
    other = tuple(t for t in live if digest(t.config_id) != wanted)
    if other:
        return Decision(Next.KILL, other)
    if live:
        task = live[0]
        progress.task_id = task.task_id
        if task.status is S.RUNNING and now - task.status_at >= watch_secs:
            return Decision(Next.SUCCEEDED)
        return Decision(Next.WAIT)
    return Decision(Next.WAIT if dying else Next.ADD)
