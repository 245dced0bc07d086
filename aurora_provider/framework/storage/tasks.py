"""Tasks and their event histories: the hot path of every scheduling round.

Thousands of rows per round are written with one ``executemany`` each, and rows are read
positionally; both matter for placement throughput (``bench/scheduler.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from aurora_provider.framework.storage.database import Database, Transaction, chunks
from aurora_provider.framework.storage.rows import EventRow, TaskRow, TaskWrite
from aurora_provider.framework.storage.tables import task_events, tasks
from aurora_provider.states.task import TERMINAL, TaskState

# A dict lookup: calling the enum costs more than the rest of reading a row.
_STATE = {s.value: s for s in TaskState}


# Columns written for a new task, and those a state change may rewrite (identity, instance,
# configuration and ancestry never change).
_NEW = ("task_id", "job_key", "instance", "config_id", "status", "agent_id", "host", "ports",
        "failure_count", "ancestor_id", "created_at", "status_at", "throttle_until", "message")
_CHANGED = ("status", "agent_id", "host", "ports", "failure_count", "status_at",
            "throttle_until", "message")
_EVENT = ("task_id", "timestamp", "status", "message")


def _row(r: sa.Row[Any]) -> TaskRow:
    return TaskRow(
        task_id=r.task_id, job_key=r.job_key, instance=r.instance, config_id=r.config_id,
        status=_STATE[r.status], created_at=r.created_at, status_at=r.status_at,
        agent_id=r.agent_id, host=r.host, ports=r.ports or {},
        failure_count=r.failure_count, ancestor_id=r.ancestor_id,
        throttle_until=r.throttle_until, message=r.message,
    )


class TaskRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def write(self, tx: Transaction, write: TaskWrite) -> None:
        """New tasks, changed tasks and their events (thousands of rows: built as tuples)."""
        ports = tx.encoder(tasks.c.ports)
        tx.insert_many(tasks, _NEW, [
            (r.task_id, r.job_key, r.instance, r.config_id, r.status._value_, r.agent_id,
             r.host, ports(r.ports), r.failure_count, r.ancestor_id, r.created_at,
             r.status_at, r.throttle_until, r.message) for r in write.new])
        tx.update_many(tasks, "task_id", _CHANGED, [
            (r.status._value_, r.agent_id, r.host, ports(r.ports), r.failure_count,
             r.status_at, r.throttle_until, r.message, r.task_id) for r in write.changed])
        tx.insert_many(task_events, _EVENT, [
            (e.task_id, e.timestamp, e.status._value_, e.message) for e in write.events])

    def delete(self, tx: Transaction, task_ids: Sequence[str]) -> None:
        """Tasks and their events (history pruning)."""
        for chunk in chunks(task_ids):
            tx.execute(task_events.delete().where(task_events.c.task_id.in_(chunk)))
            tx.execute(tasks.delete().where(tasks.c.task_id.in_(chunk)))

    def tasks(self, *, job_key: str | None = None,
              statuses: Iterable[TaskState] | None = None,
              task_ids: Sequence[str] | None = None) -> list[TaskRow]:
        stmt = sa.select(tasks)
        if job_key is not None:
            stmt = stmt.where(tasks.c.job_key == job_key)
        if statuses is not None:
            stmt = stmt.where(tasks.c.status.in_([s.value for s in statuses]))
        if task_ids is not None:
            found: list[TaskRow] = []
            for chunk in chunks(task_ids):
                found.extend(_row(r) for r in self._db.read(stmt.where(
                    tasks.c.task_id.in_(chunk))))
            return found
        return [_row(r) for r in self._db.read(stmt.order_by(tasks.c.instance,
                                                              tasks.c.created_at))]

    def task(self, task_id: str) -> TaskRow | None:
        found = self.tasks(task_ids=[task_id])
        return found[0] if found else None

    def events(self, *, job_key: str | None = None,
               task_ids: Sequence[str] | None = None) -> dict[str, list[EventRow]]:
        """Event histories in time order, by task id."""
        e = task_events
        stmt = sa.select(e.c.task_id, e.c.timestamp, e.c.status, e.c.message).order_by(
            e.c.task_id, e.c.event_id)
        rows: list[sa.Row[Any]] = []
        if job_key is not None:
            # IN (subquery) walks the task_id index; a join sorts every event of the job.
            owned = sa.select(tasks.c.task_id).where(tasks.c.job_key == job_key)
            rows = self._db.read(stmt.where(e.c.task_id.in_(owned)))
        elif task_ids is not None:
            for chunk in chunks(task_ids):
                rows.extend(self._db.read(stmt.where(e.c.task_id.in_(chunk))))
        found: dict[str, list[EventRow]] = {}
        for row in rows:
            task_id, timestamp, status, message = tuple(row)
            found.setdefault(task_id, []).append(
                EventRow(task_id, timestamp, _STATE[status], message))
        return found

    def count_by_status(self) -> dict[TaskState, int]:
        rows = self._db.read(sa.select(tasks.c.status, sa.func.count().label("n"))
                             .group_by(tasks.c.status))
        return {_STATE[str(r.status)]: int(r.n) for r in rows}

    def count_job_by_status(self, job_key: str, states: Iterable[TaskState] | None = None
                            ) -> dict[TaskState, int]:
        """One job's tasks by state (only ``states``, when given), counted by the database
        from the (job, status) index: no row is read."""
        stmt = sa.select(tasks.c.status, sa.func.count().label("n")).where(
            tasks.c.job_key == job_key)
        if states is not None:
            stmt = stmt.where(tasks.c.status.in_([s.value for s in states]))
        rows = self._db.read(stmt.group_by(tasks.c.status))
        return {_STATE[str(r.status)]: int(r.n) for r in rows}

    def terminal_page(self, job_key: str, limit: int,
                      before: tuple[float, str] | None = None) -> list[TaskRow]:
        """Up to ``limit`` of the job's terminal tasks, newest first (``status_at``, then
        ``task_id``, both descending), starting after the ``before`` key of the last one seen:
        keyset paging, so a page costs the same wherever it starts."""
        t = tasks.c
        stmt = sa.select(tasks).where(t.job_key == job_key,
                                      t.status.in_([s.value for s in TERMINAL]))
        if before is not None:
            at, task_id = before
            stmt = stmt.where(sa.or_(t.status_at < at,
                                     sa.and_(t.status_at == at, t.task_id < task_id)))
        stmt = stmt.order_by(t.status_at.desc(), t.task_id.desc()).limit(limit)
        return [_row(r) for r in self._db.read(stmt)]
