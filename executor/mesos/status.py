"""How a task's checkpoint reads as Mesos task states, and the statuses sent for them.

As the scheduler's local backend reads it::

    runner started                        -> TASK_STARTING
    ACTIVE and health healthy or none     -> TASK_RUNNING  (healthy: true once a check passed)
    SUCCESS / FAILED / KILLED / LOST      -> TASK_FINISHED / TASK_FAILED / TASK_KILLED / TASK_LOST
    runner gone without a terminal state  -> TASK_LOST (TASK_KILLED when a kill was asked)

Ordinary ends carry no reason; ``REASON_TASK_INVALID`` marks a task that cannot run as
given, ``REASON_EXECUTOR_TERMINATED`` a failure of the executor itself (its runner died).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from aurora_provider.states.executor_task import ExecutorTaskState as X
from aurora_provider.states.health import READY, HealthState
from aurora_provider.states.process_run import ProcessState

from ..api import TaskView

INVALID = "REASON_TASK_INVALID"
EXECUTOR_TERMINATED = "REASON_EXECUTOR_TERMINATED"
TERMINAL = frozenset({"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST"})
_ENDS = {X.SUCCESS: "TASK_FINISHED", X.FAILED: "TASK_FAILED", X.KILLED: "TASK_KILLED",
         X.LOST: "TASK_LOST"}  # fmt: skip


class Report(NamedTuple):
    """What to tell Mesos about a task."""

    state: str  # TASK_STARTING, TASK_RUNNING, TASK_FINISHED...
    message: str
    reason: str | None = None
    healthy: bool | None = None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    def status(self, task_id: str) -> dict[str, Any]:
        """The v1 ``TaskStatus`` (the driver adds uuid, timestamp, source, executor_id)."""
        status: dict[str, Any] = {"task_id": {"value": task_id}, "state": self.state,
                                  "message": self.message}  # fmt: skip
        if self.reason is not None:
            status["reason"] = self.reason
        if self.healthy is not None:
            status["healthy"] = self.healthy
        return status


def report_of(view: TaskView) -> Report | None:
    """The report a checkpoint makes; None while the task is still starting."""
    state = X(view.state)
    if state in _ENDS:
        return Report(_ENDS[state], end_message(view))
    if state is X.ACTIVE and view.health in READY:
        if view.health == HealthState.HEALTHY:
            return Report("TASK_RUNNING", "Task healthy", healthy=True)
        return Report("TASK_RUNNING", "Task running")
    return None


def end_message(view: TaskView) -> str:
    """Why the task ended: the checkpoint's reason, and how each failed process ended."""
    state = X(view.state)
    if state is X.SUCCESS:
        return "Task finished"
    message = view.message or f"Task {state.value.lower()}"
    how = []
    for name, process in sorted(view.processes.items()):
        last = process.runs[-1] if process.runs else None
        if last is not None and last.state is ProcessState.FAILED:
            detail = last.reason or (f"exit status {last.return_code}"
                                     if last.return_code is not None else "failed")
            how.append(f"{name} run {last.run}: {detail}")
    return f"{message} ({'; '.join(how)})" if how else message
