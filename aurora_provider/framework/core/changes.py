"""Active tasks held in memory, and the set of changes one operation makes to them.

The database is the source of truth; ``TaskCache`` mirrors its active tasks so a scheduling
round does not reread them. All writers hold the ledger's lock, and the cache is updated
only after the transaction carrying a ``Changes`` committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from aurora_provider.framework.core.ids import new_task_id
from aurora_provider.framework.storage.database import Transaction
from aurora_provider.framework.storage.rows import EventRow, TaskRow, TaskWrite
from aurora_provider.states.task import ACTIVE, MACHINE, TERMINAL, TaskState


class TaskCache:
    """Active tasks by id, by job and by state, and what a job's summary and pages read
    without walking its tasks: counts by state and by instance, and the job's tasks in
    (instance, task id) order, sorted again only after a task joined or left the job."""

    def __init__(self) -> None:
        self.by_id: dict[str, TaskRow] = {}
        self.by_job: dict[str, set[str]] = {}
        self.by_state: dict[TaskState, set[str]] = {s: set() for s in TaskState}
        self.job_states: dict[str, dict[TaskState, int]] = {}
        self.job_instances: dict[str, dict[int, int]] = {}  # instance -> its active tasks
        self._ordered: dict[str, list[tuple[int, str]]] = {}

    def put(self, row: TaskRow) -> None:
        old = self.by_id.get(row.task_id)
        if old is not None:
            self.by_state[old.status].discard(row.task_id)
            _count(self.job_states, row.job_key, old.status, -1)
        if row.status in TERMINAL:
            if old is None:
                return
            del self.by_id[row.task_id]
            ids = self.by_job[row.job_key]
            ids.discard(row.task_id)
            if not ids:
                del self.by_job[row.job_key]
            _count(self.job_instances, row.job_key, row.instance, -1)
            self._ordered.pop(row.job_key, None)
            return
        self.by_id[row.task_id] = row
        self.by_state[row.status].add(row.task_id)
        _count(self.job_states, row.job_key, row.status, 1)
        if old is None:
            self.by_job.setdefault(row.job_key, set()).add(row.task_id)
            _count(self.job_instances, row.job_key, row.instance, 1)
            self._ordered.pop(row.job_key, None)

    def ordered(self, job_key: str) -> list[tuple[int, str]]:
        """The job's active tasks as (instance, task id), sorted (do not change the list)."""
        keys = self._ordered.get(job_key)
        if keys is None:
            keys = self._ordered[job_key] = sorted(
                (self.by_id[t].instance, t) for t in self.by_job.get(job_key, ()))
        return keys

    def in_state(self, state: TaskState) -> list[TaskRow]:
        return [self.by_id[t] for t in self.by_state[state]]

    def job_tasks(self, job_key: str) -> list[TaskRow]:
        return [self.by_id[t] for t in self.by_job.get(job_key, ())]


def _count(counts: dict[str, dict[Any, int]], job_key: str, what: Any, delta: int) -> None:
    """Add ``delta`` to one of a job's counters, dropping counters (and jobs) that reach 0."""
    job = counts.setdefault(job_key, {})
    n = job.get(what, 0) + delta
    if n:
        job[what] = n
    else:
        job.pop(what, None)
        if not job:
            del counts[job_key]


Persist = Callable[[Transaction], None]


@dataclass
class Changes:
    """State changes, new tasks, launches and kills made under the lock, committed at once.

    A feature whose own records must commit with these task changes adds them with
    :meth:`also`: written in the same transaction, applied to memory after it committed.
    """

    cache: TaskCache
    now: float
    rows: dict[str, TaskRow] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    events: list[EventRow] = field(default_factory=list)
    launches: list[str] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)
    touched_jobs: set[str] = field(default_factory=set)
    persist: list[Persist] = field(default_factory=list)
    committed: list[Callable[[], None]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rows or self.kills or self.persist)

    def also(self, persist: Persist, committed: Callable[[], None] | None = None) -> None:
        """Write ``persist`` in this change's transaction; run ``committed`` after it."""
        self.persist.append(persist)
        if committed is not None:
            self.committed.append(committed)

    def get(self, task_id: str) -> TaskRow | None:
        row = self.rows.get(task_id)
        return row if row is not None else self.cache.by_id.get(task_id)

    def create(self, job_key: str, instance: int, config_id: int, message: str | None = None,
               **inherited: Any) -> TaskRow:
        """A new task in INIT (the caller moves it on to PENDING or THROTTLED); ``inherited``:
        what a replacement takes over from the task it replaces (failures, ancestry)."""
        row = TaskRow(task_id=new_task_id(job_key, instance), job_key=job_key,
                      instance=instance, config_id=config_id, status=TaskState.INIT,
                      created_at=self.now, status_at=self.now, **inherited)
        self.rows[row.task_id] = row
        self.created.add(row.task_id)
        self.events.append(EventRow(row.task_id, self.now, TaskState.INIT, message))
        self.touched_jobs.add(row.job_key)
        return row

    def move(self, row: TaskRow, target: TaskState, message: str | None = None,
             **fields: Any) -> TaskRow:
        """The one place a task changes state: checked against the table, then recorded."""
        MACHINE.transition(row.task_id, row.status, target)
        moved = replace(row, status=target, status_at=self.now, message=message, **fields)
        self.rows[row.task_id] = moved
        self.events.append(EventRow(row.task_id, self.now, target, message))
        self.touched_jobs.add(row.job_key)
        return moved

    def job_tasks(self, job_key: str) -> Iterator[TaskRow]:
        """Active tasks of a job as they stand after these changes."""
        if not self.rows:  # nothing changed yet: the cache holds only active tasks
            by_id = self.cache.by_id
            yield from (by_id[t] for t in self.cache.by_job.get(job_key, ()))
            return
        seen: set[str] = set()
        for task_id in self.cache.by_job.get(job_key, ()):
            seen.add(task_id)
            row = self.get(task_id)
            if row is not None and row.status in ACTIVE:
                yield row
        for task_id, row in self.rows.items():
            if task_id not in seen and row.job_key == job_key and row.status in ACTIVE:
                yield row

    def by_instance(self, job_key: str) -> dict[int, list[TaskRow]]:
        """The job's active tasks after these changes, grouped by instance (a new dict)."""
        found: dict[int, list[TaskRow]] = {}
        for row in self.job_tasks(job_key):
            found.setdefault(row.instance, []).append(row)
        return found

    def in_state(self, state: TaskState) -> list[TaskRow]:
        found = {r.task_id: r for r in self.cache.in_state(state)}
        for task_id, row in self.rows.items():
            if row.status is state:
                found[task_id] = row
            else:
                found.pop(task_id, None)
        return list(found.values())

    def write(self) -> TaskWrite:
        new = [r for t, r in self.rows.items() if t in self.created]
        changed = [r for t, r in self.rows.items() if t not in self.created]
        return TaskWrite(new=new, changed=changed, events=self.events)

    def apply_to_cache(self) -> None:
        for row in self.rows.values():
            self.cache.put(row)
