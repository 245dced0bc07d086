"""The task's stages: what ACTIVE, CLEANING and FINALIZING do on a turn of the runner's loop.

``run()`` does the current stage's work and returns how long the loop may sleep before the
stage needs to run again, or None when the stage is done; ``advance()`` then records the
next state::

    ACTIVE       start what the plan allows; done when the regular processes are complete,
                 the task can no longer succeed, or a stop was asked (after the serving
                 checkers' graceful shutdown)                          -> CLEANING
    CLEANING     SIGTERM sent on entry; done when nothing runs any more -> FINALIZING, or
                 straight to the end once finalization_wait ran out
    FINALIZING   run the final processes within what is left of finalization_wait
                                                    -> SUCCESS / FAILED / KILLED / LOST
"""

from __future__ import annotations

from typing import Protocol

from aurora_provider.states.executor_task import ExecutorTaskState

from ..services.checker import Checkers, Status
from .clock import Clock
from .planner import INFINITY, Planner
from .runs import Runs
from .spec import TaskSpec
from .supervisor import Supervisor

T = ExecutorTaskState
MAX_ITERATION_WAIT = 15.0


class StagedTask(Protocol):
    """What the stages use of the runner."""

    spec: TaskSpec
    clock: Clock
    regular: Planner
    finalizing: Planner
    runs: Runs
    supervisor: Supervisor
    serving: Checkers
    serving_status: Status | None
    stop_asked: bool
    forced: ExecutorTaskState | None
    forced_reason: str | None

    @property
    def state(self) -> ExecutorTaskState: ...

    def set_task(self, state: ExecutorTaskState, reason: str | None = None) -> None: ...

    def log(self, message: str) -> None: ...


class Stages:
    def __init__(self, task: StagedTask) -> None:
        self._task = task
        self._finalization_start: float | None = None
        self.deadline: float | None = None  # an absolute end instead of finalization_wait

    def entered(self, state: ExecutorTaskState, when: float) -> None:
        """The task entered ``state`` at ``when`` (live or on replay)."""
        if state is T.CLEANING or (state is T.FINALIZING and self._finalization_start is None):
            self._finalization_start = when

    def run(self) -> float | None:
        state = self._task.state
        if state is T.ACTIVE:
            return self._active()
        if state is T.CLEANING:
            return self._cleaning()
        return self._finalizing()

    # ------------------------------------------------------------------ the stages
    def _active(self) -> float | None:
        task = self._task
        if task.stop_asked:
            if not task.serving.stopped:
                task.serving.stop()
                return 0.0  # poll them again at once: a graceful shutdown may have begun
            status = task.serving_status
            draining = status is not None and status.verdict == "stopping"
            return MAX_ITERATION_WAIT if draining else None  # the checkers' due cuts it
        if task.regular.is_complete() or not self.is_healthy():
            return None
        task.runs.run_plan(task.regular)
        if task.regular.is_complete() or not self.is_healthy():
            return None
        return min(MAX_ITERATION_WAIT, task.regular.next_wait(task.clock.time()))

    def _cleaning(self) -> float | None:
        remaining = self._finalization_remaining()
        if remaining > 0 and self._has_live_processes():
            return min(remaining, MAX_ITERATION_WAIT)
        return None

    def _finalizing(self) -> float | None:
        task = self._task
        task.runs.run_plan(task.finalizing)
        if task.finalizing.deadlocked(task.clock.time()):
            return None
        remaining = self._finalization_remaining()
        if remaining > 0 and not task.finalizing.is_complete():
            now = task.clock.time()
            return min(remaining, MAX_ITERATION_WAIT, task.finalizing.next_wait(now))
        return None

    def advance(self) -> None:
        task = self._task
        state = task.state
        if state is T.ACTIVE:
            if task.forced is None and not self.is_healthy():
                task.forced_reason = self._failure_summary()
            task.set_task(T.CLEANING)
        elif state is T.CLEANING:
            if self._finalization_remaining() <= 0:
                task.log("finalization wait exceeded: skipping finalization")
                task.set_task(self.terminal_state(), self._terminal_reason())
            else:
                task.set_task(T.FINALIZING)
        elif state is T.FINALIZING:
            task.set_task(self.terminal_state(), self._terminal_reason())

    # ------------------------------------------------------------------ the verdicts
    def is_healthy(self) -> bool:
        """Whether the task can still succeed: under max_failures, and not deadlocked."""
        plan, limit = self._task.regular, self._task.spec.max_failures
        under = limit == 0 or len(plan.failed) < limit
        return under and not plan.deadlocked(self._task.clock.time())

    def terminal_state(self) -> ExecutorTaskState:
        if self._task.forced is not None:
            return self._task.forced
        return T.SUCCESS if self.is_healthy() else T.FAILED

    def _terminal_reason(self) -> str | None:
        state = self.terminal_state()
        if state is T.SUCCESS:
            return None
        if self._task.forced_reason:
            return self._task.forced_reason
        return self._failure_summary() if state is T.FAILED else None

    def _failure_summary(self) -> str:
        if self._task.regular.failed:
            return "process(es) failed: " + ", ".join(sorted(self._task.regular.failed))
        return "processes can no longer run (deadlock)"

    def _finalization_remaining(self) -> float:
        now = self._task.clock.time()
        if self.deadline is not None:
            return max(0.0, self.deadline - now)
        if self._finalization_start is None:
            return INFINITY
        return max(0.0, self._task.spec.finalization_wait - (now - self._finalization_start))

    def _has_live_processes(self) -> bool:
        supervisor = self._task.supervisor
        return bool(supervisor.handles) or bool(supervisor.stragglers())
