"""The active tasks and the one way to change them: what every feature is given.

One lock serialises every writer (API operations and scheduling rounds). A change is
persisted in one transaction, then the in-memory view is updated, then the backend is told
(launch, kill): the store always knows a state before anything acts on it. Features read
tasks and commit ``Changes`` here; they never see the scheduling round.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from aurora_provider.framework.backends.base import Launch, StatusUpdate, TaskControl
from aurora_provider.framework.core.changes import Changes, TaskCache
from aurora_provider.framework.core.lifecycle import TaskLifecycle
from aurora_provider.framework.core.metrics import SchedulerMetrics
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.placement.demand import Demands
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.storage.store import Store
from aurora_provider.states.task import ACTIVE, TaskState, can_transition


class TaskLedger:
    def __init__(self, store: Store, control: TaskControl, lifecycle: TaskLifecycle,
                 demands: Demands, clock: Callable[[], float],
                 metrics: SchedulerMetrics, *,
                 on_commit: Callable[[], None] = lambda: None,
                 published: Callable[[Changes], None] | None = None) -> None:
        """:param published: told of every committed ``Changes`` (the webhook): it must
        only queue them, it runs on every writer's path."""
        self._store = store
        self._on_commit = on_commit
        self._published = published
        self._control = control
        self._lifecycle = lifecycle
        self._demands = demands
        self._metrics = metrics
        self.clock = clock
        self.lock = threading.RLock()
        self._cache = TaskCache()
        self._pending_reasons: dict[str, str] = {}

    # -- reading ----------------------------------------------------------------------------

    def active(self, job_key: str) -> list[TaskRow]:
        """The job's active tasks (call with the lock held when the answer must not move)."""
        with self.lock:
            return self._cache.job_tasks(job_key)

    def job_counts(self, job_key: str) -> tuple[dict[TaskState, int], int]:
        """The job's active tasks by state, and how many instances have one: O(states)."""
        with self.lock:
            return (dict(self._cache.job_states.get(job_key, {})),
                    len(self._cache.job_instances.get(job_key, {})))

    def active_page(self, job_key: str, after: tuple[int, str] | None,
                    limit: int) -> list[TaskRow]:
        """Up to ``limit`` of the job's active tasks in (instance, task id) order, after the
        key ``after``: a bisection into the job's order, not a walk of its tasks."""
        with self.lock:
            keys = self._cache.ordered(job_key)
            start = bisect.bisect_right(keys, after) if after is not None else 0
            return [self._cache.by_id[t] for _, t in keys[start:start + limit]]

    def all_active(self) -> list[TaskRow]:
        with self.lock:
            return list(self._cache.by_id.values())

    def in_state(self, state: TaskState) -> list[TaskRow]:
        with self.lock:
            return self._cache.in_state(state)

    def get(self, task_id: str) -> TaskRow | None:
        with self.lock:
            return self._cache.by_id.get(task_id)

    def config(self, config_id: int) -> JobConfig:
        return self._store.jobs.config(config_id)

    def pending_reason(self, task_id: str) -> str | None:
        """Why a PENDING task was not placed in the last round."""
        return self._pending_reasons.get(task_id)

    def pending_reasons(self) -> Mapping[str, str]:
        return MappingProxyType(self._pending_reasons)

    def launch_of(self, row: TaskRow) -> Launch:
        demand = self._demands(row.config_id)
        return Launch(
            task_id=row.task_id, job_key=row.job_key, instance=row.instance,
            agent_id=row.agent_id or "", hostname=row.host or "", ports=dict(row.ports),
            config=self.config(row.config_id), cpu=demand.cpu, ram_mb=demand.ram_mb,
            disk_mb=demand.disk_mb)

    # -- changing ---------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def changes(self) -> Changes:
        return Changes(self._cache, self.clock())

    def create(self, ch: Changes, job_key: str, config_id: int, instances: Iterable[int],
               message: str | None = None) -> list[TaskRow]:
        return self._lifecycle.create(ch, job_key, config_id, instances, message)

    def move(self, ch: Changes, row: TaskRow, target: TaskState, message: str | None = None,
             **fields: object) -> TaskRow:
        return self._lifecycle.move(ch, row, target, message, **fields)

    def kill(self, ch: Changes, row: TaskRow, message: str) -> None:
        self._lifecycle.kill(ch, row, message)

    def apply_status(self, ch: Changes, update: StatusUpdate) -> TaskRow | None:
        """What a backend reports about a task, in ``ch`` (the round's polled updates and an
        explicit reconciliation alike): a task we do not know that still runs is killed; a
        repeated or stale report (a move the table refuses) is ignored. The task as it was
        before the report moved it, or None when nothing moved."""
        row = ch.get(update.task_id)
        if row is None:
            if update.state in ACTIVE:  # unknown to us (or no longer ours): stop it
                ch.kills.append(update.task_id)
            return None
        if row.status is update.state or not can_transition(row.status, update.state):
            return None
        self.move(ch, row, update.state, update.message)
        return row

    def commit(self, ch: Changes) -> None:
        """Persist ``ch`` in one transaction, update memory, then tell the backend."""
        with self.lock:
            emptied = [job for job in ch.touched_jobs if not any(ch.job_tasks(job))]
            with self._store.transaction() as tx:
                self._store.tasks.write(tx, ch.write())
                for job_key in emptied:
                    # As in Aurora, a job without active tasks is gone; its history remains.
                    self._store.jobs.delete(tx, job_key)
                for persist in ch.persist:
                    persist(tx)
            if self._published is not None:  # committed; the cache still has the old states
                self._published(ch)
            ch.apply_to_cache()
            for task_id, row in ch.rows.items():
                if row.status is not TaskState.PENDING:
                    self._pending_reasons.pop(task_id, None)
            for committed in ch.committed:
                committed()
            if ch.launches:
                self._control.launch([self.launch_of(ch.rows[t]) for t in ch.launches])
            if ch.kills:
                self._control.kill(ch.kills)
        self._metrics.transitions.inc(len(ch.events))
        # Something changed: the next round may have work (a placement, an update's step)
        # and need not wait for the round interval.
        self._on_commit()

    # -- the core's own bookkeeping (the scheduling round and recovery) -------------------

    def load(self, rows: Iterable[TaskRow]) -> None:
        with self.lock:
            for row in rows:
                self._cache.put(row)

    def note_pending(self, reasons: Mapping[str, str]) -> None:
        self._pending_reasons.update(reasons)
