"""A task's life with its consequences: a termination may create the replacement.

``move`` is the checked state change of ``Changes.move`` plus Aurora's rescheduling rules
(``states.task.reschedules``) and the flapping penalty (``states.task.flapping_penalty``);
``kill`` asks for a task's end; ``create`` adds new instances. Every feature changes tasks
through these, inside a ``Changes`` the ledger commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aurora_provider.framework.core.changes import Changes
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.storage.tasks import TaskRepository
from aurora_provider.states.task import (
    INTERRUPTED,
    NOT_LAUNCHED,
    TERMINAL,
    Backoff,
    Event,
    RescheduleInput,
    TaskState,
    flapping_penalty,
    reschedules,
)

S = TaskState
# How far back the flapping penalty looks along a task's ancestors.
MAX_ANCESTRY = 16


class TaskLifecycle:
    def __init__(self, config_of: Callable[[int], JobConfig], tasks: TaskRepository,
                 settings: SchedulerSettings) -> None:
        self._config_of = config_of
        self._tasks = tasks
        self._threshold = settings.flapping_threshold_secs
        self._backoff = Backoff(settings.backoff_initial_secs, settings.backoff_max_secs)

    def create(self, ch: Changes, job_key: str, config_id: int, instances: Iterable[int],
               message: str | None = None) -> list[TaskRow]:
        """New PENDING tasks of ``job_key`` running ``config_id``, one per instance."""
        created = []
        for instance in instances:
            row = ch.create(job_key, instance, config_id, message)
            created.append(ch.move(row, S.PENDING))
        return created

    def move(self, ch: Changes, row: TaskRow, target: TaskState, message: str | None = None,
             **fields: object) -> TaskRow:
        """Change a task's state; a termination may create its replacement."""
        if target is S.FAILED:
            fields["failure_count"] = row.failure_count + 1
        moved = ch.move(row, target, message, **fields)
        if target in TERMINAL:
            self._after_termination(ch, row, moved)
        return moved

    def kill(self, ch: Changes, row: TaskRow, message: str) -> None:
        """Ask for a task's end: KILLING, then KILLED at once when it never launched, else
        a kill for the backend. A task already KILLING is left as it is."""
        if row.status is S.KILLING:
            return
        moved = self.move(ch, row, S.KILLING, message)
        if row.status in NOT_LAUNCHED:
            self.move(ch, moved, S.KILLED, message)
        else:
            ch.kills.append(row.task_id)

    def _after_termination(self, ch: Changes, before: TaskRow, after: TaskRow) -> None:
        task = self._config_of(after.config_id).task
        info = RescheduleInput(
            previous=before.status, terminal=after.status, is_service=task.is_service,
            max_task_failures=task.max_task_failures, failure_count=after.failure_count)
        if not reschedules(info):
            return
        penalty = self._flapping_penalty(before, after, ch.now)
        replacement = ch.create(after.job_key, after.instance, after.config_id,
                                f"Rescheduled from {after.task_id}",
                                failure_count=after.failure_count, ancestor_id=after.task_id)
        if penalty > 0:
            ch.move(replacement, S.THROTTLED,
                    f"Rescheduled, penalized for {penalty:g} s for flapping",
                    throttle_until=ch.now + penalty)
        else:
            ch.move(replacement, S.PENDING, "Rescheduled")

    def _flapping_penalty(self, before: TaskRow, after: TaskRow, now: float) -> float:
        # Fast path: the last active state began at before.status_at.
        if before.status in INTERRUPTED or now - before.status_at >= self._threshold:
            return 0.0
        ancestry: list[list[Event]] = [[Event(before.status_at, before.status),
                                        Event(now, after.status)]]
        ancestor_id = after.ancestor_id
        while ancestor_id is not None and len(ancestry) < MAX_ANCESTRY:
            ancestor = self._tasks.task(ancestor_id)
            if ancestor is None:
                break
            events = self._tasks.events(task_ids=[ancestor_id]).get(ancestor_id, [])
            ancestry.append([Event(e.timestamp, e.status) for e in events])
            ancestor_id = ancestor.ancestor_id
        return flapping_penalty(ancestry, self._threshold, self._backoff)
